/* probe.h -- one look at a TCP socket's kernel state, as plain values. */
#ifndef WD_PROBE_H
#define WD_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* tcpi_state, numbered as the kernel's include/net/tcp_states.h. */
enum wd_tcp_state {
	WD_TCP_UNKNOWN,
	WD_TCP_ESTABLISHED,
	WD_TCP_SYN_SENT,
	WD_TCP_SYN_RECV,
	WD_TCP_FIN_WAIT1,
	WD_TCP_FIN_WAIT2,
	WD_TCP_TIME_WAIT,
	WD_TCP_CLOSE,
	WD_TCP_CLOSE_WAIT,
	WD_TCP_LAST_ACK,
	WD_TCP_LISTEN,
	WD_TCP_CLOSING,
	WD_TCP_NEW_SYN_RECV,
	WD_TCP_STATE_COUNT
};

/*
 * A socket as the kernel sees it. Ages (_ms) count back from the moment of
 * the probe; sizes are payload bytes. The values come from several calls
 * and are not one atomic snapshot.
 */
struct wd_sample {
	/* SO_ERROR, cleared by reading it: 0 or an errno. */
	int			so_error;
	enum wd_tcp_state	state;
	/* Keepalive or zero-window probes unanswered; timeouts of the oldest
	   unacknowledged segment; doublings of the RTO or probe timer. */
	uint8_t			probes;
	uint8_t			retransmits;
	uint8_t			backoff;
	uint32_t		unacked;	/* segments in flight */
	/* Since our last data segment (retransmissions count), the peer's
	   last data segment, the peer's last ACK (probe answers count). */
	uint32_t		last_data_sent_ms;
	uint32_t		last_data_recv_ms;
	uint32_t		last_ack_recv_ms;
	/* The peer's advertised window; tcpi_snd_wnd exists since Linux 5.4,
	   before that snd_wnd_known is false and snd_wnd 0. */
	bool			snd_wnd_known;
	uint32_t		snd_wnd;
	/* Written and not acknowledged, in flight or not sent yet (SIOCOUTQ);
	   written and not sent yet (SIOCOUTQNSD); received and not read yet
	   (SIOCINQ). */
	uint32_t		outq_bytes;
	uint32_t		notsent_bytes;
	uint32_t		inq_bytes;
};

/* Fill *s from fd: TCP_INFO (only the fields the running kernel filled in),
   SIOCOUTQ, SIOCOUTQNSD, SIOCINQ, and last SO_ERROR, which the read clears:
   the caller must record s->so_error, nobody else will see it. Only for a
   connected socket: sampling one whose connect() is still in progress steals
   the connect result. No policy, no logging, no clock. Returns 0, or -1 with
   errno (EBADF, ENOTSOCK, EOPNOTSUPP: not TCP, EINVAL: a listening socket)
   and *s untouched; a failed call has not consumed SO_ERROR. */
int		 wd_probe(int fd, struct wd_sample *s);

/* Fill the struct tcp_info part of *s (state, probes, retransmits, backoff,
   unacked, the three ages, the window, notsent_bytes) from the kernel's
   struct tcp_info of len bytes, as TCP_INFO or a sock_diag INET_DIAG_INFO
   attribute hands it over; the rest of *s is left alone. A field counts
   only where it lies wholly inside len: *notsent_known tells whether
   tcpi_notsent_bytes did (Linux 4.6), snd_wnd_known whether tcpi_snd_wnd
   did. Returns 0, or -1 with errno ENOPROTOOPT when len does not reach
   tcpi_last_ack_recv. */
int		 wd_sample_from_info(const void *info, size_t len,
		    struct wd_sample *s, bool *notsent_known);

#ifdef __cplusplus
}
#endif

#endif
