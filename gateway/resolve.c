/* resolve.c -- address lookups that a stop never waits for.
 *
 * DESIGN: getaddrinfo() on a name may block for as long as the resolver
 * likes (a DNS server that never answers: attempts * timeout per server),
 * and nothing interrupts it. So a name is looked up by a detached thread
 * of its own, which signals an eventfd when done; a caller polls that
 * eventfd beside its wake fd and its deadline. A caller that gives up (a
 * stop, a timeout) leaves the lookup running. The lookups under way are
 * listed by host, port and purpose (to dial, or to bind: a listen name
 * the configuration check compares), and a caller for a name listed there
 * waits for that lookup instead of starting another: a slow answer serves
 * the next try, and a silent DNS server costs one thread per name, however
 * often its devices redial. The thread takes its lookup off the list as soon as
 * getaddrinfo() returns, so no answer is kept: a lookup that starts later
 * asks the resolver afresh. The callers and the thread each hold a
 * reference; whoever lets go last frees the lookup. Literal addresses
 * never get a thread: they are converted at once.
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

struct resolve_lookup {
	struct resolve_lookup *next;	/* in running, until getaddrinfo()
					   returns */
	pthread_mutex_t	 mu;
	int		 refs;		/* the callers and the thread */
	int		 done_fd;	/* eventfd, readable when done */
	char		 host[ADDR_HOST_MAX + 1];
	char		 port[16];
	int		 flags;		/* getaddrinfo()'s: to dial or to bind */
	int		 rc;		/* getaddrinfo()'s, once done */
	int		 err;		/* errno with EAI_SYSTEM */
	struct addrinfo	*res;
};

/* The lookups whose getaddrinfo() has not returned yet. */
static pthread_mutex_t	 running_mu = PTHREAD_MUTEX_INITIALIZER;
static struct resolve_lookup *running;

static void	 addrs_copy(const struct addrinfo *, struct resolve_addrs *);
static void	 binds_copy(const struct addrinfo *, struct addr_binds *);
static void	 lookup_unlist(struct resolve_lookup *);
static struct resolve_lookup *lookup_start(const char *, const char *, int,
		    char *, size_t);
static struct resolve_lookup *lookup_take(const char *, const char *, int,
		    char *, size_t);
static int	 lookup_wait(struct resolve_lookup *, int,
		    const struct wake *, int64_t);
static int	 resolve_name(const char *, const char *, int, int,
		    const struct wake *, int, struct resolve_addrs *, char *,
		    size_t);
static void	*lookup_main(void *);
static void	 lookup_put(struct resolve_lookup *);

/* The first RESOLVE_ADDRS_MAX addresses of res, in order. */
static void
addrs_copy(const struct addrinfo *res, struct resolve_addrs *out)
{
	const struct addrinfo	*ai;

	out->n = 0;
	for (ai = res; ai != NULL && out->n < RESOLVE_ADDRS_MAX;
	    ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out->a[0].ss))
			continue;
		memcpy(&out->a[out->n].ss, ai->ai_addr, ai->ai_addrlen);
		out->a[out->n].len = ai->ai_addrlen;
		out->n++;
	}
}

/* The first ADDR_BINDS_MAX IPv4 and IPv6 addresses of res, in order,
   without their port. */
static void
binds_copy(const struct addrinfo *res, struct addr_binds *out)
{
	const struct addrinfo	*ai;

	out->n = 0;
	for (ai = res; ai != NULL && out->n < ADDR_BINDS_MAX;
	    ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(out->a[0]))
			continue;
		memcpy(&out->a[out->n], ai->ai_addr, ai->ai_addrlen);
		if (ai->ai_family == AF_INET)
			out->a[out->n].in.sin_port = 0;
		else
			out->a[out->n].in6.sin6_port = 0;
		out->n++;
	}
}

static void
lookup_put(struct resolve_lookup *lk)
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

