/* link.c -- one link end: a socket that any thread may shut down and only
   its owner closes.
 *
 * DESIGN: the fd lives in struct link under the device's mutex. A thread
 * that does I/O borrows it (link_acquire: users++; recv, send and splice
 * all go through link_in/link_out), so the owner's close waits until
 * nobody is inside a syscall on it (the last release wakes only a closing
 * owner, never the device's threads); the fd is set to -1 before
 * close(), so a late link_fail() or watchdog sample never touches a recycled
 * descriptor. Any thread may call link_fail(), which only records the reason
 * and calls shutdown(SHUT_RDWR): that wakes a recv() (returns 0) or a send()
 * (EPIPE) blocked on the socket, which close() from another thread would not.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomics.h"
#include "cfg_schema.h"
#include "clock.h"
#include "link.h"
#include "log.h"
#include "sockopt.h"

struct link {
	/* Fixed from link_new() on. */
	char			 name[CFG_NAME_MAX + 16]; /* "press1/device" */
	char			 device[CFG_NAME_MAX];	/* "press1" */
	enum link_kind		 kind;
	const struct cfg_endpoint *ep;
	const struct cfg_policy	*pol;		/* contents under *mu (reload) */
	struct link_sync	*sync;		/* the device's */
	pthread_mutex_t		*mu;		/* &sync->mu */
	struct tap		*tap;		/* set before the threads start */
	enum tap_dir		 tap_dir;
	/* The last bytes of this connection, in and out: each written by
	   the relay thread of its direction inside link_acquire/release, so
	   that the owner's close, which waits for those, copies them whole. */
	struct words		 words_in;
	struct words		 words_out;

	/* Protected by *mu. */
	int			 fd;		/* -1 when down */
	int			 users;		/* threads inside a syscall on fd */
	bool			 closing;	/* the owner waits for users == 0 */
	uint64_t		 gen;		/* +1 on every attach */
	enum link_state		 state;
	bool			 failed;	/* shut down, waiting for the owner */
	bool			 guessed;	/* the reason is EPIPE's guess: a
						   sure one may replace it */
	enum wd_reason		 reason;	/* why; NONE = closed on purpose */
	int64_t			 last_life_ms;	/* last sign of life at failure */
	int64_t			 failed_ms;	/* when it failed: monotonic, */
	int64_t			 failed_wall_ms; /* and wall clock */
	uint32_t		 unacked_at_fail; /* SIOCOUTQ when it failed */
	bool			 detail_names_queue; /* detail says unacked */
	char			 detail[LINK_DETAIL_MAX];
	/* The watchdog's last sample of this generation, to name the true
	   reason when a thread later gets only a bare ETIMEDOUT. */
	struct wd_sample	 last_sample;
	bool			 have_sample;
	int			 pending_fd;	/* accepted, for the owner to take */
	char			 pending_peer[LINK_PEER_MAX];
	char			 peer[LINK_PEER_MAX];
	char			 listen[LINK_PEER_MAX];	/* as bound */
	int64_t			 since_wall_ms;	/* state change, wall clock */
	enum wd_reason		 last_reason;
	char			 last_detail[LINK_DETAIL_MAX];
	int64_t			 last_failure_wall_ms;
	struct words_snap	 last_words_in;	/* at the last failure */
	struct words_snap	 last_words_out;

	int64_t			 up_ms;		/* monotonic, when attached */
	int64_t			 judged_from_ms; /* up_ms, or a later
						   reload's that shortened
						   the silence budgets */
	uint64_t		 rx_gen;	/* the receiving thread's alone:
						   generation of the last bytes
						   it received */
	bool			 rx_more;	/* and whether more waited */
	bool			 rx_at_mark;	/* and whether a splice stopped
						   at urgent data */
	/* The owner's alone, for link_read_rest(): of the bytes the
	   kernel held when the connection failed, how many are left. */
	bool			 rest_known;
	size_t			 rest_left;

	/* The owner's alone: a link that keeps coming up and going down
	   logs one down line a minute; its up lines wait until it has
	   stayed up LINK_SHORT_MS (link_check_stable()). */
	struct log_limit	 flap_log;
	/* What a remote client can trigger at will (refused, rejected,
	   replaced while waiting) logs one line per window, with a count:
	   the acceptor's and the owner's (a client rejected as another is
	   taken), protected by mu (peer_log_allow()). */
	struct log_limit	 peer_log;
	bool			 flap_quiet_up;	/* after a short connection */
	bool			 up_unlogged;	/* this up is not logged yet */
	unsigned		 short_count;	/* short connections in a row */

	/* Written by the pumps without the lock, read by the watchdog. */
	ATOMIC(int64_t)		 last_rx_ms;	/* monotonic, last byte in */
	ATOMIC(int64_t)		 send_since_ms;	/* in send() since; 0 = not */
	ATOMIC(int64_t)		 send_progress_ms; /* last byte accepted */
	ATOMIC(uint32_t)	 send_pending;	/* bytes the writer holds */

	/* Counters. */
	ATOMIC(uint64_t)	 stat_connects;
	ATOMIC(uint64_t)	 stat_failures[WD_REASON_COUNT];
	ATOMIC(uint64_t)	 stat_bytes_in;		/* received from peer */
	ATOMIC(uint64_t)	 stat_bytes_out;	/* sent to peer */
	ATOMIC(uint64_t)	 stat_unacked_at_failure;
	ATOMIC(uint64_t)	 stat_held_discarded;
	struct hist		 stat_detect;	/* last sign of life -> verdict */
	ATOMIC(int64_t)		 last_detect_ms; /* of the last verdict; -1 */
};

static int	acquire_locked(struct link *, uint64_t *);
static void	vreason_locked(struct link *, enum wd_reason, int64_t, bool,
		    const char *, va_list) __attribute__((format(printf, 5, 0)));
static void	vfail_locked(struct link *, enum wd_reason, int64_t, bool,
		    const char *, va_list) __attribute__((format(printf, 5, 0)));
