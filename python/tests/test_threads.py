"""Threads: one store shared by four threads, four threads with a store
each, and proof that store calls release the GIL."""
import random
import threading
import time

import pytest

import snkv
from snkv import KVStore

OPS = 3000


def _worker(db, tid, model, errors, txn_lock, seed, own_store):
    """Random puts/gets/deletes/iterations/transactions on this thread's
    own key prefix, checked against this thread's dict model."""
    rng = random.Random(seed)
    prefix = f"t{tid}:".encode()
    try:
        for _ in range(OPS):
            op = rng.random()
            key = prefix + str(rng.randrange(200)).encode()
            if op < 0.40:
                val = str(rng.random()).encode()
                db[key] = val
                model[key] = val
            elif op < 0.65:
                got = db.get(key)
                if got != model.get(key):
                    raise AssertionError(f"get {key!r}: {got!r} != "
                                         f"{model.get(key)!r}")
            elif op < 0.80:
                try:
                    db.delete(key)
                    if key not in model:
                        raise AssertionError(f"deleted absent {key!r}")
                    del model[key]
                except snkv.NotFoundError:
                    if key in model:
                        raise AssertionError(f"delete missed {key!r}")
            elif op < 0.92:
                rows = list(db.iterator(prefix=prefix))
                if rows != sorted(model.items()):
                    raise AssertionError("scan differs from the model")
            else:
                # A write transaction. On a shared store the transaction
                # belongs to the handle (all threads are in it), so only
                # one thread may run one at a time and it always commits.
                # Each thread with its own store may also roll back.
                with txn_lock:
                    db.begin(write=True)
                    staged = {}
                    for _ in range(rng.randrange(1, 10)):
                        k = prefix + str(rng.randrange(200)).encode()
                        v = b"txn" + str(rng.random()).encode()
                        db.put(k, v)
                        staged[k] = v
                    if own_store and rng.random() < 0.3:
                        db.rollback()
                    else:
                        db.commit()
                        model.update(staged)
    except BaseException as e:  # reported by the main thread
        errors.append(e)


def _check(db, models):
    for tid, model in enumerate(models):
        prefix = f"t{tid}:".encode()
        assert list(db.iterator(prefix=prefix)) == sorted(model.items())


def test_four_threads_share_one_store(path):
    db = KVStore(path)
    models = [dict() for _ in range(4)]
    errors = []
    lock = threading.Lock()
    threads = [threading.Thread(target=_worker, args=(
        db, t, models[t], errors, lock, 100 + t, False)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    _check(db, models)
    db.close()
    with KVStore(path) as again:
        _check(again, models)


def test_four_threads_each_with_own_store(path):
    models = [dict() for _ in range(4)]
    errors = []
    stores = [KVStore(path, busy_timeout=20000) for _ in range(4)]
    threads = [threading.Thread(target=_worker, args=(
        stores[t], t, models[t], errors, threading.Lock(), 200 + t, True))
        for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    for s in stores:
        _check(s, models)  # every handle sees every thread's commits
        s.close()


def test_gil_is_released_while_a_call_waits(path):
    """A put waiting for another handle's write lock must not stop other
    Python threads: the main thread counts while it waits, then commits
    so that the put can finish."""
    holder = KVStore(path)
    waiter = KVStore(path, busy_timeout=10000)
    holder.begin(write=True)
    holder["held"] = "1"
    started = threading.Event()
    result = {}

    def blocked_put():
        started.set()
        t0 = time.monotonic()
        waiter["k"] = "v"  # waits for holder's lock, without the GIL
        result["waited"] = time.monotonic() - t0

    t = threading.Thread(target=blocked_put)
    t.start()
    started.wait()
    counted = 0
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        counted += 1
    holder.commit()
    t.join(15)
    assert not t.is_alive()
    assert result["waited"] >= 0.4
    assert counted > 10000  # the main thread ran while the put waited
    assert waiter["held"] == b"1" and holder["k"] == b"v"
    holder.close()
    waiter.close()


def test_scan_beside_a_busy_python_thread(mem):
    """A long scan (its batches fetched without the GIL) is complete and
    in order while another Python thread keeps the interpreter busy."""
    mem.begin(write=True)
    for i in range(50000):
        mem[f"{i:08d}"] = "x" * 50
    mem.commit()
    stop = threading.Event()
    spinning = threading.Event()

    def spin():
        while not stop.is_set():
            spinning.set()

    s = threading.Thread(target=spin)
    s.start()
    spinning.wait()
    keys = [k for k, _ in mem]
    stop.set()
    s.join()
    assert keys == [f"{i:08d}".encode() for i in range(50000)]


def test_one_iterator_used_by_two_threads_does_not_crash(mem):
    for i in range(5000):
        mem[f"{i:05d}"] = "v"
    it = mem.iterator()
    got = []

    def drain():
        try:
            for row in it:
                got.append(row)
        except snkv.Error:
            pass

    ts = [threading.Thread(target=drain) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(got) <= 5000 and len(set(got)) == len(got)


def test_close_while_other_threads_use_the_store(path):
    db = KVStore(path)
    cf = db.create_column_family("c")
    stop = threading.Event()
    unexpected = []

    def hammer(target):
        i = 0
        while not stop.is_set():
            try:
                target[f"{i % 100}"] = "x"
                target.get("1")
                list(target.iterator(prefix="9"))
            except snkv.Error as e:
                if "closed" not in str(e):
                    unexpected.append(e)
                return
            i += 1

    ts = [threading.Thread(target=hammer, args=(t,)) for t in (db, db, cf)]
    for t in ts:
        t.start()
    time.sleep(0.2)
    db.close()
    stop.set()
    for t in ts:
        t.join()
    assert not unexpected, unexpected
