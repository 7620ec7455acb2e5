/*
 * listen.c -- device simulator, --listen: the listening socket and what it
 * accepts.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "devsim.h"

#define ACCEPT_TURN	16
#define ACCEPT_PAUSE_MS	100
#define LISTEN_BACKLOG	4096	/* the kernel caps it at net.core.somaxconn */

int
listen_open(struct sim *s)
{
	struct addrinfo	 hints, *res, *ai;
	char		 local[PEER_LEN];
	int		 fd = -1, on = 1, err, saved_errno = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	err = getaddrinfo(s->addr.host[0] != '\0' ? s->addr.host : NULL,
	    s->addr.port, &hints, &res);
	if (err != 0) {
		logmsg("cannot listen on %s: %s", s->opt.listen,
		    err_str(err == EAI_SYSTEM ? errno : err));
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved_errno = errno;
			continue;
		}
		/* SO_RCVBUF before listen(): accepted sockets inherit it. */
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == 0 && (s->opt.rcvbuf == 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s->opt.rcvbuf,
		    sizeof(s->opt.rcvbuf)) == 0) &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, LISTEN_BACKLOG) == 0)
			break;
		saved_errno = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		logmsg("cannot listen on %s: %s", s->opt.listen,
		    strerror(saved_errno));
		return (-1);
	}
	s->listen_fd = fd;
	sock_port(fd, local, sizeof(local));
	logmsg("listening on %s (mode %s)", local, mode_str(s->opt.mode));
	return (0);
}

void
listen_accept(struct sim *s, int64_t now)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct conn		*c;
	char			 peer[PEER_LEN];
	int			 fd, i;

	for (i = 0; i < ACCEPT_TURN; i++) {
		sslen = sizeof(ss);
		fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			logmsg("accept: %s", strerror(errno));
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* The backlog stays readable: do not spin. */
				s->accept_pause_until_ms = now +
				    ACCEPT_PAUSE_MS;
				return;
			}
			continue;
		}
		addr_format((struct sockaddr *)&ss, peer, sizeof(peer));
		if ((c = conn_alloc(s)) == NULL) {
			logmsg("rejected %s: already serving %d connections",
			    peer, s->nconns);
			close(fd);
			continue;
		}
		memcpy(c->peer, peer, sizeof(c->peer));
		conn_open(s, c, fd, now);
	}
}
