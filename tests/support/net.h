// net.h -- loopback socket helpers for tests; every wait has a deadline.
#ifndef GW_TEST_NET_H
#define GW_TEST_NET_H

#include <stddef.h>
#include <stdint.h>

#include <functional>
#include <string>

// A listening socket on host:0 (127.0.0.1 unless said); *port gets the port.
int	tcp_listen(int *port, const char *host = "127.0.0.1");

// True when a socket can listen on ::1 here: a test that needs the IPv6
// loopback skips where there is none (a container without IPv6, say).
bool	have_ipv6_loopback();

// A port free on 127.0.0.1 just now (a listener's, closed), for a
// configuration that must name it; -1 when none could be had.
int	free_port();

// A device that goes away and comes back on its port: a listening socket
// on 127.0.0.1:0 (*port gets the port), and in *hold a socket bound to the
// same port (SO_REUSEPORT) that does not listen. While hold is open the
// port stays ours: with the listening socket closed, connects are refused,
// and tcp_listen_on(port, true) listens on it again.
int	tcp_listen_held(int *port, int *hold);

// A socket bound to host:0 (127.0.0.1 unless said) that does not listen:
// *port gets a port that stays taken while it is open, where connects are
// refused (until listen() on it makes it a listening socket).
int	tcp_bound(int *port, const char *host = "127.0.0.1");

// A listener on 127.0.0.1:0 (*port gets the port) whose accept queue is
// full (backlog 0, one connection queued: *filler): the SYNs of a dial to
// it are dropped until the test accepts the filler, and the kernel sends
// the next one 1 s after the first. Returns its fd, or -1.
int	tcp_listen_full(int *port, int *filler);

// A listening socket on 127.0.0.1:port (a device coming back on its port);
// held: beside the hold of tcp_listen_held().
int	tcp_listen_on(int port, bool held = false);

// Accept one client within timeout_ms; -1 on timeout or error.
int	tcp_accept(int lfd, int timeout_ms);

// Connect to host:port (optionally from source address src) within
// timeout_ms; -1 on failure.
int	tcp_connect(int port, int timeout_ms, const char *host = "127.0.0.1",
	    const char *src = nullptr);

// Read exactly n bytes before the deadline; false on EOF, error or timeout.
bool	read_exact(int fd, void *buf, size_t n, int timeout_ms);

// Write all n bytes before the deadline (MSG_NOSIGNAL).
bool	write_all(int fd, const void *buf, size_t n, int timeout_ms);

// Send msg on from and read it back, the same, on to, within 5 s.
bool	roundtrip(int from, int to, const std::string &msg);

// A host connection to port on 127.0.0.1 whose bytes reach dev, the
// device's end of a relay whose device link may not be up yet (a gateway
// with on_device_down = "close" closes such a host at once): it connects
// again until a probe sent on one arrives whole on dev, and reads it
// there. Nothing else may come to dev or to the host meanwhile. The
// host's fd, or -1 when none got through within timeout_ms.
int	host_through(int port, int dev, int timeout_ms);

// True when the peer's FIN or RST arrives (recv returns 0 or an error)
// within timeout_ms, discarding any data before it.
bool	wait_closed(int fd, int timeout_ms);

// True when nothing at all arrives on fd for ms (and it stays open).
bool	stays_quiet(int fd, int ms);

// Poll cond every 10 ms until it holds or timeout_ms passes.
bool	eventually(const std::function<bool()> &cond, int timeout_ms);

// Connect to the Unix stream socket at path; -1 (errno) on failure.
int	unix_connect(const std::string &path);

// Send line on the control socket at path (then shut the sending side
// down when end) and read the answer to its end (the daemon closes)
// within timeout_ms; "" when it cannot connect.
std::string unix_request(const std::string &path, const std::string &line,
	    int timeout_ms = 5000, bool end = false);

// Close with SO_LINGER {1,0}: the peer gets an RST.
void	close_reset(int fd);

// Deterministic pseudo-random bytes and a 64-bit FNV-1a checksum.
void	fill_random(uint8_t *buf, size_t n, uint64_t seed);
uint64_t fnv1a(const uint8_t *buf, size_t n, uint64_t h = 0xcbf29ce484222325ULL);

#endif