static void
lookup_unlist(struct resolve_lookup *lk)
{
	struct resolve_lookup	**pp;

	pthread_mutex_lock(&running_mu);
	for (pp = &running; *pp != NULL; pp = &(*pp)->next)
		if (*pp == lk) {
			*pp = lk->next;
			break;
		}
	pthread_mutex_unlock(&running_mu);
}

static void *
lookup_main(void *arg)
{
	struct resolve_lookup	*lk = arg;
	struct addrinfo	 hints, *res = NULL;
	uint64_t	 one = 1;
	ssize_t		 n;
	int		 rc, saved;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = lk->flags | AI_NUMERICSERV;
	rc = getaddrinfo(lk->host, lk->port, &hints, &res);
	saved = errno;
	lookup_unlist(lk);
	pthread_mutex_lock(&lk->mu);
	lk->rc = rc;
	lk->err = saved;
	lk->res = rc == 0 ? res : NULL;
	pthread_mutex_unlock(&lk->mu);
	n = write(lk->done_fd, &one, sizeof(one));
	(void)n;	/* an eventfd write of 1 cannot fail here */
	lookup_put(lk);
	return (NULL);
}

/* A new lookup of host:port with getaddrinfo()'s flags on a thread of
   its own, listed in running (the caller holds running_mu); one reference
   is the caller's. NULL with errno and a reason in err when it cannot
   start. */
static struct resolve_lookup *
lookup_start(const char *host, const char *port, int flags, char *err,
    size_t errlen)
{
	struct resolve_lookup	*lk;
	pthread_attr_t	 attr;
	pthread_t	 tid;
	int		 rc, saved;

	if ((lk = calloc(1, sizeof(*lk))) == NULL) {
		snprintf(err, errlen, "cannot resolve %s: out of memory", host);
		errno = ENOMEM;
		return (NULL);
	}
	if ((lk->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		saved = errno;
		free(lk);
		snprintf(err, errlen, "cannot resolve %s: eventfd: %s", host,
		    strerror(saved));
		errno = saved;
		return (NULL);
	}
	pthread_mutex_init(&lk->mu, NULL);
	lk->refs = 2;
	snprintf(lk->host, sizeof(lk->host), "%s", host);
	snprintf(lk->port, sizeof(lk->port), "%s", port);
	lk->flags = flags;
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
		return (NULL);
	}
	lk->next = running;
	running = lk;
	return (lk);
}

/* The lookup of host:port with these flags under way, or a new one; a
   reference to it. */
static struct resolve_lookup *
lookup_take(const char *host, const char *port, int flags, char *err,
    size_t errlen)
{
	struct resolve_lookup	*lk;

	pthread_mutex_lock(&running_mu);
	for (lk = running; lk != NULL; lk = lk->next)
		if (strcmp(lk->host, host) == 0 &&
		    strcmp(lk->port, port) == 0 && lk->flags == flags)
			break;
	if (lk != NULL) {
		pthread_mutex_lock(&lk->mu);
		lk->refs++;
		pthread_mutex_unlock(&lk->mu);
	} else
		lk = lookup_start(host, port, flags, err, errlen);
	pthread_mutex_unlock(&running_mu);
	return (lk);
}

/* Wait until lk is done, wake_fd (-1: none) is readable or the deadline
   (clock_ms()) passes. Returns 0 when done, else -1 with errno ECANCELED,
   ETIMEDOUT or poll()'s. */
static int
lookup_wait(struct resolve_lookup *lk, int wake_fd, const struct wake *wake,
    int64_t deadline)
{
	struct pollfd	pfd[2];
	int		rc;

	pfd[0].fd = lk->done_fd;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	pfd[1].fd = wake_fd;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	rc = wake_poll(pfd, wake_fd != -1 ? 2 : 1, deadline, wake);
	if (pfd[0].revents != 0)
		return (0);
	if (rc != -1)
		errno = pfd[1].revents != 0 ? ECANCELED : ETIMEDOUT;
	return (-1);
}

/* A name: take the lookup under way or start one, and wait for it, the
   wake fd or the deadline. */
