/* device.c -- one device: its links and its reader and writer threads.
 *
 * DESIGN: two threads per device, both blocking on sockets with
 * SO_RCVTIMEO/SO_SNDTIMEO so they wake at least every io_timeout_ms.
 *   reader: device (or rx) -> upstream; owns the device/rx link.
 *   writer: upstream -> device (or tx); owns the upstream and tx links.
 * The owner of a link is the thread that reads from it (or its only user):
 * it alone dials or takes accepted clients, and closes. The other thread
 * only borrows the fd for a send and, on error, calls link_fail(), whose
 * shutdown() wakes the owner. Locks: the device's link_sync (mutex + cv +
 * change counter) protects every link's state; each thread's pump is its
 * own. Stop, in two steps so that a gateway tells every device before it
 * waits for any: device_stop_begin() sets dev->stop, signals the wake
 * eventfd (a dial or name lookup in progress gives up), shuts every link
 * down (waking blocked calls) and broadcasts the sync; device_stop_finish()
 * joins both threads, then, as the owner of everything now, counts what
 * the pumps still hold and closes the links. The links stay readable
 * (closed, their counters final) until device_free(), so that a gateway
 * can take their failures into its totals at the moment it drops the
 * device from its table. A thread
 * in a receive on one link learns of a change of another only when it must
 * (side_waits_for_others()): that receive lets the sync's wake signal in.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "cfg_schema.h"
#include "clock.h"
#include "device.h"
#include "endpoint.h"
#include "log.h"
#include "pump.h"
#include "sockopt.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define THREAD_STACK	(1024 * 1024)	/* sanitizers need far more stack */
#else
#define THREAD_STACK	(128 * 1024)
#endif
#define CONNECT_LOG_MS	60000		/* one connect failure line a minute */
#define DISCARD_LOG_MS	60000		/* one discard line a minute */
/* Nothing to do and no timer due: a thread sleeps until a link changes
   (every change, a stop and a reload broadcast the device's sync), but
   looks around at least this often (a held-back up line, LINK_SHORT_MS). */
#define SIDE_IDLE_MS	5000
/* How often a reader looks whether the host has acknowledged the last
   of a device's connection that ended (side_has_tail()). */
#define TAIL_POLL_MS	10

/* A link that a thread owns: how it is (re)established. */
struct tend {
	struct link		*link;
	struct backoff		 bo;
	int64_t			 next_try_ms;
	unsigned		 failures;	/* consecutive */
	struct log_limit	 fail_log;
};

struct side {
	struct device		*dev;
	struct cfg_policy	 pol;		/* this thread's copy */
	unsigned		 pol_gen;
	const char		*role;		/* "reader", "writer" */
	bool			 is_writer;
	struct pump		 pump;
	struct link		*src;
	struct link		*dst;
	struct tend		 own[2];
	int			 n_own;
	struct log_limit	 discard_log;	/* a host away for hours */
	uint64_t		 held_gen;	/* src's connection that sent the
						   newest bytes held; 0: none */
	uint64_t		 for_gen;	/* dst's connection the bytes held
						   are for; 0: any (side_move()) */
	uint64_t		 fill_gen;	/* the same at the last fill */
	struct link_waiter	*waiter;	/* NULL: no receive is woken */
	bool			 told_holds;	/* dev->reader_holds or
						   writer_holds */
	pthread_t		 tid;
	bool			 started;
	bool			 has_pump;	/* pump_init() ran: free it */
};

struct device {
	struct cfg_device	 cfg;		/* own copy, allow lists too */
	struct acceptor		*acc;
	struct watchdog		*wd;
	struct link_sync	 sync;
	unsigned		 pol_gen;	/* +1 per reload; under sync.mu */
	atomic_bool		 stop;
	atomic_bool		 reader_holds;	/* bytes for the upstream */
	atomic_bool		 writer_holds;	/* bytes for a device down */
	int			 wake_fd;	/* eventfd: readable once stopping */
	struct link		*links[LINK_KIND_COUNT];	/* NULL: unused */
	bool			 listening[LINK_KIND_COUNT];
	bool			 watched[LINK_KIND_COUNT];
	struct link		*in;		/* device or rx */
	struct link		*out;		/* device or tx */
	struct link		*up;
	struct tap		*tap;		/* a copy of both directions */
	struct side		 reader;
	struct side		 writer;
};

