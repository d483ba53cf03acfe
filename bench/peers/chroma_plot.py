#!/usr/bin/env python3
"""Draws the rows of `chroma_compare.py --json` as one PNG: Mnemo and Chroma bars side by side.

Two panels share the rows (spaces x clients x filter): search QPS, and ingest memories/s (ingest
does not depend on the filter, so its panel has one group per spaces x clients). Log scale, each
bar labelled with its value, each Mnemo bar with its ratio to Chroma's.

    python3 bench/peers/chroma_compare.py --json ... > rows.jsonl
    python3 bench/peers/chroma_plot.py rows.jsonl docs/chroma_compare.png
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.axes import Axes  # noqa: E402

COLOURS = {"mnemo": "#2b6cb0", "chroma": "#dd8452"}
Key = tuple[int, int, bool]


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a file of JSON lines (other lines, e.g. logs, are skipped)."""
    rows = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    return rows


def bars(ax: Axes, groups: list[str], values: dict[str, list[float | None]], title: str, unit: str) -> None:
    """One panel: a pair of bars per group, values on top, Mnemo's ratio to Chroma above Mnemo's bar."""
    width = 0.38
    for offset, engine in ((-width / 2, "mnemo"), (width / 2, "chroma")):
        series = values.get(engine, [])
        for i, value in enumerate(series):
            if value is None:
                continue
            x = i + offset
            ax.bar(x, value, width, color=COLOURS[engine], label=engine if i == 0 else None)
            text = f"{value:,.0f}"
            other = values.get("chroma", [])
            if engine == "mnemo" and i < len(other) and other[i]:
                text += f"\n{value / other[i]:.1f}x"  # type: ignore[operator]
            ax.annotate(text, (x, value), ha="center", va="bottom", fontsize=7,
                        xytext=(0, 2), textcoords="offset points")
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=7)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit, fontsize=8)
    ax.margins(y=0.25)
    ax.grid(axis="y", which="major", alpha=0.3)


def plot(rows: list[dict[str, Any]], out: Path, title: str | None) -> None:
    """Writes the two-panel PNG for the rows to `out`."""
    keys: list[Key] = sorted({(r["spaces"], r["clients"], bool(r["filter"])) for r in rows})
    by = {(r["engine"], r["spaces"], r["clients"], bool(r["filter"])): r for r in rows}
    engines = ["mnemo", "chroma"]
    qps = {e: [by[(e, *k)]["qps"] if (e, *k) in by else None for k in keys] for e in engines}
    q_groups = [f"{s} sp\n{c} cl\n{'filter' if f else 'no filter'}" for s, c, f in keys]
    ingest_keys = sorted({(s, c) for s, c, _ in keys})

    def ingest_of(engine: str, spaces: int, clients: int) -> float | None:
        for f in (False, True):
            if (engine, spaces, clients, f) in by:
                return float(by[(engine, spaces, clients, f)]["ingest_per_second"])
        return None

    ingest = {e: [ingest_of(e, s, c) for s, c in ingest_keys] for e in engines}
    i_groups = [f"{s} spaces\n{c} clients" for s, c in ingest_keys]

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [2, 1]}, dpi=90)
    bars(left, q_groups, qps, "search QPS (k=10, ef=64)", "searches / s")
    bars(right, i_groups, ingest, "ingest (batches of 100)", "memories / s")
    fig.suptitle(title or "Mnemo vs Chroma 1.5.9, both over HTTP from Python (wordnet384, M=16)", fontsize=11)
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def markdown(rows: list[dict[str, Any]]) -> str:
    """A Markdown table: one line per spaces x clients x filter, both engines and the ratios."""
    by = {(r["engine"], r["spaces"], r["clients"], bool(r["filter"])): r for r in rows}
    keys = sorted({(r["spaces"], r["clients"], bool(r["filter"])) for r in rows})
    lines = ["| spaces | clients | filter | engine | ingest/s | QPS | p50 ms | p99 ms | recall@10 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s, c, f in keys:
        m, ch = by.get(("mnemo", s, c, f)), by.get(("chroma", s, c, f))
        for name, r in (("mnemo", m), ("chroma", ch)):
            if r is not None:
                lines.append(f"| {s:,} | {c} | {'on' if f else 'off'} | {name} | {r['ingest_per_second']:,.0f} | "
                             f"{r['qps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['recall']:.4f} |")
        if m is not None and ch is not None:
            goal = (m["ingest_per_second"] >= 5 * ch["ingest_per_second"] and m["qps"] >= 10 * ch["qps"]
                    and m["recall"] >= ch["recall"])
            lines.append(f"| | | | **mnemo/chroma** | **{m['ingest_per_second'] / ch['ingest_per_second']:.1f}x** | "
                         f"**{m['qps'] / ch['qps']:.1f}x** | {m['p50_ms'] / ch['p50_ms']:.2f}x | "
                         f"{m['p99_ms'] / ch['p99_ms']:.2f}x | {m['recall'] - ch['recall']:+.4f} "
                         f"({'goal met' if goal else 'goal not met'}) |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Reads the JSON lines and writes the PNG."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("rows", type=Path, help="file of JSON lines from chroma_compare.py --json ('-': stdin)")
    p.add_argument("out", type=Path, help="PNG to write")
    p.add_argument("--title", default=None)
    p.add_argument("--markdown", action="store_true", help="also print a Markdown table with the ratios")
    args = p.parse_args(argv)
    if str(args.rows) == "-":
        text = sys.stdin.read()
        rows = [json.loads(x) for x in text.splitlines() if x.strip().startswith("{")]
    else:
        rows = read_rows(args.rows)
    if not rows:
        print("no rows", file=sys.stderr)
        return 1
    plot(rows, args.out, args.title)
    if args.markdown:
        print(markdown(rows), end="")
    else:
        print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
