/* link.h -- one link end: a socket that any thread may shut down and only
   its owner closes, with its state, generation and the reason it failed.

   The rule every caller keeps: the owner of a link (the thread that reads
   from it, or its only user) alone attaches a socket, takes accepted
   clients and closes. Any other thread only borrows the fd for one syscall
   (link_acquire() .. link_release(), or link_read()/link_write(), which do
   it) and, when the peer is gone, calls link_fail(): its shutdown() wakes
   every thread blocked on the socket, and the owner closes it once nobody
   borrows it. A borrowed fd is never closed or reused under a borrower. */
#ifndef GW_LINK_H
#define GW_LINK_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "hist.h"
#include "log.h"
#include "reason.h"
#include "tap.h"
#include "watchdog.h"
#include "words.h"

#ifdef __cplusplus
extern "C" {
#endif

enum link_kind { LINK_KIND_DEVICE, LINK_KIND_RX, LINK_KIND_TX,
	LINK_KIND_UPSTREAM, LINK_KIND_COUNT };
enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_UP };
enum link_io { LINK_OK, LINK_TIMEOUT, LINK_CLOSED };

#define LINK_PEER_MAX	64
#define LINK_DETAIL_MAX	160

/* A thread that may block in a receive on one link while it must act on
   a change of another: it holds data for a link that is down, or owns a
   second link. A change ends such a receive with LINK_WAKE_SIGNAL (see
   link_read()). */
struct link_waiter {
	pthread_t		tid;
	bool			active;	/* protected by the sync's mu */
	bool			kicked;	/* a change since the thread last
					   looked; protected by the sync's mu */
	sigset_t		wait_mask; /* the thread's, at join, without
					   LINK_WAKE_SIGNAL: for its waits
					   (a receive, a dial) */
	int64_t			deadline_ms; /* the thread's own: when its next
					   timer is due (monotonic); 0: none */
};

#define LINK_SYNC_WAITERS	2	/* a device's reader and writer */

/* The lock and wake-up that a device's links and threads share. Every
   change of any link (up, failed, down, client offered) bumps seq and
   broadcasts cv, so a thread can sleep until something changed without
   missing a wake-up, and kicks every waiter but the thread that made it. */
struct link_sync {
	pthread_mutex_t		mu;
	pthread_cond_t		cv;	/* CLOCK_MONOTONIC */
	unsigned		seq;	/* protected by mu */
	struct link_waiter	waiters[LINK_SYNC_WAITERS]; /* under mu */
};

/* Blocked in every thread but in the wait of a receive that link_read()
   or link_splice_in() is told a change may end. Its default is to be
   ignored, and the kernel sends it only to a socket's owner process for
   urgent data, which gatewayd never asks for (F_SETOWN). */
#define LINK_WAKE_SIGNAL	SIGURG

/* Set up / tear down a link_sync (the cv waits on CLOCK_MONOTONIC). */
void	link_sync_init(struct link_sync *);
void	link_sync_destroy(struct link_sync *);

/* Wake every thread waiting on sync; call with sync->mu held. */
void	link_sync_changed(struct link_sync *);

/* The calling thread, which blocks LINK_WAKE_SIGNAL, becomes a waiter of
   sync (at most LINK_SYNC_WAITERS; NULL beyond), until it leaves; it must
   leave before it ends. Both take sync->mu. */
struct link_waiter *link_waiter_join(struct link_sync *);
void	link_waiter_leave(struct link_sync *, struct link_waiter *);

/* The waiter has looked at every link since the last change: clear its
   kick. Call with the sync's mu held. */
void	link_waiter_looked(struct link_waiter *);

/* One link end. Its fields are link.c's alone; other modules use the
   functions below. */
struct link;

/* A consistent copy of what the status page shows of a link: its state
   (under its lock) and its counters (atomic loads). */
struct link_snap {
	enum link_kind		kind;
	enum link_state		state;
	char			peer[LINK_PEER_MAX];	/* "" when down */
	char			listen[LINK_PEER_MAX];	/* as bound; "": none */
	int64_t			since_wall_ms;		/* last state change */
	enum wd_reason		last_reason;		/* NONE: never failed */
	char			last_detail[LINK_DETAIL_MAX];
	int64_t			last_failure_wall_ms;	/* 0: never */
	struct words_snap	last_words_in;	/* at the last failure */
	struct words_snap	last_words_out;
	uint64_t		connects;
	uint64_t		failures[WD_REASON_COUNT];
	uint64_t		bytes_in;	/* received from the peer */
	uint64_t		bytes_out;	/* sent to the peer */
	uint64_t		unacked_at_failure;
	uint64_t		held_discarded;
	struct hist_snap	detect;	/* last sign of life -> verdict */
	int64_t			last_detection_ms;	/* -1: never failed */
};