static void	*side_main(void *);

/* ---- link keeping ---- */

static bool
device_up(struct device *dev)
{
	return (link_is_up(dev->in) && (dev->out == dev->in ||
	    link_is_up(dev->out)));
}

static bool
close_mode(const struct side *s)
{
	return (s->pol.on_device_down == CFG_DOWN_CLOSE);
}

static void
tend_init(struct side *s, struct link *l)
{
	struct tend	*t = &s->own[s->n_own++];

	t->link = l;
	backoff_init(&t->bo, s->pol.backoff_min_ms, s->pol.backoff_max_ms,
	    (uint64_t)clock_ms() ^ (uint64_t)(uintptr_t)l);
	t->next_try_ms = 0;
	t->fail_log.window_ms = CONNECT_LOG_MS;
}

/* Take the device's policy if a reload changed it. Called with sync.mu. */
static void
side_refresh_policy(struct side *s)
{
	const struct cfg_policy	*pol = &s->dev->cfg.pol;
	bool			 bounds;
	int			 i;

	if (s->pol_gen == s->dev->pol_gen)
		return;
	bounds = pol->backoff_min_ms != s->pol.backoff_min_ms ||
	    pol->backoff_max_ms != s->pol.backoff_max_ms;
	s->pol = *pol;
	s->pol_gen = s->dev->pol_gen;
	/* Only new bounds start the backoff again: a reload of another key
	   must not have a device that drops every connection redialled
	   from min_ms again. */
	if (!bounds)
		return;
	for (i = 0; i < s->n_own; i++)
		backoff_init(&s->own[i].bo, s->pol.backoff_min_ms,
		    s->pol.backoff_max_ms, s->own[i].bo.rng);
}

/* The reader, with "close": the device's connection (its source) has
   ended, and bytes it sent are still on their way to the host: held by
   the reader, or sent and not yet acknowledged. They are the host's of
   that moment, as on a direct connection, which gets them all before its
   connection is closed too (side_move(), side_follow_device()); never a
   later host's. Closed before the host has acknowledged them, the
   connection could lose them: a close() with bytes the host sent unread
   (the writer does not read while the device is down) resets it, and a
   reset drops what is still queued to send. The device's next connection
   waits for them (side_tend()). */
static bool
side_has_tail(struct side *s)
{
	return (!s->is_writer && close_mode(s) && !link_is_up(s->src) &&
	    (pump_len(&s->pump) > 0 || link_unacked(s->dst) > 0));
}

/* The reader, with "hold": the device's connection has ended, and bytes it
   sent are held for the host, which is up. They go first, the bytes its
   kernel still queued included (side_fill_rest()), and the device's next
   connection waits, whose dial can take connect_timeout_ms when the
   device is off; but not once the host waits for the device (the writer
   holds bytes for it), nor once the oldest of them has waited
   hold_max_ms: a host that reads slowly does not keep the device away. */
static bool
side_hold_tail(struct side *s, int64_t now)
{
	return (!s->is_writer && !close_mode(s) && !link_is_up(s->src) &&
	    pump_len(&s->pump) > 0 && link_is_up(s->dst) &&
	    !atomic_load(&s->dev->writer_holds) &&
	    now < pump_oldest_ms(&s->pump) + s->pol.hold_max_ms);
}

/* With "close" the upstream exists only while the device is up. The
   reader closes it once the host has what the reader holds for it: at
   once, or once the host has its tail (looking again at the latest in
   TAIL_POLL_MS: *wake). The writer closes it for a split device's tx
   link, unless the reader holds bytes for the host or its rx link is
   down too: the reader then closes it (a reboot of the device ends both
   links, and the host must not lose what rx sent last). */
