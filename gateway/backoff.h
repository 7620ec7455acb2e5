/* backoff.h -- reconnect delays: exponential with jitter (pure). */
#ifndef GW_BACKOFF_H
#define GW_BACKOFF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct backoff {
	int		min_ms;
	int		max_ms;
	int		ceiling_ms;	/* upper bound of the next delay */
	uint64_t	rng;		/* xorshift state, never 0 */
};

/* Start at min_ms (>= 1), never exceed max_ms (>= min_ms). seed picks the
   jitter sequence (any value; 0 is replaced). */
void	backoff_init(struct backoff *, int min_ms, int max_ms, uint64_t seed);

/* The delay before the next attempt: uniformly drawn from
   [ceiling/2, ceiling] (never below min_ms), after which the ceiling doubles
   up to max_ms. The jitter keeps a hundred devices that lost the same switch
   from redialling in lock-step. */
int	backoff_next(struct backoff *);

/* After a success: the next failure starts again at min_ms. */
void	backoff_reset(struct backoff *);

#ifdef __cplusplus
}
#endif

#endif
