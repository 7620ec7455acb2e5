/* spare.c -- what a server does when accept() fails, out of descriptors
 * above all.
 *
 * DESIGN: out of descriptors, the number a server frees by closing its
 * spare is the only free one in the process, and the next descriptor
 * any thread makes takes it. spare_mu keeps the servers off each other:
 * every server's accept() (spare_accept()) and every turning away hold
 * it, so one server's accept() cannot take the number another gave up
 * for its client. And a spare is given up only while a client waits:
 * accept() fails with EMFILE before it looks at the queue, so a server
 * that went on after a client would otherwise let its spare go for a
 * moment every time, with nobody to turn away. A thread that makes a
 * descriptor of its own (a relay dialling, say) can still take the
 * number; the server then pauses, and takes a spare again later.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "spare.h"

static pthread_mutex_t	spare_mu = PTHREAD_MUTEX_INITIALIZER;

int
spare_open(struct spare *sp)
{
	sp->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return (sp->fd == -1 ? -1 : 0);
}

void
spare_close(struct spare *sp)
{
	if (sp->fd != -1)
		close(sp->fd);
	sp->fd = -1;
}

int
spare_accept(int lfd, struct sockaddr *sa, socklen_t *salen, int flags)
{
	int	fd, saved;

	pthread_mutex_lock(&spare_mu);
	fd = accept4(lfd, sa, salen, flags);
	saved = errno;
	pthread_mutex_unlock(&spare_mu);
	errno = saved;
	return (fd);
}

/* Whether a client waits at lfd; when poll() cannot tell, yes. */
static bool
client_waits(int lfd)
{
	struct pollfd	pfd = { .fd = lfd, .events = POLLIN };

	return (poll(&pfd, 1, 0) != 0);
}

/* With spare_mu held: give the spare up, take the client, tell it msg,
   and make its number the spare again. */
static enum spare_next
turn_away(struct spare *sp, int lfd, const char *msg, bool *turned_away)
{
	char	drain[1024];
	ssize_t	n;
	int	fd, err;

	if (sp->fd == -1 && spare_open(sp) == -1)
		return (SPARE_PAUSE);
	spare_close(sp);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	err = errno;
	if (fd != -1) {
		if (msg != NULL) {
			n = send(fd, msg, strlen(msg),
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			/* What the client sent already: a close with it
			   unread would reset the connection, and the reset
			   could cost the client the answer. */
			if (n > 0)
				n = recv(fd, drain, sizeof(drain),
				    MSG_DONTWAIT);
			(void)n;	/* it is closed either way */
		}
		/* The client's number becomes the spare at once (the socket
		   closed as by close()): a number let go even for a moment
		   could go to another thread of the process, and this server
		   would be left without a spare. */
		if (dup3(STDIN_FILENO, fd, O_CLOEXEC) == -1)
			close(fd);
		else
			sp->fd = fd;
		*turned_away = true;
	}
	if (sp->fd == -1)
		(void)spare_open(sp);
	if (fd != -1 || err == EINTR || err == ECONNABORTED)
		return (SPARE_AGAIN);
	return (err == EAGAIN || err == EWOULDBLOCK ? SPARE_DONE : SPARE_PAUSE);
}

enum spare_next
spare_accept_failed(struct spare *sp, int lfd, int err, const char *msg,
    bool *turned_away)
{
	enum spare_next	next;

	*turned_away = false;
	switch (err) {
	case EINTR:
	case ECONNABORTED:
		return (SPARE_AGAIN);
	case EMFILE:
	case ENFILE:
		break;
	case ENOBUFS:
	case ENOMEM:
		return (SPARE_PAUSE);
	default:
		return (SPARE_DONE);	/* EAGAIN */
	}
	if (!client_waits(lfd))
		return (SPARE_DONE);
	pthread_mutex_lock(&spare_mu);
	next = turn_away(sp, lfd, msg, turned_away);
	pthread_mutex_unlock(&spare_mu);
	return (next);
}
