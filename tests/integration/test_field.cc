// Field hardening: the edge conditions of a plant's PC, each reproduced on
// loopback with gatewayd as a process -- out of descriptors at accept(),
// clients that a busy link rejects, clients that trickle requests to the
// status server, more listening sockets than poll() used to take, a limit
// on open files too low for the configuration, a stop while every device
// dials a silent peer, a reload that swaps the ports of the status server
// and a device, and the bytes of a host closed at once or rejected. Every
// wait is bounded.
#include <gtest/gtest.h>

#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <dirent.h>
#include <signal.h>
#include <linux/sockios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cfg.h"
#include "control.h"
#include "gwtest.h"
#include "http.h"
#include "net.h"

namespace {

using Clock = std::chrono::steady_clock;

long
ms_since(Clock::time_point t0)
{
	return (long)std::chrono::duration_cast<std::chrono::milliseconds>(
	    Clock::now() - t0).count();
}

std::string
preamble(const std::string &status_listen, const std::string &defaults)
{
	return "version = 1;\n"
	    "log = { level = \"info\"; };\n"
	    "status = { listen = \"" + status_listen + "\"; };\n"
	    "control = { socket = \"\"; };\n"
	    "watchdog = { period_ms = 50; };\n"
	    "defaults = {\n" + defaults + "};\n";
}

const std::string kDefaults =
    "  io_timeout_ms = 100;\n"
    "  connect_timeout_ms = 1000;\n"
    "  backoff = { min_ms = 20; max_ms = 200; };\n";

// The lowest descriptor number a process does not have open, or -1: with
// RLIMIT_NOFILE at that number, it can open nothing more (descriptors above
// it that it inherited stay open, and may be anywhere).
int
first_free_fd(pid_t pid)
{
	std::string dir = "/proc/" + std::to_string(pid) + "/fd/";

	for (int fd = 0; fd < 65536; fd++)
		if (access((dir + std::to_string(fd)).c_str(), F_OK) != 0)
			return fd;
	return -1;
}

// CPU time (user + system) a process used so far, in ms.
long
cpu_ms(pid_t pid)
{
	std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
	std::string s((std::istreambuf_iterator<char>(in)),
	    std::istreambuf_iterator<char>());
	size_t at = s.rfind(')');
	if (at == std::string::npos)
		return -1;
	std::istringstream f(s.substr(at + 2));
	std::string tok;
	long utime = 0, stime = 0;
	for (int i = 3; i <= 15 && (f >> tok); i++) {
		if (i == 14)
			utime = atol(tok.c_str());
		if (i == 15)
			stime = atol(tok.c_str());
	}
	return (utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

// A host connected to a device's listening upstream once the device is
// up (before, "close" closes a host at once): its fd, or -1 within 5 s.
int
host_when_up(const GatewayProcess &g, int uport, const std::string &dev)
{
	int host = -1;

	eventually([&] {
		if (host != -1 && !stays_quiet(host, 50)) {
			close(host);
			host = -1;
		}
		if (host == -1)
			host = tcp_connect(uport, 500);
		return host != -1 && g.log_contains(dev + "/upstream up");
	}, 5000);
	if (host != -1 && !g.log_contains(dev + "/upstream up")) {
		close(host);
		host = -1;
	}
	return host;
}

std::string
listen_device(const std::string &name, const std::string &extra = "")
{
	return "  { name = \"" + name + "\";\n"
	    "    device = { listen = \"127.0.0.1:0\"; };\n"
	    "    upstream = { listen = \"127.0.0.1:0\";" + extra + " };\n  }";
}

// True once the peer has acknowledged every byte sent on fd (SIOCOUTQ 0),
// within timeout_ms.
bool
acked(int fd, int timeout_ms)
{
	return eventually([&] {
		int outq = -1;
		return ioctl(fd, SIOCOUTQ, &outq) == 0 && outq == 0;
	}, timeout_ms);
}

// Whether every thread of pid is stopped (state T in its stat).
bool
all_stopped(pid_t pid)
{
	std::string dir = "/proc/" + std::to_string(pid) + "/task";
	DIR *d = opendir(dir.c_str());
	struct dirent *e;
	bool all = d != nullptr;

	while (all && (e = readdir(d)) != nullptr) {
		if (e->d_name[0] == '.')
			continue;
		std::ifstream in(dir + "/" + e->d_name + "/stat");
		std::string s((std::istreambuf_iterator<char>(in)),
		    std::istreambuf_iterator<char>());
		size_t at = s.rfind(')');
		all = at != std::string::npos && at + 2 < s.size() &&
		    s[at + 2] == 'T';
	}
	if (d != nullptr)
		closedir(d);
	return all;
}

// Stop pid (SIGSTOP) and wait, up to timeout_ms, until all its threads
// have: kill() returns before they do, and one still running (the
// acceptor, woken by a client) would act on what the test does next.
bool
freeze(pid_t pid, int timeout_ms)
{
	return kill(pid, SIGSTOP) == 0 &&
	    eventually([&] { return all_stopped(pid); }, timeout_ms);
}

// With g stopped, a client connects to port and sends 100 bytes, which
// the kernel acknowledges; then g goes on. "" when g closes that client
// within 5 s, else what went wrong.
std::string
closed_after_frozen_send(const GatewayProcess &g, int port)
{
	if (!freeze(g.pid(), 5000)) {
		kill(g.pid(), SIGCONT);
		return "the gateway did not stop";
	}
	int fd = tcp_connect(port, 5000);
	bool sent = fd != -1 && write_all(fd, std::string(100, 'c').data(),
	    100, 5000) && acked(fd, 5000);
	if (kill(g.pid(), SIGCONT) != 0)
		sent = false;
	bool closed = sent && wait_closed(fd, 5000);
	if (fd != -1)
		close(fd);
	return fd == -1 ? "cannot connect" : !sent ? "100 bytes not sent" :
	    !closed ? "the client was not closed" : "";
}

// True once the status server at sport says that d1's upstream discarded
// want bytes, within 5 s.
bool
upstream_discarded(int sport, long want)
{
	const std::string series = "gatewayd_held_bytes_discarded_total"
	    "{device=\"d1\",link=\"upstream\"}";
	return eventually([&] {
		return metric(http_get(sport, "/metrics").body, series) == want;
	}, 5000);
}

}  // namespace

// Out of descriptors with clients waiting: the acceptor takes them and
// closes them at once (the client learns), says so once, and does not spin.
TEST(Field, AcceptOutOfDescriptorsClosesClientsLogsOnceAndStaysIdle)
{
	GatewayProcess g(preamble("", kDefaults) + "devices = (\n" +
	    listen_device("d1") + ");\n");
	int port = logged_port(g, "d1/upstream: listening");
	ASSERT_GT(port, 0) << g.log();
	// Every descriptor of the start taken (pipes and all), then none left.
	ASSERT_TRUE(eventually([&] {
		return g.log_contains("started 1 device"); }, 10000)) << g.log();
	int top = first_free_fd(g.pid());
	ASSERT_GT(top, 2);
	struct rlimit rl = { (rlim_t)top, (rlim_t)top };
	ASSERT_EQ(prlimit(g.pid(), RLIMIT_NOFILE, &rl, nullptr), 0)
	    << strerror(errno);

	long cpu0 = cpu_ms(g.pid());
	auto t0 = Clock::now();
	std::vector<int> clients;
	for (int i = 0; i < 30; i++) {
		int fd = tcp_connect(port, 2000);
		ASSERT_NE(fd, -1);
		clients.push_back(fd);
	}
	// Every one of them is closed, none is left hanging in the backlog.
	for (int fd : clients) {
		EXPECT_TRUE(wait_closed(fd, 3000));
		close(fd);
	}
	std::this_thread::sleep_for(std::chrono::milliseconds(
	    std::max(0L, 2000 - ms_since(t0))));
	long cpu = cpu_ms(g.pid()) - cpu0;
	long wall = ms_since(t0);
	printf("out of descriptors: 30 clients closed, %ld ms of CPU in %ld ms\n",
	    cpu, wall);
	EXPECT_LT(cpu * 10, wall) << "cpu " << cpu << " ms in " << wall << " ms";
	std::string log = g.log();
	unsigned lines = count_lines(log, "out of file descriptors");
	EXPECT_GE(lines, 1u) << log;
	EXPECT_LE(lines, 1u) << log;
	EXPECT_EQ(count_lines(log, "Too many open files"), 0u) << log;
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
}

// Out of descriptors with clients waiting at the control socket and the
// status server: each is answered (UNKNOWN, 503) and closed, one line each
// says so, no thread spins; with descriptors back, both serve again.
TEST(Field, ControlAndStatusOutOfDescriptorsAnswerAndStayIdle)
{
	TestDir dir;
	std::string conf = preamble("127.0.0.1:0", kDefaults) +
	    "devices = (\n" + listen_device("d1") + ");\n";
	const std::string none = "control = { socket = \"\"; };";
	std::string sock = dir.path("ctl.sock");
	conf.replace(conf.find(none), none.size(),
	    "control = { socket = \"" + sock + "\"; };");
	GatewayProcess g(conf);
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();
	ASSERT_TRUE(eventually([&] {
		return g.log_contains("control: serving") &&
		    g.log_contains("started 1 device"); }, 5000)) << g.log();
	struct rlimit was;
	ASSERT_EQ(prlimit(g.pid(), RLIMIT_NOFILE, nullptr, &was), 0);
	int top = first_free_fd(g.pid());
	ASSERT_GT(top, 2);
	struct rlimit rl = { (rlim_t)top, was.rlim_max };
	ASSERT_EQ(prlimit(g.pid(), RLIMIT_NOFILE, &rl, nullptr), 0)
	    << strerror(errno);

	long cpu0 = cpu_ms(g.pid());
	auto t0 = Clock::now();
	// Each is closed at once, not left waiting; the answer is best
	// effort (a client that writes after the close loses it).
	const std::string nomore = "UNKNOWN: gatewayd is out of file "
	    "descriptors: try again later\n";
	for (int i = 0; i < 5; i++) {
		auto t1 = Clock::now();
		std::string c = unix_request(sock, "status\n", 3000);
		EXPECT_TRUE(c.empty() || c == nomore) << c;
		HttpReply r = http_request(sport, "GET", "/metrics", 3000);
		EXPECT_TRUE(r.status == -1 || (r.status == 503 && r.body ==
		    "gatewayd is out of file descriptors\n")) << r.headers;
		EXPECT_LT(ms_since(t1), 1000) << "a client was left waiting";
	}
	std::this_thread::sleep_for(std::chrono::milliseconds(
	    std::max(0L, 2000 - ms_since(t0))));
	long cpu = cpu_ms(g.pid()) - cpu0;
	long wall = ms_since(t0);
	printf("out of descriptors: 5 control and 5 status clients answered, "
	    "%ld ms of CPU in %ld ms\n", cpu, wall);
	EXPECT_LT(cpu * 10, wall) << "cpu " << cpu << " ms in " << wall << " ms";
	std::string log = g.log();
	EXPECT_EQ(count_lines(log, "turned new control clients away"), 1u)
	    << log;
	EXPECT_EQ(count_lines(log, "answered new clients 503"), 1u) << log;

	ASSERT_EQ(prlimit(g.pid(), RLIMIT_NOFILE, &was, nullptr), 0)
	    << strerror(errno);
	EXPECT_EQ(http_get(sport, "/metrics").status, 200);
	EXPECT_EQ(last_line(unix_request(sock, "status\n", 3000)),
	    "OK: 2 links") << g.log();
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
}

// A link that rejects a second client logs what a remote peer can trigger
// at will at most once per window, with a count later.
TEST(Field, RejectedClientsAreRateLimited)
{
	GatewayProcess g(preamble("", kDefaults) + "devices = (\n" +
	    listen_device("d1", " on_new_client = \"reject\";") + ");\n");
	int dport = logged_port(g, "d1/device: listening");
	int uport = logged_port(g, "d1/upstream: listening");
	ASSERT_GT(dport, 0) << g.log();
	ASSERT_GT(uport, 0) << g.log();
	int dev = tcp_connect(dport, 2000);
	ASSERT_NE(dev, -1);
	int host = host_when_up(g, uport, "d1");
	ASSERT_NE(host, -1) << g.log();
	ASSERT_TRUE(roundtrip(host, dev, "hello\n"));

	for (int i = 0; i < 100; i++) {
		int fd = tcp_connect(uport, 2000);
		ASSERT_NE(fd, -1);
		EXPECT_TRUE(wait_closed(fd, 2000));
		close(fd);
	}
	ASSERT_TRUE(roundtrip(dev, host, "still here\n"));
	std::string log = g.log();
	EXPECT_LE(count_lines(log, "d1/upstream: refused"), 1u) << log;
	EXPECT_GE(count_lines(log, "d1/upstream: refused"), 1u) << log;
	close(dev);
	close(host);
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
}

// 64 clients that trickle a byte now and then cannot hold the status
// server: another client's GET /status answers within 2 s all along, and
// the tricklers are closed after their deadline.
TEST(Field, StatusAnswersWhile64ClientsTrickle)
{
	GatewayProcess g(preamble("127.0.0.1:0", kDefaults) + "devices = (\n" +
	    listen_device("d1") + ");\n");
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();

	std::vector<int> slow;
	for (int i = 0; i < 64; i++) {
		int fd = tcp_connect(sport, 2000);
		ASSERT_NE(fd, -1);
		slow.push_back(fd);
	}
	const char req[] = "GET /status HTTP/1.1\r\n";
	size_t sent = 0;
	auto t0 = Clock::now();
	int answered = 0;
	for (int round = 0; round < 16 && ms_since(t0) < 12000; round++) {
		// One more byte from each trickler that is still open.
		for (int &fd : slow)
			if (fd != -1 && send(fd, req + sent % (sizeof(req) - 1), 1,
			    MSG_NOSIGNAL) != 1) {
				close(fd);
				fd = -1;
			}
		sent++;
		if (round % 4 == 1) {
			auto t = Clock::now();
			HttpReply h = http_request(sport, "GET", "/status",
			    2000);
			EXPECT_EQ(h.status, 200) << "round " << round;
			EXPECT_LT(ms_since(t), 2000);
			printf("64 trickling clients: GET /status %d in %ld ms\n",
			    h.status, ms_since(t));
			answered += h.status == 200;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(500));
	}
	EXPECT_EQ(answered, 4);
	// Past the deadline every trickler has been closed by the server.
	int open_left = 0;
	for (int fd : slow)
		if (fd != -1) {
			open_left += !wait_closed(fd, 3000);
			close(fd);
		}
	EXPECT_EQ(open_left, 0);
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
}

// A configuration that needs more descriptors than the hard limit allows
// is refused by -t and at start, with exit 78 and both numbers.
TEST(Field, FdLimitTooLowIsAConfigError)
{
	TestDir dir;
	std::string devs;
	for (int i = 0; i < 40; i++)
		devs += (i ? ",\n" : "") + listen_device("d" + std::to_string(i));
	std::string conf = dir.write("gw.conf", preamble("", kDefaults) +
	    "devices = (\n" + devs + ");\n");
	std::string out;

	int rc = run_command({ "/bin/sh", "-c", std::string("ulimit -n 100 && "
	    "exec ") + GW_GATEWAYD + " -t -c " + conf }, &out, 10000);
	EXPECT_EQ(rc, 78) << out;
	EXPECT_NE(out.find("file descriptors"), std::string::npos) << out;
	EXPECT_NE(out.find("limit is 100"), std::string::npos) << out;
	rc = run_command({ "/bin/sh", "-c", std::string("ulimit -n 100 && "
	    "exec ") + GW_GATEWAYD + " -c " + conf }, &out, 10000);
	EXPECT_EQ(rc, 78) << out;
	rc = run_command({ "/bin/sh", "-c", std::string("ulimit -n 1000 && "
	    "exec ") + GW_GATEWAYD + " -t -c " + conf }, &out, 10000);
	EXPECT_EQ(rc, 0) << out;
}

// The descriptor budget counts the control server's connections when it
// has a socket: at a limit under both, -t says the figure, and the control
// socket adds exactly what its server may hold.
TEST(Field, FdBudgetCountsTheControlSocket)
{
	TestDir dir;
	std::string devs = listen_device("d1") + ",\n" + listen_device("d2");
	std::string off = preamble("", kDefaults) + "devices = (\n" + devs +
	    "\n);\n";
	std::string on = off;
	const std::string none = "control = { socket = \"\"; };";
	size_t at = on.find(none);
	ASSERT_NE(at, std::string::npos);
	on.replace(at, none.size(), "control = { socket = \"" +
	    dir.path("ctl.sock") + "\"; };");
	long need[2];
	const std::string *confs[2] = { &off, &on };

	for (int i = 0; i < 2; i++) {
		std::string conf = dir.write("gw" + std::to_string(i) + ".conf",
		    *confs[i]);
		std::string out;
		std::vector<std::string> m;
		int rc = run_command({ "/bin/sh", "-c", std::string("ulimit -n "
		    "20 && exec ") + GW_GATEWAYD + " -t -c " + conf }, &out,
		    10000);
		EXPECT_EQ(rc, 78) << out;
		ASSERT_TRUE(re_search(out, "needs up to ([0-9]+) file "
		    "descriptors for 2 devices, but the limit is 20", &m)) << out;
		need[i] = atol(m[0].c_str());
	}
	EXPECT_EQ(need[1] - need[0], CONTROL_FDS) << need[0] << " " << need[1];
}

// More listening sockets than the old fixed table (1024) held: all listen,
// the last device relays, and a stop is prompt.
TEST(Field, MoreThan1024ListenLinksStartRelayAndStop)
{
	const int n = 600;	// 1,200 listening sockets
	struct rlimit rl;
	ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 8 * n + 200)
		GTEST_SKIP() << "hard limit on open files too low: "
		    << rl.rlim_max;
	std::string devs;
	for (int i = 0; i < n; i++)
		devs += (i ? ",\n" : "") + listen_device("d" + std::to_string(i));
	GatewayProcess g(preamble("", kDefaults) + "devices = (\n" + devs +
	    ");\n");
	ASSERT_TRUE(eventually([&] {
		return g.log_contains("started 600 devices"); }, 30000))
	    << g.log().substr(0, 4000);
	std::string last = "d" + std::to_string(n - 1);
	int dport = logged_port(g, last + "/device: listening");
	int uport = logged_port(g, last + "/upstream: listening");
	ASSERT_GT(dport, 0);
	ASSERT_GT(uport, 0);
	int dev = tcp_connect(dport, 2000);
	ASSERT_NE(dev, -1);
	int host = host_when_up(g, uport, last);
	ASSERT_NE(host, -1);
	EXPECT_TRUE(roundtrip(host, dev, "to the last device\n"));
	close(dev);
	close(host);
	auto t0 = Clock::now();
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 10000), 0);
	printf("1,200 listening sockets: stop in %ld ms\n", ms_since(t0));
	EXPECT_LT(ms_since(t0), 3000);
}

