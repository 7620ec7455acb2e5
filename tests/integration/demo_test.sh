#!/usr/bin/env bash
# demo_test.sh -- tools/demo.sh as the README has a newcomer run it, with
# the binaries already built (DEMO_BIN): press1's lines and their echo on
# 15001, scanner2's scans on 15002 and what is typed there reaching its tx
# device, /status; a second demo refused, naming a port, while the first
# holds them; SIGTERM (Ctrl-C's SIGINT goes to the whole terminal group,
# which a background job does not get) -> exit 0, every socket closed.
#
#   demo_test.sh BINDIR SOURCE_DIR
#
# It runs in a network namespace of its own, whose loopback nobody else
# uses, and a mount namespace with an empty /run, where the demo's control
# socket meets no installed gatewayd's. Exit 0 passed, 1 failed, 77
# skipped (not root, or no unshare/ss/curl, and CI not set).
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: demo_test.sh BINDIR SOURCE_DIR" >&2
	exit 1
fi
bindir=$1
srcdir=$2

skip() {
	if [ -n "${CI:-}" ]; then
		echo "FAIL: $*"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

if [ "${3:-}" != --inside ]; then
	[ "$(id -u)" -eq 0 ] || skip "needs root for its namespaces"
	for tool in unshare ss curl ip; do
		command -v "$tool" >/dev/null 2>&1 ||
		    skip "$tool not found (tools/setup.sh installs it)"
	done
	exec unshare --net --mount --propagation private \
	    bash "$0" "$bindir" "$srcdir" --inside
fi

# Inside the namespaces from here on.
deadline=$((SECONDS + 60))
ports="5001 4001 4002 15001 15002 16001 9780"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwdemo.XXXXXX")
demo_pid=

log() {
	printf '%s %s\n' "$(date +%T.%3N)" "$*"
}

cleanup() {
	exec 3>&- 4>&- 2>/dev/null || true
	# The demo runs in a session of its own (setsid): its group goes
	# with it, should it have left a child behind.
	if [ -n "$demo_pid" ]; then
		kill -TERM -- "-$demo_pid" 2>/dev/null || true
		sleep 0.5
		kill -KILL -- "-$demo_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	log "FAIL: $*"
	echo "--- the demo's output:"
	cat "$tmp/demo.out" 2>/dev/null || true
	exit 1
}

# wait_listen PORT: until something listens on PORT.
wait_listen() {
	while [ -z "$(ss -Hltn "sport = :$1")" ]; do
		[ $SECONDS -lt $deadline ] || fail "nothing listens on port $1"
		sleep 0.1
	done
}

# read_until FD TEXT SECONDS: read lines from FD until one contains TEXT.
read_until() {
	local fd=$1 text=$2 end=$((SECONDS + $3)) line
	while [ $SECONDS -lt $end ]; do
		if IFS= read -r -t 1 line <&"$fd"; then
			log "  read: $line"
			case $line in *"$text"*) return 0 ;; esac
		fi
	done
	return 1
}

ip link set lo up
mount -t tmpfs -o size=1m,mode=0755 gwdemo-run /run

log "starting tools/demo.sh"
DEMO_BIN=$bindir setsid bash "$srcdir/tools/demo.sh" >"$tmp/demo.out" 2>&1 &
demo_pid=$!
for port in $ports; do
	wait_listen "$port"
done

# metric LINE: /metrics, until it has LINE (10 s at most).
metric() {
	local end=$((SECONDS + 10))
	until curl -s --max-time 2 http://127.0.0.1:9780/metrics |
	    grep -qF "$1"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

# The devices' links up first: with on_device_down = "close", an
# upstream client is turned away while its device is down.
for link in 'press1",link="device' 'scanner2",link="rx' 'scanner2",link="tx'; do
	metric "gatewayd_link_up{device=\"$link\"} 1" ||
	    fail "link $link not up in /metrics"
done
log "the devices' links are up"
status=$(curl -s --max-time 2 http://127.0.0.1:9780/status || true)
case $status in
*'"name":"press1"'*'"name":"scanner2"'*) log "/status shows press1 and scanner2" ;;
*) fail "/status lacks press1 or scanner2: $status" ;;
esac

# press1: a line a second from the press, and what the host sends comes
# back (devsim --echo).
exec 3<>/dev/tcp/127.0.0.1/15001
read_until 3 "press1 seq=" 10 || fail "no line from press1 on 15001"
printf 'hello press\n' >&3
read_until 3 "hello press" 10 || fail "press1 did not echo on 15001"

# scanner2: a scan every 2 s from its rx link; what the host sends goes
# to its tx device (a sink; /metrics counts the bytes sent there).
exec 4<>/dev/tcp/127.0.0.1/15002
read_until 4 "scan ok" 10 || fail "no scan from scanner2 on 15002"
printf 'label 0042\n' >&4

# "label 0042\n": 11 bytes to scanner2's tx link.
metric 'gatewayd_bytes_total{device="scanner2",link="tx",direction="to_device"} 11' ||
    fail "scanner2/tx did not send the 11 bytes typed"
log "scanner2/tx sent the 11 bytes typed on 15002"

# A second demo while the first runs: refused, naming a port.
rc=0
DEMO_BIN=$bindir timeout 20 bash "$srcdir/tools/demo.sh" \
    >"$tmp/second.out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "a second demo: exit $rc, want 1: $(cat "$tmp/second.out")"
grep -q "port 5001 is in use" "$tmp/second.out" ||
    fail "a second demo did not name port 5001: $(cat "$tmp/second.out")"
grep -q "systemctl stop gatewayd" "$tmp/second.out" ||
    fail "a second demo did not say how to free the ports"
log "a second demo is refused: $(head -n 1 "$tmp/second.out")"

exec 3>&- 4>&-
kill -TERM "$demo_pid"
end=$((SECONDS + 10))
while kill -0 "$demo_pid" 2>/dev/null; do
	[ $SECONDS -lt $end ] || fail "the demo did not end within 10 s of SIGTERM"
	sleep 0.1
done
rc=0
wait "$demo_pid" || rc=$?
[ $rc -eq 0 ] || fail "the demo exited $rc on SIGTERM, want 0"
# Every process of the demo gone: no process holds a socket in this
# namespace (closed connections may linger in TIME-WAIT, owned by none).
end=$((SECONDS + 5))
while ss -Hatnp | grep -q 'users:('; do
	[ $SECONDS -lt $end ] || fail "sockets still held after the demo: $(ss -Hatnp)"
	sleep 0.1
done
demo_pid=
log "PASS: the demo relays both devices, refuses a second, stops cleanly"
