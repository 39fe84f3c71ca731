"""Long scans through the batched iterator (Iterator::ReadBatch underneath).

The small stores of test_iterators.py fit in one batch; these scan
thousands of rows of a file store, whose scans read the snapshot's pages
and hand rows over a block at a time, and check every row against a dict
model: prefix bounds, reverse, seeks, the handle's own writes and
rollbacks between rows, and errors once the store or family is gone.
"""
import bisect
import random
import sys
import threading
import time

import pytest

import snkv

N = 3000


def key(i):
    return b"k%05d" % i


def value(i):
    # Sizes across the batch limits: empty, 100 B, 1 KiB, and some big
    # enough for overflow pages and a batch of their own.
    if i % 11 == 0:
        return b""
    if i % 97 == 0:
        return bytes([65 + i % 26]) * 40000
    if i % 5 == 0:
        return b"%05d" % i * 205  # 1025 bytes
    return (b"v%05d" % i) * 17  # 102 bytes


@pytest.fixture
def big(path):
    """A file store of N keys (even numbers only: room to insert between),
    reopened so that its scans read pages."""
    store = snkv.KVStore(path)
    store.begin(write=True)
    for i in range(0, 2 * N, 2):
        store[key(i)] = value(i)
    store.commit()
    store.close()
    store = snkv.KVStore(path)
    for _ in range(10):
        store.get(key(0))  # the handle then holds its read snapshot
    yield store
    store.close()


def model_rows(lo=0, hi=2 * N, prefix=b""):
    return [(key(i), value(i)) for i in range(lo, hi, 2)
            if key(i).startswith(prefix)]


def test_long_scans_match_the_model(big):
    rows = model_rows()
    assert list(big) == rows
    assert list(big.iterator(reverse=True)) == rows[::-1]
    assert list(big.iterator(prefix=b"k01")) == model_rows(prefix=b"k01")
    assert list(big.iterator(prefix="k02", reverse=True)) == \
        model_rows(prefix=b"k02")[::-1]
    it = big.iterator(prefix=b"k03")
    it.seek(key(3501))  # between keys, inside the prefix
    assert list(it) == model_rows(3502, 4000)
    it = big.iterator(reverse=True)
    it.seek(key(1001))
    assert list(it) == model_rows(0, 1001)[::-1]


def test_manual_moves_inside_long_scans(big):
    it = big.iterator()
    first = [next(it) for _ in range(700)]
    assert first == model_rows(0, 1400)
    assert it.key == key(1400)  # the row after the batch's last
    assert it.prev().key == key(1398)
    assert it.next().next().key == key(1402)
    assert next(it) == (key(1402), value(1402))
    assert [k for k, _ in it] == [k for k, _ in model_rows(1404)]


def _expected_next(state, pending, reverse):
    """The row the iterator serves next: its pending row's key sought again
    in the current state (the first key >= it, or <= it if reverse)."""
    if pending is None:
        return None
    keys = sorted(state)
    if reverse:
        i = bisect.bisect_right(keys, pending) - 1
        return None if i < 0 else keys[i]
    i = bisect.bisect_left(keys, pending)
    return None if i == len(keys) else keys[i]


def _successor(state, last, reverse):
    keys = sorted(state)
    if last is None:
        return (keys[-1] if reverse else keys[0]) if keys else None
    if reverse:
        i = bisect.bisect_left(keys, last) - 1
        return None if i < 0 else keys[i]
    i = bisect.bisect_right(keys, last)
    return None if i == len(keys) else keys[i]


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("in_txn", [False, True])
def test_writes_between_rows_of_a_long_scan(big, reverse, in_txn):
    rng = random.Random(7 + reverse + 2 * in_txn)
    state = dict(model_rows())
    if in_txn:
        big.begin(write=True)
    it = big.iterator(reverse=reverse)
    last = None
    served = 0
    while True:
        # The row in hand reflects the state at the last call.
        pending = _successor(state, last, reverse)
        if served % 5 == 0:
            for _ in range(rng.randrange(1, 4)):
                i = rng.randrange(2 * N + 10)
                k = last if last is not None and rng.random() < 0.2 \
                    else key(i)
                if rng.random() < 0.35:
                    if k in state:
                        big.delete(k)
                        del state[k]
                else:
                    v = value(i)[:50] + b"new"
                    big[k] = v
                    state[k] = v
        want = _expected_next(state, pending, reverse)
        row = next(it, None)
        if want is None:
            assert row is None
            break
        assert row == (want, state[want])
        last = want
        served += 1
    assert served > N // 2
    if in_txn:
        big.commit()
    assert list(big) == sorted(state.items())


def test_rollback_during_a_long_scan(big):
    big.begin(write=True)
    for i in range(2000, 2 * N, 2):
        big.delete(key(i))
    it = big.iterator()
    head = [next(it) for _ in range(500)]
    big.rollback()  # the deletes are undone
    assert head + list(it) == model_rows()


def test_closed_store_ends_a_long_scan(big):
    it = big.iterator()
    assert [next(it) for _ in range(300)] == model_rows(0, 600)
    big.close()
    with pytest.raises(snkv.Error, match="store is closed"):
        next(it)
    with pytest.raises(snkv.Error, match="store is closed"):
        it.key


def test_dropped_family_ends_a_long_scan(big):
    cf = big.create_column_family("cf")
    big.begin(write=True)
    for i in range(0, 2 * N, 2):
        cf[key(i)] = value(i)
    big.commit()
    it = cf.iterator()
    assert [next(it) for _ in range(300)] == model_rows(0, 600)
    big.drop_column_family("cf")
    with pytest.raises(snkv.Error):
        next(it)


@pytest.mark.parametrize("reverse", [False, True])
def test_threads_sharing_an_iterator_get_every_row_once(path, reverse):
    # Worker threads pulling rows from one iterator while another thread
    # overwrites rows (so that the iterator seeks back to where it was):
    # each row goes to exactly one worker, and each worker's rows come in
    # the scan's order. (Operations on the iterator let the GIL go, and
    # another thread's operation in between lost rows or handed rows out
    # twice, out of order.)
    store = snkv.KVStore(path)
    n = 20000
    store.begin(write=True)
    for i in range(n):
        store[b"t%06d" % i] = b"v" * 50
    store.commit()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, mid-batch too
    try:
        for round_ in range(10):
            it = store.iterator(reverse=reverse)
            taken = [[] for _ in range(4)]
            done = threading.Event()

            def work(mine):
                for k, _ in it:
                    mine.append(k)
                    if len(mine) % 50 == 0:
                        time.sleep(0.0005)

            def overwrite():
                r = random.Random(round_)
                while not done.is_set():
                    store[b"t%06d" % r.randrange(n)] = b"w"
                    time.sleep(0.0001)

            writer = threading.Thread(target=overwrite)
            writer.start()
            workers = [threading.Thread(target=work, args=(t,))
                       for t in taken]
            for t in workers:
                t.start()
            for t in workers:
                t.join()
            done.set()
            writer.join()
            for mine in taken:  # each worker's rows in the scan's order
                assert mine == sorted(mine, reverse=reverse)
            everything = sorted(k for mine in taken for k in mine)
            assert everything == [b"t%06d" % i for i in range(n)]
    finally:
        sys.setswitchinterval(interval)
        store.close()