// Every device dials a peer whose SYNs go unanswered (a full backlog drops
// them) with a long connect timeout: SIGTERM still exits 0 within about one
// io_timeout_ms, not one per device.
TEST(Field, SigtermWhileEveryDeviceDialsASilentPeerIsPrompt)
{
	int port;
	int lfd = tcp_listen(&port);
	ASSERT_NE(lfd, -1);
	// Fill the accept queue: further SYNs are dropped, connects hang.
	ASSERT_EQ(listen(lfd, 0), 0);
	std::vector<int> fillers;
	for (int i = 0; i < 4; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in sin = {};
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		fillers.push_back(fd);
	}
	std::this_thread::sleep_for(std::chrono::milliseconds(200));

	std::string devs;
	for (int i = 0; i < 100; i++)
		devs += std::string(i ? ",\n" : "") + "  { name = \"d" +
		    std::to_string(i) + "\";\n    device = { connect = "
		    "\"127.0.0.1:" + std::to_string(port) + "\"; };\n"
		    "    upstream = { listen = \"127.0.0.1:0\"; };\n  }";
	GatewayProcess g(preamble("", "  io_timeout_ms = 500;\n"
	    "  connect_timeout_ms = 60000;\n") + "devices = (\n" + devs +
	    ");\n");
	ASSERT_TRUE(eventually([&] {
		return g.log_contains("started 100 devices"); }, 10000))
	    << g.log();
	std::this_thread::sleep_for(std::chrono::milliseconds(1000));
	auto t0 = Clock::now();
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 30000), 0);
	printf("100 devices dialling a silent peer: stop in %ld ms\n",
	    ms_since(t0));
	EXPECT_LT(ms_since(t0), 1500) << "stop took " << ms_since(t0) << " ms";
	for (int fd : fillers)
		close(fd);
	close(lfd);
}

