#!/usr/bin/python3
"""Draw the snkv/peer throughput ratios of a snkv_bench JSON file as a PNG.

usage: /usr/bin/python3 bench/plot.py RESULTS.json OUT.png

One group of horizontal bars per workload, one bar per peer, on a log
scale with a line at 1.0: bars right of the line are workloads where the
subject store (snkv) is faster than that peer.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    """Return (subject, workloads, {peer: {workload: ratio}}, meta line)."""
    with open(path) as f:
        doc = json.load(f)
    meta = "scale {scale}, {repeat} run(s), {keys} keys, {vs} B values, {date}".format(
        scale=doc["scale"], repeat=doc["repeat"], keys=doc["counts"]["keys"],
        vs=doc["value_size"], date=doc["date"])
    return doc["subject"], doc["workloads"], doc["ratios"], meta


def plot(subject, workloads, ratios, meta, out):
    """Write the grouped, log-scaled bar chart to out."""
    peers = list(ratios)
    rows = [w for w in workloads if any(w in ratios[p] for p in peers)]
    height = 0.8 / max(1, len(peers))
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, peer in enumerate(peers):
        ys, xs = [], []
        for i, w in enumerate(rows):
            if w in ratios[peer]:
                ys.append(i + (j - (len(peers) - 1) / 2) * height)
                xs.append(ratios[peer][w])
        ax.barh(ys, xs, height=height, label=f"{subject} / {peer}",
                color=colors[j % len(colors)], left=0)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows)
    ax.invert_yaxis()
    ax.set_xlabel(f"{subject} ops/s divided by the peer's ops/s (log scale; > 1: {subject} faster)")
    ax.set_title(f"{subject} throughput relative to its peers\n{meta}", fontsize=10)
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    plot(*load(sys.argv[1]), sys.argv[2])


if __name__ == "__main__":
    main()
