/* monitor.c -- the monitor taps: every device's monitor port and clients,
 * served by one thread.
 *
 * DESIGN: the relay threads copy into each client's buffer in the device's
 * tap (tap.c) and never wait; this thread takes from it only while the
 * client's output buffer has room, so a client that does not read makes
 * the tap drop, and count, what it cannot hold. Everything here is
 * non-blocking. mu protects the table of ports and clients: the thread
 * holds it while it acts on what poll() found, and lets go while it
 * waits; monitor_open() and monitor_close() change the table under mu,
 * bump gen and wake the thread, which then throws away what that poll()
 * found (its descriptors may be closed) and builds its list again.
 * A listening socket is closed only once that poll() has returned
 * (polls counts the returns): poll() holds the socket while it waits, and
 * its port could not be bound again until then.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "endpoint.h"
#include "log.h"
#include "monitor.h"
#include "sockopt.h"
#include "spare.h"

#define MON_SUB_BUF	(256 * 1024)	/* a client's buffer in the tap */
#define MON_OUT_MAX	(64 * 1024)	/* taken from the tap, not yet sent */
#define MON_HEAD_MAX	64		/* a tagged header line */
#define MON_PAUSE_MS	1000		/* no accept() after EMFILE */
#define MON_LOG_MS	10000		/* one refusal line per window */
#define MON_PEER_MAX	64		/* "[v6]:port" */
#define MON_ROUNDS	16		/* fill-and-send rounds per wake-up */

/* The tap keeps a place for each client, whatever the traces. */
_Static_assert(CFG_MONITOR_CLIENTS <= TAP_MONITORS_MAX, "monitor places");

struct mon_client {
	int		 fd;		/* -1: a free place */
	struct tap_sub	*sub;
	char		 peer[MON_PEER_MAX];
	char		 out[MON_OUT_MAX + MON_HEAD_MAX + TAP_PIECE_MAX];
	size_t		 len;		/* bytes in out */
	size_t		 sent;		/* of len */
	uint64_t	 total;		/* sent in all */
};

struct mon_port {
	char			 device[CFG_NAME_MAX];
	char			 bound[MON_PEER_MAX];
	int			 lfd;
	struct tap		*tap;
	struct cfg_policy	 pol;		/* its format, its clients'
						   keepalive */
	struct addr_cidr	*allow;		/* NULL: anyone */
	int			 n_allow;
	int64_t			 paused_until;	/* monotonic ms; 0: not */
	struct log_limit	 refuse_log;
	uint64_t		 missed;	/* by clients that left */
	struct mon_client	 cl[CFG_MONITOR_CLIENTS];
};

struct monitor {
	pthread_t		  thread;
	pthread_mutex_t		  mu;
	int			  wake;		/* eventfd */
	bool			  stop;		/* protected by mu */
	unsigned		  gen;		/* protected by mu */
	bool			  in_poll;	/* protected by mu */
	unsigned		  polls;	/* returns from poll(), by mu */
	pthread_cond_t		  polled;	/* polls moved */
	struct mon_port		**ports;	/* protected by mu */
	int			  n_ports;
	int			  cap_ports;
};

static void	*monitor_main(void *);
static void	 mon_wake(struct monitor *);
static void	 port_free(struct mon_port *);
static void	 port_accept(struct mon_port *);
static bool	 port_allows(const struct mon_port *, const struct sockaddr *);
static void	 client_close(struct mon_port *, struct mon_client *,
		    const char *);
static void	 client_last(struct mon_port *, struct mon_client *,
		    const char *);
