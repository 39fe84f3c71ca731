"""sync, vacuum, integrity_check, checkpoint, stats, errmsg."""
import os

import pytest

import snkv

STAT_KEYS = {"puts", "gets", "deletes", "iterations", "errors", "bytes_read",
             "bytes_written", "wal_commits", "checkpoints", "ttl_expired",
             "ttl_purged", "db_pages"}


def test_stats_keys_and_counts(db):
    db.stats_reset()
    db["ab"] = "xyz"
    db.put_if_absent("q", "1")
    db.get("ab")
    db.get("missing")
    db.delete("ab")
    with pytest.raises(snkv.Error):
        db.commit()
    st = db.stats()
    assert set(st) == STAT_KEYS
    assert all(type(v) is int for v in st.values())
    assert st["puts"] == 2
    assert st["gets"] == 2
    assert st["deletes"] == 1
    assert st["bytes_written"] == 5 + 2
    assert st["bytes_read"] == 3
    assert st["errors"] == 1
    assert st["wal_commits"] >= 3
    assert st["db_pages"] > 0
    db.stats_reset()
    st = db.stats()
    assert st["puts"] == 0 and st["errors"] == 0 and st["db_pages"] > 0


def test_checkpoint_modes(db):
    for i in range(100):
        db[f"{i}"] = "x" * 100
    nlog, nckpt = db.checkpoint()
    assert nlog >= nckpt >= 0
    nlog, nckpt = db.checkpoint(snkv.CHECKPOINT_TRUNCATE)
    assert (nlog, nckpt) == (0, 0)
    assert os.path.getsize(db_path(db)) > 0
    for mode in (snkv.CHECKPOINT_FULL, snkv.CHECKPOINT_RESTART):
        assert len(db.checkpoint(mode)) == 2
    with pytest.raises(ValueError):
        db.checkpoint(9)
    assert db.stats()["checkpoints"] >= 4


def db_path(db):
    return db._test_path


@pytest.fixture
def db(path):
    store = snkv.KVStore(path)
    store._test_path = path
    yield store
    store.close()


def test_vacuum_reclaims(db):
    for i in range(2000):
        db[f"{i}"] = "x" * 500
    before = db.stats()["db_pages"]
    db.clear()
    db.vacuum()
    assert db.stats()["db_pages"] < before
    db.vacuum(n_pages=10)
    with pytest.raises(ValueError):
        db.vacuum(-1)


def test_sync_and_integrity(db):
    db["a"] = "1"
    assert db.sync() is None
    assert db.integrity_check() is None


def test_integrity_check_finds_damage(tmp_path):
    p = str(tmp_path / "bad.db")
    with snkv.KVStore(p, journal_mode=snkv.JOURNAL_DELETE) as db:
        db.begin(write=True)
        for i in range(3000):
            db[f"key{i:06d}"] = os.urandom(200)
        db.commit()
    size = os.path.getsize(p)
    with open(p, "r+b") as f:  # scribble over interior pages
        for off in range(8 * 4096, size - 4096, 16 * 4096):
            f.seek(off + 100)
            f.write(os.urandom(2000))
    raised = False
    try:
        with snkv.KVStore(p, journal_mode=snkv.JOURNAL_DELETE) as db:
            db.integrity_check()
    except snkv.CorruptError as e:
        raised = True
        assert str(e)
    assert raised


def test_errmsg(db):
    assert db.errmsg == "not an error"
    with pytest.raises(snkv.NotFoundError) as e:
        db.delete("nope")
    assert db.errmsg == str(e.value.args[0])
    db.close()
    assert db.errmsg == "store is closed"
