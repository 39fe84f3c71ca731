"""put/get/delete/exists, TTLs, put_if_absent, clear/count, dict syntax."""
import time

from snkv import KVStore, NotFoundError

data = b"cached bytes"
with KVStore("core.db") as db:
    db.put("user:1", b"\x01\x02\x03")
    db.put("session", "tok", ttl=3600)     # expires in an hour
    db.put("cache", data, ttl=0.5)         # half a second

    assert db.get("user:1") == b"\x01\x02\x03"
    assert db.get("missing", b"") == b""
    assert db.exists("session")

    db.put("perm", "forever")
    print(db.ttl("session"))               # e.g. 3599.97
    print(db.ttl("perm"))                  # None: no expiry
    time.sleep(0.6)
    n = db.purge_expired()
    print(f"Removed {n} expired keys")      # 1 (cache)
    assert n == 1

    # put_if_absent: a lock with auto-release, and deduplication
    ran = []
    if db.put_if_absent(b"lock:job-1", b"worker-A", ttl=30):
        ran.append("job")                  # only one worker gets here
    if db.put_if_absent(b"lock:job-1", b"worker-B", ttl=30):
        ran.append("twice")
    assert ran == ["job"]
    if db.put_if_absent(b"msg:001", b"payload"):
        print("processing msg:001")        # first write wins

    print(db.count())
    db.clear()                             # default family emptied
    db.put(b"fresh", b"start")
    assert db.count() == 1

    # dict syntax
    db["session:abc"] = "active"
    db["token:xyz", 60] = "bearer-abc"     # expires in 60 s
    print(db["session:abc"])               # b'active'
    del db["session:abc"]
    try:
        db["session:abc"]
    except NotFoundError:                  # also a KeyError
        print("gone")
    db.delete("user:1") if db.exists("user:1") else None
