"""MnemoVectorStore beyond the standard suite: metadata mapping, filters, scores, MMR, retrievers.

Proves, against a real `mnemo serve --dev` (the `server` fixture of conftest.py) with
deterministic fake embeddings (no network):
- metadata of every Mnemo type round-trips, keys Mnemo reserves (`id`, `createdAt`, `$...`) and
  `~...` keys are stored escaped and read back as given; values Mnemo cannot hold raise before
  anything is sent;
- every LangChain filter form that maps returns exactly the expected documents from the
  server, and every form that does not map raises before any request;
- scores are cosine distances (numpy's 1 - cosine similarity), relevances 1 - distance;
- MMR trades relevance for diversity; `as_retriever` works for similarity, MMR and threshold
  searches, sync and async;
- delete by ids, by filter and of everything; ids repeated in one call; thousands of ids
  (several `$in` chunks); dimension mismatches; the async path on AsyncMnemo, on two event
  loops, and the executor fallback when only a sync client is given.
"""

from __future__ import annotations

import asyncio
import gc
import math
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding

from mnemo_client import Forbidden, Mnemo, NotFound, Unauthorized
from mnemo_client.langchain import (
    MnemoVectorStore,
    decode_metadata,
    encode_metadata,
    field_name,
    translate_filter,
)

pytestmark = pytest.mark.filterwarnings("ignore:The test <Function .*is not an async function")

DIMENSION = 16


def embeddings() -> DeterministicFakeEmbedding:
    """LangChain's deterministic fake embeddings: one fixed random vector per text."""
    return DeterministicFakeEmbedding(size=DIMENSION)


def url_of(server: object) -> str:
    """The URL of conftest's `server` fixture."""
    return str(getattr(server, "url"))


@pytest.fixture
def store(server: object) -> Iterator[MnemoVectorStore]:
    """A store on a fresh space, dropped afterwards."""
    s = MnemoVectorStore(embeddings(), space=f"lc/{uuid.uuid4().hex[:12]}", url=url_of(server))
    yield s
    s.delete_space()
    s.close()


@pytest_asyncio.fixture
async def astore(server: object) -> AsyncIterator[MnemoVectorStore]:
    """A store on a fresh space for async tests, dropped afterwards."""
    s = MnemoVectorStore(embeddings(), space=f"lc/{uuid.uuid4().hex[:12]}", url=url_of(server))
    yield s
    s.delete_space()
    await s.aclose()


# ---- metadata mapping (no server)


def test_field_names_escape_reserved_keys_one_to_one() -> None:
    assert field_name("kind") == "kind"
    assert field_name("id") == "~id"
    assert field_name("createdAt") == "~createdAt"
    assert field_name("$x") == "~$x"
    assert field_name("~x") == "~~x"
    assert field_name("ids") == "ids"
    keys = ["id", "createdAt", "$x", "~x", "~~", "x~", "kind", "~id"]
    stored = [field_name(k) for k in keys]
    assert len(set(stored)) == len(keys)
    assert decode_metadata({s: 1 for s in stored}) == {k: 1 for k in keys}
    with pytest.raises(ValueError):
        field_name("")
    with pytest.raises(TypeError):
        field_name(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        (None, TypeError, "NoneType"),
        ({"a": 1}, TypeError, "dict"),
        ([1, 2], TypeError, "int"),
        (["a", None], TypeError, "NoneType"),
        (b"raw", TypeError, "bytes"),
        (float("nan"), ValueError, "not finite"),
        (float("inf"), ValueError, "not finite"),
        (2**63, ValueError, "int64"),
    ],
)
def test_metadata_values_mnemo_cannot_hold_raise(value: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words) as info:
        encode_metadata({"field": value})
    assert "'field'" in str(info.value)


def test_metadata_values_mnemo_holds_pass() -> None:
    given = {"s": "x", "i": -(2**63), "f": 2.5, "b": False, "l": ["a", "b"], "t": ("c",), "e": [], "n": np.int64(7)}
    assert encode_metadata(given) == {
        "s": "x", "i": -(2**63), "f": 2.5, "b": False, "l": ["a", "b"], "t": ["c"], "e": [], "n": 7,
    }
    assert encode_metadata(None) == {}


