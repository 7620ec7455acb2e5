/*
 * mode.c -- device simulator: what the modes do beyond echoing: their
 * names, the source stream and the chatter lines.
 *
 * Source stream. --mode source sends the first --bytes bytes of this stream,
 * restarted from the seed on every connection, so that another program can
 * regenerate it (xorshift64*, every output word taken little-endian):
 *
 *	uint64_t x = seed;				(seed != 0)
 *	for (;;) {
 *		x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
 *		uint64_t r = x * 0x2545f4914f6cdd1d;
 *		emit the 8 bytes of r, least significant first;
 *	}
 */

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "devsim.h"

#define XS_MULT		UINT64_C(0x2545f4914f6cdd1d)

static const char *const mode_names[MODE_COUNT] = {
	"echo", "chatter", "silent", "sink", "stop-reading", "source"
};

int
mode_parse(const char *s)
{
	int	 m;

	for (m = 0; m < MODE_COUNT; m++)
		if (strcmp(s, mode_names[m]) == 0)
			return (m);
	return (-1);
}

const char *
mode_str(enum mode m)
{
	return (mode_names[m]);
}

bool
mode_buffers_input(const struct sim *s)
{
	return (s->opt.mode == MODE_ECHO ||
	    (s->opt.mode == MODE_CHATTER && s->opt.echo));
}

/* Refilling only an empty BUF_LEN buffer keeps every refill on a word
   boundary. */
bool
mode_source_refill(struct sim *s, struct conn *c)
{
	uint64_t	 x, r;
	size_t		 n, i, k;

	if (s->opt.mode != MODE_SOURCE || c->peer_eof ||
	    (s->opt.bytes != 0 && c->src_left == 0))
		return (false);
	n = BUF_LEN;
	if (s->opt.bytes != 0 && c->src_left < n)
		n = c->src_left;
	x = c->rng;
	for (i = 0; i < n; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		r = x * XS_MULT;
		for (k = 0; k < 8 && i + k < n; k++)
			c->buf[i + k] = (unsigned char)(r >> (8 * k));
	}
	c->rng = x;
	c->off = 0;
	c->len = n;
	if (s->opt.bytes != 0)
		c->src_left -= n;
	return (true);
}

void
mode_chatter(struct sim *s, struct conn *c, int64_t now)
{
	char	 line[MESSAGE_LEN_MAX + 2];
	int	 n;

	if (s->opt.message != NULL)
		n = snprintf(line, sizeof(line), "%s\n", s->opt.message);
	else
		n = snprintf(line, sizeof(line), "%s seq=%" PRIu64 "\n",
		    s->opt.name, c->seq + 1);
	conn_compact(c);
	if (n > 0 && (size_t)n < sizeof(line) &&
	    BUF_LEN - c->len >= (size_t)n) {
		memcpy(c->buf + c->len, line, n);
		c->len += n;
		c->seq++;
	}
	/* Keep the cadence, unless the output was backed up or we lag. */
	c->next_line_ms += s->opt.interval_ms;
	if (c->next_line_ms <= now)
		c->next_line_ms = now + s->opt.interval_ms;
}
