/* endpoint.h -- opening the sockets of a link: dial out or listen. */
#ifndef GW_ENDPOINT_H
#define GW_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"
#include "wake.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Dial ep: resolve it (resolve_stream(): a literal at once, a name by a
   lookup a stop does not wait for), then try each address with a
   non-blocking connect bounded by pol->connect_timeout_ms; both waits are
   woken as wake says (NULL: by nothing). Gives up at once when wake_fd (-1:
   none) becomes readable. On success returns a connected, blocking socket
   with every link option set (sockopt_link()) and the peer in peer. On
   failure returns -1 with errno set (ETIMEDOUT, ECONNREFUSED, ECANCELED
   when woken by wake_fd, ...) and a one-line reason in err. */
int	endpoint_dial(const struct cfg_endpoint *ep, const struct cfg_policy *pol,
	    int wake_fd, const struct wake *wake, char *peer,
	    size_t peerlen, char *err, size_t errlen);

/* Open a listening socket (SO_REUSEADDR, close-on-exec, non-blocking) on
   ep's address: on the first of what a name binds (ep->binds, as the
   start or the reload looked it up) that can be had. Returns the fd, or
   -1 with errno set and a reason in err. */
int	endpoint_listen(const struct cfg_endpoint *ep, char *err, size_t errlen);

/* What a listen on hp binds: *binds when a start or a reload looked it up
   (binds->n or binds->why set), else looked up now, at most CFG_LOOKUP_MS
   (a literal at once), into *own. Returns the one to use, whose n is 0
   and why says why when there is no address. */
const struct addr_binds *endpoint_binds(const struct addr_hostport *hp,
	    const struct addr_binds *binds, struct addr_binds *own);

/* A listening socket on address i of b at port, as endpoint_listen()
   makes it; with v6only an IPv6 socket takes IPv6 clients alone. Returns
   the fd, or -1 with errno set and *what naming the call that failed. */
int	endpoint_listen_on(const struct addr_binds *b, int i, const char *port,
	    bool v6only, int backlog, const char **what);

/* The local address a socket is bound to, as "127.0.0.1:41234" or
   "[::1]:41234" (the port the kernel chose for port 0). 0, or -1/errno. */
int	endpoint_local_addr(int fd, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
