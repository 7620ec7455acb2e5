/* notify.c -- the sd_notify protocol, spoken directly: each message is one
   datagram to the AF_UNIX socket named by $NOTIFY_SOCKET. The manager
   checks the sender's pid (NotifyAccess=main), so every message goes out
   from this process, whichever thread sends it. */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

struct notify {
	int			fd;	/* -1: nobody to tell */
	struct sockaddr_un	sa;
	socklen_t		salen;
	int64_t			wd_ms;	/* WATCHDOG_USEC in ms; 0 = none */
	bool			pinged;	/* a WATCHDOG=1 went out */
	uint64_t		wd_sweeps;	/* sweeps at that ping (0) */
	int64_t			wd_last_ms;	/* when it went out */
};

static int	notify_address(struct notify *, const char *);
static bool	notify_number(const char *, long long *);
static int	notify_vsend(struct notify *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

/* Parse a decimal number that fills s entirely. */
static bool
notify_number(const char *s, long long *v)
{
	char	*end;

	if (s == NULL || *s < '0' || *s > '9')
		return (false);
	errno = 0;
	*v = strtoll(s, &end, 10);
	return (errno == 0 && *end == '\0');
}

/* Fill n's address from NOTIFY_SOCKET's value. 0, or -1 with errno:
   EAFNOSUPPORT (neither "/path" nor "@name"), ENAMETOOLONG. */
static int
notify_address(struct notify *n, const char *s)
{
	size_t	len = strlen(s);

	memset(&n->sa, 0, sizeof(n->sa));
	n->sa.sun_family = AF_UNIX;
	if (s[0] == '@') {
		/* Abstract: a leading NUL, then the name, without a
		   terminating NUL: the length says where it ends. */
		if (len < 2 || len > sizeof(n->sa.sun_path)) {
			errno = len < 2 ? EAFNOSUPPORT : ENAMETOOLONG;
			return (-1);
		}
		memcpy(n->sa.sun_path + 1, s + 1, len - 1);
		n->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    len);
		return (0);
	}
	if (s[0] != '/') {
		errno = EAFNOSUPPORT;
		return (-1);
	}
	if (len >= sizeof(n->sa.sun_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	memcpy(n->sa.sun_path, s, len);
	n->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    1);
	return (0);
}

struct notify *
notify_open(char *err, size_t errlen)
{
	struct notify	*n;
	const char	*sock, *pid;
	long long	 usec, wpid;

	if (errlen > 0)
		err[0] = '\0';
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return (NULL);
	n->fd = -1;
	sock = getenv("NOTIFY_SOCKET");
	if (sock == NULL || sock[0] == '\0')
		return (n);
	if (notify_address(n, sock) == -1) {
		snprintf(err, errlen, "NOTIFY_SOCKET=%s: %s; the service "
		    "manager is not told", sock, strerror(errno));
		return (n);
	}
	if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "NOTIFY_SOCKET=%s: socket: %s; the "
		    "service manager is not told", sock, strerror(errno));
		return (n);
	}
	/* Pings only when they are wanted from this very process. */
	pid = getenv("WATCHDOG_PID");
	if (notify_number(getenv("WATCHDOG_USEC"), &usec) && usec > 0 &&
	    (pid == NULL || (notify_number(pid, &wpid) && wpid == getpid())))
		n->wd_ms = usec >= 2000 ? usec / 1000 : 1;
	return (n);
}

static int
notify_vsend(struct notify *n, const char *fmt, va_list ap)
{
	char	msg[NOTIFY_MSG_MAX + 1];
	ssize_t	sent;
	int	len;

	if (n->fd == -1)
		return (0);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (len < 0 || len > NOTIFY_MSG_MAX) {
		errno = EMSGSIZE;
		return (-1);
	}
	/* A full manager queue must not hold up the main thread: the
	   message is lost, which the caller learns as EAGAIN. */
	do
		sent = sendto(n->fd, msg, (size_t)len,
		    MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&n->sa,
		    n->salen);
	while (sent == -1 && errno == EINTR);
	if (sent == -1)
		return (-1);
	return (0);
}

int
notify_send(struct notify *n, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = notify_vsend(n, fmt, ap);
	va_end(ap);
	return (rc);
}

int
notify_reloading(struct notify *n, const char *what)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (-1);
	return (notify_send(n, "RELOADING=1\nMONOTONIC_USEC=%llu\n"
	    "STATUS=reloading %s", (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000, what));
}

int64_t
notify_watchdog_ms(const struct notify *n)
{
	return (n->fd == -1 ? 0 : n->wd_ms);
}

int
notify_watchdog(struct notify *n, uint64_t sweeps, int64_t now_ms)
{
	if (notify_watchdog_ms(n) == 0)
		return (0);
	if (sweeps <= n->wd_sweeps ||
	    (n->pinged && now_ms - n->wd_last_ms < n->wd_ms / 2))
		return (0);
	if (notify_send(n, "WATCHDOG=1") == -1)
		return (-1);
	n->pinged = true;
	n->wd_sweeps = sweeps;
	n->wd_last_ms = now_ms;
	return (0);
}

void
notify_close(struct notify *n)
{
	if (n == NULL)
		return;
	if (n->fd != -1)
		close(n->fd);
	free(n);
}
