/* reason.h -- why a link was declared dead: the contract's reason codes. */
#ifndef WD_REASON_H
#define WD_REASON_H

#ifdef __cplusplus
extern "C" {
#endif

enum wd_reason {
	WD_REASON_NONE,			/* alive, or closed on purpose */
	WD_PEER_CLOSED,			/* FIN from the peer */
	WD_PEER_RESET,			/* RST: ECONNRESET, EPIPE, SO_ERROR */
	WD_KEEPALIVE_TIMEOUT,		/* probes unanswered on an idle link */
	WD_ACK_TIMEOUT,			/* data unacknowledged for user_timeout_ms */
	WD_ZERO_WINDOW_STALL,		/* peer alive but not reading */
	WD_RX_SILENCE,			/* nothing received for rx_silence_ms */
	WD_SOCKET_ERROR,		/* any other error */
	WD_OPERATOR,			/* a person asked (gwctl disconnect);
					   never a verdict of the watchdog */
	WD_REASON_COUNT
};

/* The reason code as the contract spells it ("peer_closed", ...); "none"
   for WD_REASON_NONE. */
const char	*wd_reason_str(enum wd_reason);

/* Map an errno seen on a socket (or read from SO_ERROR) to a reason:
   ECONNRESET/EPIPE -> peer_reset, ETIMEDOUT -> keepalive_timeout (the
   caller refines it with a sample), anything else -> socket_error. */
enum wd_reason	 wd_reason_from_errno(int err);

#ifdef __cplusplus
}
#endif

#endif
