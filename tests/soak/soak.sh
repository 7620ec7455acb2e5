#!/usr/bin/env bash
# soak.sh -- thousands of link flaps against one gatewayd, which must not
# leak a file descriptor, a thread or memory.
#
#   soak.sh GATEWAYD DEVSIM
#
# Two devices: "hold" (on_device_down = "hold") and "close" (the default).
# Each has a devsim that accepts every connection, sends a line at once
# and one a millisecond, and resets it after 3 ms; and a devsim host
# client that connects to its upstream port, sends 4 KiB and resets after
# 5 ms, again and again. /metrics (and now and then /status) is scraped
# all the while. gatewayd's open fds (/proc/PID/fd), threads
# (/proc/PID/status Threads) and RSS (VmRSS) are read in a quiet state
# (devices frozen with SIGSTOP, so their links stay up; host clients gone)
# after a warm-up and again after at least SOAK_FLAPS (2000) device-link
# flaps and SOAK_FLAPS / 2 upstream ones: fds and threads must be exactly
# equal, RSS within 1 MiB. Every figure is printed.
#
# Loopback only, in a network namespace of the test's own (unshare; as
# root or through a user namespace): gatewayd cannot listen on port 0, so
# its upstream and status ports are fixed numbers there, where nothing
# else can hold them; the devices listen on port 0 and report their port
# in devsim's ready file. Every loop is bounded in count and time, the
# whole test ends by itself within SOAK_LIMIT_S (150) s, every process is
# ended by PID, on failure too.
#
# Exit 0 passed, 1 failed, 77 skipped (no network namespace to be had and
# CI not set).
set -euo pipefail
export LC_ALL=C

