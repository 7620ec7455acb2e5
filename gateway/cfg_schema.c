/* cfg_schema.c -- the configuration's schema: the key table and what it
   drives (defaults, ranges, rules, equality, the docs' reference). No
   parser here: cfg.c turns the file into values through this table, this
   file judges them. */

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cfg.h"
#include "cfg_schema.h"
#include "clock.h"
#include "resolve.h"
#include "verdict.h"

/* Indexed by the enums of cfg.h. */
static const char *const cfg_level_names[] = {
	"debug", "info", "warn", "error", NULL };
static const char *const cfg_target_names[] = {
	"stderr", "syslog", "journal", NULL };
static const char *const cfg_down_names[] = { "close", "hold", NULL };
static const char *const cfg_relay_names[] = { "splice", "copy", NULL };
static const char *const cfg_monitor_names[] = { "raw", "tagged", NULL };
static const char *const cfg_new_client_names[] = {
	"replace", "reject", NULL };

#define TOPF(f)	offsetof(struct cfg, f)
#define POLF(f)	offsetof(struct cfg_policy, f)
#define EPF(f)	offsetof(struct cfg_endpoint, f)
#define NCHOICES(a)	((long long)(sizeof(a) / sizeof((a)[0])) - 1)
#define INT(sc, p, lo, hi, d, u, o, h)					\
	{ .path = (p), .scope = CFG_SCOPE_##sc, .kind = CFG_KEY_INT,	\
	  .min = (lo), .max = (hi), .def = (d), .unit = (u), .off = (o), \
	  .help = (h) }
#define ENUM(sc, p, names, d, o, h)					\
	{ .path = (p), .scope = CFG_SCOPE_##sc, .kind = CFG_KEY_ENUM,	\
	  .min = 0, .max = NCHOICES(names) - 1, .def = (d),		\
	  .choices = (names), .unit = "", .off = (o), .help = (h) }

/* Enum fields are set and compared through an int, as integer keys are. */
_Static_assert(sizeof(enum cfg_log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_log_target) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_device_down) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_new_client) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_relay) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_monitor_format) == sizeof(int), "enum size");

/* The one place where defaults, bounds, units and help are written. Keys
   of one group ("keepalive.*") stay adjacent: cfg_keydoc_names() relies
   on it. */
