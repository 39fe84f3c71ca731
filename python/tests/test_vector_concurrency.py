"""snkv.vector across handles, processes and threads, and reopening with
(and without) the sidecar file."""
import multiprocessing as mp
import os
import shutil
import threading
import time

import pytest

import snkv

np = pytest.importorskip("numpy")
from snkv.vector import VectorIndexError, VectorStore  # noqa: E402

DIM = 16


def vec(i):
    return np.random.default_rng(i).standard_normal(DIM).astype(np.float32)


def top1(store, i):
    return store.search_keys(vec(i), 1)[0]


# --- two handles ----------------------------------------------------------------

def test_second_handle_sees_every_commit(path):
    a = VectorStore(path, DIM)
    b = VectorStore(path, DIM)
    try:
        a.vector_put(b"k1", b"v1", vec(1), metadata={"who": "a"})
        assert top1(b, 1) == (b"k1", 0.0)  # no reopen, no rebuild
        assert b.search(vec(1), 1)[0].metadata == {"who": "a"}
        assert len(b) == 1
        b.vector_put_batch(keys=[b"k2", b"k3"], values=[b"v2", b"v3"],
                           vectors=np.stack([vec(2), vec(3)]))
        assert top1(a, 3) == (b"k3", 0.0) and len(a) == 3
        # Overwrite with a new vector: the old one is gone on the other.
        a.vector_put(b"k1", b"v1b", vec(10))
        assert top1(b, 10) == (b"k1", 0.0)
        assert all(k != b"k1" or d > 0 for k, d in b.search_keys(vec(1), 3))
        # Metadata change only.
        a.vector_put(b"k2", b"v2", vec(2), metadata={"tag": "new"})
        assert b.search(vec(2), 1, filter={"tag": "new"})[0].key == b"k2"
        # Deletes.
        b.delete(b"k2")
        assert sorted(k for k, _ in a.search_keys(vec(2), 5)) == [
            b"k1", b"k3"]
        assert len(a) == 2
        # Expired and purged elsewhere.
        earliest = time.monotonic() + 0.4
        a.vector_put(b"t", b"", vec(20), ttl=0.4)
        latest = time.monotonic() + 0.4
        if time.monotonic() < earliest - 0.1:  # not yet expired, surely
            assert top1(b, 20)[0] == b"t"
        time.sleep(max(0.0, latest - time.monotonic()) + 0.05)
        assert b"t" not in [k for k, _ in b.search_keys(vec(20), 5)]
        assert b.vector_purge_expired() == 1
        assert len(a) == 2
        # Dropped by the other handle.
        a.drop_vector_index()
        with pytest.raises(VectorIndexError):
            b.search(vec(1))
        assert b.get(b"k1") == b"v1b"
    finally:
        a.close()
        b.close()


def test_many_small_commits_interleaved(path):
    a = VectorStore(path, DIM)
    b = VectorStore(path, DIM)
    try:
        for i in range(60):
            (a if i % 2 else b).vector_put(f"k{i}", b"", vec(i))
            reader = b if i % 2 else a
            assert top1(reader, i) == (f"k{i}".encode(), 0.0)
        assert len(a) == len(b) == 60
    finally:
        a.close()
        b.close()


# --- two processes ------------------------------------------------------------------

def _child(path, q_out, q_in):
    """Writes 100 vectors (and deletes 10), reports, then checks that it
    sees what the parent wrote meanwhile."""
    try:
        with VectorStore(path, DIM, busy_timeout=10000) as vs:
            vs.vector_put_batch(keys=[f"c{i}" for i in range(100)],
                                values=[b"child"] * 100,
                                vectors=np.stack([vec(i) for i in range(100)]),
                                metadata=[{"from": "child"}] * 100)
            for i in range(10):
                vs.delete(f"c{i}")
            q_out.put("written")
            assert q_in.get(timeout=60) == "parent wrote"
            hits = vs.search(vec(1000), 1)
            assert hits[0].key == b"p" and hits[0].distance == 0.0, hits
            assert len(vs) == 92  # first, 90 of its own, p
        q_out.put("ok")
    except BaseException as e:  # reported to the parent
        q_out.put(repr(e))


