"""Mem0 on Mnemo: the real `mem0ai` package driving `MnemoVectorStore` against a real `mnemo serve`.

What this proves:
- `register()` makes `"mnemo"` a provider `Memory.from_config` accepts, and the space is created;
- through `Memory` (add with infer=False, search, get_all, get, update, delete, delete_all,
  history, reset) and `AsyncMemory` (add, get_all, search) two users never see each other's
  memories, although one of Bob's memories is the nearest to Alice's query; the history
  (SQLite in a temp dir) records ADD, UPDATE, DELETE;
- Mem0's filter operators (eq, ne, in, nin, gt/gte/lt/lte, contains, icontains, "*", AND, OR,
  NOT) select exactly the expected memories through `Memory.search` / `get_all`, and what
  Mnemo has no equivalent for raises `MnemoFilterError` naming the operator;
- each `VectorStoreBase` method keeps its contract (OutputData id/score/payload, `[list]` from
  list(), update of only the vector or only the payload keeps the other, absent ids, paging,
  reset, delete_col, col_info, list_cols), scores are similarities in [0, 1], payloads that
  Mnemo metadata cannot hold (nested, None, 5,000-byte strings) come back unchanged;
- with authentication on, a Memory whose token covers `tenant-a/` cannot reach `tenant-b/...`.

Nothing reaches the network: the embedder is a deterministic hash of words (`HashEmbedding`),
the LLM is a stub that fails if called (infer=False never calls it; Mem0 builds an LLM at init),
telemetry is off, spaCy is kept unloaded (Mem0 would otherwise download a model), and every
socket connection outside loopback fails the test (`no_network`).
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import math
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["MEM0_TELEMETRY"] = "False"  # read when mem0 is imported
_MEM0_HOME = tempfile.mkdtemp(prefix="mem0-home-")  # mem0 writes config.json there when imported
os.environ["MEM0_DIR"] = _MEM0_HOME
atexit.register(shutil.rmtree, _MEM0_HOME, True)

mem0 = pytest.importorskip("mem0")

import mem0.memory.main as mem0_main  # noqa: E402
import mem0.memory.telemetry as mem0_telemetry  # noqa: E402
import mem0.utils.spacy_models as mem0_spacy  # noqa: E402
from mem0 import AsyncMemory, Memory  # noqa: E402
from mem0.configs.llms.base import BaseLlmConfig  # noqa: E402
from mem0.embeddings.base import EmbeddingBase  # noqa: E402
from mem0.llms.base import LLMBase  # noqa: E402
from mem0.utils.factory import EmbedderFactory, LlmFactory  # noqa: E402

from mnemo_client import Mnemo  # noqa: E402
from mnemo_client.mem0 import (  # noqa: E402
    MnemoConfig,
    MnemoFilterError,
    MnemoVectorStore,
    OutputData,
    filterable_metadata,
    register,
    to_mnemo_filter,
)

DIM = 256
EMBEDDER = "mnemo_test_hash"
LLM = "mnemo_test_refusing"


class HashEmbedding(EmbeddingBase):  # type: ignore[misc]
    """Deterministic bag of words: each lower-cased word adds ±1 at a position chosen by its
    SHA-256, then the vector is normalized. Texts sharing words are close; no model, no network."""

    def embed(self, text: Any, memory_action: Any = None) -> list[float]:
        vector = [0.0] * DIM
        for word in re.findall(r"[a-z0-9]+", str(text).lower()):
            digest = hashlib.sha256(word.encode()).digest()
            vector[digest[0] % DIM] += 1.0 if digest[1] & 1 else -1.0
        if not any(vector):
            vector[0] = 1.0
        norm = math.sqrt(sum(x * x for x in vector))
        return [x / norm for x in vector]


class RefusingLLM(LLMBase):  # type: ignore[misc]
    """Mem0 builds an LLM when a Memory is made; with infer=False it must never be asked."""

    def generate_response(self, *args: Any, **kwargs: Any) -> str:
        raise AssertionError("the LLM was called: infer=False must not use it")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection or name lookup that is not loopback, and keep telemetry and spaCy off."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo
    loopback = {"127.0.0.1", "::1", "localhost"}

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in loopback:
            raise AssertionError(f"network access attempted: {address!r}")
        return real_connect(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in loopback and host is not None:
            raise AssertionError(f"name lookup attempted: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(mem0_telemetry, "MEM0_TELEMETRY", False)
    monkeypatch.setattr(mem0_main, "MEM0_TELEMETRY", False)
    # Mem0 lemmatizes and extracts entities with spaCy when it is installed, downloading
    # en_core_web_sm if missing; marked as failed to load, it falls back to plain text.
    monkeypatch.setattr(mem0_spacy, "_load_failed_full", True)
    monkeypatch.setattr(mem0_spacy, "_load_failed_lemma", True)


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mnemo registered for good; the test embedder and LLM only for the test."""
    register()
    monkeypatch.setitem(EmbedderFactory.provider_to_class, EMBEDDER, f"{__name__}.HashEmbedding")
    monkeypatch.setitem(LlmFactory.provider_to_class, LLM, (f"{__name__}.RefusingLLM", BaseLlmConfig))


