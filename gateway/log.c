/* log.c -- timestamped log lines on stderr, per-thread tags, rate limits. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"


static _Atomic int	 log_level = LOG_LVL_INFO;
static _Thread_local char log_tag[80];

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static void	log_vemit(enum log_level, bool, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

void
log_set_level(enum log_level lvl)
{
	atomic_store(&log_level, lvl);
}

void
log_set_tag(const char *tag)
{
	if (tag == NULL)
		log_tag[0] = '\0';
	else
		snprintf(log_tag, sizeof(log_tag), "%s", tag);
}

/* One line, written with a single write(2) so that lines of different
   threads never interleave (a pipe to supervisord takes up to PIPE_BUF
   bytes atomically). */
static void
log_vemit(enum log_level lvl, bool tagged, const char *fmt, va_list ap)
{
	char		 msg[1024], ts[CLOCK_UTC_MAX], line[1280];
	ssize_t		 rc;
	int		 n, saved_errno = errno;

	if ((int)lvl < atomic_load(&log_level)) {
		errno = saved_errno;
		return;
	}
	clock_format_utc(clock_wall_ms(), ts, sizeof(ts));
	vsnprintf(msg, sizeof(msg), fmt, ap);

	n = snprintf(line, sizeof(line), "%s %s %s%s%s\n", ts,
	    level_names[lvl],
	    tagged && log_tag[0] ? log_tag : "",
	    tagged && log_tag[0] ? ": " : "", msg);
	if (n >= (int)sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* Nothing useful can be done when stderr is gone. */
	rc = write(STDERR_FILENO, line, (size_t)n);
	(void)rc;
	errno = saved_errno;
}

#define LOG_BODY(lvl, tagged) do {					\
	va_list ap;							\
	va_start(ap, fmt);						\
	log_vemit((lvl), (tagged), fmt, ap);				\
	va_end(ap);							\
} while (0)

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, true);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, true);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, true);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, true);
}

void
log_subject(enum log_level lvl, const char *fmt, ...)
{
	LOG_BODY(lvl, false);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, true);
	/* Other threads may hold locks: no atexit handlers, no teardown. The
	   line is out already: log_vemit() writes with write(2). */
	_exit(EX_SOFTWARE);
}

bool
log_limit_allow(struct log_limit *ll, int64_t now_ms, unsigned *suppressed)
{
	*suppressed = 0;
	if (!ll->started || now_ms - ll->last_ms >= ll->window_ms) {
		*suppressed = ll->suppressed;
		ll->suppressed = 0;
		ll->last_ms = now_ms;
		ll->started = true;
		return (true);
	}
	ll->suppressed++;
	return (false);
}

unsigned
log_limit_reset(struct log_limit *ll)
{
	unsigned	n = ll->suppressed;

	ll->started = false;
	ll->suppressed = 0;
	return (n);
}

const char *
log_suppressed(unsigned n)
{
	static _Thread_local char	buf[48];

	if (n == 0)
		return ("");
	snprintf(buf, sizeof(buf), " (suppressed %u similar)", n);
	return (buf);
}
