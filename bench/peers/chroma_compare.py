#!/usr/bin/env python3
"""Mnemo and Chroma side by side, each as a server on loopback reached by its own Python client.

Mnemo: `mnemo serve --dev --data DIR` through `mnemo_client` (clients/python). Chroma: `chroma run
--path DIR` (PyPI chromadb 1.5.9) through `chromadb.HttpClient`. Both start here from empty data
directories in one temporary directory, get the same wordnet384 memories (cosine, 384-d), the same
HNSW parameters (M, construction ef, search ef) and the same queries, and are killed at the end.

For every engine x spaces (1 or --spaces-many collections holding the same memories) x clients
(1 or --clients-many concurrent client processes, each with its own HTTP client) it starts a fresh
server and measures:

- ingest: memories per second, the clients inserting in batches of --batch (a batch never spans two
  spaces, so with 1,000 spaces of 30 memories a batch holds a space's 30); creating the spaces and
  collections is timed apart (`create_seconds`) and not counted in ingest;
- then, once without and once with a metadata filter of selectivity 0.1 (`{"bucket": 0}`):
  searches per second for --duration seconds, p50 and p99 latency in ms, and recall@k against exact
  ground truth computed here with numpy (float64, ties to the smaller id) for the very space and
  filter each query is asked with.

Which space a query goes to: memories are dealt to spaces by a seeded permutation, and each query is
asked of the space that holds its exact nearest neighbour in the whole set (with many spaces that
is one user's memory; with one space, the only one). The filter field is dealt by the same
permutation so every space holds exactly 10% `bucket == 0` memories.

One JSON line per measured row with --json (the fields the issue names first, then context);
otherwise a table. Figures only: the script never fails on speed. Progress goes to stderr.

    python3 bench/peers/chroma_compare.py --json --mnemo .build/release/mnemo --data ../shared/data
    python3 bench/peers/chroma_compare.py --quick          # a ~1 minute smoke run
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import pstats
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[2]
DATASET = "wordnet384"
DIMENSION = 384
FILTER: dict[str, Any] = {"bucket": 0}
BUCKETS = 10  # selectivity 1 / BUCKETS

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


def log(message: str) -> None:
    """Progress on stderr, so stdout keeps only the JSON lines or the table."""
    print(f"[chroma_compare {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Data


def read_vecs(path: Path, rows: int | None = None) -> npt.NDArray[Any]:
    """Reads a texmex .fvecs/.ivecs file as a memory map of its rows (without the width column)."""
    raw = np.memmap(path, dtype="<i4", mode="r")
    dim = int(raw[0])
    table = raw.reshape(-1, dim + 1)
    if rows is not None:
        table = table[:rows]
    return table[:, 1:]


def load_base(data: Path, rows: int) -> F32:
    """The first `rows` base vectors as float32 (a view of the memory map)."""
    return read_vecs(data / f"{DATASET}_base.fvecs", rows).view("<f4")


def load_queries(data: Path, rows: int) -> F32:
    """The first `rows` query vectors as a float32 array."""
    return np.ascontiguousarray(read_vecs(data / f"{DATASET}_query.fvecs", rows).view("<f4"))


@dataclass
class Layout:
    """Where each memory lives (space index), its filter bucket, and each query's space and truth."""

    spaces: int
    space_of: I64            # memory row -> space index
    bucket: I64              # memory row -> 0 .. BUCKETS-1
    query_space: I64         # query row -> space index it is asked of
    truth: dict[bool, list[I64]] = field(default_factory=dict)  # filter -> per query exact top ids


def similarities(base: F32, queries: F32) -> npt.NDArray[np.float64]:
    """Every query's cosine similarity to every memory, in float64 (queries x memories). The vectors
    are unit length, so the cosine is the inner product."""
    return np.asarray(queries, dtype=np.float64) @ np.asarray(base, dtype=np.float64).T