static void	fail_locked(struct link *, enum wd_reason, int64_t,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static bool	fail_gen(struct link *, uint64_t, enum wd_reason, int64_t,
		    bool, const char *, ...) __attribute__((format(printf, 6, 7)));
static void	fail_guess(struct link *, uint64_t, enum wd_reason,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static enum wd_reason reason_for_errno(struct link *, int, int);

static const enum wd_role kind_roles[LINK_KIND_COUNT] = {
	[LINK_KIND_DEVICE] = WD_ROLE_BIDIR,
	[LINK_KIND_RX] = WD_ROLE_RX,
	[LINK_KIND_TX] = WD_ROLE_TX,
	[LINK_KIND_UPSTREAM] = WD_ROLE_UPSTREAM,
};

static const char *const kind_names[LINK_KIND_COUNT] = {
	"device", "rx", "tx", "upstream"
};

void
link_log(struct link *l, enum log_level lvl, enum wd_reason reason,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlink(lvl, l->device, link_kind_str(l->kind),
	    reason != WD_REASON_NONE ? wd_reason_str(reason) : NULL, fmt, ap);
	va_end(ap);
}

const char *
link_kind_str(enum link_kind k)
{
	return (k >= 0 && k < LINK_KIND_COUNT ? kind_names[k] : "unknown");
}

const char *
link_state_str(enum link_state s)
{
	switch (s) {
	case LINK_DOWN:
		return ("down");
	case LINK_CONNECTING:
		return ("connecting");
	case LINK_UP:
		return ("up");
	}
	return ("unknown");
}

void
link_sync_init(struct link_sync *sync)
{
	pthread_condattr_t	ca;

	pthread_mutex_init(&sync->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sync->cv, &ca);
	pthread_condattr_destroy(&ca);
	sync->seq = 0;
	memset(sync->waiters, 0, sizeof(sync->waiters));
}

void
link_sync_destroy(struct link_sync *sync)
{
	pthread_cond_destroy(&sync->cv);
	pthread_mutex_destroy(&sync->mu);
}

void
link_sync_changed(struct link_sync *sync)
{
	struct link_waiter	*w;
	int			 i;

	sync->seq++;
	pthread_cond_broadcast(&sync->cv);
	/* A waiter leaves under mu before it ends: each tid is alive. */
	for (i = 0; i < LINK_SYNC_WAITERS; i++) {
		w = &sync->waiters[i];
		if (!w->active || pthread_equal(w->tid, pthread_self()))
			continue;
		w->kicked = true;
		(void)pthread_kill(w->tid, LINK_WAKE_SIGNAL);
	}
}

/* Only its delivery matters: it ends the receive with EINTR. */
static void
wake_handler(int sig)
{
	(void)sig;
}

static void
wake_install(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the receive must end, not resume. */
	if (sigaction(LINK_WAKE_SIGNAL, &sa, NULL) == -1)
		log_warnx("sigaction: %s: a thread will wait on one link for up "
		    "to io_timeout_ms after another changed",
		    strsignal(LINK_WAKE_SIGNAL));
}

struct link_waiter *
link_waiter_join(struct link_sync *sync)
{
	static pthread_once_t	 once = PTHREAD_ONCE_INIT;
	struct link_waiter	*w = NULL;
	int			 i;

	pthread_once(&once, wake_install);
	pthread_mutex_lock(&sync->mu);
	for (i = 0; i < LINK_SYNC_WAITERS && w == NULL; i++)
		if (!sync->waiters[i].active) {
			w = &sync->waiters[i];
			w->tid = pthread_self();
			w->active = true;
			w->kicked = false;
			pthread_sigmask(SIG_BLOCK, NULL, &w->wait_mask);
			sigdelset(&w->wait_mask, LINK_WAKE_SIGNAL);
		}
	pthread_mutex_unlock(&sync->mu);
	return (w);
}

void
link_waiter_leave(struct link_sync *sync, struct link_waiter *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&sync->mu);
	w->active = false;
	pthread_mutex_unlock(&sync->mu);
}

void
link_waiter_looked(struct link_waiter *w)
{
	if (w != NULL)
		w->kicked = false;
}

struct link *
link_new(const char *device, enum link_kind kind,
    const struct cfg_endpoint *ep, const struct cfg_policy *pol,
    struct link_sync *sync)
{
	struct link	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	snprintf(l->name, sizeof(l->name), "%s/%s", device, link_kind_str(kind));
	snprintf(l->device, sizeof(l->device), "%s", device);
	l->kind = kind;
	l->ep = ep;
	l->pol = pol;
	l->sync = sync;
	l->mu = &sync->mu;
	l->fd = -1;
	l->pending_fd = -1;
	l->state = LINK_DOWN;
	l->since_wall_ms = clock_wall_ms();
	l->flap_log.window_ms = 60000;
	l->peer_log.window_ms = LINK_PEER_LOG_MS;
	atomic_init(&l->last_detect_ms, -1);
	words_init(&l->words_in);
	words_init(&l->words_out);
	return (l);
}

void
link_free(struct link *l)
{
	char	note[LINK_DROPPED_MAX];
	size_t	n;

	if (l == NULL)
		return;
	/* A client still waiting to be taken goes with its device: the link's
	   counters go too, so only this line tells of the bytes it sent. */
	if (l->pending_fd != -1 &&
	    (n = link_drop_client(l, l->pending_fd)) > 0)
		link_log(l, LOG_LVL_WARN, WD_REASON_NONE, "%s: closed client %s "
		    "that waited to be taken: stopping%s", l->name,
		    l->pending_peer, link_dropped_str(n, note, sizeof(note)));
	l->pending_fd = -1;
	words_destroy(&l->words_in);
	words_destroy(&l->words_out);
	free(l);
}

const char *
link_name(const struct link *l)
{
	return (l->name);
}

const struct cfg_endpoint *
link_endpoint(const struct link *l)
{
	return (l->ep);
}

void
link_set_listening(struct link *l, const char *addr)
{
	pthread_mutex_lock(l->mu);
	snprintf(l->listen, sizeof(l->listen), "%s", addr);
	pthread_mutex_unlock(l->mu);
}

/* Turn a client away from a link busy with another (with): what it sent
   is counted and said. */
static void
refuse_busy(struct link *l, int fd, const char *peer, const char *with)
{
	char	why[LINK_PEER_MAX + 64], dropped[LINK_DROPPED_MAX];
	size_t	n = link_drop_client(l, fd);

	snprintf(why, sizeof(why), "busy with %s%s", with,
	    link_dropped_str(n, dropped, sizeof(dropped)));
	link_refuse(l, peer, why);
}

void
link_attach(struct link *l, int fd, const char *peer)
{
	char	late_peer[LINK_PEER_MAX];
	int	late = -1;

	/* The last words are a connection's own. */
	words_clear(&l->words_in);
	words_clear(&l->words_out);
	pthread_mutex_lock(l->mu);
	l->fd = fd;
	l->gen++;
	l->state = LINK_UP;
	l->failed = false;
	l->rest_known = false;
	l->rest_left = 0;
	l->reason = WD_REASON_NONE;
	l->detail[0] = '\0';
	l->have_sample = false;
	snprintf(l->peer, sizeof(l->peer), "%s", peer);
	l->since_wall_ms = clock_wall_ms();
	l->up_ms = clock_ms();
	l->judged_from_ms = l->up_ms;
	atomic_store(&l->last_rx_ms, l->up_ms);
	atomic_store(&l->send_since_ms, 0);
	atomic_store(&l->send_progress_ms, clock_ms());
	/* A client that came while this one was being taken found the link
	   not busy, and waits: it meets the link busy now, as link_offer()
	   would have had it a moment later. */
	if (l->pending_fd != -1 &&
	    l->ep->on_new_client == CFG_NEW_CLIENT_REJECT) {
		late = l->pending_fd;
		l->pending_fd = -1;
		snprintf(late_peer, sizeof(late_peer), "%s", l->pending_peer);
	} else if (l->pending_fd != -1)
		fail_locked(l, WD_REASON_NONE, 0, "replaced by new client %s",
		    l->pending_peer);
	link_sync_changed(l->sync);
	pthread_mutex_unlock(l->mu);
	atomic_fetch_add(&l->stat_connects, 1);
	/* After a short connection the up line waits for the link to prove
	   stable: a flapping device would otherwise log every cycle. */
	l->up_unlogged = l->flap_quiet_up;
	link_log(l, l->up_unlogged ? LOG_LVL_DEBUG : LOG_LVL_INFO,
	    WD_REASON_NONE, "%s up: %s %s",
	    l->name, l->ep->mode == CFG_LINK_LISTEN ? "accepted" :
	    "connected to", peer);
	if (late != -1)
		refuse_busy(l, late, late_peer, peer);
}

int
link_take_pending(struct link *l, char *peer, size_t peerlen)
{
	int	fd;

	pthread_mutex_lock(l->mu);
	fd = l->pending_fd;
	l->pending_fd = -1;
	if (fd != -1)
		snprintf(peer, peerlen, "%s", l->pending_peer);
	pthread_mutex_unlock(l->mu);
	return (fd);
}

const char *
link_dropped_str(size_t n, char *buf, size_t len)
{
	buf[0] = '\0';
	if (n > 0)
		snprintf(buf, len, "; %zu bytes it sent were discarded", n);
	return (buf);
}

/* Bytes received on fd and not read yet: what a close would discard. */
static size_t
unread_bytes(int fd)
{
	int	inq = 0;

	if (ioctl(fd, SIOCINQ, &inq) == -1 || inq < 0)
		return (0);
	return ((size_t)inq);
}

size_t
link_drop_client(struct link *l, int fd)
{
	size_t	n = unread_bytes(fd);

	if (n > 0)
		atomic_fetch_add(&l->stat_held_discarded, (uint64_t)n);
	close(fd);
	return (n);
}

static bool
peer_log_allow(struct link *l, unsigned *suppressed)
{
	bool	allow;

	pthread_mutex_lock(l->mu);
	allow = log_limit_allow(&l->peer_log, clock_ms(), suppressed);
	pthread_mutex_unlock(l->mu);
	return (allow);
}

void
link_refuse(struct link *l, const char *peer, const char *why)
{
	unsigned	suppressed;

	if (peer_log_allow(l, &suppressed))
		link_log(l, LOG_LVL_WARN, WD_REASON_NONE, "%s: refused %s: %s%s",
		    l->name, peer,
		    why, log_suppressed(suppressed));
}

/* A client that has left (closed its side or reset) with nothing it sent
   still to pass on. One that left after a request is kept: a link takes
   what came before the end of a stream, or before a reset. */
static bool
client_gone(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLRDHUP };

	return (poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0 &&
	    unread_bytes(fd) == 0);
}