static void
side_follow_device(struct side *s, int64_t now, int64_t *wake)
{
	struct device	*dev = s->dev;
	struct link	*l;

	if (!close_mode(s))
		return;
	if (s->is_writer) {
		l = dev->out;
		if (l == dev->in || link_is_up(l) || !link_is_up(dev->in) ||
		    atomic_load(&dev->reader_holds))
			return;
	} else if (link_is_up(dev->in)) {
		/* A split device's tx down: what rx sent first. */
		l = dev->out;
		if (l == dev->in || link_is_up(l) || pump_len(&s->pump) > 0)
			return;
	} else {
		l = dev->in;
		if (side_has_tail(s)) {
			if (pump_len(&s->pump) == 0 &&
			    now + TAIL_POLL_MS < *wake)
				*wake = now + TAIL_POLL_MS;
			return;
		}
	}
	if (link_is_up(dev->up))
		link_fail(dev->up, 0, WD_REASON_NONE, 0, "%s is down",
		    link_name(l));
}

/* Tell the other thread whether this one holds bytes for its
   destination: the reader, any; the writer, bytes that wait for a device
   that is down (the host waits for it), not those on their way to one
   that is up (a split device's tx). */
static void
side_tell_holds(struct side *s)
{
	bool	holds = pump_len(&s->pump) > 0 && (!s->is_writer ||
	    !link_is_up(s->dst));

	if (holds == s->told_holds)
		return;
	s->told_holds = holds;
	atomic_store(s->is_writer ? &s->dev->writer_holds :
	    &s->dev->reader_holds, holds);
}

/* With "close", an upstream connection that came up as the device went
   down (after the check that let it in) goes at once. */
static void
after_up(struct side *s, struct link *l)
{
	struct device	*dev = s->dev;

	if (l == dev->up && close_mode(s) && !device_up(dev))
		link_fail(l, 0, WD_REASON_NONE, 0, "device is down");
}

/* The link is up on a socket set with this thread's copy of the policy:
   if a reload changed the policy since the copy was taken (during a dial
   that took seconds, say), set the new one, which the reload could not
   set on a link that was not up yet. */
static void
attach(struct side *s, struct link *l, int fd, const char *peer)
{
	bool	moved;

	link_attach(l, fd, peer);
	pthread_mutex_lock(&s->dev->sync.mu);
	moved = s->pol_gen != s->dev->pol_gen;
	pthread_mutex_unlock(&s->dev->sync.mu);
	if (moved)
		link_policy_changed(l, false);	/* just up: judged from now */
}

static void
tend_accept(struct side *s, struct tend *t)
{
	struct device	*dev = s->dev;
	struct link	*l = t->link;
	char		 peer[LINK_PEER_MAX], note[LINK_DROPPED_MAX];
	const char	*what;
	unsigned	 suppressed;
	size_t		 n;
	int		 fd, err;

	/* A link that failed since its owner looked is closed first. */
	if (link_failed(l) ||
	    (fd = link_take_pending(l, peer, sizeof(peer))) == -1)
		return;
	if (l == dev->up && close_mode(s) && !device_up(dev)) {
		/* As a direct connection to a device that is down would. What
		   the client sent first is counted and said. */
		n = link_drop_client(l, fd);
		if (log_limit_allow(&t->fail_log, clock_ms(), &suppressed))
			link_log(l, n > 0 ? LOG_LVL_WARN : LOG_LVL_INFO,
			    WD_REASON_NONE, "%s: closed client %s at once: "
			    "device is down%s%s", link_name(l), peer,
			    link_dropped_str(n, note, sizeof(note)),
			    log_suppressed(suppressed));
		return;
	}
	if (sockopt_link(fd, &s->pol, &what) == -1) {
		err = errno;
		n = link_drop_client(l, fd);
		link_log(l, LOG_LVL_WARN, WD_REASON_NONE, "%s: client %s: "
		    "cannot set %s: %s%s", link_name(l), peer, what,
		    strerror(err), link_dropped_str(n, note, sizeof(note)));
		return;
	}
	attach(s, l, fd, peer);
	after_up(s, l);
}

/* A source that failed: before it is closed, the bytes the kernel still
   holds of it (a device's last telegram before its reset, bytes that came
   while the watchdog reached its verdict) join the side's, as far as
   there is room, and go where the others go: the writer's, with "close",
   to the device's connection its host was paired with (fill_gen), or
   nowhere. True when the reader keeps it open to take the rest once the
   host has made room: they are part of the tail (side_has_tail(),
   side_hold_tail()), which the device's next connection waits for. */