# ---- filter translation (no server)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"kind": "fact"}, {"kind": "fact"}),
        ({"id": 3}, {"~id": 3}),
        ({"n": {"$gte": 1, "$lt": 5}}, {"n": {"$gte": 1, "$lt": 5}}),
        ({"n": {"$between": [1, 5]}}, {"n": {"$gte": 1, "$lte": 5}}),
        ({"t": {"$like": "%ab%"}}, {"t": {"$contains": "ab"}}),
        ({"t": {"$ilike": "%Ab%"}}, {"t": {"$icontains": "Ab"}}),
        ({"$nor": [{"a": 1}]}, {"$not": {"$or": [{"a": 1}]}}),
        ({"$not": {"a": 1}, "$nor": [{"b": 2}]}, {"$and": [{"$not": {"a": 1}}, {"$not": {"$or": [{"b": 2}]}}]}),
        ({"$or": [{"a": {"$in": [1, "x", True]}}, {"b": {"$exists": False}}]},
         {"$or": [{"a": {"$in": [1, "x", True]}}, {"b": {"$exists": False}}]}),
        ({}, None),
        (None, None),
    ],
)
def test_filters_that_map(given: Any, expected: Any) -> None:
    assert translate_filter(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        {"kind": None},
        {"kind": ["a", "b"]},
        {"meta": {"nested": 1}},
        {"kind": {"$regex": "x"}},
        {"$xor": [{"a": 1}]},
        {"$and": []},
        {"$or": {"a": 1}},
        {"t": {"$like": "ab%"}},
        {"t": {"$like": "%a_b%"}},
        {"n": {"$gt": True}},
        {"n": {}},
        {"kind": {"$in": "fact"}},
        {"kind": {"$exists": 1}},
        {"n": {"$between": [1]}},
        {"n": float("nan")},
        {"d": {"$eq": object()}},
    ],
)
def test_filters_that_do_not_map_raise(given: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        translate_filter(given)


def test_function_filters_raise() -> None:
    with pytest.raises(TypeError, match="function"):
        translate_filter(lambda doc: True)  # type: ignore[arg-type]


def test_bad_filter_raises_before_any_request() -> None:
    # Port 9 (discard) has no server: a request would be a connection error, not ValueError.
    s = MnemoVectorStore(embeddings(), space="never", url="http://127.0.0.1:9", timeout=1.0)
    with pytest.raises(ValueError):
        s.similarity_search("q", filter={"kind": None})
    with pytest.raises(TypeError):
        s.add_texts(["t"], metadatas=[{"nested": {"a": 1}}])
    with pytest.raises(TypeError):
        s.similarity_search("q", filters={"kind": "x"})
    with pytest.raises(ValueError):
        s.delete()
    s.close()


# ---- against the server


def test_metadata_round_trips_and_reserved_keys_are_escaped(store: MnemoVectorStore, server: object) -> None:
    metadata = {
        "id": 7, "createdAt": "yesterday", "$op": True, "~t": "tilde", "s": "é", "f": 2.5,
        "neg": -(2**63), "b": False, "tags": ["x", "y"], "empty": [],
    }
    [doc_id] = store.add_texts(["hello"], metadatas=[metadata], ids=["m-1"])
    assert doc_id == "m-1"
    [doc] = store.get_by_ids(["m-1"])
    assert doc == Document(id="m-1", page_content="hello", metadata=metadata)
    with Mnemo(url_of(server)) as client:
        stored = client.space(store.space_name).get("m-1").metadata
    assert stored["~id"] == 7 and stored["~createdAt"] == "yesterday"
    assert stored["~$op"] is True and stored["~~t"] == "tilde"
    assert "id" not in stored


def test_unstorable_metadata_writes_nothing(store: MnemoVectorStore, server: object) -> None:
    with pytest.raises(TypeError, match="'nested'"):
        store.add_texts(["a", "b"], metadatas=[{"ok": 1}, {"nested": {"x": 1}}])
    with Mnemo(url_of(server)) as client, pytest.raises(NotFound):
        client.space(store.space_name).info()  # not even the space was created


DOCS = [
    Document(
        id="d0", page_content="zero",
        metadata={"kind": "fact", "n": 1, "score": 0.5, "tags": ["x"], "flag": True, "id": 10},
    ),
    Document(
        id="d1", page_content="one", metadata={"kind": "pref", "n": 2, "score": 1.5, "tags": ["x", "y"], "flag": False}
    ),
    Document(
        id="d2", page_content="two",
        metadata={"kind": "fact", "n": 3, "score": 2.5, "tags": [], "title": "Travel plans"},
    ),
    Document(id="d3", page_content="three", metadata={"kind": "chat", "n": 4, "tags": ["y"], "title": "travel light"}),
    Document(id="d4", page_content="four", metadata={}),
]

DOC_IDS = [str(d.id) for d in DOCS]

FILTER_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"kind": "fact"}, {"d0", "d2"}),
    ({"kind": {"$eq": "fact"}}, {"d0", "d2"}),
    ({"kind": {"$ne": "fact"}}, {"d1", "d3", "d4"}),
    ({"n": {"$gt": 1, "$lte": 3}}, {"d1", "d2"}),
    ({"n": {"$between": [2, 4]}}, {"d1", "d2", "d3"}),
    ({"n": 2.0}, {"d1"}),
    ({"score": {"$lt": 2}}, {"d0", "d1"}),
    ({"kind": {"$in": ["pref", "chat"]}}, {"d1", "d3"}),
    ({"kind": {"$nin": ["fact"]}}, {"d1", "d3", "d4"}),
    ({"score": {"$exists": False}}, {"d3", "d4"}),
    ({"tags": {"$contains": "y"}}, {"d1", "d3"}),
    ({"tags": "x"}, {"d0", "d1"}),
    ({"title": {"$like": "%ravel%"}}, {"d2", "d3"}),
    ({"title": {"$ilike": "%TRAVEL%"}}, {"d2", "d3"}),
    ({"flag": True}, {"d0"}),
    ({"id": 10}, {"d0"}),
    ({"$or": [{"kind": "chat"}, {"flag": True}]}, {"d0", "d3"}),
    ({"$and": [{"kind": "fact"}, {"n": {"$gte": 3}}]}, {"d2"}),
    ({"$not": {"kind": "fact"}}, {"d1", "d3", "d4"}),
    ({"$nor": [{"kind": "fact"}, {"kind": "pref"}]}, {"d3", "d4"}),
    ({}, {"d0", "d1", "d2", "d3", "d4"}),
]


