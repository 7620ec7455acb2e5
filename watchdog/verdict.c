/* verdict.c -- the liveness rules: sample + policy + link state -> verdict. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "verdict.h"

static bool	judge_error(const struct wd_sample *, int64_t,
		    struct wd_verdict *);
static bool	verdict_dead(struct wd_verdict *, enum wd_reason, int, int64_t,
		    bool, const char *, ...) __attribute__((format(printf, 6, 7)));
static bool	in_flight(const struct wd_sample *);
static uint32_t	in_flight_bytes(const struct wd_sample *);
static bool	window_closed(const struct wd_sample *);
static bool	answers_probes(const struct wd_sample *);
static int64_t	age_ms(int64_t, int64_t);
static int64_t	min_ms(int64_t, int64_t);

/*
 * The first rule that holds decides, so that the reason is the cause and not
 * a later symptom of it (a stalled peer also ends in ETIMEDOUT once
 * TCP_USER_TIMEOUT runs out: the sample, not the errno, tells which):
 *   1. a pending SO_ERROR: the kernel has given up already;
 *   2. CLOSE_WAIT: the peer sent FIN;
 *   3. zero window or stuck writer, then unacknowledged data;
 *   4. keepalive silence on an idle link;
 *   5. rx_silence.
 */
bool
wd_judge(const struct wd_sample *s, enum wd_role role,
    const struct wd_policy *p, const struct wd_link_state *ls, int64_t now_ms,
    struct wd_verdict *v)
{
	int64_t	silence, judged, stall, rx;

	memset(v, 0, sizeof(*v));
	v->unacked_bytes = s->outq_bytes;
	if (!ls->up)
		return (false);

	/* Peer silence as the keepalive timer measures it
	   (keepalive_time_elapsed(): since the later of the last data and the
	   last ACK; probe answers are ACKs). Bounded by the link's age. Held
	   against the keepalive and user-timeout budgets only since they were
	   set: a reload that shortened them must not find the quiet the old
	   ones allowed. */
	silence = min_ms(min_ms(s->last_data_recv_ms, s->last_ack_recv_ms),
	    age_ms(now_ms, ls->up_ms));
	judged = min_ms(silence, age_ms(now_ms, ls->judged_from_ms));
	v->silence_ms = silence;

	if (s->so_error != 0)
		return (judge_error(s, silence, v));
	switch (s->state) {
	case WD_TCP_ESTABLISHED:
		break;
	case WD_TCP_CLOSE_WAIT:
		/* Nobody reads a tx link: only this sample can see its FIN. A
		   reader sees the EOF itself once it has read what came before
		   the FIN; shutting the socket down first would lose it. */
		if (role != WD_ROLE_TX && s->inq_bytes > 0)
			return (false);
		return (verdict_dead(v, WD_PEER_CLOSED, 0, silence, false,
		    "FIN from peer"));
	case WD_TCP_CLOSE:
		/* Aborted, and the error already taken by the owner's recv() or
		   send(), which reports it with its true reason: a verdict here
		   would race it with a vaguer one. */
		return (false);
	default:
		/* SYN_*: not connected yet. FIN_WAIT*, CLOSING, LAST_ACK,
		   TIME_WAIT: we shut it down, so its owner knows why. */
		return (false);
	}

	/* The window only closes by our own data filling it, and while it is
	   closed the kernel sends no data, only zero-window probes
	   (tcp_probe_timer()): the age of our last data segment is how long
	   the peer has taken nothing. That is a stall only while the peer is
	   alive, i.e. answers the probes: tcp_ack() zeroes tcpi_probes on
	   every ACK, so a live peer leaves at most the probe just sent
	   unanswered. Probes unanswered mean the cable may be gone with our
	   data: that is judged by the peer's silence, below. */
	if (window_closed(s) && answers_probes(s) &&
	    (int64_t)s->last_data_sent_ms >= p->stall_timeout_ms)
		return (verdict_dead(v, WD_ZERO_WINDOW_STALL, 0,
		    s->last_data_sent_ms, true, "peer window %s for %" PRIu32
		    " ms, %" PRIu32 " bytes waiting",
		    s->snd_wnd_known && s->snd_wnd == 0 ? "zero" : "closed",
		    s->last_data_sent_ms, s->notsent_bytes));
	if (window_closed(s) && !answers_probes(s) &&
	    judged >= p->user_timeout_ms)
		return (verdict_dead(v, WD_ACK_TIMEOUT, 0, silence, true,
		    "peer silent %" PRId64 " ms, %u window probes unanswered, "
		    "%" PRIu32 " bytes waiting", silence, s->probes,
		    s->notsent_bytes));

