"""The asynchronous client: `AsyncMnemo` and `AsyncSpace`, the same API as `Mnemo` / `Space` with `async`.

One `httpx.AsyncClient` per `AsyncMnemo` holds a keep-alive connection pool; every method is one request
(`spaces()` and `AsyncSpace.iter()`, async iterators, one per page). Idempotent calls are retried on connection errors,
429 and 503 under the client's `RetryPolicy`; inserts (`add` without upsert), space creation,
delete-by-filter and token issue never are, except after a 503 `spaceFrozen` or `spaceMoved`
(a write to a space being moved between cluster nodes, refused before anything was applied).
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import os
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import httpx

from . import _core
from ._core import AsyncEmbedFunction, Call, EmbedFunction, RetryPolicy, VectorLike
from .errors import Conflict, MnemoConnectionError, NotFound, error_from_response
from .results import (
    BatchResult,
    ClusterStatus,
    DrainResult,
    FieldIndex,
    Hit,
    Memory,
    Page,
    SpaceInfo,
    parse_cluster_status,
    parse_drain_result,
    parse_field_index,
    parse_hit,
    parse_memory,
    parse_space_info,
)

_CHUNK_BYTES = 64 * 1024


class AsyncMnemo:
    """An asynchronous client of one `mnemo serve` (arguments as `Mnemo`).

    >>> async with AsyncMnemo("http://127.0.0.1:7600") as client:
    ...     notes = await client.create_space("notes", 384, exist_ok=True)
    ...     await notes.put("m1", [0.1] * 384, text="the user prefers tea")

    `token` is the admin key or a token (none against `--dev`); `timeout` is in seconds (or an
    `httpx.Timeout`); `embed` turns texts into vectors for memories and queries given as text;
    `retries` bounds retries of idempotent calls; `transport` replaces the network (tests).
    `embed` may also be a coroutine function.
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:7600",
        token: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        embed: EmbedFunction | AsyncEmbedFunction | None = None,
        *,
        retries: RetryPolicy | int = RetryPolicy(),
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: Any = True,
    ) -> None:
        headers = {"User-Agent": _core.user_agent()}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url.rstrip("/")
        self.embed = embed
        self.retry_policy = retries if isinstance(retries, RetryPolicy) else RetryPolicy(retries=retries)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=timeout, limits=limits, transport=transport, verify=verify
        )

    # -- plumbing ---------------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncMnemo:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (the same as `close`)."""
        await self._http.aclose()

    async def _send(self, call: Call) -> httpx.Response:
        """Send `call`, retrying it under the policy when idempotent; raise the mapped error on >= 400."""
        attempt = 0
        while True:
            try:
                response = await self._http.request(call.method, call.path, params=call.params, json=call.json)
            except _core.RETRYABLE_ERRORS as error:
                if call.idempotent and attempt < self.retry_policy.retries:
                    await asyncio.sleep(self.retry_policy.delay(attempt, None))
                    attempt += 1
                    continue
                raise MnemoConnectionError(0, "connection", str(error) or type(error).__name__) from error
            except httpx.TimeoutException as error:
                raise MnemoConnectionError(0, "timeout", str(error) or type(error).__name__) from error
            except httpx.TransportError as error:
                raise MnemoConnectionError(0, "connection", str(error) or type(error).__name__) from error
            if attempt < self.retry_policy.retries and _core.retryable(call, response):
                await asyncio.sleep(self.retry_policy.delay(attempt, response))
                attempt += 1
                continue
            if response.status_code >= 400:
                raise error_from_response(response)
            return response

    async def _json(self, call: Call) -> Any:
        return (await self._send(call)).json()

    async def _vector_for(self, vector: VectorLike | None, text: str | None) -> VectorLike:
        if vector is not None:
            return vector
        if text is None:
            raise ValueError("give a vector, or text and an `embed` function")
        return (await self._embed([text]))[0]

    async def _embed(self, texts: Sequence[str]) -> builtins.list[VectorLike]:
        if self.embed is None or not inspect.iscoroutinefunction(self.embed):
            return _core.embed_texts(cast("EmbedFunction | None", self.embed), texts)
        result = await self.embed(list(texts))
        return _core.embed_texts(lambda _: result, texts)

    # -- server -----------------------------------------------------------------------------------

    async def health(self) -> bool:
        """True when the server answers `/healthz` with 200 (it is up, maybe still recovering)."""
        try:
            return (await self._http.get("/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def ready(self) -> bool:
        """True when `/readyz` answers 200 (the database is open and serving)."""
        try:
            return (await self._http.get("/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def create_token(
        self,
        space: str | None = None,
        prefix: str | None = None,
        scopes: Iterable[str] = ("read",),
        expires_in: float = 3600.0,
        *,
        subject: str | None = None,
    ) -> str:
        """Issue a token for one space or a name prefix (ending with `/`) with the given scopes
        (`read`, `write`, `admin`), valid `expires_in` seconds (rounded up); returns the JWT."""
        body = _core.token_body(space, prefix, scopes, expires_in, subject)
        return str((await self._json(Call("POST", "/v1/tokens", json=body)))["token"])

    # -- cluster ----------------------------------------------------------------------------------

    async def search_spaces(
        self,
        spaces: Iterable[str],
        vector: VectorLike | None = None,
        *,
        text: str | None = None,
        k: int = 10,
        ef: int | None = None,
        filter: Mapping[str, Any] | None = None,
        include: Iterable[str] = _core.DEFAULT_INCLUDE,
    ) -> builtins.list[Hit]:
        """The `k` nearest memories to `vector` (or to `text`, embedded) over several spaces
        (1 to 64 names, read on each), merged nearest first (ties by space, then id); each `Hit`
        names its `space`. The spaces must share metric and dimension (else `BadRequest`); an
        unknown one is `NotFound`. In a cluster each space is searched on its owning node."""
        cue = await self._vector_for(vector, text)
        body = _core.cross_search_body(spaces, cue, k, ef, filter, include)
        result = await self._json(Call("POST", "/v1/search", json=body, idempotent=True))
        return [parse_hit(item) for item in result["hits"]]

    async def cluster_status(self) -> ClusterStatus:
        """The cluster as the node this client talks to sees it (`mode` `single` on a node
        started without `--etcd`, with itself as the only member)."""
        return parse_cluster_status(await self._json(Call("GET", "/v1/cluster", idempotent=True)))

    async def drain(self) -> DrainResult:
        """Mark the node this client talks to draining (admin): the controller moves its spaces
        away and it leaves the member list once it owns none. `Conflict` with code `notClustered`
        on a single node."""
        return parse_drain_result(await self._json(Call("POST", "/v1/cluster/drain", idempotent=True)))

    # -- spaces -----------------------------------------------------------------------------------

    def space(self, name: str) -> AsyncSpace:
        """A handle on the space `name` (no request is made)."""
        return AsyncSpace(self, name)

    async def create_space(
        self,
        name: str,
        dimension: int,
        metric: str = "cosine",
        m: int | None = None,
        ef_construction: int | None = None,
        exist_ok: bool = False,
    ) -> AsyncSpace:
        """Create a space (`metric`: cosine, l2 or ip; `m`, `ef_construction`: HNSW parameters).

        With `exist_ok`, an existing space of the same dimension and metric is returned instead
        of raising `Conflict` (one of another shape still raises it)."""
        body = _core.create_space_body(name, dimension, metric, m, ef_construction)
        try:
            await self._send(Call("POST", "/v1/spaces", json=body))
        except Conflict:
            if not exist_ok:
                raise
            info = await self.space(name).info()
            if info.dimension != dimension or info.metric != metric:
                raise Conflict(
                    409, "duplicateID",
                    f"space {name!r} exists with dimension {info.dimension} and metric {info.metric}", "name",
                ) from None
        return AsyncSpace(self, name)

    async def delete_space(self, name: str) -> None:
        """Delete a space and everything in it (`NotFound` if absent)."""
        await self._send(Call("DELETE", _core.space_path(name), idempotent=True))

    async def space_names(self, prefix: str | None = None, page_size: int = 1000) -> AsyncIterator[str]:
        """Every space name (starting with `prefix`), in byte order, following the server's cursors."""
        cursor: str | None = None
        while True:
            params = {"limit": str(page_size)}
            if prefix is not None:
                params["prefix"] = prefix
            if cursor is not None:
                params["cursor"] = cursor
            body = await self._json(Call("GET", "/v1/spaces", params=params, idempotent=True))
            for item in body["spaces"]:
                yield str(item["name"])
            cursor = body.get("nextCursor")
            if not cursor:
                return

    async def spaces(self, prefix: str | None = None, page_size: int = 1000) -> AsyncIterator[SpaceInfo]:
        """Every space's `SpaceInfo` (one request per page and one per space; a space dropped
        meanwhile is skipped). `space_names()` is the cheap listing."""
        async for name in self.space_names(prefix, page_size):
            try:
                yield await self.space(name).info()
            except NotFound:
                continue

    async def import_space(self, name: str, path: str | os.PathLike[str]) -> AsyncSpace:
        """Create the space `name` from an export file, streamed from disk (`Conflict` if it exists;
        `BadRequest` for a damaged file, which creates nothing)."""
        source = Path(path)
        size = source.stat().st_size

        async def chunks() -> AsyncIterator[bytes]:
            with source.open("rb") as handle:  # disk reads off the event loop
                while block := await asyncio.to_thread(handle.read, _CHUNK_BYTES):
                    yield block

        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        try:
            response = await self._http.request("PUT", _core.space_path(name, "import"), content=chunks(), headers=headers)
        except httpx.TransportError as error:
            code = "timeout" if isinstance(error, httpx.TimeoutException) else "connection"
            raise MnemoConnectionError(0, code, str(error) or type(error).__name__) from error
        if response.status_code >= 400:
            raise error_from_response(response)
        return AsyncSpace(self, name)

    async def _export(self, name: str, path: str | os.PathLike[str]) -> int:
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        attempt = 0
        while True:
            try:
                async with self._http.stream("GET", _core.space_path(name, "export")) as response:
                    if response.status_code in _core.RETRYABLE_STATUSES and attempt < self.retry_policy.retries:
                        await response.aread()
                        delay = self.retry_policy.delay(attempt, response)
                    elif response.status_code >= 400:
                        await response.aread()
                        raise error_from_response(response)
                    else:
                        written = 0
                        with partial.open("wb") as handle:
                            async for block in response.aiter_bytes(_CHUNK_BYTES):
                                await asyncio.to_thread(handle.write, block)
                                written += len(block)
                        os.replace(partial, target)
                        return written
            except _core.RETRYABLE_ERRORS as error:
                partial.unlink(missing_ok=True)
                if attempt >= self.retry_policy.retries:
                    raise MnemoConnectionError(0, "connection", str(error) or type(error).__name__) from error
                delay = self.retry_policy.delay(attempt, None)
            except httpx.TransportError as error:
                partial.unlink(missing_ok=True)
                code = "timeout" if isinstance(error, httpx.TimeoutException) else "connection"
                raise MnemoConnectionError(0, code, str(error) or type(error).__name__) from error
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            await asyncio.sleep(delay)
            attempt += 1


class AsyncSpace:
    """A handle on one space of an `AsyncMnemo` server; every method is one request (or one per page)."""

    def __init__(self, client: AsyncMnemo, name: str) -> None:
        self.client = client
        self.name = name

    def __repr__(self) -> str:
        return f"AsyncSpace({self.name!r})"

    def _path(self, *rest: str) -> str:
        return _core.space_path(self.name, *rest)

    async def info(self) -> SpaceInfo:
        """The space's dimension, metric, count and the server's other figures (`NotFound` if absent)."""
        return parse_space_info(await self.client._json(Call("GET", self._path(), idempotent=True)))

    async def drop(self) -> None:
        """Delete this space and everything in it."""
        await self.client.delete_space(self.name)

    async def put(
        self,
        id: str,
        vector: VectorLike | None = None,
        *,
        text: str | None = None,
        content: bytes | None = None,
        metadata: Mapping[str, Any] | None = None,
        created_at: datetime | str | None = None,
    ) -> bool:
        """Insert or replace the memory `id` (the whole memory, metadata included); True when it
        replaced one. Without a vector, `text` is embedded with the client's `embed`."""
        body = _core.memory_body(await self.client._vector_for(vector, text), text, content, metadata, created_at)
        result = await self.client._json(Call("PUT", self._path("memories", _core.segment(id)), json=body, idempotent=True))
        return bool(result["replaced"])

    async def add(self, memories: Iterable[Mapping[str, Any]], *, upsert: bool = False) -> BatchResult:
        """Write a batch, all or nothing: dicts with `id`, `vector` (or `text` to embed), and
        optionally `text` / `content` (bytes), `metadata`, `created_at`. Without `upsert`, an id
        already present (or repeated) is `Conflict` naming `memories[i]`, and nothing is written.
        Never retried (an insert batch is not idempotent)."""
        items = list(memories)
        need = _core.texts_to_embed(items)
        vectors: dict[int, VectorLike] = {}
        if need:
            embedded = await self.client._embed([str(items[i]["text"]) for i in need])
            vectors = dict(zip(need, embedded))
        body = _core.batch_body(items, vectors, upsert)
        result = await self.client._json(Call("POST", self._path("memories"), json=body, idempotent=upsert))
        return BatchResult(inserted=int(result["inserted"]), replaced=int(result["replaced"]))

    async def get(self, id: str, include: Iterable[str] = _core.ALL_INCLUDE) -> Memory:
        """The memory `id` with the parts in `include` (`content`, `metadata`, `vector`); `NotFound` if absent."""
        call = Call("GET", self._path("memories", _core.segment(id)), params=_core.get_params(include), idempotent=True)
        return parse_memory(await self.client._json(call))

    async def delete(self, id: str) -> None:
        """Delete the memory `id` (`NotFound` if absent)."""
        await self.client._send(Call("DELETE", self._path("memories", _core.segment(id)), idempotent=True))

    async def search(
        self,
        vector: VectorLike | None = None,
        *,
        text: str | None = None,
        k: int = 10,
        ef: int | None = None,
        filter: Mapping[str, Any] | None = None,
        include: Iterable[str] = _core.DEFAULT_INCLUDE,
    ) -> builtins.list[Hit]:
        """The `k` nearest memories to `vector` (or to `text`, embedded), closest first, among
        those matching `filter` (docs/filters.md); `ef` is the search beam (default max(k, 64))."""
        cue = await self.client._vector_for(vector, text)
        body = _core.query_body(cue, filter, include, {"k": k, "ef": ef})
        result = await self.client._json(Call("POST", self._path("search"), json=body, idempotent=True))
        return [parse_hit(item) for item in result["hits"]]

    async def recall(
        self,
        vector: VectorLike | None = None,
        *,
        text: str | None = None,
        k: int = 10,
        filter: Mapping[str, Any] | None = None,
        include: Iterable[str] = _core.DEFAULT_INCLUDE,
        seeds: int | None = None,
        hops: int | None = None,
        decay: float | None = None,
        threshold: float | None = None,
        fan_out: int | None = None,
        over_similarity: bool | None = None,
    ) -> builtins.list[Hit]:
        """Spreading activation: the `seeds` nearest memories to the cue activate their linked
        neighbours over up to `hops` hops (each hop times `decay` and the link weight), and the
        `k` most activated memories above `threshold` come back (`Hit.activation`, `Hit.hops`)."""
        cue = await self.client._vector_for(vector, text)
        extra = {
            "limit": k, "seeds": seeds, "hops": hops, "decay": decay, "threshold": threshold,
            "fanOut": fan_out, "overSimilarity": over_similarity,
        }
        body = _core.query_body(cue, filter, include, extra)
        result = await self.client._json(Call("POST", self._path("recall"), json=body, idempotent=True))
        return [parse_hit(item) for item in result["memories"]]

    async def link(self, a: str, b: str, weight: float = 1.0) -> None:
        """Link memory `a` to memory `b` with `weight` in (0, 1] (re-weights an existing link)."""
        body = {"from": a, "to": b, "weight": weight}
        await self.client._send(Call("PUT", self._path("links"), json=body, idempotent=True))

    async def unlink(self, a: str, b: str) -> None:
        """Remove the link from `a` to `b` (`NotFound` if there is none)."""
        await self.client._send(Call("DELETE", self._path("links"), params={"from": a, "to": b}, idempotent=True))

    async def list(
        self,
        filter: Mapping[str, Any] | None = None,
        cursor: str | None = None,
        limit: int = 100,
        include: Iterable[str] = _core.DEFAULT_INCLUDE,
    ) -> Page:
        """One page of the memories matching `filter`, in the engine's stable order; pass the
        page's `next_cursor` back as `cursor` for the next."""
        body = _core.list_body(filter, cursor, limit, include)
        result = await self.client._json(Call("POST", self._path("list"), json=body, idempotent=True))
        return Page([parse_memory(m) for m in result["memories"]], result.get("nextCursor") or None)

    async def iter(
        self,
        filter: Mapping[str, Any] | None = None,
        include: Iterable[str] = _core.DEFAULT_INCLUDE,
        page_size: int = 100,
    ) -> AsyncIterator[Memory]:
        """Every memory matching `filter`, page by page."""
        fields: Sequence[str] = tuple(include)
        cursor: str | None = None
        while True:
            page = await self.list(filter, cursor, page_size, fields)
            for memory in page.memories:
                yield memory
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def count(self, filter: Mapping[str, Any] | None = None) -> int:
        """How many memories match `filter` (all without one)."""
        body = {"filter": dict(filter)} if filter is not None else {}
        return int((await self.client._json(Call("POST", self._path("count"), json=body, idempotent=True)))["count"])

    async def delete_where(self, filter: Mapping[str, Any]) -> int:
        """Delete every memory matching `filter` (`{}`: all of them); returns how many. Not retried."""
        return int((await self.client._json(Call("POST", self._path("delete"), json={"filter": dict(filter)})))["deleted"])

    async def create_index(self, field: str, kind: str) -> int:
        """Index metadata `field` (`kind`: `"keyword"` for strings, tag lists and bools, `"numeric"`
        for ints and doubles) so filtered reads on it use the index; returns how many memories have
        the field. `Conflict` if it is already indexed. Needs an admin credential."""
        body = {"kind": kind}
        call = Call("PUT", self._path("indexes", _core.segment(field)), json=body, idempotent=True)
        return int((await self.client._json(call))["present"])

    async def drop_index(self, field: str) -> None:
        """Drop the index on `field` (`NotFound` if it has none). Needs an admin credential."""
        await self.client._send(Call("DELETE", self._path("indexes", _core.segment(field)), idempotent=True))

    async def indexes(self) -> builtins.list[FieldIndex]:
        """The space's field indexes: the built-in `createdAt` first, then the created ones."""
        result = await self.client._json(Call("GET", self._path("indexes"), idempotent=True))
        return [parse_field_index(item) for item in result["indexes"]]

    async def export(self, path: str | os.PathLike[str]) -> int:
        """Stream a consistent snapshot of the space into the file `path` (written to `path.part`
        and renamed when complete); returns the bytes written."""
        return await self.client._export(self.name, path)
