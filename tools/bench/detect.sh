#!/usr/bin/env bash
# detect.sh -- the detection benchmark: how long gatewayd, socat, HAProxy and
# nginx take to tell a host that its device is gone.
#
#   sudo tools/bench/detect.sh [-n RUNS] [-c CAP_S] [-r RELAYS] [-s SCENARIOS]
#                              [-o DIR] [-B BUILD_DIR]
#
# A benchmark, not a test: it prints figures and fails only when it cannot
# measure. Every relay runs in its own namespace between a host namespace
# (hostclient, built from hostclient.c next to this file) and a device
# namespace (devsim):
#
#   host ns  198.19.2.2 ==veth== 198.19.2.1  gw ns  198.19.1.1 ==veth== 198.19.1.2  dev ns
#   (hostclient)                  (the relay under test)                 (devsim)
#
# Nothing is routed: only the relay joins the two sides. A cable pull is an
# nftables drop-all table inside the device namespace. Nothing touches the
# root namespace. Every process is ended by its PID (or the process group it
# leads), and the namespaces are deleted at the end, also on failure or
# Ctrl-C.
#
# Detection = from the fault to the moment the host side sees its
# connection end (EOF or RST): that is how a host learns its device is gone.
# Every relay gets the same keepalive budget, with its best options:
# idle 2 s, interval 1 s, 3 probes (5 s).

set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=5
CAP_S=30
RELAYS="gatewayd,socat,haproxy,nginx,haproxy-to5s"
SCENARIOS="idle,flight,stall,fin,rst,quiet"
OUT=""
BUILD="$ROOT/build-bench"
FAULT_AFTER_MS=2500		# fin/rst: devsim closes this long after accept

usage() {
	cat <<'EOF'
usage: detect.sh [-n RUNS] [-c CAP_S] [-r RELAYS] [-s SCENARIOS] [-o DIR]
                 [-B BUILD_DIR]
  -n RUNS       runs per scenario and relay (default 5)
  -c CAP_S      give up waiting for a detection after CAP_S seconds; the
                quiet scenario lasts that long (default 30)
  -r RELAYS     comma list of gatewayd,socat,haproxy,nginx,haproxy-to5s
                (default: all)
  -s SCENARIOS  comma list of idle,flight,stall,fin,rst,quiet (default: all)
                idle    cable pulled on an idle link
                flight  cable pulled while the host streams to the device
                stall   the device stops reading while the host streams
                fin     the device closes (FIN)
                rst     the device resets (RST)
                quiet   no fault: a healthy link left quiet for CAP_S
  -o DIR        keep every log and the raw results in DIR
  -B BUILD_DIR  where to build gatewayd and devsim (default build-bench)
Needs root, iproute2, nftables, a C compiler, cmake, socat, haproxy and
nginx with its stream module ("tools/setup.sh bench" installs them).
EOF
	exit 64
}

while getopts "n:c:r:s:o:B:h" opt; do
	case $opt in
	n) RUNS=$OPTARG ;;
	c) CAP_S=$OPTARG ;;
	r) RELAYS=$OPTARG ;;
	s) SCENARIOS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	B) BUILD=$OPTARG ;;
	*) usage ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] && [ "$RUNS" -le 100 ] || usage
[[ $CAP_S =~ ^[1-9][0-9]*$ ]] && [ "$CAP_S" -le 600 ] || usage
IFS=, read -r -a RELAY_LIST <<<"$RELAYS"
IFS=, read -r -a SCEN_LIST <<<"$SCENARIOS"
for r in "${RELAY_LIST[@]}"; do
	case $r in gatewayd|socat|haproxy|nginx|haproxy-to5s) ;; *) usage ;; esac
done
for s in "${SCEN_LIST[@]}"; do
	case $s in idle|flight|stall|fin|rst|quiet) ;; *) usage ;; esac
done

die() {
	echo "detect.sh: $*" >&2
	exit 1
}