def memory_config(url: str, collection: str, history: Path, token: str | None = None) -> dict[str, Any]:
    """A Mem0 configuration on Mnemo. The embedder and LLM entries carry no `config` key: Mem0
    checks provider names against its own list only when one is given."""
    store: dict[str, Any] = {"url": url, "collection_name": collection, "embedding_model_dims": DIM}
    if token is not None:
        store["token"] = token
    return {
        "vector_store": {"provider": "mnemo", "config": store},
        "embedder": {"provider": EMBEDDER},
        "llm": {"provider": LLM},
        "history_db_path": str(history),
    }


@pytest.fixture
def memory(server: Any, providers: None, tmp_path: Path, name: str) -> Iterator[Memory]:
    """A Mem0 `Memory` on a fresh space of the session's `mnemo serve --dev`."""
    m = Memory.from_config(memory_config(server.url, name, tmp_path / "history.db"))
    yield m
    m.close()
    m.vector_store.close()


@pytest.fixture
def store(server: Any, name: str) -> Iterator[MnemoVectorStore]:
    """A `MnemoVectorStore` on a fresh space, used directly (no Memory)."""
    s = MnemoVectorStore(collection_name=name, embedding_model_dims=DIM, url=server.url)
    yield s
    s.close()


def embed(text: str) -> list[float]:
    """The test embedding of `text`."""
    return HashEmbedding().embed(text)


def texts(results: list[dict[str, Any]]) -> set[str]:
    """The memory texts of Mem0 results."""
    return {r["memory"] for r in results}


ALICE = [
    "Alice drinks oolong tea every afternoon",
    "Alice is allergic to peanuts",
    "Alice plays the cello on weekends",
]
BOB = [
    "Bob drinks green tea every morning",
    "Bob is training for a marathon",
]


def add_all(memory: Memory, user: str, lines: list[str]) -> list[str]:
    """Add each line as a raw memory (infer=False) and return the ids Mem0 made."""
    ids = []
    for line in lines:
        result = memory.add([{"role": "user", "content": line}], user_id=user, infer=False)
        assert [r["event"] for r in result["results"]] == ["ADD"]
        assert result["results"][0]["memory"] == line
        ids.append(result["results"][0]["id"])
    return ids


# -- through mem0.Memory ---------------------------------------------------------------------------


def test_from_config_creates_the_space(memory: Memory, server: Any, name: str) -> None:
    assert isinstance(memory.vector_store, MnemoVectorStore)
    with Mnemo(server.url) as client:
        info = client.space(name).info()
    assert (info.dimension, info.metric, info.count) == (DIM, "cosine", 0)