/* Copy l's state and counters. */
void	link_snapshot(struct link *, struct link_snap *);

/* l's detection budgets with the watchdog sweeping every period_ms: its
   policy and role through wd_budgets(). */
void	link_budgets(struct link *, int64_t period_ms, struct wd_budgets *);

/* The watchdog's view of a link (ctx is the struct link). */
extern const struct wd_target_ops link_wd_ops;

/* A new link, down, sharing the device's sync; ep and pol stay the
   caller's (pol's contents are read under sync->mu: reload). NULL with
   errno ENOMEM. */
struct link *link_new(const char *device, enum link_kind,
	    const struct cfg_endpoint *ep, const struct cfg_policy *pol,
	    struct link_sync *);

/* Free l and close a pending accepted fd, logging the bytes its client
   sent and nobody read, if any. The link must be down (closed by its
   owner). NULL is fine. */
void	link_free(struct link *);

/* Fixed from link_new() on: "press1/device", the endpoint. */
const char *link_name(const struct link *);
const struct cfg_endpoint *link_endpoint(const struct link *);

const char *link_kind_str(enum link_kind);

/* Log a line about l: log_link() with its device, its kind and reason
   (WD_REASON_NONE: none) as the journal's fields. The message still names
   its subject ("press1/device down: ..."). */