static void	 client_fill(struct mon_port *, struct mon_client *);
static void	 client_flush(struct mon_port *, struct mon_client *);
static void	 client_drain(struct mon_port *, struct mon_client *);
static void	 client_pump(struct mon_port *, struct mon_client *);
static void	 port_refuse(struct mon_port *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

struct monitor *
monitor_start(void)
{
	struct monitor	*mon;
	int		 err;

	if ((mon = calloc(1, sizeof(*mon))) == NULL)
		return (NULL);
	if ((mon->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		free(mon);
		return (NULL);
	}
	pthread_mutex_init(&mon->mu, NULL);
	pthread_cond_init(&mon->polled, NULL);
	if ((err = pthread_create(&mon->thread, NULL, monitor_main, mon)) !=
	    0) {
		pthread_cond_destroy(&mon->polled);
		pthread_mutex_destroy(&mon->mu);
		close(mon->wake);
		free(mon);
		errno = err;
		return (NULL);
	}
	return (mon);
}

void
monitor_stop(struct monitor *mon)
{
	int	i;

	if (mon == NULL)
		return;
	pthread_mutex_lock(&mon->mu);
	mon->stop = true;
	pthread_mutex_unlock(&mon->mu);
	mon_wake(mon);
	pthread_join(mon->thread, NULL);
	for (i = 0; i < mon->n_ports; i++)
		port_free(mon->ports[i]);
	free(mon->ports);
	close(mon->wake);
	pthread_cond_destroy(&mon->polled);
	pthread_mutex_destroy(&mon->mu);
	free(mon);
}

static void
mon_wake(struct monitor *mon)
{
	uint64_t	one = 1;
	ssize_t		n;

	/* A full counter is a wake-up already. */
	n = write(mon->wake, &one, sizeof(one));
	(void)n;
}

int
monitor_open(struct monitor *mon, const char *device,
    const struct cfg_endpoint *ep, const struct cfg_policy *pol,
    struct tap *tap, char *err, size_t errlen)
{
	struct mon_port	 *p, **grown;
	int		  i, cap;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	p->lfd = -1;
	for (i = 0; i < CFG_MONITOR_CLIENTS; i++)
		p->cl[i].fd = -1;
	snprintf(p->device, sizeof(p->device), "%s", device);
	p->pol = *pol;
	p->refuse_log.window_ms = MON_LOG_MS;
	if (ep->n_allow > 0) {
		if ((p->allow = calloc((size_t)ep->n_allow,
		    sizeof(*p->allow))) == NULL) {
			snprintf(err, errlen, "out of memory");
			port_free(p);
			return (-1);
		}
		memcpy(p->allow, ep->allow, (size_t)ep->n_allow *
		    sizeof(*p->allow));
		p->n_allow = ep->n_allow;
	}
	if ((p->lfd = endpoint_listen(ep, err, errlen)) == -1) {
		port_free(p);
		return (-1);
	}
	if (endpoint_local_addr(p->lfd, p->bound, sizeof(p->bound)) == -1) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		port_free(p);
		return (-1);
	}
	tap_ref(tap);
	p->tap = tap;

	pthread_mutex_lock(&mon->mu);
	if (mon->n_ports == mon->cap_ports) {
		cap = mon->cap_ports > 0 ? mon->cap_ports * 2 : 8;
		if ((grown = reallocarray(mon->ports, (size_t)cap,
		    sizeof(*grown))) == NULL) {
			pthread_mutex_unlock(&mon->mu);
			snprintf(err, errlen, "out of memory");
			port_free(p);
			return (-1);
		}
		mon->ports = grown;
		mon->cap_ports = cap;
	}
	mon->ports[mon->n_ports++] = p;
	mon->gen++;
	pthread_mutex_unlock(&mon->mu);
	mon_wake(mon);
	log_link(LOG_LVL_INFO, device, "monitor", NULL, "%s/monitor: listening "
	    "on %s (%s, up to %d clients)", device, p->bound,
	    pol->monitor_format == CFG_MONITOR_TAGGED ? "tagged" : "raw", CFG_MONITOR_CLIENTS);
	return (0);
}

void
monitor_close(struct monitor *mon, const char *device)
{
	struct mon_port	*p = NULL;
	unsigned	 polls;
	int		 i;

	pthread_mutex_lock(&mon->mu);
	for (i = 0; i < mon->n_ports; i++)
		if (strcmp(mon->ports[i]->device, device) == 0) {
			p = mon->ports[i];
			mon->ports[i] = mon->ports[--mon->n_ports];
			break;
		}
	if (p != NULL) {
		for (i = 0; i < CFG_MONITOR_CLIENTS; i++)
			if (p->cl[i].fd != -1)
				client_last(p, &p->cl[i], "the device stopped");
		mon->gen++;
	}
	if (p == NULL) {
		pthread_mutex_unlock(&mon->mu);
		return;
	}
	/* The thread looks at the table again before it touches a
	   descriptor; wait for the poll() that holds the port to return. */
	mon_wake(mon);
	polls = mon->polls;
	while (mon->in_poll && mon->polls == polls)
		pthread_cond_wait(&mon->polled, &mon->mu);
	pthread_mutex_unlock(&mon->mu);
	port_free(p);
}

bool
monitor_info(struct monitor *mon, const char *device,
    struct monitor_info *info)
{
	struct mon_port	*p;
	bool		 found = false;
	int		 i, j;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&mon->mu);
	for (i = 0; i < mon->n_ports && !found; i++) {
		if (strcmp((p = mon->ports[i])->device, device) != 0)
			continue;
		found = true;
		snprintf(info->listen, sizeof(info->listen), "%s", p->bound);
		info->missed = p->missed;
		for (j = 0; j < CFG_MONITOR_CLIENTS; j++)
			if (p->cl[j].fd != -1) {
				info->clients++;
				info->missed += tap_dropped(p->cl[j].sub);
			}
	}
	pthread_mutex_unlock(&mon->mu);
	return (found);
}

