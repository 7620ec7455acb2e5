/* resolve.h -- address lookups that a stop never waits for. */
#ifndef GW_RESOLVE_H
#define GW_RESOLVE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct addrinfo;

/* The stream socket addresses of host:port (port numeric), in *res (free
   with freeaddrinfo()). A literal address is converted at once, without
   AI_ADDRCONFIG: a literal is always dialled, whatever addresses the host
   has (a PC whose only IPv4 address is loopback still reaches 127.0.0.1).
   A name is looked up with AI_ADDRCONFIG by a thread of its own while the
   caller waits, at most timeout_ms, and no longer than until wake_fd (-1:
   none) becomes readable; then the lookup is abandoned (its thread frees
   what it finds later). Returns 0, or -1 with errno (ECANCELED on wake,
   ETIMEDOUT, EHOSTUNREACH for a name that does not resolve, ...) and a
   reason in err. */
int	resolve_stream(const char *host, const char *port, int wake_fd,
	    int timeout_ms, struct addrinfo **res, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
