/* spare.h -- what a server does when accept() fails, out of descriptors
 * above all.
 *
 * A listening socket with a client waiting stays readable, and accept()
 * fails with EMFILE or ENFILE before it looks at the queue: a server that
 * polls would be woken at once, for ever, while the client hangs. So a
 * server keeps a spare descriptor; out of descriptors, it gives the spare
 * up, takes the client, tells it no, closes it, and takes the spare back.
 * The servers accept() with spare_accept(), so that none takes the number
 * another has let go for that moment.
 */
#ifndef GW_SPARE_H
#define GW_SPARE_H

#include <sys/socket.h>

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct spare {
	int	fd;	/* /dev/null (or a copy of descriptor 0); -1: none */
};

/* Take the spare. 0, or -1 with errno. */
int	spare_open(struct spare *);
void	spare_close(struct spare *);

/* accept4() on lfd, never while another server turns a client away. */
int	spare_accept(int lfd, struct sockaddr *, socklen_t *, int flags);

enum spare_next {
	SPARE_AGAIN,		/* accept() again */
	SPARE_DONE,		/* nothing waits: back to poll() */
	SPARE_PAUSE		/* leave the socket out of poll() for a while */
};

/* What to do after accept() on the non-blocking listening socket lfd
   failed with err: again after a signal or a client that went away; done
   when none waits (the spare is kept); out of descriptors, turn the
   client waiting away with the spare (sent msg, unless NULL, without
   waiting; then closed) and accept() again, *turned_away set; pause when
   even that cannot be done, or when the kernel is out of memory. */
enum spare_next spare_accept_failed(struct spare *, int lfd, int err,
		    const char *msg, bool *turned_away);

#ifdef __cplusplus
}
#endif

#endif