static const struct cfg_keydoc cfg_keys[] = {
	{ .path = "version", .scope = CFG_SCOPE_TOP, .kind = CFG_KEY_INT,
	  .required = true, .min = 1, .max = 1, .def = 1, .unit = "",
	  .off = TOPF(version), .help = "schema version of the file" },
	ENUM(TOP, "log.level", cfg_level_names, CFG_LOG_INFO, TOPF(log_level),
	    "lowest level logged"),
	ENUM(TOP, "log.target", cfg_target_names, CFG_LOG_STDERR,
	    TOPF(log_target),
	    "where lines go: stderr, syslog (daemon facility) or the journal"),
	{ .path = "status.listen", .scope = CFG_SCOPE_TOP,
	  .kind = CFG_KEY_ADDR, .defstr = "127.0.0.1:9780", .unit = "",
	  .help = "address of HTTP /metrics and /status; \"\" turns it off" },
	{ .path = "status.per_link_detail", .scope = CFG_SCOPE_TOP,
	  .kind = CFG_KEY_BOOL, .min = 0, .max = 1, .def = 0, .unit = "",
	  .off = TOPF(status_per_link_detail),
	  .help = "per-link failure reasons and detection histograms in "
	  "/metrics, for small sites" },
	{ .path = "control.socket", .scope = CFG_SCOPE_TOP,
	  .kind = CFG_KEY_PATH, .defstr = "/run/gatewayd/control.sock",
	  .unit = "",
	  .help = "Unix socket of gwctl's commands, mode 0660; \"\" turns it "
	  "off" },
	INT(TOP, "watchdog.period_ms", 10, 60000, 100, "ms",
	    TOPF(watchdog_period_ms),
	    "how often the watchdog checks every socket"),
	INT(POLICY, "keepalive.idle_s", 1, 7200, 2, "s",
	    POLF(keepalive_idle_s),
	    "silence before the first keepalive probe (TCP_KEEPIDLE)"),
	INT(POLICY, "keepalive.interval_s", 1, 600, 1, "s",
	    POLF(keepalive_interval_s),
	    "time between keepalive probes (TCP_KEEPINTVL)"),
	INT(POLICY, "keepalive.count", 1, 50, 3, "probes",
	    POLF(keepalive_count),
	    "unanswered probes that declare the peer gone (TCP_KEEPCNT)"),
	/* Up to the longest keepalive budget, (7200 + 600 * 50) s, which
	   it must cover. */
	INT(POLICY, "user_timeout_ms", 100, 37200000, 5000, "ms",
	    POLF(user_timeout_ms),
	    "longest time sent data may stay unacknowledged "
	    "(TCP_USER_TIMEOUT)"),
	INT(POLICY, "stall_timeout_ms", 100, 3600000, 5000, "ms",
	    POLF(stall_timeout_ms),
	    "longest zero window, or time without write progress"),
	INT(POLICY, "rx_silence_ms", 0, 86400000, 0, "ms",
	    POLF(rx_silence_ms),
	    "longest time without a byte from the device; 0 = off"),
	INT(POLICY, "io_timeout_ms", 10, 60000, 500, "ms",
	    POLF(io_timeout_ms),
	    "SO_RCVTIMEO / SO_SNDTIMEO: how often blocked threads wake up"),
	INT(POLICY, "connect_timeout_ms", 100, 600000, 3000, "ms",
	    POLF(connect_timeout_ms), "timeout of one connect attempt"),
	INT(POLICY, "backoff.min_ms", 10, 600000, 100, "ms",
	    POLF(backoff_min_ms), "first delay before a reconnect"),
	INT(POLICY, "backoff.max_ms", 10, 3600000, 10000, "ms",
	    POLF(backoff_max_ms),
	    "longest delay before a reconnect (doubling, with jitter)"),
	{ .path = "buffer_bytes", .scope = CFG_SCOPE_POLICY,
	  .kind = CFG_KEY_INT, .restarts = true, .min = 4096,
	  .max = 67108864, .def = 65536, .unit = "bytes",
	  .off = POLF(buffer_bytes), .help = "relay buffer, per direction" },
	ENUM(POLICY, "on_device_down", cfg_down_names, CFG_DOWN_CLOSE,
	    POLF(on_device_down),
	    "when the device link drops: close upstream too, or hold it"),
	INT(POLICY, "hold_max_ms", 100, 3600000, 10000, "ms",
	    POLF(hold_max_ms),
	    "with hold: held data older than this is discarded and "
	    "upstream closed"),
	{ .path = "relay", .scope = CFG_SCOPE_POLICY, .kind = CFG_KEY_ENUM,
	  .restarts = true, .min = 0, .max = NCHOICES(cfg_relay_names) - 1,
	  .def = CFG_RELAY_SPLICE, .choices = cfg_relay_names, .unit = "",
	  .off = POLF(relay),
	  .help = "how bytes move: splice (zero copy, through a pipe) or "
	  "copy (through the buffer)" },
	{ .path = "monitor_format", .scope = CFG_SCOPE_POLICY,
	  .kind = CFG_KEY_ENUM, .restarts = true, .monitor_only = true,
	  .min = 0, .max = NCHOICES(cfg_monitor_names) - 1,
	  .def = CFG_MONITOR_RAW,
	  .choices = cfg_monitor_names, .unit = "", .off = POLF(monitor_format),
	  .help = "what monitor clients get: the raw bytes of both directions, "
	  "or each chunk tagged with its time, direction and length" },
	ENUM(ENDPOINT, "on_new_client", cfg_new_client_names,
	    CFG_NEW_CLIENT_REPLACE, EPF(on_new_client),
	    "listen only: a further client replaces the current one, or is "
	    "rejected"),
};
#define CFG_NKEYS	((int)(sizeof(cfg_keys) / sizeof(cfg_keys[0])))

static const char *const cfg_rule_backoff[] = {
	"backoff.min_ms", "backoff.max_ms", NULL };
static const char *const cfg_rule_user_timeout[] = {
	"user_timeout_ms", "keepalive.idle_s", "keepalive.interval_s",
	"keepalive.count", NULL };
static const char *const cfg_rule_blip[] = {
	"keepalive.count", "keepalive.interval_s", NULL };

