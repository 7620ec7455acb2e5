#!/usr/bin/env bash
# throughput.sh -- one-way bulk throughput through gatewayd, socat and
# HAProxy (with splice) on loopback, next to a direct connection.
#
#   sudo tools/bench/throughput.sh [-n RUNS] [-b BYTES] [-r RELAYS] [-o DIR]
#                                  [-B BUILD_DIR]
#
# Everything runs on the loopback interface of one network namespace that
# the script creates (so no port of the machine is touched) and deletes at
# the end, also on failure or Ctrl-C. "bulk send" (built from bulk.c next
# to this file) sends BYTES (default 1 GiB) from one constant buffer, so that
# the sender costs next to nothing, through the relay to "bulk recv", which
# times the bytes from the first to the last. Every process is ended by its
# PID (or the group it leads).

set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=5
BYTES=1073741824
RELAYS="direct,gatewayd,socat,haproxy"
OUT=""
BUILD="$ROOT/build-bench"

usage() {
	cat <<'EOF'
usage: throughput.sh [-n RUNS] [-b BYTES] [-r RELAYS] [-o DIR] [-B BUILD_DIR]
  -n RUNS       runs per relay; the median counts (default 5)
  -b BYTES      bytes sent one way per run (default 1073741824, 1 GiB)
  -r RELAYS     comma list of direct,gatewayd,socat,haproxy (default: all)
  -o DIR        keep every log and the raw results in DIR
  -B BUILD_DIR  where to build gatewayd (default build-bench)
Needs root, iproute2, a C compiler, cmake, socat and haproxy
("tools/setup.sh bench" installs them).
EOF
	exit 64
}

while getopts "n:b:r:o:B:h" opt; do
	case $opt in
	n) RUNS=$OPTARG ;;
	b) BYTES=$OPTARG ;;
	r) RELAYS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	B) BUILD=$OPTARG ;;
	*) usage ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] && [ "$RUNS" -le 100 ] || usage
[[ $BYTES =~ ^[1-9][0-9]*$ ]] || usage
IFS=, read -r -a RELAY_LIST <<<"$RELAYS"
for r in "${RELAY_LIST[@]}"; do
	case $r in direct|gatewayd|socat|haproxy) ;; *) usage ;; esac
done

die() {
	echo "throughput.sh: $*" >&2
	exit 1
}

NS=gb$$t
NSS=()
W=""
RD=""
declare -A PID=()

log() {
	echo "[$(date -u +%H:%M:%S)] $*"
}

# shellcheck source=tools/bench/common.sh
. "$ROOT/tools/bench/common.sh"

[ "$(id -u)" -eq 0 ] || die "needs root (a network namespace)"
for t in ip ss cc cmake awk setsid; do
	command -v "$t" >/dev/null || die "$t not found (tools/setup.sh bench)"
done
for r in "${RELAY_LIST[@]}"; do
	case $r in socat|haproxy)
		command -v "$r" >/dev/null || die "$r not found (tools/setup.sh bench)" ;;
	esac
done

if [ -n "$OUT" ]; then
	mkdir -p "$OUT" || die "cannot create $OUT"
	W=$(cd "$OUT" && pwd)
else
	W=$(mktemp -d /tmp/throughput.XXXXXX) || die "mktemp failed"
fi
RD=$W

log "building gatewayd"
{ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$BUILD" -j"$(nproc)" --target gatewayd; } \
	>"$W/build.log" 2>&1 || die "build failed, see $W/build.log"
GATEWAYD=$BUILD/gatewayd
BULK=$W/bulk
cc -std=c11 -O2 -Wall -Wextra -o "$BULK" "$ROOT/tools/bench/bulk.c" ||
	die "cannot compile bulk.c"

ip netns add "$NS" || die "cannot create namespace $NS"
NSS+=("$NS")
ip -n "$NS" link set lo up || die "cannot bring up lo in $NS"


sink_line() {
	awk -v e="$1" '$2 == e { print; exit }' "$RD/sink.out" 2>/dev/null
}

has_sink_line() {
	[ -n "$(sink_line "$1")" ]
}

# start_relay RELAY LPORT DPORT
start_relay() {
	local relay=$1 lport=$2 dport=$3 cfg
	case $relay in
	gatewayd)
		# The defaults (buffer_bytes 65536 per direction).
		cfg=$RD/gatewayd.conf
		cat >"$cfg" <<EOF
version = 1;
status = { listen = ""; };
devices = (
  { name = "bench";
    device = { connect = "127.0.0.1:$dport"; };
    upstream = { listen = "127.0.0.1:$lport"; };
  }
);
EOF
		spawn relay "$NS" "$GATEWAYD" -c "$cfg"
		;;
	socat)
		# The same 64 KiB buffer as gatewayd (socat's default is 8 KiB).
		spawn relay "$NS" socat -b 65536 \
			"TCP-LISTEN:$lport,bind=127.0.0.1,reuseaddr" \
			"TCP:127.0.0.1:$dport"
		;;
	haproxy)
		cfg=$RD/haproxy.cfg
		cat >"$cfg" <<EOF
