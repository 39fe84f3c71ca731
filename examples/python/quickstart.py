"""The reference's Python quick start: open, write, read, iterate."""
from snkv import KVStore

with KVStore("mydb.db") as db:
    db["hello"] = "world"
    print(db["hello"].decode())      # world
    print(db.get("missing"))         # None

    for key, value in db:
        print(key, value)            # b'hello' b'world'

    assert db["hello"] == b"world" and db.get("missing") is None