static int	 cfg_key_int(const void *, const struct cfg_keydoc *);
static const char *cfg_secs(int64_t, bool, char *, size_t);
static void	 cfg_print_link(FILE *, const struct cfg_device *, const char *,
		    enum wd_role, int);
static int	 cfg_issue(struct cfg_issue *, int, int, bool,
		    const char *const *, const char *, ...)
		    __attribute__((format(printf, 6, 7)));
static struct cfg_endpoint *cfg_slot_endpoint(struct cfg_device *, int);
static struct addr_binds *cfg_slot_binds(struct cfg *, int, const char **);
static bool	 cfg_listen_slot(const struct cfg *, int,
		    const struct addr_hostport **, const char **, char *,
		    size_t, int *, const struct addr_binds **);
static bool	 cfg_endpoint_equal(const struct cfg_endpoint *,
		    const struct cfg_endpoint *);
static bool	 cfg_policy_equal(const struct cfg_device *,
		    const struct cfg_device *, bool);
static bool	 cfg_device_links_equal(const struct cfg_device *,
		    const struct cfg_device *);

const struct cfg_keydoc *
cfg_keydocs(int *n)
{
	*n = CFG_NKEYS;
	return (cfg_keys);
}

const struct cfg_keydoc *
cfg_keydoc_find(const char *path)
{
	int	i;

	for (i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].path, path) == 0)
			return (&cfg_keys[i]);
	return (NULL);
}

char *
cfg_keydoc_range(const struct cfg_keydoc *k, char *buf, size_t len)
{
	size_t	off = 0;
	int	i, n;

	if (len == 0)
		return (buf);
	buf[0] = '\0';
	switch (k->kind) {
	case CFG_KEY_INT:
		if (k->min == k->max)
			snprintf(buf, len, "%lld", k->min);
		else
			snprintf(buf, len, "%lld..%lld", k->min, k->max);
		break;
	case CFG_KEY_ENUM:
		for (n = 0; k->choices[n] != NULL; n++)
			;
		for (i = 0; i < n && off < len; i++) {
			snprintf(buf + off, len - off, "%s%s",
			    i == 0 ? "" : i == n - 1 ? " or " : ", ",
			    k->choices[i]);
			off += strlen(buf + off);
		}
		break;
	case CFG_KEY_ADDR:
		snprintf(buf, len, "HOST:PORT or \"\"");
		break;
	case CFG_KEY_BOOL:
		snprintf(buf, len, "true or false");
		break;
	case CFG_KEY_PATH:
		snprintf(buf, len, "PATH or \"\"");
		break;
	}
	return (buf);
}

int *
cfg_keydoc_field(void *base, const struct cfg_keydoc *k)
{
	return ((int *)(void *)((char *)base + k->off));
}

static int
cfg_key_int(const void *base, const struct cfg_keydoc *k)
{
	int	v;

	memcpy(&v, (const char *)base + k->off, sizeof(v));
	return (v);
}

void
cfg_defaults(struct cfg *c)
{
	const struct cfg_keydoc	*k;
	const char		*why;

	memset(c, 0, sizeof(*c));
	for (k = cfg_keys; k < cfg_keys + CFG_NKEYS; k++) {
		if (k->kind == CFG_KEY_ADDR || k->kind == CFG_KEY_PATH ||
		    k->required)
			continue;
		if (k->scope == CFG_SCOPE_TOP)
			*cfg_keydoc_field(c, k) = (int)k->def;
		else if (k->scope == CFG_SCOPE_POLICY)
			*cfg_keydoc_field(&c->defaults, k) = (int)k->def;
	}
	k = cfg_keydoc_find("status.listen");
	snprintf(c->status_listen, sizeof(c->status_listen), "%s", k->defstr);
	if (k->defstr[0] != '\0')
		(void)addr_parse_hostport(k->defstr, &c->status_hp, &why);
	k = cfg_keydoc_find("control.socket");
	snprintf(c->control_socket, sizeof(c->control_socket), "%s",
	    k->defstr);
}

void
cfg_endpoint_defaults(struct cfg_endpoint *ep)
{
	const struct cfg_keydoc	*k;

	for (k = cfg_keys; k < cfg_keys + CFG_NKEYS; k++)
		if (k->scope == CFG_SCOPE_ENDPOINT && k->kind != CFG_KEY_ADDR)
			*cfg_keydoc_field(ep, k) = (int)k->def;
}

