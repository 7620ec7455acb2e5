#!/usr/bin/env bash
# scale.sh -- gatewayd with thousands of devices: start-up, memory,
# threads, idle cost, watchdog sweep, /metrics, stop; with -p, a cable
# pull on a share of the devices at once.
#
#   sudo tools/bench/scale.sh [-n ROUNDS] [-p PERCENT] [-i IDLE_S] [-o DIR]
#                             [-B BUILD_DIR] [N...]
#
# N devices (default 2000; several counts give one column each), each with
# a device link that gatewayd dials and an upstream link that listens (no
# host connects: the links a plant keeps open around the clock). The
# devices are one devsim in echo mode, listening on every address of its
# namespace; each device dials an address of its own, so that a cable pull
# can cut some devices and not the others:
#
#   gw ns  198.19.3.1 ==veth== 198.19.3.2  dev ns
#   (gatewayd, status on 127.0.0.1:9780)    (devsim; device k's address on lo,
#   198.19.64.0/18 routed via 198.19.3.2     198.19.(64 + k / 250).(1 + k % 250))
#
# Nothing touches the root namespace; everything is in 198.18.0.0/15.
# Each count runs once per round, the rounds interleaved; medians count.
# Per run:
#   all up     from the start of gatewayd to the last "DEVICE/device up" line
#   RSS        VmRSS once all are up and 3 s settled, per device (total / N)
#   threads    Threads of /proc/PID/status; fds: entries of /proc/PID/fd
#   idle CPU   user + system time of gatewayd over IDLE_S (10 s), as a share
#              of one core, with nothing scraped or sent meanwhile
#   sweep      gatewayd_watchdog_sweep_seconds over the same IDLE_S: mean
#              (sum / count), mean per device, and the upper bound of the
#              highest histogram bucket any sweep reached (its max)
#   /metrics   size and time to fetch (curl's time_total), median of 5
#   pull (-p)  PERCENT of the devices (spread evenly) lose their cable at
#              once: an nftables set of their addresses, dropped both ways
#              in the dev namespace. Each must be declared dead with
#              keepalive_timeout within budget (idle 2 + interval 1 x 3 =
#              5 s) + one watchdog period + 0.5 s of the pull, none of the
#              others may fail, and all must be up again within
#              backoff.max_ms + connect_timeout_ms + 0.5 s of the cable's
#              return (a dial under way when the cable returns waits for
#              its connect timeout)
#   stop       SIGTERM to exit
# Every process is ended by its PID; the namespaces are deleted at the
# end, also on failure or Ctrl-C.

set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=1
PULL_PCT=0
IDLE_S=10
OUT=""
BUILD="$ROOT/build-bench"

# The policy (the defaults but for a faster redial, so that the pulled
# devices' return is timed in seconds).
PERIOD_MS=100
IDLE_KA_S=2
INTVL_S=1
COUNT=3
CONNECT_MS=1000
BACKOFF_MIN_MS=100
BACKOFF_MAX_MS=2000
BUDGET_MS=$(( (IDLE_KA_S + INTVL_S * COUNT) * 1000 ))
DEAD_LIMIT_MS=$(( BUDGET_MS + PERIOD_MS + 500 ))
BACK_LIMIT_MS=$(( BACKOFF_MAX_MS + CONNECT_MS + 500 ))

usage() {
	cat <<'EOF'
usage: scale.sh [-n ROUNDS] [-p PERCENT] [-i IDLE_S] [-o DIR] [-B BUILD_DIR]
                [N...]
  N             devices, one column each (default 2000; at most 16000)
  -n ROUNDS     runs per count, interleaved; medians (default 1)
  -p PERCENT    also pull the cable of PERCENT % of the devices at once
                (default 0: no pull)
  -i IDLE_S     the idle window for CPU and sweep figures (default 10)
  -o DIR        keep every log and the raw results in DIR
  -B BUILD_DIR  where to build gatewayd and devsim (default build-bench)
Needs root, iproute2, nftables, curl, a C compiler and cmake
("tools/setup.sh" installs them).
EOF
	exit 64
}

while getopts "n:p:i:o:B:h" opt; do
	case $opt in
	n) ROUNDS=$OPTARG ;;
	p) PULL_PCT=$OPTARG ;;
	i) IDLE_S=$OPTARG ;;
	o) OUT=$OPTARG ;;
	B) BUILD=$OPTARG ;;
	*) usage ;;
	esac
