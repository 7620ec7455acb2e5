/* log.h -- log lines to stderr, syslog or the systemd journal; per-thread
   tags, rate limits. */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };
enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_JOURNAL };

/* Set the lowest level that is printed (default info). Thread-safe. */
void	log_set_level(enum log_level);

/* "debug", "info", "warn" or "error". */
const char *log_level_str(enum log_level);

/* "stderr", "syslog" or "journal". */
const char *log_target_str(enum log_target);

/* Send every line from now on to target: stderr (the default), one line
   each with a UTC timestamp and the level; syslog(3), facility daemon,
   identity gatewayd, the level as the priority; or the systemd journal's
   native socket at journal_path (JOURNAL_SOCKET; the other targets ignore
   it), with PRIORITY= and the device, link and reason of log_link() as
   fields of their own. syslog and the journal get no timestamp: they add
   their own. When the target's socket cannot be used (_PATH_LOG for
   syslog, journal_path), lines go to stderr and -1 is returned with
   errno, for the caller to say so; otherwise 0. A target in use stays as
   it is. Thread-safe: a line logged meanwhile goes whole to one target. A
   line the journal refuses later goes to stderr, with a warning at most
   once a minute. */
int	log_set_target(enum log_target, const char *journal_path);

/* Text as is (a configuration's "FILE:LINE: ..." messages) on stderr,
   each line held back no longer than a log line is when nobody reads
   stderr. */
void	log_stderr_text(const char *text);

/* Tag every line this thread logs with tag ("press1/reader"); NULL clears.
   The string is copied. */
void	log_set_tag(const char *tag);

/* Lines look like "2026-11-22T10:00:00.123Z info TAG: message". All save
   and restore errno. */
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Like the above with an explicit level and without the thread tag: the
   message names its own subject ("press1/device down: ..."). */
void	log_subject(enum log_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Like log_subject(), for a line about one link (link "device", "rx",
   "tx" or "upstream") or one device (link NULL): the journal receives
   device, link and reason (a reason code such as "keepalive_timeout";
   NULL: none) as GATEWAYD_DEVICE=, GATEWAYD_LINK= and GATEWAYD_REASON=,
   so that journalctl GATEWAYD_DEVICE=press1 finds them. The message still
   names its subject ("press1/device down: ..."): stderr and syslog show
   the message alone. */
void	log_link(enum log_level, const char *device, const char *link,
	    const char *reason, const char *, ...)
	    __attribute__((format(printf, 5, 6)));
void	log_vlink(enum log_level, const char *device, const char *link,
	    const char *reason, const char *, va_list)
	    __attribute__((format(printf, 5, 0)));

/* Log at error level and leave the process with exit 70 (EX_SOFTWARE):
   broken invariants. The one way out from any thread: _exit(), no atexit
   handlers, since other threads may hold locks. Appends nothing: say
   strerror(errno) in the message where it matters. */
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* A rate limit for one kind of repeated line (a device refusing connects
   for an hour): at most one line per window_ms; the next line allowed
   after a quiet spell reports how many were suppressed. Not thread-safe:
   one per thread or under the caller's lock. */
struct log_limit {
	int64_t		window_ms;
	int64_t		last_ms;	/* when the last line was let through */
	unsigned	suppressed;
	bool		started;
};

/* Returns true when the caller should log now; then *suppressed is the
   number of lines swallowed since the last one (0 for none). */
bool	log_limit_allow(struct log_limit *, int64_t now_ms, unsigned *suppressed);

/* "" for 0, else " (suppressed N similar)", in a thread-local buffer: for
   appending to the line a rate limit let through. */
const char *log_suppressed(unsigned n);

/* Forget history after a success, so the next failure is logged at once.
   Returns the number of lines suppressed since the last one let through. */
unsigned log_limit_reset(struct log_limit *);

#ifdef __cplusplus
}
#endif

#endif
