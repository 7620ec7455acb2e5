/* words.h -- the last bytes a link received or sent: what a press said
   last before it went silent. One per link and direction; the relay
   thread of that direction writes, the link's owner copies at a failure,
   under a leaf lock of its own. */
#ifndef GW_WORDS_H
#define GW_WORDS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WORDS_MAX	64

/* What a snapshot holds: the last len (<= WORDS_MAX) bytes seen, and how
   many bytes passed after them unseen (the zero-copy path does not see
   the bytes it moves). */
struct words_snap {
	unsigned char	b[WORDS_MAX];
	size_t		len;
	uint64_t	skipped;
};

struct words {
	pthread_mutex_t		mu;
	struct words_snap	w;	/* protected by mu */
};

void	words_init(struct words *);
void	words_destroy(struct words *);

/* Forget everything: a new connection begins. */
void	words_clear(struct words *);

/* n bytes at p went by: the last WORDS_MAX of them are kept. */
void	words_add(struct words *, const void *p, size_t n);

/* n bytes went by unseen. */
void	words_skip(struct words *, size_t n);

void	words_copy(struct words *, struct words_snap *);

#ifdef __cplusplus
}
#endif

#endif
