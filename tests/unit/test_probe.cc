// test_probe.cc -- wd_probe() on real loopback TCP sockets.
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <functional>

#include <gtest/gtest.h>

#include "clock.h"
#include "probe.h"
#include "verdict.h"

namespace {

const int kDeadlineMs = 5000;

// Poll cond every 10 ms until it holds or deadline_ms pass.
bool
eventually(const std::function<bool()> &cond, int deadline_ms = kDeadlineMs)
{
	int64_t end = clock_ms() + deadline_ms;

	for (;;) {
		if (cond())
			return true;
		if (clock_ms() >= end)
			return false;
		poll(nullptr, 0, 10);
	}
}

// Wait until fd has any of events, within the deadline.
bool
wait_fd(int fd, short events, int deadline_ms = kDeadlineMs)
{
	struct pollfd pfd = { fd, events, 0 };

	return poll(&pfd, 1, deadline_ms) == 1;
}

// Kernel >= 5.4 fills tcpi_snd_wnd.
bool
kernel_has_snd_wnd()
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) == -1 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 5 || (major == 5 && minor >= 4);
}

// A connected 127.0.0.1 pair: cli dialled, srv accepted. rcvbuf > 0 sets
// SO_RCVBUF on the listener, which the accepted socket inherits, so that
// the window is small from the handshake on.
class LoopbackPair : public ::testing::Test {
protected:
	int cli = -1, srv = -1;

