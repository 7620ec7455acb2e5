#!/usr/bin/env bash
# run.sh -- run one fault test: gatewayd and devsim in network namespaces,
# a fault injected, the verdict read from gatewayd's log.
#
#   run.sh GATEWAYD DEVSIM CASE     e.g. run.sh build/gatewayd build/devsim bidir.idle-drop
#   run.sh --list                   the cases, one a line
#
# Exit 0 passed, 1 failed, 77 skipped (not root, or no namespaces; with CI
# set that is a failure instead). Needs root, iproute2 and nftables.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/faults/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/faults/bidir.sh
. "$here/bidir.sh"
# shellcheck source=tests/faults/split.sh
. "$here/split.sh"
# shellcheck source=tests/faults/upstream.sh
. "$here/upstream.sh"
# shellcheck source=tests/faults/quiet.sh
. "$here/quiet.sh"
# shellcheck source=tests/faults/field.sh
. "$here/field.sh"
# shellcheck source=tests/faults/scale.sh
. "$here/scale.sh"

GF_CASES=(
	bidir.idle-drop bidir.send-drop bidir.full-drop bidir.fin bidir.rst
	bidir.stop-reading bidir.power-cycle
	split.idle-drop split.send-drop split.full-drop split.rx-stream-drop
	split.rx-fin split.tx-fin split.rx-rst split.tx-rst split.stop-reading
	split.power-cycle
	upstream.idle-drop upstream.send-drop upstream.full-drop upstream.fin
	upstream.rst upstream.stop-reading
	quiet.idle-60s quiet.blip-bidir quiet.blip-split quiet.blip-upstream
	field.literal-loopback-only field.stop-silent-peers-and-dns
	scale.pull-50-of-500
)

if [ "${1:-}" = --list ]; then
	printf '%s\n' "${GF_CASES[@]}"
	exit 0
fi
if [ $# -ne 3 ]; then
	echo "usage: run.sh GATEWAYD DEVSIM CASE | run.sh --list" >&2
	exit 64
fi
GF_GATEWAYD=$1
GF_DEVSIM=$2
gf_case=$3
gf_fn=case_${gf_case//[.-]/_}
if ! declare -F "$gf_fn" >/dev/null; then
	echo "unknown case: $gf_case (run.sh --list)" >&2
	exit 64
fi

# Below ctest's TIMEOUT (see tests/CMakeLists.txt), so the cleanup runs.
case $gf_case in
quiet.idle-60s) gf_init 120 ;;
*) gf_init 70 ;;
esac
"$gf_fn"
gf_rc=$?
# A case that gave up at a step whose failure was not counted has not
# passed either.
if [ "$gf_rc" -ne 0 ] && [ "$GF_FAILS" -eq 0 ]; then
	echo "FAIL: $gf_case ended early (status $gf_rc)"
	GF_FAILS=1
fi
if [ "$GF_FAILS" -gt 0 ]; then
	echo "=== $gf_case: FAILED ($GF_FAILS)"
	exit 1
fi
echo "=== $gf_case: passed"
exit 0
