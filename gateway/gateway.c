/* gateway.c -- the whole daemon assembled: start, reload, stop.
 *
 * DESIGN: the main thread alone calls gw_start/gw_reload/gw_stop. gw->mu
 * protects the device table against readers on other threads (status).
 * Teardown runs in reverse order of setup.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "acceptor.h"
#include "addr.h"
#include "cfg_schema.h"
#include "device.h"
#include "gateway.h"
#include "clock.h"
#include "journal.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "status.h"
#include "watchdog.h"

struct gateway {
	pthread_mutex_t		 mu;
	struct cfg		*cfg;
	struct acceptor		*acc;
	struct watchdog		*wd;
	struct device		**devs;		/* protected by mu */
	int			 n_devs;
	struct status		*status;	/* NULL: off */
	bool			 status_kept;	/* status serves where the config
						   before said: the new address
						   could not be had */
	struct monitor		*mon;		/* NULL: no device has one yet;
						   set under mu */
	int64_t			 start_wall_ms;
	bool			 reload_ok;	/* protected by mu */
	int64_t			 reload_ok_wall_ms; /* protected by mu */
	bool			 per_link_detail; /* protected by mu */
	struct metrics_totals	 retired;	/* protected by mu */
	unsigned		 retired_gen;	/* +1 on each; protected by mu */
};

