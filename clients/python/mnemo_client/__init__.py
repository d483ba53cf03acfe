"""mnemo-client: the Python client of the Mnemo memory database's HTTP server (`mnemo serve`).

`Mnemo` / `Space` are synchronous, `AsyncMnemo` / `AsyncSpace` the same API with `async`; results
are dataclasses (`SpaceInfo`, `Memory`, `Hit`, `BatchResult`, `Page`, `FieldIndex`,
`ClusterStatus`, `DrainResult`) and failures the exception
classes under `MnemoError`. See clients/python/README.md.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._core import EmbedFunction, RetryPolicy, VectorLike
from .aio import AsyncMnemo, AsyncSpace
from .client import Mnemo, Space
from .errors import (
    BadRequest,
    Conflict,
    Forbidden,
    MnemoConnectionError,
    MnemoError,
    NotFound,
    PayloadTooLarge,
    RoutingFailedError,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    WrongNodeError,
)
from .results import BatchResult, ClusterMember, ClusterStatus, DrainResult, FieldIndex, Hit, Memory, Page, SpaceInfo

__all__ = [
    "AsyncMnemo",
    "AsyncSpace",
    "BadRequest",
    "BatchResult",
    "ClusterMember",
    "ClusterStatus",
    "Conflict",
    "DrainResult",
    "EmbedFunction",
    "FieldIndex",
    "Forbidden",
    "Hit",
    "Memory",
    "Mnemo",
    "MnemoConnectionError",
    "MnemoError",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "RetryPolicy",
    "RoutingFailedError",
    "Space",
    "SpaceInfo",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "VectorLike",
    "WrongNodeError",
    "__version__",
]
