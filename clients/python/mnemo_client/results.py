"""Typed results: what the server's JSON answers become (dataclasses), and how they are parsed.

Vectors come back as numpy float32 arrays (the client asks for `vectorFormat: base64`, the
little-endian float32 bytes, so a vector round-trips bit for bit); content as `text` (str) when
it is UTF-8, else `content` (bytes); `created_at` as an aware UTC datetime.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]

_FRACTION = re.compile(r"\.(\d+)(?=[+-]\d\d:\d\d$|$)")


@dataclass(frozen=True)
class SpaceInfo:
    """A space's description: `name`, `dimension`, `metric` (`cosine`, `l2` or `ip`), `count`
    (live memories) and `raw`, the server's whole answer (bytes, queueDepth, linkCount, ...)."""

    name: str
    dimension: int
    metric: str
    count: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Memory:
    """A stored memory. `vector` is `None` unless asked for (`include`); `text` holds UTF-8
    content and `content` binary content (at most one is set); `metadata` is `{}` when it has none
    or was not asked for."""

    id: str
    vector: Vector | None = field(default=None, repr=False, compare=False)
    text: str | None = None
    content: bytes | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class Hit:
    """A search hit or a recollection.

    Search: `distance` is the metric's (smaller is closer) and `score` higher-is-better (cosine and
    ip: 1 - distance; l2: 1 / (1 + distance)). Recall: `activation` (in [threshold, 1]) and `hops`
    (0 for a seed) are set, `score` equals the activation and `distance` is NaN (the server sends none).
    Cross-space search (`Mnemo.search_spaces`): `space` names the space the hit is in (`None` elsewhere).
    """

    id: str
    distance: float
    score: float
    text: str | None = None
    content: bytes | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    vector: Vector | None = field(default=None, repr=False, compare=False)
    created_at: datetime | None = None
    activation: float | None = None
    hops: int | None = None
    space: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """The outcome of a batch write: how many memories were inserted and how many replaced."""

    inserted: int
    replaced: int


@dataclass(frozen=True)
class Page:
    """One page of `Space.list`: its memories and the cursor of the next page (`None` on the last)."""

    memories: list[Memory]
    next_cursor: str | None


@dataclass(frozen=True)
class ClusterMember:
    """A member of the cluster as `GET /v1/cluster` lists it: its `node` id, `address` (host:port),
    `rack`, `capacity`, `state` (`alive`, `joining`, `draining` or `dead`), the spaces it is primary
    of (`spaces`) and the bytes of its loaded spaces (`bytes`, from its last load report)."""

    node: int
    address: str
    rack: str
    capacity: float
    state: str
    spaces: int
    bytes: int


@dataclass(frozen=True)
class ClusterStatus:
    """The cluster as the answering node sees it: `mode` (`single` or `cluster`), this `node`'s id
    and the controller's name (`leader`), both `None` on a single node or when unknown, the etcd
    `revision` read at (0 on a single node), the `members`, the `moves` in flight (the controller's
    records, as dicts) and `raw`, the server's whole answer."""

    mode: str
    node: int | None
    leader: str | None
    revision: int
    members: list[ClusterMember]
    moves: list[dict[str, Any]]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class DrainResult:
    """The answer to a drain: the `node`, its `state` (`draining`, or `left` once it owns no
    space) and how many `spaces` it still owns."""

    node: int
    state: str
    spaces: int


@dataclass(frozen=True)
class FieldIndex:
    """A field index of a space: the metadata `field`, its `kind` (`keyword` or `numeric`), the
    values it holds (`entries`), the memories that have the field (`present`), its `bytes`, and
    `built_in` (the `createdAt` index every space has)."""

    field: str
    kind: str
    entries: int
    present: int
    bytes: int
    built_in: bool


def parse_field_index(item: dict[str, Any]) -> FieldIndex:
    """A `FieldIndex` from the server's JSON."""
    return FieldIndex(
        field=str(item["field"]),
        kind=str(item["kind"]),
        entries=int(item["entries"]),
        present=int(item["present"]),
        bytes=int(item["bytes"]),
        built_in=bool(item["builtIn"]),
    )