/* A port out of the table: its clients are closed already. */
static void
port_free(struct mon_port *p)
{
	int	i;

	for (i = 0; i < CFG_MONITOR_CLIENTS; i++)
		if (p->cl[i].fd != -1)
			client_last(p, &p->cl[i], "the gateway stopped");
	if (p->lfd != -1)
		close(p->lfd);
	tap_unref(p->tap);
	free(p->allow);
	free(p);
}

static bool
port_allows(const struct mon_port *p, const struct sockaddr *sa)
{
	int	i;

	if (p->n_allow == 0)
		return (true);
	for (i = 0; i < p->n_allow; i++)
		if (addr_cidr_match(&p->allow[i], sa))
			return (true);
	return (false);
}

/* Log a line about something any remote client can cause, at most one per
   window. */
static void
port_refuse(struct mon_port *p, const char *fmt, ...)
{
	unsigned	suppressed;
	char		why[160];
	va_list		ap;

	if (!log_limit_allow(&p->refuse_log, clock_ms(), &suppressed))
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_link(LOG_LVL_WARN, p->device, "monitor", NULL, "%s/monitor: %s%s",
	    p->device, why, log_suppressed(suppressed));
}

/* Take every client waiting on p's port. */
static void
port_accept(struct mon_port *p)
{
	struct sockaddr_storage	 ss;
	struct mon_client	*c;
	socklen_t		 sslen;
	char			 peer[MON_PEER_MAX];
	const char		*what;
	int			 fd, i, used;

	for (;;) {
		sslen = sizeof(ss);
		/* Never the number a server let go to turn a client away
		   (spare.h). */
		fd = spare_accept(p->lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: leave the port alone
				   a while rather than spin on it. */
				p->paused_until = clock_ms() + MON_PAUSE_MS;
				port_refuse(p, "cannot accept a client: %s",
				    strerror(errno));
			}
			return;
		}
		addr_format((struct sockaddr *)&ss, peer, sizeof(peer));
		if (!port_allows(p, (struct sockaddr *)&ss)) {
			port_refuse(p, "client %s refused: not in allow", peer);
			close(fd);
			continue;
		}
		/* A client whose host went away (a cable pulled, a laptop
		   closed) would hold its place for good. */
		if (sockopt_keepalive(fd, &p->pol, &what) == -1) {
			port_refuse(p, "client %s refused: cannot set %s: %s",
			    peer, what, strerror(errno));
			close(fd);
			continue;
		}
		for (i = used = 0, c = NULL; i < CFG_MONITOR_CLIENTS; i++) {
			if (p->cl[i].fd != -1)
				used++;
			else if (c == NULL)
				c = &p->cl[i];
		}
		if (c == NULL) {
			port_refuse(p, "client %s refused: %d clients watch "
			    "already", peer, CFG_MONITOR_CLIENTS);
			close(fd);
			continue;
		}
		if ((c->sub = tap_subscribe(p->tap, TAP_MONITOR,
		    MON_SUB_BUF)) == NULL) {
			port_refuse(p, "client %s refused: cannot subscribe "
			    "to the traffic", peer);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = c->sent = 0;
		c->total = 0;
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
		log_link(LOG_LVL_INFO, p->device, "monitor", NULL,
		    "%s/monitor: client %s watching (%d of %d)", p->device,
		    peer, used + 1, CFG_MONITOR_CLIENTS);
	}
}

/* Close c, and say what it was sent, what it missed and, when its port
   closed with bytes still for it, how many were left unsent. */
static void
client_close_left(struct mon_port *p, struct mon_client *c, const char *why,
    uint64_t left)
{
	uint64_t	missed = tap_dropped(c->sub);
	char		unsent[64] = "";

	p->missed += missed;
	if (left > 0)
		snprintf(unsent, sizeof(unsent), ", %llu left unsent",
		    (unsigned long long)left);
	log_link(LOG_LVL_INFO, p->device, "monitor", NULL, "%s/monitor: client "
	    "%s left (%s): %llu bytes sent, %llu missed%s", p->device, c->peer,
	    why, (unsigned long long)c->total, (unsigned long long)missed,
	    unsent);
	tap_unsubscribe(c->sub);
	c->sub = NULL;
	close(c->fd);
	c->fd = -1;
}

