# common.sh -- what the benchmarks share: processes started in a network
# namespace and stopped by PID (their process group), and the clean-up
# that removes every process and namespace of a run on any exit; and for
# throughput.sh and latency.sh, the namespaces their ends and relay run in
# (bench_namespaces; detect.sh and scale.sh build their own).
# The sourcing script sets NSS (its namespaces), W (its work directory),
# RD (where logs go), OUT (keep W when set) and declares PID as an
# associative array before sourcing this file; one that calls
# bench_namespaces also sets NS, the name its namespaces start with.

# bench_net_ok NET MTU MTU_SET: whether -N NET and -M MTU (MTU_SET 1 when
# given) make sense together: lo or veth, an MTU for veth only, within
# what an IPv4 veth takes.
bench_net_ok() {
	case $1 in lo|veth) ;; *) return 1 ;; esac
	[ "$1" = veth ] || [ "$3" -eq 0 ] || return 1
	[[ $2 =~ ^[1-9][0-9]*$ ]] && [ "$2" -ge 576 ] && [ "$2" -le 65535 ]
}

# bench_namespaces NET MTU: where the sender (host), the relay and the
# receiver (device) run, and the addresses the relay and the receiver
# listen on: NS_SRC, NS_RELAY, NS_SINK, RELAY_ADDR, SINK_ADDR.
#   lo    all three on the loopback interface of namespace NS;
#   veth  each in a namespace of its own, joined by two veth pairs of MTU
#         bytes: source 198.18.1.1 | 198.18.1.2 relay 198.18.2.2 |
#         198.18.2.1 receiver. The relay's namespace forwards between the
#         two, for a direct connection over the same links.
# Every namespace made joins NSS at once, for cleanup() to delete.
# shellcheck disable=SC2034 # the addresses are the sourcing script's
bench_namespaces() {
	local net=$1 mtu=$2 ns
	if [ "$net" = lo ]; then
		NS_SRC=$NS NS_RELAY=$NS NS_SINK=$NS
		RELAY_ADDR=127.0.0.1 SINK_ADDR=127.0.0.1
	else
		NS_SRC=${NS}s NS_RELAY=${NS}r NS_SINK=${NS}d
		RELAY_ADDR=198.18.1.2 SINK_ADDR=198.18.2.1
	fi
	for ns in $(printf '%s\n' "$NS_SRC" "$NS_RELAY" "$NS_SINK" | sort -u); do
		ip netns add "$ns" || return 1
		NSS+=("$ns")
		ip -n "$ns" link set lo up || return 1
	done
	[ "$net" = lo ] && return 0
	ip -n "$NS_SRC" link add h0 mtu "$mtu" type veth \
	    peer name r0 mtu "$mtu" netns "$NS_RELAY" &&
	ip -n "$NS_SINK" link add d0 mtu "$mtu" type veth \
	    peer name r1 mtu "$mtu" netns "$NS_RELAY" &&
	ip -n "$NS_SRC" addr add 198.18.1.1/24 dev h0 &&
	ip -n "$NS_RELAY" addr add 198.18.1.2/24 dev r0 &&
	ip -n "$NS_RELAY" addr add 198.18.2.2/24 dev r1 &&
	ip -n "$NS_SINK" addr add 198.18.2.1/24 dev d0 &&
	ip -n "$NS_SRC" link set h0 up &&
	ip -n "$NS_RELAY" link set r0 up &&
	ip -n "$NS_RELAY" link set r1 up &&
	ip -n "$NS_SINK" link set d0 up &&
	ip -n "$NS_SRC" route add 198.18.2.0/24 via 198.18.1.2 &&
	ip -n "$NS_SINK" route add 198.18.1.0/24 via 198.18.2.2 &&
	ip netns exec "$NS_RELAY" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
}

# spawn NAME NS CMD...: start CMD in namespace NS as the leader of its own
# process group (so that socat's and nginx's children go with it), stdout to
# $RD/NAME.out, stderr to $RD/NAME.err.
spawn() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" setsid "$@" >"$RD/$name.out" 2>"$RD/$name.err" &
	PID[$name]=$!
}

# stop NAME: SIGTERM to its group, SIGKILL after 2 s; reaped.
stop() {
	local name=$1 pid i
	pid=${PID[$name]:-}
	[ -n "$pid" ] || return 0
	unset "PID[$name]"
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
	for (( i = 0; i < 20; i++ )); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$? name ns pid
	trap - EXIT INT TERM
	for name in "${!PID[@]}"; do
		stop "$name"
	done
	for ns in "${NSS[@]}"; do
		# Anything still inside was started by this run.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$W" ] && [ -d "$W" ] && [ -z "$OUT" ]; then
		rm -rf "$W"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

# wait_for CMD... : up to 10 s until CMD succeeds.
wait_for() {
	local i
	for (( i = 0; i < 100; i++ )); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# listening NS PORT: something listens on TCP PORT in namespace NS.
listening() {
	[ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]
}

# group_cpu_ms PGID: the CPU time (user and system) spent so far by the
# processes of group PGID and the children they reaped, in ms.
group_cpu_ms() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v g="$1" -v hz="$(getconf CLK_TCK)" '
	{
		sub(/^.*\) /, "")	# past "pid (comm) ", comm may hold spaces
		if ($3 == g) t += $12 + $13 + $14 + $15
	}
	END { printf "%d\n", t * 1000 / hz }'
}

# machine_line: the machine a report was measured on, and the CPUs its
# processes could use when that was fewer than all (taskset inherits to
# every process of a run).
machine_line() {
	local allowed
	echo "machine: $(nproc --all) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
	if [ "$(nproc)" -lt "$(nproc --all)" ]; then
		allowed=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)
		echo "cpus:    every process of the run on CPU $allowed only"
	fi
}
