// Unit tests for backoff: bounds, growth, jitter, reset.
#include <gtest/gtest.h>

#include <set>

#include "backoff.h"

TEST(Backoff, FirstDelayIsMin)
{
	struct backoff b;

	backoff_init(&b, 100, 10000, 42);
	EXPECT_EQ(backoff_next(&b), 100);
}

TEST(Backoff, StaysWithinMinAndMaxAndReachesMax)
{
	for (uint64_t seed = 1; seed < 50; seed++) {
		struct backoff b;
		int max_seen = 0;

		backoff_init(&b, 100, 10000, seed);
		for (int i = 0; i < 40; i++) {
			int d = backoff_next(&b);
			ASSERT_GE(d, 100);
			ASSERT_LE(d, 10000);
			max_seen = std::max(max_seen, d);
		}
		EXPECT_GE(max_seen, 5000) << "seed " << seed;
	}
}

TEST(Backoff, GrowsExponentially)
{
	struct backoff b;

	backoff_init(&b, 100, 100000, 7);
	// The n-th delay lies in [100 * 2^n / 2, 100 * 2^n].
	for (int n = 0, ceiling = 100; n < 8; n++, ceiling *= 2) {
		int d = backoff_next(&b);
		EXPECT_LE(d, ceiling);
		EXPECT_GE(d, std::max(100, ceiling / 2));
	}
}

TEST(Backoff, JitterSpreadsDevices)
{
	std::set<int> delays;

	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct backoff b;

		backoff_init(&b, 100, 10000, seed * 7919);
		for (int i = 0; i < 4; i++)
			backoff_next(&b);
		delays.insert(backoff_next(&b));
	}
	EXPECT_GT(delays.size(), 10u);
}

TEST(Backoff, ResetStartsAgainAtMin)
{
	struct backoff b;

	backoff_init(&b, 50, 5000, 3);
	for (int i = 0; i < 10; i++)
		backoff_next(&b);
	backoff_reset(&b);
	EXPECT_EQ(backoff_next(&b), 50);
}

TEST(Backoff, DegenerateBounds)
{
	struct backoff b;

	backoff_init(&b, 0, 0, 0);
	EXPECT_EQ(backoff_next(&b), 1);
	backoff_init(&b, 300, 300, 9);
	for (int i = 0; i < 10; i++)
		EXPECT_EQ(backoff_next(&b), 300);
}
