"""Retries: idempotent calls are retried on 429/503 (honouring Retry-After) and on connection
errors, a bounded number of times; insert batches, space creation and delete-by-filter never are.
The 429 cases use httpx.MockTransport (the real server answers 429 only under overload); the
connection-error case starts a real server while the client is already calling it."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

import mnemo_client.aio
import mnemo_client.client
from mnemo_client import (
    AsyncMnemo,
    Mnemo,
    MnemoConnectionError,
    MnemoError,
    RetryPolicy,
    TooManyRequests,
    Unavailable,
)
from mnemo_client.errors import error_from_response

from conftest import free_port, start_server, stop_server

FULL = {"error": {"code": "full", "message": "the space's mailbox is full"}}
INFO = {"name": "s", "dimension": 2, "metric": "cosine", "count": 0, "bytes": 0, "queueDepth": 0,
        "operationsApplied": 0, "homeWorker": 0, "linkCount": 0}


class Script:
    """A fake server answering a scripted list of (status, headers, body), recording each request."""

    def __init__(self, answers: list[tuple[int, dict[str, str], object]]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, headers, body = self.answers[min(len(self.requests), len(self.answers)) - 1]
        return httpx.Response(status, headers=headers, json=body)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the client's back-off sleeps instead of sleeping."""
    waited: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(mnemo_client.client.time, "sleep", waited.append)
    monkeypatch.setattr(mnemo_client.aio.asyncio, "sleep", fake_async_sleep)
    return waited


def test_get_retried_on_429_with_retry_after(sleeps: list[float]) -> None:
    script = Script([(429, {"Retry-After": "2"}, FULL), (429, {"Retry-After": "1"}, FULL), (200, {}, INFO)])
    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(script)) as client:
        assert client.space("s").info().dimension == 2
    assert len(script.requests) == 3
    assert sleeps == [2.0, 1.0]


def test_search_retried_on_503_then_gives_up(sleeps: list[float]) -> None:
    unavailable = {"error": {"code": "notReady", "message": "recovering"}}
    script = Script([(503, {"Retry-After": "1"}, unavailable)])
    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(script), retries=RetryPolicy(retries=4)) as client:
        with pytest.raises(Unavailable) as err:
            client.space("s").search([1.0, 0.0])
    assert len(script.requests) == 5 and sleeps == [1.0] * 4
    assert err.value.retry_after == 1.0 and err.value.code == "notReady"


def test_backoff_without_retry_after_is_bounded(sleeps: list[float]) -> None:
    script = Script([(503, {}, {"error": {"code": "closed", "message": "closing"}})])
    policy = RetryPolicy(retries=6, backoff=0.5, max_wait=2.0)
    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(script), retries=policy) as client:
        with pytest.raises(Unavailable):
            client.space("s").count()
    assert len(sleeps) == 6 and all(0 < s <= 2.0 for s in sleeps)
    assert sleeps[0] <= 0.5 and sleeps[-1] == pytest.approx(2.0)  # doubled up to the cap


def test_insert_batch_never_retried(sleeps: list[float]) -> None:
    script = Script([(429, {"Retry-After": "1"}, FULL)])
    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(script)) as client:
        with pytest.raises(TooManyRequests) as err:
            client.space("s").add([{"id": "a", "vector": [1.0, 0.0]}])
        assert err.value.retry_after == 1.0 and err.value.status == 429 and err.value.code == "full"
        with pytest.raises(TooManyRequests):
            client.space("s").delete_where({})
    assert len(script.requests) == 2 and sleeps == []
    body = json.loads(script.requests[0].content)
    assert body == {"memories": [{"id": "a", "vectorBase64": "AACAPwAAAAA="}]}


def test_put_and_upsert_batch_retried(sleeps: list[float]) -> None:
    script = Script([(429, {"Retry-After": "0"}, FULL), (201, {}, {"id": "a", "replaced": False})])
    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(script)) as client:
        assert client.space("s").put("a", [1.0, 0.0]) is False
    assert len(script.requests) == 2 and sleeps == [0.0]
    assert script.requests[0].url.path == "/v1/spaces/s/memories/a"
    script = Script([(429, {}, FULL), (200, {}, {"inserted": 0, "replaced": 1})])
    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(script)) as client:
        assert client.space("s").add([{"id": "a", "vector": [1.0, 0.0]}], upsert=True).replaced == 1
    assert len(script.requests) == 2


