"""Exceptions: the server's error JSON `{"error": {"code", "message", "field"}}` as classes.

One class per HTTP status the server documents (docs/server.md, "Errors"; the cluster's 421
`WRONG_NODE` and 503 `ROUTING_FAILED` in docs/cluster.md), all under `MnemoError`,
so callers catch `NotFound` rather than compare numbers; `code` keeps the server's finer reason
(`unknownSpace` vs `notFound`, `wrongDimension` vs `nonFinite`) and `field` the request part at fault.
"""

from __future__ import annotations

from typing import Any

import httpx


class MnemoError(Exception):
    """Base of every error this client raises for a failed request.

    `status` is the HTTP status (0 when no answer came), `code` the server's error code,
    `message` its message and `field` the request part at fault (`None` when the server named none).
    """

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        where = f" (field {field})" if field else ""
        super().__init__(f"{status} {code}: {message}{where}")


class BadRequest(MnemoError):
    """400: bad input (wrong dimension, non-finite vector, bad metadata or filter, bad import stream)."""


class Unauthorized(MnemoError):
    """401: no credential, an invalid one, or an expired token (`code` is `tokenExpired`)."""


class Forbidden(MnemoError):
    """403: a credential for another space, or without the route's scope."""


class NotFound(MnemoError):
    """404: no such space (`code` `unknownSpace`), memory or link (`notFound`), or route."""


class Conflict(MnemoError):
    """409: the space or memory id exists (a batch names the item in `field`); nothing was written."""


class PayloadTooLarge(MnemoError):
    """413: the body or an item is over a server limit."""


class TooManyRequests(MnemoError):
    """429: the space's queue is full; `retry_after` is the server's advice in seconds (or `None`)."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(status, code, message, field)
        self.retry_after = retry_after


class Unavailable(MnemoError):
    """503: the server is recovering, failed to open its database, or is shutting down."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(status, code, message, field)
        self.retry_after = retry_after


class RoutingFailedError(Unavailable):
    """503 `ROUTING_FAILED` (cluster mode): the node could not get the space's owner to serve the
    request, even after re-reading the assignment once; retry after `retry_after` seconds."""


class WrongNodeError(MnemoError):
    """421 `WRONG_NODE` (cluster mode): the node does not own the space, or the request's
    `Mnemo-Assignment-Version` was older than the owner's; the request was never applied.

    `owner_node` and `owner_address` (host:port) name the owner and `version` is the space's
    current assignment version (each `None` when the answer lacked it). A node sends this only to
    requests that carry `Mnemo-Assignment-Version` or were forwarded, which this client's are not.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        owner_node: int | None = None,
        owner_address: str | None = None,
        version: int | None = None,
    ) -> None:
        super().__init__(status, code, message, field)
        self.owner_node = owner_node
        self.owner_address = owner_address
        self.version = version


class MnemoConnectionError(MnemoError):
    """No answer: the connection failed, broke or timed out (status 0, code `connection` or `timeout`)."""


_BY_STATUS: dict[int, type[MnemoError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: TooManyRequests,
    503: Unavailable,
}


#: 503 codes whose request the server refused before applying anything: safe to resend even when
#: the call is not idempotent (a write to a space frozen for a move, or moved away).
NEVER_APPLIED_CODES = frozenset({"spaceFrozen", "spaceMoved"})


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def error_code(response: httpx.Response) -> str | None:
    """The server's error code in an error response's body (`None` when it has none)."""
    try:
        body: Any = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        return str(code) if code is not None else None
    return None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The response's `Retry-After` in seconds when it is a number of seconds, else `None`."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def error_from_response(response: httpx.Response) -> MnemoError:
    """The exception for an error response (the body must have been read)."""
    status = response.status_code
    code = f"http{status}"
    message = response.reason_phrase or "error"
    field: str | None = None
    error: dict[str, Any] = {}
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = str(error.get("code", code))
        message = str(error.get("message", message))
        raw_field = error.get("field")
        field = str(raw_field) if raw_field is not None else None
    if status == 429:
        return TooManyRequests(status, code, message, field, retry_after_seconds(response))
    if status == 503:
        kind = RoutingFailedError if code == "ROUTING_FAILED" else Unavailable
        return kind(status, code, message, field, retry_after_seconds(response))
    if status == 421 or code == "WRONG_NODE":
        owner = error.get("owner")
        owner = owner if isinstance(owner, dict) else {}
        address = owner.get("address", response.headers.get("mnemo-owner"))
        version = error.get("version", response.headers.get("mnemo-assignment-version"))
        return WrongNodeError(
            status, code, message, field,
            owner_node=_int_or_none(owner.get("node")),
            owner_address=str(address) if address is not None else None,
            version=_int_or_none(version),
        )
    return _BY_STATUS.get(status, MnemoError)(status, code, message, field)
