"""`mnemo serve`'s command line: --dev refuses a non-loopback address, auth on without an admin key
(or with one under 16 bytes) refuses to start, no --data says loudly that the database is in
memory, the admin key from MNEMO_ADMIN_KEY guards /v1 while /healthz stays open, and cluster mode
(--etcd) refuses to start without a node id or a data directory, or with a bad move limit or
capacity."""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from mnemo_server import free_port


def refused(args, env=None):
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    return result.returncode != 0, result.stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mnemo", required=True)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNEMO_")}
    ok, err = refused([args.mnemo, "serve", "--dev", "--host", "0.0.0.0", "--port", "0"], env)
    assert ok and "loopback" in err, err
    ok, err = refused([args.mnemo, "serve", "--port", "0"], env)
    assert ok and "admin" in err, err
    ok, err = refused([args.mnemo, "serve", "--port", "0"], dict(env, MNEMO_ADMIN_KEY="short"))
    assert ok, err
    with tempfile.TemporaryDirectory() as data:
        cluster = [args.mnemo, "serve", "--dev", "--port", "0", "--etcd", "http://127.0.0.1:1"]
        for extra, message in (([], "--node-id"), (["--node-id", "1"], "--data"),
                               (["--node-id", "1", "--data", data, "--max-concurrent-moves", "0"],
                                "--max-concurrent-moves"),
                               (["--node-id", "1", "--data", data, "--capacity", "0"], "--capacity")):
            ok, err = refused(cluster + extra, env)
            assert ok and message in err, (extra, err)

    port = free_port()
    key = "cli-test-admin-key-0123456789"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen([args.mnemo, "serve", "--port", str(port)], stdout=log, stderr=log,
                                  env=dict(env, MNEMO_ADMIN_KEY=key))
        try:
            for _ in range(600):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                        if r.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.1)
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/spaces", timeout=5)
                raise AssertionError("/v1 answered without a credential")
            except urllib.error.HTTPError as error:
                assert error.code == 401, error.code
            request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/spaces",
                                             headers={"Authorization": f"Bearer {key}"})
            with urllib.request.urlopen(request, timeout=5) as r:
                assert r.status == 200
        finally:
            server.terminate()
            code = server.wait(timeout=60)
        log.seek(0)
        text = log.read().decode(errors="replace")
    assert code == 0, f"SIGTERM exit {code}"
    assert "IN MEMORY" in text or "in-memory" in text, text
    print("cli test passed: --dev is loopback only, auth needs an admin key, in-memory is announced, "
          "cluster options are checked")


if __name__ == "__main__":
    main()
