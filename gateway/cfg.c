/* cfg.c -- load the configuration: libconfig file -> validated plain structs.
   The key table and the rules on parsed values live in cfg_schema.c. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "addr.h"
#include "cfg.h"
#include "cfg_schema.h"
#include "cfgsrc.h"

#define CFG_SPATH_MAX	512	/* "devices.[12].device.rx.allow.[3]" */
#define CFG_DEPTH_MAX	16
#define CFG_QUOTE_MAX	96	/* a string value quoted in a message */
#define CFG_INCLUDE_QUOTE_MAX 1024	/* an @include's file name, quoted */
#define CFG_LITERAL_MAX	72	/* an integer literal quoted in a message */
#define CFG_NAME_RE	"[A-Za-z0-9_.-]{1,64}"

struct cfg_msg {
	int		 line;
	int		 seq;
	char		*text;		/* the whole line, newline included */
};

/* One load in progress. */
struct cfg_ctx {
	const char		*file;		/* as given */
	const config_t		*lc;
	struct cfg_msg		*msgs;
	int			 n_msgs, cap_msgs;
	int			 errors;
	bool			 oom;
	bool			 lookup;	/* look listen names up */
};

static bool	cfg_isnamechar(int);
static void	cfg_spath(const config_setting_t *, const char *, char *,
		    size_t);
static const char *cfg_quote(const char *, char *, size_t);
static const char *cfg_type_str(const config_setting_t *);
static void	cfg_msg(struct cfg_ctx *, bool, const config_setting_t *,
		    const config_setting_t *, const char *, const char *,
		    const char *, ...) __attribute__((format(printf, 7, 8)));
static int	cfg_msg_cmp(const void *, const void *);
static void	cfg_flush(struct cfg_ctx *, FILE *);
static void	cfg_walk(struct cfg_ctx *, config_setting_t *,
		    enum cfg_keyscope, const char *, const char *const *);
static int	cfg_get_int(struct cfg_ctx *, config_setting_t *,
		    const struct cfg_keydoc *, long long *);
static int	cfg_get_enum(struct cfg_ctx *, config_setting_t *,
		    const struct cfg_keydoc *, int *);
static int	cfg_get_bool(struct cfg_ctx *, config_setting_t *, int *);
static int	cfg_get_addr(struct cfg_ctx *, config_setting_t *, bool, bool,
		    char *, size_t, struct addr_hostport *);
static int	cfg_get_path(struct cfg_ctx *, config_setting_t *, char *,
		    size_t);
static void	cfg_parse_keys(struct cfg_ctx *, config_setting_t *,
		    enum cfg_keyscope, void *);
static bool	cfg_parse_policy(struct cfg_ctx *, config_setting_t *,
		    struct cfg_policy *);
static void	cfg_allow_never(struct cfg_ctx *, config_setting_t *,
		    const struct cfg_endpoint *, const char *);
static void	cfg_parse_allow(struct cfg_ctx *, config_setting_t *,
		    struct cfg_endpoint *);
static void	cfg_parse_endpoint(struct cfg_ctx *, config_setting_t *,
		    struct cfg_endpoint *, const char *);
static void	cfg_parse_group(struct cfg_ctx *, config_setting_t *,
		    struct cfg_endpoint *);
static void	cfg_parse_link(struct cfg_ctx *, config_setting_t *,
		    struct cfg_device *);
static void	cfg_parse_monitor(struct cfg_ctx *, config_setting_t *,
		    config_setting_t *, struct cfg_device *);
static bool	cfg_parse_device(struct cfg_ctx *, config_setting_t *,
		    const struct cfg *, struct cfg_device *);
static void	cfg_rules(struct cfg_ctx *, config_setting_t *,
		    const struct cfg_policy *, bool);
static void	cfg_device_issue(void *, const struct cfg_issue *);
static void	cfg_parse(struct cfg_ctx *, config_setting_t *, struct cfg *);

#define cfg_err(ctx, s, ...)						\
	cfg_msg(ctx, false, s, s, NULL, NULL, __VA_ARGS__)
#define cfg_err_key(ctx, g, key, ...)					\
	cfg_msg(ctx, false, g, g, key, NULL, __VA_ARGS__)
#define cfg_wrong_type(ctx, s, want)					\
	cfg_err(ctx, s, "wrong type (got %s, want %s)", cfg_type_str(s), want)

/* ASCII only, whatever the locale. */
static bool
cfg_isnamechar(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-');
}

/* The setting's path in libconfig notation ("devices.[1].upstream"), with
   ".key" appended when key is not NULL. */
