"""snkv.vector: a key-value store with nearest-neighbour search.

    import numpy as np
    from snkv.vector import VectorStore

    with VectorStore("docs.db", dim=4, space="cosine") as vs:
        vs.vector_put(b"doc:1", b"hello", [0.1, 0.2, 0.3, 0.4],
                      metadata={"lang": "en"})
        for hit in vs.search(np.array([0.1, 0.2, 0.3, 0.5]), top_k=3,
                             filter={"lang": "en"}):
            print(hit.key, hit.distance, hit.metadata)

Each key has a value (bytes), and may have a float32 vector and a JSON
metadata dict; all three live in one SQLite file and are written in one
transaction. The HNSW index in memory is derived from the file: it is
loaded from a sidecar file (<path>.snkv-vec) when that is current, else
rebuilt, and every search first applies what other handles or processes
committed since, so searches are always fresh.

This module imports numpy (``import snkv`` alone does not). Vectors may be
given as numpy arrays of any real dtype, lists or tuples of numbers,
buffers of typed values (array.array, memoryview), or raw bytes of
native float32 values; they are converted to float32. Vectors come back as
float32 numpy arrays. See docs/python.md for the whole API.
"""

import json as _json
import math as _math
import numbers as _numbers
import operator as _operator
from typing import NamedTuple, Optional

import numpy as np

from . import _int_arg, _options, _path_arg
from ._snkv import VectorIndexError, VectorMismatchError
from ._snkv import _VectorStore

__all__ = ["VectorStore", "SearchResult", "VectorIndexError",
           "VectorMismatchError"]

_SPACES = {"l2": 0, "cosine": 1, "ip": 2}
_DTYPES = {"f32": 0, "f16": 1, "i8": 2}
_MAX_DIM = 65536
# The store's limits (src/vector): checked here so that an out-of-range
# number is a ValueError, not an error from the store or the binding.
_MAX_CONNECTIVITY = 1024
_MAX_EXPANSION = 1 << 20
_MAX_TOP_K = 1 << 30  # beyond any store's size; keeps the C++ int in range


class SearchResult(NamedTuple):
    """One hit of VectorStore.search(): the key, its value, its distance to
    the query (smaller is nearer; see VectorStore for each space's
    distance) and its metadata dict, or None when it has none."""

    key: bytes
    value: bytes
    distance: float
    metadata: Optional[dict]


def _choice(value, name, choices):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    try:
        return choices[value]
    except KeyError:
        names = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {names}, got {value!r}") \
            from None


def _ttl_arg(ttl):
    """ttl as float seconds (finite and positive), or None."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, _numbers.Real):
        raise TypeError(
            f"ttl must be a number of seconds or None, not "
            f"{type(ttl).__name__}")
    seconds = float(ttl)
    if not seconds > 0 or _math.isinf(seconds):
        raise ValueError(
            f"ttl must be a finite positive number of seconds, got {ttl!r}")
    return seconds


def _encode_metadata(metadata):
    """The metadata argument for the store: None (keep what is stored),
    b"" (clear: an empty dict) or the dict as compact UTF-8 JSON."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, not "
                        f"{type(metadata).__name__}")
    if not metadata:
        return b""
    return _json_bytes(metadata, "metadata")


def _json_bytes(obj, what):
    try:
        text = _json.dumps(obj, separators=(",", ":"), ensure_ascii=False,
                           allow_nan=False)
        return text.encode("utf-8")
    except ValueError as e:  # NaN/inf, circular, lone surrogates
        raise ValueError(f"{what} is not valid JSON: {e}") from None
    except TypeError as e:
        raise TypeError(f"{what} is not JSON-serializable: {e}") from None


def _decode_metadata(raw):
    """Stored metadata bytes as a dict; None when there are none, or when
    they are not a JSON object (e.g. written by another program)."""
    if raw is None:
        return None
    try:
        value = _json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _is_raw_bytes(obj):
    """True for byte buffers, read as packed native float32 values."""
    if isinstance(obj, (bytes, bytearray)):
        return True
    return isinstance(obj, memoryview) and obj.format in ("B", "b", "c")


