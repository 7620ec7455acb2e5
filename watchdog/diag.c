/* diag.c -- every established TCP socket's state in one netlink dump. */
#include <sys/socket.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "diag.h"

/* The kernel fills at most about 32 KiB per recv() of a dump
   (netlink_dump() caps its buffer there), so a larger one is never used. */
#define DIAG_BUF_BYTES		32768
#define DIAG_MIN_SLOTS		64

struct diag_slot {
	uint64_t		cookie;	/* 0: empty */
	struct wd_sample	s;
};

struct wd_diag {
	int			 fd;	/* -1 until the first dump */
	uint32_t		 seq;
	/* Open addressing, linear probing; cap is a power of two and at
	   least twice n, so a lookup ends at an empty slot soon. */
	struct diag_slot	*slots;
	size_t			 cap, n;
	unsigned char		*buf;	/* DIAG_BUF_BYTES */
};

static int	diag_open(struct wd_diag *);
static int	diag_request(struct wd_diag *, int family);
static int	diag_receive(struct wd_diag *, int64_t deadline);
static void	diag_clear(struct wd_diag *);
static int	diag_insert(struct wd_diag *, uint64_t cookie,
		    const struct wd_sample *);
static int	diag_grow(struct wd_diag *);
static size_t	diag_hash(uint64_t cookie, size_t cap);
static int	diag_socket(struct wd_diag *, const struct nlmsghdr *);

struct wd_diag *
wd_diag_new(void)
{
	struct wd_diag	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return (NULL);
	d->fd = -1;
	d->cap = DIAG_MIN_SLOTS;
	if ((d->slots = calloc(d->cap, sizeof(*d->slots))) == NULL)
		goto out_free_diag;
	if ((d->buf = malloc(DIAG_BUF_BYTES)) == NULL)
		goto out_free_slots;
	return (d);
out_free_slots:
	free(d->slots);
out_free_diag:
	free(d);
	errno = ENOMEM;
	return (NULL);
}

void
wd_diag_free(struct wd_diag *d)
{
	if (d == NULL)
		return;
	if (d->fd != -1)
		close(d->fd);
	free(d->buf);
	free(d->slots);
	free(d);
}

int
wd_diag_dump(struct wd_diag *d, unsigned mask, int timeout_ms)
{
	/* One request covers one family. */
	static const struct {
		unsigned	bit;
		int		family;
	}			families[] = {
		{ WD_DIAG_INET, AF_INET },
		{ WD_DIAG_INET6, AF_INET6 },
	};
	int64_t			deadline = clock_ms() + timeout_ms;
	size_t			i;
	int			saved_errno;

	diag_clear(d);
	if (d->fd == -1 && diag_open(d) == -1)
		return (-1);
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		if (!(mask & families[i].bit))
			continue;
		if (diag_request(d, families[i].family) == -1 ||
		    diag_receive(d, deadline) == -1)
			goto out_close_socket;
	}
	return (0);
out_close_socket:
	/* The rest of a broken dump may still be queued on the socket: a new
	   one for the next dump, and no half-filled table. */
	saved_errno = errno;
	close(d->fd);
	d->fd = -1;
	diag_clear(d);
	errno = saved_errno;
	return (-1);
}

bool
wd_diag_lookup(const struct wd_diag *d, uint64_t cookie, struct wd_sample *s)
{
	size_t	i;

	if (cookie == 0)
		return (false);
	for (i = diag_hash(cookie, d->cap); d->slots[i].cookie != 0;
	    i = (i + 1) & (d->cap - 1)) {
		if (d->slots[i].cookie == cookie) {
			*s = d->slots[i].s;
			return (true);
		}
	}
	return (false);
}

