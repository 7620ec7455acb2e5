#!/usr/bin/env bash
# supervisord_test.sh -- gatewayd under a real supervisord, with the program
# section etc/supervisord.conf ships: RUNNING; kill -9 -> restarted and
# relaying again; "supervisorctl signal HUP" reloads, keeping the device's
# connection; "supervisorctl stop" -> exit status 0 within stopwaitsecs; a
# broken config -> FATAL after startretries, bounded; fixed -> RUNNING.
#
#   supervisord_test.sh GATEWAYD DEVSIM SOURCE_DIR
#
# Exit 0 passed, 1 failed, 77 skipped (supervisord or curl missing and CI
# not set). Everything it starts runs in a temporary directory and is
# stopped on every exit path.
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: supervisord_test.sh GATEWAYD DEVSIM SOURCE_DIR" >&2
	exit 1
fi
gatewayd=$1
devsim=$2
srcdir=$3

for tool in supervisord supervisorctl curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		if [ -n "${CI:-}" ]; then
			echo "FAIL: $tool not found (tools/setup.sh installs it)"
			exit 1
		fi
		echo "SKIP: $tool not found: install the Debian packages" \
		    "supervisor and curl (tools/setup.sh) to run this test"
		exit 77
	fi
done

# ctest kills the script at its TIMEOUT (120 s), and a daemonized
# supervisord would outlive it: give up well before, through cleanup.
deadline=$((SECONDS + 90))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwsupervisor.XXXXXX")
conf=$tmp/gatewayd.conf
supconf=$tmp/supervisord.conf
suplog=$tmp/supervisord.log
gwlog=$tmp/gatewayd.log
devsim_pid=
sup_pid=
gw_pids=()

log() {
	printf '%s %s\n' "$(date +%T.%3N)" "$*"
}

fail() {
	log "FAIL: $*"
	exit 1
}

supctl() {
	# supervisorctl exits non-zero when a program is not RUNNING: the
	# callers look at its output.
	timeout 20 supervisorctl -c "$supconf" "$@" 2>&1 || true
}

