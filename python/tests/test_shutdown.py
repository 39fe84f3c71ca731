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


# Daemon threads in vector searches whose filter is a Python callable. The
# filter takes the GIL on the searching thread (vector_filter.cc); during
# shutdown CPython ends that thread from inside it, and the catch (...)
# around the filter swallows the forced unwind: glibc aborts the process
# ("FATAL: exception not rethrown") in every run measured. Rethrowing it
# would meet the index walk's noexcept frames (std::terminate); keeping the
# thread waiting there would hold the store's lock, which closing the
# store at shutdown then waits for. Not fixed yet: the fix belongs to the
# filter's design (e.g. a search that does not call Python from inside the
# index walk, or one that can be abandoned with its locks released).
FILTERING_THREADS = textwrap.dedent("""
    import os, sys, threading, time
    from snkv.vector import VectorStore
    vs = VectorStore(os.path.join(sys.argv[1], "v.db"), dim=4)
    for i in range(300):
        vs.vector_put(f"k{i}".encode(), b"v", [i, i % 7, 1.0, 2.0],
                      metadata={"n": i})
    def work():
        while True:
            vs.search([1.0, 2.0, 3.0, 4.0], top_k=20,
                      filter=lambda m: m.get("n", 0) % 2 == 0)
    for _ in range(3):
        threading.Thread(target=work, daemon=True).start()
    time.sleep(0.3)
    print("main done", flush=True)
""")


@pytest.mark.xfail(strict=True, reason="a Python filter's thread ended at "
                   "shutdown aborts the process (see FILTERING_THREADS)")
def test_exit_with_daemon_threads_in_filtered_searches(tmp_path):
    pytest.importorskip("numpy")
    for run in range(3):
        d = tmp_path / f"run{run}"
        d.mkdir()
        p = subprocess.run([sys.executable, "-c", FILTERING_THREADS, str(d)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (run, p.returncode, p.stderr[-2000:])
