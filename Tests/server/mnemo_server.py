"""Starts and stops `mnemo serve` for the Python server tests (Tests/server/*.py).

A server runs on a free loopback port with its own data directory; `start` waits until /readyz
answers 200 (recovery done), `kill` sends SIGKILL, `stop` SIGTERM and waits for exit 0.
"""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, data=None, extra=(), tls_context=None, log=None):
        self.binary = binary
        self.data = data
        self.extra = list(extra)
        self.port = free_port()
        self.process = None
        self.tls_context = tls_context
        self.log = log

    def start(self, timeout=120):
        args = [self.binary, "serve", "--dev", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.data:
            args += ["--data", self.data]
        args += self.extra
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(args, stdout=out, stderr=out)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mnemo serve exited with {self.process.returncode} (log: {self.log})")
            try:
                status, _ = self.request("GET", "/readyz", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("mnemo serve did not become ready")

    def connection(self, timeout=10):
        if self.tls_context is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=self.tls_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, timeout=10, connection=None):
        own = connection is None
        conn = connection or self.connection(timeout)
        try:
            headers = {}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw
            return response.status, parsed
        finally:
            if own:
                conn.close()

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout=60):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)
