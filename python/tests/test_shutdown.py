"""The interpreter exiting while daemon threads are inside store calls.

CPython ends a thread that takes the GIL back during shutdown
(pthread_exit); that unwind used to reach the binding's noexcept entry
points and abort the process (SIGABRT, "terminate called without an active
exception") in most runs. The program must exit normally instead."""
import os
import subprocess
import sys
import textwrap

import pytest

# Daemon threads calling every hot method in a loop; the main thread
# returns while they run.
BUSY_THREADS = textwrap.dedent("""
    import os, sys, threading, time
    import snkv
    db = snkv.KVStore(os.path.join(sys.argv[1], "a.db"))
    cf = db.create_column_family("c")
    for i in range(500):
        db[f"k{i}"] = b"x" * 100
        cf.put(f"k{i}", b"x")
    def work(target):
        i = 0
        while True:
            k = f"k{i % 500}"
            target.get(k)
            target.put(k, b"y" * 100)
            target.exists(k)
            k in target
            target[k]
            for _ in target.iterator(prefix="k1"):
                pass
            i += 1
    for target in (db, db, cf):
        threading.Thread(target=work, args=(target,), daemon=True).start()
    time.sleep(0.2)
    print("main done", flush=True)
""")


def test_exit_with_daemon_threads_in_store_calls(tmp_path):
    env = dict(os.environ)
    for run in range(6):
        d = tmp_path / f"run{run}"
        d.mkdir()
        p = subprocess.run([sys.executable, "-c", BUSY_THREADS, str(d)],
                           env=env, capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0, (run, p.returncode, p.stderr[-2000:])
        assert p.stdout == "main done\n"
        assert "terminate" not in p.stderr, p.stderr


# Daemon threads in vector searches whose filter is a Python callable, and
# a store closed during shutdown. The filter takes the GIL on the searching
# thread, from inside the index walk; once the interpreter shuts down,
# CPython ends that thread there (pthread_exit), when the filter takes the
# GIL or when Python code in it lets the GIL go and takes it back ("busy":
# a thread switch, "sleep": a blocking call). That unwind used to be
# swallowed by the filter's catch (...) ("FATAL: exception not rethrown",
# SIGABRT in every run); a thread that merely stopped there would keep the
# search's locks, and the close at shutdown below would wait for ever. The
# closer sits in a reference cycle with gc disabled, so only the collection
# during shutdown (after daemon threads are being ended) closes the store.
FILTERING_THREADS = textwrap.dedent("""
    import gc, os, sys, threading, time
    from snkv.vector import VectorStore
    gc.disable()
    d, mode, code = sys.argv[1], sys.argv[2], int(sys.argv[3])
    vs = VectorStore(os.path.join(d, "v.db"), dim=4)
    vs.vector_put_batch([(f"k{i}".encode(), b"v", [i, i % 7, 1.0, 2.0],
                          {"n": i}) for i in range(300)])
    def keep(m):
        if mode == "busy":
            sum(range(2000))
        elif mode == "sleep":
            time.sleep(0)
        return m.get("n", 0) % 2 == 0
    def work(keys):
        q = [1.0, 2.0, 3.0, 4.0]
        while True:
            if keys:
                vs.search_keys(q, top_k=20, filter=keep)
            else:
                vs.search(q, top_k=20, filter=keep)
    class CloseAtShutdown:
        def __init__(self, store):
            self.store, self.write, self.me = store, os.write, self
        def __del__(self):
            self.store.close()
            self.write(1, b"closed at shutdown\\n")
    CloseAtShutdown(vs)
    for i in range(4):
        threading.Thread(target=work, args=(i == 3,), daemon=True).start()
    time.sleep(0.3)
    print("main done", flush=True)
    sys.exit(code)
""")


@pytest.mark.parametrize("mode", ["plain", "busy", "sleep"])
def test_exit_with_daemon_threads_in_filtered_searches(tmp_path, mode):
    pytest.importorskip("numpy")
    from snkv.vector import VectorStore
    for run in range(2):
        d = tmp_path / f"run{run}"
        d.mkdir()
        p = subprocess.run(
            [sys.executable, "-c", FILTERING_THREADS, str(d), mode, "3"],
            capture_output=True, text=True, timeout=60)
        # The exit status the script asked for, not a signal.
        assert p.returncode == 3, (run, p.returncode, p.stderr[-2000:])
        assert p.stdout == "main done\nclosed at shutdown\n", p.stderr
        assert "FATAL" not in p.stderr and "terminate" not in p.stderr
        # The close completed: it wrote the sidecar, which the next open
        # loads, and every vector is there.
        with VectorStore(str(d / "v.db"), dim=4) as vs:
            stats = vs.vector_stats()
            assert stats["loaded_from_sidecar"], stats
            assert stats["count"] == 300


# A filter that calls another store. CPython ends the thread inside that
# inner call (the inner call's GilRelease stops it), so the outer search
# keeps its locks: the process must still exit normally. (A close of the
# outer store during shutdown would wait; docs/python.md says so.)
NESTED_FILTERS = textwrap.dedent("""
    import os, sys, threading, time
    import snkv
    from snkv.vector import VectorStore
    d = sys.argv[1]
    vs = VectorStore(os.path.join(d, "v.db"), dim=4)
    other = VectorStore(os.path.join(d, "o.db"), dim=4)
    db = snkv.KVStore(os.path.join(d, "a.db"))
    for i in range(200):
        vs.vector_put(f"k{i}".encode(), b"v", [i, 1.0, 2.0, 3.0],
                      metadata={"n": i})
        other.vector_put(f"k{i}".encode(), b"v", [1.0, i, 2.0, 3.0],
                         metadata={"n": i})
        db[f"k{i}"] = b"x"
    def inner(m):
        return m.get("n", 0) % 3 == 0
    def outer(m):
        db.get(f"k{m.get('n', 0)}")
        other.search_keys([1.0, 1.0, 1.0, 1.0], top_k=2, filter=inner)
        return True
    def work():
        while True:
            vs.search_keys([5.0, 1.0, 2.0, 3.0], top_k=5, filter=outer)
    for _ in range(3):
        threading.Thread(target=work, daemon=True).start()
    time.sleep(0.3)
    print("main done", flush=True)
""")


def test_exit_with_daemon_threads_in_nested_filters(tmp_path):
    pytest.importorskip("numpy")
    for run in range(2):
        d = tmp_path / f"run{run}"
        d.mkdir()
        p = subprocess.run([sys.executable, "-c", NESTED_FILTERS, str(d)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (run, p.returncode, p.stderr[-2000:])
        assert p.stdout == "main done\n"
        assert "FATAL" not in p.stderr and "terminate" not in p.stderr
