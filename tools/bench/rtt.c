/*
 * rtt.c -- the client of the latency benchmark (latency.sh): small
 * requests echoed back, each round trip timed.
 *
 *   rtt [-l LINKS] [-P] [-s SIZE] [-i INTERVAL_US] [-d DURATION_MS]
 *       [-w WARMUP_MS] [-t CONNECT_MS] ADDR:PORT
 *
 * Opens LINKS connections (TCP_NODELAY) to ADDR:PORT, or with -P link k to
 * ADDR:PORT+k (one port per link, as gatewayd has one upstream port per
 * device). On each link, one request of SIZE bytes (default 64) at a time:
 * it is sent, the echo is read back whole, and the round trip is timed
 * (CLOCK_MONOTONIC). A link sends its next request INTERVAL_US after the
 * previous one was sent (default 1000), or at once if the answer came
 * later than that; the links start at phases spread over one interval. 0
 * sends back to back. Round trips in the first WARMUP_MS (default 500) do
 * not count; the run ends after DURATION_MS (default 5000) more.
 *
 * A link is ready once one request has been echoed: a relay that accepts
 * and then closes at once (gatewayd while its device link is not up yet)
 * is dialled again, for up to CONNECT_MS (default 10000) in all.
 *
 * Output, one line on stdout, times in microseconds:
 *	samples N p50 X p90 X p99 X p999 X max X
 * Exit status: 0 done, 1 a link failed (closed, reset, a wrong echo),
 * 2 not every link ready in time, 64 usage error, 71 system error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINKS_MAX	4096
#define SIZE_MAX_REQ	65536

struct rlink {
	int		fd;
	bool		waiting;	/* a request is out */
	size_t		got;		/* bytes of its echo read so far */
	int64_t		sent_ns;	/* when the request went out */
	int64_t		next_ns;	/* when the next one is due */
};

static int64_t	now_ns(void);
static int	dial(const struct sockaddr_in *);
static int	ready_link(const struct sockaddr_in *, int64_t);
static int	cmp_u64(const void *, const void *);
static uint64_t	pct(const uint64_t *, size_t, double);
static void	usage(void);

static size_t	req_size = 64;
static char	req[SIZE_MAX_REQ];
static char	rbuf[SIZE_MAX_REQ];

static int64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