void
link_offer(struct link *l, int fd, const char *peer)
{
	char		old_peer[LINK_PEER_MAX], dropped[LINK_DROPPED_MAX];
	unsigned	suppressed;
	size_t		n;
	int		old_pending;
	bool		busy, reject, gone;

	pthread_mutex_lock(l->mu);
	busy = l->state == LINK_UP && !l->failed;
	/* With reject, a client waiting to be taken holds the link too:
	   the first to come is the one served, unless it has left since
	   (its owner may be held up for seconds in a send). */
	reject = l->ep->on_new_client == CFG_NEW_CLIENT_REJECT;
	gone = reject && !busy && l->pending_fd != -1 &&
	    client_gone(l->pending_fd);
	if (reject && !gone && (busy || l->pending_fd != -1)) {
		snprintf(old_peer, sizeof(old_peer), "%s", busy ? l->peer :
		    l->pending_peer);
		pthread_mutex_unlock(l->mu);
		refuse_busy(l, fd, peer, old_peer);
		return;
	}
	old_pending = l->pending_fd;
	l->pending_fd = fd;
	snprintf(l->pending_peer, sizeof(l->pending_peer), "%s", peer);
	/* Under the same lock: the owner may take the new client as soon as
	   it is unlocked, and must not find it failed in the old one's place. */
	if (busy)
		fail_locked(l, WD_REASON_NONE, 0, "replaced by new client %s",
		    peer);
	link_sync_changed(l->sync);
	pthread_mutex_unlock(l->mu);

	if (old_pending != -1) {
		n = link_drop_client(l, old_pending);
		if (peer_log_allow(l, &suppressed))
			link_log(l, n > 0 ? LOG_LVL_WARN : LOG_LVL_INFO,
			    WD_REASON_NONE, "%s: client waiting to be taken "
			    "%sreplaced by %s%s%s", l->name,
			    gone ? "had left; " : "", peer,
			    link_dropped_str(n, dropped, sizeof(dropped)),
			    log_suppressed(suppressed));
	}
}

