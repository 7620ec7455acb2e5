#!/usr/bin/env bash
# demo.sh -- set up, build, and run gatewayd on its bundled demo: two
# simulated devices on loopback, relayed by the config in etc/gatewayd.conf.
# Ctrl-C stops everything. With DEMO_BIN=DIR set, it runs the gatewayd
# and devsim already built in DIR instead (its test does).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${DEMO_BIN:-}" ]; then
	bin=$DEMO_BIN
else
	tools/setup.sh
	tools/build.sh plain gatewayd devsim >/dev/null
	bin=build
fi

# The demo's ports. The installed package runs this same configuration
# as a service, and a port can be held by one process only: say who has
# one rather than let a device dial the wrong gateway.
taken=0
for port in 5001 4001 4002 15001 15002 16001 9780; do
	holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n 1)
	if [ -n "$holder" ]; then
		echo "demo.sh: port $port is in use: $holder" >&2
		taken=1
	fi
done
if [ "$taken" = 1 ]; then
	echo "demo.sh: free these ports first (if the package is installed:" \
	    "systemctl stop gatewayd)" >&2
	exit 1
fi

pids=()
cleanup() {
	local i
	# The gateway first, so it does not report its devices going away.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# press1: a press that reports a line a second and echoes what it is sent.
"$bin/devsim" --listen 127.0.0.1:5001 --mode chatter --echo \
    --name press1 --interval-ms 1000 2>/dev/null &
pids+=($!)
# scanner2: reads on one connection (tx, the gateway writes to it) and
# reports scans on another that it dials itself (rx, the gateway reads).
"$bin/devsim" --listen 127.0.0.1:4001 --mode sink --name scanner2-tx \
    2>/dev/null &
pids+=($!)
"$bin/devsim" --connect 127.0.0.1:4002 --mode chatter --name scanner2 \
    --interval-ms 2000 --message "scan ok" 2>/dev/null &
pids+=($!)

cat <<'MSG'
gatewayd demo: two simulated devices on loopback.
  press1    upstream: nc 127.0.0.1 15001   (a line a second; what you type is echoed)
  scanner2  upstream: nc 127.0.0.1 15002   (a scan every 2 s; what you type goes to its tx link)
  status:   curl -s 127.0.0.1:9780/status   and   curl -s 127.0.0.1:9780/metrics
Pull press1's cable (silent drop of its packets; needs root):
            tools/cable.sh pull 5001   ... then   tools/cable.sh restore
  and watch "press1/device down: keepalive_timeout" within about 5 s.
Stop with Ctrl-C. The gateway's log follows.
MSG
"$bin/gatewayd" -c etc/gatewayd.conf &
pids+=($!)
wait "${pids[-1]}"
