#!/usr/bin/env python3
"""Side-by-side ANN comparison: Mnemo (`mnemo ann-bench --json`) against hnswlib 0.8.0.

Both run in this one script on the same files, the same machine, the same M, ef_construction,
ef sweep and thread count. A row's thread count T is used to build and to search, by both:
Mnemo answers the queries through its Swift API, one after another on each of T threads (each
a contiguous share); hnswlib answers them in one knn_query call with num_threads=T (its fastest
path, with no per-query Python overhead).

Besides the texmex sets in --data it generates `clustered784`: 784-d float32 L2 vectors (the
width of MNIST-like image sets) drawn from Gaussian clusters with a fixed seed, with exact top-k
ground truth computed here with numpy. The files go to a temporary directory that is removed at
exit (never into --data, never committed); --keep-generated DIR writes them to DIR instead, so
the C benchmark can read them (`bench_hnsw --data DIR --set clustered784`).

Each ef's queries run --repeat times for both libraries and the fastest pass counts: on a
shared machine other processes only ever slow a pass down. The whole build-and-search runs
--rounds times (3) per library, alternating between them, for the same reason. A pass makes at
least --min-queries (2,000) searches, cycling a smaller query set (sift5k has 100), the same
list for both. Prints, per dataset and thread count, build inserts/s and QPS at recall@10 =
0.90 / 0.95 / 0.99 (linear interpolation along each library's ef sweep) with Mnemo/hnswlib
ratios, and writes a recall-vs-QPS plot in the ann-benchmarks style. Figures only: it never
fails on speed.

    python3 bench/peers/compare.py --mnemo .build/release/mnemo --data ../shared/data
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

DATASETS = {"sift5k": "l2", "wordnet384": "cosine", "clustered784": "l2"}
GENERATED = {"clustered784"}
TARGETS = (0.90, 0.95, 0.99)

# The generated set: sizes and shape, fixed so every run (and the C bench) sees the same files.
CLUSTERED_DIM = 784
CLUSTERED_BASE = 10_000
CLUSTERED_QUERIES = 1_000
CLUSTERED_CLUSTERS = 50
CLUSTERED_RANK = 48        # each cluster spreads mostly along a random 48-d subspace
CLUSTERED_NOISE = 0.5      # plus isotropic noise on every coordinate
CLUSTERED_SEED = 784


def write_vecs(path, rows, dtype):
    """Writes rows in texmex format: each row prefixed by its width as int32."""
    rows = np.ascontiguousarray(rows, dtype=dtype)
    out = np.empty((rows.shape[0], rows.shape[1] + 1), dtype="<i4")
    out[:, 0] = rows.shape[1]
    out[:, 1:] = rows.view("<i4")
    out.tofile(path)


def generate_clustered(directory, k):
    """Writes clustered784_{base,query}.fvecs and _groundtruth.ivecs (exact top-k by L2).

    Base and queries are drawn the same way: pick a cluster, add its centre, a Gaussian point of
    its own low-rank spread (real embeddings have a low intrinsic dimension; isotropic 784-d
    noise would make every neighbour equally far) and a little isotropic noise."""
    rng = np.random.default_rng(CLUSTERED_SEED)
    dim, rank = CLUSTERED_DIM, CLUSTERED_RANK
    centres = rng.normal(0.0, 1.0, (CLUSTERED_CLUSTERS, dim)).astype(np.float32)
    spreads = rng.normal(0.0, 1.0 / np.sqrt(rank), (CLUSTERED_CLUSTERS, rank, dim)).astype(np.float32)

    def draw(count):
        which = rng.integers(0, CLUSTERED_CLUSTERS, count)
        latent = rng.normal(0.0, 1.0, (count, rank)).astype(np.float32)
        points = centres[which] + np.einsum("nr,nrd->nd", latent, spreads[which])
        points += rng.normal(0.0, CLUSTERED_NOISE, (count, dim)).astype(np.float32)
        return points.astype(np.float32)

    base, queries = draw(CLUSTERED_BASE), draw(CLUSTERED_QUERIES)
    # Exact squared L2 in float64: |q|^2 - 2 q.b + |b|^2, then the k smallest, sorted.
    b64, q64 = base.astype(np.float64), queries.astype(np.float64)
    d2 = (q64 * q64).sum(1)[:, None] - 2.0 * q64 @ b64.T + (b64 * b64).sum(1)[None, :]
    top = np.argpartition(d2, k, axis=1)[:, :k]
    order = np.take_along_axis(d2, top, 1).argsort(1)
    truth = np.take_along_axis(top, order, 1).astype(np.int32)
    write_vecs(os.path.join(directory, "clustered784_base.fvecs"), base, "<f4")
    write_vecs(os.path.join(directory, "clustered784_query.fvecs"), queries, "<f4")
    write_vecs(os.path.join(directory, "clustered784_groundtruth.ivecs"), truth, "<i4")


def read_vecs(path):
    raw = np.fromfile(path, dtype="<i4")
    dim = int(raw[0])
    return raw.reshape(-1, dim + 1)[:, 1:]


def interpolate(points, target):
    """QPS at `target` recall from (recall, qps) points, or None when never reached."""
    points = sorted(points)
    for (r0, q0), (r1, q1) in zip(points, points[1:]):
        if r0 <= target <= r1:
            if r1 == r0:
                return max(q0, q1)
            return q0 + (q1 - q0) * (target - r0) / (r1 - r0)
    if points and points[0][0] >= target:
        return points[0][1]
    return None


def run_mnemo(binary, data, name, metric, args, threads):
    command = [binary, "ann-bench", "--base", f"{data}/{name}_base.fvecs",
               "--query", f"{data}/{name}_query.fvecs", "--groundtruth", f"{data}/{name}_groundtruth.ivecs",
               "--metric", metric, "--m", str(args.m), "--ef-construction", str(args.ef_construction),
               "--ef", ",".join(str(ef) for ef in args.ef for _ in range(args.repeat)), "--k", str(args.k),
               "--threads", str(threads), "--search-threads", str(threads),
               "--min-queries", str(args.min_queries), "--json"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    build = next(r for r in rows if r["bench"] == "build")
    best = {}
    for r in rows:
        if r["bench"] == "search" and r["qps"] > best.get(r["ef"], (0, 0))[1]:
            best[r["ef"]] = (r["recall"], r["qps"])
    return build["inserts_per_second"], [best[ef] for ef in args.ef]


def run_hnswlib(data, name, metric, args, threads):
    import hnswlib
    base = read_vecs(f"{data}/{name}_base.fvecs").view("<f4")
    queries = read_vecs(f"{data}/{name}_query.fvecs").view("<f4")
    truth = read_vecs(f"{data}/{name}_groundtruth.ivecs")[:, : args.k]
    # The same cycled query list as `ann-bench --min-queries`.
    cycled = np.arange(max(len(queries), args.min_queries)) % len(queries)
    queries, truth = queries[cycled], truth[cycled]
    index = hnswlib.Index(space=metric, dim=base.shape[1])
    index.init_index(max_elements=len(base), M=args.m, ef_construction=args.ef_construction, random_seed=100)
    index.set_num_threads(threads)
    start = time.perf_counter()
    index.add_items(base, np.arange(len(base)))
    build = len(base) / (time.perf_counter() - start)
    search = []
    for ef in args.ef:
        index.set_ef(max(ef, args.k))
        qps = 0.0
        for _ in range(args.repeat):
            start = time.perf_counter()
            labels, _ = index.knn_query(queries, k=args.k)
            qps = max(qps, len(queries) / (time.perf_counter() - start))
        recall = np.mean([len(set(labels[i]) & set(truth[i])) / args.k for i in range(len(queries))])
        search.append((float(recall), qps))
    return build, search


def fastest(runs):
    """The fastest build rate and, per ef, the (recall, qps) of the fastest pass over runs."""
    build = max(run[0] for run in runs)
    search = [max((run[1][i] for run in runs), key=lambda point: point[1]) for i in range(len(runs[0][1]))]
    return build, search


def fmt(value, digits=0):
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}x"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnemo", default=".build/release/mnemo", help="path to the mnemo binary")
    parser.add_argument("--data", default="../shared/data", help="directory of the texmex datasets")
    parser.add_argument("--datasets", default="sift5k,wordnet384,clustered784", help="comma-separated dataset names")
    parser.add_argument("--keep-generated", metavar="DIR", help="write the generated sets to DIR and keep them")
    parser.add_argument("--generate-only", action="store_true", help="only write the generated sets (needs --keep-generated)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (build and search)")
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef", default="10,20,40,60,80,120,160,240,320")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3,
                        help="build-and-search rounds per library, alternating; the fastest counts")
    parser.add_argument("--min-queries", type=int, default=2000,
                        help="searches per pass at least: small query sets are cycled (a 100-query pass is too short to time)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="search passes per ef for both libraries; the fastest counts (other load only slows)")
    parser.add_argument("--plot", default="docs/recall_qps.png", help="where to write the PNG plot")
    args = parser.parse_args()
    args.ef = [int(x) for x in args.ef.split(",")]
    names = args.datasets.split(",")
    if args.keep_generated:
        generated_dir = args.keep_generated
        os.makedirs(generated_dir, exist_ok=True)
    else:
        generated_dir = tempfile.mkdtemp(prefix="mnemo-peers-")
    try:
        if any(name in GENERATED for name in names) or args.generate_only:
            generate_clustered(generated_dir, max(args.k, 100))
        if args.generate_only:
            if not args.keep_generated:
                sys.exit("compare.py: --generate-only needs --keep-generated DIR")
            print(f"generated: {generated_dir}")
            return
        compare(args, names, generated_dir)
    finally:
        if not args.keep_generated:
            shutil.rmtree(generated_dir, ignore_errors=True)


def compare(args, names, generated_dir):
    if not os.path.exists(args.mnemo):
        sys.exit(f"compare.py: {args.mnemo} not found; build it with `swift build -c release --product mnemo`")

    curves = {}
    header = (f"{'dataset':<12} {'thr':>3} {'library':<8} {'build/s':>9} "
              + " ".join(f"{'qps@' + format(t, '.2f'):>10}" for t in TARGETS))
    lines = [header, "-" * len(header)]
    for name in names:
        metric = DATASETS[name]
        data = generated_dir if name in GENERATED else args.data
        for threads in [int(t) for t in args.threads.split(",")]:
            # Rounds alternate the libraries, so a slow spell of a shared machine does not fall
            # on one of them only; each keeps its fastest build and, per ef, its fastest pass.
            mnemo_runs, peer_runs = [], []
            for _ in range(args.rounds):
                mnemo_runs.append(run_mnemo(args.mnemo, data, name, metric, args, threads))
                peer_runs.append(run_hnswlib(data, name, metric, args, threads))
            mnemo_build, mnemo_search = fastest(mnemo_runs)
            peer_build, peer_search = fastest(peer_runs)
            curves[(name, threads)] = (mnemo_search, peer_search)
            mnemo_qps = [interpolate(mnemo_search, t) for t in TARGETS]
            peer_qps = [interpolate(peer_search, t) for t in TARGETS]
            lines.append(f"{name:<12} {threads:>3} {'mnemo':<8} {fmt(mnemo_build):>9} "
                         + " ".join(f"{fmt(q):>10}" for q in mnemo_qps))
            lines.append(f"{'':<12} {'':>3} {'hnswlib':<8} {fmt(peer_build):>9} "
                         + " ".join(f"{fmt(q):>10}" for q in peer_qps))
            lines.append(f"{'':<12} {'':>3} {'ratio':<8} {ratio(mnemo_build, peer_build):>9} "
                         + " ".join(f"{ratio(a, b):>10}" for a, b in zip(mnemo_qps, peer_qps)))
    print(f"M {args.m}, ef_construction {args.ef_construction}, k {args.k}, ef sweep {args.ef}; "
          f"thr threads build and search for both; fastest of {args.rounds} alternating rounds of "
          f"{args.repeat} passes per ef")
    print("\n".join(lines))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("compare.py: matplotlib missing, no plot written")
        return
    figure, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 4.5), squeeze=False)
    for axis, name in zip(axes[0], names):
        for (dataset, threads), (mnemo_search, peer_search) in curves.items():
            if dataset != name or threads != 1:
                continue
            for label, points, style in (("mnemo", mnemo_search, "o-"), ("hnswlib 0.8.0", peer_search, "s--")):
                points = sorted(points)
                axis.plot([p[0] for p in points], [p[1] for p in points], style, label=label)
        axis.set_yscale("log")
        axis.set_xlabel("recall@10")
        axis.set_ylabel("queries per second (1 thread)")
        axis.set_title(f"{name} (M {args.m}, ef_construction {args.ef_construction})")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.tight_layout()
    os.makedirs(os.path.dirname(args.plot) or ".", exist_ok=True)
    figure.savefig(args.plot, dpi=110)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
