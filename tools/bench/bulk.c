/*
 * bulk.c -- both ends of the throughput benchmark (throughput.sh).
 *
 *   bulk recv ADDR:PORT BYTES
 *	listen on ADDR:PORT (IPv4), accept one connection, read until BYTES
 *	have arrived (or the peer closes) and print, with CLOCK_MONOTONIC
 *	stamps in ms:
 *		<ms> listening
 *		<ms> accepted
 *		<ms> first <bytes of the first read>
 *		<ms> done <bytes received>
 *   bulk send ADDR:PORT BYTES
 *	connect, send BYTES from one constant buffer as fast as the path
 *	takes them, then close.
 *   bulk duplex-recv ADDR:PORT BYTES	(listens, like recv)
 *   bulk duplex-send ADDR:PORT BYTES	(connects, like send)
 *	both directions at once on one connection: each end sends BYTES
 *	(a thread of its own) while it reads BYTES, and prints the lines of
 *	recv ("listening" and "accepted" on the listening end only) for
 *	what it read. Neither end shuts down its side before it has read
 *	everything: a relay that closes one side on the other's FIN would
 *	cut the stream still running the other way.
 *
 * The sender does no work per byte, so the path is what is measured, not
 * the sender. The rate is (received - first read) / (done - first): the
 * time to set up the path does not count. Exit status: 0 done, 1 the
 * connection ended early, 64 usage error, 71 system error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_BYTES	(1 << 18)

struct sender {
	int		fd;
	uint64_t	want;
	int		rc;
};

static double	now_ms(void);
static int	listen_accept(const struct sockaddr_in *);
static int	read_all(int, uint64_t);
static int	write_all(int, uint64_t);
static void	*sender_main(void *);
static int	do_recv(const struct sockaddr_in *, uint64_t);
static int	do_send(const struct sockaddr_in *, uint64_t);
static int	do_duplex(const struct sockaddr_in *, uint64_t, bool);

static char	buf[BUF_BYTES];
static char	out[BUF_BYTES];

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6);
}

/* Listen on sin, accept one connection and return it (-1 on error). */
static int
listen_accept(const struct sockaddr_in *sin)
{
	int	lfd, fd, one = 1;

	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (const struct sockaddr *)sin, sizeof(*sin)) < 0 ||
	    listen(lfd, 4) < 0) {
		perror("bulk: listen");
		return (-1);
	}
	printf("%.3f listening\n", now_ms());
	fflush(stdout);
	if ((fd = accept(lfd, NULL, NULL)) < 0) {
		perror("bulk: accept");
		return (-1);
	}
	close(lfd);
	printf("%.3f accepted\n", now_ms());
	fflush(stdout);
	return (fd);
}

/* Read until want bytes have arrived or the peer closes; print "first"
   and "done". Returns 0 when all arrived, 1 otherwise. */
static int
read_all(int fd, uint64_t want)
{
	uint64_t	got = 0, first_len = 0;
	double		t_first = 0;
	ssize_t		n;

	while (got < want) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		if (got == 0) {
			t_first = now_ms();
			first_len = (uint64_t)n;
		}
		got += (uint64_t)n;
	}
	printf("%.3f first %" PRIu64 "\n", t_first, first_len);
	printf("%.3f done %" PRIu64 "\n", now_ms(), got);
	fflush(stdout);
	return (got >= want ? 0 : 1);
}

/* Send want bytes of the constant buffer. Returns 0 or 1 (error). */
static int
write_all(int fd, uint64_t want)
{
	uint64_t	sent = 0;
	size_t		len;
	ssize_t		n;

	while (sent < want) {
		len = want - sent < sizeof(out) ? (size_t)(want - sent) :
		    sizeof(out);
		n = send(fd, out, len, MSG_NOSIGNAL);
		if (n <= 0) {
			perror("bulk: send");
			return (1);
		}
		sent += (uint64_t)n;
	}
	return (0);
}

static void *
sender_main(void *arg)
{
	struct sender	*s = arg;

	s->rc = write_all(s->fd, s->want);
	return (NULL);
}

static int
do_recv(const struct sockaddr_in *sin, uint64_t want)
{
	int	fd;

	if ((fd = listen_accept(sin)) < 0)
		return (71);
	return (read_all(fd, want));
}

static int
do_send(const struct sockaddr_in *sin, uint64_t want)
{
	int	fd, rc;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0) {
		perror("bulk: connect");
		return (1);
	}
	rc = write_all(fd, want);
	close(fd);
	return (rc);
}

static int
do_duplex(const struct sockaddr_in *sin, uint64_t want, bool listening)
{
	struct sender	s;
	pthread_t	tid;
	int		fd, rc, err;

	if (listening) {
		if ((fd = listen_accept(sin)) < 0)
			return (71);
	} else if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0) {
		perror("bulk: connect");
		return (1);
	}
	s.fd = fd;
	s.want = want;
	s.rc = 1;
	if ((err = pthread_create(&tid, NULL, sender_main, &s)) != 0) {
		fprintf(stderr, "bulk: pthread_create: %s\n", strerror(err));
		return (71);
	}
	rc = read_all(fd, want);
	pthread_join(tid, NULL);
	close(fd);
	return (rc != 0 ? rc : s.rc);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	char			 host[64], *colon;
	uint64_t		 bytes;

	signal(SIGPIPE, SIG_IGN);
	if (argc != 4 || (strcmp(argv[1], "recv") != 0 &&
	    strcmp(argv[1], "send") != 0 &&
	    strcmp(argv[1], "duplex-recv") != 0 &&
	    strcmp(argv[1], "duplex-send") != 0) ||
	    (colon = strrchr(argv[2], ':')) == NULL ||
	    (size_t)(colon - argv[2]) >= sizeof(host)) {
		fprintf(stderr, "usage: bulk recv|send|duplex-recv|duplex-send "
		    "ADDR:PORT BYTES\n");
		return (64);
	}
	memcpy(host, argv[2], (size_t)(colon - argv[2]));
	host[colon - argv[2]] = '\0';
	bytes = strtoull(argv[3], NULL, 10);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 || bytes == 0) {
		fprintf(stderr, "bulk: bad address or byte count\n");
		return (64);
	}
	memset(out, 'x', sizeof(out));
	if (strcmp(argv[1], "recv") == 0)
		return (do_recv(&sin, bytes));
	if (strcmp(argv[1], "send") == 0)
		return (do_send(&sin, bytes));
	return (do_duplex(&sin, bytes, strcmp(argv[1], "duplex-recv") == 0));
}
