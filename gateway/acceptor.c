/* acceptor.c -- the one thread that accepts clients on every listen link.
 *
 * DESIGN: one thread polls every listening socket and a wake pipe. The
 * table of listeners (any number: it grows) is protected by acc->mu; the
 * thread holds it while it accepts and hands clients over, so
 * acceptor_remove() (which takes the same lock, then waits until the
 * thread has rebuilt its poll set) can never race with a hand-over to a
 * link that is going away. Halt: set acc->stop under the lock, write to the
 * pipe, join; from then on a remove does not wait.
 *
 * Out of descriptors: a listening socket with a client waiting stays
 * readable, so poll() would return at once forever. The acceptor keeps one
 * spare descriptor; when accept() fails with EMFILE/ENFILE it gives the
 * spare up, accepts the client, closes it at once (the client sees its
 * connection closed rather than hanging in the backlog), and takes the
 * spare again. Each dropped client is counted; one line a minute says how
 * many. Should the spare be lost, the listening sockets are left out of the
 * poll set for a pause instead.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acceptor.h"
#include "addr.h"
#include "clock.h"
#include "endpoint.h"
#include "log.h"
#include "spare.h"

#define ACC_FULL_LOG_MS		60000	/* one "out of descriptors" a minute */
#define ACC_PAUSE_MS		1000	/* without a spare: poll less */

struct listener {
	struct link		*link;
	int			 fd;
};

struct acceptor {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	pthread_t		 tid;
	bool			 started;
	int			 wake[2];
	/* Protected by mu. */
	struct listener		*ls;
	int			 n, cap;
	unsigned		 epoch;		/* +1 on every change */
	unsigned		 seen_epoch;	/* the thread's poll set */
	bool			 stop;
	/* The thread's alone. */
	struct pollfd		*pfd;
	int			 pfd_cap;
	struct spare		 spare;
	unsigned long		 dropped;	/* clients closed for lack of fds */
	struct log_limit	 full_log;
};

static void	*acceptor_main(void *);

static void
acc_wake(struct acceptor *acc)
{
	char	c = 0;
	ssize_t	rc;

	/* A full pipe already holds a wake-up: EAGAIN is fine. */
	rc = write(acc->wake[1], &c, 1);
	(void)rc;
}

struct acceptor *
acceptor_start(void)
{
	struct acceptor		*acc;
	pthread_condattr_t	 ca;
	int			 saved_errno;

	if ((acc = calloc(1, sizeof(*acc))) == NULL)
		return (NULL);
	acc->wake[0] = acc->wake[1] = -1;
	acc->full_log.window_ms = ACC_FULL_LOG_MS;
	if (spare_open(&acc->spare) == -1 ||
	    pipe2(acc->wake, O_CLOEXEC | O_NONBLOCK) == -1) {
		saved_errno = errno;
		spare_close(&acc->spare);
		free(acc);
		errno = saved_errno;
		return (NULL);
	}
	pthread_mutex_init(&acc->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&acc->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((errno = pthread_create(&acc->tid, NULL, acceptor_main, acc)) !=
	    0) {
		saved_errno = errno;
		acc->stop = true;
		acceptor_free(acc);
		errno = saved_errno;
		return (NULL);
	}
	acc->started = true;
	return (acc);
}

void
acceptor_halt(struct acceptor *acc)
{
	if (acc == NULL || !acc->started)
		return;
	pthread_mutex_lock(&acc->mu);
	acc->stop = true;
	pthread_mutex_unlock(&acc->mu);
	acc_wake(acc);
	pthread_join(acc->tid, NULL);
	acc->started = false;
}

void
acceptor_free(struct acceptor *acc)
{
	int	i;

	if (acc == NULL)
		return;
	acceptor_halt(acc);
	for (i = 0; i < acc->n; i++)
		close(acc->ls[i].fd);
	free(acc->ls);
	free(acc->pfd);
	spare_close(&acc->spare);
	close(acc->wake[0]);
	close(acc->wake[1]);
	pthread_cond_destroy(&acc->cv);
	pthread_mutex_destroy(&acc->mu);
	free(acc);
}

int
acceptor_add(struct acceptor *acc, struct link *l, char *err, size_t errlen)
{
	struct listener	*ls;
	char		 bound[LINK_PEER_MAX];
	int		 fd, cap;

	if ((fd = endpoint_listen(link_endpoint(l), err, errlen)) == -1)
		return (-1);
	/* As bound: a port 0 or a name shows what it became. */
	if (endpoint_local_addr(fd, bound, sizeof(bound)) == -1) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		close(fd);
		return (-1);
	}
	pthread_mutex_lock(&acc->mu);
	if (acc->n == acc->cap) {
		cap = acc->cap > 0 ? acc->cap * 2 : 16;
		if ((ls = reallocarray(acc->ls, (size_t)cap,
		    sizeof(*ls))) == NULL) {
			pthread_mutex_unlock(&acc->mu);
			close(fd);
			snprintf(err, errlen, "out of memory");
			errno = ENOMEM;
			return (-1);
		}
		acc->ls = ls;
		acc->cap = cap;
	}
	ls = &acc->ls[acc->n++];
	ls->link = l;
	ls->fd = fd;
	acc->epoch++;
	pthread_mutex_unlock(&acc->mu);
	acc_wake(acc);
	link_set_listening(l, bound);
	link_log(l, LOG_LVL_INFO, WD_REASON_NONE, "%s: listening on %s",
	    link_name(l), bound);
	return (0);
}

