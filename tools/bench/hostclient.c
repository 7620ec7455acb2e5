/*
 * hostclient.c -- the host side of the detection benchmark (detect.sh).
 *
 * It plays the host (MES, SCADA) that talks to a device through a relay,
 * and reports, with a CLOCK_MONOTONIC time stamp, the moment its connection
 * ends: that is when a host learns that its device is gone.
 *
 *   hostclient now
 *	print the CLOCK_MONOTONIC time in ms (the clock of every stamp below)
 *   hostclient --connect ADDR:PORT [--ping] [--stream] [options]
 *	connect (retrying while the relay refuses or closes at once), prove
 *	the path (--ping: a line echoed by the device; otherwise: the
 *	connection survives --settle-ms), then either stay idle or stream
 *	(--stream: --rate bytes/s in 10 ms slices), and wait for the end.
 *
 * Output on stdout, one line per event, "<ms> <event> [details]":
 *	ready           the path works; idle or streaming starts now
 *	progress        once a second while streaming: bytes sent so far
 *	end eof|reset|error|timeout sent=N
 * Exit status: 0 the connection ended (or timed out), 1 it never became
 * ready, 64 usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLICE_MS	10

static double	now_ms(void);
static void	event(const char *, ...) __attribute__((format(printf, 1, 2)));
static int	dial(const char *, const char *);
static int	prove(int, bool, int);
static int	run(int, bool, long, long);
static void	usage(void);

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6);
}

/* One line in one write(2), so that a reader polling the file never sees
   half of it. */
static void
event(const char *fmt, ...)
{
	char	line[256];
	va_list	ap;
	int	n, m;
	ssize_t	w;

	n = snprintf(line, sizeof(line), "%.3f ", now_ms());
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m < (int)sizeof(line) - n - 1 ? m : (int)sizeof(line) - n - 2;
	line[n++] = '\n';
	w = write(STDOUT_FILENO, line, (size_t)n);
	(void)w;
}

/* One blocking connect; -1 when refused or unreachable. */
static int
dial(const char *host, const char *port)
{
	struct addrinfo	 hints, *res, *ai;
	int		 fd = -1, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return (-1);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return (fd);
}

/*
 * Prove that the whole path works. A relay may accept and then close at once
 * (gatewayd does while its device link is down; the others when they cannot
 * reach the device): 0 = proven, -1 = try again.
 */
static int
prove(int fd, bool ping, int settle_ms)
{
	static const char	 msg[] = "ping\n";
	char			 buf[64];
	size_t			 got = 0;
	double			 until = now_ms() + (ping ? 3000 : settle_ms);
	struct pollfd		 pfd = { .fd = fd, .events = POLLIN };
	ssize_t			 n;
	int			 left;

	if (ping && send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(msg) - 1)
		return (-1);
	for (;;) {
		left = (int)(until - now_ms());
		if (left <= 0)
			return (ping ? -1 : 0);
		if (poll(&pfd, 1, left) < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (pfd.revents == 0)
			continue;
		n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n <= 0)
			return (-1);
		got += (size_t)n;
		if (!ping)
			return (-1);	/* nobody should talk to us */
		if (got >= sizeof(msg) - 1)
			return (memcmp(buf, msg, sizeof(msg) - 1) == 0 ?
			    0 : -1);
	}
}