char *
cfg_keydoc_names(enum cfg_keyscope scope, const char *prefix, char *buf,
    size_t len)
{
	const char	*rest, *prev = NULL;
	size_t		 off = 0, plen = prefix != NULL ? strlen(prefix) : 0;
	size_t		 clen, prevlen = 0;
	int		 i;

	if (len == 0)
		return (buf);
	buf[0] = '\0';
	for (i = 0; i < CFG_NKEYS && off < len; i++) {
		rest = cfg_keys[i].path;
		if (cfg_keys[i].scope != scope || (prefix != NULL &&
		    (strncmp(rest, prefix, plen) != 0 || rest[plen] != '.')))
			continue;
		if (prefix != NULL)
			rest += plen + 1;
		clen = strcspn(rest, ".");
		/* The keys of one group are adjacent in the table. */
		if (prev != NULL && clen == prevlen &&
		    strncmp(prev, rest, clen) == 0)
			continue;
		snprintf(buf + off, len - off, "%s%.*s", off > 0 ? ", " : "",
		    (int)clen, rest);
		off += strlen(buf + off);
		prev = rest;
		prevlen = clen;
	}
	return (buf);
}

void
cfg_wd_policy(const struct cfg_policy *p, struct wd_policy *wp)
{
	wp->keepalive_idle_s = p->keepalive_idle_s;
	wp->keepalive_interval_s = p->keepalive_interval_s;
	wp->keepalive_count = p->keepalive_count;
	wp->user_timeout_ms = p->user_timeout_ms;
	wp->stall_timeout_ms = p->stall_timeout_ms;
	wp->rx_silence_ms = p->rx_silence_ms;
}

/* The watchdog's own arithmetic, so that the check and the verdict can
   never disagree. */
int
cfg_keepalive_budget_ms(const struct cfg_policy *p)
{
	struct wd_policy	wp;
	int64_t			ms;

	cfg_wd_policy(p, &wp);
	ms = wd_budget_ms(&wp, WD_KEEPALIVE_TIMEOUT);
	return (ms > INT_MAX ? INT_MAX : ms < 0 ? 0 : (int)ms);
}

bool
cfg_quiet_budgets_shorter(const struct cfg_policy *was,
    const struct cfg_policy *now)
{
	return (cfg_keepalive_budget_ms(now) < cfg_keepalive_budget_ms(was) ||
	    now->user_timeout_ms < was->user_timeout_ms);
}

/* Append one issue when there is room; returns the new count. */
static int
cfg_issue(struct cfg_issue *iv, int n, int max, bool warning,
    const char *const *keys, const char *fmt, ...)
{
	va_list	ap;

	if (n >= max)
		return (n);
	iv[n].warning = warning;
	iv[n].keys = keys;
	snprintf(iv[n].path, sizeof(iv[n].path), "%s", keys[0]);
	va_start(ap, fmt);
	vsnprintf(iv[n].text, sizeof(iv[n].text), fmt, ap);
	va_end(ap);
	return (n + 1);
}

int
cfg_policy_check(const struct cfg_policy *p, struct cfg_issue *iv, int max)
{
	struct wd_policy	wp;
	int			n = 0, budget = cfg_keepalive_budget_ms(p);

	if (p->backoff_min_ms > p->backoff_max_ms)
		n = cfg_issue(iv, n, max, false, cfg_rule_backoff,
		    "greater than backoff.max_ms (got %d, want <= %d)",
		    p->backoff_min_ms, p->backoff_max_ms);
	/* Once TCP_USER_TIMEOUT is set it replaces the probe count, and
	   probes are not retransmitted: a shorter timeout kills a healthy
	   idle link after one lost probe. */
	if (p->user_timeout_ms < budget)
		n = cfg_issue(iv, n, max, false, cfg_rule_user_timeout,
		    "shorter than the keepalive budget (idle_s + interval_s * "
		    "count) * 1000, one lost probe would drop a quiet link "
		    "(got %d, want >= %d)", p->user_timeout_ms, budget);
	/* What the keepalive settings allow, so the warning stands apart from
	   the error above (whose shorter user_timeout_ms allows nothing). */
	cfg_wd_policy(p, &wp);
	if (wp.user_timeout_ms < budget)
		wp.user_timeout_ms = budget;
	if (wd_blip_tolerance_ms(&wp) <= 0)
		n = cfg_issue(iv, n, max, true, cfg_rule_blip,
		    "keepalive tolerates no silent blip, interval_s * "
		    "(count - 1) is 0 (got %d, want 2 or more)",
		    p->keepalive_count);
	return (n);
}

