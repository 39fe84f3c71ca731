"""The Python benchmark's smoke run: every store and workload with tiny
counts, checking results (not timings). Skipped when a peer is missing."""
import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import SOURCE_DIR

PEERS = ("diskcache", "sqlitedict", "lmdb", "plyvel")


@pytest.mark.skipif(any(importlib.util.find_spec(p) is None for p in PEERS),
                    reason="benchmark peers not installed")
def test_bench_smoke(tmp_path):
    r = subprocess.run(
        [sys.executable, os.path.join(SOURCE_DIR, "bench", "python", "run.py"),
         "--smoke", "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "load_txn" in r.stdout and "readers4_writer1" in r.stdout
