/* monitor.h -- the monitor taps: a TCP port per device where up to
   CFG_MONITOR_CLIENTS clients receive a copy of both directions of its
   traffic, raw or tagged. One thread serves every device's port and
   clients; what a client sends is discarded; a client that does not keep
   up is dropped from (its tap buffer overflows), never waited for, and
   the bytes it missed are counted.

   Tagged format: each chunk (in pieces of at most TAP_PIECE_MAX bytes)
   is a header line, then exactly LEN bytes:
     2026-11-28T10:00:00.123Z dev>up LEN\n<LEN bytes>
   and where bytes were dropped for this client, a line with no bytes:
     2026-11-28T10:00:00.123Z dropped LEN\n */
#ifndef GW_MONITOR_H
#define GW_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "tap.h"

#ifdef __cplusplus
extern "C" {
#endif

struct monitor;

/* Start the monitor's thread. NULL with errno. */
struct monitor	*monitor_start(void);

/* Close every port and client, join the thread, free. NULL is fine. */
void		 monitor_stop(struct monitor *);

/* Listen for device's monitor clients on ep (listen, allow), fed by tap
   (a reference is taken), in the device's monitor_format, each client's
   socket with the device's keepalive (as of now: a policy reload does not
   reach them). Returns 0, or -1 with a reason in
   err (address in use, ...). */
int		 monitor_open(struct monitor *, const char *device,
		    const struct cfg_endpoint *ep, const struct cfg_policy *pol,
		    struct tap *tap, char *err, size_t errlen);

/* Close device's port and its clients (each told nothing more comes: the
   connection closes). Nothing when device has none. */
void		 monitor_close(struct monitor *, const char *device);

/* What a device's monitor port shows. */
struct monitor_info {
	char		listen[64];	/* as bound */
	unsigned	clients;	/* watching now */
	uint64_t	missed;		/* bytes its clients could not take,
					   those that left included */
};

/* Fill *info for device's monitor port. Returns true, or false when the
   device has none. */
bool		 monitor_info(struct monitor *, const char *device,
		    struct monitor_info *info);

#ifdef __cplusplus
}
#endif

#endif
