/* status.c -- HTTP /metrics (Prometheus text) and /status (JSON, text).
 *
 * DESIGN: one thread, libmicrohttpd's internal polling thread, serves every
 * connection without blocking (a client that connects and sends nothing
 * costs a slot until STATUS_IDLE_S, never the thread). A request copies
 * what it shows into a struct metrics through its owner's collect
 * function -- the gateway's device table locked
 * only while copying, each link's lock only inside link_snapshot(),
 * counters by atomic loads -- and renders after, holding nothing. So the
 * server never blocks a pump or the watchdog. The main thread alone starts
 * and stops it; status_stop() joins the thread before it returns. mu
 * guards the start-up error text, which libmicrohttpd reports through its
 * logger, and the rate limit of that logger.
 */
#include <sys/socket.h>
#include <netdb.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "strbuf.h"

#define STATUS_CONN_MAX		16	/* concurrent HTTP connections */
#define STATUS_IDLE_S		5	/* an idle connection is closed */
#define STATUS_LOG_MS		60000	/* one server error line a minute */

#define CT_PROMETHEUS	"text/plain; version=0.0.4; charset=utf-8"
#define CT_JSON		"application/json"
#define CT_TEXT		"text/plain; charset=utf-8"

struct status {
	status_collect_fn	 collect;
	void			*ctx;
	struct MHD_Daemon	*mhd;
	char			 where[ADDR_HOST_MAX + 16]; /* "[::1]:9780" */
	pthread_mutex_t		 mu;
	bool			 starting;	/* protected by mu */
	char			 start_err[256];	/* protected by mu */
	struct log_limit	 log_limit;	/* protected by mu */
};

enum status_page { PAGE_METRICS, PAGE_JSON, PAGE_TEXT };

static void		status_mhd_log(void *, const char *, va_list)
			    __attribute__((format(printf, 2, 0)));
static int		status_render(struct status *, enum status_page, char **,
			    size_t *);
static enum MHD_Result	status_reply(struct MHD_Connection *, unsigned int,
			    const char *, char *, size_t, bool);
static enum MHD_Result	status_reply_static(struct MHD_Connection *,
			    unsigned int, const char *, bool);
static enum MHD_Result	status_handle(void *, struct MHD_Connection *,
			    const char *, const char *, const char *,
			    const char *, size_t *, void **);
static struct MHD_Daemon *status_listen(struct status *,
			    const struct addrinfo *, int);

/* libmicrohttpd's error messages: kept as the reason while starting, then
   logged, at most one line a minute (a client flood must not flood the
   log). */
static void
status_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct status	*st = cls;
	char		 msg[256];
	size_t		 n;
	unsigned	 suppressed;
	bool		 allow;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	pthread_mutex_lock(&st->mu);
	if (st->starting) {
		snprintf(st->start_err, sizeof(st->start_err), "%s", msg);
		pthread_mutex_unlock(&st->mu);
		return;
	}
	allow = log_limit_allow(&st->log_limit, clock_ms(), &suppressed);
	pthread_mutex_unlock(&st->mu);
	if (allow)
		log_subject(LOG_LVL_WARN, "status: %s%s", msg,
		    log_suppressed(suppressed));
}

/* Copy everything, render page into a new buffer (*body, *len, to free).
   Returns 0, or -1 with errno ENOMEM. */
static int
status_render(struct status *st, enum status_page page, char **body,
    size_t *len)
{
	struct metrics	 m;
	struct strbuf	 sb;
	int		 rc;

	metrics_init(&m);
	st->collect(st->ctx, &m);
	if (m.failed) {
		metrics_free(&m);
		errno = ENOMEM;
		return (-1);
	}
	strbuf_init(&sb);
	switch (page) {
	case PAGE_METRICS:
		rc = metrics_render_prometheus(&m, &sb);
		break;
	case PAGE_JSON:
		rc = metrics_render_json(&m, GATEWAYD_VERSION, &sb);
		break;
	default:
		rc = metrics_render_text(&m, &sb);
		break;
	}
	metrics_free(&m);
	if (rc == -1 || (*body = strbuf_take(&sb, len)) == NULL) {
		strbuf_free(&sb);
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

/* Queue a response whose body (malloc'd) MHD then owns. */
static enum MHD_Result
status_reply(struct MHD_Connection *c, unsigned int code, const char *ctype,
    char *body, size_t len, bool allow)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 rc;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return (MHD_NO);
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    ctype) == MHD_NO ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store") == MHD_NO ||
	    (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
	    "GET, HEAD") == MHD_NO)) {
		MHD_destroy_response(resp);
		return (MHD_NO);
	}
	rc = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return (rc);
}