def _as_float32(obj, what):
    """obj as a C-contiguous float32 array: no copy when it is one already,
    else one conversion. TypeError for values that are not real numbers."""
    if _is_raw_bytes(obj):
        if len(memoryview(obj).cast("B")) % 4:
            raise ValueError(f"{what}: raw bytes must be a whole number of "
                             f"float32 values (a multiple of 4 bytes)")
        return np.frombuffer(obj, dtype=np.float32)
    try:
        a = np.asarray(obj)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what} is not an array of numbers: {e}") from None
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{what} must hold real numbers, not {a.dtype} "
                        f"values")
    if a.dtype != np.float32 or not a.flags.c_contiguous:
        # Values too large for float32 become inf, which the store rejects
        # with ValueError: no need for numpy's warning too.
        with np.errstate(over="ignore", invalid="ignore"):
            a = np.ascontiguousarray(a, dtype=np.float32)
    return a


def _max_distance(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _numbers.Real):
        raise TypeError(f"max_distance must be a number or None, not "
                        f"{type(value).__name__}")
    return float(value)  # NaN: ValueError from the store


def _filter_args(filter):
    """(callable or None, JSON bytes or None) for a search's filter."""
    if filter is None:
        return None, None
    if isinstance(filter, dict):
        return None, _json_bytes(filter, "filter")
    if callable(filter):
        def call(raw):
            return filter(_decode_metadata(raw) or {})
        return call, None
    raise TypeError(f"filter must be a dict, a callable or None, not "
                    f"{type(filter).__name__}")