static void
cfg_spath(const config_setting_t *s, const char *key, char *buf, size_t len)
{
	const config_setting_t	*chain[CFG_DEPTH_MAX];
	size_t			 off = 0;
	int			 n = 0;

	buf[0] = '\0';
	for (; s != NULL && !config_setting_is_root(s) && n < CFG_DEPTH_MAX;
	    s = config_setting_parent(s))
		chain[n++] = s;
	while (n-- > 0 && off < len) {
		if (config_setting_name(chain[n]) != NULL)
			snprintf(buf + off, len - off, "%s%s",
			    off > 0 ? "." : "", config_setting_name(chain[n]));
		else
			snprintf(buf + off, len - off, "%s[%d]",
			    off > 0 ? "." : "", config_setting_index(chain[n]));
		off += strlen(buf + off);
	}
	if (key != NULL && off < len)
		snprintf(buf + off, len - off, "%s%s", off > 0 ? "." : "", key);
}

/* s as a double-quoted literal on one line: quotes, backslashes and
   control characters escaped, cut with "..." to fit in len. */
static const char *
cfg_quote(const char *s, char *buf, size_t len)
{
	size_t		off = 1;
	unsigned char	c;

	buf[0] = '"';
	for (; (c = (unsigned char)*s) != '\0' && off + 8 < len; s++) {
		if (c == '"' || c == '\\')
			off += (size_t)snprintf(buf + off, len - off, "\\%c",
			    c);
		else if (c < 0x20 || c == 0x7f)
			off += (size_t)snprintf(buf + off, len - off, "\\x%02x",
			    c);
		else
			buf[off++] = (char)c;
	}
	snprintf(buf + off, len - off, "%s\"", *s != '\0' ? "..." : "");
	return (buf);
}

static const char *
cfg_type_str(const config_setting_t *s)
{
	static const char *const names[] = {
		[CONFIG_TYPE_GROUP] = "group", [CONFIG_TYPE_INT] = "integer",
		[CONFIG_TYPE_INT64] = "integer", [CONFIG_TYPE_FLOAT] = "float",
		[CONFIG_TYPE_STRING] = "string", [CONFIG_TYPE_BOOL] = "boolean",
		[CONFIG_TYPE_ARRAY] = "array", [CONFIG_TYPE_LIST] = "list" };
	int	t = config_setting_type(s);

	return (t > 0 && t < (int)(sizeof(names) / sizeof(names[0])) &&
	    names[t] != NULL ? names[t] : "nothing");
}

/* Queue "FILE:LINE: [warning: ]PATH: text". FILE and LINE come from at
   (line 0, the root of an empty file, reads as 1); PATH is path, or
   base's path plus ".key". */
static void
cfg_msg(struct cfg_ctx *ctx, bool warning, const config_setting_t *at,
    const config_setting_t *base, const char *key, const char *path,
    const char *fmt, ...)
{
	char		 spath[CFG_SPATH_MAX], *what, *text;
	const char	*file = ctx->file;
	va_list		 ap;
	int		 line = 1, rc;

	if (!warning)
		ctx->errors++;
	if (at != NULL && config_setting_source_line(at) > 0)
		line = config_setting_source_line(at);
	if (at != NULL && config_setting_source_file(at) != NULL)
		file = config_setting_source_file(at);
	if (path == NULL)
		cfg_spath(base, key, spath, sizeof(spath));
	va_start(ap, fmt);
	rc = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (rc == -1) {
		ctx->oom = true;
		return;
	}
	rc = asprintf(&text, "%s:%d: %s%s: %s\n", file, line,
	    warning ? "warning: " : "", path != NULL ? path : spath, what);
	free(what);
	if (rc == -1) {
		ctx->oom = true;
		return;
	}
	if (ctx->n_msgs == ctx->cap_msgs) {
		struct cfg_msg	*m;
		int		 cap;

		cap = ctx->cap_msgs > 0 ? ctx->cap_msgs * 2 : 16;

		if ((m = reallocarray(ctx->msgs, (size_t)cap,
		    sizeof(*m))) == NULL) {
			free(text);
			ctx->oom = true;
			return;
		}
		ctx->msgs = m;
		ctx->cap_msgs = cap;
	}
	ctx->msgs[ctx->n_msgs].line = line;
	ctx->msgs[ctx->n_msgs].seq = ctx->n_msgs;
	ctx->msgs[ctx->n_msgs++].text = text;
}

static int
cfg_msg_cmp(const void *a, const void *b)
{
	const struct cfg_msg	*ma = a, *mb = b;

	if (ma->line != mb->line)
		return (ma->line < mb->line ? -1 : 1);
	return (ma->seq < mb->seq ? -1 : ma->seq > mb->seq);
}