void	link_log(struct link *, enum log_level, enum wd_reason,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
const char *link_state_str(enum link_state);

/* Acceptor: l listens on addr, as bound ("127.0.0.1:41234"). */
void	link_set_listening(struct link *, const char *addr);

/* Owner: the link is up on fd (connected to peer). Logs the transition. */
void	link_attach(struct link *, int fd, const char *peer);

/* Owner, listen links: take the client the acceptor left, or -1. */
int	link_take_pending(struct link *, char *peer, size_t peerlen);

/* Acceptor: hand over a new client. With a peer already up, "replace"
   shuts the old one down (its owner closes it and takes the new one) and
   "reject" closes the new one (link_refuse()). Takes ownership of fd. */
void	link_offer(struct link *, int fd, const char *peer);

/* Close a client of l that never became the link (replaced while it
   waited, turned away): the bytes it sent and nobody read die with it,
   and are counted as held_discarded, as link_close() counts what a link
   left unread. Returns how many. */
size_t	link_drop_client(struct link *, int fd);

/* For the line that says so: "; N bytes it sent were discarded" in buf
   when n > 0, else "". Returns buf. */
#define LINK_DROPPED_MAX	64
const char *link_dropped_str(size_t n, char *buf, size_t len);

/* Acceptor: log that a client was refused and why. What a remote client
   can trigger at will is rate-limited per link: one line per
   LINK_PEER_LOG_MS, the next one saying how many were suppressed. */
#define LINK_PEER_LOG_MS	10000
void	link_refuse(struct link *, const char *peer, const char *why);

/* Borrow the fd for one syscall: returns it and its generation, or -1 when
   the link is down or failed. Every successful acquire needs a release. */
int	link_acquire(struct link *, uint64_t *gen);
void	link_release(struct link *);

/* Any thread: declare generation gen (0 = whatever is up) failed for
   reason (WD_REASON_NONE = closed on purpose) and shut the socket down, so
   that every thread blocked on it returns. The first reason recorded for a
   generation wins. last_life_ms (monotonic, 0 = unknown) is the last sign
   of life, for the detection time. Returns true when this call failed it. */
bool	link_fail(struct link *, uint64_t gen, enum wd_reason, int64_t last_life_ms,
	    const char *detailfmt, ...) __attribute__((format(printf, 5, 6)));

/* True when the link is up and has not failed. */
bool	link_is_up(struct link *);

/* The generation (connection) of a link up and not failed; 0 otherwise. */
uint64_t link_gen(struct link *);

/* True when the link has failed and its owner has not closed it yet. */
bool	link_failed(struct link *);

/* The same, and it failed on purpose (link_fail() with WD_REASON_NONE):
   the gateway ended it, not its peer or the network. */
bool	link_failed_on_purpose(struct link *);

/* Bytes sent on the link that its peer has not acknowledged yet
   (SIOCOUTQ); 0 when the link is not up. */
size_t	link_unacked(struct link *);

/* Owner: mark a down link as dialling (true) or down again (false), for
   the status page. */
void	link_set_connecting(struct link *, bool);

/* The link's policy changed (reload): give a live socket the new
   keepalive, user timeout and I/O timeouts at once. With shorter (the
   keepalive or user timeout budget is), the watchdog holds only the
   silence from now on against them. */
void	link_policy_changed(struct link *, bool shorter);

/* One blocking recv() (at most io_timeout_ms: SO_RCVTIMEO) into buf, or
   one send() of buf (may be partial), with MSG_NOSIGNAL, on the link's
   socket; with gen (0: whichever is up), only on that connection: a send
   meant for one that has ended is LINK_CLOSED, whatever is up now. Keeps the times the watchdog reads (last byte in, taken when
   the call returns: a read may wait io_timeout_ms for it; a writer's wait
   and progress) and the byte counters. LINK_OK with *n > 0 bytes
   moved; LINK_TIMEOUT when nothing moved; LINK_CLOSED when the link is
   down, failed, or failed here: end of stream (peer_closed) or an error,
   whose reason is recorded on it (an ETIMEDOUT is told apart by a sample
   of the socket, or the watchdog's last one). With a waiter w (NULL: none),
   the receive also ends, with LINK_TIMEOUT, at a change of any of the
   device's links: one that came since w last looked ends it before it
   begins, any later one ends its wait. With w the call waits in a ppoll()
   with LINK_WAKE_SIGNAL let in, for io_timeout_ms or until
   w->deadline_ms if that comes first, and is made once the socket is
   ready; a signal sent before that wait began is pending there and ends
   it at once, so none is lost. */
enum link_io link_read(struct link *, void *buf, size_t len,
	    struct link_waiter *w, size_t *n);
enum link_io link_write(struct link *, uint64_t gen, const void *buf,
	    size_t len, size_t *n, int64_t now_ms);

/* The owner of a link that failed and is not closed yet: read, without
   waiting, up to len of the bytes the kernel still held of the connection
   when it failed (a peer's last bytes before its reset, bytes that came
   while the verdict was reached), counted and seen as link_read() does;
   what the peer sends later is not taken. Returns the bytes read; *more
   is whether some of them are left. */
size_t	link_read_rest(struct link *, void *buf, size_t len, bool *more);

/* The same with the bytes kept in the kernel (zero copy): splice() from
   the socket into the write end of a pipe that has room for len bytes, or
   from the read end of a pipe holding len bytes to the socket. Same
   results, stamps and counters. */
enum link_io link_splice_in(struct link *, int pipe_w, size_t len,
	    struct link_waiter *w, size_t *n);
enum link_io link_splice_out(struct link *, uint64_t gen, int pipe_r,
	    size_t len, size_t *n, int64_t now_ms);

/* Before the device's threads start: the bytes link_read() receives on l
   go to tap too, as direction dir (what the device sent on a device or rx
   link, what the host sent on an upstream link). */
void	link_set_tap(struct link *, struct tap *tap, enum tap_dir dir);

/* True when someone watches l's bytes: the zero-copy path, which never
   sees them, gives way to link_read() meanwhile. One atomic load. */
bool	link_tapped(const struct link *);

/* The zero-copy path's account of what it received on l: n bytes it took
   out of its pipe to look at (for the tap and the last words, as
   link_read() does itself), or n bytes that went by unseen. */
void	link_saw(struct link *, const void *buf, size_t n);
void	link_unseen(struct link *, size_t n);

/* The receiving thread: the generation (connection) of the last bytes it
   received on l, 0 before any. */
uint64_t link_rx_gen(const struct link *);

/* The receiving thread: whether its last receive on l took all it asked
   for while the peer had sent more, waiting in the kernel: bulk. */
bool	link_rx_more(const struct link *);

/* The receiving thread: whether its last link_splice_in() on l stopped
   at urgent data (LINK_TIMEOUT, nothing moved), which only a receive,
   link_read(), takes past. */
bool	link_rx_at_mark(const struct link *);

/* The largest segment l's connection sends now (TCP_MAXSEG), in bytes;
   0 when it is down or not TCP. */
size_t	link_segment(struct link *);

/* Count n bytes received on l that were never relayed (discarded). */
void	link_count_discarded(struct link *, size_t n);

/* A connection that ends sooner than this after it came up is "short":
   its transitions are rate-limited in the log and its redial backs off. */
#define LINK_SHORT_MS	10000

/* Owner: if the link failed (or is up and close_anyway), wait until no
   thread uses it, then close it and log why. Sets SO_LINGER {1,0} toward a
   dead peer; counts the bytes the peer had not acknowledged. Returns the
   time in ms the connection had been up, or -1 when nothing was closed. */
int64_t	link_close(struct link *, bool close_anyway);

/* Owner, on an up link: log the up line a flapping link held back once
   the connection has lasted LINK_SHORT_MS, so the log ends on the true
   state. */
void	link_check_stable(struct link *, int64_t now_ms);

#ifdef __cplusplus
}
#endif

#endif
