/* status.h -- HTTP /metrics (Prometheus text) and /status (JSON, text). */
#ifndef GW_STATUS_H
#define GW_STATUS_H

#include <stddef.h>

#include "addr.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

struct status;

/* Connections served at once; one more evicts the oldest. */
#define STATUS_CONN_MAX		64
/* Descriptors the server may hold: its connections, one over, the
   listening socket, MHD's epoll fd, its own wake pipe and a spare to
   answer clients with when the process is out of them. */
#define STATUS_FDS		(STATUS_CONN_MAX + 1 + 5)

/* The owner's side of the status server: fill m with a copy of every link
   and counter it shows (metrics_add_link(), ...), taking its locks only
   while copying. Called on the server's thread; a failure to copy marks m
   failed (out of memory), which the server answers with a 500. */
typedef void (*status_collect_fn)(void *ctx, struct metrics *m);

/* Serve what collect copies on hp (libmicrohttpd, run by one thread of
   the server's): GET /metrics (Prometheus text format 0.0.4), GET /status
   (JSON; /status?format=text: one tab-separated line per link); HEAD too;
   other paths 404, other methods 405. A host name in hp binds the first
   of its addresses that can be had: those in binds, as a start or a
   reload looked them up, else looked up now (endpoint_binds()). Each
   connection has a few seconds to complete a request, however slowly it
   trickles; a connection over STATUS_CONN_MAX evicts the oldest. Returns
   NULL with a reason in err ("status.listen 127.0.0.1:9780: cannot serve:
   ... Address already in use") when no address can be had. A request
   copies under short locks and renders without any: it never blocks a
   pump or the watchdog. */
struct status	*status_start(const struct addr_hostport *hp,
		    const struct addr_binds *binds, status_collect_fn collect,
		    void *ctx, char *err, size_t errlen);

/* Serve on hp (binds as for status_start()) instead of where *stp serves
   (NULL: nowhere). The new server starts while the old one serves, and
   the old one stops once it has: 0, *stp the new one. When hp cannot be
   had and the old server may hold it (the same port, and the same
   address, one that hp's name binds, or a wildcard), the old one stops,
   hp is tried again, and should it fail again the old address is served
   again. A name that binds nothing (not answered in time) leaves the old
   server serving. -1 with the reason in err when hp cannot be had: *stp
   serves where it did (a new server when restarted), or is NULL when it
   could not be restarted (err says why too). */
int		 status_move(struct status **stp,
		    const struct addr_hostport *hp,
		    const struct addr_binds *binds, status_collect_fn collect,
		    void *ctx, char *err, size_t errlen);

/* The address it serves on, as bound: "127.0.0.1:9780", "[::1]:9780"
   (a port 0 or a host name shows what it became). */
const char	*status_where(const struct status *);

/* Stop serving, close every connection, join the thread and free. NULL is
   fine. */
void		 status_stop(struct status *);

#ifdef __cplusplus
}
#endif

#endif
