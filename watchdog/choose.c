/* choose.c -- which way a sweep samples: one dump, or a probe per link. */
#include "choose.h"

enum wd_way
wd_choose(struct wd_chooser *c, bool can_dump)
{
	enum wd_way	best;

	if (!can_dump)
		return (WD_WAY_PROBE);
	if (c->cost_ns[WD_WAY_PROBE] == 0)
		return (WD_WAY_PROBE);
	if (c->cost_ns[WD_WAY_DUMP] == 0)
		return (WD_WAY_DUMP);
	best = c->cost_ns[WD_WAY_DUMP] <= c->cost_ns[WD_WAY_PROBE] ?
	    WD_WAY_DUMP : WD_WAY_PROBE;
	/* Costs move (sockets come and go on the host): the way not taken
	   is measured again now and then, or it could never win back. */
	if (++c->since_trial >= WD_TRIAL_SWEEPS) {
		c->since_trial = 0;
		return (best == WD_WAY_DUMP ? WD_WAY_PROBE : WD_WAY_DUMP);
	}
	return (best);
}

/* Smoothed over about four sweeps: one sweep kept off the CPU must not
   decide alone. A trial is not smoothed into a cost measured many sweeps
   ago, under other conditions (thousands of links still connecting): if
   it was lucky, the sweeps that follow it measure that way again and
   switch back within a few. */
void
wd_chooser_record(struct wd_chooser *c, enum wd_way w, int64_t sweep_ns,
    int links_up)
{
	int64_t	per;

	if (links_up <= 0 || (unsigned)w >= WD_WAY_COUNT)
		return;
	per = sweep_ns / links_up;
	if (per < 1)
		per = 1;
	if (c->cost_ns[w] == 0 || w != c->last)
		c->cost_ns[w] = per;
	else
		c->cost_ns[w] = (c->cost_ns[w] * 3 + per) / 4;
	c->last = w;
}