/* Write the queued messages in line order, then forget them. */
static void
cfg_flush(struct cfg_ctx *ctx, FILE *err)
{
	int	i;

	if (ctx->n_msgs > 0)
		qsort(ctx->msgs, (size_t)ctx->n_msgs, sizeof(*ctx->msgs),
		    cfg_msg_cmp);
	for (i = 0; i < ctx->n_msgs; i++) {
		if (err != NULL)
			fputs(ctx->msgs[i].text, err);
		free(ctx->msgs[i].text);
	}
	free(ctx->msgs);
	ctx->msgs = NULL;
	ctx->n_msgs = ctx->cap_msgs = 0;
	if (ctx->oom && err != NULL)
		fprintf(err, "%s: out of memory\n", ctx->file);
	if (err != NULL)
		fflush(err);
}

/* Report every member of g that the schema does not know, descending into
   the table's groups (keepalive.*, backoff.*). Names in extras are known
   at the top of g; their own parser checks what they hold. */
static void
cfg_walk(struct cfg_ctx *ctx, config_setting_t *g, enum cfg_keyscope scope,
    const char *prefix, const char *const *extras)
{
	const struct cfg_keydoc	*k;
	const char *const	*e;
	config_setting_t	*m;
	char			 full[CFG_SPATH_MAX], names[CFG_SPATH_MAX];
	size_t			 off;
	int			 i, n = config_setting_length(g);

	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(g, (unsigned)i);
		snprintf(full, sizeof(full), "%s%s%s", prefix != NULL ?
		    prefix : "", prefix != NULL ? "." : "",
		    config_setting_name(m));
		if ((k = cfg_keydoc_find(full)) != NULL && k->scope == scope)
			continue;
		if (*cfg_keydoc_names(scope, full, names, sizeof(names)) !=
		    '\0') {
			if (!config_setting_is_group(m))
				cfg_wrong_type(ctx, m, "group");
			else
				cfg_walk(ctx, m, scope, full, NULL);
			continue;
		}
		for (e = prefix == NULL ? extras : NULL; e != NULL &&
		    *e != NULL && strcmp(*e, config_setting_name(m)) != 0; e++)
			;
		if (e != NULL && *e != NULL)
			continue;
		cfg_keydoc_names(scope, prefix, names, sizeof(names));
		for (e = prefix == NULL ? extras : NULL; e != NULL &&
		    *e != NULL; e++) {
			off = strlen(names);
			snprintf(names + off, sizeof(names) - off, "%s%s",
			    off > 0 ? ", " : "", *e);
		}
		cfg_err(ctx, m, "unknown setting (want one of %s)", names);
	}
}

/* An integer key of the table, checked against its range. libconfig 1.5
   stores a literal that does not fit an int wrapped modulo 2^32 without
   complaint ("idle_s = 4294967298;" loads as 2): the value is the one
   written in the text, wherever it stands. */
static int
cfg_get_int(struct cfg_ctx *ctx, config_setting_t *s,
    const struct cfg_keydoc *k, long long *v)
{
	char		got[CFG_LITERAL_MAX], want[48];
	long long	stored;
	bool		clamped;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		cfg_wrong_type(ctx, s, "integer");
		return (-1);
	}
	stored = config_setting_get_int64(s);
	if (cfgsrc_int(s, v, &clamped, got, sizeof(got)) == -1) {
		cfg_err(ctx, s, "cannot check the range: no literal found "
		    "for it in %s (got %lld as parsed)",
		    config_setting_source_file(s) != NULL ?
		    config_setting_source_file(s) : ctx->file, stored);
		return (-1);
	}
	if (!clamped && *v == stored)
		snprintf(got, sizeof(got), "%lld", *v);
	if (clamped || *v < k->min || *v > k->max) {
		cfg_err(ctx, s, "out of range (got %s, want %s)", got,
		    cfg_keydoc_range(k, want, sizeof(want)));
		return (-1);
	}
	return (0);
}

/* An enum key of the table: *v is the index of the choice. */
static int
cfg_get_enum(struct cfg_ctx *ctx, config_setting_t *s,
    const struct cfg_keydoc *k, int *v)
{
	char			 want[CFG_SPATH_MAX], q[CFG_QUOTE_MAX];
	const char		*str;
	int			 i;

	if ((str = config_setting_get_string(s)) == NULL) {
		cfg_wrong_type(ctx, s, "string");
		return (-1);
	}
	for (i = 0; k->choices[i] != NULL; i++)
		if (strcmp(str, k->choices[i]) == 0) {
			*v = i;
			return (0);
		}
	cfg_err(ctx, s, "unknown value (got %s, want %s)",
	    cfg_quote(str, q, sizeof(q)), cfg_keydoc_range(k, want,
	    sizeof(want)));
	return (-1);
}

/* A boolean key of the table: *v is 0 or 1. */
static int
cfg_get_bool(struct cfg_ctx *ctx, config_setting_t *s, int *v)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfg_wrong_type(ctx, s, "boolean");
		return (-1);
	}
	*v = config_setting_get_bool(s) ? 1 : 0;
	return (0);
}

