#!/usr/bin/env bash
# man_test.sh -- the manual pages render without a warning, as man(1)
# renders them (groff -ww, the check lintian runs too) and as mandoc -Tlint
# judges them (warnings and errors); and the configuration examples of
# gatewayd.conf(5) pass gatewayd -t.
#
#   man_test.sh SOURCE_DIR GATEWAYD
#
# Exit 0 passed, 1 failed, 77 skipped (man or groff missing and CI not set).
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: man_test.sh SOURCE_DIR GATEWAYD" >&2
	exit 1
fi
src=$1
gatewayd=$2

for tool in man groff; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		if [ -n "${CI:-}" ]; then
			echo "FAIL: $tool not found (tools/setup.sh installs it)"
			exit 1
		fi
		echo "SKIP: $tool not found: install man-db and groff-base"
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwman.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}

pages=("$src"/man/gatewayd.8 "$src"/man/gatewayd.conf.5 "$src"/man/gwctl.1)
for page in "${pages[@]}"; do
	name=${page##*/}
	[ -f "$page" ] || { fail "$name: missing"; continue; }
	# man prints the page on stdout, groff's warnings on stderr.
	if ! MANWIDTH=80 man --warnings -E UTF-8 -l "$page" \
	    >"$tmp/out" 2>"$tmp/err"; then
		fail "$name: man -l failed"
	fi
	if [ -s "$tmp/err" ]; then
		fail "$name: man -l warns:"
		cat "$tmp/err"
	fi
	if [ "$(wc -l <"$tmp/out")" -lt 20 ]; then
		fail "$name: renders to almost nothing"
	fi
	if ! groff -mandoc -ww -z "$page" >"$tmp/err" 2>&1 ||
	    [ -s "$tmp/err" ]; then
		fail "$name: groff -ww warns:"
		cat "$tmp/err"
	fi
	# mandoc is stricter; its STYLE notes (e.g. a cross-reference to a
	# page this machine lacks) depend on what is installed: not counted.
	if command -v mandoc >/dev/null 2>&1; then
		if ! mandoc -Tlint -W warning "$page" >"$tmp/err" 2>&1; then
			fail "$name: mandoc -Tlint:"
			cat "$tmp/err"
		fi
	elif [ -n "${CI:-}" ]; then
		fail "mandoc not found (tools/setup.sh installs it)"
	fi
	echo "ok: $name"
done

# Each literal block of gatewayd.conf(5) that is a whole file ("version =
# 1;" first) is a valid configuration.
awk -v dir="$tmp" '
/^\.Bd -literal/ { inblock = 1; n++; file = dir "/example" n ".conf"; next }
/^\.Ed/ { inblock = 0; next }
inblock { print > file }
' "$src/man/gatewayd.conf.5"
examples=0
for f in "$tmp"/example*.conf; do
	[ -f "$f" ] || continue
	head -n 1 "$f" | grep -q '^version = 1;$' || continue
	examples=$((examples + 1))
	if ! "$gatewayd" -t -c "$f" >"$tmp/err" 2>&1; then
		fail "gatewayd.conf.5: example $examples is not valid:"
		cat "$tmp/err"
	fi
done
if [ $examples -lt 2 ]; then
	fail "gatewayd.conf.5: $examples configuration examples, want 2"
fi
echo "ok: $examples examples in gatewayd.conf.5 pass gatewayd -t"

if [ $failed -ne 0 ]; then
	exit 1
fi
echo "PASS"
