/* hist.h -- a lock-free histogram of durations for the metrics. */
#ifndef WD_HIST_H
#define WD_HIST_H

#include "atomics.h"
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HIST_BUCKETS	12

/* Upper bounds in ms of the buckets ("le" in seconds: 0.001 .. 60); the
   last bucket (+Inf) is the count. */
extern const int64_t hist_bounds_ms[HIST_BUCKETS];

struct hist {
	ATOMIC(uint64_t)	bucket[HIST_BUCKETS];	/* non-cumulative */
	ATOMIC(uint64_t)	count;
	ATOMIC(uint64_t)	sum_us;
};

/* A histogram as read: per-bucket (not cumulative) counts, the number of
   observations (those beyond the last bound included) and their sum. */
struct hist_snap {
	uint64_t	bucket[HIST_BUCKETS];
	uint64_t	count;
	uint64_t	sum_us;
};

/* Add one observation of us microseconds. Any thread. */
void	hist_add_us(struct hist *, int64_t us);

/* Read h with atomic loads. The counts stay consistent under concurrent
   hist_add_us(): the buckets never add up to more than count. */
void	hist_read(const struct hist *, struct hist_snap *);

#ifdef __cplusplus
}
#endif

#endif
