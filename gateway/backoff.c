/* backoff.c -- reconnect delays: exponential with jitter (pure). */
#include "backoff.h"

static uint64_t
backoff_rand(struct backoff *b)
{
	/* xorshift64: small, fast, and good enough for spreading retries. */
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return (b->rng);
}

void
backoff_init(struct backoff *b, int min_ms, int max_ms, uint64_t seed)
{
	b->min_ms = min_ms < 1 ? 1 : min_ms;
	b->max_ms = max_ms < b->min_ms ? b->min_ms : max_ms;
	b->ceiling_ms = b->min_ms;
	b->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

int
backoff_next(struct backoff *b)
{
	int	lo, delay;

	lo = b->ceiling_ms / 2;
	if (lo < b->min_ms)
		lo = b->min_ms;
	delay = lo + (int)(backoff_rand(b) % (uint64_t)(b->ceiling_ms - lo + 1));
	if (b->ceiling_ms > b->max_ms / 2)
		b->ceiling_ms = b->max_ms;
	else
		b->ceiling_ms *= 2;
	return (delay);
}

void
backoff_reset(struct backoff *b)
{
	b->ceiling_ms = b->min_ms;
}
