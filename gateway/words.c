/* words.c -- the last bytes a link received or sent. */
#include <string.h>

#include "words.h"

void
words_init(struct words *w)
{
	pthread_mutex_init(&w->mu, NULL);
	memset(&w->w, 0, sizeof(w->w));
}

void
words_destroy(struct words *w)
{
	pthread_mutex_destroy(&w->mu);
}

void
words_clear(struct words *w)
{
	pthread_mutex_lock(&w->mu);
	w->w.len = 0;
	w->w.skipped = 0;
	pthread_mutex_unlock(&w->mu);
}

void
words_add(struct words *w, const void *p, size_t n)
{
	const unsigned char	*src = p;
	size_t			 keep;

	if (n == 0)
		return;
	pthread_mutex_lock(&w->mu);
	if (n >= WORDS_MAX) {
		memcpy(w->w.b, src + n - WORDS_MAX, WORDS_MAX);
		w->w.len = WORDS_MAX;
	} else {
		/* Keep the tail of what was there, then the new bytes. */
		keep = w->w.len + n > WORDS_MAX ? WORDS_MAX - n : w->w.len;
		memmove(w->w.b, w->w.b + w->w.len - keep, keep);
		memcpy(w->w.b + keep, src, n);
		w->w.len = keep + n;
	}
	w->w.skipped = 0;
	pthread_mutex_unlock(&w->mu);
}

void
words_skip(struct words *w, size_t n)
{
	pthread_mutex_lock(&w->mu);
	w->w.skipped += n;
	pthread_mutex_unlock(&w->mu);
}

void
words_copy(struct words *w, struct words_snap *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->w;
	pthread_mutex_unlock(&w->mu);
}