global
  maxconn 64
defaults
  mode tcp
  option splice-request
  option splice-response
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen bench
  bind 127.0.0.1:$lport
  server sink 127.0.0.1:$dport
EOF
		spawn relay "$NS" haproxy -db -f "$cfg"
		;;
	esac
}

SEQ=0
RESULTS=$W/results.tsv
: >"$RESULTS"

# run_one RELAY K: prints the rate in bytes/s into RESULTS, or "error".
run_one() {
	local relay=$1 k=$2 lport dport target res="" note="" i first done
	SEQ=$(( SEQ + 1 ))
	lport=$(( 21000 + SEQ ))
	dport=$(( 31000 + SEQ ))
	RD=$W/$relay/$k
	mkdir -p "$RD"
	spawn sink "$NS" "$BULK" recv "127.0.0.1:$dport" "$BYTES"
	wait_for has_sink_line listening || { res=error; note="sink did not start"; }
	target=127.0.0.1:$dport
	if [ -z "$res" ] && [ "$relay" != direct ]; then
		start_relay "$relay" "$lport" "$dport"
		target=127.0.0.1:$lport
		wait_for listening "$NS" "$lport" || { res=error; note="$relay did not listen"; }
		# gatewayd closes a host at once while its device link is down.
		if [ -z "$res" ] && [ "$relay" = gatewayd ]; then
			wait_for has_sink_line accepted ||
				{ res=error; note="gatewayd did not reach the sink"; }
		fi
	fi
	if [ -z "$res" ]; then
		spawn source "$NS" "$BULK" send "$target" "$BYTES"
		# Bounded: 120 s at most, whatever the rate.
		for (( i = 0; i < 1200; i++ )); do
			has_sink_line done && break
			sleep 0.1
		done
		first=$(sink_line first)
		done=$(sink_line done)
		if [ -z "$done" ]; then
			res=error; note="not done within 120 s"
		elif [ "$(awk '{ print $3 }' <<<"$done")" -lt "$BYTES" ]; then
			res=error; note="only $(awk '{ print $3 }' <<<"$done") bytes arrived"
		else
			res=$(awk -v f="$first" -v d="$done" 'BEGIN {
				split(f, a, " "); split(d, b, " ");
				printf "%.0f", (b[3] - a[3]) / ((b[1] - a[1]) / 1000) }')
		fi
	fi
	stop source
	stop relay
	stop sink
	RD=$W
	printf '%s\t%s\t%s\t%s\n' "$relay" "$k" "$res" "${note:--}" >>"$RESULTS"
	if [ "$res" = error ]; then
		log "$(printf '%-9s run %d/%d: error: %s' "$relay" "$k" "$RUNS" "$note")"
	else
		log "$(printf '%-9s run %d/%d: %s MB/s' "$relay" "$k" "$RUNS" \
			"$(awk -v r="$res" 'BEGIN { printf "%.0f", r / 1e6 }')")"
	fi
}

log "namespace $NS; $RUNS runs of $BYTES bytes through ${RELAYS//,/ }"
for (( k = 1; k <= RUNS; k++ )); do
	for r in "${RELAY_LIST[@]}"; do
		run_one "$r" "$k"
	done
done

{
	echo
	echo "One-way throughput on loopback, $BYTES bytes, median of $RUNS runs"
	echo
	awk -F'\t' -v order="$RELAYS" '
	$3 != "error" { v[$1, n[$1]++] = $3 }
	END {
		m = split(order, rel, ",")
		for (i = 1; i <= m; i++) {
			r = rel[i]; c = n[r]
			for (a = 1; a < c; a++)
				for (b = a; b > 0 && v[r, b-1] > v[r, b]; b--) {
					t = v[r, b]; v[r, b] = v[r, b-1]; v[r, b-1] = t }
			if (c == 0) med[r] = 0
			else if (c % 2) med[r] = v[r, int(c/2)]
			else med[r] = (v[r, c/2-1] + v[r, c/2]) / 2
		}
		printf "%-10s %8s %13s %11s %12s\n", "relay", "MB/s", "(min..max)",
		    "vs direct", "vs gatewayd"
		for (i = 1; i <= m; i++) {
			r = rel[i]
			if (med[r] == 0) { printf "%-10s %8s\n", r, "failed"; continue }
			printf "%-10s %8.0f %13s %11s %12s\n", r, med[r] / 1e6,
			    sprintf("(%.0f..%.0f)", v[r, 0] / 1e6, v[r, c-1] / 1e6),
			    med["direct"] ? sprintf("%.2f", med[r] / med["direct"]) : "-",
			    med["gatewayd"] ? sprintf("%.2f", med[r] / med["gatewayd"]) : "-"
		}
	}' "$RESULTS"
	awk -F'\t' '$3 == "error" { printf "%s run %s failed: %s\n", $1, $2, $4 }' \
		"$RESULTS"
	echo
	echo "machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
} | tee "$W/report.txt"
[ -n "$OUT" ] && echo && echo "logs and raw results: $W"
exit 0
