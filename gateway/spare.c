/* spare.c -- what a server does when accept() fails, out of descriptors
 * above all. */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "spare.h"

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

enum spare_next
spare_accept_failed(struct spare *sp, int lfd, int err, const char *msg,
    bool *turned_away)
{
	char	drain[1024];
	ssize_t	n;
	int	fd;

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