class VectorStore(_VectorStore):
    """A key-value store whose keys may carry a vector, with HNSW search.

    VectorStore(path, dim, *, space="l2", connectivity=16,
                expansion_add=128, expansion_search=None, dtype="f32",
                password=None, **kv_kwargs)

    path: a file (str, bytes or os.PathLike; created if missing), or None
    for a private store in memory. dim: the vector length, 1..65536.
    space: "l2" (squared Euclidean distance), "cosine" (1 - cosine
    similarity) or "ip" (minus the dot product). dtype: precision of the
    vectors held by the in-memory index, "f32", "f16" (half the memory) or
    "i8" (a quarter); the file always keeps float32, which rerank uses.
    connectivity (HNSW M) and expansion_add (ef_construction) shape the
    graph. dim, space, dtype, connectivity and expansion_add are fixed when
    the store is created; reopening with another dim, space or dtype raises
    VectorMismatchError. expansion_search (ef at query time): None keeps
    the stored one (64 for a new store). password (str or bytes) opens or
    creates an encrypted store; its index is rebuilt at every open (no
    sidecar file). kv_kwargs are KVStore's keywords: journal_mode,
    sync_level, cache_size, page_size, busy_timeout, wal_size_limit,
    read_only.

    Keys and values may be str (stored as UTF-8) or bytes-like; they come
    back as bytes. Calls release the GIL; one VectorStore may be shared by
    threads, and searches run in parallel. Use it as a context manager, or
    call close().
    """

    # Not iterable: the dict interface reaches values only, by key.
    __iter__ = None

    def __init__(self, path, dim, *, space="l2", connectivity=16,
                 expansion_add=128, expansion_search=None, dtype="f32",
                 password=None, **kv_kwargs):
        """Opens or creates the store (see the class's doc). Raises
        VectorMismatchError, AuthError, snkv.Error, or TypeError /
        ValueError for bad arguments."""
        options = _options("VectorStore", kv_kwargs)
        dim = _int_arg(dim, "dim", 1, _MAX_DIM)
        ef_search = (0 if expansion_search is None else
                     _int_arg(expansion_search, "expansion_search", 1,
                              _MAX_EXPANSION))
        super().__init__(
            _path_arg(path), dim, _choice(space, "space", _SPACES),
            _choice(dtype, "dtype", _DTYPES),
            # 1 is taken (and raised to 2) as the C and C++ APIs take it, so
            # that a store their programs made with 1 opens the same way.
            _int_arg(connectivity, "connectivity", 1, _MAX_CONNECTIVITY),
            _int_arg(expansion_add, "expansion_add", 1, _MAX_EXPANSION),
            ef_search, password, True, options)
        self._dim = dim

    # --- writes ----------------------------------------------------------

    def vector_put(self, key, value, vector, *, ttl=None, metadata=None):
        """Stores value and vector under key in one transaction, replacing
        what the key had (the count of vectors does not change on
        overwrite).

        vector: dim real numbers (see the module's doc for the accepted
        forms). ttl: seconds until key expires (finite, > 0), None for
        never. metadata: None keeps the key's stored metadata, {} clears
        it, a dict of JSON values replaces it. ValueError for a vector of
        the wrong length or holding NaN or infinity; nothing is written
        then. VectorIndexError after drop_vector_index().
        """
        self._put(key, value, self._vector(vector, "vector"), _ttl_arg(ttl),
                  _encode_metadata(metadata))

    def vector_put_batch(self, items=None, *, ttl=None, keys=None,
                         values=None, vectors=None, metadata=None):
        """Stores many items in one transaction: all or nothing.

        items: an iterable of (key, value, vector) or (key, value, vector,
        metadata) tuples. Or, instead of items, columns: keys and values
        (sequences of n) and vectors, an (n, dim) array-like handed to the
        store as one float32 block (converted at most once, never row by
        row), with metadata None or a sequence of n dicts-or-None.
        A key given twice keeps its last item. ttl applies to every item.
        Every vector is checked before anything is written: one bad vector
        (wrong length, NaN, infinity) raises ValueError and stores
        nothing. Metadata follows vector_put's None / {} / dict rule.
        """
        ttl = _ttl_arg(ttl)
        if items is not None:
            if keys is not None or values is not None or vectors is not None \
                    or metadata is not None:
                raise TypeError("pass either items or keys/values/vectors, "
                                "not both")
            keys, values, matrix, metas = self._rows(items)
        else:
            if keys is None or values is None or vectors is None:
                raise TypeError("vector_put_batch() needs items, or keys, "
                                "values and vectors")
            if isinstance(keys, (str, bytes, bytearray, memoryview)):
                # A str is a sequence of characters: never n keys.
                raise TypeError(
                    f"keys must be a sequence of keys, not one "
                    f"{type(keys).__name__}")
            keys = list(keys)
            matrix = self._matrix(vectors, len(keys))
            metas = None
            if metadata is not None:
                metas = [_encode_metadata(m) for m in metadata]
        self._put_batch(keys, values, matrix, metas, ttl)

    def _rows(self, items):
        """Columns of an iterable of item tuples; the vectors copied into
        one (n, dim) float32 block."""
        rows = list(items)
        matrix = np.empty((len(rows), self._dim), dtype=np.float32)
        keys, values, metas = [], [], []
        any_meta = False
        for i, item in enumerate(rows):
            if not isinstance(item, (tuple, list)) or len(item) not in (3, 4):
                raise TypeError(
                    f"item {i} must be a (key, value, vector) or (key, "
                    f"value, vector, metadata) tuple")
            keys.append(item[0])
            values.append(item[1])
            matrix[i] = self._vector(item[2], f"vector of item {i}")
            meta = _encode_metadata(item[3]) if len(item) == 4 else None
            any_meta = any_meta or meta is not None
            metas.append(meta)
        return keys, values, matrix, (metas if any_meta else None)

    # --- reads -----------------------------------------------------------

    def vector_get(self, key):
        """key's vector as a new float32 numpy array of shape (dim,).
        NotFoundError if the key has no vector (or it expired);
        VectorIndexError after drop_vector_index()."""
        return np.frombuffer(self._get_vector(key), dtype=np.float32)

    def get_metadata(self, key):
        """key's metadata dict, or None when it has none (also when no
        metadata was ever stored, the index was dropped, or what is stored
        is not a JSON object)."""
        return _decode_metadata(self._get_metadata(key))

    def search(self, query, top_k=10, *, filter=None, rerank=False,
               oversample=3, max_distance=None, expansion_search=None):
        """The top_k items nearest to query, nearest first, as a list of
        SearchResult(key, value, distance, metadata).

        filter: a dict, whose every field must equal the item's metadata
        field (matched in C++, without the GIL); or a callable given the
        item's metadata dict ({} when it has none) and returning true to
        keep it. A callable runs with the GIL, once per item the search
        examines: searches with one serialize on the GIL, and a selective
        one may call it for many items. It must not use this store. Either
        way, top_k hits come back whenever at least top_k live items
        match. rerank: re-score top_k * oversample candidates with the
        stored float32 vectors (for f16/i8 indexes). max_distance: drop hits
        farther than it (None: no limit). expansion_search: ef for this
        search only (snkv addition; None: the store's).

        Expired items never appear; fewer than top_k hits is normal.
        ValueError for top_k <= 0 or a query of the wrong length or with
        NaN/inf; VectorIndexError when the index is empty or dropped.
        """
        call, json_filter = _filter_args(filter)
        raw = self._search(
            self._vector(query, "query"), self._top_k(top_k), bool(rerank),
            _int_arg(oversample, "oversample", 0, 1 << 20),
            _max_distance(max_distance),
            self._ef(expansion_search), call, json_filter)
        return [SearchResult(k, v, d, _decode_metadata(m))
                for k, v, d, m in raw]

    def search_keys(self, query, top_k=10, *, filter=None,
                    expansion_search=None):
        """As search(), returning [(key, distance), ...] without reading
        values or metadata: the faster call when keys suffice. filter and
        expansion_search as in search() (snkv additions)."""
        call, json_filter = _filter_args(filter)
        return self._search_keys(
            self._vector(query, "query"), self._top_k(top_k),
            self._ef(expansion_search), call, json_filter)

    def vector_info(self):
        """The part of vector_stats() that describes the index: dim, space,
        dtype, count, connectivity, expansion_add, expansion_search."""
        stats = self.vector_stats()
        return {k: stats[k] for k in (
            "dim", "space", "dtype", "count", "connectivity",
            "expansion_add", "expansion_search")}

    # --- lifecycle -------------------------------------------------------

    def __enter__(self):
        """with VectorStore(...) as vs: closes the store on exit."""
        return self

    def __exit__(self, exc_type, exc, tb):
        """Closes the store (an exception in the block still propagates)."""
        self.close()

    def __repr__(self):
        state = "closed" if self.closed else "open"
        return f"<snkv.vector.VectorStore dim={self._dim} ({state}) at " \
               f"{id(self):#x}>"

    # --- argument conversion ---------------------------------------------

    def _vector(self, obj, what):
        a = _as_float32(obj, what)
        if a.ndim != 1 or a.shape[0] != self._dim:
            raise ValueError(f"{what} must have shape ({self._dim},), got "
                             f"{a.shape}")
        return a

    def _matrix(self, obj, n):
        a = _as_float32(obj, "vectors")
        # Raw bytes are flat; so is an empty list for an empty batch.
        if a.ndim == 1 and a.size == n * self._dim and (
                n == 0 or _is_raw_bytes(obj)):
            a = a.reshape(n, self._dim)
        if a.shape != (n, self._dim):
            raise ValueError(f"vectors must have shape ({n}, {self._dim}) "
                             f"for {n} keys, got {a.shape}")
        return a

    @staticmethod
    def _top_k(top_k):
        if isinstance(top_k, bool):
            raise TypeError("top_k must be an int, not bool")
        try:
            n = _operator.index(top_k)
        except TypeError:
            raise TypeError(f"top_k must be an int, not "
                            f"{type(top_k).__name__}") from None
        if n <= 0:
            raise ValueError(f"top_k must be positive, got {n}")
        return min(n, _MAX_TOP_K)

    @staticmethod
    def _ef(expansion_search):
        if expansion_search is None:
            return 0
        return _int_arg(expansion_search, "expansion_search", 1, 1 << 20)