def exact_top(scores: npt.NDArray[np.float64], rows: I64, k: int) -> I64:
    """The ids among `rows` with the k highest `scores` (indexed by id), best first, ties to the
    smaller id."""
    if len(rows) == 0:
        return np.empty(0, dtype=np.int64)
    values = scores[rows]
    if len(rows) > k:
        # Keep everything at least as close as the k-th best (ties included), then sort those.
        kth = np.partition(values, len(values) - k)[len(values) - k]
        keep = values >= kth
        rows, values = rows[keep], values[keep]
    order = np.lexsort((rows, -values))[:k]
    return rows[order].astype(np.int64)


def make_layout(scores: npt.NDArray[np.float64], spaces: int, k: int, seed: int) -> Layout:
    """Deals memories to spaces and buckets with one seeded permutation, then computes every
    query's target space and its exact top-k with and without the filter."""
    query_count, n = scores.shape
    perm = np.random.default_rng(seed).permutation(n)
    position = np.empty(n, dtype=np.int64)
    position[perm] = np.arange(n)
    # Blocks of BUCKETS consecutive positions hold one memory of each bucket; blocks go round-robin
    # to the spaces, so every space holds the same share of bucket 0 (when sizes divide evenly).
    bucket = (position % BUCKETS).astype(np.int64)
    space_of = ((position // BUCKETS) % spaces).astype(np.int64)
    nearest = np.argmax(scores, axis=1).astype(np.int64)   # the first of equal maxima: the smaller id
    query_space = space_of[nearest]
    members = {s: np.flatnonzero(space_of == s).astype(np.int64) for s in np.unique(query_space)}
    layout = Layout(spaces, space_of, bucket, query_space)
    for filtered in (False, True):
        truth: list[I64] = []
        for qi in range(query_count):
            rows = members[int(query_space[qi])]
            if filtered:
                rows = rows[bucket[rows] == 0]
            truth.append(exact_top(scores[qi], rows, k))
        layout.truth[filtered] = truth
    return layout


def check_truth(data: Path, layout: Layout, memories: int, k: int) -> None:
    """With the whole set in one space, our exact top-k must match the dataset's ground truth."""
    if layout.spaces != 1 or memories != 30_000:
        return
    given = read_vecs(data / f"{DATASET}_groundtruth.ivecs")[: len(layout.truth[False]), :k]
    same = sum(len(np.intersect1d(t, g)) for t, g in zip(layout.truth[False], given))
    expected = given.shape[0] * k
    if same != expected:
        log(f"WARNING: computed ground truth differs from the dataset's: {same}/{expected} ids agree")


def space_name(index: int) -> str:
    """Space / collection name (Chroma wants 3 to 512 characters of [a-zA-Z0-9._-])."""
    return f"space-{index:04d}"


# ---------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    """A free TCP port on loopback (bound and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process started in its own process group, waited for over HTTP, killed at stop."""

    def __init__(self, engine: str, command: list[str], port: int, ready_path: str, log_path: Path) -> None:
        self.engine = engine
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=self._log, start_new_session=True)
        self._wait(ready_path, timeout=120.0)

    def _wait(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.close()
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.engine} server exited with {self.process.returncode}; its log ends:\n{tail}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.engine} server not ready after {timeout} s; its log ends:\n{tail}")

    def cpu_seconds(self) -> float:
        """User + system CPU the server process (all its threads) has used so far."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def settle(self, quiet_share: float = 0.05, window: float = 0.5, limit: float = 120.0) -> float:
        """Waits until the server is idle after ingest (under `quiet_share` of a core over `window`
        seconds, at most `limit` seconds): background work an ingest leaves behind (Mnemo's
        checkpoints, Chroma's compaction) finishes before searches are timed. Returns the wait."""
        start = time.perf_counter()
        while time.perf_counter() - start < limit:
            before = self.cpu_seconds()
            time.sleep(window)
            if (self.cpu_seconds() - before) / window < quiet_share:
                break
        return time.perf_counter() - start

    def rss_mb(self) -> float | None:
        """Resident memory of the server process (and its children) in MiB, from /proc."""
        total = 0
        pids = [self.process.pid]
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            pids += [int(c) for c in children]
            for pid in pids:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            return None
        return round(total / 1024, 1)

    def stop(self) -> None:
        """Kills the server's process group (SIGKILL: its data is thrown away anyway)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=30)
        self._log.close()


def start_mnemo(binary: str, directory: Path) -> Server:
    """`mnemo serve --dev` on a free loopback port with an empty data directory."""
    port = free_port()
    command = [binary, "serve", "--dev", "--host", "127.0.0.1", "--port", str(port),
               "--data", str(directory / "data"), "--log-level", "warning"]
    return Server("mnemo", command, port, "/readyz", directory / "server.log")


def start_chroma(chroma: str, directory: Path) -> Server:
    """`chroma run --path DIR` on a free loopback port with an empty persistence directory."""
    port = free_port()
    command = shlex.split(chroma) + ["run", "--path", str(directory / "data"), "--host", "127.0.0.1",
                                     "--port", str(port)]
    return Server("chroma", command, port, "/api/v2/heartbeat", directory / "server.log")


# ---------------------------------------------------------------------------------------------
# Engines: the few calls the benchmark makes, over each engine's own Python client


class Engine(Protocol):
    """One engine's client, as a benchmark worker uses it."""

    def create(self, name: str, m: int, ef_construction: int, ef: int) -> None:
        """Creates an empty cosine space / collection."""

    def add(self, name: str, ids: list[str], vectors: F32, metadatas: list[dict[str, Any]]) -> None:
        """Inserts one batch into a space."""

    def search(self, name: str, vector: F32, k: int, ef: int, where: dict[str, Any] | None) -> list[str]:
        """The ids of the k nearest memories, nearest first."""

    def describe(self, name: str) -> dict[str, Any]:
        """The engine's own view of a space's settings and count, for the record."""

    def close(self) -> None:
        """Closes the client's connections."""


class MnemoEngine:
    """Mnemo through `mnemo_client.Mnemo` (vectors sent as vectorBase64 by the client)."""

    def __init__(self, url: str) -> None:
        from mnemo_client import Mnemo

        self.client = Mnemo(url, timeout=120.0)
        self.spaces: dict[str, Any] = {}

    def _space(self, name: str) -> Any:
        space = self.spaces.get(name)
        if space is None:
            space = self.spaces[name] = self.client.space(name)
        return space

    def create(self, name: str, m: int, ef_construction: int, ef: int) -> None:
        """Creates the space with m and efConstruction; ef is given per search."""
        self.spaces[name] = self.client.create_space(name, DIMENSION, metric="cosine", m=m,
                                                     ef_construction=ef_construction)

    def add(self, name: str, ids: list[str], vectors: F32, metadatas: list[dict[str, Any]]) -> None:
        """One all-or-nothing batch insert."""
        self._space(name).add([{"id": i, "vector": v, "metadata": md} for i, v, md in zip(ids, vectors, metadatas)])

    def search(self, name: str, vector: F32, k: int, ef: int, where: dict[str, Any] | None) -> list[str]:
        """A k-NN search with ef, asking for ids and distances only."""
        hits = self._space(name).search(vector, k=k, ef=ef, filter=where, include=())
        return [hit.id for hit in hits]

    def describe(self, name: str) -> dict[str, Any]:
        """The server's space info (raw JSON)."""
        return dict(self._space(name).info().raw)

    def close(self) -> None:
        """Closes the HTTP client."""
        self.client.close()


class ChromaEngine:
    """Chroma through `chromadb.HttpClient`, embeddings given (no embedding function)."""

    def __init__(self, url: str) -> None:
        import chromadb
        from chromadb.config import Settings

        host, port = url.removeprefix("http://").split(":")
        self.client = chromadb.HttpClient(host=host, port=int(port),
                                          settings=Settings(anonymized_telemetry=False))
        self.collections: dict[str, Any] = {}

    def _collection(self, name: str) -> Any:
        collection = self.collections.get(name)
        if collection is None:
            collection = self.collections[name] = self.client.get_collection(name, embedding_function=None)
        return collection

    def create(self, name: str, m: int, ef_construction: int, ef: int) -> None:
        """Creates the collection with hnsw:M, hnsw:construction_ef and hnsw:search_ef."""
        metadata = {"hnsw:space": "cosine", "hnsw:M": m, "hnsw:construction_ef": ef_construction,
                    "hnsw:search_ef": ef}
        self.collections[name] = self.client.create_collection(name, metadata=metadata, embedding_function=None)

    def add(self, name: str, ids: list[str], vectors: F32, metadatas: list[dict[str, Any]]) -> None:
        """One `collection.add` of the batch."""
        self._collection(name).add(ids=ids, embeddings=vectors, metadatas=metadatas)

    def search(self, name: str, vector: F32, k: int, ef: int, where: dict[str, Any] | None) -> list[str]:
        """One `collection.query` for one vector, ids only (ef is the collection's search_ef)."""
        result = self._collection(name).query(query_embeddings=vector[None, :], n_results=k, where=where,
                                              include=[])
        return list(result["ids"][0])

    def describe(self, name: str) -> dict[str, Any]:
        """The collection's configuration (hnsw section) and count."""
        collection = self._collection(name)
        hnsw = collection.configuration.get("hnsw") or {}
        return {"hnsw": dict(hnsw), "count": collection.count()}

    def close(self) -> None:
        """Nothing to close explicitly in chromadb's HttpClient."""


def connect(engine: str, url: str) -> Engine:
    """The engine's client for a server URL."""
    return MnemoEngine(url) if engine == "mnemo" else ChromaEngine(url)


# ---------------------------------------------------------------------------------------------
# Client processes: each holds one HTTP client and runs the parent's commands


@dataclass
class Job:
    """What one worker is asked to do: ingest batches, or search its queries for a while."""

    kind: str                                   # "ingest" | "warmup" | "search"
    batches: list[tuple[int, I64]] = field(default_factory=list)   # (space index, memory rows)
    queries: I64 = field(default_factory=lambda: np.empty(0, dtype=np.int64))    # query rows
    spaces: I64 = field(default_factory=lambda: np.empty(0, dtype=np.int64))     # space of each query
    filtered: bool = False
    duration: float = 0.0
    k: int = 10
    ef: int = 64
    profile: bool = False


@dataclass
class Outcome:
    """A worker's answer: its timed window, latencies in ms and, for searches, the first pass's ids."""

    start: float
    end: float
    count: int
    latencies_ms: list[float]
    first_pass: dict[int, list[str]]
    cpu_seconds: float = 0.0  # this client process's user + system CPU over the window
    warmup_seconds: float = 0.0  # the untimed pass before a search window
    profile: str = ""


def worker_main(engine: str, url: str, data: str, memories: int, query_rows: int, seed: int,
                barrier: Any, conn: mpc.Connection) -> None:
    """A client process: loads the vectors (memory-mapped), opens its client, answers jobs."""
    base = load_base(Path(data), memories)
    queries = load_queries(Path(data), query_rows)
    bucket = make_buckets(memories, seed)
    client = connect(engine, url)
    try:
        while True:
            job: Job | None = conn.recv()
            if job is None:
                break
            conn.send(run_job(client, job, base, queries, bucket, barrier))
    finally:
        client.close()


def make_buckets(memories: int, seed: int) -> I64:
    """The filter field of each memory, dealt exactly as `make_layout` does."""
    perm = np.random.default_rng(seed).permutation(memories)
    position = np.empty(memories, dtype=np.int64)
    position[perm] = np.arange(memories)
    return (position % BUCKETS).astype(np.int64)


def run_job(client: Engine, job: Job, base: F32, queries: F32, bucket: I64, barrier: Any) -> Outcome:
    """Runs one job after every worker reached the barrier (warm-up done), timing each request."""
    latencies: list[float] = []
    first: dict[int, list[str]] = {}
    where = FILTER if job.filtered else None
    if job.kind == "warmup":
        # One untimed pass over this client's queries: connections open, every space it will ask
        # loaded (Chroma loads a collection's index on its first query), caches warm.
        barrier.wait()
        t = time.perf_counter()
        for qi, space in zip(job.queries, job.spaces):
            client.search(space_name(int(space)), queries[qi], job.k, job.ef, where)
        end = time.perf_counter()
        return Outcome(t, end, len(job.queries), [], {}, 0.0, end - t)
    profiler = cProfile.Profile() if job.profile else None
    barrier.wait()
    if profiler is not None:
        profiler.enable()
    start = time.perf_counter()
    cpu_start = time.process_time()
    count = 0
    if job.kind == "ingest":
        for space, rows in job.batches:
            ids = [f"m{r}" for r in rows]
            metadatas = [{"bucket": int(bucket[r])} for r in rows]
            vectors = np.ascontiguousarray(base[rows])
            t = time.perf_counter()
            client.add(space_name(space), ids, vectors, metadatas)
            latencies.append((time.perf_counter() - t) * 1000.0)
            count += len(rows)
    else:
        deadline = start + job.duration
        passes = 0
        while passes == 0 or time.perf_counter() < deadline:
            for qi, space in zip(job.queries, job.spaces):
                t = time.perf_counter()
                ids = client.search(space_name(int(space)), queries[qi], job.k, job.ef, where)
                latencies.append((time.perf_counter() - t) * 1000.0)
                count += 1
                if passes == 0:
                    first[int(qi)] = ids
                elif time.perf_counter() >= deadline:
                    break
            passes += 1
    end = time.perf_counter()
    cpu = time.process_time() - cpu_start
    text = ""
    if profiler is not None:
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        out.write(profile_by_package(stats, count))
        stats.sort_stats("tottime").print_stats(25)
        text = out.getvalue()
    return Outcome(start, end, count, latencies, first, cpu, 0.0, text)


def client_context() -> Any:
    """Client processes fork from a forkserver that has already imported numpy, both clients and this
    script: each starts in milliseconds, yet shares no client, socket or thread with the parent."""
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "numpy", "chromadb", "mnemo_client"])
    return context


