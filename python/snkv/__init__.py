"""snkv: an embedded key-value store in one SQLite file.

    from snkv import KVStore

    with KVStore("app.db") as db:
        db["user:1"] = "alice"
        print(db["user:1"])            # b'alice'
        for key, value in db.iterator(prefix="user:"):
            print(key, value)

Keys and values may be str (stored as UTF-8), bytes, bytearray or
memoryview; what comes back is always bytes. Every call that touches the
file releases the GIL, and one KVStore may be shared by threads. See
docs/python.md for the whole API.
"""

import operator as _operator
import os as _os

from ._snkv import (
    CHECKPOINT_FULL,
    CHECKPOINT_PASSIVE,
    CHECKPOINT_RESTART,
    CHECKPOINT_TRUNCATE,
    JOURNAL_DELETE,
    JOURNAL_WAL,
    MAX_COLUMN_FAMILIES,
    NO_TTL,
    SYNC_FULL,
    SYNC_NORMAL,
    SYNC_OFF,
    AuthError,
    BusyError,
    ColumnFamily,
    CorruptError,
    Error,
    Iterator,
    LockedError,
    NotFoundError,
    ReadOnlyError,
)
from ._snkv import Store as _Store

__all__ = [
    "KVStore", "ColumnFamily", "Iterator",
    "Error", "NotFoundError", "BusyError", "LockedError", "ReadOnlyError",
    "CorruptError", "AuthError",
    "JOURNAL_WAL", "JOURNAL_DELETE", "SYNC_OFF", "SYNC_NORMAL", "SYNC_FULL",
    "CHECKPOINT_PASSIVE", "CHECKPOINT_FULL", "CHECKPOINT_RESTART",
    "CHECKPOINT_TRUNCATE", "NO_TTL", "MAX_COLUMN_FAMILIES",
]

__version__ = "0.1.0"


def _path_arg(path):
    """The file name for the C++ layer: None stays None (in memory);
    str, bytes and os.PathLike become the file system's bytes."""
    if path is None:
        return None
    raw = _os.fsencode(_os.fspath(path))
    if b"\0" in raw:
        raise ValueError("path contains a NUL byte")
    if not raw:
        raise ValueError("path is empty (use None for an in-memory store)")
    return raw


_INT_MAX = (1 << 31) - 1  # the C++ options are C ints


def _int_arg(value, name, low, high=_INT_MAX):
    """value as an int in [low, high]: TypeError for a non-integer (bool
    included), ValueError when out of range, so that a bad number is the
    caller's error and never reaches the binding or the store. Shared with
    snkv.vector."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not bool")
    try:
        n = _operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an int, not {type(value).__name__}") from None
    if not low <= n <= high:
        raise ValueError(f"{name} must be in {low}..{high}, got {n}")
    return n


# KVStore's keywords and their defaults; snkv.vector's VectorStore takes
# the same ones.
_STORE_DEFAULTS = dict(journal_mode=JOURNAL_WAL, sync_level=SYNC_NORMAL,
                       cache_size=2000, page_size=4096, busy_timeout=0,
                       wal_size_limit=0, read_only=0)


def _options(caller, kwargs):
    """The store options for the keywords kwargs of caller(): an unknown
    name is a TypeError (as a def would raise), a bad value TypeError or
    ValueError; a missing one takes its default. Shared with
    snkv.vector."""
    unknown = sorted(set(kwargs) - set(_STORE_DEFAULTS))
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument "
                        f"{unknown[0]!r}")
    o = dict(_STORE_DEFAULTS, **kwargs)
    o["journal_mode"] = _int_arg(o["journal_mode"], "journal_mode", 0, 1)
    o["sync_level"] = _int_arg(o["sync_level"], "sync_level", 0, 2)
    o["cache_size"] = _int_arg(o["cache_size"], "cache_size", 1)
    page_size = o["page_size"] = _int_arg(o["page_size"], "page_size", 512,
                                          65536)
    if page_size & (page_size - 1):
        raise ValueError(
            f"page_size must be a power of two in 512..65536, got {page_size}")
    o["busy_timeout"] = _int_arg(o["busy_timeout"], "busy_timeout", 0)
    o["wal_size_limit"] = _int_arg(o["wal_size_limit"], "wal_size_limit", 0)
    o["read_only"] = bool(o["read_only"])
    return o


class KVStore(_Store):
    """An open store: one SQLite database file, or memory when path is None.

    KVStore(path=None, *, journal_mode=JOURNAL_WAL, sync_level=SYNC_NORMAL,
            cache_size=2000, page_size=4096, busy_timeout=0,
            wal_size_limit=0, read_only=0)

    path is a str, bytes or os.PathLike; the file is created if missing.
    cache_size is in pages; page_size applies to new files only;
    busy_timeout (ms) is how long to wait for another connection's lock
    before BusyError; wal_size_limit N > 0 checkpoints every N commits.
    An encrypted file raises AuthError: open it with open_encrypted().

    The methods put/get/delete/exists/ttl/... act on the default column
    family. Use the store as a context manager (it closes on exit), or
    call close(). Reads outside a transaction always see the latest
    commit of any connection or process.
    """

    def __init__(self, path=None, **options):
        super().__init__(_path_arg(path), _options("KVStore", options))

    @classmethod
    def open_encrypted(cls, path, password, **options):
        """Opens or creates an encrypted store (path None: in memory).

        password is str (UTF-8) or bytes-like. A plain store is encrypted
        in place, its data kept. AuthError if the store is encrypted under
        another password. Takes the same keywords as KVStore().
        """
        # None would open a plain store: an encrypted open must never
        # silently write plaintext.
        if password is None:
            raise TypeError("open_encrypted() needs a password (str or "
                            "bytes-like), not None")
        self = cls.__new__(cls)
        _Store.__init__(self, _path_arg(path), _options("open_encrypted",
                                                        options),
                        password=password)
        return self

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()

    def __repr__(self):
        state = "closed" if self.closed else "open"
        return f"<snkv.KVStore ({state}) at {id(self):#x}>"