/* Borrow the fd of a link up and not failed; -1 otherwise. With l->mu. */
static int
acquire_locked(struct link *l, uint64_t *gen)
{
	if (l->state != LINK_UP || l->failed)
		return (-1);
	*gen = l->gen;
	l->users++;
	return (l->fd);
}

int
link_acquire(struct link *l, uint64_t *gen)
{
	int	fd;

	pthread_mutex_lock(l->mu);
	fd = acquire_locked(l, gen);
	pthread_mutex_unlock(l->mu);
	return (fd);
}

void
link_release(struct link *l)
{
	pthread_mutex_lock(l->mu);
	/* Only the owner's close waits for this: nothing changed for the
	   device's threads, whose wake-ups a sweep or a recv timeout would
	   otherwise multiply. */
	if (--l->users == 0 && l->closing)
		pthread_cond_broadcast(&l->sync->cv);
	pthread_mutex_unlock(l->mu);
}

/* Record why the current generation failed (a sure reason). With l->mu. */
static void
vreason_locked(struct link *l, enum wd_reason reason, int64_t last_life_ms,
    bool names_queue, const char *fmt, va_list ap)
{
	l->guessed = false;
	l->reason = reason;
	l->last_life_ms = last_life_ms;
	l->detail_names_queue = names_queue;
	vsnprintf(l->detail, sizeof(l->detail), fmt, ap);
}

/* Record why the current generation failed and shut it down, waking every
   thread blocked on it. Called with l->mu held, on a link up and not yet
   failed. */
static void
vfail_locked(struct link *l, enum wd_reason reason, int64_t last_life_ms,
    bool names_queue, const char *fmt, va_list ap)
{
	int	outq = 0;

	l->failed = true;
	/* The owner may close it much later (a tail to pass on first): the
	   link went down now. */
	l->failed_ms = clock_ms();
	l->failed_wall_ms = clock_wall_ms();
	vreason_locked(l, reason, last_life_ms, names_queue, fmt, ap);
	/* What the peer never acknowledged may be lost in flight. Counted
	   before shutdown(), whose FIN would count as one more byte. */
	if (ioctl(l->fd, SIOCOUTQ, &outq) == -1 || outq < 0)
		outq = 0;
	l->unacked_at_fail = (uint32_t)outq;
	/* Wakes every thread blocked on the socket; close() would not. */
	shutdown(l->fd, SHUT_RDWR);
	link_sync_changed(l->sync);
}

static void
fail_locked(struct link *l, enum wd_reason reason, int64_t last_life_ms,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vfail_locked(l, reason, last_life_ms, false, fmt, ap);
	va_end(ap);
}

/* link_fail(), and whether the detail names the bytes queued already. */
static bool
fail_gen(struct link *l, uint64_t gen, enum wd_reason reason,
    int64_t last_life_ms, bool names_queue, const char *fmt, ...)
{
	va_list	ap;
	bool	done = false;

	pthread_mutex_lock(l->mu);
	if (l->state != LINK_UP || (gen != 0 && gen != l->gen))
		;
	else if (!l->failed) {
		va_start(ap, fmt);
		vfail_locked(l, reason, last_life_ms, names_queue, fmt, ap);
		va_end(ap);
		done = true;
	} else if (l->guessed && reason != WD_REASON_NONE) {
		/* A sure reason replaces a guess; the link is shut down and
		   its unacknowledged bytes counted already. */
		va_start(ap, fmt);
		vreason_locked(l, reason, last_life_ms, names_queue, fmt, ap);
		va_end(ap);
		done = true;
	}
	pthread_mutex_unlock(l->mu);
	return (done);
}

/* link_fail() with a reason that is only a guess: EPIPE from a send says
   that the connection is gone, not why. Its error went to whoever took it
   first (the other thread, or the watchdog reading SO_ERROR), which names
   the sure reason; until the owner closes the link, that one replaces
   this. */
static void
fail_guess(struct link *l, uint64_t gen, enum wd_reason reason,
    const char *fmt, ...)
{
	va_list	ap;

	pthread_mutex_lock(l->mu);
	if (l->state == LINK_UP && !l->failed && gen == l->gen) {
		va_start(ap, fmt);
		vfail_locked(l, reason, 0, false, fmt, ap);
		va_end(ap);
		l->guessed = true;
	}
	pthread_mutex_unlock(l->mu);
}

