/* gwctl.c -- the links of a running gatewayd as a table, a health check,
   and the commands of its control socket: reload, disconnect, trace.
 *
 *   gwctl [-v] [-s HOST:PORT | -S PATH] [status]
 *   gwctl [-S PATH] reload
 *   gwctl [-S PATH] disconnect DEVICE [LINK]
 *   gwctl [-S PATH] [-n BYTES] trace DEVICE
 *
 * The status comes from the status server (GET /status?format=text), or
 * from the control socket with -S. Exit codes follow the monitoring-plugin
 * convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
 */
#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gwctl.h"

#define DEFAULT_SERVER	"127.0.0.1:9780"
#define DEFAULT_SOCKET	"/run/gatewayd/control.sock"
#define FETCH_MS	5000	/* the status over HTTP */
#define COMMAND_MS	10000	/* status and disconnect on the socket */
#define RELOAD_MS	90000	/* the daemon gives a reload 60 s */
#define NO_TIMEOUT	0
#define NAME_MAX_LEN	64	/* a device name (gatewayd.conf(5)) */
#define LINE_MAX_LEN	(1024 * 1024)	/* one line of an answer */

static volatile sig_atomic_t	interrupted;

static void		usage(FILE *);
static void		on_interrupt(int);
static int		catch_interrupt(void);
static int		exit_of(const char *);
static bool		is_word(const char *);
static enum gwctl_exit	command(const char *, const char *, int, bool,
			    struct strbuf *, char *, size_t);
static enum gwctl_exit	say(const char *, const char *, int, bool);
static enum gwctl_exit	status_http(const char *, bool);
static enum gwctl_exit	status_socket(const char *, bool);

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: gwctl [-v] [-s HOST:PORT | -S PATH] [status]\n"
	    "       gwctl [-S PATH] reload\n"
	    "       gwctl [-S PATH] disconnect DEVICE [LINK]\n"
	    "       gwctl [-S PATH] [-n BYTES] trace DEVICE\n"
	    "       gwctl -h\n"
	    "  -s HOST:PORT  the status server (default " DEFAULT_SERVER ")\n"
	    "  -S PATH       the control socket (default " DEFAULT_SOCKET ")\n"
	    "  -v            with status: each failed link's last words\n"
	    "  -n BYTES      with trace: stop after showing BYTES bytes\n");
}

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Ctrl-C (or a SIGTERM) ends a trace cleanly: poll() returns EINTR and
   the loop sees the flag. No SA_RESTART, so that the wait is cut short. */
static int
catch_interrupt(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1)
		return (-1);
	return (0);
}

/* The exit code a last line ("OK: ...") says, or -1 when it is none. */
static int
exit_of(const char *line)
{
	static const char *const words[] = {
		"OK: ", "WARNING: ", "CRITICAL: ", "UNKNOWN: " };
	int	i;

	for (i = 0; i < 4; i++)
		if (strncmp(line, words[i], strlen(words[i])) == 0)
			return (i);
	return (-1);
}

/* A word that goes on the command line as it is: no blank, no control
   character. */
static bool
is_word(const char *s)
{
	if (*s == '\0')
		return (false);
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return (false);
	return (true);
}

/* Send line to the control socket at path and read the answer to its end
   (within timeout_ms; NO_TIMEOUT: until the daemon or Ctrl-C ends it).
   Output lines go to lines, without their "| ", or to stdout as they come
   when stream. The last line goes to last ("" after Ctrl-C), or why there
   is none ("UNKNOWN: cannot connect to ..."). Returns the exit code it
   says. */
