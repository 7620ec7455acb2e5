#!/usr/bin/env bash
# run.sh -- run every libFuzzer target of tests/fuzz for a bounded time and
# fail on any crash, leak, timeout or out-of-memory it finds.
#
#   tests/fuzz/run.sh [-t SECONDS] [BUILD_DIR [TARGET...]]
#
# BUILD_DIR defaults to build-fuzz (tools/build.sh fuzz), SECONDS to 60 (or
# FUZZ_SECONDS), per target; TARGET defaults to every fuzz_*.c here. Target
# fuzz_NAME starts from the seed corpus corpus/NAME/ (and NAME.dict if
# there is one); new inputs go to a scratch copy, never into the tree.
# Whatever it finds is kept in BUILD_DIR/fuzz-artifacts/ and printed in
# base64, so that a failure in CI can be reproduced from its log:
#   base64 -d > crash && BUILD_DIR/tests/fuzz/fuzz_NAME crash
# Prints one line per target and ends with "fuzz: N passed, N failed".
# Exit 0 when every target passed, 1 otherwise, 64 on bad usage.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
seconds=${FUZZ_SECONDS:-60}
if [ "${1:-}" = -t ]; then
	if [ $# -lt 2 ]; then
		echo "usage: run.sh [-t SECONDS] [BUILD_DIR [TARGET...]]" >&2
		exit 64
	fi
	seconds=$2
	shift 2
fi
case $seconds in
''|*[!0-9]*|0) echo "run.sh: SECONDS must be a positive integer" >&2; exit 64 ;;
esac
build=$(cd "${1:-$here/../../build-fuzz}" 2>/dev/null && pwd) || {
	echo "run.sh: no ${1:-build-fuzz}: run tools/build.sh fuzz" >&2
	exit 64
}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for src in "$here"/fuzz_*.c; do
		[ -e "$src" ] && targets+=("$(basename "$src" .c)")
	done
fi

# Ours last: they win over the caller's.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:print_suppressions=0
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwfuzz.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
for t in "${targets[@]}"; do
	name=${t#fuzz_}
	bin=$build/tests/fuzz/$t
	seeds=$here/corpus/$name
	log=$tmp/$t.log
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		[ -x "$bin" ] && missing=$seeds || missing=$bin
		echo "$t: FAILED (missing $missing)"
		failed=$((failed + 1))
		continue
	fi
	work=$tmp/$t.corpus
	mkdir -p "$work" "$tmp/$t.cwd"
	rm -f "$artifacts/$t"-*
	args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
	      -print_final_stats=1 -artifact_prefix="$artifacts/$t-")
	if [ -f "$here/$name.dict" ]; then
		args+=(-dict="$here/$name.dict")
	fi
	# In a scratch directory with no input: whatever path an input names
	# (an @include) is not ours, and nothing waits on a terminal. The
	# outer timeout is a backstop for a hang libFuzzer does not catch.
	rc=0
	start=$SECONDS
	(cd "$tmp/$t.cwd" && exec timeout -k 10 $((seconds + 120)) \
	    "$bin" "${args[@]}" "$work" "$seeds" </dev/null >"$log" 2>&1) &
	pid=$!
	wait "$pid" || rc=$?
	pid=
	took=$((SECONDS - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\).*/\1/p' \
	    "$log" | tail -n 1)
	found=("$artifacts/$t"-*)
	[ -e "${found[0]}" ] || found=()
	summary="$took s, ${runs:-?} runs, ${rate:-?}/s,"
	summary+=" coverage ${cov:-?} edges, ${#found[@]} findings"
	if [ $rc -eq 0 ] && [ ${#found[@]} -eq 0 ] && [ -n "$runs" ]; then
		echo "$t: passed ($summary)"
		passed=$((passed + 1))
		continue
	fi
	echo "$t: FAILED (exit $rc; $summary); the end of its log:"
	tail -n 60 "$log" | sed 's/^/  | /'
	for a in "${found[@]}"; do
		echo "  $a, base64:"
		base64 -w 76 "$a" | sed 's/^/    /'
	done
	failed=$((failed + 1))
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
