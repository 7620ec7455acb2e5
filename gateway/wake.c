/* wake.c -- a wait that a signal may end for other work, then go on. */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "clock.h"
#include "wake.h"

int
wake_poll(struct pollfd *pfd, nfds_t n, int64_t deadline_ms,
    const struct wake *w)
{
	struct timespec	ts;
	int64_t		left;
	int		rc;

	for (;;) {
		if ((left = deadline_ms - clock_ms()) < 0)
			left = 0;
		if (w != NULL) {
			ts = clock_span(left);
			rc = ppoll(pfd, n, &ts, w->mask);
		} else
			rc = poll(pfd, n, (int)left);
		if (rc != -1 || errno != EINTR)
			return (rc);
		if (w != NULL)
			w->woken(w->arg);
	}
}
