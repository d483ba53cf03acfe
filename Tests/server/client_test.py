"""The `mnemo` clients of a running server against a live `mnemo serve --dev`: `load` puts every
row of a small .fvecs file (texts from a TSV) in batches with a progress line on stderr,
`spaces` lists the space (its '/' percent-encoded on the way), `put` upserts one memory that
`search` then finds first with its text, a bad vector fails with the server's message, and
`load-test` stops by itself after a fixed request count with zero errors and valid JSON whose
counts add up; /metrics then counts those routes by pattern."""
import argparse
import json
import os
import struct
import subprocess
import tempfile

from mnemo_server import Server


def run(args, check=True):
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed: {result.stdout}\n{result.stderr}")
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mnemo", required=True)
    parser.add_argument("--log", default=None)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="mnemo-client-")
    dim, rows = 8, 250
    fvecs = os.path.join(work, "v.fvecs")
    with open(fvecs, "wb") as f:
        for i in range(rows):
            f.write(struct.pack("<i", dim))
            f.write(struct.pack(f"<{dim}f", *[((i * 7 + j * 3) % 11) - 5.0 + 0.5 for j in range(dim)]))
    texts = os.path.join(work, "t.tsv")
    with open(texts, "w") as f:
        for i in range(rows):
            f.write(f"{i}\tid-{i}\ttext number {i}\n")
    server = Server(args.mnemo, log=args.log)
    server.start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        space = "team/vectors"
        loaded = run([args.mnemo, "load", "--url", url, "--fvecs", fvecs, "--texts", texts,
                      "--space", space, "--metric", "l2", "--batch", "100"])
        assert f"loaded {rows} memories" in loaded.stdout, loaded.stdout
        assert "ETA" in loaded.stderr and f"{rows}/{rows}" in loaded.stderr, loaded.stderr
        listed = run([args.mnemo, "spaces", "--url", url]).stdout.split()
        assert listed == [space], listed
        stats = json.loads(run([args.mnemo, "spaces", "--url", url, "--stats"]).stdout)
        assert stats["count"] == rows, stats
        vector = ",".join(["9"] * dim)
        put = json.loads(run([args.mnemo, "put", "--url", url, "--space", space, "--id", "far",
                              "--vector", vector, "--text", "far away", "--meta", "kind=probe"]).stdout)
        assert put == {"id": "far", "replaced": False}, put
        hits = json.loads(run([args.mnemo, "search", "--url", url, "--space", space, "--vector", vector,
                               "--k", "3"]).stdout)["hits"]
        assert hits[0]["id"] == "far" and hits[0]["text"] == "far away", hits
        assert len(hits) == 3
        bad = run([args.mnemo, "search", "--url", url, "--space", space, "--vector", "1,2", "--k", "3"],
                  check=False)
        assert bad.returncode != 0 and "400" in bad.stderr, bad.stderr
        report = json.loads(run([args.mnemo, "load-test", "--url", url, "--clients", "4", "--requests", "300",
                                 "--mix", "search:70,upsert:30", "--space", space, "--json"]).stdout)
        assert report["requests"] == 300, report
        assert report["errors"] == {}, report
        kinds = report["kinds"]
        assert kinds["search"]["ok"] + kinds["upsert"]["ok"] == 300, kinds
        assert kinds["search"]["p50Ms"] <= kinds["search"]["p99Ms"] <= kinds["search"]["p999Ms"], kinds
        status, body = server.request("GET", "/metrics")
        page = body.decode() if isinstance(body, bytes) else str(body)
        assert status == 200, status
        assert 'route="/v1/spaces/{space}/search",method="POST",status="200"' in page, page[:2000]
        assert 'mnemo_space_memories{space="team/vectors"}' in page, page[:2000]
    finally:
        server.stop()
    print("client test: passed")


if __name__ == "__main__":
    main()
