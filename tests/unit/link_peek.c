/* link_peek.c -- the link module compiled into its unit test, with hooks
   into its private state and its system calls (as chrony's unit tests
   include the file they test): the test reaches what no other module may. */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <time.h>

/* link_peek_slow_start(): the next call that begins a receive sleeps
   first, through any signal, as a thread preempted just before it would. */
static atomic_int	peek_slow_ms;

static void
slow_start(void)
{
	struct timespec	ts;
	int		ms = atomic_exchange(&peek_slow_ms, 0);

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static ssize_t
peek_recv(int fd, void *buf, size_t len, int flags)
{
	slow_start();
	return (recv(fd, buf, len, flags));
}

static ssize_t
peek_splice(int in, loff_t *in_off, int out, loff_t *out_off, size_t len,
    unsigned flags)
{
	slow_start();
	return (splice(in, in_off, out, out_off, len, flags));
}

static int
peek_ppoll(struct pollfd *pfd, nfds_t n, const struct timespec *ts,
    const sigset_t *mask)
{
	slow_start();
	return (ppoll(pfd, n, ts, mask));
}

#define recv	peek_recv
#define splice	peek_splice
#define ppoll	peek_ppoll
#include "../../gateway/link.c"
#undef recv
#undef splice
#undef ppoll

#include "link_peek.h"

void
link_peek_set_sample(struct link *l, const struct wd_sample *s)
{
	pthread_mutex_lock(l->mu);
	l->last_sample = *s;
	l->have_sample = true;
	pthread_mutex_unlock(l->mu);
}

enum wd_reason
link_peek_reason_for_errno(struct link *l, int fd, int err)
{
	return (reason_for_errno(l, fd, err));
}

int64_t
link_peek_rx_last_ms(struct link *l)
{
	return (atomic_load(&l->last_rx_ms));
}

void
link_peek_slow_start(int ms)
{
	atomic_store(&peek_slow_ms, ms);
}