/* An address: "" when empty_ok (off); port 0 (the kernel picks one) on
   an address to listen on. */
static int
cfg_get_addr(struct cfg_ctx *ctx, config_setting_t *s, bool empty_ok,
    bool listen, char *text, size_t len, struct addr_hostport *hp)
{
	char		 q[CFG_QUOTE_MAX];
	const char	*str, *why;

	if ((str = config_setting_get_string(s)) == NULL) {
		cfg_wrong_type(ctx, s, "string HOST:PORT");
		return (-1);
	}
	if (empty_ok && *str == '\0') {
		text[0] = '\0';
		memset(hp, 0, sizeof(*hp));
		return (0);
	}
	/* A valid address always fits: CFG_ADDR_MAX leaves room for
	   "[" ADDR_HOST_MAX "]:65535". */
	if ((listen ? addr_parse_bind(str, hp, &why) :
	    addr_parse_hostport(str, hp, &why)) == -1 || strlen(str) >= len ||
	    (hp->host[0] == '\0' && (why = "no host") != NULL) ||
	    (addr_needs_zone(hp->host) && (why = ADDR_NO_ZONE) != NULL)) {
		cfg_err(ctx, s, "bad address: %s (got %s, want HOST:PORT)",
		    strlen(str) >= len ? "too long" : why,
		    cfg_quote(str, q, sizeof(q)));
		return (-1);
	}
	memcpy(text, str, strlen(str) + 1);
	return (0);
}

/* The path of a Unix socket: absolute, short enough for sun_path, and
   printable, as it is logged; "" (off) is fine. */
static int
cfg_get_path(struct cfg_ctx *ctx, config_setting_t *s, char *path,
    size_t len)
{
	char		 q[CFG_QUOTE_MAX];
	const char	*str, *c, *why = NULL;

	if ((str = config_setting_get_string(s)) == NULL) {
		cfg_wrong_type(ctx, s, "string PATH");
		return (-1);
	}
	for (c = str; *c != '\0' && (unsigned char)*c >= 0x20 && *c != 0x7f;
	    c++)
		;
	if (*str != '\0' && *str != '/')
		why = "not absolute";
	else if (strlen(str) >= len)
		why = "too long for a Unix socket";
	else if (*c != '\0')
		why = "a control character";
	if (why != NULL) {
		cfg_err(ctx, s, "bad path: %s (got %s, want an absolute PATH of "
		    "at most %zu bytes, or \"\")", why, cfg_quote(str, q,
		    sizeof(q)), len - 1);
		return (-1);
	}
	memcpy(path, str, strlen(str) + 1);
	return (0);
}

/* Store every integer, enum and boolean key of scope that g holds into
   base. */
static void
cfg_parse_keys(struct cfg_ctx *ctx, config_setting_t *g,
    enum cfg_keyscope scope, void *base)
{
	const struct cfg_keydoc	*keys, *k;
	config_setting_t	*s;
	char			 want[48];
	long long		 v;
	int			 n, e;

	keys = cfg_keydocs(&n);
	for (k = keys; k < keys + n; k++) {
		if (k->scope != scope || k->kind == CFG_KEY_ADDR ||
		    k->kind == CFG_KEY_PATH)
			continue;
		if ((s = config_setting_lookup(g, k->path)) == NULL) {
			if (k->required)
				cfg_err_key(ctx, g, k->path,
				    "missing (want %s)", cfg_keydoc_range(k,
				    want, sizeof(want)));
			continue;
		}
		if (k->kind == CFG_KEY_INT && cfg_get_int(ctx, s, k, &v) == 0)
			*cfg_keydoc_field(base, k) = (int)v;
		else if (k->kind == CFG_KEY_ENUM &&
		    cfg_get_enum(ctx, s, k, &e) == 0)
			*cfg_keydoc_field(base, k) = e;
		else if (k->kind == CFG_KEY_BOOL && cfg_get_bool(ctx, s, &e) == 0)
			*cfg_keydoc_field(base, k) = e;
	}
}

/* Override pol with the policy keys of g. Returns false on any error. */
static bool
cfg_parse_policy(struct cfg_ctx *ctx, config_setting_t *g,
    struct cfg_policy *pol)
{
	int	errors = ctx->errors;

	cfg_parse_keys(ctx, g, CFG_SCOPE_POLICY, pol);
	return (ctx->errors == errors);
}

/* An allow entry of the other family than every client of the listen
   address: valid, and a lock-out nobody meant. */
