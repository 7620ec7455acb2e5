// test_verdict.cc -- the liveness rules, from tables, without sockets.
#include <errno.h>
#include <string.h>

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "verdict.h"

namespace {

// A role as the failure messages name it.
const char *
role_name(enum wd_role r)
{
	static const char *const names[WD_ROLE_COUNT] = {
		"device", "rx", "tx", "upstream" };
	return r >= 0 && r < WD_ROLE_COUNT ? names[r] : "unknown";
}

const int64_t kNow = 10000000;		// ms on the caller's clock
const uint32_t kHour = 3600000;

// idle budget (2 + 1 * 3) s = 5000 ms; user timeout 6000; stall 4000.
const struct wd_policy kPolicy = { 2, 1, 3, 6000, 4000, 0 };

enum { BIDIR = 1, RX = 2, TX = 4, UPSTREAM = 8, ALL = 15, READERS = 11,
    WRITERS = 13, DEVICE_READERS = 3 };

const enum wd_role kRoles[] = { WD_ROLE_BIDIR, WD_ROLE_RX, WD_ROLE_TX,
    WD_ROLE_UPSTREAM };

struct world {
	struct wd_sample	s;
	struct wd_link_state	ls;
	struct wd_policy	p;
};

// A healthy established link, up for an hour, that heard from its peer
// 50 ms ago and has nothing queued.
struct world
healthy()
{
	struct world w;

	memset(&w, 0, sizeof(w));
	w.s.state = WD_TCP_ESTABLISHED;
	w.s.last_data_sent_ms = 50;
	w.s.last_data_recv_ms = 50;
	w.s.last_ack_recv_ms = 50;
	w.s.snd_wnd_known = true;
	w.s.snd_wnd = 65535;
	w.ls.up = true;
	w.ls.up_ms = w.ls.judged_from_ms = kNow - kHour;
	w.ls.rx_last_ms = kNow - 50;
	w.ls.tx_progress_ms = kNow - 50;
	w.p = kPolicy;
	return w;
}

void
silent(struct world &w, uint32_t ms)
{
	w.s.last_data_recv_ms = w.s.last_ack_recv_ms = ms;
	w.ls.rx_last_ms = kNow - ms;
}

// bytes sent, not acknowledged
void
in_flight(struct world &w, uint32_t bytes)
{
	w.s.unacked = (bytes + 1447) / 1448;
	w.s.outq_bytes = bytes;
	w.s.notsent_bytes = 0;
}

// bytes waiting behind a zero window, nothing in flight, for ms
void
zero_window(struct world &w, uint32_t bytes, uint32_t ms)
{
	w.s.snd_wnd = 0;
	w.s.unacked = 0;
	w.s.outq_bytes = w.s.notsent_bytes = bytes;
	w.s.last_data_sent_ms = ms;
}

// what an abort leaves: CLOSE, queue purged (tcpi_unacked 0), SIOCOUTQ kept
void
aborted(struct world &w, int err)
{
	w.s.state = WD_TCP_CLOSE;
	w.s.so_error = err;
	w.s.unacked = 0;
}

// the writer has been inside send() for ms, holding bytes
void
writer_stuck(struct world &w, int64_t ms, uint32_t bytes)
{
	w.ls.tx_busy = true;
	w.ls.tx_progress_ms = kNow - ms;
	w.ls.tx_pending_bytes = bytes;
}

struct row {
	const char	*name;
	int		 roles;
	void		(*setup)(struct world &);
	bool		 dead;
	enum wd_reason	 reason;
	int		 err;
};

#define ALIVE	false, WD_REASON_NONE, 0
#define DEAD	true

const struct row kRows[] = {
	/* Nothing to judge. */
	{ "fresh link", ALL, [](world &) {}, ALIVE },
	{ "not up, even with an error pending", ALL, [](world &w) {
		w.ls.up = false; aborted(w, ECONNRESET); silent(w, kHour); },
	    ALIVE },
	{ "connecting: SYN_SENT", ALL, [](world &w) {
		w.s.state = WD_TCP_SYN_SENT; silent(w, kHour); }, ALIVE },
	{ "SYN_RECV", ALL, [](world &w) {
		w.s.state = WD_TCP_SYN_RECV; silent(w, kHour); }, ALIVE },
	{ "NEW_SYN_RECV", ALL, [](world &w) {
		w.s.state = WD_TCP_NEW_SYN_RECV; silent(w, kHour); }, ALIVE },
	{ "LISTEN", ALL, [](world &w) {
		w.s.state = WD_TCP_LISTEN; silent(w, kHour); }, ALIVE },
	{ "unknown state", ALL, [](world &w) {
		w.s.state = WD_TCP_UNKNOWN; silent(w, kHour); }, ALIVE },
	{ "we shut it down: FIN_WAIT1", ALL, [](world &w) {
		w.s.state = WD_TCP_FIN_WAIT1; in_flight(w, 100);
		silent(w, kHour); }, ALIVE },
	{ "we shut it down: FIN_WAIT2", ALL, [](world &w) {
		w.s.state = WD_TCP_FIN_WAIT2; silent(w, kHour); }, ALIVE },
	{ "we shut it down: TIME_WAIT", ALL, [](world &w) {
		w.s.state = WD_TCP_TIME_WAIT; silent(w, kHour); }, ALIVE },
	{ "we shut it down: LAST_ACK", ALL, [](world &w) {
		w.s.state = WD_TCP_LAST_ACK; silent(w, kHour); }, ALIVE },
	{ "we shut it down: CLOSING", ALL, [](world &w) {
		w.s.state = WD_TCP_CLOSING; silent(w, kHour); }, ALIVE },

	/* 1. A pending error decides, whatever else the sample says. */
	{ "RST: ECONNRESET", ALL, [](world &w) { aborted(w, ECONNRESET); },
	    DEAD, WD_PEER_RESET, ECONNRESET },
	{ "RST in CLOSE_WAIT: EPIPE", ALL, [](world &w) {
		aborted(w, EPIPE); }, DEAD, WD_PEER_RESET, EPIPE },
	{ "ECONNABORTED", ALL, [](world &w) { aborted(w, ECONNABORTED); },
	    DEAD, WD_PEER_RESET, ECONNABORTED },
	{ "EHOSTUNREACH", ALL, [](world &w) { aborted(w, EHOSTUNREACH); },
	    DEAD, WD_SOCKET_ERROR, EHOSTUNREACH },
	{ "ENETUNREACH", ALL, [](world &w) { aborted(w, ENETUNREACH); },
	    DEAD, WD_SOCKET_ERROR, ENETUNREACH },
	{ "error on a sample that still looks established", ALL, [](world &w) {
		w.s.so_error = ECONNRESET; }, DEAD, WD_PEER_RESET, ECONNRESET },
	{ "error beats CLOSE_WAIT", ALL, [](world &w) {
		w.s.state = WD_TCP_CLOSE_WAIT; w.s.so_error = EPIPE; },
	    DEAD, WD_PEER_RESET, EPIPE },
	{ "error consumed while closing ourselves is still recorded", ALL,
	    [](world &w) { w.s.state = WD_TCP_FIN_WAIT1;
		w.s.so_error = ECONNRESET; }, DEAD, WD_PEER_RESET, ECONNRESET },
	{ "ETIMEDOUT, nothing queued: keepalive", ALL, [](world &w) {
		aborted(w, ETIMEDOUT); silent(w, 5000); w.s.probes = 3; },
	    DEAD, WD_KEEPALIVE_TIMEOUT, ETIMEDOUT },
	{ "ETIMEDOUT, data in flight (purged): ack", ALL, [](world &w) {
		in_flight(w, 1840); aborted(w, ETIMEDOUT); silent(w, 6000); },
	    DEAD, WD_ACK_TIMEOUT, ETIMEDOUT },
	{ "ETIMEDOUT, tcpi_unacked still set: ack", ALL, [](world &w) {
		in_flight(w, 1840); w.s.so_error = ETIMEDOUT; },
	    DEAD, WD_ACK_TIMEOUT, ETIMEDOUT },
	{ "ETIMEDOUT, in flight and more unsent, window open: ack", ALL,
	    [](world &w) { in_flight(w, 3000); w.s.notsent_bytes = 1000;
		aborted(w, ETIMEDOUT); }, DEAD, WD_ACK_TIMEOUT, ETIMEDOUT },
	{ "ETIMEDOUT, zero window: stall", ALL, [](world &w) {
		zero_window(w, 9000, 6000); aborted(w, ETIMEDOUT);
		silent(w, 200); }, DEAD, WD_ZERO_WINDOW_STALL, ETIMEDOUT },
	{ "ETIMEDOUT, zero window, data in flight too: stall", ALL,
	    [](world &w) { zero_window(w, 9000, 6000); w.s.outq_bytes += 500;
		aborted(w, ETIMEDOUT); }, DEAD, WD_ZERO_WINDOW_STALL, ETIMEDOUT },
	{ "ETIMEDOUT, snd_wnd unknown, unsent and nothing in flight: stall",
	    ALL, [](world &w) { zero_window(w, 9000, 6000);
		w.s.snd_wnd_known = false; aborted(w, ETIMEDOUT); },
	    DEAD, WD_ZERO_WINDOW_STALL, ETIMEDOUT },

	/* 2. FIN. */
	{ "CLOSE_WAIT", ALL, [](world &w) { w.s.state = WD_TCP_CLOSE_WAIT; },
	    DEAD, WD_PEER_CLOSED, 0 },
	{ "CLOSE_WAIT with bytes unread on tx: nobody will read them", TX,
	    [](world &w) { w.s.state = WD_TCP_CLOSE_WAIT; w.s.inq_bytes = 5; },
	    DEAD, WD_PEER_CLOSED, 0 },
	{ "CLOSE_WAIT with bytes unread: the reader drains them first",
	    READERS, [](world &w) {
		w.s.state = WD_TCP_CLOSE_WAIT; w.s.inq_bytes = 5; }, ALIVE },
	{ "CLOSE_WAIT beats a zero-window stall", ALL, [](world &w) {
		w.s.state = WD_TCP_CLOSE_WAIT; zero_window(w, 9000, kHour); },
	    DEAD, WD_PEER_CLOSED, 0 },
	{ "CLOSE_WAIT beats keepalive and rx_silence", ALL, [](world &w) {
		w.s.state = WD_TCP_CLOSE_WAIT; silent(w, kHour);
		w.p.rx_silence_ms = 1000; }, DEAD, WD_PEER_CLOSED, 0 },
	{ "CLOSE, error already taken: its taker reports it", ALL,
	    [](world &w) { aborted(w, 0); }, ALIVE },

	/* 3a. Zero window. */
	{ "zero window for stall_timeout_ms", ALL, [](world &w) {
		zero_window(w, 9000, 4000); }, DEAD, WD_ZERO_WINDOW_STALL, 0 },
	{ "zero window just under stall_timeout_ms", ALL, [](world &w) {
		zero_window(w, 9000, 3999); }, ALIVE },
	{ "zero window, nothing waiting: no stall", ALL, [](world &w) {
		zero_window(w, 0, kHour); }, ALIVE },
	{ "window closed, snd_wnd unknown (< 5.4)", ALL, [](world &w) {
		zero_window(w, 9000, 4000); w.s.snd_wnd_known = false; },
	    DEAD, WD_ZERO_WINDOW_STALL, 0 },
	{ "window below one segment: unsent, nothing in flight", ALL,
	    [](world &w) { zero_window(w, 9000, 4000); w.s.snd_wnd = 100; },
	    DEAD, WD_ZERO_WINDOW_STALL, 0 },
	{ "zero window, the probe just sent not yet answered: a stall", ALL,
	    [](world &w) { zero_window(w, 9000, 4000); w.s.probes = 1; },
	    DEAD, WD_ZERO_WINDOW_STALL, 0 },
	/* A peer that stops answering zero-window probes may be gone with
	   our data (cable pulled while the window was closed): not a stall
	   of a live peer; its silence decides, against user_timeout_ms. */
	{ "zero window, probes unanswered, peer silent < user_timeout", ALL,
	    [](world &w) { zero_window(w, 9000, 5999); silent(w, 5999);
		w.s.probes = 4; }, ALIVE },
	{ "zero window, probes unanswered, peer silent user_timeout: ack",
	    ALL, [](world &w) { zero_window(w, 9000, 6000); silent(w, 6000);
		w.s.probes = 4; }, DEAD, WD_ACK_TIMEOUT, 0 },
	{ "window closed (< 5.4), probes unanswered, silent: ack", ALL,
	    [](world &w) { zero_window(w, 9000, 7000); silent(w, 7000);
		w.s.snd_wnd_known = false; w.s.probes = 2; },
	    DEAD, WD_ACK_TIMEOUT, 0 },
	{ "data queued: keepalive does not run, silence is no evidence", ALL,
	    [](world &w) { zero_window(w, 9000, 3999); silent(w, kHour); },
	    ALIVE },

	/* 3b. Stuck writer. */
	{ "writer stuck, peer acknowledging, data in flight", WRITERS,
	    [](world &w) { in_flight(w, 8000); w.s.notsent_bytes = 4000;
		w.s.outq_bytes = 12000; w.s.snd_wnd_known = false;
		writer_stuck(w, 4000, 512); },
	    DEAD, WD_ZERO_WINDOW_STALL, 0 },
	{ "writer stuck, nothing in flight, window closed recently", WRITERS,
	    [](world &w) { zero_window(w, 9000, 100);
		writer_stuck(w, 4000, 512); },
	    DEAD, WD_ZERO_WINDOW_STALL, 0 },
	{ "writer stuck just under stall_timeout_ms", WRITERS, [](world &w) {
		zero_window(w, 9000, 100); writer_stuck(w, 3999, 512); },
	    ALIVE },
	{ "writer stuck, kernel queue empty: not TCP's doing", WRITERS,
	    [](world &w) { writer_stuck(w, kHour, 512); }, ALIVE },
	{ "writer stuck, peer silent with data in flight: not yet", WRITERS,
	    [](world &w) { in_flight(w, 8000); writer_stuck(w, 4500, 512);
		silent(w, 4500); }, ALIVE },
	{ "writer stuck, peer silent for user_timeout_ms: ack", WRITERS,
	    [](world &w) { in_flight(w, 8000); writer_stuck(w, 6000, 512);
		silent(w, 6000); }, DEAD, WD_ACK_TIMEOUT, 0 },
	{ "writer progress stamped after now_ms", WRITERS, [](world &w) {
		zero_window(w, 9000, 100); writer_stuck(w, -500, 512); },
	    ALIVE },

	/* 3c. Unacknowledged data. */
	{ "in flight, silent for user_timeout_ms", ALL, [](world &w) {
		in_flight(w, 1840); silent(w, 6000); },
	    DEAD, WD_ACK_TIMEOUT, 0 },
	{ "in flight, silent just under user_timeout_ms", ALL, [](world &w) {
		in_flight(w, 1840); silent(w, 5999); }, ALIVE },
	{ "in flight by SIOCOUTQ only", ALL, [](world &w) {
		in_flight(w, 1840); w.s.unacked = 0; silent(w, 6000); },
	    DEAD, WD_ACK_TIMEOUT, 0 },
	{ "in flight by tcpi_unacked only", ALL, [](world &w) {
		w.s.unacked = 1; silent(w, 6000); }, DEAD, WD_ACK_TIMEOUT, 0 },
	{ "in flight, old last ACK but the peer talks", ALL, [](world &w) {
		in_flight(w, 1840); w.s.last_ack_recv_ms = kHour; },
	    ALIVE },
	{ "in flight, window zero: not an ack timeout", ALL, [](world &w) {
		in_flight(w, 1840); w.s.snd_wnd = 0; silent(w, kHour); },
	    ALIVE },
	{ "ack timeout beats rx_silence", ALL, [](world &w) {
		in_flight(w, 1840); silent(w, 6000); w.p.rx_silence_ms = 1000; },
	    DEAD, WD_ACK_TIMEOUT, 0 },

	/* 4. Keepalive. */
	{ "idle, silent for the idle budget", ALL, [](world &w) {
		silent(w, 5000); w.s.probes = 3; },
	    DEAD, WD_KEEPALIVE_TIMEOUT, 0 },
	{ "idle, silent just under the idle budget", ALL, [](world &w) {
		silent(w, 4999); w.s.probes = 2; }, ALIVE },
	{ "idle, probes answered, no data for an hour", ALL, [](world &w) {
		w.s.last_data_recv_ms = kHour; w.s.last_ack_recv_ms = 2000; },
	    ALIVE },
	{ "idle, stamps older than the link: bounded by its age", ALL,
	    [](world &w) { silent(w, 4000000000u); w.ls.up_ms = kNow - 1000; },
	    ALIVE },
	/* A reload shortened the budgets 1 s ago: the quiet the old ones
	   allowed is not held against the link. */
	{ "idle for a minute, a shorter policy since 1 s", ALL, [](world &w) {
		silent(w, 60000); w.s.probes = 1;
		w.ls.judged_from_ms = kNow - 1000; }, ALIVE },
	{ "idle for a minute, a shorter policy since its budget", ALL,
	    [](world &w) { silent(w, 60000); w.s.probes = 3;
		w.ls.judged_from_ms = kNow - 5000; },
	    DEAD, WD_KEEPALIVE_TIMEOUT, 0 },
	{ "first write after a minute's quiet, a shorter policy since 1 s",
	    ALL, [](world &w) { in_flight(w, 100); silent(w, 60000);
		w.ls.judged_from_ms = kNow - 1000; }, ALIVE },
	{ "keepalive beats rx_silence", READERS, [](world &w) {
		silent(w, 5000); w.p.rx_silence_ms = 1000; },
	    DEAD, WD_KEEPALIVE_TIMEOUT, 0 },

	/* 5. rx_silence. */
	{ "rx_silence 0 is off", ALL, [](world &w) {
		w.s.last_data_recv_ms = kHour; w.ls.rx_last_ms = kNow - kHour; },
	    ALIVE },
	{ "no data for rx_silence_ms on a read link", DEVICE_READERS, [](world &w) {
		w.p.rx_silence_ms = 3000; silent(w, 3000);
		w.s.last_ack_recv_ms = 10; }, DEAD, WD_RX_SILENCE, 0 },
	{ "no data just under rx_silence_ms", DEVICE_READERS, [](world &w) {
		w.p.rx_silence_ms = 3000; silent(w, 2999);
		w.s.last_ack_recv_ms = 10; }, ALIVE },
	{ "rx_silence never applies to tx", TX, [](world &w) {
		w.p.rx_silence_ms = 3000; silent(w, kHour);
		w.s.last_ack_recv_ms = 10; }, ALIVE },
	{ "nor to a host that only reads what the device says", UPSTREAM,
	    [](world &w) { w.p.rx_silence_ms = 3000; silent(w, kHour);
		w.s.last_ack_recv_ms = 10; }, ALIVE },
	{ "rx: the reader read recently, kernel stamp old", DEVICE_READERS,
	    [](world &w) { w.p.rx_silence_ms = 3000;
		w.s.last_data_recv_ms = kHour; w.s.last_ack_recv_ms = 10; },
	    ALIVE },
	{ "rx: data in the kernel the reader has not drained", DEVICE_READERS,
	    [](world &w) { w.p.rx_silence_ms = 3000;
		w.ls.rx_last_ms = kNow - kHour; w.s.inq_bytes = 10; },
	    ALIVE },
	{ "rx: nothing ever received on a fresh link", DEVICE_READERS,
	    [](world &w) { w.p.rx_silence_ms = 3000; w.ls.up_ms = kNow - 3000;
		w.ls.rx_last_ms = w.ls.up_ms; w.s.last_data_recv_ms = 3000; },
	    DEAD, WD_RX_SILENCE, 0 },
	/* The device's silence is what rx_silence judges, whenever it was
	   set: a shorter keepalive budget since does not excuse it. */
	{ "rx: silent for a minute, budgets shortened 1 s ago", DEVICE_READERS,
	    [](world &w) { w.p.rx_silence_ms = 3000; silent(w, 60000);
		w.s.last_ack_recv_ms = 10; w.ls.judged_from_ms = kNow - 1000; },
	    DEAD, WD_RX_SILENCE, 0 },
};

// A link found dead after a reload shortened its budgets: the detail and
// the detection time tell its whole silence, not the part since the reload.
TEST(Verdict, SilenceIsToldWholeAfterABudgetWasShortened)
{
	struct world w = healthy();
	struct wd_verdict v;

	silent(w, 60000);
	w.s.probes = 3;
	w.ls.judged_from_ms = kNow - 5000;
	ASSERT_TRUE(wd_judge(&w.s, WD_ROLE_BIDIR, &w.p, &w.ls, kNow, &v));
	EXPECT_EQ(v.reason, WD_KEEPALIVE_TIMEOUT);
	EXPECT_EQ(v.silence_ms, 60000);
	EXPECT_NE(strstr(v.detail, "peer silent 60000 ms"), nullptr) << v.detail;
}

TEST(Verdict, Table)
{
	struct wd_verdict v;

	for (const struct row &r : kRows) {
		for (size_t i = 0; i < sizeof(kRoles) / sizeof(kRoles[0]); i++) {
			if (!(r.roles & (1 << i)))
				continue;
			struct world w = healthy();
			r.setup(w);
			SCOPED_TRACE(std::string(r.name) + " / " +
			    role_name(kRoles[i]));
			memset(&v, 0x5a, sizeof(v));
			EXPECT_EQ(wd_judge(&w.s, kRoles[i], &w.p, &w.ls, kNow, &v),
			    r.dead);
			EXPECT_EQ(v.dead, r.dead);
			EXPECT_STREQ(wd_reason_str(v.reason),
			    wd_reason_str(r.reason));
			EXPECT_EQ(v.err, r.err);
			EXPECT_EQ(v.unacked_bytes, w.s.outq_bytes);
			EXPECT_GE(v.silence_ms, 0);
			EXPECT_LT(strlen(v.detail), sizeof(v.detail));
			if (r.dead)
				EXPECT_GT(strlen(v.detail), 0u);
			else
				EXPECT_STREQ(v.detail, "");
		}
	}
}

// Every reason code is reached by some row, on every role it can apply to;
// but operator, which a person gives (gwctl disconnect), never a sample.
TEST(Verdict, TableCoversEveryReason)
{
	std::set<int> seen;

	for (const struct row &r : kRows)
		if (r.dead)
			seen.insert(r.reason);
	EXPECT_FALSE(seen.count(WD_OPERATOR));
	for (int r = WD_REASON_NONE + 1; r < WD_REASON_COUNT; r++) {
		if (r != WD_OPERATOR) {
			EXPECT_TRUE(seen.count(r)) <<
			    wd_reason_str((enum wd_reason)r);
		}
	}
}

// One ms under each timer: alive; at it and past it: dead, for that reason.
struct boundary {
	const char	*name;
	int		 roles;
	enum wd_reason	 reason;
	void		(*at)(struct world &, int64_t);
};

const struct boundary kBoundaries[] = {
	{ "keepalive, idle", ALL, WD_KEEPALIVE_TIMEOUT,
	    [](world &w, int64_t t) { silent(w, (uint32_t)t); } },
	{ "ack, in flight", ALL, WD_ACK_TIMEOUT,
	    [](world &w, int64_t t) { in_flight(w, 100);
		silent(w, (uint32_t)t); } },
	{ "zero window", ALL, WD_ZERO_WINDOW_STALL,
	    [](world &w, int64_t t) { zero_window(w, 100, (uint32_t)t); } },
	{ "stuck writer", WRITERS, WD_ZERO_WINDOW_STALL,
	    [](world &w, int64_t t) { in_flight(w, 100);
		w.s.snd_wnd_known = false; writer_stuck(w, t, 100); } },
	{ "rx_silence", DEVICE_READERS, WD_RX_SILENCE,
	    [](world &w, int64_t t) { w.p.rx_silence_ms = 1500;
		silent(w, (uint32_t)t); w.s.last_ack_recv_ms = 0; } },
};

TEST(Verdict, Boundaries)
{
	struct wd_verdict v;

	for (const struct boundary &b : kBoundaries) {
		for (size_t i = 0; i < sizeof(kRoles) / sizeof(kRoles[0]); i++) {
			if (!(b.roles & (1 << i)))
				continue;
			struct world w0 = healthy();
			b.at(w0, 0);
			int64_t budget = wd_budget_ms(&w0.p, b.reason);
			ASSERT_GT(budget, 0);
			for (int64_t t : { (int64_t)0, budget / 2, budget - 1,
			    budget, budget + 1, budget * 10 }) {
				struct world w = healthy();
				b.at(w, t);
				SCOPED_TRACE(std::string(b.name) + " / " +
				    role_name(kRoles[i]) + " at " +
				    std::to_string(t) + " ms");
				bool dead = wd_judge(&w.s, kRoles[i], &w.p, &w.ls,
				    kNow, &v);
				EXPECT_EQ(dead, t >= budget) << v.detail;
				if (t >= budget) {
					EXPECT_EQ(v.reason, b.reason) << v.detail;
					EXPECT_EQ(v.silence_ms, t);
				}
			}
		}
	}
}

// A quiet healthy link is never dead: its peer answers every probe, so the
// silence never passes idle_s plus an RTT, or plus interval_s when a probe
// was lost. Even up to the last ms under the budget it is alive, on every
// role, with data not heard of for hours.
TEST(Verdict, QuietHealthyLinkNeverDead)
{
	struct wd_verdict v;
	int64_t budget = wd_budget_ms(&kPolicy, WD_KEEPALIVE_TIMEOUT);

	for (enum wd_role role : kRoles) {
		for (int64_t t = 0; t < budget; t++) {
			struct world w = healthy();
			w.s.last_data_recv_ms = 10 * kHour;
			w.s.last_data_sent_ms = 10 * kHour;
			w.ls.rx_last_ms = kNow - 10 * kHour;
			w.s.last_ack_recv_ms = (uint32_t)t;
			w.s.probes = t >= kPolicy.keepalive_idle_s * 1000 ?
			    (uint8_t)((t / 1000) - kPolicy.keepalive_idle_s + 1) :
			    0;
			ASSERT_FALSE(wd_judge(&w.s, role, &w.p, &w.ls, kNow, &v))
			    << role_name(role) << " at " << t << " ms: "
			    << v.detail;
			ASSERT_EQ(v.silence_ms, t);
		}
	}
}

TEST(Verdict, Detail)
{
	struct wd_verdict v;
	struct world w;

	w = healthy();
	zero_window(w, 9000, 5200);
	ASSERT_TRUE(wd_judge(&w.s, WD_ROLE_TX, &w.p, &w.ls, kNow, &v));
	EXPECT_NE(strstr(v.detail, "peer window zero for 5200 ms"), nullptr)
	    << v.detail;
	EXPECT_EQ(v.silence_ms, 5200);

	w = healthy();
	in_flight(w, 1840);
	aborted(w, ETIMEDOUT);
	w.s.probes = 3;
	ASSERT_TRUE(wd_judge(&w.s, WD_ROLE_TX, &w.p, &w.ls, kNow, &v));
	EXPECT_NE(strstr(v.detail, "3 probes unanswered, 1840 bytes "
	    "unacknowledged"), nullptr) << v.detail;
	EXPECT_EQ(v.unacked_bytes, 1840u);

	w = healthy();
	silent(w, 7000);
	w.s.probes = 3;
	ASSERT_TRUE(wd_judge(&w.s, WD_ROLE_RX, &w.p, &w.ls, kNow, &v));
	EXPECT_NE(strstr(v.detail, "3 probes unanswered, peer silent 7000 ms"),
	    nullptr) << v.detail;
	EXPECT_EQ(v.silence_ms, 7000);

	w = healthy();
	aborted(w, ECONNRESET);
	ASSERT_TRUE(wd_judge(&w.s, WD_ROLE_BIDIR, &w.p, &w.ls, kNow, &v));
	EXPECT_STREQ(v.detail, strerror(ECONNRESET));

	w = healthy();
	w.s.state = WD_TCP_CLOSE_WAIT;
	ASSERT_TRUE(wd_judge(&w.s, WD_ROLE_TX, &w.p, &w.ls, kNow, &v));
	EXPECT_STREQ(v.detail, "FIN from peer");
}

// Huge values do not overflow the detail buffer.
TEST(Verdict, DetailTruncates)
{
	struct wd_verdict v;
	struct world w = healthy();

	zero_window(w, UINT32_MAX, UINT32_MAX);
	w.s.probes = 1;
	writer_stuck(w, INT64_MAX / 2, UINT32_MAX);
	ASSERT_TRUE(wd_judge(&w.s, WD_ROLE_TX, &w.p, &w.ls, kNow, &v));
	EXPECT_EQ(v.reason, WD_ZERO_WINDOW_STALL);
	EXPECT_LT(strlen(v.detail), sizeof(v.detail));

	silent(w, UINT32_MAX);
	w.s.probes = UINT8_MAX;
	ASSERT_TRUE(wd_judge(&w.s, WD_ROLE_TX, &w.p, &w.ls, kNow, &v));
	EXPECT_EQ(v.reason, WD_ACK_TIMEOUT);
	EXPECT_LT(strlen(v.detail), sizeof(v.detail));
}

// The owner's recv()/send() may take an ETIMEDOUT before the watchdog: the
// same refinement from the last sample, and the same answer as wd_judge().
TEST(Verdict, TimeoutReason)
{
	const struct {
		const char	*name;
		void		(*setup)(struct world &);
		enum wd_reason	 reason;
	} cases[] = {
		{ "nothing queued", [](world &) {}, WD_KEEPALIVE_TIMEOUT },
		{ "in flight", [](world &w) { in_flight(w, 100); },
		    WD_ACK_TIMEOUT },
		{ "in flight, purged by the abort", [](world &w) {
			in_flight(w, 100); aborted(w, 0); }, WD_ACK_TIMEOUT },
		{ "zero window", [](world &w) { zero_window(w, 100, 0); },
		    WD_ZERO_WINDOW_STALL },
		{ "closed window, snd_wnd unknown", [](world &w) {
			zero_window(w, 100, 0); w.s.snd_wnd_known = false; },
		    WD_ZERO_WINDOW_STALL },
		{ "zero window, probes unanswered: the peer went silent",
		    [](world &w) { zero_window(w, 100, 0); w.s.probes = 5; },
		    WD_ACK_TIMEOUT },
	};
	struct wd_verdict v;

	for (const auto &c : cases) {
		struct world w = healthy();
		c.setup(w);
		EXPECT_EQ(wd_timeout_reason(&w.s), c.reason) << c.name;
	}
	for (const struct row &r : kRows) {
		struct world w = healthy();
		r.setup(w);
		if (w.s.so_error != ETIMEDOUT || !w.ls.up)
			continue;
		ASSERT_TRUE(wd_judge(&w.s, WD_ROLE_TX, &w.p, &w.ls, kNow, &v));
		EXPECT_EQ(wd_timeout_reason(&w.s), v.reason) << r.name;
	}
}

TEST(Verdict, Budgets)
{
	const struct {
		struct wd_policy	p;
		int64_t			idle, ack, stall, rx, blip;
	} cases[] = {
		// the shipped defaults: 2 s of blip survive
		{ { 2, 1, 3, 5000, 5000, 0 }, 5000, 5000, 5000, -1, 2000 },
		{ { 2, 1, 3, 6000, 4000, 2500 }, 5000, 6000, 4000, 2500, 2000 },
		// one probe: no blip survives
		{ { 2, 1, 1, 3000, 5000, 0 }, 3000, 3000, 5000, -1, 0 },
		// a user timeout under the idle budget shortens it (and -t warns)
		{ { 2, 1, 3, 4000, 5000, 0 }, 5000, 4000, 5000, -1, 1000 },
		{ { 10, 5, 3, 5000, 5000, 0 }, 25000, 5000, 5000, -1, -10000 },
		// Linux defaults: 7200 s idle, 75 s interval, 9 probes
		{ { 7200, 75, 9, 7875000, 60000, 0 }, 7875000, 7875000, 60000,
		    -1, 600000 },
	};

	for (const auto &c : cases) {
		EXPECT_EQ(wd_budget_ms(&c.p, WD_KEEPALIVE_TIMEOUT), c.idle);
		EXPECT_EQ(wd_budget_ms(&c.p, WD_ACK_TIMEOUT), c.ack);
		EXPECT_EQ(wd_budget_ms(&c.p, WD_ZERO_WINDOW_STALL), c.stall);
		EXPECT_EQ(wd_budget_ms(&c.p, WD_RX_SILENCE), c.rx);
		EXPECT_EQ(wd_budget_ms(&c.p, WD_PEER_CLOSED), 0);
		EXPECT_EQ(wd_budget_ms(&c.p, WD_PEER_RESET), 0);
		EXPECT_EQ(wd_budget_ms(&c.p, WD_SOCKET_ERROR), 0);
		EXPECT_EQ(wd_budget_ms(&c.p, WD_OPERATOR), -1);
		EXPECT_EQ(wd_budget_ms(&c.p, WD_REASON_NONE), -1);
		EXPECT_EQ(wd_budget_ms(&c.p, WD_REASON_COUNT), -1);
		EXPECT_EQ(wd_blip_tolerance_ms(&c.p), c.blip);
	}
}


}  // namespace
