// The monitor tap against gatewayd as a process: a copy of both directions
// for up to 4 clients, raw or tagged; what they send is discarded; a fifth
// client and one outside allow are closed; traces never take the clients'
// places; a client that stops reading is dropped from, counted, and never
// slows the relay. Both relay paths.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "addr.h"
#include "gwtest.h"
#include "http.h"
#include "monitor.h"
#include "net.h"
#include "tap.h"

namespace {

// Device p1 dialling a listener of ours, its upstream and monitor on port
// 0, the status server on port 0; with control, the control socket at
// sock.
struct Rig {
	TestDir dir;
	std::string sock = dir.path("ctl.sock");
	DeviceProcess d;
	int &dev = d.dev, &up = d.up;
	std::unique_ptr<GatewayProcess> &g = d.g;
	int mport = logged_port(*g, "p1/monitor: listening");
	int sport = logged_port(*g, "status: serving");
	bool control_ = false;

	Rig(const std::string &relay, const std::string &format,
	    const std::string &allow = "127.0.0.0/8", bool control = false,
	    const std::string &extra = "")
	    : d(test_preamble_with(control ? sock : "", true), "p1",
	    "relay = \"" + relay + "\"; monitor_format = \"" + format +
	    "\"; monitor = { listen = \"127.0.0.1:0\"; allow = [\"" + allow +
	    "\"]; };" + extra) { control_ = control; }
	// Relaying, and the control socket serving if there is one: the
	// daemon opens it after its devices have started.
	bool ready() const
	{
		return dev != -1 && up != -1 && mport > 0 && sport > 0 &&
		    (!control_ || control_serving(*g));
	}
	// A monitor client, once the gateway counts it (n of 4).
	int
	watch(int n)
	{
		int fd = tcp_connect(mport, 5000);
		if (fd != -1 && !eventually([&] { return g->log_contains(
		    "watching (" + std::to_string(n) + " of 4)"); }, 5000)) {
			close(fd);
			return -1;
		}
		return fd;
	}
	// A trace of p1 on the control socket: the fd once its first line
	// came, or -1 with what came instead (up to the daemon's close) in
	// *refusal.
	int
	trace(std::string *refusal)
	{
		const std::string head = "| tracing p1:";
		std::string got;
		char c;
		int fd = unix_connect(sock);
		if (fd == -1 || !write_all(fd, "trace p1\n", 9, 1000)) {
			if (fd != -1)
				close(fd);
			return -1;
		}
		while (got.size() < 512 && read_exact(fd, &c, 1, 5000)) {
			got += c;
			if (c == '\n')
				break;
		}
		if (got.compare(0, head.size(), head) == 0)
			return fd;
		close(fd);
		*refusal = got;
		return -1;
	}
};

// Read from fd until want bytes came or timeout_ms passed.
std::string
read_some(int fd, size_t want, int timeout_ms)
{
	std::string got(want, '\0');
	if (!read_exact(fd, &got[0], want, timeout_ms))
		return "";
	return got;
}

// The timer of an IPv4 TCP socket from local port lport to remote port
// rport, as /proc/net/tcp shows it: its kind (0 none, 1 retransmit, 2
// keepalive, ...) and when it fires, in hundredths of a second. False
// when there is no such socket.
bool
tcp_timer(int lport, int rport, int *kind, long *when)
{
	std::ifstream f("/proc/net/tcp");
	std::string line;

	std::getline(f, line);		// the header
	while (std::getline(f, line)) {
		unsigned sl, la, lp, ra, rp, st, txq, rxq, tr;
		unsigned long tm;
		if (sscanf(line.c_str(), " %u: %x:%x %x:%x %x %x:%x %x:%lx", &sl,
		    &la, &lp, &ra, &rp, &st, &txq, &rxq, &tr, &tm) != 10)
			continue;
		if ((int)lp == lport && (int)rp == rport) {
			*kind = (int)tr;
			*when = (long)tm;
			return true;
		}
	}
	return false;
}

// The local port of a connected socket, or -1.
int
local_port_of(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	return ntohs(sin.sin_port);
}

class Monitor : public ::testing::TestWithParam<const char *> {};

}  // namespace

