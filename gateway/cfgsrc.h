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

/* Read the file at path, whole (a NUL byte in it is kept). Returns a new
   source, or NULL with errno set: EISDIR, EFBIG (over CFGSRC_FILE_MAX),
   ENOMEM, or what open(2) or read(2) said. */
struct cfgsrc	*cfgsrc_open(const char *path);

/* The text, followed by a NUL; *len is its length without that NUL. */
const char	*cfgsrc_text(const struct cfgsrc *, size_t *len);

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