@pytest.fixture
def filled(store: MnemoVectorStore) -> MnemoVectorStore:
    """The store holding DOCS."""
    assert store.add_documents(DOCS) == DOC_IDS
    return store


@pytest.mark.parametrize(("given", "expected"), FILTER_CASES)
def test_filters_select_exactly_the_matches(
    filled: MnemoVectorStore, given: dict[str, Any], expected: set[str]
) -> None:
    found = filled.similarity_search("zero", k=10, filter=given)
    assert {d.id for d in found} == expected
    by_id = {d.id: d for d in DOCS}
    assert all(d == by_id[d.id] for d in found)


def test_filter_on_every_search_method(filled: MnemoVectorStore) -> None:
    flt = {"kind": "fact"}
    vector = embeddings().embed_query("zero")
    assert {d.id for d in filled.similarity_search_by_vector(vector, k=10, filter=flt)} == {"d0", "d2"}
    assert {d.id for d, _ in filled.similarity_search_with_score("zero", k=10, filter=flt)} == {"d0", "d2"}
    assert {d.id for d in filled.max_marginal_relevance_search("zero", k=10, fetch_k=10, filter=flt)} == {"d0", "d2"}
    assert filled.similarity_search("zero", k=10, filter={"kind": "nothing"}) == []


def test_scores_are_cosine_distances(filled: MnemoVectorStore) -> None:
    emb = embeddings()
    query = emb.embed_query("zero")
    results = filled.similarity_search_with_score("zero", k=5)
    assert [d.id for d, _ in results][0] == "d0"
    distances = [score for _, score in results]
    assert distances == sorted(distances)
    assert distances[0] == pytest.approx(0.0, abs=1e-5)
    q = np.asarray(query)
    for doc, distance in results:
        v = np.asarray(emb.embed_query(doc.page_content))
        cosine = float(q @ v / (np.linalg.norm(q) * np.linalg.norm(v)))
        assert distance == pytest.approx(1.0 - cosine, abs=1e-5)
    relevances = filled.similarity_search_with_relevance_scores("zero", k=5)
    assert [d.id for d, _ in relevances] == [d.id for d, _ in results]
    for (_, distance), (_, relevance) in zip(results, relevances):
        # the cosine similarity, clipped to LangChain's [0, 1] (random fake vectors are often opposed)
        assert relevance == pytest.approx(min(1.0, max(0.0, 1.0 - distance)), abs=1e-6)
        assert 0.0 <= relevance <= 1.0
    assert any(distance > 1.0 for _, distance in results)  # the clipping above was exercised


