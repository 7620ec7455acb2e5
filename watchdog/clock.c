/* clock.c -- time for every floor of the daemon. */
#include <stdio.h>
#include <time.h>

#include "clock.h"

static int64_t
read_ms(clockid_t id)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t
clock_ms(void)
{
	return (read_ms(CLOCK_MONOTONIC));
}

int64_t
clock_wall_ms(void)
{
	return (read_ms(CLOCK_REALTIME));
}

int64_t
clock_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

struct timespec
clock_span(int64_t ms)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	return (ts);
}

struct timespec
clock_deadline(int64_t ms)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return (ts);
}

char *
clock_format_utc(int64_t wall_ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		sec;
	char		ts[24];

	if (wall_ms < 0)
		wall_ms = 0;
	sec = (time_t)(wall_ms / 1000);
	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(ts, sizeof(ts), "1970-01-01T00:00:00");
	snprintf(buf, len, "%s.%03dZ", ts, (int)(wall_ms % 1000));
	return (buf);
}
