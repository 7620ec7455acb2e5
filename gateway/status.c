/* status.c -- HTTP /metrics (Prometheus text) and /status (JSON, text).
 *
 * DESIGN: one thread of ours runs libmicrohttpd without a thread of its
 * own: it polls MHD's epoll fd and a wake pipe, and calls MHD_run(). So
 * every callback runs on this thread, and the thread keeps the deadlines
 * libmicrohttpd has not: its timeout is for idle connections, and a client
 * that trickles one byte a second is never idle. Each connection has
 * STATUS_DEADLINE_MS from its start, or from its last completed request,
 * to complete the next one; past that the thread shuts its socket down
 * (MHD then closes it as any dead connection). When STATUS_CONN_MAX
 * connections are open, a new one evicts the oldest: a flood of slow
 * clients delays an honest request by no more than its own round trip.
 *
 * The listening socket is ours, not MHD's: the thread accepts and hands
 * each client to MHD (MHD_add_connection()), while MHD has room. So out of
 * descriptors, a client waiting at accept() is answered 503 with a spare
 * (spare.h) and closed, where MHD would find its socket readable and fail
 * to accept for ever, a core busy; should even the spare fail, the socket
 * is left out of the poll set for STATUS_PAUSE_MS.
 *
 * A request copies what it shows into a struct metrics through its
 * owner's collect function -- the gateway's device table locked only while
 * copying, each link's lock only inside link_snapshot(), counters by atomic
 * loads -- and renders after, holding nothing. So the server never blocks
 * a pump or the watchdog. The main thread alone starts and stops it;
 * status_stop() joins the thread before it returns. mu guards the start-up
 * error text, which libmicrohttpd reports through its logger.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "clock.h"
#include "endpoint.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
#include "spare.h"
#include "status.h"
#include "strbuf.h"

#define STATUS_DEADLINE_MS	5000	/* to complete one request */
#define STATUS_TICK_MS		100	/* how often deadlines are checked */
#define STATUS_LOG_MS		60000	/* one server error line a minute */
#define STATUS_PAUSE_MS		1000	/* out of descriptors, no spare */

#define CT_TEXT		"text/plain; charset=utf-8"

/* One connection as the thread tracks it (MHD's socket context). */
struct status_conn {
	bool			 used;
	int			 fd;
	ino_t			 ino;		/* of fd's socket, at the start */
	int64_t			 since_ms;	/* start, or last request done */
	bool			 shut;		/* shut down, MHD closing it */
};

struct status {
	status_collect_fn	 collect;
	void			*ctx;
	struct MHD_Daemon	*mhd;
	int			 lfd;		/* listening; MHD gets clients */
	pthread_t		 tid;
	int			 wake[2];	/* the thread stops when readable */
	struct status_conn	 conns[STATUS_CONN_MAX + 1];	/* the thread's */
	bool			 rerun;		/* the thread's: run MHD at once */
	struct spare		 spare;		/* the thread's */
	int64_t			 paused_until;	/* the thread's: lfd left out */
	unsigned long		 turned_away;	/* the thread's */
	char			 where[ADDR_HOST_MAX + 16]; /* "[::1]:9780" */
	pthread_mutex_t		 mu;
	bool			 starting;	/* protected by mu */
	char			 start_err[256];	/* protected by mu */
	struct log_limit	 log_limit;	/* protected by mu */
};

static void		status_mhd_log(void *, const char *, va_list)
			    __attribute__((format(printf, 2, 0)));
static int		status_render(struct status *, enum route_page, char **,
			    size_t *);
static enum MHD_Result	status_reply(struct MHD_Connection *, unsigned int,
			    const char *, char *, size_t, bool);
static enum MHD_Result	status_reply_static(struct MHD_Connection *,
			    unsigned int, const char *, bool);
static enum MHD_Result	status_handle(void *, struct MHD_Connection *,
			    const char *, const char *, const char *,
			    const char *, size_t *, void **);