done
shift $(( OPTIND - 1 ))
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(2000)
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] && [ "$ROUNDS" -le 20 ] || usage
[[ $PULL_PCT =~ ^[0-9]+$ ]] && [ "$PULL_PCT" -le 100 ] || usage
[[ $IDLE_S =~ ^[1-9][0-9]*$ ]] && [ "$IDLE_S" -le 300 ] || usage
for n in "${COUNTS[@]}"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] && [ "$n" -le 16000 ] || usage
done

die() {
	echo "scale.sh: $*" >&2
	exit 1
}

P=gs$$
NS_G=${P}g
NS_D=${P}d
NSS=()
W=""
RD=""
declare -A PID=()
GW_IP=198.19.3.1
DV_IP=198.19.3.2
DEV_PORT=5000
UP_BASE=20000
STATUS=127.0.0.1:9780

log() {
	echo "[$(date -u +%H:%M:%S)] $*"
}

# shellcheck source=tools/bench/common.sh
. "$ROOT/tools/bench/common.sh"

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
for t in ip nft ss cc cmake awk setsid curl; do
	command -v "$t" >/dev/null || die "$t not found (tools/setup.sh)"
done

# Namespaces of an earlier run killed too hard for its trap (SIGKILL):
# named gs<pid>[gd]; removed only when that pid no longer runs.
for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
	[[ $ns =~ ^gs([0-9]+)[gd]$ ]] || continue
	[ -d "/proc/${BASH_REMATCH[1]}" ] && continue
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null && echo "removed stale namespace $ns"
done

if [ -n "$OUT" ]; then
	mkdir -p "$OUT" || die "cannot create $OUT"
	W=$(cd "$OUT" && pwd)
else
	W=$(mktemp -d /tmp/scale.XXXXXX) || die "mktemp failed"
fi
RD=$W

log "building gatewayd and devsim"
{ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$BUILD" -j"$(nproc)" --target gatewayd devsim; } \
	>"$W/build.log" 2>&1 || die "build failed, see $W/build.log"
GATEWAYD=$BUILD/gatewayd
DEVSIM=$BUILD/devsim

MAXN=0
for n in "${COUNTS[@]}"; do
	[ "$n" -gt "$MAXN" ] && MAXN=$n
done

dev_ip() {	# K
	echo "198.19.$(( 64 + $1 / 250 )).$(( 1 + $1 % 250 ))"
}

for ns in "$NS_G" "$NS_D"; do
	ip netns add "$ns" || die "cannot create namespace $ns"
	NSS+=("$ns")
	ip -n "$ns" link set lo up || die "cannot bring up lo in $ns"
done
ip -n "$NS_G" link add "${P}gd" type veth peer name "${P}dg" netns "$NS_D" &&
ip -n "$NS_G" addr add "$GW_IP/24" dev "${P}gd" &&
ip -n "$NS_D" addr add "$DV_IP/24" dev "${P}dg" &&
ip -n "$NS_G" link set "${P}gd" up &&
ip -n "$NS_D" link set "${P}dg" up &&
ip -n "$NS_G" route add 198.19.64.0/18 via "$DV_IP" ||
	die "cannot set up the veth pair"
# One address per device, on the dev namespace's loopback: routed to
# through one neighbour, so the gw's neighbour table holds one entry.
for (( k = 0; k < MAXN; k++ )); do
	echo "addr add $(dev_ip "$k")/32 dev lo"
done >"$W/addrs.batch"
ip -n "$NS_D" -batch "$W/addrs.batch" || die "cannot add the device addresses"

# The device: one devsim for all, on every address of its namespace.
rm -f "$W/dev.ready"
spawn devsim "$NS_D" "$DEVSIM" --listen ":$DEV_PORT" --mode echo \
	--max-conns $(( MAXN * 2 + 64 )) --name dev --ready-file "$W/dev.ready"
wait_for test -f "$W/dev.ready" || die "devsim did not start: $(cat "$W/devsim.err")"

# Wall-clock ms since midnight UTC, the clock of gatewayd's log stamps.
day_ms() {
	local t=${EPOCHREALTIME/./}
	echo $(( (t / 1000) % 86400000 ))
}

# The stamps (ms since midnight UTC) of log lines on stdin, first field.
stamps_ms() {
	awk '{ split(substr($1, 12), t, ":"); sub(/Z$/, "", t[3])
	       printf "%d %s\n", (t[1] * 3600 + t[2] * 60) * 1000 + t[3] * 1000 + 0.5, $0 }'
}

