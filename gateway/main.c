/* main.c -- gatewayd: command line, signals, lifecycle, exit codes. */
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_schema.h"
#include "clock.h"
#include "control.h"
#include "gateway.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "strbuf.h"
#include "watchdog.h"

/* What the control server's commands reach: the gateway, and this thread
   for a reload. */
struct main_ctx {
	struct gateway	*gw;
	pthread_t	 main_tid;
};

static int	ctl_status(void *, bool, struct strbuf *);
static int	ctl_disconnect(void *, const char *, enum link_kind,
		    const char *, unsigned *, unsigned *);
static void	ctl_reload_wake(void *);
static struct tap *ctl_tap(void *, const char *);

static const struct control_ops ctl_ops = {
	.status = ctl_status,
	.disconnect = ctl_disconnect,
	.reload_wake = ctl_reload_wake,
	.tap = ctl_tap,
};

static const struct option longopts[] = {
	{ "config",	required_argument,	NULL,	'c' },
	{ "check",	no_argument,		NULL,	't' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: gatewayd -c FILE [-t]\n"
	    "       gatewayd -V | -h\n"
	    "  -c, --config FILE  configuration file (libconfig syntax)\n"
	    "  -t, --check        check the configuration and exit: 0 when it\n"
	    "                     is valid, 78 when it is not\n"
	    "  -V, --version      print the version and exit\n"
	    "  -h, --help         print this help and exit\n"
	    "Runs in the foreground and logs to stderr, or where log.target\n"
	    "says. SIGTERM/SIGINT stop, SIGHUP reloads the configuration.\n");
}

/* Tell the service manager what rc says was sent (or not needed). A
   failure is logged, at most once a minute: the manager may be gone. */
static void
told(int rc, const char *what)
{
	static struct log_limit	 limit = { .window_ms = 60000 };
	unsigned		 suppressed;

	if (rc == 0 || !log_limit_allow(&limit, clock_ms(), &suppressed))
		return;
	log_warnx("cannot tell the service manager %s: %s%s", what,
	    strerror(errno), log_suppressed(suppressed));
}

/* The manager's watchdog wants a ping every wd_ms, and a ping needs a
   completed sweep: a sweep period near that interval gets the daemon
   killed though it is healthy. */
static void
check_watchdog_fit(struct notify *nt, int period_ms)
{
	int64_t	wd_ms = notify_watchdog_ms(nt);

	if (wd_ms > 0 && period_ms > wd_ms / 4)
		log_warnx("watchdog.period_ms %d is too long for the service "
		    "manager's watchdog (%lld ms): keep it under a quarter of "
		    "WatchdogSec=", period_ms, (long long)wd_ms);
}

/* A period longer than half the manager's interval is refused: pings
   would come at best every period, and a sweep that takes a little
   longer than usual would get a healthy daemon killed, restarted and
   killed again. 0, or -1 with the reason in err. */
static int
fit_watchdog(const struct cfg *cfg, const struct notify *nt, char *err,
    size_t errlen)
{
	int64_t	wd_ms = notify_watchdog_ms(nt);

	if (wd_ms == 0 || cfg->watchdog_period_ms <= wd_ms / 2)
		return (0);
	snprintf(err, errlen, "sets watchdog.period_ms %d, too long for the "
	    "service manager's watchdog (%lld ms), which is pinged only after "
	    "a completed sweep: want at most %lld, best under a quarter of "
	    "WatchdogSec=", cfg->watchdog_period_ms, (long long)wd_ms,
	    (long long)(wd_ms / 2));
	return (-1);
}

/* Load path with loader (cfg_load for -t, which touches no network;
   cfg_load_lookup for a start; cfg_load_regular for a reload), printing
   every error (and warning) on stderr, and into msgs too when it is not
   NULL. Through the log's stderr writer: a reload must not hang on a
   stderr that nobody reads. Returns what loader returned; *cfg is NULL
   unless it returned 0. */
