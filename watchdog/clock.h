/* clock.h -- time for every floor of the daemon: the monotonic clock in ms
   and us, the wall clock in ms, deadlines for condition variables, and the
   one UTC format the log, the status page and the metrics print. It lives
   in watchdog/, the floor that depends on nothing, so that gateway/ and
   watchdog/ share it. */
#ifndef GW_CLOCK_H
#define GW_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CLOCK_MONOTONIC in milliseconds and microseconds. */
int64_t	clock_ms(void);
int64_t	clock_us(void);

/* CLOCK_REALTIME in milliseconds since the epoch. */
int64_t	clock_wall_ms(void);

/* ms (>= 0) as a relative time, for ppoll() and sigtimedwait(). */
struct timespec clock_span(int64_t ms);

/* Absolute CLOCK_MONOTONIC deadline ms from now, for pthread_cond_timedwait
   on a condition variable created with pthread_condattr_setclock. */
struct timespec clock_deadline(int64_t ms);

/* wall_ms as "2026-11-22T10:00:00.123Z" (UTC) in buf, which should hold
   CLOCK_UTC_MAX bytes; a negative time prints as the epoch. Returns buf. */
#define CLOCK_UTC_MAX	32
char	*clock_format_utc(int64_t wall_ms, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