void
acceptor_remove(struct acceptor *acc, struct link *l)
{
	int	i, fd = -1;

	pthread_mutex_lock(&acc->mu);
	for (i = 0; i < acc->n; i++) {
		if (acc->ls[i].link == l) {
			fd = acc->ls[i].fd;
			acc->ls[i] = acc->ls[--acc->n];
			acc->epoch++;
			break;
		}
	}
	if (fd != -1) {
		acc_wake(acc);
		/* The thread may still poll the old fd: wait for a new set. */
		while (!acc->stop && acc->seen_epoch != acc->epoch)
			pthread_cond_wait(&acc->cv, &acc->mu);
	}
	pthread_mutex_unlock(&acc->mu);
	if (fd != -1)
		close(fd);
}

static bool
allowed(const struct cfg_endpoint *ep, const struct sockaddr *sa)
{
	int	i;

	if (ep->n_allow == 0)
		return (true);
	for (i = 0; i < ep->n_allow; i++)
		if (addr_cidr_match(&ep->allow[i], sa))
			return (true);
	return (false);
}

/* A client turned away for want of descriptors: count it, and say so at
   most once a window. */
static void
turned_away(struct acceptor *acc, struct listener *ls)
{
	unsigned	suppressed;

	acc->dropped++;
	if (log_limit_allow(&acc->full_log, clock_ms(), &suppressed))
		link_log(ls->link, LOG_LVL_WARN, WD_REASON_NONE, "%s: out of "
		    "file descriptors: closed new clients at once (%lu so "
		    "far)%s", link_name(ls->link), acc->dropped,
		    log_suppressed(suppressed));
}

/* Accept every client waiting on ls. Called with acc->mu held. Returns
   false when the process is out of descriptors and no spare is left, so
   that the caller pauses. */
static bool
accept_all(struct acceptor *acc, struct listener *ls)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 peer[LINK_PEER_MAX];
	int			 fd;
	bool			 away;

	for (;;) {
		sslen = sizeof(ss);
		fd = spare_accept(ls->fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_CLOEXEC);
		if (fd == -1) {
			switch (spare_accept_failed(&acc->spare, ls->fd, errno,
			    NULL, &away)) {
			case SPARE_AGAIN:
				if (away)
					turned_away(acc, ls);
				continue;
			case SPARE_PAUSE:
				return (false);
			default:
				return (true);	/* drained */
			}
		}
		addr_format((struct sockaddr *)&ss, peer, sizeof(peer));
		if (!allowed(link_endpoint(ls->link), (struct sockaddr *)&ss)) {
			link_refuse(ls->link, peer, "not in allow list");
			close(fd);
			continue;
		}
		link_offer(ls->link, fd, peer);
	}
}

/* Rebuild the poll set from the table. Called with acc->mu held. Returns
   the number of listeners polled, or -1 when out of memory. */
static int
acceptor_pollset(struct acceptor *acc)
{
	struct pollfd	*pfd;
	int		 i, cap;

	if (acc->n + 1 > acc->pfd_cap) {
		cap = acc->n + 1 + 16;
		if ((pfd = reallocarray(acc->pfd, (size_t)cap,
		    sizeof(*pfd))) == NULL)
			return (-1);
		acc->pfd = pfd;
		acc->pfd_cap = cap;
	}
	for (i = 0; i < acc->n; i++) {
		acc->pfd[i].fd = acc->ls[i].fd;
		acc->pfd[i].events = POLLIN;
		acc->pfd[i].revents = 0;
	}
	return (acc->n);
}

static void *
acceptor_main(void *arg)
{
	struct acceptor	*acc = arg;
	unsigned	 epoch;
	char		 drain[64];
	int		 i, n, timeout = -1;
	bool		 paused = false;

	log_set_tag("acceptor");
	for (;;) {
		pthread_mutex_lock(&acc->mu);
		if (acc->stop) {
			pthread_mutex_unlock(&acc->mu);
			break;
		}
		if ((n = acceptor_pollset(acc)) == -1)
			fatal("acceptor: out of memory");
		epoch = acc->seen_epoch = acc->epoch;
		pthread_cond_broadcast(&acc->cv);
		pthread_mutex_unlock(&acc->mu);

		/* Paused: only the wake pipe, until the pause is over. */
		if (paused)
			n = 0;
		acc->pfd[n].fd = acc->wake[0];
		acc->pfd[n].events = POLLIN;
		acc->pfd[n].revents = 0;
		if (poll(acc->pfd, (nfds_t)n + 1, timeout) == -1 &&
		    errno != EINTR)
			fatal("acceptor: poll: %s", strerror(errno));
		timeout = -1;
		paused = false;
		if (acc->pfd[n].revents & POLLIN)
			while (read(acc->wake[0], drain, sizeof(drain)) > 0)
				;
		pthread_mutex_lock(&acc->mu);
		/* A changed table means pfd[] no longer matches acc->ls[]. */
		for (i = 0; i < n && acc->epoch == epoch; i++) {
			if (!(acc->pfd[i].revents & POLLIN))
				continue;
			if (!accept_all(acc, &acc->ls[i])) {
				paused = true;
				timeout = ACC_PAUSE_MS;
			}
		}
		pthread_mutex_unlock(&acc->mu);
	}
	return (NULL);
}