static int
load(const char *path, struct strbuf *msgs,
    int (*loader)(const char *, struct cfg **, FILE *), struct cfg **cfg)
{
	FILE		*fp;
	char		*text = NULL;
	size_t		 len = 0;
	int		 rc;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return (loader(path, cfg, stderr));
	rc = loader(path, cfg, fp);
	if (fclose(fp) == 0 && text != NULL) {
		log_stderr_text(text);
		if (msgs != NULL)
			strbuf_add(msgs, text, len);
	}
	free(text);
	return (rc);
}

/* The first error among the loader's lines (its warnings left out) in
   buf, and how many errors there were: the log line of a rejected reload
   says why, whatever the log's target, where the lines themselves go to
   stderr only. */
static int
first_error(const struct strbuf *lines, char *buf, size_t len)
{
	const char	*p = lines->buf, *end, *nl;
	int		 n = 0;

	buf[0] = '\0';
	if (p == NULL)
		return (0);
	for (end = p + lines->len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl == p || memmem(p, (size_t)(nl - p), ": warning: ",
		    strlen(": warning: ")) != NULL)
			continue;
		if (n++ == 0)
			snprintf(buf, len, "%.*s", (int)(nl - p), p);
	}
	return (n);
}

/* The status, as GET /status?format=text has it. */
static int
ctl_status(void *arg, bool verbose, struct strbuf *out)
{
	struct main_ctx	*mc = arg;
	struct metrics	 m;
	int		 rc;

	metrics_init(&m);
	gw_snapshot(mc->gw, &m);
	rc = m.failed ? -1 : metrics_render_text(&m, verbose, out);
	metrics_free(&m);
	return (rc);
}

static int
ctl_disconnect(void *arg, const char *device, enum link_kind kind,
    const char *detail, unsigned *had, unsigned *done)
{
	struct main_ctx	*mc = arg;

	return (gw_disconnect(mc->gw, device, kind, detail, had, done));
}

static struct tap *
ctl_tap(void *arg, const char *device)
{
	struct main_ctx	*mc = arg;

	return (gw_tap(mc->gw, device));
}

/* On the control server's thread: this thread waits for signals, so a
   signal wakes it; it then takes the reload (control_reload_take()). */
static void
ctl_reload_wake(void *arg)
{
	struct main_ctx	*mc = arg;

	if ((errno = pthread_kill(mc->main_tid, SIGUSR1)) != 0)
		log_warnx("control: cannot wake the main thread for a reload: "
		    "%s", strerror(errno));
}

/* The watchdog watched: a stuck sweep leaves dead links unnoticed, so
   leave for a restart (supervisord and systemd restart on exit 70). */
static void
guard(struct watchdog *wd)
{
	int64_t	stuck_ms;

	if (wd_is_stuck(wd, clock_ms(), &stuck_ms))
		fatal("watchdog stuck in one sweep for %lld ms (period %d ms): "
		    "exiting for a restart", (long long)stuck_ms,
		    wd_period(wd));
}

/* Raise the soft limit on open files to the hard one (supervisord and
   shells start daemons with 1024), then say whether cfg fits in it, with
   the control server's connections when one serves at ctl_path (not ""):
   0, or -1 with the reason in err. ctl_path is the socket in use, not
   cfg's: a reload does not move it, nor stop it. */
static int
fit_nofile(const struct cfg *cfg, const char *ctl_path, char *err,
    size_t errlen)
{
	struct rlimit	rl;
	long		need = gw_fds_needed(cfg);

	if (ctl_path[0] != '\0')
		need += CONTROL_FDS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		snprintf(err, errlen, "getrlimit: %s", strerror(errno));
		return (-1);
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
		    getrlimit(RLIMIT_NOFILE, &rl) == -1) {
			snprintf(err, errlen, "getrlimit: %s", strerror(errno));
			return (-1);
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)need > rl.rlim_cur) {
		snprintf(err, errlen, "needs up to %ld file descriptors for %d "
		    "device%s, but the limit is %llu (raise it: ulimit -n, "
		    "LimitNOFILE=, minfds=)", need, cfg->n_devices,
		    cfg->n_devices == 1 ? "" : "s",
		    (unsigned long long)rl.rlim_cur);
		return (-1);
	}
	return (0);
}

