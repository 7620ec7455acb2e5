/* resolve.h -- address lookups that a stop never waits for. */
#ifndef GW_RESOLVE_H
#define GW_RESOLVE_H

#include <sys/socket.h>
#include <stddef.h>

#include "addr.h"
#include "wake.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RESOLVE_ADDRS_MAX	8	/* the first ones getaddrinfo() gives */

struct resolve_addrs {
	int	n;
	struct resolve_addr {
		struct sockaddr_storage	ss;
		socklen_t		len;
	}	a[RESOLVE_ADDRS_MAX];
};

/* The stream socket addresses of host:port (port numeric), in order, in
   *out. A literal address is converted at once, without AI_ADDRCONFIG: a
   literal is always dialled, whatever addresses the host has (a PC whose
   only IPv4 address is loopback still reaches 127.0.0.1). A name is looked
   up with AI_ADDRCONFIG by a thread of its own while the caller waits, at
   most timeout_ms, and no longer than until wake_fd (-1: none) becomes
   readable; then the caller gives up, and the lookup runs on. The wait is
   woken as wake says (NULL: by nothing). While it
   runs, a caller asking for the same host:port waits for it rather than
   start another: a name whose answer takes longer than one caller waits
   is found by the next, and callers that keep giving up on a silent DNS
   server hold one lookup (a thread, its descriptors) per name, not one per
   try. Returns 0, or -1 with errno (ECANCELED on wake, ETIMEDOUT,
   EHOSTUNREACH for a name that does not resolve, ...) and a reason in
   err. */
int	resolve_stream(const char *host, const char *port, int wake_fd,
	    const struct wake *wake, int timeout_ms, struct resolve_addrs *out,
	    char *err, size_t errlen);

/* The address a listen on hp binds (struct addr_bound): a literal's at
   once; a name's looked up as resolve_stream() does, by a thread of its
   own (shared with callers of the same name; AI_PASSIVE, every family, as
   endpoint_listen() binds), waiting at most timeout_ms (0: not at all).
   Returns 0, or -1 when the name does not resolve in time. */
int	resolve_bound(const struct addr_hostport *hp, int timeout_ms,
	    struct addr_bound *out);

#ifdef __cplusplus
}
#endif

#endif