static int
resolve_name(const char *host, const char *port, int flags, int wake_fd,
    const struct wake *wake, int timeout_ms, struct resolve_addrs *out,
    char *err, size_t errlen)
{
	struct resolve_lookup	*lk;
	int			 rc, saved;

	if ((lk = lookup_take(host, port, flags, err, errlen)) == NULL)
		return (-1);
	if (lookup_wait(lk, wake_fd, wake, clock_ms() + timeout_ms) == -1) {
		saved = errno;
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    saved == ETIMEDOUT ? "no answer in time" : strerror(saved));
		lookup_put(lk);
		errno = saved;
		return (-1);
	}
	pthread_mutex_lock(&lk->mu);
	rc = lk->rc;
	saved = lk->err;
	if (rc == 0)
		addrs_copy(lk->res, out);
	pthread_mutex_unlock(&lk->mu);
	lookup_put(lk);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		errno = rc == EAI_SYSTEM ? saved : EHOSTUNREACH;
		return (-1);
	}
	if (out->n == 0) {
		snprintf(err, errlen, "cannot resolve %s: no address", host);
		errno = EHOSTUNREACH;
		return (-1);
	}
	return (0);
}

int
resolve_stream(const char *host, const char *port, int wake_fd,
    const struct wake *wake, int timeout_ms, struct resolve_addrs *out,
    char *err, size_t errlen)
{
	struct addrinfo	hints, *res;
	int		rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) == 0) {
		addrs_copy(res, out);
		freeaddrinfo(res);
		return (0);
	}
	if (rc != EAI_NONAME) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		errno = EHOSTUNREACH;
		return (-1);
	}
	return (resolve_name(host, port, AI_ADDRCONFIG, wake_fd, wake,
	    timeout_ms, out, err, errlen));
}

struct resolve_lookup *
resolve_binds_begin(const char *host, struct addr_binds *out)
{
	struct resolve_lookup	*lk;
	struct addrinfo		 hints, *res;
	char			 err[ADDR_HOST_MAX + 64];
	int			 rc;

	memset(out, 0, sizeof(*out));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, "0", &hints, &res)) == 0) {
		binds_copy(res, out);
		freeaddrinfo(res);
		if (out->n == 0)
			snprintf(out->why, sizeof(out->why), "no address");
		return (NULL);
	}
	if (rc != EAI_NONAME) {
		snprintf(out->why, sizeof(out->why), "%s", gai_strerror(rc));
		return (NULL);
	}
	/* Port 0 for every port: one lookup a name, however many ports. */
	if ((lk = lookup_take(host, "0", AI_PASSIVE, err, sizeof(err))) ==
	    NULL)
		snprintf(out->why, sizeof(out->why), "cannot look it up: %s",
		    strerror(errno));
	return (lk);
}

void
resolve_binds_end(struct resolve_lookup *lk, int64_t deadline,
    struct addr_binds *out)
{
	int	rc, saved;

	if (lk == NULL)
		return;
	if (lookup_wait(lk, -1, NULL, deadline) == -1) {
		snprintf(out->why, sizeof(out->why), "%s", errno == ETIMEDOUT ?
		    "no answer in time" : strerror(errno));
		lookup_put(lk);
		return;
	}
	pthread_mutex_lock(&lk->mu);
	rc = lk->rc;
	saved = lk->err;
	if (rc == 0)
		binds_copy(lk->res, out);
	pthread_mutex_unlock(&lk->mu);
	lookup_put(lk);
	if (rc != 0)
		snprintf(out->why, sizeof(out->why), "%s", rc == EAI_SYSTEM ?
		    strerror(saved) : gai_strerror(rc));
	else if (out->n == 0)
		snprintf(out->why, sizeof(out->why), "no address");
}

void
resolve_binds(const char *host, int timeout_ms, struct addr_binds *out)
{
	resolve_binds_end(resolve_binds_begin(host, out),
	    clock_ms() + timeout_ms, out);
}
