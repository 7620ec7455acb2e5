/* link.h -- one link end: a socket that any thread may shut down and only
   its owner closes, with its state, generation and the reason it failed. */
#ifndef GW_LINK_H
#define GW_LINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "log.h"
#include "atomics.h"
#include "hist.h"
#include "reason.h"
#include "watchdog.h"

#ifdef __cplusplus
extern "C" {
#endif

enum link_kind { LINK_KIND_DEVICE, LINK_KIND_RX, LINK_KIND_TX,
	LINK_KIND_UPSTREAM, LINK_KIND_COUNT };
enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_UP };
enum link_io { LINK_OK, LINK_TIMEOUT, LINK_CLOSED, LINK_RESET, LINK_ERROR };

#define LINK_PEER_MAX	64
#define LINK_DETAIL_MAX	160

/* The lock and wake-up that a device's links and threads share. Every
   change of any link (up, failed, down, client offered) bumps seq and
   broadcasts cv, so a thread can sleep until something changed without
   missing a wake-up. */
struct link_sync {
	pthread_mutex_t		mu;
	pthread_cond_t		cv;	/* CLOCK_MONOTONIC */
	unsigned		seq;	/* protected by mu */
};

/* Set up / tear down a link_sync (the cv waits on CLOCK_MONOTONIC). */
void	link_sync_init(struct link_sync *);
void	link_sync_destroy(struct link_sync *);

/* Wake every thread waiting on sync; call with sync->mu held. */
void	link_sync_changed(struct link_sync *);

struct link {
	/* Fixed from link_init() on. */
	char			 name[CFG_NAME_MAX + 16]; /* "press1/device" */
	enum link_kind		 kind;
	const struct cfg_endpoint *ep;
	const struct cfg_policy	*pol;		/* contents under *mu (reload) */
	struct link_sync	*sync;		/* the device's */
	pthread_mutex_t		*mu;		/* &sync->mu */

	/* Protected by *mu. */
	int			 fd;		/* -1 when down */
	int			 users;		/* threads inside a syscall on fd */
	uint64_t		 gen;		/* +1 on every attach */
	enum link_state		 state;
	bool			 failed;	/* shut down, waiting for the owner */
	enum wd_reason		 reason;	/* why; NONE = closed on purpose */
	int64_t			 last_life_ms;	/* last sign of life at failure */
	uint32_t		 unacked_at_fail; /* SIOCOUTQ when it failed */
	char			 detail[LINK_DETAIL_MAX];
	/* The watchdog's last sample of this generation, to name the true
	   reason when a thread later gets only a bare ETIMEDOUT. */
	struct wd_sample	 last_sample;
	bool			 have_sample;
	int			 pending_fd;	/* accepted, for the owner to take */
	char			 pending_peer[LINK_PEER_MAX];
	char			 peer[LINK_PEER_MAX];
	int64_t			 since_wall_ms;	/* state change, wall clock */
	enum wd_reason		 last_reason;
	char			 last_detail[LINK_DETAIL_MAX];
	int64_t			 last_failure_wall_ms;

	int64_t			 up_ms;		/* monotonic, when attached */

	/* The owner's alone: a link that keeps coming up and going down
	   logs one down line a minute; its up lines wait until it has
	   stayed up LINK_SHORT_MS (link_check_stable()). */
	struct log_limit	 flap_log;
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
	ATOMIC(uint64_t)	 stat_refused;		/* allow list, reject */
	struct hist		 stat_detect;	/* last sign of life -> verdict */
};

/* A consistent copy of what the status page shows of a link. */
struct link_snap {
	enum link_kind		kind;
	enum link_state		state;
	char			peer[LINK_PEER_MAX];	/* "" when down */
	int64_t			since_wall_ms;		/* last state change */
	enum wd_reason		last_reason;		/* NONE: never failed */
	char			last_detail[LINK_DETAIL_MAX];
	int64_t			last_failure_wall_ms;	/* 0: never */
};

/* Copy l's state under its lock (counters are read directly: atomics). */
void	link_snapshot(struct link *, struct link_snap *);

/* The watchdog's view of a link (ctx is the struct link). */
extern const struct wd_target_ops link_wd_ops;

/* Set up l, down, sharing the device's sync. */
void	link_init(struct link *, const char *device, enum link_kind,
	    const struct cfg_endpoint *, const struct cfg_policy *,
	    struct link_sync *);

/* Release what link_init() and link_offer() left: a pending accepted fd.
   The link must be down (closed by its owner). */
void	link_destroy(struct link *);

const char *link_kind_str(enum link_kind);
const char *link_state_str(enum link_state);

/* Owner: the link is up on fd (connected to peer). Logs the transition. */
void	link_attach(struct link *, int fd, const char *peer);

/* Owner, listen links: take the client the acceptor left, or -1. */
int	link_take_pending(struct link *, char *peer, size_t peerlen);

/* Acceptor: hand over a new client. With a peer already up, "replace"
   shuts the old one down (its owner closes it and takes the new one) and
   "reject" closes the new one. Takes ownership of fd. */
void	link_offer(struct link *, int fd, const char *peer);

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

/* Owner: mark a down link as dialling (true) or down again (false), for
   the status page. */
void	link_set_connecting(struct link *, bool);

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

/* Map the result of recv()/send() (rc and errno) to an enum link_io: an
   SO_RCVTIMEO/SO_SNDTIMEO expiry is EAGAIN/EWOULDBLOCK -> LINK_TIMEOUT,
   recv() == 0 -> LINK_CLOSED, ECONNRESET/EPIPE -> LINK_RESET. */
enum link_io link_io_from(ssize_t rc, int err);

/* recv()/send() with MSG_NOSIGNAL on a borrowed fd, retrying EINTR.
   LINK_OK with *n > 0 bytes moved (a send may be partial), otherwise
   LINK_TIMEOUT, LINK_CLOSED, LINK_RESET or LINK_ERROR (errno set). */
enum link_io link_recv(int fd, void *buf, size_t len, size_t *n);
enum link_io link_send(int fd, const void *buf, size_t len, size_t *n);

/* The reason for an errno a thread got on fd (still borrowed) of this
   link. ETIMEDOUT names no cause: a sample of fd taken now (an abort leaves
   the queues readable), else the watchdog's last one, tells ack_timeout,
   zero_window_stall or keepalive_timeout apart (wd_timeout_reason()). */
enum wd_reason link_reason_for_errno(struct link *, int fd, int err);

#ifdef __cplusplus
}
#endif

#endif
