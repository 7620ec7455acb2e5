/* route.c -- what the status server answers to a request line. */
#include <string.h>

#include "route.h"

#define CT_PROMETHEUS	"text/plain; version=0.0.4; charset=utf-8"
#define CT_JSON		"application/json"
#define CT_TEXT		"text/plain; charset=utf-8"

static void
route_error(struct route *out, int code, const char *text)
{
	out->page = ROUTE_ERROR;
	out->code = code;
	out->ctype = CT_TEXT;
	out->error = text;
}

void
route_request(const char *method, const char *path, const char *format,
    struct route *out)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		route_error(out, 405, "method not allowed: use GET\n");
		out->allow = 1;
		return;
	}
	out->code = 200;
	if (strcmp(path, "/metrics") == 0) {
		out->page = ROUTE_METRICS;
		out->ctype = CT_PROMETHEUS;
	} else if (strcmp(path, "/status") != 0)
		route_error(out, 404, "not found: try /metrics or /status\n");
	else if (format == NULL || strcmp(format, "json") == 0) {
		out->page = ROUTE_JSON;
		out->ctype = CT_JSON;
	} else if (strcmp(format, "text") == 0) {
		out->page = ROUTE_TEXT;
		out->ctype = CT_TEXT;
	} else
		route_error(out, 400, "unknown format: want json or text\n");
}