/* What of a reload did not take, into buf: "2 devices could not start",
   "the status server could not move to B: kept on A" (listen is B, the
   new status.listen), "the log could not go to journal: logging to
   stderr", joined by ", and ". */
static void
reload_trouble(const struct gw_reload_report *rep, const char *listen,
    char *buf, size_t len)
{
	size_t	off = 0;

	buf[0] = '\0';
	if (rep->failed > 0)
		off += (size_t)snprintf(buf, len, "%d device%s could not start",
		    rep->failed, rep->failed == 1 ? "" : "s");
	if (rep->status_failed && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%sthe status "
		    "server could not %s %s%s%s", off > 0 ? ", and " : "",
		    rep->status_kept[0] != '\0' ? "move to" : "start on",
		    listen, rep->status_kept[0] != '\0' ? ": kept on " : "",
		    rep->status_kept);
	if (rep->log_failed != NULL && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%sthe log could "
		    "not go to %s: logging to stderr", off > 0 ? ", and " : "",
		    rep->log_failed);
	if (off == 0)
		snprintf(buf, len, "out of memory: the running configuration "
		    "kept");
}

/* Reload path; the manager sees RELOADING=1, then READY=1 whatever the
   outcome, since the gateway runs on either way. What it did goes to
   rep's lines (the file's errors too) and summary; returns CONTROL_OK,
   or CONTROL_WARNING when the file was rejected, a device could not
   start, the status server could not move or the log.target could not be
   used. ctl_path is the control
   socket in use, which a reload does not move. */
static enum control_code
reload(struct gateway *gw, const char *path, struct notify *nt,
    const char *ctl_path, struct gw_reload_report *rep, char *summary,
    size_t summarylen)
{
	struct cfg	*cfg;
	char		 err[256], trouble[384], listen[CFG_ADDR_MAX];
	int		 n;

	told(notify_reloading(nt, path), "RELOADING=1");
	/* A start may read a pipe; a reload must not wait for a writer, on
	   the thread that answers SIGTERM. */
	if (load(path, &rep->lines, cfg_load_regular, &cfg) ==
	    CFG_NOT_REGULAR)
		log_warnx("reload: %s is not a regular file; running "
		    "configuration kept", path);
	if (cfg == NULL) {
		gw_reload_rejected(gw);
		if ((n = first_error(&rep->lines, trouble, sizeof(trouble))) >
		    1)
			log_warnx("reload: %s is not valid (%s, and %d more "
			    "errors); running configuration kept", path,
			    trouble, n - 1);
		else if (n == 1)
			log_warnx("reload: %s is not valid (%s); running "
			    "configuration kept", path, trouble);
		else
			log_warnx("reload: %s is not valid; running "
			    "configuration kept", path);
		told(notify_send(nt, "READY=1\nSTATUS=reload failed: %s is "
		    "not valid; running configuration kept", path), "READY=1");
		snprintf(summary, summarylen, "reload rejected: %s is not "
		    "valid; running configuration kept", path);
		return (CONTROL_WARNING);
	}
	if (fit_nofile(cfg, ctl_path, err, sizeof(err)) == -1 ||
	    fit_watchdog(cfg, nt, err, sizeof(err)) == -1) {
		gw_reload_rejected(gw);
		log_warnx("reload: %s %s; running configuration kept", path,
		    err);
		told(notify_send(nt, "READY=1\nSTATUS=reload failed: %s %s",
		    path, err), "READY=1");
		snprintf(summary, summarylen, "reload rejected: %s %s; "
		    "running configuration kept", path, err);
		cfg_free(cfg);
		return (CONTROL_WARNING);
	}
	/* Told to the asker too: it would else take the OK for a move. */
	if (strcmp(cfg->control_socket, ctl_path) != 0) {
		log_warnx("reload: control.socket \"%s\" -> \"%s\": takes "
		    "effect at the next start", ctl_path, cfg->control_socket);
		strbuf_printf(&rep->lines, "control.socket \"%s\" -> \"%s\": "
		    "takes effect at the next start\n", ctl_path,
		    cfg->control_socket);
	}
	n = cfg->n_devices;
	snprintf(listen, sizeof(listen), "%s", cfg->status_listen);
	if (gw_reload(gw, cfg, rep) == -1) {
		reload_trouble(rep, listen, trouble, sizeof(trouble));
		told(notify_send(nt, "READY=1\nSTATUS=reloaded, but %s (see "
		    "the log)", trouble), "READY=1");
		snprintf(summary, summarylen, "reloaded %s, but %s (see above)",
		    path, trouble);
		check_watchdog_fit(nt, wd_period(gw_watchdog(gw)));
		return (CONTROL_WARNING);
	}
	told(notify_send(nt, "READY=1\nSTATUS=relaying for %d device%s", n,
	    n == 1 ? "" : "s"), "READY=1");
	snprintf(summary, summarylen, "reloaded %s: %d kept (%d with a new "
	    "policy), %d restarted, %d added, %d removed", path, rep->kept,
	    rep->updated, rep->restarted, rep->added, rep->removed);
	check_watchdog_fit(nt, wd_period(gw_watchdog(gw)));
	return (CONTROL_OK);
}

