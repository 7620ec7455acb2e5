#!/usr/bin/env bash
# latency.sh -- what a relay adds to the round trip of a small request:
# 64-byte requests echoed by a device, through gatewayd (splice and copy),
# socat and HAProxy, next to a direct connection, on 1 and on 100 links.
#
#   sudo tools/bench/latency.sh [-n RUNS] [-L LINKS] [-d DURATION_MS]
#                               [-r RELAYS] [-N lo|veth] [-M MTU] [-o DIR]
#                               [-B BUILD_DIR]
#
# By default everything runs on the loopback interface of one network
# namespace that the script creates; with -N veth the host, the relay and
# the device each have a namespace of their own, joined by veth pairs of
# MTU bytes (-M, default 1500, Ethernet's; see common.sh). Every namespace
# is deleted at the end, also on failure or Ctrl-C.
# The device is devsim in echo mode; the host is "rtt" (built from rtt.c
# next to this file), which times each request from its send() to the
# last byte of its echo. On 1 link a request goes out every 1 ms; on 100
# links each link sends one every 10 ms (10,000 a second in all), one at a
# time per link, the links' phases spread over the interval. gatewayd has
# one upstream port per device, so on 100 links it relays 100 devices,
# each dialling the same echo device; socat forks a child per connection;
# HAProxy takes them all on one port. The runs are interleaved (every
# relay once, in a rotated order, then again), since other work may share
# the machine, and the added latency is the relay's p50 (p99) minus the
# direct connection's p50 (p99) of the same round; medians of the rounds.
# gatewayd is also compared with HAProxy round by round, and each relay's
# CPU time over its runs is given as a share of one CPU. Started under
# taskset, every process of the run keeps to the CPUs given (the report
# says which): on one CPU no wake-up crosses CPUs, which leaves the cost of
# each relay's own path.
# Every process is ended by its PID (or the group it leads).

set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=5
LINKS="1,100"
DUR_MS=5000
RELAYS="direct,gatewayd,gatewayd-copy,socat,haproxy"
NET=lo
MTU=1500
MTU_SET=0
OUT=""
BUILD="$ROOT/build-bench"

usage() {
	cat <<'EOF'
usage: latency.sh [-n RUNS] [-L LINKS] [-d DURATION_MS] [-r RELAYS]
                  [-N lo|veth] [-M MTU] [-o DIR] [-B BUILD_DIR]
  -n RUNS         runs per relay and link count, interleaved (default 5)
  -L LINKS        comma list of link counts (default 1,100); 1 link sends
                  every 1 ms, more links each every 10 ms
  -d DURATION_MS  measured time per run, after 500 ms of warm-up
                  (default 5000)
  -r RELAYS       comma list of direct,gatewayd,gatewayd-copy,socat,haproxy,
                  haproxy-auto (default: all but haproxy-auto)
                  gatewayd       relay = "splice" (the default)
                  gatewayd-copy  relay = "copy"
                  socat          fork, nodelay on both sides
                  haproxy        option splice-request, splice-response
                  haproxy-auto   option splice-auto
  -N NET          lo: host, relay and device on one namespace's loopback
                  (default); veth: each in a namespace of its own, joined
                  by veth pairs of MTU bytes
  -M MTU          with -N veth: the veth pairs' MTU (default 1500,
                  Ethernet's; 576..65535)
  -o DIR          keep every log and the raw results in DIR
  -B BUILD_DIR    where to build gatewayd and devsim (default build-bench)
Needs root, iproute2, a C compiler, cmake, socat and haproxy
("tools/setup.sh bench" installs them).
EOF
	exit 64
}

while getopts "n:L:d:r:N:M:o:B:h" opt; do
	case $opt in
	n) RUNS=$OPTARG ;;
	L) LINKS=$OPTARG ;;
	d) DUR_MS=$OPTARG ;;
	r) RELAYS=$OPTARG ;;
	N) NET=$OPTARG ;;
	M) MTU=$OPTARG; MTU_SET=1 ;;
	o) OUT=$OPTARG ;;
	B) BUILD=$OPTARG ;;
	*) usage ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] && [ "$RUNS" -le 100 ] || usage
[[ $DUR_MS =~ ^[1-9][0-9]*$ ]] && [ "$DUR_MS" -le 600000 ] || usage
IFS=, read -r -a RELAY_LIST <<<"$RELAYS"
IFS=, read -r -a LINK_LIST <<<"$LINKS"
for r in "${RELAY_LIST[@]}"; do
	case $r in
	direct|gatewayd|gatewayd-copy|socat|haproxy|haproxy-auto) ;;
	*) usage ;;
	esac
