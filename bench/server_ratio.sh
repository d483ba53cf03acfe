#!/usr/bin/env bash
# server_ratio.sh: HTTP against in process, in one run (issue 12's two ratios): starts
# `mnemo serve --dev` (in memory, loopback), then `mnemo load-test --compare-in-process`:
# (1) batch ingest of wordnet384 (30,000 x 384, batches of 100 as vectorBase64, CLIENTS batches
# in flight) through HTTP, (2) searches only (k 10, ef 64, CLIENTS clients, DURATION s) through
# HTTP, then the same ingest and searches in the load-test process against an in-memory
# database; prints both rates and the ratios, and the load average.
# Then, where wrk is installed (Debian's wrk; WRK=0 skips it), the same searches again from wrk
# (C, one thread, CLIENTS keep-alive connections, the same query bodies in turn) against the
# same server and space: the search ratio with a load generator that takes little of the 2
# cores, against the in-process rate of the same run. Then GET /healthz the same way, and the
# machine's CPU per request of each (/proc/stat): an HTTP search costs at least what /healthz
# costs (Hummingbird, NIO, loopback TCP, wrk) plus the search itself, which bounds the ratio.
#   CLIENTS=2 DURATION=10 MNEMO=.build/release/mnemo DATA=../shared/data bash bench/server_ratio.sh
set -euo pipefail
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-2}
MNEMO=${MNEMO:-.build/release/mnemo}
DATA=${DATA:-../shared/data}
PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
URL="http://127.0.0.1:$PORT"
LOG=$(mktemp /tmp/mnemo-ratio-XXXXXX.log)
"$MNEMO" serve --dev --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 &
SERVER=$!
echo "server pid $SERVER (profile with: perf record -g -p $SERVER)"
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$URL/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
"$MNEMO" load-test --url "$URL" --clients "$CLIENTS" --duration "$DURATION" --mix search:100 \
  --space ratio --fvecs "$DATA/wordnet384_base.fvecs" --queries "$DATA/wordnet384_query.fvecs" \
  --k 10 --ef 64 --batch 100 --compare-in-process --json "$@" | tee "$LOG.json"
if [ "${WRK:-1}" != 0 ] && command -v wrk >/dev/null; then
  BODIES="$LOG.bodies"
  python3 - "$DATA/wordnet384_query.fvecs" "$BODIES" <<'PY'
import base64, json, struct, sys
data = open(sys.argv[1], "rb").read()
dimension = struct.unpack_from("<i", data)[0]
row = 4 + 4 * dimension
with open(sys.argv[2], "w") as out:
    for at in range(0, len(data), row):
        vector = base64.b64encode(data[at + 4:at + row]).decode()
        out.write(json.dumps({"vectorBase64": vector, "k": 10, "ef": 64}) + "\n")
PY
  # The machine's busy CPU time (all cores, jiffies of /proc/stat) around each wrk run.
  busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
  echo "== wrk: the same searches, 1 thread, $CLIENTS connections, ${DURATION} s"
  BEFORE=$(busy)
  wrk -t1 -c"$CLIENTS" -d"${DURATION}s" --latency -s bench/wrk/search.lua "$URL" -- "$BODIES" \
    /v1/spaces/ratio/search | tee "$LOG.wrk"
  echo "$BEFORE $(busy)" >"$LOG.busy"
  echo "== wrk: GET /healthz (the cheapest route: Hummingbird, NIO and loopback TCP alone), $CLIENTS connections"
  BEFORE=$(busy)
  wrk -t1 -c"$CLIENTS" -d"${DURATION}s" "$URL/healthz" | tee "$LOG.healthz"
  echo "$BEFORE $(busy)" >>"$LOG.busy"
  python3 - "$LOG.json" "$LOG.wrk" "$LOG.healthz" "$LOG.busy" "$CLIENTS" <<'PY'
import json, os, re, sys
report = json.load(open(sys.argv[1]))
busy = [tuple(map(int, line.split())) for line in open(sys.argv[4])]
tick = os.sysconf("SC_CLK_TCK")
cores = os.cpu_count() or 1

def wrk(path):
    text = open(path).read()
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", text).group(1)), requests, errors.group(1) if errors else 0

rate, searches, errors = wrk(sys.argv[2])
health_rate, healths, _ = wrk(sys.argv[3])
baseline = report["inProcess"]["searchPerSecond"]
print(f"wrk search: {rate:.0f}/s, non-2xx: {errors}; in process {baseline:.0f}/s; "
      f"ratio search http(wrk)/in-process: {rate / baseline:.2f}")
# Machine CPU per request (server, wrk and kernel together) from /proc/stat; the in-process
# search's is the cores its clients keep busy (one each, at most all) over its rate.
search_cpu = (busy[0][1] - busy[0][0]) / tick / searches * 1e6
health_cpu = (busy[1][1] - busy[1][0]) / tick / healths * 1e6
inproc_cpu = min(cores, int(sys.argv[5])) / baseline * 1e6
ceiling = 1e6 * cores / (health_cpu + inproc_cpu)
print(f"machine CPU per request: HTTP search {search_cpu:.0f} us, GET /healthz {health_cpu:.0f} us "
      f"({health_rate:.0f}/s), search in process {inproc_cpu:.0f} us; an HTTP search costs at least "
      f"/healthz + the search: at most {ceiling:.0f}/s on {cores} cores, ratio ceiling {ceiling / baseline:.2f}; "
      f"the route's own work (JSON, routing, the engine call) {search_cpu - health_cpu - inproc_cpu:.0f} us")
PY
fi
