"""begin/commit/rollback, as the reference shows."""
from snkv import KVStore

with KVStore("txn.db") as db:
    db.begin(write=True)
    try:
        db["a"] = "1"
        db["b"] = "2"
        db.commit()
    except Exception:
        db.rollback()
        raise

    db.begin(write=True)
    db["c"] = "3"
    db.rollback()
    assert db.get("c") is None and db["a"] == b"1"