static int		status_socket(struct status *,
			    const struct addr_binds *, int, const char *);
static struct MHD_Daemon *status_mhd(struct status *);
static bool		status_full(struct status *);
static void		status_accept(struct status *);
static void		status_notify(void *, struct MHD_Connection *, void **,
			    enum MHD_ConnectionNotificationCode);
static void		status_completed(void *, struct MHD_Connection *,
			    void **, enum MHD_RequestTerminationCode);
static void		status_shut(struct status_conn *);
static void		status_expire(struct status *, int64_t);
static void		*status_main(void *);
static bool		status_may_hold(const struct status *,
			    const struct addr_hostport *,
			    const struct addr_binds *);
static int		status_held(const struct status *,
			    struct addr_binds *);

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
status_render(struct status *st, enum route_page page, char **body,
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
	case ROUTE_METRICS:
		rc = metrics_render_prometheus(&m, GATEWAYD_VERSION, &sb);
		break;
	case ROUTE_JSON:
		rc = metrics_render_json(&m, GATEWAYD_VERSION, &sb);
		break;
	default:
		rc = metrics_render_text(&m, false, &sb);
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
	struct route	 r;
	char		*body;
	size_t		 len;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	route_request(method, url, MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, "format"), &r);
	if (r.page == ROUTE_ERROR)
		return (status_reply_static(c, (unsigned int)r.code, r.error,
		    r.allow));
	if (status_render(st, r.page, &body, &len) == -1)
		return (status_reply_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "out of memory\n", false));
	return (status_reply(c, MHD_HTTP_OK, r.ctype, body, len, false));
}

/* Shut a connection's socket down: MHD sees it end and closes it. Only
   this thread closes MHD's sockets (in MHD_run()), so fd is still ours. */
static void
status_shut(struct status_conn *sc)
{
	struct stat	st;

	if (sc->shut)
		return;
	sc->shut = true;
	/* Never another socket that took the number over, should MHD ever
	   close one without telling. */
	if (fstat(sc->fd, &st) == 0 && st.st_ino == sc->ino)
		shutdown(sc->fd, SHUT_RDWR);
	else
		sc->used = false;
}

/* A connection starts (track it; evict the oldest when over the maximum)
   or ends (forget it). */
static void
status_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct status			*st = cls;
	struct status_conn		*sc, *oldest = NULL;
	const union MHD_ConnectionInfo	*ci;
	struct stat			 sb;
	int				 i, n = 0;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if ((sc = *socket_context) != NULL)
			sc->used = false;
		/* Room again: accept at once, or the clients waiting at
		   accept() would wait a tick per eviction. */
		st->rerun = true;
		return;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	for (i = 0, sc = NULL; i < STATUS_CONN_MAX + 1; i++) {
		if (!st->conns[i].used) {
			if (sc == NULL)
				sc = &st->conns[i];
			continue;
		}
		if (!st->conns[i].shut) {
			n++;
			if (oldest == NULL ||
			    st->conns[i].since_ms < oldest->since_ms)
				oldest = &st->conns[i];
		}
	}
	if (sc == NULL || ci == NULL) {
		/* Cannot be: MHD admits STATUS_CONN_MAX + 1. Leave it to
		   MHD's idle timeout. */
		*socket_context = NULL;
		return;
	}
	*sc = (struct status_conn){ .used = true, .fd = ci->connect_fd,
	    .since_ms = clock_ms() };
	if (fstat(sc->fd, &sb) == 0)
		sc->ino = sb.st_ino;
	*socket_context = sc;
	if (n >= STATUS_CONN_MAX && oldest != NULL)
		status_shut(oldest);
}

/* A request is done (answered, or abandoned): the next one gets a fresh
   deadline. */
static void
status_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo	*ci;
	struct status_conn		*sc;

	(void)cls;
	(void)con_cls;
	(void)toe;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL && (sc = ci->socket_context) != NULL)
		sc->since_ms = clock_ms();
}

