# upstream.sh -- faults on the upstream side: bidi/upstream, which the host
# dials (gatewayd listens on 198.18.2.1). A cable pull is in the host
# namespace; the device link must stay up through all of it.

# The device streams toward the host as fast as it can.
up_start_source() {
	bidi_start --mode source --bytes 0
}

# After an upstream fault the device link is still the first one.
up_device_stayed() {	# LABEL MARK
	gf_expect_no_down "$1" "$2" bidi/device
}

case_upstream_idle_drop() {
	local L="fault upstream idle-drop" mark fault
	bidi_start --mode echo || return
	bidi_host host || return
	mark=$(gf_mark)
	gf_cut "$GF_HOST" || return
	fault=$GF_CUT_MS
	gf_expect_down "$L" bidi upstream keepalive_timeout "$fault" \
	    "$GF_IDLE_BUDGET_MS" $(( 2 * GF_IDLE_BUDGET_MS )) "$mark"
	gf_stop host
	gf_uncut "$GF_HOST"
	bidi_resume "$L" "$(gf_now)"
	up_device_stayed "$L" "$mark"
}

case_upstream_send_drop() {
	local L="fault upstream send-drop" mark fault
	up_start_source || return
	gf_devsim hostsink "$GF_HOST" --connect "$GF_GWH_IP:$GF_BIDI_UP_PORT" \
	    --mode sink || return
	if ! gf_wait_flow "( sport = :$GF_BIDI_UP_PORT )" bytes_acked 1000000 5000; then
		gf_fail "$L: no data flowing toward the host"
		gf_evidence
		return
	fi
	mark=$(gf_mark)
	gf_cut "$GF_HOST" || return
	fault=$GF_CUT_MS
	gf_expect_down "$L" bidi upstream ack_timeout "$fault" \
	    "$GF_USER_TIMEOUT_MS" $(( 2 * GF_USER_TIMEOUT_MS )) "$mark"
	gf_stop hostsink
	gf_uncut "$GF_HOST"
	up_resume_stream "$L" "$(gf_now)"
	up_device_stayed "$L" "$mark"
}

case_upstream_full_drop() {
	local L="fault upstream full-drop" mark fault
	up_start_source || return
	gf_devsim hoststop "$GF_HOST" --connect "$GF_GWH_IP:$GF_BIDI_UP_PORT" \
	    --mode stop-reading --rcvbuf 4096 || return
	if ! gf_wait_window_full "( sport = :$GF_BIDI_UP_PORT )" 5000; then
		gf_fail "$L: the host's window did not fill"
		gf_evidence
		return
	fi
	mark=$(gf_mark)
	gf_cut "$GF_HOST" || return
	fault=$GF_CUT_MS
	gf_expect_down "$L" bidi upstream "ack_timeout|zero_window_stall" "$fault" \
	    "$GF_USER_TIMEOUT_MS" $(( 2 * GF_USER_TIMEOUT_MS )) "$mark"
	gf_stop hoststop
	gf_uncut "$GF_HOST"
	up_resume_stream "$L" "$(gf_now)"
	up_device_stayed "$L" "$mark"
}

# FIN or RST from the host 1.5 s after it connects.
upstream_close() {	# LABEL DEVSIM-OPTION DEVSIM-EVENT REASON
	local L=$1 mark fault
	bidi_start --mode echo || return
	mark=$(gf_mark)
	gf_devsim hostc "$GF_HOST" --connect "$GF_GWH_IP:$GF_BIDI_UP_PORT" \
	    --mode silent --reconnect-ms 0 "$2" 1500 || return
	if ! gf_wait_devsim hostc "$3" 4000; then
		gf_fail "$L: the host did not close"
		gf_evidence
		return
	fi
	fault=$(gf_devsim_event_ms hostc "$3")
	gf_expect_down "$L" bidi upstream "$4" "$fault" "$GF_PERIOD_MS" \
	    "$GF_CLOSE_LIMIT_MS" "$mark"
	gf_stop hostc
	bidi_resume "$L" "$(gf_now)"
	up_device_stayed "$L" "$mark"
}

case_upstream_fin() {
	upstream_close "fault upstream fin" --close-after-ms \
	    'close-after-ms \(FIN sent\)' peer_closed
}

case_upstream_rst() {
	upstream_close "fault upstream rst" --reset-after-ms \
	    'reset-after-ms \(RST sent\)' peer_reset
}

case_upstream_stop_reading() {
	local L="fault upstream stop-reading" mark fault
	up_start_source || return
	mark=$(gf_mark)
	gf_devsim hoststop "$GF_HOST" --connect "$GF_GWH_IP:$GF_BIDI_UP_PORT" \
	    --mode stop-reading --rcvbuf 4096 || return
	if ! gf_wait_devsim hoststop 'connected to' 3000; then
		gf_fail "$L: the host did not connect"
		return
	fi
	fault=$(gf_devsim_event_ms hoststop 'connected to')
	gf_expect_down "$L" bidi upstream zero_window_stall "$fault" \
	    "$GF_STALL_TIMEOUT_MS" $(( 2 * GF_STALL_TIMEOUT_MS )) "$mark"
	gf_stop hoststop
	up_resume_stream "$L" "$(gf_now)"
	up_device_stayed "$L" "$mark"
}

# After a fault is undone, relaying must resume within 10 s: a new host
# reads 64 KiB of the device's stream (retrying, as a host would).
up_resume_stream() {	# LABEL UNDONE_MS
	local label=$1 undone=$2 got i deadline
	deadline=$(( $(gf_now) + 10000 ))
	for (( i = 0; i < 20; i++ )); do
		# shellcheck disable=SC2016
		got=$(ip netns exec "$GF_HOST" timeout 2 bash -c \
		    'exec 3<>"/dev/tcp/$0/$1" && head -c 65536 <&3 | wc -c' \
		    "$GF_GWH_IP" "$GF_BIDI_UP_PORT" 2>/dev/null)
		if [ "${got:-0}" -eq 65536 ]; then
			echo "$label: relaying resumed $(gf_sec $(( $(gf_now) - undone ))) s after the fault was undone"
			return 0
		fi
		[ "$(gf_now)" -ge "$deadline" ] && break
		sleep 0.2
	done
	gf_fail "$label: no new host read 64 KiB of the device's stream within 10 s of undoing the fault (last: ${got:-0} bytes)"
	gf_evidence
	return 1
}