static void
cfg_allow_never(struct cfg_ctx *ctx, config_setting_t *e,
    const struct cfg_endpoint *ep, const char *entry)
{
	char	q[CFG_QUOTE_MAX];

	if (strchr(ep->hp.host, ':') == NULL)
		cfg_msg(ctx, true, e, e, NULL, NULL, "%s never matches: the "
		    "link listens on an IPv4 address, whose clients have IPv4 "
		    "addresses (for ::ffff:A.B.C.D write A.B.C.D)",
		    cfg_quote(entry, q, sizeof(q)));
	else
		cfg_msg(ctx, true, e, e, NULL, NULL, "%s never matches: the "
		    "link listens on an IPv6 address, whose clients have IPv6 "
		    "addresses (listen on [::] to take IPv4 clients too)",
		    cfg_quote(entry, q, sizeof(q)));
}

static void
cfg_parse_allow(struct cfg_ctx *ctx, config_setting_t *s,
    struct cfg_endpoint *ep)
{
	config_setting_t	*e;
	char			 q[CFG_QUOTE_MAX];
	const char		*str, *why;
	int			 i, n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		cfg_wrong_type(ctx, s, "array of CIDR strings");
		return;
	}
	if ((n = config_setting_length(s)) == 0) {
		cfg_err(ctx, s, "empty (want at least one CIDR; leave allow "
		    "out to accept any peer)");
		return;
	}
	if ((ep->allow = calloc((size_t)n, sizeof(*ep->allow))) == NULL) {
		ctx->oom = true;
		return;
	}
	ep->n_allow = n;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if ((str = config_setting_get_string(e)) == NULL)
			cfg_wrong_type(ctx, e, "string ADDRESS[/PREFIX]");
		else if (addr_parse_cidr(str, &ep->allow[i], &why) == -1)
			cfg_err(ctx, e, "bad CIDR: %s (got %s, want "
			    "ADDRESS[/PREFIX])", why, cfg_quote(str, q,
			    sizeof(q)));
		else if (!addr_cidr_can_match(ep->hp.host, &ep->allow[i]))
			cfg_allow_never(ctx, e, ep, str);
	}
}

/* One link end in group g: exactly one of connect/listen, plus
   on_new_client and allow on a listen link. want says what a group
   without either should hold. */
static void
cfg_parse_endpoint(struct cfg_ctx *ctx, config_setting_t *g,
    struct cfg_endpoint *ep, const char *want)
{
	config_setting_t	*conn, *lis, *a, *s;

	ep->line = config_setting_source_line(g);
	cfg_endpoint_defaults(ep);
	conn = config_setting_get_member(g, "connect");
	lis = config_setting_get_member(g, "listen");
	if (conn != NULL && lis != NULL) {
		cfg_err(ctx, lis, "both connect and listen (want exactly one)");
		return;
	}
	if (conn == NULL && lis == NULL) {
		cfg_err(ctx, g, "no link (want %s)", want);
		return;
	}
	a = conn != NULL ? conn : lis;
	ep->mode = conn != NULL ? CFG_LINK_CONNECT : CFG_LINK_LISTEN;
	ep->line = config_setting_source_line(a);
	(void)cfg_get_addr(ctx, a, false, ep->mode == CFG_LINK_LISTEN,
	    ep->text, sizeof(ep->text), &ep->hp);
	if ((s = config_setting_get_member(g, "on_new_client")) != NULL) {
		if (ep->mode != CFG_LINK_LISTEN)
			cfg_err(ctx, s, "only valid on a listen link (got "
			    "connect)");
		else
			cfg_parse_keys(ctx, g, CFG_SCOPE_ENDPOINT, ep);
	}
	if ((s = config_setting_get_member(g, "allow")) != NULL) {
		if (ep->mode != CFG_LINK_LISTEN)
			cfg_err(ctx, s, "only valid on a listen link (got "
			    "connect)");
		else
			cfg_parse_allow(ctx, s, ep);
	}
}

/* A group that must hold one link: rx, tx or upstream. */
static void
cfg_parse_group(struct cfg_ctx *ctx, config_setting_t *g,
    struct cfg_endpoint *ep)
{
	static const char *const ep_keys[] = {
		"connect", "listen", "allow", NULL };

	if (!config_setting_is_group(g)) {
		cfg_wrong_type(ctx, g, "group");
		return;
	}
	cfg_walk(ctx, g, CFG_SCOPE_ENDPOINT, NULL, ep_keys);
	cfg_parse_endpoint(ctx, g, ep, "connect or listen");
}

/* The optional "monitor" group: where monitor clients connect (listen),
   who may (allow), and what they get (monitor_format, which may stand
   in the device's group as well, as a policy key, but not in both). */