enum wd_diag_status
wd_diag_parse(struct wd_diag *d, const void *buf, size_t len, uint32_t seq)
{
	const unsigned char	*p = buf;
	const struct nlmsghdr	*h;
	const struct nlmsgerr	*e;
	size_t			 step;
	int			 err;

	/* By hand, not NLMSG_OK()/NLMSG_NEXT(): a last message without its
	   padding would make their unsigned length wrap. */
	for (; len >= sizeof(*h); p += step, len -= step) {
		h = (const struct nlmsghdr *)(const void *)p;
		if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len)
			break;
		step = NLMSG_ALIGN(h->nlmsg_len);
		if (step > len)
			step = len;
		if (h->nlmsg_seq != seq)
			continue;
		switch (h->nlmsg_type) {
		case NLMSG_DONE:
			/* inet_diag reports a failure met mid-dump here. */
			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
				memcpy(&err, NLMSG_DATA(h), sizeof(err));
				if (err < 0) {
					errno = -err;
					return (WD_DIAG_FAILED);
				}
			}
			return (WD_DIAG_DONE);
		case NLMSG_ERROR:
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
				errno = EPROTO;
				return (WD_DIAG_FAILED);
			}
			e = NLMSG_DATA(h);
			/* error 0 is an ACK, which a dump never sends. */
			errno = e->error < 0 ? -e->error : EPROTO;
			return (WD_DIAG_FAILED);
		case SOCK_DIAG_BY_FAMILY:
			if (diag_socket(d, h) == -1)
				return (WD_DIAG_FAILED);
			break;
		default:
			break;
		}
	}
	/* What is left is a message cut short. */
	if (len != 0) {
		errno = EPROTO;
		return (WD_DIAG_FAILED);
	}
	return (WD_DIAG_MORE);
}

/* One socket of the reply into the table, when it is established and its
   tcp_info is whole enough; anything else is left for the caller's probe. */
static int
diag_socket(struct wd_diag *d, const struct nlmsghdr *h)
{
	const struct inet_diag_msg	*r;
	const struct rtattr		*a;
	const unsigned char		*p;
	struct wd_sample		 s;
	uint64_t			 cookie;
	size_t				 len, step;
	bool				 notsent_known;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*r))) {
		errno = EPROTO;
		return (-1);
	}
	r = NLMSG_DATA(h);
	/* Inode 0: no file behind it (orphaned, time-wait), not ours. The
	   cookie, not the inode, names the socket: inode numbers are 32
	   bits, shared with every pipe and file of the system, and wrap; a
	   cookie is 64 bits and never given twice (SO_COOKIE). */
	cookie = (uint64_t)r->id.idiag_cookie[1] << 32 | r->id.idiag_cookie[0];
	if (r->idiag_inode == 0 || cookie == 0 ||
	    r->idiag_state != TCP_ESTABLISHED)
		return (0);
	p = (const unsigned char *)r + NLMSG_ALIGN(sizeof(*r));
	len = h->nlmsg_len > NLMSG_SPACE(sizeof(*r)) ?
	    h->nlmsg_len - NLMSG_SPACE(sizeof(*r)) : 0;
	for (; len >= sizeof(*a); p += step, len -= step) {
		a = (const struct rtattr *)(const void *)p;
		if (a->rta_len < sizeof(*a) || a->rta_len > len) {
			errno = EPROTO;
			return (-1);
		}
		step = RTA_ALIGN(a->rta_len);
		if (step > len)
			step = len;
		if (a->rta_type != INET_DIAG_INFO)
			continue;
		memset(&s, 0, sizeof(s));
		if (wd_sample_from_info(RTA_DATA(a), RTA_PAYLOAD(a), &s,
		    &notsent_known) == -1 || !notsent_known ||
		    s.state != WD_TCP_ESTABLISHED)
			return (0);
		/* tcp_diag_get_info(): rqueue is rcv_nxt - copied_seq and
		   wqueue write_seq - snd_una, what SIOCINQ (without a FIN,
		   which an established socket has not had) and SIOCOUTQ
		   return; tcpi_notsent_bytes is write_seq - snd_nxt, what
		   SIOCOUTQNSD returns. */
		s.so_error = 0;
		s.inq_bytes = r->idiag_rqueue;
		s.outq_bytes = r->idiag_wqueue;
		return (diag_insert(d, cookie, &s));
	}
	return (0);
}

