/*
 * devsim.c -- device simulator: plays a piece of plant-floor equipment, or a
 * host, speaking raw TCP, for the demo, the integration and fault tests and
 * the benchmarks.
 *
 * DESIGN
 * One thread, no locks. A poll() loop waits on a signalfd (SIGTERM, SIGINT),
 * the listening socket and every connection, all non-blocking. Its timeout is
 * the nearest timer (chatter line, close/reset fault, connect timeout, redial,
 * exit), capped at one second: nothing spins, and a signal is seen at once.
 * Memory is fixed at start: --max-conns connection slots (one with
 * --connect), each with a 64 KiB output buffer. Input that cannot be buffered
 * stays in the kernel, and TCP flow control pushes back on the peer.
 *
 * Source stream. --mode source sends the first --bytes bytes of this stream,
 * restarted from the seed on every connection, so that another program can
 * regenerate it (xorshift64*, every output word taken little-endian):
 *
 *	uint64_t x = seed;				(seed != 0)
 *	for (;;) {
 *		x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
 *		uint64_t r = x * 0x2545f4914f6cdd1d;
 *		emit the 8 bytes of r, least significant first;
 *	}
 *
 * Digest. With --digest, at each connection's end devsim prints the count
 * and the FNV-1a 64 hash of the bytes received, then of the bytes sent:
 *
 *	uint64_t h = 0xcbf29ce484222325;
 *	for each byte b: h ^= b; h *= 0x100000001b3;
 *
 * printed as 16 lowercase hex digits.
 */

#include <sys/types.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"

#define BUF_LEN		65536	/* output buffer per conn, a multiple of 8 */
#define PEER_LEN	128
#define REASON_LEN	96
#define NAME_LEN_MAX	64
#define MESSAGE_LEN_MAX	4096
#define IO_TURN		(4 * BUF_LEN)	/* bytes per connection per turn */
#define ACCEPT_TURN	16
#define ACCEPT_PAUSE_MS	100
#define LISTEN_BACKLOG	64
#define DRAIN_MS	2000	/* a clean close waits so long for a FIN */
#define POLL_MAX_MS	1000
#define DURATION_MAX_MS	INT64_C(1000000000000)
#define CONNS_MAX	1024
#define NEVER		INT64_MAX
#define OFF		(-1)

#define FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME	UINT64_C(0x100000001b3)
#define XS_MULT		UINT64_C(0x2545f4914f6cdd1d)

enum mode {
	MODE_ECHO,
	MODE_CHATTER,
	MODE_SILENT,
	MODE_SINK,
	MODE_STOP_READING,
	MODE_SOURCE,
	MODE_COUNT
};

static const char *const mode_names[MODE_COUNT] = {
	"echo", "chatter", "silent", "sink", "stop-reading", "source"
};

struct opts {
	const char	*listen;	/* ADDR:PORT, or NULL */
	const char	*connect;	/* ADDR:PORT, or NULL */
	enum mode	 mode;
	const char	*name;
	const char	*message;	/* NULL: "<name> seq=<N>" */
	const char	*ready_file;
	int64_t		 interval_ms;
	int64_t		 close_after_ms;	/* OFF or a delay */
	int64_t		 reset_after_ms;	/* OFF or a delay */
	int64_t		 exit_after_ms;		/* OFF or a delay */
	int64_t		 reconnect_ms;
	int64_t		 connect_timeout_ms;
	uint64_t	 bytes;			/* 0: endless */
	uint64_t	 seed;
	int		 max_conns;
	int		 rcvbuf;		/* 0: kernel default */
	bool		 echo;
	bool		 close_when_done;
	bool		 digest;
	bool		 stats;
};

enum conn_state {
	CONN_FREE,
	CONN_CONNECTING,
	CONN_OPEN,
	CONN_DRAINING		/* FIN sent, waiting for the peer's */
};

struct conn {
	enum conn_state	 state;
	int		 fd;
	char		 peer[PEER_LEN];
	char		 reason[REASON_LEN];	/* why a draining conn ends */
	int64_t		 since_ms;	/* established, or dial started */
	int64_t		 drain_until_ms;
	int64_t		 next_line_ms;
	uint64_t	 seq;		/* chatter lines queued */
	uint64_t	 rx;
	uint64_t	 tx;
	uint64_t	 rx_fnv;
	uint64_t	 tx_fnv;
	uint64_t	 src_left;	/* source: bytes not yet generated */
	uint64_t	 rng;
	bool		 peer_eof;
	size_t		 off;		/* pending output is buf[off, len) */
	size_t		 len;
	unsigned char	 buf[BUF_LEN];
};

struct sim {
	struct opts	 opt;
	struct addr_hostport addr;	/* --listen or --connect; host "" is any */
	struct conn	*conns;
	int		 nconns;
	struct pollfd	*pfd;
	int		*pconn;		/* pfd index -> conn index or a PFD_* */
	int		 sig_fd;
	int		 listen_fd;
	int64_t		 accept_pause_until_ms;
	struct addrinfo	*ai_list;	/* --connect: addresses of this dial */
	struct addrinfo	*ai_next;
	int64_t		 redial_at_ms;	/* --connect: NEVER while dialled */
	int		 dial_err;	/* errno, or a negative EAI_* code */
	int		 streak_err;	/* error of the current streak */
	uint64_t	 streak;	/* failed dials since the last one up */
	uint64_t	 repeats;	/* of streak_err, not logged yet */
	int64_t		 exit_at_ms;
	bool		 ready_done;
	bool		 quit;
	int		 exit_code;
	uint64_t	 stat_conns;
	uint64_t	 stat_rx;
	uint64_t	 stat_tx;
	uint64_t	 stat_dial_failures;
};