// A reload that moves status.listen to the port a device gives up, and
// the device to the port the status server gives up: both come up.
TEST(Field, ReloadSwapsTheStatusPortWithADevicePort)
{
	GatewayProcess g(preamble("127.0.0.1:0", kDefaults) + "devices = (\n" +
	    listen_device("d1") + ");\n");
	int sport = logged_port(g, "status: serving");
	int uport = logged_port(g, "d1/upstream: listening");
	ASSERT_GT(sport, 0);
	ASSERT_GT(uport, 0);
	ASSERT_EQ(http_get(sport, "/status").status, 200);

	g.rewrite_config(preamble("127.0.0.1:" + std::to_string(uport),
	    kDefaults) + "devices = (\n  { name = \"d1\";\n"
	    "    device = { listen = \"127.0.0.1:0\"; };\n"
	    "    upstream = { listen = \"127.0.0.1:" + std::to_string(sport) +
	    "\"; };\n  }\n);\n");
	kill(g.pid(), SIGHUP);
	ASSERT_TRUE(eventually([&] {
		return g.log_contains("reload: 0 devices kept"); }, 5000))
	    << g.log();
	EXPECT_EQ(http_get(uport, "/status").status, 200) << g.log();
	EXPECT_TRUE(g.log_contains("d1/upstream: listening on 127.0.0.1:" +
	    std::to_string(sport))) << g.log();
	EXPECT_FALSE(g.log_contains("in use")) << g.log();
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
}

