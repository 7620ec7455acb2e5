#!/usr/bin/env bash
# alerts_test.sh -- the Prometheus alert rules the package ships are valid
# (promtool check rules) and fire when they should (promtool test rules,
# gatewayd-alerts.test.yml beside this script).
#
#   alerts_test.sh SOURCE_DIR
#
# Exit 0 passed, 1 failed, 77 skipped (promtool missing and CI not set).
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: alerts_test.sh SOURCE_DIR" >&2
	exit 1
fi
src=$1

if ! command -v promtool >/dev/null 2>&1; then
	if [ -n "${CI:-}" ]; then
		echo "FAIL: promtool not found (tools/setup.sh installs prometheus)"
		exit 1
	fi
	echo "SKIP: promtool not found: install the Debian package prometheus"
	exit 77
fi
promtool check rules "$src/etc/gatewayd-alerts.yml"
promtool test rules "$src/tests/package/gatewayd-alerts.test.yml"
