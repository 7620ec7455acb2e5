# scale.sh -- the liveness budget at scale: 500 devices up, the cable of
# 50 of them (10 %) pulled at once.
#
# Each device has an address of its own on the dev namespace's loopback
# (198.18.8.0/22, routed from the gw namespace through 198.18.1.2), and
# one devsim in echo mode answers on all of them. The pull is an nftables
# set of the 50 addresses, dropped both ways in the dev namespace: the
# other 450 devices keep their cable. Every pulled device must be declared
# dead with keepalive_timeout within the idle budget + one watchdog period
# + 0.5 s of the pull, no other link may go down, and every pulled device
# must be up again within backoff.max_ms + connect_timeout_ms + 0.5 s of
# the cable's return (a dial whose SYN was dropped waits for its connect
# timeout first). Then a host relays through a pulled device and a kept one.

SCALE_N=500
SCALE_PULL_EVERY=10		# every 10th device: 50 of 500
SCALE_DEV_PORT=5000
SCALE_UP_BASE=20000
SCALE_CONNECT_MS=1000
SCALE_BACKOFF_MAX_MS=500
SCALE_DEAD_LIMIT_MS=$(( GF_IDLE_BUDGET_MS + GF_PERIOD_MS + 500 ))
SCALE_BACK_LIMIT_MS=$(( SCALE_BACKOFF_MAX_MS + SCALE_CONNECT_MS + 500 ))

scale_ip() {	# K
	echo "198.18.$(( 8 + $1 / 250 )).$(( 1 + $1 % 250 ))"
}

scale_pulled() {	# K: is device K one of the pulled?
	[ $(( $1 % SCALE_PULL_EVERY )) -eq 5 ]
}

scale_config() {
	local k
	{
		gf_preamble "$SCALE_CONNECT_MS" "$SCALE_BACKOFF_MAX_MS"
		for (( k = 0; k < SCALE_N; k++ )); do
			[ "$k" -gt 0 ] && echo ","
			printf '  { name = "s%d"; device = { connect = "%s:%d"; };\n' \
			    "$k" "$(scale_ip "$k")" "$SCALE_DEV_PORT"
			printf '    upstream = { listen = "%s:%d"; }; }' \
			    "$GF_GWH_IP" $(( SCALE_UP_BASE + k ))
		done
		echo
		echo ");"
	} >"$GF_W/gatewayd.conf"
}

# What a device link's line says when it goes down, or comes up: "up:",
# or, after failed dials, "connected after N failed attempts".
scale_re() {	# down|up
	case $1 in
	down) echo '/device down: ' ;;
	up) echo '/device( up|: connected)' ;;
	esac
}

# Count the devices listed in FILE (one name a line) with a WHAT line
# after MARK.
scale_count() {	# MARK WHAT FILE
	gf_lines_after "$1" | awk -v re="$(scale_re "$2")" -v f="$3" '
	    BEGIN { while ((getline l < f) > 0) want[l] = 1 }
	    $0 ~ re { split($3, a, "/"); if (a[1] in want && !(a[1] in seen)) { seen[a[1]] = 1; n++ } }
	    END { print n + 0 }'
}

# Per device of FILE, its first WHAT line after MARK as "name
# ms-after-T0 reason"; devices without one are left out.
scale_times() {	# MARK WHAT FILE T0
	local lines=$GF_W/scale.lines
	gf_lines_after "$1" | awk -v re="$(scale_re "$2")" -v f="$3" '
	    BEGIN { while ((getline l < f) > 0) want[l] = 1 }
	    $0 ~ re { split($3, a, "/"); if (a[1] in want && !(a[1] in seen)) { seen[a[1]] = 1; print } }' \
	    >"$lines"
	[ -s "$lines" ] || return 0
	# One date(1) for every stamp.
	paste -d' ' <(awk '{ print $1 }' "$lines" | date -u -f - +%s%3N) "$lines" |
	    awk -v t0="$4" -v w="$2" '{ split($4, a, "/"); r = $0; sub(/.* down: /, "", r); sub(/ .*/, "", r)
	        print a[1], $1 - t0, (w == "down" ? r : "-") }'
}

