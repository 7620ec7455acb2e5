/*
 * dial.c -- device simulator, --connect: dialling, redialling and the
 * account of failed dials (a run of the same error is logged once).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "devsim.h"

static void	 dial_next(struct sim *, int64_t);
static void	 dial_failed(struct sim *, int64_t);

void
dial_start(struct sim *s, int64_t now)
{
	struct addrinfo	 hints;
	int		 err;

	s->redial_at_ms = NEVER;
	s->conns[0].peer[0] = '\0';
	if (s->ai_list != NULL)
		freeaddrinfo(s->ai_list);
	s->ai_list = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	err = getaddrinfo(s->addr.host, s->addr.port, &hints, &s->ai_list);
	if (err != 0) {
		s->ai_list = NULL;
		s->dial_err = err == EAI_SYSTEM ? errno : err;
		dial_failed(s, now);
		return;
	}
	s->ai_next = s->ai_list;
	dial_next(s, now);
}

/* Dial the next address of this round; when none is left, the dial failed. */
static void
dial_next(struct sim *s, int64_t now)
{
	struct conn	*c = &s->conns[0];
	struct addrinfo	*ai;
	int		 fd;

	while ((ai = s->ai_next) != NULL) {
		s->ai_next = ai->ai_next;
		addr_format(ai->ai_addr, c->peer, sizeof(c->peer));
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			s->dial_err = errno;
			continue;
		}
		if (s->opt.rcvbuf != 0 && setsockopt(fd, SOL_SOCKET,
		    SO_RCVBUF, &s->opt.rcvbuf, sizeof(s->opt.rcvbuf)) == -1) {
			s->dial_err = errno;
			close(fd);
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			conn_open(s, c, fd, now);
			return;
		}
		if (errno == EINPROGRESS) {
			c->state = CONN_CONNECTING;
			c->fd = fd;
			c->since_ms = now;
			return;
		}
		s->dial_err = errno;
		close(fd);
	}
	dial_failed(s, now);
}

void
dial_check(struct sim *s, struct conn *c, int64_t now)
{
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0) {
		conn_open(s, c, c->fd, now);
		return;
	}
	dial_abort(s, c, err, now);
}

void
dial_abort(struct sim *s, struct conn *c, int err, int64_t now)
{
	close(c->fd);
	c->fd = -1;
	c->state = CONN_FREE;
	s->dial_err = err;
	dial_next(s, now);
}

/*
 * Every address failed: log it (a run of the same error once), then schedule
 * the redial, or quit with EX_UNAVAILABLE under --reconnect-ms 0.
 */
static void
dial_failed(struct sim *s, int64_t now)
{
	struct conn	*c = &s->conns[0];
	char		 tried[PEER_LEN + 16] = "";

	if (s->ai_list != NULL)
		freeaddrinfo(s->ai_list);
	s->ai_list = s->ai_next = NULL;
	s->stat_dial_failures++;
	if (s->streak > 0 && s->dial_err == s->streak_err) {
		s->streak++;
		s->repeats++;
	} else {
		dial_repeats(s);
		if (c->peer[0] != '\0' && strcmp(c->peer, s->opt.connect) != 0)
			snprintf(tried, sizeof(tried), " (at %s)", c->peer);
		logmsg("connect to %s failed: %s%s%s", s->opt.connect,
		    err_str(s->dial_err), tried,
		    s->opt.reconnect_ms != 0 ? "; retrying" : "");
		s->streak_err = s->dial_err;
		s->streak++;
	}
	dial_again(s, now, EX_UNAVAILABLE);
}

void
dial_again(struct sim *s, int64_t now, int exit_code)
{
	if (s->opt.reconnect_ms == 0) {
		s->quit = true;
		s->exit_code = exit_code;
		return;
	}
	s->redial_at_ms = now + s->opt.reconnect_ms;
}

void
dial_repeats(struct sim *s)
{
	if (s->repeats > 0)
		logmsg("connect to %s: the same error %" PRIu64 " more time%s",
		    s->opt.connect, s->repeats, s->repeats == 1 ? "" : "s");
	s->repeats = 0;
}
