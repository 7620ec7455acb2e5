/* endpoint.c -- opening the sockets of a link: dial out or listen. */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cfg_schema.h"
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
endpoint_listen_on(const struct addr_binds *b, int i, const char *port,
    bool v6only, int backlog, const char **what)
{
	union addr_sock	a = b->a[i];
	socklen_t	len;
	int		fd, one = 1, saved;

	/* An IPv6 socket for IPv6 alone cannot bind an IPv4-mapped address:
	   it is the IPv4 address. */
	if (v6only && a.sa.sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&a.in6.sin6_addr)) {
		memset(&a.in, 0, sizeof(a.in));
		a.in.sin_family = AF_INET;
		memcpy(&a.in.sin_addr, &b->a[i].in6.sin6_addr.s6_addr[12], 4);
	}
	if (a.sa.sa_family == AF_INET) {
		a.in.sin_port = htons((uint16_t)strtoul(port, NULL, 10));
		len = sizeof(a.in);
	} else {
		a.in6.sin6_port = htons((uint16_t)strtoul(port, NULL, 10));
		len = sizeof(a.in6);
	}
	*what = "socket";
	fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    IPPROTO_TCP);
	if (fd == -1)
		return (-1);
	*what = "setsockopt";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || (v6only && a.sa.sa_family == AF_INET6 && setsockopt(fd,
	    IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1))
		goto fail;
	*what = "bind";
	if (bind(fd, &a.sa, len) == -1)
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

const struct addr_binds *
endpoint_binds(const struct addr_hostport *hp, const struct addr_binds *binds,
    struct addr_binds *own)
{
	if (binds != NULL && (binds->n > 0 || binds->why[0] != '\0'))
		return (binds);
	/* A configuration loaded without lookups (cfg_load()). */
	resolve_binds(hp->host, CFG_LOOKUP_MS, own);
	return (own);
}

int
endpoint_listen(const struct cfg_endpoint *ep, char *err, size_t errlen)
{
	const struct addr_binds	*b;
	struct addr_binds	 own;
	const char		*what;
	int			 fd = -1, i, saved_errno = 0;

	b = endpoint_binds(&ep->hp, &ep->binds, &own);
	if (b->n == 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", ep->hp.host,
		    b->why);
		errno = EADDRNOTAVAIL;
		return (-1);
	}
	for (i = 0; i < b->n; i++) {
		if ((fd = endpoint_listen_on(b, i, ep->hp.port, false, 16,
		    &what)) != -1)
			break;
		saved_errno = errno;
	}
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
