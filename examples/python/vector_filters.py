"""snkv.vector beyond the reference's snippets: a 2-D batch, filtered
search (a dict matched in C++, or a callable), rerank of a quantized index,
and a second handle that sees the first one's writes at once."""
import numpy as np

from snkv.vector import VectorStore

rng = np.random.default_rng(0)
vectors = rng.standard_normal((1000, 64))          # float64: converted once
keys = [f"item:{i}" for i in range(1000)]
colors = ["red", "green", "blue", "black"]

with VectorStore("catalog.db", dim=64, dtype="i8") as vs:
    # One transaction, the (1000, 64) block handed over whole.
    vs.vector_put_batch(keys=keys, values=[f"value {i}" for i in range(1000)],
                        vectors=vectors,
                        metadata=[{"color": colors[i % 4], "size": i % 10}
                                  for i in range(1000)])
    query = vectors[42] + 0.01

    # A dict filter: every field must be equal. Runs without the GIL.
    blue = vs.search(query, top_k=5, filter={"color": "blue", "size": 2})
    print([(h.key, h.metadata) for h in blue])
    assert len(blue) == 5                      # 50 items match: 5 come back
    assert all(h.metadata == {"color": "blue", "size": 2} for h in blue)
    assert blue[0].key == b"item:42"
    # However selective the filter, top_k come back when enough match
    # (here 50 of the 1000 items: black, size 7).
    rare = vs.search(query, top_k=10, filter={"color": "black", "size": 7})
    assert len(rare) == 10

    # A callable filter: any rule, called once per item the search examines.
    big = vs.search(query, top_k=5, filter=lambda m: m["size"] >= 8)
    assert len(big) == 5 and all(h.metadata["size"] >= 8 for h in big)

    # rerank: the int8 index finds candidates, float32 vectors rank them.
    exact = vs.search(query, top_k=3, rerank=True, oversample=4)
    want = float(((query.astype(np.float32) - vectors[42].astype(np.float32))
                  ** 2).sum())
    assert exact[0].key == b"item:42"
    assert abs(exact[0].distance - want) < 1e-4

    # A second handle on the same file sees each commit of the first.
    with VectorStore("catalog.db", dim=64, dtype="i8") as other:
        vs.vector_put(b"item:new", b"fresh", np.full(64, 9.0))
        hit = other.search(np.full(64, 9.0), top_k=1, rerank=True)[0]
        print(hit.key, hit.value)
        assert hit.key == b"item:new" and hit.value == b"fresh"
