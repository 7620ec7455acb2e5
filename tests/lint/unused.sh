#!/usr/bin/env bash
# unused.sh -- no function of the daemon is dead: compile gateway/ and
# watchdog/ one function per section, without optimisation (so nothing is
# inlined away), link gatewayd with --gc-sections, and fail on every
# function the linker drops because nothing calls it.
#   unused.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: unused.sh SOURCE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cflags=(-std=c11 -D_GNU_SOURCE -DGATEWAYD_VERSION='"0"' -O0
	-ffunction-sections -fdata-sections -I"$src/gateway" -I"$src/watchdog")
read -r -a pkgc <<<"$(pkg-config --cflags libconfig libmicrohttpd)"
read -r -a pkgl <<<"$(pkg-config --libs libconfig libmicrohttpd)"
for f in "$src"/gateway/*.c "$src"/watchdog/*.c; do
	obj="$tmp/$(basename "$(dirname "$f")")_$(basename "$f" .c).o"
	cc "${cflags[@]}" "${pkgc[@]}" -c "$f" -o "$obj"
done
cc -o "$tmp/gatewayd" "$tmp"/*.o -Wl,--gc-sections -Wl,--print-gc-sections \
    "${pkgl[@]}" -lpthread 2>"$tmp/gc.txt"
dead=$(sed -n "s/.*removing unused section '\.text\.\([^']*\)' in file '.*\/\([^']*\)'/\2: \1/p" \
    "$tmp/gc.txt")
if [ -n "$dead" ]; then
	echo "functions the daemon never calls:"
	echo "$dead"
	exit 1
fi
echo "unused: every function of gateway/ and watchdog/ is called"
