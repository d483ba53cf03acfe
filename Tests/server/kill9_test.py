"""kill -9 under write load: every write that got a 2xx survives the crash.

Writers upsert memories (PUT one, and POST batches of 5) over keep-alive connections to
`mnemo serve --data DIR` and record each write the server acknowledged with a 2xx. The server is
killed with SIGKILL at a random moment of each round (>= 10 rounds), restarted on the same data
directory, and every acknowledged memory of every round so far must be there with its content.
Writes in flight at the kill may or may not be there; none may be half there (content intact).
"""
import argparse
import random
import sys
import tempfile
import threading
import time

from mnemo_server import Server

DIMENSION = 8


def vector(n):
    rng = random.Random(n)
    return [rng.uniform(-1, 1) for _ in range(DIMENSION)]


def writer(server, worker, stop, acknowledged, lock, counter):
    conn = server.connection(timeout=5)
    while not stop.is_set():
        with lock:
            n = counter[0]
            counter[0] += 5
        try:
            if n % 2 == 0:
                ids = [f"w{worker}-{n}"]
                status, _ = server.request("PUT", f"/v1/spaces/crash/memories/{ids[0]}",
                                           {"vector": vector(n), "text": ids[0]}, connection=conn)
            else:
                ids = [f"w{worker}-{n + i}" for i in range(5)]
                batch = [{"id": i, "vector": vector(n + k), "text": i} for k, i in enumerate(ids)]
                status, _ = server.request("POST", "/v1/spaces/crash/memories",
                                           {"memories": batch, "upsert": True}, connection=conn)
        except Exception:
            return  # the server died: this write is unacknowledged
        if 200 <= status < 300:
            with lock:
                acknowledged.update(ids)
        elif status != 429:
            print(f"unexpected status {status}", file=sys.stderr)
            return


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mnemo", required=True)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--writers", type=int, default=3)
    parser.add_argument("--log", default=None)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as data:
        server = Server(args.mnemo, data=data, log=args.log).start()
        status, body = server.request("POST", "/v1/spaces", {"name": "crash", "dimension": DIMENSION, "metric": "l2"})
        assert status == 201, (status, body)
        acknowledged = set()
        lock = threading.Lock()
        counter = [0]
        failures = 0
        for round_number in range(args.rounds):
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(server, w, stop, acknowledged, lock, counter))
                       for w in range(args.writers)]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.2, 1.0))
            server.kill()
            stop.set()
            for thread in threads:
                thread.join()
            server = Server(args.mnemo, data=data, log=args.log)
            server.start()
            conn = server.connection()
            missing = []
            with lock:
                expected = sorted(acknowledged)
            for memory_id in expected:
                status, body = server.request("GET", f"/v1/spaces/crash/memories/{memory_id}?include=content",
                                              connection=conn)
                if status != 200 or body.get("text") != memory_id:
                    missing.append((memory_id, status))
            conn.close()
            print(f"kill point {round_number + 1}: {len(expected)} acknowledged writes, {len(missing)} missing")
            if missing:
                failures += 1
                print("  missing:", missing[:10], file=sys.stderr)
        # A graceful stop (SIGTERM) exits 0 and keeps everything too.
        conn = server.connection()
        extra = [f"final-{i}" for i in range(20)]
        for memory_id in extra:
            status, _ = server.request("PUT", f"/v1/spaces/crash/memories/{memory_id}",
                                       {"vector": vector(len(memory_id)), "text": memory_id}, connection=conn)
            assert 200 <= status < 300, status
        conn.close()
        code = server.stop()
        if code != 0:
            print(f"graceful stop exited {code}", file=sys.stderr)
            failures += 1
        server = Server(args.mnemo, data=data, log=args.log).start()
        conn = server.connection()
        lost = [m for m in sorted(acknowledged) + extra
                if server.request("GET", f"/v1/spaces/crash/memories/{m}?include=content", connection=conn)[0] != 200]
        conn.close()
        print(f"after SIGTERM and restart: {len(acknowledged) + len(extra)} writes, {len(lost)} missing")
        if lost:
            failures += 1
        server.stop()
        if len(acknowledged) == 0:
            print("no write was acknowledged: the test proved nothing", file=sys.stderr)
            failures += 1
    if failures:
        print("kill -9 test FAILED", file=sys.stderr)
        sys.exit(1)
    print(f"kill -9 test passed: {args.rounds} kill points, {len(acknowledged)} acknowledged writes all present")


if __name__ == "__main__":
    main()
