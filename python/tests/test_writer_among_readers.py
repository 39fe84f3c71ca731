"""One writer among reader handles, all with busy_timeout 0 (the default):
the writer never sees BusyError, since no other handle writes.

A reader that catches the WAL-index header in the middle of a commit takes
the write lock for a moment to read it again (SQLite does this itself).
Before the store's busy handler waited such moments out, the writer's
BEGIN IMMEDIATE of an out-of-line put met one in about a third of the
5-second runs of this loop (the Python bench's readers+writer workload)."""
import os
import random
import threading
import time

import snkv

KEYS = [b"key%08d" % i for i in range(20000)]


def test_writer_is_never_busy_while_four_reader_handles_read(path):
    value = os.urandom(1024)  # out of line: several statements per put
    db = snkv.KVStore(path)
    readers = []
    try:
        db.begin(write=True)
        for k in KEYS:
            db.put(k, value)
        db.commit()
        readers = [snkv.KVStore(path) for _ in range(4)]
        stop = threading.Event()
        errors = []
        puts = [0]

        def read(i):
            rng = random.Random(i)
            try:
                while not stop.is_set():
                    assert readers[i].get(KEYS[rng.randrange(len(KEYS))]) \
                        == value
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        def write():
            rng = random.Random(99)
            try:
                while not stop.is_set():
                    db.put(KEYS[rng.randrange(len(KEYS))], value)
                    puts[0] += 1
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=read, args=(i,)) for i in range(4)]
        threads.append(threading.Thread(target=write))
        for t in threads:
            t.start()
        time.sleep(5)
        stop.set()
        for t in threads:
            t.join()
        assert not errors, f"after {puts[0]} puts: {errors[0]!r}"
        assert puts[0] > 0
    finally:
        for r in readers:
            r.close()
        db.close()