# ---- addresses (198.18.0.0/15 only) ----
DEV_IP=198.19.1.2
GWD_IP=198.19.1.1
GWH_IP=198.19.2.1
HOST_IP=198.19.2.2

P=gb$$				# unique per run; interface names <= 15 chars
NS_D=${P}d
NS_G=${P}g
NS_H=${P}h
NSS=()
W=""
declare -A PID=()

# ---- time ----

now_ms() {
	"$HC" now
}

# ms (may be fractional) -> "4.2 s" or "37 ms"
fmt_ms() {
	awk -v m="$1" 'BEGIN {
		if (m >= 1000) printf "%.1f s", m / 1000;
		else if (m < 0.5) printf "<1 ms";
		else printf "%d ms", m + 0.5 }'
}

log() {
	echo "[$(date -u +%H:%M:%S)] $*"
}

# ---- processes ----

# shellcheck source=tools/bench/common.sh
. "$ROOT/tools/bench/common.sh"

# Namespaces of an earlier run killed too hard for its trap (SIGKILL): named
# gb<pid>[dgh]; removed only when that pid no longer runs.
sweep_stale() {
	local ns pid p
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns =~ ^gb([0-9]+)[dgh]$ ]] || continue
		pid=${BASH_REMATCH[1]}
		[ -d "/proc/$pid" ] && continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null && echo "removed stale namespace $ns"
	done
}

# ---- set-up ----

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
for t in ip nft ss cc cmake awk setsid; do
	command -v "$t" >/dev/null || die "$t not found (tools/setup.sh bench)"
done
need_relay() {
	local r
	for r in "${RELAY_LIST[@]}"; do
		[ "$r" = "$1" ] && return 0
	done
	return 1
}
need_relay socat && ! command -v socat >/dev/null &&
	die "socat not found (tools/setup.sh bench)"
{ need_relay haproxy || need_relay haproxy-to5s; } &&
	! command -v haproxy >/dev/null && die "haproxy not found (tools/setup.sh bench)"
NGINX_LOAD=""
if need_relay nginx; then
	command -v nginx >/dev/null || die "nginx not found (tools/setup.sh bench)"
	nv=$(nginx -V 2>&1)
	if [[ $nv == *"--with-stream=dynamic"* ]]; then
		mp=$(sed -n 's/.*--modules-path=\([^ ]*\).*/\1/p' <<<"$nv")
		[ -n "$mp" ] || mp=$(sed -n 's/.*--prefix=\([^ ]*\).*/\1/p' <<<"$nv")/modules
		[ -f "$mp/ngx_stream_module.so" ] ||
			die "nginx stream module not found in $mp (Debian: libnginx-mod-stream)"
		NGINX_LOAD="load_module $mp/ngx_stream_module.so;"
	elif [[ $nv != *"--with-stream"* ]]; then
		die "nginx was built without the stream module"
	fi
fi

if [ -n "$OUT" ]; then
	mkdir -p "$OUT" || die "cannot create $OUT"
	W=$(cd "$OUT" && pwd)
else
	W=$(mktemp -d /tmp/detect.XXXXXX) || die "mktemp failed"
fi
RD=$W

