# bidir.sh -- faults on a device with one bidirectional link: bidi/device,
# which gatewayd dials (the device, a devsim, listens in the dev namespace).

# bidi_start DEVSIM-ARGS...: the device, then gatewayd; waits for the link.
bidi_start() {
	gf_devsim dev "$GF_DEV" --listen "$GF_DEV_IP:$GF_BIDI_DEV_PORT" "$@" ||
	    return 1
	gf_gateway bidi
	if ! gf_wait_up bidi device 0 5000; then
		gf_fail "bidi/device did not come up"
		gf_evidence
		return 1
	fi
}

# One line from host client NAME, echoed back by the device through bidi
# within TIMEOUT_MS; no verdict.
bidi_try_exchange() {	# NAME TAG TIMEOUT_MS
	gf_send "$1" "$2" 2>/dev/null && gf_expect "$1" "$2" "$3"
}

bidi_exchange() {	# NAME TAG
	if ! bidi_try_exchange "$1" "$2" 3000; then
		gf_fail "no echo of '$2' through bidi within 3 s"
		gf_evidence
		return 1
	fi
}

# A host client on bidi's upstream, and one line echoed by the device.
bidi_host() {	# NAME
	gf_client "$1" "$GF_HOST" "$GF_GWH_IP" "$GF_BIDI_UP_PORT" || return 1
	bidi_exchange "$1" "hello-$1"
}

# A host that streams toward the device as fast as it can.
bidi_host_source() {
	gf_devsim hostsrc "$GF_HOST" --connect "$GF_GWH_IP:$GF_BIDI_UP_PORT" \
	    --mode source --bytes 0
}

# The device's process is replaced by a plain echo devsim.
bidi_new_device() {
	gf_stop dev
	gf_devsim dev "$GF_DEV" --listen "$GF_DEV_IP:$GF_BIDI_DEV_PORT" --mode echo
}

case_bidir_idle_drop() {
	local L="fault bidir idle-drop" mark fault
	bidi_start --mode echo || return
	bidi_host host || return
	mark=$(gf_mark)
	gf_cut "$GF_DEV" || return
	fault=$GF_CUT_MS
	gf_expect_down "$L" bidi device keepalive_timeout "$fault" \
	    "$GF_IDLE_BUDGET_MS" $(( 2 * GF_IDLE_BUDGET_MS )) "$mark"
	gf_stop host
	gf_uncut "$GF_DEV"
	bidi_resume "$L" "$(gf_now)"
}

case_bidir_send_drop() {
	local L="fault bidir send-drop" mark fault
	bidi_start --mode echo || return
	bidi_host_source || return
	if ! gf_wait_flow "( dport = :$GF_BIDI_DEV_PORT )" bytes_acked 1000000 5000; then
		gf_fail "$L: no data flowing toward the device"
		gf_evidence
		return
	fi
	mark=$(gf_mark)
	gf_cut "$GF_DEV" || return
	fault=$GF_CUT_MS
	gf_expect_down "$L" bidi device ack_timeout "$fault" \
	    "$GF_USER_TIMEOUT_MS" $(( 2 * GF_USER_TIMEOUT_MS )) "$mark"
	gf_stop hostsrc
	gf_uncut "$GF_DEV"
	bidi_resume "$L" "$(gf_now)"
}

case_bidir_full_drop() {
	local L="fault bidir full-drop" mark fault
	bidi_start --mode stop-reading --rcvbuf 4096 || return
	bidi_host_source || return
	if ! gf_wait_window_full "( dport = :$GF_BIDI_DEV_PORT )" 5000; then
		gf_fail "$L: the device's window did not fill"
		gf_evidence
		return
	fi
	mark=$(gf_mark)
	gf_cut "$GF_DEV" || return
	fault=$GF_CUT_MS
	gf_expect_down "$L" bidi device "ack_timeout|zero_window_stall" "$fault" \
	    "$GF_USER_TIMEOUT_MS" $(( 2 * GF_USER_TIMEOUT_MS )) "$mark"
	gf_stop hostsrc
	bidi_new_device || return
	gf_uncut "$GF_DEV"
	bidi_resume "$L" "$(gf_now)"
}