bool
link_fail(struct link *l, uint64_t gen, enum wd_reason reason,
    int64_t last_life_ms, const char *fmt, ...)
{
	char	detail[LINK_DETAIL_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return (fail_gen(l, gen, reason, last_life_ms, false, "%s", detail));
}

bool
link_is_up(struct link *l)
{
	bool	up;

	pthread_mutex_lock(l->mu);
	up = l->state == LINK_UP && !l->failed;
	pthread_mutex_unlock(l->mu);
	return (up);
}

uint64_t
link_gen(struct link *l)
{
	uint64_t	gen;

	pthread_mutex_lock(l->mu);
	gen = l->state == LINK_UP && !l->failed ? l->gen : 0;
	pthread_mutex_unlock(l->mu);
	return (gen);
}

bool
link_failed(struct link *l)
{
	bool	failed;

	pthread_mutex_lock(l->mu);
	failed = l->state == LINK_UP && l->failed;
	pthread_mutex_unlock(l->mu);
	return (failed);
}

bool
link_failed_on_purpose(struct link *l)
{
	bool	ours;

	pthread_mutex_lock(l->mu);
	ours = l->state == LINK_UP && l->failed &&
	    l->reason == WD_REASON_NONE;
	pthread_mutex_unlock(l->mu);
	return (ours);
}

size_t
link_unacked(struct link *l)
{
	int	outq = 0;

	pthread_mutex_lock(l->mu);
	if (l->state != LINK_UP || l->failed ||
	    ioctl(l->fd, SIOCOUTQ, &outq) == -1 || outq < 0)
		outq = 0;
	pthread_mutex_unlock(l->mu);
	return ((size_t)outq);
}

void
link_set_connecting(struct link *l, bool connecting)
{
	pthread_mutex_lock(l->mu);
	if (l->state != LINK_UP) {
		l->state = connecting ? LINK_CONNECTING : LINK_DOWN;
		link_sync_changed(l->sync);
	}
	pthread_mutex_unlock(l->mu);
}

int64_t
link_close(struct link *l, bool close_anyway)
{
	enum wd_reason	 reason;
	enum log_level	 lvl;
	char		 detail[LINK_DETAIL_MAX], unacked[48], unread[64] = "";
	int64_t		 last_life_ms, failed_ms, detect_ms, up_for_ms;
	unsigned	 suppressed = 0;
	int		 fd, outq, inq = 0;
	bool		 quiet, names_queue;

	pthread_mutex_lock(l->mu);
	if (l->state != LINK_UP || (!l->failed && !close_anyway)) {
		pthread_mutex_unlock(l->mu);
		return (-1);
	}
	if (!l->failed)
		fail_locked(l, WD_REASON_NONE, 0, "closed");
	l->closing = true;
	while (l->users > 0)
		pthread_cond_wait(&l->sync->cv, l->mu);
	l->closing = false;
	fd = l->fd;
	l->fd = -1;
	l->state = LINK_DOWN;
	reason = l->reason;
	last_life_ms = l->last_life_ms;
	failed_ms = l->failed_ms;
	outq = (int)l->unacked_at_fail;
	names_queue = l->detail_names_queue;
	snprintf(detail, sizeof(detail), "%s", l->detail);
	l->since_wall_ms = l->failed_wall_ms;
	if (reason != WD_REASON_NONE) {
		l->last_reason = reason;
		l->last_failure_wall_ms = l->since_wall_ms;
		snprintf(l->last_detail, sizeof(l->last_detail), "%s", detail);
		words_copy(&l->words_in, &l->last_words_in);
		words_copy(&l->words_out, &l->last_words_out);
	}
	link_sync_changed(l->sync);
	pthread_mutex_unlock(l->mu);

	/* Bytes that arrived but were never relayed die with the socket:
	   say so, never drop them silently. */
	inq = (int)unread_bytes(fd);
	if (inq > 0) {
		atomic_fetch_add(&l->stat_held_discarded, (uint64_t)inq);
		snprintf(unread, sizeof(unread), "; %d bytes received and not "
		    "relayed were discarded", inq);
	}
	if (reason != WD_REASON_NONE && reason != WD_PEER_CLOSED)
		(void)sockopt_linger_abort(fd);
	close(fd);
	up_for_ms = failed_ms - l->up_ms;

	/* A flapping link logs one down line a minute, then a summary. */
	quiet = false;
	if (up_for_ms < LINK_SHORT_MS) {
		l->short_count++;
		l->flap_quiet_up = true;
		quiet = !log_limit_allow(&l->flap_log, clock_ms(), &suppressed);
	} else {
		l->short_count = 0;
		l->flap_quiet_up = false;
		suppressed = log_limit_reset(&l->flap_log);
	}
	l->up_unlogged = false;
	lvl = quiet ? LOG_LVL_DEBUG : LOG_LVL_INFO;

	if (reason == WD_REASON_NONE) {
		link_log(l, inq > 0 ? LOG_LVL_WARN : quiet ?
		    LOG_LVL_DEBUG : LOG_LVL_INFO, WD_REASON_NONE,
		    "%s down: %s%s%s", l->name,
		    detail, unread, log_suppressed(suppressed));
		return (up_for_ms);
	}
	atomic_fetch_add(&l->stat_failures[reason], 1);
	atomic_fetch_add(&l->stat_unacked_at_failure, (uint64_t)outq);
	/* A sure reason that replaced a guess may date its last sign of
	   life after the guess: no time passed then. */
	detect_ms = last_life_ms <= 0 ? -1 : failed_ms > last_life_ms ?
	    failed_ms - last_life_ms : 0;
	if (detect_ms >= 0) {
		hist_add_us(&l->stat_detect, detect_ms * 1000);
		atomic_store(&l->last_detect_ms, detect_ms);
	}
	unacked[0] = '\0';
	/* The verdict's own detail may have said it already. */
	if (outq > 0 && !names_queue)
		snprintf(unacked, sizeof(unacked), ", %d bytes unacknowledged",
		    outq);
	link_log(l, lvl, reason, "%s down: %s (%s%s)%s%s", l->name,
	    wd_reason_str(reason), detail, unacked, unread,
	    log_suppressed(suppressed));
	if (detect_ms >= 0)
		log_debug("%s: %lld ms from last sign of life to verdict",
		    l->name, (long long)detect_ms);
	return (up_for_ms);
}

void
link_check_stable(struct link *l, int64_t now_ms)
{
	char	peer[LINK_PEER_MAX];

	if (!l->up_unlogged || now_ms - l->up_ms < LINK_SHORT_MS)
		return;
	pthread_mutex_lock(l->mu);
	snprintf(peer, sizeof(peer), "%s", l->peer);
	pthread_mutex_unlock(l->mu);
	link_log(l, LOG_LVL_INFO, WD_REASON_NONE, "%s up: %s %s, stable "
	    "after %u short "
	    "connections%s", l->name, l->ep->mode == CFG_LINK_LISTEN ?
	    "accepted" : "connected to", peer, l->short_count,
	    log_suppressed(log_limit_reset(&l->flap_log)));
	l->up_unlogged = false;
	l->flap_quiet_up = false;
	l->short_count = 0;
}

/* ---- moving bytes ---- */

/* ETIMEDOUT names no cause: a sample of fd (still borrowed) taken now (an
   abort leaves the queues readable), else the watchdog's last one, tells
   ack_timeout, zero_window_stall and keepalive_timeout apart. */
static enum wd_reason
reason_for_errno(struct link *l, int fd, int err)
{
	struct wd_sample	s;
	bool			have;

	if (err != ETIMEDOUT)
		return (wd_reason_from_errno(err));
	if (fd != -1 && wd_probe(fd, &s) == 0)
		return (wd_timeout_reason(&s));
	pthread_mutex_lock(l->mu);
	if ((have = l->have_sample))
		s = l->last_sample;
	pthread_mutex_unlock(l->mu);
	return (have ? wd_timeout_reason(&s) : WD_KEEPALIVE_TIMEOUT);
}

/* True when fd's connection is gone without a FIN received: TCP_CLOSE. */
static bool
socket_torn_down(int fd)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof(ti);

	return (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	    ti.tcpi_state == TCP_CLOSE);
}

