"""The stores the Python benchmark drives, behind one small interface.

Each adapter opens a fresh store in a directory and offers: put (one
autocommit write), load (many puts in one transaction), get, exists,
delete, scan (all rows, ascending, key and value), prefix_scan, put_ttl
(None when the store has no TTL) and reader() (a handle for another
thread). Values are raw bytes everywhere (sqlitedict's pickling is turned
off) so every store moves the same bytes.
"""
import os
import sqlite3
import threading


class Snkv:
    name = "snkv"

    def __init__(self, path):
        import snkv
        self.path = os.path.join(path, "snkv.db")
        self.db = snkv.KVStore(self.path)
        self.put = self.db.put
        self.get = self.db.get
        self.exists = self.db.exists
        self.delete = self.db.delete

    def load(self, items):
        db = self.db
        db.begin(write=True)
        put = db.put
        for k, v in items:
            put(k, v)
        db.commit()

    def scan(self):
        n = 0
        for _k, _v in self.db:
            n += 1
        return n

    def prefix_scan(self, prefix):
        n = 0
        for _k, _v in self.db.iterator(prefix=prefix):
            n += 1
        return n

    def put_ttl(self, k, v):
        self.db.put(k, v, ttl=3600)

    def reader(self):
        import snkv
        return snkv.KVStore(self.path).get

    def close(self):
        self.db.close()


class Sqlite:
    """stdlib sqlite3: one WITHOUT ROWID table, WAL, synchronous=NORMAL,
    autocommit (isolation_level=None). The module keeps each SQL text's
    prepared statement in its cache, so every call reuses one."""
    name = "sqlite3"

    def __init__(self, path):
        self.path = os.path.join(path, "sqlite.db")
        self.con = self._connect()
        self.con.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY,"
                         " v BLOB NOT NULL) WITHOUT ROWID")
        ex = self.con.execute
        self._ex = ex

    def _connect(self):
        con = sqlite3.connect(self.path, isolation_level=None,
                              check_same_thread=False, cached_statements=64)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    def put(self, k, v):
        self._ex("INSERT OR REPLACE INTO kv VALUES (?, ?)", (k, v))

    def load(self, items):
        self._ex("BEGIN")
        self.con.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", items)
        self._ex("COMMIT")

    def get(self, k):
        row = self._ex("SELECT v FROM kv WHERE k = ?", (k,)).fetchone()
        return row[0] if row else None

    def exists(self, k):
        return self._ex("SELECT 1 FROM kv WHERE k = ?", (k,)).fetchone() \
            is not None

    def delete(self, k):
        self._ex("DELETE FROM kv WHERE k = ?", (k,))

    def scan(self):
        n = 0
        for _row in self._ex("SELECT k, v FROM kv ORDER BY k"):
            n += 1
        return n

    def prefix_scan(self, prefix):
        end = prefix[:-1] + bytes([prefix[-1] + 1])
        n = 0
        for _row in self._ex("SELECT k, v FROM kv WHERE k >= ? AND k < ? "
                             "ORDER BY k", (prefix, end)):
            n += 1
        return n

    put_ttl = None

    def reader(self):
        con = self._connect()

        def get(k):
            row = con.execute("SELECT v FROM kv WHERE k = ?",
                              (k,)).fetchone()
            return row[0] if row else None
        return get

    def close(self):
        self.con.close()


class SqliteDict:
    name = "sqlitedict"

    def __init__(self, path):
        from sqlitedict import SqliteDict as SD
        ident = lambda x: x  # noqa: E731 - raw bytes, no pickling
        self.d = SD(os.path.join(path, "sd.db"), autocommit=True,
                    encode=ident, decode=ident)
        self._SD = SD

    def put(self, k, v):
        self.d[k] = v

    def load(self, items):
        # Its one-transaction form: autocommit off for the batch.
        self.d.autocommit = False
        for k, v in items:
            self.d[k] = v
        self.d.commit()
        self.d.autocommit = True

    def get(self, k):
        return self.d.get(k)

    def exists(self, k):
        return k in self.d

    def delete(self, k):
        del self.d[k]

    def scan(self):
        n = 0
        for _kv in self.d.items():
            n += 1
        return n

    prefix_scan = None  # keys are not kept ordered for range reads
    put_ttl = None

    def reader(self):
        return self.d.get  # one connection, serialised by its own thread

    def close(self):
        self.d.close()


class DiskCache:
    name = "diskcache"

    def __init__(self, path):
        import diskcache
        self.c = diskcache.Cache(os.path.join(path, "dc"))
        self.put = self.c.set
        self.get = self.c.get
        self.delete = self.c.delete

    def load(self, items):
        with self.c.transact():
            s = self.c.set
            for k, v in items:
                s(k, v)

    def exists(self, k):
        return k in self.c

    scan = None  # iterates keys only, in no useful order
    prefix_scan = None

    def put_ttl(self, k, v):
        self.c.set(k, v, expire=3600)

    def reader(self):
        return self.c.get  # thread-safe (a connection per thread)

    def close(self):
        self.c.close()


class Lmdb:
    """python3-lmdb, sync off (like snkv's WAL without fsync per commit),
    a read transaction per get (reads see the latest commit)."""
    name = "lmdb"

    def __init__(self, path):
        import lmdb
        self.env = lmdb.open(os.path.join(path, "lmdb"), map_size=8 << 30,
                             sync=False, metasync=False, readahead=False,
                             max_readers=64, lock=True)

    def put(self, k, v):
        with self.env.begin(write=True) as t:
            t.put(k, v)

    def load(self, items):
        with self.env.begin(write=True) as t:
            for k, v in items:
                t.put(k, v)

    def get(self, k):
        with self.env.begin(buffers=False) as t:
            return t.get(k)

    def exists(self, k):
        with self.env.begin() as t:
            return t.get(k) is not None

    def delete(self, k):
        with self.env.begin(write=True) as t:
            t.delete(k)

    def scan(self):
        n = 0
        with self.env.begin() as t:
            for _kv in t.cursor():
                n += 1
        return n

    def prefix_scan(self, prefix):
        n = 0
        with self.env.begin() as t:
            c = t.cursor()
            if c.set_range(prefix):
                for k, _v in c:
                    if not k.startswith(prefix):
                        break
                    n += 1
        return n

    put_ttl = None

    def reader(self):
        return self.get

    def close(self):
        self.env.close()


class Plyvel:
    name = "plyvel"

    def __init__(self, path):
        import plyvel
        self.db = plyvel.DB(os.path.join(path, "ldb"), create_if_missing=True)
        self.put = self.db.put
        self.get = self.db.get
        self.delete = self.db.delete

    def load(self, items):
        with self.db.write_batch() as b:
            for k, v in items:
                b.put(k, v)

    def exists(self, k):
        return self.db.get(k) is not None

    def scan(self):
        n = 0
        for _kv in self.db.iterator():
            n += 1
        return n

    def prefix_scan(self, prefix):
        n = 0
        for _kv in self.db.iterator(prefix=prefix):
            n += 1
        return n

    put_ttl = None

    def reader(self):
        return self.db.get

    def close(self):
        self.db.close()


STORES = {s.name: s for s in (Snkv, Sqlite, SqliteDict, DiskCache, Lmdb,
                              Plyvel)}
SQLITE_BASED = ("sqlite3", "sqlitedict", "diskcache")
