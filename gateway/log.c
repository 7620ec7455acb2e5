/* log.c -- log lines to stderr, syslog or the systemd journal; per-thread
   tags, rate limits.
 *
 * DESIGN: any thread logs; log_lock, a read-write lock, lets them emit
 * side by side (a journal entry or a syslog line is one datagram) while
 * log_set_target(), on the main thread, takes it exclusively to switch.
 * The level is an atomic.
 *
 * No reader that stops reading (a stalled supervisord, a stuck journald
 * or syslog daemon) may hold the threads that log, which include the
 * relay's. A datagram waits at most JOURNAL_SEND_MS for room; once one is
 * refused, the next are offered without waiting, and each refused one
 * goes to stderr, until the socket takes one again. syslog(3) is not used
 * for this reason: it waits for as long as its reader does. On stderr,
 * under a lock of its own, a line waits at most LOG_STDERR_WAIT_MS for
 * room, then is dropped, and so is every line after it at once, until the
 * reader takes one again; that line comes with a count of the lost ones.
 * The descriptor stays blocking: it is shared with whoever else writes to
 * it (a terminal, a pipe to tee).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "journal.h"
#include "log.h"

#define LOG_IDENT	"gatewayd"
#define LOG_LOST_MS	60000	/* one "journal refused" warning a minute */
#define LOG_STDERR_WAIT_MS 1000	/* the longest a line waits on stderr */
#define LOG_LINE_MAX	1280

/* What a line is about, for the journal's fields; NULL: nothing. */
struct log_about {
	const char	*device;
	const char	*link;
	const char	*reason;
};

static _Atomic int	 log_level = LOG_LVL_INFO;
static _Thread_local char log_tag[80];
static pthread_rwlock_t	 log_lock = PTHREAD_RWLOCK_INITIALIZER;
static enum log_target	 log_target = LOG_TO_STDERR;	/* log_lock */
static int		 log_sock_fd = -1;		/* log_lock */
static _Atomic bool	 log_refused;	/* the socket refused the last line */
static _Atomic int64_t	 log_lost_warned_ms = INT64_MIN;
static pthread_mutex_t	 stderr_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long	 stderr_lost;	/* stderr_lock: lines dropped */

static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const int level_prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
static const char *const target_names[] = { "stderr", "syslog", "journal" };

static void	log_stderr(enum log_level, const char *);
static void	log_lost(enum log_target, int);
static void	log_vemit(enum log_level, bool, const struct log_about *,
		    const char *, va_list) __attribute__((format(printf, 4, 0)));

void
log_set_level(enum log_level lvl)
{
	atomic_store(&log_level, lvl);
}

const char *
log_level_str(enum log_level l)
{
	return ((unsigned)l < sizeof(level_names) / sizeof(level_names[0]) ?
	    level_names[l] : "unknown");
}

const char *
log_target_str(enum log_target t)
{
	return ((unsigned)t < sizeof(target_names) / sizeof(target_names[0]) ?
	    target_names[t] : "unknown");
}

int
log_set_target(enum log_target t, const char *journal_path)
{
	int	fd = -1, rc = 0, saved_errno = 0;

	pthread_rwlock_wrlock(&log_lock);
	if (t == log_target) {
		pthread_rwlock_unlock(&log_lock);
		return (0);
	}
	/* Connecting is the check that something reads there. */
	if (t == LOG_TO_JOURNAL || t == LOG_TO_SYSLOG) {
		fd = journal_open(t == LOG_TO_JOURNAL ? journal_path :
		    _PATH_LOG);
		if (fd == -1) {
			saved_errno = errno;
			rc = -1;
			t = LOG_TO_STDERR;
		}
	}
	if (log_sock_fd != -1)
		close(log_sock_fd);
	log_sock_fd = fd;
	log_target = t;
	/* A new target: its first refusal is told at once. */
	atomic_store(&log_refused, false);
	atomic_store(&log_lost_warned_ms, INT64_MIN);
	pthread_rwlock_unlock(&log_lock);
	if (rc == -1)
		errno = saved_errno;
	return (rc);
}

