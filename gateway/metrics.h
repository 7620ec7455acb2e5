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
#include "monitor.h"
#include "reason.h"
#include "strbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One link as read: its device, state and counters. */
struct metrics_link {
	char			device[CFG_NAME_MAX];
	struct link_snap	snap;
	struct wd_budgets	budgets;
	/* The device's monitor port; on the device's first link. */
	bool			has_monitor;
	struct monitor_info	monitor;
};

/* Counts of the whole gateway that /metrics shows summed over links: the
   failures by reason and the detection histogram. */
struct metrics_totals {
	uint64_t		 failures[WD_REASON_COUNT];
	struct hist_snap	 detect;
};

/* Everything a page shows, copied at one moment; plain data, no locks. */
struct metrics {
	struct metrics_link	*links;		/* in configuration order */
	size_t			 n_links;
	size_t			 cap;
	bool			 failed;	/* out of memory while adding */
	bool			 per_link_detail; /* reasons and histograms
						     per link too */
	struct metrics_totals	 retired;	/* of links no longer there */
	int64_t			 period_ms;	/* the watchdog's, for budgets */
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

/* Add the failures and detections of link snapshot s to t. */
void	metrics_totals_add(struct metrics_totals *t, const struct link_snap *s);

/* Free what metrics_add_link() allocated and empty m. */
void	metrics_free(struct metrics *);

/* Render m in the Prometheus text exposition format 0.0.4: every family
   with HELP and TYPE, labels escaped; gatewayd_build_info names version.
   At most 6 series per link: gatewayd_link_failures_total without a
   reason, gatewayd_detection_seconds and the failures by reason
   (gatewayd_failures_total) for the gateway as a whole, links retired
   included. With m->per_link_detail, gatewayd_link_failures_total has a
   series per reason and gatewayd_detection_seconds one histogram per
   link. Returns 0, or -1 (ENOMEM). */
int	metrics_render_prometheus(const struct metrics *, const char *version,
	    struct strbuf *);

/* Render m as the JSON of GET /status: {"version":..,"devices":[{"name":..,
   "links":[..]}]}, with null for what never happened. Returns 0, or -1. */
int	metrics_render_json(const struct metrics *, const char *version,
	    struct strbuf *);

/* Render m as one line per link, fields separated by tabs: DEVICE LINK
   STATE PEER SINCE LAST-REASON BYTES-IN BYTES-OUT, "-" for an empty field,
   tabs and line breaks inside a field replaced by spaces; verbose adds
   LAST-DETAIL and the last words at the last failure: RECEIVED (hex)
   RECEIVED-SKIPPED SENT (hex) SENT-SKIPPED, the skipped counts being the
   bytes that passed zero-copy, unseen, after those. Returns 0, or -1. */
int	metrics_render_text(const struct metrics *, bool verbose,
	    struct strbuf *);

#ifdef __cplusplus
}
#endif

#endif
