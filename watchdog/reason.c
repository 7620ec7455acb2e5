/* reason.c -- names of the reason codes and the errno mapping. */
#include <errno.h>

#include "reason.h"

static const char *const reason_names[WD_REASON_COUNT] = {
	[WD_REASON_NONE] = "none",
	[WD_PEER_CLOSED] = "peer_closed",
	[WD_PEER_RESET] = "peer_reset",
	[WD_KEEPALIVE_TIMEOUT] = "keepalive_timeout",
	[WD_ACK_TIMEOUT] = "ack_timeout",
	[WD_ZERO_WINDOW_STALL] = "zero_window_stall",
	[WD_RX_SILENCE] = "rx_silence",
	[WD_SOCKET_ERROR] = "socket_error",
	[WD_OPERATOR] = "operator",
};

const char *
wd_reason_str(enum wd_reason r)
{
	if (r < 0 || r >= WD_REASON_COUNT)
		return ("unknown");
	return (reason_names[r]);
}

enum wd_reason
wd_reason_from_errno(int err)
{
	switch (err) {
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		return (WD_PEER_RESET);
	case ETIMEDOUT:
		return (WD_KEEPALIVE_TIMEOUT);
	default:
		return (WD_SOCKET_ERROR);
	}
}