static void	gw_collect(void *, struct metrics *);
static int	gw_log_target(const struct cfg *, struct gw_reload_report *);
static void	gw_reload_outcome(struct gateway *, bool);
static void	gw_report(struct gw_reload_report *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	gw_retire(struct gateway *, struct device *);
static bool	status_changes(const struct gateway *, const struct cfg *);
static int	gw_status_move(struct gateway *, const struct cfg *,
		    struct gw_reload_report *);
static long	endpoint_fds(const struct cfg_endpoint *);
static struct device *gw_device_start(struct gateway *,
		    const struct cfg_device *, char *, size_t);
static void	gw_device_stop_begin(struct gateway *, struct device *);

static enum log_level
level_of(enum cfg_log_level l)
{
	switch (l) {
	case CFG_LOG_DEBUG:
		return (LOG_LVL_DEBUG);
	case CFG_LOG_WARN:
		return (LOG_LVL_WARN);
	case CFG_LOG_ERROR:
		return (LOG_LVL_ERROR);
	default:
		return (LOG_LVL_INFO);
	}
}

/* A reload's log.level, logged while the more verbose of the old and the
   new level holds, at that level (info at least), so that the line shows
   where either level would show it: a move from warn to error too. */
static void
gw_log_level(const struct cfg *was, const struct cfg *cfg)
{
	enum log_level	from = level_of(was->log_level);
	enum log_level	to = level_of(cfg->log_level);
	enum log_level	said = to < from ? to : from;

	if (said < LOG_LVL_INFO)
		said = LOG_LVL_INFO;
	if (to < from)
		log_set_level(to);
	if (to != from)
		log_subject(said, "reload: log.level %s -> %s",
		    log_level_str(from), log_level_str(to));
	log_set_level(to);
}

static enum log_target
target_of(enum cfg_log_target t)
{
	switch (t) {
	case CFG_LOG_SYSLOG:
		return (LOG_TO_SYSLOG);
	case CFG_LOG_JOURNAL:
		return (LOG_TO_JOURNAL);
	default:
		return (LOG_TO_STDERR);
	}
}

/* Send the log where cfg says. A socket that cannot be used leaves the
   lines on stderr, which says so once (and rep, for a reload: NULL for
   none). Tried again at every reload. Returns 0, or -1 then. */
static int
gw_log_target(const struct cfg *cfg, struct gw_reload_report *rep)
{
	enum log_target	t = target_of(cfg->log_target);
	const char	*sock = t == LOG_TO_JOURNAL ? JOURNAL_SOCKET : _PATH_LOG;
	int		 err;

	if (log_set_target(t, JOURNAL_SOCKET) == 0)
		return (0);
	err = errno;
	log_warnx("log.target %s: cannot use %s: %s; logging to stderr",
	    log_target_str(t), sock, strerror(err));
	gw_report(rep, "log.target %s: cannot use %s: %s; logging to stderr",
	    log_target_str(t), sock, strerror(err));
	if (rep != NULL)
		rep->log_failed = log_target_str(t);
	return (-1);
}

struct gateway *
gw_start(struct cfg *cfg, char *err, size_t errlen)
{
	struct gateway	*gw;
	int		 i, spliced, refused;

	if ((gw = calloc(1, sizeof(*gw))) == NULL) {
		snprintf(err, errlen, "out of memory");
		cfg_free(cfg);
		return (NULL);
	}
	pthread_mutex_init(&gw->mu, NULL);
	gw->cfg = cfg;
	gw->start_wall_ms = gw->reload_ok_wall_ms = clock_wall_ms();
	gw->reload_ok = true;
	gw->per_link_detail = cfg->status_per_link_detail;
	log_set_level(level_of(cfg->log_level));
	/* A start goes on, on stderr. */
	(void)gw_log_target(cfg, NULL);
	if ((gw->acc = acceptor_start()) == NULL) {
		snprintf(err, errlen, "cannot start acceptor: %s",
		    strerror(errno));
		goto out_stop;
	}
	if ((gw->wd = wd_start(cfg->watchdog_period_ms)) == NULL) {
		snprintf(err, errlen, "cannot start watchdog: %s",
		    strerror(errno));
		goto out_stop;
	}
	gw->devs = calloc((size_t)cfg->n_devices + 1, sizeof(*gw->devs));
	if (gw->devs == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out_stop;
	}
	for (i = 0; i < cfg->n_devices; i++) {
		char	derr[256];

		gw->devs[i] = gw_device_start(gw, &cfg->devices[i], derr,
		    sizeof(derr));
		if (gw->devs[i] == NULL) {
			snprintf(err, errlen, "%s: %s", cfg->devices[i].name,
			    derr);
			goto out_stop;
		}
		gw->n_devs++;
	}
	if (cfg->status_listen[0] != '\0' && (gw->status = status_start(
	    &cfg->status_hp, &cfg->status_binds, gw_collect, gw, err,
	    errlen)) == NULL)
		goto out_stop;
	for (i = spliced = refused = 0; i < gw->n_devs; i++) {
		if (device_splices(gw->devs[i]))
			spliced++;
		else if (device_cfg(gw->devs[i])->pol.relay == CFG_RELAY_SPLICE)
			refused++;
	}
	log_info("started %d device%s, %d relaying with zero copy (splice)",
	    gw->n_devs, gw->n_devs == 1 ? "" : "s", spliced);
	if (refused > 0)
		log_warnx("zero copy refused by the kernel for %d device%s "
		    "set to splice, which copy instead (each device's line "
		    "above says why)", refused, refused == 1 ? "" : "s");
	return (gw);
out_stop:
	gw_stop(gw);
	return (NULL);
}

/* Start a device and its monitor port, if it has one. */
static struct device *
gw_device_start(struct gateway *gw, const struct cfg_device *dc, char *err,
    size_t errlen)
{
	struct device	*dev;
	struct monitor	*mon;

	if ((dev = device_start(dc, gw->acc, gw->wd, err, errlen)) == NULL)
		return (NULL);
	if (dc->monitor.mode != CFG_LINK_LISTEN)
		return (dev);
	/* The monitor's thread starts with the first device that has one
	   (under mu: the status server's collect reads gw->mon). */
	if (gw->mon == NULL && (mon = monitor_start()) != NULL) {
		pthread_mutex_lock(&gw->mu);
		gw->mon = mon;
		pthread_mutex_unlock(&gw->mu);
	}
	if (gw->mon == NULL)
		snprintf(err, errlen, "cannot start the monitor: %s",
		    strerror(errno));
	else if (monitor_open(gw->mon, dc->name, &dc->monitor, &dc->pol,
	    device_tap(dev), err, errlen) == 0)
		return (dev);
	device_stop(dev);
	return (NULL);
}

/* Close a device's monitor port and its clients, then tell the device
   to stop (device_stop_finish() waits for it, device_free() frees it). */
static void
gw_device_stop_begin(struct gateway *gw, struct device *dev)
{
	if (gw->mon != NULL)
		monitor_close(gw->mon, device_cfg(dev)->name);
	device_stop_begin(dev);
}

static struct device *
find_device(struct device **devs, int n, const char *name)
{
	int	i;

	for (i = 0; i < n; i++)
		if (devs[i] && strcmp(device_cfg(devs[i])->name, name) == 0)
			return (devs[i]);
	return (NULL);
}

static const struct cfg_device *
find_cfg(const struct cfg *cfg, const char *name)
{
	int	i;

	for (i = 0; i < cfg->n_devices; i++)
		if (strcmp(cfg->devices[i].name, name) == 0)
			return (&cfg->devices[i]);
	return (NULL);
}

/* A listen link holds its listening socket, its client and one more
   waiting to be taken, and for a name a lookup a silent DNS server may
   keep (its eventfd and the resolver's socket) until the resolver gives
   up; a dialling link its socket and, while it looks a name up, an
   eventfd. */
static long
endpoint_fds(const struct cfg_endpoint *ep)
{
	if (ep->mode == CFG_LINK_LISTEN)
		return (addr_host_is_literal(ep->hp.host) ? 3 : 5);
	return (addr_host_is_literal(ep->hp.host) ? 1 : 2);
}

/* Does a new status.listen replace the running server (or start one)?
   A server kept where it was at the last reload is tried again. */
static bool
status_changes(const struct gateway *gw, const struct cfg *cfg)
{
	return (strcmp(cfg->status_listen, gw->cfg->status_listen) != 0 ||
	    gw->status_kept ||
	    (gw->status == NULL && cfg->status_listen[0] != '\0'));
}

/* Move the status server to cfg's status.listen, between the stop of the
   devices that go and the start of the new ones: it may take a port a
   device gives up, and a device the port it gives up. Returns 0, or -1
   when the new address cannot be had (logged, told in rep): the old
   server, if there is one, serves on where it did. */
static int
gw_status_move(struct gateway *gw, const struct cfg *cfg,
    struct gw_reload_report *rep)
{
	char	err[512];

	if (!status_changes(gw, cfg))
		return (0);
	gw->status_kept = false;
	if (cfg->status_listen[0] == '\0') {
		status_stop(gw->status);
		gw->status = NULL;
		return (0);
	}
	if (status_move(&gw->status, &cfg->status_hp, &cfg->status_binds,
	    gw_collect, gw, err, sizeof(err)) == 0)
		return (0);
	if (gw->status != NULL) {
		gw->status_kept = true;
		log_warnx("reload: %s; status server kept on %s", err,
		    status_where(gw->status));
		gw_report(rep, "%s; status server kept on %s", err,
		    status_where(gw->status));
	} else {
		log_warnx("reload: %s; running without status", err);
		gw_report(rep, "%s; running without status", err);
	}
	if (rep != NULL) {
		rep->status_failed = true;
		snprintf(rep->status_kept, sizeof(rep->status_kept), "%s",
		    gw->status != NULL ? status_where(gw->status) : "");
	}
	return (-1);
}

/* One line of a reload's report, when there is one. */
static void
gw_report(struct gw_reload_report *rep, const char *fmt, ...)
{
	char	line[512];
	va_list	ap;

	if (rep == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	strbuf_printf(&rep->lines, "%s\n", line);
}

/* How a device that a reload restarts ran before. */
struct gw_was {
	struct cfg_device	cfg;
	bool			has;		/* cfg is a copy: free it */
	bool			again;		/* its new settings did not
						   start (why): start it as
						   it was, at slot */
	int			slot;		/* its place in the new table,
						   NULL there meanwhile */
	char			why[256];
};

/* A changed device whose new settings could not start (err says why):
   start it again as it ran before the reload (was), so that a port taken
   or a name not resolved takes no device out of service. Returns the
   device, or NULL when it cannot start either. Logs and reports the
   outcome. */
static struct device *
gw_device_restore(struct gateway *gw, const char *name,
    const struct cfg_device *was, const char *err,
    struct gw_reload_report *rep)
{
	struct device	*dev;
	char		 werr[256];

	if ((dev = gw_device_start(gw, was, werr, sizeof(werr))) == NULL) {
		log_link(LOG_LVL_WARN, name, NULL, NULL, "reload: %s: cannot "
		    "start: %s; nor as it was: %s", name, err, werr);
		gw_report(rep, "%s: cannot start: %s; nor as it was: %s", name,
		    err, werr);
		return (NULL);
	}
	log_link(LOG_LVL_WARN, name, NULL, NULL, "reload: %s: cannot start: "
	    "%s; started again as it was", name, err);
	gw_report(rep, "%s: cannot start: %s; started again as it was", name,
	    err);
	return (dev);
}

/* The changed devices of cfg whose new settings could not start, once
   every other device has started: each is started again as it was in
   its place of devs (n of them), or left out. Returns the new n. */
static int
gw_restore_all(struct gateway *gw, const struct cfg *cfg, struct gw_was *was,
    struct device **devs, int n, struct gw_reload_report *rep)
{
	int	i, j, kept;

	for (i = 0; i < cfg->n_devices; i++)
		if (was[i].again)
			devs[was[i].slot] = gw_device_restore(gw,
			    cfg->devices[i].name, &was[i].cfg, was[i].why,
			    rep);
	for (j = kept = 0; j < n; j++)
		if (devs[j] != NULL)
			devs[kept++] = devs[j];
	return (kept);
}

int
gw_reload(struct gateway *gw, struct cfg *cfg, struct gw_reload_report *rep)
{
	struct device		**old, **devs, *dev;
	const struct cfg_device	 *nc;
	char			  derr[256], causes[CFG_RESTART_CAUSES_MAX];
	int			 *stopping;	/* slots of old */
	bool			 *ran;		/* per device of cfg: one of
						   its name ran before */
	struct gw_was		 *was;		/* per device of cfg */
	int			  i, i_was, n_old, n = 0, n_stop = 0, rc = 0;
	int			  kept = 0, started = 0, updated = 0;

	devs = calloc((size_t)cfg->n_devices + 1, sizeof(*devs));
	pthread_mutex_lock(&gw->mu);
	old = gw->devs;
	n_old = gw->n_devs;
	pthread_mutex_unlock(&gw->mu);
	stopping = calloc((size_t)n_old + 1, sizeof(*stopping));
	ran = calloc((size_t)cfg->n_devices + 1, sizeof(*ran));
	was = calloc((size_t)cfg->n_devices + 1, sizeof(*was));
	if (devs == NULL || stopping == NULL || ran == NULL || was == NULL) {
		log_warnx("reload: out of memory; running configuration kept");
		free(devs);
		free(stopping);
		free(ran);
		free(was);
		cfg_free(cfg);
		gw_reload_outcome(gw, false);
		return (-1);
	}
	cfg_restart_causes(causes, sizeof(causes));

	/* Free first what the new configuration takes elsewhere: removed
	   and changed devices (a changed one may keep its listen address).
	   Then the status server moves (it may move to a port a device
	   releases, or swap with one), and the new devices start. A change
	   of policy only is applied in place. */
	for (i = 0; i < n_old; i++) {
		nc = find_cfg(cfg, device_cfg(old[i])->name);
		if (nc != NULL)
			ran[nc - cfg->devices] = true;
		if (nc != NULL && cfg_device_equal(nc, device_cfg(old[i]))) {
			gw_report(rep, "%s: kept", nc->name);
			continue;
		}
		if (nc != NULL && cfg_device_policy_only(device_cfg(old[i]),
		    nc)) {
			log_link(LOG_LVL_INFO, nc->name, NULL, NULL,
			    "reload: %s: policy changed (keepalive, timeouts, "
			    "backoff, hold): applied to its live links",
			    nc->name);
			gw_report(rep, "%s: kept, with the new policy applied to "
			    "its live links", nc->name);
			device_set_policy(old[i], &nc->pol);
			updated++;
			continue;
		}
		if (nc != NULL) {
			log_link(LOG_LVL_INFO, nc->name, NULL, NULL, "reload: "
			    "%s: %s changed: restarting", nc->name, causes);
			/* To start it again as it was if the new one cannot
			   start (a port taken, a name not resolved). */
			i_was = (int)(nc - cfg->devices);
			was[i_was].has = cfg_device_copy(&was[i_was].cfg,
			    device_cfg(old[i])) == 0;
		} else {
			log_link(LOG_LVL_INFO, device_cfg(old[i])->name, NULL,
			    NULL, "reload: %s: removed: stopping",
			    device_cfg(old[i])->name);
			gw_report(rep, "%s: removed: stopped",
			    device_cfg(old[i])->name);
			if (rep != NULL)
				rep->removed++;
		}
		stopping[n_stop++] = i;
	}
	/* Tell every device, then wait for them: together, not in turn. A
	   device stays in the table (old is the table) while it stops, and
	   leaves it only with its counters final: the bytes its threads held
	   counted, its links closed. Then, in one step under mu, its
	   failures and detections go into the gateway's totals and it leaves
	   the table: a scrape sees each once, in the table or in the totals,
	   and never a total going back. */
	for (i = 0; i < n_stop; i++)
		gw_device_stop_begin(gw, old[stopping[i]]);
	for (i = 0; i < n_stop; i++) {
		dev = old[stopping[i]];
		device_stop_finish(dev);
		pthread_mutex_lock(&gw->mu);
		gw_retire(gw, dev);
		old[stopping[i]] = NULL;
		pthread_mutex_unlock(&gw->mu);
		device_free(dev);
	}
	free(stopping);
	if (gw_status_move(gw, cfg, rep) == -1)
		rc = -1;

	for (i = 0; i < cfg->n_devices; i++) {
		nc = &cfg->devices[i];
		if ((dev = find_device(old, n_old, nc->name)) != NULL) {
			devs[n++] = dev;
			kept++;
			continue;
		}
		if ((dev = gw_device_start(gw, nc, derr, sizeof(derr))) ==
		    NULL) {
			rc = -1;
			if (rep != NULL)
				rep->failed++;
			if (!was[i].has) {
				log_link(LOG_LVL_WARN, nc->name, NULL, NULL,
				    "reload: %s: cannot start: %s", nc->name,
				    derr);
				gw_report(rep, "%s: cannot start: %s", nc->name,
				    derr);
				continue;
			}
			/* After the others have started: its old ports may
			   be theirs now. */
			snprintf(was[i].why, sizeof(was[i].why), "%s", derr);
			was[i].again = true;
			was[i].slot = n;
			devs[n++] = NULL;
			continue;
		}
		devs[n++] = dev;
		/* Not whether the old file had it: a device that could not
		   start then is added now. */
		if (!ran[i]) {
			log_link(LOG_LVL_INFO, nc->name, NULL, NULL,
			    "reload: %s: added: starting", nc->name);
			gw_report(rep, "%s: added: started", nc->name);
			if (rep != NULL)
				rep->added++;
		} else {
			gw_report(rep, "%s: restarted: %s changed", nc->name,
			    causes);
			if (rep != NULL)
				rep->restarted++;
		}
		started++;
	}
	free(ran);
	n = gw_restore_all(gw, cfg, was, devs, n, rep);
	for (i = 0; i < cfg->n_devices; i++)
		if (was[i].has)
			cfg_device_free(&was[i].cfg);
	free(was);
	pthread_mutex_lock(&gw->mu);
	gw->devs = devs;
	gw->n_devs = n;
	pthread_mutex_unlock(&gw->mu);
	free(old);
	gw_log_level(gw->cfg, cfg);
	if (cfg->log_target != gw->cfg->log_target)
		log_info("reload: log.target %s -> %s",
		    log_target_str(target_of(gw->cfg->log_target)),
		    log_target_str(target_of(cfg->log_target)));
	if (gw_log_target(cfg, rep) == -1)
		rc = -1;
	if (cfg->status_per_link_detail != gw->cfg->status_per_link_detail) {
		log_info("reload: status.per_link_detail %s -> %s",
		    gw->cfg->status_per_link_detail ? "true" : "false",
		    cfg->status_per_link_detail ? "true" : "false");
		pthread_mutex_lock(&gw->mu);
		gw->per_link_detail = cfg->status_per_link_detail;
		pthread_mutex_unlock(&gw->mu);
	}
	if (cfg->watchdog_period_ms != gw->cfg->watchdog_period_ms) {
		log_info("reload: watchdog.period_ms %d -> %d",
		    gw->cfg->watchdog_period_ms, cfg->watchdog_period_ms);
		wd_set_period(gw->wd, cfg->watchdog_period_ms);
	}
	/* Kept devices hold their own copies: the old config can go. */
	cfg_free(gw->cfg);
	gw->cfg = cfg;
	log_info("reload: %d device%s kept (%d with new timeouts), %d stopped, "
	    "%d started", kept, kept == 1 ? "" : "s", updated, n_stop,
	    started);
	if (rep != NULL) {
		rep->kept = kept;
		rep->updated = updated;
	}
	gw_reload_outcome(gw, rc == 0);
	return (rc);
}

/* Keep the failures and detections of a device leaving the table (with
   gw->mu held, in the step that takes it out) in the gateway's totals,
   which so never go backwards. The device has stopped: its links count
   nothing more, so what is kept is all they counted, once. */
static void
gw_retire(struct gateway *gw, struct device *dev)
{
	struct link_snap	 s;
	struct link		*l;
	int			 k;

	for (k = 0; k < LINK_KIND_COUNT; k++)
		if ((l = device_link(dev, k)) != NULL) {
			link_snapshot(l, &s);
			metrics_totals_add(&gw->retired, &s);
		}
	gw->retired_gen++;
}

/* Record how the last reload went, for the metrics. */
static void
gw_reload_outcome(struct gateway *gw, bool ok)
{
	pthread_mutex_lock(&gw->mu);
	gw->reload_ok = ok;
	if (ok)
		gw->reload_ok_wall_ms = clock_wall_ms();
	pthread_mutex_unlock(&gw->mu);
}

void
gw_reload_rejected(struct gateway *gw)
{
	gw_reload_outcome(gw, false);
}

void
gw_stop(struct gateway *gw)
{
	int	i;

	if (gw == NULL)
		return;
	status_stop(gw->status);
	/* Stop accepting first, then tell every device before waiting for
	   any: a stop takes about one io_timeout_ms, however many devices
	   there are and whatever they are doing. */
	acceptor_halt(gw->acc);
	for (i = 0; i < gw->n_devs; i++)
		gw_device_stop_begin(gw, gw->devs[i]);
	for (i = gw->n_devs - 1; i >= 0; i--) {
		device_stop_finish(gw->devs[i]);
		device_free(gw->devs[i]);
	}
	free(gw->devs);
	monitor_stop(gw->mon);
	wd_stop(gw->wd);
	acceptor_free(gw->acc);
	cfg_free(gw->cfg);
	pthread_mutex_destroy(&gw->mu);
	free(gw);
	log_info("terminating");
	(void)log_set_target(LOG_TO_STDERR, NULL);
}

int
gw_disconnect(struct gateway *gw, const char *device, enum link_kind kind,
    const char *detail, unsigned *had, unsigned *done)
{
	struct device	*dev;
	struct link	*l;
	int		 k;

	*had = *done = 0;
	pthread_mutex_lock(&gw->mu);
	if ((dev = find_device(gw->devs, gw->n_devs, device)) == NULL) {
		pthread_mutex_unlock(&gw->mu);
		return (-1);
	}
	for (k = 0; k < LINK_KIND_COUNT; k++) {
		if ((l = device_link(dev, k)) == NULL)
			continue;
		*had |= 1u << k;
		if ((kind == LINK_KIND_COUNT || kind == (enum link_kind)k) &&
		    link_fail(l, 0, WD_OPERATOR, 0, "%s", detail))
			*done |= 1u << k;
	}
	pthread_mutex_unlock(&gw->mu);
	return (0);
}

struct tap *
gw_tap(struct gateway *gw, const char *device)
{
	struct device	*dev;
	struct tap	*tap = NULL;

	/* Under mu: a device in the table is not stopped meanwhile. */
	pthread_mutex_lock(&gw->mu);
	if ((dev = find_device(gw->devs, gw->n_devs, device)) != NULL) {
		tap = device_tap(dev);
		tap_ref(tap);
	}
	pthread_mutex_unlock(&gw->mu);
	return (tap);
}

void
gw_foreach_link(struct gateway *gw,
    void (*fn)(void *, const char *, struct link *), void *arg)
{
	struct link	*l;
	int		 i, k;

	pthread_mutex_lock(&gw->mu);
	for (i = 0; i < gw->n_devs; i++) {
		if (gw->devs[i] == NULL)
			continue;
		for (k = 0; k < LINK_KIND_COUNT; k++)
			if ((l = device_link(gw->devs[i], k)) != NULL)
				fn(arg, device_cfg(gw->devs[i])->name, l);
	}
	pthread_mutex_unlock(&gw->mu);
}

long
gw_fds_needed(const struct cfg *cfg)
{
	const struct cfg_device	*d;
	long			 n = 3 + 3 + 8;	/* stdio, acceptor, slack */
	int			 i;

	if (cfg->status_listen[0] != '\0')
		n += STATUS_FDS;
	for (i = 0; i < cfg->n_devices; i++) {
		d = &cfg->devices[i];
		n += 1;			/* the wake eventfd */
		if (d->split)
			n += endpoint_fds(&d->rx) + endpoint_fds(&d->tx);
		else
			n += endpoint_fds(&d->device);
		n += endpoint_fds(&d->upstream);
		/* The port, and each client's socket and tap eventfd; the
		   monitor thread's own eventfd. */
		if (d->monitor.mode == CFG_LINK_LISTEN)
			n += 1 + 2 * CFG_MONITOR_CLIENTS + 1;
		if (d->pol.relay == CFG_RELAY_SPLICE)
			n += 4;		/* a pipe each way */
	}
	return (n);
}

struct collect {
	struct gateway	*gw;
	struct metrics	*m;
};

static void
collect_link(void *arg, const char *device, struct link *l)
{
	struct collect		*c = arg;
	struct metrics_link	*ml;
	size_t			 n = c->m->n_links;

	/* A failure marks the copy failed; the status server checks it. */
	if (metrics_add_link(c->m, device, l) == -1)
		return;
	ml = &c->m->links[n];
	/* A device's links come one after the other: its first carries
	   the device's monitor. */
	if (c->gw->mon != NULL && (n == 0 || strcmp(c->m->links[n - 1].device,
	    device) != 0))
		ml->has_monitor = monitor_info(c->gw->mon, device,
		    &ml->monitor);
}

void
gw_snapshot(struct gateway *gw, struct metrics *m)
{
	unsigned	gen;
	bool		again;

	/* The totals of retired links and the links in the table must be of
	   one moment: a device retired in between would count twice, and a
	   gateway-wide counter would seem to go back. A reload that retired
	   one meanwhile (rare) has the copy taken again. */
	do {
		m->n_links = 0;
		pthread_mutex_lock(&gw->mu);
		gen = gw->retired_gen;
		m->retired = gw->retired;
		m->per_link_detail = gw->per_link_detail;
		m->reload_ok = gw->reload_ok;
		m->reload_ok_wall_ms = gw->reload_ok_wall_ms;
		pthread_mutex_unlock(&gw->mu);
		m->period_ms = wd_period(gw->wd);
		gw_foreach_link(gw, collect_link, &(struct collect){ gw, m });
		pthread_mutex_lock(&gw->mu);
		again = gen != gw->retired_gen;
		pthread_mutex_unlock(&gw->mu);
	} while (again && !m->failed);
	m->start_wall_ms = gw->start_wall_ms;
	m->sweeps = wd_sweeps(gw->wd);
	hist_read(wd_sweep_hist(gw->wd), &m->sweep);
}

/* The status server's view. */
static void
gw_collect(void *ctx, struct metrics *m)
{
	gw_snapshot(ctx, m);
}

struct watchdog *
gw_watchdog(struct gateway *gw)
{
	return (gw->wd);
}
