/*
 * output.c -- device simulator: what it tells the world. Event lines on
 * stderr, stamped with the milliseconds since start, and the ready file.
 */

#include <netdb.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devsim.h"

static int	 ready_write(const char *, int);

static int64_t	 log_t0_ms;
static const char *log_name = "devsim";

int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void
log_start(void)
{
	log_t0_ms = now_ms();
}

void
log_set_name(const char *name)
{
	log_name = name;
}

int64_t
log_started_ms(void)
{
	return (log_t0_ms);
}

void
logmsg(const char *fmt, ...)
{
	char	 line[1024];
	va_list	 ap;
	size_t	 len, room;
	ssize_t	 w;
	int	 saved_errno = errno, n;

	n = snprintf(line, sizeof(line), "%7" PRId64 " %s: ",
	    now_ms() - log_t0_ms, log_name);
	len = n > 0 ? (size_t)n : 0;
	room = sizeof(line) - len - 1;		/* keep a byte for '\n' */
	va_start(ap, fmt);
	n = vsnprintf(line + len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += (size_t)n < room ? (size_t)n : room - 1;
	line[len++] = '\n';
	w = write(STDERR_FILENO, line, len);
	(void)w;
	errno = saved_errno;
}

const char *
err_str(int err)
{
	if (err < 0)
		return (gai_strerror(err));
	if (err == ECONNRESET || err == EPIPE)
		return ("peer reset");
	return (strerror(err));
}

/*
 * Write "<port>\n" to path through a temporary file and rename(2), so a
 * reader never sees a partial file. Returns 0, or -1 with errno set.
 */
static int
ready_write(const char *path, int port)
{
	char	 tmp[PATH_MAX];
	FILE	*f;
	int	 saved_errno;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((f = fopen(tmp, "w")) == NULL)
		return (-1);
	if (fprintf(f, "%d\n", port) < 0)
		goto out_close;
	if (fclose(f) == EOF)
		goto out_unlink;
	if (rename(tmp, path) == -1)
		goto out_unlink;
	return (0);
out_close:
	saved_errno = errno;
	fclose(f);
	errno = saved_errno;
out_unlink:
	saved_errno = errno;
	unlink(tmp);
	errno = saved_errno;
	return (-1);
}

int
ready_once(struct sim *s, int port)
{
	if (s->opt.ready_file == NULL || s->ready_done)
		return (0);
	if (ready_write(s->opt.ready_file, port) == -1) {
		logmsg("cannot write %s: %s", s->opt.ready_file,
		    strerror(errno));
		return (-1);
	}
	s->ready_done = true;
	return (0);
}
