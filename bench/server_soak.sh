#!/usr/bin/env bash
# server_soak.sh: runs `mnemo serve --dev` (in memory, loopback) under 64 clients of an 80/20
# search/upsert mix for DURATION seconds and prints the load test's report with the server's
# RSS sampled after the warm-up (the space loaded) and at the end, and its growth. The space
# holds wordnet384 when DATA has it, else 10,000 random 384-d vectors. Exit status 1 when any
# request failed with a status other than 429 (back-pressure is allowed).
#   DURATION=20 MNEMO=.build/release/mnemo DATA=../shared/data bash bench/server_soak.sh
set -euo pipefail
DURATION=${DURATION:-20}
MNEMO=${MNEMO:-.build/release/mnemo}
DATA=${DATA:-../shared/data}
CLIENTS=${CLIENTS:-64}
PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
URL="http://127.0.0.1:$PORT"
LOG=$(mktemp /tmp/mnemo-soak-XXXXXX.log)
"$MNEMO" serve --dev --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$URL/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$URL/readyz" >/dev/null || { echo "server did not become ready:"; cat "$LOG"; exit 1; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }
FILES=()
if [ -f "$DATA/wordnet384_base.fvecs" ]; then
  FILES=(--fvecs "$DATA/wordnet384_base.fvecs" --queries "$DATA/wordnet384_query.fvecs")
fi
# Warm-up: load the space (the load test's prepare phase) and run 2 s, so the start sample
# sees the data set and the connections, not an empty process.
"$MNEMO" load-test --url "$URL" --clients "$CLIENTS" --duration 2 --mix search:80,upsert:20 \
  --space soak "${FILES[@]}" >/dev/null
RSS_START=$(rss)
REPORT=$(mktemp /tmp/mnemo-soak-XXXXXX.json)
"$MNEMO" load-test --url "$URL" --clients "$CLIENTS" --duration "$DURATION" --mix search:80,upsert:20 \
  --space soak "${FILES[@]}" --json >"$REPORT"
RSS_END=$(rss)
cat "$REPORT"
echo "server RSS: start ${RSS_START} KiB, end ${RSS_END} KiB, growth $((RSS_END - RSS_START)) KiB over ${DURATION} s"
python3 - "$REPORT" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
bad = {status: n for status, n in report.get("errors", {}).items() if status != "429"}
print("errors other than 429:", bad if bad else "none")
sys.exit(1 if bad else 0)
PY
