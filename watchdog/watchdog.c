/* watchdog.c -- the thread that sweeps every link and shuts down the dead.
 *
 * DESIGN: one thread. wd->mu protects the target table and is held for a
 * whole sweep, so wd_remove() returns only between sweeps and a removed
 * target is never touched again. Lock order: wd->mu, then a link's lock
 * (taken inside the target ops); nothing takes them the other way round.
 * The thread sleeps on wd->cv (CLOCK_MONOTONIC) between sweeps; wd_stop()
 * sets wd->stop and signals it, so stopping is immediate.
 *
 * With WD_DUMP_MIN_LINKS links up, a sweep starts with one sock_diag dump
 * of every established TCP socket (diag.h) and takes each link's sample
 * from it, found by the socket's cookie (SO_COOKIE); a link the dump does not show
 * established (closed by its peer, aborted, just connected), and every
 * link when the dump fails, is probed by itself as with fewer links
 * (probe.h). The dump, the counts and the cookies are the thread's alone.
 */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


#include "clock.h"
#include "diag.h"
#include "watchdog.h"

/* A dump walks the kernel's whole table of TCP sockets (every namespace's,
   every state's) before it fills in ours, a fixed cost that probing each
   link does not have. Measured on a 2-core machine with the default
   table (262,144 buckets) and a few thousand other sockets: at 500 links
   probing each was cheaper, at 1,000 the two were even, at 2,000 the
   dump took a fifth off the sweep. */
#define WD_DUMP_MIN_LINKS	1000
/* A dump that takes longer than this is given up, and the sweep probes
   each link: a kernel that slow is broken. */
#define WD_DUMP_MAX_MS		1000

struct wd_entry {
	const struct wd_target_ops	*ops;
	void				*ctx;
	/* Generation cookie_gen's socket: its cookie, to find it in a dump
	   (0 when not known yet), and its family (WD_DIAG_INET*), to know
	   which families to dump. */
	uint64_t			 cookie_gen;
	uint64_t			 cookie;
	unsigned			 family;
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
	/* The thread's alone: the dump (NULL when it could not be
	   allocated), and the number and families of the links up in the
	   last sweep, which decide whether the next sweep dumps and which
	   families it asks for. */
	struct wd_diag		*diag;
	unsigned		 families;
	int			 links_up;
};

/* Learn the cookie and family of e's socket fd, generation gen, once per
   connection: a getsockopt() and a getsockname(), not per sweep. On
   failure the cookie stays 0, the link is probed by itself, and the next
   sweep tries again. */
static void
entry_learn(struct wd_entry *e, int fd, uint64_t gen)
{
	struct sockaddr_storage	ss;
	uint64_t		cookie;
	socklen_t		len = sizeof(ss), clen = sizeof(cookie);

	if (e->cookie_gen == gen && e->cookie != 0)
		return;
	e->cookie_gen = gen;
	e->cookie = 0;
	e->family = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &clen) == -1 ||
	    clen != sizeof(cookie) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET)
		e->family = WD_DIAG_INET;
	else if (ss.ss_family == AF_INET6)
		e->family = WD_DIAG_INET6;
	else
		return;
	e->cookie = cookie;
}

/* Sample, judge and apply one link. With dumped, its sample comes from the
   dump taken at dump_ms when the dump has it, else from its own probe,
   judged at the time just before it (the clock is read only then: a
   sweep of thousands of links reads it for the few it probes). Returns
   whether the link was up. */
static bool
sweep_one(struct watchdog *wd, struct wd_entry *e, bool dumped,
    int64_t dump_ms)
{
	struct wd_link_state	ls;
	struct wd_policy	pol;
	struct wd_sample	s;
	struct wd_verdict	v;
	enum wd_role		role;
	uint64_t		gen;
	int64_t			now;
	int			fd, rc;

	memset(&ls, 0, sizeof(ls));
	if ((fd = e->ops->get(e->ctx, &gen, &ls, &pol, &role)) == -1)
		return (false);
	entry_learn(e, fd, gen);
	wd->families |= e->family;
	/* The sample's ages count back from the dump: judged at the dump's
	   time they are never taken for older than they are. */
	if (dumped && e->cookie != 0 &&
	    wd_diag_lookup(wd->diag, e->cookie, &s)) {
		rc = 0;
		now = dump_ms;
	} else {
		now = clock_ms();
		rc = wd_probe(fd, &s);
	}
	/* Applied before put: the owner cannot close the link in between,
	   and the sure reason in a consumed SO_ERROR is never lost to a
	   thread's guess from the EPIPE that follows it. */
	if (rc == 0) {
		wd_judge(&s, role, &pol, &ls, now, &v);
		e->ops->apply(e->ctx, gen, &s, &v, now);
	}
	e->ops->put(e->ctx);
	return (true);
}

static void *
wd_main(void *arg)
{
	struct watchdog	*wd = arg;
	struct timespec	 ts;
	int64_t		 start_us, next, now;
	int		 i;
	bool		 dumped;

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
		/* A failed dump costs this sweep its speed, not a verdict:
		   every link is probed by itself then. A family new since
		   the last sweep is probed by itself once. */
		dumped = wd->links_up >= WD_DUMP_MIN_LINKS &&
		    wd->families != 0 && wd->diag != NULL &&
		    wd_diag_dump(wd->diag, wd->families,
		    wd_dump_timeout_ms(atomic_load(&wd->period_ms))) == 0;
		wd->families = 0;
		wd->links_up = 0;
		for (i = 0; i < wd->n && !wd->stop; i++)
			wd->links_up += sweep_one(wd, &wd->ents[i], dumped,
			    now);
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
	/* Without a table every sweep probes each link: slower, as sure. */
	wd->diag = wd_diag_new();
	atomic_init(&wd->period_ms, period_ms);
	pthread_mutex_init(&wd->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((err = pthread_create(&wd->tid, NULL, wd_main, wd)) != 0) {
		pthread_cond_destroy(&wd->cv);
		pthread_mutex_destroy(&wd->mu);
		wd_diag_free(wd->diag);
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
	wd_diag_free(wd->diag);
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
	memset(&wd->ents[wd->n], 0, sizeof(wd->ents[0]));
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

int
wd_dump_timeout_ms(int period_ms)
{
	int64_t	ms = (int64_t)period_ms * WD_STUCK_PERIODS / 2;

	return (ms < WD_DUMP_MAX_MS ? (int)ms : WD_DUMP_MAX_MS);
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