PACKAGES = ("mnemo_client", "chromadb", "httpx", "httpcore", "h11", "pydantic", "numpy", "json", "urllib3",
            "requests", "opentelemetry")


def profile_by_package(stats: pstats.Stats, operations: int) -> str:
    """Own (tottime) seconds of a profile summed per package, per operation: where a client's time
    goes. Socket calls are counted apart ("socket send/recv": mostly waiting for the server)."""
    totals: dict[str, float] = {}
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), entry in table.items():
        own = float(entry[2])
        if filename == "~" and ("socket" in function or "recv" in function or "send" in function):
            key = "socket send/recv"
        elif filename == "~":
            key = "builtins"
        else:
            parts = Path(filename).parts
            key = next((pkg for pkg in PACKAGES if pkg in parts or f"{pkg}.py" in parts), "other Python")
        totals[key] = totals.get(key, 0.0) + own
    whole = sum(totals.values()) or 1.0
    lines = [f"own time per operation by package ({operations} operations, profiled):"]
    for key, value in sorted(totals.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {key:18} {value / max(1, operations) * 1e6:9.1f} us  {100 * value / whole:5.1f}%")
    return "\n".join(lines) + "\n"


class Clients:
    """`count` client processes, each with its own HTTP client, driven over pipes."""

    def __init__(self, engine: str, url: str, count: int, args: argparse.Namespace) -> None:
        context = client_context()
        self.barrier = context.Barrier(count)
        self.pipes: list[mpc.Connection] = []
        self.processes: list[Any] = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=worker_main, daemon=True,
                                      args=(engine, url, str(args.data), args.memories, args.queries, args.seed,
                                            self.barrier, theirs))
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    def run(self, jobs: list[Job]) -> list[Outcome]:
        """Sends one job to each worker and collects every outcome."""
        for pipe, job in zip(self.pipes, jobs):
            pipe.send(job)
        return [pipe.recv() for pipe in self.pipes]

    def close(self) -> None:
        """Asks each worker to exit, then waits for them (terminating stragglers)."""
        for pipe in self.pipes:
            try:
                pipe.send(None)
            except OSError:
                pass
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
                process.join()


