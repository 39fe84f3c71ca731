"""Opening stores: minimal, in memory, fully configured, read-only."""
from snkv import JOURNAL_WAL, SYNC_NORMAL, KVStore

db = KVStore("mydb.db")              # minimal
db.close()

mem = KVStore()                      # in memory (or KVStore(None))
mem["k"] = "v"
mem.close()

db = KVStore(
    "mydb.db",
    journal_mode=JOURNAL_WAL,
    sync_level=SYNC_NORMAL,
    cache_size=4000,
    busy_timeout=5000,
    wal_size_limit=200,
)
db["key"] = "value"
db.close()

with KVStore("mydb.db", read_only=1) as ro:   # context manager
    assert ro["key"] == b"value"