/* The listen addresses a device may have: device, rx, tx, upstream and
   monitor. */
#define CFG_LISTEN_SLOTS	5

/* Role r's endpoint of d, when it listens on an address: NULL else. */
static struct cfg_endpoint *
cfg_slot_endpoint(struct cfg_device *d, int r)
{
	struct cfg_endpoint	*ep;

	switch (r) {
	case 0:
		ep = d->split ? NULL : &d->device;
		break;
	case 1:
		ep = d->split ? &d->rx : NULL;
		break;
	case 2:
		ep = d->split ? &d->tx : NULL;
		break;
	case 3:
		ep = &d->upstream;
		break;
	default:
		ep = &d->monitor;
		break;
	}
	if (ep == NULL || ep->mode != CFG_LINK_LISTEN || ep->text[0] == '\0')
		return (NULL);
	return (ep);
}

/* The binds of listen slot k of c (as cfg_listen_slot() numbers them),
   when it holds a valid listen address; its host into *host. */
static struct addr_binds *
cfg_slot_binds(struct cfg *c, int k, const char **host)
{
	struct cfg_endpoint	*ep;

	if (k == 0) {
		*host = c->status_hp.host;
		return (c->status_listen[0] != '\0' ? &c->status_binds : NULL);
	}
	ep = cfg_slot_endpoint(&c->devices[(k - 1) / CFG_LISTEN_SLOTS],
	    (k - 1) % CFG_LISTEN_SLOTS);
	if (ep == NULL)
		return (NULL);
	*host = ep->hp.host;
	return (&ep->binds);
}

/* Listen slot k of c: 0 is status.listen, 1 + CFG_LISTEN_SLOTS * i + r is
   role r of device i. Fills the address, its text, its path and line (0:
   none) and its binds, and returns true when the slot holds a valid
   listen address. */
static bool
cfg_listen_slot(const struct cfg *c, int k, const struct addr_hostport **hp,
    const char **text, char *path, size_t len, int *line,
    const struct addr_binds **binds)
{
	static const char *const	 role[CFG_LISTEN_SLOTS] = {
		"device", "device.rx", "device.tx", "upstream", "monitor" };
	const struct cfg_endpoint	*ep;

	if (k == 0) {
		*hp = &c->status_hp;
		*text = c->status_listen;
		*line = 0;
		*binds = &c->status_binds;
		snprintf(path, len, "status.listen");
		return (c->status_listen[0] != '\0');
	}
	/* Read only: the one switch serves cfg_slot_binds() as well. */
	ep = cfg_slot_endpoint((struct cfg_device *)&c->devices[(k - 1) /
	    CFG_LISTEN_SLOTS], (k - 1) % CFG_LISTEN_SLOTS);
	if (ep == NULL)
		return (false);
	*hp = &ep->hp;
	*text = ep->text;
	*line = ep->line;
	*binds = &ep->binds;
	snprintf(path, len, "devices.[%d].%s.listen", (k - 1) / CFG_LISTEN_SLOTS,
	    role[(k - 1) % CFG_LISTEN_SLOTS]);
	return (true);
}

void
cfg_lookup_listen(struct cfg *c)
{
	struct resolve_lookup	**lk;
	struct addr_binds	 *b;
	const char		 *host;
	int64_t			  deadline;
	int			  k, nslots;

	/* Without memory for the list, one at a time: still bounded. */
	nslots = 1 + CFG_LISTEN_SLOTS * c->n_devices;
	lk = calloc((size_t)nslots, sizeof(*lk));
	deadline = clock_ms() + CFG_LOOKUP_MS;
	for (k = 0; k < nslots; k++) {
		if ((b = cfg_slot_binds(c, k, &host)) == NULL ||
		    host[0] == '\0')
			continue;
		if (lk != NULL)
			lk[k] = resolve_binds_begin(host, b);
		else
			resolve_binds_end(resolve_binds_begin(host, b),
			    deadline, b);
	}
	for (k = 0; lk != NULL && k < nslots; k++)
		if (lk[k] != NULL && (b = cfg_slot_binds(c, k, &host)) != NULL)
			resolve_binds_end(lk[k], deadline, b);
	free(lk);
}

