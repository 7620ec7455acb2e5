/* watchdog.c -- the thread that sweeps every link and shuts down the dead.
 *
 * DESIGN: one thread. wd->mu protects the target table and is held for a
 * whole sweep, so wd_remove() returns only between sweeps and a removed
 * target is never touched again. Lock order: wd->mu, then a link's lock
 * (taken inside the target ops); nothing takes them the other way round.
 * The thread sleeps on wd->cv (CLOCK_MONOTONIC) between sweeps; wd_stop()
 * sets wd->stop and signals it, so stopping is immediate.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


#include "clock.h"
#include "watchdog.h"

struct wd_entry {
	const struct wd_target_ops	*ops;
	void				*ctx;
};

struct watchdog {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	pthread_t		 tid;
	/* Protected by mu. */
	struct wd_entry		*ents;
	int			 n, cap;
	bool			 stop;
	/* Atomic: wd_period() must answer while a sweep holds mu. */
	_Atomic int		 period_ms;
	/* Atomic: read by the main thread and the metrics. */
	_Atomic int64_t		 sweep_start_ms;	/* 0 between sweeps */
	_Atomic uint64_t	 sweeps;
	struct hist		 sweep_hist;
};

static void
sweep_one(const struct wd_entry *e, int64_t now)
{
	struct wd_link_state	ls;
	struct wd_policy	pol;
	struct wd_sample	s;
	struct wd_verdict	v;
	enum wd_role		role;
	uint64_t		gen;
	int			fd, rc;

	memset(&ls, 0, sizeof(ls));
	if ((fd = e->ops->get(e->ctx, &gen, &ls, &pol, &role)) == -1)
		return;
	rc = wd_probe(fd, &s);
	e->ops->put(e->ctx);
	if (rc == -1)
		return;
	wd_judge(&s, role, &pol, &ls, now, &v);
	e->ops->apply(e->ctx, gen, &s, &v, now);
}

static void *
wd_main(void *arg)
{
	struct watchdog	*wd = arg;
	struct timespec	 ts;
	int64_t		 start_us, next, now;
	int		 i;

	pthread_mutex_lock(&wd->mu);
	next = clock_ms();
	while (!wd->stop) {
		now = clock_ms();
		if (now < next) {
			ts.tv_sec = next / 1000;
			ts.tv_nsec = (next % 1000) * 1000000;
			pthread_cond_timedwait(&wd->cv, &wd->mu, &ts);
			continue;
		}
		start_us = clock_us();
		atomic_store(&wd->sweep_start_ms, now);
		for (i = 0; i < wd->n && !wd->stop; i++)
			sweep_one(&wd->ents[i], clock_ms());
		atomic_store(&wd->sweep_start_ms, 0);
		atomic_fetch_add(&wd->sweeps, 1);
		hist_add_us(&wd->sweep_hist, clock_us() - start_us);
		next = now + atomic_load(&wd->period_ms);
	}
	pthread_mutex_unlock(&wd->mu);
	return (NULL);
}

struct watchdog *
wd_start(int period_ms)
{
	struct watchdog		*wd;
	pthread_condattr_t	 ca;
	int			 err;

	if ((wd = calloc(1, sizeof(*wd))) == NULL)
		return (NULL);
	atomic_init(&wd->period_ms, period_ms);
	pthread_mutex_init(&wd->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((err = pthread_create(&wd->tid, NULL, wd_main, wd)) != 0) {
		pthread_cond_destroy(&wd->cv);
		pthread_mutex_destroy(&wd->mu);
		free(wd);
		errno = err;
		return (NULL);
	}
	return (wd);
}

void
wd_stop(struct watchdog *wd)
{
	if (wd == NULL)
		return;
	pthread_mutex_lock(&wd->mu);
	wd->stop = true;
	pthread_cond_signal(&wd->cv);
	pthread_mutex_unlock(&wd->mu);
	pthread_join(wd->tid, NULL);
	pthread_cond_destroy(&wd->cv);
	pthread_mutex_destroy(&wd->mu);
	free(wd->ents);
	free(wd);
}

int
wd_add(struct watchdog *wd, const struct wd_target_ops *ops, void *ctx)
{
	struct wd_entry	*ents;
	int		 cap;

	pthread_mutex_lock(&wd->mu);
	if (wd->n == wd->cap) {
		cap = wd->cap ? wd->cap * 2 : 16;
		if ((ents = realloc(wd->ents, (size_t)cap * sizeof(*ents)))
		    == NULL) {
			pthread_mutex_unlock(&wd->mu);
			errno = ENOMEM;
			return (-1);
		}
		wd->ents = ents;
		wd->cap = cap;
	}
	wd->ents[wd->n].ops = ops;
	wd->ents[wd->n].ctx = ctx;
	wd->n++;
	pthread_mutex_unlock(&wd->mu);
	return (0);
}

void
wd_remove(struct watchdog *wd, void *ctx)
{
	int	i;

	pthread_mutex_lock(&wd->mu);
	for (i = 0; i < wd->n; i++) {
		if (wd->ents[i].ctx == ctx) {
			memmove(&wd->ents[i], &wd->ents[i + 1],
			    (size_t)(wd->n - i - 1) * sizeof(wd->ents[0]));
			wd->n--;
			break;
		}
	}
	pthread_mutex_unlock(&wd->mu);
}

void
wd_set_period(struct watchdog *wd, int period_ms)
{
	atomic_store(&wd->period_ms, period_ms);
	pthread_mutex_lock(&wd->mu);
	pthread_cond_signal(&wd->cv);
	pthread_mutex_unlock(&wd->mu);
}

int
wd_period(struct watchdog *wd)
{
	return (atomic_load(&wd->period_ms));
}

int64_t
wd_stuck_ms(struct watchdog *wd, int64_t now_ms)
{
	int64_t	start = atomic_load(&wd->sweep_start_ms);

	return (start == 0 ? 0 : now_ms - start);
}

bool
wd_is_stuck(struct watchdog *wd, int64_t now_ms, int64_t *stuck_ms)
{
	*stuck_ms = wd_stuck_ms(wd, now_ms);
	return (*stuck_ms >= (int64_t)WD_STUCK_PERIODS * wd_period(wd));
}

uint64_t
wd_sweeps(struct watchdog *wd)
{
	return (atomic_load(&wd->sweeps));
}

const struct hist *
wd_sweep_hist(struct watchdog *wd)
{
	return (&wd->sweep_hist);
}
