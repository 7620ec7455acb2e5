/* device.h -- one device: its links and its reader and writer threads. */
#ifndef GW_DEVICE_H
#define GW_DEVICE_H

#include <stdbool.h>
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

/* Stop in two steps, so that many devices stop in the time of one:
   device_stop_begin() stops accepting, wakes a dial or name lookup in
   progress, shuts every link down and tells both threads, without waiting;
   device_stop_finish() joins both threads, counts the bytes they still
   held as discarded on the links they came from (and logs them), and
   closes all sockets, returning within about io_timeout_ms. The links'
   counters are final then, and device_link() and device_cfg() still
   answer, until device_free() frees the device. device_stop() does all
   three. NULL is fine for each. */
void		 device_stop_begin(struct device *);
void		 device_stop_finish(struct device *);
void		 device_free(struct device *);
void		 device_stop(struct device *);

/* Apply a new policy to a running device: its threads take it at their
   next wake-up and its live sockets get the new keepalive, user timeout
   and I/O timeouts at once. Main thread only. */
void		 device_set_policy(struct device *, const struct cfg_policy *);

/* The device's configuration (its own copy; its policy may change on
   reload, so other threads than the main one read only its name). */
const struct cfg_device *device_cfg(const struct device *);

/* True when both directions move bytes with splice() (zero copy). */
bool		 device_splices(const struct device *);

/* The link of that kind, or NULL when the device has none. */
struct link	*device_link(struct device *, enum link_kind);

/* The copy of the device's traffic, both directions (tap_ref() it to keep
   it past the device). */
struct tap	*device_tap(struct device *);

#ifdef __cplusplus
}
#endif

#endif
