/*
 * fault.c -- device simulator: the faults it injects on a connection.
 * --close-after-ms closes it cleanly (FIN), --reset-after-ms aborts it
 * (RST); if both are given, the one due first applies.
 */

#include <sys/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "devsim.h"

static void	 fault_reset(struct sim *, struct conn *, const char *);

int64_t
fault_at(int64_t base, int64_t delay_ms)
{
	return (delay_ms == OFF ? NEVER : base + delay_ms);
}

int64_t
fault_deadline(const struct sim *s, const struct conn *c)
{
	int64_t	 d, t;

	d = fault_at(c->since_ms, s->opt.reset_after_ms);
	if ((t = fault_at(c->since_ms, s->opt.close_after_ms)) < d)
		d = t;
	return (d);
}

bool
fault_check(struct sim *s, struct conn *c, int64_t now)
{
	int64_t	 rst, cls;

	rst = fault_at(c->since_ms, s->opt.reset_after_ms);
	cls = fault_at(c->since_ms, s->opt.close_after_ms);
	if (now >= rst && rst <= cls)
		fault_reset(s, c, "reset-after-ms (RST sent)");
	else if (now >= cls)
		conn_finish(s, c, "close-after-ms (FIN sent)", now);
	else
		return (false);
	return (true);
}

/* Abort with RST: SO_LINGER {1, 0}, then close(2). */
static void
fault_reset(struct sim *s, struct conn *c, const char *reason)
{
	struct linger	 lg = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1)
		logmsg("%s: cannot set SO_LINGER: %s", c->peer,
		    strerror(errno));
	conn_close(s, c, reason);
}
