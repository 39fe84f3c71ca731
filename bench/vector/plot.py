"""Recall@10 against single-thread queries/s per store, like the
ann-benchmarks plots, from snkv_vbench's JSON output.

    plot.py results.json out.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    with open(src) as f:
        rows = json.load(f)
    stores = {}
    for r in rows:
        if r.get("kind") == "search":
            stores.setdefault(r["store"], []).append((r["recall"], r["qps1"]))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, pts in sorted(stores.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries/s (one thread)")
    ax.set_yscale("log")
    ax.set_title("Fashion-MNIST 60k x 784, L2, M=16, ef_construction=128")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
