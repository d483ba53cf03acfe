"""LangChain integration: `MnemoVectorStore`, a langchain-core `VectorStore` over one Mnemo space.

Install with the `langchain` extra (`pip install "mnemo-client[langchain]"`), then::

    from mnemo_client.langchain import MnemoVectorStore

    store = MnemoVectorStore(embeddings, space="notes", url="http://127.0.0.1:7600")
    store.add_texts(["The user prefers tea"], metadatas=[{"kind": "preference"}])
    store.similarity_search("what does the user drink?", k=4, filter={"kind": "preference"})
    retriever = store.as_retriever(search_kwargs={"k": 4, "filter": {"kind": "fact"}})

How LangChain's model maps onto Mnemo's (docs/python.md, "LangChain", says the same for users):

- one store binds one space, created on the first write with the dimension of the first
  embedding and the store's metric (cosine unless told otherwise); reads of a space that does
  not exist yet answer nothing rather than fail;
- `Document.id` is the memory id (a uuid4 when the document has none), `page_content` the
  memory's text, `metadata` its metadata document; writes are upserts, so adding a document
  whose id exists replaces it whole;
- metadata values are strings, ints (int64), finite floats, bools and lists of strings, the
  types a Mnemo metadata document holds; anything else (None, nested dicts, lists of
  non-strings, dates, ...) raises `TypeError` naming the field instead of being altered;
- Mnemo reserves the field names `id` and `createdAt` and names starting with `$`, while
  LangChain metadata commonly has an `id`: such a key (and any key starting with `~`, so the
  mapping stays one-to-one) is stored with a `~` in front and read back without it, and filters
  name fields the same way;
- `similarity_search_with_score` returns the metric's distance (lower is closer; cosine:
  1 - cosine similarity, in [0, 2]), like Chroma and PGVector; `similarity_search_with_relevance_scores`
  turns it into a relevance in [0, 1] (cosine: the cosine similarity, 1 - distance, clipped at 0);
- `filter` takes LangChain's (MongoDB-style) dict filters and translates them to Mnemo's filter
  language (docs/filters.md); see `translate_filter` for what maps and what raises.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from mnemo_client import AsyncMnemo, Hit, Memory, Mnemo, NotFound

__all__ = [
    "MnemoVectorStore",
    "decode_metadata",
    "encode_metadata",
    "field_name",
    "translate_filter",
]

#: The prefix that keeps LangChain metadata keys clear of names Mnemo reserves.
ESCAPE = "~"
#: Mnemo's built-in fields; metadata cannot use these names (docs/filters.md).
RESERVED_FIELDS = frozenset({"id", "createdAt"})
#: The largest k the server accepts in a search (openapi.json, SearchRequest.k).
K_MAX = 32768
#: Ids per `{"id": {"$in": [...]}}` filter are bounded by the filter's 64 KiB text limit; a
#: chunk stops well below it.
_ID_CHUNK_BYTES = 48 * 1024
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------
# Metadata and filters: pure functions, shared by the sync and async paths.


def field_name(key: str) -> str:
    """The Mnemo field name under which the LangChain metadata key `key` is stored.

    `id`, `createdAt`, keys starting with `$` (all reserved by Mnemo) and keys starting with
    `~` get a `~` in front; every other key is stored as it is. Raises `TypeError` for a
    non-string key and `ValueError` for the empty key, which no Mnemo document can hold.
    """
    if not isinstance(key, str):
        raise TypeError(f"metadata keys must be strings, got {type(key).__name__} {key!r}")
    if key == "":
        raise ValueError("metadata key '' is not allowed: Mnemo field names are 1 to 64 bytes")
    if key in RESERVED_FIELDS or key.startswith(("$", ESCAPE)):
        return ESCAPE + key
    return key


def metadata_key(name: str) -> str:
    """The LangChain metadata key of the stored Mnemo field `name` (the inverse of `field_name`)."""
    return name[len(ESCAPE) :] if name.startswith(ESCAPE) else name


def _metadata_value(key: str, value: Any) -> Any:
    """`value` as Mnemo stores it, or a `TypeError`/`ValueError` naming `key`."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"metadata field {key!r}: {value} does not fit an int64")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"metadata field {key!r}: {value} is not finite")
        return value
    if isinstance(value, (list, tuple)):
        if all(isinstance(item, str) for item in value):
            return list(value)
        kinds = sorted({type(item).__name__ for item in value if not isinstance(item, str)})
        raise TypeError(
            f"metadata field {key!r}: a list may hold only strings in Mnemo, this one holds "
            f"{', '.join(kinds)}"
        )
    raise TypeError(
        f"metadata field {key!r}: {type(value).__name__} values cannot be stored in Mnemo "
        "(string, int, float, bool and list of strings can); flatten or drop the field first, "
        "e.g. with langchain_community.vectorstores.utils.filter_complex_metadata"
    )


