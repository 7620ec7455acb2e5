/* link_peek.h -- hooks into the link module's private state, for its unit
   test only (link_peek.c includes link.c). */
#ifndef GW_LINK_PEEK_H
#define GW_LINK_PEEK_H

#include "link.h"
#include "probe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* As if the watchdog had just sampled l. */
void	link_peek_set_sample(struct link *, const struct wd_sample *);

/* The reason link_read()/link_write() record for err on fd (-1: none). */
enum wd_reason link_peek_reason_for_errno(struct link *, int fd, int err);

/* When l's last byte came in (monotonic ms). */
int64_t	link_peek_rx_last_ms(struct link *);

/* The next recv(), splice() or ppoll() of the link module, in any
   thread, sleeps ms first (signals do not end the sleep). */
void	link_peek_slow_start(int ms);

#ifdef __cplusplus
}
#endif

#endif
