"""Runs every examples/python/*.py (the reference's snippets) in a fresh
directory; each must exit 0."""
import glob
import os
import subprocess
import sys

import pytest

from conftest import SOURCE_DIR

EXAMPLES = sorted(glob.glob(os.path.join(SOURCE_DIR, "examples", "python",
                                         "*.py")))


def test_examples_found():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("script", EXAMPLES, ids=os.path.basename)
def test_example_runs(script, tmp_path):
    r = subprocess.run([sys.executable, script], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