def encode_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A LangChain metadata dict as a Mnemo metadata document (keys mapped by `field_name`).

    Raises `TypeError` for a value Mnemo cannot hold (None, dict, list of non-strings, other
    objects) and `ValueError` for NaN, infinities and ints outside int64, naming the key. The
    server still checks its own limits (64 fields, 4096-byte strings, 16 KiB in all).
    """
    if not metadata:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    return {field_name(key): _metadata_value(key, value) for key, value in metadata.items()}


def decode_metadata(document: Mapping[str, Any]) -> dict[str, Any]:
    """A stored Mnemo metadata document as LangChain metadata (the inverse of `encode_metadata`)."""
    return {metadata_key(name): value for name, value in document.items()}


_COMPARISONS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})
_ORDERINGS = frozenset({"$gt", "$gte", "$lt", "$lte"})


def _scalar(where: str, value: Any, *, ordered: bool = False) -> Any:
    """A filter operand: string, finite number or (unless `ordered`) bool."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        if ordered:
            raise ValueError(f"filter {where}: a bool cannot be ordered")
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"filter {where}: {value} does not fit an int64")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"filter {where}: {value} is not finite")
        return value
    if value is None:
        raise ValueError(f"filter {where}: None is no operand in Mnemo; use {{'$exists': False}}")
    raise TypeError(
        f"filter {where}: operands are strings, numbers or bools, got {type(value).__name__}"
    )


def _like(where: str, pattern: Any) -> str:
    """The substring of a `%text%` LIKE pattern, the only LIKE shape Mnemo can answer."""
    if not isinstance(pattern, str):
        raise TypeError(f"filter {where}: the pattern must be a string")
    inner = pattern[1:-1] if len(pattern) >= 2 and pattern[0] == "%" and pattern[-1] == "%" else None
    if inner is None or "%" in inner or "_" in inner:
        raise ValueError(
            f"filter {where}: only '%text%' patterns (a substring, without '_') map to Mnemo; "
            f"got {pattern!r}"
        )
    return inner


def _condition(key: str, value: Any) -> Any:
    """The Mnemo condition for the LangChain condition `value` on field `key`."""
    if isinstance(value, Mapping):
        if not value:
            raise ValueError(f"filter field {key!r}: an empty condition {{}} matches nothing sensible")
        out: dict[str, Any] = {}

        def put(op: str, operand: Any) -> None:
            if op in out:
                raise ValueError(f"filter field {key!r}: {op} given twice (through $between?)")
            out[op] = operand

        for op, operand in value.items():
            where = f"field {key!r} {op}"
            if not isinstance(op, str) or not op.startswith("$"):
                raise ValueError(
                    f"filter field {key!r}: nested field {op!r}: metadata is flat in Mnemo, "
                    "a condition holds only operators ($eq, $in, ...)"
                )
            if op in _COMPARISONS:
                put(op, _scalar(where, operand, ordered=op in _ORDERINGS))
            elif op in ("$in", "$nin"):
                if not isinstance(operand, (list, tuple)):
                    raise TypeError(f"filter {where}: the operand must be a list")
                put(op, [_scalar(where, item) for item in operand])
            elif op == "$exists":
                if not isinstance(operand, bool):
                    raise TypeError(f"filter {where}: the operand must be a bool")
                put(op, operand)
            elif op in ("$contains", "$icontains"):
                if not isinstance(operand, str):
                    raise TypeError(f"filter {where}: the operand must be a string")
                put(op, operand)
            elif op in ("$like", "$ilike"):
                put("$contains" if op == "$like" else "$icontains", _like(where, operand))
            elif op == "$between":
                if not isinstance(operand, (list, tuple)) or len(operand) != 2:
                    raise TypeError(f"filter {where}: the operand must be [low, high]")
                put("$gte", _scalar(where, operand[0], ordered=True))
                put("$lte", _scalar(where, operand[1], ordered=True))
            else:
                raise ValueError(
                    f"filter {where}: unsupported operator; Mnemo takes $eq $ne $gt $gte $lt $lte "
                    "$in $nin $exists $contains $icontains (and $like/$ilike '%text%', $between)"
                )
        return out
    if isinstance(value, (list, tuple)):
        raise ValueError(f"filter field {key!r}: a bare list is no condition; use {{'$in': [...]}}")
    return _scalar(f"field {key!r}", value)