/* Shut down every connection past its deadline. */
static void
status_expire(struct status *st, int64_t now_ms)
{
	int	i;

	for (i = 0; i < STATUS_CONN_MAX + 1; i++)
		if (st->conns[i].used &&
		    now_ms - st->conns[i].since_ms >= STATUS_DEADLINE_MS)
			status_shut(&st->conns[i]);
}

/* Would MHD refuse another connection? One over STATUS_CONN_MAX is let
   in, to evict the oldest. */
static bool
status_full(struct status *st)
{
	const union MHD_DaemonInfo	*di;

	di = MHD_get_daemon_info(st->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return (di != NULL && di->num_connections >= STATUS_CONN_MAX + 1);
}

/* Hand every client waiting to MHD while it has room; out of
   descriptors, answer one 503 with the spare and close it. */
static void
status_accept(struct status *st)
{
	static const char	 unavailable[] = "HTTP/1.1 503 Service "
				    "Unavailable\r\nContent-Type: " CT_TEXT
				    "\r\nContent-Length: 36\r\nConnection: "
				    "close\r\n\r\ngatewayd is out of file "
				    "descriptors\n";
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	unsigned		 suppressed;
	bool			 away, allow;
	int			 fd;

	while (!status_full(st)) {
		sslen = sizeof(ss);
		fd = spare_accept(st->lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd != -1) {
			/* MHD closes it should it not take it. */
			(void)MHD_add_connection(st->mhd, fd,
			    (struct sockaddr *)&ss, sslen);
			continue;
		}
		switch (spare_accept_failed(&st->spare, st->lfd, errno,
		    unavailable, &away)) {
		case SPARE_AGAIN:
			if (!away)
				continue;
			st->turned_away++;
			pthread_mutex_lock(&st->mu);
			allow = log_limit_allow(&st->log_limit, clock_ms(),
			    &suppressed);
			pthread_mutex_unlock(&st->mu);
			if (allow)
				log_warnx("out of file descriptors: answered "
				    "new clients 503 (%lu so far)%s",
				    st->turned_away,
				    log_suppressed(suppressed));
			continue;
		case SPARE_PAUSE:
			st->paused_until = clock_ms() + STATUS_PAUSE_MS;
			return;
		default:
			return;		/* all taken */
		}
	}
}

static void *
status_main(void *arg)
{
	struct status			*st = arg;
	const union MHD_DaemonInfo	*di;
	MHD_UNSIGNED_LONG_LONG		 mhd_ms;
	struct pollfd			 pfd[3];
	int				 timeout;

	log_set_tag("status");
	di = MHD_get_daemon_info(st->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	pfd[0].fd = di != NULL ? di->epoll_fd : -1;
	pfd[0].events = POLLIN;
	pfd[1].fd = st->wake[0];
	pfd[1].events = POLLIN;
	pfd[2].events = POLLIN;
	for (;;) {
		timeout = st->rerun ? 0 : STATUS_TICK_MS;
		st->rerun = false;
		if (MHD_get_timeout(st->mhd, &mhd_ms) == MHD_YES &&
		    mhd_ms < (MHD_UNSIGNED_LONG_LONG)timeout)
			timeout = (int)mhd_ms;
		/* Paused, or MHD full: a negative fd is left out. */
		pfd[2].fd = clock_ms() < st->paused_until || status_full(st) ?
		    -1 : st->lfd;
		pfd[2].revents = 0;
		if (poll(pfd, 3, timeout) == -1 && errno != EINTR)
			fatal("status: poll: %s", strerror(errno));
		if (pfd[1].revents != 0)
			break;
		if (pfd[2].revents != 0)
			status_accept(st);
		MHD_run(st->mhd);
		status_expire(st, clock_ms());
	}
	return (NULL);
}

/* A listening socket on address i of b at port, made as libmicrohttpd
   makes its own (an IPv6 socket for IPv6 alone, the system's backlog):
   the fd, or -1 with the reason in st->start_err. */
static int
status_socket(struct status *st, const struct addr_binds *b, int i,
    const char *port)
{
	const char	*what;
	int		 fd, saved;

	if ((fd = endpoint_listen_on(b, i, port, true, SOMAXCONN, &what)) !=
	    -1)
		return (fd);
	saved = errno;
	pthread_mutex_lock(&st->mu);
	snprintf(st->start_err, sizeof(st->start_err), "%s: %s", what,
	    strerror(saved));
	pthread_mutex_unlock(&st->mu);
	errno = saved;
	return (-1);
}

/* libmicrohttpd without a listening socket or a thread of its own: the
   thread hands it the clients and runs it. NULL with st->start_err set
   (or errno) when it cannot start. */
static struct MHD_Daemon *
status_mhd(struct status *st)
{
	return (MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	    MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL,
	    status_handle, st,
	    MHD_OPTION_EXTERNAL_LOGGER, status_mhd_log, st,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)STATUS_CONN_MAX + 1,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)(STATUS_DEADLINE_MS / 1000),
	    MHD_OPTION_NOTIFY_CONNECTION, status_notify, st,
	    MHD_OPTION_NOTIFY_COMPLETED, status_completed, st,
	    MHD_OPTION_END));
}