static void
client_close(struct mon_port *p, struct mon_client *c, const char *why)
{
	client_close_left(p, c, why, 0);
}

/* c's port closes (its device stops, or the gateway): what its buffers
   still hold goes out as far as its socket takes it now, without waiting
   (the caller holds mu); what is left, of the output buffer and of the
   bytes in the tap, is said with the rest. */
static void
client_last(struct mon_port *p, struct mon_client *c, const char *why)
{
	char		 piece[TAP_PIECE_MAX];
	enum tap_dir	 dir;
	enum tap_take	 t;
	int64_t		 wall_ms;
	uint64_t	 left;
	size_t		 n;
	int		 round;

	for (round = 0; round < MON_ROUNDS; round++) {
		client_fill(p, c);
		if (c->fd == -1 || c->len == c->sent)
			break;
		client_flush(p, c);
		/* Its socket full: what is left stays unsent. */
		if (c->fd == -1 || c->len > 0)
			break;
	}
	/* Closed on the way (the tap ended, an error): said then. */
	if (c->fd == -1)
		return;
	left = c->len - c->sent;
	while ((t = tap_take(c->sub, &dir, &wall_ms, piece, &n)) == TAP_DATA ||
	    t == TAP_GAP || t == TAP_DISCARD)
		if (t == TAP_DATA)
			left += n;
	client_close_left(p, c, why, left);
}

/* Take from the tap while the output buffer has room. */
static void
client_fill(struct mon_port *p, struct mon_client *c)
{
	enum tap_dir	 dir = TAP_DEV_TO_UP;
	char		 ts[CLOCK_UTC_MAX];
	int64_t		 wall_ms;
	size_t		 n;
	int		 h;

	while (c->len - c->sent < MON_OUT_MAX) {
		if (c->sent > 0) {
			memmove(c->out, c->out + c->sent, c->len - c->sent);
			c->len -= c->sent;
			c->sent = 0;
		}
		switch (tap_take(c->sub, &dir, &wall_ms, c->out + c->len +
		    MON_HEAD_MAX, &n)) {
		case TAP_EMPTY:
			return;
		case TAP_ENDED:
			client_close(p, c, "the device stopped");
			return;
		case TAP_DISCARD:
			/* The formats carry the bytes as they passed,
			   with no word for what became of them. */
			break;
		case TAP_GAP:
			if (p->pol.monitor_format == CFG_MONITOR_TAGGED)
				c->len += (size_t)snprintf(c->out + c->len,
				    MON_HEAD_MAX, "%s dropped %zu\n",
				    clock_format_utc(wall_ms, ts, sizeof(ts)), n);
			break;
		case TAP_DATA:
			if (p->pol.monitor_format == CFG_MONITOR_RAW) {
				memmove(c->out + c->len, c->out + c->len +
				    MON_HEAD_MAX, n);
				c->len += n;
				break;
			}
			h = snprintf(c->out + c->len, MON_HEAD_MAX, "%s %s %zu\n",
			    clock_format_utc(wall_ms, ts, sizeof(ts)),
			    tap_dir_str(dir), n);
			memmove(c->out + c->len + h, c->out + c->len +
			    MON_HEAD_MAX, n);
			c->len += (size_t)h + n;
			break;
		}
	}
}

/* Send what the output buffer holds, as far as the socket takes it. */
static void
client_flush(struct mon_port *p, struct mon_client *c)
{
	ssize_t	n;

	while (c->sent < c->len) {
		n = send(c->fd, c->out + c->sent, c->len - c->sent,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			client_close(p, c, strerror(errno));
			return;
		}
		c->sent += (size_t)n;
		c->total += (uint64_t)n;
	}
	c->len = c->sent = 0;
}