static void
cfg_parse_monitor(struct cfg_ctx *ctx, config_setting_t *e,
    config_setting_t *g, struct cfg_device *dev)
{
	config_setting_t	*m;
	const char		*name;
	int			 i, n, v;

	if (!config_setting_is_group(g)) {
		cfg_wrong_type(ctx, g, "group");
		return;
	}
	/* Not a link: no connect, and any number of clients. */
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(g, (unsigned)i);
		name = config_setting_name(m);
		if (strcmp(name, "listen") != 0 && strcmp(name, "allow") != 0 &&
		    strcmp(name, "monitor_format") != 0)
			cfg_err(ctx, m, "unknown setting (want one of listen, "
			    "allow, monitor_format)");
	}
	if ((m = config_setting_get_member(g, "monitor_format")) != NULL) {
		if (config_setting_get_member(e, "monitor_format") != NULL)
			cfg_err(ctx, m, "set in the device too (want it in "
			    "one place)");
		else if (cfg_get_enum(ctx, m, cfg_keydoc_find(
		    "monitor_format"), &v) == 0)
			dev->pol.monitor_format = (enum cfg_monitor_format)v;
	}
	if (config_setting_get_member(g, "listen") == NULL) {
		cfg_err_key(ctx, g, "listen", "missing (want the address "
		    "monitor clients connect to)");
		return;
	}
	cfg_parse_endpoint(ctx, g, &dev->monitor, "listen");
}

/* The "device" group: one link, or rx and tx. */
static void
cfg_parse_link(struct cfg_ctx *ctx, config_setting_t *g,
    struct cfg_device *dev)
{
	static const char *const link_keys[] = {
		"connect", "listen", "allow", "rx", "tx", NULL };
	static const char *const one_keys[] = {
		"connect", "listen", "on_new_client", "allow", NULL };
	static const char *const half_name[2] = { "rx", "tx" };
	struct cfg_endpoint	*ep[2] = { &dev->rx, &dev->tx };
	config_setting_t	*half[2], *s;
	int			 i;

	cfg_walk(ctx, g, CFG_SCOPE_ENDPOINT, NULL, link_keys);
	half[0] = config_setting_get_member(g, "rx");
	half[1] = config_setting_get_member(g, "tx");
	if (half[0] == NULL && half[1] == NULL) {
		cfg_parse_endpoint(ctx, g, &dev->device,
		    "connect, listen, or rx and tx");
		return;
	}
	dev->split = true;
	for (i = 0; one_keys[i] != NULL; i++)
		if ((s = config_setting_get_member(g, one_keys[i])) != NULL)
			cfg_err(ctx, s, "not allowed beside rx/tx (want either "
			    "one link or rx and tx)");
	for (i = 0; i < 2; i++) {
		if (half[i] == NULL)
			cfg_err_key(ctx, g, half_name[i], "missing (want both "
			    "rx and tx)");
		else
			cfg_parse_group(ctx, half[i], ep[i]);
	}
}

/* One element of "devices". Returns false when its policy has errors. */
static bool
cfg_parse_device(struct cfg_ctx *ctx, config_setting_t *e,
    const struct cfg *c, struct cfg_device *dev)
{
	static const char *const dev_keys[] = {
		"name", "device", "upstream", "monitor", NULL };
	config_setting_t	*s;
	char			 q[CFG_QUOTE_MAX];
	const char		*str;
	size_t			 i;
	bool			 ok;

	dev->line = config_setting_source_line(e);
	cfg_walk(ctx, e, CFG_SCOPE_POLICY, NULL, dev_keys);
	dev->pol = c->defaults;
	ok = cfg_parse_policy(ctx, e, &dev->pol);

	if ((s = config_setting_get_member(e, "name")) == NULL)
		cfg_err_key(ctx, e, "name", "missing (want a name of "
		    CFG_NAME_RE ")");
	else if ((str = config_setting_get_string(s)) == NULL)
		cfg_wrong_type(ctx, s, "string");
	else {
		for (i = 0; str[i] != '\0' && cfg_isnamechar(str[i]); i++)
			;
		if (i == 0 || str[i] != '\0' || i >= sizeof(dev->name))
			cfg_err(ctx, s, "bad device name (got %s, want "
			    CFG_NAME_RE ")", cfg_quote(str, q, sizeof(q)));
		else
			memcpy(dev->name, str, i + 1);
	}

	if ((s = config_setting_get_member(e, "device")) == NULL)
		cfg_err_key(ctx, e, "device", "missing (want a group with "
		    "connect, listen, or rx and tx)");
	else if (!config_setting_is_group(s))
		cfg_wrong_type(ctx, s, "group");
	else
		cfg_parse_link(ctx, s, dev);

	if ((s = config_setting_get_member(e, "upstream")) == NULL)
		cfg_err_key(ctx, e, "upstream", "missing (want a group with "
		    "connect or listen)");
	else
		cfg_parse_group(ctx, s, &dev->upstream);

	if ((s = config_setting_get_member(e, "monitor")) != NULL)
		cfg_parse_monitor(ctx, e, s, dev);
	return (ok);
}

/* Report the cross-field rules that p, read from group g, breaks. A
   device is only blamed for a rule when it sets one of the keys the rule
   reads: otherwise it inherits the verdict already given on defaults. */