/* For cfg_check_devices() with lookup: the address each listen slot
   binds (the first that cfg_lookup_listen() found), where a name shares
   its port with another listen address (only then can it clash). NULL
   when there is no such name, or memory is short (a clash is then left
   to the start's bind). */
static struct addr_bound *
cfg_listen_bound(const struct cfg *c, int nslots, bool **named)
{
	const struct addr_hostport	*hp;
	const struct addr_binds		*binds;
	struct addr_bound		*b = NULL;
	const char			*text;
	unsigned short			*uses;
	char				 path[64];
	unsigned long			 port;
	int				 k, line;
	bool				 any = false;

	*named = NULL;
	if ((uses = calloc(65536, sizeof(*uses))) == NULL)
		return (NULL);
	for (k = 0; k < nslots; k++)
		if (cfg_listen_slot(c, k, &hp, &text, path, sizeof(path),
		    &line, &binds) &&
		    (port = strtoul(hp->port, NULL, 10)) > 0 &&
		    port < 65536 && uses[port] < 2)
			uses[port]++;
	if ((b = calloc((size_t)nslots, sizeof(*b))) == NULL ||
	    (*named = calloc((size_t)nslots, sizeof(**named))) == NULL)
		goto out;
	/* Both sides of a possible clash: the names, and the literals on
	   their ports. */
	for (k = 0; k < nslots; k++) {
		if (!cfg_listen_slot(c, k, &hp, &text, path, sizeof(path),
		    &line, &binds) ||
		    (port = strtoul(hp->port, NULL, 10)) == 0 ||
		    port >= 65536 || uses[port] < 2)
			continue;
		if (addr_bound_literal(hp->host, &b[k]) == 0)
			continue;
		any = (*named)[k] = true;
		if (binds->n > 0)
			addr_bound_of(&binds->a[0].sa, &b[k]);
	}
out:
	free(uses);
	if (!any) {
		free(b);
		free(*named);
		*named = NULL;
		return (NULL);
	}
	return (b);
}

int
cfg_check_devices(const struct cfg *c, bool lookup,
    void (*fn)(void *, const struct cfg_issue *), void *arg)
{
	struct cfg_issue		 is;
	const struct addr_hostport	*ha, *hb;
	const struct addr_binds		*ba, *bb;
	struct addr_bound		*bound = NULL;
	const char			*ta, *tb;
	char				 pa[64], where[32], ip[64], which[96];
	int				 i, j, la, lb, n = 0;
	int				 nslots = 1 + CFG_LISTEN_SLOTS * c->n_devices;
	bool				*named = NULL;

	memset(&is, 0, sizeof(is));
	for (j = 1; j < c->n_devices; j++) {
		if (c->devices[j].name[0] == '\0')
			continue;
		for (i = 0; i < j; i++)
			if (strcmp(c->devices[i].name, c->devices[j].name) == 0)
				break;
		if (i == j)
			continue;
		snprintf(is.path, sizeof(is.path), "devices.[%d].name", j);
		snprintf(is.text, sizeof(is.text), "duplicate device name "
		    "(got \"%s\", already used by devices.[%d] at line %d)",
		    c->devices[j].name, i, c->devices[i].line);
		fn(arg, &is);
		n++;
	}
	if (lookup)
		bound = cfg_listen_bound(c, nslots, &named);
	for (j = 1; j < nslots; j++) {
		if (!cfg_listen_slot(c, j, &hb, &tb, is.path, sizeof(is.path),
		    &lb, &bb))
			continue;
		for (i = 0; i < j; i++) {
			if (!cfg_listen_slot(c, i, &ha, &ta, pa, sizeof(pa),
			    &la, &ba))
				continue;
			which[0] = '\0';
			if (!addr_listen_overlap(ha, hb)) {
				/* Names bind what they stand for. */
				if (bound == NULL || !(named[i] || named[j]) ||
				    strcmp(ha->port, hb->port) != 0 ||
				    strcmp(ha->port, "0") == 0 ||
				    !addr_bound_same(&bound[i], &bound[j], ip,
				    sizeof(ip)))
					continue;
				snprintf(which, sizeof(which), ", both bind %s",
				    ip);
			}
			if (la > 0)
				snprintf(where, sizeof(where), " at line %d",
				    la);
			else
				where[0] = '\0';
			/* Long names are cut; the path still names both. */
			if (snprintf(is.text, sizeof(is.text), "duplicate "
			    "listen address (got \"%s\", already used by %s "
			    "\"%s\"%s%s)", tb, pa, ta, where, which) < 0)
				is.text[0] = '\0';
			fn(arg, &is);
			n++;
			break;
		}
	}
	free(bound);
	free(named);
	return (n);
}

