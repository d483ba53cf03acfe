#!/usr/bin/env python3
"""Spaces and bytes per node before and after each scenario of `mnemo cluster bench --json`.

Reads the JSON rows (a file, or stdin) and writes one PNG: for every scenario, two bar charts
(spaces per node, MiB per node), before and after side by side.

    mnemo cluster bench --nodes 5 --spaces 10000 --json > cluster.jsonl
    python3 bench/cluster_plot.py cluster.jsonl docs/cluster_rebalance.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: cluster_plot.py ROWS.jsonl|- OUT.png")
    source = sys.stdin if sys.argv[1] == "-" else open(sys.argv[1], encoding="utf-8")
    rows = [json.loads(line) for line in source if line.strip().startswith("{")]
    rows = [row for row in rows if row["scenario"] != "cross"]  # searches only: nothing moves
    if not rows:
        sys.exit("no JSON rows")
    figure, axes = plt.subplots(len(rows), 2, figsize=(11, 3.2 * len(rows)), squeeze=False)
    for row, (left, right) in zip(rows, axes):
        for axis, key, scale, unit in ((left, "spaces", 1, "spaces"), (right, "bytes", 1 << 20, "MiB")):
            before, after = row[key + "_before"], row[key + "_after"]
            nodes = sorted(set(before) | set(after), key=int)
            xs = range(len(nodes))
            axis.bar([x - 0.2 for x in xs], [before.get(n, 0) / scale for n in nodes], 0.4, label="before")
            axis.bar([x + 0.2 for x in xs], [after.get(n, 0) / scale for n in nodes], 0.4, label="after")
            axis.set_xticks(list(xs), [f"n{n}" for n in nodes])
            axis.set_ylabel(unit + " per node")
            axis.set_title(f"{row['scenario']}: {row['moved']} moved (ideal {row['ideal_moved']}), "
                           f"{row['seconds']:.1f} s")
            axis.legend()
    figure.tight_layout()
    figure.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
