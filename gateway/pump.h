/* pump.h -- one direction's buffer and the moves in and out of it. */
#ifndef GW_PUMP_H
#define GW_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PUMP_MARKS	32
/* A chunk under a page is a telegram, not bulk: copying it costs less
   than a page of zero copy saves, and it is shown (last words, trace). */
#define PUMP_SEEN_MAX	4096
/* How long a destination's segment size is taken as known (pump_drain()). */
#define PUMP_SEGMENT_MS	10

/* A bounded FIFO of bytes on their way from src to dst, with the arrival
   time of its bytes (in up to PUMP_MARKS runs; when they run out, new
   bytes join the newest run and so count as older than they are, which
   errs toward discarding, never toward delivering late). Owned by one
   thread: no lock. */
struct pump {
	int		 pipe[2];	/* zero-copy path; -1: copy only */
	bool		 in_pipe;	/* the bytes held are in the pipe */
	char		*buf;
	size_t		 cap;
	size_t		 head;		/* first byte not yet sent */
	size_t		 len;		/* bytes held */
	struct {
		uint64_t	end;	/* stream offset just past the run */
		int64_t		t_ms;	/* arrival of the run's first byte */
	}		 marks[PUMP_MARKS];
	int		 nmarks;
	uint64_t	 in_total;	/* stream offsets */
	uint64_t	 out_total;
	uint64_t	 held_end;	/* stream offset past the bytes that
					   waited for a destination that was
					   down (pump_held()) */
	bool		 small;		/* the last chunk was: copy the next */
	bool		 more;		/* src had more when the last fill
					   returned */
	bool		 part;		/* the last send kept back less than
					   a segment */
	size_t		 seg;		/* dst's segment size, 0: unknown */
	int64_t		 seg_ms;	/* when it was asked */
};

/* Allocate cap bytes, and with splice a pipe of cap bytes for the
   zero-copy path. Returns 0, or -1 with errno (ENOMEM). When the pipe
   cannot be had (the kernel refuses its size: pipe-max-size,
   pipe-user-pages-soft), the pump copies and why says why; "" otherwise. */
int	pump_init(struct pump *, size_t cap, bool splice, char *why,
	    size_t whylen);
void	pump_free(struct pump *);

/* True when the pump moves bytes with splice() whenever it can. */
static inline bool
pump_splices(const struct pump *p)
{
	return (p->pipe[0] != -1);
}

static inline size_t
pump_len(const struct pump *p)
{
	return (p->len);
}

static inline bool
pump_full(const struct pump *p)
{
	return (p->len == p->cap);
}

/* One recv() from src into the free space, or one splice() into the
   pipe's free space when the pipe holds all that is held (nothing, or a
   part-filled segment) and dst_up (blocks at most io_timeout_ms, and
   with a waiter w, until a change of the device's links: link_read()).
   What comes is held from the time the call returns.
   LINK_OK: bytes were added. LINK_TIMEOUT: nothing arrived. LINK_CLOSED:
   src is down, failed, or just failed here (the reason recorded on it). */
enum link_io pump_fill(struct pump *, struct link *src, bool dst_up,
	    struct link_waiter *w);

/* Take into the free space what the kernel still holds of src, which
   failed and is not closed yet (link_read_rest()); what the pipe held
   moves to the buffer first. Returns whether src holds more than there
   was room for. */
bool	pump_fill_rest(struct pump *, struct link *src);

/* One send() (or splice()) of the held bytes to dst's connection gen (0:
   whichever is up; may be partial). Same results as pump_fill(), for dst.
   Keeps dst's send-progress stamps for the watchdog. While src has more
   waiting (bulk), it sends whole segments of dst's connection only, and
   keeps back the part-filled last one for the next fill to top up: each
   chunk sent whole would leave as full segments and a small one. */
enum link_io pump_drain(struct pump *, struct link *dst, uint64_t gen,
	    int64_t now_ms);

/* True when what the pump holds is such a part-filled segment, kept back
   for the bytes src has waiting: the next fill must come before the next
   drain (which sends it as it is once a fill brings nothing). */
static inline bool
pump_tops_up(const struct pump *p)
{
	return (p->part && p->more && p->len > 0);
}

/* The destination is down: what the pump holds now waits for it (held)
   until it has been sent or dropped; what comes later does not. */
void	pump_hold(struct pump *);

/* Whether bytes that waited for a destination that was down are still in
   the pump. */
static inline bool
pump_held(const struct pump *p)
{
	return (p->out_total < p->held_end);
}

/* Arrival time (monotonic ms) of the oldest byte held, 0 when empty. */
int64_t	pump_oldest_ms(const struct pump *);

/* Drop everything held; returns how many bytes. */
size_t	pump_discard(struct pump *);

#ifdef __cplusplus
}
#endif

#endif
