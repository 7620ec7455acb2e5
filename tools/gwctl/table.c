/* table.c -- gwctl's status table: the summary line of a monitoring
   plugin, one row per link, and the last words of the links that failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwctl.h"

#define NCOL		8	/* DEVICE .. BYTES-OUT */
#define NCOL_VERBOSE	13	/* .. LAST-DETAIL, RECEIVED SKIPPED SENT SKIPPED */
#define NAMES_MAX	10	/* links the summary names */

static const char *const heads[NCOL] = {
	"DEVICE", "LINK", "STATE", "PEER", "SINCE", "LAST-REASON", "BYTES-IN",
	"BYTES-OUT"
};

struct row {
	char	*f[NCOL_VERBOSE];
};

static int	split_rows(char *, int, struct row **, size_t *);
static void	print_words(FILE *, const char *, const char *,
		    const char *);

/* Cut text into rows of exactly ncol tab-separated fields; empty lines
   are skipped. Returns 0, or -1 when a line has another count (or out of
   memory). */
static int
split_rows(char *text, int ncol, struct row **rows, size_t *n)
{
	struct row	*r, *grown;
	size_t		 cap = 0;
	char		*line, *save, *p;
	int		 c;

	*rows = NULL;
	*n = 0;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (*line == '\0')
			continue;
		if (*n == cap) {
			cap = cap > 0 ? cap * 2 : 16;
			if ((grown = reallocarray(*rows, cap, sizeof(**rows))) ==
			    NULL)
				return (-1);
			*rows = grown;
		}
		r = &(*rows)[(*n)++];
		for (c = 0, p = line; c < ncol; c++) {
			r->f[c] = p;
			if ((p = strchr(p, '\t')) == NULL)
				break;
			*p++ = '\0';
		}
		if (c != ncol - 1 || p != NULL)
			return (-1);
	}
	return (0);
}

/* One side of a link's last words: hex, then the printable ASCII, and
   the bytes that passed zero-copy after them, unseen. */
static void
print_words(FILE *out, const char *what, const char *hex, const char *skipped)
{
	size_t		i, len = strlen(hex);
	unsigned	b;

	fprintf(out, "  last %s:", what);
	if (strcmp(hex, "-") == 0 || len == 0)
		fprintf(out, " nothing");
	else {
		fprintf(out, " %s  |", hex);
		for (i = 0; i + 1 < len; i += 2) {
			if (sscanf(hex + i, "%2x", &b) != 1)
				break;
			fputc(b >= 0x20 && b < 0x7f ? (int)b : '.', out);
		}
		fprintf(out, "|");
	}
	if (strcmp(skipped, "0") != 0)
		fprintf(out, ", then %s bytes unseen (zero copy)", skipped);
	fputc('\n', out);
}

enum gwctl_exit
table_print(const char *text, bool verbose, FILE *out)
{
	struct row	*rows;
	enum gwctl_exit	 state;
	size_t		 n, r, down = 0, width[NCOL];
	char		*copy, names[1024] = "";
	const char	*cell;
	bool		 devdown = false;
	int		 c;

	if ((copy = strdup(text)) == NULL)
		return (GWCTL_UNKNOWN);
	if (split_rows(copy, verbose ? NCOL_VERBOSE : NCOL, &rows, &n) == -1) {
		free(rows);
		free(copy);
		return (GWCTL_UNKNOWN);
	}
	for (c = 0; c < NCOL; c++)
		width[c] = strlen(heads[c]);
	for (r = 0; r < n; r++) {
		for (c = 0; c < NCOL; c++)
			if (strlen(rows[r].f[c]) > width[c])
				width[c] = strlen(rows[r].f[c]);
		/* Connecting counts as down: the link carries no data. */
		if (strcmp(rows[r].f[2], "up") == 0)
			continue;
		if (strcmp(rows[r].f[1], "upstream") != 0)
			devdown = true;
		if (++down <= NAMES_MAX)
			snprintf(names + strlen(names), sizeof(names) -
			    strlen(names), "%s%s/%s", down > 1 ? ", " : "",
			    rows[r].f[0], rows[r].f[1]);
	}
	if (down > NAMES_MAX)
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
		    ", and %zu more", down - NAMES_MAX);
	if (n == 0) {
		state = GWCTL_WARNING;
		fprintf(out, "WARNING: no links: no device is configured\n");
	} else if (down == 0) {
		state = GWCTL_OK;
		fprintf(out, "OK: %zu link%s up\n", n, n > 1 ? "s" : "");
	} else {
		state = devdown ? GWCTL_CRITICAL : GWCTL_WARNING;
		fprintf(out, "%s: %zu of %zu links down: %s\n", devdown ?
		    "CRITICAL" : "WARNING", down, n, names);
	}
	for (r = 0; r <= n; r++) {
		for (c = 0; c < NCOL; c++) {
			cell = r == 0 ? heads[c] : rows[r - 1].f[c];
			/* Byte counts right-aligned, the rest left-aligned;
			   no blanks at the end of a line. */
			if (c >= NCOL - 2)
				fprintf(out, "%s%*s", c > 0 ? "  " : "",
				    (int)width[c], cell);
			else
				fprintf(out, "%s%-*s", c > 0 ? "  " : "",
				    (int)width[c], cell);
		}
		fputc('\n', out);
	}
	for (r = 0; verbose && r < n; r++) {
		if (strcmp(rows[r].f[5], "-") == 0)
			continue;
		fprintf(out, "\n%s/%s: last failure %s (%s)\n", rows[r].f[0],
		    rows[r].f[1], rows[r].f[5], rows[r].f[8]);
		print_words(out, "received", rows[r].f[9], rows[r].f[10]);
		print_words(out, "sent", rows[r].f[11], rows[r].f[12]);
	}
	free(rows);
	free(copy);
	return (state);
}
