/* metrics.c -- a copy of every counter, and its renderings: Prometheus
   text, JSON status, tab-separated status.
 *
 * Copying (metrics_add_link) reads atomics and takes a link's lock only for
 * link_snapshot(); rendering works on the copy alone, so it can take its
 * time without holding anything a pump or the watchdog waits for.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "metrics.h"

#define METRICS_LABELS_MAX	(2 * CFG_NAME_MAX + 64)

static size_t	utf8_seq_len(const unsigned char *, size_t);
static void	json_string(struct strbuf *, const char *);
static void	json_time(struct strbuf *, int64_t);
static void	json_ms(struct strbuf *, const char *, int64_t);
static void	json_link(struct strbuf *, const struct metrics_link *);
static void	prom_escape(const char *, char *, size_t);
static void	prom_family(struct strbuf *, const char *, const char *,
		    const char *);
static void	prom_labels(const struct metrics_link *, char *, size_t);
static void	prom_hist(struct strbuf *, const char *, const char *,
		    const struct hist_snap *);
static char	*seconds_of_ms(int64_t, char *, size_t);
static void	prom_fleet(struct strbuf *, const struct metrics *,
		    const char *);
static void	prom_failures(struct strbuf *, const struct metrics *);
static void	prom_detection(struct strbuf *, const struct metrics *);
static uint64_t	link_failures(const struct link_snap *);
static void	text_field(struct strbuf *, const char *, bool);

void
metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
}

int
metrics_add_link(struct metrics *m, const char *device, struct link *l)
{
	struct metrics_link	*ml;
	size_t			 cap;

	if (m->failed) {
		errno = ENOMEM;
		return (-1);
	}
	if (m->n_links == m->cap) {
		cap = m->cap ? m->cap * 2 : 16;
		ml = reallocarray(m->links, cap, sizeof(*ml));
		if (ml == NULL) {
			m->failed = true;
			errno = ENOMEM;
			return (-1);
		}
		m->links = ml;
		m->cap = cap;
	}
	ml = &m->links[m->n_links++];
	memset(ml, 0, sizeof(*ml));
	snprintf(ml->device, sizeof(ml->device), "%s", device);
	link_snapshot(l, &ml->snap);
	link_budgets(l, m->period_ms, &ml->budgets);
	return (0);
}

void
metrics_totals_add(struct metrics_totals *t, const struct link_snap *s)
{
	int	i;

	for (i = 0; i < WD_REASON_COUNT; i++)
		t->failures[i] += s->failures[i];
	for (i = 0; i < HIST_BUCKETS; i++)
		t->detect.bucket[i] += s->detect.bucket[i];
	t->detect.count += s->detect.count;
	t->detect.sum_us += s->detect.sum_us;
}

/* Every reason together. */
static uint64_t
link_failures(const struct link_snap *s)
{
	uint64_t	n = 0;
	int		r;

	for (r = 0; r < WD_REASON_COUNT; r++)
		n += s->failures[r];
	return (n);
}

void
metrics_free(struct metrics *m)
{
	free(m->links);
	metrics_init(m);
}

/* ---- Prometheus text format 0.0.4 ---- */

/* A label value: backslash, double quote and line feed escaped. */
static void
prom_escape(const char *s, char *out, size_t len)
{
	size_t	o = 0;

	for (; *s != '\0' && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			out[o++] = '\\';
			out[o++] = *s == '\n' ? 'n' : *s;
		} else
			out[o++] = *s;
	}
	out[o] = '\0';
}