def test_existing_client_and_entity_store(server: Any, providers: None, tmp_path: Path, name: str) -> None:
    """A `client` in the config is used as is; Mem0's entity store (a copy of the config under
    `<collection>_entities`, used when spaCy is installed) is a second space on the same client."""
    with Mnemo(server.url) as client:
        config = memory_config(server.url, name, tmp_path / "history.db")
        config["vector_store"]["config"] = {"client": client, "collection_name": name, "embedding_model_dims": DIM}
        memory = Memory.from_config(config)
        assert memory.vector_store.client is client
        entities = memory.entity_store
        assert isinstance(entities, MnemoVectorStore) and entities.client is client
        assert entities.collection_name == f"{name}_entities"
        assert client.space(f"{name}_entities").info().dimension == DIM
        add_all(memory, "alice", ALICE[:1])
        assert texts(memory.get_all(filters={"user_id": "alice"})["results"]) == {ALICE[0]}
        memory.close()
        memory.vector_store.close()  # leaves the client open: it was passed in
        assert client.space(name).info().count == 1


def test_two_users_are_isolated_through_memory(memory: Memory, server: Any, name: str) -> None:
    alice_ids = add_all(memory, "alice", ALICE)
    bob_ids = add_all(memory, "bob", BOB)

    # Stored in one space, scoped by metadata the server filters on.
    with Mnemo(server.url) as client:
        space = client.space(name)
        assert space.count() == 5
        assert space.count({"user_id": "alice"}) == 3
        assert space.count({"user_id": "bob", "role": "user"}) == 2

    alice_all = memory.get_all(filters={"user_id": "alice"})["results"]
    bob_all = memory.get_all(filters={"user_id": "bob"})["results"]
    assert texts(alice_all) == set(ALICE)
    assert texts(bob_all) == set(BOB)
    assert {r["id"] for r in alice_all} == set(alice_ids)
    assert all(r["user_id"] == "alice" for r in alice_all)

    # Bob's "green tea" memory is the nearest to this query over the whole space...
    query = "Bob drinks green tea every morning"
    everyone = memory.vector_store.search(query, embed(query), top_k=10)
    assert everyone[0].id == bob_ids[0]
    assert everyone[0].score is not None and everyone[0].score > 0.99
    # ...and Alice never sees it: only her tea memory comes back.
    found = memory.search(query, filters={"user_id": "alice"}, threshold=0.0, top_k=10)["results"]
    assert found, "Alice's own memories should be found"
    assert {r["id"] for r in found} <= set(alice_ids)
    assert found[0]["memory"] == ALICE[0]
    scores = [r["score"] for r in found]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    bob_found = memory.search(query, filters={"user_id": "bob"}, threshold=0.0)["results"]
    assert {r["id"] for r in bob_found} <= set(bob_ids)
    assert bob_found[0]["id"] == bob_ids[0]

    # get, update, history
    got = memory.get(alice_ids[1])
    assert got is not None and got["memory"] == ALICE[1] and got["user_id"] == "alice" and got["role"] == "user"
    memory.update(alice_ids[1], text="Alice is allergic to peanuts and shellfish")
    got = memory.get(alice_ids[1])
    assert got is not None and got["memory"] == "Alice is allergic to peanuts and shellfish"
    assert got["user_id"] == "alice"
    hits = memory.search("shellfish", filters={"user_id": "alice"}, threshold=0.0)["results"]
    assert hits[0]["id"] == alice_ids[1]
    bob_shellfish = memory.search("shellfish", filters={"user_id": "bob"}, threshold=0.0)["results"]
    assert not any(r["id"] == alice_ids[1] for r in bob_shellfish)

    # delete
    memory.delete(alice_ids[2])
    assert memory.get(alice_ids[2]) is None
    alice_left = texts(memory.get_all(filters={"user_id": "alice"})["results"])
    assert alice_left == {ALICE[0], "Alice is allergic to peanuts and shellfish"}
    assert texts(memory.get_all(filters={"user_id": "bob"})["results"]) == set(BOB)
    with pytest.raises(ValueError):
        memory.delete(alice_ids[2])

    history = memory.history(alice_ids[1])
    assert [h["event"] for h in history] == ["ADD", "UPDATE"]
    assert history[1]["old_memory"] == ALICE[1]
    assert history[1]["new_memory"] == "Alice is allergic to peanuts and shellfish"
    assert [h["event"] for h in memory.history(alice_ids[2])] == ["ADD", "DELETE"]
    assert memory.history(bob_ids[0])[0]["new_memory"] == BOB[0]

    # delete_all for one user leaves the other's
    memory.delete_all(user_id="bob")
    assert memory.get_all(filters={"user_id": "bob"})["results"] == []
    assert len(memory.get_all(filters={"user_id": "alice"})["results"]) == 2
    assert [h["event"] for h in memory.history(bob_ids[1])] == ["ADD", "DELETE"]

    # reset: the space is dropped and made again, empty; the history goes too
    memory.reset()
    assert memory.get_all(filters={"user_id": "alice"})["results"] == []
    assert memory.history(alice_ids[0]) == []
    with Mnemo(server.url) as client:
        assert client.space(name).info().count == 0


