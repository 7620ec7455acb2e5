/* main.c -- gatewayd: command line, signals, lifecycle, exit codes. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "clock.h"
#include "gateway.h"
#include "log.h"
#include "notify.h"
#include "watchdog.h"

#define EX_OK_CODE	0
#define EX_USAGE_CODE	64
#define EX_SOFTWARE_CODE 70
#define EX_CONFIG_CODE	78

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
	    "Runs in the foreground and logs to stderr. SIGTERM/SIGINT stop,\n"
	    "SIGHUP reloads the configuration.\n");
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
	log_warn("cannot tell the service manager %s%s", what,
	    log_suppressed(suppressed));
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

/* Load path, printing every error (and warning) on stderr. */
static struct cfg *
load(const char *path)
{
	struct cfg	*cfg;

	if (cfg_load(path, &cfg, stderr) == -1)
		return (NULL);
	return (cfg);
}

/* Reload path; the manager sees RELOADING=1, then READY=1 whatever the
   outcome, since the gateway runs on either way. */
static void
reload(struct gateway *gw, const char *path, struct notify *nt)
{
	struct cfg	*cfg;
	int		 n;

	told(notify_reloading(nt, path), "RELOADING=1");
	log_info("SIGHUP: reloading %s", path);
	if ((cfg = load(path)) == NULL) {
		log_warnx("reload: %s is not valid; running configuration kept",
		    path);
		told(notify_send(nt, "READY=1\nSTATUS=reload failed: %s is "
		    "not valid; running configuration kept", path), "READY=1");
		return;
	}
	n = cfg->n_devices;
	if (gw_reload(gw, cfg) == -1)
		told(notify_send(nt, "READY=1\nSTATUS=reloaded; some devices "
		    "could not start (see the log)"), "READY=1");
	else
		told(notify_send(nt, "READY=1\nSTATUS=relaying for %d "
		    "device%s", n, n == 1 ? "" : "s"), "READY=1");
	check_watchdog_fit(nt, wd_period(gw_watchdog(gw)));
}

int
main(int argc, char *argv[])
{
	struct gateway	*gw;
	struct cfg	*cfg;
	struct notify	*nt;
	const char	*path = NULL;
	struct timespec	 tick;
	sigset_t	 set;
	char		 err[512];
	bool		 check = false;
	int64_t		 tick_ms, wd_ms;
	int		 ch, sig, n;

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
			return (EX_OK_CODE);
		case 'h':
			usage(stdout);
			return (EX_OK_CODE);
		default:
			usage(stderr);
			return (EX_USAGE_CODE);
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return (EX_USAGE_CODE);
	}
	if ((cfg = load(path)) == NULL)
		return (EX_CONFIG_CODE);
	if (check) {
		cfg_free(cfg);
		printf("configuration OK\n");
		return (EX_OK_CODE);
	}

	/* Before any thread exists: every thread inherits the mask, so only
	   this one receives TERM/INT/HUP, in sigtimedwait(). A write to a
	   dead peer must never kill the process. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if ((errno = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0)
		fatal("pthread_sigmask");

	if ((nt = notify_open(err, sizeof(err))) == NULL)
		fatal("notify_open");
	if (err[0] != '\0')
		log_warnx("%s", err);

	log_info("gatewayd %s starting with %s", GATEWAYD_VERSION, path);
	n = cfg->n_devices;
	if ((gw = gw_start(cfg, err, sizeof(err))) == NULL) {
		log_error("cannot start: %s", err);
		notify_close(nt);
		return (EX_SOFTWARE_CODE);
	}
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
		tick.tv_sec = (time_t)(tick_ms / 1000);
		tick.tv_nsec = (long)(tick_ms % 1000) * 1000000;
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == -1 && errno != EAGAIN && errno != EINTR)
			fatal("sigtimedwait");
		gw_guard_watchdog(gw_watchdog(gw));
		told(notify_watchdog(nt, wd_sweeps(gw_watchdog(gw)), clock_ms()),
		    "WATCHDOG=1");
		if (sig == -1)
			continue;
		if (sig == SIGHUP) {
			reload(gw, path, nt);
			continue;
		}
		log_info("%s: stopping", strsignal(sig));
		break;
	}
	told(notify_send(nt, "STOPPING=1\nSTATUS=stopping on %s",
	    strsignal(sig)), "STOPPING=1");
	gw_stop(gw);
	notify_close(nt);
	return (EX_OK_CODE);
}