/* The syscalls that move bytes on a link's socket. */
enum io_op {
	IO_RECV,		/* socket -> buffer */
	IO_SEND,		/* buffer -> socket */
	IO_SPLICE_IN,		/* socket -> pipe */
	IO_SPLICE_OUT		/* pipe -> socket */
};

/* One syscall of op on l's borrowed fd, retrying EINTR: buf for recv and
   send, pipe (its write end for IO_SPLICE_IN, its read end for
   IO_SPLICE_OUT) for splice. The socket blocks as ever (SO_RCVTIMEO,
   SO_SNDTIMEO); the pipe never does, and the caller splices in only what
   the pipe has room for and out only what it holds. An error other than
   an SO_RCVTIMEO/SO_SNDTIMEO expiry (EAGAIN) or a wake-up is named in
   *reason while fd is still borrowed, so that a sample of it can tell what
   an ETIMEDOUT ended; *reason is WD_REASON_NONE otherwise. */
static ssize_t
io_call(struct link *l, int fd, enum io_op op, void *buf, int pipe_fd,
    size_t len, int *err, enum wd_reason *reason)
{
	const unsigned	sflags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
	ssize_t		rc;

	do {
		switch (op) {
		case IO_RECV:
			rc = recv(fd, buf, len, 0);
			break;
		case IO_SEND:
			rc = send(fd, buf, len, MSG_NOSIGNAL);
			break;
		case IO_SPLICE_IN:
			rc = splice(fd, NULL, pipe_fd, NULL, len, sflags);
			break;
		default:
			rc = splice(pipe_fd, NULL, fd, NULL, len, sflags);
			break;
		}
	} while (rc == -1 && errno == EINTR);
	*err = errno;
	*reason = WD_REASON_NONE;
	/* splice() from a socket that an error tore down returns 0, as at a
	   FIN, once another caller (the other thread's send, the watchdog's
	   SO_ERROR) has taken the error; recv() says ENOTCONN there. A FIN
	   leaves the socket in CLOSE_WAIT, never in CLOSE: name this one as
	   a bare timeout is named, from the socket's last state. */
	if (rc == 0 && op == IO_SPLICE_IN && socket_torn_down(fd)) {
		rc = -1;
		*err = ENOTCONN;
		*reason = reason_for_errno(l, fd, ETIMEDOUT);
		return (rc);
	}
	if (rc == -1 && *err != EAGAIN && *err != EWOULDBLOCK && *err != EINTR)
		*reason = reason_for_errno(l, fd, *err);
	return (rc);
}

/* Wait up to ms for fd to be readable (or at its end), with the thread's
   signal mask mask for the wait alone: ppoll() lets LINK_WAKE_SIGNAL in
   and ends at it, also at one that came before the wait began and waits,
   blocked, since. True when fd is ready (or the wait failed, and the
   receive must block as it would without a waiter); false when the wait
   ended at a signal or at ms. */
static bool
wait_readable(int fd, int ms, const sigset_t *mask)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	struct timespec	ts = clock_span(ms);

	switch (ppoll(&pfd, 1, &ts, mask)) {
	case 0:
		return (false);
	case -1:
		return (errno != EINTR);
	default:
		return (true);
	}
}

/* Receive into buf or splice into a pipe: one blocking call, which a
   change of the device's links ends when w is given (the call is then
   made once a ppoll() has seen the socket ready). What came is stamped
   with the time the call returned, not the time it began. */
static enum link_io
link_in(struct link *l, enum io_op op, void *buf, int pipe_fd, size_t len,
    struct link_waiter *w, size_t *n)
{
	enum wd_reason	reason = WD_REASON_NONE;
	uint64_t	gen;
	int64_t		now_ms, left_ms = 0;
	ssize_t		rc = -1;
	int		fd, err = 0, wait_ms;
	bool		kicked;

	*n = 0;
	l->rx_at_mark = false;
	/* LINK_WAKE_SIGNAL stays blocked until wait_readable(): a change
	   after this check waits there, pending, and ends the wait at once. */
	pthread_mutex_lock(l->mu);
	wait_ms = l->pol->io_timeout_ms;
	if (w != NULL && w->deadline_ms > 0) {
		left_ms = w->deadline_ms - clock_ms();
		if (left_ms < wait_ms)
			wait_ms = left_ms > 0 ? (int)left_ms : 0;
	}
	/* A timer due already ends the receive as a change does. */
	kicked = w != NULL && (w->kicked || (w->deadline_ms > 0 &&
	    left_ms <= 0));
	fd = kicked ? -1 : acquire_locked(l, &gen);
	pthread_mutex_unlock(l->mu);
	if (fd == -1)
		return (kicked ? LINK_TIMEOUT : LINK_CLOSED);
	if (w == NULL || wait_readable(fd, wait_ms, &w->wait_mask))
		rc = io_call(l, fd, op, buf, pipe_fd, len, &err, &reason);
	/* A splice() stops before urgent data and, with nothing before it,
	   returns 0 though the stream goes on (tcp_splice_read()): nothing
	   moved, and a receive takes the rest (SO_OOBINLINE: the urgent
	   byte first). An end of stream leaves no byte unread. */
	if (rc == 0 && op == IO_SPLICE_IN && unread_bytes(fd) > 0) {
		l->rx_at_mark = true;
		rc = -1;
	}
	now_ms = clock_ms();
	/* A receive that took all it could while more waits is bulk
	   (link_rx_more()). */
	l->rx_more = rc == (ssize_t)len && unread_bytes(fd) > 0;
	/* Spliced bytes are the pump's to show (link_saw()/link_unseen()). */
	if (rc > 0 && op == IO_RECV)
		link_saw(l, buf, (size_t)rc);
	/* A failure is told while fd is borrowed still: the owner cannot
	   close the link before it, so it may replace the other thread's
	   guess (fail_guess()), as the watchdog does. */
	if (rc == 0)
		link_fail(l, gen, WD_PEER_CLOSED, now_ms,
		    "end of stream from peer");
	else if (rc == -1 && reason != WD_REASON_NONE)
		link_fail(l, gen, reason, 0, "%s: %s", op == IO_RECV ?
		    "recv" : "splice", strerror(err));
	link_release(l);
	if (rc > 0) {
		*n = (size_t)rc;
		l->rx_gen = gen;
		atomic_store(&l->last_rx_ms, now_ms);
		atomic_fetch_add(&l->stat_bytes_in, *n);
		return (LINK_OK);
	}
	return (rc == -1 && reason == WD_REASON_NONE ? LINK_TIMEOUT :
	    LINK_CLOSED);
}

