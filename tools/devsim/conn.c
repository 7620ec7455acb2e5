/*
 * conn.c -- device simulator: one connection, from established to closed.
 * Its reads and writes, its timers, and how it ends.
 *
 * Digest. With --digest, at each connection's end devsim prints the count
 * and the FNV-1a 64 hash of the bytes received, then of the bytes sent:
 *
 *	uint64_t h = 0xcbf29ce484222325;
 *	for each byte b: h ^= b; h *= 0x100000001b3;
 *
 * printed as 16 lowercase hex digits.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "devsim.h"

#define DRAIN_MS	2000	/* a clean close waits so long for a FIN */

#define FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME	UINT64_C(0x100000001b3)

static int	 sock_error(int);
static uint64_t	 fnv1a64(uint64_t, const unsigned char *, size_t);
static int	 conn_read(struct sim *, struct conn *);
static int	 conn_write(struct sim *, struct conn *);
static void	 conn_drain(struct sim *, struct conn *);
static void	 conn_settle(struct sim *, struct conn *, int64_t);
static void	 conn_fail(struct sim *, struct conn *, int);

struct conn *
conn_alloc(struct sim *s)
{
	int	 i;

	for (i = 0; i < s->nconns; i++)
		if (s->conns[i].state == CONN_FREE)
			return (&s->conns[i]);
	return (NULL);
}

void
conn_open(struct sim *s, struct conn *c, int fd, int64_t now)
{
	char	 local[PEER_LEN];
	int	 on = 1, port;

	c->state = CONN_OPEN;
	c->fd = fd;
	c->since_ms = c->next_line_ms = now;
	c->seq = c->rx = c->tx = 0;
	c->rx_fnv = c->tx_fnv = FNV_OFFSET;
	c->src_left = s->opt.bytes;
	c->rng = s->opt.seed;
	c->peer_eof = false;
	c->off = c->len = 0;
	c->reason[0] = '\0';
	s->stat_conns++;
	port = sock_port(fd, local, sizeof(local));
	dial_repeats(s);
	if (s->opt.listen != NULL)
		logmsg("accepted from %s", c->peer);
	else if (s->streak > 0)
		logmsg("connected to %s from %s after %" PRIu64
		    " failed dials", c->peer, local, s->streak);
	else
		logmsg("connected to %s from %s", c->peer, local);
	s->streak = 0;
	/* Chatter lines and echoes go out at once, not when Nagle allows. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		logmsg("%s: cannot set TCP_NODELAY: %s", c->peer,
		    strerror(errno));
	if (s->opt.connect != NULL && ready_once(s, port) == -1) {
		s->quit = true;
		s->exit_code = EX_CANTCREAT;
	}
}

short
conn_events(const struct sim *s, const struct conn *c)
{
	short	 ev = 0;

	if (c->state == CONN_CONNECTING)
		return (POLLOUT);
	if (c->state == CONN_DRAINING)
		return (POLLIN);
	/* Not reading: only learn of FIN (RDHUP) and RST (ERR, always). */
	if (s->opt.mode == MODE_STOP_READING)
		return (POLLRDHUP);
	if (!c->peer_eof &&
	    (!mode_buffers_input(s) || c->len - c->off < BUF_LEN))
		ev |= POLLIN;
	if (c->off < c->len || (s->opt.mode == MODE_SOURCE && !c->peer_eof &&
	    (s->opt.bytes == 0 || c->src_left > 0)))
		ev |= POLLOUT;
	return (ev);
}

int64_t
conn_deadline(const struct sim *s, const struct conn *c)
{
	int64_t	 d;

	switch (c->state) {
	case CONN_CONNECTING:
		return (c->since_ms + s->opt.connect_timeout_ms);
	case CONN_DRAINING:
		return (c->drain_until_ms);
	case CONN_OPEN:
		break;
	default:
		return (NEVER);
	}
	d = fault_deadline(s, c);
	if (s->opt.mode == MODE_CHATTER && c->next_line_ms < d)
		d = c->next_line_ms;
	return (d);
}

void
conn_timers(struct sim *s, struct conn *c, int64_t now)
{
	switch (c->state) {
	case CONN_CONNECTING:
		if (now >= c->since_ms + s->opt.connect_timeout_ms)
			dial_abort(s, c, ETIMEDOUT, now);
		return;
	case CONN_DRAINING:
		if (now >= c->drain_until_ms)
			conn_close(s, c, c->reason);
		return;
	case CONN_OPEN:
		break;
	default:
		return;
	}
	if (fault_check(s, c, now))
		return;
	if (s->opt.mode == MODE_CHATTER && now >= c->next_line_ms) {
		mode_chatter(s, c, now);
		if (conn_write(s, c) == 0)
			conn_settle(s, c, now);
	}
}

void
conn_handle(struct sim *s, struct conn *c, short rev, int64_t now)
{
	if (c->state == CONN_CONNECTING) {
		dial_check(s, c, now);
		return;
	}
	if (c->state == CONN_DRAINING) {
		conn_drain(s, c);
		return;
	}
	if (c->state != CONN_OPEN)
		return;
	if (rev & POLLERR) {
		conn_fail(s, c, sock_error(c->fd));
		return;
	}
	if (s->opt.mode == MODE_STOP_READING) {
		if (rev & (POLLHUP | POLLRDHUP))
			conn_close(s, c, "peer closed");
		return;
	}
	if ((rev & (POLLIN | POLLHUP)) && conn_read(s, c) == -1)
		return;
	if (conn_write(s, c) == -1)
		return;
	/* Both directions are shut: nothing more can be sent or received. */
	if (rev & POLLHUP) {
		conn_close(s, c, "peer closed");
		return;
	}
	conn_settle(s, c, now);
}

