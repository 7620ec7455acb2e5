/* gwctl.h -- gwctl: what its files share. */
#ifndef GWCTL_H
#define GWCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "strbuf.h"

/* The exit codes of a monitoring plugin. */
enum gwctl_exit { GWCTL_OK, GWCTL_WARNING, GWCTL_CRITICAL, GWCTL_UNKNOWN };

/* GET path from the HTTP server at where ("HOST:PORT", "[::1]:9780")
   within timeout_ms and append the body of a 200 answer to body. Returns
   0, or -1 with a reason in err ("Connection refused", "the server
   answered 404 Not Found", ...). */
int	conn_http_get(const char *where, const char *path, int timeout_ms,
	    struct strbuf *body, char *err, size_t errlen);

/* Connect to the Unix stream socket at path within timeout_ms; the fd is
   non-blocking. Returns it, or -1 with errno set (ETIMEDOUT: the server
   accepted no client in time). */
int	conn_unix(const char *path, int timeout_ms);

/* Send all of buf on fd within timeout_ms. 0, or -1 with errno. */
int	conn_send_all(int fd, const char *buf, size_t len, int timeout_ms);

/* Print the status rows (the tab-separated lines of GET
   /status?format=text: DEVICE LINK STATE PEER SINCE LAST-REASON BYTES-IN
   BYTES-OUT; verbose rows have five fields more: LAST-DETAIL and the last
   words, RECEIVED (hex) SKIPPED SENT (hex) SKIPPED) to out: a one-line
   summary, the table and, when verbose, the last words of every link
   that failed.
   Returns the exit code the rows call for (OK: every link up; WARNING:
   some upstream link down, or no link at all; CRITICAL: some device
   link down), or GWCTL_UNKNOWN, printing nothing, when the rows are not
   a gatewayd's. */
enum gwctl_exit	table_print(const char *rows, bool verbose, FILE *out);

#endif