static void
prom_family(struct strbuf *sb, const char *name, const char *type,
    const char *help)
{
	strbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* device="..",link=".." */
static void
prom_labels(const struct metrics_link *ml, char *buf, size_t len)
{
	char	dev[2 * CFG_NAME_MAX];

	prom_escape(ml->device, dev, sizeof(dev));
	snprintf(buf, len, "device=\"%s\",link=\"%s\"", dev,
	    link_kind_str(ml->snap.kind));
}

/* A time in ms (a bucket bound, a wall clock time) as seconds, shortest
   form: 5 -> "0.005", 2500 -> "2.5", 60000 -> "60". */
static char *
seconds_of_ms(int64_t ms, char *buf, size_t len)
{
	size_t	n;

	snprintf(buf, len, "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return (buf);
}

/* Cumulative buckets, +Inf (the count), sum in seconds and count. labels
   is "" or a list without braces. */
static void
prom_hist(struct strbuf *sb, const char *name, const char *labels,
    const struct hist_snap *h)
{
	const char	*sep = labels[0] != '\0' ? "," : "";
	char		 le[32];
	uint64_t	 cum = 0;
	int		 i;

	for (i = 0; i < HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		strbuf_printf(sb, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n",
		    name, labels, sep, seconds_of_ms(hist_bounds_ms[i], le,
		    sizeof(le)), cum);
	}
	strbuf_printf(sb, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name,
	    labels, sep, h->count);
	if (labels[0] != '\0') {
		strbuf_printf(sb, "%s_sum{%s} %" PRIu64 ".%06" PRIu64 "\n",
		    name, labels, h->sum_us / 1000000, h->sum_us % 1000000);
		strbuf_printf(sb, "%s_count{%s} %" PRIu64 "\n", name, labels,
		    h->count);
	} else {
		strbuf_printf(sb, "%s_sum %" PRIu64 ".%06" PRIu64 "\n", name,
		    h->sum_us / 1000000, h->sum_us % 1000000);
		strbuf_printf(sb, "%s_count %" PRIu64 "\n", name, h->count);
	}
}

/* A counter family with one series per link: the uint64_t at off in each
   link's snapshot. */
static void
prom_counter(struct strbuf *sb, const struct metrics *m, const char *name,
    const char *help, size_t off)
{
	const struct metrics_link	*ml;
	char				 lbl[METRICS_LABELS_MAX];
	uint64_t			 v;
	size_t				 i;

	prom_family(sb, name, "counter", help);
	for (i = 0; i < m->n_links; i++) {
		ml = &m->links[i];
		memcpy(&v, (const char *)&ml->snap + off, sizeof(v));
		prom_labels(ml, lbl, sizeof(lbl));
		strbuf_printf(sb, "%s{%s} %" PRIu64 "\n", name, lbl, v);
	}
}

/* What a fleet's dashboards and alerts compare across gateways: the
   version, the start, and whether the configuration on disk is the one
   running. */
static void
prom_fleet(struct strbuf *sb, const struct metrics *m, const char *version)
{
	char	ver[64], sec[32];

	prom_escape(version, ver, sizeof(ver));
	prom_family(sb, "gatewayd_build_info", "gauge",
	    "The version of gatewayd running, as a label; always 1.");
	strbuf_printf(sb, "gatewayd_build_info{version=\"%s\"} 1\n", ver);
	prom_family(sb, "process_start_time_seconds", "gauge",
	    "Start time of the process since the epoch, in seconds.");
	strbuf_printf(sb, "process_start_time_seconds %s\n",
	    seconds_of_ms(m->start_wall_ms, sec, sizeof(sec)));
	prom_family(sb, "gatewayd_config_last_reload_successful", "gauge",
	    "Whether the last reload took (1): 0 after a rejected file, a "
	    "device that could not start, a status server that could not "
	    "move or a log.target that could not be used.");
	strbuf_printf(sb, "gatewayd_config_last_reload_successful %d\n",
	    m->reload_ok);
	prom_family(sb, "gatewayd_config_last_reload_success_timestamp_seconds",
	    "gauge", "When the last reload that took (or the start) was, "
	    "since the epoch, in seconds.");
	strbuf_printf(sb, "gatewayd_config_last_reload_success_timestamp_seconds "
	    "%s\n", seconds_of_ms(m->reload_ok_wall_ms, sec, sizeof(sec)));
}

/* Links declared dead: per link, and by reason for the gateway; by
   reason per link too with per_link_detail. Every reason has its series
   from the start, at 0, so that rate() and increase() see the first
   failure. */
static void
prom_failures(struct strbuf *sb, const struct metrics *m)
{
	const struct metrics_link	*ml;
	struct metrics_totals		 tot = m->retired;
	char				 lbl[METRICS_LABELS_MAX];
	size_t				 i;
	int				 r;

	prom_family(sb, "gatewayd_link_failures_total", "counter",
	    m->per_link_detail ? "Times the link was declared dead, by reason." :
	    "Times the link was declared dead, every reason together "
	    "(gatewayd_failures_total has the reasons).");
	for (i = 0; i < m->n_links; i++) {
		ml = &m->links[i];
		prom_labels(ml, lbl, sizeof(lbl));
		metrics_totals_add(&tot, &ml->snap);
		if (!m->per_link_detail) {
			strbuf_printf(sb, "gatewayd_link_failures_total{%s} %"
			    PRIu64 "\n", lbl, link_failures(&ml->snap));
			continue;
		}
		for (r = WD_REASON_NONE + 1; r < WD_REASON_COUNT; r++)
			strbuf_printf(sb, "gatewayd_link_failures_total{%s,"
			    "reason=\"%s\"} %" PRIu64 "\n", lbl,
			    wd_reason_str(r), ml->snap.failures[r]);
	}
	prom_family(sb, "gatewayd_failures_total", "counter",
	    "Links of the gateway declared dead, by reason (links of devices "
	    "since removed included).");
	for (r = WD_REASON_NONE + 1; r < WD_REASON_COUNT; r++)
		strbuf_printf(sb, "gatewayd_failures_total{reason=\"%s\"} %"
		    PRIu64 "\n", wd_reason_str(r), tot.failures[r]);
}

/* From a dead link's last sign of life to the verdict: one histogram for
   the gateway, or one per link with per_link_detail. */
static void
prom_detection(struct strbuf *sb, const struct metrics *m)
{
	const struct metrics_link	*ml;
	struct metrics_totals		 tot = m->retired;
	char				 lbl[METRICS_LABELS_MAX];
	size_t				 i;

	prom_family(sb, "gatewayd_detection_seconds", "histogram",
	    m->per_link_detail ? "Time from a dead link's last sign of life to "
	    "the verdict." : "Time from a dead link's last sign of life to the "
	    "verdict, over every link of the gateway.");
	for (i = 0; i < m->n_links; i++) {
		ml = &m->links[i];
		if (!m->per_link_detail) {
			metrics_totals_add(&tot, &ml->snap);
			continue;
		}
		prom_labels(ml, lbl, sizeof(lbl));
		prom_hist(sb, "gatewayd_detection_seconds", lbl, &ml->snap.detect);
	}
	if (!m->per_link_detail)
		prom_hist(sb, "gatewayd_detection_seconds", "", &tot.detect);
}

int
metrics_render_prometheus(const struct metrics *m, const char *version,
    struct strbuf *sb)
{
	const struct metrics_link	*ml;
	char				 lbl[METRICS_LABELS_MAX];
	size_t				 i;

	prom_fleet(sb, m, version);
	prom_family(sb, "gatewayd_link_up", "gauge",
	    "Whether the link is up (1) or down or connecting (0).");
	for (i = 0; i < m->n_links; i++) {
		ml = &m->links[i];
		prom_labels(ml, lbl, sizeof(lbl));
		strbuf_printf(sb, "gatewayd_link_up{%s} %d\n", lbl,
		    ml->snap.state == LINK_UP);
	}
	prom_counter(sb, m, "gatewayd_link_connects_total",
	    "Connections established on the link (dialled or accepted).",
	    offsetof(struct link_snap, connects));
	prom_failures(sb, m);
	prom_family(sb, "gatewayd_bytes_total", "counter",
	    "Bytes the gateway sent to the link's peer: to_device on device "
	    "and tx links, to_upstream on upstream links (rx links are "
	    "read-only).");
	for (i = 0; i < m->n_links; i++) {
		ml = &m->links[i];
		if (ml->snap.kind == LINK_KIND_RX)
			continue;
		prom_labels(ml, lbl, sizeof(lbl));
		strbuf_printf(sb, "gatewayd_bytes_total{%s,direction=\"%s\"} %"
		    PRIu64 "\n", lbl, ml->snap.kind == LINK_KIND_UPSTREAM ?
		    "to_upstream" : "to_device", ml->snap.bytes_out);
	}
	prom_counter(sb, m, "gatewayd_unacked_bytes_at_failure_total",
	    "Bytes the peer had not acknowledged when the link was declared "
	    "dead (possibly lost in flight).",
	    offsetof(struct link_snap, unacked_at_failure));
	prom_counter(sb, m, "gatewayd_held_bytes_discarded_total",
	    "Bytes received on the link and never relayed: held longer than "
	    "hold_max_ms, dropped as the device was down, unread when the "
	    "link closed or its device stopped, or sent by a client closed "
	    "before it became the link.",
	    offsetof(struct link_snap, held_discarded));
	prom_detection(sb, m);
	prom_family(sb, "gatewayd_watchdog_sweeps_total", "counter",
	    "Sweeps over every link the watchdog completed.");
	strbuf_printf(sb, "gatewayd_watchdog_sweeps_total %" PRIu64 "\n",
	    m->sweeps);
	prom_family(sb, "gatewayd_watchdog_sweep_seconds", "histogram",
	    "Time one watchdog sweep over every link took.");
	prom_hist(sb, "gatewayd_watchdog_sweep_seconds", "", &m->sweep);
	if (sb->failed) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

/* ---- JSON ---- */

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t		len, i;
	uint32_t	cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return (0);
	if (n < len)
		return (0);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return (0);
	return (len);
}

/* s as a JSON string; bytes that are not UTF-8 become U+FFFD. */
static void
json_string(struct strbuf *sb, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), k;

	strbuf_add(sb, "\"", 1);
	while (n > 0) {
		if (*p == '"' || *p == '\\') {
			strbuf_printf(sb, "\\%c", *p);
			k = 1;
		} else if (*p == '\n') {
			strbuf_add(sb, "\\n", 2);
			k = 1;
		} else if (*p == '\t') {
			strbuf_add(sb, "\\t", 2);
			k = 1;
		} else if (*p == '\r') {
			strbuf_add(sb, "\\r", 2);
			k = 1;
		} else if (*p < 0x20 || *p == 0x7f) {
			strbuf_printf(sb, "\\u%04x", *p);
			k = 1;
		} else if (*p < 0x80) {
			strbuf_add(sb, (const char *)p, 1);
			k = 1;
		} else if ((k = utf8_seq_len(p, n)) > 0)
			strbuf_add(sb, (const char *)p, k);
		else {
			strbuf_add(sb, "\\ufffd", 6);
			k = 1;
		}
		p += k;
		n -= k;
	}
	strbuf_add(sb, "\"", 1);
}

/* A time, or null for 0 (never). */
static void
json_time(struct strbuf *sb, int64_t wall_ms)
{
	char	ts[32];

	if (wall_ms <= 0)
		strbuf_puts(sb, "null");
	else
		json_string(sb, clock_format_utc(wall_ms, ts, sizeof(ts)));
}

/* ,"name":MS, or null for a negative value (none). */
static void
json_ms(struct strbuf *sb, const char *name, int64_t ms)
{
	if (ms < 0)
		strbuf_printf(sb, ",\"%s\":null", name);
	else
		strbuf_printf(sb, ",\"%s\":%lld", name, (long long)ms);
}

/* ,"last_words":{...} of a link that failed, null before. */
static void
json_words(struct strbuf *sb, const struct link_snap *s)
{
	strbuf_puts(sb, ",\"last_words\":");
	if (s->last_reason == WD_REASON_NONE) {
		strbuf_puts(sb, "null");
		return;
	}
	strbuf_puts(sb, "{\"received\":\"");
	strbuf_hex(sb, s->last_words_in.b, s->last_words_in.len);
	strbuf_printf(sb, "\",\"received_skipped\":%" PRIu64 ",\"sent\":\"",
	    s->last_words_in.skipped);
	strbuf_hex(sb, s->last_words_out.b, s->last_words_out.len);
	strbuf_printf(sb, "\",\"sent_skipped\":%" PRIu64 "}",
	    s->last_words_out.skipped);
}

static void
json_link(struct strbuf *sb, const struct metrics_link *ml)
{
	const struct link_snap	*s = &ml->snap;
	uint64_t		 failures = link_failures(s);
	bool			 failed = s->last_reason != WD_REASON_NONE;
	strbuf_puts(sb, "{\"link\":");
	json_string(sb, link_kind_str(s->kind));
	strbuf_puts(sb, ",\"state\":");
	json_string(sb, link_state_str(s->state));
	strbuf_puts(sb, ",\"peer\":");
	if (s->peer[0] != '\0')
		json_string(sb, s->peer);
	else
		strbuf_puts(sb, "null");
	strbuf_puts(sb, ",\"listen\":");
	if (s->listen[0] != '\0')
		json_string(sb, s->listen);
	else
		strbuf_puts(sb, "null");
	strbuf_puts(sb, ",\"since\":");
	json_time(sb, s->since_wall_ms);
	strbuf_puts(sb, ",\"last_reason\":");
	if (failed)
		json_string(sb, wd_reason_str(s->last_reason));
	else
		strbuf_puts(sb, "null");
	strbuf_puts(sb, ",\"last_failure\":");
	json_time(sb, failed ? s->last_failure_wall_ms : 0);
	strbuf_puts(sb, ",\"last_detail\":");
	if (failed)
		json_string(sb, s->last_detail);
	else
		strbuf_puts(sb, "null");
	strbuf_printf(sb, ",\"connects\":%" PRIu64 ",\"failures\":%" PRIu64
	    ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
	    ",\"unacked_bytes_at_failure\":%" PRIu64
	    ",\"held_bytes_discarded\":%" PRIu64, ml->snap.connects, failures,
	    ml->snap.bytes_in, ml->snap.bytes_out, ml->snap.unacked_at_failure,
	    ml->snap.held_discarded);
	json_ms(sb, "budget_idle_ms", ml->budgets.idle_ms);
	json_ms(sb, "budget_in_flight_ms", ml->budgets.in_flight_ms);
	json_ms(sb, "budget_stall_ms", ml->budgets.stall_ms);
	strbuf_printf(sb, ",\"blip_tolerance_ms\":%lld",
	    (long long)(ml->budgets.blip_ms > 0 ? ml->budgets.blip_ms : 0));
	json_ms(sb, "last_detection_ms", ml->snap.last_detection_ms);
	json_words(sb, s);
	strbuf_puts(sb, "}");
}

/* ,"monitor":{...} of a device with a monitor port, null without. */
static void
json_monitor(struct strbuf *sb, const struct metrics_link *ml)
{
	strbuf_puts(sb, ",\"monitor\":");
	if (!ml->has_monitor) {
		strbuf_puts(sb, "null");
		return;
	}
	strbuf_puts(sb, "{\"listen\":");
	json_string(sb, ml->monitor.listen);
	strbuf_printf(sb, ",\"clients\":%u,\"missed_bytes\":%" PRIu64 "}",
	    ml->monitor.clients, ml->monitor.missed);
}

int
metrics_render_json(const struct metrics *m, const char *version,
    struct strbuf *sb)
{
	const struct metrics_link	*ml;
	size_t				 i;

	strbuf_puts(sb, "{\"version\":");
	json_string(sb, version);
	strbuf_puts(sb, ",\"devices\":[");
	for (i = 0; i < m->n_links; i++) {
		ml = &m->links[i];
		/* A device's links come one after the other. */
		if (i == 0 || strcmp(ml->device, m->links[i - 1].device) != 0) {
			strbuf_puts(sb, i == 0 ? "{\"name\":" : "]},{\"name\":");
			json_string(sb, ml->device);
			json_monitor(sb, ml);
			strbuf_puts(sb, ",\"links\":[");
		} else
			strbuf_puts(sb, ",");
		json_link(sb, ml);
	}
	strbuf_puts(sb, m->n_links > 0 ? "]}]}\n" : "]}\n");
	if (sb->failed) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

/* ---- tab-separated ---- */

static void
text_field(struct strbuf *sb, const char *s, bool last)
{
	const char	*p;

	if (*s == '\0')
		strbuf_add(sb, "-", 1);
	for (p = s; *p != '\0'; p++)
		strbuf_add(sb, *p == '\t' || *p == '\n' || *p == '\r' ? " " : p,
		    1);
	strbuf_add(sb, last ? "\n" : "\t", 1);
}

/* The verbose fields: detail, and each side's last words (hex) and the
   bytes skipped after them. */
static void
text_words(struct strbuf *sb, const struct link_snap *s)
{
	bool	failed = s->last_reason != WD_REASON_NONE;

	text_field(sb, failed ? s->last_detail : "", false);
	if (!failed) {
		strbuf_puts(sb, "-\t0\t-\t0\n");
		return;
	}
	if (s->last_words_in.len == 0)
		strbuf_puts(sb, "-");
	strbuf_hex(sb, s->last_words_in.b, s->last_words_in.len);
	strbuf_printf(sb, "\t%" PRIu64 "\t", s->last_words_in.skipped);
	if (s->last_words_out.len == 0)
		strbuf_puts(sb, "-");
	strbuf_hex(sb, s->last_words_out.b, s->last_words_out.len);
	strbuf_printf(sb, "\t%" PRIu64 "\n", s->last_words_out.skipped);
}

int
metrics_render_text(const struct metrics *m, bool verbose, struct strbuf *sb)
{
	const struct metrics_link	*ml;
	char				 ts[32], num[24];
	size_t				 i;

	for (i = 0; i < m->n_links; i++) {
		ml = &m->links[i];
		text_field(sb, ml->device, false);
		text_field(sb, link_kind_str(ml->snap.kind), false);
		text_field(sb, link_state_str(ml->snap.state), false);
		text_field(sb, ml->snap.peer, false);
		text_field(sb, clock_format_utc(ml->snap.since_wall_ms, ts,
		    sizeof(ts)), false);
		text_field(sb, ml->snap.last_reason == WD_REASON_NONE ? "" :
		    wd_reason_str(ml->snap.last_reason), false);
		snprintf(num, sizeof(num), "%" PRIu64, ml->snap.bytes_in);
		text_field(sb, num, false);
		snprintf(num, sizeof(num), "%" PRIu64, ml->snap.bytes_out);
		text_field(sb, num, !verbose);
		if (verbose)
			text_words(sb, &ml->snap);
	}
	if (sb->failed) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}
