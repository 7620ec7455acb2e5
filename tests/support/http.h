// http.h -- a minimal HTTP/1.1 client for tests, and running a command.
#ifndef GW_TEST_HTTP_H
#define GW_TEST_HTTP_H

#include <string>
#include <vector>

struct HttpReply {
	int status = -1;	// -1: no complete reply before the deadline
	std::string headers;	// the raw header block, status line included
	std::string body;
	// The value of header name (case-insensitive), "" when absent.
	std::string header(const std::string &name) const;
};

// Send "METHOD path HTTP/1.1" with "Connection: close" to host:port and read
// the reply to EOF within timeout_ms.
HttpReply http_request(int port, const std::string &method,
    const std::string &path, int timeout_ms = 5000,
    const char *host = "127.0.0.1", const std::string &body = "");

inline HttpReply
http_get(int port, const std::string &path, const char *host = "127.0.0.1")
{
	return http_request(port, "GET", path, 5000, host);
}

// The value of a series of a /metrics page, its name and labels exactly
// as rendered ("name{labels}"); -1 when it is not there.
double	metric(const std::string &page, const std::string &series);

// Run argv[0] (a path) with argv, stdin from stdin_path ("" = /dev/null),
// stdout and stderr into *out; kill it (SIGKILL) when it runs longer than
// timeout_ms. Returns its exit code, 128 + signal, or -1 on timeout or when
// it cannot be started.
int	run_command(const std::vector<std::string> &argv, std::string *out,
	    int timeout_ms, const std::string &stdin_path = "");

// The directory in PATH that holds an executable name, + "/" + name; ""
// when none does.
std::string find_in_path(const std::string &name);

#endif