static bool
side_fill_rest(struct side *s, int64_t now)
{
	bool	more;

	if (!link_failed(s->src))
		return (false);
	more = pump_fill_rest(&s->pump, s->src);
	s->held_gen = link_rx_gen(s->src);
	s->for_gen = close_mode(s) ? s->fill_gen : 0;
	return (more && link_is_up(s->dst) && (side_has_tail(s) ||
	    side_hold_tail(s, now)));
}

/* Close t's link if it failed, once a source has passed on what it still
   queues (side_fill_rest()). Redial at once after a connection that
   lasted; back off after a short one, so a device that accepts and drops
   every connection is not hammered. One the gateway ended itself (a
   host's, as its device went down) says nothing of its peer: the backoff
   starts again, and the redial waits backoff.min_ms, no more, however
   often the gateway ends it. */
static void
tend_close(struct side *s, struct tend *t, int64_t now)
{
	int64_t	up_for_ms;
	bool	ours;

	if (t->link == s->src && side_fill_rest(s, now))
		return;
	ours = link_failed_on_purpose(t->link);
	if ((up_for_ms = link_close(t->link, false)) < 0)
		return;
	if (up_for_ms >= LINK_SHORT_MS) {
		backoff_reset(&t->bo);
		t->next_try_ms = 0;
	} else if (ours) {
		backoff_reset(&t->bo);
		t->next_try_ms = now + s->pol.backoff_min_ms;
	} else
		t->next_try_ms = now + backoff_next(&t->bo);
}

/* Woken while dialling one of its links (a split device's writer, its
   tx): take a client that waits at another, so that a dial to a peer
   that does not answer holds up no host; first close that link if it
   failed (a client replaced by the one waiting). */
static void
dial_woken(void *arg)
{
	struct side	*s = arg;
	struct tend	*t;
	int		 i;

	for (i = 0; i < s->n_own && !atomic_load(&s->dev->stop); i++) {
		t = &s->own[i];
		if (link_endpoint(t->link)->mode != CFG_LINK_LISTEN)
			continue;
		tend_close(s, t, clock_ms());
		if (!link_is_up(t->link))
			tend_accept(s, t);
	}
}

static void
tend_dial(struct side *s, struct tend *t, int64_t now, int64_t *wake)
{
	struct device		*dev = s->dev;
	struct link		*l = t->link;
	struct wake		 dw;
	char			 peer[LINK_PEER_MAX], err[200];
	unsigned		 suppressed;
	int			 fd, delay;
	bool			 waking;

	/* A link that failed since its owner looked is closed first. */
	if (link_failed(l))
		return;
	if (now < t->next_try_ms) {
		if (t->next_try_ms < *wake)
			*wake = t->next_try_ms;
		return;
	}
	/* A thread with another link lets the wake signal end the wait, as
	   its receives do (the waiter's mask). */
	waking = s->n_own > 1 && s->waiter != NULL;
	if (waking) {
		dw.mask = &s->waiter->wait_mask;
		dw.woken = dial_woken;
		dw.arg = s;
	}
	link_set_connecting(l, true);
	fd = endpoint_dial(link_endpoint(l), &s->pol, dev->wake_fd,
	    waking ? &dw : NULL, peer, sizeof(peer), err, sizeof(err));
	if (fd != -1) {
		if (t->failures > 0)
			link_log(l, LOG_LVL_INFO, WD_REASON_NONE, "%s: connected "
			    "after %u failed "
			    "attempts%s", link_name(l), t->failures,
			    log_suppressed(log_limit_reset(&t->fail_log)));
		t->failures = 0;
		attach(s, l, fd, peer);
		after_up(s, l);
		return;
	}
	link_set_connecting(l, false);
	if (errno == ECANCELED)
		return;
	t->failures++;
	delay = backoff_next(&t->bo);
	t->next_try_ms = clock_ms() + delay;
	if (t->next_try_ms < *wake)
		*wake = t->next_try_ms;
	if (log_limit_allow(&t->fail_log, clock_ms(), &suppressed))
		link_log(l, LOG_LVL_WARN, WD_REASON_NONE, "%s: %s; retrying "
		    "in %d ms%s", link_name(l),
		    err, delay, log_suppressed(suppressed));
}

