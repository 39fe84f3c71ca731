#!/usr/bin/python3
"""Draw the latency distributions of a snkv_bench JSON file as a PNG.

usage: /usr/bin/python3 bench/plot_latency.py RESULTS.json OUT.png [WORKLOAD...]

One panel per workload (default: the autocommit write workloads), one line
per store: the fraction of operations slower than a given latency (a
complementary CDF, both axes logarithmic), from the histogram of all runs
together. Stalls show as a tail to the right; the dotted line marks the
99.9th percentile (one operation in 1000 is slower).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DEFAULT_WORKLOADS = ["update_autocommit", "delete_autocommit", "mixed"]


def ccdf(histogram):
    """Return (latencies in us, fraction of operations slower) points."""
    total = sum(n for _, _, n in histogram)
    xs, ys = [], []
    above = total
    for lower, upper, n in histogram:
        above -= n
        xs.append(upper / 1000.0)
        ys.append(above / total if total else 0)
    # A fraction of 0 cannot be drawn on a log scale: end the line one
    # operation below the last.
    return xs, [max(y, 0.5 / total) for y in ys]


def plot(doc, workloads, out):
    """Write one panel per workload that some store recorded latencies for."""
    stores = list(doc["stores"])
    panels = [w for w in workloads
              if any("latency_ns" in doc["stores"][s]["workloads"].get(w, {})
                     for s in stores)]
    if not panels:
        sys.exit("plot_latency.py: no latency histograms for " + ", ".join(workloads))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4),
                             squeeze=False)
    for ax, w in zip(axes[0], panels):
        for s in stores:
            cell = doc["stores"][s]["workloads"].get(w, {})
            lat = cell.get("latency_ns")
            if not lat:
                continue
            xs, ys = ccdf(lat["histogram"])
            ax.step(xs, ys, where="post",
                    label="{} (p99.9 {:.0f} us, max {:.1f} ms)".format(
                        s, lat["p999"] / 1000.0, lat["max"] / 1e6))
        ax.axhline(1e-3, color="gray", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("latency per operation (us)")
        ax.set_ylabel("fraction of operations slower")
        ax.set_title(w, fontsize=10)
        ax.grid(which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("snkv_bench latency: scale {}, {} run(s), {}".format(
        doc["scale"], doc["repeat"], doc["date"]), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    plot(doc, sys.argv[3:] or DEFAULT_WORKLOADS, sys.argv[2])


if __name__ == "__main__":
    main()
