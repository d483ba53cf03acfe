#!/usr/bin/env bash
# Builds Tests/consumer, a package that depends on Mnemo BY VERSION, and runs a search through
# it. SwiftPM refuses a versioned dependency whose targets carry unsafeFlags, so this is the
# test that Package.swift stays usable by applications, not only by its own `swift build`.
#
# It clones the repository's committed HEAD (uncommitted changes are not part of any version)
# into a fresh temporary directory, tags the clone 1.0.0, points the consumer at it through
# MNEMO_PACKAGE_URL (file://...), builds the consumer there and checks its output. Everything
# lives under one temporary directory that is removed at the end, so a run changes nothing in
# the repository and any number of runs give the same result.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${JOBS:-2}"
work="$(mktemp -d "${TMPDIR:-/tmp}/mnemo-consumer.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
  echo "consumer-test: note: uncommitted changes are not tested (the consumer builds HEAD)"
fi

# The clone: HEAD only, on a branch, tagged as a release.
clone="$work/mnemo"
git init -q "$clone"
git -C "$clone" fetch -q --depth 1 "file://$root" HEAD
git -C "$clone" checkout -q -b main FETCH_HEAD
git -C "$clone" -c user.name=consumer-test -c user.email=consumer-test@localhost tag -a 1.0.0 -m "consumer test"

# The consumer, copied so its .build and Package.resolved stay out of the repository.
consumer="$work/consumer"
mkdir -p "$consumer"
cp -R "$root/Tests/consumer/Package.swift" "$root/Tests/consumer/Sources" "$consumer/"

export MNEMO_PACKAGE_URL="file://$clone"
started=$(date +%s)
# A private dependency cache: a tag 1.0.0 from an earlier run must never be reused.
swift build --package-path "$consumer" --cache-path "$work/cache" -j "$jobs" 2>&1 | tail -n 20
built=$(date +%s)
output="$(swift run --package-path "$consumer" --cache-path "$work/cache" --skip-build MnemoConsumer)"
echo "$output"
echo "consumer-test: built in $((built - started)) s"
if ! grep -qx 'consumer nearest: east "points east"' <<<"$output"; then
  echo "consumer-test: FAILED: expected the nearest memory to be east" >&2
  exit 1
fi
echo "consumer-test: ok (Mnemo 1.0.0 from $MNEMO_PACKAGE_URL)"
