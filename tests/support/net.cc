// net.cc -- loopback socket helpers for tests; every wait has a deadline.
#include "net.h"

#include "clock.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

static bool
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - clock_ms();
		if (left <= 0)
			return false;
		struct pollfd p = { fd, events, 0 };
		int rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return true;
		if (rc == -1 && errno != EINTR)
			return false;
	}
}

static bool
fill_sockaddr(const char *host, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	auto *s4 = (struct sockaddr_in *)ss;
	auto *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return true;
	}
	// An IPv6 address may name its scope: "fe80::1%lo", "fe80::1%1".
	std::string a = host;
	size_t pct = a.find('%');
	unsigned scope = 0;
	if (pct != std::string::npos) {
		const char *z = host + pct + 1;
		if ((scope = if_nametoindex(z)) == 0)
			scope = (unsigned)strtoul(z, nullptr, 10);
		a.resize(pct);
	}
	if (inet_pton(AF_INET6, a.c_str(), &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_scope_id = scope;
		*len = sizeof(*s6);
		return true;
	}
	return false;
}

// A socket bound to host:0, SO_REUSEADDR when reuse; *port gets its port.
static int
bind_any(int *port, const char *host, bool reuse)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	if (!fill_sockaddr(host, 0, &ss, &len))
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (reuse)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return -1;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*port = ntohs(ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

int
tcp_listen(int *port, const char *host)
{
	int fd = bind_any(port, host, true);

	if (fd != -1 && listen(fd, 16) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
tcp_bound(int *port, const char *host)
{
	// No SO_REUSEADDR: Linux lets sockets that all set it share a port
	// while none of them listens, and the port must stay ours.
	return bind_any(port, host, false);
}

int
free_port()
{
	int port, fd = tcp_listen(&port);

	if (fd == -1)
		return -1;
	close(fd);
	return port;
}

int
tcp_listen_full(int *port, int *filler)
{
	int fd = tcp_bound(port);

	*filler = -1;
	if (fd == -1)
		return -1;
	if (listen(fd, 0) == -1 || (*filler = tcp_connect(*port, 5000)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

// A socket bound to 127.0.0.1:port, SO_REUSEPORT when shared.
static int
bind_loopback(int port, bool shared)
{
	struct sockaddr_in sin;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((shared && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
tcp_listen_on(int port, bool held)
{
	int fd = bind_loopback(port, held);

	if (fd != -1 && listen(fd, 16) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

bool
have_ipv6_loopback()
{
	int port, fd = tcp_listen(&port, "::1");

	if (fd == -1)
		return false;
	close(fd);
	return true;
}

int
tcp_listen_held(int *port, int *hold)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = bind_loopback(0, true);

	*hold = -1;
	if (fd == -1)
		return -1;
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1 ||
	    (*hold = bind_loopback(ntohs(sin.sin_port), true)) == -1 ||
	    listen(fd, 16) == -1) {
		if (*hold != -1)
			close(*hold);
		*hold = -1;
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

int
tcp_accept(int lfd, int timeout_ms)
{
	if (!wait_fd(lfd, POLLIN, clock_ms() + timeout_ms))
		return -1;
	return accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
}

int
tcp_connect(int port, int timeout_ms, const char *host, const char *src)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int64_t deadline = clock_ms() + timeout_ms;

	if (!fill_sockaddr(host, port, &ss, &len))
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	if (src != nullptr) {
		struct sockaddr_storage sa;
		socklen_t salen;
		if (!fill_sockaddr(src, 0, &sa, &salen) ||
		    bind(fd, (struct sockaddr *)&sa, salen) == -1) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == -1 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	int err = 0;
	socklen_t elen = sizeof(err);
	if (!wait_fd(fd, POLLOUT, deadline) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 || err != 0) {
		close(fd);
		return -1;
	}
	// Left non-blocking: every helper below waits with poll().
	return fd;
}

bool
read_exact(int fd, void *buf, size_t n, int timeout_ms)
{
	int64_t deadline = clock_ms() + timeout_ms;
	size_t got = 0;

	while (got < n) {
		ssize_t rc = recv(fd, (char *)buf + got, n - got, MSG_DONTWAIT);
		if (rc > 0) {
			got += (size_t)rc;
			continue;
		}
		if (rc == 0)
			return false;
		if (errno != EAGAIN && errno != EINTR)
			return false;
		if (!wait_fd(fd, POLLIN, deadline))
			return false;
	}
	return true;
}

bool
write_all(int fd, const void *buf, size_t n, int timeout_ms)
{
	int64_t deadline = clock_ms() + timeout_ms;
	size_t done = 0;

	while (done < n) {
		ssize_t rc = send(fd, (const char *)buf + done, n - done,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (rc > 0) {
			done += (size_t)rc;
			continue;
		}
		if (rc == -1 && errno != EAGAIN && errno != EINTR)
			return false;
		if (!wait_fd(fd, POLLOUT, deadline))
			return false;
	}
	return true;
}

bool
roundtrip(int from, int to, const std::string &msg)
{
	std::string got(msg.size(), '\0');

	return write_all(from, msg.data(), msg.size(), 5000) &&
	    read_exact(to, got.data(), got.size(), 5000) && got == msg;
}

int
host_through(int port, int dev, int timeout_ms)
{
	static const char probe[] = "probe\n";
	const size_t n = sizeof(probe) - 1;
	int64_t deadline = clock_ms() + timeout_ms;
	char got[sizeof(probe)];

	while (clock_ms() < deadline) {
		int host = tcp_connect(port, 500);
		if (host == -1 || !write_all(host, probe, n, 500)) {
			if (host != -1)
				close(host);
			std::this_thread::sleep_for(
			    std::chrono::milliseconds(10));
			continue;
		}
		// Either the probe comes out at dev or the gateway closes
		// this host (then the probe is gone with it).
		for (;;) {
			struct pollfd p[2] = { { dev, POLLIN, 0 },
			    { host, POLLIN, 0 } };
			int64_t left = deadline - clock_ms();
			if (left <= 0) {
				close(host);
				return -1;
			}
			int rc = poll(p, 2, (int)left);
			if (rc == -1 && errno != EINTR) {
				close(host);
				return -1;
			}
			if (rc <= 0)
				continue;
			if (p[0].revents != 0) {
				if (read_exact(dev, got, n, 5000) &&
				    memcmp(got, probe, n) == 0)
					return host;
				close(host);
				return -1;	// dev closed, or other bytes
			}
			if (p[1].revents != 0) {
				close(host);
				break;		// closed: try again
			}
		}
	}
	return -1;
}

bool
wait_closed(int fd, int timeout_ms)
{
	int64_t deadline = clock_ms() + timeout_ms;
	char buf[4096];

	for (;;) {
		ssize_t rc = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (rc == 0)
			return true;
		if (rc == -1 && errno != EAGAIN && errno != EINTR)
			return true;	// RST counts as closed
		if (rc > 0)
			continue;
		if (!wait_fd(fd, POLLIN, deadline))
			return false;
	}
}

bool
stays_quiet(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int64_t deadline = clock_ms() + ms;

	for (;;) {
		int64_t left = deadline - clock_ms();
		if (left <= 0)
			return true;
		int rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return false;
		if (rc == -1 && errno != EINTR)
			return false;
	}
}

bool
eventually(const std::function<bool()> &cond, int timeout_ms)
{
	int64_t deadline = clock_ms() + timeout_ms;

	for (;;) {
		if (cond())
			return true;
		if (clock_ms() >= deadline)
			return false;
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
}

void
close_reset(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

void
fill_random(uint8_t *buf, size_t n, uint64_t seed)
{
	uint64_t x = seed ? seed : 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)(x >> 24);
	}
}

uint64_t
fnv1a(const uint8_t *buf, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= buf[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int
unix_connect(const std::string &path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path.size() >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path.c_str(), path.size() + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

std::string
unix_request(const std::string &path, const std::string &line, int timeout_ms,
    bool end)
{
	int64_t deadline = clock_ms() + timeout_ms;
	std::string out;
	char buf[4096];
	int fd = unix_connect(path);

	if (fd == -1)
		return "";
	if (!write_all(fd, line.data(), line.size(), timeout_ms)) {
		close(fd);
		return "";
	}
	if (end)
		shutdown(fd, SHUT_WR);
	while (wait_fd(fd, POLLIN, deadline)) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0)
			out.append(buf, (size_t)n);
		else if (n == 0 || errno != EINTR)
			break;
	}
	close(fd);
	return out;
}
