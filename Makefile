# Mnemo's two commands: `make demo` (the main job) and `make test` (every test).
# Both run scripts/setup.sh first, which installs only what is missing.
DATA ?= ../shared/data
JOBS ?= 2
SWIFT_RELEASE = swift build -c release --product mnemo
MNEMO = .build/release/mnemo

.PHONY: setup demo ann-bench test c-test c-test-gcc c-test-tsan c-test-asan swift-test consumer-test server-test cluster-test python-test peers peers-filtered peers-chroma clean

setup:
	@bash scripts/setup.sh

# The main job: an embedded database in ./mnemo-data loaded with wordnet384, searched, linked,
# recalled, closed and reopened (see README).
demo: setup
	$(SWIFT_RELEASE)
	$(MNEMO) demo --data $(DATA)

# The ANN benchmark of the index alone on sift5k (the main job before the engine existed).
ann-bench: setup
	$(SWIFT_RELEASE)
	$(MNEMO) ann-bench --base $(DATA)/sift5k_base.fvecs --query $(DATA)/sift5k_query.fvecs \
	  --groundtruth $(DATA)/sift5k_groundtruth.ivecs --metric l2 --m 16 --ef-construction 200 \
	  --ef 10,20,40,80,160,320 --k 10 --threads 2

test: setup c-test consumer-test swift-test server-test cluster-test python-test

c-test: c-test-gcc c-test-tsan c-test-asan

# Warnings are errors under both compilers (gcc here, clang in the AddressSanitizer build);
# ctest runs unit tests and benchmark smoke runs.
c-test-gcc:
	cmake -S . -B build-gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-gcc -j $(JOBS)
	cd build-gcc && ctest --output-on-failure -j $(JOBS)

# Concurrency tests under ThreadSanitizer (gcc's runtime: the Swift toolchain's clang ships a
# TSan runtime that needs libdispatch); stream parsers and every unit test under AddressSanitizer
# and UndefinedBehaviorSanitizer, built by clang (linked by lld: gold warns about ASan's symbols).
c-test-tsan:
	cmake -S . -B build-tsan -DCMAKE_C_COMPILER=gcc -DMN_SANITIZE=thread -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && ctest --output-on-failure -j $(JOBS) -L concurrency

c-test-asan:
	cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DMN_SANITIZE=address \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) -L "parser|unit"

# Package.swift carries no unsafeFlags (a versioned dependency may not have them), so the C
# core's optimisation is asked for here: the recall tests build real indexes.
# The server and cluster suites run in processes of their own: in one process with the engine
# suites, their tasks share Swift's cooperative pool (two threads here) with CPU-bound oracle
# loops, so a request could wait past the test client's 20 s read timeout and an etcd lease's
# keepalive past its TTL. `mnemo serve` runs its handlers on the event loops instead
# (MnemoHTTPServer.runTasksOnEventLoops).
swift-test:
	swift build --build-tests -Xcc -O2 -j $(JOBS)
	swift test --skip-build --skip MnemoServerTests --skip MnemoClusterTests --skip MnemoNodeTests
	swift test --skip-build --filter MnemoServerTests
	swift test --skip-build --filter MnemoClusterTests
	swift test --skip-build --filter MnemoNodeTests

# The HTTP server against its OpenAPI contract (openapi-spec-validator, schemathesis), kill -9
# under write load (every acknowledged write survives), TLS with a self-signed certificate.
server-test: setup
	JOBS=$(JOBS) bash scripts/server-test.sh

# The cluster end to end: etcd and three nodes on loopback, join, drain and a hot space under
# continuous writes; nothing acknowledged lost, no request failed.
cluster-test: setup
	JOBS=$(JOBS) bash scripts/cluster-test.sh

# The Python client (clients/python) and its LangChain and Mem0 integrations: mypy --strict, then
# pytest against real `mnemo serve` processes the fixtures start.
python-test: setup
	JOBS=$(JOBS) bash scripts/python-test.sh

# A package that depends on Mnemo by version (a tagged clone of HEAD) builds and searches.
consumer-test:
	JOBS=$(JOBS) bash scripts/consumer-test.sh

# Side-by-side with hnswlib on the same files, threads and parameters.
peers: setup
	$(SWIFT_RELEASE)
	python3 bench/peers/compare.py --mnemo $(MNEMO) --data $(DATA)

# Side by side with Chroma 1.5.9 (chroma run + its HTTP client) on wordnet384: ingest, QPS,
# p50/p99 and recall for 1 and 1,000 spaces, 1 and 16 clients, with and without a filter.
peers-chroma: setup
	$(SWIFT_RELEASE)
	PYTHONPATH=clients/python python3 bench/peers/chroma_compare.py --json --mnemo $(MNEMO) --data $(DATA) > chroma_compare.jsonl
	python3 bench/peers/chroma_plot.py chroma_compare.jsonl docs/chroma_compare.png --markdown

# Filtered k-NN: the engine's filtered search and the C core's two strategies against FAISS
# (IDSelectorBitmap) and an exact scan.
peers-filtered: setup
	cmake -S . -B build-gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-gcc --target bench_hnsw bench_engine_filter
	python3 bench/peers/filtered.py --bench-hnsw build-gcc/bench_hnsw --bench-engine build-gcc/bench_engine_filter \
		--data $(DATA) --repeat 7

# The server under 64 clients of 80/20 search/upsert for DURATION seconds (CI: 20; the README's
# soak: 600), RSS sampled after warm-up and at the end; fails on any error but 429.
DURATION ?= 20
.PHONY: server-soak server-ratio
server-soak: setup
	$(SWIFT_RELEASE)
	DURATION=$(DURATION) MNEMO=$(MNEMO) DATA=$(DATA) bash bench/server_soak.sh

# Search and batch ingest through HTTP against the same in process (docs/server.md); ROUNDS=5
# repeats it and prints the medians.
ROUNDS ?= 1
server-ratio: setup
	$(SWIFT_RELEASE)
	ROUNDS=$(ROUNDS) MNEMO=$(MNEMO) DATA=$(DATA) bash bench/server_ratio.sh

clean:
	rm -rf .build build-gcc build-tsan build-asan
