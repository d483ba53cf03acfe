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
# ROUNDS=N repeats the load test and the wrk search run N times (each round its own space,
# loaded anew) and prints every round's ratios and their medians: on a shared 2-core VM one
# run's rates move by 10-20%, and each round's ratio compares rates measured a minute apart.
#   CLIENTS=2 DURATION=10 ROUNDS=5 MNEMO=.build/release/mnemo DATA=../shared/data bash bench/server_ratio.sh
set -euo pipefail
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-2}
ROUNDS=${ROUNDS:-1}
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
WRK_RUN=0
if [ "${WRK:-1}" != 0 ] && command -v wrk >/dev/null; then
  WRK_RUN=1
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
fi
# The machine's busy CPU time (all cores, jiffies of /proc/stat).
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
for ROUND in $(seq 1 "$ROUNDS"); do
  SPACE=ratio-$ROUND
  echo "== round $ROUND of $ROUNDS: load test (HTTP, then in process), space $SPACE"
  "$MNEMO" load-test --url "$URL" --clients "$CLIENTS" --duration "$DURATION" --mix search:100 \
    --space "$SPACE" --fvecs "$DATA/wordnet384_base.fvecs" --queries "$DATA/wordnet384_query.fvecs" \
    --k 10 --ef 64 --batch 100 --compare-in-process --json "$@" | tee "$LOG.$ROUND.json"
  if [ "$WRK_RUN" = 1 ]; then
    echo "== round $ROUND: wrk, the same searches, 1 thread, $CLIENTS connections, ${DURATION} s"
    BEFORE=$(busy)
    wrk -t1 -c"$CLIENTS" -d"${DURATION}s" --latency -s bench/wrk/search.lua "$URL" -- "$BODIES" \
      "/v1/spaces/$SPACE/search" | tee "$LOG.$ROUND.wrk"
    echo "$BEFORE $(busy)" >"$LOG.$ROUND.busy"
  fi
done
if [ "$WRK_RUN" = 1 ]; then
  echo "== wrk: GET /healthz (the cheapest route: Hummingbird, NIO and loopback TCP alone), $CLIENTS connections"
  BEFORE=$(busy)
  wrk -t1 -c"$CLIENTS" -d"${DURATION}s" "$URL/healthz" | tee "$LOG.healthz"
  echo "$BEFORE $(busy)" >"$LOG.healthz.busy"
fi
python3 - "$LOG" "$ROUNDS" "$CLIENTS" "$WRK_RUN" <<'PY'
import json, os, re, statistics, sys
log, rounds, clients, wrk_run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
tick = os.sysconf("SC_CLK_TCK")
cores = os.cpu_count() or 1

def busy_seconds(path):
    before, after = map(int, open(path).read().split())
    return (after - before) / tick

def wrk(path):
    text = open(path).read()
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", text).group(1)), requests, int(errors.group(1)) if errors else 0

ratios = {"search (load-test client)": [], "ingest": [], "search (wrk)": []}
for round in range(1, rounds + 1):
    report = json.load(open(f"{log}.{round}.json"))
    compare = report["inProcess"]
    baseline = compare["searchPerSecond"]
    ratios["search (load-test client)"].append(compare["searchRatio"])
    ratios["ingest"].append(compare["ingestRatio"])
    line = f"round {round}: load-test search ratio {compare['searchRatio']:.2f}, ingest ratio {compare['ingestRatio']:.2f}"
    if wrk_run:
        rate, searches, errors = wrk(f"{log}.{round}.wrk")
        ratios["search (wrk)"].append(rate / baseline)
        line += (f"; wrk search: {rate:.0f}/s, non-2xx: {errors}; in process {baseline:.0f}/s; "
                 f"ratio search http(wrk)/in-process: {rate / baseline:.2f}")
        # Machine CPU per request (server, wrk and kernel together) from /proc/stat; the
        # in-process search's is the cores its clients keep busy (one each, at most all) over
        # its rate.
        search_cpu = busy_seconds(f"{log}.{round}.busy") / searches * 1e6
        inproc_cpu = min(cores, clients) / baseline * 1e6
        line += f"; machine CPU per HTTP search {search_cpu:.0f} us, per search in process {inproc_cpu:.0f} us"
    print(line)
if wrk_run:
    health_rate, healths, _ = wrk(f"{log}.healthz")
    health_cpu = busy_seconds(f"{log}.healthz.busy") / healths * 1e6
    print(f"GET /healthz: {health_rate:.0f}/s, machine CPU {health_cpu:.0f} us a request (an HTTP search costs "
          f"at least that plus the search itself)")
for name, values in ratios.items():
    if values:
        print(f"median of {len(values)}: {name} ratio http/in-process {statistics.median(values):.2f} "
              f"(rounds: {', '.join(f'{v:.2f}' for v in values)})")
PY
