/* sockopt.h -- the socket options every link gets, set in one place. */
#ifndef GW_SOCKOPT_H
#define GW_SOCKOPT_H

#include "cfg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Set SO_KEEPALIVE + TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT,
   TCP_USER_TIMEOUT, TCP_NODELAY, SO_OOBINLINE and SO_RCVTIMEO/SO_SNDTIMEO =
   io_timeout_ms on a connected TCP socket. Returns 0, or -1 with errno set
   and *what naming the option that failed. */
int	sockopt_link(int fd, const struct cfg_policy *, const char **what);

/* Keepalive alone, SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and
   TCP_KEEPCNT: for a socket that is no link but must not outlive its
   peer either, and may stop reading for as long as it likes (a monitor
   client: TCP_USER_TIMEOUT would end a window closed that long). Same
   results. */
int	sockopt_keepalive(int fd, const struct cfg_policy *, const char **what);

/* SO_LINGER {1, 0}: the next close() sends RST and drops unsent data at
   once instead of retrying toward a peer that is gone. 0 or -1/errno. */
int	sockopt_linger_abort(int fd);

#ifdef __cplusplus
}
#endif

#endif