static void
cfg_rules(struct cfg_ctx *ctx, config_setting_t *g, const struct cfg_policy *p,
    bool device)
{
	struct cfg_issue	 iv[CFG_ISSUES_MAX];
	config_setting_t	*at;
	const char *const	*k;
	int			 i, n;

	n = cfg_policy_check(p, iv, CFG_ISSUES_MAX);
	for (i = 0; i < n; i++) {
		for (at = NULL, k = iv[i].keys; at == NULL && *k != NULL; k++)
			at = config_setting_lookup(g, *k);
		if (at == NULL && device)
			continue;
		cfg_msg(ctx, iv[i].warning, at != NULL ? at : g, g,
		    iv[i].path, NULL, "%s", iv[i].text);
	}
}

/* cfg_check_devices() callback: point at the setting its path names. */
static void
cfg_device_issue(void *arg, const struct cfg_issue *is)
{
	struct cfg_ctx	*ctx = arg;

	cfg_msg(ctx, is->warning, config_lookup(ctx->lc, is->path), NULL,
	    NULL, is->path, "%s", is->text);
}

static void
cfg_parse(struct cfg_ctx *ctx, config_setting_t *root, struct cfg *c)
{
	static const char *const top_keys[] = { "defaults", "devices", NULL };
	config_setting_t	*s, *devs;
	bool			 defaults_ok = true;
	int			 i;

	cfg_walk(ctx, root, CFG_SCOPE_TOP, NULL, top_keys);
	cfg_parse_keys(ctx, root, CFG_SCOPE_TOP, c);
	if ((s = config_setting_lookup(root, "status.listen")) != NULL &&
	    cfg_get_addr(ctx, s, true, true, c->status_listen,
	    sizeof(c->status_listen), &c->status_hp) == -1)
		c->status_listen[0] = '\0';
	if ((s = config_setting_lookup(root, "control.socket")) != NULL)
		(void)cfg_get_path(ctx, s, c->control_socket,
		    sizeof(c->control_socket));

	if ((s = config_setting_get_member(root, "defaults")) != NULL) {
		if (!config_setting_is_group(s)) {
			cfg_wrong_type(ctx, s, "group");
			defaults_ok = false;
		} else {
			cfg_walk(ctx, s, CFG_SCOPE_POLICY, NULL, NULL);
			defaults_ok = cfg_parse_policy(ctx, s, &c->defaults);
			if (defaults_ok)
				cfg_rules(ctx, s, &c->defaults, false);
		}
	}

	if ((devs = config_setting_get_member(root, "devices")) == NULL) {
		cfg_msg(ctx, true, root, root, "devices", NULL, "no devices "
		    "configured (want at least one)");
		return;
	}
	if (!config_setting_is_list(devs)) {
		cfg_wrong_type(ctx, devs, "list of groups");
		return;
	}
	if ((c->n_devices = config_setting_length(devs)) == 0) {
		cfg_msg(ctx, true, devs, devs, NULL, NULL, "empty device list "
		    "(want at least one device)");
		return;
	}
	if ((c->devices = calloc((size_t)c->n_devices,
	    sizeof(*c->devices))) == NULL) {
		c->n_devices = 0;
		ctx->oom = true;
		return;
	}
	for (i = 0; i < c->n_devices; i++) {
		s = config_setting_get_elem(devs, (unsigned)i);
		if (!config_setting_is_group(s))
			cfg_wrong_type(ctx, s, "group");
		else if (cfg_parse_device(ctx, s, c, &c->devices[i]) &&
		    defaults_ok)
			cfg_rules(ctx, s, &c->devices[i].pol, true);
	}
	/* A file with errors, duplicates included, is refused whatever the
	   names stand for: it touches no network. The check again with what
	   they bind can only add duplicates by name. */
	if (cfg_check_devices(c, false, cfg_device_issue, ctx) == 0 &&
	    ctx->lookup && ctx->errors == 0) {
		cfg_lookup_listen(c);
		(void)cfg_check_devices(c, true, cfg_device_issue, ctx);
	}
}

static int	cfg_load_opt(const char *, struct cfg **, FILE *, bool, bool);

int
cfg_load(const char *path, struct cfg **out, FILE *err)
{
	return (cfg_load_opt(path, out, err, false, false));
}

int
cfg_load_lookup(const char *path, struct cfg **out, FILE *err)
{
	return (cfg_load_opt(path, out, err, true, false));
}

int
cfg_load_regular(const char *path, struct cfg **out, FILE *err)
{
	return (cfg_load_opt(path, out, err, true, true));
}

