/* endpoint.c -- opening the sockets of a link: dial out or listen. */
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "endpoint.h"
#include "resolve.h"
#include "sockopt.h"

static int	dial_one(const struct resolve_addr *,
		    const struct cfg_policy *, int, const struct wake *);
static int	set_blocking(int, bool);

static int
set_blocking(int fd, bool blocking)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	flags = blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK;
	return (fcntl(fd, F_SETFL, flags));
}

/* One address: connect without blocking, and wait for the result, the
   connect timeout, or wake_fd, whichever comes first. */
static int
dial_one(const struct resolve_addr *ra, const struct cfg_policy *pol,
    int wake_fd, const struct wake *wake)
{
	struct pollfd	pfd[2];
	int64_t		deadline;
	int		fd, err, rc, saved_errno;
	socklen_t	errlen = sizeof(err);

	fd = socket(ra->ss.ss_family,
	    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
	if (fd == -1)
		return (-1);
	if (connect(fd, (const struct sockaddr *)&ra->ss, ra->len) == -1 &&
	    errno != EINPROGRESS)
		goto out_close;
	deadline = clock_ms() + pol->connect_timeout_ms;
	pfd[0].fd = fd;
	pfd[0].events = POLLOUT;
	pfd[1].fd = wake_fd;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	rc = wake_poll(pfd, wake_fd != -1 ? 2 : 1, deadline, wake);
	if (rc == -1)
		goto out_close;
	if (rc == 0) {
		errno = ETIMEDOUT;
		goto out_close;
	}
	if (pfd[1].revents != 0) {
		errno = ECANCELED;
		goto out_close;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1)
		goto out_close;
	if (err != 0) {
		errno = err;
		goto out_close;
	}
	if (set_blocking(fd, true) == -1)
		goto out_close;
	return (fd);
out_close:
	saved_errno = errno;
	close(fd);
	errno = saved_errno;
	return (-1);
}

int
endpoint_dial(const struct cfg_endpoint *ep, const struct cfg_policy *pol,
    int wake_fd, const struct wake *wake, char *peer,
    size_t peerlen, char *err, size_t errlen)
{
	struct resolve_addrs	 addrs;
	const char		*what;
	int			 fd = -1, i, saved_errno = 0;

	if (resolve_stream(ep->hp.host, ep->hp.port, wake_fd, wake,
	    pol->connect_timeout_ms, &addrs, err, errlen) == -1)
		return (-1);
	for (i = 0; i < addrs.n; i++) {
		addr_format((const struct sockaddr *)&addrs.a[i].ss, peer,
		    peerlen);
		if ((fd = dial_one(&addrs.a[i], pol, wake_fd, wake)) != -1)
			break;
		saved_errno = errno;
		snprintf(err, errlen, "connect to %s: %s", peer,
		    strerror(saved_errno));
		if (saved_errno == ECANCELED)
			break;
	}
	if (fd == -1) {
		errno = saved_errno;
		return (-1);
	}
	if (sockopt_link(fd, pol, &what) == -1) {
		saved_errno = errno;
		snprintf(err, errlen, "cannot set %s: %s", what,
		    strerror(saved_errno));
		close(fd);
		errno = saved_errno;
		return (-1);
	}
	return (fd);
}

int
endpoint_listen_on(const struct addrinfo *ai, bool v6only, int backlog,
    const char **what)
{
	int	fd, one = 1, saved;

	*what = "socket";
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    IPPROTO_TCP);
	if (fd == -1)
		return (-1);
	*what = "setsockopt";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || (v6only && ai->ai_family == AF_INET6 && setsockopt(fd,
	    IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1))
		goto fail;
	*what = "bind";
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		goto fail;
	*what = "listen";
	if (listen(fd, backlog) == -1)
		goto fail;
	return (fd);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}

int
endpoint_listen(const struct cfg_endpoint *ep, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	const char	*what;
	int		 fd = -1, rc, saved_errno = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(ep->hp.host, ep->hp.port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", ep->hp.host,
		    gai_strerror(rc));
		errno = EADDRNOTAVAIL;
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = endpoint_listen_on(ai, false, 16, &what)) != -1)
			break;
		saved_errno = errno;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "cannot listen on %s: %s", ep->text,
		    strerror(saved_errno));
		errno = saved_errno;
	}
	return (fd);
}

int
endpoint_local_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		return (-1);
	addr_format((struct sockaddr *)&ss, buf, len);
	return (0);
}
