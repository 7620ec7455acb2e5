/* main.c -- gatewayd: command line, signals, lifecycle, exit codes. */
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "clock.h"
#include "gateway.h"
#include "log.h"
#include "watchdog.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: gatewayd -c FILE [-t]\n"
	    "       gatewayd -V | -h\n"
	    "  -c FILE  configuration file (libconfig syntax)\n"
	    "  -t       check the configuration and exit: 0 when it is valid,\n"
	    "           78 when it is not\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n"
	    "Runs in the foreground and logs to stderr. SIGTERM/SIGINT stop,\n"
	    "SIGHUP reloads the configuration.\n");
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
   shells start daemons with 1024), then say whether cfg fits in it: 0, or
   -1 with the reason in err. */
static int
fit_nofile(const struct cfg *cfg, char *err, size_t errlen)
{
	struct rlimit	rl;
	long		need = gw_fds_needed(cfg);

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

static void
reload(struct gateway *gw, const char *path)
{
	struct cfg	*cfg;
	char		 err[256];

	log_info("SIGHUP: reloading %s", path);
	if ((cfg = load(path)) == NULL) {
		log_warnx("reload: %s is not valid; running configuration kept",
		    path);
		return;
	}
	if (fit_nofile(cfg, err, sizeof(err)) == -1) {
		log_warnx("reload: %s %s; running configuration kept", path,
		    err);
		cfg_free(cfg);
		return;
	}
	gw_reload(gw, cfg);
}

int
main(int argc, char *argv[])
{
	struct gateway	*gw;
	struct cfg	*cfg;
	const char	*path = NULL;
	struct timespec	 tick;
	sigset_t	 set;
	char		 err[512];
	bool		 check = false;
	int		 ch, sig, period;

	while ((ch = getopt(argc, argv, "c:thV")) != -1) {
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
	if ((cfg = load(path)) == NULL)
		return (EX_CONFIG);
	if (fit_nofile(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", path, err);
		cfg_free(cfg);
		return (EX_CONFIG);
	}
	if (check) {
		cfg_free(cfg);
		printf("configuration OK\n");
		return (EX_OK);
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
		fatal("pthread_sigmask: %s", strerror(errno));

	log_info("gatewayd %s starting with %s", GATEWAYD_VERSION, path);
	if ((gw = gw_start(cfg, err, sizeof(err))) == NULL) {
		log_error("cannot start: %s", err);
		return (EX_SOFTWARE);
	}
	for (;;) {
		/* Wake every period to check that the watchdog still sweeps. */
		period = wd_period(gw_watchdog(gw));
		tick.tv_sec = period / 1000;
		tick.tv_nsec = (long)(period % 1000) * 1000000;
		sig = sigtimedwait(&set, NULL, &tick);
		guard(gw_watchdog(gw));
		if (sig == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fatal("sigtimedwait: %s", strerror(errno));
		}
		if (sig == SIGHUP) {
			reload(gw, path);
			continue;
		}
		log_info("%s: stopping", strsignal(sig));
		break;
	}
	gw_stop(gw);
	return (EX_OK);
}
