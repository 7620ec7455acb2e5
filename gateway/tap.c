/* tap.c -- a copy of a device's traffic for whoever watches it.
 *
 * DESIGN: a device's two relay threads feed; each subscriber's own thread
 * (the control server's for a trace, the monitor's for a monitor client)
 * takes. mu, a leaf lock held for a memcpy at most, protects the table of
 * subscribers and every subscriber's buffer; nsubs mirrors the table's
 * size in an atomic, so that a relay nobody watches pays one load. A feed
 * never waits for a subscriber: what a full buffer cannot take is dropped,
 * counted, and marked by a gap record where it was lost. A subscriber's
 * eventfd is written when its buffer gets something while its reader
 * waits (and when the tap closes), under mu, so that the fd cannot be
 * closed under the write; the reader says it waits, under mu, when it
 * finds its buffer empty, so no wake-up is lost. Each kind of subscriber
 * has places of its own, counted under mu, so that traces cannot fill the
 * table before the monitor's clients come. References: the device
 * holds one, each subscriber one; the last tap_unref() frees.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomics.h"
#include "clock.h"
#include "tap.h"

enum rec_kind { REC_DEV_TO_UP, REC_UP_TO_DEV, REC_GAP, REC_DISCARD };

/* The longest reason a discard note carries. */
#define TAP_WHY_MAX	128

/* A record's header in a buffer; a DATA record's bytes follow it, a
   DISCARD record's reason (textlen bytes, no NUL). */
struct rec {
	int64_t		wall_ms;
	uint64_t	n;	/* data: bytes that follow; gap: bytes dropped;
				   discard: bytes discarded */
	uint32_t	kind;
	uint16_t	dir;	/* discard: enum tap_dir */
	uint16_t	textlen;
};
_Static_assert(TAP_WHY_MAX < TAP_PIECE_MAX, "a reason fits a piece");

struct tap_sub {
	struct tap	*tap;
	enum tap_kind	 kind;
	int		 efd;
	/* Protected by tap->mu. */
	char		*ring;
	size_t		 cap;
	size_t		 head;		/* first byte held */
	size_t		 len;		/* bytes held */
	uint64_t	 gap;		/* dropped since the last record */
	uint64_t	 dropped;	/* dropped in all */
	bool		 waiting;	/* the reader found it empty */
};

struct tap {
	pthread_mutex_t		 mu;
	ATOMIC(unsigned)	 nsubs;	/* subscribers: the relay's one load */
	ATOMIC(unsigned)	 refs;
	struct tap_sub		*subs[TAP_SUBS_MAX];	/* protected by mu */
	unsigned		 nkind[TAP_TRACE + 1];	/* protected by mu */
	bool			 closed;		/* protected by mu */
};

static void	ring_put(struct tap_sub *, const void *, size_t);
static void	ring_get(struct tap_sub *, void *, size_t);
static void	sub_put(struct tap_sub *, enum rec_kind, int64_t, const void *,
		    size_t);
static void	sub_signal(struct tap_sub *);

const char *
tap_dir_str(enum tap_dir d)
{
	return (d == TAP_DEV_TO_UP ? "dev>up" : "up>dev");
}

struct tap *
tap_new(void)
{
	struct tap	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (NULL);
	pthread_mutex_init(&t->mu, NULL);
	atomic_init(&t->nsubs, 0);
	atomic_init(&t->refs, 1);
	return (t);
}

void
tap_ref(struct tap *t)
{
	if (t != NULL)
		atomic_fetch_add(&t->refs, 1);
}

