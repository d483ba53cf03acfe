"""Mnemo as a vector store for Mem0 (the `mem0ai` package): `MnemoVectorStore` and `MnemoConfig`.

Mem0 keeps each memory as a vector and a payload (a JSON object: the memory text under `data`,
`hash`, `created_at`, `updated_at`, the scope `user_id` / `agent_id` / `run_id` / `actor_id`,
`role` and the caller's own metadata) and reaches its store through `VectorStoreBase`. This
module implements that interface on a Mnemo server through the sync client.

Layout, and why:

- **One space per Mem0 collection** (`collection_name` is the space name; Mem0's entity store,
  `<collection>_entities`, is a second space). Mem0 gets, updates and deletes a memory by its id
  alone (a uuid4 it makes itself and hands back to the caller), so the space must follow from the
  store, not from the id: with one space per collection every id resolves with one request and no
  lookup table, and the ids Mem0 returns stay exactly the ids it made. Users are separated the way
  Mem0 separates them in every store: every search and list carries the scope (`user_id` ...) as
  a filter, answered by Mnemo's filtered search. For separation enforced by the server (tokens),
  give each tenant its own collection name under a prefix (`tenant-7/mem0`) and a token for that
  prefix. A space per user would need ids qualified with the space (changing Mem0's ids) or an
  id-to-space table kept in step with every write; neither buys anything the filter does not.
- **The payload is the memory's text, as JSON**, so it comes back exactly as Mem0 wrote it (any
  JSON value, any size). Its filterable part is also written as Mnemo metadata (strings up to
  4096 bytes, integers, finite floats, bools, lists of strings; at most 64 fields, scope fields
  first), which is what filters match. A memory written by another Mnemo client (text that is not
  a JSON object) reads back as its metadata plus `data` = its text.
- **Scores are similarities in [0, 1]**: cosine `max(0, 1 - distance)` (the cosine similarity,
  clamped at 0), as `VectorStoreBase.search` asks and as Mem0's Qdrant store reports, so Mem0's
  `threshold` (default 0.1) and its entity thresholds (0.5, 0.95) keep their meaning; `ip` the
  dot product clamped to [0, 1]; `l2` `1 / (1 + distance)`.

Mem0 picks providers by name from maps of its own; `register()` adds `"mnemo"` to them.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Optional

from mem0.vector_stores.base import VectorStoreBase
from pydantic import BaseModel, ConfigDict, Field

from . import Conflict, Mnemo, NotFound, Space

logger = logging.getLogger(__name__)

#: The provider name `register()` gives Mnemo in Mem0's maps.
PROVIDER = "mnemo"

#: Mem0's filter operators and the Mnemo operators they become (docs/filters.md).
FIELD_OPERATORS: dict[str, str] = {
    "eq": "$eq",
    "ne": "$ne",
    "gt": "$gt",
    "gte": "$gte",
    "lt": "$lt",
    "lte": "$lte",
    "in": "$in",
    "nin": "$nin",
    "contains": "$contains",
    "icontains": "$icontains",
}

#: Mem0's logical keys (both spellings reach a store) and their Mnemo operators.
LOGICAL_OPERATORS: dict[str, str] = {
    "AND": "$and",
    "$and": "$and",
    "OR": "$or",
    "$or": "$or",
    "NOT": "$not",
    "$not": "$not",
}

#: Scope fields, written to the metadata before any other field so they always fit.
SCOPE_FIELDS: tuple[str, ...] = ("user_id", "agent_id", "run_id", "actor_id", "role")

# Mnemo's metadata limits (include/mnemo/mn_limits.h, docs/filters.md "Metadata documents").
_META_FIELDS_MAX = 64
_META_NAME_BYTES_MAX = 64
_META_STRING_BYTES_MAX = 4096
_META_LIST_ITEMS_MAX = 256
# The document limit is 16384 encoded bytes; the estimate below overcounts each field's header,
# and this budget leaves room for that.
_META_BUDGET_BYTES = 12288
_RESERVED_NAMES = frozenset({"id", "createdAt"})
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
# Mnemo's largest k (openapi.json SearchRequest) and list page.
_K_MAX = 32768
_LIST_PAGE_MAX = 1000
_BATCH_MAX = 256
_METRICS = {"cosine": "cosine", "l2": "l2", "euclidean": "l2", "euclid": "l2", "ip": "ip", "dot": "ip"}


class MnemoFilterError(ValueError):
    """A Mem0 filter that has no Mnemo equivalent (an unknown operator, a bad operand)."""


class OutputData(BaseModel):
    """One memory as Mem0 reads it from a store: `id`, `score` (a similarity in [0, 1] for
    search results, `None` for get and list) and `payload` (the payload Mem0 wrote)."""

    id: Optional[str]
    score: Optional[float]
    payload: Optional[dict[str, Any]]


class MnemoConfig(BaseModel):
    """The `vector_store.config` of provider `"mnemo"` (Mem0 validates it, then passes its fields
    to `MnemoVectorStore`).

    `embedding_model_dims` `None` takes the dimension of an existing space, or of the first
    vector inserted. `client` reuses an existing `mnemo_client.Mnemo` (then `url`, `token` and
    `timeout` are unused). `ef` is the search beam (the server's default: max(k, 64)).
    """

    collection_name: str = Field(default="mem0", description="Mnemo space that holds the collection")
    embedding_model_dims: Optional[int] = Field(
        default=None, description="Vector dimension (None: from the space or the first vector)"
    )
    url: str = Field(default="http://127.0.0.1:7600", description="Mnemo server URL")
    token: Optional[str] = Field(default=None, description="Admin key or token (None against `mnemo serve --dev`)")
    timeout: float = Field(default=30.0, description="Request timeout in seconds")
    metric: Literal["cosine", "l2", "ip"] = Field(default="cosine", description="Metric of a space this store creates")
    m: Optional[int] = Field(default=None, description="HNSW M of a space this store creates")
    ef_construction: Optional[int] = Field(
        default=None, description="HNSW efConstruction of a space this store creates"
    )
    ef: Optional[int] = Field(default=None, description="Search beam (None: the server's default)")
    client: Optional[Any] = Field(default=None, description="An existing mnemo_client.Mnemo to use")

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class MnemoVectorStore(VectorStoreBase):  # type: ignore[misc]  # mem0 ships no type information
    """Mem0's `VectorStoreBase` on a Mnemo server: one collection is one space (see the module
    docstring for why), payloads are kept whole, and Mem0's filters become Mnemo filters.

    Example (docs/python.md, "Mem0", has a whole configuration)::

        from mnemo_client.mem0 import register
        register()
        memory = mem0.Memory.from_config({"vector_store": {"provider": "mnemo",
            "config": {"url": "http://127.0.0.1:7600", "collection_name": "mem0"}}, ...})
    """

    def __init__(
        self,
        collection_name: str = "mem0",
        embedding_model_dims: Optional[int] = None,
        url: str = "http://127.0.0.1:7600",
        token: Optional[str] = None,
        timeout: float = 30.0,
        metric: str = "cosine",
        m: Optional[int] = None,
        ef_construction: Optional[int] = None,
        ef: Optional[int] = None,
        client: Optional[Mnemo] = None,
    ) -> None:
        """Connect (or reuse `client`) and open the collection's space, creating it when
        `embedding_model_dims` is given and it does not exist yet."""
        self.client: Mnemo = client if client is not None else Mnemo(url, token=token, timeout=timeout)
        self._owns_client = client is None
        self.collection_name = collection_name
        self.embedding_model_dims = embedding_model_dims
        self.metric = _metric_name(metric)
        self.m = m
        self.ef_construction = ef_construction
        self.ef = ef
        self.space: Space = self.client.space(collection_name)
        self._exists = False
        if embedding_model_dims is not None:
            self.create_col(collection_name, embedding_model_dims, self.metric)
        else:
            self._adopt_existing()

    # -- collections ---------------------------------------------------------------------------

    def create_col(
        self, name: Optional[str] = None, vector_size: Optional[int] = None, distance: Optional[str] = None
    ) -> Space:
        """Create the space `name` (default: this store's collection) of `vector_size` dimensions
        and metric `distance` (`cosine`, `l2`, `ip`; default: the configured one), or open it if
        it exists (its own metric is then used for scores). ValueError if an existing space has
        another dimension. Returns its handle."""
        name = name or self.collection_name
        size = vector_size if vector_size is not None else self.embedding_model_dims
        if size is None:
            raise ValueError(f"cannot create space {name!r}: no vector size given and embedding_model_dims is not set")
        metric = _metric_name(distance) if distance is not None else self.metric
        try:
            space = self.client.create_space(
                name, int(size), metric=metric, m=self.m, ef_construction=self.ef_construction, exist_ok=True
            )
        except Conflict:  # it exists with another dimension or metric: judged below
            space = self.client.space(name)
        info = space.info()
        if info.dimension != int(size):
            raise ValueError(
                f"space {name!r} exists with dimension {info.dimension}, but the vectors have {size} "
                "(use another collection_name or set embedding_model_dims to match)"
            )
        if name == self.collection_name:
            self.space = space
            self.embedding_model_dims = info.dimension
            self.metric = _metric_name(info.metric)
            self._exists = True
        return space

    def list_cols(self) -> list[str]:
        """The names of every space the credential can see."""
        return list(self.client.space_names())

    def delete_col(self) -> None:
        """Drop this collection's space with every memory in it (nothing happens if it is absent)."""
        try:
            self.client.delete_space(self.collection_name)
        except NotFound:
            logger.debug("space %s already absent", self.collection_name)
        self._exists = False

    def col_info(self) -> dict[str, Any]:
        """The space's description: `name`, `dimension`, `metric`, `count` and the server's other
        figures (`bytes`, `queueDepth`, ...). NotFound if the space does not exist."""
        info = self.space.info()
        return {**info.raw, "name": info.name, "dimension": info.dimension, "metric": info.metric, "count": info.count}

    def reset(self) -> None:
        """Drop the space and create it again, empty (with the same dimension, when known)."""
        logger.warning("Resetting Mnemo space %s", self.collection_name)
        self.delete_col()
        if self.embedding_model_dims is not None:
            self.create_col(self.collection_name, self.embedding_model_dims, self.metric)

    # -- memories ------------------------------------------------------------------------------

    def insert(
        self,
        vectors: Sequence[Sequence[float]],
        payloads: Optional[Sequence[Optional[Mapping[str, Any]]]] = None,
        ids: Optional[Sequence[Any]] = None,
    ) -> list[str]:
        """Write memories (upserts, as Mem0's other stores do): `ids` default to new uuid4s,
        `payloads` to `{}`. Creates the space on first use when its dimension was not configured.
        Returns the ids written."""
        if len(vectors) == 0:
            return []
        if payloads is not None and len(payloads) != len(vectors):
            raise ValueError(f"{len(payloads)} payloads for {len(vectors)} vectors")
        if ids is not None and len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        self._ensure_space(len(vectors[0]))
        written: list[str] = []
        memories: list[dict[str, Any]] = []
        for index, vector in enumerate(vectors):
            memory_id = str(ids[index]) if ids is not None else str(uuid.uuid4())
            payload = dict(payloads[index] or {}) if payloads is not None else {}
            memories.append(_memory_body(memory_id, vector, payload))
            written.append(memory_id)
        for start in range(0, len(memories), _BATCH_MAX):
            batch = memories[start : start + _BATCH_MAX]
            try:
                self.space.add(batch, upsert=True)
            except NotFound as error:  # dropped by someone else since: made again, as on first use
                self._forget_if_dropped(error)
                self._ensure_space(len(vectors[0]))
                self.space.add(batch, upsert=True)
        return written

    def search(
        self, query: str, vectors: Any, top_k: int = 5, filters: Optional[Mapping[str, Any]] = None
    ) -> list[OutputData]:
        """The `top_k` memories nearest to `vectors` (one query vector; `query`, the text, is not
        used) among those matching `filters`, best first, `score` a similarity in [0, 1]."""
        mnemo_filter = to_mnemo_filter(filters)
        vector = _single_vector(vectors)
        if top_k <= 0 or not self._known():
            return []
        try:
            hits = self.space.search(
                vector, k=min(int(top_k), _K_MAX), ef=self.ef, filter=mnemo_filter, include=("content", "metadata")
            )
        except NotFound as error:
            self._forget_if_dropped(error)
            return []
        return [
            OutputData(id=hit.id, score=self._similarity(hit.distance), payload=_payload(hit.text, hit.metadata))
            for hit in hits
        ]

    def get(self, vector_id: Any) -> Optional[OutputData]:
        """The memory `vector_id` with its payload (`score` None), or None if there is none."""
        if not self._known():
            return None
        try:
            memory = self.space.get(str(vector_id), include=("content", "metadata"))
        except NotFound as error:
            self._forget_if_dropped(error)
            return None
        return OutputData(id=memory.id, score=None, payload=_payload(memory.text, memory.metadata))

    def update(
        self, vector_id: Any, vector: Optional[Sequence[float]] = None, payload: Optional[Mapping[str, Any]] = None
    ) -> None:
        """Replace the vector and/or the payload of memory `vector_id` (a payload given replaces
        the stored one whole, as Mem0 always passes the complete payload). Whatever is not given
        is read back first and kept: ValueError if the memory does not exist then. Given both,
        it is one upsert (as in Mem0's Qdrant store, an absent id is created)."""
        if vector is None and payload is None:
            return
        memory_id = str(vector_id)
        if vector is None or payload is None:
            try:
                current = self.space.get(memory_id, include=("content", "metadata", "vector"))
            except NotFound as error:
                raise ValueError(f"memory {memory_id!r} not found in space {self.collection_name!r}") from error
            if vector is None:
                if current.vector is None:
                    raise ValueError(f"memory {memory_id!r} came back without its vector")
                vector = [float(x) for x in current.vector]
            if payload is None:
                payload = _payload(current.text, current.metadata)
        self._ensure_space(len(vector))
        body = _memory_body(memory_id, vector, dict(payload))
        self.space.put(memory_id, vector=body["vector"], text=body["text"], metadata=body["metadata"])

    def delete(self, vector_id: Any) -> None:
        """Delete memory `vector_id` (nothing happens if it is absent, as in Mem0's other stores)."""
        if not self._known():
            return
        try:
            self.space.delete(str(vector_id))
        except NotFound as error:
            self._forget_if_dropped(error)
            logger.debug("memory %s already absent from %s", vector_id, self.collection_name)

    def list(self, filters: Optional[Mapping[str, Any]] = None, top_k: Optional[int] = 100) -> list[list[OutputData]]:
        """Up to `top_k` memories matching `filters` (None: all of them), in the space's stable
        order, as `[memories]` (the nesting Mem0 unwraps, as for its Qdrant and Chroma stores)."""
        mnemo_filter = to_mnemo_filter(filters)
        if not self._known() or (top_k is not None and top_k <= 0):
            return [[]]
        found: list[OutputData] = []
        cursor: Optional[str] = None
        while True:
            want = _LIST_PAGE_MAX if top_k is None else min(_LIST_PAGE_MAX, top_k - len(found))
            try:
                page = self.space.list(filter=mnemo_filter, cursor=cursor, limit=want)
            except NotFound as error:
                self._forget_if_dropped(error)
                return [[]]
            for memory in page.memories:
                found.append(OutputData(id=memory.id, score=None, payload=_payload(memory.text, memory.metadata)))
            cursor = page.next_cursor
            if cursor is None or (top_k is not None and len(found) >= top_k):
                break
        return [found[:top_k] if top_k is not None else found]

    def close(self) -> None:
        """Close the HTTP client if this store made it (a client passed in is left open)."""
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> MnemoVectorStore:
        """The store itself; leaving the block closes it (`close()`)."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store (`close()`)."""
        self.close()

    # -- helpers -------------------------------------------------------------------------------

    def _adopt_existing(self) -> None:
        try:
            info = self.space.info()
        except NotFound:
            return
        self.embedding_model_dims = info.dimension
        self.metric = _metric_name(info.metric)
        self._exists = True

    def _forget_if_dropped(self, error: NotFound) -> None:
        """After a 404 naming the space (`unknownSpace`): it was dropped, by another store or client."""
        if error.code == "unknownSpace":
            self._exists = False

    def _known(self) -> bool:
        """Whether the space exists (checked with the server once while it is not known to)."""
        if not self._exists:
            self._adopt_existing()
        return self._exists

    def _ensure_space(self, dimension: int) -> None:
        if not self._known():
            self.create_col(self.collection_name, self.embedding_model_dims or dimension, self.metric)

    def _similarity(self, distance: float) -> float:
        """A Mnemo distance as a similarity in [0, 1] (see the module docstring)."""
        if self.metric == "l2":
            return 1.0 / (1.0 + max(0.0, distance))
        return min(1.0, max(0.0, 1.0 - distance))


def register(provider: str = PROVIDER) -> None:
    """Make `provider` (default `"mnemo"`) a vector store name Mem0 accepts.

    Mem0 (2.2) looks a provider up in three places, none of them open to plug-ins, so this adds
    Mnemo to each at run time: `VectorStoreFactory.provider_to_class` (the store class),
    `VectorStoreConfig._provider_configs` (the config class's name) and the module
    `mem0.configs.vector_stores.<provider>`, which `VectorStoreConfig` imports to find that class
    (this module is registered under that name). Idempotent; call it once before
    `Memory.from_config(...)`.
    """
    from mem0.utils.factory import VectorStoreFactory
    from mem0.vector_stores.configs import VectorStoreConfig

    VectorStoreFactory.provider_to_class[provider] = f"{__name__}.MnemoVectorStore"
    _provider_config_map(VectorStoreConfig)[provider] = MnemoConfig.__name__
    sys.modules[f"mem0.configs.vector_stores.{provider}"] = sys.modules[__name__]


def _provider_config_map(config_class: Any) -> dict[str, str]:
    """`VectorStoreConfig._provider_configs`: a pydantic private attribute, whose default dict
    every new config copies, or a plain class attribute in other versions."""
    private = getattr(config_class, "__private_attributes__", {}).get("_provider_configs")
    if private is not None:
        mapping = getattr(private, "default", None)
    else:
        mapping = getattr(config_class, "_provider_configs", None)
    if not isinstance(mapping, dict):
        raise RuntimeError("this mem0 version keeps its vector store configs elsewhere; register() cannot add Mnemo")
    return mapping


# -- filters ---------------------------------------------------------------------------------


def to_mnemo_filter(filters: Optional[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    """A Mem0 filter as a Mnemo filter (docs/filters.md), or None when it selects everything.

    - `{"field": value}`: equality; `{"field": [a, b]}`: `$in`; `{"field": "*"}`: the field
      exists (any value).
    - `{"field": {op: operand, ...}}` with `eq`, `ne`, `gt`, `gte`, `lt`, `lte`, `in`, `nin`,
      `contains`, `icontains` (also spelled with `$`): the same Mnemo operators, ANDed.
    - `AND` / `$and`, `OR` / `$or`: lists of filters; `NOT` / `$not`: a list of filters none of
      which may hold (as Mem0's Qdrant and Chroma stores read it).

    Raises MnemoFilterError for anything else (an unknown operator, `None` as a value, a nested
    object where a value belongs, a non-finite number, a field name Mnemo reserves).
    """
    if not filters:
        return None
    translated = _translate(filters, "filters")
    return translated or None


def _translate(node: Any, where: str) -> dict[str, Any]:
    if not isinstance(node, Mapping):
        raise MnemoFilterError(f"{where}: a filter must be an object, got {type(node).__name__}")
    clauses: list[dict[str, Any]] = []
    logical_seen: set[str] = set()
    for key, value in node.items():
        if not isinstance(key, str):
            raise MnemoFilterError(f"{where}: a filter key must be a string, got {key!r}")
        if key in LOGICAL_OPERATORS:
            operator = LOGICAL_OPERATORS[key]
            # Mem0 may hand over both spellings of one operator (OR and $or) with the same
            # conditions: the first one is taken, as Mem0's Qdrant store does.
            if operator in logical_seen:
                continue
            logical_seen.add(operator)
            clauses.extend(_logical(operator, value, f"{where}.{key}"))
        elif key.startswith("$"):
            raise MnemoFilterError(
                f"{where}: unsupported logical operator {key!r} (supported: AND, OR, NOT, $and, $or, $not)"
            )
        else:
            condition = _condition(key, value, f"{where}.{key}")
            clauses.append({key: condition})
    return _all_of(clauses)


def _logical(operator: str, value: Any, where: str) -> list[dict[str, Any]]:
    items: list[Any] = [value] if isinstance(value, Mapping) else value
    if not isinstance(items, list):
        raise MnemoFilterError(f"{where}: expects a list of filters, got {type(value).__name__}")
    subs = [_translate(item, f"{where}[{i}]") for i, item in enumerate(items)]
    if operator == "$and":
        return [sub for sub in subs if sub]
    if operator == "$or":
        if not subs:
            raise MnemoFilterError(f"{where}: OR needs at least one filter")
        if any(not sub for sub in subs):  # one alternative selects everything
            return []
        return [subs[0]] if len(subs) == 1 else [{"$or": subs}]
    return [{"$not": sub} for sub in subs]


def _all_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    if not clauses:
        return {}
    if len(clauses) == 1:
        return clauses[0]
    merged: dict[str, Any] = {}
    for clause in clauses:
        for key, value in clause.items():
            if key in merged:  # a key twice (two NOTs, a field in AND and at the top): spell it out
                return {"$and": clauses}
            merged[key] = value
    return merged


def _condition(field: str, value: Any, where: str) -> Any:
    _check_field_name(field, where)
    if isinstance(value, str) and value == "*":
        return {"$exists": True}
    if isinstance(value, (list, tuple)):
        return {"$in": [_scalar(item, f"{where}[{i}]") for i, item in enumerate(value)]}
    if isinstance(value, Mapping):
        if not value:
            raise MnemoFilterError(f"{where}: an operator object needs at least one operator")
        operators: dict[str, Any] = {}
        for op, operand in value.items():
            name = op[1:] if isinstance(op, str) and op.startswith("$") else op
            if name not in FIELD_OPERATORS:
                raise MnemoFilterError(
                    f"{where}: unsupported operator {op!r} (supported: {', '.join(FIELD_OPERATORS)})"
                )
            operators[FIELD_OPERATORS[name]] = _operand(name, operand, f"{where}.{op}")
        return operators
    return _scalar(value, where)


def _operand(operator: str, operand: Any, where: str) -> Any:
    if operator in ("in", "nin"):
        if not isinstance(operand, (list, tuple)):
            raise MnemoFilterError(f"{where}: expects a list, got {type(operand).__name__}")
        return [_scalar(item, f"{where}[{i}]") for i, item in enumerate(operand)]
    if operator in ("contains", "icontains"):
        if not isinstance(operand, str):
            raise MnemoFilterError(f"{where}: expects a string, got {type(operand).__name__}")
        return operand
    if operator in ("gt", "gte", "lt", "lte"):
        if isinstance(operand, bool) or not isinstance(operand, (int, float, str)):
            raise MnemoFilterError(f"{where}: expects a number or a string, got {type(operand).__name__}")
    return _scalar(operand, where)


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise MnemoFilterError(f"{where}: {value} is outside the int64 range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MnemoFilterError(f"{where}: {value} is not a finite number")
        return value
    if value is None:
        raise MnemoFilterError(f"{where}: None is no filter value (use '*' for any value, or 'ne')")
    raise MnemoFilterError(f"{where}: a value must be a string, number or bool, got {type(value).__name__}")


def _check_field_name(field: str, where: str) -> None:
    if not field:
        raise MnemoFilterError(f"{where}: empty field name")
    if field == "createdAt":
        raise MnemoFilterError(f"{where}: 'createdAt' is Mnemo's own creation time; Mem0's is 'created_at'")


# -- payloads ----------------------------------------------------------------------------------


def _memory_body(memory_id: str, vector: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """A memory for `Space.add` / `Space.put`: the payload as JSON text, its filterable fields
    as metadata."""
    try:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False, default=_json_default)
    except ValueError as error:
        raise ValueError(f"payload of memory {memory_id!r} is not JSON: {error}") from error
    return {
        "id": memory_id,
        "vector": [float(x) for x in vector],
        "text": text,
        "metadata": filterable_metadata(payload),
    }


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):  # datetime, date
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def filterable_metadata(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a payload Mnemo metadata can hold, which is what filters match.

    Kept: strings (up to 4096 bytes), integers (int64), finite floats, bools and lists of at most
    256 such strings, under names Mnemo accepts (1 to 64 bytes, not `$...`, `id` or `createdAt`).
    Scope fields first, then the others in payload order, `text_lemmatized` last, until 64 fields
    or about 12 KiB (Mnemo's document limit is 16 KiB). Anything else stays in the payload only.
    """
    order = [key for key in SCOPE_FIELDS if key in payload]
    order += [key for key in payload if key not in SCOPE_FIELDS and key != "text_lemmatized"]
    if "text_lemmatized" in payload:
        order.append("text_lemmatized")
    metadata: dict[str, Any] = {}
    used = 0
    for key in order:
        if len(metadata) == _META_FIELDS_MAX:
            break
        if not isinstance(key, str) or not _name_ok(key):
            continue
        value = _metadata_value(payload[key])
        if value is None:
            continue
        cost = _cost(key, value)
        if used + cost > _META_BUDGET_BYTES:
            continue
        metadata[key] = value
        used += cost
    return metadata


def _name_ok(name: str) -> bool:
    encoded = name.encode("utf-8", "surrogatepass")
    return (
        0 < len(encoded) <= _META_NAME_BYTES_MAX
        and not name.startswith("$")
        and "\0" not in name
        and name not in _RESERVED_NAMES
    )


def _string_ok(value: str) -> bool:
    try:
        return len(value.encode("utf-8")) <= _META_STRING_BYTES_MAX
    except UnicodeEncodeError:  # lone surrogates
        return False


def _metadata_value(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value if _string_ok(value) else None
    if isinstance(value, (list, tuple)) and len(value) <= _META_LIST_ITEMS_MAX:
        if all(isinstance(item, str) and _string_ok(item) for item in value):
            return list(value)
    return None


def _cost(name: str, value: Any) -> int:
    size = len(name.encode("utf-8")) + 16
    if isinstance(value, str):
        size += len(value.encode("utf-8"))
    elif isinstance(value, list):
        size += sum(len(item.encode("utf-8")) + 8 for item in value)
    else:
        size += 8
    return size


def _payload(text: Optional[str], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The payload of a stored memory: its JSON text, or (written by another Mnemo client) its
    metadata with the text as `data`."""
    if text is not None:
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            return decoded
    payload = dict(metadata)
    if text is not None:
        payload.setdefault("data", text)
    return payload


def _single_vector(vectors: Any) -> list[float]:
    """Mem0 passes one query vector; a batch of one (`[[...]]`, a 2-D array) is accepted too."""
    if hasattr(vectors, "ndim"):
        return [float(x) for x in (vectors if vectors.ndim == 1 else vectors[0])]
    items = list(vectors)
    if items and (isinstance(items[0], (list, tuple)) or hasattr(items[0], "ndim")):
        items = list(items[0])
    return [float(x) for x in items]


def _metric_name(metric: str) -> str:
    name = _METRICS.get(str(metric).lower())
    if name is None:
        raise ValueError(f"unknown metric {metric!r} (cosine, l2 or ip)")
    return name