def test_two_processes(path):
    with VectorStore(path, DIM, busy_timeout=10000) as vs:
        vs.vector_put(b"first", b"", vec(999))
        ctx = mp.get_context("spawn")
        q_out, q_in = ctx.Queue(), ctx.Queue()
        proc = ctx.Process(target=_child, args=(path, q_out, q_in))
        proc.start()
        try:
            assert q_out.get(timeout=120) == "written"
            # This handle was open all along: its next search catches up.
            assert top1(vs, 50) == (b"c50", 0.0)
            assert b"c5" not in [k for k, _ in vs.search_keys(vec(5), 3)]
            assert len(vs) == 91
            got = vs.search(vec(50), 5, filter={"from": "child"})
            assert len(got) == 5 and got[0].value == b"child"
            vs.vector_put(b"p", b"parent", vec(1000))
            q_in.put("parent wrote")
            assert q_out.get(timeout=120) == "ok"
        finally:
            proc.join(30)
        assert proc.exitcode == 0


# --- threads --------------------------------------------------------------------

def test_threads_search_while_one_writes(path):
    vs = VectorStore(path, DIM)
    base = 300
    vs.vector_put_batch(keys=[f"b{i}" for i in range(base)],
                        values=[b"base"] * base,
                        vectors=np.stack([vec(i) for i in range(base)]))
    stop = threading.Event()
    errors = []
    searches = [0] * 4

    def searcher(n):
        rng = np.random.default_rng(n)
        while not stop.is_set():
            try:
                i = int(rng.integers(base))
                res = vs.search(vec(i), 5)
                # A base item is never touched by the writer: always found.
                if res[0].key != f"b{i}".encode() or res[0].distance != 0:
                    errors.append(("top1", i, res[0]))
                d = [r.distance for r in res]
                if d != sorted(d) or len(res) != 5:
                    errors.append(("order", d))
                for r in res:
                    if r.key.startswith(b"w") and r.value != b"w":
                        errors.append(("value", r))
                searches[n] += 1
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
                return

    threads = [threading.Thread(target=searcher, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(150):
            vs.vector_put(f"w{i % 40}", b"w", vec(10000 + i))
            if i % 10 == 9:
                vs.delete(f"w{i % 40}")
        # On a loaded machine a searcher may not have started yet.
        deadline = time.monotonic() + 20
        while min(searches) == 0 and not errors and \
                time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors[:5]
    assert all(s > 0 for s in searches), searches
    assert len(vs) == base + 36
    vs.close()


def test_searches_run_in_parallel_and_writers_wait_without_the_gil(path):
    """A search paused inside its filter (holding the index) does not stop
    other searches; a write waits for it without holding the GIL, so the
    paused filter can resume and everything finishes."""
    vs = VectorStore(path, DIM)
    for i in range(50):
        vs.vector_put(f"k{i}", b"", vec(i))
    inside, go = threading.Event(), threading.Event()
    out = {}

    def slow_filter(meta):
        inside.set()
        go.wait(30)
        return True

    def paused_search():
        out["paused"] = vs.search(vec(1), 3, filter=slow_filter)

    def write():
        vs.vector_put(b"new", b"", vec(2000))
        out["written"] = True

    t1 = threading.Thread(target=paused_search)
    t1.start()
    assert inside.wait(30)
    # Another search completes while the first is paused mid-walk.
    assert top1(vs, 7) == (b"k7", 0.0)
    t2 = threading.Thread(target=write)
    t2.start()
    time.sleep(0.2)
    assert "written" not in out  # the write waits for the paused search
    counted = 0
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline:
        counted += 1
    assert counted > 1000  # the waiting writer does not hold the GIL
    go.set()
    t1.join(30)
    t2.join(30)
    assert not t1.is_alive() and not t2.is_alive()
    assert len(out["paused"]) == 3 and out["written"]
    assert top1(vs, 2000) == (b"new", 0.0)
    vs.close()


def test_gil_released_while_a_put_waits_for_the_lock(path):
    holder = snkv.KVStore(path)
    vs = VectorStore(path, DIM, busy_timeout=10000)
    holder.begin(write=True)
    holder["held"] = "1"
    started = threading.Event()
    result = {}

    def blocked_put():
        started.set()
        t0 = time.monotonic()
        vs.vector_put(b"k", b"v", vec(1))
        result["waited"] = time.monotonic() - t0

    t = threading.Thread(target=blocked_put)
    t.start()
    started.wait()
    counted = 0
    deadline = time.monotonic() + 0.4
    while time.monotonic() < deadline:
        counted += 1
    holder.commit()
    t.join(30)
    assert not t.is_alive()
    assert result["waited"] >= 0.3
    assert counted > 10000
    assert top1(vs, 1) == (b"k", 0.0) and vs[b"held"] == b"1"
    holder.close()
    vs.close()


def test_close_while_threads_search(path):
    vs = VectorStore(path, DIM)
    for i in range(100):
        vs.vector_put(f"k{i}", b"", vec(i))
    unexpected = []
    stop = threading.Event()
    wrote = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                vs.search(vec(3), 5)
                vs.vector_put(b"x", b"", vec(4))
                wrote.set()
            except snkv.Error as e:
                if "closed" not in str(e):
                    unexpected.append(e)
                return

    ts = [threading.Thread(target=hammer) for _ in range(3)]
    for t in ts:
        t.start()
    assert wrote.wait(30)
    time.sleep(0.05)
    vs.close()
    stop.set()
    for t in ts:
        t.join(30)
    assert not unexpected, unexpected
    with VectorStore(path, DIM) as again:
        assert len(again) == 101


# --- reopening and the sidecar -----------------------------------------------------

def _fill(path, n=400):
    with VectorStore(path, DIM) as vs:
        vs.vector_put_batch(keys=[f"k{i}" for i in range(n)],
                            values=[f"v{i}" for i in range(n)],
                            vectors=np.stack([vec(i) for i in range(n)]),
                            metadata=[{"i": i} for i in range(n)])
        queries = [vec(5000 + i) for i in range(10)]
        return queries, [vs.search(q, 10) for q in queries]


def _check_same(path, queries, expected, from_sidecar):
    with VectorStore(path, DIM) as vs:
        assert vs.vector_stats()["loaded_from_sidecar"] is from_sidecar
        assert [vs.search(q, 10) for q in queries] == expected
        assert len(vs) == len(vs.search_keys(queries[0], 10**6))


def test_reopen_loads_the_sidecar(path):
    queries, expected = _fill(path)
    assert os.path.getsize(path + ".snkv-vec") > 0
    _check_same(path, queries, expected, True)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty",
                                    "missing"])
