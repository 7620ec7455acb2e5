/* metrics.h -- a copy of every counter, and its renderings: Prometheus
   text, JSON status, tab-separated status. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "hist.h"
#include "link.h"
#include "reason.h"
#include "strbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One link as read: its device, state and counters. */
struct metrics_link {
	char			device[CFG_NAME_MAX];
	struct link_snap	snap;
};

/* Everything a page shows, copied at one moment; plain data, no locks. */
struct metrics {
	struct metrics_link	*links;		/* in configuration order */
	size_t			 n_links;
	size_t			 cap;
	bool			 failed;	/* out of memory while adding */
	uint64_t		 sweeps;
	struct hist_snap	 sweep;
	int64_t			 start_wall_ms;	/* the gateway's start */
	bool			 reload_ok;	/* the last reload took */
	int64_t			 reload_ok_wall_ms; /* the last that took,
						   or the start */
};

/* An empty copy. Allocates nothing. */
void	metrics_init(struct metrics *);

/* Append link l of device: link_snapshot() (its lock, briefly) and atomic
   loads of its counters. Returns 0, or -1 with errno ENOMEM (then m is
   marked failed and later adds do nothing). */
int	metrics_add_link(struct metrics *m, const char *device, struct link *l);

/* Free what metrics_add_link() allocated and empty m. */
void	metrics_free(struct metrics *);

/* Render m in the Prometheus text exposition format 0.0.4: every family
   with HELP and TYPE, labels escaped; gatewayd_build_info names version.
   Returns 0, or -1 (ENOMEM). */
int	metrics_render_prometheus(const struct metrics *, const char *version,
	    struct strbuf *);

/* Render m as the JSON of GET /status: {"version":..,"devices":[{"name":..,
   "links":[..]}]}, with null for what never happened. Returns 0, or -1. */
int	metrics_render_json(const struct metrics *, const char *version,
	    struct strbuf *);

/* Render m as one line per link, fields separated by tabs: DEVICE LINK
   STATE PEER SINCE LAST-REASON BYTES-IN BYTES-OUT, "-" for an empty field,
   tabs and line breaks inside a field replaced by spaces. Returns 0, or -1. */
int	metrics_render_text(const struct metrics *, struct strbuf *);

#ifdef __cplusplus
}
#endif

#endif
