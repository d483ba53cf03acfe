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
# cores, against the in-process rate of the same run.
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
  echo "== wrk: the same searches, 1 thread, $CLIENTS connections, ${DURATION} s"
  wrk -t1 -c"$CLIENTS" -d"${DURATION}s" --latency -s bench/wrk/search.lua "$URL" -- "$BODIES" \
    /v1/spaces/ratio/search | tee "$LOG.wrk"
  python3 - "$LOG.json" "$LOG.wrk" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
baseline = report["inProcess"]["searchPerSecond"]
print(f"wrk search: {rate:.0f}/s, non-2xx: {errors.group(1) if errors else 0}; in process {baseline:.0f}/s; "
      f"ratio search http(wrk)/in-process: {rate / baseline:.2f}")
PY
fi
