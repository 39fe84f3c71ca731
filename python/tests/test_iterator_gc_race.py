"""One iterator drained by two threads while a garbage collection runs
finalizers that let the GIL go: every row is handed out exactly once.

Allocating a row's tuple may start a collection, and a finalizer that
sleeps (or closes a store) releases the GIL in the middle of it; the other
thread then asks the same iterator for its next row. A row counted as
handed out only after its tuple existed was handed out twice that way
(5,001 rows of 5,000 in one run of test_threads.py).

The trial is arranged so that the collection starts inside next(): the
draining threads allocate nothing the collector tracks but the rows'
tuples, the main thread waits in join() (no allocation) once they run, and
the collector's count starts from zero, so that the first collection is
started by a row's tuple some hundreds of rows in. Its garbage, made
before the threads start, has finalizers that sleep.
"""
import gc
import threading
import time

import pytest

ROWS = 1000
GC_THRESHOLD = 200  # well under ROWS: the collection comes mid-scan
TRIALS = 10


class _SlowGarbage:
    """A reference cycle (freed only by the collector) whose finalizer
    notes the thread it ran on and lets the GIL go."""

    ran_on = []

    def __init__(self):
        self.me = self

    def __del__(self):
        _SlowGarbage.ran_on.append(threading.current_thread().name)
        time.sleep(0.0002)


def _drain_with_two_threads(it):
    """Rows the two threads took, and what either raised."""
    got = []
    errors = []

    def drain():
        try:
            for row in it:
                got.append(row)  # allocates nothing the collector tracks
        except BaseException as e:  # reported by the test
            errors.append(e)

    threads = [threading.Thread(target=drain, name=f"drain-{n}")
               for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got, errors


@pytest.mark.parametrize("reverse", [False, True])
def test_each_row_once_when_a_collection_switches_threads(mem, reverse):
    for i in range(ROWS):
        mem[b"%05d" % i] = b"v%d" % i
    want = sorted((b"%05d" % i, b"v%d" % i) for i in range(ROWS))
    old_threshold = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD)
    exercised = 0
    try:
        for trial in range(TRIALS):
            it = mem.iterator(reverse=reverse)
            gc.collect()  # the count starts from zero
            _SlowGarbage.ran_on.clear()
            for _ in range(5):
                _SlowGarbage()
            got, errors = _drain_with_two_threads(it)
            it.close()
            assert errors == [], f"trial {trial}"
            # Each row exactly once: none twice, none skipped.
            assert len(got) == ROWS, f"trial {trial}: {len(got)} rows"
            assert sorted(got) == want, f"trial {trial}"
            if any(n.startswith("drain-") for n in _SlowGarbage.ran_on):
                exercised += 1
    finally:
        gc.set_threshold(*old_threshold)
        gc.collect()
    # The race was set up: a collection ran its finalizers on a draining
    # thread (not, say, on the main thread before the threads started).
    assert exercised >= TRIALS // 2, f"{exercised} of {TRIALS} trials"