/* A short constant text reply (errors). */
static enum MHD_Result
status_reply_static(struct MHD_Connection *c, unsigned int code,
    const char *text, bool allow)
{
	char	*body;

	if ((body = strdup(text)) == NULL)
		return (MHD_NO);
	return (status_reply(c, code, CT_TEXT, body, strlen(body), allow));
}

/* The whole request is known at the first call (GET has no body): answer
   at once. A request with a body is refused before it is read. */
static enum MHD_Result
status_handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct status	*st = cls;
	enum status_page page;
	const char	*format, *ctype;
	char		*body;
	size_t		 len;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return (status_reply_static(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed: use GET\n", true));
	if (strcmp(url, "/metrics") == 0) {
		page = PAGE_METRICS;
		ctype = CT_PROMETHEUS;
	} else if (strcmp(url, "/status") == 0) {
		format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
		    "format");
		if (format == NULL || strcmp(format, "json") == 0) {
			page = PAGE_JSON;
			ctype = CT_JSON;
		} else if (strcmp(format, "text") == 0) {
			page = PAGE_TEXT;
			ctype = CT_TEXT;
		} else
			return (status_reply_static(c, MHD_HTTP_BAD_REQUEST,
			    "unknown format: want json or text\n", false));
	} else
		return (status_reply_static(c, MHD_HTTP_NOT_FOUND,
		    "not found: try /metrics or /status\n", false));
	if (status_render(st, page, &body, &len) == -1)
		return (status_reply_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "out of memory\n", false));
	return (status_reply(c, MHD_HTTP_OK, ctype, body, len, false));
}

/* Start libmicrohttpd on one resolved address; NULL with st->start_err
   set (or errno) when it cannot. */
static struct MHD_Daemon *
status_listen(struct status *st, const struct addrinfo *ai, int port)
{
	unsigned int	flags;

	flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return (MHD_start_daemon(flags, (uint16_t)port, NULL, NULL,
	    status_handle, st,
	    MHD_OPTION_EXTERNAL_LOGGER, status_mhd_log, st,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)STATUS_CONN_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)STATUS_IDLE_S,
	    MHD_OPTION_END));
}

struct status *
status_start(const struct addr_hostport *hp, status_collect_fn collect,
    void *ctx, char *err, size_t errlen)
{
	struct status	*st;
	struct addrinfo	 hints, *res, *ai;
	int		 rc;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "status: out of memory");
		return (NULL);
	}
	st->collect = collect;
	st->ctx = ctx;
	st->log_limit.window_ms = STATUS_LOG_MS;
	snprintf(st->where, sizeof(st->where), strchr(hp->host, ':') != NULL ?
	    "[%s]:%s" : "%s:%s", hp->host, hp->port);
	pthread_mutex_init(&st->mu, NULL);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(hp->host, hp->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "status.listen %s: cannot resolve %s: %s",
		    st->where, hp->host, gai_strerror(rc));
		goto out_free;
	}
	pthread_mutex_lock(&st->mu);
	st->starting = true;
	snprintf(st->start_err, sizeof(st->start_err), "no usable address");
	pthread_mutex_unlock(&st->mu);
	for (ai = res; ai != NULL && st->mhd == NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		st->mhd = status_listen(st, ai, atoi(hp->port));
	}
	freeaddrinfo(res);
	pthread_mutex_lock(&st->mu);
	st->starting = false;
	pthread_mutex_unlock(&st->mu);
	if (st->mhd == NULL) {
		snprintf(err, errlen, "status.listen %s: cannot serve: %s",
		    st->where, st->start_err);
		goto out_free;
	}
	log_info("status: serving /metrics and /status on http://%s",
	    st->where);
	return (st);
out_free:
	pthread_mutex_destroy(&st->mu);
	free(st);
	return (NULL);
}

void
status_stop(struct status *st)
{
	if (st == NULL)
		return;
	/* Closes the listening socket and every connection, joins the
	   thread: no request runs after this. */
	MHD_stop_daemon(st->mhd);
	pthread_mutex_destroy(&st->mu);
	log_info("status: stopped serving on %s", st->where);
	free(st);
}
