#!/usr/bin/env bash
# throughput.sh -- bulk throughput through gatewayd (splice and copy),
# socat and HAProxy (splicing), next to a direct connection: one way, or
# both directions at once on one connection.
#
#   sudo tools/bench/throughput.sh [-m oneway|duplex] [-n RUNS] [-b BYTES]
#                                  [-p BUF] [-r RELAYS] [-N lo|veth]
#                                  [-M MTU] [-s] [-o DIR] [-B BUILD_DIR]
#
# By default everything runs on the loopback interface of one network
# namespace that the script creates (so no port of the machine is touched).
# With -N veth the sender, the relay and the receiver each have a namespace
# of their own, joined by two veth pairs of MTU bytes (-M, default 1500,
# Ethernet's; 198.18.1.0/24 and 198.18.2.0/24); the relay's namespace
# forwards the direct connection. Every namespace is deleted at the end,
# also on failure or Ctrl-C. "bulk" (built from bulk.c next to this file)
# sends BYTES (default 2 GiB) from one constant buffer, so that the sender
# costs next to nothing, through the relay, and the receiver times the
# bytes from the first to the last. In duplex mode each end sends
# BYTES and receives BYTES on the same connection at once, and the figure
# is both directions together: 2 x BYTES over the time from the first byte
# received at either end to the last. The runs are interleaved (run 1 of
# every relay, then run 2, ..., each round in a rotated order), so that
# other work on the machine weighs on every relay alike; medians count.
# Every process is ended by its PID (or the group it leads).

set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MODE=oneway
RUNS=5
BYTES=2147483648
RELAYS="direct,gatewayd,gatewayd-copy,socat,haproxy"
SPLICE_CHECK=0
BUF=65536
NET=lo
MTU=1500
MTU_SET=0
OUT=""
BUILD="$ROOT/build-bench"

usage() {
	cat <<'EOF'
usage: throughput.sh [-m oneway|duplex] [-n RUNS] [-b BYTES] [-p BUF]
                     [-r RELAYS] [-N lo|veth] [-M MTU] [-s] [-o DIR]
                     [-B BUILD_DIR]
  -m MODE       oneway: BYTES from host to device (default); duplex: BYTES
                each way at once on one connection
  -n RUNS       runs per relay, interleaved; the median counts (default 5)
  -b BYTES      bytes per direction per run (default 2147483648, 2 GiB)
  -p BUF        every relay's buffer per direction, in bytes (default
                65536): gatewayd buffer_bytes (its pipe and its buffer),
                socat -b, HAProxy tune.pipesize and tune.bufsize
  -r RELAYS     comma list of direct,gatewayd,gatewayd-copy,socat,haproxy,
                haproxy-auto (default: all but haproxy-auto)
                gatewayd       relay = "splice" (the default)
                gatewayd-copy  relay = "copy"
                socat          -b BUF
                haproxy        option splice-request, option splice-response
                haproxy-auto   option splice-auto
  -N NET        lo: every end and the relay on one namespace's loopback
                (default); veth: sender, relay and receiver in namespaces
                of their own, joined by veth pairs of MTU bytes
  -M MTU        with -N veth: the veth pairs' MTU (default 1500,
                Ethernet's; 576..65535)
  -s            first check which relays really splice: a 256 MiB run of
                each relay under strace -c -f, its splice, recv and send
                calls counted (needs strace)
  -o DIR        keep every log and the raw results in DIR
  -B BUILD_DIR  where to build gatewayd (default build-bench)
Needs root, iproute2, a C compiler, cmake, socat and haproxy
("tools/setup.sh bench" installs them).
EOF
	exit 64
}

while getopts "m:n:b:p:r:N:M:so:B:h" opt; do
	case $opt in
	m) MODE=$OPTARG ;;
	n) RUNS=$OPTARG ;;
	b) BYTES=$OPTARG ;;
	p) BUF=$OPTARG ;;
	r) RELAYS=$OPTARG ;;
	N) NET=$OPTARG ;;
	M) MTU=$OPTARG; MTU_SET=1 ;;
	s) SPLICE_CHECK=1 ;;
	o) OUT=$OPTARG ;;
	B) BUILD=$OPTARG ;;
	*) usage ;;
	esac
done
case $MODE in oneway|duplex) ;; *) usage ;; esac
[[ $RUNS =~ ^[1-9][0-9]*$ ]] && [ "$RUNS" -le 100 ] || usage
[[ $BYTES =~ ^[1-9][0-9]*$ ]] || usage
[[ $BUF =~ ^[1-9][0-9]*$ ]] && [ "$BUF" -ge 4096 ] && [ "$BUF" -le 16777216 ] ||
	usage