/* Stay idle or stream until the connection ends or max_ms passes. */
static int
run(int fd, bool stream, long rate, long max_ms)
{
	static char	 chunk[1 << 16];
	char		 buf[1 << 16];
	struct pollfd	 pfd = { .fd = fd };
	double		 start = now_ms(), next_slice = start, next_report;
	long		 slice = rate * SLICE_MS / 1000, owed = 0;
	uint64_t	 sent = 0;
	ssize_t		 n;
	int		 timeout, err;
	socklen_t	 len;

	if (slice < 1)
		slice = 1;
	if (slice > (long)sizeof(chunk))
		slice = (long)sizeof(chunk);
	memset(chunk, 'x', sizeof(chunk));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	next_report = start + 1000;
	for (;;) {
		double	t = now_ms();

		if (t - start >= (double)max_ms) {
			event("end timeout sent=%" PRIu64, sent);
			return (0);
		}
		if (stream && t >= next_slice) {
			/* What the kernel does not take now is owed, but at
			   most one slice: a blocked host does not build up a
			   burst. */
			owed += slice;
			if (owed > slice)
				owed = slice;
			next_slice += SLICE_MS;
			if (next_slice < t)
				next_slice = t + SLICE_MS;
		}
		if (stream && t >= next_report) {
			event("progress sent=%" PRIu64, sent);
			next_report += 1000;
		}
		while (stream && owed > 0) {
			n = send(fd, chunk, (size_t)owed, MSG_NOSIGNAL);
			if (n > 0) {
				sent += (uint64_t)n;
				owed -= n;
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			event("end %s sent=%" PRIu64, errno == EPIPE ||
			    errno == ECONNRESET ? "reset" : "error", sent);
			return (0);
		}
		pfd.events = POLLIN | POLLRDHUP | (stream && owed > 0 ?
		    POLLOUT : 0);
		timeout = stream ? SLICE_MS : 100;
		if (poll(&pfd, 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			event("end error sent=%" PRIu64, sent);
			return (0);
		}
		if ((pfd.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))
		    == 0)
			continue;
		/* Read until the end shows: EOF, RST or a bare error. */
		for (;;) {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n > 0)
				continue;
			if (n == 0) {
				event("end eof sent=%" PRIu64, sent);
				return (0);
			}
			if (errno == EAGAIN || errno == EINTR)
				break;
			event("end %s sent=%" PRIu64 " %s",
			    errno == ECONNRESET ? "reset" : "error", sent,
			    strerror(errno));
			return (0);
		}
		if (pfd.revents & POLLERR) {
			err = 0;
			len = sizeof(err);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
			event("end %s sent=%" PRIu64 " %s",
			    err == ECONNRESET ? "reset" : "error", sent,
			    strerror(err));
			return (0);
		}
	}
}

static void
usage(void)
{
	fprintf(stderr,
"usage: hostclient now\n"
"       hostclient --connect ADDR:PORT [--ping] [--stream] [--rate B/s]\n"
"                  [--settle-ms N] [--ready-ms N] [--max-ms N]\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	char	 host[256], *colon;
	char	*target = NULL;
	bool	 ping = false, stream = false;
	long	 rate = 2000000, settle_ms = 300, ready_ms = 10000;
	long	 max_ms = 60000;
	double	 give_up;
	int	 i, fd;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], "now") == 0) {
		printf("%.3f\n", now_ms());
		return (0);
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--ping") == 0)
			ping = true;
		else if (strcmp(a, "--stream") == 0)
			stream = true;
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(a, "--connect") == 0)
			target = argv[++i];
		else if (strcmp(a, "--rate") == 0)
			rate = atol(argv[++i]);
		else if (strcmp(a, "--settle-ms") == 0)
			settle_ms = atol(argv[++i]);
		else if (strcmp(a, "--ready-ms") == 0)
			ready_ms = atol(argv[++i]);
		else if (strcmp(a, "--max-ms") == 0)
			max_ms = atol(argv[++i]);
		else
			usage();
	}
	if (target == NULL || (colon = strrchr(target, ':')) == NULL ||
	    (size_t)(colon - target) >= sizeof(host) || rate <= 0 ||
	    max_ms <= 0)
		usage();
	memcpy(host, target, (size_t)(colon - target));
	host[colon - target] = '\0';

	/* Bounded: at most ready_ms of refused or closed attempts. */
	give_up = now_ms() + (double)ready_ms;
	for (;;) {
		fd = dial(host, colon + 1);
		if (fd >= 0 && prove(fd, ping, (int)settle_ms) == 0)
			break;
		if (fd >= 0)
			close(fd);
		if (now_ms() >= give_up) {
			event("never-ready");
			return (1);
		}
		usleep(50000);
	}
	event("ready");
	return (run(fd, stream, rate, max_ms));
}