log "building gatewayd and devsim"
{ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$BUILD" -j"$(nproc)" --target gatewayd devsim; } \
	>"$W/build.log" 2>&1 || die "build failed, see $W/build.log"
GATEWAYD=$BUILD/gatewayd
DEVSIM=$BUILD/devsim
HC=$W/hostclient
cc -std=c11 -O2 -Wall -Wextra -o "$HC" "$ROOT/tools/bench/hostclient.c" ||
	die "cannot compile hostclient.c"

sweep_stale
for ns in "$NS_D" "$NS_G" "$NS_H"; do
	ip netns add "$ns" || die "cannot create namespace $ns"
	NSS+=("$ns")
	ip -n "$ns" link set lo up
done
ip link add "${P}gd" netns "$NS_G" type veth peer name "${P}dg" netns "$NS_D" &&
ip link add "${P}gh" netns "$NS_G" type veth peer name "${P}hg" netns "$NS_H" &&
ip -n "$NS_G" addr add "$GWD_IP/24" dev "${P}gd" &&
ip -n "$NS_D" addr add "$DEV_IP/24" dev "${P}dg" &&
ip -n "$NS_G" addr add "$GWH_IP/24" dev "${P}gh" &&
ip -n "$NS_H" addr add "$HOST_IP/24" dev "${P}hg" &&
ip -n "$NS_G" link set "${P}gd" up &&
ip -n "$NS_D" link set "${P}dg" up &&
ip -n "$NS_G" link set "${P}gh" up &&
ip -n "$NS_H" link set "${P}hg" up || die "cannot set up the veth pairs"
# nginx cannot set the keepalive timing of its upstream socket
# (proxy_socket_keepalive only turns SO_KEEPALIVE on): the system's
# defaults apply, so the relay's namespace gets the same 2 s / 1 s / 3.
# Every other relay sets the three per socket and is not affected.
ip netns exec "$NS_G" sysctl -q -w net.ipv4.tcp_keepalive_time=2 \
	net.ipv4.tcp_keepalive_intvl=1 net.ipv4.tcp_keepalive_probes=3 ||
	die "cannot set the keepalive sysctls in the relay namespace"

# ---- the relays ----

# start_relay RELAY LPORT DPORT: listen on GWH_IP:LPORT, relay to
# DEV_IP:DPORT, with the relay's best keepalive options for 2 s / 1 s / 3.
start_relay() {
	local relay=$1 lport=$2 dport=$3 cfg
	case $relay in
	gatewayd)
		# The defaults: keepalive 2/1/3, user_timeout_ms 5000,
		# stall_timeout_ms 5000, watchdog period 100 ms.
		cfg=$RD/gatewayd.conf
		cat >"$cfg" <<EOF
version = 1;
control = { socket = ""; };
devices = (
  { name = "bench";
    device = { connect = "$DEV_IP:$dport"; };
    upstream = { listen = "$GWH_IP:$lport"; };
  }
);
EOF
		spawn relay "$NS_G" "$GATEWAYD" -c "$cfg"
		;;
	socat)
		local ka=keepalive,keepidle=2,keepintvl=1,keepcnt=3
		spawn relay "$NS_G" socat -d -d \
			"TCP-LISTEN:$lport,bind=$GWH_IP,fork,reuseaddr,$ka" \
			"TCP:$DEV_IP:$dport,$ka"
		;;
	haproxy|haproxy-to5s)
		local tmo="timeout server 1h
  timeout tunnel 1h"
		# An inactivity timeout on the server side, the usual
		# "fix": it ends stalls but also every quiet healthy link.
		[ "$relay" = haproxy-to5s ] && tmo="timeout server 5s"
		cfg=$RD/haproxy.cfg
		cat >"$cfg" <<EOF
global
  maxconn 64
  log stderr format raw local0 info
defaults
  mode tcp
  log global
  option tcplog
  timeout connect 5s
  timeout client 1h
  $tmo
listen bench
  bind $GWH_IP:$lport
  option tcpka
  option clitcpka
  clitcpka-idle 2s
  clitcpka-intvl 1s
  clitcpka-cnt 3
  option srvtcpka
  srvtcpka-idle 2s
  srvtcpka-intvl 1s
  srvtcpka-cnt 3
  server device $DEV_IP:$dport
EOF
		spawn relay "$NS_G" haproxy -db -f "$cfg"
		;;
	nginx)
		cfg=$RD/nginx.conf
		cat >"$cfg" <<EOF