def test_async_retried_on_429(sleeps: list[float]) -> None:
    script = Script([(429, {"Retry-After": "3"}, FULL), (200, {}, {"count": 7})])

    async def main() -> int:
        async with AsyncMnemo("http://mnemo.test", transport=httpx.MockTransport(script)) as client:
            return await client.space("s").count()

    assert asyncio.run(main()) == 7
    assert len(script.requests) == 2 and sleeps == [3.0]


def test_error_mapping_of_unknown_status_and_plain_body() -> None:
    response = httpx.Response(405, text="no", request=httpx.Request("GET", "http://x/"))
    error = error_from_response(response)
    assert type(error) is MnemoError and error.status == 405 and error.code == "http405"
    response = httpx.Response(418, json={"error": {"code": "teapot", "message": "short and stout", "field": "k"}},
                              request=httpx.Request("GET", "http://x/"))
    error = error_from_response(response)
    assert (error.code, error.message, error.field) == ("teapot", "short and stout", "k")


def test_connection_refused_without_retries() -> None:
    with Mnemo(f"http://127.0.0.1:{free_port()}", retries=0) as client:
        with pytest.raises(MnemoConnectionError) as err:
            client.space("s").count()
    assert err.value.status == 0 and err.value.code == "connection"


def test_retries_cover_a_server_still_starting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that calls before the server listens gets its answer once the server is up:
    connection refused (and 503 while the database opens) are retried for an idempotent call.
    The server is started only after the client's first refused attempt, so a retry is certain."""
    real_sleep = time.sleep
    waited: list[float] = []
    refused_once = threading.Event()

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        refused_once.set()
        real_sleep(seconds)

    monkeypatch.setattr(mnemo_client.client.time, "sleep", sleep)
    port = free_port()
    result: list[object] = []
    policy = RetryPolicy(retries=600, backoff=0.05, max_wait=0.2)
    client = Mnemo(f"http://127.0.0.1:{port}", retries=policy)

    def call() -> None:
        try:
            result.append(list(client.space_names()))
        except Exception as error:  # reported by the assertion below
            result.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    assert refused_once.wait(60)
    server = start_server(["--dev"], port, tmp_path / "serve.log", wait=False)
    try:
        caller.join(120)
        assert result == [[]]
        assert len(waited) >= 1
    finally:
        client.close()
        stop_server(server)


def test_export_retried_then_streamed_to_file(sleeps: list[float], tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1024  # 256 KiB: several blocks
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(503, headers={"Retry-After": "1"}, json={"error": {"code": "notReady", "message": "x"}})
        return httpx.Response(200, content=iter([payload[i : i + 10000] for i in range(0, len(payload), 10000)]))

    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(handler)) as client:
        assert client.space("a/b").export(tmp_path / "out") == len(payload)
    assert (tmp_path / "out").read_bytes() == payload and sleeps == [1.0]
    assert calls[1].url.raw_path == b"/v1/spaces/a%2Fb/export"


def test_import_streams_with_content_length(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.write_bytes(b"x" * 200_000)
    seen: dict[str, object] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["headers"] = dict(request.headers)
        seen["body"] = b"".join(request.stream)  # type: ignore[arg-type]
        return httpx.Response(201, json=INFO)

    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(handler)) as client:
        assert client.import_space("s", source).name == "s"
    headers = seen["headers"]
    assert isinstance(headers, dict)
    assert headers["content-length"] == "200000" and "transfer-encoding" not in headers
    assert headers["content-type"] == "application/octet-stream"
    assert seen["body"] == b"x" * 200_000


def test_connection_errors_retried_only_when_idempotent(sleeps: list[float]) -> None:
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    with Mnemo("http://mnemo.test", transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(MnemoConnectionError) as err:
            client.space("s").get("a")
        assert err.value.code == "connection" and len(calls) == 4 and len(sleeps) == 3
        calls.clear()
        with pytest.raises(MnemoConnectionError):
            client.space("s").add([{"id": "a", "vector": [1.0]}])
        assert len(calls) == 1


def test_read_timeout_is_not_retried(sleeps: list[float]) -> None:
    calls: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    with Mnemo("http://mnemo.test", timeout=0.5, transport=httpx.MockTransport(slow)) as client:
        with pytest.raises(MnemoConnectionError) as err:
            client.space("s").search([1.0])
    assert err.value.code == "timeout" and err.value.status == 0 and len(calls) == 1 and sleeps == []
