/* conn.c -- gwctl's connections: HTTP GET to the status server, the
   control socket. Every wait has a deadline. */
#include <sys/socket.h>
#include <sys/un.h>
#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "gwctl.h"

static long long	now_ms(void);
static int		wait_fd(int, short, long long);
static int		dial(const struct addrinfo *, long long);

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Wait until fd is ready for events or the deadline passes: 0, or -1
   with errno (ETIMEDOUT). */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd	pfd = { .fd = fd, .events = events };
	long long	left;
	int		rc;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		rc = poll(&pfd, 1, (int)left);
		if (rc > 0)
			return (0);
		if (rc == -1 && errno != EINTR)
			return (-1);
	}
}

/* A non-blocking connect to one address, done by the deadline. */
static int
dial(const struct addrinfo *ai, long long deadline)
{
	socklen_t	len = sizeof(int);
	int		fd, err, saved_errno;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd == -1)
		return (-1);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) == -1)
			goto out_close;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			goto out_close;
		if (err != 0) {
			errno = err;
			goto out_close;
		}
	}
	return (fd);
out_close:
	saved_errno = errno;
	close(fd);
	errno = saved_errno;
	return (-1);
}

int
conn_send_all(int fd, const char *buf, size_t len, int timeout_ms)
{
	long long	deadline = now_ms() + timeout_ms;
	ssize_t		n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return (-1);
		if (wait_fd(fd, POLLOUT, deadline) == -1)
			return (-1);
	}
	return (0);
}

int
conn_http_get(const char *where, const char *path, int timeout_ms,
    struct strbuf *body, char *err, size_t errlen)
{
	struct addr_hostport	 hp;
	struct addrinfo		 hints, *res, *ai;
	struct strbuf		 in;
	long long		 deadline = now_ms() + timeout_ms;
	const char		*why, *head_end, *sp;
	char			 req[512], buf[8192];
	ssize_t			 n;
	int			 fd = -1, rc, code;

	if (addr_parse_hostport(where, &hp, &why) == -1 ||
	    (addr_needs_zone(hp.host) && (why = ADDR_NO_ZONE) != NULL)) {
		snprintf(err, errlen, "bad address: %s", why);
		return (-1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(hp.host, hp.port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", hp.host,
		    gai_strerror(rc));
		return (-1);
	}
	errno = EADDRNOTAVAIL;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = dial(ai, deadline);
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return (-1);
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n"
	    "Connection: close\r\n\r\n", path, where);
	strbuf_init(&in);
	if (conn_send_all(fd, req, strlen(req), (int)(deadline - now_ms())) ==
	    -1)
		goto out_errno;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0) {
			strbuf_add(&in, buf, (size_t)n);
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			goto out_errno;
		if (wait_fd(fd, POLLIN, deadline) == -1)
			goto out_errno;
	}
	close(fd);
	if (in.failed) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	if (in.len < 12 || strncmp(in.buf, "HTTP/1.", 7) != 0 ||
	    (head_end = strstr(in.buf, "\r\n\r\n")) == NULL) {
		snprintf(err, errlen, "not an HTTP answer");
		goto out_free;
	}
	code = atoi(in.buf + 9);
	if (code != 200) {
		sp = strchr(in.buf + 9, '\r');
		snprintf(err, errlen, "the server answered %.*s",
		    (int)(sp - (in.buf + 9)), in.buf + 9);
		goto out_free;
	}
	strbuf_add(body, head_end + 4, in.len - (size_t)(head_end + 4 -
	    in.buf));
	strbuf_free(&in);
	return (0);
out_errno:
	snprintf(err, errlen, "%s", strerror(errno));
	close(fd);
out_free:
	strbuf_free(&in);
	return (-1);
}

int
conn_unix(const char *path, int timeout_ms)
{
	struct sockaddr_un	sun;
	long long		deadline = now_ms() + timeout_ms;
	int			fd, saved_errno;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* Non-blocking, so that no read or write waits past its deadline. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return (-1);
	/* A Unix stream connect is done at once, or fails with EAGAIN while
	   the daemon's queue of clients not yet accepted is full: try again
	   until the deadline. */
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			goto out_close;
		if (now_ms() >= deadline) {
			errno = ETIMEDOUT;
			goto out_close;
		}
		(void)poll(NULL, 0, 50);
	}
	return (fd);
out_close:
	saved_errno = errno;
	close(fd);
	errno = saved_errno;
	return (-1);
}