# ---------------------------------------------------------------------------------------------
# One server lifetime: create, ingest, search without and with the filter


def ingest_batches(layout: Layout, batch: int) -> list[tuple[int, I64]]:
    """Batches of at most `batch` memories, each inside one space, in memory order."""
    batches: list[tuple[int, I64]] = []
    for space in range(layout.spaces):
        rows = np.flatnonzero(layout.space_of == space).astype(np.int64)
        for i in range(0, len(rows), batch):
            batches.append((space, rows[i: i + batch]))
    # Interleave the spaces' batches so concurrent clients do not all start on one space.
    return sorted(batches, key=lambda b: int(b[1][0]))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (linear interpolation), rounded to 0.001 ms."""
    return round(float(np.percentile(np.asarray(values), q)), 3)


def measure(engine: str, spaces: int, clients: int, layout: Layout, args: argparse.Namespace,
            workdir: Path) -> list[dict[str, Any]]:
    """Starts a fresh server, ingests with `clients` clients, searches unfiltered then filtered."""
    directory = Path(tempfile.mkdtemp(prefix=f"{engine}-{spaces}-{clients}-", dir=workdir))
    server = start_mnemo(args.mnemo, directory) if engine == "mnemo" else start_chroma(args.chroma, directory)
    pool: Clients | None = None
    rows: list[dict[str, Any]] = []
    try:
        admin = connect(engine, server.url)
        load_start = os.getloadavg()[0]
        start = time.perf_counter()
        field_index: bool | None = None
        for s in range(spaces):
            admin.create(space_name(s), args.m, args.ef_construction, args.ef)
            if engine == "mnemo" and args.field_index and field_index is not False:
                field_index = create_field_index(server.url, space_name(s), "bucket")
        create_seconds = time.perf_counter() - start
        pool = Clients(engine, server.url, clients, args)
        batches = ingest_batches(layout, args.batch)
        jobs = [Job("ingest", batches=batches[c::clients]) for c in range(clients)]
        server_cpu = server.cpu_seconds()
        outcomes = pool.run(jobs)
        ingest_server_cpu = server.cpu_seconds() - server_cpu
        ingest_client_cpu = sum(o.cpu_seconds for o in outcomes)
        ingest_seconds = max(o.end for o in outcomes) - min(o.start for o in outcomes)
        ingested = sum(o.count for o in outcomes)
        ingest_rate = ingested / ingest_seconds
        ingest_latencies = [x for o in outcomes for x in o.latencies_ms]
        settle_seconds = server.settle()
        described = admin.describe(space_name(0))
        rss = server.rss_mb()
        log(f"{engine} spaces={spaces} clients={clients}: created in {create_seconds:.1f} s, "
            f"ingested {ingested} in {ingest_seconds:.1f} s ({ingest_rate:,.0f}/s), idle after {settle_seconds:.1f} s")
        for filtered in (False, True):
            order = np.arange(len(layout.query_space), dtype=np.int64)
            search_jobs = []
            for c in range(clients):
                mine = order[c::clients]
                search_jobs.append(Job("search", queries=mine, spaces=layout.query_space[mine], filtered=filtered,
                                       duration=args.duration, k=args.k, ef=args.ef,
                                       profile=args.profile and c == 0 and engine in args.profile_engines))
            warmups = pool.run([replace(job, kind="warmup") for job in search_jobs])
            warmup_qps = len(layout.query_space) / max(o.warmup_seconds for o in warmups)
            server_cpu = server.cpu_seconds()
            outcomes = pool.run(search_jobs)
            search_server_cpu = server.cpu_seconds() - server_cpu
            search_client_cpu = sum(o.cpu_seconds for o in outcomes)
            wall = max(o.end for o in outcomes) - min(o.start for o in outcomes)
            searches = sum(o.count for o in outcomes)
            latencies = [x for o in outcomes for x in o.latencies_ms]
            found: dict[int, list[str]] = {}
            for o in outcomes:
                found.update(o.first_pass)
            recall = recall_at_k(found, layout.truth[filtered], args.k)
            for o in outcomes:
                if o.profile:
                    log(f"cProfile of client 0, {engine} spaces={spaces} clients={clients} filter={filtered}:\n"
                        + o.profile)
            row: dict[str, Any] = {
                "engine": engine, "spaces": spaces, "clients": clients, "filter": filtered,
                "ingest_per_second": round(ingest_rate, 1), "qps": round(searches / wall, 1),
                "warmup_qps": round(warmup_qps, 1),
                "recall": round(recall, 4), "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
                "memories": ingested, "queries": len(found), "searches": searches,
                "search_seconds": round(wall, 2), "ingest_seconds": round(ingest_seconds, 2),
                "create_seconds": round(create_seconds, 2),
                "settle_seconds": round(settle_seconds, 2), "batch": args.batch,
                "ingest_batch_p50_ms": percentile(ingest_latencies, 50),
                "ingest_server_cpu_us_per_memory": round(ingest_server_cpu / ingested * 1e6, 1),
                "ingest_client_cpu_us_per_memory": round(ingest_client_cpu / ingested * 1e6, 1),
                "search_server_cpu_us": round(search_server_cpu / searches * 1e6, 1),
                "search_client_cpu_us": round(search_client_cpu / searches * 1e6, 1),
                "k": args.k, "m": args.m, "ef_construction": args.ef_construction, "ef": args.ef,
                "selectivity": 1.0 / BUCKETS if filtered else 1.0,
                "client_processes": clients, "cpus": os.cpu_count(),
                "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)],
                "server_rss_mb_after_ingest": rss, "space0": described, "quick": args.quick,
                "field_index": field_index,
            }
            rows.append(row)
            log(f"  filter={filtered}: {row['qps']:,.0f} searches/s, p50 {row['p50_ms']} ms, "
                f"p99 {row['p99_ms']} ms, recall@{args.k} {row['recall']}")
        admin.close()
    finally:
        if pool is not None:
            pool.close()
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
    return rows


def create_field_index(url: str, space: str, field_name: str) -> bool:
    """Mnemo: a numeric field index on the filtered field, before any memory is written (Chroma
    indexes every metadata key as it is written, so both engines maintain an index on ingest).
    False when the server has no index routes (a build before them)."""
    request = urllib.request.Request(f"{url}/v1/spaces/{space}/indexes/{field_name}", method="PUT",
                                     data=json.dumps({"kind": "numeric"}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return bool(response.status == 201)
    except urllib.error.HTTPError as error:
        if error.code in (404, 405):
            log(f"mnemo has no field index routes ({error.code}): filtered searches run without one")
            return False
        raise


def recall_at_k(found: dict[int, list[str]], truth: list[I64], k: int) -> float:
    """Mean over queries of |returned top-k ∩ exact top-k| / |exact top-k| (a space or filter may
    hold fewer than k eligible memories; a query with none eligible counts 1 if nothing came back)."""
    total = 0.0
    for qi, ids in found.items():
        exact = {f"m{r}" for r in truth[qi]}
        if not exact:
            total += 1.0 if not ids else 0.0
            continue
        total += len(exact.intersection(ids[:k])) / len(exact)
    return total / max(1, len(found))


# ---------------------------------------------------------------------------------------------


def default_mnemo() -> str:
    """MNEMO_BIN, else the release build's binary in this checkout."""
    return os.environ.get("MNEMO_BIN") or str(REPO / ".build" / "release" / "mnemo")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; --quick shrinks the run to a smoke test of about a minute."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--json", action="store_true", help="print one JSON line per row (else a table)")
    p.add_argument("--mnemo", default=default_mnemo(), help="the mnemo binary (env MNEMO_BIN)")
    p.add_argument("--chroma", default="chroma", help="the command that runs Chroma's CLI ('chroma')")
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="dataset directory")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 3,000 memories, 100 spaces of 30, 200 queries, 1 s per search row")
    p.add_argument("--engines", default="mnemo,chroma", help="comma-separated: mnemo, chroma")
    p.add_argument("--spaces", default=None, help="comma-separated space counts (default 1,1000)")
    p.add_argument("--clients", default="1,16", help="comma-separated concurrent client counts")
    p.add_argument("--memories", type=int, default=None, help="base vectors used (default all 30,000)")
    p.add_argument("--queries", type=int, default=None, help="queries used (default all 1,000)")
    p.add_argument("--duration", type=float, default=None, help="seconds per search row (default 5)")
    p.add_argument("--batch", type=int, default=100, help="memories per insert request")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--m", type=int, default=16, help="HNSW M (Chroma hnsw:M)")
    p.add_argument("--ef-construction", type=int, default=200, help="(Chroma hnsw:construction_ef)")
    p.add_argument("--ef", type=int, default=64, help="search ef (Chroma hnsw:search_ef)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--no-field-index", dest="field_index", action="store_false",
                   help="Mnemo: no numeric field index on the filtered field (default: one per space)")
    p.add_argument("--profile", action="store_true", help="cProfile client 0 of each search row, to stderr")
    p.add_argument("--profile-engines", default="mnemo,chroma", help="engines --profile applies to")
    args = p.parse_args(argv)
    args.memories = args.memories or (3_000 if args.quick else 30_000)
    args.queries = args.queries or (200 if args.quick else 1_000)
    args.duration = args.duration or (1.0 if args.quick else 5.0)
    args.spaces = args.spaces or ("1,100" if args.quick else "1,1000")
    args.engines = [e for e in args.engines.split(",") if e]
    args.profile_engines = [e for e in args.profile_engines.split(",") if e]
    args.space_counts = [int(s) for s in args.spaces.split(",")]
    args.client_counts = [int(c) for c in args.clients.split(",")]
    for e in args.engines:
        if e not in ("mnemo", "chroma"):
            p.error(f"unknown engine {e}")
    return args