struct status *
status_start(const struct addr_hostport *hp, const struct addr_binds *binds,
    status_collect_fn collect, void *ctx, char *err, size_t errlen)
{
	struct status			*st;
	const struct addr_binds		*b;
	struct addr_binds		 own;
	int				 i, rc = 0;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "status: out of memory");
		return (NULL);
	}
	st->collect = collect;
	st->ctx = ctx;
	st->wake[0] = st->wake[1] = st->lfd = st->spare.fd = -1;
	st->log_limit.window_ms = STATUS_LOG_MS;
	snprintf(st->where, sizeof(st->where), strchr(hp->host, ':') != NULL ?
	    "[%s]:%s" : "%s:%s", hp->host, hp->port);
	pthread_mutex_init(&st->mu, NULL);

	if ((b = endpoint_binds(hp, binds, &own))->n == 0) {
		snprintf(err, errlen, "status.listen %s: cannot resolve %s: %s",
		    st->where, hp->host, b->why);
		goto out_free;
	}
	pthread_mutex_lock(&st->mu);
	st->starting = true;
	snprintf(st->start_err, sizeof(st->start_err), "no usable address");
	pthread_mutex_unlock(&st->mu);
	for (i = 0; i < b->n && st->lfd == -1; i++)
		st->lfd = status_socket(st, b, i, hp->port);
	if (st->lfd != -1)
		st->mhd = status_mhd(st);
	pthread_mutex_lock(&st->mu);
	st->starting = false;
	pthread_mutex_unlock(&st->mu);
	if (st->mhd == NULL) {
		snprintf(err, errlen, "status.listen %s: cannot serve: %s",
		    st->where, st->start_err);
		goto out_free;
	}
	if (spare_open(&st->spare) == -1 ||
	    pipe2(st->wake, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    (rc = pthread_create(&st->tid, NULL, status_main, st)) != 0) {
		snprintf(err, errlen, "status.listen %s: cannot start: %s",
		    st->where, strerror(st->wake[0] == -1 ? errno : rc));
		MHD_stop_daemon(st->mhd);
		goto out_free;
	}
	/* As bound: a port 0 or a name shows what it became. */
	(void)endpoint_local_addr(st->lfd, st->where, sizeof(st->where));
	log_info("status: serving /metrics and /status on http://%s",
	    st->where);
	return (st);
out_free:
	if (st->wake[0] != -1) {
		close(st->wake[0]);
		close(st->wake[1]);
	}
	spare_close(&st->spare);
	if (st->lfd != -1)
		close(st->lfd);
	pthread_mutex_destroy(&st->mu);
	free(st);
	return (NULL);
}