def test_l2_relevance(server: object) -> None:
    s = MnemoVectorStore(embeddings(), space=f"lc/{uuid.uuid4().hex[:12]}", url=url_of(server), metric="l2")
    try:
        s.add_texts(["a", "b"])
        [(doc, distance)] = s.similarity_search_with_score("b", k=1)
        assert doc.page_content == "b" and distance == pytest.approx(0.0, abs=1e-4)
        [(_, relevance)] = s.similarity_search_with_relevance_scores("b", k=1)
        assert relevance == pytest.approx(1.0, abs=1e-2)
        far = s.similarity_search_with_score("b", k=2)[1][1]
        a, b = np.asarray(embeddings().embed_query("a")), np.asarray(embeddings().embed_query("b"))
        assert far == pytest.approx(float(np.sum((a - b) ** 2)), rel=1e-4)  # squared Euclidean
    finally:
        s.delete_space()
        s.close()


def test_mmr_prefers_diversity(store: MnemoVectorStore) -> None:
    store.add_texts(["apple", "apple", "apple", "pear", "plum"], ids=["a1", "a2", "a3", "p", "q"])
    plain = store.similarity_search("apple", k=2)
    assert {d.page_content for d in plain} == {"apple"}
    diverse = store.max_marginal_relevance_search("apple", k=2, fetch_k=5, lambda_mult=0.25)
    assert diverse[0].page_content == "apple"
    assert diverse[1].page_content in {"pear", "plum"}
    only_relevance = store.max_marginal_relevance_search("apple", k=3, fetch_k=5, lambda_mult=1.0)
    assert {d.id for d in only_relevance} == {"a1", "a2", "a3"}


def test_retrievers(filled: MnemoVectorStore) -> None:
    retriever = filled.as_retriever(search_kwargs={"k": 2, "filter": {"kind": "fact"}})
    docs = retriever.invoke("two")
    assert [d.id for d in docs] == ["d2", "d0"]
    mmr = filled.as_retriever(search_type="mmr", search_kwargs={"k": 3, "fetch_k": 5})
    assert len({d.id for d in mmr.invoke("one")}) == 3
    threshold = filled.as_retriever(
        search_type="similarity_score_threshold", search_kwargs={"k": 5, "score_threshold": 0.99}
    )
    assert [d.id for d in threshold.invoke("three")] == ["d3"]


@pytest.mark.asyncio
async def test_retriever_async(astore: MnemoVectorStore) -> None:
    await astore.aadd_documents(DOCS)
    retriever = astore.as_retriever(search_kwargs={"k": 1, "filter": {"kind": "pref"}})
    assert [d.id for d in await retriever.ainvoke("zero")] == ["d1"]
    mmr = astore.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 5, "filter": {"n": {"$lt": 4}}})
    assert {d.id for d in await mmr.ainvoke("zero")} <= {"d0", "d1", "d2"}
    assert astore._async_client is not None  # the async path went through AsyncMnemo