/* Close what failed, establish what is down. */
static void
side_tend(struct side *s, int64_t now, int64_t *wake)
{
	struct device	*dev = s->dev;
	struct tend	*t;
	int		 i;

	for (i = 0; i < s->n_own; i++)
		tend_close(s, &s->own[i], now);
	side_follow_device(s, now, wake);
	for (i = 0; i < s->n_own && !atomic_load(&dev->stop); i++) {
		t = &s->own[i];
		if (link_is_up(t->link)) {
			link_check_stable(t->link, now);
			continue;
		}
		/* The device's next connection waits for the last one's
		   tail to reach its host. */
		if (t->link == s->src && (side_has_tail(s) ||
		    side_hold_tail(s, now)))
			continue;
		if (link_endpoint(t->link)->mode == CFG_LINK_LISTEN)
			tend_accept(s, t);
		else if (t->link != dev->up || !close_mode(s) ||
		    device_up(dev))
			tend_dial(s, t, now, wake);
	}
}

/* ---- data movement ---- */

/* The direction of the bytes a side moves, as a watcher sees them. */
static enum tap_dir
side_dir(const struct side *s)
{
	return (s->is_writer ? TAP_UP_TO_DEV : TAP_DEV_TO_UP);
}

static void
discard(struct side *s, const char *why)
{
	size_t		n = pump_discard(&s->pump);
	unsigned	suppressed;

	link_count_discarded(s->src, n);
	tap_note_discard(s->dev->tap, side_dir(s), n, why);
	if (log_limit_allow(&s->discard_log, clock_ms(), &suppressed))
		link_log(s->src, LOG_LVL_WARN, WD_REASON_NONE, "%s: discarded "
		    "%zu bytes for %s: %s%s",
		    link_name(s->src), n, link_name(s->dst), why,
		    log_suppressed(suppressed));
}

/* Must a change of another link end this side's receive on its source?
   When it holds data for a destination that is down (which may come back
   while the source is quiet), or owns a second link (a split device's tx,
   whose failure the writer must act on at once). A bare relay lets its
   receives run to their end: the wake-up costs a ppoll() per receive.
   dst_up is what the step saw: a destination that came up since has
   kicked the waiter, which so ends the receive before it begins. */
static bool
side_waits_for_others(const struct side *s, bool dst_up)
{
	return ((pump_len(&s->pump) > 0 && !dst_up) || s->n_own > 1);
}

/* May the side take more from its source now? *for_gen: the device's
   connection what it takes is for (close mode), 0 for any. */
static bool
side_may_fill(struct side *s, uint64_t *for_gen)
{
	*for_gen = 0;
	if (pump_full(&s->pump) || !link_is_up(s->src))
		return (false);
	if (!s->is_writer || !close_mode(s))
		return (true);
	/* With "close" the writer takes what the host sends only while the
	   device is up, and for its connection of now, with which it dies
	   (side_move()). It fills an empty pump only, or one whose part-filled
	   segment is for that connection: a connection for all. */
	if (!device_up(s->dev) || (*for_gen = link_gen(s->dst)) == 0)
		return (false);
	return (pump_len(&s->pump) == 0 || *for_gen == s->for_gen);
}

