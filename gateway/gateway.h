/* gateway.h -- the whole daemon assembled: start, reload, stop. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "cfg.h"
#include "link.h"
#include "metrics.h"
#include "strbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gateway;

/* Start the acceptor, every device, the watchdog and the status server of
   cfg, which the gateway then owns. Returns NULL with a reason in err (a
   port already in use, ...) after undoing what was started. */
struct gateway	*gw_start(struct cfg *cfg, char *err, size_t errlen);

/* The most file descriptors the gateway may hold with cfg: its sockets,
   eventfds and pipes, and the status server's connections. Not the
   control server's (CONTROL_FDS): the gateway does not start it. */
long		 gw_fds_needed(const struct cfg *cfg);

/* What a reload did, for whoever asked for it: a line per device
   ("press1: kept", "press2: restarted: ...", "press3: cannot start:
   ..."), one when the status server could not move or start
   ("status.listen ...: cannot serve: ...; status server kept on ..."),
   and the counts. */
struct gw_reload_report {
	struct strbuf	lines;
	int		kept;		/* with new timeouts included */
	int		updated;	/* kept, with new timeouts */
	int		restarted;
	int		added;
	int		removed;
	int		failed;		/* could not start */
	bool		status_failed;	/* its new status.listen not had */
	const char	*log_failed;	/* the log.target that could not be
					   used (lines on stderr); NULL */
	char		status_kept[ADDR_HOST_MAX + 16]; /* where the status
					   server serves on then; "": nowhere */
};

/* Apply a new, already validated config (which the gateway then owns):
   devices whose settings did not change keep running untouched, changed
   ones restart (as they were when the new settings cannot start), added
   ones start, removed ones stop. A status server
   that moves serves on its old address until the new one is had; when
   it cannot be, the old address serves on (and the next reload tries
   the new one again). Logs what changed, and tells it in report too
   (NULL: not; strbuf_init() its lines first). Returns 0, or -1 when some
   device could not start, the status server could not move or start, or
   the new log.target could not be used (logged; the others run). The outcome is the reload's in the metrics
   (gatewayd_config_last_reload_successful). */
int		 gw_reload(struct gateway *, struct cfg *cfg,
		    struct gw_reload_report *report);

/* A reload whose file was rejected (not valid, or too many descriptors):
   the running configuration stays, and the metrics say the last reload
   failed. */
void		 gw_reload_rejected(struct gateway *);

/* Stop accepting, shut every link, join every thread, free. */
void		 gw_stop(struct gateway *);

/* Call fn for every link of every device, in configuration order, with
   the device table locked: fn must be quick and must not call back into
   the gateway. */
void		 gw_foreach_link(struct gateway *,
		    void (*fn)(void *arg, const char *device, struct link *),
		    void *arg);

/* Shut down kind (LINK_KIND_COUNT: every link) of the device named
   device for reason operator, with detail (who asked) in the log and the
   status: its owner closes it and reconnects as after any failure.
   Returns 0 with the kinds the device has in *had and those this call
   shut down in *done (bit 1 << kind), or -1 when there is no such device. */
int		 gw_disconnect(struct gateway *, const char *device,
		    enum link_kind kind, const char *detail, unsigned *had,
		    unsigned *done);

/* A reference to the tap of the device named device (tap_unref() it), or
   NULL when there is no such device. */
struct tap	*gw_tap(struct gateway *, const char *device);

/* The watchdog, for the main thread's guard (wd_is_stuck()). */
struct watchdog	*gw_watchdog(struct gateway *);

/* Copy every link's state and counters, the watchdog's counters, the
   start and the last reload's outcome into m (metrics_init() first,
   metrics_free() after): what the status server shows. m->failed when out
   of memory. */
void		 gw_snapshot(struct gateway *, struct metrics *m);

#ifdef __cplusplus
}
#endif

#endif
