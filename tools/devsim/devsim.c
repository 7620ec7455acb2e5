/*
 * devsim.c -- device simulator: plays a piece of plant-floor equipment, or a
 * host, speaking raw TCP, for the demo, the integration and fault tests and
 * the benchmarks. This file holds main() and the poll loop.
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
 * Files: opts.c (command line), output.c (event lines, ready file),
 * listen.c and dial.c (the two roles), conn.c (one connection), mode.c
 * (source stream, chatter), fault.c (close and reset faults).
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include <netdb.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "devsim.h"

#define POLL_MAX_MS	1000

#define PFD_SIGNAL	(-1)
#define PFD_LISTEN	(-2)

static void	 nofile_raise(void);
static int	 sim_signals_init(struct sim *);
static int	 sim_setup(struct sim *);
static int	 sim_run(struct sim *);
static void	 sim_teardown(struct sim *);
static void	 sim_timers(struct sim *, int64_t);
static int64_t	 sim_deadline(const struct sim *);
static int	 sim_pollset(struct sim *, int64_t);
static void	 sim_signal(struct sim *);

/*
 * Raise the soft limit on open files to the hard limit: the soft one is
 * often 1024, too few for a benchmark that opens more connections. Logs
 * nothing if that works, a warning if not; devsim runs on either way.
 */
static void
nofile_raise(void)
{
	struct rlimit	 rl;
	uintmax_t	 soft;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		logmsg("warning: cannot read the open file limit: %s",
		    strerror(errno));
		return;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return;
	soft = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		logmsg("warning: cannot raise the open file limit from %ju to "
		    "%ju: %s", soft, (uintmax_t)rl.rlim_max, strerror(errno));
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

/*
 * Raise the open file limit, allocate, install signals, listen or start
 * dialling. Returns an exit code.
 */
static int
sim_setup(struct sim *s)
{
	int	 n, i;

	s->sig_fd = s->listen_fd = -1;
	s->redial_at_ms = NEVER;
	nofile_raise();
	s->exit_at_ms = fault_at(log_started_ms(), s->opt.exit_after_ms);
	s->nconns = s->opt.listen != NULL ? s->opt.max_conns : 1;
	n = s->nconns + 2;
	/* The buffers apart from the slots: the loop scans every slot on
	   every turn, and should not touch a page per slot to do it. Pages
	   of a buffer that never carries data are never touched at all. */
	s->conns = calloc(s->nconns, sizeof(*s->conns));
	s->bufs = malloc((size_t)s->nconns * BUF_LEN);
	s->pfd = calloc(n, sizeof(*s->pfd));
	s->pconn = calloc(n, sizeof(*s->pconn));
	if (s->conns == NULL || s->bufs == NULL || s->pfd == NULL ||
	    s->pconn == NULL) {
		logmsg("out of memory");
		return (EX_OSERR);
	}
	for (i = 0; i < s->nconns; i++) {
		s->conns[i].fd = -1;
		s->conns[i].buf = s->bufs + (size_t)i * BUF_LEN;
	}
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
		    "%" PRIu64 " failed dials", now_ms() - log_started_ms(),
		    s->stat_conns, s->stat_rx, s->stat_tx,
		    s->stat_dial_failures);
	free(s->pconn);
	free(s->pfd);
	free(s->bufs);
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

int
main(int argc, char *argv[])
{
	struct sim	 s;
	int		 rc;

	memset(&s, 0, sizeof(s));
	log_start();
	opts_parse(argc, argv, &s.opt, &s.addr);
	log_set_name(s.opt.name);
	if ((rc = sim_setup(&s)) == EX_OK)
		rc = sim_run(&s);
	sim_teardown(&s);
	return (rc);
}