/* One step: returns false when there was nothing to do. */
static bool
side_move(struct side *s, int64_t now, int64_t *wake)
{
	struct device	*dev = s->dev;
	struct pump	*p = &s->pump;
	int64_t		 expiry;
	uint64_t	 for_gen = 0;
	bool		 dst_up = link_is_up(s->dst);

	if (pump_len(p) > 0 && !dst_up) {
		/* With "close" nothing is held across the device's
		   connections: what is for the device, or what it sent
		   before it went and no host took, dies with it. */
		if (close_mode(s) && (s->is_writer || side_has_tail(s))) {
			discard(s, "device is down");
			return (true);
		}
		pump_hold(p);
	}
	if (pump_held(p)) {
		expiry = pump_oldest_ms(p) + s->pol.hold_max_ms;
		if (now >= expiry) {
			discard(s, "held longer than hold_max_ms");
			/* The host must learn that its data did not go through:
			   the one connected now, if it sent some of it. One that
			   came after sent nothing held, and stays. */
			if (s->is_writer)
				link_fail(dev->up, s->held_gen, WD_REASON_NONE,
				    0, "held data expired");
			return (true);
		}
		if (expiry < *wake)
			*wake = expiry;
	}
	if (pump_len(p) > 0 && dst_up) {
		/* The device came back before this thread saw it go. */
		if (s->for_gen != 0 && close_mode(s) &&
		    link_gen(s->dst) != s->for_gen) {
			discard(s, "the device's connection they were for "
			    "ended");
			return (true);
		}
		/* A part-filled segment waits for the fill below, which
		   the source answers at once. */
		if (!pump_tops_up(p) || !side_may_fill(s, &for_gen)) {
			pump_drain(p, s->dst, close_mode(s) ? s->for_gen : 0,
			    now);
			return (true);
		}
	} else if (!side_may_fill(s, &for_gen))
		return (false);
	s->fill_gen = for_gen;
	/* A receive that others' changes end ends at this thread's own next
	   timer too: held data expiring, a redial of its other link. */
	if (s->waiter != NULL)
		s->waiter->deadline_ms = *wake;
	if (pump_fill(p, s->src, dst_up, side_waits_for_others(s, dst_up) ?
	    s->waiter : NULL) == LINK_OK) {
		s->held_gen = link_rx_gen(s->src);
		s->for_gen = for_gen;
	}
	return (true);
}

static void *
side_main(void *arg)
{
	struct side	*s = arg;
	struct device	*dev = s->dev;
	struct timespec	 ts;
	sigset_t	 block_set;
	char		 tag[CFG_NAME_MAX + 16];
	int64_t		 now, wake;
	unsigned	 seen;
	bool		 moved;

	snprintf(tag, sizeof(tag), "%s/%s", dev->cfg.name, s->role);
	log_set_tag(tag);
	/* splice() to a socket has no MSG_NOSIGNAL: a peer gone must not
	   kill the process, whatever the process does with SIGPIPE. The wake
	   signal gets in only during a receive that a change may end. */
	sigemptyset(&block_set);
	sigaddset(&block_set, SIGPIPE);
	sigaddset(&block_set, LINK_WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &block_set, NULL);
	s->waiter = link_waiter_join(&dev->sync);
	while (!atomic_load(&dev->stop)) {
		pthread_mutex_lock(&dev->sync.mu);
		seen = dev->sync.seq;
		link_waiter_looked(s->waiter);
		side_refresh_policy(s);
		pthread_mutex_unlock(&dev->sync.mu);

		now = clock_ms();
		wake = now + (s->pol.io_timeout_ms > SIDE_IDLE_MS ?
		    s->pol.io_timeout_ms : SIDE_IDLE_MS);
		side_tend(s, now, &wake);
		if (atomic_load(&dev->stop))
			break;
		moved = side_move(s, clock_ms(), &wake);
		side_tell_holds(s);
		if (moved)
			continue;
		/* Nothing to do: sleep until a link changes or a timer is due. */
		pthread_mutex_lock(&dev->sync.mu);
		if ((now = wake - clock_ms()) > 0) {
			ts = clock_deadline(now);
			while (dev->sync.seq == seen && !atomic_load(&dev->stop))
				if (pthread_cond_timedwait(&dev->sync.cv,
				    &dev->sync.mu, &ts) == ETIMEDOUT)
					break;
		}
		pthread_mutex_unlock(&dev->sync.mu);
	}
	link_waiter_leave(&dev->sync, s->waiter);
	return (NULL);
}

/* ---- lifecycle ---- */

static struct link *
use_link(struct device *dev, enum link_kind kind,
    const struct cfg_endpoint *ep)
{
	dev->links[kind] = link_new(dev->cfg.name, kind, ep, &dev->cfg.pol,
	    &dev->sync);
	return (dev->links[kind]);
}