void
log_set_tag(const char *tag)
{
	if (tag == NULL)
		log_tag[0] = '\0';
	else
		snprintf(log_tag, sizeof(log_tag), "%s", tag);
}

/* One line, timestamped, into buf; returns its length. */
static size_t
stderr_format(char *buf, size_t len, const char *ts, enum log_level lvl,
    const char *body)
{
	int	n;

	n = snprintf(buf, len, "%s %s %s\n", ts, level_names[lvl], body);
	if (n < 0)
		return (0);
	if ((size_t)n >= len) {
		n = (int)len - 1;
		buf[n - 1] = '\n';
	}
	return ((size_t)n);
}

/* Whether stderr takes a line within wait_ms. A pipe or a socket that
   polls writable takes one of up to PIPE_BUF bytes without blocking; a
   closed or broken stderr polls at once, and its write fails. */
static bool
stderr_room(int wait_ms)
{
	struct pollfd	pfd;
	int64_t		end = clock_ms() + wait_ms, left;
	int		rc;

	pfd.fd = STDERR_FILENO;
	pfd.events = POLLOUT;
	for (;;) {
		left = end - clock_ms();
		pfd.revents = 0;
		rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (rc == -1 && errno == EINTR)
			continue;
		/* Cannot tell: write as ever. */
		return (rc != 0);
	}
}

/* Bytes on stderr (one line or a few, at most PIPE_BUF with the notice),
   written with a single write(2) so that lines of different threads
   never interleave (a pipe to supervisord takes up to PIPE_BUF bytes
   atomically). */
static void
stderr_put(const char *text, size_t len)
{
	char		 ts[CLOCK_UTC_MAX], lost[80];
	char		 buf[LOG_LINE_MAX + sizeof(lost) + CLOCK_UTC_MAX + 8];
	size_t		 n = 0;
	ssize_t		 rc;

	if (len > LOG_LINE_MAX)
		len = LOG_LINE_MAX;
	pthread_mutex_lock(&stderr_lock);
	/* While lines are being lost, do not wait again: drop at once. */
	if (!stderr_room(stderr_lost > 0 ? 0 : LOG_STDERR_WAIT_MS)) {
		stderr_lost++;
		pthread_mutex_unlock(&stderr_lock);
		return;
	}
	if (stderr_lost > 0) {
		clock_format_utc(clock_wall_ms(), ts, sizeof(ts));
		snprintf(lost, sizeof(lost), "log: %lu line%s lost: stderr "
		    "was not read", stderr_lost, stderr_lost == 1 ? "" : "s");
		n = stderr_format(buf, sizeof(buf), ts, LOG_LVL_WARN, lost);
	}
	memcpy(buf + n, text, len);
	n += len;
	/* Nothing useful can be done when stderr is gone. */
	rc = write(STDERR_FILENO, buf, n);
	stderr_lost = rc == (ssize_t)n ? 0 : stderr_lost + 1;
	pthread_mutex_unlock(&stderr_lock);
}

/* One line on stderr, timestamped. */
static void
log_stderr(enum log_level lvl, const char *body)
{
	char	ts[CLOCK_UTC_MAX], line[LOG_LINE_MAX];
	size_t	n;

	clock_format_utc(clock_wall_ms(), ts, sizeof(ts));
	n = stderr_format(line, sizeof(line), ts, lvl, body);
	stderr_put(line, n);
}

void
log_stderr_text(const char *text)
{
	const char	*nl;
	size_t		 n;

	/* Line by line: each waits for room as a log line does. */
	while (*text != '\0') {
		nl = strchr(text, '\n');
		n = nl != NULL ? (size_t)(nl - text) + 1 : strlen(text);
		stderr_put(text, n);
		text += n;
	}
}

/* The journal or syslog (t) refused a line (err), which went to stderr:
   say so there, at most once a minute, whichever thread gets there
   first. */