/* The address st is bound to, as a lookup's answer (with its IPv6 scope,
   which st->where leaves out): 0, or -1 with errno. */
static int
status_held(const struct status *st, struct addr_binds *held)
{
	socklen_t	len = sizeof(held->a[0]);

	memset(held, 0, sizeof(*held));
	if (getsockname(st->lfd, &held->a[0].sa, &len) == -1)
		return (-1);
	held->n = 1;
	return (0);
}

/* Might st hold hp's address: the same port, and a host that is, or
   resolves to (b), the one st is bound to, or a wildcard on either side? */
static bool
status_may_hold(const struct status *st, const struct addr_hostport *hp,
    const struct addr_binds *b)
{
	struct addr_hostport	 bound;
	struct addr_bound	 was, to;
	const char		*why;
	char			 ip[64];
	int			 i;

	if (addr_parse_bind(st->where, &bound, &why) == -1)
		return (true);
	if (strtoul(hp->port, NULL, 10) != strtoul(bound.port, NULL, 10))
		return (false);
	if (addr_host_is_literal(hp->host))
		return (addr_listen_overlap(hp, &bound));
	if (addr_host_is_wildcard(bound.host) ||
	    addr_bound_literal(bound.host, &was) == -1)
		return (true);
	for (i = 0; i < b->n; i++) {
		addr_bound_of(&b->a[i].sa, &to);
		if (addr_bound_same(&was, &to, ip, sizeof(ip)) ||
		    addr_bound_is_wildcard(&to))
			return (true);
	}
	return (false);
}

int
status_move(struct status **stp, const struct addr_hostport *hp,
    const struct addr_binds *binds, status_collect_fn collect, void *ctx,
    char *err, size_t errlen)
{
	const struct addr_binds	*b;
	struct addr_binds	 own, held;
	struct addr_hostport	 was;
	struct status		*st;
	const char		*why;
	char			 rerr[256];
	size_t			 n;

	/* A name is looked up once, for every try below; one that binds
	   nothing leaves the old server alone. */
	b = endpoint_binds(hp, binds, &own);
	if ((st = status_start(hp, b, collect, ctx, err, errlen)) != NULL)
		goto out_swap;
	if (b->n == 0 || *stp == NULL || !status_may_hold(*stp, hp, b) ||
	    addr_parse_bind((*stp)->where, &was, &why) == -1 ||
	    status_held(*stp, &held) == -1)
		return (-1);
	/* Perhaps the old server holds the very address, written another
	   way: let it go and try again, or take it back. */
	status_stop(*stp);
	*stp = NULL;
	if ((st = status_start(hp, b, collect, ctx, err, errlen)) != NULL)
		goto out_swap;
	if ((*stp = status_start(&was, &held, collect, ctx, rerr,
	    sizeof(rerr))) == NULL && (n = strlen(err)) < errlen)
		snprintf(err + n, errlen - n, "; and not again where it "
		    "served: %s", rerr);
	return (-1);
out_swap:
	status_stop(*stp);
	*stp = st;
	return (0);
}

const char *
status_where(const struct status *st)
{
	return (st->where);
}

void
status_stop(struct status *st)
{
	ssize_t	n;

	if (st == NULL)
		return;
	/* Join the thread, then close the listening socket and every
	   connection: no request runs after this. */
	n = write(st->wake[1], "", 1);
	(void)n;	/* a fresh pipe has room for one byte */
	pthread_join(st->tid, NULL);
	MHD_stop_daemon(st->mhd);
	close(st->lfd);
	spare_close(&st->spare);
	close(st->wake[0]);
	close(st->wake[1]);
	pthread_mutex_destroy(&st->mu);
	log_info("status: stopped serving on %s", st->where);
	free(st);
}
