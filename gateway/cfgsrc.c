/* cfgsrc.c -- the text a configuration was parsed from: where each
   setting stands in it, for what libconfig does not keep.

   libconfig 1.5 stores an integer literal that does not fit an int wrapped
   modulo 2^32 without complaint ("idle_s = 4294967298;" loads as 2), and
   keeps no trace of the text. This module scans the text again the way
   libconfig's scanner does (comments of three kinds, strings, @include
   lines, flex's longest match on numbers), records each "name =" with the
   literal after it, and pairs the records with the parsed settings in
   document order, checking name and line. The literal is then found
   wherever it stands: on a later line, behind comments, in an included
   file. */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfgsrc.h"

/* One "name =" of a text. */
struct cfgsrc_def {
	const char	*name;		/* in the text, namelen bytes */
	size_t		 namelen;
	unsigned int	 line;
	const char	*lit;		/* the integer literal after "=" */
	size_t		 litlen;
};

/* A text and its definitions, in the order written. */
struct cfgsrc_file {
	char			*path;	/* NULL: the main text */
	char			*text;
	size_t			 len;
	struct cfgsrc_def	*defs;
	size_t			 n_defs, cap_defs;
	size_t			 next;	/* the next one to pair */
	bool			 lost;	/* unreadable, or out of step */
	int			 depth;	/* its @includes checked this deep */
};

struct cfgsrc {
	struct cfgsrc_file	*files;	/* [0]: the main text */
	size_t			 n_files, cap_files;
};

enum cfgsrc_kind {
	CFGSRC_END, CFGSRC_NAME, CFGSRC_EQUALS, CFGSRC_INT, CFGSRC_INCLUDE,
	CFGSRC_OTHER
};

#define CFGSRC_INCLUDE_DEPTH	10	/* libconfig's own bound */

struct cfgsrc_tok {
	enum cfgsrc_kind	 kind;
	const char		*p;
	size_t			 len;
	int			 line;
};

/* A scan in progress. */
struct cfgsrc_lex {
	const char	*start, *p, *end;
	int		 line;
};

static int	cfgsrc_read(const char *, bool, struct cfgsrc_file *);
static size_t	cfgsrc_digits(const char *, const char *, bool);
static size_t	cfgsrc_exponent(const char *, const char *);
static size_t	cfgsrc_number(const char *, const char *, bool *);
static void	cfgsrc_skip(struct cfgsrc_lex *, const char *);
static size_t	cfgsrc_include(const struct cfgsrc_lex *);
static void	cfgsrc_next(struct cfgsrc_lex *, struct cfgsrc_tok *);
static int	cfgsrc_add_def(struct cfgsrc_file *,
		    const struct cfgsrc_tok *, const struct cfgsrc_tok *);
static int	cfgsrc_scan(struct cfgsrc_file *);
static struct cfgsrc_file *cfgsrc_file_of(struct cfgsrc *, const char *);
static int	cfgsrc_pair(struct cfgsrc *, config_setting_t *);
static void	cfgsrc_file_free(struct cfgsrc_file *);

/* Read path whole into f->text (NUL-terminated). Returns 0, or -1 with
   errno set; with regular_only, anything but a regular file is EINVAL. */