static int
diag_open(struct wd_diag *d)
{
	int	fd;

	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return (-1);
	d->fd = fd;
	return (0);
}

/* Ask for every ESTABLISHED TCP socket of family with its tcp_info. */
static int
diag_request(struct wd_diag *d, int family)
{
	struct sockaddr_nl	kernel;
	struct {
		struct nlmsghdr		h;
		struct inet_diag_req_v2	r;
	}			req;
	ssize_t			n;

	memset(&kernel, 0, sizeof(kernel));
	kernel.nl_family = AF_NETLINK;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = ++d->seq;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = 1U << TCP_ESTABLISHED;
	req.r.idiag_ext = 1U << (INET_DIAG_INFO - 1);
	do
		n = sendto(d->fd, &req, sizeof(req), 0,
		    (struct sockaddr *)&kernel, sizeof(kernel));
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return (-1);
	if ((size_t)n != sizeof(req)) {
		errno = EPROTO;
		return (-1);
	}
	return (0);
}

/* Read the reply to the last request until NLMSG_DONE. */
static int
diag_receive(struct wd_diag *d, int64_t deadline)
{
	struct iovec		iov = { d->buf, DIAG_BUF_BYTES };
	struct pollfd		pfd;
	struct msghdr		msg;
	enum wd_diag_status	st;
	int64_t			left;
	ssize_t			n;
	int			rc;

	for (;;) {
		pfd.fd = d->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		do
			rc = (left = deadline - clock_ms()) > 0 ?
			    poll(&pfd, 1, (int)left) : 0;
		while (rc == -1 && errno == EINTR);
		if (rc == -1)
			return (-1);
		if (rc == 0) {
			errno = EAGAIN;
			return (-1);
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		do
			n = recvmsg(d->fd, &msg, MSG_DONTWAIT);
		while (n == -1 && errno == EINTR);
		if (n == -1)
			return (-1);
		if (n == 0) {
			errno = EPROTO;
			return (-1);
		}
		if (msg.msg_flags & MSG_TRUNC) {
			errno = EMSGSIZE;
			return (-1);
		}
		st = wd_diag_parse(d, d->buf, (size_t)n, d->seq);
		if (st == WD_DIAG_DONE)
			return (0);
		if (st == WD_DIAG_FAILED)
			return (-1);
	}
}

static void
diag_clear(struct wd_diag *d)
{
	if (d->n > 0)
		memset(d->slots, 0, d->cap * sizeof(*d->slots));
	d->n = 0;
}

/* A socket seen twice (the hash changed between two recv() calls of the
   dump) keeps its later sample. */
static int
diag_insert(struct wd_diag *d, uint64_t cookie, const struct wd_sample *s)
{
	size_t	i;

	if ((d->n + 1) * 2 > d->cap && diag_grow(d) == -1)
		return (-1);
	for (i = diag_hash(cookie, d->cap); d->slots[i].cookie != 0;
	    i = (i + 1) & (d->cap - 1)) {
		if (d->slots[i].cookie == cookie) {
			d->slots[i].s = *s;
			return (0);
		}
	}
	d->slots[i].cookie = cookie;
	d->slots[i].s = *s;
	d->n++;
	return (0);
}

static int
diag_grow(struct wd_diag *d)
{
	struct diag_slot	*old = d->slots, *slots;
	size_t			 cap = d->cap * 2, i, j;

	if (cap < d->cap || cap > SIZE_MAX / sizeof(*slots) ||
	    (slots = calloc(cap, sizeof(*slots))) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	for (i = 0; i < d->cap; i++) {
		if (old[i].cookie == 0)
			continue;
		for (j = diag_hash(old[i].cookie, cap); slots[j].cookie != 0;
		    j = (j + 1) & (cap - 1))
			;
		slots[j] = old[i];
	}
	free(old);
	d->slots = slots;
	d->cap = cap;
	return (0);
}

/* Cookies come in runs (a counter); a multiplicative mix spreads them
   over the slots. */
static size_t
diag_hash(uint64_t cookie, size_t cap)
{
	uint64_t	x = cookie;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return ((size_t)x & (cap - 1));
}
