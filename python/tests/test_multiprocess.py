"""Two processes on one file: each sees the other's commits at once."""
import multiprocessing as mp
import signal
import threading
import time

import pytest

import snkv

ROUNDS = 200


def _ping_pong(path, me, other, rounds, q):
    """Writes me:i, then waits until it reads other:i (a fresh read each
    time, no reopen) before going on."""
    try:
        with snkv.KVStore(path, busy_timeout=10000) as db:
            for i in range(rounds):
                db[f"{me}:{i}"] = str(i)
                want = f"{other}:{i}".encode()
                deadline = time.monotonic() + 60  # a loaded machine
                while db.get(want) is None:
                    if time.monotonic() > deadline:
                        q.put(f"{me}: never saw {want!r}")
                        return
            q.put("ok")
    except BaseException as e:
        q.put(f"{me}: {e!r}")


def test_two_processes_see_each_others_writes(path):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_ping_pong, args=(path, a, b, ROUNDS, q))
             for a, b in (("a", "b"), ("b", "a"))]
    for p in procs:
        p.start()
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert results == ["ok", "ok"], results
    with snkv.KVStore(path) as db:
        assert db.count() == 2 * ROUNDS


def _writer(path, n, q):
    with snkv.KVStore(path, busy_timeout=10000) as db:
        for i in range(n):
            db.begin(write=True)
            db[f"w:{i}"] = str(i)
            db["counter"] = str(i)
            db.commit()
    q.put("done")


def test_reader_never_sees_half_a_transaction(path):
    with snkv.KVStore(path) as db:
        db["counter"] = "-1"
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        p = ctx.Process(target=_writer, args=(path, 300, q))
        p.start()
        last = -1
        while q.empty():
            c = int(db["counter"])
            assert c >= last  # never goes back
            if c >= 0:
                assert db.get(f"w:{c}") == str(c).encode()
            last = c
        p.join(60)
        assert int(db["counter"]) == 299


def _sigint_soon():
    """Sends SIGINT to the main thread in 0.3 s (as Ctrl-C would)."""
    timer = threading.Timer(0.3, signal.pthread_kill,
                            (threading.main_thread().ident, signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="POSIX")
@pytest.mark.parametrize("kind", ["kv", "vector"])
def test_ctrl_c_interrupts_a_busy_wait(tmp_path, kind):
    # A call waiting out a long busy_timeout for another handle's write
    # lock runs without the GIL; Ctrl-C (SIGINT) must still stop it soon,
    # with KeyboardInterrupt, not after the timeout.
    path = str(tmp_path / "busy.db")
    if kind == "kv":
        waiter = snkv.KVStore(path, busy_timeout=60_000)
        write = lambda: waiter.put("k", "mine")  # noqa: E731
    else:
        from snkv.vector import VectorStore
        waiter = VectorStore(path, 2, busy_timeout=60_000)
        write = lambda: waiter.vector_put(b"k", b"mine", [1, 2])  # noqa
    with snkv.KVStore(path) as holder, waiter:
        holder.begin(write=True)
        holder["k"] = "held"
        start = time.monotonic()
        timer = _sigint_soon()
        try:
            with pytest.raises(KeyboardInterrupt):
                write()
        finally:
            timer.cancel()
        assert time.monotonic() - start < 10
        holder.rollback()
        write()  # the handle works afterwards
        assert holder["k"] == b"mine"
