#!/usr/bin/env bash
# test.sh -- set up, build and run the whole test suite:
#   1. plain build: every test (unit, integration, faults, supervisord,
#      once each, by themselves: the package (manual pages, alert rules,
#      the .deb) and the soak);
#   2. AddressSanitizer + UndefinedBehaviorSanitizer: unit and integration;
#   3. ThreadSanitizer: the threaded (integration) tests;
#   4. fuzz: every libFuzzer target for FUZZ_SECONDS (60) s each
#      (tests/fuzz/run.sh), one count per target.
# Fault tests need root (network namespaces); in CI (CI set) their absence
# is a failure, elsewhere they are skipped loudly. As root, once set-up
# has installed everything, every test can run: CI is then implied, so
# that a test that would skip (a tool missing, no namespaces) fails.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
if [ "$(id -u)" -eq 0 ]; then
	export CI="${CI:-1}"
fi
jobs=$(nproc)
status=0
passed=0
failed=0
skipped=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# ctest with its output shown and counted: "N% tests passed, F tests failed
# out of T", and one "***Skipped" line per skipped test.
counted_ctest() {
	local rc=0 total fail skip
	# pipefail: the pipeline fails when ctest does.
	if ! ctest "$@" 2>&1 | tee "$out"; then
		rc=1
	fi
	total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$out" | tail -n 1)
	fail=$(sed -n 's/.* \([0-9]*\) tests failed out of .*/\1/p' "$out" | tail -n 1)
	skip=$(grep -c '\*\*\*Skipped' "$out" || true)
	if [ -z "$total" ]; then
		# ctest printed no summary: it could not run the tests at all.
		failed=$((failed + 1))
		return 1
	fi
	passed=$((passed + total - fail - skip))
	failed=$((failed + fail))
	skipped=$((skipped + skip))
	return $rc
}

# tests/fuzz/run.sh with its output shown and counted: "fuzz: N passed,
# F failed", one count per target.
counted_fuzz() {
	local rc=0 pass fail
	if ! tests/fuzz/run.sh "$@" 2>&1 | tee "$out"; then
		rc=1
	fi
	pass=$(sed -n 's/^fuzz: \([0-9]*\) passed, [0-9]* failed$/\1/p' "$out" |
	    tail -n 1)
	fail=$(sed -n 's/^fuzz: [0-9]* passed, \([0-9]*\) failed$/\1/p' "$out" |
	    tail -n 1)
	if [ -z "$pass" ] || [ -z "$fail" ]; then
		failed=$((failed + 1))
		return 1
	fi
	passed=$((passed + pass))
	failed=$((failed + fail))
	return $rc
}

run() {	# run NAME BUILDKIND CTEST-ARGS...
	local name=$1 kind=$2; shift 2
	echo "=== $name: building ($kind)"
	tools/build.sh "$kind"
	local dir=build
	[ "$kind" = plain ] || dir=build-$kind
	echo "=== $name: testing"
	if ! counted_ctest --test-dir "$dir" --output-on-failure -j "$jobs" "$@"; then
		echo "=== $name: FAILED"
		status=1
	fi
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

run "plain" plain -LE 'faults|package|soak'
# Fault tests assert detection times: one at a time, nothing beside them.
if ctest --test-dir build -N -L faults | grep -q "Total Tests: [1-9]"; then
	echo "=== faults: testing"
	counted_ctest --test-dir build --output-on-failure -L faults -j 1 ||
	    { echo "=== faults: FAILED"; status=1; }
fi
# What the package ships does not depend on a sanitizer: once. Its build
# takes both cores, so nothing runs beside it.
echo "=== package: testing"
counted_ctest --test-dir build --output-on-failure -L package -j 1 ||
    { echo "=== package: FAILED"; status=1; }
# The soak measures one process's fds, threads and memory: alone, once.
echo "=== soak: testing"
counted_ctest --test-dir build --output-on-failure -V -L soak -j 1 ||
    { echo "=== soak: FAILED"; status=1; }
run "asan+ubsan" asan -LE 'faults|package|soak'
run "tsan" tsan -L integration

echo "=== fuzz: building (fuzz)"
tools/build.sh fuzz
echo "=== fuzz: running each target for ${FUZZ_SECONDS:-60} s"
if ! counted_fuzz build-fuzz; then
	echo "=== fuzz: FAILED"
	status=1
fi

if [ $status -eq 0 ]; then
	echo "=== all test runs passed"
else
	echo "=== some test runs FAILED"
fi
echo "total: $passed passed, $failed failed, $skipped skipped"
exit $status