	/* A writer stuck in send() covers what the sample cannot show (no
	   tcpi_snd_wnd before Linux 5.4, a window below one segment). But the
	   peer may be gone: with data in flight and no ACK since the writer
	   got stuck, or with probes unanswered, the rules on silence decide. */
	stall = age_ms(now_ms, ls->tx_progress_ms);
	if (ls->tx_busy && s->outq_bytes > 0 && stall >= p->stall_timeout_ms &&
	    (in_flight(s) ? s->last_ack_recv_ms < stall : answers_probes(s)))
		return (verdict_dead(v, WD_ZERO_WINDOW_STALL, 0, stall, false,
		    "writer stuck %" PRId64 " ms with %" PRIu32 " bytes, %"
		    PRIu32 " queued", stall, ls->tx_pending_bytes,
		    s->outq_bytes));

	/* Data in flight, peer silent: what TCP_USER_TIMEOUT measures. Not
	   last_ack_recv alone: data acknowledging nothing new takes the fast
	   path past tcp_ack(), so a talking peer may show an old last ACK.
	   The config check keeps user_timeout_ms >= the idle budget, so the
	   silence of a quiet healthy link before we wrote cannot reach it. */
	if (in_flight(s) && !(s->snd_wnd_known && s->snd_wnd == 0) &&
	    judged >= p->user_timeout_ms)
		return (verdict_dead(v, WD_ACK_TIMEOUT, 0, silence, true,
		    "%" PRIu32 " bytes unacknowledged, peer silent %" PRId64
		    " ms, %u retransmissions", in_flight_bytes(s), silence,
		    s->retransmits));

	/* Keepalive runs only with nothing queued (tcp_keepalive_timer()).
	   A peer that answers refreshes last_ack_recv every idle_s, so a
	   quiet healthy link stays under idle_s + interval_s: never dead. */
	if (s->outq_bytes == 0 && s->unacked == 0 &&
	    judged >= wd_budget_ms(p, WD_KEEPALIVE_TIMEOUT))
		return (verdict_dead(v, WD_KEEPALIVE_TIMEOUT, 0, silence, false,
		    "%u probes unanswered, peer silent %" PRId64 " ms",
		    s->probes, silence));

	/* On the links the device talks on. Data the reader has not drained
	   yet counts: the device did talk. */
	if (p->rx_silence_ms > 0 && wd_reads_device(role)) {
		rx = min_ms(min_ms(s->last_data_recv_ms,
		    age_ms(now_ms, ls->rx_last_ms)), age_ms(now_ms, ls->up_ms));
		if (rx >= p->rx_silence_ms)
			return (verdict_dead(v, WD_RX_SILENCE, 0, rx, false,
			    "nothing received for %" PRId64 " ms", rx));
	}
	return (false);
}

int64_t
wd_budget_ms(const struct wd_policy *p, enum wd_reason r)
{
	switch (r) {
	case WD_KEEPALIVE_TIMEOUT:
		return (((int64_t)p->keepalive_idle_s +
		    (int64_t)p->keepalive_interval_s * p->keepalive_count) *
		    1000);
	case WD_ACK_TIMEOUT:
		return (p->user_timeout_ms);
	case WD_ZERO_WINDOW_STALL:
		return (p->stall_timeout_ms);
	case WD_RX_SILENCE:
		return (p->rx_silence_ms > 0 ? p->rx_silence_ms : -1);
	case WD_PEER_CLOSED:
	case WD_PEER_RESET:
	case WD_SOCKET_ERROR:
		return (0);
	default:
		return (-1);
	}
}

/* With TCP_USER_TIMEOUT set the kernel ends an idle link once it has been
   that silent with a probe out (tcp_keepalive_timer()), so the smaller
   budget is the one that holds. */
int64_t
wd_blip_tolerance_ms(const struct wd_policy *p)
{
	return (min_ms(wd_budget_ms(p, WD_KEEPALIVE_TIMEOUT),
	    wd_budget_ms(p, WD_ACK_TIMEOUT)) -
	    ((int64_t)p->keepalive_idle_s + p->keepalive_interval_s) * 1000);
}

void
wd_budgets(const struct wd_policy *p, enum wd_role role, int64_t period_ms,
    struct wd_budgets *b)
{
	int64_t	rx = wd_budget_ms(p, WD_RX_SILENCE);