# d - t0, across midnight.
since() {	# T0 T
	local d=$(( $2 - $1 ))
	[ "$d" -lt -43200000 ] && d=$(( d + 86400000 ))
	echo "$d"
}

write_config() {	# N FILE
	local n=$1 k
	{
		cat <<EOF
version = 1;
log = { level = "info"; };
status = { listen = "$STATUS"; };
control = { socket = ""; };
watchdog = { period_ms = $PERIOD_MS; };
defaults = {
  keepalive = { idle_s = $IDLE_KA_S; interval_s = $INTVL_S; count = $COUNT; };
  connect_timeout_ms = $CONNECT_MS;
  backoff = { min_ms = $BACKOFF_MIN_MS; max_ms = $BACKOFF_MAX_MS; };
};
devices = (
EOF
		for (( k = 0; k < n; k++ )); do
			[ "$k" -gt 0 ] && echo ","
			printf '  { name = "d%d"; device = { connect = "%s:%d"; };\n' \
				"$k" "$(dev_ip "$k")" "$DEV_PORT"
			printf '    upstream = { listen = "127.0.0.1:%d"; }; }' \
				$(( UP_BASE + k ))
		done
		echo
		echo ");"
	} >"$2"
}

scrape() {	# FILE: /metrics into FILE; prints "bytes seconds"
	ip netns exec "$NS_G" curl -sS --max-time 10 -o "$1" \
		-w '%{size_download} %{time_total}\n' "http://$STATUS/metrics"
}

# The sweep histogram of a scrape: "count sum_s le=bound:cumulative ...".
sweep_hist() {	# FILE
	awk '
	/^gatewayd_watchdog_sweep_seconds_bucket/ {
		match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
		b = b " " le "=" $NF }
	/^gatewayd_watchdog_sweep_seconds_sum/ { s = $NF }
	/^gatewayd_watchdog_sweep_seconds_count/ { c = $NF }
	END { print c, s b }' "$1"
}

cpu_ticks() {	# PID: utime + stime in clock ticks
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# utime + stime of every thread of PID: "tid ticks" lines.
thread_ticks() {	# PID
	cat /proc/"$1"/task/*/stat 2>/dev/null |
		awk '{ t = $1; sub(/^.*\) /, ""); print t, $12 + $13 }'
}

RESULTS=$W/results.tsv
: >"$RESULTS"

result() {	# N ROUND KEY VALUE
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"
}

# gateway_died N ROUND: gatewayd ended by itself; its last error counts.
gateway_died() {
	local why
	stop gatewayd
	why=$(grep -E ' (error|fatal) ' "$GLOG" | tail -n 1 | cut -d' ' -f3-)
	result "$1" "$2" died "${why:-exited}"
	log "N=$1 round $2: gatewayd ended by itself: ${why:-exited}"
	RD=$W
}

# run_one N ROUND
run_one() {
	local n=$1 r=$2 gpid t0 i up last pid cpu0 cpu1 h0 h1 m k sz tm killer
	RD=$W/n$n/r$r
	mkdir -p "$RD"
	write_config "$n" "$RD/gatewayd.conf"
	"$GATEWAYD" -t -c "$RD/gatewayd.conf" >"$RD/check.log" 2>&1 ||
		die "gatewayd rejects the config: $(tail -3 "$RD/check.log")"
	t0=$(day_ms)
	spawn gatewayd "$NS_G" "$GATEWAYD" -c "$RD/gatewayd.conf"
	gpid=${PID[gatewayd]}
	GLOG=$RD/gatewayd.err
	# All up: bounded by 60 s.
	for (( i = 0; i < 1200; i++ )); do
		up=$(grep -c '/device up: ' "$GLOG")
		[ "$up" -ge "$n" ] && break
		kill -0 "$gpid" 2>/dev/null || break
		sleep 0.05
	done
	if [ "$up" -lt "$n" ]; then
		log "N=$n round $r: only $up of $n devices up after 60 s"
		result "$n" "$r" all_up_ms error
		stop gatewayd
		RD=$W
		return 1
	fi
	last=$(grep '/device up: ' "$GLOG" | stamps_ms | sort -n | tail -n 1 |
		awk '{ print $1 }')
	result "$n" "$r" all_up_ms "$(since "$t0" "$last")"
	# Let every link settle (first keepalive cycle, status warm).
	sleep 3
	result "$n" "$r" rss_kib "$(awk '/^VmRSS:/ { print $2 }' "/proc/$gpid/status")"
	result "$n" "$r" threads "$(awk '/^Threads:/ { print $2 }' "/proc/$gpid/status")"
	result "$n" "$r" fds "$(find "/proc/$gpid/fd" -mindepth 1 -maxdepth 1 | wc -l)"

	# Idle window: nothing but gatewayd's own timers and the kernel's
	# keepalive probes.
	thread_ticks "$gpid" >"$RD/threads0.txt"
	scrape "$RD/m0.txt" >/dev/null || { gateway_died "$n" "$r"; return 1; }
	h0=$(sweep_hist "$RD/m0.txt")
	cpu0=$(cpu_ticks "$gpid")
	sleep "$IDLE_S"
	cpu1=$(cpu_ticks "$gpid")
	thread_ticks "$gpid" >"$RD/threads1.txt"
	kill -0 "$gpid" 2>/dev/null || { gateway_died "$n" "$r"; return 1; }
	# Where the idle time goes: the busiest thread (the watchdog, as it
	# turns out) and how many threads ran at all.
	awk -v hz="$(getconf CLK_TCK)" -v s="$IDLE_S" '
	NR == FNR { t0[$1] = $2; next }
	{ d = $2 - t0[$1]; if (d > top) top = d; if (d > 0) busy++ }
	END { printf "idle_cpu_top_thread_pct\t%.2f\nthreads_that_ran\t%d\n",
	    top * 100 / hz / s, busy }' "$RD/threads0.txt" "$RD/threads1.txt" |
	while IFS=$'\t' read -r key val; do result "$n" "$r" "$key" "$val"; done
	scrape "$RD/m1.txt" >/dev/null || { gateway_died "$n" "$r"; return 1; }
	h1=$(sweep_hist "$RD/m1.txt")
	result "$n" "$r" idle_cpu_pct "$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" \
		-v s="$IDLE_S" 'BEGIN { printf "%.2f", (b - a) * 100 / hz / s }')"
	# Mean sweep and the highest bucket reached within the window.
	awk -v a="$h0" -v b="$h1" -v n="$n" '
	BEGIN {
		na = split(a, x, " "); split(b, y, " ")
		c = y[1] - x[1]; s = y[2] - x[2]
		printf "sweeps\t%d\n", c
		printf "sweep_mean_ms\t%.3f\n", c ? s * 1000 / c : 0
		printf "sweep_us_per_device\t%.3f\n", c ? s * 1e6 / c / n : 0
		prev = 0; top = "none"
		for (i = 3; i <= na; i++) {
			split(x[i], p, "="); split(y[i], q, "=")
			d = q[2] - p[2]
			if (d > prev) top = p[1]
			prev = d
		}
		printf "sweep_max_le_s\t%s\n", top
	}' | while IFS=$'\t' read -r key val; do result "$n" "$r" "$key" "$val"; done

	# /metrics: 5 fetches.
	for (( k = 0; k < 5; k++ )); do
		scrape "$RD/m.txt"
	done >"$RD/scrapes.txt"
	result "$n" "$r" metrics_bytes "$(awk '{ print $1 }' "$RD/scrapes.txt" | sort -n | sed -n 3p)"
	result "$n" "$r" metrics_ms "$(awk '{ printf "%.1f\n", $2 * 1000 }' "$RD/scrapes.txt" | sort -n | sed -n 3p)"
	result "$n" "$r" series "$(grep -c '^gatewayd_' "$RD/m.txt")"

	[ "$PULL_PCT" -gt 0 ] && pull "$n" "$r"

	# Stop.
	t0=${EPOCHREALTIME/./}
	kill -TERM "$gpid"
	# Bounded: a daemon that does not stop is what this measures.
	# (Its sleep goes with it when it is told to stop.)
	( trap 'kill "$!" 2>/dev/null; exit 0' TERM
	  sleep 10 & wait "$!"; kill -KILL "$gpid" 2>/dev/null ) &
	killer=$!
	wait "$gpid"
	m=$?
	tm=$(( ${EPOCHREALTIME/./} - t0 ))
	kill "$killer" 2>/dev/null
	wait "$killer" 2>/dev/null
	unset "PID[gatewayd]"
	result "$n" "$r" stop_ms "$(awk -v u="$tm" 'BEGIN { printf "%.0f", u / 1000 }')"
	result "$n" "$r" exit "$m"
	RD=$W
	log "N=$n round $r: $(awk -F'\t' -v n="$n" -v r="$r" '$1 == n && $2 == r { printf "%s %s, ", $3, $4 }' "$RESULTS")"
}

# Log lines on stdin matching REGEX about devices listed in FILE: how
# many devices have one.
count_devices() {	# REGEX FILE
	awk -v re="$1" -v f="$2" '
	BEGIN { while ((getline l < f) > 0) want[l] = 1 }
	$0 ~ re { split($3, a, "/"); if (a[1] in want && !(a[1] in seen)) { seen[a[1]] = 1; n++ } }
	END { print n + 0 }'
}

# pull N ROUND: the cable pull on PULL_PCT % of the devices.
pull() {
	local n=$1 r=$2 m step k mark tp tu i got sel back
	m=$(( n * PULL_PCT / 100 ))
	[ "$m" -ge 1 ] || return 0
	step=$(( n / m ))
	: >"$RD/pulled.txt"
	for (( k = 0; k < m; k++ )); do
		echo "d$(( k * step ))" >>"$RD/pulled.txt"
	done
	sel=$(awk -v s="$step" '{ sub(/^d/, ""); k = $1
		printf "%s198.19.%d.%d", (NR > 1 ? ", " : ""), 64 + int(k / 250), 1 + k % 250 }' "$RD/pulled.txt")
	# Wait for a quiet moment of the log, then mark it.
	mark=$(wc -l <"$GLOG")
	ip netns exec "$NS_D" nft -f - <<EOF || die "nft failed"
table inet scalepull {
	set pulled { type ipv4_addr; elements = { $sel }; }
	chain in { type filter hook input priority -300; ip daddr @pulled drop; }
	chain out { type filter hook output priority -300; ip saddr @pulled drop; }
}
EOF
	tp=$(day_ms)
	# Every pulled device down, or the limit and 3 s more.
	for (( i = 0; i < 400; i++ )); do
		got=$(tail -n "+$(( mark + 1 ))" "$GLOG" |
			count_devices '/device down: ' "$RD/pulled.txt")
		[ "$got" -ge "$m" ] && break
		[ "$(since "$tp" "$(day_ms)")" -gt $(( DEAD_LIMIT_MS + 3000 )) ] && break
		sleep 0.05
	done
	# A healthy device failing late would show by now: wait out the limit.
	while [ "$(since "$tp" "$(day_ms)")" -lt $(( DEAD_LIMIT_MS + 1000 )) ]; do
		sleep 0.1
	done
	tail -n "+$(( mark + 1 ))" "$GLOG" >"$RD/pull.log"
	mark=$(wc -l <"$GLOG")
	tu=$(day_ms)
	ip netns exec "$NS_D" nft delete table inet scalepull || die "nft delete failed"
	for (( i = 0; i < 400; i++ )); do
		# "up:", or after failed dials "connected after N failed
		# attempts" (the "up:" line may follow, or not).
		back=$(tail -n "+$(( mark + 1 ))" "$GLOG" |
			count_devices '/device( up|: connected)' "$RD/pulled.txt")
		[ "$back" -ge "$m" ] && break
		[ "$(since "$tu" "$(day_ms)")" -gt $(( BACK_LIMIT_MS + 5000 )) ] && break
		sleep 0.05
	done
	tail -n "+$(( mark + 1 ))" "$GLOG" >"$RD/back.log"
	# Per pulled device: its first down line (ms after the pull, reason)
	# and first up line once the cable was back.
	awk -v tp="$tp" -v tu="$tu" -v lim="$DEAD_LIMIT_MS" -v blim="$BACK_LIMIT_MS" \
	    -v m="$m" -v pf="$RD/pulled.txt" -v bf="$RD/back.log" '
	function rel(t, t0,    x) { x = t - t0; if (x < -43200000) x += 86400000; return x }
	function stamp(s,    t) { split(substr(s, 12), t, ":"); sub(/Z$/, "", t[3])
		return int((t[1] * 3600 + t[2] * 60) * 1000 + t[3] * 1000 + 0.5) }
	BEGIN { while ((getline l < pf) > 0) pulled[l] = 1 }
	FILENAME == bf && /\/device( up|: connected)/ {
		split($3, a, "/"); if (!(a[1] in pulled) || (a[1] in upt)) next
		upt[a[1]] = rel(stamp($1), tu); next }
	/\/device down: / {
		split($3, a, "/"); d = a[1]
		if (!(d in pulled)) { false_fail++; next }
		if (d in dt) next
		dt[d] = rel(stamp($1), tp); rs = $0; sub(/.* down: /, "", rs); sub(/ .*/, "", rs)
		reason[d] = rs; nr[rs]++ }
	END {
		nd = 0; ok = 0; mx = 0; mn = -1
		for (d in pulled) if (d in dt) {
			v[nd++] = dt[d]
			if (dt[d] <= lim && reason[d] == "keepalive_timeout") ok++
		}
		for (i = 1; i < nd; i++) for (j = i; j > 0 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
		nb = 0; bmx = 0
		for (d in pulled) if (d in upt) { nb++; if (upt[d] > bmx) bmx = upt[d] }
		rs = ""; for (x in nr) rs = rs (rs == "" ? "" : ",") x "=" nr[x]
		printf "pulled\t%d\n", m
		printf "pull_dead\t%d\n", nd
		printf "pull_dead_ok\t%d\n", ok
		printf "pull_reasons\t%s\n", rs == "" ? "none" : rs
		printf "pull_dead_min_ms\t%s\n", nd ? v[0] : "-"
		printf "pull_dead_med_ms\t%s\n", nd ? v[int((nd - 1) / 2)] : "-"
		printf "pull_dead_max_ms\t%s\n", nd ? v[nd - 1] : "-"
		printf "pull_false\t%d\n", false_fail + 0
		printf "pull_back\t%d\n", nb
		printf "pull_back_max_ms\t%s\n", nb ? bmx : "-"
	}' "$RD/pull.log" "$RD/back.log" |
	while IFS=$'\t' read -r key val; do result "$n" "$r" "$key" "$val"; done
}

log "namespaces $NS_G, $NS_D; devices ${COUNTS[*]}; $ROUNDS round(s)"
for (( r = 1; r <= ROUNDS; r++ )); do
	nc=${#COUNTS[@]}
	for (( j = 0; j < nc; j++ )); do
		run_one "${COUNTS[$(( (j + r - 1) % nc ))]}" "$r"
	done
done

{
	echo
	echo "gatewayd at scale: N devices, each a dialled device link (up) and a listening"
	echo "upstream link; watchdog.period_ms $PERIOD_MS, keepalive $IDLE_KA_S/$INTVL_S/$COUNT; median of $ROUNDS round(s)"
	echo
	awk -F'\t' -v counts="${COUNTS[*]}" -v rounds="$ROUNDS" -v pull="$PULL_PCT" \
	    -v lim="$DEAD_LIMIT_MS" -v blim="$BACK_LIMIT_MS" '
	function med(n, key,    c, r, a, b, t, v) {
		c = 0
		for (r = 1; r <= rounds; r++)
			if ((n, r, key) in val && val[n, r, key] != "error" &&
			    val[n, r, key] != "-") v[c++] = val[n, r, key]
		if (c == 0) return "-"
		if (v[0] !~ /^-?[0-9.]+$/) return v[0]
		for (a = 1; a < c; a++) for (b = a; b > 0 && v[b-1] > v[b]; b--) {
			t = v[b]; v[b] = v[b-1]; v[b-1] = t }
		return c % 2 ? v[int(c/2)] : (v[c/2-1] + v[c/2]) / 2
	}
	function worst(n, key,    r, w, x) {
		w = "-"
		for (r = 1; r <= rounds; r++) if ((n, r, key) in val) {
			x = val[n, r, key]
			if (w == "-" || (x ~ /^[0-9.]+$/ && x + 0 > w + 0)) w = x
		}
		return w
	}
	function row(label, fmt, key, target,    i, s, x) {
		s = sprintf("%-34s", label)
		for (i = 1; i <= nc; i++) {
			x = med(cn[i], key)
			s = s sprintf("%12s", x == "-" ? "-" : sprintf(fmt, x))
		}
		print s (target == "" ? "" : "   " target)
	}
	{ val[$1, $2, $3] = $4 }
	END {
		nc = split(counts, cn, " ")
		for (i = 1; i <= nc; i++) {
			for (r = 1; r <= rounds; r++) if ((cn[i], r, "rss_kib") in val) {
				val[cn[i], r, "rss_per_dev"] = val[cn[i], r, "rss_kib"] / cn[i]
				val[cn[i], r, "all_up_s"] = val[cn[i], r, "all_up_ms"] / 1000
				val[cn[i], r, "metrics_mb"] = val[cn[i], r, "metrics_bytes"] / 1e6
				val[cn[i], r, "rss_mib"] = val[cn[i], r, "rss_kib"] / 1024
			}
		}
		s = sprintf("%-34s", "devices")
		for (i = 1; i <= nc; i++) s = s sprintf("%12d", cn[i])
		print s "   target at 2,000"
		row("all up (s)", "%.2f", "all_up_s", "<= 10 s")
		row("RSS (MiB)", "%.1f", "rss_mib", "")
		row("RSS per device (KiB)", "%.1f", "rss_per_dev", "<= 64 KiB")
		row("threads", "%d", "threads", "")
		row("open fds", "%d", "fds", "")
		row("idle CPU (% of one core)", "%.2f", "idle_cpu_pct", "<= 10 %")
		row("  of it the busiest thread", "%.2f", "idle_cpu_top_thread_pct", "")
		row("watchdog sweeps in the window", "%d", "sweeps", "")
		row("sweep mean (ms)", "%.3f", "sweep_mean_ms", "<= 5 ms")
		row("sweep mean per device (us)", "%.3f", "sweep_us_per_device", "flat")
		row("sweep max (histogram bound, s)", "%s", "sweep_max_le_s", "")
		row("/metrics size (MB)", "%.3f", "metrics_mb", "<= 2 MB")
		row("/metrics gatewayd_ series", "%d", "series", "")
		row("/metrics fetch (ms)", "%.1f", "metrics_ms", "")
		row("SIGTERM to exit (ms)", "%d", "stop_ms", "<= 1 s")
		row("exit status", "%s", "exit", "0")
		if (pull > 0) {
			print ""
			print "cable pull on " pull " % of the devices at once (worst round where it matters):"
			row("pulled", "%d", "pulled", "")
			row("declared dead", "%d", "pull_dead", "all")
			row("  keepalive_timeout within limit", "%d", "pull_dead_ok", "all, limit " lim / 1000 " s")
			for (i = 1; i <= nc; i++)
				printf "  reasons at %-22s %s\n", cn[i] ":", med(cn[i], "pull_reasons")
			row("  after the pull, min (ms)", "%d", "pull_dead_min_ms", "")
			row("  after the pull, median (ms)", "%d", "pull_dead_med_ms", "")
			s = sprintf("%-34s", "  after the pull, max (ms)")
			for (i = 1; i <= nc; i++) s = s sprintf("%12s", worst(cn[i], "pull_dead_max_ms"))
			print s "   <= " lim
			s = sprintf("%-34s", "others that failed")
			for (i = 1; i <= nc; i++) s = s sprintf("%12s", worst(cn[i], "pull_false"))
			print s "   0"
			row("up again once the cable is back", "%d", "pull_back", "all")
			s = sprintf("%-34s", "  last one up (ms)")
			for (i = 1; i <= nc; i++) s = s sprintf("%12s", worst(cn[i], "pull_back_max_ms"))
			print s "   <= " blim
		}
	}' "$RESULTS"
	awk -F'\t' '$3 == "died" { printf "N=%s round %s: gatewayd ended by itself: %s\n", $1, $2, $4 }' \
		"$RESULTS"
	echo
	machine_line
	echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the end"
	echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "gatewayd $("$GATEWAYD" -V 2>&1 | awk '{ print $NF; exit }')"
} | tee "$W/report.txt"
[ -n "$OUT" ] && echo && echo "logs and raw results: $W"
exit 0
