/* wake.h -- a wait that a signal may end for other work, then go on. */
#ifndef GW_WAKE_H
#define GW_WAKE_H

#include <poll.h>
#include <signal.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* For a thread that must act on other things while it waits: the wait
   runs with the signal mask mask, and each signal that ends it calls
   woken(arg), then the wait goes on. */
struct wake {
	const sigset_t	*mask;
	void		(*woken)(void *);
	void		*arg;
};

/* poll() pfd until deadline_ms (clock_ms()). With w (not NULL) the wait
   runs with w->mask (ppoll(): a signal that comes before it starts ends
   it at once, none is lost) and calls w->woken(w->arg) after each signal.
   Returns the number of ready descriptors, 0 at the deadline, or -1 with
   errno; never -1 with EINTR. */
int	wake_poll(struct pollfd *pfd, nfds_t n, int64_t deadline_ms,
	    const struct wake *w);

#ifdef __cplusplus
}
#endif

#endif
