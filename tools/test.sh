#!/usr/bin/env bash
# test.sh -- set up, build and run the whole test suite:
#   1. plain build: every test (unit, integration, faults, supervisord);
#   2. AddressSanitizer + UndefinedBehaviorSanitizer: unit and integration;
#   3. ThreadSanitizer: the threaded (integration) tests.
# Fault tests need root (network namespaces); in CI (CI set) their absence
# is a failure, elsewhere they are skipped loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
jobs=$(nproc)
status=0

run() {	# run NAME BUILDKIND CTEST-ARGS...
	local name=$1 kind=$2; shift 2
	echo "=== $name: building ($kind)"
	tools/build.sh "$kind"
	local dir=build
	[ "$kind" = plain ] || dir=build-$kind
	echo "=== $name: testing"
	if ! (cd "$dir" && ctest --output-on-failure -j "$jobs" "$@"); then
		echo "=== $name: FAILED"
		status=1
	fi
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

run "plain" plain -LE faults
# Fault tests share network namespaces' names by test: one at a time.
if (cd build && ctest -N -L faults | grep -q "Total Tests: [1-9]"); then
	echo "=== faults: testing"
	(cd build && ctest --output-on-failure -L faults -j 1) || { echo "=== faults: FAILED"; status=1; }
fi
run "asan+ubsan" asan -LE faults
run "tsan" tsan -L integration

if [ $status -eq 0 ]; then
	echo "=== all test runs passed"
else
	echo "=== some test runs FAILED"
fi
exit $status
