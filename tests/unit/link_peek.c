/* link_peek.c -- the link module compiled into its unit test, with two
   hooks into its private state (as chrony's unit tests include the file
   they test): the test reaches what no other module may. */
#include "../../gateway/link.c"

#include "link_peek.h"

void
link_peek_set_sample(struct link *l, const struct wd_sample *s)
{
	pthread_mutex_lock(l->mu);
	l->last_sample = *s;
	l->have_sample = true;
	pthread_mutex_unlock(l->mu);
}

enum wd_reason
link_peek_reason_for_errno(struct link *l, int fd, int err)
{
	return (reason_for_errno(l, fd, err));
}

int64_t
link_peek_rx_last_ms(struct link *l)
{
	return (atomic_load(&l->last_rx_ms));
}
