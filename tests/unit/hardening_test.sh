#!/usr/bin/env bash
# hardening_test.sh -- the built gatewayd carries the release hardening: a
# position-independent executable (ELF type DYN), full RELRO (GNU_RELRO
# and BIND_NOW), the stack protector (__stack_chk_fail imported) and
# FORTIFY_SOURCE (a __*_chk function imported).
#
#   hardening_test.sh GATEWAYD SANITIZERS
#
# Exit 0 passed, 1 failed, 77 skipped: a sanitizer build (SANITIZERS not
# empty) leaves FORTIFY_SOURCE out, as it conflicts with the sanitizers'
# own checks.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: hardening_test.sh GATEWAYD SANITIZERS" >&2
	exit 1
fi
bin=$1
san=$2

if [ -n "$san" ]; then
	echo "SKIP: sanitizer build ($san): no FORTIFY_SOURCE here"
	exit 77
fi
if ! command -v readelf >/dev/null 2>&1; then
	echo "FAIL: readelf not found (binutils; tools/setup.sh installs it)"
	exit 1
fi

fail=0
check() {	# check WHAT GREP-PATTERN TEXT
	if grep -Eq -- "$2" <<<"$3"; then
		echo "ok:   $1"
	else
		echo "FAIL: $1"
		fail=1
	fi
}

header=$(readelf -hW "$bin")
segments=$(readelf -lW "$bin")
dynamic=$(readelf -dW "$bin")
symbols=$(readelf --dyn-syms -W "$bin")

check "ELF type DYN (PIE)" '^ *Type: +DYN ' "$header"
check "GNU_RELRO segment" '^ *GNU_RELRO ' "$segments"
check "FLAGS BIND_NOW (full RELRO)" '\(FLAGS\) .*BIND_NOW' "$dynamic"
check "__stack_chk_fail imported" ' UND __stack_chk_fail(@|$)' "$symbols"
check "a FORTIFY_SOURCE __*_chk function imported" \
    ' UND __[a-z0-9_]+_chk(@|$)' "$symbols"
if [ $fail -ne 0 ]; then
	echo "hardening: FAILED for $bin"
	exit 1
fi
echo "hardening: all checks passed for $bin"
