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
#include "gateway.h"
#include "log.h"
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

/* Load path, printing every error (and warning) on stderr. */
static struct cfg *
load(const char *path)
{
	struct cfg	*cfg;

	if (cfg_load(path, &cfg, stderr) == -1)
		return (NULL);
	return (cfg);
}

static void
reload(struct gateway *gw, const char *path)
{
	struct cfg	*cfg;

	log_info("SIGHUP: reloading %s", path);
	if ((cfg = load(path)) == NULL) {
		log_warnx("reload: %s is not valid; running configuration kept",
		    path);
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

	log_info("gatewayd %s starting with %s", GATEWAYD_VERSION, path);
	if ((gw = gw_start(cfg, err, sizeof(err))) == NULL) {
		log_error("cannot start: %s", err);
		return (EX_SOFTWARE_CODE);
	}
	for (;;) {
		/* Wake every period to check that the watchdog still sweeps. */
		period = wd_period(gw_watchdog(gw));
		tick.tv_sec = period / 1000;
		tick.tv_nsec = (long)(period % 1000) * 1000000;
		sig = sigtimedwait(&set, NULL, &tick);
		gw_guard_watchdog(gw_watchdog(gw));
		if (sig == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fatal("sigtimedwait");
		}
		if (sig == SIGHUP) {
			reload(gw, path);
			continue;
		}
		log_info("%s: stopping", strsignal(sig));
		break;
	}
	gw_stop(gw);
	return (EX_OK_CODE);
}
