"""The asynchronous client against a real `mnemo serve --dev`: every method of `AsyncMnemo` and
`AsyncSpace` (async iterators included), concurrent requests over one pool, and errors."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mnemo_client import AsyncMnemo, AsyncSpace, BadRequest, BatchResult, Conflict, NotFound, SpaceInfo
from mnemo_client.embedders import HashingEmbedder

from conftest import Server


def run(server: Server, body: Callable[[AsyncMnemo], Awaitable[Any]], **kwargs: Any) -> Any:
    """Run `body(client)` in a fresh event loop with a fresh client."""

    async def main() -> Any:
        async with AsyncMnemo(server.url, **kwargs) as client:
            return await body(client)

    return asyncio.run(main())


def test_async_health_spaces(server: Server, name: str) -> None:
    async def body(client: AsyncMnemo) -> None:
        assert await client.health() and await client.ready()
        space = await client.create_space(name, 3, metric="ip")
        assert isinstance(space, AsyncSpace)
        info = await space.info()
        assert isinstance(info, SpaceInfo) and (info.dimension, info.metric, info.count) == (3, "ip", 0)
        with pytest.raises(Conflict):
            await client.create_space(name, 3, metric="ip")
        assert (await client.create_space(name, 3, metric="ip", exist_ok=True)).name == name
        for i in range(5):
            await client.create_space(f"{name}/{i}", 2)
        names = [n async for n in client.space_names(prefix=name + "/", page_size=2)]
        assert names == [f"{name}/{i}" for i in range(5)]
        infos = [s async for s in client.spaces(prefix=name + "/", page_size=2)]
        assert [s.name for s in infos] == names and all(s.dimension == 2 for s in infos)
        for n in names:
            await client.space(n).drop()
        await client.delete_space(name)
        with pytest.raises(NotFound):
            await space.info()

    run(server, body)


def test_async_memories(server: Server, name: str) -> None:
    async def body(client: AsyncMnemo) -> None:
        space = await client.create_space(name, 3)
        assert await space.put("a", np.array([1.0, 0.0, 0.0], dtype=np.float32), text="alpha",
                               metadata={"kind": "fact"}) is False
        assert await space.put("a", [1.0, 0.1, 0.0], text="alpha2", metadata={"kind": "fact"}) is True
        result = await space.add([{"id": f"m{i}", "vector": [1.0, float(i), 0.5], "metadata": {"i": i}}
                                  for i in range(12)])
        assert result == BatchResult(12, 0)
        with pytest.raises(Conflict) as err:
            await space.add([{"id": "new", "vector": [1.0, 1.0, 1.0]}, {"id": "m3", "vector": [1.0, 1.0, 1.0]}])
        assert err.value.field == "memories[1]"
        assert await space.count() == 13
        assert await space.add([{"id": "m3", "vector": [0.0, 0.0, 1.0], "metadata": {"i": 3}}], upsert=True) == BatchResult(0, 1)
        got = await space.get("a")
        assert got.text == "alpha2" and got.metadata == {"kind": "fact"} and got.vector is not None
        with pytest.raises(BadRequest) as bad:
            await space.put("x", [1.0, 2.0])
        assert bad.value.code == "wrongDimension" and bad.value.field is not None
        hits = await space.search([1.0, 0.0, 0.0], k=3, filter={"kind": "fact"})
        assert [h.id for h in hits] == ["a"]
        hits = await space.search([1.0, 0.0, 0.0], k=20, ef=32, filter={"i": {"$gte": 10}}, include=("vector",))
        assert sorted(h.id for h in hits) == ["m10", "m11"] and hits[0].vector is not None
        page = await space.list({"i": {"$lt": 5}}, limit=2)
        assert len(page.memories) == 2 and page.next_cursor is not None
        ids = [m.id async for m in space.iter({"i": {"$lt": 5}}, page_size=2)]
        assert sorted(ids) == ["m0", "m1", "m2", "m3", "m4"]
        assert await space.count({"i": {"$lt": 5}}) == 5
        assert await space.delete_where({"i": {"$lt": 2}}) == 2
        await space.delete("a")
        with pytest.raises(NotFound):
            await space.get("a")
        with pytest.raises(NotFound):
            await space.delete("a")
        assert await space.count() == 10

    run(server, body)


def test_async_links_recall(server: Server, name: str) -> None:
    async def body(client: AsyncMnemo) -> None:
        space = await client.create_space(name, 2)
        await space.put("seed", [1.0, 0.0], text="seed")
        await space.put("far", [0.0, 1.0], text="far")
        await space.link("seed", "far", 0.5)
        hits = await space.recall([1.0, 0.0], k=5, seeds=1, hops=1, over_similarity=False)
        assert [h.id for h in hits] == ["seed", "far"] and hits[1].hops == 1
        assert hits[1].activation is not None and hits[1].activation < 1.0 and math.isnan(hits[1].distance)
        await space.unlink("seed", "far")
        with pytest.raises(NotFound):
            await space.unlink("seed", "far")
        assert [h.id for h in await space.recall([1.0, 0.0], seeds=1, over_similarity=False)] == ["seed"]

    run(server, body)


def test_async_export_import(server: Server, name: str, tmp_path: Path) -> None:
    async def body(client: AsyncMnemo) -> None:
        space = await client.create_space(name, 4)
        rng = np.random.default_rng(3)
        vectors = rng.standard_normal((200, 4)).astype(np.float32)
        await space.add([{"id": f"m{i}", "vector": vectors[i], "text": f"t{i}"} for i in range(200)])
        path = tmp_path / "a.mnemo"
        written = await space.export(path)
        assert written == path.stat().st_size > 0
        copy = await client.import_space(name + "-copy", path)
        assert (await copy.info()).count == 200
        assert (await copy.get("m5", include=("content",))).text == "t5"
        with pytest.raises(Conflict):
            await client.import_space(name + "-copy", path)

    run(server, body)


def test_async_concurrent_requests_and_async_embed(server: Server, name: str) -> None:
    embedder = HashingEmbedder(16)

    async def embed(texts: Any) -> Any:
        await asyncio.sleep(0)
        return embedder(texts)

    async def body(client: AsyncMnemo) -> None:
        space = await client.create_space(name, 16)
        await asyncio.gather(*(space.put(f"m{i}", text=f"note number {i}") for i in range(40)))
        assert await space.count() == 40
        hits = await space.search(text="note number 7", k=1)
        assert hits[0].id == "m7" and hits[0].score == pytest.approx(1.0, abs=1e-5)
        got = await space.get("m7")
        assert got.vector is not None
        np.testing.assert_allclose(got.vector, embedder(["note number 7"])[0], atol=1e-6)

    run(server, body, embed=embed, max_connections=8)


def test_async_field_indexes(server: Server, name: str) -> None:
    async def body(client: AsyncMnemo) -> None:
        space = await client.create_space(name, 2)
        await space.add([{"id": f"m{i}", "vector": [1.0, float(i)], "metadata": {"i": i}} for i in range(12)])
        assert await space.create_index("i", "numeric") == 12
        assert [index.field for index in await space.indexes()] == ["createdAt", "i"]
        assert await space.count({"i": {"$lt": 5}}) == 5
        await space.drop_index("i")
        with pytest.raises(NotFound):
            await space.drop_index("i")

    run(server, body)
