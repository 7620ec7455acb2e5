// Unit tests for the errno -> link result mapping and the reason mapping.
#include <gtest/gtest.h>

#include <errno.h>

#include "link.h"
#include "log.h"
#include "reason.h"

struct io_case {
	ssize_t		rc;
	int		err;
	enum link_io	want;
};

TEST(LinkIo, ErrnoMapping)
{
	const struct io_case cases[] = {
		{ 10, 0, LINK_OK },
		{ 1, EAGAIN, LINK_OK },
		{ 0, 0, LINK_CLOSED },
		{ -1, EAGAIN, LINK_TIMEOUT },	// SO_RCVTIMEO/SO_SNDTIMEO expiry
		{ -1, EWOULDBLOCK, LINK_TIMEOUT },
		{ -1, ECONNRESET, LINK_RESET },
		{ -1, EPIPE, LINK_RESET },
		{ -1, ECONNABORTED, LINK_RESET },
		{ -1, ETIMEDOUT, LINK_ERROR },	// keepalive / user timeout
		{ -1, EHOSTUNREACH, LINK_ERROR },
		{ -1, ENETUNREACH, LINK_ERROR },
		{ -1, EBADF, LINK_ERROR },
	};
	for (const auto &c : cases)
		EXPECT_EQ(link_io_from(c.rc, c.err), c.want)
		    << "rc " << c.rc << " errno " << c.err;
}

TEST(LinkIo, ReasonFromErrno)
{
	EXPECT_EQ(wd_reason_from_errno(ECONNRESET), WD_PEER_RESET);
	EXPECT_EQ(wd_reason_from_errno(EPIPE), WD_PEER_RESET);
	EXPECT_EQ(wd_reason_from_errno(ETIMEDOUT), WD_KEEPALIVE_TIMEOUT);
	EXPECT_EQ(wd_reason_from_errno(EHOSTUNREACH), WD_SOCKET_ERROR);
	EXPECT_STREQ(wd_reason_str(WD_ZERO_WINDOW_STALL), "zero_window_stall");
	EXPECT_STREQ(wd_reason_str(WD_REASON_COUNT), "unknown");
}

TEST(LinkIo, TimeoutReasonFromTheWatchdogsLastSample)
{
	struct link_sync sync;
	struct cfg_endpoint ep = {};
	struct cfg_policy pol = {};
	struct link l;

	link_sync_init(&sync);
	link_init(&l, "dev", LINK_KIND_DEVICE, &ep, &pol, &sync);
	// No sample at all, and no socket to probe: keepalive_timeout.
	EXPECT_EQ(link_reason_for_errno(&l, -1, ETIMEDOUT), WD_KEEPALIVE_TIMEOUT);
	// Data was in flight when the watchdog last looked.
	l.last_sample = {};
	l.last_sample.state = WD_TCP_ESTABLISHED;
	l.last_sample.unacked = 2;
	l.last_sample.outq_bytes = 1840;
	l.have_sample = true;
	EXPECT_EQ(link_reason_for_errno(&l, -1, ETIMEDOUT), WD_ACK_TIMEOUT);
	// Data waited behind a closed window.
	l.last_sample = {};
	l.last_sample.state = WD_TCP_ESTABLISHED;
	l.last_sample.outq_bytes = 9000;
	l.last_sample.notsent_bytes = 9000;
	l.last_sample.snd_wnd_known = true;
	l.last_sample.snd_wnd = 0;
	EXPECT_EQ(link_reason_for_errno(&l, -1, ETIMEDOUT), WD_ZERO_WINDOW_STALL);
	// Other errors need no sample.
	EXPECT_EQ(link_reason_for_errno(&l, -1, ECONNRESET), WD_PEER_RESET);
	EXPECT_EQ(link_reason_for_errno(&l, -1, EHOSTUNREACH), WD_SOCKET_ERROR);
	link_destroy(&l);
	link_sync_destroy(&sync);
}

TEST(LogLimit, SuppressesWithinWindowAndCounts)
{
	struct log_limit ll = {};
	unsigned n;

	ll.window_ms = 1000;
	EXPECT_TRUE(log_limit_allow(&ll, 0, &n));
	EXPECT_EQ(n, 0u);
	for (int i = 1; i <= 57; i++)
		EXPECT_FALSE(log_limit_allow(&ll, i * 10, &n));
	EXPECT_TRUE(log_limit_allow(&ll, 1000, &n));
	EXPECT_EQ(n, 57u);
	EXPECT_STREQ(log_suppressed(57), " (suppressed 57 similar)");
	EXPECT_STREQ(log_suppressed(0), "");
	EXPECT_FALSE(log_limit_allow(&ll, 1001, &n));
	EXPECT_EQ(log_limit_reset(&ll), 1u);
	EXPECT_TRUE(log_limit_allow(&ll, 1002, &n));
}
