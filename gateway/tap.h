/* tap.h -- a copy of a device's traffic for whoever watches it: the
   subscribers of a trace (the control socket) and of a monitor. */
#ifndef GW_TAP_H
#define GW_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Which way the bytes went: what the device sent (to the upstream), or
   what the host sent (to the device). */
enum tap_dir { TAP_DEV_TO_UP, TAP_UP_TO_DEV };

/* "dev>up" or "up>dev". */
const char	*tap_dir_str(enum tap_dir);

/* Who subscribes: one of the device's monitor clients, or a trace. */
enum tap_kind { TAP_MONITOR, TAP_TRACE };

/* Subscribers of one tap at once, by kind. The monitor's places (one for
   each of its CFG_MONITOR_CLIENTS) are kept for it, so that no number of
   traces keeps a monitor client out; traces have the rest. */
#define TAP_MONITORS_MAX	4
#define TAP_TRACES_MAX		4
#define TAP_SUBS_MAX		(TAP_MONITORS_MAX + TAP_TRACES_MAX)
/* The most bytes one record holds: a longer chunk is cut into records. */
#define TAP_PIECE_MAX	4096

struct tap;		/* one device's */
struct tap_sub;		/* one subscriber's bounded buffer */

/* A new tap, with one reference (the device's). NULL with errno ENOMEM. */
struct tap	*tap_new(void);

/* Take / drop a reference; the last drop frees the tap. NULL is fine. */
void		 tap_ref(struct tap *);
void		 tap_unref(struct tap *);

/* The device is stopping: no more bytes come, and each subscriber reads
   TAP_ENDED once it has taken what it holds. */
void		 tap_close(struct tap *);

/* True when someone is subscribed: one atomic load. */
bool		 tap_active(const struct tap *);

/* The relay's side, for len bytes just received: with nobody subscribed,
   one atomic load; otherwise a copy of them, with the time, into each
   subscriber's buffer under the tap's lock, never waiting for anything
   else. Bytes a full buffer cannot take are dropped and counted. */
void		 tap_feed(struct tap *, enum tap_dir, const void *buf,
		    size_t len);

/* The relay's side, for n bytes fed before in direction dir that were
   then discarded (why: "held longer than hold_max_ms", ...): a note in
   each subscriber's buffer, after them, so that a watcher learns they
   never went on. With nobody subscribed, one atomic load; a buffer too
   full for the note does without it. */
void		 tap_note_discard(struct tap *, enum tap_dir, size_t n,
		    const char *why);

/* Subscribe as a kind with a buffer of cap bytes (at least TAP_PIECE_MAX
   and some). NULL with errno: ENOMEM, ESHUTDOWN (the tap is closed), EBUSY
   (TAP_MONITORS_MAX or TAP_TRACES_MAX of that kind already). */
struct tap_sub	*tap_subscribe(struct tap *, enum tap_kind, size_t cap);

/* Leave the tap and free the buffer. NULL is fine. */
void		 tap_unsubscribe(struct tap_sub *);

/* A descriptor (an eventfd) that becomes readable when the buffer, empty
   before, receives something, or when the tap closes. Read it (tap_wake())
   before taking. */
int		 tap_fd(const struct tap_sub *);
void		 tap_wake(struct tap_sub *);

/* Make tap_fd() readable: for a reader that stops taking before the
   buffer is empty (a feed wakes only a reader that found it empty), to
   come back to it at its next poll(). */
void		 tap_kick(struct tap_sub *);

enum tap_take {
	TAP_DATA,	/* a chunk: dir, time, bytes */
	TAP_GAP,	/* *n bytes dropped here: the buffer was full */
	TAP_DISCARD,	/* *n bytes of dir fed before were discarded; buf
			   holds why, NUL-terminated */
	TAP_EMPTY,	/* nothing now: wait for tap_fd() */
	TAP_ENDED	/* the tap closed, and everything was taken */
};

/* Take the oldest record: for TAP_DATA its direction, wall-clock time
   (ms) and bytes (buf, which must hold TAP_PIECE_MAX) in *n; for TAP_GAP
   how many bytes were dropped at that point in *n; for TAP_DISCARD, its
   direction, time, how many bytes were discarded in *n and why in buf. */
enum tap_take	 tap_take(struct tap_sub *, enum tap_dir *dir, int64_t *wall_ms,
		    void *buf, size_t *n);

/* Bytes dropped for this subscriber, since it subscribed. */
uint64_t	 tap_dropped(const struct tap_sub *);

#ifdef __cplusplus
}
#endif

#endif
