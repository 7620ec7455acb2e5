# lib.sh -- shared machinery of the fault tests: network namespaces, the
# processes in them, cable pulls, and checks on the gatewayd log.
#
# Sourced by run.sh. Topology (one per test, names unique per run):
#
#   dev ns  198.18.1.2 ==veth== 198.18.1.1  gw ns  198.18.2.1 ==veth== 198.18.2.2  host ns
#   (devsim: the device)                    (gatewayd)                 (devsim or a client: the host)
#
# Nothing is routed between dev and host: only gatewayd relays. A "cable
# pull" is an nftables table that drops everything, inside the dev (or host)
# namespace; nothing touches the root namespace. Every process is started
# through gf_spawn/gf_client, recorded by PID, and ended by PID on exit,
# also on failure or interruption; then the namespaces are deleted.

export LC_ALL=C

# ---- policy every test runs with (see gf_config) ----
GF_IDLE_S=2
GF_INTERVAL_S=1
GF_COUNT=3
GF_USER_TIMEOUT_MS=5000
GF_STALL_TIMEOUT_MS=5000
GF_PERIOD_MS=100
GF_IDLE_BUDGET_MS=$(( (GF_IDLE_S + GF_INTERVAL_S * GF_COUNT) * 1000 ))
# A FIN or an RST is seen within one watchdog period; 1 s is that plus slack.
GF_CLOSE_LIMIT_MS=1000
# Longest silent blip a quiet healthy link must survive: budget - idle - interval.
GF_BLIP_TOLERANCE_MS=$(( GF_IDLE_BUDGET_MS - (GF_IDLE_S + GF_INTERVAL_S) * 1000 ))

# ---- addresses: 198.18.0.0/15 only ----
GF_DEV_IP=198.18.1.2
GF_GWD_IP=198.18.1.1
GF_GWH_IP=198.18.2.1
GF_HOST_IP=198.18.2.2
GF_BIDI_DEV_PORT=5000		# bidi/device: gatewayd dials the device
GF_BIDI_UP_PORT=15000		# bidi/upstream: the host dials gatewayd
GF_RX_PORT=4002			# split/rx: the device dials gatewayd
GF_TX_PORT=4001			# split/tx: gatewayd dials the device
GF_SPLIT_UP_PORT=15001		# split/upstream

GF_FAILS=0
GF_W=""
GF_P=""
GF_NS=()
declare -A GF_PID=()
declare -A GF_FD=()
declare -A GF_START=()
GF_TIMER_FD=""
GF_ETC_NETNS=""
GF_ETC_NETNS_TOP=""	# /etc/netns, when the test made it

# ---- time ----

# Wall-clock milliseconds (the clock of gatewayd's log stamps).
gf_now() {
	local t=${EPOCHREALTIME/./}
	echo $(( t / 1000 ))
}

gf_sleep_ms() {
	sleep "$(printf '%d.%03d' $(( $1 / 1000 )) $(( $1 % 1000 )))"
}

# "5300" -> "5.3"
gf_sec() {
	local ms=$1 sign=""
	if [ "$ms" -lt 0 ]; then sign=-; ms=$(( -ms )); fi
	printf '%s%d.%d' "$sign" $(( ms / 1000 )) $(( (ms % 1000) / 100 ))
}

# A budget or limit: "5000" -> "5", "100" -> "0.1"
gf_lim() {
	local s
	s=$(gf_sec "$1")
	echo "${s%.0}"
}

# Milliseconds since the epoch of a gatewayd log line's stamp.
gf_line_ms() {
	date -u -d "${1%% *}" +%s%3N
}

gf_fail() {
	GF_FAILS=$(( GF_FAILS + 1 ))
	echo "FAIL: $*"
}

# ---- set-up and tear-down ----

gf_skip_or_fail() {
	if [ -n "${CI:-}" ]; then
		echo "FAIL: $* (CI is set: fault tests must run here; they need root, ip and nft)"
		exit 1
	fi
	echo "SKIP: $* (fault tests need root, iproute2 and nftables)"
	exit 77
}

