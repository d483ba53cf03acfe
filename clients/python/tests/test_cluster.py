"""The cluster routes against a real single-node `mnemo serve --dev`: cross-space search
(`search_spaces`), `cluster_status` and `drain`, sync and async; and, through httpx.MockTransport,
the mapping of the cluster's errors (421 WRONG_NODE, 503 ROUTING_FAILED) and the retries of 503
`spaceMoved` / `spaceFrozen`, which the server answers before applying anything."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from mnemo_client import (
    AsyncMnemo,
    BadRequest,
    ClusterStatus,
    Conflict,
    Hit,
    Mnemo,
    MnemoError,
    NotFound,
    RetryPolicy,
    RoutingFailedError,
    Unavailable,
    WrongNodeError,
)
from mnemo_client.embedders import HashingEmbedder
from mnemo_client.errors import error_from_response

from conftest import Server


@pytest.fixture
def client(server: Server) -> Iterator[Mnemo]:
    with Mnemo(server.url) as c:
        yield c


def fill_two_spaces(client: Mnemo, name: str) -> tuple[str, str]:
    """Spaces `name/a` and `name/b` (l2, 3-d): memories at distance 1, 3, 5 from the query
    [10, 0, 0] in a, at 2, 4 in b; the same ids in both spaces."""
    a, b = f"{name}/a", f"{name}/b"
    for space_name, offsets in ((a, (1.0, 3.0, 5.0)), (b, (2.0, 4.0))):
        space = client.create_space(space_name, 3, metric="l2")
        space.add(
            [
                {"id": f"m{i}", "vector": [10.0 + off, 0.0, 0.0], "text": f"{space_name} {off}",
                 "metadata": {"off": off, "odd": int(off) % 2 == 1}}
                for i, off in enumerate(offsets)
            ]
        )
    return a, b


def test_search_spaces_merges_nearest_first(client: Mnemo, name: str) -> None:
    a, b = fill_two_spaces(client, name)
    hits = client.search_spaces([a, b], [10.0, 0.0, 0.0], k=4)
    assert all(isinstance(h, Hit) for h in hits)
    assert [(h.space, h.id) for h in hits] == [(a, "m0"), (b, "m0"), (a, "m1"), (b, "m1")]
    assert [h.text for h in hits] == [f"{a} 1.0", f"{b} 2.0", f"{a} 3.0", f"{b} 4.0"]
    distances = [h.distance for h in hits]
    assert distances == sorted(distances) and len(set(distances)) == 4
    assert hits[0].metadata == {"off": 1.0, "odd": True}
    # k above the total returns every memory of both spaces; k = 1 only the nearest
    assert len(client.search_spaces([a, b], np.array([10.0, 0.0, 0.0]), k=50)) == 5
    assert [(h.space, h.id) for h in client.search_spaces([b, a], [10.0, 0.0, 0.0], k=1)] == [(a, "m0")]
    # the filter applies in every space; include=("vector",) returns vectors only
    odd = client.search_spaces([a, b], [10.0, 0.0, 0.0], k=10, ef=64, filter={"odd": True})
    assert [(h.space, h.id) for h in odd] == [(a, "m0"), (a, "m1"), (a, "m2")]
    bare = client.search_spaces([a, b], [10.0, 0.0, 0.0], k=2, include=("vector",))
    assert bare[0].text is None and bare[0].vector is not None
    assert bare[0].vector.tolist() == [11.0, 0.0, 0.0]
    # a plain single-space search leaves `space` unset
    assert client.space(a).search([10.0, 0.0, 0.0], k=1)[0].space is None


def test_search_spaces_errors(client: Mnemo, name: str) -> None:
    a, b = fill_two_spaces(client, name)
    other_dim = client.create_space(f"{name}/d4", 4, metric="l2")
    other_dim.put("x", [1.0, 0.0, 0.0, 0.0])
    with pytest.raises(BadRequest) as err:  # the cue cannot fit both: the 4-d space refuses it
        client.search_spaces([a, other_dim.name], [10.0, 0.0, 0.0])
    assert err.value.status == 400 and err.value.code == "wrongDimension"
    other_metric = client.create_space(f"{name}/cos", 3, metric="cosine")
    other_metric.put("x", [1.0, 0.0, 0.0])
    with pytest.raises(BadRequest) as err:
        client.search_spaces([a, other_metric.name], [10.0, 0.0, 0.0])
    assert err.value.field == "spaces"
    with pytest.raises(NotFound) as missing:
        client.search_spaces([a, f"{name}/none"], [10.0, 0.0, 0.0])
    assert missing.value.code == "unknownSpace"
    with pytest.raises(BadRequest):
        client.search_spaces([], [10.0, 0.0, 0.0])
    with pytest.raises(TypeError):
        client.search_spaces(a, [10.0, 0.0, 0.0])
    with pytest.raises(ValueError):
        client.search_spaces([a, b])  # neither vector nor text


def test_search_spaces_embeds_text(server: Server, name: str) -> None:
    embed = HashingEmbedder(16)
    with Mnemo(server.url, embed=embed) as client:
        a = client.create_space(f"{name}/ta", 16)
        b = client.create_space(f"{name}/tb", 16)
        a.put("tea", text="the user prefers green tea")
        b.put("car", text="the car is parked in the garage")
        hits = client.search_spaces([a.name, b.name], text="the car is parked in the garage", k=2)
    assert (hits[0].space, hits[0].id) == (b.name, "car") and hits[0].distance == pytest.approx(0.0, abs=1e-5)
    assert {h.space for h in hits} == {a.name, b.name}


def test_cluster_status_and_drain_single_node(client: Mnemo, server: Server) -> None:
    status = client.cluster_status()
    assert isinstance(status, ClusterStatus)
    assert status.mode == "single" and status.revision == 0 and status.moves == []
    assert status.node is None and status.leader is None
    assert len(status.members) == 1
    member = status.members[0]
    assert member.address == server.url.removeprefix("http://") and member.state == "alive"
    assert status.raw["mode"] == "single"
    with pytest.raises(Conflict) as err:
        client.drain()
    assert err.value.status == 409 and err.value.code == "notClustered"


def test_async_cluster_routes(server: Server, name: str) -> None:
    with Mnemo(server.url) as sync:
        a, b = fill_two_spaces(sync, name)

    async def main() -> None:
        async with AsyncMnemo(server.url) as client:
            hits = await client.search_spaces([a, b], [10.0, 0.0, 0.0], k=3)
            assert [(h.space, h.id) for h in hits] == [(a, "m0"), (b, "m0"), (a, "m1")]
            status = await client.cluster_status()
            assert status.mode == "single" and len(status.members) == 1
            with pytest.raises(Conflict) as err:
                await client.drain()
            assert err.value.code == "notClustered"
            with pytest.raises(BadRequest):
                await client.search_spaces([a, b], [10.0, 0.0])  # a 2-d cue for 3-d spaces

    asyncio.run(main())


# -- error mapping and retries (no server) ---------------------------------------------------------

WRONG_NODE = {
    "error": {
        "code": "WRONG_NODE", "message": "space s is owned by node 2",
        "owner": {"node": 2, "address": "10.0.0.2:7600"}, "version": 8,
    }
}
ROUTING_FAILED = {"error": {"code": "ROUTING_FAILED", "message": "the owner could not be reached"}}


def response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, json=body, request=httpx.Request("GET", "http://m.test/"))


def test_wrong_node_mapped() -> None:
    error = error_from_response(response(421, WRONG_NODE, {"Mnemo-Owner": "10.0.0.2:7600"}))
    assert isinstance(error, WrongNodeError) and isinstance(error, MnemoError)
    assert (error.status, error.code) == (421, "WRONG_NODE")
    assert (error.owner_node, error.owner_address, error.version) == (2, "10.0.0.2:7600", 8)
    # a body without owner: the headers name the owner and the version
    bare = {"error": {"code": "WRONG_NODE", "message": "moved"}}
    headers = {"Mnemo-Owner": "h:1", "Mnemo-Assignment-Version": "3"}
    fallback = error_from_response(response(421, bare, headers))
    assert isinstance(fallback, WrongNodeError)
    assert (fallback.owner_node, fallback.owner_address, fallback.version) == (None, "h:1", 3)


def test_routing_failed_mapped() -> None:
    error = error_from_response(response(503, ROUTING_FAILED, {"Retry-After": "1"}))
    assert isinstance(error, RoutingFailedError) and isinstance(error, Unavailable)
    assert (error.status, error.code, error.retry_after) == (503, "ROUTING_FAILED", 1.0)
    other = error_from_response(response(503, {"error": {"code": "spaceMoved", "message": "moved"}}))
    assert type(other) is Unavailable and other.code == "spaceMoved"


class Script:
    """A fake server answering a scripted list of (status, body), recording each request."""

    def __init__(self, answers: list[tuple[int, object]]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.answers[min(len(self.requests), len(self.answers)) - 1]
        return httpx.Response(status, headers={"Retry-After": "1"}, json=body)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the client's back-off sleeps instead of sleeping."""
    waited: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr("mnemo_client.client.time.sleep", waited.append)
    monkeypatch.setattr("mnemo_client.aio.asyncio.sleep", fake_async_sleep)
    return waited