if [ $# -ne 2 ]; then
	echo "usage: soak.sh GATEWAYD DEVSIM" >&2
	exit 1
fi
gatewayd=$1
devsim=$2

if [ -z "${GW_SOAK_NETNS:-}" ]; then
	ns=(unshare --net)
	[ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --net)
	if ! "${ns[@]}" true 2>/dev/null; then
		if [ -n "${CI:-}" ]; then
			echo "FAIL: cannot make a network namespace (${ns[*]})"
			exit 1
		fi
		echo "SKIP: cannot make a network namespace (${ns[*]}):" \
		    "run as root, or allow unprivileged user namespaces"
		exit 77
	fi
	GW_SOAK_NETNS=1 exec "${ns[@]}" bash "$0" "$@"
fi

# ---- inside the namespace ----
flaps_min=${SOAK_FLAPS:-2000}
limit_s=${SOAK_LIMIT_S:-150}
rss_slack_kb=1024
status_port=9780
upstream_port=(15001 15002)
names=(hold close)
deadline=$((SECONDS + limit_s))

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwsoak.XXXXXX")
declare -A pid=()
failed=0

say() { printf '%s\n' "$*"; }
fail() { say "FAIL: $*"; failed=1; }

# End what is still running, by PID: SIGCONT first, as a stopped process
# would not act on SIGTERM; SIGKILL after 3 s.
stop_pid() {	# stop_pid NAME
	local p=${pid[$1]:-} i
	[ -n "$p" ] || return 0
	kill -CONT "$p" 2>/dev/null || true
	kill -TERM "$p" 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	unset "pid[$1]"
}

cleanup() {
	local rc=$? k
	for k in "${!pid[@]}"; do
		stop_pid "$k"
	done
	if [ $rc -ne 0 ] && [ -s "$tmp/curl.log" ]; then
		say "--- what the failed scrapes said:"
		tail -n 10 "$tmp/curl.log"
	fi
	if [ $rc -ne 0 ] && [ -f "$tmp/gw.log" ]; then
		say "--- the end of gatewayd's log:"
		tail -n 30 "$tmp/gw.log"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

out_of_time() {
	[ $SECONDS -ge $deadline ]
}

ip link set lo up

# Wait up to $1 tenths of a second for the command to succeed.
wait_for() {	# wait_for TENTHS CMD...
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		out_of_time && return 1
		sleep 0.1
	done
	return 1
}

# ---- the devices: port 0, read back from devsim's ready file ----
dev_port=()
for i in 0 1; do
	"$devsim" --listen 127.0.0.1:0 --mode chatter --interval-ms 1 \
	    --reset-after-ms 3 \
	    --name "dev-${names[i]}" --ready-file "$tmp/dev$i.port" \
	    2>"$tmp/dev$i.log" &
	pid[dev$i]=$!
	if ! wait_for 50 test -s "$tmp/dev$i.port"; then
		fail "devsim dev-${names[i]} did not start"
		exit 1
	fi
	dev_port[i]=$(cat "$tmp/dev$i.port")
done

cat >"$tmp/gw.conf" <<EOF
version = 1;
log = { level = "info"; };
status = { listen = "127.0.0.1:$status_port"; };
control = { socket = ""; };
watchdog = { period_ms = 50; };
defaults = {
  io_timeout_ms = 100;
  connect_timeout_ms = 1000;
  # Small, so that thousands of flaps fit in seconds.
  backoff = { min_ms = 10; max_ms = 20; };
};
devices = (
  { name = "${names[0]}"; on_device_down = "hold";
    device = { connect = "127.0.0.1:${dev_port[0]}"; };
    upstream = { listen = "127.0.0.1:${upstream_port[0]}"; }; },
  { name = "${names[1]}";
    device = { connect = "127.0.0.1:${dev_port[1]}"; };
    upstream = { listen = "127.0.0.1:${upstream_port[1]}"; }; }
);
EOF
"$gatewayd" -c "$tmp/gw.conf" 2>"$tmp/gw.log" &
pid[gw]=$!
gw=${pid[gw]}

metrics=$tmp/metrics
scrapes=0
scrape_failures=0
# GET /metrics into $metrics; every 10th time also GET /status.
scrape() {
	local page=metrics
	scrapes=$((scrapes + 1))
	[ $((scrapes % 10)) -ne 0 ] || page=status
	if [ $page = status ] && ! curl -fsS --max-time 2 -o /dev/null \
	    "http://127.0.0.1:$status_port/status" 2>>"$tmp/curl.log"; then
		scrape_failures=$((scrape_failures + 1))
	fi
	if ! curl -fsS --max-time 2 -o "$metrics.new" \
	    "http://127.0.0.1:$status_port/metrics" 2>>"$tmp/curl.log"; then
		scrape_failures=$((scrape_failures + 1))
		return 1
	fi
	mv "$metrics.new" "$metrics"
}

# The sum of a metric's series for one link kind, from the last scrape.
metric() {	# metric NAME LINK
	awk -v m="$1" -v l="link=\"$2\"" '
	    index($0, m "{") == 1 && index($0, l) { s += $NF }
	    END { print s + 0 }' "$metrics"
}

alive() {
	kill -0 "$gw" 2>/dev/null
}

if ! wait_for 50 scrape; then
	fail "no answer on /metrics"
	exit 1
fi

hosts_start() {
	local i
	for i in 0 1; do
		"$devsim" --connect "127.0.0.1:${upstream_port[i]}" \
		    --mode source --bytes 4096 --reset-after-ms 5 \
		    --reconnect-ms 5 --stats \
		    --name "host-${names[i]}" 2>>"$tmp/host$i.log" &
		pid[host$i]=$!
	done
}

# Flap until the device links have come up $1 more times and the upstream
# links $2 more times, scraping every 100 ms; at most $3 seconds.
flap() {	# flap DEVICE-FLAPS UPSTREAM-FLAPS SECONDS
	local d0 u0 d u end=$((SECONDS + $3))
	scrape
	d0=$(metric gatewayd_link_connects_total device)
	u0=$(metric gatewayd_link_connects_total upstream)
	kill -CONT "${pid[dev0]}" "${pid[dev1]}"
	hosts_start
	while :; do
		sleep 0.1
		alive || { fail "gatewayd died"; return 1; }
		scrape || true
		d=$(( $(metric gatewayd_link_connects_total device) - d0 ))
		u=$(( $(metric gatewayd_link_connects_total upstream) - u0 ))
		[ "$d" -ge "$1" ] && [ "$u" -ge "$2" ] && break
		if [ $SECONDS -ge $end ] || out_of_time; then
			fail "only $d device and $u upstream flaps in $3 s" \
			    "(want $1 and $2)"
			return 1
		fi
	done
	flapped_device=$d
	flapped_upstream=$u
}

# Quiet: host clients gone, devices frozen (the kernel still accepts for
# them, so each device link comes up and stays up), no scrape in flight.
quiet() {
	stop_pid host0
	stop_pid host1
	kill -STOP "${pid[dev0]}" "${pid[dev1]}"
	# Both device links up, both upstream links down, for 1 s in a row.
	local i stable=0
	for ((i = 0; i < 100 && stable < 10; i++)); do
		sleep 0.1
		if scrape && [ "$(metric gatewayd_link_up device)" -eq 2 ] &&
		    [ "$(metric gatewayd_link_up upstream)" -eq 0 ]; then
			stable=$((stable + 1))
		else
			stable=0
		fi
		out_of_time && break
	done
	if [ $stable -lt 10 ]; then
		fail "the links did not settle (device up" \
		    "$(metric gatewayd_link_up device)/2, upstream up" \
		    "$(metric gatewayd_link_up upstream)/0)"
		return 1
	fi
	sleep 0.5	# the last scrape's connection closed on both sides
}

# fds, threads and RSS (kB) of gatewayd, once five reads 100 ms apart agree
# on fds and threads.
sample() {	# sample VAR-PREFIX
	local i f t r prev="" same=0
	for ((i = 0; i < 50 && same < 5; i++)); do
		f=$(find "/proc/$gw/fd" -mindepth 1 -maxdepth 1 | wc -l)
		t=$(awk '/^Threads:/ { print $2 }' "/proc/$gw/status")
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$gw/status")
		if [ "$f $t" = "$prev" ]; then
			same=$((same + 1))
		else
			same=1
			prev="$f $t"
		fi
		sleep 0.1
	done
	[ $same -ge 5 ] || fail "fds and threads do not hold still ($prev)"
	# What they are, for a failure's sake: fd -> file, socket inodes with
	# their state (/proc/net/tcp, state in hex: 01 ESTABLISHED, 0A LISTEN).
	(cd "/proc/$gw/fd" && for f in *; do
		printf '%s -> %s\n' "$f" "$(readlink "$f" || true)"
	done) >"$tmp/$1.fds"
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null >"$tmp/$1.tcp" || true
	printf -v "$1_fds" '%s' "$f"
	printf -v "$1_threads" '%s' "$t"
	printf -v "$1_rss" '%s' "$r"
}

start=$SECONDS
say "warm-up: flapping (at least 200 device and 100 upstream flaps)"
flap 200 100 30 || exit 1
warm_device=$flapped_device
warm_upstream=$flapped_upstream
quiet || exit 1
sample before
say "before:  fds $before_fds, threads $before_threads, RSS" \
    "$before_rss kB (after $warm_device device and $warm_upstream" \
    "upstream flaps)"

soak_start=$SECONDS
say "soak:    flapping (at least $flaps_min device and" \
    "$((flaps_min / 2)) upstream flaps)"
flap "$flaps_min" $((flaps_min / 2)) 100 || exit 1
soak_s=$((SECONDS - soak_start))
quiet || exit 1
sample after
say "after:   fds $after_fds, threads $after_threads, RSS $after_rss kB"

say "soak:    $flapped_device device flaps, $flapped_upstream upstream" \
    "flaps in $soak_s s; $scrapes scrapes in all ($scrape_failures failed);" \
    "$(metric gatewayd_bytes_total device) bytes to the devices," \
    "$(metric gatewayd_bytes_total upstream) to the hosts," \
    "$(( $(metric gatewayd_held_bytes_discarded_total device) +
    $(metric gatewayd_held_bytes_discarded_total upstream) )) received" \
    "but never relayed"
