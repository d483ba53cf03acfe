#!/usr/bin/env bash
# Runs schemathesis against a live `mnemo serve --dev` (a temporary data directory, a free
# loopback port) with the committed OpenAPI document: a bounded number of examples per
# operation, and the checks the contract promises: no 5xx, every status documented, every
# response body matching its schema, content types and headers as documented.
# Usage: schemathesis_test.sh MNEMO_BINARY SPEC [EXAMPLES]
set -euo pipefail
mnemo=$1
spec=$(realpath "$2")
examples=${3:-50}
here=$(cd "$(dirname "$0")" && pwd)
port=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from mnemo_server import free_port; print(free_port())' "$here")
log=$(mktemp)
data=$(mktemp -d)
"$mnemo" serve --dev --host 127.0.0.1 --port "$port" --workers 2 --data "$data" >"$log" 2>&1 &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 600); do
  if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
# Seed one space so that generated requests also reach the routes past "unknown space".
curl -sf -X POST "http://127.0.0.1:$port/v1/spaces" -H 'Content-Type: application/json' \
  -d '{"name": "seeded", "dimension": 2, "metric": "l2"}' >/dev/null
# From a scratch directory: schemathesis keeps a cache (.schemathesis/) where it runs.
workdir=$(mktemp -d)
(cd "$workdir" && timeout 900 schemathesis run "$spec" --url "http://127.0.0.1:$port" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "$examples" --seed 20261130 --workers 1 --request-timeout 30 --no-color --warnings off)
rm -rf "$workdir"
kill -TERM "$pid"
if ! wait "$pid"; then
  echo "schemathesis_test: the server did not exit 0 on SIGTERM" >&2
  cat "$log" >&2
  exit 1
fi
trap - EXIT
rm -rf "$data"
echo "schemathesis_test: passed ($examples examples per operation)"