	b->idle_ms = wd_budget_ms(p, WD_KEEPALIVE_TIMEOUT) + period_ms;
	b->in_flight_ms = role == WD_ROLE_RX ? -1 :
	    wd_budget_ms(p, WD_ACK_TIMEOUT) + period_ms;
	b->stall_ms = role == WD_ROLE_RX ? -1 :
	    wd_budget_ms(p, WD_ZERO_WINDOW_STALL) + period_ms;
	b->close_ms = wd_budget_ms(p, WD_PEER_CLOSED) + period_ms;
	b->rx_silence_ms = rx < 0 || !wd_reads_device(role) ? -1 :
	    rx + period_ms;
	b->blip_ms = wd_blip_tolerance_ms(p);
}

/* ETIMEDOUT names no cause: the keepalive, retransmission (TCP_USER_TIMEOUT,
   tcp_retries2) and zero-window probe timers all end in it. What was queued
   tells which, and an abort leaves that readable (see probe.c). */
enum wd_reason
wd_timeout_reason(const struct wd_sample *s)
{
	if (window_closed(s) && answers_probes(s))
		return (WD_ZERO_WINDOW_STALL);
	return (in_flight(s) || window_closed(s) ? WD_ACK_TIMEOUT :
	    WD_KEEPALIVE_TIMEOUT);
}

/* Reading SO_ERROR cleared it: it becomes the reason now or is lost. After
   ICMP errors the kernel reports them instead of ETIMEDOUT (tcp_write_err()
   prefers sk_err_soft): socket_error, as the contract says. */
static bool
judge_error(const struct wd_sample *s, int64_t silence, struct wd_verdict *v)
{
	enum wd_reason	r;
	char		buf[64];

	if (s->so_error != ETIMEDOUT)
		return (verdict_dead(v, wd_reason_from_errno(s->so_error),
		    s->so_error, silence, false, "%s",
		    strerror_r(s->so_error, buf, sizeof(buf))));
	if ((r = wd_timeout_reason(s)) == WD_ZERO_WINDOW_STALL)
		return (verdict_dead(v, r, ETIMEDOUT, s->last_data_sent_ms, true,
		    "kernel timeout, peer window closed, %" PRIu32 " bytes "
		    "waiting, %u probes unanswered", s->notsent_bytes,
		    s->probes));
	return (verdict_dead(v, r, ETIMEDOUT, silence, true, "kernel timeout, %u "
	    "probes unanswered, %" PRIu32 " bytes unacknowledged", s->probes,
	    in_flight_bytes(s)));
}

static bool
verdict_dead(struct wd_verdict *v, enum wd_reason r, int err,
    int64_t silence_ms, bool names_queue, const char *fmt, ...)
{
	va_list	ap;

	v->dead = true;
	v->reason = r;
	v->err = err;
	v->silence_ms = silence_ms;
	v->names_queue = names_queue;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
	return (true);
}

/* tcpi_unacked is 0 once an abort purged the queue; SIOCOUTQ - SIOCOUTQNSD
   (snd_nxt - snd_una) survives it. */
static bool
in_flight(const struct wd_sample *s)
{
	return (s->unacked > 0 || in_flight_bytes(s) > 0);
}

/* Clamped: the two ioctls are two reads of a moving queue. */
static uint32_t
in_flight_bytes(const struct wd_sample *s)
{
	return (s->outq_bytes > s->notsent_bytes ?
	    s->outq_bytes - s->notsent_bytes : 0);
}

/* Data waits and the peer's window holds it back: the window is zero, or
   nothing is in flight, which lasts only while it is too small to use. */
static bool
window_closed(const struct wd_sample *s)
{
	return (s->notsent_bytes > 0 &&
	    (!in_flight(s) || (s->snd_wnd_known && s->snd_wnd == 0)));
}

/* The peer answers our probes: every ACK zeroes tcpi_probes, so at most
   the one just sent is outstanding. */
static bool
answers_probes(const struct wd_sample *s)
{
	return (s->probes <= 1);
}

/* Clamped at 0: the stamps and now_ms are different reads of the clock. */
static int64_t
age_ms(int64_t now_ms, int64_t then_ms)
{
	return (now_ms > then_ms ? now_ms - then_ms : 0);
}

static int64_t
min_ms(int64_t a, int64_t b)
{
	return (a < b ? a : b);
}
