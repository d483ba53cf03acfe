"""The synchronous client against a real `mnemo serve --dev`: every method of `Mnemo` and `Space`,
list and numpy vectors, typed results, filters, pagination, export/import, and the error mapping."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from mnemo_client import (
    BadRequest,
    BatchResult,
    Conflict,
    FieldIndex,
    Hit,
    Memory,
    Mnemo,
    MnemoError,
    NotFound,
    Page,
    PayloadTooLarge,
    SpaceInfo,
)

from conftest import Server


@pytest.fixture
def client(server: Server) -> Mnemo:
    with Mnemo(server.url) as c:
        yield c  # type: ignore[misc]


def test_health_and_ready(client: Mnemo) -> None:
    assert client.health() is True
    assert client.ready() is True
    with Mnemo("http://127.0.0.1:9", retries=0) as dead:
        assert dead.health() is False
        assert dead.ready() is False


def test_create_info_list_delete_space(client: Mnemo, name: str) -> None:
    space = client.create_space(name, 4, metric="l2", m=8, ef_construction=64)
    info = space.info()
    assert isinstance(info, SpaceInfo)
    assert (info.name, info.dimension, info.metric, info.count) == (name, 4, "l2", 0)
    assert "linkCount" in info.raw
    with pytest.raises(Conflict):
        client.create_space(name, 4, metric="l2")
    assert client.create_space(name, 4, metric="l2", exist_ok=True).name == name
    with pytest.raises(Conflict):
        client.create_space(name, 5, metric="l2", exist_ok=True)  # exists with another shape
    assert name in [s.name for s in client.spaces()]
    assert name in list(client.space_names(prefix="test/"))
    client.delete_space(name)
    with pytest.raises(NotFound) as err:
        space.info()
    assert err.value.status == 404 and err.value.code == "unknownSpace"
    with pytest.raises(NotFound):
        client.delete_space(name)


def test_spaces_follow_cursors(client: Mnemo, name: str) -> None:
    names = [f"{name}/{i:02d}" for i in range(7)]
    for n in names:
        client.create_space(n, 2)
    # page_size 2: four pages for seven names, each visited once, in byte order
    assert list(client.space_names(prefix=name + "/", page_size=2)) == names
    assert [s.name for s in client.spaces(prefix=name + "/", page_size=3)] == names
    for n in names:
        client.space(n).drop()
    assert list(client.space_names(prefix=name + "/")) == []


def test_put_get_upsert_delete(client: Mnemo, name: str) -> None:
    space = client.create_space(name, 3)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert space.put("m1", [1.0, 0.0, 0.0], text="tea", metadata={"kind": "pref", "n": 3, "tags": ["a", "b"]},
                     created_at=when) is False
    assert space.put("m/2", np.array([0.0, 1.0, 0.0]), content=b"\x00\xff") is False
    m = space.get("m1")
    assert isinstance(m, Memory)
    assert (m.id, m.text, m.content) == ("m1", "tea", None)
    # the server's PUT (an engine upsert) stamps its own time today; batches keep createdAt (test_batches)
    assert m.created_at is not None and m.created_at.tzinfo is not None
    assert m.metadata == {"kind": "pref", "n": 3, "tags": ["a", "b"]}
    assert m.vector is not None and m.vector.dtype == np.float32
    np.testing.assert_allclose(m.vector, [1.0, 0.0, 0.0])
    binary = space.get("m/2", include=("content",))
    assert binary.content == b"\x00\xff" and binary.text is None and binary.vector is None
    # PUT is an upsert: True when it replaced; the whole memory is replaced
    assert space.put("m1", [0.0, 0.0, 1.0], text="coffee") is True
    again = space.get("m1")
    assert again.text == "coffee" and again.metadata == {}
    assert space.info().count == 2
    space.delete("m1")
    with pytest.raises(NotFound) as err:
        space.get("m1")
    assert err.value.code == "notFound"
    with pytest.raises(NotFound):
        space.delete("m1")


def test_vectors_bit_exact_l2(client: Mnemo, name: str) -> None:
    space = client.create_space(name, 5, metric="l2")
    rng = np.random.default_rng(7)
    v64 = rng.standard_normal(5)  # float64 in: sent as float32
    space.put("a", v64)
    got = space.get("a").vector
    assert got is not None
    assert got.tobytes() == v64.astype("<f4").tobytes()
    space.put("b", [float(x) for x in v64.astype(np.float32)])
    b = space.get("b").vector
    assert b is not None and b.tobytes() == got.tobytes()


def test_errors_mapped(client: Mnemo, name: str) -> None:
    space = client.create_space(name, 3)
    with pytest.raises(BadRequest) as err:
        space.put("x", [1.0, 2.0])
    assert err.value.status == 400 and err.value.code == "wrongDimension"
    assert err.value.field is not None and "vector" in err.value.field
    with pytest.raises(BadRequest) as err:
        space.put("x", [1.0, math.nan, 0.0])
    assert err.value.code == "nonFinite"
    with pytest.raises(BadRequest) as err:
        space.put("x", [0.0, 0.0, 0.0])
    assert err.value.code == "zeroVector"
    with pytest.raises(BadRequest) as err:
        space.search([1.0, 0.0, 0.0], filter={"n": {"$bogus": 1}})
    assert err.value.code == "invalidFilter"
    with pytest.raises(NotFound) as err2:
        client.space(name + "-absent").put("x", [1.0, 0.0, 0.0])
    assert err2.value.code == "unknownSpace"
    with pytest.raises(ValueError):
        space.put("x", [[1.0, 0.0, 0.0]])  # not one-dimensional: refused before sending
    with pytest.raises(ValueError):
        space.put("x")  # no vector and no embed function
    assert isinstance(err.value, MnemoError) and space.info().count == 0


def test_batches(client: Mnemo, name: str) -> None:
    space = client.create_space(name, 3)
    result = space.add([
        {"id": "a", "vector": [1.0, 0.0, 0.0], "text": "alpha", "metadata": {"g": 1}},
        {"id": "b", "vector": np.array([0.0, 1.0, 0.0], dtype=np.float32), "content": b"\xff\x01"},
        {"id": "c", "vector": (0.0, 0.0, 1.0), "created_at": "2026-01-01T00:00:00Z"},
    ])
    assert result == BatchResult(inserted=3, replaced=0)
    assert space.get("b").content == b"\xff\x01"
    assert space.get("c").created_at == datetime(2026, 1, 1, tzinfo=timezone.utc)
    # an id already present: 409 naming the item, nothing written
    with pytest.raises(Conflict) as err:
        space.add([{"id": "d", "vector": [1.0, 1.0, 0.0]}, {"id": "a", "vector": [1.0, 1.0, 1.0]}])
    assert err.value.field == "memories[1]"
    assert space.count() == 3
    with pytest.raises(NotFound):
        space.get("d")
    # a repeated id inside the batch: the same
    with pytest.raises(Conflict):
        space.add([{"id": "e", "vector": [1.0, 1.0, 0.0]}, {"id": "e", "vector": [1.0, 1.0, 1.0]}])
    # a bad vector in the middle: 400 naming it, nothing written
    with pytest.raises(BadRequest) as bad:
        space.add([{"id": "f", "vector": [1.0, 1.0, 0.0]}, {"id": "g", "vector": [1.0, 1.0]}])
    assert bad.value.field is not None and bad.value.field.startswith("memories[1]")
    assert space.count() == 3
    # upsert batches replace
    assert space.add([{"id": "a", "vector": [0.0, 1.0, 1.0]}, {"id": "h", "vector": [1.0, 1.0, 1.0]}],
                     upsert=True) == BatchResult(inserted=1, replaced=1)
    assert space.count() == 4


def test_search_include_and_filters(client: Mnemo, name: str) -> None:
    space = client.create_space(name, 2)
    for i in range(20):
        angle = i * math.pi / 40
        space.put(f"m{i}", [math.cos(angle), math.sin(angle)], text=f"memory {i}",
                  metadata={"i": i, "even": i % 2 == 0, "kind": "fact" if i < 10 else "turn"})
    hits = space.search([1.0, 0.0], k=5)
    assert [h.id for h in hits] == ["m0", "m1", "m2", "m3", "m4"]
    assert all(isinstance(h, Hit) for h in hits)
    assert hits[0].score == pytest.approx(1.0, abs=1e-5) and hits[0].distance == pytest.approx(0.0, abs=1e-5)
    assert all(abs(h.score - (1 - h.distance)) < 1e-6 for h in hits)
    assert hits[0].text == "memory 0" and hits[0].metadata["kind"] == "fact" and hits[0].vector is None
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    only = space.search([1.0, 0.0], k=3, ef=100, include=("vector",))
    assert only[0].text is None and only[0].metadata == {} and only[0].vector is not None
    filtered = space.search([1.0, 0.0], k=20, filter={"kind": "turn", "even": True})
    assert [h.id for h in filtered] == ["m10", "m12", "m14", "m16", "m18"]
    ranged = space.search([1.0, 0.0], k=20, filter={"i": {"$gte": 3, "$lt": 6}})
    assert sorted(h.id for h in ranged) == ["m3", "m4", "m5"]
    assert space.count({"kind": "fact"}) == 10
    assert space.count() == 20


def test_list_pages_and_iter(client: Mnemo, name: str) -> None:
    space = client.create_space(name, 2)
    space.add([{"id": f"m{i:02d}", "vector": [1.0, float(i)], "metadata": {"i": i}} for i in range(25)])
    first = space.list(limit=10)
    assert isinstance(first, Page) and len(first.memories) == 10 and first.next_cursor is not None
    seen: list[str] = []
    cursor = None
    while True:
        page = space.list(cursor=cursor, limit=10)
        seen += [m.id for m in page.memories]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(f"m{i:02d}" for i in range(25)) and len(seen) == 25
    odd = [m.id for m in space.iter({"i": {"$in": [1, 3, 5]}}, page_size=1)]
    assert sorted(odd) == ["m01", "m03", "m05"]
    assert all(m.vector is not None for m in space.iter(include=("vector",), page_size=7))
    assert len(list(space.iter(page_size=7))) == 25


def test_field_indexes(client: Mnemo, name: str) -> None:
    space = client.create_space(name, 2)
    space.add([{"id": f"m{i}", "vector": [1.0, float(i)], "metadata": {"i": i, "kind": "odd" if i % 2 else "even"}}
               for i in range(20)])
    assert space.create_index("kind", "keyword") == 20
    assert space.create_index("i", "numeric") == 20
    with pytest.raises(Conflict):
        space.create_index("kind", "keyword")
    with pytest.raises(BadRequest):
        space.create_index("tag", "fulltext")
    indexes = space.indexes()
    assert all(isinstance(index, FieldIndex) for index in indexes)
    assert [(index.field, index.kind, index.built_in) for index in indexes] == [
        ("createdAt", "numeric", True), ("kind", "keyword", False), ("i", "numeric", False)]
    assert space.count({"kind": "odd", "i": {"$gte": 10}}) == 5
    space.drop_index("kind")
    with pytest.raises(NotFound):
        space.drop_index("kind")
    assert [index.field for index in space.indexes()] == ["createdAt", "i"]
    assert space.count({"kind": "odd", "i": {"$gte": 10}}) == 5


def test_delete_where(client: Mnemo, name: str) -> None:
    space = client.create_space(name, 2)
    space.add([{"id": f"m{i}", "vector": [1.0, float(i)], "metadata": {"i": i}} for i in range(10)])
    assert space.delete_where({"i": {"$lt": 4}}) == 4
    assert space.count() == 6 and space.count({"i": {"$lt": 4}}) == 0
    assert space.delete_where({}) == 6
    assert space.count() == 0


def test_links_and_recall(client: Mnemo, name: str) -> None:
    space = client.create_space(name, 2)
    space.put("seed", [1.0, 0.0], text="seed", metadata={"kind": "a"})
    space.put("far", [0.0, 1.0], text="far", metadata={"kind": "a"})
    space.put("other", [-1.0, 0.1], text="other", metadata={"kind": "b"})
    without = space.recall([1.0, 0.0], k=3, seeds=1, over_similarity=False)
    assert [h.id for h in without] == ["seed"]
    space.link("seed", "far", weight=0.8)
    space.link("seed", "far", weight=0.9)  # re-weighted
    hits = space.recall([1.0, 0.0], k=3, seeds=1, hops=2, decay=0.5, threshold=0.01, fan_out=4,
                        over_similarity=False)
    assert [h.id for h in hits] == ["seed", "far"]
    assert hits[0].hops == 0 and hits[1].hops == 1
    assert hits[1].activation is not None and hits[1].activation < hits[0].score
    assert math.isnan(hits[0].distance) and hits[1].text == "far"
    space.link("seed", "other")
    assert "other" in [h.id for h in space.recall([1.0, 0.0], seeds=1, over_similarity=False)]
    assert "other" not in [h.id for h in space.recall([1.0, 0.0], seeds=1, filter={"kind": "a"})]
    space.unlink("seed", "far")
    with pytest.raises(NotFound):
        space.unlink("seed", "far")
    assert "far" not in [h.id for h in space.recall([1.0, 0.0], seeds=1, over_similarity=False)]
    assert space.info().raw["linkCount"] == 1


def test_export_import_round_trip(client: Mnemo, name: str, tmp_path: Path) -> None:
    space = client.create_space(name, 8)
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((300, 8)).astype(np.float32)
    space.add([{"id": f"m{i}", "vector": vectors[i], "text": "x" * 500, "metadata": {"i": i}} for i in range(300)])
    space.link("m1", "m2", 0.5)
    path = tmp_path / "space.mnemo"
    written = space.export(path)
    assert written == path.stat().st_size and written > 0
    assert not (tmp_path / "space.mnemo.part").exists()
    copy = client.import_space(name + "-copy", path)
    assert copy.info().count == 300 and copy.info().raw["linkCount"] == 1
    q = vectors[42]
    assert [h.id for h in copy.search(q, k=5)] == [h.id for h in space.search(q, k=5)]
    assert copy.get("m7").metadata == {"i": 7}
    with pytest.raises(Conflict):
        client.import_space(name + "-copy", path)
    broken = tmp_path / "broken.mnemo"
    broken.write_bytes(path.read_bytes()[: written // 2])
    with pytest.raises(BadRequest):
        client.import_space(name + "-broken", broken)
    with pytest.raises(NotFound):
        client.space(name + "-broken").info()
    with pytest.raises(NotFound):
        client.space(name + "-absent").export(tmp_path / "absent.mnemo")
    assert not (tmp_path / "absent.mnemo").exists() and not (tmp_path / "absent.mnemo.part").exists()


def test_payload_too_large(tmp_path: Path) -> None:
    from conftest import free_port, start_server, stop_server

    small = start_server(["--dev", "--max-body-bytes", "4096"], free_port(), tmp_path / "serve.log")
    try:
        with Mnemo(small.url) as client:
            space = client.create_space("big", 64)
            with pytest.raises(PayloadTooLarge) as err:
                space.add([{"id": f"m{i}", "vector": np.ones(64)} for i in range(100)])
            assert err.value.status == 413
            assert space.count() == 0
    finally:
        stop_server(small)


def test_one_keep_alive_connection_for_sequential_calls(client: Mnemo, name: str) -> None:
    space = client.create_space(name, 2)
    for i in range(20):
        space.put(f"m{i}", [1.0, float(i)])
        space.search([1.0, 0.0], k=1)
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    assert len(pool.connections) == 1
