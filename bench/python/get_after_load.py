#!/usr/bin/python3
"""Random gets right after a large load, and after a pause.

Loads N keys with values of SIZE bytes in one transaction, waits PAUSE
seconds, then times one pass of N gets in random order. Run it with
--pause 0 and with --pause 3 to see what the machine's work after the
load (snkv's background copy of the WAL into the database file, the
kernel writing the dirty pages) costs the gets that follow it
(docs/benchmarks.md, "Python", latest figures).

    PYTHONPATH=build-dev/python /usr/bin/python3 \
        bench/python/get_after_load.py --pause 0
"""
import argparse
import os
import random
import shutil
import tempfile
import time

import snkv


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--size", type=int, default=1024, help="value bytes")
    ap.add_argument("--pause", type=float, default=0.0,
                    help="seconds between the load's commit and the gets")
    ap.add_argument("--dir", default=os.environ.get("TMPDIR", "/tmp"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="snkv-get-after-load-", dir=args.dir)
    try:
        db = snkv.KVStore(os.path.join(work, "s.db"))
        keys = [b"key%08d" % i for i in range(args.keys)]
        value = os.urandom(args.size)
        db.begin(write=True)
        for k in keys:
            db.put(k, value)
        db.commit()
        time.sleep(args.pause)
        random.Random(42).shuffle(keys)
        get = db.get
        start = time.perf_counter()
        for k in keys:
            if get(k) is None:
                raise SystemExit(f"missing {k!r}")
        elapsed = time.perf_counter() - start
        print(f"{args.keys / elapsed:,.0f} gets/s ({args.size} B values, "
              f"{args.keys} keys, pause {args.pause:g} s)")
        db.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
