/* resolve.h -- address lookups that a stop never waits for. */
#ifndef GW_RESOLVE_H
#define GW_RESOLVE_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

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

/* What a listen on host binds (struct addr_binds), in two steps, so that
   a start or a reload looks every name up at once: a literal (a scoped
   IPv6 one too) at once, into out, and NULL returned; a name by a thread
   of its own, shared as resolve_stream()'s are (one a name, whatever the
   port), whose lookup is returned (NULL, with out->why, when it cannot
   start). resolve_binds_end() waits for it until deadline (clock_ms()),
   puts its answer or out->why "no answer in time" into out, and lets it
   go; a lookup not answered runs on. Either leaves out->n 0 and a
   reason in out->why when there is no address. */
struct resolve_lookup;
struct resolve_lookup *resolve_binds_begin(const char *host,
	    struct addr_binds *out);
void	resolve_binds_end(struct resolve_lookup *lk, int64_t deadline,
	    struct addr_binds *out);

/* Both steps for one host, waiting at most timeout_ms. */
void	resolve_binds(const char *host, int timeout_ms,
	    struct addr_binds *out);

#ifdef __cplusplus
}
#endif

#endif