# min median max of the second column of stdin, as seconds.
scale_spread() {
	awk 'NF { print $2 }' | sort -n | awk '{ v[n++] = $1 }
	    END { if (n == 0) { print "none"; exit }
	          printf "%.1f..%.1f s (median %.1f s)", v[0] / 1000, v[n-1] / 1000, v[int((n-1)/2)] / 1000 }'
}

case_scale_pull_50_of_500() {
	local k i mark t_pull t_back up n_pulled=0 sel="" pulled=$GF_W/pulled.txt
	local kept=$GF_W/kept.txt all=$GF_W/all.txt times got bad late slow back
	: >"$pulled"
	: >"$kept"
	: >"$all"
	for (( k = 0; k < SCALE_N; k++ )); do
		echo "addr add $(scale_ip "$k")/32 dev lo"
		echo "s$k" >>"$all"
		if scale_pulled "$k"; then
			echo "s$k" >>"$pulled"
			sel="$sel${sel:+, }$(scale_ip "$k")"
			n_pulled=$(( n_pulled + 1 ))
		else
			echo "s$k" >>"$kept"
		fi
	done >"$GF_W/addrs.batch"
	ip -n "$GF_DEV" -batch "$GF_W/addrs.batch" ||
	    { gf_fail "cannot add the device addresses"; return 1; }
	ip -n "$GF_GW" route add 198.18.8.0/22 via "$GF_DEV_IP" ||
	    { gf_fail "cannot route to the device addresses"; return 1; }
	gf_devsim dev "$GF_DEV" --listen ":$SCALE_DEV_PORT" --mode echo \
	    --max-conns $(( SCALE_N * 2 + 64 )) || return 1

	scale_config
	if ! "$GF_GATEWAYD" -t -c "$GF_W/gatewayd.conf" >"$GF_W/check.log" 2>&1; then
		gf_fail "gatewayd rejects the test config"
		tail -5 "$GF_W/check.log"
		return 1
	fi
	gf_spawn gatewayd "$GF_GW" "$GF_GATEWAYD" -c "$GF_W/gatewayd.conf"
	GF_GWLOG=$GF_W/gatewayd.log
	for (( i = 0; i < 1000; i++ )); do
		up=$(scale_count 0 up "$all")
		[ "$up" -ge "$SCALE_N" ] && break
		gf_alive "${GF_PID[gatewayd]}" || break
		sleep 0.02
	done
	if [ "$up" -lt "$SCALE_N" ]; then
		gf_fail "only $up of $SCALE_N devices up within 20 s"
		tail -20 "$GF_GWLOG"
		return 1
	fi
	echo "fault scale pull-50-of-500: $SCALE_N devices up"
	mark=$(gf_mark)
	# The links came up together; pull at a random point of their
	# keepalive cycle.
	gf_sleep_ms $(( 1000 + RANDOM % (GF_IDLE_S * 1000) ))

	ip netns exec "$GF_DEV" nft -f - <<EOF || { gf_fail "nft failed"; return 1; }
table inet gfscale {
	set pulled { type ipv4_addr; elements = { $sel }; }
	chain in { type filter hook input priority 0; ip daddr @pulled drop; }
	chain out { type filter hook output priority 0; ip saddr @pulled drop; }
}
EOF
	t_pull=$(gf_now)
	for (( i = 0; i < 300; i++ )); do
		got=$(scale_count "$mark" down "$pulled")
		[ "$got" -ge "$n_pulled" ] && break
		[ $(( $(gf_now) - t_pull )) -gt $(( SCALE_DEAD_LIMIT_MS + 3000 )) ] && break
		sleep 0.05
	done
	# A kept device failing late would show by now.
	while [ $(( $(gf_now) - t_pull )) -lt $(( SCALE_DEAD_LIMIT_MS + 1000 )) ]; do
		sleep 0.1
	done
	times=$(scale_times "$mark" down "$pulled" "$t_pull")
	got=$(grep -c . <<<"$times")
	bad=$(awk '$3 != "keepalive_timeout"' <<<"$times")
	late=$(awk -v l="$SCALE_DEAD_LIMIT_MS" '$2 > l' <<<"$times")
	echo "fault scale pull-50-of-500: $got of $n_pulled pulled declared dead in $(scale_spread <<<"$times") (budget $(gf_lim "$GF_IDLE_BUDGET_MS") s, limit $(gf_lim "$SCALE_DEAD_LIMIT_MS") s); reasons: $(awk '{ print $3 }' <<<"$times" | sort | uniq -c | awk '{ printf "%s%s x%d", s, $2, $1; s = ", " }')"
	[ "$got" -eq "$n_pulled" ] ||
	    gf_fail "$(( n_pulled - got )) pulled devices not declared dead within $(gf_sec $(( SCALE_DEAD_LIMIT_MS + 1000 ))) s: $(comm -23 <(sort "$pulled") <(awk '{ print $1 }' <<<"$times" | sort) | head -10 | tr '\n' ' ')"
	[ -z "$bad" ] || gf_fail "wrong reason: $(head -5 <<<"$bad" | tr '\n' ';')"
	[ -z "$late" ] || gf_fail "over the limit: $(head -5 <<<"$late" | tr '\n' ';')"

	mark=$(gf_mark)
	# Timed from before the drop goes: a device may be up before nft
	# returns.
	t_back=$(gf_now)
	ip netns exec "$GF_DEV" nft delete table inet gfscale ||
	    { gf_fail "cannot remove the drop"; return 1; }
	for (( i = 0; i < 200; i++ )); do
		got=$(scale_count "$mark" up "$pulled")
		[ "$got" -ge "$n_pulled" ] && break
		[ $(( $(gf_now) - t_back )) -gt $(( SCALE_BACK_LIMIT_MS + 3000 )) ] && break
		sleep 0.05
	done
	times=$(scale_times "$mark" up "$pulled" "$t_back")
	back=$(grep -c . <<<"$times")
	slow=$(awk -v l="$SCALE_BACK_LIMIT_MS" '$2 > l' <<<"$times")
	echo "fault scale pull-50-of-500: $back of $n_pulled up again in $(scale_spread <<<"$times") after the cable's return (limit $(gf_lim "$SCALE_BACK_LIMIT_MS") s: backoff.max_ms + connect_timeout_ms + 0.5 s)"
	[ "$back" -eq "$n_pulled" ] ||
	    gf_fail "$(( n_pulled - back )) pulled devices not up again within $(gf_sec $(( SCALE_BACK_LIMIT_MS + 3000 ))) s"
	[ -z "$slow" ] || gf_fail "up again over the limit: $(head -5 <<<"$slow" | tr '\n' ';')"

	# No kept device's link went down at any time since all were up.
	bad=$(gf_lines_after 0 | awk -v f="$kept" '
	    BEGIN { while ((getline l < f) > 0) want[l] = 1 }
	    / down: / { split($3, a, "/"); if (a[1] in want) print }')
	echo "fault scale pull-50-of-500: $(grep -c . <<<"$bad") of $(( SCALE_N - n_pulled )) kept devices failed"
	[ -z "$bad" ] || gf_fail "kept devices failed: $(head -5 <<<"$bad")"

	# End to end, through a device that was pulled and one that was not.
	for k in 5 6; do
		gf_client "host$k" "$GF_HOST" "$GF_GWH_IP" $(( SCALE_UP_BASE + k )) || continue
		gf_send "host$k" "ping-s$k"
		if gf_expect "host$k" "ping-s$k" 3000; then
			echo "fault scale pull-50-of-500: s$k relays end to end"
		else
			gf_fail "no echo through s$k"
		fi
		gf_stop "host$k"
	done
}