def parse_cluster_status(body: dict[str, Any]) -> ClusterStatus:
    """A `ClusterStatus` from `GET /v1/cluster`."""
    members = [
        ClusterMember(
            node=int(m["node"]),
            address=str(m["address"]),
            rack=str(m.get("rack", "")),
            capacity=float(m.get("capacity", 1)),
            state=str(m["state"]),
            spaces=int(m.get("spaces", 0)),
            bytes=int(m.get("bytes", 0)),
        )
        for m in body.get("members", [])
    ]
    node = body.get("node")
    leader = body.get("leader")
    moves = body.get("moves", [])
    return ClusterStatus(
        mode=str(body["mode"]),
        node=int(node) if node is not None else None,
        leader=str(leader) if leader is not None else None,
        revision=int(body.get("revision", 0)),
        members=members,
        moves=[dict(move) for move in moves if isinstance(move, dict)],
        raw=body,
    )


def parse_drain_result(body: dict[str, Any]) -> DrainResult:
    """A `DrainResult` from `POST /v1/cluster/drain`."""
    return DrainResult(node=int(body["node"]), state=str(body["state"]), spaces=int(body["spaces"]))


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp from the server as an aware datetime (`None` when absent)."""
    if not isinstance(value, str):
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    match = _FRACTION.search(text)
    if match:  # Python 3.10's fromisoformat takes exactly 3 or 6 fraction digits
        text = text[: match.start()] + "." + (match.group(1) + "000000")[:6] + text[match.end() :]
    return datetime.fromisoformat(text)


def decode_vector(item: dict[str, Any]) -> Vector | None:
    """The vector of a memory in the server's JSON (`vectorBase64` or `vector`), or `None`."""
    encoded = item.get("vectorBase64")
    if isinstance(encoded, str):
        return np.frombuffer(base64.b64decode(encoded), dtype="<f4").astype(np.float32)
    array = item.get("vector")
    if isinstance(array, list):
        return np.asarray(array, dtype=np.float32)
    return None


def _content(item: dict[str, Any]) -> bytes | None:
    raw = item.get("content")
    return base64.b64decode(raw) if isinstance(raw, str) else None


def _metadata(item: dict[str, Any]) -> dict[str, Any]:
    raw = item.get("metadata")
    return dict(raw) if isinstance(raw, dict) else {}


def parse_space_info(body: dict[str, Any]) -> SpaceInfo:
    """A `SpaceInfo` from the server's space description."""
    return SpaceInfo(
        name=str(body["name"]),
        dimension=int(body["dimension"]),
        metric=str(body["metric"]),
        count=int(body["count"]),
        raw=body,
    )


def parse_memory(item: dict[str, Any]) -> Memory:
    """A `Memory` from the server's JSON memory."""
    text = item.get("text")
    return Memory(
        id=str(item["id"]),
        vector=decode_vector(item),
        text=text if isinstance(text, str) else None,
        content=_content(item),
        metadata=_metadata(item),
        created_at=parse_time(item.get("createdAt")),
    )


def parse_hit(item: dict[str, Any]) -> Hit:
    """A `Hit` from a search hit or a recollection in the server's JSON."""
    text = item.get("text")
    activation = item.get("activation")
    hops = item.get("hops")
    if activation is not None:
        distance = float(item.get("distance", math.nan))
        score = float(item.get("score", activation))
    else:
        distance = float(item["distance"])
        score = float(item["score"])
    return Hit(
        id=str(item["id"]),
        distance=distance,
        score=score,
        text=text if isinstance(text, str) else None,
        content=_content(item),
        metadata=_metadata(item),
        vector=decode_vector(item),
        created_at=parse_time(item.get("createdAt")),
        activation=float(activation) if activation is not None else None,
        hops=int(hops) if hops is not None else None,
        space=str(item["space"]) if item.get("space") is not None else None,
    )