static enum gwctl_exit
command(const char *path, const char *line, int timeout_ms, bool stream,
    struct strbuf *lines, char *last, size_t lastlen)
{
	struct strbuf	 in;
	struct timespec	 ts;
	struct pollfd	 pfd;
	long long	 deadline = 0, now;
	char		 buf[65536], *nl, *p;
	ssize_t		 n;
	size_t		 done = 0;
	int		 fd, rc = GWCTL_UNKNOWN, wait, send_errno = 0;
	int		 connect_ms;
	bool		 ended = false;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (timeout_ms != NO_TIMEOUT)
		deadline = now + timeout_ms;
	/* A trace, which has no end, waits for the connection as long as a
	   status does. */
	connect_ms = timeout_ms != NO_TIMEOUT ? timeout_ms : COMMAND_MS;
	if ((fd = conn_unix(path, connect_ms)) == -1) {
		if (errno == ETIMEDOUT)
			snprintf(last, lastlen, "UNKNOWN: no answer from %s "
			    "within %d s: it accepts no connection", path,
			    connect_ms / 1000);
		else
			snprintf(last, lastlen, "UNKNOWN: cannot connect to "
			    "%s: %s", path, strerror(errno));
		return (GWCTL_UNKNOWN);
	}
	/* A daemon that refuses (too many connections) answers and closes
	   at once, maybe before the line is sent: its answer is there to
	   read all the same. */
	if (conn_send_all(fd, line, strlen(line), COMMAND_MS) == -1) {
		if (errno != EPIPE && errno != ECONNRESET) {
			snprintf(last, lastlen, "UNKNOWN: cannot send to %s: "
			    "%s", path, strerror(errno));
			close(fd);
			return (GWCTL_UNKNOWN);
		}
		send_errno = errno;
	}
	strbuf_init(&in);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!ended && !interrupted) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (deadline != 0 && now >= deadline) {
			snprintf(last, lastlen, "UNKNOWN: no answer from %s "
			    "within %d s", path, timeout_ms / 1000);
			goto out;
		}
		wait = deadline != 0 ? (int)(deadline - now) : -1;
		if ((n = poll(&pfd, 1, wait)) <= 0) {
			if (n == 0 || errno == EINTR)
				continue;	/* the deadline, above */
			snprintf(last, lastlen, "UNKNOWN: poll: %s",
			    strerror(errno));
			goto out;
		}
		if ((n = recv(fd, buf, sizeof(buf), 0)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(last, lastlen, "UNKNOWN: reading from %s: %s",
			    path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (strbuf_add(&in, buf, (size_t)n) == -1) {
			snprintf(last, lastlen, "UNKNOWN: out of memory");
			goto out;
		}
		/* Whole lines only; nothing follows the last line. */
		while (!ended && (nl = memchr(in.buf + done, '\n', in.len -
		    done)) != NULL) {
			*nl = '\0';
			p = in.buf + done;
			done = (size_t)(nl - in.buf) + 1;
			if (strncmp(p, "| ", 2) == 0) {
				if (stream)
					printf("%s\n", p + 2);
				else if (lines != NULL)
					strbuf_printf(lines, "%s\n", p + 2);
				continue;
			}
			if ((rc = exit_of(p)) == -1) {
				snprintf(last, lastlen, "UNKNOWN: %s did not "
				    "answer like a gatewayd", path);
				rc = GWCTL_UNKNOWN;
				goto out;
			}
			snprintf(last, lastlen, "%s", p);
			ended = true;
		}
		/* The reader of the stream has gone (gwctl trace d1 | head):
		   an end like Ctrl-C's. Another failure to write is said. */
		if (stream && fflush(stdout) == EOF) {
			if (errno == EPIPE) {
				last[0] = '\0';
				rc = GWCTL_OK;
			} else
				snprintf(last, lastlen, "UNKNOWN: cannot write "
				    "the output: %s", strerror(errno));
			goto out;
		}
		if (in.len - done > LINE_MAX_LEN) {
			snprintf(last, lastlen, "UNKNOWN: %s did not answer like "
			    "a gatewayd", path);
			goto out;
		}
		/* A trace runs for hours: keep only the line begun. */
		if (done > 0 && !ended) {
			memmove(in.buf, in.buf + done, in.len - done);
			in.len -= done;
			done = 0;
		}
	}
	if (interrupted) {
		last[0] = '\0';
		rc = GWCTL_OK;
	} else if (!ended && send_errno != 0)
		snprintf(last, lastlen, "UNKNOWN: cannot send to %s: %s", path,
		    strerror(send_errno));
	else if (!ended)
		snprintf(last, lastlen, "UNKNOWN: %s closed the connection "
		    "without an outcome", path);
out:
	strbuf_free(&in);
	close(fd);
	return ((enum gwctl_exit)rc);
}

/* A command whose output and outcome are printed as they come. */
static enum gwctl_exit
say(const char *path, const char *line, int timeout_ms, bool stream)
{
	enum gwctl_exit	rc;
	char		last[1024];

	rc = command(path, line, timeout_ms, stream, NULL, last, sizeof(last));
	if (last[0] != '\0')
		printf("%s\n", last);
	return (rc);
}

static enum gwctl_exit
status_http(const char *server, bool verbose)
{
	struct strbuf	body;
	enum gwctl_exit	rc;
	char		err[256];

	if (verbose) {
		printf("UNKNOWN: -v needs the control socket (-S PATH)\n");
		return (GWCTL_UNKNOWN);
	}
	strbuf_init(&body);
	if (conn_http_get(server, "/status?format=text", FETCH_MS, &body, err,
	    sizeof(err)) == -1) {
		printf("UNKNOWN: cannot fetch the status from http://%s/: %s\n",
		    server, err);
		strbuf_free(&body);
		return (GWCTL_UNKNOWN);
	}
	rc = table_print(body.buf != NULL ? body.buf : "", false, stdout);
	if (rc == GWCTL_UNKNOWN)
		printf("UNKNOWN: http://%s/ did not answer like a gatewayd\n",
		    server);
	strbuf_free(&body);
	return (rc);
}

static enum gwctl_exit
status_socket(const char *path, bool verbose)
{
	struct strbuf	rows;
	enum gwctl_exit	rc;
	char		last[1024];

	strbuf_init(&rows);
	rc = command(path, verbose ? "status -v\n" : "status\n", COMMAND_MS,
	    false, &rows, last, sizeof(last));
	/* Its last line ("OK: 4 links") is the daemon's; the summary that
	   counts is the table's. */
	if (rc != GWCTL_OK)
		printf("%s\n", last);
	else {
		rc = table_print(rows.buf != NULL ? rows.buf : "", verbose,
		    stdout);
		if (rc == GWCTL_UNKNOWN)
			printf("UNKNOWN: %s did not answer like a gatewayd\n",
			    path);
	}
	strbuf_free(&rows);
	return (rc);
}

int
main(int argc, char *argv[])
{
	const char		*server = NULL, *sock = NULL, *cmd = "status";
	unsigned long long	 limit = 0;	/* -n; 0: none */
	char			 line[256], *end;
	bool			 verbose = false;
	int			 ch, nargs;

	/* A reader of the output that leaves must not end gwctl by a
	   signal: its exit codes are 0 to 3. */
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "n:s:S:vh")) != -1) {
		switch (ch) {
		case 'n':
			errno = 0;
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    (limit = strtoull(optarg, &end, 10)) == 0 ||
			    errno != 0 || *end != '\0') {
				printf("UNKNOWN: -n wants a positive number of "
				    "bytes, not %s\n", optarg);
				return (GWCTL_UNKNOWN);
			}
			break;
		case 'v':
			verbose = true;
			break;
		case 's':
			server = optarg;
			break;
		case 'S':
			sock = optarg;
			break;
		case 'h':
			usage(stdout);
			return (GWCTL_OK);
		default:
			usage(stderr);
			return (GWCTL_UNKNOWN);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0) {
		cmd = argv[0];
		argc--;
		argv++;
	}
	if (server != NULL && sock != NULL) {
		printf("UNKNOWN: -s and -S: ask one or the other\n");
		return (GWCTL_UNKNOWN);
	}
	nargs = strcmp(cmd, "status") == 0 || strcmp(cmd, "reload") == 0 ? 0 :
	    strcmp(cmd, "disconnect") == 0 ? 2 :
	    strcmp(cmd, "trace") == 0 ? 1 : -1;
	if (nargs == -1 || argc > nargs || (nargs > 0 && argc < 1)) {
		usage(stderr);
		return (GWCTL_UNKNOWN);
	}
	if ((limit > 0 && strcmp(cmd, "trace") != 0) ||
	    (verbose && strcmp(cmd, "status") != 0)) {
		printf("UNKNOWN: %s goes with %s only\n", limit > 0 ? "-n" :
		    "-v", limit > 0 ? "trace" : "status");
		return (GWCTL_UNKNOWN);
	}
	if (strcmp(cmd, "status") == 0)
		return (sock != NULL ? status_socket(sock, verbose) :
		    status_http(server != NULL ? server : DEFAULT_SERVER,
		    verbose));
	if (server != NULL) {
		printf("UNKNOWN: %s needs the control socket (-S PATH), not "
		    "the status server\n", cmd);
		return (GWCTL_UNKNOWN);
	}
	if (sock == NULL)
		sock = DEFAULT_SOCKET;
	if ((argc >= 1 && !is_word(argv[0])) || (argc == 2 &&
	    !is_word(argv[1]))) {
		printf("UNKNOWN: a device or link name has no blank or control "
		    "character\n");
		return (GWCTL_UNKNOWN);
	}
	/* So that every command fits its line whole. */
	if ((argc >= 1 && strlen(argv[0]) > NAME_MAX_LEN) || (argc == 2 &&
	    strlen(argv[1]) > NAME_MAX_LEN)) {
		printf("UNKNOWN: a device or link name has at most %d "
		    "characters\n", NAME_MAX_LEN);
		return (GWCTL_UNKNOWN);
	}
	if (strcmp(cmd, "reload") == 0)
		return (say(sock, "reload\n", RELOAD_MS, true));
	if (strcmp(cmd, "trace") == 0) {
		if (catch_interrupt() == -1) {
			printf("UNKNOWN: sigaction: %s\n", strerror(errno));
			return (GWCTL_UNKNOWN);
		}
		/* The number as parsed: no leading zeros to lengthen it. */
		if (limit > 0)
			snprintf(line, sizeof(line), "trace %s %llu\n", argv[0],
			    limit);
		else
			snprintf(line, sizeof(line), "trace %s\n", argv[0]);
		return (say(sock, line, NO_TIMEOUT, true));
	}
	snprintf(line, sizeof(line), "disconnect %s%s%s\n", argv[0],
	    argc == 2 ? " " : "", argc == 2 ? argv[1] : "");
	return (say(sock, line, COMMAND_MS, true));
}
