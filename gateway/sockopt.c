/* sockopt.c -- the socket options every link gets, set in one place. */
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "sockopt.h"

static int
setint(int fd, int level, int name, int value)
{
	return (setsockopt(fd, level, name, &value, sizeof(value)));
}

static int
settimeo(int fd, int name, int timeout_ms)
{
	struct timeval	tv;

	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv)));
}

static int
sockopt_timeouts(int fd, int timeout_ms)
{
	if (settimeo(fd, SO_RCVTIMEO, timeout_ms) == -1)
		return (-1);
	return (settimeo(fd, SO_SNDTIMEO, timeout_ms));
}

int
sockopt_link(int fd, const struct cfg_policy *p, const char **what)
{
	if (sockopt_keepalive(fd, p, what) == -1)
		return (-1);
	*what = "TCP_USER_TIMEOUT";
	if (setint(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, p->user_timeout_ms) == -1)
		return (-1);
	*what = "TCP_NODELAY";
	if (setint(fd, IPPROTO_TCP, TCP_NODELAY, 1) == -1)
		return (-1);
	/* Urgent data is a byte of the stream like any other, relayed in
	   its place: a recv() without this skips it. */
	*what = "SO_OOBINLINE";
	if (setint(fd, SOL_SOCKET, SO_OOBINLINE, 1) == -1)
		return (-1);
	*what = "SO_RCVTIMEO/SO_SNDTIMEO";
	return (sockopt_timeouts(fd, p->io_timeout_ms));
}

int
sockopt_keepalive(int fd, const struct cfg_policy *p, const char **what)
{
	*what = "SO_KEEPALIVE";
	if (setint(fd, SOL_SOCKET, SO_KEEPALIVE, 1) == -1)
		return (-1);
	*what = "TCP_KEEPIDLE";
	if (setint(fd, IPPROTO_TCP, TCP_KEEPIDLE, p->keepalive_idle_s) == -1)
		return (-1);
	*what = "TCP_KEEPINTVL";
	if (setint(fd, IPPROTO_TCP, TCP_KEEPINTVL,
	    p->keepalive_interval_s) == -1)
		return (-1);
	*what = "TCP_KEEPCNT";
	return (setint(fd, IPPROTO_TCP, TCP_KEEPCNT, p->keepalive_count));
}

int
sockopt_linger_abort(int fd)
{
	struct linger	l = { .l_onoff = 1, .l_linger = 0 };

	return (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
}
