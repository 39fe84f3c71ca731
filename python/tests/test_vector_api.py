"""snkv.vector.VectorStore: every method, argument form and error path."""
import array
import math
import os
import subprocess
import sys
import time

import pytest

import snkv

np = pytest.importorskip("numpy")
from snkv.vector import (SearchResult, VectorIndexError,  # noqa: E402
                         VectorMismatchError, VectorStore)

DIM = 8


def vec(i, dim=DIM):
    """A distinct, deterministic vector per integer i."""
    rng = np.random.default_rng(i)
    return rng.standard_normal(dim).astype(np.float32)


@pytest.fixture
def vs(path):
    store = VectorStore(path, DIM)
    yield store
    store.close()


def snapshot(store, keys):
    """What the store holds for keys: (value, vector bytes, metadata)."""
    out = {}
    for k in keys:
        try:
            v = store.vector_get(k).tobytes()
        except snkv.NotFoundError:
            v = None
        out[k] = (store.get(k), v, store.get_metadata(k))
    return out


# --- importing ---------------------------------------------------------------

def test_import_snkv_does_not_import_numpy():
    code = ("import sys, snkv; assert 'numpy' not in sys.modules; "
            "import snkv.vector; assert 'numpy' in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_exception_hierarchy():
    assert issubclass(VectorIndexError, snkv.Error)
    assert issubclass(VectorIndexError, Exception)
    assert issubclass(VectorMismatchError, VectorIndexError)
    assert issubclass(VectorMismatchError, ValueError)
    assert VectorIndexError.__module__ == "snkv.vector"


def test_public_names_have_docstrings():
    import snkv.vector as m
    assert m.__doc__
    for name in m.__all__:
        assert getattr(m, name).__doc__, name
    for name in dir(VectorStore):
        if name.startswith("_") and name not in (
                "__getitem__", "__setitem__", "__delitem__", "__contains__",
                "__len__", "__init__"):
            continue
        assert getattr(VectorStore, name).__doc__, name


# --- opening -----------------------------------------------------------------

def test_defaults_and_info(vs):
    info = vs.vector_info()
    assert info == {"dim": DIM, "space": "l2", "dtype": "f32", "count": 0,
                    "connectivity": 16, "expansion_add": 128,
                    "expansion_search": 64}
    stats = vs.vector_stats()
    for key in ("dim", "space", "dtype", "connectivity", "expansion_add",
                "expansion_search", "count", "capacity", "fill_ratio",
                "vec_cf_count", "has_metadata", "sidecar_enabled"):
        assert key in stats
    assert stats["sidecar_enabled"] is True
    assert stats["has_metadata"] is False
    assert vs.dim == DIM and not vs.closed
    assert "VectorStore" in repr(vs) and "open" in repr(vs)


@pytest.mark.parametrize("space", ["l2", "cosine", "ip"])
@pytest.mark.parametrize("dtype", ["f32", "f16", "i8"])
def test_every_space_and_dtype_opens(tmp_path, space, dtype):
    p = str(tmp_path / "s.db")
    with VectorStore(p, 4, space=space, dtype=dtype, connectivity=8,
                     expansion_add=40, expansion_search=20) as vs:
        vs.vector_put(b"k", b"v", [1, 2, 3, 4])
        info = vs.vector_info()
        assert (info["space"], info["dtype"]) == (space, dtype)
        assert (info["connectivity"], info["expansion_add"],
                info["expansion_search"]) == (8, 40, 20)
        assert vs.search_keys([1, 2, 3, 4], 1)[0][0] == b"k"
    # Reopened without expansion_search: the stored one comes back.
    with VectorStore(p, 4, space=space, dtype=dtype) as vs:
        assert vs.vector_info()["expansion_search"] == 20
        assert vs.vector_info()["connectivity"] == 8
    with VectorStore(p, 4, space=space, dtype=dtype,
                     expansion_search=99) as vs:
        assert vs.vector_info()["expansion_search"] == 99


def test_connectivity_one_is_raised_to_two_and_reopens(tmp_path):
    # As in the C and C++ APIs: HNSW's least is 2. A store made with 1
    # (from any of them) opens again with the same arguments.
    p = str(tmp_path / "m1.db")
    for _ in range(2):
        with VectorStore(p, 3, connectivity=1) as vs:
            if not vs.vector_info()["count"]:
                vs.vector_put(b"k", b"v", [1, 2, 3])
            assert vs.vector_info()["connectivity"] == 2
            assert vs.search_keys([1, 2, 3], 1)[0][0] == b"k"


def test_memory_store(tmp_path):
    with VectorStore(None, 3) as vs:
        vs.vector_put("a", "b", [1, 2, 3])
        assert vs.vector_stats()["sidecar_enabled"] is False
        assert len(vs) == 1
    assert os.listdir(tmp_path) == []


def test_pathlike_and_kv_kwargs(tmp_path):
    p = tmp_path / "pl.db"
    with VectorStore(p, 2, journal_mode=snkv.JOURNAL_WAL,
                     sync_level=snkv.SYNC_FULL, cache_size=100,
                     busy_timeout=1000) as vs:
        vs.vector_put(b"a", b"b", [1, 2])
    assert p.exists()
    with pytest.raises(TypeError, match="unexpected keyword"):
        VectorStore(str(p), 2, journal="wal")
    with pytest.raises(ValueError):
        VectorStore(str(p), 2, journal_mode=7)


@pytest.mark.parametrize("kwargs, exc", [
    (dict(dim=0), ValueError),
    (dict(dim=-3), ValueError),
    (dict(dim=65537), ValueError),
    (dict(dim=2.5), TypeError),
    (dict(dim=True), TypeError),
    (dict(dim="8"), TypeError),
    (dict(dim=4, space="L2"), ValueError),
    (dict(dim=4, space="euclid"), ValueError),
    (dict(dim=4, space=0), TypeError),
    (dict(dim=4, dtype="f64"), ValueError),
    (dict(dim=4, dtype=None), TypeError),
    (dict(dim=4, connectivity=0), ValueError),
    (dict(dim=4, connectivity=1025), ValueError),
    (dict(dim=4, connectivity=2**31), ValueError),
    (dict(dim=4, connectivity=2**64), ValueError),
    (dict(dim=4, expansion_add=2**31), ValueError),
    (dict(dim=4, expansion_search=2**31), ValueError),
    (dict(dim=4, cache_size=2**31), ValueError),
    (dict(dim=4, page_size=1000), ValueError),
    (dict(dim=4, busy_timeout=-1), ValueError),
    (dict(dim=4, expansion_add=0), ValueError),
    (dict(dim=4, expansion_search=0), ValueError),
    (dict(dim=4, password=5), TypeError),
])
def test_bad_constructor_arguments(path, kwargs, exc):
    with pytest.raises(exc) as info:
        VectorStore(path, **kwargs)
    # The caller's mistake, said clearly: not the store's error class nor
    # the binding's "incompatible function arguments".
    assert not isinstance(info.value, snkv.Error)
    assert "incompatible" not in str(info.value)
    assert not os.path.exists(path) or os.path.getsize(path) >= 0


def test_reopen_mismatch(path):
    with VectorStore(path, 4, space="cosine", dtype="f16") as vs:
        vs.vector_put(b"k", b"v", [1, 0, 0, 0])
    cases = [(dict(dim=5, space="cosine", dtype="f16"), 20),
             (dict(dim=4, space="cosine", dtype="i8"), 21),
             (dict(dim=4, space="l2", dtype="f16"), 22)]
    for kwargs, code in cases:
        with pytest.raises(VectorMismatchError) as info:
            VectorStore(path, **kwargs)
        assert info.value.code == code
        assert isinstance(info.value, ValueError)
    # The store is untouched by the failed opens.
    with VectorStore(path, 4, space="cosine", dtype="f16") as vs:
        assert vs.get(b"k") == b"v" and len(vs) == 1


def test_not_a_database(tmp_path):
    p = tmp_path / "junk.db"
    p.write_bytes(b"this is not a database" * 300)
    with pytest.raises(snkv.Error):
        VectorStore(str(p), 4)


# --- writes and reads ---------------------------------------------------------

def test_put_get_roundtrip(vs):
    v = vec(1)
    vs.vector_put(b"doc:1", b"hello", v)
    assert vs.get(b"doc:1") == b"hello"
    assert vs[b"doc:1"] == b"hello"
    got = vs.vector_get(b"doc:1")
    assert got.dtype == np.float32 and got.shape == (DIM,)
    assert np.array_equal(got, v)
    got[0] = 42  # a fresh, writable array
    assert vs.vector_get(b"doc:1")[0] == v[0]
    assert len(vs) == 1 and b"doc:1" in vs and "doc:1" in vs
    assert vs.get_metadata(b"doc:1") is None


def test_str_keys_and_values_are_utf8(vs):
    vs.vector_put("clé", "valeur é", vec(2))
    assert vs.get("clé".encode()) == "valeur é".encode()
    assert vs.search_keys(vec(2), 1)[0][0] == "clé".encode()


@pytest.mark.parametrize("form", [
    "list", "tuple", "f64", "f16", "int", "noncontig", "array_f", "array_d",
    "memoryview_f", "raw_bytes", "bytearray"])
def test_vector_input_forms(vs, form):
    v = np.arange(1, DIM + 1, dtype=np.float32)
    obj = {
        "list": [float(x) for x in v],
        "tuple": tuple(int(x) for x in v),
        "f64": v.astype(np.float64),
        "f16": v.astype(np.float16),
        "int": v.astype(np.int32),
        "noncontig": np.repeat(v, 2)[::2],
        "array_f": array.array("f", v),
        "array_d": array.array("d", v),
        "memoryview_f": memoryview(array.array("f", v)),
        "raw_bytes": v.tobytes(),
        "bytearray": bytearray(v.tobytes()),
    }[form]
    vs.vector_put(b"k", b"v", obj)
    assert np.array_equal(vs.vector_get(b"k"), v)
    assert vs.search_keys(obj, 1)[0] == (b"k", 0.0)


@pytest.mark.parametrize("bad, exc", [
    ([1.0] * (DIM - 1), ValueError),
    ([1.0] * (DIM + 1), ValueError),
    ([], ValueError),
    (np.zeros((2, DIM)), ValueError),
    (np.zeros((1, DIM)), ValueError),
    (np.float32(3), ValueError),
    ([1.0] * (DIM - 1) + [float("nan")], ValueError),
    ([1.0] * (DIM - 1) + [float("inf")], ValueError),
    ([1.0] * (DIM - 1) + [-float("inf")], ValueError),
    ([1.0] * (DIM - 1) + [1e300], ValueError),  # inf as float32
    (b"\0" * (4 * DIM - 1), ValueError),
    ([[1, 2], [3]], ValueError),
    (["a"] * DIM, TypeError),
    ([1j] * DIM, TypeError),
    ([True] * DIM, TypeError),
    (None, TypeError),
    ("12345678", TypeError),
    ({"a": 1}, TypeError),
])
def test_bad_vectors_change_nothing(vs, bad, exc):
    vs.vector_put(b"k", b"old", vec(0), metadata={"m": 1})
    before = snapshot(vs, [b"k", b"new"])
    with pytest.raises(exc):
        vs.vector_put(b"k", b"new", bad, metadata={"m": 2})
    with pytest.raises(exc):
        vs.vector_put(b"new", b"new", bad)
    assert snapshot(vs, [b"k", b"new"]) == before
    assert len(vs) == 1


def test_bad_keys_values_metadata_ttl(vs):
    v = vec(0)
    with pytest.raises(TypeError):
        vs.vector_put(5, b"v", v)
    with pytest.raises(TypeError):
        vs.vector_put(b"k", None, v)
    with pytest.raises(TypeError):
        vs.vector_put(b"k", b"v", v, metadata=[1, 2])
    with pytest.raises(TypeError):
        vs.vector_put(b"k", b"v", v, metadata={"x": object()})
    with pytest.raises(ValueError):
        vs.vector_put(b"k", b"v", v, metadata={"x": float("nan")})
    for ttl in (0, -1, float("nan"), float("inf"), 1e300):
        with pytest.raises(ValueError):
            vs.vector_put(b"k", b"v", v, ttl=ttl)
    for ttl in ("10", True, [1]):
        with pytest.raises(TypeError):
            vs.vector_put(b"k", b"v", v, ttl=ttl)
    assert len(vs) == 0 and b"k" not in vs


def test_overwrite_keeps_count(vs):
    vs.vector_put(b"a", b"1", vec(1))
    vs.vector_put(b"b", b"2", vec(2))
    vs.vector_put(b"a", b"3", vec(3))
    assert len(vs) == 2
    assert vs.get(b"a") == b"3"
    assert np.array_equal(vs.vector_get(b"a"), vec(3))
    assert vs.search_keys(vec(3), 1)[0] == (b"a", 0.0)
    assert b"a" not in [k for k, _ in vs.search_keys(vec(1), 2)
                        if _ == 0.0]


def test_metadata_none_empty_dict_rules(vs):
    vs.vector_put(b"k", b"v", vec(1), metadata={"tag": "ai", "n": [1, 2]})
    assert vs.get_metadata(b"k") == {"tag": "ai", "n": [1, 2]}
    assert vs.vector_stats()["has_metadata"] is True
    # None keeps the stored metadata.
    vs.vector_put(b"k", b"v2", vec(2))
    assert vs.get_metadata(b"k") == {"tag": "ai", "n": [1, 2]}
    assert vs.search(vec(2), 1)[0].metadata == {"tag": "ai", "n": [1, 2]}
    # A dict replaces it (no merge).
    vs.vector_put(b"k", b"v3", vec(3), metadata={"other": None})
    assert vs.get_metadata(b"k") == {"other": None}
    # {} clears it.
    vs.vector_put(b"k", b"v4", vec(4), metadata={})
    assert vs.get_metadata(b"k") is None
    assert vs.search(vec(4), 1)[0].metadata is None
    # Unicode and nesting survive.
    meta = {"名前": "値 ✓", "nested": {"a": [True, False, None, 1.5]}}
    vs.vector_put(b"u", b"v", vec(5), metadata=meta)
    assert vs.get_metadata(b"u") == meta
    assert vs.get_metadata(b"missing") is None


def test_metadata_none_before_any_metadata(vs):
    vs.vector_put(b"k", b"v", vec(1))
    assert vs.get_metadata(b"k") is None
    assert vs.vector_stats()["has_metadata"] is False


def test_get_default_and_getitem_missing(vs):
    assert vs.get(b"nope") is None
    assert vs.get(b"nope", b"dflt") == b"dflt"
    with pytest.raises(snkv.NotFoundError):
        vs[b"nope"]
    with pytest.raises(KeyError):
        vs[b"nope"]
    with pytest.raises(snkv.NotFoundError):
        vs.vector_get(b"nope")


def test_dict_interface_is_plain_kv(vs):
    vs[b"config"] = b"x"
    assert vs[b"config"] == b"x" and b"config" in vs
    assert len(vs) == 0  # no vector
    with pytest.raises(snkv.NotFoundError):
        vs.vector_get(b"config")
    # Setting a value leaves the key's vector alone.
    vs.vector_put(b"k", b"v", vec(1))
    vs[b"k"] = b"plain"
    assert vs[b"k"] == b"plain" and len(vs) == 1
    assert np.array_equal(vs.vector_get(b"k"), vec(1))
    del vs[b"k"]
    assert b"k" not in vs and len(vs) == 0
    with pytest.raises(snkv.NotFoundError):
        vs.vector_get(b"k")
    with pytest.raises(KeyError):
        del vs[b"k"]
    with pytest.raises(TypeError):
        iter(vs)


def test_delete(vs):
    vs.vector_put(b"a", b"1", vec(1), metadata={"x": 1})
    vs.vector_put(b"b", b"2", vec(2))
    vs.delete(b"a")
    assert vs.get(b"a") is None and vs.get_metadata(b"a") is None
    assert len(vs) == 1
    assert [k for k, _ in vs.search_keys(vec(1), 5)] == [b"b"]
    with pytest.raises(snkv.NotFoundError):
        vs.delete(b"a")
    vs.delete(b"b")
    with pytest.raises(VectorIndexError) as info:
        vs.search(vec(1))
    assert info.value.code == 24


# --- batches ------------------------------------------------------------------

@pytest.mark.parametrize("keys", ["ab", b"ab", bytearray(b"ab"),
                                  memoryview(b"ab")])
def test_batch_keys_must_not_be_one_str(vs, keys):
    # A str is a sequence of characters; splitting it into keys would store
    # rows nobody asked for.
    with pytest.raises(TypeError, match="keys must be a sequence"):
        vs.vector_put_batch(keys=keys, values=[b"1", b"2"],
                            vectors=[vec(1), vec(2)])
    assert vs.vector_info()["count"] == 0


def test_batch_tuples_and_last_wins(vs):
    vs.vector_put_batch([
        (b"a", b"val-a", vec(1)),
        (b"b", b"val-b", vec(2), {"tag": "x"}),
        (b"a", b"val-a2", vec(3), {"tag": "y"}),
        ["c", "val-c", list(map(float, vec(4)))],
    ])
    assert len(vs) == 3
    assert vs.get(b"a") == b"val-a2"
    assert np.array_equal(vs.vector_get(b"a"), vec(3))
    assert vs.get_metadata(b"a") == {"tag": "y"}
    assert vs.get_metadata(b"b") == {"tag": "x"}
    assert vs.get_metadata(b"c") is None
    assert vs.search_keys(vec(1), 1)[0][1] > 0  # the first a is gone


def test_batch_columns_2d(vs):
    n = 50
    m = np.random.default_rng(7).standard_normal((n, DIM))  # float64
    keys = [f"k{i}".encode() for i in range(n)]
    vs.vector_put_batch(keys=keys, values=(k + b"!" for k in keys),
                        vectors=m,
                        metadata=[{"i": i} if i % 2 else None
                                  for i in range(n)])
    assert len(vs) == n
    for i in (0, 1, n - 1):
        assert np.array_equal(vs.vector_get(keys[i]),
                              m[i].astype(np.float32))
        assert vs.get(keys[i]) == keys[i] + b"!"
        assert vs.get_metadata(keys[i]) == ({"i": i} if i % 2 else None)
    # float32 C-contiguous input, raw bytes input, duplicates: last wins.
    f = m.astype(np.float32)
    vs.vector_put_batch(keys=[b"d", b"d"], values=[b"1", b"2"],
                        vectors=f[:2])
    assert vs.get(b"d") == b"2"
    assert np.array_equal(vs.vector_get(b"d"), f[1])
    vs.vector_put_batch(keys=[b"r"], values=[b"raw"], vectors=f[3].tobytes())
    assert np.array_equal(vs.vector_get(b"r"), f[3])
    # Fortran order is converted once.
    vs.vector_put_batch(keys=keys[:3], values=keys[:3],
                        vectors=np.asfortranarray(f[:3] * 2))
    assert np.array_equal(vs.vector_get(keys[2]), f[2] * 2)


def test_batch_empty(vs):
    vs.vector_put_batch([])
    vs.vector_put_batch(keys=[], values=[], vectors=np.zeros((0, DIM)))
    vs.vector_put_batch(keys=[], values=[], vectors=[])
    with pytest.raises(ValueError):
        vs.vector_put_batch(keys=[], values=[], vectors=[1.0] * DIM)
    assert len(vs) == 0


@pytest.mark.parametrize("bad_row", [
    [1.0] * (DIM - 1), [float("nan")] * DIM, [float("inf")] + [0.0] * (DIM - 1),
    None])
def test_batch_is_all_or_nothing(vs, bad_row):
    vs.vector_put(b"keep", b"old", vec(0), metadata={"v": 0})
    before = snapshot(vs, [b"keep", b"n0", b"n1"])
    items = [(b"keep", b"new", vec(1), {"v": 1}), (b"n0", b"x", vec(2)),
             (b"n1", b"y", bad_row)]
    with pytest.raises((ValueError, TypeError)):
        vs.vector_put_batch(items)
    assert snapshot(vs, [b"keep", b"n0", b"n1"]) == before
    if bad_row is not None:
        rows = np.array([vec(1), vec(2), vec(3)])
        if len(bad_row) == DIM:
            rows[2] = bad_row
        else:
            rows = rows[:, :-1]
        with pytest.raises(ValueError):
            vs.vector_put_batch(keys=[b"keep", b"n0", b"n1"],
                                values=[b"a", b"b", b"c"], vectors=rows)
        assert snapshot(vs, [b"keep", b"n0", b"n1"]) == before
    assert len(vs) == 1


def test_batch_argument_errors(vs):
    v = np.zeros((2, DIM))
    with pytest.raises(TypeError):
        vs.vector_put_batch([(b"a", b"b")])
    with pytest.raises(TypeError):
        vs.vector_put_batch([b"abc"])
    with pytest.raises(TypeError):
        vs.vector_put_batch([(b"a", b"b", vec(1))], keys=[b"a"])
    with pytest.raises(TypeError):
        vs.vector_put_batch(keys=[b"a", b"b"], values=[b"1", b"2"])
    with pytest.raises(ValueError):
        vs.vector_put_batch(keys=[b"a"], values=[b"1"], vectors=v)
    with pytest.raises(ValueError):
        vs.vector_put_batch(keys=[b"a", b"b"], values=[b"1"], vectors=v)
    with pytest.raises(ValueError):
        vs.vector_put_batch(keys=[b"a", b"b"], values=[b"1", b"2"],
                            vectors=v, metadata=[None])
    with pytest.raises(TypeError):
        vs.vector_put_batch(keys=[b"a", 3], values=[b"1", b"2"], vectors=v)
    with pytest.raises(ValueError):
        vs.vector_put_batch([(b"a", b"b", vec(1))], ttl=-1)
    assert len(vs) == 0 and b"a" not in vs


# --- search ---------------------------------------------------------------------

def test_search_results(vs):
    for i in range(20):
        vs.vector_put(f"k{i:02}", f"v{i}", vec(i), metadata={"i": i})
    res = vs.search(vec(5), top_k=5)
    assert len(res) == 5
    assert isinstance(res[0], SearchResult)
    assert res[0] == SearchResult(b"k05", b"v5", 0.0, {"i": 5})
    assert res[0].key == b"k05" and res[0].distance == 0.0
    d = [r.distance for r in res]
    assert d == sorted(d)
    keys = vs.search_keys(vec(5), top_k=5)
    assert [k for k, _ in keys] == [r.key for r in res]
    assert all(isinstance(x, float) for _, x in keys)
    # top_k above the count returns everything.
    assert len(vs.search(vec(5), top_k=100)) == 20
    # Distances are the space's: squared L2 here.
    expected = float(((vec(5) - vec(6)) ** 2).sum())
    dist = dict(vs.search_keys(vec(5), top_k=20))[b"k06"]
    assert dist == pytest.approx(expected, rel=1e-5)


def test_search_arguments(vs):
    vs.vector_put(b"a", b"1", vec(1))
    for bad in (0, -1):
        with pytest.raises(ValueError):
            vs.search(vec(1), top_k=bad)
        with pytest.raises(ValueError):
            vs.search_keys(vec(1), top_k=bad)
    for bad in (1.5, "3", None, True):
        with pytest.raises(TypeError):
            vs.search(vec(1), top_k=bad)
    with pytest.raises(ValueError):
        vs.search([1.0] * (DIM + 1))
    with pytest.raises(ValueError):
        vs.search_keys([float("nan")] * DIM)
    with pytest.raises(ValueError):
        vs.search(vec(1), oversample=-1)
    with pytest.raises(ValueError):
        vs.search(vec(1), max_distance=float("nan"))
    with pytest.raises(TypeError):
        vs.search(vec(1), max_distance="1")
    with pytest.raises(TypeError):
        vs.search(vec(1), filter=[("a", 1)])
    with pytest.raises(TypeError):
        vs.search(vec(1), filter={"a": object()})
    with pytest.raises(ValueError):
        vs.search(vec(1), expansion_search=0)
    assert vs.search(vec(1), top_k=10 ** 12)[0].key == b"a"


def test_search_max_distance_rerank_oversample(path):
    with VectorStore(path, 2, dtype="i8") as vs:
        pts = {b"p0": [0, 0], b"p1": [1, 0], b"p2": [2, 0], b"p3": [3, 0]}
        for k, p in pts.items():
            vs.vector_put(k, k, p)
        q = [0.1, 0]
        got = [r.key for r in vs.search(q, 4, max_distance=1.5)]
        assert got == [b"p0", b"p1"]
        assert [r.key for r in vs.search(q, 4, max_distance=None)] == [
            b"p0", b"p1", b"p2", b"p3"]
        # 0.0 is a bound in Python (only exact matches), not "no limit".
        assert [r.key for r in vs.search([0, 0], 4, max_distance=0.0)] == [
            b"p0"]
        assert vs.search(q, 4, max_distance=0.0) == []
        # rerank gives float32-exact distances from the stored vectors.
        for r in vs.search(q, 4, rerank=True, oversample=2):
            exact = sum((a - b) ** 2 for a, b in zip(q, pts[r.key]))
            assert r.distance == pytest.approx(exact, rel=1e-5, abs=1e-6)
        assert len(vs.search(q, 2, rerank=True, oversample=0)) == 2


def test_search_ip_and_cosine_distances(tmp_path):
    a, b = np.array([1, 2, 3], np.float32), np.array([3, -1, 2], np.float32)
    with VectorStore(str(tmp_path / "ip.db"), 3, space="ip") as vs:
        vs.vector_put(b"b", b"", b)
        assert vs.search(a, 1)[0].distance == pytest.approx(-float(a @ b))
    with VectorStore(str(tmp_path / "cos.db"), 3, space="cosine") as vs:
        vs.vector_put(b"b", b"", b)
        cos = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        assert vs.search(a, 1)[0].distance == pytest.approx(1 - cos,
                                                            abs=1e-6)


def test_search_empty_and_dropped(vs):
    with pytest.raises(VectorIndexError) as info:
        vs.search(vec(1))
    assert info.value.code == 24
    with pytest.raises(VectorIndexError):
        vs.search_keys(vec(1))
    vs[b"plain"] = b"x"  # a plain value is not searchable
    with pytest.raises(VectorIndexError):
        vs.search(vec(1))


def test_filter_dict_and_callable(vs):
    for i in range(30):
        meta = {"cat": "a" if i % 3 == 0 else "b", "n": i} if i < 25 else None
        vs.vector_put(f"k{i:02}", b"", vec(i), metadata=meta)
    q = vec(0)
    got = vs.search(q, top_k=5, filter={"cat": "a"})
    assert len(got) == 5 and all(r.metadata["cat"] == "a" for r in got)
    assert vs.search(q, top_k=5, filter={"cat": "a", "n": 3})[0].key == b"k03"
    assert vs.search(q, top_k=5, filter={"cat": "zzz"}) == []
    # {} matches everything, metadata or not.
    assert len(vs.search(q, top_k=30, filter={})) == 30
    # Numbers compare by value; JSON true is not 1.
    assert [r.key for r in vs.search(q, 5, filter={"n": 3.0})] == [b"k03"]
    vs.vector_put(b"flag", b"", vec(99), metadata={"on": True, "l": [1, {}]})
    assert [r.key for r in vs.search(q, 5, filter={"on": True})] == [b"flag"]
    assert vs.search(q, 5, filter={"on": 1}) == []
    assert [r.key for r in vs.search(q, 5, filter={"l": [1.0, {}]})] == [
        b"flag"]
    vs.delete(b"flag")
    seen = []

    def pred(meta):
        seen.append(meta)
        return meta.get("n", 100) >= 20

    got = vs.search(q, top_k=10, filter=pred)
    assert {r.key for r in got} == {f"k{i:02}".encode()
                                    for i in range(20, 30)}
    assert {} in seen  # items without metadata get an empty dict
    assert all(isinstance(m, dict) for m in seen)
    keys = vs.search_keys(q, top_k=3, filter={"cat": "b"})
    assert len(keys) == 3
    assert all(vs.get_metadata(k)["cat"] == "b" for k, _ in keys)
    # Truthiness of whatever the callable returns.
    assert len(vs.search(q, top_k=30, filter=lambda m: m.get("n"))) == 24


def test_filter_exceptions_and_reentry(vs):
    for i in range(10):
        vs.vector_put(f"k{i}", b"", vec(i), metadata={"i": i})

    class Boom(Exception):
        pass

    calls = []

    def bad(meta):
        calls.append(1)
        raise Boom("no")

    with pytest.raises(Boom):
        vs.search(vec(0), filter=bad)
    assert len(calls) == 1  # the search stops asking after the error

    class Falsy:
        def __bool__(self):
            raise Boom("bool")

    with pytest.raises(Boom):
        vs.search(vec(0), filter=lambda m: Falsy())
    for use in (lambda: vs.get(b"k1"), lambda: len(vs),
                lambda: vs.vector_put(b"x", b"", vec(1)),
                lambda: vs.search(vec(1)), vs.close):
        def reenter(meta, use=use):
            use()
            return True
        with pytest.raises(snkv.Error, match="filter"):
            vs.search(vec(0), filter=reenter)
    assert not vs.closed
    # Another store may be used from a filter.
    with VectorStore(None, DIM) as other:
        other.vector_put(b"o", b"", vec(0))
        got = vs.search(vec(0), top_k=3,
                        filter=lambda m: other.search_keys(vec(0), 1) != [])
        assert len(got) == 3
    assert vs.get(b"k1") == b""


# --- TTL ----------------------------------------------------------------------

def test_ttl_expiry_and_purge(vs):
    # Generous TTLs: the "before" check must not race a loaded machine.
    first_expiry = time.monotonic() + 0.4
    vs.vector_put(b"short", b"s", vec(1), ttl=0.4, metadata={"t": 1})
    vs.vector_put_batch([(b"b1", b"x", vec(2)), (b"b2", b"y", vec(3))],
                        ttl=0.4)
    last_expiry = time.monotonic() + 0.4
    vs.vector_put(b"long", b"l", vec(4), ttl=3600)
    vs.vector_put(b"never", b"n", vec(5))
    if time.monotonic() < first_expiry - 0.1:
        assert len(vs.search(vec(1), 10)) == 5
    time.sleep(max(0.0, last_expiry - time.monotonic()) + 0.05)
    assert vs.get(b"short") is None
    assert b"b1" not in vs
    with pytest.raises(snkv.NotFoundError):
        vs.vector_get(b"b2")
    with pytest.raises(snkv.NotFoundError):
        vs[b"short"]
    assert {r.key for r in vs.search(vec(1), 10)} == {b"long", b"never"}
    assert {k for k, _ in vs.search_keys(vec(2), 10)} == {b"long", b"never"}
    # Reading an expired key does not drop its vector: purge does.
    assert vs.vector_stats()["vec_cf_count"] == 5
    assert vs.vector_purge_expired() == 3
    assert vs.vector_purge_expired() == 0
    assert len(vs) == 2
    assert vs.vector_stats()["vec_cf_count"] == 2
    assert vs.get(b"long") == b"l"


def test_purge_counts_expired(vs):
    for i in range(5):
        vs.vector_put(f"e{i}", b"", vec(i), ttl=0.02)
    vs.vector_put(b"live", b"", vec(9))
    time.sleep(0.06)
    assert len(vs) == 6  # expired but not purged: still in the index
    assert vs.vector_purge_expired() == 5
    assert len(vs) == 1 and vs.vector_stats()["vec_cf_count"] == 1


# --- drop ---------------------------------------------------------------------

def test_drop_vector_index(path):
    with VectorStore(path, DIM) as vs:
        vs.vector_put(b"doc:1", b"hello", vec(1), metadata={"a": 1})
        vs[b"plain"] = b"p"
    sidecar = path + ".snkv-vec"
    assert os.path.exists(sidecar)
    with VectorStore(path, DIM) as vs:
        vs.drop_vector_index()
        assert not os.path.exists(sidecar)
        assert vs.get(b"doc:1") == b"hello" and vs[b"plain"] == b"p"
        for call in (lambda: vs.search(vec(1)),
                     lambda: vs.search_keys(vec(1)),
                     lambda: vs.vector_put(b"x", b"y", vec(1)),
                     lambda: vs.vector_put_batch([(b"x", b"y", vec(1))]),
                     lambda: vs.vector_get(b"doc:1"),
                     vs.vector_purge_expired):
            with pytest.raises(VectorIndexError) as info:
                call()
            assert info.value.code == 23
        assert vs.get_metadata(b"doc:1") is None
        assert vs.vector_stats()["dropped"] is True
        assert len(vs) == 0
        vs.drop_vector_index()  # twice: nothing
        vs.delete(b"doc:1")  # plain KV delete now
        assert vs.get(b"doc:1") is None
        with pytest.raises(snkv.NotFoundError):
            vs.delete(b"doc:1")
        vs[b"after"] = b"ok"
    # The drop is permanent: reopened, the store is still dropped (any dim,
    # space and dtype open it: there is no index to mismatch); the values
    # are still there.
    for dim, space in ((DIM, "l2"), (3, "ip")):
        with VectorStore(path, dim, space=space) as vs:
            assert vs[b"after"] == b"ok" and len(vs) == 0
            assert vs.vector_stats()["dropped"] is True
            with pytest.raises(VectorIndexError) as info:
                vs.vector_put(b"n", b"", [1.0] * dim)
            assert info.value.code == 23
            with pytest.raises(VectorIndexError):
                vs.search([1.0] * dim)


# --- lifecycle ------------------------------------------------------------------

def test_closed_store_raises_error(path):
    vs = VectorStore(path, DIM)
    vs.vector_put(b"a", b"1", vec(1))
    vs.close()
    assert vs.closed and "closed" in repr(vs)
    vs.close()  # twice is fine
    calls = [lambda: vs.vector_put(b"a", b"1", vec(1)),
             lambda: vs.vector_put_batch([(b"a", b"1", vec(1))]),
             lambda: vs.vector_get(b"a"), lambda: vs.get(b"a"),
             lambda: vs.get_metadata(b"a"), lambda: vs.delete(b"a"),
             lambda: vs.search(vec(1)), lambda: vs.search_keys(vec(1)),
             vs.vector_stats, vs.vector_info, vs.vector_purge_expired,
             vs.drop_vector_index, lambda: vs[b"a"],
             lambda: vs.__setitem__(b"a", b"b"),
             lambda: vs.__delitem__(b"a"), lambda: b"a" in vs,
             lambda: len(vs)]
    for call in calls:
        with pytest.raises(snkv.Error, match="closed"):
            call()


def test_context_manager_closes_even_on_error(path):
    with pytest.raises(RuntimeError):
        with VectorStore(path, DIM) as vs:
            vs.vector_put(b"a", b"1", vec(1))
            raise RuntimeError("boom")
    assert vs.closed
    with VectorStore(path, DIM) as vs2:
        assert vs2.get(b"a") == b"1"


def test_garbage_collected_store_closes(path):
    vs = VectorStore(path, DIM)
    vs.vector_put(b"a", b"1", vec(1))
    del vs
    with VectorStore(path, DIM) as vs:
        assert vs.vector_stats()["loaded_from_sidecar"] is True


def test_encrypted_store(path):
    with VectorStore(path, DIM, password=b"secret") as vs:
        vs.vector_put(b"doc:1", b"top secret value", vec(1),
                      metadata={"tag": "classified"})
        stats = vs.vector_stats()
        assert stats["sidecar_enabled"] is False
    assert not os.path.exists(path + ".snkv-vec")
    raw = open(path, "rb").read()
    assert b"top secret value" not in raw and b"classified" not in raw
    with pytest.raises(snkv.AuthError):
        VectorStore(path, DIM, password="wrong")
    with pytest.raises(snkv.AuthError):
        VectorStore(path, DIM)
    with VectorStore(path, DIM, password="secret") as vs:
        assert vs.get(b"doc:1") == b"top secret value"
        assert vs.get_metadata(b"doc:1") == {"tag": "classified"}
        assert vs.search_keys(vec(1), 1) == [(b"doc:1", 0.0)]


def test_read_only(path):
    with VectorStore(path, DIM) as vs:
        vs.vector_put(b"a", b"1", vec(1))
    with VectorStore(path, DIM, read_only=1) as vs:
        assert vs.search_keys(vec(1), 1)[0][0] == b"a"
        with pytest.raises(snkv.ReadOnlyError):
            vs.vector_put(b"b", b"2", vec(2))
        with pytest.raises(snkv.ReadOnlyError):
            vs[b"b"] = b"2"
        assert vs.get(b"b") is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_cannot_use_parent_store(path):
    vs = VectorStore(path, DIM)
    vs.vector_put(b"a", b"1", vec(1))
    pid = os.fork()
    if pid == 0:  # child: the parent's handle refuses; a new one works
        code = 1
        try:
            try:
                vs.search(vec(1))
            except snkv.Error as e:
                if "fork" in str(e):
                    vs.close()  # a no-op in the child
                    with VectorStore(path, DIM) as own:
                        own.vector_put(b"child", b"c", vec(2))
                    code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert vs.search_keys(vec(2), 1)[0][0] == b"child"
    vs.close()


def test_float32_arrays_reach_the_store_without_a_copy():
    import snkv.vector as m
    row = np.zeros(DIM, np.float32)
    block = np.zeros((5, DIM), np.float32)
    assert m._as_float32(row, "v") is row
    assert m._as_float32(block, "v") is block
    # Other dtypes and layouts are converted once, to C-contiguous float32.
    for other in (block.astype(np.float64), np.asfortranarray(block),
                  block[:, ::-1]):
        out = m._as_float32(other, "v")
        assert out.dtype == np.float32 and out.flags.c_contiguous
        assert np.array_equal(out, other)


def test_binding_refuses_non_float32_buffers(vs):
    # snkv.vector converts first; the compiled layer itself only reads
    # C-contiguous float32 buffers and says so otherwise.
    with pytest.raises(TypeError, match="float32"):
        vs._put(b"k", b"v", np.zeros(DIM, np.float64), None, None)
    with pytest.raises(TypeError, match="float32"):
        vs._put(b"k", b"v", [0.0] * DIM, None, None)
    with pytest.raises(TypeError):
        vs._put(b"k", b"v", np.zeros((DIM, 2), np.float32)[:, 0], None, None)
    with pytest.raises(ValueError):
        vs._put_batch([b"a"], [b"b"], np.zeros(DIM + 1, np.float32), None,
                      None)
    assert len(vs) == 0


def test_uninitialised_or_foreign_self_raises_type_error():
    raw = VectorStore.__new__(VectorStore)
    for call in (lambda: raw.get(b"a"), lambda: raw._search_keys(
            np.zeros(DIM, np.float32), 1, 0, None, None),
            lambda: len(raw), lambda: b"a" in raw, raw.close,
            raw.vector_stats, lambda: raw.closed):
        with pytest.raises(TypeError):
            call()
    from snkv._snkv import _VectorStore
    with pytest.raises(TypeError):
        _VectorStore.get(object(), b"a")
    with pytest.raises(TypeError):
        _VectorStore.close(snkv.KVStore())


# --- issue 20's edge cases --------------------------------------------------------

def test_put_over_expired_item_does_not_inherit_metadata(vs):
    vs.vector_put(b"k", b"old", vec(1), ttl=0.05, metadata={"tag": 1})
    time.sleep(0.15)
    assert vs.get_metadata(b"k") is None  # expired: no metadata either
    vs.vector_put(b"k", b"new", vec(1))  # metadata=None over an expired item
    assert vs.get_metadata(b"k") is None
    assert vs.search(vec(1), top_k=1)[0].metadata is None
    assert vs.search(vec(1), top_k=1, filter={"tag": 1}) == []
    # Over a live item, None still keeps what is stored.
    vs.vector_put(b"live", b"v", vec(2), metadata={"tag": 2})
    vs.vector_put(b"live", b"v2", vec(2))
    assert vs.get_metadata(b"live") == {"tag": 2}


def test_f16_index_rejects_values_beyond_half_range(path):
    with VectorStore(path, 3, dtype="f16") as vs:
        vs.vector_put(b"max", b"", [65504.0, -65504.0, 1.0])
        with pytest.raises(ValueError, match="65504"):
            vs.vector_put(b"big", b"", [1.0, 70000.0, 0.0])
        with pytest.raises(ValueError):
            vs.vector_put_batch([(b"a", b"", [1.0, 1.0, 1.0]),
                                 (b"b", b"", [1e6, 0.0, 0.0])])
        assert len(vs) == 1
        hit = vs.search([65504.0, -65504.0, 1.0], top_k=1)[0]
        assert math.isfinite(hit.distance)


def test_cosine_rejects_zero_length_vectors_and_queries(path):
    with VectorStore(path, 3, space="cosine") as vs:
        for bad in ([0.0, 0.0, 0.0], [1e-40, 1e-40, 0.0]):
            with pytest.raises(ValueError, match="length"):
                vs.vector_put(b"z", b"", bad)
            with pytest.raises(ValueError):
                vs.search(bad)
        vs.vector_put(b"a", b"", [1.0, 2.0, 3.0])
        hit = vs.search([1e-6, 2e-6, 3e-6], top_k=1, rerank=True)[0]
        assert hit.key == b"a" and abs(hit.distance) < 1e-5


def test_unwritable_sidecar_does_not_fail_close(path):
    os.mkdir(path + ".snkv-vec")
    vs = VectorStore(path, DIM)
    vs.vector_put(b"a", b"1", vec(1))
    vs.close()  # must not raise
    with VectorStore(path, DIM) as vs:
        assert vs.vector_stats()["loaded_from_sidecar"] is False
        assert vs.search_keys(vec(1), 1)[0][0] == b"a"
    assert os.path.isdir(path + ".snkv-vec")


def test_vector_families_are_not_listed(path):
    with VectorStore(path, DIM) as vs:
        vs.vector_put(b"a", b"1", vec(1), metadata={"m": 1})
        with snkv.KVStore(path) as kv:
            assert kv.list_column_families() == ["default"]
