/* device.h -- one device: its links and its reader and writer threads. */
#ifndef GW_DEVICE_H
#define GW_DEVICE_H

#include <stddef.h>

#include "acceptor.h"
#include "cfg.h"
#include "link.h"
#include "watchdog.h"

#ifdef __cplusplus
extern "C" {
#endif

struct device;

/* Copy dc, open its listening sockets (through acc), register its links
   with wd and start its reader (device -> upstream) and writer (upstream ->
   device) threads. Returns NULL with a reason in err when a socket or
   thread cannot be had. */
struct device	*device_start(const struct cfg_device *dc, struct acceptor *acc,
		    struct watchdog *wd, char *err, size_t errlen);

/* Stop accepting, shut every link down, join both threads, close all
   sockets, free. Returns within about io_timeout_ms (a dial in progress is
   abandoned at its next poll slice). */
void		 device_stop(struct device *);

/* The device's configuration (its own copy). */
const struct cfg_device *device_cfg(const struct device *);

/* The link of that kind, or NULL when the device has none. */
struct link	*device_link(struct device *, enum link_kind);

#ifdef __cplusplus
}
#endif

#endif
