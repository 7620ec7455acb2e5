# field.sh -- the plant PC's own network, as namespaces make it: a gateway
# whose only IPv4 address is loopback (a NIC without a lease), and a stop
# while every device dials a silent peer or asks a DNS server that never
# answers.

# A resolv.conf for the gw namespace only: `ip netns exec` mounts
# /etc/netns/NS/resolv.conf over /etc/resolv.conf. Removed on exit.
field_resolv_conf() {	# NAMESERVER
	[ -d /etc/netns ] || GF_ETC_NETNS_TOP=/etc/netns
	mkdir -p "/etc/netns/$GF_GW" || return 1
	GF_ETC_NETNS=/etc/netns/$GF_GW
	printf 'nameserver %s\noptions timeout:5 attempts:2\n' "$1" \
	    >"/etc/netns/$GF_GW/resolv.conf"
}

# The gw namespace keeps only loopback: no IPv4 address but 127.0.0.1, as
# on a PC whose NIC is up without a DHCP lease. A literal address is
# dialled all the same (AI_ADDRCONFIG applies to names only).
case_field_literal_loopback_only() {
	local port
	ip -n "$GF_GW" -4 addr flush dev "${GF_P}gd" &&
	    ip -n "$GF_GW" -4 addr flush dev "${GF_P}gh" ||
	    { gf_fail "cannot take the gw namespace's addresses"; return 1; }
	gf_devsim dev "$GF_GW" --listen 127.0.0.1:0 --mode echo || return 1
	port=$(cat "$GF_W/dev.ready")
	cat >"$GF_W/gatewayd.conf" <<EOF
version = 1;
log = { level = "info"; };
status = { listen = ""; };
control = { socket = ""; };
defaults = { io_timeout_ms = 200; connect_timeout_ms = 1000;
             backoff = { min_ms = 100; max_ms = 500; }; };
devices = (
  { name = "lo"; device = { connect = "127.0.0.1:$port"; };
    upstream = { listen = "127.0.0.1:0"; }; }
);
EOF
	gf_spawn gatewayd "$GF_GW" "$GF_GATEWAYD" -c "$GF_W/gatewayd.conf"
	GF_GWLOG=$GF_W/gatewayd.log
	if ! gf_wait_up lo device 0 3000; then
		gf_fail "a literal 127.0.0.1 is not dialled without another IPv4 address"
		cat "$GF_GWLOG"
		return 1
	fi
	echo "field literal-loopback-only: lo/device up on 127.0.0.1:$port"
}

# 100 devices: half dial 198.18.1.2 whose namespace drops everything (SYNs
# unanswered, a 60 s connect timeout), half dial names that the namespace's
# only DNS server, behind the same drop, never answers. SIGTERM exits 0
# within about one io_timeout_ms (500 ms) all the same.
case_field_stop_silent_peers_and_dns() {
	local i conf=$GF_W/gatewayd.conf t0 ms rc
	field_resolv_conf "$GF_DEV_IP" || { gf_fail "cannot write resolv.conf"; return 1; }
	gf_cut "$GF_DEV" || return 1
	{
		cat <<EOF
version = 1;
log = { level = "info"; };
status = { listen = ""; };
control = { socket = ""; };
defaults = { io_timeout_ms = 500; connect_timeout_ms = 60000; };
devices = (
EOF
		for (( i = 0; i < 100; i++ )); do
			[ "$i" -gt 0 ] && echo ","
			if (( i % 2 )); then
				echo "  { name = \"n$i\"; device = { connect = \"plc$i.gatewayd-test.invalid:5000\"; };"
			else
				echo "  { name = \"a$i\"; device = { connect = \"$GF_DEV_IP:5000\"; };"
			fi
			echo "    upstream = { listen = \"127.0.0.1:0\"; }; }"
		done
		echo ");"
	} >"$conf"
	gf_spawn gatewayd "$GF_GW" "$GF_GATEWAYD" -c "$conf"
	GF_GWLOG=$GF_W/gatewayd.log
	for (( i = 0; i < 250; i++ )); do
		grep -q "started 100 devices" "$GF_GWLOG" && break
		sleep 0.02
	done
	grep -q "started 100 devices" "$GF_GWLOG" ||
	    { gf_fail "gatewayd did not start"; cat "$GF_GWLOG"; return 1; }
	# Every dial and every lookup is under way, none can finish.
	gf_sleep_ms 1500
	if grep -qE "cannot resolve|connect to" "$GF_GWLOG"; then
		gf_fail "a dial or lookup ended: the peers are not silent"
		grep -E "cannot resolve|connect to" "$GF_GWLOG" | head -5
		return 1
	fi
	t0=$(gf_now)
	kill -TERM "${GF_PID[gatewayd]}"
	wait "${GF_PID[gatewayd]}"
	rc=$?
	ms=$(( $(gf_now) - t0 ))
	unset "GF_PID[gatewayd]"
	echo "field stop-silent-peers-and-dns: exit $rc in $(gf_sec "$ms") s (limit 1.5 s)"
	[ "$rc" -eq 0 ] || gf_fail "exit $rc, want 0"
	[ "$ms" -le 1500 ] || gf_fail "stop took $ms ms, want <= 1500"
	grep -q "terminating" "$GF_GWLOG" || gf_fail "no clean stop in the log"
}
