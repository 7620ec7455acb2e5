// Unit tests for a link's I/O: what link_read()/link_write() return and
// record (bytes, end of stream, reset, timeout) on a local socket pair,
// and the reason a bare ETIMEDOUT gets from the watchdog's last sample.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <unistd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>

#include "clock.h"
#include "link.h"
#include "link_peek.h"
#include "reason.h"
#include "watchdog.h"

namespace {

// One link up on one end of a socket pair; the test holds the other end.
class PairLink : public ::testing::Test {
protected:
	void
	SetUp() override
	{
		ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sv_), 0);
		struct timeval tv = { 0, 50000 };	// io_timeout_ms = 50
		ASSERT_EQ(setsockopt(sv_[0], SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof(tv)), 0);
		ASSERT_EQ(setsockopt(sv_[0], SOL_SOCKET, SO_SNDTIMEO, &tv,
		    sizeof(tv)), 0);
		ep_.mode = CFG_LINK_CONNECT;
		link_sync_init(&sync_);
		l_ = link_new("dev", LINK_KIND_DEVICE, &ep_, &pol_, &sync_);
		ASSERT_NE(l_, nullptr);
		link_attach(l_, sv_[0], "peer");
	}
	void
	TearDown() override
	{
		link_close(l_, true);
		link_free(l_);
		link_sync_destroy(&sync_);
		if (sv_[1] != -1)
			close(sv_[1]);
	}
	struct link_snap
	snap()
	{
		struct link_snap s;
		link_snapshot(l_, &s);
		return s;
	}
	int sv_[2] = { -1, -1 };
	struct cfg_endpoint ep_ = {};
	struct cfg_policy pol_ = {};
	struct link_sync sync_;
	struct link *l_ = nullptr;
};

TEST_F(PairLink, ReadsWritesAndCounts)
{
	char buf[16];
	size_t n;

	ASSERT_EQ(write(sv_[1], "abc", 3), 3);
	EXPECT_EQ(link_read(l_, buf, sizeof(buf), NULL, &n), LINK_OK);
	EXPECT_EQ(n, 3u);
	EXPECT_EQ(link_write(l_, 0, "wxyz", 4, &n, clock_ms()), LINK_OK);
	EXPECT_EQ(n, 4u);
	EXPECT_EQ(read(sv_[1], buf, sizeof(buf)), 4);
	EXPECT_EQ(snap().bytes_in, 3u);
	EXPECT_EQ(snap().bytes_out, 4u);
	EXPECT_TRUE(link_is_up(l_));
	EXPECT_EQ(snap().last_detection_ms, -1);	// never failed
}

TEST_F(PairLink, NothingToReadIsATimeoutNotAFailure)
{
	char buf[16];
	size_t n = 99;

	EXPECT_EQ(link_read(l_, buf, sizeof(buf), NULL, &n),
	    LINK_TIMEOUT);
	EXPECT_EQ(n, 0u);
	EXPECT_TRUE(link_is_up(l_));
}

TEST_F(PairLink, EndOfStreamIsPeerClosed)
{
	char buf[16];
	size_t n;

	close(sv_[1]);
	sv_[1] = -1;
	EXPECT_EQ(link_read(l_, buf, sizeof(buf), NULL, &n),
	    LINK_CLOSED);
	EXPECT_FALSE(link_is_up(l_));
	EXPECT_GE(link_close(l_, false), 0);
	EXPECT_EQ(snap().last_reason, WD_PEER_CLOSED);
	EXPECT_EQ(snap().failures[WD_PEER_CLOSED], 1u);
	// The FIN was the last sign of life: found at once.
	EXPECT_GE(snap().last_detection_ms, 0);
	EXPECT_LT(snap().last_detection_ms, 1000);
}

TEST_F(PairLink, ResetIsPeerReset)
{
	char buf[16];
	size_t n;

	// A peer that closes with data unread resets the connection.
	ASSERT_EQ(link_write(l_, 0, "x", 1, &n, clock_ms()), LINK_OK);
	close(sv_[1]);
	sv_[1] = -1;
	EXPECT_EQ(link_read(l_, buf, sizeof(buf), NULL, &n),
	    LINK_CLOSED);
	EXPECT_GE(link_close(l_, false), 0);
	EXPECT_EQ(snap().last_reason, WD_PEER_RESET);
}

