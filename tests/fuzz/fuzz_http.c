/* fuzz_http.c -- libFuzzer target: the status server's request handling
   and what it renders. The input is split at NUL bytes into a method, a
   path, a "format" query value, and strings that a peer or a failure can
   put into the status copy (a peer address, a failure's detail); the
   request is routed and every page rendered. Beside the sanitizers'
   findings, it aborts when a route is inconsistent or a page carries a
   control character that would break its format (a raw line break inside
   a JSON string, a NUL anywhere). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "route.h"
#include "strbuf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The next NUL-terminated field of the input, or "" when none is left. */
static const char *
next_field(const char **p, const char *end)
{
	const char	*f = *p;
	size_t		 n;

	if (*p >= end)
		return ("");
	n = strnlen(*p, (size_t)(end - *p));
	*p += n + 1;
	return (f);
}

static void
check_page(const char *body, size_t len, int json)
{
	size_t	i;

	if (memchr(body, '\0', len) != NULL)
		abort();
	/* JSON: one document on one line, ended by a newline. */
	for (i = 0; json && i + 1 < len; i++)
		if ((unsigned char)body[i] < 0x20)
			abort();
	if (len == 0 || body[len - 1] != '\n')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics		 m;
	struct metrics_link	 links[2];
	struct route		 r;
	struct strbuf		 sb;
	char			*in, *body;
	const char		*p, *end, *method, *path, *format, *peer, *detail;
	size_t			 len;
	int			 i;

	/* NUL-terminated, so that the last field is a string too. */
	if ((in = malloc(size + 1)) == NULL)
		return (0);
	memcpy(in, data, size);
	in[size] = '\0';
	p = in;
	end = in + size;
	method = next_field(&p, end);
	path = next_field(&p, end);
	format = next_field(&p, end);
	peer = next_field(&p, end);
	detail = next_field(&p, end);

	route_request(method, path, *format != '\0' ? format : NULL, &r);
	if ((r.page == ROUTE_ERROR) != (r.code != 200) ||
	    (r.page == ROUTE_ERROR && (r.error == NULL || r.code < 400)) ||
	    r.ctype == NULL)
		abort();

	memset(links, 0, sizeof(links));
	metrics_init(&m);
	m.links = links;
	m.n_links = m.cap = 2;
	for (i = 0; i < 2; i++) {
		snprintf(links[i].device, sizeof(links[i].device), "d%d", i);
		links[i].snap.kind = i == 0 ? LINK_KIND_DEVICE :
		    LINK_KIND_UPSTREAM;
		links[i].snap.state = LINK_UP;
		snprintf(links[i].snap.peer, sizeof(links[i].snap.peer), "%s",
		    peer);
		snprintf(links[i].snap.last_detail,
		    sizeof(links[i].snap.last_detail), "%s", detail);
		links[i].snap.last_reason = WD_PEER_RESET;
		links[i].snap.failures[WD_PEER_RESET] = (uint64_t)size;
	}
	for (i = 0; i < 3; i++) {
		strbuf_init(&sb);
		if ((i == 0 ? metrics_render_prometheus(&m, "0", &sb) :
		    i == 1 ? metrics_render_json(&m, "0", &sb) :
		    metrics_render_text(&m, false, &sb)) == -1)
			abort();
		if ((body = strbuf_take(&sb, &len)) == NULL)
			abort();
		check_page(body, len, i == 1);
		free(body);
	}
	free(in);
	return (0);
}