/*
 * Read what is pending, at most IO_TURN bytes: into the output buffer when
 * echoing, else discarded. Sets peer_eof on FIN. Returns 0, or -1 if the
 * connection failed and was closed.
 */
static int
conn_read(struct sim *s, struct conn *c)
{
	static unsigned char	 scratch[BUF_LEN];
	unsigned char		*p;
	size_t			 room, total = 0;
	ssize_t			 n;
	bool			 keep = mode_buffers_input(s);

	while (total < IO_TURN && !c->peer_eof) {
		p = scratch;
		room = sizeof(scratch);
		if (keep) {
			conn_compact(c);
			p = c->buf + c->len;
			if ((room = BUF_LEN - c->len) == 0)
				break;
		}
		if ((n = recv(c->fd, p, room, 0)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_fail(s, c, errno);
			return (-1);
		}
		if (n == 0) {
			c->peer_eof = true;
			break;
		}
		c->rx += n;
		s->stat_rx += n;
		if (s->opt.digest)
			c->rx_fnv = fnv1a64(c->rx_fnv, p, n);
		if (keep)
			c->len += n;
		total += n;
	}
	return (0);
}

/*
 * Send pending output, refilling it from the source stream, at most about
 * IO_TURN bytes; stops early when the socket is full. Returns 0, or -1 if
 * the connection failed and was closed.
 */
static int
conn_write(struct sim *s, struct conn *c)
{
	size_t	 total = 0;
	ssize_t	 n;

	while (total < IO_TURN) {
		if (c->off == c->len) {
			c->off = c->len = 0;
			if (!mode_source_refill(s, c))
				break;
		}
		n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_fail(s, c, errno);
			return (-1);
		}
		if (s->opt.digest)
			c->tx_fnv = fnv1a64(c->tx_fnv, c->buf + c->off, n);
		c->off += n;
		c->tx += n;
		s->stat_tx += n;
		total += n;
	}
	return (0);
}

/* Draining after our FIN: discard input until the peer's FIN or an error. */
static void
conn_drain(struct sim *s, struct conn *c)
{
	unsigned char	 buf[4096];
	size_t		 total = 0;
	ssize_t		 n;

	while (total < IO_TURN) {
		if ((n = recv(c->fd, buf, sizeof(buf), 0)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			break;
		}
		if (n == 0)
			break;
		c->rx += n;
		s->stat_rx += n;
		if (s->opt.digest)
			c->rx_fnv = fnv1a64(c->rx_fnv, buf, n);
		total += n;
	}
	if (total < IO_TURN)
		conn_close(s, c, c->reason);
}

/* After I/O: close once the peer's FIN is answered or the stream is sent. */
static void
conn_settle(struct sim *s, struct conn *c, int64_t now)
{
	if (c->state != CONN_OPEN || c->off < c->len)
		return;
	if (c->peer_eof)
		conn_close(s, c, "peer closed");
	else if (s->opt.mode == MODE_SOURCE && s->opt.close_when_done &&
	    s->opt.bytes != 0 && c->src_left == 0)
		conn_finish(s, c, "stream sent", now);
}

void
conn_compact(struct conn *c)
{
	if (c->off == 0)
		return;
	memmove(c->buf, c->buf + c->off, c->len - c->off);
	c->len -= c->off;
	c->off = 0;
}

void
conn_finish(struct sim *s, struct conn *c, const char *reason, int64_t now)
{
	if (c->peer_eof || shutdown(c->fd, SHUT_WR) == -1) {
		conn_close(s, c, reason);
		return;
	}
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	c->off = c->len = 0;
	c->state = CONN_DRAINING;
	c->drain_until_ms = now + DRAIN_MS;
	conn_drain(s, c);
}

static void
conn_fail(struct sim *s, struct conn *c, int err)
{
	conn_close(s, c, err_str(err));
}

void
conn_close(struct sim *s, struct conn *c, const char *reason)
{
	int64_t	 now = now_ms();

	close(c->fd);
	c->fd = -1;
	c->state = CONN_FREE;
	logmsg("closed %s: %s (rx %" PRIu64 " bytes, tx %" PRIu64 " bytes)",
	    c->peer, reason, c->rx, c->tx);
	if (s->opt.digest) {
		logmsg("digest %s rx=%" PRIu64 " fnv1a64=%016" PRIx64, c->peer,
		    c->rx, c->rx_fnv);
		logmsg("digest %s tx=%" PRIu64 " fnv1a64=%016" PRIx64, c->peer,
		    c->tx, c->tx_fnv);
	}
	if (s->opt.connect != NULL && !s->quit)
		dial_again(s, now, EX_OK);
}

int
sock_port(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		return (-1);
	if (buf != NULL)
		addr_format((struct sockaddr *)&ss, buf, len);
	if (ss.ss_family == AF_INET6)
		return (ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	return (ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

/* Pending error of fd (which reading clears), or EIO if none is pending. */
static int
sock_error(int fd)
{
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return (errno);
	return (err != 0 ? err : EIO);
}

static uint64_t
fnv1a64(uint64_t h, const unsigned char *p, size_t len)
{
	while (len-- > 0) {
		h ^= *p++;
		h *= FNV_PRIME;
	}
	return (h);
}
