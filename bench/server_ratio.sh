#!/usr/bin/env bash
# server_ratio.sh: HTTP against in process, in one run (issue 12's two ratios): starts
# `mnemo serve --dev` (in memory, loopback), then `mnemo load-test --compare-in-process`:
# (1) batch ingest of wordnet384 (30,000 x 384, batches of 100 as vectorBase64, CLIENTS batches
# in flight) through HTTP, (2) searches only (k 10, ef 64, CLIENTS clients, DURATION s) through
# HTTP, then the same ingest and searches in the load-test process against an in-memory
# database; prints both rates and the ratios, and the load average.
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
  --k 10 --ef 64 --batch 100 --compare-in-process "$@"