IFS=, read -r -a RELAY_LIST <<<"$RELAYS"
for r in "${RELAY_LIST[@]}"; do
	case $r in
	direct|gatewayd|gatewayd-copy|socat|haproxy|haproxy-auto) ;;
	*) usage ;;
	esac
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
bench_net_ok "$NET" "$MTU" "$MTU_SET" || usage

[ "$(id -u)" -eq 0 ] || die "needs root (a network namespace)"
for t in ip ss cc cmake awk setsid; do
	command -v "$t" >/dev/null || die "$t not found (tools/setup.sh bench)"
done
for r in "${RELAY_LIST[@]}"; do
	case $r in
	socat) command -v socat >/dev/null ||
		die "socat not found (tools/setup.sh bench)" ;;
	haproxy*) command -v haproxy >/dev/null ||
		die "haproxy not found (tools/setup.sh bench)" ;;
	esac
done
[ "$SPLICE_CHECK" -eq 0 ] || command -v strace >/dev/null ||
	die "strace not found (-s needs it; tools/setup.sh bench)"

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
cc -std=c11 -O2 -Wall -Wextra -pthread -o "$BULK" "$ROOT/tools/bench/bulk.c" ||
	die "cannot compile bulk.c"

bench_namespaces "$NET" "$MTU" || die "cannot set up the namespaces ($NET)"

# A line "<ms> EVENT ..." of an end's output.
end_line() {	# NAME EVENT
	awk -v e="$2" '$2 == e { print; exit }' "$RD/$1.out" 2>/dev/null
}

has_end_line() {	# NAME EVENT
	[ -n "$(end_line "$1" "$2")" ]
}

# start_relay RELAY LPORT DPORT [WRAPPER...]: listen on LPORT, relay to
# DPORT, the relay's command run under WRAPPER (strace) if given.
start_relay() {
	local relay=$1 lport=$2 dport=$3 cfg mode=splice opt hatune
	shift 3
	case $relay in
	gatewayd|gatewayd-copy)
		# The defaults (buffer_bytes 65536 per direction), but for
		# the relay key and -p.
		[ "$relay" = gatewayd-copy ] && mode=copy
		cfg=$RD/gatewayd.conf
		cat >"$cfg" <<EOF
version = 1;
status = { listen = ""; };
control = { socket = ""; };
devices = (
  { name = "bench";
    relay = "$mode";
    buffer_bytes = $BUF;
    device = { connect = "$SINK_ADDR:$dport"; };
    upstream = { listen = "$RELAY_ADDR:$lport"; };
  }
);
EOF
		spawn relay "$NS_RELAY" "$@" "$GATEWAYD" -c "$cfg"
		;;
	socat)
		# The same buffer as gatewayd (socat's default is 8 KiB).
		spawn relay "$NS_RELAY" "$@" socat -b "$BUF" \
			"TCP-LISTEN:$lport,bind=$RELAY_ADDR,reuseaddr" \
			"TCP:$SINK_ADDR:$dport"
		;;
	haproxy|haproxy-auto)
		# splice-auto leaves the choice to HAProxy's guess that a
		# stream is fast; splice-request and splice-response make it
		# splice both ways always (see -s for what each really does).
		opt="option splice-request
  option splice-response"
		[ "$relay" = haproxy-auto ] && opt="option splice-auto"
		# Its defaults are the same 64 KiB pipe and a 16 KiB buffer.
		hatune=""
		[ "$BUF" -ne 65536 ] &&
			hatune="  tune.pipesize $BUF
  tune.bufsize $BUF"
		cfg=$RD/haproxy.cfg
		cat >"$cfg" <<EOF
global
  maxconn 64
$hatune
defaults
  mode tcp
  $opt
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen bench
  bind $RELAY_ADDR:$lport
  server sink $SINK_ADDR:$dport
EOF
		spawn relay "$NS_RELAY" "$@" haproxy -db -f "$cfg"
		;;
	esac
}

SEQ=0
RESULTS=$W/results.tsv
: >"$RESULTS"

