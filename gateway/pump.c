/* pump.c -- one direction's buffer and the moves in and out of it.
 *
 * The copy path is plain recv() into the buffer and send() out of it, one
 * syscall per call, so that a splice() through a pipe can replace the pair
 * later without touching the loops that call it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	enum link_io	io;
	size_t		n;

	if (p->len == p->cap)
		return (LINK_TIMEOUT);
	if (p->head > 0 && p->head + p->len == p->cap) {
		memmove(p->buf, p->buf + p->head, p->len);
		p->head = 0;
	}
	io = link_read(src, p->buf + p->head + p->len,
	    p->cap - p->head - p->len, &n, now_ms);
	if (io == LINK_OK) {
		p->len += n;
		pump_mark(p, n, now_ms);
	}
	return (io);
}

enum link_io
pump_drain(struct pump *p, struct link *dst, int64_t now_ms)
{
	enum link_io	io;
	size_t		n;

	if (p->len == 0)
		return (LINK_OK);
	io = link_write(dst, p->buf + p->head, p->len, &n, now_ms);
	if (io == LINK_OK) {
		pump_consume(p, n);
		if (p->len == 0)
			p->held = false;
	}
	return (io);
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
