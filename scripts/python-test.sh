#!/usr/bin/env bash
# The Python client's checks (`make python-test`): mypy --strict over the mnemo_client package,
# then pytest over clients/python/tests, which start their own `mnemo serve` processes on free
# loopback ports. Installs nothing (scripts/setup.sh does). The server binary is $MNEMO_BIN, else
# the repository's build (built here first, like server-test). PYTHONPATH puts the working tree's
# package ahead of any installed copy. Extra arguments go to pytest (e.g. -k recall, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
if [ -z "${MNEMO_BIN:-}" ]; then
    swift build --product mnemo -Xcc -O2 -j "$JOBS"
    MNEMO_BIN="$(swift build --show-bin-path -Xcc -O2)/mnemo"
fi
export MNEMO_BIN
export PYTHONPATH="$PWD/clients/python${PYTHONPATH:+:$PYTHONPATH}"
echo "== mypy --strict clients/python/mnemo_client, the example and the client benchmark"
MYPYPATH="$PWD/clients/python" python3 -m mypy --config-file clients/python/pyproject.toml --strict --cache-dir "${MYPY_CACHE_DIR:-/tmp/mnemo-mypy-cache}" \
    clients/python/mnemo_client examples/agent_memory.py bench/python/client_bench.py \
    bench/python/langchain_bench.py bench/peers/chroma_compare.py bench/peers/chroma_plot.py \
    bench/peers/httpx_floor.py
echo "== pytest clients/python/tests and Tests/peers (server: $MNEMO_BIN)"
timeout "${PYTHON_TEST_TIMEOUT:-900}" python3 -m pytest -q -p no:cacheprovider clients/python/tests Tests/peers "$@"
echo "python-test: all passed"
