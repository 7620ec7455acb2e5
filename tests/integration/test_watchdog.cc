// The watchdog thread: it sweeps, stops at once, and a stuck sweep is
// seen as stuck after WD_STUCK_PERIODS periods; fatal(), the main thread's
// answer to it, exits 70 from any thread for supervisord to restart; and a
// verdict is applied while the link cannot close yet.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "net.h"
#include "watchdog.h"

namespace {

// A target that is never up, counting how often it is looked at, and that
// can be made to hang inside get() (as if a link's lock were never freed).
struct FakeLink {
	std::atomic<int> looks{0};
	std::atomic<bool> hang{false};
	std::atomic<bool> release{false};
};

int
fake_get(void *ctx, uint64_t *, struct wd_link_state *, struct wd_policy *,
    enum wd_role *)
{
	auto *f = static_cast<FakeLink *>(ctx);

	f->looks++;
	for (int i = 0; f->hang && !f->release && i < 3000; i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	return -1;
}

void fake_put(void *) {}
void fake_apply(void *, uint64_t, const struct wd_sample *,
    const struct wd_verdict *, int64_t) {}

const struct wd_target_ops fake_ops = { fake_get, fake_put, fake_apply };

// A target that is up on a real socket, recording whether each verdict
// was applied while the socket was still borrowed: a link may close as
// soon as it is given back, and a verdict that came later would be lost.
struct UpLink {
	int fd = -1;
	std::atomic<int> borrowed{0};
	std::atomic<int> dead{0};
	std::atomic<int> dead_unborrowed{0};
};

int
up_get(void *ctx, uint64_t *gen, struct wd_link_state *ls,
    struct wd_policy *p, enum wd_role *role)
{
	auto *u = static_cast<UpLink *>(ctx);

	*gen = 1;
	ls->up = true;
	ls->up_ms = ls->judged_from_ms = ls->rx_last_ms = clock_ms();
	*p = wd_policy{2, 1, 3, 5000, 5000, 0};
	*role = WD_ROLE_BIDIR;
	u->borrowed++;
	return u->fd;
}

void
up_put(void *ctx)
{
	static_cast<UpLink *>(ctx)->borrowed--;
}

void
up_apply(void *ctx, uint64_t, const struct wd_sample *,
    const struct wd_verdict *v, int64_t)
{
	auto *u = static_cast<UpLink *>(ctx);

	if (!v->dead)
		return;
	if (u->borrowed == 0)
		u->dead_unborrowed++;
	u->dead++;
}

const struct wd_target_ops up_ops = { up_get, up_put, up_apply };

}  // namespace

TEST(Watchdog, SweepsEveryPeriodAndStopsAtOnce)
{
	FakeLink f;
	struct watchdog *wd = wd_start(20);

	ASSERT_NE(wd, nullptr);
	ASSERT_EQ(wd_add(wd, &fake_ops, &f), 0);
	EXPECT_TRUE(eventually([&] { return f.looks >= 5; }, 5000));
	EXPECT_GE(wd_sweeps(wd), 5u);
	wd_remove(wd, &f);
	int seen = f.looks;
	std::this_thread::sleep_for(std::chrono::milliseconds(100));
	EXPECT_EQ(f.looks, seen) << "a removed target was looked at";

	wd_set_period(wd, 60000);
	auto t0 = std::chrono::steady_clock::now();
	wd_stop(wd);
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
	    std::chrono::steady_clock::now() - t0).count();
	EXPECT_LT(ms, 1000) << "stop waited for the period";
}

TEST(Watchdog, AStuckSweepIsMeasured)
{
	FakeLink f;
	struct watchdog *wd = wd_start(10);

	ASSERT_NE(wd, nullptr);
	f.hang = true;
	ASSERT_EQ(wd_add(wd, &fake_ops, &f), 0);
	EXPECT_TRUE(eventually([&] {
		return wd_stuck_ms(wd, clock_ms()) >= 100; }, 5000));
	f.release = true;
	EXPECT_TRUE(eventually([&] {
		return wd_stuck_ms(wd, clock_ms()) == 0; }, 5000));
	wd_remove(wd, &f);
	wd_stop(wd);
}

TEST(WatchdogDeathTest, StuckFor10PeriodsThenFatalExits70)
{
	GTEST_FLAG_SET(death_test_style, "threadsafe");
	EXPECT_EXIT({
		static FakeLink f;
		struct watchdog *wd = wd_start(10);
		int64_t stuck_ms = 0;
		f.hang = true;
		wd_add(wd, &fake_ops, &f);
		// What the main thread does every period.
		for (int i = 0; i < 500; i++) {
			if (wd_is_stuck(wd, clock_ms(), &stuck_ms)) {
				if (stuck_ms < 10 * 10)
					_exit(1);
				// From another thread than main, as a
				// broken invariant anywhere would.
				std::thread([&] { fatal("watchdog stuck in "
				    "one sweep for %lld ms",
				    (long long)stuck_ms); }).join();
			}
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
		}
		_exit(0);
	}, ::testing::ExitedWithCode(70), "watchdog stuck in one sweep");
}

TEST(Watchdog, NotStuckWhileSweepsComplete)
{
	FakeLink f;
	struct watchdog *wd = wd_start(10);
	int64_t stuck_ms;

	ASSERT_NE(wd, nullptr);
	ASSERT_EQ(wd_add(wd, &fake_ops, &f), 0);
	for (int i = 0; i < 30; i++) {
		EXPECT_FALSE(wd_is_stuck(wd, clock_ms(), &stuck_ms));
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	wd_remove(wd, &f);
	wd_stop(wd);
}

TEST(Watchdog, AVerdictIsAppliedBeforeTheSocketIsGivenBack)
{
	UpLink u;
	int port, lfd = tcp_listen(&port);

	ASSERT_NE(lfd, -1);
	u.fd = tcp_connect(port, 2000);
	ASSERT_NE(u.fd, -1);
	int peer = tcp_accept(lfd, 2000);
	ASSERT_NE(peer, -1);
	// The peer resets: every sample from now on is a dead link.
	close_reset(peer);

	struct watchdog *wd = wd_start(10);
	ASSERT_NE(wd, nullptr);
	ASSERT_EQ(wd_add(wd, &up_ops, &u), 0);
	EXPECT_TRUE(eventually([&] { return u.dead >= 1; }, 5000));
	wd_remove(wd, &u);
	wd_stop(wd);
	EXPECT_EQ(u.dead_unborrowed, 0)
	    << "a verdict came after the socket was given back";
	EXPECT_EQ(u.borrowed, 0);
	close(u.fd);
	close(lfd);
}
