/* cfgsrc.h -- the text a configuration was parsed from: where each
   setting stands in it, for what libconfig does not keep. */
#ifndef GW_CFGSRC_H
#define GW_CFGSRC_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CFGSRC_FILE_MAX	(16 * 1024 * 1024)	/* no config is larger */

struct cfgsrc;

/* Read the file at path, whole (a NUL byte in it is kept); with
   regular_only, only a regular file, opened without waiting (a FIFO
   without a writer never blocks). Returns a new source, or NULL with errno
   set: EISDIR, EINVAL (not a regular file, with regular_only), EFBIG (over
   CFGSRC_FILE_MAX), ENOMEM, or what open(2) or read(2) said. */
struct cfgsrc	*cfgsrc_open(const char *path, bool regular_only);

/* The text, followed by a NUL; *len is its length without that NUL. */
const char	*cfgsrc_text(const struct cfgsrc *, size_t *len);

/* Where an @include names a file that cannot be included. */
struct cfgsrc_bad {
	const char	*file;	/* the including text's path; NULL: the main */
	int		 line;	/* of the @include */
	const char	*name;	/* the file named; NULL if out of memory */
};

/* Check every file that the text @includes, and what those include in
   turn, before libconfig opens them itself: libconfig 1.5 ends the process
   on a file it cannot read (a directory) and waits for good on a FIFO
   without a writer. Each must be a regular file that can be read; each is
   read here, once, for cfgsrc_bind() too. Files are named as libconfig
   opens them (relative to the working directory). Returns 0, or -1 with
   bad set and errno: EISDIR, EINVAL (not a regular file), ENOMEM, or what
   open(2) or read(2) said. */
int	cfgsrc_includes(struct cfgsrc *, struct cfgsrc_bad *bad);

/* Pair every named setting of root's tree, which libconfig parsed from
   this text with config_read_string(), with the place where it is
   written: in this text or in an @include'd file, which is read here
   (a regular file only). A setting whose place cannot be told is left
   unpaired. Uses the settings' hooks. Returns 0, or -1 with errno ENOMEM
   (some settings left unpaired). */
int	cfgsrc_bind(struct cfgsrc *, config_setting_t *root);

/* The integer literal that s, a setting of a tree bound to a source still
   open, is written as: returns 0 with *v its value and text its spelling
   (cut to fit len, with "..."). A literal beyond a long long gives *v
   LLONG_MIN or LLONG_MAX and *clamped true. Returns -1 with errno ENOENT
   when s is unpaired or not written as an integer literal. */
int	cfgsrc_int(const config_setting_t *s, long long *v, bool *clamped,
	    char *text, size_t len);

/* Free the source and every included text it read. NULL does nothing. */
void	cfgsrc_close(struct cfgsrc *);

#ifdef __cplusplus
}
#endif

#endif