static int
side_start(struct side *s, pthread_attr_t *attr)
{
	const struct cfg_policy	*pol = &s->dev->cfg.pol;
	char			 why[256];

	/* Whatever it returns, the pump can be freed: before it, it is all
	   zeros, and its "pipe" descriptor 0 is not ours to close. */
	s->has_pump = true;
	if (pump_init(&s->pump, (size_t)pol->buffer_bytes,
	    pol->relay == CFG_RELAY_SPLICE, why, sizeof(why)) == -1)
		return (-1);
	if (why[0] != '\0')
		log_link(LOG_LVL_INFO, s->dev->cfg.name, NULL, NULL, "%s: %s "
		    "copies: the kernel refused "
		    "%s", s->dev->cfg.name, s->role, why);
	s->discard_log.window_ms = DISCARD_LOG_MS;
	if ((errno = pthread_create(&s->tid, attr, side_main, s)) != 0)
		return (-1);
	s->started = true;
	return (0);
}

struct device *
device_start(const struct cfg_device *dc, struct acceptor *acc,
    struct watchdog *wd, char *err, size_t errlen)
{
	struct device	*dev;
	pthread_attr_t	 attr;
	int		 k;

	if ((dev = calloc(1, sizeof(*dev))) == NULL ||
	    cfg_device_copy(&dev->cfg, dc) == -1) {
		snprintf(err, errlen, "out of memory");
		free(dev);
		return (NULL);
	}
	dev->wake_fd = -1;
	dev->acc = acc;
	dev->wd = wd;
	link_sync_init(&dev->sync);
	atomic_init(&dev->stop, false);
	atomic_init(&dev->reader_holds, false);
	atomic_init(&dev->writer_holds, false);
	if ((dev->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto out_stop;
	}
	if (dev->cfg.split) {
		dev->in = use_link(dev, LINK_KIND_RX, &dev->cfg.rx);
		dev->out = use_link(dev, LINK_KIND_TX, &dev->cfg.tx);
	} else
		dev->in = dev->out = use_link(dev, LINK_KIND_DEVICE,
		    &dev->cfg.device);
	dev->up = use_link(dev, LINK_KIND_UPSTREAM, &dev->cfg.upstream);
	if (dev->in == NULL || dev->out == NULL || dev->up == NULL ||
	    (dev->tap = tap_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out_stop;
	}
	link_set_tap(dev->in, dev->tap, TAP_DEV_TO_UP);
	link_set_tap(dev->up, dev->tap, TAP_UP_TO_DEV);

	dev->reader = (struct side){ .dev = dev, .role = "reader",
	    .pol = dev->cfg.pol, .src = dev->in, .dst = dev->up };
	tend_init(&dev->reader, dev->in);
	dev->writer = (struct side){ .dev = dev, .role = "writer",
	    .pol = dev->cfg.pol, .is_writer = true, .src = dev->up,
	    .dst = dev->out };
	if (dev->cfg.split)
		tend_init(&dev->writer, dev->out);
	tend_init(&dev->writer, dev->up);

	for (k = 0; k < LINK_KIND_COUNT; k++) {
		if (dev->links[k] == NULL)
			continue;
		if (wd_add(wd, &link_wd_ops, dev->links[k]) == -1) {
			snprintf(err, errlen, "out of memory");
			goto out_stop;
		}
		dev->watched[k] = true;
		if (link_endpoint(dev->links[k])->mode != CFG_LINK_LISTEN)
			continue;
		if (acceptor_add(acc, dev->links[k], err, errlen) == -1)
			goto out_stop;
		dev->listening[k] = true;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	if (side_start(&dev->reader, &attr) == -1 ||
	    side_start(&dev->writer, &attr) == -1) {
		snprintf(err, errlen, "cannot start threads: %s",
		    strerror(errno));
		pthread_attr_destroy(&attr);
		goto out_stop;
	}
	pthread_attr_destroy(&attr);
	return (dev);
out_stop:
	device_stop(dev);
	return (NULL);
}

void
device_stop_begin(struct device *dev)
{
	uint64_t	one = 1;
	ssize_t		n;
	int		k;

	if (dev == NULL)
		return;
	for (k = 0; k < LINK_KIND_COUNT; k++)
		if (dev->listening[k])
			acceptor_remove(dev->acc, dev->links[k]);
	atomic_store(&dev->stop, true);
	/* Wakes a dial or a name lookup in progress. */
	if (dev->wake_fd != -1) {
		n = write(dev->wake_fd, &one, sizeof(one));
		(void)n;	/* an eventfd write of 1 cannot fail here */
	}
	for (k = 0; k < LINK_KIND_COUNT; k++)
		if (dev->links[k] != NULL)
			link_fail(dev->links[k], 0, WD_REASON_NONE, 0,
			    "stopping");
	pthread_mutex_lock(&dev->sync.mu);
	link_sync_changed(&dev->sync);
	pthread_mutex_unlock(&dev->sync.mu);
}

/* Bytes a side still holds die with the device: count them on the link
   they came in on and say so, as discard() does, with the lines its limit
   held back. The side's thread is joined: its pump is ours. */
static void
side_discard_at_stop(struct side *s)
{
	unsigned	suppressed = log_limit_reset(&s->discard_log);
	size_t		n = pump_len(&s->pump);

	if (n == 0)
		return;
	link_count_discarded(s->src, n);
	tap_note_discard(s->dev->tap, side_dir(s), n, "device stopping");
	link_log(s->src, LOG_LVL_WARN, WD_REASON_NONE, "%s: discarded %zu "
	    "bytes for %s: device stopping%s", link_name(s->src), n,
	    link_name(s->dst), log_suppressed(suppressed));
}

void
device_stop_finish(struct device *dev)
{
	int	k;

	if (dev == NULL)
		return;
	if (dev->reader.started)
		pthread_join(dev->reader.tid, NULL);
	if (dev->writer.started)
		pthread_join(dev->writer.tid, NULL);
	for (k = 0; k < LINK_KIND_COUNT; k++)
		if (dev->watched[k])
			wd_remove(dev->wd, dev->links[k]);
	side_discard_at_stop(&dev->reader);
	side_discard_at_stop(&dev->writer);
	for (k = 0; k < LINK_KIND_COUNT; k++)
		if (dev->links[k] != NULL)
			link_close(dev->links[k], true);
	/* Whoever watches learns that the device is gone, and lets go. */
	tap_close(dev->tap);
}

void
device_free(struct device *dev)
{
	int	k;

	if (dev == NULL)
		return;
	for (k = 0; k < LINK_KIND_COUNT; k++)
		link_free(dev->links[k]);
	tap_unref(dev->tap);
	if (dev->reader.has_pump)
		pump_free(&dev->reader.pump);
	if (dev->writer.has_pump)
		pump_free(&dev->writer.pump);
	if (dev->wake_fd != -1)
		close(dev->wake_fd);
	link_sync_destroy(&dev->sync);
	cfg_device_free(&dev->cfg);
	free(dev);
}

void
device_stop(struct device *dev)
{
	device_stop_begin(dev);
	device_stop_finish(dev);
	device_free(dev);
}

void
device_set_policy(struct device *dev, const struct cfg_policy *pol)
{
	bool	shorter;
	int	k;

	pthread_mutex_lock(&dev->sync.mu);
	shorter = cfg_quiet_budgets_shorter(&dev->cfg.pol, pol);
	dev->cfg.pol = *pol;
	dev->pol_gen++;
	link_sync_changed(&dev->sync);
	pthread_mutex_unlock(&dev->sync.mu);
	/* Keepalive, user timeout and I/O timeouts apply to a live socket
	   at once. */
	for (k = 0; k < LINK_KIND_COUNT; k++)
		if (dev->links[k] != NULL)
			link_policy_changed(dev->links[k], shorter);
}

const struct cfg_device *
device_cfg(const struct device *dev)
{
	return (&dev->cfg);
}

bool
device_splices(const struct device *dev)
{
	return (pump_splices(&dev->reader.pump) &&
	    pump_splices(&dev->writer.pump));
}

struct link *
device_link(struct device *dev, enum link_kind kind)
{
	return (dev->links[kind]);
}

struct tap *
device_tap(struct device *dev)
{
	return (dev->tap);
}
