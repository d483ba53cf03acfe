#!/usr/bin/env bash
# Installs what Mnemo's build, tests and peer benchmarks need, and only what is missing: Debian
# packages for the C core (liburcu, libnuma, libxxhash), CMake, pkg-config and etcd (the cluster
# control plane's tests run a real one), wrk (the HTTP load generator of bench/server_ratio.sh),
# and the Python packages of the peer comparisons (hnswlib for compare.py, FAISS for
# filtered.py, Chroma for chroma_compare.py), of the server tests (openapi-spec-validator,
# schemathesis) and of the Python client's tests (httpx, mypy, pytest, and the integrations'
# mem0ai, langchain-core and langchain-tests). Safe to run any number of times.
set -euo pipefail

apt_packages=(liburcu-dev libnuma-dev libxxhash-dev cmake pkg-config etcd-server wrk)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python_packages=(numpy "hnswlib==0.8.0" "faiss-cpu==1.15.1" matplotlib "openapi-spec-validator==0.9.0"
                 "schemathesis==4.32.5" "httpx==0.28.1" "mypy==2.4.1" "pytest==9.0.3" "mem0ai==2.2.1"
                 "langchain-core==1.8.3" "langchain-tests==1.1.9" "chromadb==1.5.9")
python_modules=(numpy hnswlib faiss matplotlib openapi_spec_validator schemathesis httpx mypy pytest mem0
                langchain_core langchain_tests chromadb)
need_pip=0
for module in "${python_modules[@]}"; do
  python3 -c "import $module" 2>/dev/null || need_pip=1
done
if [ "$need_pip" -eq 1 ]; then
  echo "setup: installing ${python_packages[*]} (pip)"
  python3 -m pip install -q "${python_packages[@]}"
fi