def _filter(node: Any, depth: int) -> dict[str, Any]:
    """One filter object, translated; `depth` guards against runaway nesting."""
    if not isinstance(node, Mapping):
        raise TypeError(f"a filter must be a dict, got {type(node).__name__}")
    if depth > 16:
        raise ValueError("filter nested deeper than 16 levels (Mnemo's limit)")
    clauses: list[tuple[str, Any]] = []
    for key, value in node.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, (list, tuple)) or not value:
                raise ValueError(f"filter {key}: the operand must be a non-empty list of filters")
            children = [_filter(child, depth + 1) for child in value]
            if key == "$nor":
                clauses.append(("$not", {"$or": children}))
            else:
                clauses.append((key, children))
        elif key == "$not":
            clauses.append(("$not", _filter(value, depth + 1)))
        elif isinstance(key, str) and key.startswith("$"):
            raise ValueError(
                f"filter operator {key!r} is not supported at filter level ($and, $or, $not, $nor are)"
            )
        else:
            clauses.append((field_name(key), _condition(key, value)))
    names = [name for name, _ in clauses]
    if len(set(names)) == len(names):
        return dict(clauses)
    # Two clauses under one key (a $nor beside a $not): AND them as separate objects.
    return {"$and": [{name: condition} for name, condition in clauses]}


