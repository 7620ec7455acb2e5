/* pump.c -- one direction's buffer and the moves in and out of it.
 *
 * DESIGN: two paths, one FIFO. The zero-copy path splices socket -> pipe
 * -> socket: the bytes stay in the kernel, one splice() a move, blocking
 * on the socket as recv()/send() do. The copy path is recv() into the
 * buffer and send() out of it. The bytes held are in the pipe or in the
 * buffer, never both: the pipe takes a fill only while the destination is
 * up and the pipe holds all there is, so that what it holds goes straight
 * on; bytes that must wait for a destination that is down (hold) are read
 * out of the pipe into the buffer, and the pump copies until they are
 * gone. A pipe cuts what it takes into pages, which a trickle of small
 * messages could use up long before buffer_bytes: holding in the buffer
 * keeps the bound exact.
 *
 * Zero copy pays for bulk, not for a press's telegrams, and a link's last
 * words and a trace need to see the bytes. So a chunk under PUMP_SEEN_MAX
 * that came through the pipe is read out of it into the buffer (seen), and
 * the next fills copy until a read brings a bulk chunk again; while a trace
 * watches, every fill copies. Bulk chunks pass unseen, and the link counts
 * them after the last words it has (link_unseen()).
 *
 * Bulk leaves in whole segments. A chunk of buffer_bytes is rarely a
 * multiple of the connection's segment (65,536 bytes are one full segment
 * and one of 53 bytes on loopback, whose MTU is 65,536), and a small
 * segment after every chunk costs the kernel nearly what a full one does.
 * So while the source has more waiting, a drain sends the whole segments
 * only, and the part-filled rest waits in the pipe or the buffer for the
 * next fill, which the source answers at once; a fill that brings nothing
 * ends the wait. MSG_MORE asks TCP for the same, but TCP holds the rest
 * only until the next send or the next acknowledgement, which a connection
 * busy both ways brings at every turn: measured on loopback, it made one
 * direction a fifth faster and both at once a seventh slower. Whole
 * segments made both faster.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "pump.h"

int
pump_init(struct pump *p, size_t cap, bool splice, char *why, size_t whylen)
{
	int	size, err;

	memset(p, 0, sizeof(*p));
	p->pipe[0] = p->pipe[1] = -1;
	if ((p->buf = malloc(cap)) == NULL)
		return (-1);
	p->cap = cap;
	why[0] = '\0';
	if (!splice)
		return (0);
	if (pipe2(p->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		p->pipe[0] = p->pipe[1] = -1;
		return (0);
	}
	/* Rounded up to a power of two pages by the kernel. A process
	   without CAP_SYS_RESOURCE gets EPERM past the system's pipe limits,
	   which count every pipe of its user (a system user running
	   hundreds of devices reaches them). */
	if ((size = fcntl(p->pipe[1], F_SETPIPE_SZ, (int)cap)) == -1) {
		err = errno;
		snprintf(why, whylen, "a pipe of %zu bytes: %s%s", cap,
		    strerror(err), err != EPERM ? "" : " (over "
		    "fs.pipe-max-size, or over fs.pipe-user-pages-soft with "
		    "the user's other pipes; CAP_SYS_RESOURCE lifts both)");
		close(p->pipe[0]);
		close(p->pipe[1]);
		p->pipe[0] = p->pipe[1] = -1;
	}
	return (0);
}

void
pump_free(struct pump *p)
{
	free(p->buf);
	p->buf = NULL;
	if (p->pipe[0] != -1) {
		close(p->pipe[0]);
		close(p->pipe[1]);
		p->pipe[0] = p->pipe[1] = -1;
	}
}

/* Move what the pipe holds into the buffer (empty then), for the copy path
   to take over. Returns false when the pipe cannot be read, which cannot
   happen to a pipe of ours holding len bytes. */
static bool
pump_unsplice(struct pump *p)
{
	size_t	got = 0;
	ssize_t	n;

	while (got < p->len) {
		n = read(p->pipe[0], p->buf + got, p->len - got);
		if (n <= 0 && !(n == -1 && errno == EINTR))
			return (false);
		if (n > 0)
			got += (size_t)n;
	}
	p->head = 0;
	p->in_pipe = false;
	return (true);
}

/* Bytes held at the end of the buffer move to its start, so that the
   free space is all after them; not sooner, not to move them at every
   read. */
