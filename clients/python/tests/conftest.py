"""Fixtures: real `mnemo serve` processes on free loopback ports, one per test session.

`server` is `mnemo serve --dev` (no auth, in memory); `auth_server` runs with an admin key file
(auth on) for the token and 401/403 tests. The binary is $MNEMO_BIN, else the debug build of the
repository (`swift build --show-bin-path`/mnemo; `make python-test` builds it first). Each server
is killed at the end of the session; tests use fresh space names so they share one server.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]


def mnemo_binary() -> str:
    """The `mnemo` executable the tests start: $MNEMO_BIN or the repository's build."""
    env = os.environ.get("MNEMO_BIN")
    if env:
        return env
    try:
        out = subprocess.run(
            ["swift", "build", "--show-bin-path", "-Xcc", "-O2"],
            cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
        )
        candidate = Path(out.stdout.strip()) / "mnemo"
        if candidate.exists():
            return str(candidate)
    except (OSError, subprocess.SubprocessError):
        pass
    pytest.exit("no mnemo binary: set MNEMO_BIN or build it (swift build)", returncode=2)


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `mnemo serve`: its URL, process, and the admin key when auth is on."""

    url: str
    process: subprocess.Popen[bytes]
    admin_key: str | None = None


def start_server(args: list[str], port: int, log: Path, wait: bool = True, timeout: float = 120.0) -> Server:
    """Start `mnemo serve` with `args` on `port`; with `wait`, return once /readyz answers 200."""
    with log.open("ab") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [mnemo_binary(), "serve", "--host", "127.0.0.1", "--port", str(port), *args], stdout=out, stderr=out
        )
    server = Server(f"http://127.0.0.1:{port}", process)
    if not wait:
        return server
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mnemo serve exited with {process.returncode}; log: {log}")
        try:
            if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    stop_server(server)
    raise RuntimeError(f"mnemo serve did not become ready; log: {log}")


def stop_server(server: Server) -> None:
    """SIGTERM the server and wait for it (SIGKILL after 30 s)."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`mnemo serve --dev`, in memory, for the whole session."""
    log = tmp_path_factory.mktemp("dev") / "serve.log"
    srv = start_server(["--dev"], free_port(), log)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`mnemo serve` with authentication on (an admin key file), in memory."""
    root = tmp_path_factory.mktemp("auth")
    key = secrets.token_urlsafe(32)
    key_file = root / "admin.key"
    key_file.write_text(key + "\n")
    srv = start_server(["--admin-key-file", str(key_file)], free_port(), root / "serve.log")
    srv.admin_key = key
    yield srv
    stop_server(srv)


@pytest.fixture
def name() -> str:
    """A fresh space name (with a `/`, so percent-encoding is exercised everywhere)."""
    return f"test/{uuid.uuid4().hex[:12]}"
