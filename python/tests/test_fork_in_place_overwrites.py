"""fork() while threads overwrite large values in place.

Out-of-line overwrites outside transactions run in write scopes begun on
the handle's write pin (a read transaction held between writes). A fork
may come while such a scope, or just the pin, is open in the parent. The
child must be able to open the same file afresh, read every key's own
value and write, and the parent's writers must go on undisturbed."""
import os
import threading
import time

import pytest

import snkv
from snkv import KVStore

pytestmark = pytest.mark.no_asan

SIZES = (1100, 20000, 1500, 6000)


def tagged(key, n, seed):
    tag = f"{key}#{seed};".encode()
    return (tag * (n // len(tag) + 1))[:n]


def owns(key, value):
    return value.startswith(f"{key}#".encode())


def test_fork_while_threads_overwrite_large_values(tmp_path):
    path = str(tmp_path / "a.db")
    db = KVStore(path, busy_timeout=5000)
    for i in range(40):
        db[f"k{i}"] = tagged(f"k{i}", 3000, 0)
    stop = threading.Event()
    errors = []

    def work(first):
        i = first
        while not stop.is_set():
            try:
                k = f"k{i % 40}"
                v = tagged(k, SIZES[i % len(SIZES)], i)
                if i % 3 == 0:
                    db[k, 3600] = v  # with an expiry: changes it in place
                else:
                    db[k] = v
                got = db.get(k)
                assert got is not None and owns(k, got), (k, got[:12])
            except BaseException as e:  # reported by the main thread
                errors.append(repr(e))
                return
            i += 2

    threads = [threading.Thread(target=work, args=(s,)) for s in (0, 1)]
    for t in threads:
        t.start()
    try:
        for n in range(12):
            time.sleep(0.02)
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    child = KVStore(path, busy_timeout=5000)
                    bad = [k for k, v in child if not owns(k.decode(), v)]
                    child["k0", 60] = tagged("k0", 5000, 10**6 + n)
                    ok = not bad and owns("k0", child["k0"])
                    ok = ok and child.integrity_check() is None
                    child.close()
                    code = 0 if ok else 2
                except BaseException:
                    code = 4
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, (n, status)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    for k, v in db:
        assert owns(k.decode(), v), (k, v[:12])
    assert db.integrity_check() is None


def test_ttl_follows_in_place_overwrites(tmp_path):
    """An overwrite of a large value by a large value keeps its values row;
    the expiry given with it (or its absence) must still take effect."""
    db = KVStore(str(tmp_path / "t.db"))
    db["k", 600] = tagged("k", 3000, 1)
    assert 500 < db.ttl("k") <= 600
    db["k"] = tagged("k", 20000, 2)  # no ttl: the expiry goes
    assert db.ttl("k") is None and db["k"] == tagged("k", 20000, 2)
    db["k", 60] = tagged("k", 1500, 3)
    assert 0 < db.ttl("k") <= 60
    db["k", 0.05] = tagged("k", 4000, 4)
    time.sleep(0.1)
    assert db.get("k") is None  # expired, though its row was reused
    assert db.put_if_absent("k", tagged("k", 5000, 5)) is True
    assert db.ttl("k") is None and db["k"] == tagged("k", 5000, 5)
    db.begin(write=True)
    db["k", 600] = tagged("k", 2500, 6)
    db.commit()
    assert 500 < db.ttl("k") <= 600 and db["k"] == tagged("k", 2500, 6)
    db.begin(write=True)
    db["k"] = tagged("k", 2600, 7)
    db.rollback()
    assert 500 < db.ttl("k") <= 600 and db["k"] == tagged("k", 2500, 6)
    assert db.integrity_check() is None