/* Send from buf or splice out of a pipe: one blocking call. */
static enum link_io
link_out(struct link *l, uint64_t want_gen, enum io_op op, void *buf,
    int pipe_fd, size_t len, size_t *n, int64_t now_ms)
{
	enum wd_reason	reason;
	uint64_t	gen;
	ssize_t		rc;
	int		fd, err;

	*n = 0;
	if (len == 0)
		return (LINK_OK);
	if ((fd = link_acquire(l, &gen)) == -1)
		return (LINK_CLOSED);
	if (want_gen != 0 && gen != want_gen) {
		link_release(l);
		return (LINK_CLOSED);
	}
	/* The watchdog tells a stuck writer by these: since when it waits,
	   and how much it holds. */
	if (atomic_load(&l->send_since_ms) == 0)
		atomic_store(&l->send_since_ms, now_ms);
	atomic_store(&l->send_pending, (uint32_t)len);
	rc = io_call(l, fd, op, buf, pipe_fd, len, &err, &reason);
	if (rc > 0 && op == IO_SEND)
		words_add(&l->words_out, buf, (size_t)rc);
	else if (rc > 0)
		words_skip(&l->words_out, (size_t)rc);
	/* Told while fd is borrowed still, as in link_in(). */
	if (rc == -1 && reason != WD_REASON_NONE) {
		atomic_store(&l->send_since_ms, 0);
		if (err == EPIPE)
			fail_guess(l, gen, reason, "%s: %s", op == IO_SEND ?
			    "send" : "splice", strerror(err));
		else
			link_fail(l, gen, reason, 0, "%s: %s", op == IO_SEND ?
			    "send" : "splice", strerror(err));
	}
	link_release(l);
	if (rc > 0) {
		*n = (size_t)rc;
		atomic_fetch_add(&l->stat_bytes_out, *n);
		atomic_store(&l->send_progress_ms, clock_ms());
		atomic_store(&l->send_pending, (uint32_t)(len - *n));
		if (*n == len)
			atomic_store(&l->send_since_ms, 0);
		return (LINK_OK);
	}
	/* send() never returns 0 for len > 0: a timeout, as EAGAIN is. */
	return (rc == 0 || reason == WD_REASON_NONE ? LINK_TIMEOUT :
	    LINK_CLOSED);
}

enum link_io
link_read(struct link *l, void *buf, size_t len, struct link_waiter *w,
    size_t *n)
{
	return (link_in(l, IO_RECV, buf, -1, len, w, n));
}

size_t
link_read_rest(struct link *l, void *buf, size_t len, bool *more)
{
	uint64_t	gen;
	size_t		got = 0;
	ssize_t		rc;
	int		fd;

	*more = false;
	pthread_mutex_lock(l->mu);
	fd = l->state == LINK_UP && l->failed ? l->fd : -1;
	gen = l->gen;
	pthread_mutex_unlock(l->mu);
	/* Only the owner closes the link, and the owner is the caller. */
	if (fd == -1)
		return (0);
	/* A reset after the bytes leaves them readable (recv() returns them
	   before the error); what a peer still sends after the failure is
	   not waited for. */
	if (!l->rest_known) {
		l->rest_left = unread_bytes(fd);
		l->rest_known = true;
	}
	if (len > l->rest_left)
		len = l->rest_left;
	while (got < len) {
		rc = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
		if (rc > 0)
			got += (size_t)rc;
		else if (rc == 0 || errno != EINTR)
			break;
	}
	/* A read that came short found the end of what there was. */
	l->rest_left = got < len ? 0 : l->rest_left - got;
	*more = l->rest_left > 0;
	l->rx_more = false;
	if (got > 0) {
		link_saw(l, buf, got);
		l->rx_gen = gen;
		atomic_store(&l->last_rx_ms, clock_ms());
		atomic_fetch_add(&l->stat_bytes_in, got);
	}
	return (got);
}

enum link_io
link_write(struct link *l, uint64_t gen, const void *buf, size_t len,
    size_t *n, int64_t now_ms)
{
	/* send() only reads buf. */
	return (link_out(l, gen, IO_SEND, (void *)(uintptr_t)buf, -1, len, n,
	    now_ms));
}

enum link_io
link_splice_in(struct link *l, int pipe_w, size_t len, struct link_waiter *w,
    size_t *n)
{
	return (link_in(l, IO_SPLICE_IN, NULL, pipe_w, len, w, n));
}

enum link_io
link_splice_out(struct link *l, uint64_t gen, int pipe_r, size_t len,
    size_t *n, int64_t now_ms)
{
	return (link_out(l, gen, IO_SPLICE_OUT, NULL, pipe_r, len, n,
	    now_ms));
}

void
link_set_tap(struct link *l, struct tap *tap, enum tap_dir dir)
{
	l->tap = tap;
	l->tap_dir = dir;
}

bool
link_tapped(const struct link *l)
{
	return (tap_active(l->tap));
}