TEST_F(PairLink, WriteToAGonePeerIsPeerResetAndNoSignal)
{
	size_t n;

	close(sv_[1]);
	sv_[1] = -1;
	// EPIPE, without SIGPIPE killing the test.
	EXPECT_EQ(link_write(l_, 0, "x", 1, &n, clock_ms()), LINK_CLOSED);
	EXPECT_GE(link_close(l_, false), 0);
	EXPECT_EQ(snap().last_reason, WD_PEER_RESET);
}

TEST_F(PairLink, FailedLinkMovesNothing)
{
	char buf[16];
	size_t n;

	EXPECT_TRUE(link_fail(l_, 0, WD_RX_SILENCE, 0, "test"));
	EXPECT_FALSE(link_fail(l_, 0, WD_PEER_RESET, 0, "second"));
	EXPECT_EQ(link_read(l_, buf, sizeof(buf), NULL, &n),
	    LINK_CLOSED);
	EXPECT_EQ(link_write(l_, 0, "x", 1, &n, clock_ms()), LINK_CLOSED);
	EXPECT_GE(link_close(l_, false), 0);
	EXPECT_EQ(snap().last_reason, WD_RX_SILENCE);	// the first wins
}

// Bytes meant for one connection never go to the next: a send for a
// generation that has ended fails, whatever is up now.
TEST_F(PairLink, WriteForAConnectionThatEndedSendsNothingToTheNext)
{
	char buf[16];
	size_t n;

	uint64_t first = link_gen(l_);
	ASSERT_NE(first, 0u);
	ASSERT_EQ(link_write(l_, first, "a", 1, &n, clock_ms()), LINK_OK);
	ASSERT_EQ(read(sv_[1], buf, sizeof(buf)), 1);
	EXPECT_TRUE(link_fail(l_, 0, WD_PEER_RESET, 0, "test"));
	EXPECT_EQ(link_gen(l_), 0u);
	EXPECT_GE(link_close(l_, false), 0);
	close(sv_[1]);
	int sv[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	sv_[1] = sv[1];
	link_attach(l_, sv[0], "peer");
	uint64_t second = link_gen(l_);
	ASSERT_NE(second, 0u);
	ASSERT_NE(second, first);
	EXPECT_EQ(link_write(l_, first, "b", 1, &n, clock_ms()), LINK_CLOSED);
	EXPECT_EQ(n, 0u);
	EXPECT_TRUE(link_is_up(l_)) << "a stale send failed the new connection";
	ASSERT_EQ(link_write(l_, second, "c", 1, &n, clock_ms()), LINK_OK);
	ASSERT_EQ(link_write(l_, 0, "d", 1, &n, clock_ms()), LINK_OK);
	ASSERT_EQ(read(sv_[1], buf, sizeof(buf)), 2);
	EXPECT_EQ(std::string(buf, 2), "cd");
	EXPECT_EQ(snap().bytes_out, 3u);
}

TEST(LinkIo, ReasonFromErrno)
{
	EXPECT_EQ(wd_reason_from_errno(ECONNRESET), WD_PEER_RESET);
	EXPECT_EQ(wd_reason_from_errno(EPIPE), WD_PEER_RESET);
	EXPECT_EQ(wd_reason_from_errno(ECONNABORTED), WD_PEER_RESET);
	EXPECT_EQ(wd_reason_from_errno(ETIMEDOUT), WD_KEEPALIVE_TIMEOUT);
	EXPECT_EQ(wd_reason_from_errno(EHOSTUNREACH), WD_SOCKET_ERROR);
	EXPECT_EQ(wd_reason_from_errno(ENETUNREACH), WD_SOCKET_ERROR);
	EXPECT_STREQ(wd_reason_str(WD_ZERO_WINDOW_STALL), "zero_window_stall");
	EXPECT_STREQ(wd_reason_str(WD_REASON_COUNT), "unknown");
}

TEST(LinkIo, TimeoutReasonFromTheWatchdogsLastSample)
{
	struct link_sync sync;
	struct cfg_endpoint ep = {};
	struct cfg_policy pol = {};
	struct wd_sample s;

	link_sync_init(&sync);
	struct link *l = link_new("dev", LINK_KIND_DEVICE, &ep, &pol, &sync);
	ASSERT_NE(l, nullptr);
	// No sample at all, and no socket to probe: keepalive_timeout.
	EXPECT_EQ(link_peek_reason_for_errno(l, -1, ETIMEDOUT),
	    WD_KEEPALIVE_TIMEOUT);
	// Data was in flight when the watchdog last looked.
	s = {};
	s.state = WD_TCP_ESTABLISHED;
	s.unacked = 2;
	s.outq_bytes = 1840;
	link_peek_set_sample(l, &s);
	EXPECT_EQ(link_peek_reason_for_errno(l, -1, ETIMEDOUT), WD_ACK_TIMEOUT);
	// Data waited behind a closed window.
	s = {};
	s.state = WD_TCP_ESTABLISHED;
	s.outq_bytes = 9000;
	s.notsent_bytes = 9000;
	s.snd_wnd_known = true;
	s.snd_wnd = 0;
	link_peek_set_sample(l, &s);
	EXPECT_EQ(link_peek_reason_for_errno(l, -1, ETIMEDOUT),
	    WD_ZERO_WINDOW_STALL);
	// Other errors need no sample.
	EXPECT_EQ(link_peek_reason_for_errno(l, -1, ECONNRESET), WD_PEER_RESET);
	EXPECT_EQ(link_peek_reason_for_errno(l, -1, EHOSTUNREACH),
	    WD_SOCKET_ERROR);
	link_free(l);
	link_sync_destroy(&sync);
}

// A TCP connection an error tore down, whose error another caller took
// (the watchdog's SO_ERROR): splice() from it returns 0 as at a FIN, but
// no FIN came, and the link must not say peer_closed.
TEST(LinkIo, SpliceFromATornDownSocketIsNotPeerClosed)
{
	struct sockaddr_in sa = {};
	socklen_t salen = sizeof(sa);
	struct link_sync sync;
	struct cfg_endpoint ep = {};
	struct cfg_policy pol = {};
	struct linger lg = { 1, 0 };
	int lfd, cfd, afd, err, pfd[2];
	socklen_t len = sizeof(err);
	size_t n;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_NE(lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ASSERT_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_EQ(listen(lfd, 1), 0);
	ASSERT_EQ(getsockname(lfd, (struct sockaddr *)&sa, &salen), 0);
	ASSERT_NE(cfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ASSERT_EQ(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_NE(afd = accept(lfd, nullptr, nullptr), -1);
	ASSERT_EQ(pipe2(pfd, O_NONBLOCK), 0);
	// The peer resets; the error is taken before the splice.
	ASSERT_EQ(setsockopt(afd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(afd);
	usleep(50 * 1000);
	ASSERT_EQ(getsockopt(cfd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	EXPECT_EQ(err, ECONNRESET);

	link_sync_init(&sync);
	struct link *l = link_new("dev", LINK_KIND_DEVICE, &ep, &pol, &sync);
	ASSERT_NE(l, nullptr);
	link_attach(l, cfd, "peer");
	EXPECT_EQ(link_splice_in(l, pfd[1], 4096, NULL, &n), LINK_CLOSED);
	EXPECT_GE(link_close(l, false), 0);
	struct link_snap snap;
	link_snapshot(l, &snap);
	EXPECT_NE(snap.last_reason, WD_PEER_CLOSED);
	EXPECT_NE(snap.last_reason, WD_REASON_NONE);
	link_free(l);
	link_sync_destroy(&sync);
	close(pfd[0]);
	close(pfd[1]);
	close(lfd);
}

}  // namespace

// A read that waits for its bytes stamps them with the time they came, not
// the time it began to wait: with an earlier stamp a device that sends
// every few seconds would look silent for longer than it was.
TEST_F(PairLink, AReadStampsItsBytesWhenTheyCame)
{
	struct timeval tv = { 1, 0 };	// io_timeout_ms = 1000
	ASSERT_EQ(setsockopt(sv_[0], SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	std::thread peer([this] {
		std::this_thread::sleep_for(std::chrono::milliseconds(300));
		EXPECT_EQ(write(sv_[1], "abc", 3), 3);
	});
	char buf[16];
	size_t n;
	int64_t began = clock_ms();
	EXPECT_EQ(link_read(l_, buf, sizeof(buf), NULL, &n), LINK_OK);
	int64_t came = clock_ms();
	peer.join();
	EXPECT_GE(link_peek_rx_last_ms(l_), began + 250)
	    << "stamped when the read began";
	EXPECT_LE(link_peek_rx_last_ms(l_), came);
}

// A reload that shortens a link's keepalive or user timeout budget
// restarts the watchdog's clock for them: the link's silence is held
// against the new budgets from then on, never the quiet that the old,
// longer ones allowed. Another change leaves the clock where it was.
TEST_F(PairLink, AShorterBudgetRestartsTheWatchdogsClock)
{
	auto judged_from = [this] {
		struct wd_link_state ls;
		struct wd_policy p;
		enum wd_role role;
		uint64_t gen;
		int64_t t = -1;

		if (link_wd_ops.get(l_, &gen, &ls, &p, &role) != -1) {
			t = ls.judged_from_ms;
			link_wd_ops.put(l_);
		}
		return t;
	};
	int64_t up = judged_from();
	ASSERT_NE(up, -1);
	std::this_thread::sleep_for(std::chrono::milliseconds(100));
	link_policy_changed(l_, false);
	EXPECT_EQ(judged_from(), up) << "moved without a shorter budget";
	int64_t changed = clock_ms();
	link_policy_changed(l_, true);
	EXPECT_GE(judged_from(), changed);
	EXPECT_GE(changed - up, 100);
}

// A thread that reads with a waiter, as a device's thread that holds data
// for a link that is down: it blocks LINK_WAKE_SIGNAL outside the read.
class WaitingRead : public PairLink {
protected:
	void
	SetUp() override
	{
		PairLink::SetUp();
		// Long, so that a read that missed its wake-up shows.
		pol_.io_timeout_ms = 5000;
		struct timeval tv = { 5, 0 };
		ASSERT_EQ(setsockopt(sv_[0], SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof(tv)), 0);
	}
	void
	TearDown() override
	{
		link_peek_slow_start(0);	// in case no receive took it
		PairLink::TearDown();
	}
	// One read in a thread of its own, ending by deadline_in ms (0: no
	// deadline); returns once the thread is about to read.
	void
	start_read(int64_t deadline_in = 0)
	{
		waiting_ = false;
		reader_ = std::thread([this, deadline_in] {
			sigset_t set;
			sigemptyset(&set);
			sigaddset(&set, LINK_WAKE_SIGNAL);
			pthread_sigmask(SIG_BLOCK, &set, NULL);
			struct link_waiter *w = link_waiter_join(&sync_);
			char buf[16];
			int64_t t0 = clock_ms();
			if (deadline_in > 0)
				w->deadline_ms = t0 + deadline_in;
			waiting_ = true;
			rc_ = link_read(l_, buf, sizeof(buf), w, &n_);
			took_ = clock_ms() - t0;
			link_waiter_leave(&sync_, w);
		});
		while (!waiting_)
			std::this_thread::yield();
	}
	void
	change()
	{
		pthread_mutex_lock(&sync_.mu);
		link_sync_changed(&sync_);
		pthread_mutex_unlock(&sync_.mu);
	}
	std::thread reader_;
	std::atomic<bool> waiting_{false};
	enum link_io rc_ = LINK_OK;
	int64_t took_ = -1;
	size_t n_ = 0;
};

TEST_F(WaitingRead, AChangeEndsItAtOnce)
{
	start_read();
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	change();
	reader_.join();
	EXPECT_EQ(rc_, LINK_TIMEOUT);
	EXPECT_LT(took_, 2000) << "the read ran to its SO_RCVTIMEO (5 s)";
	EXPECT_TRUE(link_is_up(l_));
}

// A change after the read looked for one but before its receive began
// (a thread preempted there, say) ends the receive too.
TEST_F(WaitingRead, AChangeJustBeforeTheReceiveEndsIt)
{
	link_peek_slow_start(300);
	start_read();
	// Inside the 300 ms before the receive begins.
	std::this_thread::sleep_for(std::chrono::milliseconds(100));
	change();
	reader_.join();
	EXPECT_EQ(rc_, LINK_TIMEOUT);
	EXPECT_LT(took_, 2000) << "the change was lost: the read ran to its "
	    "SO_RCVTIMEO (5 s)";
	EXPECT_TRUE(link_is_up(l_));
}

TEST_F(WaitingRead, ItEndsAtTheThreadsDeadline)
{
	start_read(300);
	reader_.join();
	EXPECT_EQ(rc_, LINK_TIMEOUT);
	EXPECT_GE(took_, 250);
	EXPECT_LT(took_, 2000) << "the read ran to its SO_RCVTIMEO (5 s)";
	// Bytes that come before the deadline are read.
	ASSERT_EQ(write(sv_[1], "abc", 3), 3);
	start_read(300);
	reader_.join();
	EXPECT_EQ(rc_, LINK_OK);
	EXPECT_EQ(n_, 3u);
}
