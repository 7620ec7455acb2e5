# split.sh -- faults on a device with two one-way links: split/rx, which the
# device dials and gatewayd only reads, and split/tx, which gatewayd dials
# and only writes to. A cable pull in the dev namespace cuts both.

# split_start TX-DEVSIM-ARGS...: the tx device (listening), then gatewayd;
# waits for tx. The rx device is the case's to start.
split_start() {
	gf_devsim tx "$GF_DEV" --listen "$GF_DEV_IP:$GF_TX_PORT" "$@" || return 1
	gf_gateway split
	if ! gf_wait_up split tx 0 5000; then
		gf_fail "split/tx did not come up"
		gf_evidence
		return 1
	fi
}

# The rx device as a line client that dials gatewayd.
split_rx_client() {	# NAME
	local mark
	mark=$(gf_mark)
	gf_client "$1" "$GF_DEV" "$GF_GWD_IP" "$GF_RX_PORT" || return 1
	if ! gf_wait_up split rx "$mark" 5000; then
		gf_fail "split/rx did not come up"
		gf_evidence
		return 1
	fi
}

# One line each way through split, each within TIMEOUT_MS: from host
# client HOST to the tx device (its received bytes grow), from rx client RX
# to the host. No verdict; says what failed.
split_try_exchange() {	# HOST RX TAG TIMEOUT_MS
	local before i n=$(( $4 / 20 ))
	before=$(gf_rx_bytes "$GF_DEV" "$GF_TX_PORT")
	gf_send "$1" "$3" 2>/dev/null || return 1
	for (( i = 0; i < n; i++ )); do
		[ "$(gf_rx_bytes "$GF_DEV" "$GF_TX_PORT")" -ge \
		    $(( before + ${#3} + 1 )) ] && break
		sleep 0.02
	done
	if [ $i -ge $n ]; then
		GF_WHY="the host's '$3' did not reach the tx device"
		return 1
	fi
	gf_send "$2" "$3-rx" 2>/dev/null
	if ! gf_expect "$1" "$3-rx" "$4"; then
		GF_WHY="the rx device's '$3-rx' did not reach the host"
		return 1
	fi
}

split_exchange() {	# HOST RX TAG
	if ! split_try_exchange "$1" "$2" "$3" 3000; then
		gf_fail "$GF_WHY within 3 s"
		gf_evidence
		return 1
	fi
}

# A host client on split's upstream; one line each way.
split_host() {	# HOST-NAME RX-NAME
	gf_client "$1" "$GF_HOST" "$GF_GWH_IP" "$GF_SPLIT_UP_PORT" || return 1
	split_exchange "$1" "$2" "hello-$1"
}

split_host_source() {
	gf_devsim hostsrc "$GF_HOST" --connect "$GF_GWH_IP:$GF_SPLIT_UP_PORT" \
	    --mode source --bytes 0
}

# The tx device's process is replaced by a plain sink.
split_new_tx() {
	gf_stop tx
	gf_devsim tx "$GF_DEV" --listen "$GF_DEV_IP:$GF_TX_PORT" --mode sink
}

case_split_idle_drop() {
	local L="fault split idle-drop" mark fault
	split_start --mode sink || return
	split_rx_client rx || return
	split_host host rx || return
	mark=$(gf_mark)
	gf_cut "$GF_DEV" || return
	fault=$GF_CUT_MS
	gf_expect_down "$L rx" split rx keepalive_timeout "$fault" \
	    "$GF_IDLE_BUDGET_MS" $(( 2 * GF_IDLE_BUDGET_MS )) "$mark"
	gf_expect_down "$L tx" split tx keepalive_timeout "$fault" \
	    "$GF_IDLE_BUDGET_MS" $(( 2 * GF_IDLE_BUDGET_MS )) "$mark"
	gf_stop host
	gf_stop rx
	gf_uncut "$GF_DEV"
	split_resume "$L" "$(gf_now)"
}

case_split_send_drop() {
	local L="fault split send-drop" mark fault
	split_start --mode sink || return
	split_rx_client rx || return
	split_host_source || return
	if ! gf_wait_flow "( dport = :$GF_TX_PORT )" bytes_acked 1000000 5000; then
		gf_fail "$L: no data flowing toward the tx device"
		gf_evidence
		return
	fi
	mark=$(gf_mark)
	gf_cut "$GF_DEV" || return
	fault=$GF_CUT_MS
	gf_expect_down "$L tx" split tx ack_timeout "$fault" \
	    "$GF_USER_TIMEOUT_MS" $(( 2 * GF_USER_TIMEOUT_MS )) "$mark"
	gf_expect_down "$L rx" split rx keepalive_timeout "$fault" \
	    "$GF_IDLE_BUDGET_MS" $(( 2 * GF_IDLE_BUDGET_MS )) "$mark"
	gf_stop hostsrc
	gf_stop rx
	gf_uncut "$GF_DEV"
	split_resume "$L" "$(gf_now)"
}

case_split_full_drop() {
	local L="fault split full-drop" mark fault
	split_start --mode stop-reading --rcvbuf 4096 || return
	split_rx_client rx || return
	split_host_source || return
	if ! gf_wait_window_full "( dport = :$GF_TX_PORT )" 5000; then
		gf_fail "$L: the tx device's window did not fill"
		gf_evidence
		return
	fi
	mark=$(gf_mark)
	gf_cut "$GF_DEV" || return
	fault=$GF_CUT_MS
	gf_expect_down "$L tx" split tx "ack_timeout|zero_window_stall" "$fault" \
	    "$GF_USER_TIMEOUT_MS" $(( 2 * GF_USER_TIMEOUT_MS )) "$mark"
	gf_expect_down "$L rx" split rx keepalive_timeout "$fault" \
	    "$GF_IDLE_BUDGET_MS" $(( 2 * GF_IDLE_BUDGET_MS )) "$mark"
	gf_stop hostsrc
	gf_stop rx
	split_new_tx || return
	gf_uncut "$GF_DEV"
	split_resume "$L" "$(gf_now)"
}

# The device streams on rx (the gateway only receives and ACKs) when the
# cable is pulled: nothing of the gateway's is unacknowledged, so it is the
# keepalive that finds the silence.
case_split_rx_stream_drop() {
	local L="fault split rx-stream-drop" mark fault
	split_start --mode sink || return
	mark=$(gf_mark)
	gf_devsim rx "$GF_DEV" --connect "$GF_GWD_IP:$GF_RX_PORT" --mode source \
	    --bytes 0 --reconnect-ms 0 || return
	if ! gf_wait_up split rx "$mark" 5000; then
		gf_fail "$L: split/rx did not come up"
		gf_evidence
		return
	fi
	gf_devsim hostsink "$GF_HOST" --connect "$GF_GWH_IP:$GF_SPLIT_UP_PORT" \
	    --mode sink || return
	if ! gf_wait_flow "( sport = :$GF_RX_PORT )" bytes_received 1000000 5000; then
		gf_fail "$L: no data flowing from the rx device"
		gf_evidence
		return
	fi
	mark=$(gf_mark)
	gf_cut "$GF_DEV" || return
	fault=$GF_CUT_MS
	gf_expect_down "$L rx" split rx keepalive_timeout "$fault" \
	    "$GF_IDLE_BUDGET_MS" $(( 2 * GF_IDLE_BUDGET_MS )) "$mark"
	gf_expect_down "$L tx" split tx keepalive_timeout "$fault" \
	    "$GF_IDLE_BUDGET_MS" $(( 2 * GF_IDLE_BUDGET_MS )) "$mark"
	gf_stop hostsink
	gf_stop rx
	gf_uncut "$GF_DEV"
	split_resume "$L" "$(gf_now)"
}

# FIN or RST from the rx device (which dials) 1.5 s after it connects.
split_rx_close() {	# LABEL DEVSIM-OPTION DEVSIM-EVENT REASON
	local L=$1 mark fault
	split_start --mode sink || return
	mark=$(gf_mark)
	gf_devsim rx "$GF_DEV" --connect "$GF_GWD_IP:$GF_RX_PORT" --mode silent \
	    --reconnect-ms 0 "$2" 1500 || return
	if ! gf_wait_devsim rx "$3" 4000; then
		gf_fail "$L: the rx device did not close"
		gf_evidence
		return
	fi
	fault=$(gf_devsim_event_ms rx "$3")
	gf_expect_down "$L" split rx "$4" "$fault" "$GF_PERIOD_MS" \
	    "$GF_CLOSE_LIMIT_MS" "$mark"
	gf_stop rx
	split_resume "$L" "$(gf_now)"
}

# FIN or RST from the tx device 2 s after the gateway connects. No host is
# connected: the gateway never writes to that tx link, and never reads it.
split_tx_close() {	# LABEL DEVSIM-OPTION DEVSIM-EVENT REASON
	local L=$1 mark fault
	split_start --mode sink "$2" 2000 || return
	mark=$(gf_mark)
	split_rx_client rx || return
	if ! gf_wait_devsim tx "$3" 4000; then
		gf_fail "$L: the tx device did not close"
		gf_evidence
		return
	fi
	fault=$(gf_devsim_event_ms tx "$3")
	gf_expect_down "$L" split tx "$4" "$fault" "$GF_PERIOD_MS" \
	    "$GF_CLOSE_LIMIT_MS" "$mark"
	split_new_tx || return
	gf_stop rx
	split_resume "$L" "$(gf_now)"
}

case_split_rx_fin() {
	split_rx_close "fault split rx-fin" --close-after-ms \
	    'close-after-ms \(FIN sent\)' peer_closed
}

case_split_tx_fin() {
	split_tx_close "fault split tx-fin" --close-after-ms \
	    'close-after-ms \(FIN sent\)' peer_closed
}

case_split_rx_rst() {
	split_rx_close "fault split rx-rst" --reset-after-ms \
	    'reset-after-ms \(RST sent\)' peer_reset
}

case_split_tx_rst() {
	split_tx_close "fault split tx-rst" --reset-after-ms \
	    'reset-after-ms \(RST sent\)' peer_reset
}

case_split_stop_reading() {
	local L="fault split stop-reading" mark fault
	split_start --mode stop-reading --rcvbuf 4096 || return
	split_rx_client rx || return
	mark=$(gf_mark)
	split_host_source || return
	if ! gf_wait_devsim hostsrc 'connected to' 3000; then
		gf_fail "$L: the host did not connect"
		return
	fi
	fault=$(gf_devsim_event_ms hostsrc 'connected to')
	gf_expect_down "$L" split tx zero_window_stall "$fault" \
	    "$GF_STALL_TIMEOUT_MS" $(( 2 * GF_STALL_TIMEOUT_MS )) "$mark"
	gf_stop hostsrc
	split_new_tx || return
	split_resume "$L" "$(gf_now)"
}

# Power loss of the device: both its processes and all its TCP state vanish;
# 1 s later new ones start: the tx listener, and an rx client that dials at
# once. The old tx dies by keepalive or by the new stack's RST; the old rx
# the same way, or is replaced by the new rx client first (on_new_client
# "replace"), whichever comes first.
case_split_power_cycle() {
	local L="fault split power-cycle" mark fault undone
	split_start --mode sink || return
	split_rx_client rx || return
	split_host host rx || return
	mark=$(gf_mark)
	gf_cut "$GF_DEV" || return
	fault=$GF_CUT_MS
	gf_stop tx KILL
	gf_stop rx KILL
	gf_wipe_sockets "$GF_DEV"
	sleep 1
	gf_uncut "$GF_DEV"
	undone=$(gf_now)
	gf_devsim tx "$GF_DEV" --listen "$GF_DEV_IP:$GF_TX_PORT" --mode sink ||
	    return
	gf_client rx2 "$GF_DEV" "$GF_GWD_IP" "$GF_RX_PORT" || return
	gf_expect_down "$L tx" split tx "peer_reset|keepalive_timeout" "$fault" \
	    "$GF_IDLE_BUDGET_MS" $(( 2 * GF_IDLE_BUDGET_MS )) "$mark"
	gf_expect_down "$L rx" split rx "peer_reset|keepalive_timeout|replaced" \
	    "$fault" "$GF_IDLE_BUDGET_MS" $(( 2 * GF_IDLE_BUDGET_MS )) "$mark"
	gf_stop host
	split_resume "$L" "$undone"
}

# After a fault is undone, relaying must resume within 10 s: the device
# dials rx again (client rx2, unless the case started it already), and a
# new host client exchanges a line each way. A host that connects while a
# device link is still down is closed at once, so the host retries.
split_resume() {	# LABEL UNDONE_MS
	local label=$1 undone=$2 i deadline
	deadline=$(( $(gf_now) + 10000 ))
	GF_WHY="no connection"
	for (( i = 0; i < 40; i++ )); do
		if [ -z "${GF_PID[rx2]:-}" ] || ! gf_alive "${GF_PID[rx2]}"; then
			gf_stop rx2
			gf_client rx2 "$GF_DEV" "$GF_GWD_IP" "$GF_RX_PORT" quiet
		fi
		gf_stop host2
		if gf_client host2 "$GF_HOST" "$GF_GWH_IP" "$GF_SPLIT_UP_PORT" quiet &&
		    split_try_exchange host2 rx2 "resume-$i-$RANDOM" 1000; then
			echo "$label: relaying resumed $(gf_sec $(( $(gf_now) - undone ))) s after the fault was undone"
			return 0
		fi
		[ "$(gf_now)" -ge "$deadline" ] && break
		sleep 0.2
	done
	gf_fail "$label: no relaying through split within 10 s of undoing the fault ($GF_WHY)"
	gf_evidence
	return 1
}