# Namespaces left by a run that was killed too hard for its trap (SIGKILL):
# named gf<pid>[dgh]; removed only when that pid no longer runs.
gf_sweep_stale() {
	local ns pid p
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns =~ ^gf([0-9]+)[dgh]$ ]] || continue
		pid=${BASH_REMATCH[1]}
		[ -d "/proc/$pid" ] && continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null && echo "removed stale namespace $ns"
	done
}

gf_cleanup() {
	local rc=$? name pid f ns
	trap - EXIT INT TERM
	# EOF ends the timer.
	[ -n "$GF_TIMER_FD" ] && exec {GF_TIMER_FD}>&-
	for f in "$GF_W"/*.rpid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	for name in "${!GF_PID[@]}"; do
		gf_stop "$name"
	done
	for ns in "${GF_NS[@]}"; do
		# Anything still inside was started by this test.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	# A namespace's own /etc files (resolv.conf), if a test made them.
	[ -n "$GF_ETC_NETNS" ] && rm -rf "$GF_ETC_NETNS"
	[ -n "$GF_ETC_NETNS_TOP" ] && rmdir "$GF_ETC_NETNS_TOP" 2>/dev/null
	if [ -n "$GF_W" ] && [ -d "$GF_W" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${GF_KEEP:-}" ]; then
			echo "work directory kept: $GF_W"
		else
			rm -rf "$GF_W"
		fi
	fi
	exit "$rc"
}

# gf_init LIMIT_S: check what is needed, create the namespaces, arm the
# traps and a self-timeout of LIMIT_S (below ctest's TIMEOUT, whose SIGKILL
# would skip the cleanup).
gf_init() {
	local limit_s=$1
	[ "$(id -u)" -eq 0 ] || gf_skip_or_fail "not root"
	command -v ip >/dev/null || gf_skip_or_fail "ip (iproute2) not found"
	command -v nft >/dev/null || gf_skip_or_fail "nft (nftables) not found"
	command -v ss >/dev/null || gf_skip_or_fail "ss (iproute2) not found"
	[ -x "$GF_GATEWAYD" ] || { echo "FAIL: no gatewayd at $GF_GATEWAYD"; exit 1; }
	[ -x "$GF_DEVSIM" ] || { echo "FAIL: no devsim at $GF_DEVSIM"; exit 1; }

	gf_sweep_stale
	GF_P=gf$$
	GF_DEV=${GF_P}d
	GF_GW=${GF_P}g
	GF_HOST=${GF_P}h
	GF_W=$(mktemp -d "${TMPDIR:-/tmp}/gwfaults.XXXXXX") || exit 1
	trap gf_cleanup EXIT
	trap 'echo "interrupted"; exit 130' INT
	trap 'echo "terminated (self-timeout or signal)"; exit 143' TERM

	if ! ip netns add "$GF_DEV" 2>"$GF_W/netns.err"; then
		gf_skip_or_fail "cannot create a network namespace: $(cat "$GF_W/netns.err")"
	fi
	GF_NS+=("$GF_DEV")
	ip netns add "$GF_GW" || exit 1
	GF_NS+=("$GF_GW")
	ip netns add "$GF_HOST" || exit 1
	GF_NS+=("$GF_HOST")
	# Created inside the namespaces: no interface ever exists in the root one.
	ip -n "$GF_GW" link add "${GF_P}gd" type veth peer name "${GF_P}dg" \
	    netns "$GF_DEV" || exit 1
	ip -n "$GF_GW" link add "${GF_P}gh" type veth peer name "${GF_P}hg" \
	    netns "$GF_HOST" || exit 1
	ip -n "$GF_DEV" addr add "$GF_DEV_IP/24" dev "${GF_P}dg" || exit 1
	ip -n "$GF_GW" addr add "$GF_GWD_IP/24" dev "${GF_P}gd" || exit 1
	ip -n "$GF_GW" addr add "$GF_GWH_IP/24" dev "${GF_P}gh" || exit 1
	ip -n "$GF_HOST" addr add "$GF_HOST_IP/24" dev "${GF_P}hg" || exit 1
	local ns
	for ns in "$GF_DEV" "$GF_GW" "$GF_HOST"; do
		ip -n "$ns" link set lo up || exit 1
	done
	ip -n "$GF_DEV" link set "${GF_P}dg" up || exit 1
	ip -n "$GF_GW" link set "${GF_P}gd" up || exit 1
	ip -n "$GF_GW" link set "${GF_P}gh" up || exit 1
	ip -n "$GF_HOST" link set "${GF_P}hg" up || exit 1

	# The timer waits on a pipe that only this shell holds open (children
	# get it closed): it fires after limit_s, or ends at EOF when this
	# shell is gone, however it ended, so it never signals a stranger.
	# shellcheck disable=SC2016
	exec {GF_TIMER_FD}> >(
		exec >/dev/null 2>&1
		read -r -t "$limit_s"
		[ $? -gt 128 ] && kill -TERM $$
	)
}

# ---- processes ----

# gf_spawn NAME NS CMD...: run CMD in NS in the background, output to
# $GF_W/NAME.log. `ip netns exec` execs CMD, so the PID is CMD's.
gf_spawn() {
	local name=$1 ns=$2
	shift 2
	: >"$GF_W/$name.log"
	ip netns exec "$ns" "$@" >>"$GF_W/$name.log" 2>&1 {GF_TIMER_FD}>&- &
	GF_PID[$name]=$!
	GF_START[$name]=$(gf_now)
}

gf_alive() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# gf_stop NAME [SIGNAL]: end a process by its PID, bounded: SIGNAL (TERM),
# then KILL after 2 s.
gf_stop() {
	local name=$1 sig=${2:-TERM} pid i
	pid=${GF_PID[$name]:-}
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	for (( i = 0; i < 40; i++ )); do
		gf_alive "$pid" || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	if [ -f "$GF_W/$name.rpid" ]; then
		kill -KILL "$(cat "$GF_W/$name.rpid")" 2>/dev/null
		rm -f "$GF_W/$name.rpid"
	fi
	if [ -n "${GF_FD[$name]:-}" ]; then
		local fd=${GF_FD[$name]}
		exec {fd}>&-
		unset "GF_FD[$name]"
	fi
	unset "GF_PID[$name]"
}

# gf_devsim NAME NS ARGS...: a devsim; with --listen, waits until it listens.
gf_devsim() {
	local name=$1 ns=$2 i
	shift 2
	rm -f "$GF_W/$name.ready"
	gf_spawn "$name" "$ns" "$GF_DEVSIM" --name "$name" \
	    --ready-file "$GF_W/$name.ready" "$@"
	case " $* " in
	*" --listen "*)
		for (( i = 0; i < 100; i++ )); do
			[ -f "$GF_W/$name.ready" ] && return 0
			gf_alive "${GF_PID[$name]}" || break
			sleep 0.02
		done
		gf_fail "devsim $name did not start listening"
		cat "$GF_W/$name.log"
		return 1
		;;
	esac
	return 0
}

# Wall-clock ms of a devsim event: its start stamp plus the event's offset
# (devsim stamps lines with ms since its own start, a little after ours, so
# the result is never later than the event).
gf_devsim_event_ms() {	# NAME REGEX
	local off
	off=$(grep -E -m1 -- "$2" "$GF_W/$1.log" | awk '{print $1}')
	[ -n "$off" ] || return 1
	echo $(( GF_START[$1] + off ))
}

# Wait until devsim NAME logged a line matching REGEX; bounded by TIMEOUT_MS.
gf_wait_devsim() {	# NAME REGEX TIMEOUT_MS
	local i n=$(( $3 / 20 ))
	for (( i = 0; i < n; i++ )); do
		grep -qE -- "$2" "$GF_W/$1.log" && return 0
		sleep 0.02
	done
	return 1
}

# gf_client NAME NS IP PORT [quiet]: a line client on one TCP connection
# that never reconnects: gf_send writes a line to it, gf_expect waits for a
# line from it. Its socket is plain (no keepalive), like a simple device or
# host. "quiet": a failure to connect is no test failure, only a status.
gf_client() {
	local name=$1 ns=$2 ip=$3 port=$4 quiet=${5:-} i fd
	rm -f "$GF_W/$name.in" "$GF_W/$name.connected" "$GF_W/$name.rpid"
	mkfifo "$GF_W/$name.in"
	: >"$GF_W/$name.out"
	# shellcheck disable=SC2016
	gf_spawn "$name" "$ns" bash -c '
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		cat <&3 >>"$3.out" &
		echo $! >"$3.rpid"
		: >"$3.connected"
		exec cat <"$3.in" >&3' client "$ip" "$port" "$GF_W/$name"
	# Read-write: never blocks, whether or not the client opened it yet.
	exec {fd}<>"$GF_W/$name.in"
	GF_FD[$name]=$fd
	for (( i = 0; i < 150; i++ )); do
		[ -f "$GF_W/$name.connected" ] && [ -f "$GF_W/$name.rpid" ] &&
		    return 0
		gf_alive "${GF_PID[$name]}" || break
		sleep 0.02
	done
	[ -n "$quiet" ] && return 1
	gf_fail "client $name could not connect to $ip:$port"
	cat "$GF_W/$name.log"
	return 1
}

gf_send() {	# NAME TEXT
	printf '%s\n' "$2" >&"${GF_FD[$1]}"
}

gf_expect() {	# NAME TEXT TIMEOUT_MS
	local i n=$(( $3 / 20 ))
	for (( i = 0; i < n; i++ )); do
		grep -qF -- "$2" "$GF_W/$1.out" && return 0
		sleep 0.02
	done
	return 1
}

# ---- gatewayd ----

# gf_preamble CONNECT_MS BACKOFF_MAX_MS: print a config's top and defaults
# with the test policy, up to "devices = (".
gf_preamble() {
	cat <<EOF
version = 1;
log = { level = "info"; };
status = { listen = ""; };
control = { socket = ""; };
watchdog = { period_ms = $GF_PERIOD_MS; };
defaults = {
  keepalive = { idle_s = $GF_IDLE_S; interval_s = $GF_INTERVAL_S; count = $GF_COUNT; };
  user_timeout_ms = $GF_USER_TIMEOUT_MS;
  stall_timeout_ms = $GF_STALL_TIMEOUT_MS;
  io_timeout_ms = 200;
  connect_timeout_ms = $1;
  backoff = { min_ms = 100; max_ms = $2; };
};
devices = (
EOF
}

# gf_config DEVICES...: write the config for the named devices (bidi,
# split) with the test policy.
gf_config() {
	local d
	{
		gf_preamble 1000 500
		local sep=""
		for d in "$@"; do
			printf '%s' "$sep"
			case $d in
			bidi) cat <<EOF
  { name = "bidi";
    device = { connect = "$GF_DEV_IP:$GF_BIDI_DEV_PORT"; };
    upstream = { listen = "$GF_GWH_IP:$GF_BIDI_UP_PORT"; };
  }
EOF
			;;
			split) cat <<EOF
  { name = "split";
    device = { rx = { listen = "$GF_GWD_IP:$GF_RX_PORT"; };
               tx = { connect = "$GF_DEV_IP:$GF_TX_PORT"; }; };
    upstream = { listen = "$GF_GWH_IP:$GF_SPLIT_UP_PORT"; };
  }
EOF
			;;
			esac
			sep=","
		done
		echo ");"
	} >"$GF_W/gatewayd.conf"
}

# gf_gateway DEVICES...: configure and start gatewayd in the gw namespace.
gf_gateway() {
	gf_config "$@"
	if ! "$GF_GATEWAYD" -t -c "$GF_W/gatewayd.conf" >"$GF_W/check.log" 2>&1; then
		gf_fail "gatewayd rejects the test config"
		cat "$GF_W/check.log" "$GF_W/gatewayd.conf"
		exit 1
	fi
	gf_spawn gatewayd "$GF_GW" "$GF_GATEWAYD" -c "$GF_W/gatewayd.conf"
	GF_GWLOG=$GF_W/gatewayd.log
}

# Number of lines in the gatewayd log: a mark to search after.
gf_mark() {
	wc -l <"$GF_GWLOG"
}

gf_lines_after() {	# MARK
	tail -n "+$(( $1 + 1 ))" "$GF_GWLOG" 2>/dev/null
}

# gf_wait_up DEV LINK MARK TIMEOUT_MS: wait for "DEV/LINK up:" after MARK.
gf_wait_up() {
	local i n=$(( $4 / 20 ))
	for (( i = 0; i < n; i++ )); do
		gf_lines_after "$3" | grep -qF " $1/$2 up: " && return 0
		gf_alive "${GF_PID[gatewayd]}" || break
		sleep 0.02
	done
	return 1
}

# ---- faults ----

# gf_cut NS: pull the cable of NS: drop every packet in and out. Sets
# GF_CUT_MS to the wall-clock ms at which the drop is in force. Not in a
# $(...): a failure must count in this shell.
gf_cut() {
	ip netns exec "$1" nft -f - <<'EOF' || { gf_fail "nft failed in $1"; return 1; }
table inet gfcut {
	chain in { type filter hook input priority 0; policy drop; }
	chain out { type filter hook output priority 0; policy drop; }
}
EOF
	GF_CUT_MS=$(gf_now)
}

gf_uncut() {	# NS
	ip netns exec "$1" nft delete table inet gfcut ||
	    gf_fail "cannot remove the drop in $1"
}

# Power loss: every TCP socket of NS vanishes without a packet (the drop is
# in force), as a device's stack does when it loses power.
gf_wipe_sockets() {	# NS
	ip netns exec "$1" ss -K -t state all >/dev/null 2>&1
}

# ---- observation ----

# ss with tcp_info and timers for the gw's established sockets matching
# FILTER, an ss filter such as "( dport = :5000 )" or "( sport = :15000 )".
gf_ss_gw() {	# FILTER
	ip netns exec "$GF_GW" ss -tnio state established "$1" 2>/dev/null
}

# The value of tcp_info FIELD (e.g. bytes_acked) in `ss -ti` output on stdin,
# summed over the sockets listed.
gf_ss_sum() {	# FIELD
	grep -oE "(^|[[:space:]])$1:[0-9]+" | awk -F: '{s += $2} END {print s + 0}'
}

# Send-Q of the first socket in `ss` output on stdin (state filtered, so
# columns are Recv-Q Send-Q ...).
gf_ss_sendq() {
	awk 'NR == 2 {print $2; exit}'
}

# Bytes the sockets of NS with local port PORT have received.
gf_rx_bytes() {	# NS PORT
	ip netns exec "$1" ss -tni state established "( sport = :$2 )" 2>/dev/null |
	    gf_ss_sum bytes_received
}

# Wait until the gw's sockets matching FILTER count at least MIN in tcp_info
# FIELD (bytes_acked: data flows out; bytes_received: data flows in).
gf_wait_flow() {	# FILTER FIELD MIN TIMEOUT_MS
	local i n=$(( $4 / 50 )) v
	for (( i = 0; i < n; i++ )); do
		v=$(gf_ss_gw "$1" | gf_ss_sum "$2")
		[ "$v" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

# Wait until the gw's socket matching FILTER has a full send queue that no
# longer moves (the peer's window is closed): Send-Q > 0 and bytes_acked
# unchanged over 300 ms.
gf_wait_window_full() {	# FILTER TIMEOUT_MS
	local i n=$(( $2 / 100 )) q a prev_a=-1 same=0
	for (( i = 0; i < n; i++ )); do
		local out
		out=$(gf_ss_gw "$1")
		q=$(gf_ss_sendq <<<"$out")
		a=$(gf_ss_sum bytes_acked <<<"$out")
		if [ -n "$q" ] && [ "$q" -gt 0 ] && [ "$a" = "$prev_a" ]; then
			same=$(( same + 1 ))
			[ $same -ge 3 ] && return 0
		else
			same=0
		fi
		prev_a=$a
		sleep 0.1
	done
	return 1
}

# tcp_info field FIELD (lastack, lastrcv, ...) of the first gw socket
# matching FILTER; empty when there is none.
gf_ss_field() {	# FILTER FIELD
	gf_ss_gw "$1" | grep -oE "(^|[[:space:]])$2:[0-9]+" | head -n 1 |
	    cut -d: -f2
}

# Keepalive probes out on the first gw socket matching FILTER: the last
# field of `ss -o` "timer:(keepalive,1.2sec,1)"; empty when no timer.
gf_keepalive_probes() {	# FILTER
	gf_ss_gw "$1" | grep -oE 'timer:\(keepalive,[^)]*\)' | head -n 1 |
	    awk -F'[,)]' '{print $3}'
}

# Wait (at most 3 idle periods) for a keepalive probe exchange on the idle
# gw socket matching FILTER: an ACK from the peer less than 80 ms ago while
# no data came for over a second. Prints the ms since that ACK.
gf_wait_probe_answer() {	# FILTER
	local i n=$(( GF_IDLE_S * 3000 / 20 )) ack rcv
	for (( i = 0; i < n; i++ )); do
		ack=$(gf_ss_field "$1" lastack)
		rcv=$(gf_ss_field "$1" lastrcv)
		if [ -n "$ack" ] && [ -n "$rcv" ] && [ "$ack" -lt 80 ] &&
		    [ "$rcv" -gt 1000 ]; then
			echo "$ack"
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# Wait (at most 3 idle periods) until the gw socket matching FILTER has no
# keepalive probe unanswered: a link a silent blip left short of probes has
# had one answered since.
gf_wait_probes_answered() {	# FILTER
	local i n=$(( GF_IDLE_S * 3000 / 20 ))
	for (( i = 0; i < n; i++ )); do
		[ "$(gf_keepalive_probes "$1")" = 0 ] && return 0
		sleep 0.02
	done
	return 1
}

# Evidence for a failure: the gw's sockets and the log.
gf_evidence() {
	echo "--- ss -tnio in the gw namespace"
	ip netns exec "$GF_GW" ss -tnio 2>/dev/null
	echo "--- gatewayd log"
	cat "$GF_GWLOG"
}

# ---- verdict checks ----

# gf_expect_down LABEL DEV LINK REASONS FAULT_MS BUDGET_MS LIMIT_MS MARK
# Wait for the first "DEV/LINK down: REASON (" line after MARK, then check
# that REASON matches the regex REASONS and that it came within LIMIT_MS of
# FAULT_MS. Prints the result line.
gf_expect_down() {
	local label=$1 dev=$2 link=$3 reasons=$4 fault=$5 budget=$6 limit=$7
	local mark=$8 line="" i n reason ms took
	n=$(( (limit + 3000) / 50 ))
	for (( i = 0; i < n; i++ )); do
		line=$(gf_lines_after "$mark" | grep -F -m1 " $dev/$link down: ")
		[ -n "$line" ] && break
		if ! gf_alive "${GF_PID[gatewayd]}"; then
			gf_fail "$label: gatewayd is not running"
			gf_evidence
			return 1
		fi
		# Past the limit and then some: stop waiting.
		[ $(( $(gf_now) - fault )) -gt $(( limit + 3000 )) ] && break
		sleep 0.05
	done
	if [ -z "$line" ]; then
		gf_fail "$label: no '$dev/$link down:' line within $(gf_sec $(( limit + 3000 ))) s of the fault (expected $reasons, budget $(gf_lim "$budget") s, limit $(gf_lim "$limit") s)"
		gf_evidence
		return 1
	fi
	reason=${line#* down: }
	reason=${reason%% *}
	ms=$(gf_line_ms "$line")
	took=$(( ms - fault ))
	if ! [[ $reason =~ ^($reasons)$ ]]; then
		gf_fail "$label: $reason in $(gf_sec $took) s, expected $reasons (budget $(gf_lim "$budget") s, limit $(gf_lim "$limit") s)"
		echo "    $line"
		gf_evidence
		return 1
	fi
	if [ "$took" -gt "$limit" ]; then
		gf_fail "$label: $reason in $(gf_sec $took) s, over the limit (budget $(gf_lim "$budget") s, limit $(gf_lim "$limit") s)"
		echo "    $line"
		gf_evidence
		return 1
	fi
	echo "$label: $reason in $(gf_sec $took) s (budget $(gf_lim "$budget") s, limit $(gf_lim "$limit") s)"
	echo "    $line"
	return 0
}

# No "DEV/LINK down:" line after MARK, for every LINK given.
gf_expect_no_down() {	# LABEL MARK DEV/LINK...
	local label=$1 mark=$2 l bad=0
	shift 2
	for l in "$@"; do
		if gf_lines_after "$mark" | grep -qF " $l down: "; then
			gf_fail "$label: $l went down on a healthy link"
			gf_lines_after "$mark" | grep -F " $l "
			bad=1
		fi
	done
	[ $bad -eq 0 ] || gf_evidence
	return $bad
}