done
for l in "${LINK_LIST[@]}"; do
	[[ $l =~ ^[1-9][0-9]*$ ]] && [ "$l" -le 900 ] || usage
done

die() {
	echo "latency.sh: $*" >&2
	exit 1
}

NS=gb$$l
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

if [ -n "$OUT" ]; then
	mkdir -p "$OUT" || die "cannot create $OUT"
	W=$(cd "$OUT" && pwd)
else
	W=$(mktemp -d /tmp/latency.XXXXXX) || die "mktemp failed"
fi
RD=$W

log "building gatewayd and devsim"
{ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$BUILD" -j"$(nproc)" --target gatewayd devsim; } \
	>"$W/build.log" 2>&1 || die "build failed, see $W/build.log"
GATEWAYD=$BUILD/gatewayd
DEVSIM=$BUILD/devsim
RTT=$W/rtt
cc -std=c11 -O2 -Wall -Wextra -o "$RTT" "$ROOT/tools/bench/rtt.c" ||
	die "cannot compile rtt.c"

bench_namespaces "$NET" "$MTU" || die "cannot set up the namespaces ($NET)"

# start_relay RELAY LINKS LPORT DPORT: listen on LPORT (gatewayd: LPORT to
# LPORT+LINKS-1, a device each) and relay to the echo device on DPORT.
start_relay() {
	local relay=$1 links=$2 lport=$3 dport=$4 cfg mode=splice opt k
	case $relay in
	gatewayd|gatewayd-copy)
		[ "$relay" = gatewayd-copy ] && mode=copy
		cfg=$RD/gatewayd.conf
		{
			cat <<EOF
version = 1;
status = { listen = ""; };
control = { socket = ""; };
defaults = { relay = "$mode"; };
devices = (
EOF
			for (( k = 0; k < links; k++ )); do
				[ "$k" -gt 0 ] && echo ","
				printf '  { name = "d%d"; device = { connect = "%s:%d"; };\n' "$k" "$SINK_ADDR" "$dport"
				printf '    upstream = { listen = "%s:%d"; }; }' "$RELAY_ADDR" $(( lport + k ))
			done
			echo
			echo ");"
		} >"$cfg"
		spawn relay "$NS_RELAY" "$GATEWAYD" -c "$cfg"
		;;
	socat)
		spawn relay "$NS_RELAY" socat -b 65536 \
			"TCP-LISTEN:$lport,bind=$RELAY_ADDR,reuseaddr,fork,backlog=1024,nodelay" \
			"TCP:$SINK_ADDR:$dport,nodelay"
		;;
	haproxy|haproxy-auto)
		opt="option splice-request
  option splice-response"
		[ "$relay" = haproxy-auto ] && opt="option splice-auto"
		cfg=$RD/haproxy.cfg
		cat >"$cfg" <<EOF
global
  maxconn 4096
defaults
  mode tcp
  $opt
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen bench
  bind $RELAY_ADDR:$lport
  server echo $SINK_ADDR:$dport
EOF
		spawn relay "$NS_RELAY" haproxy -db -f "$cfg"
		;;
	esac
}

SEQ=0
RESULTS=$W/results.tsv		# relay links run p50 p99 samples note cpu%
: >"$RESULTS"