static void
log_lost(enum log_target t, int err)
{
	char	 msg[160];
	int64_t	 now = clock_ms(), last = atomic_load(&log_lost_warned_ms);

	if (last != INT64_MIN && now - last < LOG_LOST_MS)
		return;
	if (!atomic_compare_exchange_strong(&log_lost_warned_ms, &last, now))
		return;
	snprintf(msg, sizeof(msg), "log: %s refused a line (%s): it and any "
	    "other it refuses go to stderr", t == LOG_TO_JOURNAL ?
	    "the journal" : "syslog", strerror(err));
	log_stderr(LOG_LVL_WARN, msg);
}

/* One line on the syslog socket, as syslog(3) sends it there:
   "<PRI>Mmm dd hh:mm:ss gatewayd[PID]: body", facility daemon, local
   time. Addressed by name each time: a syslog daemon that restarts
   makes its socket anew. */
static int
syslog_send(int fd, enum log_level lvl, const char *body, bool wait)
{
	char		 line[LOG_LINE_MAX], ts[32];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 n;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%b %e %T", &tm) == 0)
		ts[0] = '\0';
	n = snprintf(line, sizeof(line), "<%d>%s %s[%ld]: %s",
	    LOG_DAEMON | level_prio[lvl], ts, LOG_IDENT, (long)getpid(), body);
	if (n < 0)
		return (-1);
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	return (journal_dgram(fd, _PATH_LOG, line, (size_t)n, wait));
}

static void
log_vemit(enum log_level lvl, bool tagged, const struct log_about *about,
    const char *fmt, va_list ap)
{
	struct journal_entry	 e;
	enum log_target		 t;
	char			 msg[1024], body[1120];
	bool			 wait = !atomic_load(&log_refused);
	int			 saved_errno = errno, err = 0, rc = -1;

	if ((int)lvl < atomic_load(&log_level)) {
		errno = saved_errno;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(body, sizeof(body), "%s%s%s", tagged && log_tag[0] ?
	    log_tag : "", tagged && log_tag[0] ? ": " : "", msg);

	pthread_rwlock_rdlock(&log_lock);
	switch ((t = log_target)) {
	case LOG_TO_SYSLOG:
		rc = syslog_send(log_sock_fd, lvl, body, wait);
		break;
	case LOG_TO_JOURNAL:
		memset(&e, 0, sizeof(e));
		e.priority = level_prio[lvl];
		e.identifier = LOG_IDENT;
		e.message = body;
		if (about != NULL) {
			e.device = about->device;
			e.link = about->link;
			e.reason = about->reason;
		}
		rc = journal_send(log_sock_fd, &e, wait);
		break;
	default:
		break;
	}
	if (rc == -1 && t != LOG_TO_STDERR)
		err = errno;
	pthread_rwlock_unlock(&log_lock);
	if (t != LOG_TO_STDERR)
		atomic_store(&log_refused, rc == -1);
	if (rc == -1) {
		if (err != 0)
			log_lost(t, err);
		log_stderr(lvl, body);
	}
	errno = saved_errno;
}

#define LOG_BODY(lvl, tagged, about) do {				\
	va_list ap;							\
	va_start(ap, fmt);						\
	log_vemit((lvl), (tagged), (about), fmt, ap);			\
	va_end(ap);							\
} while (0)

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, true, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, true, NULL);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, true, NULL);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, true, NULL);
}

void
log_subject(enum log_level lvl, const char *fmt, ...)
{
	LOG_BODY(lvl, false, NULL);
}

void
log_link(enum log_level lvl, const char *device, const char *link,
    const char *reason, const char *fmt, ...)
{
	struct log_about	about = { device, link, reason };

	LOG_BODY(lvl, false, &about);
}

void
log_vlink(enum log_level lvl, const char *device, const char *link,
    const char *reason, const char *fmt, va_list ap)
{
	struct log_about	about = { device, link, reason };

	log_vemit(lvl, false, &about, fmt, ap);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, true, NULL);
	/* Other threads may hold locks: no atexit handlers, no teardown. The
	   line is out already (or dropped): written with write(2) or
	   sendto(2), neither buffered here. */
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
