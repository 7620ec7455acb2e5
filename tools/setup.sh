#!/usr/bin/env bash
# setup.sh -- install what building, testing and running gatewayd needs
# (Debian 12). Installs only what is missing; needs root or sudo for that.
# Beside the build: the manual's linters, the Debian packaging tools, and
# debootstrap and systemd's analyzer for the package test.
#   tools/setup.sh          build + test packages
#   tools/setup.sh bench    also the peer tools the benchmarks compare with
set -euo pipefail

# clang and libclang-rt-14-dev: the libFuzzer targets (tools/build.sh
# fuzz); binutils: readelf, for the hardening test.
pkgs=(build-essential cmake pkg-config libconfig-dev libmicrohttpd-dev
      libgtest-dev googletest iproute2 nftables curl ca-certificates
      procps netcat-openbsd supervisor prometheus
      man-db groff-base mandoc
      dpkg-dev debhelper fakeroot lintian debootstrap systemd
      clang libclang-rt-14-dev binutils)
if [ "${1:-}" = bench ]; then
	pkgs+=(socat haproxy nginx-light libnginx-mod-stream strace)
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "setup: need root to install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
echo "setup: installing ${missing[*]}"
# Through env: sudo would drop an exported DEBIAN_FRONTEND.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
# The packaged services are not ours to run: the tests start their own.
for svc in supervisor prometheus nginx haproxy; do
	if command -v systemctl >/dev/null && systemctl is-active -q "$svc" 2>/dev/null; then
		"${sudo[@]}" systemctl stop "$svc" || true
	fi
done
