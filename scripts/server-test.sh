#!/usr/bin/env bash
# The HTTP server's tests outside Swift (`make server-test`): the committed OpenAPI document is
# validated (openapi-spec-validator), a live `mnemo serve --dev` is checked against it by
# schemathesis, the server is killed -9 under write load at >= 10 points and every acknowledged
# write must survive each restart, 64 clients run 80/20 search/upsert for 20 s (SOAK_SECONDS) with
# no error but 429, and TLS is exercised with a self-signed certificate.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
swift build --product mnemo -Xcc -O2 -j "$JOBS"
mnemo="$(swift build --show-bin-path -Xcc -O2)/mnemo"
spec=Sources/MnemoServer/openapi.json
log=$(mktemp -d)/server.log
echo "== openapi: validate $spec"
python3 Tests/server/openapi_test.py "$spec"
echo "== schemathesis against a live server"
bash Tests/server/schemathesis_test.sh "$mnemo" "$spec" "${SCHEMATHESIS_EXAMPLES:-50}"
echo "== kill -9 under write load"
python3 Tests/server/kill9_test.py --mnemo "$mnemo" --rounds "${KILL_ROUNDS:-10}" --log "$log"
echo "== the serve command line"
python3 Tests/server/cli_test.py --mnemo "$mnemo"
echo "== the CLI clients (spaces, search, put, load, load-test) and /metrics"; python3 Tests/server/client_test.py --mnemo "$mnemo" --log "$log"
echo "== 64 clients, 80/20 search/upsert, ${SOAK_SECONDS:-20} s: no errors but 429, RSS printed"
DURATION="${SOAK_SECONDS:-20}" MNEMO="$mnemo" bash bench/server_soak.sh
echo "== TLS with a self-signed certificate"
python3 Tests/server/tls_test.py --mnemo "$mnemo" --log "$log"
echo "server-test: all passed"