// Raw: each client receives both directions, in the order they passed.
TEST_P(Monitor, RawCopiesBothDirectionsToEveryClient)
{
	Rig r(GetParam(), "raw");
	ASSERT_TRUE(r.ready()) << r.g->log();
	int m1 = r.watch(1), m2 = r.watch(2);
	ASSERT_NE(m1, -1);
	ASSERT_NE(m2, -1);
	ASSERT_TRUE(roundtrip(r.up, r.dev, "READ D100\r\n"));
	ASSERT_TRUE(roundtrip(r.dev, r.up, "D100=42\r\n"));
	for (int m : { m1, m2 })
		EXPECT_EQ(read_some(m, 20, 5000), "READ D100\r\nD100=42\r\n");
	// Nothing more than that.
	EXPECT_TRUE(stays_quiet(m1, 200));
	close(m1);
	close(m2);
	EXPECT_TRUE(eventually([&] { return r.g->log_contains("p1/monitor: "
	    "client 127.0.0.1:"); }, 5000));
	EXPECT_TRUE(eventually([&] { return r.g->log_contains("left (it closed "
	    "the connection): 20 bytes sent, 0 missed"); }, 5000)) << r.g->log();
}

// Tagged: a header line per chunk, then exactly its bytes.
TEST_P(Monitor, TaggedFramesEachChunkWithTimeAndDirection)
{
	Rig r(GetParam(), "tagged");
	ASSERT_TRUE(r.ready()) << r.g->log();
	int m = r.watch(1);
	ASSERT_NE(m, -1);
	ASSERT_TRUE(roundtrip(r.up, r.dev, "ask"));
	ASSERT_TRUE(roundtrip(r.dev, r.up, std::string("a\nb\0c", 5)));
	const std::string head = "20[0-9-]{8}T[0-9:.]{12}Z ";
	std::string got;
	char buf[512];
	eventually([&] {
		ssize_t n = recv(m, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			got.append(buf, (size_t)n);
		return got.size() >= 76;	// two headers of 34, 3 + 5 bytes
	}, 5000);
	ASSERT_EQ(got.size(), 76u) << got;
	EXPECT_EQ(got.substr(71), std::string("a\nb\0c", 5));
	got[74] = '0';
	EXPECT_TRUE(re_match(got, head + "up>dev 3\nask" + head + "dev>up "
	    "5\na\nb0c")) << got;
	close(m);
}

// What a monitor sends is discarded: neither peer sees it.
TEST_P(Monitor, WhatAClientSendsIsDiscarded)
{
	Rig r(GetParam(), "raw");
	ASSERT_TRUE(r.ready()) << r.g->log();
	int m = r.watch(1);
	ASSERT_NE(m, -1);
	ASSERT_TRUE(write_all(m, "STOP\r\n", 6, 1000));
	EXPECT_TRUE(stays_quiet(r.dev, 300));
	EXPECT_TRUE(stays_quiet(r.up, 100));
	ASSERT_TRUE(roundtrip(r.dev, r.up, "still"));
	EXPECT_EQ(read_some(m, 5, 5000), "still");
	close(m);
}

// A client that stops reading: 32 MiB still cross the relay in full; the
// bytes it missed are counted in /status and in the log when it leaves.
TEST_P(Monitor, AStoppedClientNeverSlowsTheRelay)
{
	Rig r(GetParam(), "raw");
	ASSERT_TRUE(r.ready()) << r.g->log();
	int m = r.watch(1);
	ASSERT_NE(m, -1);
	const size_t total = 32u << 20;
	std::vector<uint8_t> in(total), got(total);
	fill_random(in.data(), total, 11);
	bool sent = false;
	std::thread w([&] { sent = write_all(r.dev, in.data(), total, 20000); });
	bool read = read_exact(r.up, got.data(), total, 20000);
	w.join();
	EXPECT_TRUE(sent);
	ASSERT_TRUE(read);
	EXPECT_EQ(fnv1a(got.data(), total), fnv1a(in.data(), total));

	std::vector<std::string> mt;
	std::string body = http_get(r.sport, "/status").body;
	ASSERT_TRUE(re_search(body, "\"monitor\":\\{\"listen\":\"127\\.0\\.0\\.1:"
	    "[0-9]+\",\"clients\":1,\"missed_bytes\":([0-9]+)\\}", &mt)) << body;
	uint64_t missed = std::stoull(mt[0]);
	EXPECT_GT(missed, 0u);
	EXPECT_LT(missed, (uint64_t)total);
	// Closed with unread bytes: a reset, which the log names.
	close(m);
	EXPECT_TRUE(eventually([&] { return re_search(r.g->log(), "p1/monitor: "
	    "client 127\\.0\\.0\\.1:[0-9]+ left \\([^)]+\\): [0-9]+ bytes "
	    "sent, [1-9][0-9]* missed"); }, 5000)) << r.g->log();
	// Once it is gone, the relay is back on its own path and whole.
	ASSERT_TRUE(roundtrip(r.dev, r.up, "after"));
}

// The gateway stops while a client that fell behind has bytes still for
// it (its receive buffer small: the gateway's buffers hold the rest):
// they go out as far as its socket takes them, and every byte the device
// sent is accounted for, received, missed or left unsent.
TEST_P(Monitor, AClientBehindAtTheStopIsToldOfEveryByte)
{
	Rig r(GetParam(), "raw");
	ASSERT_TRUE(r.ready()) << r.g->log();
	int m = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int size = 4096;
	struct sockaddr_in sa = {};
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)r.mport);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_NE(m, -1);
	ASSERT_EQ(setsockopt(m, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)), 0);
	ASSERT_EQ(connect(m, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_TRUE(eventually([&] { return r.g->log_contains("watching (1 of "
	    "4)"); }, 5000));
	// More than the gateway's socket toward the client queues (its send
	// buffer grows to a few MiB), its output buffer and its tap hold.
	const size_t total = 16u << 20;
	std::vector<uint8_t> in(total), got(total);
	fill_random(in.data(), total, 13);
	bool sent = false;
	std::thread w([&] { sent = write_all(r.dev, in.data(), total, 20000); });
	bool read = read_exact(r.up, got.data(), total, 20000);
	w.join();
	ASSERT_TRUE(sent);
	ASSERT_TRUE(read);
	EXPECT_EQ(r.g->signal_and_wait(SIGTERM, 5000), 0) << r.g->log();
	// What came to the client, to the end of its connection.
	size_t received = 0;
	char buf[65536];
	ssize_t n = 1;
	while (received <= total && n > 0) {
		struct pollfd pfd = { m, POLLIN, 0 };
		if (poll(&pfd, 1, 5000) != 1)
			break;
		if ((n = recv(m, buf, sizeof(buf), 0)) > 0)
			received += (size_t)n;
	}
	close(m);
	std::vector<std::string> f;
	ASSERT_TRUE(re_search(r.g->log(), "p1/monitor: client 127\\.0\\.0\\.1:"
	    "[0-9]+ left \\(the device stopped\\): ([0-9]+) bytes sent, "
	    "([0-9]+) missed(, ([0-9]+) left unsent)?\n", &f)) << r.g->log();
	uint64_t said_sent = std::stoull(f[0]), missed = std::stoull(f[1]);
	uint64_t left = f[3].empty() ? 0 : std::stoull(f[3]);
	EXPECT_EQ(said_sent, received);
	EXPECT_EQ(received + missed + left, total) << "received " << received
	    << ", missed " << missed << ", left unsent " << left;
}

// A client that reads as fast as it can, through a burst of 32 MiB: it
// may miss some of it, but what comes after the burst reaches it.
TEST_P(Monitor, AFastClientGetsWhatFollowsABurst)
{
	Rig r(GetParam(), "raw");
	ASSERT_TRUE(r.ready()) << r.g->log();
	int m = r.watch(1);
	ASSERT_NE(m, -1);
	std::atomic<bool> stop{false}, found{false};
	std::atomic<uint64_t> seen{0};
	std::thread reader([&] {
		std::string tail;
		char buf[65536];
		while (!stop && !found) {
			struct pollfd pfd = { m, POLLIN, 0 };
			if (poll(&pfd, 1, 100) != 1)
				continue;
			ssize_t n = recv(m, buf, sizeof(buf), 0);
			if (n <= 0)
				break;
			seen += (uint64_t)n;
			tail.append(buf, (size_t)n);
			if (tail.size() > 64)
				tail.erase(0, tail.size() - 64);
			found = tail.find("MARK-END") != std::string::npos;
		}
	});
	const size_t total = 32u << 20;
	std::vector<uint8_t> in(total, 'x'), got(total);
	bool sent = false;
	std::thread w([&] { sent = write_all(r.dev, in.data(), total, 20000); });
	bool read = read_exact(r.up, got.data(), total, 20000);
	w.join();
	EXPECT_TRUE(sent);
	EXPECT_TRUE(read);
	EXPECT_TRUE(roundtrip(r.dev, r.up, "MARK-END"));
	bool ok = eventually([&] { return found.load(); }, 5000);
	stop = true;
	reader.join();
	EXPECT_TRUE(ok) << seen << " bytes seen, and not what followed; "
	    "log:\n" << r.g->log();
	close(m);
}

INSTANTIATE_TEST_SUITE_P(Relay, Monitor, ::testing::Values("copy", "splice"));

// Four clients at most: a fifth is closed at once, and said so.
TEST(MonitorLimits, AFifthClientIsClosed)
{
	Rig r("splice", "raw");
	ASSERT_TRUE(r.ready()) << r.g->log();
	std::vector<int> m;
	for (int i = 1; i <= 4; i++) {
		m.push_back(r.watch(i));
		ASSERT_NE(m.back(), -1) << i;
	}
	int fifth = tcp_connect(r.mport, 5000);
	ASSERT_NE(fifth, -1);
	EXPECT_TRUE(wait_closed(fifth, 5000));
	close(fifth);
	EXPECT_TRUE(eventually([&] { return r.g->log_contains("refused: 4 "
	    "clients watch already"); }, 5000)) << r.g->log();
	// The four still see the traffic.
	ASSERT_TRUE(roundtrip(r.dev, r.up, "four"));
	for (int fd : m) {
		EXPECT_EQ(read_some(fd, 4, 5000), "four");
		close(fd);
	}
}

// Traces have places of their own: with the most of them running (and
// more asked for, each refused as such), the monitor's 4 clients still
// all get in and see the traffic, and a fifth client is still refused. A
// trace that leaves makes room for another.
TEST(MonitorLimits, TracesNeverTakeTheClientsPlaces)
{
	Rig r("copy", "raw", "127.0.0.0/8", true);
	ASSERT_TRUE(r.ready()) << r.g->log();
	const std::string refused = "UNKNOWN: cannot trace p1: 4 traces watch "
	    "it already, the limit; the other 4 places are kept for its "
	    "monitor clients\n";
	std::vector<int> traces, m;
	std::string why;
	// Six asked for, as many as once kept three clients out.
	for (int i = 1; i <= 6; i++) {
		why.clear();
		int t = r.trace(&why);
		if (t != -1)
			traces.push_back(t);
		if (i <= 4)
			EXPECT_NE(t, -1) << i << ": " << why;
		else
			EXPECT_EQ(why, refused) << i;
	}
	for (int i = 1; i <= 4; i++) {
		int fd = r.watch(i);
		EXPECT_NE(fd, -1) << i << "\n" << r.g->log();
		if (fd != -1)
			m.push_back(fd);
	}
	int fifth = tcp_connect(r.mport, 5000);
	EXPECT_NE(fifth, -1);
	if (fifth != -1) {
		EXPECT_TRUE(wait_closed(fifth, 5000));
		close(fifth);
	}
	EXPECT_TRUE(eventually([&] { return r.g->log_contains("refused: 4 "
	    "clients watch already"); }, 5000)) << r.g->log();
	EXPECT_FALSE(r.g->log_contains("cannot subscribe")) << r.g->log();
	// Every client and every trace sees the traffic.
	EXPECT_TRUE(roundtrip(r.dev, r.up, "seen"));
	for (int fd : m)
		EXPECT_EQ(read_some(fd, 4, 5000), "seen");
	for (int fd : traces) {
		std::string text;
		char buf[512];
		EXPECT_TRUE(eventually([&] {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				text.append(buf, (size_t)n);
			return text.find(" dev>up 4 7365656e |seen|\n") !=
			    std::string::npos;
		}, 5000)) << text;
	}
	// One trace leaves: another takes its place, and no more.
	if (!traces.empty()) {
		close(traces.back());
		traces.pop_back();
		EXPECT_TRUE(eventually([&] { return r.g->log_contains("trace "
		    "of p1 ended"); }, 5000)) << r.g->log();
		int t = r.trace(&why);
		EXPECT_NE(t, -1) << why;
		if (t != -1)
			traces.push_back(t);
		why.clear();
		t = r.trace(&why);
		EXPECT_EQ(t, -1);
		EXPECT_EQ(why, refused);
		if (t != -1)
			close(t);
	}
	for (int fd : m)
		close(fd);
	for (int fd : traces)
		close(fd);
}

// A client outside allow is closed without a byte.
// A monitor client's socket has its device's keepalive: a client whose
// host went away does not hold one of the four places for good.
TEST(MonitorLimits, AClientIsProbedWithTheDevicesKeepalive)
{
	Rig r("splice", "raw", "127.0.0.0/8", false, " keepalive = { idle_s = "
	    "7; interval_s = 2; count = 3; }; user_timeout_ms = 13000;");
	ASSERT_TRUE(r.ready()) << r.g->log();
	int c = r.watch(1);
	ASSERT_NE(c, -1);
	int kind = -1;
	long when = -1;
	ASSERT_TRUE(tcp_timer(r.mport, local_port_of(c), &kind, &when));
	EXPECT_EQ(kind, 2) << "no keepalive timer on the gateway's end";
	// idle_s = 7: the first probe within 7 s.
	EXPECT_GT(when, 400);
	EXPECT_LE(when, 700);
	close(c);
}

TEST(MonitorLimits, AllowIsEnforced)
{
	Rig r("splice", "raw", "10.0.0.0/8");
	ASSERT_TRUE(r.ready()) << r.g->log();
	int m = tcp_connect(r.mport, 5000);
	ASSERT_NE(m, -1);
	EXPECT_TRUE(wait_closed(m, 5000));
	close(m);
	EXPECT_TRUE(eventually([&] { return r.g->log_contains("p1/monitor: "
	    "client 127.0.0.1:"); }, 5000));
	EXPECT_TRUE(r.g->log_contains("refused: not in allow")) << r.g->log();
}

// A reload that removes the device closes its monitor clients and frees
// the port.
TEST(MonitorLimits, RemovedDeviceClosesItsClients)
{
	Rig r("copy", "raw");
	ASSERT_TRUE(r.ready()) << r.g->log();
	int m = r.watch(1);
	ASSERT_NE(m, -1);
	r.g->rewrite_config(test_preamble() + "devices = ();\n");
	kill(r.g->pid(), SIGHUP);
	EXPECT_TRUE(wait_closed(m, 5000));
	close(m);
	EXPECT_TRUE(eventually([&] { return r.g->log_contains("left (the "
	    "device stopped)"); }, 5000)) << r.g->log();
	// The port is closed right after its clients.
	int again = -1;
	EXPECT_TRUE(eventually([&] {
		return (again = tcp_listen_on(r.mport)) != -1; }, 2000))
	    << "the monitor port is still taken";
	if (again != -1)
		close(again);
}

// A port closed and opened again at once, as a reload that restarts its
// device does: the monitor thread's poll() holds the listening socket
// while it waits, and the close waits for it, so the port can be bound
// again (before, 2 to 119 of these 500 failed: Address already in use).
TEST(MonitorPort, ClosedAndOpenedAgainAtOnce)
{
	int port, probe = tcp_listen(&port);
	ASSERT_NE(probe, -1);
	close(probe);
	struct cfg_endpoint ep = {};
	struct cfg_policy pol = {};
	const char *why = nullptr;
	pol.monitor_format = CFG_MONITOR_RAW;
	ep.mode = CFG_LINK_LISTEN;
	snprintf(ep.text, sizeof(ep.text), "127.0.0.1:%d", port);
	ASSERT_EQ(addr_parse_bind(ep.text, &ep.hp, &why), 0) << why;
	struct tap *tap = tap_new();
	struct monitor *mon = monitor_start();
	ASSERT_NE(tap, nullptr);
	ASSERT_NE(mon, nullptr);
	char err[256] = "";
	int failed = 0;
	for (int i = 0; i < 500; i++) {
		if (monitor_open(mon, "p1", &ep, &pol, tap, err,
		    sizeof(err)) != 0) {
			failed++;
			continue;
		}
		monitor_close(mon, "p1");
	}
	EXPECT_EQ(failed, 0) << "last: " << err;
	monitor_stop(mon);
	tap_unref(tap);
}
