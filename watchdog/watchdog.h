/* watchdog.h -- the thread that sweeps every link and shuts down the dead. */
#ifndef WD_WATCHDOG_H
#define WD_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

#include "hist.h"
#include "probe.h"
#include "verdict.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the watchdog sees of one link; the gateway implements it. The
   watchdog never closes anything and never sees more than this. */
struct wd_target_ops {
	/* Borrow the link's socket for one sample: return the fd, its
	   generation, what the threads know, the policy and the role; or -1
	   when the link is not up (then put is not called). The link cannot
	   be closed until put. */
	int	(*get)(void *ctx, uint64_t *gen, struct wd_link_state *,
		    struct wd_policy *, enum wd_role *);
	void	(*put)(void *ctx);
	/* Record what the sample showed (a consumed SO_ERROR, the bytes in
	   flight) and, when v->dead, declare generation gen dead: shutdown()
	   wakes its threads, whose owner closes it. Called before put. */
	void	(*apply)(void *ctx, uint64_t gen, const struct wd_sample *,
		    const struct wd_verdict *v, int64_t now_ms);
};

struct watchdog;

/* Start sweeping every period_ms. NULL with errno on failure. */
struct watchdog	*wd_start(int period_ms);

/* Stop and join the thread; the targets must have been removed. */
void	 wd_stop(struct watchdog *);

/* Sweep ctx from the next sweep on. 0, or -1 with errno (ENOMEM). */
int	 wd_add(struct watchdog *, const struct wd_target_ops *, void *ctx);

/* Stop sweeping ctx. When it returns the watchdog does not touch ctx. */
void	 wd_remove(struct watchdog *, void *ctx);

void	 wd_set_period(struct watchdog *, int period_ms);
int	 wd_period(struct watchdog *);

/* How long the sweep under way has been running (ms), 0 when none is. */
int64_t	 wd_stuck_ms(struct watchdog *, int64_t now_ms);

/* A sweep that has run for WD_STUCK_PERIODS periods is stuck, and dead
   links would go unnoticed: true then, with its duration in *stuck_ms. The
   main thread asks every period and exits 70 for a restart. */
#define WD_STUCK_PERIODS	10
bool	 wd_is_stuck(struct watchdog *, int64_t now_ms, int64_t *stuck_ms);

/* How long a sweep's sock_diag dump may take, at most, with a period of
   period_ms: half of what makes a sweep stuck (and no more than a
   second), so that a dump given up leaves the sweep the time to probe
   each link instead. */
int	 wd_dump_timeout_ms(int period_ms);

/* Counters for the metrics. */
uint64_t	 wd_sweeps(struct watchdog *);
const struct hist *wd_sweep_hist(struct watchdog *);

#ifdef __cplusplus
}
#endif

#endif
