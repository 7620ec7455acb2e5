/* pump.c -- one direction's buffer and the moves in and out of it.
 *
 * The copy path is plain recv() into the buffer and send() out of it, one
 * syscall per call, so that a splice() through a pipe can replace the pair
 * later without touching the loops that call it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pump.h"

int
pump_init(struct pump *p, size_t cap)
{
	memset(p, 0, sizeof(*p));
	if ((p->buf = malloc(cap)) == NULL)
		return (-1);
	p->cap = cap;
	return (0);
}

void
pump_free(struct pump *p)
{
	free(p->buf);
	p->buf = NULL;
}

static void
pump_mark(struct pump *p, size_t n, int64_t now_ms)
{
	p->in_total += n;
	if (p->nmarks == PUMP_MARKS) {
		p->marks[p->nmarks - 1].end = p->in_total;
		return;
	}
	p->marks[p->nmarks].end = p->in_total;
	p->marks[p->nmarks].t_ms = now_ms;
	p->nmarks++;
}

static void
pump_consume(struct pump *p, size_t n)
{
	int	i;

	p->head += n;
	p->len -= n;
	p->out_total += n;
	if (p->len == 0)
		p->head = 0;
	for (i = 0; i < p->nmarks && p->marks[i].end <= p->out_total; i++)
		;
	if (i > 0) {
		memmove(p->marks, p->marks + i,
		    (size_t)(p->nmarks - i) * sizeof(p->marks[0]));
		p->nmarks -= i;
	}
}

enum link_io
pump_fill(struct pump *p, struct link *src, int64_t now_ms)
{
	enum wd_reason	reason = WD_REASON_NONE;
	enum link_io	io;
	uint64_t	gen;
	size_t		n;
	int		fd, err;

	if (p->len == p->cap)
		return (LINK_TIMEOUT);
	if (p->head > 0 && p->head + p->len == p->cap) {
		memmove(p->buf, p->buf + p->head, p->len);
		p->head = 0;
	}
	if ((fd = link_acquire(src, &gen)) == -1)
		return (LINK_CLOSED);
	io = link_recv(fd, p->buf + p->head + p->len,
	    p->cap - p->head - p->len, &n);
	err = errno;
	if (io == LINK_RESET || io == LINK_ERROR)
		reason = link_reason_for_errno(src, fd, err);
	link_release(src);
	switch (io) {
	case LINK_OK:
		p->len += n;
		pump_mark(p, n, now_ms);
		atomic_store(&src->last_rx_ms, now_ms);
		atomic_fetch_add(&src->stat_bytes_in, n);
		return (LINK_OK);
	case LINK_TIMEOUT:
		return (LINK_TIMEOUT);
	case LINK_CLOSED:
		link_fail(src, gen, WD_PEER_CLOSED, now_ms,
		    "end of stream from peer");
		return (LINK_CLOSED);
	default:
		link_fail(src, gen, reason, 0, "recv: %s", strerror(err));
		return (LINK_CLOSED);
	}
}

enum link_io
pump_drain(struct pump *p, struct link *dst, int64_t now_ms)
{
	enum wd_reason	reason = WD_REASON_NONE;
	enum link_io	io;
	uint64_t	gen;
	size_t		n;
	int		fd, err;

	if (p->len == 0)
		return (LINK_OK);
	if ((fd = link_acquire(dst, &gen)) == -1)
		return (LINK_CLOSED);
	if (atomic_load(&dst->send_since_ms) == 0)
		atomic_store(&dst->send_since_ms, now_ms);
	atomic_store(&dst->send_pending, (uint32_t)p->len);
	io = link_send(fd, p->buf + p->head, p->len, &n);
	err = errno;
	if (io == LINK_RESET || io == LINK_ERROR)
		reason = link_reason_for_errno(dst, fd, err);
	link_release(dst);
	switch (io) {
	case LINK_OK:
		pump_consume(p, n);
		atomic_fetch_add(&dst->stat_bytes_out, n);
		atomic_store(&dst->send_progress_ms, clock_ms());
		atomic_store(&dst->send_pending, (uint32_t)p->len);
		if (p->len == 0) {
			atomic_store(&dst->send_since_ms, 0);
			p->held = false;
		}
		return (LINK_OK);
	case LINK_TIMEOUT:
		return (LINK_TIMEOUT);
	default:
		atomic_store(&dst->send_since_ms, 0);
		link_fail(dst, gen, reason, 0, "send: %s", strerror(err));
		return (LINK_CLOSED);
	}
}

int64_t
pump_oldest_ms(const struct pump *p)
{
	return (p->len > 0 && p->nmarks > 0 ? p->marks[0].t_ms : 0);
}

size_t
pump_discard(struct pump *p)
{
	size_t	n = p->len;

	p->out_total += n;
	p->head = p->len = 0;
	p->nmarks = 0;
	p->held = false;
	return (n);
}