# transfer RELAY BYTES [WRAPPER...]: one transfer through RELAY in $RD;
# sets RES (bytes/s, or "error") and NOTE.
transfer() {
	local relay=$1 bytes=$2 lport dport target i first done got
	local recv_cmd=recv send_cmd=send ends=sink
	shift 2
	RES=""
	NOTE=""
	SEQ=$(( SEQ + 1 ))
	lport=$(( 21000 + SEQ ))
	dport=$(( 31000 + SEQ ))
	if [ "$MODE" = duplex ]; then
		recv_cmd=duplex-recv
		send_cmd=duplex-send
		ends="sink source"
	fi
	spawn sink "$NS_SINK" "$BULK" "$recv_cmd" "$SINK_ADDR:$dport" "$bytes"
	wait_for has_end_line sink listening ||
		{ RES=error; NOTE="sink did not start"; }
	target=$SINK_ADDR:$dport
	if [ -z "$RES" ] && [ "$relay" != direct ]; then
		start_relay "$relay" "$lport" "$dport" "$@"
		target=$RELAY_ADDR:$lport
		wait_for listening "$NS_RELAY" "$lport" ||
			{ RES=error; NOTE="$relay did not listen"; }
		# gatewayd closes a host at once while its device link is down.
		if [ -z "$RES" ] && [[ $relay == gatewayd* ]]; then
			wait_for has_end_line sink accepted ||
				{ RES=error; NOTE="gatewayd did not reach the sink"; }
		fi
	fi
	if [ -z "$RES" ]; then
		spawn source "$NS_SRC" "$BULK" "$send_cmd" "$target" "$bytes"
		# Bounded: 300 s at most, whatever the rate.
		for (( i = 0; i < 3000; i++ )); do
			has_end_line sink done &&
			    { [ "$MODE" = oneway ] || has_end_line source done; } &&
			    break
			sleep 0.1
		done
		for e in $ends; do
			[ -n "$RES" ] && break
			done=$(end_line "$e" done)
			got=$(awk '{ print $3 }' <<<"$done")
			if [ -z "$done" ]; then
				RES=error; NOTE="$e not done within 300 s"
			elif [ "$got" -lt "$bytes" ]; then
				RES=error; NOTE="only $got bytes reached the $e"
			fi
		done
		if [ -z "$RES" ]; then
			# From the first byte received at either end to the
			# last: every byte of every direction in that span.
			first=$(for e in $ends; do end_line "$e" first; done)
			done=$(for e in $ends; do end_line "$e" done; done)
			RES=$(awk -v f="$first" -v d="$done" -v n="$ends" 'BEGIN {
				k = split(f, a, "\n"); split(d, b, "\n")
				for (i = 1; i <= k; i++) {
					split(a[i], x, " "); split(b[i], y, " ")
					if (i == 1 || x[1] < t0) t0 = x[1]
					if (i == 1 || y[1] > t1) t1 = y[1]
					bytes += y[3] - (k == 1 ? x[3] : 0)
				}
				printf "%.0f", bytes / ((t1 - t0) / 1000) }')
		fi
	fi
	stop source
	stop relay
	stop sink
}

# run_one RELAY K: one measured run, its rate appended to RESULTS.
run_one() {
	local relay=$1 k=$2
	RD=$W/$relay/$k
	mkdir -p "$RD"
	transfer "$relay" "$BYTES"
	RD=$W
	printf '%s\t%s\t%s\t%s\n' "$relay" "$k" "$RES" "${NOTE:--}" >>"$RESULTS"
	if [ "$RES" = error ]; then
		log "$(printf '%-13s run %d/%d: error: %s' "$relay" "$k" "$RUNS" "$NOTE")"
	else
		log "$(printf '%-13s run %d/%d: %s MB/s' "$relay" "$k" "$RUNS" \
			"$(awk -v r="$RES" 'BEGIN { printf "%.0f", r / 1e6 }')")"
	fi
}

# splice_check RELAY: a 256 MiB run under strace -c -f; prints the counts
# of splice, recv and send calls of the relay (all its threads).
SPLICE_REPORT=$W/splice.txt
: >"$SPLICE_REPORT"
splice_check() {
	local relay=$1 st calls
	RD=$W/splice/$relay
	mkdir -p "$RD"
	st=$RD/strace.txt
	transfer "$relay" 268435456 strace -f -c -o "$st" \
		-e trace=splice,read,write,recvfrom,sendto,recvmsg,sendmsg
	RD=$W
	# The summary is written when the traced relay exits.
	wait_for test -s "$st"
	calls=$(awk '$NF ~ /^(splice|read|write|recvfrom|sendto|recvmsg|sendmsg)$/ {
		n[$NF] = $4 }
		END {
		printf "splice %d, recv %d, send %d, read %d, write %d",
		    n["splice"], n["recvfrom"] + n["recvmsg"],
		    n["sendto"] + n["sendmsg"], n["read"], n["write"] }' "$st")
	if [ "$RES" = error ]; then
		calls="$calls (the run failed: $NOTE)"
	fi
	printf '%-13s %s\n' "$relay" "$calls" | tee -a "$SPLICE_REPORT"
}