$NGINX_LOAD
daemon off;
worker_processes 1;
pid $RD/nginx.pid;
error_log $RD/nginx.log info;
events { worker_connections 64; }
stream {
  server {
    listen $GWH_IP:$lport so_keepalive=2s:1s:3;
    proxy_pass $DEV_IP:$dport;
    proxy_socket_keepalive on;
    proxy_connect_timeout 5s;
    proxy_timeout 1h;
  }
}
EOF
		spawn relay "$NS_G" nginx -e "$RD/nginx.log" -p "$RD" -c "$cfg"
		;;
	esac
}

# ---- one run ----

pull_cable() {
	ip netns exec "$NS_D" nft -f - <<'EOF'
table inet benchpull {
  chain in { type filter hook input priority -300; policy drop; }
  chain out { type filter hook output priority -300; policy drop; }
}
EOF
}

plug_cable() {
	ip netns exec "$NS_D" nft delete table inet benchpull 2>/dev/null
	return 0
}


client_line() {
	awk -v e="$1" '$2 == e { print; exit }' "$RD/client.out" 2>/dev/null
}

client_started() {
	[ -n "$(client_line ready)$(client_line never-ready)" ]
}

# The time (client clock) of devsim's first close of kind KIND, or nothing.
device_fault_ms() {
	local stamp t0
	stamp=$(awk -v k="$1" 'index($0, k) { print $1; exit }' "$RD/device.err")
	[ -n "$stamp" ] || return 1
	t0=$(cat "$RD/device.t0")
	awk -v a="$t0" -v b="$stamp" 'BEGIN { printf "%.3f", a + b }'
}

SEQ=0
RESULTS=""			# file: relay scenario run ms|never|error end note

