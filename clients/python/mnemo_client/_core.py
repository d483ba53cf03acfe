"""What the sync and async clients share: request descriptions, vector encoding, embedding, retries.

Each operation is described once as a `Call` (method, path, query, JSON body, whether it is
idempotent) and each answer parsed once; `Mnemo` and `AsyncMnemo` only differ in how they send
a `Call` (httpx.Client vs httpx.AsyncClient), so the two cannot drift apart.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Union
from urllib.parse import quote

import httpx
import numpy as np
import numpy.typing as npt

from .errors import NEVER_APPLIED_CODES, error_code, retry_after_seconds

#: A vector as callers give it: a sequence of numbers or a 1-D numpy array.
VectorLike = Union[Sequence[float], npt.NDArray[Any]]

#: The embedding hook (Chroma-style): a list of texts in, one vector per text out.
EmbedFunction = Callable[[Sequence[str]], Union[Sequence[Sequence[float]], npt.NDArray[Any]]]

#: An asynchronous embedding hook (accepted by `AsyncMnemo` besides a plain `EmbedFunction`).
AsyncEmbedFunction = Callable[[Sequence[str]], Awaitable[Union[Sequence[Sequence[float]], npt.NDArray[Any]]]]

DEFAULT_INCLUDE: tuple[str, ...] = ("content", "metadata")
ALL_INCLUDE: tuple[str, ...] = ("content", "metadata", "vector")


@dataclass(frozen=True)
class Call:
    """One request: `idempotent` calls may be retried (GET, PUT, DELETE, search, recall, list, count)."""

    method: str
    path: str
    params: Mapping[str, str] | None = None
    json: Any = None
    idempotent: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of idempotent calls on connection errors, 429 and 503 (and of any call on
    a 503 `spaceFrozen` / `spaceMoved`, which the server refuses before applying anything).

    Attempt n (from 0) waits the server's `Retry-After` when it sent one, else
    `backoff * 2**n` with jitter, never more than `max_wait` seconds; at most `retries` retries.
    """

    retries: int = 3
    backoff: float = 0.1
    max_wait: float = 10.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before retry number `attempt` (0-based) after `response` (None: no answer)."""
        if response is not None:
            advised = retry_after_seconds(response)
            if advised is not None:
                return min(advised, self.max_wait)
        base: float = self.backoff * (2**attempt)
        return min(base * (0.5 + random.random() / 2), self.max_wait)


#: Failures that happened before an answer and leave an idempotent call safe to send again.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)

RETRYABLE_STATUSES = frozenset({429, 503})


def retryable(call: Call, response: httpx.Response) -> bool:
    """Whether `response` (read) to `call` may be answered by sending `call` again: 429 or 503 to
    an idempotent call, or a 503 the server gives before applying anything (`spaceFrozen`,
    `spaceMoved`: a write to a space being moved) to any call."""
    if response.status_code not in RETRYABLE_STATUSES:
        return False
    if call.idempotent:
        return True
    return response.status_code == 503 and error_code(response) in NEVER_APPLIED_CODES


def segment(value: str) -> str:
    """A space name or memory id as one percent-encoded path segment (`/` included)."""
    return quote(value, safe="")


def space_path(name: str, *rest: str) -> str:
    """The path of a space, or of something under it."""
    return "/v1/spaces/" + segment(name) + "".join("/" + part for part in rest)


def encode_vector(vector: VectorLike) -> str:
    """A vector as `vectorBase64`: base64 of its little-endian float32 bytes.

    Only the shape is checked here (one dimension, numbers); dimension and finiteness are the
    server's to judge (it answers 400 `wrongDimension` / `nonFinite` naming the field).
    """
    array = np.asarray(vector, dtype="<f4")
    if array.ndim != 1:
        raise ValueError(f"a vector must be one-dimensional, got shape {array.shape}")
    return base64.b64encode(array.tobytes()).decode("ascii")


def format_time(value: datetime | str) -> str:
    """A `created_at` as RFC 3339 (naive datetimes are taken as UTC)."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def embed_texts(embed: EmbedFunction | None, texts: Sequence[str]) -> list[VectorLike]:
    """Vectors for `texts` from the embedding hook (ValueError if there is none or it miscounts)."""
    if embed is None:
        raise ValueError("a memory or query has text but no vector, and the client has no `embed` function")
    vectors = embed(list(texts))
    out: list[VectorLike] = [vectors[i] for i in range(len(vectors))]
    if len(out) != len(texts):
        raise ValueError(f"embed returned {len(out)} vectors for {len(texts)} texts")
    return out