void
tap_unref(struct tap *t)
{
	if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* Wake the reader: a full eventfd counter is a wake-up already. */
static void
sub_signal(struct tap_sub *s)
{
	uint64_t	one = 1;
	ssize_t		n;

	n = write(s->efd, &one, sizeof(one));
	(void)n;
}

void
tap_close(struct tap *t)
{
	int	i;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->closed = true;
	for (i = 0; i < TAP_SUBS_MAX; i++)
		if (t->subs[i] != NULL)
			sub_signal(t->subs[i]);
	pthread_mutex_unlock(&t->mu);
}

bool
tap_active(const struct tap *t)
{
	return (t != NULL && atomic_load_explicit(&t->nsubs,
	    memory_order_relaxed) > 0);
}

/* Copy n bytes in at the buffer's end; the caller saw they fit. */
static void
ring_put(struct tap_sub *s, const void *p, size_t n)
{
	size_t	at = (s->head + s->len) % s->cap, first;

	first = s->cap - at < n ? s->cap - at : n;
	memcpy(s->ring + at, p, first);
	memcpy(s->ring, (const char *)p + first, n - first);
	s->len += n;
}

/* Copy n bytes out from the buffer's start; the caller knows they are
   there. */
static void
ring_get(struct tap_sub *s, void *p, size_t n)
{
	size_t	first = s->cap - s->head < n ? s->cap - s->head : n;

	memcpy(p, s->ring + s->head, first);
	memcpy((char *)p + first, s->ring, n - first);
	s->head = (s->head + n) % s->cap;
	s->len -= n;
}

/* Whether a record with n bytes after its header fits, after the drop
   pending if there is one; with tap->mu. */
static bool
sub_fits(const struct tap_sub *s, size_t n)
{
	return (s->cap - s->len >= sizeof(struct rec) + n +
	    (s->gap > 0 ? sizeof(struct rec) : 0));
}

/* The drop pending, if any, as a record before the next; with tap->mu. */
static void
sub_put_gap(struct tap_sub *s, int64_t now)
{
	struct rec	r = { .wall_ms = now, .n = s->gap, .kind = REC_GAP };

	if (s->gap == 0)
		return;
	ring_put(s, &r, sizeof(r));
	s->gap = 0;
}

/* One record of n <= TAP_PIECE_MAX bytes, or a drop; with tap->mu. */
static void
sub_put(struct tap_sub *s, enum rec_kind kind, int64_t now, const void *p,
    size_t n)
{
	struct rec	r = { .wall_ms = now, .n = n, .kind = kind };

	if (!sub_fits(s, n)) {
		s->gap += n;
		s->dropped += n;
		return;
	}
	sub_put_gap(s, now);
	ring_put(s, &r, sizeof(r));
	ring_put(s, p, n);
}

void
tap_note_discard(struct tap *t, enum tap_dir dir, size_t n, const char *why)
{
	struct tap_sub	*s;
	struct rec	 r;
	size_t		 len = strlen(why);
	int		 i;

	if (!tap_active(t) || n == 0)
		return;
	if (len > TAP_WHY_MAX)
		len = TAP_WHY_MAX;
	memset(&r, 0, sizeof(r));
	r.wall_ms = clock_wall_ms();
	r.n = n;
	r.kind = REC_DISCARD;
	r.dir = (uint16_t)dir;
	r.textlen = (uint16_t)len;
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < TAP_SUBS_MAX; i++) {
		/* After what the buffer holds, a drop pending included. */
		if ((s = t->subs[i]) == NULL || !sub_fits(s, len))
			continue;
		sub_put_gap(s, r.wall_ms);
		ring_put(s, &r, sizeof(r));
		ring_put(s, why, len);
		if (s->waiting) {
			s->waiting = false;
			sub_signal(s);
		}
	}
	pthread_mutex_unlock(&t->mu);
}

void
tap_feed(struct tap *t, enum tap_dir dir, const void *buf, size_t len)
{
	const char	*p = buf;
	struct tap_sub	*s;
	int64_t		 now;
	size_t		 off, piece;
	int		 i;

	if (!tap_active(t) || len == 0)
		return;
	now = clock_wall_ms();
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < TAP_SUBS_MAX; i++) {
		if ((s = t->subs[i]) == NULL)
			continue;
		for (off = 0; off < len; off += piece) {
			piece = len - off < TAP_PIECE_MAX ? len - off :
			    TAP_PIECE_MAX;
			sub_put(s, dir == TAP_DEV_TO_UP ? REC_DEV_TO_UP :
			    REC_UP_TO_DEV, now, p + off, piece);
		}
		if (s->waiting && (s->len > 0 || s->gap > 0)) {
			s->waiting = false;
			sub_signal(s);
		}
	}
	pthread_mutex_unlock(&t->mu);
}

