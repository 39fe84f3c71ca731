"""snkv.vector search quality: recall against exact numpy search for every
space and dtype, and filtered search (dict and callable) against a brute
force filter."""
import pytest

np = pytest.importorskip("numpy")
from snkv.vector import VectorStore  # noqa: E402

N, DIM, QUERIES, K = 2000, 32, 60, 10
SPACES = ["l2", "cosine", "ip"]
DTYPES = ["f32", "f16", "i8"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(20)
    points = rng.standard_normal((N, DIM)).astype(np.float32)
    queries = rng.standard_normal((QUERIES, DIM)).astype(np.float32)
    keys = [b"%05d" % i for i in range(N)]
    return points, queries, keys


def distances(space, queries, points):
    """Exact distances (queries x points) of a space, in float64."""
    q, p = queries.astype(np.float64), points.astype(np.float64)
    if space == "l2":
        return ((q * q).sum(1)[:, None] - 2 * q @ p.T + (p * p).sum(1)[None])
    if space == "ip":
        return -(q @ p.T)
    norms = np.linalg.norm(q, axis=1)[:, None] * np.linalg.norm(p, axis=1)
    return 1 - (q @ p.T) / norms


def recall(found, truth):
    """Fraction of the true neighbours found, over all queries."""
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth))
    return hits / sum(len(t) for t in truth)


def metadata(i):
    return METADATA[i]


def make_metadata(i):
    # p50 / p10 / p1 select 50 %, 10 % and 1 % of the items; rare 5 items;
    # every 7th item has no metadata at all.
    if i % 7 == 3:
        return None
    return {"p50": i % 2, "p10": i % 10, "p1": i % 100, "rare": i % 400,
            "name": f"item {i}"}


METADATA = [make_metadata(i) for i in range(N)]


@pytest.fixture(scope="module", params=[(s, d) for s in SPACES
                                        for d in DTYPES],
                ids=lambda p: f"{p[0]}-{p[1]}")
def store(request, data, tmp_path_factory):
    space, dtype = request.param
    points, _, keys = data
    path = str(tmp_path_factory.mktemp("vs") / "search.db")
    vs = VectorStore(path, DIM, space=space, dtype=dtype)
    vs.vector_put_batch(keys=keys, values=keys, vectors=points,
                        metadata=[metadata(i) for i in range(N)])
    yield vs, space, dtype
    vs.close()


def test_recall_against_exact_search(store, data):
    vs, space, dtype = store
    points, queries, _ = data
    truth = np.argsort(distances(space, queries, points), axis=1)[:, :K]
    found = [[int(k) for k, _ in vs.search_keys(q, K)] for q in queries]
    assert recall(found, truth) >= 0.95
    reranked = [[int(r.key) for r in vs.search(q, K, rerank=True)]
                for q in queries]
    assert recall(reranked, truth) >= 0.95
    # The reranked distances are the exact ones.
    exact = distances(space, queries[:1], points)[0]
    for r in vs.search(queries[0], K, rerank=True):
        assert r.distance == pytest.approx(exact[int(r.key)], rel=1e-4,
                                           abs=1e-4)


def test_exact_match_is_top1(store, data):
    vs, space, dtype = store
    points, _, keys = data
    if space == "ip":
        # The nearest by inner product need not be the point itself; the
        # point with the largest dot product is, by definition.
        d = distances(space, points[:50], points)
        want = np.argmin(d, axis=1)
    else:
        want = np.arange(50)
    for i in range(50):
        got = vs.search(points[i], 1, rerank=(dtype != "f32"))
        assert int(got[0].key) == want[i]
        assert got[0].value == keys[want[i]]


def brute_force(space, query, points, keep, k):
    """The k nearest items among those where keep is True."""
    d = distances(space, query[None], points)[0]
    idx = np.flatnonzero(keep)
    return list(idx[np.argsort(d[idx], kind="stable")[:k]])


FILTERS = [("p50", 1), ("p10", 4), ("p1", 42), ("rare", 17)]


@pytest.mark.parametrize("field, value", FILTERS)
def test_dict_filter_against_brute_force(store, data, field, value):
    vs, space, dtype = store
    if dtype != "f32" and space != "l2":
        pytest.skip("quantized filtering is covered in l2")
    points, queries, _ = data
    keep = np.array([(m or {}).get(field) == value
                     for m in map(metadata, range(N))])
    want = min(K, int(keep.sum()))
    found, truth = [], []
    for q in queries[:20]:
        res = vs.search(q, K, filter={field: value})
        assert len(res) == want  # top_k whenever enough items match
        assert all(r.metadata[field] == value for r in res)
        found.append([int(r.key) for r in res])
        truth.append(brute_force(space, q, points, keep, K))
    assert recall(found, truth) >= 0.95


@pytest.mark.parametrize("field, value", [("p10", 4), ("rare", 17)])
def test_callable_filter_against_brute_force(store, data, field, value):
    vs, space, dtype = store
    if dtype != "f32":
        pytest.skip("the callable path is the same for every dtype")
    points, queries, _ = data
    # An "or", which no dict filter can say. Items without metadata are
    # passed {} and rejected.
    keep = np.array([m is not None and (m[field] == value or m["p1"] == 0)
                     for m in map(metadata, range(N))])
    calls = []

    def pred(meta):
        calls.append(meta)
        return bool(meta) and (meta[field] == value or meta["p1"] == 0)

    want = min(K, int(keep.sum()))
    found, truth = [], []
    for q in queries[:10]:
        calls.clear()
        res = vs.search(q, K, filter=pred)
        assert len(res) == want
        assert all(r.metadata[field] == value or r.metadata["p1"] == 0
                   for r in res)
        # One call per examined item, never more.
        names = [m.get("name") for m in calls if m]
        assert len(names) == len(set(names))
        found.append([int(r.key) for r in res])
        truth.append(brute_force(space, q, points, keep, K))
        keys_only = vs.search_keys(q, K, filter=pred)
        assert [k for k, _ in keys_only] == [r.key for r in res]
    assert recall(found, truth) >= 0.95


def test_filter_matching_nothing_or_everything(store, data):
    vs, space, _ = store
    _, queries, _ = data
    assert vs.search(queries[0], K, filter={"p1": 1000}) == []
    assert vs.search(queries[0], K, filter=lambda m: False) == []
    everything = vs.search(queries[0], K, filter=lambda m: True)
    assert [r.key for r in everything] == [
        r.key for r in vs.search(queries[0], K)]
