"""Proves the parts of bench/peers/chroma_compare.py and chroma_plot.py that decide what is
measured, without any server: the layout deals memories evenly to spaces with exactly 10% in the
filter bucket, the ground truth is the brute-force top k of the very space (and filter) a query is
asked of, recall is counted against it, and the plot script writes a PNG and the ratio table.
(The benchmark itself, against real servers, is `chroma_compare.py --quick`.)"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

PEERS = Path(__file__).resolve().parents[2] / "bench" / "peers"


def load(name: str) -> ModuleType:
    """Imports a script of bench/peers by path."""
    spec = importlib.util.spec_from_file_location(name, PEERS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


compare = load("chroma_compare")
plot = load("chroma_plot")


def unit_rows(rng: np.random.Generator, n: int, d: int = 8) -> np.ndarray:
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_layout_is_balanced_and_truth_is_brute_force() -> None:
    rng = np.random.default_rng(1)
    base, queries = unit_rows(rng, 600), unit_rows(rng, 40)
    scores = compare.similarities(base, queries)
    layout = compare.make_layout(scores, 20, 10, seed=7)
    assert np.bincount(layout.space_of).tolist() == [30] * 20
    assert np.bincount(layout.space_of[layout.bucket == 0]).tolist() == [3] * 20
    assert (layout.bucket == 0).sum() == 60
    for qi in range(len(queries)):
        exact = base.astype(np.float64) @ queries[qi].astype(np.float64)
        # The query goes to the space of its nearest memory overall.
        assert layout.query_space[qi] == layout.space_of[int(np.argmax(exact))]
        members = np.flatnonzero(layout.space_of == layout.query_space[qi])
        want = members[np.argsort(-exact[members], kind="stable")][:10]
        assert layout.truth[False][qi].tolist() == want.tolist()
        eligible = members[layout.bucket[members] == 0]
        want_filtered = eligible[np.argsort(-exact[eligible], kind="stable")][:10]
        assert layout.truth[True][qi].tolist() == want_filtered.tolist()
        assert len(layout.truth[True][qi]) == 3


def test_exact_top_breaks_ties_by_smaller_id() -> None:
    scores = np.array([0.5, 0.9, 0.9, 0.1, 0.9])
    rows = np.arange(5, dtype=np.int64)
    assert compare.exact_top(scores, rows, 2).tolist() == [1, 2]
    assert compare.exact_top(scores, rows[::-1].copy(), 3).tolist() == [1, 2, 4]
    assert compare.exact_top(scores, np.empty(0, dtype=np.int64), 3).tolist() == []


def test_buckets_match_the_layout() -> None:
    rng = np.random.default_rng(2)
    base, queries = unit_rows(rng, 300), unit_rows(rng, 5)
    layout = compare.make_layout(compare.similarities(base, queries), 1, 10, seed=11)
    assert compare.make_buckets(300, 11).tolist() == layout.bucket.tolist()


def test_recall_counts_against_the_truth() -> None:
    truth = [np.array([1, 2, 3, 4]), np.array([5, 6]), np.empty(0, dtype=np.int64)]
    found = {0: ["m1", "m2", "m9", "m10"], 1: ["m6", "m5"], 2: []}
    assert abs(compare.recall_at_k(found, truth, 10) - (0.5 + 1.0 + 1.0) / 3) < 1e-12
    assert compare.recall_at_k({2: ["m1"]}, truth, 10) == 0.0


def test_ingest_batches_stay_in_one_space() -> None:
    rng = np.random.default_rng(3)
    base, queries = unit_rows(rng, 300), unit_rows(rng, 5)
    layout = compare.make_layout(compare.similarities(base, queries), 3, 10, seed=5)
    batches = compare.ingest_batches(layout, 40)
    assert sorted(int(r) for _, rows in batches for r in rows) == list(range(300))
    for space, rows in batches:
        assert len(rows) <= 40
        assert set(layout.space_of[rows].tolist()) == {space}


def test_plot_writes_png_and_table(tmp_path: Path) -> None:
    rows = []
    for engine, scale in (("mnemo", 10.0), ("chroma", 1.0)):
        for spaces in (1, 1000):
            for filtered in (False, True):
                rows.append({"engine": engine, "spaces": spaces, "clients": 1, "filter": filtered,
                             "ingest_per_second": 100.0 * scale, "qps": 50.0 * scale, "recall": 0.99,
                             "p50_ms": 2.0 / scale, "p99_ms": 5.0 / scale})
    source = tmp_path / "rows.jsonl"
    source.write_text("log line\n" + "\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "plot.png"
    assert plot.main([str(source), str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = plot.markdown(plot.read_rows(source))
    assert table.count("**10.0x** | **10.0x**") == 4
    assert "(goal met)" in table