def test_damaged_or_missing_sidecar_is_rebuilt(path, damage):
    queries, expected = _fill(path)
    side = path + ".snkv-vec"
    data = bytearray(open(side, "rb").read())
    if damage == "truncate":
        data = data[:len(data) // 2]
    elif damage == "flip":
        data[len(data) // 3] ^= 0x10
    elif damage == "garbage":
        data = bytearray(os.urandom(len(data)))
    elif damage == "empty":
        data = bytearray()
    if damage == "missing":
        os.remove(side)
    else:
        with open(side, "wb") as f:
            f.write(data)
    _check_same(path, queries, expected, False)


def test_sidecar_of_another_store_is_not_trusted(tmp_path):
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    queries, expected = _fill(a)
    with VectorStore(b, DIM) as vs:  # same shape, other content
        vs.vector_put_batch(keys=[f"k{i}" for i in range(400)],
                            values=[b"other"] * 400,
                            vectors=np.stack([vec(i + 1) for i in range(400)]))
    shutil.copy(b + ".snkv-vec", a + ".snkv-vec")
    _check_same(a, queries, expected, False)


def test_old_sidecar_catches_up(path):
    queries, _ = _fill(path)
    side = path + ".snkv-vec"
    old = open(side, "rb").read()
    with VectorStore(path, DIM) as vs:
        vs.vector_put(b"later", b"", vec(7777))
        vs.delete(b"k3")
        expected = [vs.search(q, 10) for q in queries]
    with open(side, "wb") as f:  # as if the newer sidecar was never written
        f.write(old)
    with VectorStore(path, DIM) as vs:
        assert top1(vs, 7777) == (b"later", 0.0)
        assert b"k3" not in [k for k, _ in vs.search_keys(vec(3), 3)]
        assert [vs.search(q, 10) for q in queries] == expected
        assert len(vs) == 400


def test_encrypted_store_reopens_without_sidecar(path):
    with VectorStore(path, DIM, password="pw") as vs:
        vs.vector_put_batch(keys=[f"k{i}" for i in range(50)],
                            values=[b"x"] * 50,
                            vectors=np.stack([vec(i) for i in range(50)]))
    assert not os.path.exists(path + ".snkv-vec")
    with VectorStore(path, DIM, password="pw") as vs:
        stats = vs.vector_stats()
        assert not stats["loaded_from_sidecar"] and stats["count"] == 50
        assert top1(vs, 9) == (b"k9", 0.0)
