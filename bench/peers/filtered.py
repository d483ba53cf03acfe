#!/usr/bin/env python3
"""Filtered k-NN side by side: Mnemo's C core against FAISS and an exact scan (issue 11).

All run in this one script on the same files, the same machine and one search thread, for each
selectivity of a deterministic attribute:

  mnemo/traversal  the C core's filtered HNSW traversal (mn_hnsw_search_filtered), and
  mnemo/exact      its exact scan of the matching ids (mn_hnsw_search_ids), both measured by
                   `bench_hnsw --filter-selectivity ... --json` (a subprocess; its own index);
  mnemo/engine     with --bench-engine: the engine's filtered search (mn_space_search_filtered:
                   planner, field index on the attribute, the filter memo and its compact codes),
                   measured by `bench_engine_filter --ann ... --json` (a subprocess; a space of
                   its own, M 16, efConstruction 200; its attribute is a random permutation, so
                   its matching set differs from the others' but has the same size);
  faiss            faiss-cpu IndexHNSWFlat with the same M and efConstruction, searched with
                   SearchParametersHNSW(efSearch=ef, sel=IDSelectorBitmap(matches)), all queries
                   in one search call (no per-query Python cost), omp_set_num_threads(1);
  scan             numpy: the matching rows gathered once into a contiguous matrix (with their
                   squared norms), then per query one matrix-vector product and argpartition:
                   an exact scan answering one query at a time, as a request would arrive;
  scan-gather      the same, but the matching rows are gathered from the base matrix per query
                   (what a scan must do when each query brings its own filter): for reference;
  scan-batch       the same scan for all queries at once (one matrix product, BLAS blocking
                   across queries): for reference, it is not how requests arrive.

The ratio is taken against the stronger of faiss and scan (the pre-gathered scan: the most
favourable exact baseline for one query at a time, its gather not timed).

The attribute is bench_hnsw's: base row i matches iff (i * 7919) mod 1000 < 1000 * s, so each
selectivity s is exact on a set whose size is a multiple of 1,000, and the exact filtered top k
is computed here by brute force in float64 over the matching rows. wordnet384 is cosine: base
and queries are normalised (they already are, to float rounding), FAISS then runs L2 on them,
which ranks as cosine does. Recall@k counts returned ids that are in the exact filtered top k
over min(k, matches) per query (bench_hnsw's definition).

QPS is queries per CPU second of the searching thread (time.thread_time, as bench_hnsw uses
CLOCK_THREAD_CPUTIME_ID): on a machine shared with other jobs, time spent waiting for a core is
not the search's. BLAS and OpenMP are pinned to one thread so all the work is on that thread.
Each ef's queries run --repeat times and the fastest pass counts. Prints one row per
(dataset, selectivity, library, ef) and then, per selectivity, QPS at recall@k 0.95 (linear
interpolation along each ef sweep, as compare.py; an exact scan is one point at recall 1.0)
for Mnemo (the engine's with --bench-engine; otherwise the better of the core's two strategies,
what the engine's planner picks), FAISS and the scans, and the ratio Mnemo / max(FAISS, scan). With --json every row and summary is a JSON
object on its own line. Figures only: it never fails on speed.

    cmake --build build-gcc --target bench_hnsw bench_engine_filter
    python3 bench/peers/filtered.py --bench-hnsw build-gcc/bench_hnsw \
        --bench-engine build-gcc/bench_engine_filter --data ../shared/data --repeat 5
"""
import os

# One search thread for every library: set before numpy and faiss load their thread pools.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from compare import interpolate, read_vecs  # noqa: E402  (same directory: the shared helpers)

DATASETS = {"sift5k": "l2", "wordnet384": "cosine"}
TARGET = 0.95
FILTER_MULTIPLIER = 7919   # bench_hnsw's filter_attribute: (id * 7919) mod 1000
FILTER_MODULUS = 1000


def matching_ids(count, selectivity):
    """Rows whose attribute is below the selectivity's threshold, as bench_hnsw picks them."""
    threshold = int(selectivity * FILTER_MODULUS + 0.5)
    attribute = (np.arange(count, dtype=np.int64) * FILTER_MULTIPLIER) % FILTER_MODULUS
    return np.flatnonzero(attribute < threshold)


