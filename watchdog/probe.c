/* probe.c -- SO_ERROR, TCP_INFO and the socket queue ioctls -> wd_sample. */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "probe.h"

/*
 * The kernel's struct tcp_info (include/uapi/linux/tcp.h) up to tcpi_snd_wnd.
 * glibc's copy in <netinet/tcp.h> ends at tcpi_total_retrans and an installed
 * <linux/tcp.h> may be older than the running kernel, so the layout is
 * written out here. The ABI only grows at the end: the kernel copies
 * min(our size, its size) and returns that length, and a field is valid
 * only when it lies wholly inside it. The two bitfield bytes are plain bytes.
 */
struct probe_tcp_info {
	uint8_t		state, ca_state, retransmits, probes, backoff, options;
	uint8_t		wscale, rate_flags;
	uint32_t	rto, ato, snd_mss, rcv_mss;
	uint32_t	unacked, sacked, lost, retrans, fackets;
	uint32_t	last_data_sent, last_ack_sent;
	uint32_t	last_data_recv, last_ack_recv;
	uint32_t	pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd;
	uint32_t	advmss, reordering, rcv_rtt, rcv_space, total_retrans;
	uint64_t	pacing_rate, max_pacing_rate;
	uint64_t	bytes_acked, bytes_received;
	uint32_t	segs_out, segs_in;
	uint32_t	notsent_bytes, min_rtt, data_segs_in, data_segs_out;
	uint64_t	delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
	uint32_t	delivered, delivered_ce;
	uint64_t	bytes_sent, bytes_retrans;
	uint32_t	dsack_dups, reord_seen, rcv_ooopack;
	uint32_t	snd_wnd;		/* Linux 5.4 */
};

#define TI_FILLED(len, f)						\
	((size_t)(len) >= offsetof(struct probe_tcp_info, f) +		\
	    sizeof(((struct probe_tcp_info *)0)->f))

_Static_assert(offsetof(struct probe_tcp_info, unacked) == 24, "tcp_info ABI");
_Static_assert(offsetof(struct probe_tcp_info, last_ack_recv) == 56,
    "tcp_info ABI");
#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(offsetof(struct probe_tcp_info, snd_wnd) == 228,
    "tcp_info ABI");
#endif
_Static_assert((int)WD_TCP_CLOSE_WAIT == (int)TCP_CLOSE_WAIT, "tcp_states.h");
_Static_assert((int)WD_TCP_CLOSING == (int)TCP_CLOSING, "tcp_states.h");

int
wd_sample_from_info(const void *info, size_t len, struct wd_sample *s,
    bool *notsent_known)
{
	struct probe_tcp_info	ti;

	/* Every Linux since 2.6 fills this much. */
	if (!TI_FILLED(len, last_ack_recv)) {
		errno = ENOPROTOOPT;
		return (-1);
	}
	memset(&ti, 0, sizeof(ti));
	memcpy(&ti, info, len < sizeof(ti) ? len : sizeof(ti));
	s->state = ti.state < WD_TCP_STATE_COUNT ?
	    (enum wd_tcp_state)ti.state : WD_TCP_UNKNOWN;
	s->probes = ti.probes;
	s->retransmits = ti.retransmits;
	s->backoff = ti.backoff;
	s->unacked = ti.unacked;
	s->last_data_sent_ms = ti.last_data_sent;
	s->last_data_recv_ms = ti.last_data_recv;
	s->last_ack_recv_ms = ti.last_ack_recv;
	s->snd_wnd_known = TI_FILLED(len, snd_wnd);
	s->snd_wnd = s->snd_wnd_known ? ti.snd_wnd : 0;
	*notsent_known = TI_FILLED(len, notsent_bytes);
	s->notsent_bytes = ti.notsent_bytes;
	return (0);
}

int
wd_probe(int fd, struct wd_sample *s)
{
	struct probe_tcp_info	ti;
	struct wd_sample	t;
	socklen_t		ilen, elen;
	int			outq, notsent, inq, err;
	bool			notsent_known;

	memset(&ti, 0, sizeof(ti));
	ilen = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &ilen) == -1)
		return (-1);
	memset(&t, 0, sizeof(t));
	if (wd_sample_from_info(&ti, ilen, &t, &notsent_known) == -1)
		return (-1);
	/* SIOCOUTQ counts write_seq - snd_una and SIOCOUTQNSD write_seq -
	   snd_nxt: both keep their values after an abort purged the queue,
	   so a dead socket still shows what was in flight. An established
	   socket with no segment in flight and nothing unsent (tcpi_unacked
	   and tcpi_notsent_bytes, which is write_seq - snd_nxt too) has both
	   at 0: the common case, a quiet link, costs three calls, not five. */
	if (t.state == WD_TCP_ESTABLISHED && t.unacked == 0 &&
	    notsent_known && t.notsent_bytes == 0)
		outq = notsent = 0;
	else if (ioctl(fd, SIOCOUTQ, &outq) == -1 ||
	    ioctl(fd, SIOCOUTQNSD, &notsent) == -1)
		return (-1);
	if (ioctl(fd, SIOCINQ, &inq) == -1)
		return (-1);
	/* Last: reading SO_ERROR clears it, so nothing may fail after this. */
	elen = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		return (-1);

	t.so_error = err;
	t.outq_bytes = outq > 0 ? (uint32_t)outq : 0;
	t.notsent_bytes = notsent > 0 ? (uint32_t)notsent : 0;
	t.inq_bytes = inq > 0 ? (uint32_t)inq : 0;
	*s = t;
	return (0);
}