def test_async_memory(server: Any, providers: None, tmp_path: Path, name: str) -> None:
    """AsyncMemory calls the same store from worker threads (asyncio.to_thread)."""

    async def scenario() -> None:
        memory = AsyncMemory.from_config(memory_config(server.url, name, tmp_path / "history.db"))
        added = await asyncio.gather(
            *(memory.add(line, user_id="alice", infer=False) for line in ALICE),
            *(memory.add(line, user_id="bob", infer=False) for line in BOB),
        )
        assert len(added) == 5
        alice = await memory.get_all(filters={"user_id": "alice"})
        assert texts(alice["results"]) == set(ALICE)
        found = await memory.search(BOB[0], filters={"user_id": "alice"}, threshold=0.0)
        assert found["results"][0]["memory"] == ALICE[0]
        assert all(r["user_id"] == "alice" for r in found["results"])
        memory.close()
        memory.vector_store.close()

    asyncio.run(scenario())


def test_metadata_and_agent_scope_through_memory(memory: Memory) -> None:
    rows = [
        ("Alice likes spicy ramen", {"category": "food", "priority": 3}),
        ("Alice likes mild curry", {"category": "food", "priority": 1}),
        ("Alice runs on Tuesdays", {"category": "sport", "priority": 2}),
        ("Alice reads Russian novels", {"category": "books", "priority": 5, "tags": ["fiction", "russia"]}),
    ]
    ids = {}
    for text, metadata in rows:
        result = memory.add(text, user_id="alice", agent_id="planner", metadata=metadata, infer=False)
        ids[text] = result["results"][0]["id"]
    memory.add("Bob likes spicy ramen", user_id="bob", metadata={"category": "food", "priority": 9}, infer=False)

    def search(filters: dict[str, Any]) -> set[str]:
        return texts(memory.search("Alice likes", filters={"user_id": "alice", **filters}, threshold=0.0)["results"])

    def listed(filters: dict[str, Any]) -> set[str]:
        return texts(memory.get_all(filters={"user_id": "alice", **filters})["results"])

    assert search({"category": "food"}) == {"Alice likes spicy ramen", "Alice likes mild curry"}
    assert listed({"category": "food"}) == {"Alice likes spicy ramen", "Alice likes mild curry"}
    assert search({"priority": {"gte": 2, "lt": 5}}) == {"Alice likes spicy ramen", "Alice runs on Tuesdays"}
    assert search({"category": {"in": ["sport", "books"]}}) == {"Alice runs on Tuesdays", "Alice reads Russian novels"}
    assert search({"category": {"nin": ["food"]}}) == {"Alice runs on Tuesdays", "Alice reads Russian novels"}
    assert search({"category": {"ne": "food"}}) == {"Alice runs on Tuesdays", "Alice reads Russian novels"}
    assert search({"tags": "*"}) == {"Alice reads Russian novels"}
    either = {"OR": [{"category": "sport"}, {"priority": {"gt": 4}}]}
    assert search(either) == {"Alice runs on Tuesdays", "Alice reads Russian novels"}
    assert search({"NOT": [{"category": "food"}]}) == {"Alice runs on Tuesdays", "Alice reads Russian novels"}
    assert search({"AND": [{"category": "food"}, {"priority": {"lte": 1}}]}) == {"Alice likes mild curry"}
    assert search({"category": {"contains": "oo"}}) == {
        "Alice likes spicy ramen", "Alice likes mild curry", "Alice reads Russian novels"
    }
    assert search({"category": {"icontains": "SPO"}}) == {"Alice runs on Tuesdays"}
    assert search({"agent_id": "planner", "category": "food"}) == {"Alice likes spicy ramen", "Alice likes mild curry"}
    assert texts(memory.get_all(filters={"agent_id": "planner"})["results"]) == {r[0] for r in rows}
    got = memory.get(ids["Alice reads Russian novels"])
    assert got is not None and got["metadata"] == {"category": "books", "priority": 5, "tags": ["fiction", "russia"]}


