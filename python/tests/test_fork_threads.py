"""fork() while other threads are inside store calls on the same store.

The child has only the forking thread; whatever the others held at the
fork (the store's mutex, SQLite's, the GIL released around their calls)
must not leave the child stuck or crash it: it can open and use a store of
its own, and the parent's handle refuses to work in it."""
import os
import threading
import time

import pytest

import snkv
from snkv import KVStore

pytestmark = pytest.mark.no_asan


def test_fork_while_threads_are_in_store_calls(tmp_path):
    db = KVStore(str(tmp_path / "a.db"))
    for i in range(300):
        db[f"k{i}"] = b"x" * 50
    stop = threading.Event()
    errors = []

    def work():
        i = 0
        while not stop.is_set():
            try:
                k = f"k{i % 300}"
                db.get(k)
                db.put(k, b"z" * 60)
                assert k in db
                list(db.iterator(prefix="k2"))
            except BaseException as e:  # reported by the main thread
                errors.append(repr(e))
                return
            i += 1

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for n in range(20):
            time.sleep(0.01)
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    child = KVStore(str(tmp_path / f"child{n}.db"))
                    child["a"] = "b"
                    ok = child["a"] == b"b" and list(child) == [(b"a", b"b")]
                    child.close()
                    try:
                        db.get("k1")
                        code = 3  # the parent's handle worked in the child
                    except snkv.Error:
                        code = 0 if ok else 2
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, (n, status)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert db[b"k1"] == b"z" * 60