// With "close", a host that connects while the device is down is closed
// at once. What it sent first dies with it: counted and said, never
// dropped in silence. The gateway is stopped (SIGSTOP) while the host
// connects and its bytes arrive, so that they are there when it takes
// the client, whatever the timing.
TEST(Field, BytesOfAHostClosedAtOnceAreCounted)
{
	GatewayProcess g(preamble("127.0.0.1:0", kDefaults) + "devices = (\n" +
	    listen_device("d1") + "\n);\n");
	int sport = logged_port(g, "status: serving");
	int uport = logged_port(g, "d1/upstream: listening");
	ASSERT_GT(sport, 0) << g.log();
	ASSERT_GT(uport, 0) << g.log();

	ASSERT_EQ(closed_after_frozen_send(g, uport), "");
	EXPECT_TRUE(upstream_discarded(sport, 100))
	    << http_get(sport, "/metrics").body;
	EXPECT_TRUE(eventually([&] { return g.log_contains("device is down; "
	    "100 bytes it sent were discarded"); }, 5000)) << g.log();
}

// A link that rejects a second client while busy: what that client sent
// before it was closed is counted and said, as for a host closed at once.
// The gateway is stopped (SIGSTOP) while the client connects and its bytes
// arrive, so that they are there when it rejects the client.
TEST(Field, BytesOfAClientABusyLinkRejectsAreCounted)
{
	GatewayProcess g(preamble("127.0.0.1:0", kDefaults) + "devices = (\n" +
	    listen_device("d1", " on_new_client = \"reject\";") + "\n);\n");
	int sport = logged_port(g, "status: serving");
	int dport = logged_port(g, "d1/device: listening");
	int uport = logged_port(g, "d1/upstream: listening");
	ASSERT_GT(sport, 0) << g.log();
	ASSERT_GT(dport, 0) << g.log();
	ASSERT_GT(uport, 0) << g.log();
	int dev = tcp_connect(dport, 2000);
	ASSERT_NE(dev, -1);
	int host = host_when_up(g, uport, "d1");
	ASSERT_NE(host, -1) << g.log();
	ASSERT_TRUE(roundtrip(host, dev, "hello\n"));

	ASSERT_EQ(closed_after_frozen_send(g, uport), "");
	EXPECT_TRUE(upstream_discarded(sport, 100))
	    << http_get(sport, "/metrics").body;
	EXPECT_TRUE(eventually([&] { return re_search(g.log(), "d1/upstream: "
	    "refused 127\\.0\\.0\\.1:[0-9]+: busy with 127\\.0\\.0\\.1:[0-9]+; "
	    "100 bytes it sent were discarded"); }, 5000)) << g.log();
	// The link kept its client.
	EXPECT_TRUE(roundtrip(dev, host, "still here\n"));
	close(dev);
	close(host);
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
}