# -- VectorStoreBase, directly -----------------------------------------------------------------------


def test_store_contract(store: MnemoVectorStore, server: Any, name: str) -> None:
    assert name in store.list_cols()
    written = store.insert(
        vectors=[embed("red apple"), embed("green pear")],
        payloads=[{"data": "red apple", "user_id": "u"}, {"data": "green pear", "user_id": "u"}],
        ids=["a", "b"],
    )
    assert written == ["a", "b"]
    generated = store.insert(vectors=[embed("blue plum")], payloads=[{"data": "blue plum"}])
    assert len(generated) == 1 and len(generated[0]) == 36  # a uuid4

    got = store.get("a")
    assert isinstance(got, OutputData)
    assert (got.id, got.score, got.payload) == ("a", None, {"data": "red apple", "user_id": "u"})
    assert store.get("nope") is None

    hits = store.search("red apple", embed("red apple"), top_k=2)
    assert [h.id for h in hits][0] == "a"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert all(isinstance(h, OutputData) and h.score is not None and 0.0 <= h.score <= 1.0 for h in hits)
    assert len(hits) == 2
    assert store.search("x", embed("red apple"), top_k=0) == []
    assert [h.id for h in store.search("x", [embed("red apple")], top_k=1)] == ["a"]  # a batch of one

    # payload only: the vector stays
    store.update("a", payload={"data": "still red", "user_id": "v"})
    assert store.get("a").payload == {"data": "still red", "user_id": "v"}  # type: ignore[union-attr]
    assert store.search("", embed("red apple"), top_k=1)[0].score == pytest.approx(1.0, abs=1e-5)
    # vector only: the payload stays
    store.update("a", vector=embed("yellow lemon"))
    assert store.get("a").payload == {"data": "still red", "user_id": "v"}  # type: ignore[union-attr]
    top = store.search("", embed("yellow lemon"), top_k=1)[0]
    assert top.id == "a" and top.score == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError):
        store.update("nope", payload={"data": "x"})

    listed = store.list()
    assert isinstance(listed, list) and len(listed) == 1
    assert {o.id for o in listed[0]} == {"a", "b", generated[0]}
    assert [o.id for o in store.list(filters={"user_id": "u"})[0]] == ["b"]
    assert len(store.list(top_k=2)[0]) == 2

    info = store.col_info()
    assert (info["name"], info["dimension"], info["metric"], info["count"]) == (name, DIM, "cosine", 3)

    store.delete("b")
    store.delete("b")  # absent: no error, as in Mem0's other stores
    assert store.get("b") is None

    store.reset()
    assert store.col_info()["count"] == 0
    assert store.list() == [[]]
    store.delete_col()
    assert name not in store.list_cols()
    assert store.get("a") is None and store.search("", embed("x")) == [] and store.list() == [[]]
    store.delete_col()  # twice: no error


