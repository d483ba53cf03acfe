#!/usr/bin/env python3
"""What the LangChain layer costs: MnemoVectorStore against the bare mnemo_client, same server.

Loads wordnet384 (30,000 all-MiniLM-L6-v2 gloss embeddings, cosine, 1,000 held-out queries with
exact ground truth) into two fresh spaces of one `mnemo serve --dev`: once through
`MnemoVectorStore.add_texts` (an Embeddings that looks each gloss's stored vector up, so no
model runs and both paths send the same vectors) and once through `Space.add(upsert=True)`,
both in batches of `--batch`. Then runs the queries one at a time (one client) through
`similarity_search` (the query text embedded by the same lookup) and through `Space.search`,
and reports throughput, p50/p99 latency and recall@10 against the ground truth, one JSON line
per row. Figures, not assertions: nothing here is a test.

    python3 bench/python/langchain_bench.py [--data ../shared/data] [--url http://127.0.0.1:7600]
                                            [--limit 30000] [--queries 1000] [--batch 500] [--k 10]

Without `--url` it starts `mnemo serve --dev` itself ($MNEMO_BIN, else `swift build
--show-bin-path`/mnemo) on a free loopback port and stops it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
from langchain_core.embeddings import Embeddings

from mnemo_client import Mnemo
from mnemo_client.langchain import MnemoVectorStore

REPO = Path(__file__).resolve().parents[2]


def read_vectors(path: Path, dtype: str) -> npt.NDArray[Any]:
    """A texmex .fvecs/.ivecs file as a 2-D array."""
    raw = np.fromfile(path, "<i4")
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:, 1:].view(dtype).copy()


def read_texts(path: Path) -> list[str]:
    """The gloss column of a wordnet384 texts file (row order)."""
    return [line.rstrip("\n").split("\t", 2)[2] for line in path.open(encoding="utf-8")]


class LookupEmbeddings(Embeddings):
    """Embeddings that return each text's stored vector (texts are looked up, not embedded)."""

    def __init__(self, texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> None:
        self.table = {text: vectors[i] for i, text in enumerate(texts)}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.table[t].tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return list(self.table[text].tolist())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mnemo_binary() -> str:
    env = os.environ.get("MNEMO_BIN")
    if env:
        return env
    out = subprocess.run(["swift", "build", "--show-bin-path", "-Xcc", "-O2"], cwd=REPO,
                         capture_output=True, text=True, check=True)
    return str(Path(out.stdout.strip()) / "mnemo")


def start_server() -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = subprocess.Popen([mnemo_binary(), "serve", "--dev", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return url, process
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit("mnemo serve did not become ready")


def recall(found: list[list[str]], truth: npt.NDArray[Any], k: int) -> float:
    hits = sum(len(set(ids) & {str(j) for j in truth[i, :k]}) for i, ids in enumerate(found))
    return hits / (len(found) * k)


def row(path: str, ingest: float, times: list[float], found: list[list[str]], truth: npt.NDArray[Any],
        k: int, load: tuple[float, float]) -> dict[str, Any]:
    ms = np.asarray(times) * 1000
    return {
        "path": path, "ingest_per_second": round(ingest, 1), "qps": round(len(times) / sum(times), 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "recall": round(recall(found, truth, k), 4), "load_before": load[0], "load_after": load[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--url", default=None, help="an existing server (default: start one)")
    parser.add_argument("--limit", type=int, default=30000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    data = Path(args.data)
    base = read_vectors(data / "wordnet384_base.fvecs", "<f4")[: args.limit]
    texts = read_texts(data / "wordnet384_base_texts.tsv")[: args.limit]
    queries = read_vectors(data / "wordnet384_query.fvecs", "<f4")[: args.queries]
    query_texts = read_texts(data / "wordnet384_query_texts.tsv")[: args.queries]
    truth = read_vectors(data / "wordnet384_groundtruth.ivecs", "<i4")[: args.queries]
    if args.limit < len(read_vectors(data / "wordnet384_base.fvecs", "<f4")):
        print("note: --limit below the full set, recall is against the full set's ground truth")
    embeddings = LookupEmbeddings(texts + query_texts, np.concatenate([base, queries]))
    ids = [str(i) for i in range(len(texts))]

    process = None
    url = args.url
    if url is None:
        url, process = start_server()
    client = Mnemo(url)
    try:
        for path in ("langchain", "client"):
            name = f"bench-lc/{uuid.uuid4().hex[:8]}"
            load_before = os.getloadavg()[0]
            store = MnemoVectorStore(embeddings, space=name, client=client, batch_size=args.batch)
            start = time.perf_counter()
            if path == "langchain":
                store.add_texts(texts, ids=ids)
            else:
                space = client.create_space(name, base.shape[1], metric="cosine")
                for at in range(0, len(texts), args.batch):
                    space.add([{"id": ids[i], "vector": base[i], "text": texts[i]}
                               for i in range(at, min(at + args.batch, len(texts)))], upsert=True)
            ingest = len(texts) / (time.perf_counter() - start)
            times: list[float] = []
            found: list[list[str]] = []
            space = client.space(name)
            for q, query_text in enumerate(query_texts):
                t0 = time.perf_counter()
                if path == "langchain":
                    got = [str(d.id) for d in store.similarity_search(query_text, k=args.k)]
                else:
                    got = [h.id for h in space.search(queries[q], k=args.k)]
                times.append(time.perf_counter() - t0)
                found.append(got)
            print(json.dumps(row(path, ingest, times, found, truth, args.k, (load_before, os.getloadavg()[0]))))
            client.delete_space(name)
    finally:
        client.close()
        if process is not None:
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