# run_one RELAY LINKS K
run_one() {
	local relay=$1 links=$2 k=$3 lport dport target interval perport=()
	local res="" note="" line cpu0=0 cpu1=0 t0 t1 cpu=-
	SEQ=$(( SEQ + 1 ))
	# Ports: LINKS for gatewayd's devices, one for the device; below
	# the ephemeral range (32768..60999), where a port may still be held
	# by a connection of the run before.
	lport=$(( 10000 + (SEQ % 22) * 1000 ))
	dport=$(( lport + 999 ))
	RD=$W/$relay/$links/$k
	mkdir -p "$RD"
	interval=1000
	[ "$links" -gt 1 ] && interval=10000
	rm -f "$RD/dev.ready"
	spawn device "$NS_SINK" "$DEVSIM" --listen "$SINK_ADDR:$dport" --mode echo \
		--max-conns $(( links + 64 )) --name device \
		--ready-file "$RD/dev.ready"
	wait_for test -f "$RD/dev.ready" || { res=error; note="devsim did not start"; }
	target=$SINK_ADDR:$dport
	if [ -z "$res" ] && [ "$relay" != direct ]; then
		start_relay "$relay" "$links" "$lport" "$dport"
		target=$RELAY_ADDR:$lport
		[[ $relay == gatewayd* ]] && perport=(-P)
		wait_for listening "$NS_RELAY" "$lport" ||
			{ res=error; note="$relay did not listen"; }
	fi
	if [ -z "$res" ]; then
		[ "$relay" != direct ] && cpu0=$(group_cpu_ms "${PID[relay]}")
		t0=$(date +%s%N)
		# rtt bounds itself: 10 s to get every link ready, then
		# 500 ms + DUR_MS.
		if ! ip netns exec "$NS_SRC" "$RTT" -l "$links" "${perport[@]}" \
		    -i "$interval" -d "$DUR_MS" -w 500 -t 10000 "$target" \
		    >"$RD/rtt.out" 2>"$RD/rtt.err"; then
			res=error
			note="rtt: $(head -c 200 "$RD/rtt.err" | tr '\n' ' ')"
		fi
		t1=$(date +%s%N)
		if [ "$relay" != direct ]; then
			cpu1=$(group_cpu_ms "${PID[relay]}")
			cpu=$(awk -v c=$(( cpu1 - cpu0 )) -v t=$(( (t1 - t0) / 1000000 )) \
			    'BEGIN { printf "%.1f", (t > 0 ? 100 * c / t : 0) }')
		fi
	fi
	stop relay
	stop device
	RD=$W
	if [ -z "$res" ]; then
		line=$(cat "$W/$relay/$links/$k/rtt.out")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\n' "$relay" "$links" "$k" \
			"$(awk '{ print $4 }' <<<"$line")" \
			"$(awk '{ print $8 }' <<<"$line")" \
			"$(awk '{ print $2 }' <<<"$line")" "$cpu" >>"$RESULTS"
		log "$(printf '%-13s %4d links run %d/%d: %s cpu%% %s' "$relay" "$links" "$k" "$RUNS" "$line" "$cpu")"
	else
		printf '%s\t%s\t%s\terror\terror\t0\t%s\t-\n' "$relay" "$links" "$k" \
			"$note" >>"$RESULTS"
		log "$(printf '%-13s %4d links run %d/%d: error: %s' "$relay" "$links" "$k" "$RUNS" "$note")"
	fi
}