if [ "$SPLICE_CHECK" -eq 1 ]; then
	log "which relays splice: 268435456 bytes each under strace -c -f"
	for r in "${RELAY_LIST[@]}"; do
		[ "$r" = direct ] && continue
		splice_check "$r"
	done
fi

log "namespaces ${NSS[*]}; $NET; $MODE; $RUNS runs of $BYTES bytes per direction through ${RELAYS//,/ }"
n_rel=${#RELAY_LIST[@]}
for (( k = 1; k <= RUNS; k++ )); do
	for (( j = 0; j < n_rel; j++ )); do
		run_one "${RELAY_LIST[$(( (j + k - 1) % n_rel ))]}" "$k"
	done
done

where="on loopback"
[ "$NET" = veth ] && where="over veth pairs of MTU $MTU (sender | relay | receiver)"
if [ "$MODE" = oneway ]; then
	title="One-way throughput $where, $BYTES bytes"
else
	title="Both directions at once $where, $BYTES bytes each way (MB/s of both together)"
fi
{
	echo
	echo "$title, median of $RUNS interleaved runs"
	[ "$BUF" -ne 65536 ] && echo "every relay with a buffer of $BUF bytes per direction"
	echo
	awk -F'\t' -v order="$RELAYS" '
	function median(arr, c,    a, b, t, tmp) {
		for (a = 0; a < c; a++) tmp[a] = arr[a]
		for (a = 1; a < c; a++)
			for (b = a; b > 0 && tmp[b-1] > tmp[b]; b--) {
				t = tmp[b]; tmp[b] = tmp[b-1]; tmp[b-1] = t }
		lo = tmp[0]; hi = tmp[c-1]
		if (c == 0) return 0
		return c % 2 ? tmp[int(c/2)] : (tmp[c/2-1] + tmp[c/2]) / 2
	}
	$3 != "error" { rate[$1, $2] = $3; runs[$2] = 1 }
	END {
		m = split(order, rel, ",")
		for (i = 1; i <= m; i++) {
			r = rel[i]; c = 0
			delete v
			for (k in runs) if ((r, k) in rate) v[c++] = rate[r, k]
			med[r] = median(v, c); mn[r] = lo; mx[r] = hi; cnt[r] = c
		}
		printf "%-14s %7s %13s %10s %12s %10s\n", "relay", "MB/s",
		    "(min..max)", "vs direct", "vs haproxy", "vs socat"
		for (i = 1; i <= m; i++) {
			r = rel[i]
			if (cnt[r] == 0) { printf "%-14s %7s\n", r, "failed"; continue }
			printf "%-14s %7.0f %13s %10s %12s %10s\n", r, med[r] / 1e6,
			    sprintf("(%.0f..%.0f)", mn[r] / 1e6, mx[r] / 1e6),
			    med["direct"] ? sprintf("%.2f", med[r] / med["direct"]) : "-",
			    med["haproxy"] ? sprintf("%.2f", med[r] / med["haproxy"]) : "-",
			    med["socat"] ? sprintf("%.2f", med[r] / med["socat"]) : "-"
		}
		# The same ratios taken within each round (the runs next to
		# each other in time), then the median: less exposed to a
		# load that came and went.
		printed = 0
		for (i = 1; i <= m; i++) {
			g = rel[i]
			if (g !~ /^gatewayd/) continue
			split("haproxy socat", peers, " ")
			for (p = 1; p <= 2; p++) {
				q = peers[p]; c = 0
				delete v
				for (k in runs)
					if ((g, k) in rate && (q, k) in rate)
						v[c++] = rate[g, k] / rate[q, k]
				if (c == 0) continue
				if (!printed++) {
					print ""
					print "ratios within each round (median, min..max):"
				}
				x = median(v, c)
				printf "  %-13s / %-8s %5.2f  (%.2f..%.2f)\n", g, q, x, lo, hi
			}
		}
	}' "$RESULTS"
	awk -F'\t' '$3 == "error" { printf "%s run %s failed: %s\n", $1, $2, $4 }' \
		"$RESULTS"
	if [ -s "$SPLICE_REPORT" ]; then
		echo
		echo "system calls of a 268435456-byte run under strace -c -f:"
		sed 's/^/  /' "$SPLICE_REPORT"
	fi
	echo
	machine_line
	echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the end"
	echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "relays:  gatewayd $("$GATEWAYD" -V 2>&1 | awk '{ print $NF; exit }'), $(socat -V 2>/dev/null | awk '/socat version/ { print "socat " $3; exit }'), HAProxy $(haproxy -v 2>/dev/null | awk '{ print $3; exit }')"
} | tee "$W/report.txt"
[ -n "$OUT" ] && echo && echo "logs and raw results: $W"
exit 0