if [ "$after_fds" -ne "$before_fds" ]; then
	fail "fds: $before_fds before, $after_fds after"
	say "--- fds before and after:"
	diff "$tmp/before.fds" "$tmp/after.fds" || true
	say "--- sockets after (/proc/net/tcp):"
	cat "$tmp/after.tcp"
fi
[ "$after_threads" -eq "$before_threads" ] ||
    fail "threads: $before_threads before, $after_threads after"
[ $((after_rss - before_rss)) -le $rss_slack_kb ] ||
    fail "RSS grew by $((after_rss - before_rss)) kB (want <= $rss_slack_kb)"
[ "$scrape_failures" -eq 0 ] || fail "$scrape_failures scrapes failed"

# A clean stop still works after all that.
kill -TERM "$gw"
rc=0
for ((i = 0; i < 50; i++)); do
	alive || break
	sleep 0.1
done
if alive; then
	fail "gatewayd did not stop within 5 s of SIGTERM"
else
	wait "$gw" || rc=$?
	unset "pid[gw]"
	[ $rc -eq 0 ] || fail "gatewayd exited $rc on SIGTERM"
fi
say "total:   $((SECONDS - start)) s"
if [ $failed -ne 0 ]; then
	say "soak: FAILED"
	exit 1
fi
say "soak: passed (fds $before_fds = $after_fds, threads" \
    "$before_threads = $after_threads, RSS $before_rss -> $after_rss kB)"