log "namespaces ${NSS[*]}; $NET; $RUNS runs of ${DUR_MS} ms per relay and link count: ${RELAYS//,/ }; links ${LINKS//,/ }"
n_rel=${#RELAY_LIST[@]}
for (( k = 1; k <= RUNS; k++ )); do
	for l in "${LINK_LIST[@]}"; do
		for (( j = 0; j < n_rel; j++ )); do
			run_one "${RELAY_LIST[$(( (j + k - 1) % n_rel ))]}" "$l" "$k"
		done
	done
done

{
	echo
	where="on loopback"
	[ "$NET" = veth ] && where="over veth pairs of MTU $MTU (host | relay | device)"
	echo "Round trip of a 64-byte request echoed by the device $where, in microseconds;"
	echo "median over $RUNS interleaved runs of each run's p50 and p99 ($DUR_MS ms each);"
	echo "added = the relay's figure minus the direct connection's in the same round;"
	echo "cpu = the relay's CPU time (user and system, its children too) over the run, % of one CPU"
	echo
	awk -F'\t' -v order="$RELAYS" -v lorder="$LINKS" '
	function median(arr, c,    a, b, t, tmp) {
		if (c == 0) return "-"
		for (a = 0; a < c; a++) tmp[a] = arr[a]
		for (a = 1; a < c; a++)
			for (b = a; b > 0 && tmp[b-1] > tmp[b]; b--) {
				t = tmp[b]; tmp[b] = tmp[b-1]; tmp[b-1] = t }
		return c % 2 ? tmp[int(c/2)] : (tmp[c/2-1] + tmp[c/2]) / 2
	}
	$4 != "error" { p50[$1, $2, $3] = $4; p99[$1, $2, $3] = $5
	                smp[$1, $2, $3] = $6; cpu[$1, $2, $3] = $8; runs[$3] = 1 }
	END {
		m = split(order, rel, ","); nl = split(lorder, lk, ",")
		printf "%-6s %-14s %8s %8s %10s %10s %9s %6s\n", "links", "relay",
		    "p50", "p99", "added p50", "added p99", "samples", "cpu %"
		for (li = 1; li <= nl; li++) {
			l = lk[li]
			for (i = 1; i <= m; i++) {
				r = rel[i]; c = 0; ca = 0; cc = 0
				delete a; delete b; delete x; delete y; delete s; delete z
				for (k in runs) {
					if (!((r, l, k) in p50)) continue
					a[c] = p50[r, l, k]; b[c] = p99[r, l, k]
					s[c] = smp[r, l, k]; c++
					if (cpu[r, l, k] != "-" && cpu[r, l, k] != "")
						z[cc++] = cpu[r, l, k]
					if (("direct", l, k) in p50) {
						x[ca] = p50[r, l, k] - p50["direct", l, k]
						y[ca] = p99[r, l, k] - p99["direct", l, k]
						ca++
					}
				}
				if (c == 0) { printf "%-6s %-14s %8s\n", l, r, "failed"; continue }
				ma = median(x, ca); mb = median(y, ca)
				add50[r, l] = ma; add99[r, l] = mb
				mz = median(z, cc)
				printf "%-6s %-14s %8.1f %8.1f %10s %10s %9d %6s\n", l, r,
				    median(a, c), median(b, c),
				    ma == "-" ? "-" : sprintf("%.1f", ma),
				    mb == "-" ? "-" : sprintf("%.1f", mb), median(s, c),
				    mz == "-" ? "-" : sprintf("%.1f", mz)
			}
		}
		for (li = 1; li <= nl; li++) {
			l = lk[li]
			for (i = 1; i <= m; i++) {
				g = rel[i]
				if (g !~ /^gatewayd/ || !((g, l) in add50) ||
				    !(("haproxy", l) in add50) ||
				    add50[g, l] == "-" || add50["haproxy", l] == "-")
					continue
				if (!hdr++) { print ""; print "target: gatewayd adds no more than HAProxy (p50 and p99)" }
				ok = add50[g, l] <= add50["haproxy", l] &&
				    add99[g, l] <= add99["haproxy", l]
				printf "  %4s links %-13s added p50 %.1f vs %.1f, p99 %.1f vs %.1f: %s\n",
				    l, g, add50[g, l], add50["haproxy", l],
				    add99[g, l], add99["haproxy", l], ok ? "met" : "NOT met"
			}
		}
		# The same comparison run by run: the two ran next to each
		# other in time, so a load that came and went moves both.
		for (li = 1; li <= nl; li++) {
			l = lk[li]
			for (i = 1; i <= m; i++) {
				g = rel[i]
				if (g !~ /^gatewayd/) continue
				c = 0; f50 = 0; f99 = 0
				delete x; delete y
				for (k in runs) {
					if (!((g, l, k) in p50) || !(("haproxy", l, k) in p50))
						continue
					x[c] = p50[g, l, k] - p50["haproxy", l, k]
					y[c] = p99[g, l, k] - p99["haproxy", l, k]
					f50 += x[c] < 0; f99 += y[c] < 0; c++
				}
				if (c == 0) continue
				if (!rhdr++) { print ""; print "within each round, gatewayd minus HAProxy in microseconds (median, min..max)" }
				printf "  %4s links %-13s p50 %+.1f (%+.1f..%+.1f) faster in %d of %d, p99 %+.1f (%+.1f..%+.1f) faster in %d of %d\n",
				    l, g, median(x, c), least(x, c), most(x, c), f50, c,
				    median(y, c), least(y, c), most(y, c), f99, c
			}
		}
	}
	function least(arr, c,    a, v) {
		v = arr[0]
		for (a = 1; a < c; a++)
			if (arr[a] < v) v = arr[a]
		return v
	}
	function most(arr, c,    a, v) {
		v = arr[0]
		for (a = 1; a < c; a++)
			if (arr[a] > v) v = arr[a]
		return v
	}' "$RESULTS"
	awk -F'\t' '$4 == "error" { printf "%s, %s links, run %s failed: %s\n", $1, $2, $3, $7 }' \
		"$RESULTS"
	echo
	machine_line
	echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the end"
	echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "relays:  gatewayd $("$GATEWAYD" -V 2>&1 | awk '{ print $NF; exit }'), $(socat -V 2>/dev/null | awk '/socat version/ { print "socat " $3; exit }'), HAProxy $(haproxy -v 2>/dev/null | awk '{ print $3; exit }')"
} | tee "$W/report.txt"
[ -n "$OUT" ] && echo && echo "logs and raw results: $W"
exit 0