def memory_body(
    vector: VectorLike | None,
    text: str | None,
    content: bytes | str | None,
    metadata: Mapping[str, Any] | None,
    created_at: datetime | str | None,
) -> dict[str, Any]:
    """The JSON of a memory for PUT or a batch (the vector must already be resolved)."""
    if vector is None:
        raise ValueError("a memory needs a vector (or text and an `embed` function)")
    if text is not None and content is not None:
        raise ValueError("a memory has at most one of text and content")
    body: dict[str, Any] = {"vectorBase64": encode_vector(vector)}
    if text is not None:
        body["text"] = text
    if content is not None:
        raw = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        body["content"] = base64.b64encode(raw).decode("ascii")
    if metadata is not None:
        body["metadata"] = dict(metadata)
    if created_at is not None:
        body["createdAt"] = format_time(created_at)
    return body


def texts_to_embed(memories: Sequence[Mapping[str, Any]]) -> list[int]:
    """Positions of the batch items given as text without a vector."""
    return [i for i, m in enumerate(memories) if m.get("vector") is None and m.get("text") is not None]


def batch_body(memories: Sequence[Mapping[str, Any]], vectors: Mapping[int, VectorLike], upsert: bool) -> dict[str, Any]:
    """The JSON of `POST .../memories`; `vectors` holds the embedded vectors by position."""
    items: list[dict[str, Any]] = []
    for i, m in enumerate(memories):
        if "id" not in m:
            raise ValueError(f"memories[{i}] has no id")
        item = memory_body(
            vectors.get(i, m.get("vector")),
            m.get("text"),
            m.get("content"),
            m.get("metadata"),
            m.get("created_at", m.get("createdAt")),
        )
        item["id"] = str(m["id"])
        items.append(item)
    body: dict[str, Any] = {"memories": items}
    if upsert:
        body["upsert"] = True
    return body


def query_body(
    vector: VectorLike,
    filter: Mapping[str, Any] | None,
    include: Iterable[str] | None,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON of a search or recall: the cue, the filter, include, and the given parameters."""
    body: dict[str, Any] = {"vectorBase64": encode_vector(vector)}
    for key, value in extra.items():
        if value is not None:
            body[key] = value
    if filter is not None:
        body["filter"] = dict(filter)
    if include is not None:
        body["include"] = list(include)
        if "vector" in body["include"]:
            body["vectorFormat"] = "base64"
    return body


def cross_search_body(
    spaces: Iterable[str],
    vector: VectorLike,
    k: int,
    ef: int | None,
    filter: Mapping[str, Any] | None,
    include: Iterable[str] | None,
) -> dict[str, Any]:
    """The JSON of `POST /v1/search`: a search over several spaces (a list of names, not one string)."""
    if isinstance(spaces, (str, bytes)):
        raise TypeError("spaces is a list of space names, not one name")
    names = [str(name) for name in spaces]
    return query_body(vector, filter, include, {"spaces": names, "k": k, "ef": ef})


def list_body(
    filter: Mapping[str, Any] | None, cursor: str | None, limit: int, include: Iterable[str] | None
) -> dict[str, Any]:
    """The JSON of `POST .../list`."""
    body: dict[str, Any] = {"limit": limit}
    if filter is not None:
        body["filter"] = dict(filter)
    if cursor is not None:
        body["cursor"] = cursor
    if include is not None:
        body["include"] = list(include)
        if "vector" in body["include"]:
            body["vectorFormat"] = "base64"
    return body


def get_params(include: Iterable[str]) -> dict[str, str]:
    """The query of `GET .../memories/{id}`."""
    fields = list(include)
    params = {"include": ",".join(fields)}
    if "vector" in fields:
        params["vectorFormat"] = "base64"
    return params


def create_space_body(
    name: str, dimension: int, metric: str, m: int | None, ef_construction: int | None
) -> dict[str, Any]:
    """The JSON of `POST /v1/spaces`."""
    body: dict[str, Any] = {"name": name, "dimension": dimension, "metric": metric}
    if m is not None:
        body["m"] = m
    if ef_construction is not None:
        body["efConstruction"] = ef_construction
    return body


def token_body(
    space: str | None, prefix: str | None, scopes: Iterable[str], expires_in: float, subject: str | None
) -> dict[str, Any]:
    """The JSON of `POST /v1/tokens`."""
    if (space is None) == (prefix is None):
        raise ValueError("a token is for exactly one of space and prefix")
    body: dict[str, Any] = {"scopes": list(scopes), "ttlSeconds": max(1, math.ceil(expires_in))}
    if space is not None:
        body["space"] = space
    if prefix is not None:
        body["prefix"] = prefix
    if subject is not None:
        body["subject"] = subject
    return body


def user_agent() -> str:
    """The User-Agent header of both clients."""
    from . import __version__

    return f"mnemo-client-python/{__version__}"