#define PFD_SIGNAL	(-1)
#define PFD_LISTEN	(-2)

static void	 usage(FILE *);
static void	 usage_error(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static uint64_t	 num_arg(const char *, const char *, uint64_t, uint64_t);
static void	 opt_set(struct opts *, int, const char *, const char *);
static void	 parse_args(int, char **, struct sim *);
static int64_t	 now_ms(void);
static void	 logmsg(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static const char *err_str(int);
static int	 sock_port(int, char *, size_t);
static int	 sock_error(int);
static int	 ready_write(const char *, int);
static int	 ready_once(struct sim *, int);
static uint64_t	 fnv1a64(uint64_t, const unsigned char *, size_t);
static bool	 source_refill(struct sim *, struct conn *);
static void	 buf_compact(struct conn *);
static bool	 mode_buffers_input(const struct sim *);
static int64_t	 after(int64_t, int64_t);
static int	 sim_signals_init(struct sim *);
static int	 sim_setup(struct sim *);
static int	 sim_run(struct sim *);
static void	 sim_teardown(struct sim *);
static void	 sim_timers(struct sim *, int64_t);
static int64_t	 sim_deadline(const struct sim *);
static int	 sim_pollset(struct sim *, int64_t);
static void	 sim_signal(struct sim *);
static int	 listen_open(struct sim *);
static void	 listen_accept(struct sim *, int64_t);
static void	 dial_start(struct sim *, int64_t);
static void	 dial_next(struct sim *, int64_t);
static void	 dial_check(struct sim *, struct conn *, int64_t);
static void	 dial_abort(struct sim *, struct conn *, int, int64_t);
static void	 dial_failed(struct sim *, int64_t);
static void	 dial_repeats(struct sim *);
static struct conn *conn_alloc(struct sim *);
static void	 conn_open(struct sim *, struct conn *, int, int64_t);
static short	 conn_events(const struct sim *, const struct conn *);
static int64_t	 conn_deadline(const struct sim *, const struct conn *);
static void	 conn_timers(struct sim *, struct conn *, int64_t);
static void	 conn_handle(struct sim *, struct conn *, short, int64_t);
static int	 conn_read(struct sim *, struct conn *);
static int	 conn_write(struct sim *, struct conn *);
static void	 conn_drain(struct sim *, struct conn *);
static void	 conn_chatter(struct sim *, struct conn *, int64_t);
static void	 conn_settle(struct sim *, struct conn *, int64_t);
static void	 conn_finish(struct sim *, struct conn *, const char *,
		    int64_t);
static void	 conn_reset(struct sim *, struct conn *, const char *);
static void	 conn_fail(struct sim *, struct conn *, int);
static void	 conn_close(struct sim *, struct conn *, const char *);

static int64_t	 log_t0_ms;
static const char *log_name = "devsim";

static void
usage(FILE *f)
{
	fputs(
"usage: devsim (--listen ADDR:PORT | --connect ADDR:PORT) [--mode MODE]\n"
"              [options]\n"
"\n"
"Simulates a TCP device or host. ADDR is an IPv4 address, an [IPv6] address\n"
"or a host name; with --listen an empty ADDR means any address and PORT 0 a\n"
"free port (see --ready-file). Events go to stderr, one line each, stamped\n"
"with the milliseconds since start.\n"
"\n"
"modes, per connection (default echo):\n"
"  echo           send back everything received\n"
"  chatter        send a line every --interval-ms; read and discard input\n"
"  silent         keep the connection open, read and discard, never send\n"
"  sink           read and discard everything, counting bytes\n"
"  stop-reading   never read, never send: the peer's window fills up\n"
"  source         send --bytes of the --seed stream as fast as possible,\n"
"                 then keep the connection open; read and discard input\n"
"When the peer closes, devsim sends what it has buffered, then closes.\n"
"\n"
"options:\n"
"  --listen ADDR:PORT       accept connections, serve all of them at once\n"
"  --connect ADDR:PORT      dial out; redial when the connection ends\n"
"  --mode MODE              one of the modes above\n"
"  --name NAME              name in log lines and chatter (default devsim)\n"
"  --interval-ms N          chatter: time between lines (default 1000)\n"
"  --message TEXT           chatter: line to send (default \"NAME seq=N\")\n"
"  --echo                   chatter: also echo what is received\n"
"  --bytes N                source: stream length, 0 = endless\n"
"                           (default 1048576)\n"
"  --seed N                 source: generator seed, N >= 1 (default 1)\n"
"  --close-when-done        source: close cleanly once the stream is sent\n"
"  --close-after-ms N       close each connection (FIN) N ms after it opens\n"
"  --reset-after-ms N       abort each connection (RST) N ms after it opens\n"
"  --exit-after-ms N        exit 0 after N ms\n"
"  --reconnect-ms N         connect: delay before redialling after a\n"
"                           connection ends or a dial fails;\n"
"                           0 = exit instead (default 500)\n"
"  --connect-timeout-ms N   connect: abandon a dial after N ms (default 3000)\n"
"  --max-conns N            listen: connections served at once (default 64)\n"
"  --rcvbuf BYTES           SO_RCVBUF for every connection (default: kernel)\n"
"  --ready-file PATH        once listening (or first connected), write the\n"
"                           bound (or local) port number to PATH\n"
"  --digest                 at each connection's end print\n"
"                           \"digest PEER rx=N fnv1a64=HEX\",\n"
"                           then the same for tx\n"
"  --stats                  print totals at exit\n"
"  -h, --help               print this help and exit\n"
"\n"
"exit status: 0 done, SIGTERM or SIGINT; 64 usage error; 69 cannot listen,\n"
"or cannot connect with --reconnect-ms 0; 71 system error; 73 cannot write\n"
"the ready file.\n", f);
}

static void
usage_error(const char *fmt, ...)
{
	va_list	 ap;

	fputs("devsim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nusage: devsim (--listen ADDR:PORT | --connect ADDR:PORT) "
	    "[--mode MODE] [options]; devsim -h for help\n", stderr);
	exit(EX_USAGE);
}

/* Parse a decimal number within [min, max] for option opt, or exit EX_USAGE. */
static uint64_t
num_arg(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	unsigned long long	 v;
	char			*end;

	if (*s < '0' || *s > '9')
		usage_error("--%s: not a number: '%s'", opt, s);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		usage_error("--%s: '%s' is not a number in %" PRIu64 "..%"
		    PRIu64, opt, s, min, max);
	return (v);
}

enum {
	OPT_LISTEN = 256, OPT_CONNECT, OPT_MODE, OPT_NAME, OPT_INTERVAL,
	OPT_MESSAGE, OPT_ECHO, OPT_BYTES, OPT_SEED, OPT_CLOSE_WHEN_DONE,
	OPT_CLOSE_AFTER, OPT_RESET_AFTER, OPT_EXIT_AFTER, OPT_RECONNECT,
	OPT_CONNECT_TIMEOUT, OPT_MAX_CONNS, OPT_RCVBUF, OPT_READY_FILE,
	OPT_DIGEST, OPT_STATS
};

static const struct option long_opts[] = {
	{ "listen",		required_argument,	NULL, OPT_LISTEN },
	{ "connect",		required_argument,	NULL, OPT_CONNECT },
	{ "mode",		required_argument,	NULL, OPT_MODE },
	{ "name",		required_argument,	NULL, OPT_NAME },
	{ "interval-ms",	required_argument,	NULL, OPT_INTERVAL },
	{ "message",		required_argument,	NULL, OPT_MESSAGE },
	{ "echo",		no_argument,		NULL, OPT_ECHO },
	{ "bytes",		required_argument,	NULL, OPT_BYTES },
	{ "seed",		required_argument,	NULL, OPT_SEED },
	{ "close-when-done",	no_argument,	NULL, OPT_CLOSE_WHEN_DONE },
	{ "close-after-ms",	required_argument,	NULL, OPT_CLOSE_AFTER },
	{ "reset-after-ms",	required_argument,	NULL, OPT_RESET_AFTER },
	{ "exit-after-ms",	required_argument,	NULL, OPT_EXIT_AFTER },
	{ "reconnect-ms",	required_argument,	NULL, OPT_RECONNECT },
	{ "connect-timeout-ms",	required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "max-conns",		required_argument,	NULL, OPT_MAX_CONNS },
	{ "rcvbuf",		required_argument,	NULL, OPT_RCVBUF },
	{ "ready-file",		required_argument,	NULL, OPT_READY_FILE },
	{ "digest",		no_argument,		NULL, OPT_DIGEST },
	{ "stats",		no_argument,		NULL, OPT_STATS },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL,			0,			NULL, 0 }
};

/* Apply one option (ch, long name nm) to o; exit on -h or a bad value. */
static void
opt_set(struct opts *o, int ch, const char *nm, const char *arg)
{
	int	 m;

	switch (ch) {
	case OPT_LISTEN:	o->listen = arg; break;
	case OPT_CONNECT:	o->connect = arg; break;
	case OPT_MODE:
		for (m = 0; m < MODE_COUNT; m++)
			if (strcmp(arg, mode_names[m]) == 0)
				break;
		if (m == MODE_COUNT)
			usage_error("--mode: unknown mode '%s'", arg);
		o->mode = m;
		break;
	case OPT_NAME:		o->name = arg; break;
	case OPT_INTERVAL:
		o->interval_ms = num_arg(nm, arg, 1, DURATION_MAX_MS);
		break;
	case OPT_MESSAGE:	o->message = arg; break;
	case OPT_ECHO:		o->echo = true; break;
	case OPT_BYTES:
		o->bytes = num_arg(nm, arg, 0, UINT64_MAX);
		break;
	case OPT_SEED:
		o->seed = num_arg(nm, arg, 1, UINT64_MAX);
		break;
	case OPT_CLOSE_WHEN_DONE: o->close_when_done = true; break;
	case OPT_CLOSE_AFTER:
		o->close_after_ms = num_arg(nm, arg, 0, DURATION_MAX_MS);
		break;
	case OPT_RESET_AFTER:
		o->reset_after_ms = num_arg(nm, arg, 0, DURATION_MAX_MS);
		break;
	case OPT_EXIT_AFTER:
		o->exit_after_ms = num_arg(nm, arg, 0, DURATION_MAX_MS);
		break;
	case OPT_RECONNECT:
		o->reconnect_ms = num_arg(nm, arg, 0, DURATION_MAX_MS);
		break;
	case OPT_CONNECT_TIMEOUT:
		o->connect_timeout_ms = num_arg(nm, arg, 1, DURATION_MAX_MS);
		break;
	case OPT_MAX_CONNS:
		o->max_conns = num_arg(nm, arg, 1, CONNS_MAX);
		break;
	case OPT_RCVBUF:
		o->rcvbuf = num_arg(nm, arg, 1, INT_MAX / 2);
		break;
	case OPT_READY_FILE:	o->ready_file = arg; break;
	case OPT_DIGEST:	o->digest = true; break;
	case OPT_STATS:		o->stats = true; break;
	case 'h':
		usage(stdout);
		exit(EX_OK);
	default:
		usage_error("unknown option or missing argument");
	}
}

/* Fill s->opt and s->addr from the command line; exit on -h or misuse. */
static void
parse_args(int argc, char **argv, struct sim *s)
{
	struct opts	*o = &s->opt;
	const char	*arg, *why;
	int		 ch, idx;

	*o = (struct opts){ .mode = MODE_ECHO, .name = "devsim",
	    .interval_ms = 1000, .close_after_ms = OFF, .reset_after_ms = OFF,
	    .exit_after_ms = OFF, .reconnect_ms = 500,
	    .connect_timeout_ms = 3000, .bytes = 1048576, .seed = 1,
	    .max_conns = 64 };
	while ((ch = getopt_long(argc, argv, "h", long_opts, &idx)) != -1)
		opt_set(o, ch, ch >= OPT_LISTEN ? long_opts[idx].name : "",
		    optarg);
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if ((o->listen == NULL) == (o->connect == NULL))
		usage_error("give exactly one of --listen and --connect");
	arg = o->listen != NULL ? o->listen : o->connect;
	if (addr_parse_bind(arg, &s->addr, &why) == -1)
		usage_error("'%s' is not ADDR:PORT (IPv6 as [ADDR]:PORT)", arg);
	if (o->connect != NULL && (s->addr.host[0] == '\0' ||
	    strcmp(s->addr.port, "0") == 0))
		usage_error("--connect needs an address and a nonzero port");
	if (strlen(o->name) < 1 || strlen(o->name) > NAME_LEN_MAX)
		usage_error("--name: want 1..%d characters", NAME_LEN_MAX);
	if (o->message != NULL && strlen(o->message) > MESSAGE_LEN_MAX)
		usage_error("--message: longer than %d bytes", MESSAGE_LEN_MAX);
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* One line to stderr in one write(2): "<ms since start> <name>: <msg>". */
static void
logmsg(const char *fmt, ...)
{
	char	 line[1024];
	va_list	 ap;
	size_t	 len, room;
	ssize_t	 w;
	int	 saved_errno = errno, n;

	n = snprintf(line, sizeof(line), "%7" PRId64 " %s: ",
	    now_ms() - log_t0_ms, log_name);
	len = n > 0 ? (size_t)n : 0;
	room = sizeof(line) - len - 1;		/* keep a byte for '\n' */
	va_start(ap, fmt);
	n = vsnprintf(line + len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += (size_t)n < room ? (size_t)n : room - 1;
	line[len++] = '\n';
	w = write(STDERR_FILENO, line, len);
	(void)w;
	errno = saved_errno;
}

/* Text for an errno (positive) or a getaddrinfo code (negative). */
static const char *
err_str(int err)
{
	if (err < 0)
		return (gai_strerror(err));
	if (err == ECONNRESET || err == EPIPE)
		return ("peer reset");
	return (strerror(err));
}

/*
 * Local address of fd into buf (may be NULL); returns its port, or -1 with
 * errno set.
 */
static int
sock_port(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		return (-1);
	if (buf != NULL)
		addr_format((struct sockaddr *)&ss, buf, len);
	if (ss.ss_family == AF_INET6)
		return (ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	return (ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

/* Pending error of fd (which reading clears), or EIO if none is pending. */
static int
sock_error(int fd)
{
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return (errno);
	return (err != 0 ? err : EIO);
}

/*
 * Write "<port>\n" to path through a temporary file and rename(2), so a
 * reader never sees a partial file. Returns 0, or -1 with errno set.
 */
static int
ready_write(const char *path, int port)
{
	char	 tmp[PATH_MAX];
	FILE	*f;
	int	 saved_errno;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((f = fopen(tmp, "w")) == NULL)
		return (-1);
	if (fprintf(f, "%d\n", port) < 0)
		goto out_close;
	if (fclose(f) == EOF)
		goto out_unlink;
	if (rename(tmp, path) == -1)
		goto out_unlink;
	return (0);
out_close:
	saved_errno = errno;
	fclose(f);
	errno = saved_errno;
out_unlink:
	saved_errno = errno;
	unlink(tmp);
	errno = saved_errno;
	return (-1);
}

/* Write the ready file the first time only. Returns 0, or -1 (logged). */
static int
ready_once(struct sim *s, int port)
{
	if (s->opt.ready_file == NULL || s->ready_done)
		return (0);
	if (ready_write(s->opt.ready_file, port) == -1) {
		logmsg("cannot write %s: %s", s->opt.ready_file,
		    strerror(errno));
		return (-1);
	}
	s->ready_done = true;
	return (0);
}

static uint64_t
fnv1a64(uint64_t h, const unsigned char *p, size_t len)
{
	while (len-- > 0) {
		h ^= *p++;
		h *= FNV_PRIME;
	}
	return (h);
}

/*
 * Source mode: fill the (empty) output buffer with the next bytes of the
 * stream. Refilling only an empty BUF_LEN buffer keeps every refill on a
 * word boundary. Returns true if bytes were added.
 */
static bool
source_refill(struct sim *s, struct conn *c)
{
	uint64_t	 x, r;
	size_t		 n, i, k;

	if (s->opt.mode != MODE_SOURCE || c->peer_eof ||
	    (s->opt.bytes != 0 && c->src_left == 0))
		return (false);
	n = BUF_LEN;
	if (s->opt.bytes != 0 && c->src_left < n)
		n = c->src_left;
	x = c->rng;
	for (i = 0; i < n; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		r = x * XS_MULT;
		for (k = 0; k < 8 && i + k < n; k++)
			c->buf[i + k] = (unsigned char)(r >> (8 * k));
	}
	c->rng = x;
	c->off = 0;
	c->len = n;
	if (s->opt.bytes != 0)
		c->src_left -= n;
	return (true);
}

/* Move pending output to the start of c->buf, making room at its end. */
static void
buf_compact(struct conn *c)
{
	if (c->off == 0)
		return;
	memmove(c->buf, c->buf + c->off, c->len - c->off);
	c->len -= c->off;
	c->off = 0;
}

/* True if received bytes go through the output buffer (they are echoed). */
static bool
mode_buffers_input(const struct sim *s)
{
	return (s->opt.mode == MODE_ECHO ||
	    (s->opt.mode == MODE_CHATTER && s->opt.echo));
}

/* The time delay_ms after base, or NEVER if the delay is OFF. */
static int64_t
after(int64_t base, int64_t delay_ms)
{
	return (delay_ms == OFF ? NEVER : base + delay_ms);
}

/*
 * Ignore SIGPIPE; block SIGTERM and SIGINT and open s->sig_fd to read them.
 * Returns 0, or -1 with errno set.
 */
static int
sim_signals_init(struct sim *s)
{
	struct sigaction	 sa;
	sigset_t		 set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return (-1);
	/* A shell starts background jobs with SIGINT ignored; take it back. */
	sa.sa_handler = SIG_DFL;
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1)
		return (-1);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return (-1);
	s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return (s->sig_fd == -1 ? -1 : 0);
}

/* Allocate, install signals, listen or start dialling. Returns an exit code. */
static int
sim_setup(struct sim *s)
{
	int	 n, i;

	s->sig_fd = s->listen_fd = -1;
	s->redial_at_ms = NEVER;
	s->exit_at_ms = after(log_t0_ms, s->opt.exit_after_ms);
	s->nconns = s->opt.listen != NULL ? s->opt.max_conns : 1;
	n = s->nconns + 2;
	s->conns = calloc(s->nconns, sizeof(*s->conns));
	s->pfd = calloc(n, sizeof(*s->pfd));
	s->pconn = calloc(n, sizeof(*s->pconn));
	if (s->conns == NULL || s->pfd == NULL || s->pconn == NULL) {
		logmsg("out of memory");
		return (EX_OSERR);
	}
	for (i = 0; i < s->nconns; i++)
		s->conns[i].fd = -1;
	if (sim_signals_init(s) == -1) {
		logmsg("cannot set up signals: %s", strerror(errno));
		return (EX_OSERR);
	}
	if (s->opt.connect != NULL) {
		dial_start(s, now_ms());
		return (EX_OK);
	}
	if (listen_open(s) == -1)
		return (EX_UNAVAILABLE);
	if (ready_once(s, sock_port(s->listen_fd, NULL, 0)) == -1)
		return (EX_CANTCREAT);
	return (EX_OK);
}

/* The poll loop. Returns the exit code. */
static int
sim_run(struct sim *s)
{
	int64_t	 now, wait;
	int	 n, i, k;

	while (!s->quit) {
		now = now_ms();
		sim_timers(s, now);
		if (s->quit)
			break;
		n = sim_pollset(s, now);
		wait = sim_deadline(s) - now;
		wait = wait < 0 ? 0 : wait > POLL_MAX_MS ? POLL_MAX_MS : wait;
		if (poll(s->pfd, n, (int)wait) == -1) {
			if (errno == EINTR)
				continue;
			logmsg("poll: %s", strerror(errno));
			return (EX_OSERR);
		}
		now = now_ms();
		/* In pfd order: accepting fills only slots that had no pfd. */
		for (i = 0; i < n && !s->quit; i++) {
			if (s->pfd[i].revents == 0)
				continue;
			k = s->pconn[i];
			if (k == PFD_SIGNAL)
				sim_signal(s);
			else if (k == PFD_LISTEN)
				listen_accept(s, now);
			else
				conn_handle(s, &s->conns[k], s->pfd[i].revents,
				    now);
		}
	}
	return (s->exit_code);
}

/* Close everything, in reverse order of setup, and print the totals. */
static void
sim_teardown(struct sim *s)
{
	struct conn	*c;
	int		 i;

	s->quit = true;
	for (i = 0; s->conns != NULL && i < s->nconns; i++) {
		c = &s->conns[i];
		if (c->state == CONN_CONNECTING) {
			close(c->fd);
			c->state = CONN_FREE;
		} else if (c->state == CONN_DRAINING)
			conn_close(s, c, c->reason);
		else if (c->state == CONN_OPEN)
			conn_close(s, c, "exiting");
	}
	if (s->opt.connect != NULL)
		dial_repeats(s);
	if (s->listen_fd != -1)
		close(s->listen_fd);
	if (s->ai_list != NULL)
		freeaddrinfo(s->ai_list);
	if (s->sig_fd != -1)
		close(s->sig_fd);
	if (s->opt.stats)
		logmsg("stats: up %" PRId64 " ms, %" PRIu64 " connections, "
		    "rx %" PRIu64 " bytes, tx %" PRIu64 " bytes, "
		    "%" PRIu64 " failed dials", now_ms() - log_t0_ms,
		    s->stat_conns, s->stat_rx, s->stat_tx,
		    s->stat_dial_failures);
	free(s->pconn);
	free(s->pfd);
	free(s->conns);
}

static void
sim_timers(struct sim *s, int64_t now)
{
	int	 i;

	if (now >= s->exit_at_ms) {
		logmsg("exiting: exit-after-ms elapsed");
		s->quit = true;
		s->exit_code = EX_OK;
		return;
	}
	if (now >= s->redial_at_ms)
		dial_start(s, now);
	for (i = 0; i < s->nconns && !s->quit; i++)
		conn_timers(s, &s->conns[i], now);
}

/* The nearest time at which a timer is due, NEVER if none is. */
static int64_t
sim_deadline(const struct sim *s)
{
	int64_t	 d, t;
	int	 i;

	d = s->exit_at_ms < s->redial_at_ms ? s->exit_at_ms : s->redial_at_ms;
	if (s->accept_pause_until_ms != 0 && s->accept_pause_until_ms < d)
		d = s->accept_pause_until_ms;
	for (i = 0; i < s->nconns; i++)
		if ((t = conn_deadline(s, &s->conns[i])) < d)
			d = t;
	return (d);
}

/* Fill s->pfd; returns the number of entries. */
static int
sim_pollset(struct sim *s, int64_t now)
{
	int	 n = 0, i;
	short	 ev;

	s->pfd[n] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
	s->pconn[n++] = PFD_SIGNAL;
	if (s->accept_pause_until_ms != 0 && now >= s->accept_pause_until_ms)
		s->accept_pause_until_ms = 0;
	if (s->listen_fd != -1 && s->accept_pause_until_ms == 0) {
		s->pfd[n] = (struct pollfd){ .fd = s->listen_fd,
		    .events = POLLIN };
		s->pconn[n++] = PFD_LISTEN;
	}
	for (i = 0; i < s->nconns; i++) {
		if (s->conns[i].state == CONN_FREE)
			continue;
		ev = conn_events(s, &s->conns[i]);
		s->pfd[n] = (struct pollfd){ .fd = s->conns[i].fd,
		    .events = ev };
		s->pconn[n++] = i;
	}
	return (n);
}

static void
sim_signal(struct sim *s)
{
	struct signalfd_siginfo	 si;
	ssize_t			 n;

	n = read(s->sig_fd, &si, sizeof(si));
	if (n != (ssize_t)sizeof(si))
		return;
	logmsg("exiting on %s", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
	s->quit = true;
	s->exit_code = EX_OK;
}

/* Bind and listen on the first address of --listen that works. 0 or -1. */
static int
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
	logmsg("listening on %s (mode %s)", local, mode_names[s->opt.mode]);
	return (0);
}

/* Accept what is pending, a bounded number per turn. */
static void
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

/* Resolve --connect afresh and dial its first address. */
static void
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

/* A connecting socket became writable: connected, or on to the next address. */
static void
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

static void
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
	if (s->opt.reconnect_ms == 0) {
		s->quit = true;
		s->exit_code = EX_UNAVAILABLE;
		return;
	}
	s->redial_at_ms = now + s->opt.reconnect_ms;
}

/* Log how often the last logged dial error repeated silently, if it did. */
static void
dial_repeats(struct sim *s)
{
	if (s->repeats > 0)
		logmsg("connect to %s: the same error %" PRIu64 " more time%s",
		    s->opt.connect, s->repeats, s->repeats == 1 ? "" : "s");
	s->repeats = 0;
}

static struct conn *
conn_alloc(struct sim *s)
{
	int	 i;

	for (i = 0; i < s->nconns; i++)
		if (s->conns[i].state == CONN_FREE)
			return (&s->conns[i]);
	return (NULL);
}

/* Make c an established connection on fd (c->peer already set) and log it. */
static void
conn_open(struct sim *s, struct conn *c, int fd, int64_t now)
{
	char	 local[PEER_LEN];
	int	 on = 1, port;

	c->state = CONN_OPEN;
	c->fd = fd;
	c->since_ms = c->next_line_ms = now;
	c->seq = c->rx = c->tx = 0;
	c->rx_fnv = c->tx_fnv = FNV_OFFSET;
	c->src_left = s->opt.bytes;
	c->rng = s->opt.seed;
	c->peer_eof = false;
	c->off = c->len = 0;
	c->reason[0] = '\0';
	s->stat_conns++;
	port = sock_port(fd, local, sizeof(local));
	dial_repeats(s);
	if (s->opt.listen != NULL)
		logmsg("accepted from %s", c->peer);
	else if (s->streak > 0)
		logmsg("connected to %s from %s after %" PRIu64
		    " failed dials", c->peer, local, s->streak);
	else
		logmsg("connected to %s from %s", c->peer, local);
	s->streak = 0;
	/* Chatter lines and echoes go out at once, not when Nagle allows. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		logmsg("%s: cannot set TCP_NODELAY: %s", c->peer,
		    strerror(errno));
	if (s->opt.connect != NULL && ready_once(s, port) == -1) {
		s->quit = true;
		s->exit_code = EX_CANTCREAT;
	}
}

static short
conn_events(const struct sim *s, const struct conn *c)
{
	short	 ev = 0;

	if (c->state == CONN_CONNECTING)
		return (POLLOUT);
	if (c->state == CONN_DRAINING)
		return (POLLIN);
	/* Not reading: only learn of FIN (RDHUP) and RST (ERR, always). */
	if (s->opt.mode == MODE_STOP_READING)
		return (POLLRDHUP);
	if (!c->peer_eof &&
	    (!mode_buffers_input(s) || c->len - c->off < BUF_LEN))
		ev |= POLLIN;
	if (c->off < c->len || (s->opt.mode == MODE_SOURCE && !c->peer_eof &&
	    (s->opt.bytes == 0 || c->src_left > 0)))
		ev |= POLLOUT;
	return (ev);
}

static int64_t
conn_deadline(const struct sim *s, const struct conn *c)
{
	int64_t	 d, t;

	switch (c->state) {
	case CONN_CONNECTING:
		return (c->since_ms + s->opt.connect_timeout_ms);
	case CONN_DRAINING:
		return (c->drain_until_ms);
	case CONN_OPEN:
		break;
	default:
		return (NEVER);
	}
	d = after(c->since_ms, s->opt.reset_after_ms);
	if ((t = after(c->since_ms, s->opt.close_after_ms)) < d)
		d = t;
	if (s->opt.mode == MODE_CHATTER && c->next_line_ms < d)
		d = c->next_line_ms;
	return (d);
}

static void
conn_timers(struct sim *s, struct conn *c, int64_t now)
{
	int64_t	 rst, cls;

	switch (c->state) {
	case CONN_CONNECTING:
		if (now >= c->since_ms + s->opt.connect_timeout_ms)
			dial_abort(s, c, ETIMEDOUT, now);
		return;
	case CONN_DRAINING:
		if (now >= c->drain_until_ms)
			conn_close(s, c, c->reason);
		return;
	case CONN_OPEN:
		break;
	default:
		return;
	}
	rst = after(c->since_ms, s->opt.reset_after_ms);
	cls = after(c->since_ms, s->opt.close_after_ms);
	if (now >= rst && rst <= cls)
		conn_reset(s, c, "reset-after-ms (RST sent)");
	else if (now >= cls)
		conn_finish(s, c, "close-after-ms (FIN sent)", now);
	else if (s->opt.mode == MODE_CHATTER && now >= c->next_line_ms) {
		conn_chatter(s, c, now);
		if (conn_write(s, c) == 0)
			conn_settle(s, c, now);
	}
}

static void
conn_handle(struct sim *s, struct conn *c, short rev, int64_t now)
{
	if (c->state == CONN_CONNECTING) {
		dial_check(s, c, now);
		return;
	}
	if (c->state == CONN_DRAINING) {
		conn_drain(s, c);
		return;
	}
	if (c->state != CONN_OPEN)
		return;
	if (rev & POLLERR) {
		conn_fail(s, c, sock_error(c->fd));
		return;
	}
	if (s->opt.mode == MODE_STOP_READING) {
		if (rev & (POLLHUP | POLLRDHUP))
			conn_close(s, c, "peer closed");
		return;
	}
	if ((rev & (POLLIN | POLLHUP)) && conn_read(s, c) == -1)
		return;
	if (conn_write(s, c) == -1)
		return;
	/* Both directions are shut: nothing more can be sent or received. */
	if (rev & POLLHUP) {
		conn_close(s, c, "peer closed");
		return;
	}
	conn_settle(s, c, now);
}

/*
 * Read what is pending, at most IO_TURN bytes: into the output buffer when
 * echoing, else discarded. Sets peer_eof on FIN. Returns 0, or -1 if the
 * connection failed and was closed.
 */
static int
conn_read(struct sim *s, struct conn *c)
{
	static unsigned char	 scratch[BUF_LEN];
	unsigned char		*p;
	size_t			 room, total = 0;
	ssize_t			 n;
	bool			 keep = mode_buffers_input(s);

	while (total < IO_TURN && !c->peer_eof) {
		p = scratch;
		room = sizeof(scratch);
		if (keep) {
			buf_compact(c);
			p = c->buf + c->len;
			if ((room = BUF_LEN - c->len) == 0)
				break;
		}
		if ((n = recv(c->fd, p, room, 0)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_fail(s, c, errno);
			return (-1);
		}
		if (n == 0) {
			c->peer_eof = true;
			break;
		}
		c->rx += n;
		s->stat_rx += n;
		if (s->opt.digest)
			c->rx_fnv = fnv1a64(c->rx_fnv, p, n);
		if (keep)
			c->len += n;
		total += n;
	}
	return (0);
}

/*
 * Send pending output, refilling it from the source stream, at most about
 * IO_TURN bytes; stops early when the socket is full. Returns 0, or -1 if
 * the connection failed and was closed.
 */
static int
conn_write(struct sim *s, struct conn *c)
{
	size_t	 total = 0;
	ssize_t	 n;

	while (total < IO_TURN) {
		if (c->off == c->len) {
			c->off = c->len = 0;
			if (!source_refill(s, c))
				break;
		}
		n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_fail(s, c, errno);
			return (-1);
		}
		if (s->opt.digest)
			c->tx_fnv = fnv1a64(c->tx_fnv, c->buf + c->off, n);
		c->off += n;
		c->tx += n;
		s->stat_tx += n;
		total += n;
	}
	return (0);
}

/* Draining after our FIN: discard input until the peer's FIN or an error. */
static void
conn_drain(struct sim *s, struct conn *c)
{
	unsigned char	 buf[4096];
	size_t		 total = 0;
	ssize_t		 n;

	while (total < IO_TURN) {
		if ((n = recv(c->fd, buf, sizeof(buf), 0)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			break;
		}
		if (n == 0)
			break;
		c->rx += n;
		s->stat_rx += n;
		if (s->opt.digest)
			c->rx_fnv = fnv1a64(c->rx_fnv, buf, n);
		total += n;
	}
	if (total < IO_TURN)
		conn_close(s, c, c->reason);
}

/* Queue the next chatter line if it fits; else try again an interval later. */
static void
conn_chatter(struct sim *s, struct conn *c, int64_t now)
{
	char	 line[MESSAGE_LEN_MAX + 2];
	int	 n;

	if (s->opt.message != NULL)
		n = snprintf(line, sizeof(line), "%s\n", s->opt.message);
	else
		n = snprintf(line, sizeof(line), "%s seq=%" PRIu64 "\n",
		    s->opt.name, c->seq + 1);
	buf_compact(c);
	if (n > 0 && (size_t)n < sizeof(line) &&
	    BUF_LEN - c->len >= (size_t)n) {
		memcpy(c->buf + c->len, line, n);
		c->len += n;
		c->seq++;
	}
	/* Keep the cadence, unless the output was backed up or we lag. */
	c->next_line_ms += s->opt.interval_ms;
	if (c->next_line_ms <= now)
		c->next_line_ms = now + s->opt.interval_ms;
}

/* After I/O: close once the peer's FIN is answered or the stream is sent. */
static void
conn_settle(struct sim *s, struct conn *c, int64_t now)
{
	if (c->state != CONN_OPEN || c->off < c->len)
		return;
	if (c->peer_eof)
		conn_close(s, c, "peer closed");
	else if (s->opt.mode == MODE_SOURCE && s->opt.close_when_done &&
	    s->opt.bytes != 0 && c->src_left == 0)
		conn_finish(s, c, "stream sent", now);
}

/*
 * Close cleanly: send FIN, then discard input until the peer's FIN (at most
 * DRAIN_MS) before close(2), since closing with unread input sends RST.
 */
static void
conn_finish(struct sim *s, struct conn *c, const char *reason, int64_t now)
{
	if (c->peer_eof || shutdown(c->fd, SHUT_WR) == -1) {
		conn_close(s, c, reason);
		return;
	}
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	c->off = c->len = 0;
	c->state = CONN_DRAINING;
	c->drain_until_ms = now + DRAIN_MS;
	conn_drain(s, c);
}

/* Abort with RST: SO_LINGER {1, 0}, then close(2). */
static void
conn_reset(struct sim *s, struct conn *c, const char *reason)
{
	struct linger	 lg = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1)
		logmsg("%s: cannot set SO_LINGER: %s", c->peer,
		    strerror(errno));
	conn_close(s, c, reason);
}

static void
conn_fail(struct sim *s, struct conn *c, int err)
{
	conn_close(s, c, err_str(err));
}

/*
 * Close c, log its end and digests, free the slot. With --connect, schedule
 * the redial, or quit under --reconnect-ms 0.
 */
static void
conn_close(struct sim *s, struct conn *c, const char *reason)
{
	int64_t	 now = now_ms();

	close(c->fd);
	c->fd = -1;
	c->state = CONN_FREE;
	logmsg("closed %s: %s (rx %" PRIu64 " bytes, tx %" PRIu64 " bytes)",
	    c->peer, reason, c->rx, c->tx);
	if (s->opt.digest) {
		logmsg("digest %s rx=%" PRIu64 " fnv1a64=%016" PRIx64, c->peer,
		    c->rx, c->rx_fnv);
		logmsg("digest %s tx=%" PRIu64 " fnv1a64=%016" PRIx64, c->peer,
		    c->tx, c->tx_fnv);
	}
	if (s->opt.connect == NULL || s->quit)
		return;
	if (s->opt.reconnect_ms == 0) {
		s->quit = true;
		s->exit_code = EX_OK;
		return;
	}
	s->redial_at_ms = now + s->opt.reconnect_ms;
}

int
main(int argc, char *argv[])
{
	struct sim	 s;
	int		 rc;

	memset(&s, 0, sizeof(s));
	log_t0_ms = now_ms();
	parse_args(argc, argv, &s);
	log_name = s.opt.name;
	if ((rc = sim_setup(&s)) == EX_OK)
		rc = sim_run(&s);
	sim_teardown(&s);
	return (rc);
}