def test_list_pages_and_limits(store: MnemoVectorStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import mnemo_client.mem0 as module

    monkeypatch.setattr(module, "_LIST_PAGE_MAX", 7)  # follow the server's cursor over several pages
    ids = [f"m{i:03d}" for i in range(40)]
    store.insert(
        vectors=[embed(f"memory number {i}") for i in range(40)],
        payloads=[{"data": f"memory number {i}", "parity": i % 2} for i in range(40)],
        ids=ids,
    )
    assert sorted(str(o.id) for o in store.list(top_k=None)[0]) == ids
    assert len(store.list(top_k=23)[0]) == 23
    odd = store.list(filters={"parity": 1}, top_k=1000)[0]
    assert sorted(str(o.id) for o in odd) == ids[1::2]


def test_payloads_round_trip_whole(store: MnemoVectorStore) -> None:
    payload = {
        "data": "x" * 5000,  # over Mnemo's 4096-byte metadata strings
        "user_id": "u",
        "nested": {"a": [1, {"b": None}]},
        "none": None,
        "numbers": [1, 2.5],
        "big": 2**70,
        "flag": False,
        "ratio": 0.25,
        "$odd": "kept in the payload",
        "id": "kept too",
        "unicode": "été ☕",
    }
    store.insert([embed("payload")], [payload], ["p"])
    assert store.get("p").payload == payload  # type: ignore[union-attr]
    assert store.search("", embed("payload"), top_k=1)[0].payload == payload
    metadata = filterable_metadata(payload)
    assert metadata == {"user_id": "u", "flag": False, "ratio": 0.25, "unicode": "été ☕"}
    assert [o.id for o in store.list(filters={"flag": False, "ratio": {"lt": 0.5}})[0]] == ["p"]


def test_memory_written_by_another_client_is_readable(store: MnemoVectorStore, server: Any, name: str) -> None:
    with Mnemo(server.url) as client:
        client.space(name).put("plain", embed("plain text"), text="plain text", metadata={"user_id": "u"})
    assert store.get("plain").payload == {"user_id": "u", "data": "plain text"}  # type: ignore[union-attr]


def test_scores_are_similarities(server: Any, name: str) -> None:
    with MnemoVectorStore(collection_name=name, embedding_model_dims=2, url=server.url) as cosine:
        cosine.insert([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], ids=["same", "orthogonal", "opposite"])
        scores = {h.id: h.score for h in cosine.search("", [1.0, 0.0], top_k=3)}
        assert scores["same"] == pytest.approx(1.0, abs=1e-6)
        assert scores["orthogonal"] == pytest.approx(0.0, abs=1e-6)
        assert scores["opposite"] == 0.0  # cosine -1, clamped
    with MnemoVectorStore(collection_name=name + "-l2", embedding_model_dims=2, metric="l2", url=server.url) as l2:
        l2.insert([[0.0, 0.0], [3.0, 4.0]], ids=["origin", "far"])
        scores = {h.id: h.score for h in l2.search("", [0.0, 0.0], top_k=2)}
        assert scores["origin"] == pytest.approx(1.0)
        assert scores["far"] == pytest.approx(1.0 / 26.0)  # squared distance 25


def test_dimension_from_space_or_first_vector(server: Any, name: str) -> None:
    lazy = MnemoVectorStore(collection_name=name, url=server.url)
    assert lazy.get("x") is None and lazy.search("", [1.0, 2.0, 3.0]) == [] and lazy.list() == [[]]
    assert name not in lazy.list_cols()
    lazy.insert([[1.0, 2.0, 3.0]], [{"data": "d"}], ["x"])
    assert lazy.col_info()["dimension"] == 3
    again = MnemoVectorStore(collection_name=name, url=server.url)
    assert again.embedding_model_dims == 3 and again.get("x") is not None
    with pytest.raises(ValueError, match="dimension 3"):
        MnemoVectorStore(collection_name=name, embedding_model_dims=4, url=server.url)
    for s in (lazy, again):
        s.close()


def test_space_dropped_by_another_store(server: Any, name: str) -> None:
    with (
        MnemoVectorStore(collection_name=name, embedding_model_dims=3, url=server.url) as one,
        MnemoVectorStore(collection_name=name, url=server.url) as two,
    ):
        one.insert([[1.0, 0.0, 0.0]], [{"data": "a"}], ["a"])
        assert two.get("a") is not None
        one.delete_col()
        assert two.search("", [1.0, 0.0, 0.0]) == [] and two.list() == [[]] and two.get("a") is None
        two.delete("a")  # no error
        two.insert([[0.0, 1.0, 0.0]], [{"data": "b"}], ["b"])  # made again, with the known dimension
        assert [o.id for o in one.list()[0]] == ["b"]


def test_config_is_validated() -> None:
    register()
    config = MnemoConfig(collection_name="c", embedding_model_dims=8)
    assert config.url == "http://127.0.0.1:7600" and config.metric == "cosine"
    with pytest.raises(ValueError):
        MnemoConfig(collection_name="c", host="somewhere")  # type: ignore[call-arg]
    from mem0.vector_stores.configs import VectorStoreConfig

    parsed = VectorStoreConfig(provider="mnemo", config={"collection_name": "c", "embedding_model_dims": 8})
    assert isinstance(parsed.config, MnemoConfig)
    register()  # idempotent
    with pytest.raises(ValueError):
        VectorStoreConfig(provider="mnemo", config={"collection_name": "c", "metric": "hamming"})


def test_token_prefix_isolates_tenants(auth_server: Any, providers: None, tmp_path: Path) -> None:
    with Mnemo(auth_server.url, token=auth_server.admin_key) as admin:
        token_a = admin.create_token(prefix="tenant-a/", scopes=("read", "write", "admin"))
    memory_a = Memory.from_config(memory_config(auth_server.url, "tenant-a/mem0", tmp_path / "a.db", token_a))
    config_b = memory_config(auth_server.url, "tenant-b/mem0", tmp_path / "b.db", auth_server.admin_key)
    memory_b = Memory.from_config(config_b)
    add_all(memory_a, "same-user", ["tenant A's secret"])
    b_ids = add_all(memory_b, "same-user", ["tenant B's secret"])
    assert texts(memory_a.get_all(filters={"user_id": "same-user"})["results"]) == {"tenant A's secret"}
    assert texts(memory_b.get_all(filters={"user_id": "same-user"})["results"]) == {"tenant B's secret"}
    assert memory_a.get(b_ids[0]) is None  # another space: the id does not resolve
    from mnemo_client import Forbidden

    with pytest.raises(Forbidden):  # tenant A's token cannot even open tenant B's collection
        MnemoVectorStore(collection_name="tenant-b/mem0", url=auth_server.url, token=token_a)
    with pytest.raises(Forbidden):
        memory_a.vector_store.create_col("tenant-b/other", DIM)
    for m in (memory_a, memory_b):
        m.close()
        m.vector_store.close()


# -- filters, without a server -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mem0_filter", "mnemo_filter"),
    [
        (None, None),
        ({}, None),
        ({"user_id": "alice"}, {"user_id": "alice"}),
        ({"user_id": "alice", "agent_id": "a"}, {"user_id": "alice", "agent_id": "a"}),
        ({"n": 5, "ok": True, "r": 0.5}, {"n": 5, "ok": True, "r": 0.5}),
        ({"kind": ["a", "b"]}, {"kind": {"$in": ["a", "b"]}}),
        ({"kind": "*"}, {"kind": {"$exists": True}}),
        ({"n": {"gte": 1, "lt": 9}}, {"n": {"$gte": 1, "$lt": 9}}),
        ({"n": {"$gt": 1}}, {"n": {"$gt": 1}}),
        (
            {"k": {"eq": "x"}, "l": {"ne": "y"}, "m": {"in": [1]}, "o": {"nin": [2]}},
            {"k": {"$eq": "x"}, "l": {"$ne": "y"}, "m": {"$in": [1]}, "o": {"$nin": [2]}},
        ),
        ({"t": {"contains": "ab", "icontains": "AB"}}, {"t": {"$contains": "ab", "$icontains": "AB"}}),
        ({"created_at": {"gte": "2026-01-01T00:00:00+00:00"}}, {"created_at": {"$gte": "2026-01-01T00:00:00+00:00"}}),
        ({"AND": [{"a": 1}, {"b": 2}]}, {"a": 1, "b": 2}),
        ({"a": 1, "AND": [{"a": {"gt": 0}}]}, {"$and": [{"a": 1}, {"a": {"$gt": 0}}]}),
        ({"OR": [{"a": 1}, {"b": 2}]}, {"$or": [{"a": 1}, {"b": 2}]}),
        ({"$or": [{"a": 1}]}, {"a": 1}),
        ({"OR": [{"a": 1}, {}]}, None),
        ({"OR": [{"a": 1}], "$or": [{"a": 1}]}, {"a": 1}),
        ({"NOT": [{"a": 1}]}, {"$not": {"a": 1}}),
        ({"NOT": [{"a": 1}, {"b": 2}]}, {"$and": [{"$not": {"a": 1}}, {"$not": {"b": 2}}]}),
        ({"$not": [{"a": {"in": [1, 2]}}], "u": "x"}, {"$not": {"a": {"$in": [1, 2]}}, "u": "x"}),
        ({"OR": [{"AND": [{"a": 1}, {"b": 2}]}, {"NOT": [{"c": 3}]}]}, {"$or": [{"a": 1, "b": 2}, {"$not": {"c": 3}}]}),
    ],
)
def test_filter_translation(mem0_filter: Any, mnemo_filter: Any) -> None:
    assert to_mnemo_filter(mem0_filter) == mnemo_filter


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"a": {"regex": "x"}}, "unsupported operator 'regex'"),
        ({"a": {"between": [1, 2]}}, "unsupported operator 'between'"),
        ({"$nor": [{"a": 1}]}, "unsupported logical operator '\\$nor'"),
        ({"a": None}, "None is no filter value"),
        ({"a": {"in": "x"}}, "expects a list"),
        ({"a": {"contains": 3}}, "expects a string"),
        ({"a": {"gt": True}}, "expects a number or a string"),
        ({"a": {"gt": [1]}}, "expects a number or a string"),
        ({"a": {"eq": {"b": 1}}}, "must be a string, number or bool"),
        ({"a": {}}, "at least one operator"),
        ({"a": float("nan")}, "not a finite number"),
        ({"a": 2**64}, "int64"),
        ({"OR": []}, "at least one filter"),
        ({"OR": "a"}, "expects a list"),
        ({"AND": ["a"]}, "must be an object"),
        ({"createdAt": {"gt": 1}}, "created_at"),
    ],
)
def test_filter_errors(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(MnemoFilterError, match=message):
        to_mnemo_filter(bad)


def test_unsupported_operator_raises_before_any_request(store: MnemoVectorStore) -> None:
    with pytest.raises(MnemoFilterError, match="regex"):
        store.search("q", embed("q"), filters={"user_id": "u", "x": {"regex": ".*"}})
    with pytest.raises(MnemoFilterError, match="regex"):
        store.list(filters={"x": {"regex": ".*"}})