/* A reload asked for on the control socket, if one waits: run it and
   hand the outcome back. */
static void
serve_reload(struct gateway *gw, const char *path, struct notify *nt,
    struct control *ctl, const char *ctl_path)
{
	struct gw_reload_report	 rep;
	enum control_code	 code;
	char			 summary[512];
	uid_t			 uid;
	pid_t			 pid;

	if (ctl == NULL || !control_reload_take(ctl, &uid, &pid))
		return;
	log_info("control: reloading %s for uid %u (pid %d)", path,
	    (unsigned)uid, (int)pid);
	memset(&rep, 0, sizeof(rep));
	strbuf_init(&rep.lines);
	code = reload(gw, path, nt, ctl_path, &rep, summary, sizeof(summary));
	control_reload_done(ctl, code, rep.lines.failed ? "" : rep.lines.buf !=
	    NULL ? rep.lines.buf : "", summary);
	strbuf_free(&rep.lines);
}

/* Descriptors 0, 1 and 2 open, on /dev/null where they were closed: a
   process started without them (a careless init script's "2>&-") would
   otherwise hand those numbers to its first sockets, and a log line on
   stderr would go down a device's link. */
static void
std_fds_open(void)
{
	int	fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* The lowest free number: fd itself. */
		if (open("/dev/null", O_RDWR) != fd)
			_exit(EX_SOFTWARE);
	}
}

