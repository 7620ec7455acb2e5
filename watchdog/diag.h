/* diag.h -- every established TCP socket's state in one netlink dump. */
#ifndef WD_DIAG_H
#define WD_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A table of samples, keyed by socket cookie (SO_COOKIE), filled from a sock_diag
 * (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY) dump of the ESTABLISHED TCP
 * sockets of the network namespace, IPv4, IPv6 or both, with their struct
 * tcp_info: a few recv() calls for thousands of sockets, where probing each
 * costs three or more calls. Only one thread may use a table at a time.
 *
 * A dumped sample is what wd_probe() would have returned, but for so_error,
 * which no dump carries: it is 0, and it is 0 on an established socket,
 * as the kernel only sets sk_err when it tears the connection down (RST,
 * a timeout: the socket leaves the dump then) or, with IP_RECVERR, on an
 * ICMP error, which the gateway does not ask for. Everything that is not
 * ESTABLISHED (CLOSE_WAIT, an aborted socket, one we shut down) is left out
 * on purpose: for those the caller probes the socket itself, SO_ERROR
 * included, so their verdict comes from exactly the same sample as before.
 */
struct wd_diag;

/* An empty table with no socket yet. NULL with errno (ENOMEM). */
struct wd_diag	*wd_diag_new(void);

/* Close the netlink socket, if any, and free the table. */
void		 wd_diag_free(struct wd_diag *);

/* The address families a dump covers: the kernel walks its whole table of
   established sockets once per family asked for, so ask only for those in
   use. */
#define WD_DIAG_INET	0x1
#define WD_DIAG_INET6	0x2

/* Empty the table and refill it from a fresh dump of the families in mask
   (WD_DIAG_INET, WD_DIAG_INET6), opening the netlink socket on first use,
   in timeout_ms at most, however many replies the dump takes. Returns 0,
   or -1 with errno (socket() errors such as EAFNOSUPPORT where sock_diag
   is missing or filtered, EAGAIN when the dump did not end in time,
   EPROTO for a reply that does not parse, the kernel's own error); then
   the table is empty and the socket closed, so the next dump starts
   clean. */
int		 wd_diag_dump(struct wd_diag *, unsigned mask, int timeout_ms);

/* The sample of the socket whose SO_COOKIE is cookie, from the last dump:
   true and *s filled, or false when the dump did not show it
   established. */
bool		 wd_diag_lookup(const struct wd_diag *, uint64_t cookie,
		    struct wd_sample *s);

/* How one buffer of a dump's reply parsed. */
enum wd_diag_status {
	WD_DIAG_MORE,		/* the dump goes on: read again */
	WD_DIAG_DONE,		/* NLMSG_DONE: the dump is complete */
	WD_DIAG_FAILED		/* errno says why */
};

/* Add the sockets of one received buffer (len bytes of netlink messages)
   to the table. Messages of another sequence number than seq are skipped
   (left over from an earlier request). An error reply sets errno to the
   kernel's error; a truncated or malformed message, to EPROTO; a full
   table that cannot grow, to ENOMEM. A socket whose tcp_info is missing
   or too short (no tcpi_notsent_bytes) is left out. */
enum wd_diag_status wd_diag_parse(struct wd_diag *, const void *buf,
		    size_t len, uint32_t seq);

#ifdef __cplusplus
}
#endif

#endif
