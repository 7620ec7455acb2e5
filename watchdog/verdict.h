/* verdict.h -- is a link's peer gone? A pure judgement over one sample. */
#ifndef WD_VERDICT_H
#define WD_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "probe.h"
#include "reason.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the gateway does with a link; rx_silence only applies where it
   reads a device (wd_reads_device()). */
enum wd_role {
	WD_ROLE_BIDIR,		/* device link, read and written */
	WD_ROLE_RX,		/* device rx link, only read */
	WD_ROLE_TX,		/* device tx link, only written */
	WD_ROLE_UPSTREAM,	/* upstream link, read and written */
	WD_ROLE_COUNT
};

/* rx_silence_ms is for devices that talk periodically: a host that only
   reads what the device says is quiet and healthy. */
static inline bool
wd_reads_device(enum wd_role role)
{
	return (role == WD_ROLE_BIDIR || role == WD_ROLE_RX);
}

/* A link's liveness settings, as configured and as set on its socket. */
struct wd_policy {
	int	keepalive_idle_s;	/* TCP_KEEPIDLE */
	int	keepalive_interval_s;	/* TCP_KEEPINTVL */
	int	keepalive_count;	/* TCP_KEEPCNT */
	int	user_timeout_ms;	/* TCP_USER_TIMEOUT */
	int	stall_timeout_ms;	/* zero window, stuck writer */
	int	rx_silence_ms;		/* no byte received; 0: off */
};

/*
 * What the gateway's threads know of a link: plain values the caller copies
 * out under its own lock. Times are on the caller's monotonic clock in ms,
 * the clock of now_ms.
 */
struct wd_link_state {
	bool		up;		/* connected; nothing judged before */
	int64_t		up_ms;		/* when it came up */
	/* up_ms, or when a reload last shortened its keepalive or user
	   timeout budget: silence before it does not count against them, as
	   no probe was due under the longer one. */
	int64_t		judged_from_ms;
	int64_t		rx_last_ms;	/* reader's last byte, or up_ms */
	/* The writer holds bytes the kernel has not taken yet (it is inside
	   send(), or between SO_SNDTIMEO retries of it), since when it last
	   got bytes in (send() > 0) or began to wait, and how many. */
	bool		tx_busy;
	int64_t		tx_progress_ms;
	uint32_t	tx_pending_bytes;
};

#define WD_DETAIL_MAX	128

struct wd_verdict {
	bool		dead;
	enum wd_reason	reason;		/* WD_REASON_NONE unless dead */
	int		err;		/* consumed SO_ERROR behind it, or 0 */
	/* Last sign of life to now: the peer's silence; for
	   zero_window_stall the time without progress, for rx_silence the
	   time without data. */
	int64_t		silence_ms;
	uint32_t	unacked_bytes;	/* SIOCOUTQ: written, not acked */
	/* For the log; "" when alive. "peer window zero for 5200 ms, ..." */
	char		detail[WD_DETAIL_MAX];
	/* detail names the bytes queued toward the peer already, so the log
	   line need not add them. */
	bool		names_queue;
};

/* Judge one link from a sample taken at about now_ms. Makes no syscalls and
   reads no clock. A link that is not up is never dead; one not connected
   yet or being closed by us only when s carries an error, which would be
   lost otherwise. Fills *v and returns v->dead. */
bool		 wd_judge(const struct wd_sample *s, enum wd_role role,
		    const struct wd_policy *p, const struct wd_link_state *ls,
		    int64_t now_ms, struct wd_verdict *v);

/* Which timer ended a connection with ETIMEDOUT, from a sample taken at or
   after the abort (which leaves the queue counts readable):
   zero_window_stall when data waited behind a closed window, ack_timeout
   when data was in flight, keepalive_timeout when nothing was queued. For
   an owner whose recv()/send() took the ETIMEDOUT before the watchdog. */
enum wd_reason	 wd_timeout_reason(const struct wd_sample *s);

/* The silence or stall after which wd_judge() declares a link dead for
   reason r: (idle_s + interval_s * count) * 1000 for keepalive_timeout,
   user_timeout_ms for ack_timeout, stall_timeout_ms for zero_window_stall,
   rx_silence_ms for rx_silence (-1 when off), 0 for peer_closed, peer_reset
   and socket_error, which are seen at once; -1 for WD_REASON_NONE and
   operator, which no timer gives. The
   verdict follows within this budget plus one watchdog period. */
int64_t		 wd_budget_ms(const struct wd_policy *p, enum wd_reason r);

/* The longest silent blip a healthy link survives, in ms: the smaller of
   the idle and in-flight budgets, minus idle_s and interval_s (the silence
   before the blip, and the wait for the next probe). <= 0: none at all. */
int64_t		 wd_blip_tolerance_ms(const struct wd_policy *p);

/* What a link promises: the worst-case time from a peer's last sign of
   life to the verdict, for each way a peer can go, with the watchdog
   sweeping every period_ms; -1 where it cannot happen to the role (no data
   goes out on an rx link; nothing is read on a tx link). */
struct wd_budgets {
	int64_t		idle_ms;	/* silent peer, idle link */
	int64_t		in_flight_ms;	/* silent peer, data unacknowledged */
	int64_t		stall_ms;	/* peer alive, window zero */
	int64_t		close_ms;	/* FIN or RST */
	int64_t		rx_silence_ms;	/* -1 also when rx_silence_ms is off */
	int64_t		blip_ms;	/* longest silent blip survived; <= 0:
					   none */
};
void		 wd_budgets(const struct wd_policy *p, enum wd_role role,
		    int64_t period_ms, struct wd_budgets *b);

#ifdef __cplusplus
}
#endif

#endif