def print_table(rows: list[dict[str, Any]]) -> None:
    """A plain table of the rows with the mnemo/chroma ratios where both engines ran."""
    print(f"{'engine':7} {'spaces':>6} {'clients':>7} {'filter':>6} {'ingest/s':>10} {'qps':>9} "
          f"{'recall':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for r in rows:
        print(f"{r['engine']:7} {r['spaces']:>6} {r['clients']:>7} {str(r['filter']):>6} "
              f"{r['ingest_per_second']:>10,.0f} {r['qps']:>9,.1f} {r['recall']:>7.4f} "
              f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")
    keyed = {(r["engine"], r["spaces"], r["clients"], r["filter"]): r for r in rows}
    print("\nmnemo/chroma: ingest x, qps x, recall mnemo - chroma")
    for (engine, spaces, clients, filtered), m in keyed.items():
        c = keyed.get(("chroma", spaces, clients, filtered))
        if engine != "mnemo" or c is None:
            continue
        print(f"  spaces={spaces} clients={clients} filter={filtered}: "
              f"{m['ingest_per_second'] / c['ingest_per_second']:.1f}x, {m['qps'] / c['qps']:.1f}x, "
              f"{m['recall'] - c['recall']:+.4f}")


def main(argv: list[str] | None = None) -> int:
    """Runs every engine x spaces x clients lifetime and prints the rows."""
    args = parse_args(argv)
    if "mnemo" in args.engines and not os.access(args.mnemo, os.X_OK):
        print(f"mnemo binary not found: {args.mnemo} (--mnemo or MNEMO_BIN)", file=sys.stderr)
        return 2
    base = load_base(args.data, args.memories)
    queries = load_queries(args.data, args.queries)
    if len(base) < args.memories:
        log(f"{DATASET} holds only {len(base)} base vectors: using all of them")
        args.memories = len(base)
    scores = similarities(base, queries)
    rows: list[dict[str, Any]] = []
    workdir = Path(tempfile.mkdtemp(prefix="chroma_compare-"))
    try:
        for spaces in args.space_counts:
            start = time.perf_counter()
            layout = make_layout(scores, spaces, args.k, args.seed)
            check_truth(args.data, layout, args.memories, args.k)
            log(f"layout for {spaces} spaces ({args.memories} memories, {args.queries} queries): "
                f"{time.perf_counter() - start:.1f} s")
            for clients in args.client_counts:
                for engine in args.engines:
                    for row in measure(engine, spaces, clients, layout, args, workdir):
                        rows.append(row)
                        if args.json:
                            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not args.json:
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