static int
cfgsrc_read(const char *path, bool regular_only, struct cfgsrc_file *f)
{
	struct stat	 st;
	size_t		 cap, len = 0;
	ssize_t		 n;
	char		*buf = NULL, *nbuf;
	int		 fd, saved_errno;

	/* O_NONBLOCK: a FIFO that libconfig has drained must not block. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC |
	    (regular_only ? O_NONBLOCK : 0))) == -1)
		return (-1);
	if (fstat(fd, &st) == -1)
		goto out_close;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto out_close;
	}
	if (regular_only && !S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out_close;
	}
	if (st.st_size > CFGSRC_FILE_MAX) {
		errno = EFBIG;
		goto out_close;
	}
	/* The size is a hint: a pipe has none, a file may grow. */
	cap = (size_t)st.st_size + 1 < 4096 ? 4096 : (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL)
		goto out_close;
	for (;;) {
		if (len + 1 == cap) {
			if (len > CFGSRC_FILE_MAX) {
				errno = EFBIG;
				goto out_free;
			}
			if ((nbuf = realloc(buf, cap * 2)) == NULL)
				goto out_free;
			buf = nbuf;
			cap *= 2;
		}
		if ((n = read(fd, buf + len, cap - len - 1)) == -1) {
			if (errno == EINTR)
				continue;
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CFGSRC_FILE_MAX) {
		errno = EFBIG;
		goto out_free;
	}
	close(fd);
	buf[len] = '\0';
	f->text = buf;
	f->len = len;
	return (0);
out_free:
	saved_errno = errno;
	free(buf);
	errno = saved_errno;
out_close:
	saved_errno = errno;
	close(fd);
	errno = saved_errno;
	return (-1);
}

/* The length of the run of decimal (or hex) digits at p. */
static size_t
cfgsrc_digits(const char *p, const char *end, bool hex)
{
	const char	*q;

	for (q = p; q < end && ((*q >= '0' && *q <= '9') || (hex &&
	    ((*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F')))); q++)
		;
	return ((size_t)(q - p));
}

/* The length of an exponent [eE][-+]?[0-9]+ at p, or 0. */
static size_t
cfgsrc_exponent(const char *p, const char *end)
{
	const char	*q = p;
	size_t		 n;

	if (q >= end || (*q != 'e' && *q != 'E'))
		return (0);
	q++;
	if (q < end && (*q == '-' || *q == '+'))
		q++;
	if ((n = cfgsrc_digits(q, end, false)) == 0)
		return (0);
	return ((size_t)(q - p) + n);
}

/* The longest number token at p, as flex picks it among libconfig's
   float, integer, integer64, hex and hex64 patterns; *integer tells
   whether it is one of the integer ones. 0 when none matches. */
static size_t
cfgsrc_number(const char *p, const char *end, bool *integer)
{
	const char	*q = p;
	size_t		 d, n, flt = 0, num = 0;

	if (q < end && (*q == '-' || *q == '+'))
		q++;
	d = cfgsrc_digits(q, end, false);
	/* float: [-+]?[0-9]*\.[0-9]*(exp)? or [-+]?[0-9]+(\.[0-9]*)?exp */
	if (q + d < end && q[d] == '.') {
		n = (size_t)(q - p) + d + 1;
		n += cfgsrc_digits(p + n, end, false);
		flt = n + cfgsrc_exponent(p + n, end);
	} else if (d > 0 && (n = cfgsrc_exponent(q + d, end)) > 0)
		flt = (size_t)(q - p) + d + n;
	/* integer and integer64: [-+]?[0-9]+L?L? */
	if (d > 0)
		num = (size_t)(q - p) + d;
	/* hex and hex64: 0[Xx][0-9A-Fa-f]+L?L?, never signed */
	if (q == p && end - p > 2 && p[0] == '0' && (p[1] == 'x' ||
	    p[1] == 'X') && (n = cfgsrc_digits(p + 2, end, true)) > 0)
		num = 2 + n;
	if (num > 0 && p + num < end && p[num] == 'L') {
		num++;
		if (p + num < end && p[num] == 'L')
			num++;
	}
	/* No tie is possible: a float holds a '.' or an exponent. */
	*integer = num > flt;
	return (num > flt ? num : flt);
}

/* Move lx over [lx->p, to), counting lines. */
static void
cfgsrc_skip(struct cfgsrc_lex *lx, const char *to)
{
	for (; lx->p < to; lx->p++)
		lx->line += *lx->p == '\n';
}

/* The length of "^[ \t]*@include[ \t]+\"" at lx->p, or 0. */
static size_t
cfgsrc_include(const struct cfgsrc_lex *lx)
{
	const char	*q = lx->p;
	size_t		 n;

	if (q != lx->start && q[-1] != '\n')
		return (0);
	q += strspn(q, " \t");
	if ((size_t)(lx->end - q) < 8 || memcmp(q, "@include", 8) != 0)
		return (0);
	q += 8;
	if ((n = strspn(q, " \t")) == 0 || q[n] != '"')
		return (0);
	return ((size_t)(q + n + 1 - lx->p));
}

/* The next token at lx->p, past white space and comments. Strings,
   booleans, floats, punctuation and garbage are all CFGSRC_OTHER. An
   @include line is CFGSRC_INCLUDE, the file's name as written between
   the quotes. */
static void
cfgsrc_next(struct cfgsrc_lex *lx, struct cfgsrc_tok *t)
{
	const char	*p, *q;
	size_t		 n;
	bool		 integer;

	for (;;) {
		p = lx->p;
		if (p >= lx->end) {
			t->kind = CFGSRC_END;
			t->p = p;
			t->len = 0;
			t->line = lx->line;
			return;
		}
		if ((n = cfgsrc_include(lx)) > 0) {
			/* The file's name: up to an unescaped quote. */
			for (q = p + n; q < lx->end && *q != '"'; q++)
				if (*q == '\\' && q + 1 < lx->end &&
				    (q[1] == '"' || q[1] == '\\'))
					q++;
			t->kind = CFGSRC_INCLUDE;
			t->p = p + n;
			t->len = (size_t)(q - t->p);
			t->line = lx->line;
			cfgsrc_skip(lx, q < lx->end ? q + 1 : q);
			return;
		} else if (*p == ' ' || *p == '\t' || *p == '\n' ||
		    *p == '\r' || *p == '\f')
			cfgsrc_skip(lx, p + 1);
		else if (*p == '#' || (*p == '/' && p + 1 < lx->end &&
		    p[1] == '/'))
			cfgsrc_skip(lx, p + strcspn(p, "\n"));
		else if (*p == '/' && p + 1 < lx->end && p[1] == '*') {
			q = memmem(p + 2, (size_t)(lx->end - p - 2), "*/", 2);
			cfgsrc_skip(lx, q != NULL ? q + 2 : lx->end);
		} else
			break;
	}
	t->p = p;
	t->line = lx->line;
	t->kind = CFGSRC_OTHER;
	if (*p == '"') {
		for (q = p + 1; q < lx->end && *q != '"'; q++)
			if (*q == '\\' && q + 1 < lx->end &&
			    (q[1] == '"' || q[1] == '\\'))
				q++;
		q = q < lx->end ? q + 1 : q;
	} else if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
	    *p == '*') {
		for (q = p + 1; q < lx->end && ((*q >= 'A' && *q <= 'Z') ||
		    (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
		    *q == '-' || *q == '_' || *q == '*'); q++)
			;
		/* flex prefers the earlier rule on a tie: true, false. */
		if (!((q - p == 4 && strncasecmp(p, "true", 4) == 0) ||
		    (q - p == 5 && strncasecmp(p, "false", 5) == 0)))
			t->kind = CFGSRC_NAME;
	} else if ((n = cfgsrc_number(p, lx->end, &integer)) > 0) {
		q = p + n;
		if (integer)
			t->kind = CFGSRC_INT;
	} else {
		if (*p == '=' || *p == ':')
			t->kind = CFGSRC_EQUALS;
		q = p + 1;
	}
	cfgsrc_skip(lx, q);
	t->len = (size_t)(q - p);
}

/* Record the setting named by name; lit is the token after its "=". */
static int
cfgsrc_add_def(struct cfgsrc_file *f, const struct cfgsrc_tok *name,
    const struct cfgsrc_tok *lit)
{
	struct cfgsrc_def	*d;
	size_t			 cap;

	if (f->n_defs == f->cap_defs) {
		cap = f->cap_defs > 0 ? f->cap_defs * 2 : 64;
		if ((d = reallocarray(f->defs, cap, sizeof(*d))) == NULL)
			return (-1);
		f->defs = d;
		f->cap_defs = cap;
	}
	d = &f->defs[f->n_defs++];
	d->name = name->p;
	d->namelen = name->len;
	d->line = (unsigned int)name->line;
	d->lit = lit->kind == CFGSRC_INT ? lit->p : NULL;
	d->litlen = lit->kind == CFGSRC_INT ? lit->len : 0;
	return (0);
}

/* Record every "name =" of f's text, in order. Returns 0, or -1 (ENOMEM). */
static int
cfgsrc_scan(struct cfgsrc_file *f)
{
	struct cfgsrc_lex	lx;
	struct cfgsrc_tok	name, t;

	lx.start = lx.p = f->text;
	lx.end = f->text + f->len;
	lx.line = 1;
	for (cfgsrc_next(&lx, &t); t.kind != CFGSRC_END; ) {
		if (t.kind != CFGSRC_NAME) {
			cfgsrc_next(&lx, &t);
			continue;
		}
		name = t;
		cfgsrc_next(&lx, &t);
		if (t.kind != CFGSRC_EQUALS)
			continue;	/* not a setting: look at t again */
		cfgsrc_next(&lx, &t);
		if (cfgsrc_add_def(f, &name, &t) == -1)
			return (-1);
	}
	return (0);
}

/* The record of the included file path, found or made: a new one is read
   (a regular file only) and scanned. Returns its index; or -1, with errno
   ENOMEM when it cannot be recorded, else what reading it said, the file
   recorded as lost at index *fi. */
static ssize_t
cfgsrc_add(struct cfgsrc *src, const char *path, size_t *fi)
{
	struct cfgsrc_file	*f;
	size_t			 i, cap;

	for (i = 1; i < src->n_files; i++)
		if (strcmp(src->files[i].path, path) == 0)
			return ((ssize_t)i);
	if (src->n_files == src->cap_files) {
		cap = src->cap_files * 2;
		if ((f = reallocarray(src->files, cap, sizeof(*f))) == NULL)
			return (-1);
		src->files = f;
		src->cap_files = cap;
	}
	f = &src->files[src->n_files];
	memset(f, 0, sizeof(*f));
	f->depth = INT_MAX;
	if ((f->path = strdup(path)) == NULL)
		return (-1);
	*fi = src->n_files++;
	if (cfgsrc_read(path, true, f) == -1) {
		f->lost = true;
		return (-1);
	}
	if (cfgsrc_scan(f) == -1) {
		f->lost = true;
		errno = ENOMEM;
		return (-1);
	}
	return ((ssize_t)*fi);
}

/* The text that settings of file (NULL: the main text) come from, read
   and scanned on first use. NULL (ENOMEM) when it cannot be recorded. */
static struct cfgsrc_file *
cfgsrc_file_of(struct cfgsrc *src, const char *file)
{
	ssize_t	i;
	size_t	lost;

	if (file == NULL)
		return (&src->files[0]);
	/* libconfig has read it already: if it cannot be read again as it
	   was (gone, or not a regular file), its settings stay unpaired. */
	if ((i = cfgsrc_add(src, file, &lost)) == -1) {
		if (errno == ENOMEM)
			return (NULL);
		return (&src->files[lost]);
	}
	return (&src->files[i]);
}

/* The file's name of an @include, unescaped as libconfig's scanner does
   it there (\\ and \" only). NULL (ENOMEM) when it cannot be stored. */
static char *
cfgsrc_unquote(const char *p, size_t len)
{
	char	*name, *q;
	size_t	 i;

	if ((name = malloc(len + 1)) == NULL)
		return (NULL);
	for (i = 0, q = name; i < len; i++) {
		if (p[i] == '\\' && i + 1 < len &&
		    (p[i + 1] == '"' || p[i + 1] == '\\'))
			i++;
		*q++ = p[i];
	}
	*q = '\0';
	return (name);
}

/* Check what the text at index fi, depth includes deep, @includes, and
   what that includes in turn. A bad include sets bad and ends the walk. */
static int
cfgsrc_walk(struct cfgsrc *src, size_t fi, int depth, struct cfgsrc_bad *bad)
{
	struct cfgsrc_lex	lx;
	struct cfgsrc_tok	t;
	char			*name;
	ssize_t			 i;
	size_t			 lost;

	if (depth >= CFGSRC_INCLUDE_DEPTH || depth >= src->files[fi].depth)
		return (0);
	src->files[fi].depth = depth;
	lx.start = lx.p = src->files[fi].text;
	lx.end = lx.start + src->files[fi].len;
	lx.line = 1;
	for (cfgsrc_next(&lx, &t); t.kind != CFGSRC_END; cfgsrc_next(&lx, &t)) {
		if (t.kind != CFGSRC_INCLUDE)
			continue;
		if ((name = cfgsrc_unquote(t.p, t.len)) == NULL)
			return (-1);
		lost = SIZE_MAX;
		i = cfgsrc_add(src, name, &lost);
		free(name);
		if (i == -1) {
			bad->file = src->files[fi].path;
			bad->line = t.line;
			bad->name = lost != SIZE_MAX ?
			    src->files[lost].path : NULL;
			return (-1);
		}
		if (cfgsrc_walk(src, (size_t)i, depth + 1, bad) == -1)
			return (-1);
	}
	return (0);
}

int
cfgsrc_includes(struct cfgsrc *src, struct cfgsrc_bad *bad)
{
	memset(bad, 0, sizeof(*bad));
	return (cfgsrc_walk(src, 0, 0, bad));
}

/* Pair the named settings under s, in document order: the order of
   libconfig's tree, where an included file's settings stand in place of
   the @include line. */
static int
cfgsrc_pair(struct cfgsrc *src, config_setting_t *s)
{
	config_setting_t	*e;
	struct cfgsrc_file	*f;
	struct cfgsrc_def	*d;
	const char		*name;
	int			 i, n = config_setting_length(s);

	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if ((name = config_setting_name(e)) != NULL) {
			if ((f = cfgsrc_file_of(src,
			    config_setting_source_file(e))) == NULL)
				return (-1);
			if (f->next >= f->n_defs && f->n_defs > 0)
				f->next = 0;	/* included again */
			if (!f->lost && f->next < f->n_defs) {
				d = &f->defs[f->next++];
				if (d->namelen == strlen(name) &&
				    memcmp(d->name, name, d->namelen) == 0 &&
				    d->line == config_setting_source_line(e))
					config_setting_set_hook(e, d);
				else
					f->lost = true;
			}
		}
		if (config_setting_is_aggregate(e) && cfgsrc_pair(src, e) == -1)
			return (-1);
	}
	return (0);
}

static void
cfgsrc_file_free(struct cfgsrc_file *f)
{
	free(f->path);
	free(f->text);
	free(f->defs);
}

struct cfgsrc *
cfgsrc_open(const char *path, bool regular_only)
{
	struct cfgsrc	*src;
	int		 saved_errno;

	if ((src = calloc(1, sizeof(*src))) == NULL)
		return (NULL);
	if ((src->files = calloc(4, sizeof(*src->files))) == NULL)
		goto out_free;
	src->cap_files = 4;
	src->n_files = 1;
	src->files[0].depth = INT_MAX;
	if (cfgsrc_read(path, regular_only, &src->files[0]) == -1)
		goto out_free;
	return (src);
out_free:
	saved_errno = errno;
	cfgsrc_close(src);
	errno = saved_errno;
	return (NULL);
}

const char *
cfgsrc_text(const struct cfgsrc *src, size_t *len)
{
	*len = src->files[0].len;
	return (src->files[0].text);
}

int
cfgsrc_bind(struct cfgsrc *src, config_setting_t *root)
{
	if (cfgsrc_scan(&src->files[0]) == -1)
		return (-1);
	if (cfgsrc_pair(src, root) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

int
cfgsrc_int(const config_setting_t *s, long long *v, bool *clamped,
    char *text, size_t len)
{
	const struct cfgsrc_def	*d = config_setting_get_hook(s);
	const char		*p, *end;
	unsigned long long	 u = 0, limit;
	unsigned int		 base = 10, dig;
	bool			 neg = false, over = false;

	if (d == NULL || d->lit == NULL) {
		errno = ENOENT;
		return (-1);
	}
	p = d->lit;
	end = p + d->litlen;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (; p < end && *p != 'L'; p++) {
		dig = *p <= '9' ? (unsigned)(*p - '0') :
		    (unsigned)((*p | 0x20) - 'a' + 10);
		if (u > (ULLONG_MAX - dig) / base)
			over = true;
		else
			u = u * base + dig;
	}
	limit = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	*clamped = over || u > limit;
	if (*clamped)
		*v = neg ? LLONG_MIN : LLONG_MAX;
	else if (neg)
		*v = u == limit ? LLONG_MIN : -(long long)u;
	else
		*v = (long long)u;
	if (len > 0 && d->litlen < len)
		snprintf(text, len, "%.*s", (int)d->litlen, d->lit);
	else if (len > 3)
		snprintf(text, len, "%.*s...", (int)(len - 4), d->lit);
	else if (len > 0)
		text[0] = '\0';
	return (0);
}

void
cfgsrc_close(struct cfgsrc *src)
{
	size_t	i;

	if (src == NULL)
		return;
	for (i = 0; i < src->n_files; i++)
		cfgsrc_file_free(&src->files[i]);
	free(src->files);
	free(src);
}