# run_one RELAY SCENARIO K
run_one() {
	local relay=$1 sc=$2 k=$3 lport dport dargs cargs t_ready t_fault
	local line t_end kind ms res note="" delay i
	SEQ=$(( SEQ + 1 ))
	lport=$(( 20000 + SEQ ))
	dport=$(( 30000 + SEQ ))
	RD=$W/$sc/$relay/$k
	mkdir -p "$RD"

	dargs=(--listen "$DEV_IP:$dport" --name device --ready-file "$RD/dport")
	cargs=(--connect "$GWH_IP:$lport" --max-ms $(( (CAP_S + 15) * 1000 )))
	case $sc in
	idle|quiet) dargs+=(--mode echo); cargs+=(--ping) ;;
	flight) dargs+=(--mode sink); cargs+=(--stream) ;;
	stall) dargs+=(--mode stop-reading --rcvbuf 4096); cargs+=(--stream) ;;
	fin) dargs+=(--mode echo --close-after-ms "$FAULT_AFTER_MS"); cargs+=(--ping) ;;
	rst) dargs+=(--mode echo --reset-after-ms "$FAULT_AFTER_MS"); cargs+=(--ping) ;;
	esac
	# device.t0: the client clock just before devsim starts its own (its
	# log stamps are ms since its start), to place its FIN or RST.
	spawn device "$NS_D" sh -c '"$1" now >"$2"; shift 2; exec "$@"' sh \
		"$HC" "$RD/device.t0" "$DEVSIM" "${dargs[@]}"
	if ! wait_for test -s "$RD/dport"; then
		res=error; note="devsim did not start"
	else
		start_relay "$relay" "$lport" "$dport"
		if ! wait_for listening "$NS_G" "$lport"; then
			res=error; note="$relay did not listen"
		fi
	fi
	if [ -z "${res:-}" ]; then
		spawn client "$NS_H" "$HC" "${cargs[@]}"
		wait_for client_started || wait_for client_started
		line=$(client_line ready)
		if [ -z "$line" ]; then
			res=error; note="no end-to-end path"
		fi
	fi
	if [ -z "${res:-}" ]; then
		t_ready=${line%% *}
		case $sc in
		idle)
			# Idle for 3 to 5 s: a uniformly random phase against
			# the keepalive timer (probes every 2 s while answered).
			delay=$(( 3000 + RANDOM % 2000 ))
			sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
			pull_cable; t_fault=$(now_ms) ;;
		flight)
			sleep 1
			pull_cable; t_fault=$(now_ms) ;;
		stall|quiet)
			t_fault=$t_ready ;;
		fin|rst)
			local key="close-after-ms"
			[ "$sc" = rst ] && key="reset-after-ms"
			for (( i = 0; i < 100; i++ )); do
				t_fault=$(device_fault_ms "$key") && break
				sleep 0.1
			done
			if [ -z "$t_fault" ]; then
				res=error; note="devsim did not $sc"
			elif awk -v f="$t_fault" -v r="$t_ready" 'BEGIN { exit !(f < r) }'; then
				res=error; note="the device closed before the host was ready"
			fi ;;
		esac
	fi
	if [ -z "${res:-}" ]; then
		# Bounded: CAP_S after the fault, polled every 100 ms.
		for (( i = 0; i < CAP_S * 10 + 20; i++ )); do
			client_line end | grep -q . && break
			awk -v f="$t_fault" -v n="$(now_ms)" -v c="$CAP_S" \
				'BEGIN { exit !(n - f > c * 1000 + 200) }' && break
			sleep 0.1
		done
		line=$(client_line end)
		if [ -n "$line" ]; then
			t_end=${line%% *}
			kind=$(awk '{ print $3 }' <<<"$line")
			ms=$(awk -v e="$t_end" -v f="$t_fault" 'BEGIN { printf "%.1f", e - f }')
			if awk -v m="$ms" -v c="$CAP_S" 'BEGIN { exit !(m > c * 1000) }'; then
				res=never
			elif awk -v m="$ms" 'BEGIN { exit !(m < -5) }'; then
				res=early	# the relay dropped the link before the fault
			else
				res=$ms
			fi
		else
			res=never; kind=-
		fi
		if [ "$relay" = gatewayd ]; then
			note=$(sed -n 's/.* bench\/device down: \([a-z_]*\).*/\1/p' \
				"$RD/relay.err" | head -n 1)
			[ -n "$note" ] || note=none
		fi
	fi
	stop client
	stop relay
	stop device
	plug_cable
	RD=$W
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$relay" "$sc" "$k" "$res" \
		"${kind:--}" "${note:--}" >>"$RESULTS"
	case $res in
	never) ms=never; [ "$sc" = quiet ] && ms=kept ;;
	error|early) ms=$res ;;
	*) ms=$(fmt_ms "$res") ;;
	esac
	log "$(printf '%-7s %-13s run %d/%d: %-9s %-6s %s' "$sc" "$relay" "$k" \
		"$RUNS" "$ms" "${kind:--}" "${note:-}")"
}

# ---- the report ----

scen_title() {
	case $1 in
	idle) echo "idle cable pull" ;;
	flight) echo "cable pull, data in flight" ;;
	stall) echo "device stops reading" ;;
	fin) echo "device closes (FIN) [2]" ;;
	rst) echo "device resets (RST) [2]" ;;
	quiet) echo "no fault, quiet link [1]" ;;
	esac
}