def distances(queries, rows, metric):
    """Distances that rank as the metric does: squared L2, or minus the inner product of unit vectors."""
    products = queries @ rows.T
    if metric == "cosine":
        return -products
    return (queries * queries).sum(1)[:, None] - 2.0 * products + (rows * rows).sum(1)[None, :]


def filtered_truth(base, queries, ids, metric, k):
    """Exact filtered top k (ids into base), one list per query, in float64."""
    d = distances(queries.astype(np.float64), base[ids].astype(np.float64), metric)
    take = min(k, len(ids))
    if take < len(ids):
        top = np.argpartition(d, take - 1, axis=1)[:, :take]
    else:
        top = np.tile(np.arange(len(ids)), (len(queries), 1))
    return [set(ids[row].tolist()) for row in top]


def recall(labels, truth, k):
    hits = sum(len(set(row[:k].tolist()) & expected) for row, expected in zip(labels, truth))
    return hits / sum(len(expected) for expected in truth)


def fastest(repeat, work):
    """Runs work() `repeat` times; returns the fastest pass's CPU seconds and its result."""
    best, result = float("inf"), None
    for _ in range(max(repeat, 1)):
        start = time.thread_time()
        result = work()
        best = min(best, time.thread_time() - start)
    return best, result


def run_mnemo(binary, data, name, selectivities, args):
    command = [binary, "--data", data, "--set", name, "--m", str(args.m),
               "--ef-construction", str(args.ef_construction), "--threads", str(args.build_threads),
               "--filter-selectivity", ",".join(str(s) for s in selectivities),
               "--ef", ",".join(str(ef) for ef in args.ef), "--repeat", str(args.repeat), "--json"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    build = next(r for r in rows if r["bench"] == "build")
    return build, [r for r in rows if r["bench"] == "filter"]


def run_engine(binary, data, name, selectivities, args):
    command = [binary, "--ann", "--data", data, "--set", name,
               "--selectivity", ",".join(str(s) for s in selectivities),
               "--ef", ",".join(str(ef) for ef in args.ef), "--repeat", str(args.repeat), "--json"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [r for r in rows if r["bench"] == "engine_filtered_search"]


def build_faiss(base, args):
    import faiss
    faiss.omp_set_num_threads(args.build_threads)
    index = faiss.IndexHNSWFlat(base.shape[1], args.m)   # L2; M neighbours above layer 0, 2M on it
    index.hnsw.efConstruction = args.ef_construction
    start = time.perf_counter()
    index.add(base)
    seconds = time.perf_counter() - start
    faiss.omp_set_num_threads(1)
    return index, seconds


def run_faiss(index, queries, ids, count, truth, args):
    import faiss
    mask = np.zeros(count, dtype=bool)
    mask[ids] = True
    bitmap = np.packbits(mask, bitorder="little")   # bit i of byte i // 8 is row i
    selector = faiss.IDSelectorBitmap(count, faiss.swig_ptr(bitmap))
    rows = []
    for ef in args.ef:
        params = faiss.SearchParametersHNSW(efSearch=ef, sel=selector)
        seconds, (_, labels) = fastest(args.repeat, lambda: index.search(queries, args.k, params=params))
        returned = labels[labels >= 0]
        if not mask[returned].all():   # a peer's bug would make its figures meaningless
            sys.exit(f"filtered.py: FAISS returned a non-matching id at ef {ef}")
        rows.append({"library": "faiss", "strategy": "traversal", "ef": ef,
                     "recall": recall(labels, truth, args.k), "qps": len(queries) / seconds})
    del bitmap   # the selector points into it: kept alive until here
    return rows


def run_scans(base, queries, ids, metric, truth, args):
    """The numpy exact scans of the matching rows: one query at a time, and all at once."""
    rows_matrix = np.ascontiguousarray(base[ids])
    norms = (rows_matrix * rows_matrix).sum(1)
    base_norms = (base * base).sum(1)   # a store keeps its rows' norms: not part of a query's work
    take = min(args.k, len(ids))

    def nearest(d):
        if take < len(d):
            top = np.argpartition(d, take - 1)[:take]
            return ids[top[np.argsort(d[top])]]
        return ids[np.argsort(d)]

    def one_at_a_time():
        labels = np.empty((len(queries), take), dtype=np.int64)
        for q, query in enumerate(queries):
            products = rows_matrix @ query
            labels[q] = nearest(-products if metric == "cosine" else norms - 2.0 * products)
        return labels

    def gather_one_at_a_time():
        labels = np.empty((len(queries), take), dtype=np.int64)
        for q, query in enumerate(queries):
            rows = base[ids]   # the filter's rows read per query, as a scan with a per-query filter must
            products = rows @ query
            labels[q] = nearest(-products if metric == "cosine" else base_norms[ids] - 2.0 * products)
        return labels

    def batch():
        products = queries @ rows_matrix.T
        d = -products if metric == "cosine" else norms[None, :] - 2.0 * products
        if take < len(ids):
            top = np.argpartition(d, take - 1, axis=1)[:, :take]
        else:
            top = np.tile(np.arange(len(ids)), (len(queries), 1))
        return ids[top]

    out = []
    for library, work in (("scan", one_at_a_time), ("scan-gather", gather_one_at_a_time), ("scan-batch", batch)):
        seconds, labels = fastest(args.repeat, work)
        out.append({"library": library, "strategy": "exact", "ef": None,
                    "recall": recall(labels, truth, args.k), "qps": len(queries) / seconds})
    return out


def qps_at_target(rows):
    """QPS at TARGET recall along one library's rows (an exact scan is a single point).

    Of the points with equal recall only the fastest is kept: compare.py's interpolate sorts
    (recall, qps) pairs, so when every ef reaches the same recall (a sweep that always falls
    back to the exact scan) it would otherwise answer with the slowest of them."""
    fastest_at = {}
    for r in rows:
        fastest_at[r["recall"]] = max(fastest_at.get(r["recall"], 0.0), r["qps"])
    return interpolate(list(fastest_at.items()), TARGET)


def fmt(value, digits=0):
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench-hnsw", default="build-gcc/bench_hnsw", help="path to the bench_hnsw binary")
    parser.add_argument("--bench-engine", default=None,
                        help="path to the bench_engine_filter binary: adds the engine's filtered search")
    parser.add_argument("--data", default="../shared/data", help="directory of the texmex datasets")
    parser.add_argument("--datasets", default="sift5k,wordnet384", help="comma-separated dataset names")
    parser.add_argument("--selectivity", default="0.5,0.1,0.01,0.001", help="comma-separated fractions matching")
    parser.add_argument("--build-threads", type=int, default=1, help="index build threads (both libraries)")
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef", default="10,20,40,80,160,320,640")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3,
                        help="search passes per ef for every library; the fastest counts (other load only slows)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of tables")
    args = parser.parse_args()
    args.ef = [int(x) for x in args.ef.split(",")]
    selectivities = [float(x) for x in args.selectivity.split(",")]
    for binary in (args.bench_hnsw, args.bench_engine):
        if binary and not os.path.exists(binary):
            sys.exit(f"filtered.py: {binary} not found; build it with "
                     f"`cmake --build build-gcc --target {os.path.basename(binary)}`")
    try:
        import faiss
    except ImportError:
        sys.exit("filtered.py: faiss missing; run scripts/setup.sh (pip faiss-cpu)")

    def emit(obj):
        if args.json:
            print(json.dumps(obj), flush=True)

    if not args.json:
        print(f"M {args.m}, ef_construction {args.ef_construction}, k {args.k}, ef sweep {args.ef}, build threads "
              f"{args.build_threads}; one search thread, QPS per CPU second, fastest of {args.repeat} passes; "
              f"faiss {faiss.__version__} ({faiss.get_compile_options().strip()}), numpy {np.__version__}")
    summaries = []
    for name in args.datasets.split(","):
        metric = DATASETS[name]
        base = np.ascontiguousarray(read_vecs(f"{args.data}/{name}_base.fvecs").view("<f4"))
        queries = np.ascontiguousarray(read_vecs(f"{args.data}/{name}_query.fvecs").view("<f4"))
        if metric == "cosine":
            base = base / np.linalg.norm(base, axis=1, keepdims=True)
            queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        mnemo_build, mnemo_rows = run_mnemo(args.bench_hnsw, args.data, name, selectivities, args)
        engine_rows = run_engine(args.bench_engine, args.data, name, selectivities, args) if args.bench_engine else []
        index, faiss_seconds = build_faiss(base, args)
        emit({"bench": "build", "dataset": name, "mnemo_seconds": mnemo_build["seconds"],
              "faiss_seconds": faiss_seconds, "kernels": mnemo_build["kernels"]})
        if not args.json:
            print(f"\n{name}: {base.shape[0]:,} x {base.shape[1]} {metric}, {len(queries):,} queries; build "
                  f"mnemo {mnemo_build['seconds']:.1f} s, faiss {faiss_seconds:.1f} s\n"
                  f"{'library':<16} {'selectivity':>11} {'ef':>5} {'recall':>7} {'qps':>11}")
        for selectivity in selectivities:
            ids = matching_ids(len(base), selectivity)
            truth = filtered_truth(base, queries, ids, metric, args.k)
            rows = []
            for r in mnemo_rows:
                if abs(r["selectivity"] - selectivity) < 1e-12:
                    rows.append({"library": f"mnemo/{r['strategy']}", "strategy": r["strategy"], "ef": r["ef"],
                                 "recall": r["recall"], "qps": r["qps"]})
            for r in engine_rows:
                if abs(r["selectivity"] - selectivity) < 1e-12:
                    rows.append({"library": "mnemo/engine", "strategy": r["strategy"], "ef": r["ef"],
                                 "recall": r["recall"], "qps": r["qps"]})
            rows += run_faiss(index, queries, ids, len(base), truth, args)
            rows += run_scans(base, queries, ids, metric, truth, args)
            for r in rows:
                emit({"bench": "filter", "dataset": name, "selectivity": selectivity, "matches": len(ids), **r})
                if not args.json:
                    print(f"{r['library']:<16} {selectivity:>11g} {'-' if r['ef'] is None else r['ef']:>5} "
                          f"{r['recall']:>7.4f} {r['qps']:>11,.0f}")
            by = {library: qps_at_target([r for r in rows if r["library"] == library])
                  for library in ("mnemo/traversal", "mnemo/exact", "mnemo/engine", "faiss", "scan", "scan-gather",
                                  "scan-batch")}
            candidates = [q for q in (by["mnemo/traversal"], by["mnemo/exact"]) if q is not None]
            mnemo = by["mnemo/engine"] if args.bench_engine else max(candidates) if candidates else None
            baselines = [q for q in (by["faiss"], by["scan"]) if q is not None]
            best_baseline = max(baselines) if baselines else None
            summary = {"bench": "summary", "dataset": name, "selectivity": selectivity, "matches": len(ids),
                       "mnemo": mnemo, "mnemo_traversal": by["mnemo/traversal"], "mnemo_exact": by["mnemo/exact"],
                       "mnemo_engine": by["mnemo/engine"],
                       "faiss": by["faiss"], "scan": by["scan"], "scan_gather": by["scan-gather"],
                       "scan_batch": by["scan-batch"],
                       "ratio": ratio(mnemo, best_baseline), "ratio_scan_batch": ratio(mnemo, by["scan-batch"])}
            summaries.append(summary)
            emit(summary)
        del index
    if args.json:
        return
    print(f"\nQPS at recall@{args.k} {TARGET} (one search thread; '-': not reached on the ef sweep); "
          f"ratio = mnemo / max(faiss, scan)")
    header = (f"{'dataset':<11} {'sel':>6} {'matches':>7} {'mnemo':>10} {'(engine)':>10} {'(trav)':>10} {'(exact)':>10} "
              f"{'faiss':>10} {'scan':>10} {'ratio':>7} {'scan-gather':>11} {'scan-batch':>11}")
    print(header)
    print("-" * len(header))
    for s in summaries:
        r = s["ratio"]
        print(f"{s['dataset']:<11} {s['selectivity']:>6g} {s['matches']:>7,} {fmt(s['mnemo']):>10} {fmt(s['mnemo_engine']):>10} "
              f"{fmt(s['mnemo_traversal']):>10} {fmt(s['mnemo_exact']):>10} {fmt(s['faiss']):>10} "
              f"{fmt(s['scan']):>10} {'-' if r is None else f'{r:.2f}x':>7} {fmt(s['scan_gather']):>11} "
              f"{fmt(s['scan_batch']):>11}")


if __name__ == "__main__":
    main()
