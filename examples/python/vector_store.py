"""The reference's VectorStore snippets, in order: opening (plain,
encrypted, quantized), writing, reading, deleting, TTL, stats, purge,
dropping the index, and the names snkv.vector exports."""
import numpy as np

from snkv.vector import SearchResult, VectorIndexError, VectorStore

# --- Opening: plain, encrypted and quantized stores (one file each) -------
with VectorStore("store.db", dim=128, space="cosine") as vs:
    vs.vector_put(b"doc:1", b"hello world", np.random.rand(128).astype("f4"))
    assert len(vs) == 1

with VectorStore("secret.db", dim=128, password=b"secret") as vs:
    vs.vector_put(b"doc:1", b"hello world", np.random.rand(128).astype("f4"))
    assert vs.vector_stats()["sidecar_enabled"] is False  # no plaintext copy

with VectorStore("half.db", dim=768, space="cosine", dtype="f16") as vs:
    vs.vector_put(b"doc:1", b"hello world", np.random.rand(768).astype("f4"))
    assert vs.vector_info()["dtype"] == "f16"

with VectorStore("docs.db", dim=128) as vs:
    # --- Writing vectors ---------------------------------------------------
    vs.vector_put(b"doc:1", b"hello", np.random.rand(128).astype("f4"))
    vs.vector_put(b"doc:2", b"world", np.random.rand(128).astype("f4"),
                  ttl=3600, metadata={"category": "news", "score": 0.9})

    vs.vector_put_batch([
        (b"a", b"val-a", np.random.rand(128).astype("f4")),
        (b"b", b"val-b", np.random.rand(128).astype("f4"), {"tag": "x"}),
    ])

    # --- Reading vectors and values ----------------------------------------
    vec = vs.vector_get(b"doc:1")    # np.ndarray(128,)
    val = vs.get(b"doc:1")            # b"hello"
    meta = vs.get_metadata(b"doc:2")  # {"category": "news", "score": 0.9}
    print(vec.shape, val, meta)
    assert vec.shape == (128,) and vec.dtype == np.float32
    assert val == b"hello" and meta == {"category": "news", "score": 0.9}

    # --- Searching ----------------------------------------------------------
    hits = vs.search(vec, top_k=3)
    print([(h.key, round(h.distance, 4)) for h in hits])
    assert isinstance(hits[0], SearchResult) and hits[0].key == b"doc:1"
    assert vs.search_keys(vec, top_k=1)[0][0] == b"doc:1"

    # --- Deleting -----------------------------------------------------------
    vs.delete(b"doc:1")
    assert vs.get(b"doc:1") is None

    # --- TTL ------------------------------------------------------------------
    vec = np.random.rand(128).astype("f4")
    vs.vector_put(b"session", b"data", vec, ttl=3600)   # 1-hour TTL
    q = vec
    results = vs.search(q, top_k=5)  # b"session" is there until it expires
    assert results[0].key == b"session"
    n = vs.vector_purge_expired()
    print(f"purged {n} vectors")     # 0: nothing has expired yet
    assert n == 0

    # --- Stats and info ----------------------------------------------------------
    print(len(vs))              # active vector count
    print(vs.vector_stats())    # full dict
    assert len(vs) == vs.vector_stats()["count"] == 4

    # --- Maintenance -----------------------------------------------------------------
    n = vs.vector_purge_expired()
    print(f"removed {n} expired vectors")

    # --- Dict interface: plain key-value, the index is not involved ----------------
    vs[b"config"] = b"v1"
    assert vs[b"config"] == b"v1" and b"config" in vs and len(vs) == 4
    del vs[b"config"]

    # --- drop_vector_index ------------------------------------------------------------
    vs.drop_vector_index()
    val = vs.get(b"a")   # still works: KV data intact
    assert val == b"val-a"
    try:
        vs.search(q, top_k=1)
    except VectorIndexError as e:
        print("search after drop:", e)
    else:
        raise AssertionError("search after drop_vector_index must fail")

# --- VectorIndexError and SearchResult come from snkv.vector ---------------------
with VectorStore("small.db", dim=128) as vs:
    vs.vector_put(b"k", b"v", np.zeros(128, dtype="f4"))
    results = vs.search(np.zeros(128, dtype="f4"), top_k=1)
    assert results == [SearchResult(b"k", b"v", 0.0, None)]
