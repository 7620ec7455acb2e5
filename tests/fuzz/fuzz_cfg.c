/* fuzz_cfg.c -- libFuzzer target: arbitrary bytes as a configuration file,
   through the whole loader (cfg_load). Beside the sanitizers' findings,
   it aborts when the loader contradicts itself: a result without a
   config or the reverse, or a parsed integer whose literal its own
   scanner cannot find (the scanner and libconfig's disagree). */

#include <sys/mman.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
const char	*__lsan_default_suppressions(void);
static bool	 fuzz_lost_literal(const char *, const char *);

/* libconfig 1.5, as Debian 12 ships it, never frees a string token at
   which it stops with a syntax error (its issue #142, fixed in 1.7.3):
   '"x"' alone leaks the 64 bytes of its strbuf_append(), '""' the one
   byte its scanner allocates for an empty string. Not ours to fix; every
   other leak still fails the run. */
const char *
__lsan_default_suppressions(void)
{
	return ("leak:strbuf_append\nleak:libconfig_yylex\n");
}

/* Whether the loader said it found no literal for a parsed integer, in a
   message about a setting of path. Only the message's own words count,
   not a quoted value, which may hold any text: "PATH:LINE: SETTING:
   cannot check the range: ...", where SETTING holds no space. */
static bool
fuzz_lost_literal(const char *msgs, const char *path)
{
	static const char	 what[] = ": cannot check the range: ";
	const char		*l, *end, *p;
	size_t			 plen = strlen(path);

	for (l = msgs; *l != '\0'; l = *end != '\0' ? end + 1 : end) {
		end = l + strcspn(l, "\n");
		if (strncmp(l, path, plen) != 0 || l[plen] != ':')
			continue;
		p = l + plen + 1;
		p += strspn(p, "0123456789");
		if (strncmp(p, ": ", 2) != 0)
			continue;
		p += 2 + strcspn(p + 2, " \n");
		if (p < end && strncmp(p - 1, what, sizeof(what) - 1) == 0)
			return (true);
	}
	return (false);
}

/* The input as a file: a memfd, reached by its /proc path, closed after
   each run. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg	*c = NULL;
	char		 path[64], *msgs = NULL;
	size_t		 len = 0, off = 0;
	ssize_t		 n;
	FILE		*err;
	int		 fd, rc;

	if ((fd = memfd_create("fuzz_cfg", MFD_CLOEXEC)) == -1) {
		perror("memfd_create");
		abort();
	}
	while (off < size) {
		if ((n = write(fd, data + off, size - off)) <= 0) {
			perror("write");
			abort();
		}
		off += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((err = open_memstream(&msgs, &len)) == NULL) {
		perror("open_memstream");
		abort();
	}
	rc = cfg_load(path, &c, err);
	fclose(err);
	if ((rc == 0) != (c != NULL)) {
		fprintf(stderr, "cfg_load returned %d with config %p\n", rc,
		    (void *)c);
		abort();
	}
	/* An @include'd path may be anything (a device, a FIFO) that can
	   rightly not be read back: only check inputs without one. */
	if (fuzz_lost_literal(msgs, path) &&
	    memmem(data, size, "@include", 8) == NULL) {
		fprintf(stderr, "the loader cannot find a literal:\n%s", msgs);
		abort();
	}
	cfg_free(c);
	free(msgs);
	close(fd);
	return (0);
}
