// test_choose.cc -- the choice between a dump and a probe per link.
#include <gtest/gtest.h>

#include "choose.h"

namespace {

// Ways sweeps that cost dump_ns or probe_ns per link (n links up) and count
// the ways taken.
struct Ways {
	int ways[WD_WAY_COUNT] = { 0, 0 };
};

Ways
run(struct wd_chooser *c, int sweeps, int64_t probe_ns, int64_t dump_ns,
    bool can_dump = true, int n = 100)
{
	Ways r;

	for (int i = 0; i < sweeps; i++) {
		enum wd_way w = wd_choose(c, can_dump);
		r.ways[w]++;
		wd_chooser_record(c, w, (w == WD_WAY_DUMP ? dump_ns :
		    probe_ns) * n, n);
	}
	return r;
}

}  // namespace

TEST(Choose, EachWayIsMeasuredFirst)
{
	struct wd_chooser c = {};

	EXPECT_EQ(wd_choose(&c, true), WD_WAY_PROBE);
	wd_chooser_record(&c, WD_WAY_PROBE, 300000, 100);
	EXPECT_EQ(c.cost_ns[WD_WAY_PROBE], 3000);
	EXPECT_EQ(wd_choose(&c, true), WD_WAY_DUMP);
}

TEST(Choose, NoDumpMeansProbe)
{
	struct wd_chooser c = {};

	Ways r = run(&c, 500, 3000, 1, false);
	EXPECT_EQ(r.ways[WD_WAY_DUMP], 0);
	EXPECT_EQ(r.ways[WD_WAY_PROBE], 500);
}

// The cheaper way wins; the other is tried once every WD_TRIAL_SWEEPS.
TEST(Choose, TheCheaperWayWins)
{
	const struct {
		int64_t probe_ns, dump_ns;
		enum wd_way want;
	} cases[] = {
		{ 3000, 1200, WD_WAY_DUMP },	// thousands of links
		{ 3000, 30000, WD_WAY_PROBE },	// a few links, a big table
		{ 3000, 3000, WD_WAY_DUMP },	// a tie: fewer calls
	};

	for (const auto &k : cases) {
		struct wd_chooser c = {};
		Ways r = run(&c, 10 * WD_TRIAL_SWEEPS, k.probe_ns, k.dump_ns);
		enum wd_way other = k.want == WD_WAY_DUMP ? WD_WAY_PROBE :
		    WD_WAY_DUMP;
		EXPECT_LE(r.ways[other], 12) << k.probe_ns << " " << k.dump_ns;
		EXPECT_GE(r.ways[other], 10) << k.probe_ns << " " << k.dump_ns;
	}
}

// When the dump grows dear (the host's table fills with other sockets),
// the probe takes over within a few trials, and back again.
TEST(Choose, FollowsTheCosts)
{
	struct wd_chooser c = {};

	run(&c, 3 * WD_TRIAL_SWEEPS, 3000, 1000);
	EXPECT_EQ(wd_choose(&c, true), WD_WAY_DUMP);
	run(&c, 10 * WD_TRIAL_SWEEPS, 3000, 20000);
	Ways r = run(&c, 2 * WD_TRIAL_SWEEPS, 3000, 20000);
	EXPECT_GE(r.ways[WD_WAY_PROBE], 2 * WD_TRIAL_SWEEPS - 3);
	run(&c, 10 * WD_TRIAL_SWEEPS, 3000, 1000);
	r = run(&c, 2 * WD_TRIAL_SWEEPS, 3000, 1000);
	EXPECT_GE(r.ways[WD_WAY_DUMP], 2 * WD_TRIAL_SWEEPS - 3);
}

// A way measured long ago, under a load that has passed (a start-up),
// wins back at its next trial.
TEST(Choose, AStaleCostIsReplacedAtTheTrial)
{
	struct wd_chooser c = {};

	run(&c, 2, 3000, 50000);	// the dump measured at start-up
	Ways r = run(&c, WD_TRIAL_SWEEPS + 10, 3000, 1000);
	EXPECT_EQ(wd_choose(&c, true), WD_WAY_DUMP);
	EXPECT_GE(r.ways[WD_WAY_DUMP], 5);
}

// One sweep kept off the CPU does not decide alone.
TEST(Choose, OneSlowSweepIsSmoothed)
{
	struct wd_chooser c = {};

	run(&c, 2 * WD_TRIAL_SWEEPS, 3000, 1000);
	wd_chooser_record(&c, WD_WAY_DUMP, 4000 * 100, 100);
	EXPECT_LT(c.cost_ns[WD_WAY_DUMP], 3000);
	EXPECT_EQ(wd_choose(&c, true), WD_WAY_DUMP);
}

// No link up: nothing is learnt.
TEST(Choose, NoLinkUpMeasuresNothing)
{
	struct wd_chooser c = {};

	wd_chooser_record(&c, WD_WAY_PROBE, 500000, 0);
	EXPECT_EQ(c.cost_ns[WD_WAY_PROBE], 0);
	wd_chooser_record(&c, WD_WAY_PROBE, 0, 10);
	EXPECT_EQ(c.cost_ns[WD_WAY_PROBE], 1);
}
