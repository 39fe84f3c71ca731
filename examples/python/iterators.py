"""Iterators: for loops, reverse, prefix, manual control, seek."""
from snkv import KVStore

with KVStore("it.db") as db:
    for name in ["alice", "bob", "carol", "dave", "mallory"]:
        db[f"user:{name}"] = name.upper()
    db["zeta"] = "last"

    for key, value in db.iterator():                   # forward
        print(key.decode(), "->", value.decode())
    for key, value in db.iterator(reverse=True):       # reverse
        print(key, value)
    for key, value in db.iterator(prefix="user:"):     # prefix, ascending
        print(key, value)
    for key, value in db.iterator(prefix="user:", reverse=True):
        print(key, value)

    with db.iterator(reverse=True) as it:              # closes on exit
        for key, value in it:
            print(key, value)

    it = db.iterator()                                 # manual forward
    it.first()
    while not it.eof:
        print(it.key.decode(), it.value.decode())
        it.next()
    it.close()

    it = db.reverse_iterator()                         # manual reverse
    it.last()
    while not it.eof:
        k, v = it.item()
        print(k, v)
        it.prev()
    it.close()

    with db.iterator() as it:                          # seek
        it.seek(b"user:carol")                         # first key >= target
        while not it.eof:
            print(it.key)
            it.next()

    with db.iterator(prefix=b"user:") as it:           # seek inside a prefix
        it.seek(b"user:m")
        seen = []
        while not it.eof:
            seen.append(it.key)
            it.next()
        assert seen == [b"user:mallory"]               # never leaves user:

    key = db.iterator().seek(b"user:b").key            # seek returns self
    assert key == b"user:bob"
