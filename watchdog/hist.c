/* hist.c -- a lock-free histogram of durations for the metrics. */
#include "hist.h"

const int64_t hist_bounds_ms[HIST_BUCKETS] = {
	1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 60000
};

void
hist_add_us(struct hist *h, int64_t us)
{
	int	i;

	if (us < 0)
		us = 0;
	for (i = 0; i < HIST_BUCKETS; i++) {
		if (us <= hist_bounds_ms[i] * 1000) {
			atomic_fetch_add(&h->bucket[i], 1);
			break;
		}
	}
	atomic_fetch_add(&h->count, 1);
	atomic_fetch_add(&h->sum_us, (uint64_t)us);
}

void
hist_read(const struct hist *h, struct hist_snap *out)
{
	uint64_t	total = 0;
	int		i;

	for (i = 0; i < HIST_BUCKETS; i++) {
		out->bucket[i] = atomic_load(&h->bucket[i]);
		total += out->bucket[i];
	}
	out->count = atomic_load(&h->count);
	out->sum_us = atomic_load(&h->sum_us);
	/* hist_add_us() bumps the bucket before the count: a reader between
	   the two sees one more in the buckets. */
	if (out->count < total)
		out->count = total;
}
