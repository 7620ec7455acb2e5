# quiet.sh -- no false positives: a quiet healthy link, and a silent blip
# shorter than the tolerance (budget - idle_s - interval_s), are never
# declared dead, and the same TCP connection carries data afterwards.

GF_BLIP_MS=1500

# The gw's established connections, "local peer" a line, sorted.
quiet_conns() {
	ip netns exec "$GF_GW" ss -tnH state established 2>/dev/null |
	    awk '{print $3, $4}' | sort
}

# The largest tcpi_last_ack_recv of the gw's connections: on an idle link
# that keepalive probes and the peer answers, under idle_s + a little.
quiet_max_lastack() {
	ip netns exec "$GF_GW" ss -tniH state established 2>/dev/null |
	    grep -oE '(^|[[:space:]])lastack:[0-9]+' | cut -d: -f2 |
	    sort -n | tail -n 1
}

# The same connections as before, still there.
quiet_same_conns() {	# LABEL BEFORE
	local after
	after=$(quiet_conns)
	if [ "$after" != "$2" ]; then
		gf_fail "$1: the gateway's connections changed"
		echo "before:"; echo "$2"; echo "after:"; echo "$after"
		gf_evidence
		return 1
	fi
}

# bidi with an echo device and host client hb.
quiet_bidi_up() {
	bidi_start --mode echo || return 1
	bidi_host hb
}

# split with a sink tx device, rx client rx and host client hs.
quiet_split_up() {
	split_start --mode sink || return 1
	split_rx_client rx || return 1
	split_host hs rx
}

case_quiet_idle_60s() {
	local L="quiet idle-60s" mark before i lastack
	gf_devsim dev "$GF_DEV" --listen "$GF_DEV_IP:$GF_BIDI_DEV_PORT" \
	    --mode echo || return
	gf_devsim tx "$GF_DEV" --listen "$GF_DEV_IP:$GF_TX_PORT" --mode sink ||
	    return
	gf_gateway bidi split
	if ! gf_wait_up bidi device 0 5000 || ! gf_wait_up split tx 0 5000; then
		gf_fail "$L: the device links did not come up"
		gf_evidence
		return
	fi
	split_rx_client rx || return
	bidi_host hb || return
	split_host hs rx || return
	mark=$(gf_mark)
	before=$(quiet_conns)
	echo "$L: $(wc -l <<<"$before") connections idle for 60 s"
	for (( i = 0; i < 60; i++ )); do
		sleep 1
		if ! gf_alive "${GF_PID[gatewayd]}"; then
			gf_fail "$L: gatewayd exited"
			gf_evidence
			return
		fi
	done
	lastack=$(quiet_max_lastack)
	gf_expect_no_down "$L" "$mark" bidi/device bidi/upstream split/rx \
	    split/tx split/upstream || return
	quiet_same_conns "$L" "$before" || return
	bidi_exchange hb "after-idle-hb" || return
	split_exchange hs rx "after-idle-hs" || return
	echo "$L: no failure on 5 links in 60 s (keepalive answered, last ACK at most ${lastack} ms old); the same connections still carry data"
}

# quiet_blip LABEL NS FILTER WHEN [OTHER...]: one GF_BLIP_MS drop in NS,
# placed in the keepalive cycle of the gw socket matching FILTER: right after
# a probe was answered (after-probe), just before the next probe
# (before-probe: the next two probes are lost), or at a random point of the
# idle cycle. The drop silences the gw sockets matching OTHER too, in a
# cycle of their own: it waits until none has a probe unanswered, or two
# blips in a row would be one longer than the tolerance to them.
quiet_blip() {
	local label=$1 ns=$2 filter=$3 when=$4 ack t0 delay start end probes o
	shift 4
	for o in "$@"; do
		if ! gf_wait_probes_answered "$o"; then
			gf_fail "$label: a keepalive probe still unanswered on $o after $(( GF_IDLE_S * 3 )) s"
			gf_evidence
			return 1
		fi
	done
	if ! ack=$(gf_wait_probe_answer "$filter"); then
		gf_fail "$label: no keepalive probe answered on $filter within $(( GF_IDLE_S * 3 )) s"
		gf_evidence
		return 1
	fi
	t0=$(( $(gf_now) - ack ))
	case $when in
	after-probe) delay=0 ;;
	before-probe) delay=$(( GF_IDLE_S * 1000 - 100 )) ;;
	random) delay=$(( RANDOM % (GF_IDLE_S * 1000) )) ;;
	esac
	delay=$(( t0 + delay - $(gf_now) ))
	[ $delay -gt 0 ] && gf_sleep_ms $delay
	gf_cut "$ns" || return 1
	start=$GF_CUT_MS
	gf_sleep_ms "$GF_BLIP_MS"
	probes=$(gf_keepalive_probes "$filter")
	gf_uncut "$ns"
	end=$(gf_now)
	echo "$label: $(gf_sec $(( end - start ))) s drop $(gf_sec $(( start - t0 ))) s after a probe was answered (${probes:-?} probes unanswered at its end; tolerance $(gf_lim "$GF_BLIP_TOLERANCE_MS") s)"
}

# Four blips (after a probe, before a probe, twice at random), then a full
# budget of quiet; nothing may go down and the same connections carry data.
# OTHERS is a filter of further gw sockets the drop silences, or "".
quiet_blips() {	# LABEL NS FILTER OTHERS EXCHANGE-CMD LINKS...
	local label=$1 ns=$2 filter=$3 others=$4 exchange=$5 mark before w
	shift 5
	mark=$(gf_mark)
	before=$(quiet_conns)
	for w in after-probe before-probe random random; do
		quiet_blip "$label" "$ns" "$filter" "$w" ${others:+"$others"} ||
		    return 1
	done
	gf_sleep_ms $(( GF_IDLE_BUDGET_MS + 1000 ))
	gf_expect_no_down "$label" "$mark" "$@" || return 1
	quiet_same_conns "$label" "$before" || return 1
	$exchange || return 1
	echo "$label: no failure after 4 blips of $(gf_sec "$GF_BLIP_MS") s; the same connections still carry data"
}

case_quiet_blip_bidir() {
	quiet_bidi_up || return
	quiet_blips "quiet blip-bidir" "$GF_DEV" \
	    "( dport = :$GF_BIDI_DEV_PORT )" "" "bidi_exchange hb after-blips" \
	    bidi/device bidi/upstream
}

# The drop cuts rx and tx at once; the blips are placed in tx's cycle, so
# they fall anywhere in rx's.
case_quiet_blip_split() {
	quiet_split_up || return
	quiet_blips "quiet blip-split" "$GF_DEV" "( dport = :$GF_TX_PORT )" \
	    "( sport = :$GF_RX_PORT )" "split_exchange hs rx after-blips" \
	    split/rx split/tx split/upstream
}

case_quiet_blip_upstream() {
	quiet_bidi_up || return
	quiet_blips "quiet blip-upstream" "$GF_HOST" \
	    "( sport = :$GF_BIDI_UP_PORT )" "" "bidi_exchange hb after-blips" \
	    bidi/upstream bidi/device
}
