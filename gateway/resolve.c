/* resolve.c -- address lookups that a stop never waits for.
 *
 * DESIGN: getaddrinfo() on a name may block for as long as the resolver
 * likes (a DNS server that never answers: attempts * timeout per server),
 * and nothing interrupts it. So a name is looked up by a detached thread
 * of its own, which signals an eventfd when done; the dialling thread
 * polls that eventfd beside its wake fd and its deadline. Whoever of the
 * two lets go last frees the lookup: the caller that gave up on it (a stop,
 * a timeout) leaves the result to the thread. Literal addresses never get
 * a thread: they are converted at once.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netdb.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "resolve.h"

struct lookup {
	pthread_mutex_t	 mu;
	int		 refs;		/* the caller and the thread */
	int		 done_fd;	/* eventfd, readable when done */
	char		 host[ADDR_HOST_MAX + 1];
	char		 port[16];
	int		 rc;		/* getaddrinfo()'s, once done */
	int		 err;		/* errno with EAI_SYSTEM */
	struct addrinfo	*res;
};

static void	*lookup_main(void *);
static void	 lookup_put(struct lookup *);

static void
lookup_put(struct lookup *lk)
{
	bool	last;

	pthread_mutex_lock(&lk->mu);
	last = --lk->refs == 0;
	pthread_mutex_unlock(&lk->mu);
	if (!last)
		return;
	if (lk->res != NULL)
		freeaddrinfo(lk->res);
	close(lk->done_fd);
	pthread_mutex_destroy(&lk->mu);
	free(lk);
}

static void *
lookup_main(void *arg)
{
	struct lookup	*lk = arg;
	struct addrinfo	 hints, *res = NULL;
	uint64_t	 one = 1;
	ssize_t		 n;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	rc = getaddrinfo(lk->host, lk->port, &hints, &res);
	pthread_mutex_lock(&lk->mu);
	lk->rc = rc;
	lk->err = errno;
	lk->res = rc == 0 ? res : NULL;
	pthread_mutex_unlock(&lk->mu);
	n = write(lk->done_fd, &one, sizeof(one));
	(void)n;	/* an eventfd write of 1 cannot fail here */
	lookup_put(lk);
	return (NULL);
}

/* A name: look it up on a thread of its own, wait for it, the wake fd or
   the deadline. */
static int
resolve_name(const char *host, const char *port, int wake_fd, int timeout_ms,
    struct addrinfo **res, char *err, size_t errlen)
{
	struct lookup	*lk;
	struct pollfd	 pfd[2];
	pthread_attr_t	 attr;
	pthread_t	 tid;
	int64_t		 deadline, left;
	int		 rc, saved;

	if ((lk = calloc(1, sizeof(*lk))) == NULL) {
		snprintf(err, errlen, "cannot resolve %s: out of memory", host);
		return (-1);
	}
	if ((lk->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		saved = errno;
		free(lk);
		snprintf(err, errlen, "cannot resolve %s: eventfd: %s", host,
		    strerror(saved));
		errno = saved;
		return (-1);
	}
	pthread_mutex_init(&lk->mu, NULL);
	lk->refs = 2;
	snprintf(lk->host, sizeof(lk->host), "%s", host);
	snprintf(lk->port, sizeof(lk->port), "%s", port);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, lookup_main, lk);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		lk->refs = 1;
		lookup_put(lk);
		snprintf(err, errlen, "cannot resolve %s: cannot start a "
		    "thread: %s", host, strerror(rc));
		errno = rc;
		return (-1);
	}

	deadline = clock_ms() + timeout_ms;
	for (;;) {
		pfd[0].fd = lk->done_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = wake_fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		if ((left = deadline - clock_ms()) < 0)
			left = 0;
		rc = poll(pfd, wake_fd != -1 ? 2 : 1, (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1 || pfd[0].revents != 0 || pfd[1].revents != 0 ||
		    left == 0)
			break;
	}
	if (pfd[0].revents == 0) {
		saved = rc == -1 ? errno : pfd[1].revents != 0 ? ECANCELED :
		    ETIMEDOUT;
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    saved == ETIMEDOUT ? "no answer in time" : strerror(saved));
		lookup_put(lk);
		errno = saved;
		return (-1);
	}
	pthread_mutex_lock(&lk->mu);
	rc = lk->rc;
	saved = lk->err;
	*res = lk->res;
	lk->res = NULL;
	pthread_mutex_unlock(&lk->mu);
	lookup_put(lk);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		errno = rc == EAI_SYSTEM ? saved : EHOSTUNREACH;
		return (-1);
	}
	return (0);
}

int
resolve_stream(const char *host, const char *port, int wake_fd,
    int timeout_ms, struct addrinfo **res, char *err, size_t errlen)
{
	struct addrinfo	hints;
	int		rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, res)) == 0)
		return (0);
	if (rc != EAI_NONAME) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		errno = EHOSTUNREACH;
		return (-1);
	}
	return (resolve_name(host, port, wake_fd, timeout_ms, res, err,
	    errlen));
}