static bool
cfg_endpoint_equal(const struct cfg_endpoint *a, const struct cfg_endpoint *b)
{
	int	i;

	if (a->mode != b->mode || a->on_new_client != b->on_new_client ||
	    strcmp(a->hp.host, b->hp.host) != 0 ||
	    strcmp(a->hp.port, b->hp.port) != 0 || a->n_allow != b->n_allow)
		return (false);
	for (i = 0; i < a->n_allow; i++)
		if (a->allow[i].family != b->allow[i].family ||
		    a->allow[i].prefix != b->allow[i].prefix ||
		    memcmp(a->allow[i].net, b->allow[i].net,
		    sizeof(a->allow[i].net)) != 0)
			return (false);
	return (true);
}

/* Whether a policy key does anything for device d. */
static bool
cfg_key_used(const struct cfg_device *d, const struct cfg_keydoc *k)
{
	return (!k->monitor_only || d->monitor.mode != CFG_LINK_NONE);
}

/* Every policy key of the table that device a uses, or only those that
   restart it. Called when a and b have the same links. */
static bool
cfg_policy_equal(const struct cfg_device *a, const struct cfg_device *b,
    bool restarting_only)
{
	const struct cfg_keydoc	*k;

	for (k = cfg_keys; k < cfg_keys + CFG_NKEYS; k++) {
		if (k->scope != CFG_SCOPE_POLICY ||
		    (restarting_only && !k->restarts) || !cfg_key_used(a, k))
			continue;
		if (cfg_key_int(&a->pol, k) != cfg_key_int(&b->pol, k))
			return (false);
	}
	return (true);
}

/* Name, links and addresses; the config lines and the address text as
   written do not count, the parsed address does. */
static bool
cfg_device_links_equal(const struct cfg_device *a, const struct cfg_device *b)
{
	if (strcmp(a->name, b->name) != 0 || a->split != b->split ||
	    !cfg_endpoint_equal(&a->upstream, &b->upstream) ||
	    !cfg_endpoint_equal(&a->monitor, &b->monitor))
		return (false);
	if (a->split)
		return (cfg_endpoint_equal(&a->rx, &b->rx) &&
		    cfg_endpoint_equal(&a->tx, &b->tx));
	return (cfg_endpoint_equal(&a->device, &b->device));
}

bool
cfg_device_equal(const struct cfg_device *a, const struct cfg_device *b)
{
	return (cfg_device_links_equal(a, b) &&
	    cfg_policy_equal(a, b, false));
}

bool
cfg_device_policy_only(const struct cfg_device *a, const struct cfg_device *b)
{
	return (cfg_device_links_equal(a, b) &&
	    cfg_policy_equal(a, b, true));
}

char *
cfg_restart_causes(char *buf, size_t len)
{
	const struct cfg_keydoc	*k;
	const char		*name[CFG_NKEYS + 3];
	size_t			 off = 0;
	int			 i, n = 0;

	/* What cfg_device_links_equal() compares, then the policy keys of
	   the table that restart, so that a key added there is named. */
	name[n++] = "addresses";
	name[n++] = "allow";
	for (k = cfg_keys; k < cfg_keys + CFG_NKEYS; k++)
		if (k->scope == CFG_SCOPE_ENDPOINT)
			name[n++] = k->path;
	name[n++] = "monitor";
	for (k = cfg_keys; k < cfg_keys + CFG_NKEYS; k++)
		if (k->scope == CFG_SCOPE_POLICY && k->restarts)
			name[n++] = k->path;
	if (len == 0)
		return (buf);
	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++) {
		snprintf(buf + off, len - off, "%s%s", i == 0 ? "" :
		    i == n - 1 ? " or " : ", ", name[i]);
		off += strlen(buf + off);
	}
	return (buf);
}

