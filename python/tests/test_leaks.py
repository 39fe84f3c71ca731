"""No leaks: RSS and tracemalloc stay flat over many calls and many
open/close cycles."""
import gc
import os
import tracemalloc

import pytest

import snkv

pytestmark = pytest.mark.slow


def rss_kib():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _ops(db, rounds):
    """About 1000 calls per round: puts, gets, misses, dict access,
    errors, TTL, iterators (finished, abandoned and manual)."""
    for r in range(rounds):
        for i in range(200):
            k = b"key%05d" % i
            db.put(k, b"v" * 100)
            db.get(k)
            db.get(b"missing")
            db[k, 100] = bytearray(b"w" * 50)
            try:
                db.delete(b"nope")
            except snkv.NotFoundError:
                pass
        for _ in db.iterator(prefix=b"key000"):
            pass
        it = db.iterator()
        next(it)
        it.seek(b"key001").key
        it.close()
        db.ttl(b"key00001")


def test_calls_do_not_leak(tmp_path):
    db = snkv.KVStore(str(tmp_path / "l.db"), sync_level=snkv.SYNC_OFF)
    _ops(db, 20)  # warm up caches and pools
    gc.collect()
    tracemalloc.start()
    base_py = tracemalloc.get_traced_memory()[0]
    base_rss = rss_kib()
    _ops(db, 200)  # 200K calls
    gc.collect()
    grown_py = tracemalloc.get_traced_memory()[0] - base_py
    grown_rss = rss_kib() - base_rss
    tracemalloc.stop()
    db.close()
    assert grown_py < 256 * 1024, grown_py
    assert grown_rss < 8 * 1024, grown_rss


def _cycles(path, n):
    for i in range(n):
        with snkv.KVStore(path if i % 2 else None,
                          sync_level=snkv.SYNC_OFF) as db:
            db["k"] = "v"
            cf = db.default_column_family()
            it = db.iterator()
            it.key
            # handles left open: close() invalidates them
        cf.close()
        del it


def test_open_close_cycles_do_not_leak(tmp_path):
    path = str(tmp_path / "c.db")
    _cycles(path, 500)
    gc.collect()
    tracemalloc.start()
    base_py = tracemalloc.get_traced_memory()[0]
    base_rss = rss_kib()
    base_fds = len(os.listdir("/proc/self/fd"))
    _cycles(path, 10000)
    gc.collect()
    grown_py = tracemalloc.get_traced_memory()[0] - base_py
    grown_rss = rss_kib() - base_rss
    tracemalloc.stop()
    assert len(os.listdir("/proc/self/fd")) <= base_fds
    assert grown_py < 256 * 1024, grown_py
    assert grown_rss < 8 * 1024, grown_rss