	void
	open_pair(int rcvbuf = 0)
	{
		struct sockaddr_in a;
		socklen_t alen = sizeof(a);
		int lfd;

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ASSERT_NE(lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
		if (rcvbuf > 0) {
			ASSERT_EQ(setsockopt(lfd, SOL_SOCKET, SO_RCVBUF,
			    &rcvbuf, sizeof(rcvbuf)), 0);
		}
		ASSERT_EQ(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
		ASSERT_EQ(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
		ASSERT_EQ(listen(lfd, 1), 0);
		ASSERT_NE(cli = socket(AF_INET, SOCK_STREAM, 0), -1);
		ASSERT_EQ(connect(cli, (struct sockaddr *)&a, sizeof(a)), 0);
		ASSERT_TRUE(wait_fd(lfd, POLLIN));
		ASSERT_NE(srv = accept(lfd, nullptr, nullptr), -1);
		close(lfd);
	}

	void
	TearDown() override
	{
		if (cli != -1)
			close(cli);
		if (srv != -1)
			close(srv);
	}

	// Close srv with SO_LINGER {1, 0}: the kernel sends RST, not FIN.
	void
	reset_srv()
	{
		struct linger l = { 1, 0 };

		ASSERT_EQ(setsockopt(srv, SOL_SOCKET, SO_LINGER, &l,
		    sizeof(l)), 0);
		close(srv);
		srv = -1;
	}

	struct wd_sample
	sample(int fd)
	{
		struct wd_sample s;

		memset(&s, 0, sizeof(s));
		EXPECT_EQ(wd_probe(fd, &s), 0) << strerror(errno);
		return s;
	}
};

TEST_F(LoopbackPair, Established)
{
	ASSERT_NO_FATAL_FAILURE(open_pair());
	struct wd_sample s = sample(cli);

	EXPECT_EQ(s.state, WD_TCP_ESTABLISHED);
	EXPECT_EQ(s.so_error, 0);
	EXPECT_EQ(s.unacked, 0u);
	EXPECT_EQ(s.outq_bytes, 0u);
	EXPECT_EQ(s.notsent_bytes, 0u);
	EXPECT_EQ(s.inq_bytes, 0u);
	EXPECT_EQ(s.probes, 0);
	// The stamps start at the handshake: a fresh link is not silent.
	EXPECT_LT(s.last_data_recv_ms, (uint32_t)kDeadlineMs);
	EXPECT_LT(s.last_ack_recv_ms, (uint32_t)kDeadlineMs);
	EXPECT_LT(s.last_data_sent_ms, (uint32_t)kDeadlineMs);
	EXPECT_EQ(s.snd_wnd_known, kernel_has_snd_wnd());
	if (s.snd_wnd_known) {
		EXPECT_GT(s.snd_wnd, 0u);
	}
	EXPECT_EQ(s.state, WD_TCP_ESTABLISHED);
}

// SIOCOUTQ counts what the peer has not acknowledged, not what it has not
// read: the peer's kernel acknowledges bytes its application never reads.
TEST_F(LoopbackPair, UnreadButAcknowledged)
{
	char buf[1000];

	ASSERT_NO_FATAL_FAILURE(open_pair());
	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ(send(cli, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	EXPECT_TRUE(eventually([&] {
		return sample(cli).outq_bytes == 0 &&
		    sample(srv).inq_bytes == sizeof(buf);
	}));
	struct wd_sample s = sample(srv);
	EXPECT_LT(s.last_data_recv_ms, (uint32_t)kDeadlineMs);
}

// A peer that does not read closes its window. Then data waits unsent
// (SIOCOUTQNSD), nothing is in flight, tcpi_snd_wnd is 0, and the age of
// our last data segment grows while zero-window probes keep the last ACK
// young: the signature verdict.c relies on.
TEST_F(LoopbackPair, ZeroWindowFromNonReadingPeer)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	ASSERT_NO_FATAL_FAILURE(open_pair(4096));
	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ(fcntl(cli, F_SETFL, O_NONBLOCK), 0);
	while ((n = send(cli, buf, sizeof(buf), 0)) > 0)
		total += (size_t)n;
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_GT(total, 0u);

	struct wd_sample s;
	ASSERT_TRUE(eventually([&] {
		s = sample(cli);
		return s.notsent_bytes > 0 && s.outq_bytes == s.notsent_bytes &&
		    s.unacked == 0 && (!s.snd_wnd_known || s.snd_wnd == 0);
	}));
	EXPECT_EQ(s.state, WD_TCP_ESTABLISHED);
	EXPECT_EQ(s.so_error, 0);
	EXPECT_LE(s.outq_bytes, total);
	EXPECT_GT(sample(srv).inq_bytes, 0u);

	// Judged a stall once the window has stayed shut for stall_timeout_ms.
	struct wd_policy pol = { 1, 1, 3, 30000, 300, 0 };
	struct wd_link_state ls;
	struct wd_verdict v;
	memset(&ls, 0, sizeof(ls));
	ls.up = true;
	ls.up_ms = ls.judged_from_ms = ls.rx_last_ms = clock_ms();
	ls.tx_progress_ms = ls.up_ms;
	ASSERT_TRUE(eventually([&] {
		s = sample(cli);
		return wd_judge(&s, WD_ROLE_TX, &pol, &ls, clock_ms(), &v);
	}));
	EXPECT_EQ(v.reason, WD_ZERO_WINDOW_STALL) << v.detail;
	EXPECT_GE(v.silence_ms, 300);
	EXPECT_EQ(v.unacked_bytes, s.outq_bytes);
}

// The peer closes without reading anything: FIN, and we sit in CLOSE_WAIT
// without having read either.
TEST_F(LoopbackPair, CloseWaitAfterPeerFin)
{
	ASSERT_NO_FATAL_FAILURE(open_pair());
	ASSERT_EQ(send(srv, "hello", 5, 0), 5);
	close(srv);
	srv = -1;
	struct wd_sample s;
	ASSERT_TRUE(eventually([&] {
		s = sample(cli);
		return s.state == WD_TCP_CLOSE_WAIT;
	}));
	EXPECT_EQ(s.so_error, 0);
	EXPECT_EQ(s.inq_bytes, 5u);		// unread, before the FIN
	EXPECT_EQ(s.state, WD_TCP_CLOSE_WAIT);
}

// RST: ECONNRESET is pending, and reading SO_ERROR clears it.
TEST_F(LoopbackPair, ResetPendingThenClearedByProbe)
{
	ASSERT_NO_FATAL_FAILURE(open_pair());
	ASSERT_NO_FATAL_FAILURE(reset_srv());
	ASSERT_TRUE(wait_fd(cli, POLLIN));
	struct wd_sample s = sample(cli);
	EXPECT_EQ(s.so_error, ECONNRESET);
	EXPECT_EQ(s.state, WD_TCP_CLOSE);
	s = sample(cli);
	EXPECT_EQ(s.so_error, 0);
	EXPECT_EQ(s.state, WD_TCP_CLOSE);
}

// The other way round: the owner's recv() takes the error, the probe then
// finds a bare CLOSE.
TEST_F(LoopbackPair, ResetClearedByRead)
{
	char c;

	ASSERT_NO_FATAL_FAILURE(open_pair());
	ASSERT_NO_FATAL_FAILURE(reset_srv());
	ASSERT_TRUE(wait_fd(cli, POLLIN));
	errno = 0;
	EXPECT_EQ(recv(cli, &c, 1, 0), -1);
	EXPECT_EQ(errno, ECONNRESET);
	struct wd_sample s = sample(cli);
	EXPECT_EQ(s.so_error, 0);
	EXPECT_EQ(s.state, WD_TCP_CLOSE);
}

// RST to a socket in CLOSE_WAIT is EPIPE (tcp_reset()): still peer_reset.
TEST_F(LoopbackPair, ResetInCloseWaitIsEpipe)
{
	ASSERT_NO_FATAL_FAILURE(open_pair());
	close(srv);
	srv = -1;
	ASSERT_TRUE(eventually([&] {
		return sample(cli).state == WD_TCP_CLOSE_WAIT;
	}));
	// The closed peer answers our data with RST.
	ASSERT_EQ(send(cli, "x", 1, MSG_NOSIGNAL), 1);
	ASSERT_TRUE(wait_fd(cli, POLLERR));
	struct wd_sample s = sample(cli);
	EXPECT_EQ(s.so_error, EPIPE);
	EXPECT_EQ(wd_reason_from_errno(s.so_error), WD_PEER_RESET);
}

// A socket never connected is in CLOSE; the probe works on it.
TEST(Probe, NeverConnected)
{
	struct wd_sample s;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ASSERT_NE(fd, -1);
	ASSERT_EQ(wd_probe(fd, &s), 0);
	EXPECT_EQ(s.state, WD_TCP_CLOSE);
	EXPECT_EQ(s.so_error, 0);
	close(fd);
}

// Failures return -1 with errno and leave the sample alone.
TEST(Probe, Failures)
{
	struct wd_sample s, before;
	int closed, pfd[2], upair[2], udp, lfd;
	struct sockaddr_in a;

	// Checked before anything else is opened, or that fd number is reused.
	ASSERT_NE(closed = socket(AF_INET, SOCK_STREAM, 0), -1);
	close(closed);
	errno = 0;
	EXPECT_EQ(wd_probe(closed, &s), -1);
	EXPECT_EQ(errno, EBADF);

	ASSERT_EQ(pipe(pfd), 0);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, upair), 0);
	ASSERT_NE(udp = socket(AF_INET, SOCK_DGRAM, 0), -1);
	ASSERT_NE(lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_EQ(listen(lfd, 1), 0);

	const struct {
		const char	*what;
		int		 fd;
		int		 err, alt_err;
	} cases[] = {
		{ "fd -1", -1, EBADF, EBADF },
		{ "pipe", pfd[0], ENOTSOCK, ENOTSOCK },
		{ "unix socket", upair[0], EOPNOTSUPP, EOPNOTSUPP },
		// IPPROTO_TCP options on UDP: the errno differs across kernels
		{ "udp socket", udp, EOPNOTSUPP, ENOPROTOOPT },
		{ "listening socket", lfd, EINVAL, EINVAL },
	};
	for (const auto &c : cases) {
		memset(&before, 0xa5, sizeof(before));
		memcpy(&s, &before, sizeof(s));
		errno = 0;
		EXPECT_EQ(wd_probe(c.fd, &s), -1) << c.what;
		EXPECT_TRUE(errno == c.err || errno == c.alt_err)
		    << c.what << ": " << strerror(errno);
		EXPECT_EQ(memcmp(&s, &before, sizeof(s)), 0) << c.what;
	}
	close(pfd[0]);
	close(pfd[1]);
	close(upair[0]);
	close(upair[1]);
	close(udp);
	close(lfd);
}


// A quiet healthy link whose peer answers keepalive probes is never judged
// dead: the answers keep last_ack_recv under idle_s + interval_s. Runs for
// 1.5 idle budgets (4.5 s) with the kernel's keepalive as configured.
TEST_F(LoopbackPair, QuietKeepaliveLinkStaysAlive)
{
	struct wd_policy pol = { 1, 1, 2, 3000, 3000, 0 };
	struct wd_link_state ls;
	struct wd_verdict v;
	int on = 1;
	int64_t start, max_silence = 0;

	ASSERT_NO_FATAL_FAILURE(open_pair());
	ASSERT_EQ(setsockopt(cli, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)), 0);
	ASSERT_EQ(setsockopt(cli, IPPROTO_TCP, TCP_KEEPIDLE,
	    &pol.keepalive_idle_s, sizeof(int)), 0);
	ASSERT_EQ(setsockopt(cli, IPPROTO_TCP, TCP_KEEPINTVL,
	    &pol.keepalive_interval_s, sizeof(int)), 0);
	ASSERT_EQ(setsockopt(cli, IPPROTO_TCP, TCP_KEEPCNT,
	    &pol.keepalive_count, sizeof(int)), 0);
	ASSERT_EQ(setsockopt(cli, IPPROTO_TCP, TCP_USER_TIMEOUT,
	    &pol.user_timeout_ms, sizeof(int)), 0);
	memset(&ls, 0, sizeof(ls));
	ls.up = true;
	start = ls.up_ms = ls.judged_from_ms = clock_ms();
	ls.rx_last_ms = ls.tx_progress_ms = start;
	while (clock_ms() - start < wd_budget_ms(&pol, WD_KEEPALIVE_TIMEOUT) * 3 / 2) {
		struct wd_sample s = sample(cli);
		for (enum wd_role r : { WD_ROLE_BIDIR, WD_ROLE_RX, WD_ROLE_TX,
		    WD_ROLE_UPSTREAM })
			ASSERT_FALSE(wd_judge(&s, r, &pol, &ls, clock_ms(), &v))
			    << v.detail;
		if (v.silence_ms > max_silence)
			max_silence = v.silence_ms;
		poll(nullptr, 0, 50);		// the sweep period
	}
	// The first probe went out at idle_s and was answered at once.
	EXPECT_GE(max_silence, pol.keepalive_idle_s * 1000 - 100);
	EXPECT_LT(max_silence,
	    (pol.keepalive_idle_s + pol.keepalive_interval_s) * 1000);
}

}  // namespace
