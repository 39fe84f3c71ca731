"""The interpreter exiting while daemon threads are inside store calls.

CPython ends a thread that takes the GIL back during shutdown
(pthread_exit); that unwind used to reach the binding's noexcept entry
points and abort the process (SIGABRT, "terminate called without an active
exception") in most runs. The program must exit normally instead."""
import os
import subprocess
import sys
import textwrap

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