/* The places kept for a kind of subscriber. */
static unsigned
kind_max(enum tap_kind kind)
{
	return (kind == TAP_MONITOR ? TAP_MONITORS_MAX : TAP_TRACES_MAX);
}

struct tap_sub *
tap_subscribe(struct tap *t, enum tap_kind kind, size_t cap)
{
	struct tap_sub	*s;
	int		 i, err;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->efd = -1;
	if ((s->ring = malloc(cap)) == NULL)
		goto out_free;
	if ((s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		goto out_free;
	s->cap = cap;
	s->tap = t;
	s->kind = kind;
	s->waiting = true;
	pthread_mutex_lock(&t->mu);
	if (t->closed || t->nkind[kind] == kind_max(kind)) {
		err = t->closed ? ESHUTDOWN : EBUSY;
		pthread_mutex_unlock(&t->mu);
		errno = err;
		goto out_free;
	}
	/* The places of both kinds add up to the table: one is free. */
	for (i = 0; t->subs[i] != NULL; i++)
		;
	t->subs[i] = s;
	t->nkind[kind]++;
	atomic_fetch_add(&t->nsubs, 1);
	tap_ref(t);
	pthread_mutex_unlock(&t->mu);
	return (s);
out_free:
	err = errno;
	if (s->efd != -1)
		close(s->efd);
	free(s->ring);
	free(s);
	errno = err;
	return (NULL);
}

void
tap_unsubscribe(struct tap_sub *s)
{
	struct tap	*t;
	int		 i;

	if (s == NULL)
		return;
	t = s->tap;
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < TAP_SUBS_MAX; i++)
		if (t->subs[i] == s) {
			t->subs[i] = NULL;
			t->nkind[s->kind]--;
			atomic_fetch_sub(&t->nsubs, 1);
		}
	pthread_mutex_unlock(&t->mu);
	close(s->efd);
	free(s->ring);
	free(s);
	tap_unref(t);
}

int
tap_fd(const struct tap_sub *s)
{
	return (s->efd);
}

void
tap_wake(struct tap_sub *s)
{
	uint64_t	count;
	ssize_t		n;

	/* Resets the counter; EAGAIN: there was nothing to reset. */
	n = read(s->efd, &count, sizeof(count));
	(void)n;
}

void
tap_kick(struct tap_sub *s)
{
	sub_signal(s);
}

enum tap_take
tap_take(struct tap_sub *s, enum tap_dir *dir, int64_t *wall_ms, void *buf,
    size_t *n)
{
	struct tap	*t = s->tap;
	struct rec	 r;
	enum tap_take	 took;

	pthread_mutex_lock(&t->mu);
	if (s->len == 0) {
		if (s->gap > 0) {
			/* Dropped after everything held. */
			*n = (size_t)s->gap;
			*wall_ms = clock_wall_ms();
			s->gap = 0;
			took = TAP_GAP;
		} else if (t->closed)
			took = TAP_ENDED;
		else {
			s->waiting = true;
			took = TAP_EMPTY;
		}
		pthread_mutex_unlock(&t->mu);
		return (took);
	}
	ring_get(s, &r, sizeof(r));
	*wall_ms = r.wall_ms;
	*n = (size_t)r.n;
	if (r.kind == REC_GAP)
		took = TAP_GAP;
	else if (r.kind == REC_DISCARD) {
		ring_get(s, buf, r.textlen);
		((char *)buf)[r.textlen] = '\0';
		*dir = (enum tap_dir)r.dir;
		took = TAP_DISCARD;
	} else {
		ring_get(s, buf, (size_t)r.n);
		*dir = r.kind == REC_DEV_TO_UP ? TAP_DEV_TO_UP : TAP_UP_TO_DEV;
		took = TAP_DATA;
	}
	pthread_mutex_unlock(&t->mu);
	return (took);
}

uint64_t
tap_dropped(const struct tap_sub *s)
{
	uint64_t	n;

	pthread_mutex_lock(&s->tap->mu);
	n = s->dropped;
	pthread_mutex_unlock(&s->tap->mu);
	return (n);
}