/* What a client sends is discarded; its end or an error closes it. */
static void
client_drain(struct mon_port *p, struct mon_client *c)
{
	char	buf[4096];
	ssize_t	n;

	while ((n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n == 0)
		client_close(p, c, "it closed the connection");
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		client_close(p, c, strerror(errno));
}

/* Take from the tap and send, while the client keeps up: a buffer that
   was full takes from the tap again once it is sent, MON_ROUNDS times
   a wake-up (the other clients' turn); then the tap may still hold more,
   and no feed wakes a reader that did not find it empty: the client's
   tap eventfd is made readable to come back at the next poll(). */
static void
client_pump(struct mon_port *p, struct mon_client *c)
{
	size_t	had;
	int	round;

	for (round = 0; round < MON_ROUNDS; round++) {
		client_fill(p, c);
		if (c->fd == -1 || (had = c->len - c->sent) == 0)
			return;
		client_flush(p, c);
		/* Partly sent: POLLOUT brings us back. */
		if (c->fd == -1 || c->len > 0)
			return;
		/* All of it went: the tap may hold more. */
		if (had < MON_OUT_MAX)
			return;
	}
	tap_kick(c->sub);
}

/* What one poll() entry stands for. */
struct mon_slot {
	struct mon_port		*port;
	struct mon_client	*client;	/* NULL: the port's listener */
	bool			 tap;		/* the client's tap eventfd */
};

static void *
monitor_main(void *arg)
{
	struct monitor		*mon = arg;
	struct pollfd		*pfd = NULL, *gp;
	struct mon_slot		*slot = NULL, *gs;
	struct mon_port		*p;
	struct mon_client	*c;
	int64_t			 now, wake_at;
	uint64_t		 count;
	unsigned		 gen;
	size_t			 cap = 0, need, n, k;
	ssize_t			 rd;
	int			 i, j, timeout;


	log_set_tag("monitor");
	pthread_mutex_lock(&mon->mu);
	while (!mon->stop) {
		need = 1 + (size_t)mon->n_ports * (1 + 2 * CFG_MONITOR_CLIENTS);
		if (need > cap) {
			gp = reallocarray(pfd, need, sizeof(*pfd));
			if (gp != NULL)
				pfd = gp;
			gs = reallocarray(slot, need, sizeof(*slot));
			if (gs != NULL)
				slot = gs;
			if (gp == NULL || gs == NULL) {
				/* Try again shortly; nothing is lost but
				   time. */
				pthread_mutex_unlock(&mon->mu);
				usleep(100 * 1000);
				pthread_mutex_lock(&mon->mu);
				continue;
			}
			cap = need;
		}
		now = clock_ms();
		wake_at = 0;
		pfd[0] = (struct pollfd){ .fd = mon->wake, .events = POLLIN };
		n = 1;
		for (i = 0; i < mon->n_ports; i++) {
			p = mon->ports[i];
			if (p->paused_until > now) {
				if (wake_at == 0 || p->paused_until < wake_at)
					wake_at = p->paused_until;
			} else {
				pfd[n] = (struct pollfd){ .fd = p->lfd,
				    .events = POLLIN };
				slot[n++] = (struct mon_slot){ p, NULL, false };
			}
			for (j = 0; j < CFG_MONITOR_CLIENTS; j++) {
				if ((c = &p->cl[j])->fd == -1)
					continue;
				pfd[n] = (struct pollfd){ .fd = c->fd,
				    .events = POLLIN | (c->sent < c->len ?
				    POLLOUT : 0) };
				slot[n++] = (struct mon_slot){ p, c, false };
				if (c->len - c->sent >= MON_OUT_MAX)
					continue;
				pfd[n] = (struct pollfd){ .fd = tap_fd(c->sub),
				    .events = POLLIN };
				slot[n++] = (struct mon_slot){ p, c, true };
			}
		}
		gen = mon->gen;
		timeout = wake_at == 0 ? -1 : (int)(wake_at - now);
		mon->in_poll = true;
		pthread_mutex_unlock(&mon->mu);
		if (poll(pfd, (nfds_t)n, timeout) == -1 && errno != EINTR)
			fatal("monitor: poll: %s", strerror(errno));
		if (pfd[0].revents & POLLIN) {
			rd = read(mon->wake, &count, sizeof(count));
			(void)rd;
		}
		pthread_mutex_lock(&mon->mu);
		mon->in_poll = false;
		mon->polls++;
		pthread_cond_broadcast(&mon->polled);
		if (mon->gen != gen)
			continue;	/* the table changed: look again */
		for (k = 1; k < n; k++) {
			if (pfd[k].revents == 0)
				continue;
			p = slot[k].port;
			c = slot[k].client;
			if (c == NULL) {
				port_accept(p);
				continue;
			}
			if (c->fd == -1)
				continue;	/* closed just now */
			if (slot[k].tap)
				tap_wake(c->sub);
			else if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
				client_drain(p, c);
			if (c->fd != -1)
				client_pump(p, c);
		}
	}
	pthread_mutex_unlock(&mon->mu);
	free(pfd);
	free(slot);
	return (NULL);
}
