"""Column families: create, open, list, drop; their data methods."""
from snkv import KVStore


def process():
    print("first delivery")


with KVStore("cf.db") as db:
    with db.create_column_family("users") as users:
        users["alice"] = b"admin"

    with db.open_column_family("users") as users:
        print(users["alice"])              # b'admin'

    names = db.list_column_families()      # ['default', 'users']
    print(names)

    with db.open_column_family("users") as cf:
        cf.put("alice", b"admin")
        cf.put("token", b"xyz", ttl=300)   # 5 minutes
        role = cf.get("alice")             # b'admin'
        remaining = cf.ttl("token")        # e.g. 299.99
        n = cf.purge_expired()
        print(role, remaining, f"Cleaned {n} entries")
        cf.delete("alice")
        cf["session:u42", 300] = "logged-in"
        for key, value in cf.iterator(prefix="session:", reverse=True):
            print(key, value)

    with db.create_column_family("dedup") as cf:
        if cf.put_if_absent(b"msg:001", b"hello"):
            process()
        print(cf.count())                  # 1
        cf.clear()                         # other families untouched
        print(cf.count())                  # 0

    db.drop_column_family("users")
    assert "users" not in db.list_column_families()
