"""Encrypted stores: open, wrong password, change it, remove it."""
from snkv import AuthError, KVStore

with KVStore.open_encrypted("secret.db", b"hunter2") as db:
    db[b"secret"] = b"classified"
    print(db.is_encrypted())        # True
    print(db[b"secret"])            # b'classified'

try:
    KVStore.open_encrypted("secret.db", b"wrong")
except AuthError:
    print("bad password")

with KVStore.open_encrypted("secret.db", b"hunter2") as db:
    db.reencrypt(b"new-strong-pass")

with KVStore.open_encrypted("secret.db", b"new-strong-pass") as db:
    db.remove_encryption()
with KVStore("secret.db") as db:    # plain open works now
    print(db[b"secret"])

with KVStore.open_encrypted("secret.db", b"fresh-pass") as db:
    print(db.is_encrypted())        # True: encrypted in place
    assert db[b"secret"] == b"classified"