def translate_filter(filter: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A LangChain dict filter as a Mnemo filter (docs/filters.md); `None` and `{}` mean none.

    Maps: `{"k": v}` (equality; v a string, number or bool); `{"k": {"$eq"|"$ne"|"$gt"|"$gte"|
    "$lt"|"$lte": v}}`; `$in`/`$nin` with a list; `$exists` with a bool; `$contains`/`$icontains`
    with a string (substring of a string field, membership in a list of strings); `$like`/`$ilike`
    with a `'%text%'` pattern (to `$contains`/`$icontains`); `$between: [lo, hi]` (to `$gte` and
    `$lte`); `$and`/`$or` with a list of filters, `$not` with a filter, `$nor` with a list (to
    `$not` of `$or`). Field names map as metadata keys do (`id` is the metadata key `id`, not the
    document id). Raises `ValueError` or `TypeError` for everything else: callables, None
    operands (use `$exists`), bare lists (use `$in`), nested field paths, other `$like`
    patterns and unknown operators.
    """
    if filter is None:
        return None
    if callable(filter) and not isinstance(filter, Mapping):
        raise TypeError("MnemoVectorStore filters are dicts; a function filter cannot run on the server")
    translated = _filter(filter, 1)
    return translated or None


# --------------------------------------------------------------------------------------------
# Documents.


def _page_content(text: str | None, content: bytes | None) -> str:
    if text is not None:
        return text
    if content is not None:
        return content.decode("utf-8", errors="replace")
    return ""


def _hit_document(hit: Hit) -> Document:
    return Document(
        id=hit.id,
        page_content=_page_content(hit.text, hit.content),
        metadata=decode_metadata(hit.metadata),
    )


def _memory_document(memory: Memory) -> Document:
    return Document(
        id=memory.id,
        page_content=_page_content(memory.text, memory.content),
        metadata=decode_metadata(memory.metadata),
    )


def _prepare(
    texts: Iterable[str],
    metadatas: Sequence[Mapping[str, Any] | None] | None,
    ids: Sequence[str | None] | None,
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Texts, their ids (uuid4 for each missing one) and their encoded metadata, checked."""
    text_list = list(texts)
    for text in text_list:
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, got {type(text).__name__}")
    if metadatas is not None and len(metadatas) != len(text_list):
        raise ValueError(f"{len(metadatas)} metadatas for {len(text_list)} texts")
    if ids is not None and len(ids) != len(text_list):
        raise ValueError(f"{len(ids)} ids for {len(text_list)} texts")
    id_list: list[str] = []
    for given in ids if ids is not None else [None] * len(text_list):
        if given is None or given == "":
            id_list.append(str(uuid.uuid4()))
        elif isinstance(given, str):
            id_list.append(given)
        else:
            raise TypeError(f"document ids must be strings, got {type(given).__name__} {given!r}")
    documents = [encode_metadata(m) for m in metadatas] if metadatas is not None else [{}] * len(text_list)
    return text_list, id_list, documents


def _memories(
    ids: Sequence[str],
    texts: Sequence[str],
    vectors: Sequence[Sequence[float]],
    metadatas: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The batch items; when an id repeats, its last occurrence wins (an upsert batch needs
    distinct ids), as if the texts had been added one after another."""
    if len(vectors) != len(texts):
        raise ValueError(f"the embeddings gave {len(vectors)} vectors for {len(texts)} texts")
    last = {memory_id: index for index, memory_id in enumerate(ids)}
    items: list[dict[str, Any]] = []
    for index, memory_id in enumerate(ids):
        if last[memory_id] != index:
            continue
        item: dict[str, Any] = {"id": memory_id, "vector": [float(x) for x in vectors[index]], "text": texts[index]}
        if metadatas[index]:
            item["metadata"] = metadatas[index]
        items.append(item)
    return items


def _chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _id_chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    """Distinct ids in their first order, in chunks whose `$in` filter stays under the filter
    text limit (64 KiB)."""
    seen: set[str] = set()
    chunk: list[str] = []
    size = 0
    for memory_id in ids:
        if not isinstance(memory_id, str):
            raise TypeError(f"document ids must be strings, got {type(memory_id).__name__}")
        if memory_id in seen:
            continue
        seen.add(memory_id)
        cost = len(json.dumps(memory_id)) + 1
        if chunk and size + cost > _ID_CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(memory_id)
        size += cost
    if chunk:
        yield chunk


def _ordered(documents: Iterable[Document], ids: Sequence[str]) -> list[Document]:
    """`documents` in the order of `ids` (first occurrence), each once."""
    by_id = {document.id: document for document in documents}
    out: list[Document] = []
    for memory_id in ids:
        document = by_id.pop(memory_id, None)
        if document is not None:
            out.append(document)
    return out


def _search_options(kwargs: dict[str, Any], method: str) -> tuple[dict[str, Any] | None, int | None]:
    """The Mnemo filter and ef from a search call's keyword arguments; others raise."""
    filter = translate_filter(kwargs.pop("filter", None))
    ef = kwargs.pop("ef", None)
    if ef is not None and (not isinstance(ef, int) or isinstance(ef, bool) or ef < 1):
        raise ValueError(f"ef must be a positive int, got {ef!r}")
    if kwargs:
        raise TypeError(f"{method}() got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
    return filter, ef


def _clip(relevance: float) -> float:
    """`relevance` clipped to LangChain's [0, 1]."""
    return min(1.0, max(0.0, relevance))


# --------------------------------------------------------------------------------------------
# The store.


class MnemoVectorStore(VectorStore):
    """A LangChain vector store over one Mnemo space, reached through `mnemo serve`.

    Args:
        embedding: the LangChain `Embeddings` that turns texts and queries into vectors.
        space: the space's name; it is created on the first write, with the dimension of the
            first embedding, `metric`, `m` and `ef_construction` (an existing space is used as
            it is; a dimension that differs from the embeddings' raises `ValueError`).
        url: the server, when the store makes its own clients.
        token: the bearer credential (admin key or a token with read/write on the space).
        client: a `Mnemo` client to use instead of making one (the store does not close it).
        async_client: an `AsyncMnemo` for the async methods; without one the store makes its own
            from `url` (when it made its sync client) or runs the sync methods in an executor.
        metric: `cosine` (default), `l2` or `ip`, for a space the store creates.
        ef: the default search beam (the server's default is max(k, 64)).
        batch_size: documents per batch request when adding.
        relevance_score_fn: overrides the distance-to-relevance function.
        timeout: request timeout in seconds for the clients the store makes.

    Example::

        store = MnemoVectorStore(embeddings, space="notes")
        ids = store.add_documents([Document(page_content="tea", metadata={"kind": "pref"})])
        store.similarity_search_with_score("drinks", k=2)   # [(Document, cosine distance)]
    """

    def __init__(
        self,
        embedding: Embeddings,
        space: str = "langchain",
        *,
        url: str = "http://127.0.0.1:7600",
        token: str | None = None,
        client: Mnemo | None = None,
        async_client: AsyncMnemo | None = None,
        metric: str = "cosine",
        m: int | None = None,
        ef_construction: int | None = None,
        ef: int | None = None,
        batch_size: int = 500,
        relevance_score_fn: Callable[[float], float] | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Bind the store to `space` on the server (no request is sent until the first call)."""
        if metric not in ("cosine", "l2", "ip"):
            raise ValueError(f"metric must be cosine, l2 or ip, got {metric!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._embedding = embedding
        self._space_name = space
        self._url = url
        self._token = token
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else Mnemo(url, token=token, timeout=timeout)
        self._given_async_client = async_client
        self._async_client: AsyncMnemo | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._metric = metric
        self._m = m
        self._ef_construction = ef_construction
        self._ef = ef
        self._batch_size = batch_size
        self._relevance_score_fn = relevance_score_fn
        # Set once the space is known to exist with this dimension (created or checked).
        self._dimension: int | None = None
        self._space_metric: str | None = None

    # ---- properties and lifecycle

    @property
    def embeddings(self) -> Embeddings:
        """The embeddings the store embeds texts and queries with."""
        return self._embedding

    @property
    def space_name(self) -> str:
        """The name of the space the store is bound to."""
        return self._space_name

    @property
    def client(self) -> Mnemo:
        """The sync client the store uses."""
        return self._client

    def close(self) -> None:
        """Close the sync client if the store made it (an async one: `aclose`)."""
        if self._owns_client:
            self._client.close()

    async def aclose(self) -> None:
        """Close the clients the store made, the async one included."""
        client, loop = self._async_client, self._async_loop
        self._async_client = None
        self._async_loop = None
        # A client made on another event loop (an earlier asyncio.run) cannot be closed from
        # this one; its connections went with that loop.
        if client is not None and loop is asyncio.get_running_loop():
            await client.aclose()
        self.close()

    def delete_space(self) -> None:
        """Drop the whole space (every memory in it); the next write creates it again."""
        try:
            self._client.delete_space(self._space_name)
        except NotFound:
            pass
        self._dimension = None
        self._space_metric = None

    def _aclient(self) -> AsyncMnemo | None:
        """The async client for the running event loop, or None (then: the sync path in an executor).

        A client the store made is bound to the loop it was first used on (httpx pools are);
        on another loop (a second `asyncio.run`) the store makes a fresh one.
        """
        if self._given_async_client is not None:
            return self._given_async_client
        if not self._owns_client:
            return None
        loop = asyncio.get_running_loop()
        if self._async_client is None or self._async_loop is not loop:
            self._async_client = AsyncMnemo(self._url, token=self._token, timeout=self._timeout)
            self._async_loop = loop
        return self._async_client

    # ---- the space

    def _create_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"metric": self._metric, "exist_ok": True}
        if self._m is not None:
            kwargs["m"] = self._m
        if self._ef_construction is not None:
            kwargs["ef_construction"] = self._ef_construction
        return kwargs

    def _check_space(self, dimension: int, space_dimension: int, metric: str) -> None:
        if space_dimension != dimension:
            raise ValueError(
                f"space {self._space_name!r} has dimension {space_dimension} but the embeddings "
                f"give {dimension}"
            )
        self._dimension = dimension
        self._space_metric = metric

    def _ensure_space(self, dimension: int) -> None:
        if self._dimension is not None:
            if dimension != self._dimension:
                raise ValueError(
                    f"space {self._space_name!r} has dimension {self._dimension} but the "
                    f"embeddings give {dimension}"
                )
            return
        # Look first: a token with read/write on an existing space may not create spaces.
        try:
            info = self._client.space(self._space_name).info()
        except NotFound:
            info = self._client.create_space(self._space_name, dimension, **self._create_kwargs()).info()
        self._check_space(dimension, info.dimension, info.metric)

    async def _aensure_space(self, client: AsyncMnemo, dimension: int) -> None:
        if self._dimension is not None:
            if dimension != self._dimension:
                raise ValueError(
                    f"space {self._space_name!r} has dimension {self._dimension} but the "
                    f"embeddings give {dimension}"
                )
            return
        try:
            info = await client.space(self._space_name).info()
        except NotFound:
            space = await client.create_space(self._space_name, dimension, **self._create_kwargs())
            info = await space.info()
        self._check_space(dimension, info.dimension, info.metric)

    # ---- writes

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed `texts` and upsert them with their metadata; returns their ids.

        Missing ids (None or absent) become uuid4 strings. Each batch of `batch_size` documents
        is one all-or-nothing request. Raises `TypeError`/`ValueError` for metadata Mnemo
        cannot hold, before anything is sent.
        """
        if kwargs:
            raise TypeError(f"add_texts() got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        text_list, id_list, documents = _prepare(texts, metadatas, ids)
        if not text_list:
            return []
        vectors = self._embedding.embed_documents(text_list)
        items = _memories(id_list, text_list, vectors, documents)
        self._ensure_space(len(items[0]["vector"]))
        space = self._client.space(self._space_name)
        for batch in _chunks(items, self._batch_size):
            space.add(batch, upsert=True)
        return id_list

    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Async `add_texts` (through `AsyncMnemo` and the embeddings' `aembed_documents`)."""
        client = self._aclient()
        if client is None:
            return await super().aadd_texts(texts, metadatas, ids=ids, **kwargs)
        if kwargs:
            raise TypeError(f"aadd_texts() got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        text_list, id_list, documents = _prepare(texts, metadatas, ids)
        if not text_list:
            return []
        vectors = await self._embedding.aembed_documents(text_list)
        items = _memories(id_list, text_list, vectors, documents)
        await self._aensure_space(client, len(items[0]["vector"]))
        space = client.space(self._space_name)
        for batch in _chunks(items, self._batch_size):
            await space.add(batch, upsert=True)
        return id_list

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete the documents with these ids (absent ids are ignored); returns True.

        `delete(filter={...})` deletes the documents matching a filter instead, and
        `delete(filter={})` every document of the space. `delete()` with neither raises
        `ValueError` rather than empty the space by accident.
        """
        filters = self._delete_filters(ids, kwargs)
        space = self._client.space(self._space_name)
        try:
            for mnemo_filter in filters:
                space.delete_where(mnemo_filter)
        except NotFound:
            pass  # no space yet: nothing to delete
        return True

    async def adelete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Async `delete`."""
        client = self._aclient()
        if client is None:
            return await super().adelete(ids, **kwargs)
        filters = self._delete_filters(ids, kwargs)
        space = client.space(self._space_name)
        try:
            for mnemo_filter in filters:
                await space.delete_where(mnemo_filter)
        except NotFound:
            pass
        return True

    @staticmethod
    def _delete_filters(ids: list[str] | None, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        has_filter = "filter" in kwargs
        raw_filter = kwargs.pop("filter", None)
        if kwargs:
            raise TypeError(f"delete() got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        if ids is not None and has_filter:
            raise ValueError("delete() takes ids or a filter, not both")
        if ids is not None:
            return [{"id": {"$in": chunk}} for chunk in _id_chunks(ids)]
        if not has_filter or raw_filter is None:
            raise ValueError("delete() needs ids, or filter= ({} deletes every document)")
        return [translate_filter(raw_filter) or {}]

    # ---- reads by id

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The documents with these ids, in the order asked, each once; absent ids are skipped."""
        space = self._client.space(self._space_name)
        found: list[Document] = []
        try:
            for chunk in _id_chunks(ids):
                found.extend(_memory_document(m) for m in space.iter(filter={"id": {"$in": chunk}}))
        except NotFound:
            return []
        return _ordered(found, ids)

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Async `get_by_ids`."""
        client = self._aclient()
        if client is None:
            return await super().aget_by_ids(ids)
        space = client.space(self._space_name)
        found: list[Document] = []
        try:
            for chunk in _id_chunks(ids):
                async for memory in space.iter(filter={"id": {"$in": chunk}}):
                    found.append(_memory_document(memory))
        except NotFound:
            return []
        return _ordered(found, ids)

    # ---- searches

    def _search(
        self, vector: Sequence[float], k: int, filter: dict[str, Any] | None, ef: int | None, with_vector: bool
    ) -> list[Hit]:
        if k < 1:
            return []
        include = ("content", "metadata", "vector") if with_vector else ("content", "metadata")
        ef = ef if ef is not None else self._ef
        try:
            return list(
                self._client.space(self._space_name).search(
                    [float(x) for x in vector], k=min(k, K_MAX), ef=ef, filter=filter, include=include
                )
            )
        except NotFound:
            return []  # the space does not exist yet: it holds nothing

    async def _asearch(
        self,
        client: AsyncMnemo,
        vector: Sequence[float],
        k: int,
        filter: dict[str, Any] | None,
        ef: int | None,
        with_vector: bool,
    ) -> list[Hit]:
        if k < 1:
            return []
        include = ("content", "metadata", "vector") if with_vector else ("content", "metadata")
        ef = ef if ef is not None else self._ef
        space = client.space(self._space_name)
        try:
            hits = await space.search(
                [float(x) for x in vector], k=min(k, K_MAX), ef=ef, filter=filter, include=include
            )
        except NotFound:
            return []
        return list(hits)

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """The `k` documents nearest to `query`. Keyword arguments: `filter` (a dict filter,
        see `translate_filter`) and `ef` (the search beam)."""
        return [doc for doc, _ in self.similarity_search_with_score(query, k, **kwargs)]

    async def asimilarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """Async `similarity_search`."""
        return [doc for doc, _ in await self.asimilarity_search_with_score(query, k, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The `k` nearest documents with their DISTANCE to `query`, nearest first.

        The score is the space metric's distance, lower is closer: cosine 1 - cosine similarity
        (0 same direction, 2 opposite), l2 the squared Euclidean distance, ip 1 - dot product.
        `similarity_search_with_relevance_scores` gives higher-is-better relevances instead.
        """
        filter, ef = _search_options(dict(kwargs), "similarity_search_with_score")
        vector = self._embedding.embed_query(query)
        return [(_hit_document(h), h.distance) for h in self._search(vector, k, filter, ef, False)]

    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async `similarity_search_with_score` (same distances)."""
        client = self._aclient()
        if client is None:
            return await super().asimilarity_search_with_score(query, k, **kwargs)
        filter, ef = _search_options(dict(kwargs), "asimilarity_search_with_score")
        vector = await self._embedding.aembed_query(query)
        hits = await self._asearch(client, vector, k, filter, ef, False)
        return [(_hit_document(h), h.distance) for h in hits]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """The `k` documents nearest to the vector `embedding` (`filter`, `ef` as above)."""
        return [doc for doc, _ in self.similarity_search_with_score_by_vector(embedding, k, **kwargs)]

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The `k` documents nearest to the vector `embedding`, with their distances."""
        filter, ef = _search_options(dict(kwargs), "similarity_search_by_vector")
        return [(_hit_document(h), h.distance) for h in self._search(embedding, k, filter, ef, False)]

    async def asimilarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """Async `similarity_search_by_vector`."""
        client = self._aclient()
        if client is None:
            return await super().asimilarity_search_by_vector(embedding, k, **kwargs)
        filter, ef = _search_options(dict(kwargs), "asimilarity_search_by_vector")
        return [_hit_document(h) for h in await self._asearch(client, embedding, k, filter, ef, False)]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """Distance to relevance in [0, 1], higher is better, as LangChain's relevance searches
        and score-threshold retrievers expect: cosine 1 - distance (the cosine similarity), ip
        1 - distance (the dot product), l2 1 - sqrt(distance)/sqrt(2) (LangChain's Euclidean
        rule for unit vectors; Mnemo's l2 distance is squared); each clipped to [0, 1], so
        opposed vectors (a negative cosine) are 0."""
        if self._relevance_score_fn is not None:
            return self._relevance_score_fn
        metric = self._space_metric
        if metric is None:
            try:
                metric = self._client.space(self._space_name).info().metric
            except NotFound:
                metric = self._metric
        if metric == "l2":
            return lambda distance: _clip(self._euclidean_relevance_score_fn(math.sqrt(max(distance, 0.0))))
        return lambda distance: _clip(self._cosine_relevance_score_fn(distance))

    # ---- maximal marginal relevance

    def _mmr(self, query: Sequence[float], hits: list[Hit], k: int, lambda_mult: float) -> list[Document]:
        vectors = [h.vector for h in hits if h.vector is not None]
        if not hits or len(vectors) != len(hits):
            return [_hit_document(h) for h in hits[:k]]
        chosen = maximal_marginal_relevance(
            np.asarray(query, dtype=np.float32), [v.tolist() for v in vectors], lambda_mult=lambda_mult, k=k
        )
        return [_hit_document(hits[i]) for i in chosen]

    def max_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any
    ) -> list[Document]:
        """`k` documents chosen among the `fetch_k` nearest to `query` for relevance and
        diversity (`lambda_mult` 1: relevance only, 0: diversity only); `filter`, `ef` as above."""
        return self.max_marginal_relevance_search_by_vector(
            self._embedding.embed_query(query), k, fetch_k, lambda_mult, **kwargs
        )

    def max_marginal_relevance_search_by_vector(
        self, embedding: list[float], k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any
    ) -> list[Document]:
        """`max_marginal_relevance_search` from a query vector (the candidates' vectors come back
        with the search, `include=vector`)."""
        filter, ef = _search_options(dict(kwargs), "max_marginal_relevance_search")
        hits = self._search(embedding, max(fetch_k, k), filter, ef, True)
        return self._mmr(embedding, hits, k, lambda_mult)

    async def amax_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any
    ) -> list[Document]:
        """Async `max_marginal_relevance_search`."""
        vector = await self._embedding.aembed_query(query)
        return await self.amax_marginal_relevance_search_by_vector(vector, k, fetch_k, lambda_mult, **kwargs)

    async def amax_marginal_relevance_search_by_vector(
        self, embedding: list[float], k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any
    ) -> list[Document]:
        """Async `max_marginal_relevance_search_by_vector`."""
        client = self._aclient()
        if client is None:
            return await super().amax_marginal_relevance_search_by_vector(
                embedding, k, fetch_k, lambda_mult, **kwargs
            )
        filter, ef = _search_options(dict(kwargs), "amax_marginal_relevance_search")
        hits = await self._asearch(client, embedding, max(fetch_k, k), filter, ef, True)
        return self._mmr(embedding, hits, k, lambda_mult)

    # ---- constructors

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> MnemoVectorStore:
        """A store built with `MnemoVectorStore(embedding, **kwargs)` holding `texts`."""
        store = cls(embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    async def afrom_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> MnemoVectorStore:
        """Async `from_texts`."""
        store = cls(embedding, **kwargs)
        await store.aadd_texts(texts, metadatas, ids=ids)
        return store
