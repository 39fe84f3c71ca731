"""begin/commit/rollback."""
import pytest

import snkv


def test_commit_and_rollback(db):
    db.begin(write=True)
    db["a"] = "1"
    db["b"] = "2"
    assert db["a"] == b"1"  # own writes visible inside
    assert db.count() == 2
    db.commit()
    db.begin(write=True)
    db["c"] = "3"
    del db["a"]
    db.rollback()
    assert sorted(db) == [(b"a", b"1"), (b"b", b"2")]


def test_spec_pattern(db):
    db.begin(write=True)
    try:
        db["a"] = "1"
        raise RuntimeError("boom")
    except RuntimeError:
        db.rollback()
    assert "a" not in db


def test_read_transaction_rejects_writes(db):
    db["a"] = "1"
    db.begin()  # write=False
    assert db["a"] == b"1"
    with pytest.raises(snkv.ReadOnlyError):
        db["b"] = "2"
    db.commit()
    db["b"] = "2"


def test_read_transaction_is_a_snapshot(path):
    with snkv.KVStore(path) as a, snkv.KVStore(path) as b:
        a["k"] = "old"
        b.begin(write=False)
        assert b["k"] == b"old"
        a["k"] = "new"
        assert b["k"] == b"old"
        b.commit()
        assert b["k"] == b"new"


def test_errors(db):
    with pytest.raises(snkv.Error):
        db.commit()  # none open
    db.begin(write=True)
    with pytest.raises(snkv.Error):
        db.begin(write=True)  # one at a time
    db.rollback()


def test_busy_between_handles(path):
    with snkv.KVStore(path) as a, snkv.KVStore(path) as b:
        a.begin(write=True)
        a["x"] = "1"
        with pytest.raises(snkv.BusyError):
            b["y"] = "2"
        with pytest.raises(snkv.BusyError):
            b.begin(write=True)
        a.commit()
        b["y"] = "2"


def test_close_rolls_back(path):
    db = snkv.KVStore(path)
    db.begin(write=True)
    db["a"] = "1"
    db.close()
    with snkv.KVStore(path) as db:
        assert "a" not in db