static int
cfg_load_opt(const char *path, struct cfg **out, FILE *err, bool lookup,
    bool regular_only)
{
	struct cfg_ctx	 ctx;
	struct cfg	*c = NULL;
	struct cfgsrc	*src;
	struct cfgsrc_bad bad;
	config_t	 lc;
	const char	*text, *file, *nul;
	char		 q[CFG_INCLUDE_QUOTE_MAX];
	size_t		 len, i;
	int		 rc = -1, line;

	*out = NULL;
	memset(&ctx, 0, sizeof(ctx));
	ctx.file = path;
	ctx.lookup = lookup;
	if ((src = cfgsrc_open(path, regular_only)) == NULL) {
		if (regular_only && errno == EINVAL) {
			if (err != NULL)
				fprintf(err, "%s: cannot read: not a regular "
				    "file\n", path);
			return (CFG_NOT_REGULAR);
		}
		if (err != NULL)
			fprintf(err, "%s: cannot read: %s\n", path,
			    strerror(errno));
		return (-1);
	}
	text = cfgsrc_text(src, &len);
	/* libconfig would stop reading at a NUL byte without a word. */
	if ((nul = memchr(text, '\0', len)) != NULL) {
		for (i = 0, line = 1; text + i < nul; i++)
			line += text[i] == '\n';
		if (err != NULL)
			fprintf(err, "%s:%d: syntax error: NUL byte\n", path,
			    line);
		goto out_close;
	}
	if (cfgsrc_includes(src, &bad) == -1) {
		if (err != NULL)
			fprintf(err, "%s:%d: cannot include %s: %s\n",
			    bad.file != NULL ? bad.file : path, bad.line,
			    cfg_quote(bad.name != NULL ? bad.name : "?", q,
			    sizeof(q)),
			    errno == EINVAL ? "not a regular file" :
			    strerror(errno));
		goto out_close;
	}

	config_init(&lc);
	ctx.lc = &lc;
	if (config_read_string(&lc, text) == CONFIG_FALSE) {
		file = config_error_file(&lc) != NULL ?
		    config_error_file(&lc) : path;
		text = config_error_text(&lc) != NULL ?
		    config_error_text(&lc) : "unknown error";
		/* libconfig's text for a grammar error is "syntax error"
		   itself: don't say it twice. */
		if (err != NULL)
			fprintf(err, "%s:%d: syntax error%s%s\n", file,
			    config_error_line(&lc),
			    strcmp(text, "syntax error") == 0 ? "" : ": ",
			    strcmp(text, "syntax error") == 0 ? "" : text);
		goto out_destroy;
	}
	if (cfgsrc_bind(src, config_root_setting(&lc)) == -1 ||
	    (c = malloc(sizeof(*c))) == NULL)
		ctx.oom = true;
	else {
		cfg_defaults(c);
		cfg_parse(&ctx, config_root_setting(&lc), c);
	}
	cfg_flush(&ctx, err);
	if (ctx.errors == 0 && !ctx.oom) {
		*out = c;
		c = NULL;
		rc = 0;
	}
	cfg_free(c);
out_destroy:
	config_destroy(&lc);
out_close:
	cfgsrc_close(src);
	return (rc);
}

void
cfg_free(struct cfg *c)
{
	int	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_devices; i++)
		cfg_device_free(&c->devices[i]);
	free(c->devices);
	free(c);
}

static int
cfg_endpoint_copy(struct cfg_endpoint *dst, const struct cfg_endpoint *src)
{
	*dst = *src;
	dst->allow = NULL;
	if (src->n_allow == 0)
		return (0);
	dst->allow = calloc((size_t)src->n_allow, sizeof(*dst->allow));
	if (dst->allow == NULL)
		return (-1);
	memcpy(dst->allow, src->allow, (size_t)src->n_allow *
	    sizeof(*dst->allow));
	return (0);
}

int
cfg_device_copy(struct cfg_device *dst, const struct cfg_device *src)
{
	*dst = *src;
	dst->device.allow = dst->rx.allow = dst->tx.allow = NULL;
	dst->upstream.allow = dst->monitor.allow = NULL;
	if (cfg_endpoint_copy(&dst->device, &src->device) == -1 ||
	    cfg_endpoint_copy(&dst->monitor, &src->monitor) == -1 ||
	    cfg_endpoint_copy(&dst->rx, &src->rx) == -1 ||
	    cfg_endpoint_copy(&dst->tx, &src->tx) == -1 ||
	    cfg_endpoint_copy(&dst->upstream, &src->upstream) == -1) {
		cfg_device_free(dst);
		return (-1);
	}
	return (0);
}

void
cfg_device_free(struct cfg_device *d)
{
	free(d->device.allow);
	free(d->rx.allow);
	free(d->tx.allow);
	free(d->upstream.allow);
	free(d->monitor.allow);
	d->device.allow = d->rx.allow = d->tx.allow = d->upstream.allow = NULL;
	d->monitor.allow = NULL;
}