@pytest.mark.asyncio
async def test_async_methods(astore: MnemoVectorStore) -> None:
    given: list[str | None] = ["a", None, "c"]  # add_documents passes None for documents without an id
    ids = await astore.aadd_texts(
        ["alpha", "beta", "gamma"], metadatas=[{"k": 1}, {"k": 2}, {"k": 3}], ids=given  # type: ignore[arg-type]
    )
    assert ids[0] == "a" and ids[2] == "c" and uuid.UUID(ids[1]).version == 4
    hits = await astore.asimilarity_search_with_score("beta", k=1)
    assert hits[0][0] == Document(id=ids[1], page_content="beta", metadata={"k": 2})
    gamma = embeddings().embed_query("gamma")
    by_vector = await astore.asimilarity_search_by_vector(gamma, k=1, filter={"k": {"$gte": 2}})
    assert [d.id for d in by_vector] == ["c"]
    assert [d.id for d in await astore.amax_marginal_relevance_search("alpha", k=1)] == ["a"]
    assert [d.id for d in await astore.aget_by_ids(["c", "missing", "a"])] == ["c", "a"]
    assert await astore.adelete(filter={"k": {"$lt": 3}}) is True
    assert [d.id for d in await astore.aget_by_ids(ids)] == ["c"]


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_async_on_two_event_loops(server: object) -> None:
    store = MnemoVectorStore(embeddings(), space=f"lc/{uuid.uuid4().hex[:12]}", url=url_of(server))

    async def add() -> list[str]:
        return await store.aadd_texts(["x"], ids=["x"])

    async def find() -> list[Document]:
        try:
            return await store.asimilarity_search("x", k=1)
        finally:
            await store.aclose()

    asyncio.run(add())  # never closed: its connections die with the first loop
    assert [d.id for d in asyncio.run(find())] == ["x"]  # a fresh AsyncMnemo on the second loop
    gc.collect()  # the first client's transports warn here, under this test's filters
    with Mnemo(url_of(server)) as client:
        client.delete_space(store.space_name)


def test_async_falls_back_to_executor_with_only_a_sync_client(server: object) -> None:
    with Mnemo(url_of(server)) as client:
        s = MnemoVectorStore(embeddings(), space=f"lc/{uuid.uuid4().hex[:12]}", client=client)

        async def run() -> list[Document]:
            await s.aadd_texts(["only sync"], ids=["o"])
            return await s.asimilarity_search("only sync", k=1)

        try:
            assert [d.id for d in asyncio.run(run())] == ["o"]
            assert s._async_client is None
        finally:
            s.delete_space()
            s.close()  # does not close a client it was given
        assert client.health()


def test_from_texts_and_from_documents(server: object) -> None:
    name = f"lc/{uuid.uuid4().hex[:12]}"
    s = MnemoVectorStore.from_texts(
        ["t1", "t2"], embeddings(), metadatas=[{"a": 1}, {"a": 2}], ids=["1", "2"], space=name, url=url_of(server)
    )
    try:
        assert [d.id for d in s.similarity_search("t2", k=1)] == ["2"]
        s2 = MnemoVectorStore.from_documents(
            [Document(id="3", page_content="t3")], embeddings(), space=name, url=url_of(server)
        )
        assert [d.page_content for d in s2.get_by_ids(["1", "2", "3"])] == ["t1", "t2", "t3"]
        s2.close()
        async def afrom() -> list[str]:
            s3 = await MnemoVectorStore.afrom_texts(["t4"], embeddings(), ids=["4"], space=name, url=url_of(server))
            try:
                return [str(d.id) for d in await s3.aget_by_ids(["4"])]
            finally:
                await s3.aclose()

        assert asyncio.run(afrom()) == ["4"]
        assert [d.id for d in s.get_by_ids(["4"])] == ["4"]
    finally:
        s.delete_space()
        s.close()


def test_delete_by_ids_filter_and_all(filled: MnemoVectorStore) -> None:
    assert filled.delete(["d0", "missing"]) is True
    assert {d.id for d in filled.get_by_ids(DOC_IDS)} == {"d1", "d2", "d3", "d4"}
    filled.delete(filter={"kind": "fact"})
    assert {d.id for d in filled.get_by_ids(DOC_IDS)} == {"d1", "d3", "d4"}
    with pytest.raises(ValueError):
        filled.delete(["d1"], filter={"kind": "pref"})
    filled.delete(filter={})
    assert filled.similarity_search("one", k=5) == []


