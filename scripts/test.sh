#!/bin/sh
# test.sh - the whole suite, as `make test` and CI run it:
#   1. layering check, build with -Werror, normal and ASan+UBSan
#   2. cmocka unit tests against both builds
#   3. libFuzzer targets, briefly (FUZZ_SECONDS each, default 10)
#   4. the examples' own tests, the client library's unit tests (tests/client),
#      then black-box tests (node --test) against both builds, and the fault
#      suite (tests/faults: a history checker over Redis, gateway and client
#      faults) against both builds
#   5. browser tests (tests/e2e: chromium via playwright-core) against the normal build
#   6. the Docker deployment on a real engine (tests/docker: image, compose
#      stack over TLS, a gateway killed, Redis restarted); it installs
#      docker.io and starts a dockerd when none answers, and fails when it
#      cannot; SYNCGATE_SKIP_DOCKER=1 skips it, saying so
# Any failure stops the run with a non-zero exit.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
san=address,undefined
sanbuild=build-address-undefined
fuzz_seconds=${FUZZ_SECONDS:-10}

step() { printf '\n==== %s\n' "$*"; }

step "layering and build (normal, then $san)"
make --no-print-directory check-layering
make --no-print-directory -j"$jobs" WERROR=-Werror all
make --no-print-directory -j"$jobs" WERROR=-Werror SANITIZE=$san all

step "unit tests (normal build)"
make --no-print-directory WERROR=-Werror unit
step "unit tests ($san build)"
ASAN_OPTIONS=detect_leaks=1 make --no-print-directory WERROR=-Werror SANITIZE=$san unit

step "fuzz targets (${fuzz_seconds}s each)"
make --no-print-directory -j"$jobs" fuzz
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	f=build-fuzz/$name
	corpus=tests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	if [ -d "$corpus" ]; then cp -r "$corpus"/. "$work"/; fi
	if ! "$f" -max_total_time="$fuzz_seconds" -timeout=5 -rss_limit_mb=2048 \
		-artifact_prefix=build-fuzz/ -print_final_stats=1 "$work" \
		>"build-fuzz/$name.log" 2>&1; then
		tail -40 "build-fuzz/$name.log"
		echo "fuzz: $name found a failure (artifact in build-fuzz/)"
		exit 1
	fi
	echo "$name: $(grep -E 'stat::number_of_executed_units' "build-fuzz/$name.log" | awk '{print $2}') inputs, no failure"
	rm -rf "$work"
done

step "example resolver (node --test examples/)"
node --test examples/

step "client library unit tests (node --test tests/client/)"
node --test tests/client/

cd tests
step "black-box tests (normal build)"
SYNCGATE_BIN=../build/syncgate node --test --test-concurrency=2 integration/
step "fault suite (normal build)"
SYNCGATE_BIN=../build/syncgate node --test --test-concurrency=1 faults/
step "browser tests (normal build)"
SYNCGATE_BIN=../build/syncgate node --test --test-concurrency=1 e2e/
step "black-box tests ($san build)"
SYNCGATE_BIN=../$sanbuild/syncgate node --test --test-concurrency=2 integration/
step "fault suite ($san build)"
SYNCGATE_BIN=../$sanbuild/syncgate node --test --test-concurrency=1 faults/
step "docker (real engine: tests/docker)"
if [ "${SYNCGATE_SKIP_DOCKER:-0}" = 1 ]; then
	echo "docker: SKIPPED (SYNCGATE_SKIP_DOCKER=1): the Docker deployment was not tested"
else
	node --test --test-concurrency=1 docker/
fi
step "all suites passed"
