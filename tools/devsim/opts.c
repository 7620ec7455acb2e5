/*
 * opts.c -- device simulator: the command line, its help text and its
 * checks.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "devsim.h"

static void	 usage(FILE *);
static void	 usage_error(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static uint64_t	 num_arg(const char *, const char *, uint64_t, uint64_t);
static void	 opt_set(struct opts *, int, const char *, const char *);

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
		if ((m = mode_parse(arg)) == -1)
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

void
opts_parse(int argc, char **argv, struct opts *o, struct addr_hostport *addr)
{
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
	if (addr_parse_bind(arg, addr, &why) == -1)
		usage_error("'%s' is not ADDR:PORT (IPv6 as [ADDR]:PORT)", arg);
	if (o->connect != NULL && (addr->host[0] == '\0' ||
	    strcmp(addr->port, "0") == 0))
		usage_error("--connect needs an address and a nonzero port");
	if (strlen(o->name) < 1 || strlen(o->name) > NAME_LEN_MAX)
		usage_error("--name: want 1..%d characters", NAME_LEN_MAX);
	if (o->message != NULL && strlen(o->message) > MESSAGE_LEN_MAX)
		usage_error("--message: longer than %d bytes", MESSAGE_LEN_MAX);
}