void
link_saw(struct link *l, const void *buf, size_t n)
{
	words_add(&l->words_in, buf, n);
	/* Nobody watching: one atomic load. */
	tap_feed(l->tap, l->tap_dir, buf, n);
}

void
link_unseen(struct link *l, size_t n)
{
	words_skip(&l->words_in, n);
}

uint64_t
link_rx_gen(const struct link *l)
{
	return (l->rx_gen);
}

bool
link_rx_more(const struct link *l)
{
	return (l->rx_more);
}

bool
link_rx_at_mark(const struct link *l)
{
	return (l->rx_at_mark);
}

size_t
link_segment(struct link *l)
{
	uint64_t	gen;
	socklen_t	len = sizeof(int);
	int		fd, mss = 0;

	if ((fd = link_acquire(l, &gen)) == -1)
		return (0);
	if (getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &len) == -1)
		mss = 0;
	link_release(l);
	return (mss > 0 ? (size_t)mss : 0);
}

void
link_count_discarded(struct link *l, size_t n)
{
	atomic_fetch_add(&l->stat_held_discarded, (uint64_t)n);
}

void
link_policy_changed(struct link *l, bool shorter)
{
	const char	*what;

	pthread_mutex_lock(l->mu);
	/* The watchdog holds silence against shorter budgets from now on:
	   a link quiet for longer than the new budget is not dead for it. */
	if (shorter)
		l->judged_from_ms = clock_ms();
	/* The fd cannot close while we hold the lock. */
	if (l->state == LINK_UP && !l->failed &&
	    sockopt_link(l->fd, l->pol, &what) == -1)
		link_log(l, LOG_LVL_WARN, WD_REASON_NONE, "%s: cannot apply %s: "
		    "%s", l->name,
		    what, strerror(errno));
	pthread_mutex_unlock(l->mu);
}

void
link_snapshot(struct link *l, struct link_snap *s)
{
	int	r;
	bool	failed;

	pthread_mutex_lock(l->mu);
	failed = l->state == LINK_UP && l->failed;
	s->kind = l->kind;
	s->state = failed ? LINK_DOWN : l->state;
	snprintf(s->peer, sizeof(s->peer), "%s",
	    l->state == LINK_UP && !failed ? l->peer : "");
	snprintf(s->listen, sizeof(s->listen), "%s", l->listen);
	s->since_wall_ms = failed ? l->failed_wall_ms : l->since_wall_ms;
	s->last_reason = l->last_reason;
	snprintf(s->last_detail, sizeof(s->last_detail), "%s", l->last_detail);
	s->last_failure_wall_ms = l->last_failure_wall_ms;
	s->last_words_in = l->last_words_in;
	s->last_words_out = l->last_words_out;
	/* Failed, its owner not done with it yet (the rest of what it
	   received still going out): shown as it will be once closed. */
	if (failed && l->reason != WD_REASON_NONE) {
		s->last_reason = l->reason;
		snprintf(s->last_detail, sizeof(s->last_detail), "%s",
		    l->detail);
		s->last_failure_wall_ms = l->failed_wall_ms;
		words_copy(&l->words_in, &s->last_words_in);
		words_copy(&l->words_out, &s->last_words_out);
	}
	pthread_mutex_unlock(l->mu);
	s->connects = atomic_load(&l->stat_connects);
	for (r = 0; r < WD_REASON_COUNT; r++)
		s->failures[r] = atomic_load(&l->stat_failures[r]);
	s->bytes_in = atomic_load(&l->stat_bytes_in);
	s->bytes_out = atomic_load(&l->stat_bytes_out);
	s->unacked_at_failure = atomic_load(&l->stat_unacked_at_failure);
	s->held_discarded = atomic_load(&l->stat_held_discarded);
	hist_read(&l->stat_detect, &s->detect);
	s->last_detection_ms = atomic_load(&l->last_detect_ms);
}

void
link_budgets(struct link *l, int64_t period_ms, struct wd_budgets *b)
{
	struct wd_policy	wp;

	pthread_mutex_lock(l->mu);
	cfg_wd_policy(l->pol, &wp);
	pthread_mutex_unlock(l->mu);
	wd_budgets(&wp, kind_roles[l->kind], period_ms, b);
}

/* ---- the watchdog's view ---- */


static int
link_wd_get(void *ctx, uint64_t *gen, struct wd_link_state *ls,
    struct wd_policy *p, enum wd_role *role)
{
	struct link	*l = ctx;
	int64_t		 since, progress;
	int		 fd;

	pthread_mutex_lock(l->mu);
	if ((fd = acquire_locked(l, gen)) != -1) {
		ls->up_ms = l->up_ms;
		ls->judged_from_ms = l->judged_from_ms;
		/* The policy may be replaced on reload: read it under mu. */
		cfg_wd_policy(l->pol, p);
	}
	pthread_mutex_unlock(l->mu);
	if (fd == -1)
		return (-1);
	since = atomic_load(&l->send_since_ms);
	progress = atomic_load(&l->send_progress_ms);
	ls->up = true;
	ls->rx_last_ms = atomic_load(&l->last_rx_ms);
	ls->tx_busy = since != 0;
	ls->tx_progress_ms = progress > since ? progress : since;
	ls->tx_pending_bytes = atomic_load(&l->send_pending);
	*role = kind_roles[l->kind];
	return (fd);
}

static void
link_wd_put(void *ctx)
{
	link_release(ctx);
}

static void
link_wd_apply(void *ctx, uint64_t gen, const struct wd_sample *s,
    const struct wd_verdict *v, int64_t now_ms)
{
	struct link	*l = ctx;

	pthread_mutex_lock(l->mu);
	if (gen == l->gen) {
		l->last_sample = *s;
		l->have_sample = true;
	}
	pthread_mutex_unlock(l->mu);
	if (v->dead)
		fail_gen(l, gen, v->reason, now_ms - v->silence_ms,
		    v->names_queue, "%s", v->detail);
}

const struct wd_target_ops link_wd_ops = {
	.get = link_wd_get,
	.put = link_wd_put,
	.apply = link_wd_apply,
};