/* A blocking connect with TCP_NODELAY; -1 on failure. */
static int
dial(const struct sockaddr_in *sin)
{
	int	fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return (-1);
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1 ||
	    connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Dial until one request comes back echoed, or until deadline_ns.
   Returns the connected socket or -1. A timeout on the socket bounds
   each try. */
static int
ready_link(const struct sockaddr_in *sin, int64_t deadline_ns)
{
	struct timeval	tv = { .tv_sec = 0, .tv_usec = 200000 };
	size_t		got;
	ssize_t		n;
	int		fd;

	while (now_ns() < deadline_ns) {
		if ((fd = dial(sin)) == -1) {
			usleep(20000);
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		got = 0;
		if (send(fd, req, req_size, MSG_NOSIGNAL) == (ssize_t)req_size) {
			while (got < req_size &&
			    (n = recv(fd, rbuf, req_size - got, 0)) > 0)
				got += (size_t)n;
		}
		if (got == req_size) {
			tv.tv_usec = 0;
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			    sizeof(tv));
			return (fd);
		}
		close(fd);
		usleep(20000);
	}
	return (-1);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/* The p-th percentile (0..1) of n sorted values, nearest rank. */
static uint64_t
pct(const uint64_t *v, size_t n, double p)
{
	size_t	i;

	if (n == 0)
		return (0);
	i = (size_t)(p * (double)n + 0.999999);
	if (i == 0)
		i = 1;
	if (i > n)
		i = n;
	return (v[i - 1]);
}

static void
usage(void)
{
	fprintf(stderr, "usage: rtt [-l LINKS] [-P] [-s SIZE] [-i INTERVAL_US] "
	    "[-d DURATION_MS] [-w WARMUP_MS] [-t CONNECT_MS] ADDR:PORT\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin, s;
	struct pollfd		*pfd;
	struct rlink		*lk;
	struct timespec		 ts;
	uint64_t		*samples = NULL;
	size_t			 ns = 0, cap = 0;
	int64_t			 t, interval_ns, warm_end, end, next, deadline;
	long			 links = 1, interval_us = 1000, dur_ms = 5000;
	long			 warm_ms = 500, conn_ms = 10000, v;
	char			 host[64], *colon, *e;
	bool			 per_port = false;
	ssize_t			 n;
	int			 c, i, port, rc = 0;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "l:Ps:i:d:w:t:")) != -1) {
		if (c == 'P') {
			per_port = true;
			continue;
		}
		if (c == '?' || c == ':')
			usage();
		errno = 0;
		v = strtol(optarg, &e, 10);
		if (errno != 0 || *e != '\0' || v < 0)
			usage();
		switch (c) {
		case 'l': links = v; break;
		case 's': req_size = (size_t)v; break;
		case 'i': interval_us = v; break;
		case 'd': dur_ms = v; break;
		case 'w': warm_ms = v; break;
		case 't': conn_ms = v; break;
		}
	}
	if (optind != argc - 1 || links < 1 || links > LINKS_MAX ||
	    req_size < 1 || req_size > SIZE_MAX_REQ || dur_ms < 1 ||
	    (colon = strrchr(argv[optind], ':')) == NULL ||
	    (size_t)(colon - argv[optind]) >= sizeof(host))
		usage();
	memcpy(host, argv[optind], (size_t)(colon - argv[optind]));
	host[colon - argv[optind]] = '\0';
	port = atoi(colon + 1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 || port < 1 ||
	    port + (per_port ? links - 1 : 0) > 65535)
		usage();
	for (i = 0; i < (int)req_size; i++)
		req[i] = (char)('a' + i % 26);

	if ((lk = calloc((size_t)links, sizeof(*lk))) == NULL ||
	    (pfd = calloc((size_t)links, sizeof(*pfd))) == NULL) {
		perror("rtt: calloc");
		return (71);
	}
	deadline = now_ns() + (int64_t)conn_ms * 1000000;
	for (i = 0; i < links; i++) {
		s = sin;
		s.sin_port = htons((uint16_t)(port + (per_port ? i : 0)));
		if ((lk[i].fd = ready_link(&s, deadline)) == -1) {
			fprintf(stderr, "rtt: link %d (port %d) not ready within "
			    "%ld ms\n", i, ntohs(s.sin_port), conn_ms);
			return (2);
		}
		pfd[i].fd = lk[i].fd;
		pfd[i].events = POLLIN;
	}

	interval_ns = (int64_t)interval_us * 1000;
	t = now_ns();
	warm_end = t + (int64_t)warm_ms * 1000000;
	end = warm_end + (int64_t)dur_ms * 1000000;
	for (i = 0; i < links; i++)
		lk[i].next_ns = t + interval_ns * i / links;
	for (;;) {
		t = now_ns();
		if (t >= end)
			break;
		next = end;
		for (i = 0; i < links; i++) {
			if (lk[i].waiting)
				continue;
			if (lk[i].next_ns <= t) {
				lk[i].sent_ns = now_ns();
				n = send(lk[i].fd, req, req_size, MSG_NOSIGNAL);
				if (n != (ssize_t)req_size) {
					fprintf(stderr, "rtt: link %d: send: %s\n",
					    i, n < 0 ? strerror(errno) : "short");
					rc = 1;
					goto out;
				}
				lk[i].waiting = true;
				lk[i].got = 0;
				lk[i].next_ns += interval_ns;
				if (lk[i].next_ns < lk[i].sent_ns)
					lk[i].next_ns = lk[i].sent_ns;
				continue;
			}
			if (lk[i].next_ns < next)
				next = lk[i].next_ns;
		}
		t = now_ns();
		ts.tv_sec = next > t ? (next - t) / 1000000000 : 0;
		ts.tv_nsec = next > t ? (next - t) % 1000000000 : 0;
		if (ppoll(pfd, (nfds_t)links, &ts, NULL) == -1) {
			if (errno == EINTR)
				continue;
			perror("rtt: ppoll");
			rc = 71;
			goto out;
		}
		for (i = 0; i < links; i++) {
			if (pfd[i].revents == 0)
				continue;
			n = recv(lk[i].fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
			if (n <= 0) {
				if (n < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				fprintf(stderr, "rtt: link %d: %s\n", i,
				    n == 0 ? "closed by the peer" : strerror(errno));
				rc = 1;
				goto out;
			}
			if (!lk[i].waiting || lk[i].got + (size_t)n > req_size) {
				fprintf(stderr, "rtt: link %d: unexpected bytes\n", i);
				rc = 1;
				goto out;
			}
			lk[i].got += (size_t)n;
			if (lk[i].got < req_size)
				continue;
			t = now_ns();
			lk[i].waiting = false;
			if (lk[i].sent_ns < warm_end)
				continue;
			if (ns == cap) {
				uint64_t *p;

				cap = cap ? cap * 2 : 65536;
				if ((p = realloc(samples, cap * sizeof(*p))) == NULL) {
					perror("rtt: realloc");
					rc = 71;
					goto out;
				}
				samples = p;
			}
			samples[ns++] = (uint64_t)(t - lk[i].sent_ns);
		}
	}
	qsort(samples, ns, sizeof(*samples), cmp_u64);
	printf("samples %zu p50 %.1f p90 %.1f p99 %.1f p999 %.1f max %.1f\n", ns,
	    pct(samples, ns, 0.50) / 1e3, pct(samples, ns, 0.90) / 1e3,
	    pct(samples, ns, 0.99) / 1e3, pct(samples, ns, 0.999) / 1e3,
	    ns ? samples[ns - 1] / 1e3 : 0.0);
out:
	for (i = 0; i < links; i++)
		close(lk[i].fd);
	free(samples);
	free(lk);
	free(pfd);
	return (rc);
}
