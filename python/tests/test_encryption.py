"""open_encrypted, is_encrypted, reencrypt, remove_encryption."""
import pytest

import snkv
from snkv import KVStore


def test_round_trip(path):
    with KVStore.open_encrypted(path, b"hunter2") as db:
        assert isinstance(db, KVStore)
        db[b"secret"] = b"classified"
        assert db.is_encrypted() is True
        assert db[b"secret"] == b"classified"
    with open(path, "rb") as f:
        assert b"classified" not in f.read()
    with pytest.raises(snkv.AuthError):
        KVStore.open_encrypted(path, b"wrong")
    with pytest.raises(snkv.AuthError):
        KVStore(path)
    with KVStore.open_encrypted(path, "hunter2") as db:  # str password
        db.reencrypt(b"new-strong-pass")
    with pytest.raises(snkv.AuthError):
        KVStore.open_encrypted(path, b"hunter2")
    with KVStore.open_encrypted(path, bytearray(b"new-strong-pass")) as db:
        db.remove_encryption()
        assert db.is_encrypted() is False
    with KVStore(path) as db:
        assert db[b"secret"] == b"classified"
        assert db.is_encrypted() is False


def test_plain_store_encrypted_in_place(path):
    with KVStore(path) as db:
        db["a"] = "1"
        db.create_column_family("cf").put("b", "2")
    with KVStore.open_encrypted(path, b"fresh-pass",
                                busy_timeout=100) as db:
        assert db.is_encrypted()
        assert db["a"] == b"1"
        assert db.open_column_family("cf")["b"] == b"2"


def test_in_memory_encrypted():
    with KVStore.open_encrypted(None, "pw") as db:
        db["k"] = "v"
        assert db.is_encrypted() and db["k"] == b"v"
        assert [k for k, _ in db] == [b"k"]
        db.put("t", "x", ttl=1000)
        assert 900 < db.ttl("t") <= 1000


def test_password_type_error(path):
    with pytest.raises(TypeError, match="int"):
        KVStore.open_encrypted(path, 1234)


def test_reencrypt_inside_transaction_fails(path):
    with KVStore.open_encrypted(path, "pw") as db:
        db.begin(write=True)
        with pytest.raises(snkv.Error):
            db.reencrypt("other")
        db.rollback()


def test_tampered_value_reads_corrupt(tmp_path):
    import sqlite3
    p = str(tmp_path / "t.db")
    with KVStore.open_encrypted(p, "pw", journal_mode=snkv.JOURNAL_DELETE) as db:
        db["a"] = "1" * 50
        db["b"] = "2" * 50
    con = sqlite3.connect(p)
    tables = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_schema WHERE type='table'")]
    swapped = False
    for t in tables:
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
        if cols[:2] == ["k", "v"]:
            rows = dict(con.execute(f'SELECT k, v FROM "{t}"'))
            if b"a" in rows and b"b" in rows:
                con.execute(f'UPDATE "{t}" SET v=? WHERE k=?', (rows[b"b"], b"a"))
                swapped = True
    con.commit()
    con.close()
    assert swapped
    with KVStore.open_encrypted(p, "pw") as db:
        with pytest.raises(snkv.CorruptError):
            db["a"]
        assert db["b"] == b"2" * 50


def test_none_password_is_refused_and_writes_nothing(path):
    # None must not fall through to a plain open: that would write the
    # user's secrets in clear text.
    with pytest.raises(TypeError, match="password"):
        KVStore.open_encrypted(path, None)
    with pytest.raises(TypeError, match="password"):
        KVStore.open_encrypted(None, None)
    import os
    assert not os.path.exists(path)