/* "5.1 s" (tenths), or "-" for a budget the role has not. A worst case
   is rounded up (a budget of 5050 ms is "5.1 s"), what is survived down. */
static const char *
cfg_secs(int64_t ms, bool up, char *buf, size_t len)
{
	if (ms < 0) {
		snprintf(buf, len, "-");
		return (buf);
	}
	if (up)
		ms = (ms + 99) / 100 * 100;
	snprintf(buf, len, "%lld.%lld s", (long long)(ms / 1000),
	    (long long)(ms % 1000 / 100));
	return (buf);
}

static void
cfg_print_link(FILE *fp, const struct cfg_device *d, const char *kind,
    enum wd_role role, int period_ms)
{
	struct wd_policy	wp;
	struct wd_budgets	b;
	char			t[6][24];

	cfg_wd_policy(&d->pol, &wp);
	wd_budgets(&wp, role, period_ms, &b);
	fprintf(fp, "%s/%s: idle peer %s, data in flight %s, stalled peer %s, "
	    "FIN/RST %s%s%s; survives a silent blip of %s\n", d->name, kind,
	    cfg_secs(b.idle_ms, true, t[0], sizeof(t[0])),
	    cfg_secs(b.in_flight_ms, true, t[1], sizeof(t[1])),
	    cfg_secs(b.stall_ms, true, t[2], sizeof(t[2])),
	    cfg_secs(b.close_ms, true, t[3], sizeof(t[3])),
	    b.rx_silence_ms >= 0 ? ", no byte received " : "",
	    b.rx_silence_ms >= 0 ? cfg_secs(b.rx_silence_ms, true, t[4],
	    sizeof(t[4])) : "", cfg_secs(b.blip_ms > 0 ? b.blip_ms : 0, false,
	    t[5], sizeof(t[5])));
	if (b.idle_ms > CFG_BUDGET_WARN_MS)
		fprintf(fp, "warning: %s/%s: a silent idle peer goes unnoticed "
		    "for up to %s (more than %d s)\n", d->name, kind,
		    cfg_secs(b.idle_ms, true, t[0], sizeof(t[0])),
		    CFG_BUDGET_WARN_MS / 1000);
	if (b.in_flight_ms > CFG_BUDGET_WARN_MS)
		fprintf(fp, "warning: %s/%s: a silent peer with data in flight "
		    "goes unnoticed for up to %s (more than %d s)\n", d->name,
		    kind, cfg_secs(b.in_flight_ms, true, t[1], sizeof(t[1])),
		    CFG_BUDGET_WARN_MS / 1000);
	if (b.stall_ms > CFG_BUDGET_WARN_MS)
		fprintf(fp, "warning: %s/%s: a peer that stopped reading goes "
		    "unnoticed for up to %s (more than %d s)\n", d->name, kind,
		    cfg_secs(b.stall_ms, true, t[2], sizeof(t[2])),
		    CFG_BUDGET_WARN_MS / 1000);
	if (b.blip_ms <= 0)
		fprintf(fp, "warning: %s/%s: survives no silent blip at all: "
		    "one lost keepalive probe drops the link\n", d->name, kind);
}

void
cfg_print_budgets(const struct cfg *c, FILE *fp)
{
	const struct cfg_device	*d;
	int			 i;

	for (i = 0; i < c->n_devices; i++) {
		d = &c->devices[i];
		if (d->split) {
			cfg_print_link(fp, d, "rx", WD_ROLE_RX,
			    c->watchdog_period_ms);
			cfg_print_link(fp, d, "tx", WD_ROLE_TX,
			    c->watchdog_period_ms);
		} else
			cfg_print_link(fp, d, "device", WD_ROLE_BIDIR,
			    c->watchdog_period_ms);
		cfg_print_link(fp, d, "upstream", WD_ROLE_UPSTREAM,
		    c->watchdog_period_ms);
	}
}