int
main(int argc, char *argv[])
{
	struct gateway		*gw;
	struct cfg		*cfg;
	struct notify		*nt;
	struct control		*ctl = NULL;
	struct main_ctx		 mc;
	struct gw_reload_report	 rep;
	const char		*path = NULL;
	struct timespec		 tick;
	sigset_t		 set;
	char			 err[512], summary[512], line[1024];
	char			 ctl_path[CFG_SOCKET_MAX];
	bool			 check = false;
	int64_t			 tick_ms, wd_ms;
	int			 ch, sig, n;

	std_fds_open();
	while ((ch = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'V':
			printf("gatewayd %s\n", GATEWAYD_VERSION);
			return (EX_OK);
		case 'h':
			usage(stdout);
			return (EX_OK);
		default:
			usage(stderr);
			return (EX_USAGE);
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return (EX_USAGE);
	}
	/* Before any thread exists: every thread inherits the mask, so only
	   this one receives TERM/INT/HUP, in sigtimedwait(); USR1 is how the
	   control server wakes it for a reload. Before the load, too: a stop
	   asked for while the devices start waits until they have started,
	   then ends the run as at any other time. A write to a dead peer
	   must never kill the process. The device threads' wake-up
	   (LINK_WAKE_SIGNAL) gets in only where they let it: anyone else
	   who sent it would end some other thread's call. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, LINK_WAKE_SIGNAL);
	if ((errno = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0)
		fatal("pthread_sigmask: %s", strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if ((errno = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0)
		fatal("pthread_sigmask: %s", strerror(errno));
	if (load(path, NULL, check ? cfg_load : cfg_load_lookup, &cfg) != 0)
		return (EX_CONFIG);
	if (fit_nofile(cfg, cfg->control_socket, err, sizeof(err)) == -1) {
		snprintf(line, sizeof(line), "%s: %s\n", path, err);
		log_stderr_text(line);
		cfg_free(cfg);
		return (EX_CONFIG);
	}
	if (check) {
		printf("configuration OK\n");
		cfg_print_budgets(cfg, stdout);
		cfg_free(cfg);
		return (EX_OK);
	}

	if ((nt = notify_open(err, sizeof(err))) == NULL)
		fatal("notify_open: %s", strerror(errno));
	if (err[0] != '\0')
		log_warnx("%s", err);
	/* Exit 78: the unit does not restart into the same kill. */
	if (fit_watchdog(cfg, nt, err, sizeof(err)) == -1) {
		snprintf(line, sizeof(line), "%s: %s\n", path, err);
		log_stderr_text(line);
		cfg_free(cfg);
		notify_close(nt);
		return (EX_CONFIG);
	}

	log_info("gatewayd %s starting with %s", GATEWAYD_VERSION, path);
	n = cfg->n_devices;
	snprintf(ctl_path, sizeof(ctl_path), "%s", cfg->control_socket);
	if ((gw = gw_start(cfg, err, sizeof(err))) == NULL) {
		log_error("cannot start: %s", err);
		notify_close(nt);
		return (EX_SOFTWARE);
	}
	/* An operator's convenience, not the relay: without it the gateway
	   runs on (its directory may not exist outside systemd). */
	mc.gw = gw;
	mc.main_tid = pthread_self();
	if (ctl_path[0] != '\0' && (ctl = control_start(ctl_path, &ctl_ops,
	    &mc, err, sizeof(err))) == NULL)
		log_warnx("control.socket: %s; running without the control "
		    "socket", err);
	told(notify_send(nt, "READY=1\nSTATUS=relaying for %d device%s", n,
	    n == 1 ? "" : "s"), "READY=1");
	check_watchdog_fit(nt, wd_period(gw_watchdog(gw)));
	for (;;) {
		/* Wake every period to check that the watchdog still sweeps,
		   and often enough to ping the manager's watchdog in time. */
		tick_ms = wd_period(gw_watchdog(gw));
		wd_ms = notify_watchdog_ms(nt);
		if (wd_ms > 0 && wd_ms / 4 < tick_ms)
			tick_ms = wd_ms / 4 > 0 ? wd_ms / 4 : 1;
		tick = clock_span(tick_ms);
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == -1 && errno != EAGAIN && errno != EINTR)
			fatal("sigtimedwait: %s", strerror(errno));
		guard(gw_watchdog(gw));
		told(notify_watchdog(nt, wd_sweeps(gw_watchdog(gw)), clock_ms()),
		    "WATCHDOG=1");
		/* Every tick, not only on USR1: a wake-up cannot be lost. */
		serve_reload(gw, path, nt, ctl, ctl_path);
		if (sig == -1 || sig == SIGUSR1)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: reloading %s", path);
			memset(&rep, 0, sizeof(rep));
			strbuf_init(&rep.lines);
			(void)reload(gw, path, nt, ctl_path, &rep, summary,
			    sizeof(summary));
			strbuf_free(&rep.lines);
			continue;
		}
		log_info("%s: stopping", strsignal(sig));
		break;
	}
	told(notify_send(nt, "STOPPING=1\nSTATUS=stopping on %s",
	    strsignal(sig)), "STOPPING=1");
	control_stop(ctl);
	gw_stop(gw);
	notify_close(nt);
	return (EX_OK);
}