MOVED = {"error": {"code": "spaceMoved", "message": "the space moved"}}
FROZEN = {"error": {"code": "spaceFrozen", "message": "the space is frozen for a move"}}
INSERTED = {"inserted": 1, "replaced": 0}


def test_insert_batch_retried_on_space_moved_and_frozen(sleeps: list[float]) -> None:
    script = Script([(503, FROZEN), (503, MOVED), (200, INSERTED)])
    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(script)) as client:
        result = client.space("s").add([{"id": "a", "vector": [1.0, 0.0]}])
    assert result.inserted == 1 and len(script.requests) == 3 and sleeps == [1.0, 1.0]
    assert json.loads(script.requests[2].content)["memories"][0]["id"] == "a"


def test_insert_batch_not_retried_on_routing_failed(sleeps: list[float]) -> None:
    script = Script([(503, ROUTING_FAILED), (200, INSERTED)])
    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(script)) as client:
        with pytest.raises(RoutingFailedError):
            client.space("s").add([{"id": "a", "vector": [1.0, 0.0]}])
    assert len(script.requests) == 1 and sleeps == []


def test_search_spaces_retried_on_routing_failed(sleeps: list[float]) -> None:
    hit = {"id": "m", "distance": 0.5, "score": 0.5, "space": "s1"}
    script = Script([(503, ROUTING_FAILED), (200, {"hits": [hit]})])
    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(script)) as client:
        hits = client.search_spaces(["s1", "s2"], [1.0, 0.0], k=3, ef=50)
    assert [(h.space, h.id) for h in hits] == [("s1", "m")] and sleeps == [1.0]
    body = json.loads(script.requests[0].content)
    assert body["spaces"] == ["s1", "s2"] and body["k"] == 3 and body["ef"] == 50 and "vectorBase64" in body


def test_async_delete_where_retried_on_space_moved_and_bounded(sleeps: list[float]) -> None:
    script = Script([(503, MOVED)])

    async def main() -> None:
        transport = httpx.MockTransport(script)
        async with AsyncMnemo("http://mnemo.test", transport=transport, retries=RetryPolicy(retries=2)) as client:
            with pytest.raises(Unavailable) as err:
                await client.space("s").delete_where({})
            assert err.value.code == "spaceMoved"

    asyncio.run(main())
    assert len(script.requests) == 3 and sleeps == [1.0, 1.0]


def test_async_wrong_node_not_retried(sleeps: list[float]) -> None:
    script = Script([(421, WRONG_NODE)])

    async def main() -> None:
        async with AsyncMnemo("http://mnemo.test", transport=httpx.MockTransport(script)) as client:
            with pytest.raises(WrongNodeError) as err:
                await client.space("s").info()
            assert err.value.owner_address == "10.0.0.2:7600" and err.value.version == 8

    asyncio.run(main())
    assert len(script.requests) == 1 and sleeps == []
