/* strbuf.c -- a growing text buffer for rendering responses. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define STRBUF_MIN	1024

static int	strbuf_grow(struct strbuf *, size_t);

void
strbuf_init(struct strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

/* Make room for need more bytes plus the NUL. */
static int
strbuf_grow(struct strbuf *sb, size_t need)
{
	size_t	 cap;
	char	*p;

	if (sb->failed) {
		errno = ENOMEM;
		return (-1);
	}
	if (need < sb->cap - sb->len)
		return (0);
	if (need > SIZE_MAX / 2 - sb->len - 1)
		goto out_fail;
	cap = sb->cap ? sb->cap : STRBUF_MIN;
	while (cap - sb->len <= need)
		cap *= 2;
	if ((p = realloc(sb->buf, cap)) == NULL)
		goto out_fail;
	sb->buf = p;
	sb->cap = cap;
	sb->buf[sb->len] = '\0';
	return (0);
out_fail:
	sb->failed = true;
	errno = ENOMEM;
	return (-1);
}

int
strbuf_add(struct strbuf *sb, const char *s, size_t len)
{
	if (strbuf_grow(sb, len) == -1)
		return (-1);
	memcpy(sb->buf + sb->len, s, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return (0);
}

int
strbuf_hex(struct strbuf *sb, const void *p, size_t len)
{
	static const char	 digits[] = "0123456789abcdef";
	const unsigned char	*b = p;
	size_t			 i;

	if (strbuf_grow(sb, 2 * len) == -1)
		return (-1);
	for (i = 0; i < len; i++) {
		sb->buf[sb->len++] = digits[b[i] >> 4];
		sb->buf[sb->len++] = digits[b[i] & 0xf];
	}
	sb->buf[sb->len] = '\0';
	return (0);
}

int
strbuf_puts(struct strbuf *sb, const char *s)
{
	return (strbuf_add(sb, s, strlen(s)));
}

int
strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (strbuf_grow(sb, 0) == -1)
		return (-1);
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->failed = true;
		errno = EINVAL;
		return (-1);
	}
	if ((size_t)n >= sb->cap - sb->len) {
		if (strbuf_grow(sb, (size_t)n) == -1)
			return (-1);
		va_start(ap, fmt);
		n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
	return (0);
}

void
strbuf_drop(struct strbuf *sb, size_t n)
{
	if (n == 0)
		return;
	memmove(sb->buf, sb->buf + n, sb->len - n);
	sb->len -= n;
	sb->buf[sb->len] = '\0';
}

char *
strbuf_take(struct strbuf *sb, size_t *len)
{
	char	*p;

	if (sb->failed) {
		strbuf_free(sb);
		errno = ENOMEM;
		return (NULL);
	}
	if (sb->buf == NULL && strbuf_grow(sb, 0) == -1) {
		strbuf_free(sb);
		return (NULL);
	}
	p = sb->buf;
	*len = sb->len;
	strbuf_init(sb);
	return (p);
}

void
strbuf_free(struct strbuf *sb)
{
	free(sb->buf);
	strbuf_init(sb);
}