static void
pump_compact(struct pump *p)
{
	if (p->head > 0 && p->head + p->len == p->cap) {
		memmove(p->buf, p->buf + p->head, p->len);
		p->head = 0;
	}
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

	if (!p->in_pipe)
		p->head += n;
	p->len -= n;
	p->out_total += n;
	if (p->len == 0) {
		p->head = 0;
		p->in_pipe = false;
	}
	for (i = 0; i < p->nmarks && p->marks[i].end <= p->out_total; i++)
		;
	if (i > 0) {
		memmove(p->marks, p->marks + i,
		    (size_t)(p->nmarks - i) * sizeof(p->marks[0]));
		p->nmarks -= i;
	}
}

enum link_io
pump_fill(struct pump *p, struct link *src, bool dst_up,
    struct link_waiter *w)
{
	enum link_io	io;
	size_t		n;

	/* What the source had waiting is gone, or has come; the next drain
	   decides what it keeps back. */
	p->more = p->part = false;
	if (p->len == p->cap)
		return (LINK_TIMEOUT);
	if (p->pipe[0] != -1 && (p->len == 0 || p->in_pipe) && dst_up &&
	    !p->small && !link_tapped(src)) {
		io = link_splice_in(src, p->pipe[1], p->cap - p->len, w, &n);
		if (io != LINK_OK) {
			/* At urgent data the next fill receives, as after a
			   small chunk. */
			if (link_rx_at_mark(src))
				p->small = true;
			return (io);
		}
		p->len += n;
		p->in_pipe = true;
		p->more = link_rx_more(src);
		pump_mark(p, n, clock_ms());
		/* A small chunk, or a trace that began while the splice
		   waited: out of the pipe, to be seen. */
		p->small = n < PUMP_SEEN_MAX;
		if (!p->small && !link_tapped(src)) {
			link_unseen(src, n);
			return (LINK_OK);
		}
		if (!pump_unsplice(p))
			return (LINK_TIMEOUT);
		link_saw(src, p->buf + p->len - n, n);
		return (LINK_OK);
	}
	if (p->in_pipe && !pump_unsplice(p))
		return (LINK_TIMEOUT);
	pump_compact(p);
	io = link_read(src, p->buf + p->head + p->len,
	    p->cap - p->head - p->len, w, &n);
	if (io == LINK_OK) {
		p->len += n;
		p->more = link_rx_more(src);
		pump_mark(p, n, clock_ms());
		p->small = n < PUMP_SEEN_MAX;
	}
	return (io);
}

bool
pump_fill_rest(struct pump *p, struct link *src)
{
	size_t	n;
	bool	more;

	p->more = false;
	if (p->in_pipe && !pump_unsplice(p))
		return (false);
	pump_compact(p);
	n = link_read_rest(src, p->buf + p->head + p->len,
	    p->cap - p->head - p->len, &more);
	if (n > 0) {
		p->len += n;
		pump_mark(p, n, clock_ms());
		p->small = n < PUMP_SEEN_MAX;
	}
	return (more);
}

/* dst's segment size. It grows with the peer's window as a connection
   starts and follows the path's MTU, so it is asked again every
   PUMP_SEGMENT_MS, not at every send of a bulk transfer. */
static size_t
pump_segment(struct pump *p, struct link *dst, int64_t now_ms)
{
	if (p->seg == 0 || now_ms - p->seg_ms >= PUMP_SEGMENT_MS) {
		p->seg = link_segment(dst);
		p->seg_ms = now_ms;
	}
	return (p->seg);
}

enum link_io
pump_drain(struct pump *p, struct link *dst, uint64_t gen, int64_t now_ms)
{
	enum link_io	io;
	size_t		n, len = p->len, seg;

	if (p->len == 0)
		return (LINK_OK);
	seg = p->more ? pump_segment(p, dst, now_ms) : 0;
	if (seg > 0 && len > seg)
		len -= len % seg;
	if (p->in_pipe)
		io = link_splice_out(dst, gen, p->pipe[0], len, &n, now_ms);
	else
		io = link_write(dst, gen, p->buf + p->head, len, &n, now_ms);
	if (io == LINK_OK) {
		pump_consume(p, n);
		p->part = p->len > 0 && p->len < seg;
	}
	return (io);
}

void
pump_hold(struct pump *p)
{
	p->held_end = p->in_total;
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

	/* Out of the pipe, to be dropped with the rest. */
	if (p->in_pipe)
		(void)pump_unsplice(p);
	p->out_total += n;
	p->head = p->len = 0;
	p->nmarks = 0;
	p->more = p->part = false;
	return (n);
}
