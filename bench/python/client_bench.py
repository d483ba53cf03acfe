#!/usr/bin/env python3
"""Throughput of the Python client against `mnemo serve`: batch ingest, single puts, and search
(1 sync client, and N concurrent requests over one AsyncMnemo), with recall@10.

Data: wordnet384 (cosine, 384-d) from --data (default ../shared/data from the repository root).
Recall@10 is measured against exact top-10 of the loaded rows (the shipped ground truth when all
30,000 are loaded, else a brute-force numpy search). Starts its own `mnemo serve --dev` (in
memory) from --mnemo / $MNEMO_BIN unless --url is given. Prints one JSON line per measurement.

    python3 bench/python/client_bench.py --mnemo /work/bin/mnemo-release --limit 30000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python"))

from mnemo_client import AsyncMnemo, Mnemo  # noqa: E402


def fvecs(path: Path) -> npt.NDArray[np.float32]:
    """A texmex .fvecs file as an (n, d) float32 array."""
    raw = np.fromfile(path, dtype="<i4")
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:, 1:].view("<f4").astype(np.float32)


def ivecs(path: Path) -> npt.NDArray[np.int32]:
    """A texmex .ivecs file as an (n, d) int32 array."""
    raw = np.fromfile(path, dtype="<i4")
    return raw.reshape(-1, int(raw[0]) + 1)[:, 1:]


def start(binary: str) -> tuple[subprocess.Popen[bytes], str]:
    """`mnemo serve --dev` on a free loopback port, once ready."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "serve", "--dev", "--port", str(port), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    with Mnemo(url, retries=0) as probe:
        for _ in range(2400):
            if probe.ready():
                return proc, url
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("mnemo serve did not become ready")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of `values` (milliseconds in, milliseconds out)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


def main() -> int:
    """Run the measurements and print JSON lines."""
    parser = argparse.ArgumentParser(description="Python client throughput against mnemo serve")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"), help="dataset directory")
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--mnemo", default=os.environ.get("MNEMO_BIN", "/work/bin/mnemo"), help="the mnemo binary")
    parser.add_argument("--limit", type=int, default=10000, help="base rows to load (at most 30000)")
    parser.add_argument("--queries", type=int, default=1000, help="queries to run (at most 1000)")
    parser.add_argument("--puts", type=int, default=1000, help="single PUTs to time")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent async searches")
    parser.add_argument("--ef", type=int, default=64)
    args = parser.parse_args()

    data = Path(args.data)
    base = fvecs(data / "wordnet384_base.fvecs")[: args.limit]
    queries = fvecs(data / "wordnet384_query.fvecs")[: args.queries]
    if len(base) == 30000:
        truth = ivecs(data / "wordnet384_groundtruth.ivecs")[: len(queries), :10]
    else:
        normed = base / np.linalg.norm(base, axis=1, keepdims=True)
        q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        truth = np.argsort(-(q @ normed.T), axis=1, kind="stable")[:, :10].astype(np.int32)

    proc = None
    url = args.url
    if url is None:
        proc, url = start(args.mnemo)
    rows: list[dict[str, Any]] = []
    try:
        with Mnemo(url) as client:
            space = client.create_space("bench/wordnet", 384, m=16, ef_construction=200)
            t0 = time.perf_counter()
            for i in range(0, len(base), 100):
                space.add([{"id": str(j), "vector": base[j]} for j in range(i, min(i + 100, len(base)))])
            seconds = time.perf_counter() - t0
            rows.append({"bench": "batch_ingest", "memories": len(base), "per_second": round(len(base) / seconds)})

            extra = client.create_space("bench/puts", 384)
            t0 = time.perf_counter()
            for i in range(args.puts):
                extra.put(str(i), base[i % len(base)])
            rows.append({"bench": "put", "count": args.puts, "per_second": round(args.puts / (time.perf_counter() - t0))})

            latencies: list[float] = []
            found = 0
            t0 = time.perf_counter()
            for i, vector in enumerate(queries):
                s = time.perf_counter()
                hits = space.search(vector, k=10, ef=args.ef, include=())
                latencies.append((time.perf_counter() - s) * 1000)
                found += len({int(h.id) for h in hits} & set(int(x) for x in truth[i]))
            seconds = time.perf_counter() - t0
            rows.append({"bench": "search", "clients": 1, "qps": round(len(queries) / seconds),
                         "p50_ms": round(percentile(latencies, 0.5), 3), "p99_ms": round(percentile(latencies, 0.99), 3),
                         "recall": round(found / (10 * len(queries)), 4)})

        async def concurrent() -> dict[str, Any]:
            async with AsyncMnemo(url, max_connections=args.concurrency) as aclient:
                aspace = aclient.space("bench/wordnet")
                lat: list[float] = []
                next_query = 0

                async def worker() -> None:
                    nonlocal next_query
                    while next_query < len(queries):
                        i = next_query
                        next_query += 1
                        s = time.perf_counter()
                        await aspace.search(queries[i], k=10, ef=args.ef, include=())
                        lat.append((time.perf_counter() - s) * 1000)

                t = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(args.concurrency)))
                secs = time.perf_counter() - t
                return {"bench": "search", "clients": args.concurrency, "qps": round(len(queries) / secs),
                        "p50_ms": round(percentile(lat, 0.5), 3), "p99_ms": round(percentile(lat, 0.99), 3)}

        rows.append(asyncio.run(concurrent()))
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    load = os.getloadavg()[0]
    for row in rows:
        row["load_average"] = round(load, 1)
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
