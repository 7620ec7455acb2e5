/* acceptor.c -- the one thread that accepts clients on every listen link.
 *
 * DESIGN: one thread polls every listening socket and a wake pipe. The
 * table of listeners is protected by acc->mu; the thread holds it while it
 * accepts and hands clients over, so acceptor_remove() (which takes the
 * same lock, then waits until the thread has rebuilt its poll set) can
 * never race with a hand-over to a link that is going away. Stop: set
 * acc->stop under the lock, write to the pipe, join.
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

#define ACC_MAX		1024	/* listening sockets */
#define ACC_REFUSE_LOG_MS 10000

struct listener {
	struct link		*link;
	int			 fd;
	struct log_limit	 refuse_log;
};

struct acceptor {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	pthread_t		 tid;
	int			 wake[2];
	/* Protected by mu. */
	struct listener		 ls[ACC_MAX];
	int			 n;
	unsigned		 epoch;		/* +1 on every change */
	unsigned		 seen_epoch;	/* the thread's poll set */
	bool			 stop;
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
	if (pipe2(acc->wake, O_CLOEXEC | O_NONBLOCK) == -1)
		goto out_free;
	pthread_mutex_init(&acc->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&acc->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((errno = pthread_create(&acc->tid, NULL, acceptor_main, acc)) != 0)
		goto out_pipe;
	return (acc);
out_pipe:
	saved_errno = errno;
	pthread_cond_destroy(&acc->cv);
	pthread_mutex_destroy(&acc->mu);
	close(acc->wake[0]);
	close(acc->wake[1]);
	errno = saved_errno;
out_free:
	saved_errno = errno;
	free(acc);
	errno = saved_errno;
	return (NULL);
}

void
acceptor_stop(struct acceptor *acc)
{
	int	i;

	if (acc == NULL)
		return;
	pthread_mutex_lock(&acc->mu);
	acc->stop = true;
	pthread_mutex_unlock(&acc->mu);
	acc_wake(acc);
	pthread_join(acc->tid, NULL);
	for (i = 0; i < acc->n; i++)
		close(acc->ls[i].fd);
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
	int		 fd;

	if ((fd = endpoint_listen(link_endpoint(l), err, errlen)) == -1)
		return (-1);
	/* As bound: a port 0 or a name shows what it became. */
	if (endpoint_local_addr(fd, bound, sizeof(bound)) == -1) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		close(fd);
		return (-1);
	}
	pthread_mutex_lock(&acc->mu);
	if (acc->n == ACC_MAX) {
		pthread_mutex_unlock(&acc->mu);
		close(fd);
		snprintf(err, errlen, "too many listening sockets (%d)",
		    ACC_MAX);
		errno = EMFILE;
		return (-1);
	}
	ls = &acc->ls[acc->n++];
	memset(ls, 0, sizeof(*ls));
	ls->link = l;
	ls->fd = fd;
	ls->refuse_log.window_ms = ACC_REFUSE_LOG_MS;
	acc->epoch++;
	pthread_mutex_unlock(&acc->mu);
	acc_wake(acc);
	link_set_listening(l, bound);
	log_subject(LOG_LVL_INFO, "%s: listening on %s", link_name(l), bound);
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

/* Accept every client waiting on ls. Called with acc->mu held. Returns
   false when the process is out of descriptors, so the caller pauses. */
static bool
accept_all(struct listener *ls)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 peer[LINK_PEER_MAX];
	unsigned		 suppressed;
	int			 fd;

	for (;;) {
		sslen = sizeof(ss);
		fd = accept4(ls->fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("%s: accept", link_name(ls->link));
				return (false);
			}
			return (true);	/* EAGAIN: drained */
		}
		addr_format((struct sockaddr *)&ss, peer, sizeof(peer));
		if (!allowed(link_endpoint(ls->link), (struct sockaddr *)&ss)) {
			if (log_limit_allow(&ls->refuse_log, clock_ms(),
			    &suppressed))
				log_subject(LOG_LVL_WARN, "%s: refused %s: not "
				    "in allow list%s", link_name(ls->link), peer,
				    log_suppressed(suppressed));
			close(fd);
			continue;
		}
		link_offer(ls->link, fd, peer);
	}
}

static void *
acceptor_main(void *arg)
{
	struct acceptor	*acc = arg;
	struct pollfd	 pfd[ACC_MAX + 1];
	unsigned	 epoch;
	char		 drain[64];
	int		 i, n, timeout;
	bool		 ok;

	log_set_tag("acceptor");
	timeout = -1;
	for (;;) {
		pthread_mutex_lock(&acc->mu);
		if (acc->stop) {
			pthread_mutex_unlock(&acc->mu);
			break;
		}
		for (i = 0; i < acc->n; i++) {
			pfd[i].fd = acc->ls[i].fd;
			pfd[i].events = POLLIN;
		}
		n = acc->n;
		epoch = acc->seen_epoch = acc->epoch;
		pthread_cond_broadcast(&acc->cv);
		pthread_mutex_unlock(&acc->mu);

		pfd[n].fd = acc->wake[0];
		pfd[n].events = POLLIN;
		if (poll(pfd, (nfds_t)n + 1, timeout) == -1 && errno != EINTR)
			fatal("acceptor: poll: %s", strerror(errno));
		timeout = -1;
		if (pfd[n].revents & POLLIN)
			while (read(acc->wake[0], drain, sizeof(drain)) > 0)
				;
		pthread_mutex_lock(&acc->mu);
		/* A changed table means pfd[] no longer matches acc->ls[]. */
		if (acc->epoch == epoch) {
			for (i = 0; i < n; i++) {
				if (!(pfd[i].revents & POLLIN))
					continue;
				ok = accept_all(&acc->ls[i]);
				if (!ok)
					timeout = 100;	/* out of fds: pause */
			}
		}
		pthread_mutex_unlock(&acc->mu);
	}
	return (NULL);
}
