/* notify.h -- tell the service manager how the daemon is doing: the
   sd_notify protocol (READY=1, RELOADING=1, STOPPING=1, STATUS=,
   WATCHDOG=1), spoken directly, without libsystemd. */
#ifndef GW_NOTIFY_H
#define GW_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The longest message sent, in bytes. */
#define NOTIFY_MSG_MAX	4096

struct notify;

/* Read NOTIFY_SOCKET ("/path", or "@name" for an abstract socket),
   WATCHDOG_USEC and WATCHDOG_PID from the environment and open a datagram
   socket toward the manager. Without NOTIFY_SOCKET (not run by systemd,
   or by a unit that is not Type=notify) the handle sends nothing and
   every call on it succeeds; likewise when NOTIFY_SOCKET is unusable,
   and then err holds why (else err is ""). Returns NULL only when out of
   memory. Call it before creating threads: it reads the environment.
   The handle is for one thread. */
struct notify	*notify_open(char *err, size_t errlen);

/* Send one message, newline-separated assignments such as
   "READY=1\nSTATUS=relaying for 2 devices", formatted like printf.
   Never blocks. Returns 0, or -1 with errno: EMSGSIZE (longer than
   NOTIFY_MSG_MAX), or sendto(2)'s (EAGAIN when the manager's queue is
   full, ECONNREFUSED when nothing listens, ...). */
int		 notify_send(struct notify *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* RELOADING=1 with MONOTONIC_USEC= (the CLOCK_MONOTONIC time, which
   systemd 253 and later want with it) and STATUS=reloading what. Send
   READY=1 when the reload is over, whatever its outcome. 0 or -1 with
   errno, as notify_send(). */
int		 notify_reloading(struct notify *, const char *what);

/* How often the manager wants WATCHDOG=1 at least (WATCHDOG_USEC, in
   ms, rounded down, at least 1), or 0 when it wants none: no
   WATCHDOG_USEC, or WATCHDOG_PID names another process. */
int64_t		 notify_watchdog_ms(const struct notify *);

/* WATCHDOG=1, when it is due: the watchdog thread has completed more
   sweeps than at the last ping (sweeps: its count so far), and half of
   notify_watchdog_ms() has passed since that ping (now_ms:
   CLOCK_MONOTONIC). A watchdog that stops sweeping thus stops the pings,
   and the manager restarts the daemon. Does nothing when not due or when
   no ping is wanted. 0, or -1 with errno as notify_send(). */
int		 notify_watchdog(struct notify *, uint64_t sweeps,
		    int64_t now_ms);

/* Close the socket and free; NULL is ignored. */
void		 notify_close(struct notify *);

#ifdef __cplusplus
}
#endif

#endif