def test_reads_and_deletes_before_the_space_exists(store: MnemoVectorStore) -> None:
    assert store.similarity_search("q") == []
    assert store.max_marginal_relevance_search("q") == []
    assert store.get_by_ids(["a"]) == []
    assert store.delete(["a"]) is True
    assert store.similarity_search("q", k=0) == []


def test_repeated_ids_in_one_call_last_wins(store: MnemoVectorStore) -> None:
    ids = store.add_texts(
        ["first", "second", "other"], metadatas=[{"v": 1}, {"v": 2}, {"v": 3}], ids=["same", "same", "o"]
    )
    assert ids == ["same", "same", "o"]
    assert store.get_by_ids(["same", "same"]) == [Document(id="same", page_content="second", metadata={"v": 2})]


def test_thousands_of_ids_span_several_filter_chunks(store: MnemoVectorStore) -> None:
    texts = [f"text {i}" for i in range(2500)]
    ids = store.add_texts(texts)  # uuid4 ids: 2,500 x 39 bytes of $in > one 48 KiB chunk
    assert len(set(ids)) == 2500
    got = store.get_by_ids(list(reversed(ids)))
    assert [d.id for d in got] == list(reversed(ids))
    assert got[-1].page_content == "text 0"
    store.delete(ids[:2000])
    assert [d.id for d in store.get_by_ids(ids)] == ids[2000:]


def test_dimension_mismatch_raises(store: MnemoVectorStore, server: object) -> None:
    store.add_texts(["x"])
    other = MnemoVectorStore(DeterministicFakeEmbedding(size=DIMENSION + 1), space=store.space_name, url=url_of(server))
    with pytest.raises(Exception, match=str(DIMENSION)):
        other.add_texts(["y"])
    other.close()


def test_existing_space_is_used(store: MnemoVectorStore, server: object) -> None:
    store.add_texts(["kept"], ids=["k"])
    again = MnemoVectorStore(embeddings(), space=store.space_name, url=url_of(server))
    assert [d.id for d in again.similarity_search("kept", k=1)] == ["k"]
    again.add_texts(["more"], ids=["m"])
    assert [d.id for d in store.get_by_ids(["k", "m"])] == ["k", "m"]
    again.close()
    relevance = store._select_relevance_score_fn()
    assert math.isclose(relevance(0.25), 0.75) and relevance(1.5) == 0.0 and relevance(-1e-7) == 1.0


def test_tokens_read_write_and_read_only(auth_server: object) -> None:
    """A read/write token writes to a space an admin created (no create-space right needed);
    a read token searches and is refused writes; nothing is written by the refused call."""
    url, admin = url_of(auth_server), str(getattr(auth_server, "admin_key"))
    name = f"lc-auth/{uuid.uuid4().hex[:12]}"
    owner = MnemoVectorStore(embeddings(), space=name, url=url, token=admin)
    owner.add_texts(["from the admin"], ids=["a"])
    with Mnemo(url, token=admin) as client:
        writer_token = client.create_token(space=name, scopes=("read", "write"))
        reader_token = client.create_token(space=name, scopes=("read",))
    writer = MnemoVectorStore(embeddings(), space=name, url=url, token=writer_token)
    reader = MnemoVectorStore(embeddings(), space=name, url=url, token=reader_token)
    anonymous = MnemoVectorStore(embeddings(), space=name, url=url)
    try:
        assert writer.add_texts(["from the writer"], ids=["w"]) == ["w"]
        assert [d.id for d in reader.similarity_search("from the writer", k=1)] == ["w"]
        with pytest.raises(Forbidden):
            reader.add_texts(["from the reader"], ids=["r"])
        with pytest.raises(Forbidden):
            reader.delete(["a"])
        assert [d.id for d in owner.get_by_ids(["a", "w", "r"])] == ["a", "w"]
        with pytest.raises(Unauthorized):
            anonymous.similarity_search("x")
    finally:
        owner.delete_space()
        for s in (owner, writer, reader, anonymous):
            s.close()
