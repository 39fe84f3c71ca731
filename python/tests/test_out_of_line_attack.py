"""Out-of-line values (src/kv/schema.h) through Python, as a hostile user
would use them: every buffer type at the threshold, buffers changed after
the put, threads and another process writing large and small values to the
same keys while scans run. After each: every value is its own key's, and no
values row is orphaned or dangling (counted with the sqlite3 module)."""
import array
import os
import sqlite3
import subprocess
import sys
import threading

import pytest

import snkv


def tagged(key, n, seed):
    """n bytes naming key and seed, so a value of another key shows."""
    tag = key + b"#" + str(seed).encode() + b";"
    return (tag * (n // len(tag) + 1))[:n]


def out_of_step(path):
    """Values rows no row refers to, plus references to no values row."""
    raw = sqlite3.connect(path)
    try:
        raw.execute("PRAGMA busy_timeout = 5000")
        total = 0
        for (cf_id,) in raw.execute("SELECT id FROM snkv_cf").fetchall():
            table, values = "kv_%d" % cf_id, "kv_%d_values" % cf_id
            has = raw.execute("SELECT count(*) FROM sqlite_schema WHERE name = ?",
                              (values,)).fetchone()[0]
            refs = "SELECT v FROM %s WHERE typeof(v) = 'integer'" % table
            if has:
                total += raw.execute(
                    "SELECT count(*) FROM %s WHERE id NOT IN (%s)"
                    % (values, refs)).fetchone()[0]
                total += raw.execute(
                    "SELECT count(*) FROM (%s) WHERE v NOT IN (SELECT id FROM %s)"
                    % (refs, values)).fetchone()[0]
            else:
                total += raw.execute(
                    "SELECT count(*) FROM (%s)" % refs).fetchone()[0]
        return total
    finally:
        raw.close()


# With 4 KiB pages a row of a 1-byte key stays inline up to 996 bytes.
THRESHOLD_SIZES = [0, 995, 996, 997, 998, 1002, 1003, 4096, 70000]
BUFFERS = [
    bytes,
    bytearray,
    memoryview,
    lambda b: memoryview(bytearray(b)),
    lambda b: array.array("B", b),
]


@pytest.mark.parametrize("make", BUFFERS)
@pytest.mark.parametrize("in_txn", [False, True])
def test_every_buffer_type_at_the_threshold(path, make, in_txn):
    db = snkv.KVStore(path)
    try:
        if in_txn:
            db.begin(write=True)
        for n in THRESHOLD_SIZES:
            k = b"%x" % (n % 16)
            v = tagged(k, n, n)
            db.put(make(k), make(v))
            assert db.get(k) == v
            db[make(k)] = make(v[::-1])
            assert db[k] == v[::-1]
            assert db.put_if_absent(make(k), make(b"no")) is False
        if in_txn:
            db.commit()
        assert out_of_step(path) == 0
    finally:
        db.close()


def test_a_noncontiguous_view_is_an_error_or_its_bytes(path):
    db = snkv.KVStore(path)
    try:
        backing = bytearray(tagged(b"k", 5000, 1))
        view = memoryview(backing)[::2]  # not C-contiguous
        try:
            db.put(b"k", view)
        except (TypeError, ValueError, BufferError):
            assert db.get(b"k") is None
        else:
            assert db.get(b"k") == bytes(view)
        assert out_of_step(path) == 0
    finally:
        db.close()


@pytest.mark.parametrize("n", [100, 3000, 300000])
def test_a_buffer_changed_after_a_buffered_put_changes_nothing(path, n):
    db = snkv.KVStore(path)
    try:
        buf = bytearray(tagged(b"k", n, 1))
        before = bytes(buf)
        db.begin(write=True)
        db.put(b"k", buf)
        buf[:] = b"X" * n  # the caller's buffer, reused before the commit
        db.put(b"j", b"small")
        db.commit()
        assert db.get(b"k") == before
        assert out_of_step(path) == 0
    finally:
        db.close()


def test_threads_of_two_handles_mixing_sizes_on_the_same_keys(path):
    handles = [snkv.KVStore(path, busy_timeout=20000) for _ in range(2)]
    errors = []
    sizes = [10, 990, 997, 1500, 5000]
    keys = [b"k%02d" % i for i in range(24)]

    def writer(t):
        db = handles[t % 2]
        try:
            for i in range(300):
                k = keys[(i * 7 + t) % len(keys)]
                try:
                    if i % 9 == 0:
                        db.delete(k)
                    else:
                        db[k] = tagged(k, sizes[(i + t) % len(sizes)],
                                       t * 1000 + i)
                except snkv.NotFoundError:
                    pass
                except snkv.BusyError:
                    # Handle 1's scanner holds a read snapshot: a write on
                    # that handle while handle 0 writes fails at once,
                    # whatever busy_timeout (SQLite cannot write on top of
                    # an old snapshot; docs/python.md, Iterator). Small
                    # values do the same. Handle 0 has no iterator and waits.
                    if db is not handles[1]:
                        raise
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def scanner():
        db = handles[1]
        try:
            for _ in range(15):
                for k, v in db.iterator():
                    assert v[:len(k) + 1] == k + b"#" or v == b"", (k, v[:20])
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    threads.append(threading.Thread(target=scanner))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        for k, v in handles[0].iterator():
            assert v.startswith(k + b"#"), k
            assert handles[1][k] == v
        assert out_of_step(path) == 0
    finally:
        for h in handles:
            h.close()


WRITER = r"""
import sys
sys.path[:0] = %r
import snkv
db = snkv.KVStore(%r, busy_timeout=20000)
keys = [b"k%%02d" %% i for i in range(24)]
sizes = [10, 997, 2000, 9000]
def tagged(key, n, seed):
    tag = key + b"#" + str(seed).encode() + b";"
    return (tag * (n // len(tag) + 1))[:n]
for i in range(1500):
    k = keys[i %% 24]
    if i %% 10 == 3:
        db.begin(write=True)
        for j in range(20):
            kk = keys[(i + j) %% 24]
            db[kk] = tagged(kk, sizes[j %% 4], i * 100 + j)
        if i %% 20 == 3:
            db.rollback()
        else:
            db.commit()
    elif i %% 7 == 0:
        try:
            db.delete(k)
        except snkv.NotFoundError:
            pass
    else:
        db[k] = tagged(k, sizes[i %% 4], i)
db.close()
print("done")
"""


def test_another_process_rewriting_while_scans_and_gets_run(path):
    db = snkv.KVStore(path, busy_timeout=20000)
    try:
        for i in range(24):
            k = b"k%02d" % i
            db[k] = tagged(k, 3000, 0)
        script = WRITER % (sys.path, path)
        child = subprocess.Popen([sys.executable, "-c", script],
                                 stdout=subprocess.PIPE)
        rounds = 0
        while child.poll() is None or rounds < 3:
            rounds += 1
            for k, v in db.iterator():
                assert v.startswith(k + b"#"), (k, v[:20])
            for i in range(24):
                k = b"k%02d" % i
                v = db.get(k)
                assert v is None or v.startswith(k + b"#"), (k, v[:20])
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0 and out.strip() == b"done"
        assert out_of_step(path) == 0
    finally:
        db.close()