# FIN or RST from the device 1.5 s after the gateway connects.
bidir_close() {	# LABEL DEVSIM-OPTION DEVSIM-EVENT REASON
	local L=$1 mark fault
	bidi_start --mode echo "$2" 1500 || return
	mark=$(gf_mark)
	if ! gf_wait_devsim dev "$3" 4000; then
		gf_fail "$L: the device did not close"
		return
	fi
	fault=$(gf_devsim_event_ms dev "$3")
	gf_expect_down "$L" bidi device "$4" "$fault" "$GF_PERIOD_MS" \
	    "$GF_CLOSE_LIMIT_MS" "$mark"
	bidi_new_device || return
	bidi_resume "$L" "$(gf_now)"
}

case_bidir_fin() {
	bidir_close "fault bidir fin" --close-after-ms 'close-after-ms \(FIN sent\)' \
	    peer_closed
}

case_bidir_rst() {
	bidir_close "fault bidir rst" --reset-after-ms 'reset-after-ms \(RST sent\)' \
	    peer_reset
}

case_bidir_stop_reading() {
	local L="fault bidir stop-reading" mark fault
	bidi_start --mode stop-reading --rcvbuf 4096 || return
	mark=$(gf_mark)
	bidi_host_source || return
	# The device reads nothing from the start: the fault begins with the
	# host's stream, when the host is connected.
	if ! gf_wait_devsim hostsrc 'connected to' 3000; then
		gf_fail "$L: the host did not connect"
		return
	fi
	fault=$(gf_devsim_event_ms hostsrc 'connected to')
	gf_expect_down "$L" bidi device zero_window_stall "$fault" \
	    "$GF_STALL_TIMEOUT_MS" $(( 2 * GF_STALL_TIMEOUT_MS )) "$mark"
	gf_stop hostsrc
	bidi_new_device || return
	bidi_resume "$L" "$(gf_now)"
}

# Power loss: the cable goes silent, the device's process and its TCP state
# vanish, and 1 s later a new process listens on the same address. The old
# link dies by keepalive (or by the RST the new stack answers a probe with).
case_bidir_power_cycle() {
	local L="fault bidir power-cycle" mark fault undone
	bidi_start --mode echo || return
	bidi_host host || return
	mark=$(gf_mark)
	gf_cut "$GF_DEV" || return
	fault=$GF_CUT_MS
	gf_stop dev KILL
	gf_wipe_sockets "$GF_DEV"
	sleep 1
	gf_uncut "$GF_DEV"
	undone=$(gf_now)
	gf_devsim dev "$GF_DEV" --listen "$GF_DEV_IP:$GF_BIDI_DEV_PORT" \
	    --mode echo || return
	gf_expect_down "$L" bidi device "peer_reset|keepalive_timeout" "$fault" \
	    "$GF_IDLE_BUDGET_MS" $(( 2 * GF_IDLE_BUDGET_MS )) "$mark"
	gf_stop host
	bidi_resume "$L" "$undone"
}

# After a fault is undone, relaying must resume within 10 s: a new host
# client's line is echoed by the device. A host that connects while the
# device link is still down is closed at once (on_device_down "close"), as
# it would be by the device itself, so the host retries, as hosts do.
bidi_resume() {	# LABEL UNDONE_MS
	local label=$1 undone=$2 i deadline
	deadline=$(( $(gf_now) + 10000 ))
	for (( i = 0; i < 40; i++ )); do
		gf_stop host2
		if gf_client host2 "$GF_HOST" "$GF_GWH_IP" "$GF_BIDI_UP_PORT" quiet &&
		    bidi_try_exchange host2 "resume-$i-$RANDOM" 1000; then
			echo "$label: relaying resumed $(gf_sec $(( $(gf_now) - undone ))) s after the fault was undone"
			return 0
		fi
		[ "$(gf_now)" -ge "$deadline" ] && break
		sleep 0.2
	done
	gf_fail "$label: no echo through bidi within 10 s of undoing the fault"
	gf_evidence
	return 1
}