report() {
	local sc r
	echo
	echo "Detection latency: fault -> the host sees its connection end"
	echo "(median and max of $RUNS runs; never = not within $CAP_S s)"
	echo
	printf '%-28s' scenario
	for r in "${RELAY_LIST[@]}"; do printf '%-18s' "$r"; done
	echo
	printf '%-28s' ""
	for r in "${RELAY_LIST[@]}"; do printf '%-9s%-9s' median max; done
	echo
	for sc in "${SCEN_LIST[@]}"; do
		printf '%-28s' "$(scen_title "$sc")"
		for r in "${RELAY_LIST[@]}"; do
			awk -F'\t' -v r="$r" -v s="$sc" -v cap="$CAP_S" '
			function fmt(m) {
				if (m >= 1e12) return (s == "quiet" ? "kept" : "never")
				if (m >= 1000) return sprintf("%.1f s", m / 1000)
				if (m < 0.5) return "<1 ms"
				return sprintf("%d ms", m + 0.5)
			}
			$1 == r && $2 == s && $4 == "early" { early++ }
			$1 == r && $2 == s && $4 != "error" && $4 != "early" {
				v[n++] = ($4 == "never") ? 1e12 : $4 + 0
			}
			END {
				if (n == 0) {
					printf "%-9s%-9s", early ? "early" : "-", "-"
					exit
				}
				# insertion sort, n is small
				for (i = 1; i < n; i++)
					for (j = i; j > 0 && v[j-1] > v[j]; j--) {
						t = v[j]; v[j] = v[j-1]; v[j-1] = t }
				med = (n % 2) ? v[int(n/2)] : (v[n/2-1] + v[n/2]) / 2
				if (med >= 1e12) med = 1e12
				mx = fmt(v[n-1])
				if (v[n-1] >= 1e12 && s != "quiet")
					mx = ">" cap " s"
				printf "%-9s%-9s", fmt(med), mx
			}' "$RESULTS"
		done
		echo
	done
	echo
	if [[ ",$SCENARIOS," == *,quiet,* ]]; then
		echo "[1] no fault: a healthy link left quiet for $CAP_S s; \"kept\" is right,"
		echo "    a time is when the relay wrongly dropped it."
	fi
	if [[ ",$SCENARIOS," == *,fin,* || ",$SCENARIOS," == *,rst,* ]]; then
		echo "[2] known to about 1 ms: devsim stamps its FIN or RST in whole ms."
	fi
	# Partial detections, errors, and gatewayd's reasons.
	awk -F'\t' '
	$4 == "error" { err[$1 " / " $2] = err[$1 " / " $2] "; " $6 }
	{ k = $1 ", " $2; tot[k]++ }
	$4 == "never" { nev[k]++ }
	$4 == "early" { ear[k]++ }
	$4 != "never" && $4 != "error" && $4 != "early" { det[k]++ }
	$1 == "gatewayd" && $4 != "error" { rs[$2] = rs[$2] " " $6 }
	END {
		for (k in tot) {
			if (det[k] > 0 && nev[k] > 0)
				printf "%s: not detected in %d of %d runs\n", k,
				    nev[k], tot[k]
			if (ear[k] > 0)
				printf "%s: dropped the link before the fault in " \
				    "%d of %d runs (left out above)\n", k, ear[k],
				    tot[k]
		}
		for (k in err) printf "%s: measurement failed:%s\n", k, substr(err[k], 2)
		for (s in rs) {
			n = split(rs[s], x, " "); delete c; line = ""
			for (i = 1; i <= n; i++) c[x[i]]++
			for (y in c) line = line " " y " x" c[y]
			printf "gatewayd verdicts, %s:%s\n", s, line
		}
	}' "$RESULTS" | sort
	echo
	machine_line
	echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "relays:  $("$GATEWAYD" -V 2>&1 | head -n 1)$(need_relay socat && echo ", $(socat -V 2>/dev/null | awk '/socat version/ { print "socat " $3; exit }')")$( { need_relay haproxy || need_relay haproxy-to5s; } && echo ", $(haproxy -v 2>/dev/null | awk 'NR == 1 { print "HAProxy " $3 }')")$(need_relay nginx && echo ", $(nginx -v 2>&1 | sed 's/.*version: //')")"
}

# ---- main ----

RESULTS=$W/results.tsv
: >"$RESULTS"
log "namespaces $NS_H, $NS_G, $NS_D; $RUNS runs of ${SCENARIOS//,/ } with ${RELAYS//,/ }"
for sc in "${SCEN_LIST[@]}"; do
	for (( k = 1; k <= RUNS; k++ )); do
		for r in "${RELAY_LIST[@]}"; do
			run_one "$r" "$sc" "$k"
		done
	done
done
report | sed "s/[[:space:]]*\$//" | tee "$W/report.txt"
[ -n "$OUT" ] && echo && echo "logs and raw results: $W"
exit 0
