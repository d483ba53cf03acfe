#!/usr/bin/env python3
"""The most searches per second any server can give through an httpx client on this machine.

Issue 13 asks Mnemo, reached through its Python client (which the issue puts on httpx), for at
least 10x Chroma's search QPS in every row of `chroma_compare.py`. Whatever the server does, a
search through httpx costs at least what httpx spends on the cheapest request there is. This
script measures that floor against `mnemo serve --dev`'s `GET /healthz` (no body, no
credential, no engine call), with the same client setup as `chroma_compare.py` (one
`httpx.Client` with keep-alive per client process):

- 1 client: wall time and the client's own CPU time per request, back to back;
- N client processes (--clients, default 16) at once for --duration seconds: requests per second
  of all of them together, the ceiling of any 16-client row on this machine's cores.

With --rows FILE (the JSON lines of `chroma_compare.py --json`), it prints for each Chroma row the
QPS that 10x would need next to the floor's ceiling for that client count: where the ceiling is
lower, no server can meet the goal through an httpx client here.

    python3 bench/peers/httpx_floor.py --mnemo .build/release/mnemo [--rows chroma_compare.jsonl] [--json]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chroma_compare import default_mnemo, start_mnemo  # noqa: E402  (the same server setup)

ROUTE = "/healthz"
WARMUP = 500


def one_client(url: str, requests: int) -> dict[str, float]:
    """Back-to-back GETs on one keep-alive connection: wall and client CPU microseconds each."""
    with httpx.Client() as client:
        for _ in range(WARMUP):
            client.get(url).raise_for_status()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            client.get(url).raise_for_status()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall_us": 1e6 * wall / requests, "client_cpu_us": 1e6 * cpu / requests}


def load_worker(url: str, start: Any, seconds: float, out: Any) -> None:
    """One of N client processes: GETs for `seconds` after the common start; sends its count."""
    with httpx.Client() as client:
        for _ in range(WARMUP // 10):
            client.get(url).raise_for_status()
        start.wait()
        done, deadline = 0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            client.get(url).raise_for_status()
            done += 1
    out.put(done)


def many_clients(url: str, clients: int, seconds: float) -> float:
    """Requests per second of `clients` processes together."""
    context = mp.get_context("fork")
    start, out = context.Barrier(clients + 1), context.Queue()
    workers = [context.Process(target=load_worker, args=(url, start, seconds, out)) for _ in range(clients)]
    for worker in workers:
        worker.start()
    start.wait()
    total: int = sum(int(out.get(timeout=seconds + 120)) for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


def verdicts(rows_path: Path, ceilings: dict[int, float]) -> list[dict[str, Any]]:
    """For each Chroma row of a chroma_compare JSONL: the QPS 10x needs and the floor's ceiling."""
    out = []
    for line in rows_path.read_text().splitlines():
        row = json.loads(line)
        if row.get("engine") != "chroma" or row.get("clients") not in ceilings:
            continue
        need = 10 * row["qps"]
        ceiling = ceilings[row["clients"]]
        out.append({"spaces": row["spaces"], "clients": row["clients"], "filter": row["filter"],
                    "chroma_qps": row["qps"], "needed_qps": round(need, 1),
                    "httpx_ceiling_qps": round(ceiling, 1), "reachable": ceiling >= need})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--mnemo", default=default_mnemo(), help="the mnemo binary (env MNEMO_BIN)")
    p.add_argument("--requests", type=int, default=5000, help="requests of the 1-client run")
    p.add_argument("--clients", type=int, default=16, help="client processes of the second run")
    p.add_argument("--duration", type=float, default=5.0, help="seconds of the many-client run")
    p.add_argument("--rows", type=Path, help="chroma_compare.py --json output to judge")
    p.add_argument("--json", action="store_true", help="one JSON object (else lines of text)")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mnemo-httpx-floor-") as tmp:
        server = start_mnemo(args.mnemo, Path(tmp))
        try:
            url = server.url + ROUTE
            single = one_client(url, args.requests)
            many = many_clients(url, args.clients, args.duration)
        finally:
            server.stop()
    # One client waits for each answer: its ceiling is one request per wall time.
    ceilings = {1: 1e6 / single["wall_us"], args.clients: many}
    report: dict[str, Any] = {"route": ROUTE, "httpx": httpx.__version__, "one_client": single,
                              "clients": args.clients, "many_clients_qps": many}
    if args.rows:
        report["rows"] = verdicts(args.rows, ceilings)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"httpx {httpx.__version__}, GET {ROUTE} of mnemo serve: 1 client {single['wall_us']:.0f} us wall, "
          f"{single['client_cpu_us']:.0f} us of client CPU per request ({ceilings[1]:,.0f}/s); "
          f"{args.clients} clients {many:,.0f}/s")
    for row in report.get("rows", []):
        print(f"  chroma spaces={row['spaces']} clients={row['clients']} filter={row['filter']}: "
              f"{row['chroma_qps']:,.1f}/s, 10x needs {row['needed_qps']:,.0f}/s, httpx ceiling "
              f"{row['httpx_ceiling_qps']:,.0f}/s: {'reachable' if row['reachable'] else 'out of reach'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