# Is pid a gatewayd process (and not a recycled pid)?
is_gatewayd() {
	[ -n "$1" ] && [ "$1" -gt 0 ] 2>/dev/null &&
	    [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$(readlink -f "$gatewayd")" ]
}

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	# Started, and failed before its pid was read.
	if [ -z "$sup_pid" ] && [ -s "$tmp/supervisord.pid" ]; then
		sup_pid=$(tr -dc '0-9' <"$tmp/supervisord.pid")
	fi
	if [ -n "$sup_pid" ]; then
		supctl shutdown >/dev/null
		for i in $(seq 100); do
			kill -0 "$sup_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$sup_pid" 2>/dev/null || true
	fi
	for i in "${gw_pids[@]}"; do
		if is_gatewayd "$i"; then
			kill -9 "$i" 2>/dev/null || true
		fi
	done
	if [ -n "$devsim_pid" ]; then
		kill "$devsim_pid" 2>/dev/null || true
		wait "$devsim_pid" 2>/dev/null || true
	fi
	if [ $rc -ne 0 ]; then
		for f in "$suplog" "$gwlog" "$tmp/devsim.log"; do
			[ -f "$f" ] || continue
			echo "--- $f (last 40 lines)"
			tail -n 40 "$f"
		done
	fi
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# wait_for SECONDS DESCRIPTION COMMAND...: poll every 0.1 s.
wait_for() {
	local secs=$1 what=$2 i
	shift 2
	for i in $(seq $((secs * 10))); do
		if "$@"; then
			return 0
		fi
		[ $SECONDS -lt $deadline ] || fail "out of time waiting: $what"
		sleep 0.1
	done
	fail "not within $secs s: $what"
}

# The port of the last line of the log that reads "... TEXT ADDR:PORT",
# among the lines of the gatewayd that started last; fails when there is
# none yet.
logged_port() {
	awk -v text="$1" '
	    / starting with / { port = "" }
	    index($0, text) {
		a = substr($0, index($0, text) + length(text))
		if (a ~ /:[0-9]+$/) { sub(/.*:/, "", a); port = a }
	    }
	    END { if (port == "") exit 1; print port }' "$gwlog" 2>/dev/null
}

# The upstream and status ports the running gatewayd bound (port 0 in the
# config: a port picked by the system is nobody else's, whereas a port
# found free here could be taken before gatewayd binds it).
read_ports() {
	uport=$(logged_port " press1/upstream: listening on ") &&
	    sport=$(logged_port " status: serving /metrics and /status on http://")
}

# One line through the gateway to the echoing device and back.
relay_ok() {
	local line="ping-$RANDOM-$RANDOM"
	(
		exec 3<>"/dev/tcp/127.0.0.1/$uport"
		printf '%s\n' "$line" >&3
		IFS= read -r -t 2 got <&3
		[ "$got" = "$line" ]
	) 2>/dev/null
}

state_is() {
	supctl status gatewayd | grep -q " $1 "
}

gw_pid() {
	supctl pid gatewayd | tr -dc '0-9'
}

restarted_from() {
	local p
	p=$(gw_pid)
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$1" ] && state_is RUNNING
}

log_has() {
	grep -q -- "$2" "$1" 2>/dev/null
}

# ---- the device: devsim, echoing ----
"$devsim" --listen 127.0.0.1:0 --mode echo --name device \
    --ready-file "$tmp/devport" 2>"$tmp/devsim.log" &
devsim_pid=$!
wait_for 10 "devsim ready" test -s "$tmp/devport"
dport=$(tr -dc '0-9' <"$tmp/devport")
uport=
sport=

cat >"$conf" <<EOF
version = 1;
log = { level = "info"; };
status = { listen = "127.0.0.1:0"; };
control = { socket = ""; };
watchdog = { period_ms = 100; };
defaults = {
  io_timeout_ms = 200;
  connect_timeout_ms = 1000;
  backoff = { min_ms = 50; max_ms = 500; };
};
devices = (
  { name = "press1";
    device = { connect = "127.0.0.1:$dport"; };
    upstream = { listen = "127.0.0.1:0"; };
  }
);
EOF
cp "$conf" "$tmp/good.conf"
"$gatewayd" -t -c "$conf" >/dev/null || fail "gatewayd -t rejects the test config"

# ---- supervisord with the shipped program section ----
section=$(awk '/^\[program:gatewayd\]/ { on = 1; print; next }
    /^\[/ { on = 0 } on' "$srcdir/etc/supervisord.conf")
for key in command= user=gatewayd autorestart=unexpected exitcodes=0,78 \
    stopsignal=TERM redirect_stderr=true stdout_logfile= startsecs= \
    startretries= stopwaitsecs=; do
	grep -q "^$key" <<<"$section" ||
	    fail "etc/supervisord.conf: [program:gatewayd] has no $key"
done
startretries=$(sed -n 's/^startretries=//p' <<<"$section")
stopwaitsecs=$(sed -n 's/^stopwaitsecs=//p' <<<"$section")
# The gatewayd user is the package's: here the program runs as whoever
# runs the test (supervisord cannot switch users unless it is root).
section=$(sed -e "s|^command=.*|command=$gatewayd -c $conf|" \
    -e "s|^stdout_logfile=.*|stdout_logfile=$gwlog|" \
    -e "s|^user=.*|user=$(id -un)|" <<<"$section")

cat >"$supconf" <<EOF
[unix_http_server]
file=$tmp/supervisor.sock
chmod=0700

[supervisord]
logfile=$suplog
pidfile=$tmp/supervisord.pid
childlogdir=$tmp
nodaemon=false
loglevel=info

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$tmp/supervisor.sock

$section
EOF

log "starting supervisord"
supervisord -c "$supconf" || fail "supervisord did not start"
wait_for 10 "supervisord pidfile" test -s "$tmp/supervisord.pid"
sup_pid=$(tr -dc '0-9' <"$tmp/supervisord.pid")

# ---- RUNNING, relaying ----
wait_for 20 "gatewayd RUNNING" state_is RUNNING
pid1=$(gw_pid)
is_gatewayd "$pid1" || fail "supervisorctl pid gave $pid1, not a gatewayd"
gw_pids+=("$pid1")
wait_for 10 "listening ports logged" read_ports
wait_for 10 "relaying through gatewayd" relay_ok
curl -fsS --max-time 5 "http://127.0.0.1:$sport/status?format=text" |
    grep -q "press1	device	up" ||
    fail "status does not show press1/device up"
log "RUNNING as $pid1, relaying (upstream port $uport, status port $sport)"

# ---- kill -9: restarted, relaying again ----
kill -9 "$pid1"
wait_for 20 "gatewayd restarted after kill -9" restarted_from "$pid1"
pid2=$(gw_pid)
gw_pids+=("$pid2")
log_has "$suplog" "exited: gatewayd (terminated by SIGKILL; not expected)" ||
    fail "supervisord did not see an unexpected exit"
wait_for 10 "listening ports logged after the restart" read_ports
wait_for 10 "relaying after the restart" relay_ok
log "killed $pid1 -9: restarted as $pid2, relaying (upstream port $uport)"

# ---- SIGHUP: reloaded, the device's connection kept ----
accepts=$(grep -c "accepted from" "$tmp/devsim.log" || true)
supctl signal HUP gatewayd | grep -q "signalled" || fail "supervisorctl signal HUP"
wait_for 10 "reload logged" log_has "$gwlog" "reload: 1 device kept"
[ "$(gw_pid)" = "$pid2" ] || fail "SIGHUP restarted gatewayd"
relay_ok || fail "not relaying after the reload"
[ "$(grep -c "accepted from" "$tmp/devsim.log" || true)" = "$accepts" ] ||
    fail "the reload reconnected the unchanged device"
log "SIGHUP: reloaded, device connection kept"

# ---- stop: TERM, exit status 0, within stopwaitsecs ----
t0=$(date +%s%N)
supctl stop gatewayd | grep -q "stopped" || fail "supervisorctl stop"
ms=$((($(date +%s%N) - t0) / 1000000))
log_has "$suplog" "stopped: gatewayd (exit status 0)" ||
    fail "supervisord did not log a clean stop (exit status 0)"
[ "$ms" -lt $((stopwaitsecs * 1000)) ] ||
    fail "stop took $ms ms, stopwaitsecs is $stopwaitsecs s"
state_is STOPPED || fail "not STOPPED after stop"
log "stopped with exit status 0 in $ms ms"

# ---- a broken config: exit 78 each try, FATAL after startretries ----
printf 'version = 1;\nbogus_key = 1;\n' >"$conf"
spawns0=$(grep -c "spawned: 'gatewayd'" "$suplog" || true)
t0=$(date +%s)
supctl start gatewayd >/dev/null
wait_for 60 "FATAL after startretries" state_is FATAL
secs=$(($(date +%s) - t0))
log_has "$suplog" "gave up: gatewayd entered FATAL state" ||
    fail "supervisord did not give up"
log_has "$gwlog" "bogus_key" || fail "the config error is not in the log"
spawns=$(($(grep -c "spawned: 'gatewayd'" "$suplog" || true) - spawns0))
[ "$spawns" -eq $((startretries + 1)) ] ||
    fail "$spawns tries, want startretries + 1 = $((startretries + 1))"
log "broken config: FATAL after $spawns tries in $secs s"

# ---- fixed: starts again ----
cp "$tmp/good.conf" "$conf"
"$gatewayd" -t -c "$conf" >/dev/null || fail "gatewayd -t"
supctl start gatewayd >/dev/null
wait_for 20 "RUNNING again" state_is RUNNING
gw_pids+=("$(gw_pid)")
wait_for 10 "listening ports logged again" read_ports
wait_for 10 "relaying again" relay_ok
log "fixed config: RUNNING and relaying again (upstream port $uport)"

# ---- supervisord's shutdown stops gatewayd cleanly too ----
stops=$(grep -c "stopped: gatewayd (exit status 0)" "$suplog" || true)
supctl shutdown >/dev/null
wait_for 20 "supervisord exits" bash -c "! kill -0 $sup_pid 2>/dev/null"
sup_pid=
[ "$(grep -c "stopped: gatewayd (exit status 0)" "$suplog" || true)" -eq \
    $((stops + 1)) ] || fail "shutdown did not stop gatewayd with exit status 0"
log "PASS"
