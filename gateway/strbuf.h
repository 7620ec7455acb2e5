/* strbuf.h -- a growing text buffer for rendering responses. */
#ifndef GW_STRBUF_H
#define GW_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The text is always NUL-terminated (when len > 0). A failed allocation
   makes the buffer "failed": later appends do nothing, so a renderer checks
   once, at the end. */
struct strbuf {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	bool	 failed;	/* out of memory: the text is incomplete */
};

/* An empty buffer. Allocates nothing. */
void	strbuf_init(struct strbuf *);

/* Append len bytes of s / the NUL-terminated s / printf output. Return 0,
   or -1 with errno ENOMEM (and the buffer marked failed). */
int	strbuf_add(struct strbuf *, const char *s, size_t len);
int	strbuf_puts(struct strbuf *, const char *s);
int	strbuf_printf(struct strbuf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Append the len bytes at p in lower-case hex, two digits each. Return
   0, or -1 with errno ENOMEM. */
int	strbuf_hex(struct strbuf *, const void *p, size_t len);

/* Remove the first n bytes (n <= len), keeping the rest and the room. */
void	strbuf_drop(struct strbuf *, size_t n);

/* Hand the text over to the caller (free() it), set *len to its length,
   and leave the buffer empty. An empty text is a 1-byte "" allocation.
   NULL with errno ENOMEM when the buffer failed (it is freed). */
char	*strbuf_take(struct strbuf *, size_t *len);

/* Free the text and leave the buffer empty. */
void	strbuf_free(struct strbuf *);

#ifdef __cplusplus
}
#endif

#endif
