// Reload (what SIGHUP does): unchanged devices keep their connections,
// new timeouts reach live sockets and those that come up across the
// reload (a dial, a client taken after it), changed addresses restart,
// added devices start, removed ones stop; a status server whose new port
// is taken serves on where it was; the control socket stays where it is.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cfg.h"
#include "gwtest.h"
#include "http.h"
#include "net.h"

namespace {

std::string
dev_conf(const std::string &name, int dport, int uport, const std::string &extra = "")
{
	return "  { name = \"" + name + "\";\n"
	    "    device = { connect = \"127.0.0.1:" + std::to_string(dport) + "\"; };\n"
	    "    upstream = { listen = \"127.0.0.1:" + std::to_string(uport) + "\"; };\n" +
	    extra + "  }";
}

struct cfg *
load(TestDir &dir, const std::string &text)
{
	struct cfg *cfg = nullptr;
	std::string p = dir.write("reload.conf", text);

	if (cfg_load(p.c_str(), &cfg, stderr) == -1)
		return nullptr;
	return cfg;
}

int
local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

// TCP_USER_TIMEOUT on the gateway's own socket of a device's link.
int
user_timeout_of(struct gateway *gw, const char *device, enum link_kind kind)
{
	struct q { const char *dev; enum link_kind kind; int value; } q = {
		device, kind, -1 };

	gw_foreach_link(gw, [](void *arg, const char *dev, struct link *l) {
		auto *q = static_cast<struct q *>(arg);
		struct link_snap s;
		link_snapshot(l, &s);
		if (std::string(dev) != q->dev || s.kind != q->kind)
			return;
		uint64_t gen;
		int fd = link_acquire(l, &gen);
		if (fd == -1)
			return;
		socklen_t len = sizeof(q->value);
		getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &q->value, &len);
		link_release(l);
	}, &q);
	return q.value;
}

// The test preamble with the control socket at sock and the status
// server on listen.
std::string
preamble_status(const std::string &sock, const std::string &listen)
{
	std::string p = test_preamble_with(sock, false);
	const std::string st = "status = { listen = \"\"; };";

	return p.replace(p.find(st), st.size(), "status = { listen = \"" +
	    listen + "\"; };");
}

// gwctl -S sock reload: its exit code, its output in *out.
int
gwctl_reload(const std::string &sock, std::string *out)
{
	return run_command({ GW_GWCTL, "-S", sock, "reload" }, out, 20000);
}

// The bytes a link received from its peer (BYTES-IN of /status?format=
// text: DEVICE LINK STATE PEER SINCE LAST-REASON BYTES-IN ...); -1 when
// the link is not there.
long
bytes_in(int sport, const std::string &dev, const std::string &link)
{
	std::istringstream in(http_get(sport, "/status?format=text").body);
	std::string line, field;

	while (std::getline(in, line)) {
		std::istringstream f(line);
		std::vector<std::string> v;
		while (std::getline(f, field, '\t'))
			v.push_back(field);
		if (v.size() > 6 && v[0] == dev && v[1] == link)
			return std::stol(v[6]);
	}
	return -1;
}

// A device whose link is down, with hold: its upstream listens on port 0
// and keeps a host that connects; what the host sends waits.
std::string
held_conf(const std::string &name, int dport, const std::string &extra = "")
{
	return dev_conf(name, dport, 0, "    on_device_down = \"hold\";\n"
	    "    hold_max_ms = 60000;\n" + extra);
}

// SIGHUP to g with text as its new file; true once the reload is over
// (its summary logged: "reload: N devices kept (...), N stopped, N
// started"), within 5 s.
bool
sighup(GatewayProcess &g, const std::string &text)
{
	const std::string summary = " stopped, ";
	unsigned before = count_lines(g.log(), summary);

	g.rewrite_config(text);
	if (kill(g.pid(), SIGHUP) == -1)
		return false;
	return eventually([&] {
		return count_lines(g.log(), summary) > before; }, 5000);
}

// What gw_reload() reports, freed on destruction.
struct Report {
	struct gw_reload_report r;
	Report() { memset(&r, 0, sizeof(r)); strbuf_init(&r.lines); }
	~Report() { strbuf_free(&r.lines); }
	std::string text() const {
		return r.lines.buf != nullptr ? std::string(r.lines.buf,
		    r.lines.len) : "";
	}
};

}  // namespace

TEST(Reload, UnchangedDeviceKeepsItsConnectionAndNewTimeoutsApplyInPlace)
{
	int p1, l1 = tcp_listen(&p1);
	int p2, l2 = tcp_listen(&p2);
	ASSERT_NE(l1, -1);
	ASSERT_NE(l2, -1);
	TestDir dir;
	// The upstreams on port 0; the reload gives the same text again.
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    dev_conf("same", p1, 0) + ",\n" + dev_conf("tuned", p2, 0) + ");\n");
	ASSERT_TRUE(g.ok());
	int u1 = g.listen_port("same", LINK_KIND_UPSTREAM);
	ASSERT_GT(u1, 0);
	int d1 = tcp_accept(l1, 5000), d2 = tcp_accept(l2, 5000);
	ASSERT_NE(d1, -1);
	ASSERT_NE(d2, -1);
	ASSERT_TRUE(eventually([&] { return g.up("same", LINK_KIND_DEVICE); }, 5000));
	int h1 = tcp_connect(u1, 5000);
	ASSERT_NE(h1, -1);
	ASSERT_TRUE(eventually([&] { return g.up("same", LINK_KIND_UPSTREAM); }, 5000));
	ASSERT_TRUE(roundtrip(h1, d1, "before\n"));
	int h1_port = local_port(h1);
	EXPECT_EQ(user_timeout_of(g.gw(), "tuned", LINK_KIND_DEVICE), 5000);

	// "tuned" gets longer timeouts; "new" is added; the rest is the same.
	int p3, l3 = tcp_listen(&p3);
	ASSERT_NE(l3, -1);
	struct cfg *cfg = load(dir, test_preamble() + "devices = (\n" +
	    dev_conf("same", p1, 0) + ",\n" +
	    dev_conf("tuned", p2, 0, "    user_timeout_ms = 9000;\n") + ",\n" +
	    dev_conf("new", p3, 0) + ");\n");
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, nullptr), 0);

	// The same TCP connections, bytes flowing across the reload.
	EXPECT_TRUE(roundtrip(h1, d1, "after\n"));
	EXPECT_TRUE(roundtrip(d1, h1, "and back\n"));
	EXPECT_EQ(local_port(h1), h1_port);
	EXPECT_EQ(g.listen_port("same", LINK_KIND_UPSTREAM), u1);
	EXPECT_TRUE(stays_quiet(d2, 200)) << "tuned device was reconnected";
	EXPECT_EQ(user_timeout_of(g.gw(), "tuned", LINK_KIND_DEVICE), 9000);
	// The added device starts.
	int d3 = tcp_accept(l3, 5000);
	EXPECT_NE(d3, -1) << "added device not started";

	for (int fd : {h1, d1, d2, d3, l1, l2, l3})
		if (fd != -1)
			close(fd);
}

// A reload that changes a device's policy while its device link is being
// dialled: the link that comes up has the new policy, not the one the dial
// began with. The dial waits because the device's accept queue is full
// (listen backlog 0, one connection queued): its SYNs are dropped until
// the test takes that connection, and the kernel sends the next one 1 s
// after the first.
TEST(Reload, NewPolicyReachesALinkThatWasBeingDialled)
{
	int port, filler, lfd = tcp_listen_full(&port, &filler);
	ASSERT_NE(lfd, -1);

	TestDir dir;
	const std::string slow = "    connect_timeout_ms = 10000;\n";
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    dev_conf("d1", port, 0, slow) + ");\n");
	ASSERT_TRUE(g.ok());
	// Dialling, its SYN dropped.
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	ASSERT_FALSE(g.up("d1", LINK_KIND_DEVICE));

	struct cfg *cfg = load(dir, test_preamble() + "devices = (\n" +
	    dev_conf("d1", port, 0, slow + "    user_timeout_ms = 9000;\n") +
	    ");\n");
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, nullptr), 0);

	int first = tcp_accept(lfd, 5000);
	EXPECT_NE(first, -1);
	int dev = tcp_accept(lfd, 5000);
	ASSERT_NE(dev, -1) << "the gateway's dial did not come through";
	ASSERT_TRUE(eventually([&] { return g.up("d1", LINK_KIND_DEVICE); },
	    5000));
	// The owner sets it right after the link shows up.
	EXPECT_TRUE(eventually([&] {
		return user_timeout_of(g.gw(), "d1", LINK_KIND_DEVICE) == 9000;
	}, 2000)) << user_timeout_of(g.gw(), "d1", LINK_KIND_DEVICE);

	for (int fd : {dev, first, filler, lfd})
		if (fd != -1)
			close(fd);
}

// The same for a client taken after a reload that came once the thread
// had its copy of the policy: the writer of a split device dials its tx
// link (held up as above); the reload comes, then a client connects at
// its upstream, which the writer takes while the dial still waits. The
// client's socket has the new policy, not the thread's old copy.
TEST(Reload, NewPolicyReachesAClientTakenAfterADial)
{
	int port, filler, lfd = tcp_listen_full(&port, &filler);
	ASSERT_NE(lfd, -1);

	TestDir dir;
	auto conf = [&](const std::string &extra) {
		return test_preamble() + "devices = (\n"
		    "  { name = \"d1\";\n"
		    "    device = { rx = { listen = \"127.0.0.1:0\"; };\n"
		    "               tx = { connect = \"127.0.0.1:" +
		    std::to_string(port) + "\"; }; };\n"
		    "    upstream = { listen = \"127.0.0.1:0\"; };\n"
		    "    on_device_down = \"hold\";\n"
		    "    connect_timeout_ms = 10000;\n" + extra + "  }\n);\n";
	};
	InProcessGateway g(conf(""));
	ASSERT_TRUE(g.ok());
	int uport = g.listen_port("d1", LINK_KIND_UPSTREAM);
	ASSERT_GT(uport, 0);
	// The writer dials tx, its SYN dropped; the reload comes meanwhile,
	// then a host, which the writer takes without waiting for the dial
	// ("hold": a device down does not close it).
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	ASSERT_FALSE(g.up("d1", LINK_KIND_TX));
	struct cfg *cfg = load(dir, conf("    user_timeout_ms = 9000;\n"));
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, nullptr), 0);
	int host = tcp_connect(uport, 5000);
	EXPECT_NE(host, -1);

	EXPECT_TRUE(eventually([&] { return g.up("d1", LINK_KIND_UPSTREAM); },
	    2000));
	EXPECT_FALSE(g.up("d1", LINK_KIND_TX)) << "the dial ended before the "
	    "host was taken: this test would prove nothing";
	EXPECT_TRUE(eventually([&] {
		return user_timeout_of(g.gw(), "d1", LINK_KIND_UPSTREAM) == 9000;
	}, 2000)) << user_timeout_of(g.gw(), "d1", LINK_KIND_UPSTREAM);

	g.stop();
	for (int fd : {host, filler, lfd})
		if (fd != -1)
			close(fd);
}

TEST(Reload, ChangedAddressRestartsAndRemovedDeviceStops)
{
	int p1, l1 = tcp_listen(&p1);
	int p2, l2 = tcp_listen(&p2);
	int pnew, lnew = tcp_listen(&pnew);
	ASSERT_NE(l1, -1);
	ASSERT_NE(l2, -1);
	ASSERT_NE(lnew, -1);
	TestDir dir;
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    dev_conf("moved", p1, 0) + ",\n" + dev_conf("gone", p2, 0) + ");\n");
	ASSERT_TRUE(g.ok());
	// "moved" keeps the port it got: ours (the gateway's) to reuse.
	int u1 = g.listen_port("moved", LINK_KIND_UPSTREAM);
	int u2 = g.listen_port("gone", LINK_KIND_UPSTREAM);
	ASSERT_GT(u1, 0);
	ASSERT_GT(u2, 0);
	int d1 = tcp_accept(l1, 5000), d2 = tcp_accept(l2, 5000);
	ASSERT_NE(d1, -1);
	ASSERT_NE(d2, -1);

	struct cfg *cfg = load(dir, test_preamble() + "devices = (\n" +
	    dev_conf("moved", pnew, u1) + ");\n");
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, nullptr), 0);
	// "moved" now dials its new address; its old connection is closed.
	int dn = tcp_accept(lnew, 5000);
	EXPECT_NE(dn, -1) << "moved device not restarted on its new address";
	EXPECT_TRUE(wait_closed(d1, 5000));
	EXPECT_TRUE(eventually([&] {
		return g.listen_port("moved", LINK_KIND_UPSTREAM) == u1; }, 5000));
	// "gone" stops: its connection closes and its listen port is free.
	EXPECT_TRUE(wait_closed(d2, 5000));
	EXPECT_EQ(g.listen_port("gone", LINK_KIND_UPSTREAM), -1);
	int again = tcp_listen_on(u2);
	EXPECT_NE(again, -1) << "removed device's listen port still taken";

	for (int fd : {d1, d2, dn, again, l1, l2, lnew})
		if (fd != -1)
			close(fd);
}

// A device that cannot start at a reload (its listen port taken) closes
// no descriptor it did not open. Its pumps, never set up, were all zeros,
// their pipe descriptor 0: it was closed twice, and with it whatever held
// that number (stdin here; in the daemon, once the number was reused, a
// socket of another device).
TEST(Reload, DeviceThatCannotStartClosesNoDescriptorOfOthers)
{
	int opened = -1;
	if (fcntl(0, F_GETFD) == -1)
		opened = open("/dev/null", O_RDONLY);	// takes 0
	struct stat before, after;
	ASSERT_EQ(fstat(0, &before), 0);
	int dport, d = tcp_bound(&dport);
	int busy, b = tcp_listen(&busy);
	ASSERT_NE(d, -1);
	ASSERT_NE(b, -1);
	TestDir dir;
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    dev_conf("d1", dport, 0) + ");\n");
	ASSERT_TRUE(g.ok());

	struct cfg *cfg = load(dir, test_preamble() + "devices = (\n" +
	    dev_conf("d1", dport, 0) + ",\n" + dev_conf("d2", dport, busy) +
	    ");\n");
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, nullptr), -1);
	// d1 redials meanwhile: a descriptor 0 closed is soon a socket.
	ASSERT_EQ(fstat(0, &after), 0) << "descriptor 0 closed";
	EXPECT_EQ(after.st_dev, before.st_dev);
	EXPECT_EQ(after.st_ino, before.st_ino) << "descriptor 0 closed and "
	    "reused";
	g.stop();
	EXPECT_NE(g.log().find("reload: d2: cannot start: cannot listen on "
	    "127.0.0.1:" + std::to_string(busy)), std::string::npos) << g.log();
	for (int fd : {b, d, opened})
		if (fd != -1)
			close(fd);
}

// A changed device whose new settings cannot start (its new port taken)
// runs on as it was, on its old port, relaying; the reload says so and is
// a failure. Once the port is free, the same file again restarts it.
TEST(Reload, ChangedDeviceThatCannotStartRunsOnAsItWas)
{
	int dport, dl = tcp_listen(&dport);
	int busy, b = tcp_listen(&busy);
	int uport = free_port();	// d1's upstream
	ASSERT_NE(dl, -1);
	ASSERT_NE(b, -1);
	ASSERT_NE(uport, -1);
	TestDir dir;
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    dev_conf("d1", dport, uport) + ");\n");
	ASSERT_TRUE(g.ok());
	int dev = tcp_accept(dl, 5000);
	ASSERT_NE(dev, -1);

	const std::string moved = test_preamble() + "devices = (\n" +
	    dev_conf("d1", dport, busy) + ");\n";
	Report first;
	struct cfg *cfg = load(dir, moved);
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, &first.r), -1);
	EXPECT_NE(first.text().find("d1: cannot start: cannot listen on "
	    "127.0.0.1:" + std::to_string(busy)), std::string::npos)
	    << first.text();
	EXPECT_NE(first.text().find("; started again as it was"),
	    std::string::npos) << first.text();
	EXPECT_EQ(first.r.failed, 1);
	ASSERT_EQ(g.listen_port("d1", LINK_KIND_UPSTREAM), uport);
	close(dev);
	int dev2 = tcp_accept(dl, 5000);
	ASSERT_NE(dev2, -1) << "d1 does not dial its device";
	int host = tcp_connect(uport, 5000);
	ASSERT_NE(host, -1);
	ASSERT_TRUE(eventually([&] { return g.up("d1", LINK_KIND_UPSTREAM); },
	    5000));
	EXPECT_TRUE(roundtrip(host, dev2, "as it was\n"));

	// The port is free now: the same file again moves d1.
	close(b);
	Report second;
	ASSERT_NE(cfg = load(dir, moved), nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, &second.r), 0) << second.text();
	EXPECT_EQ(second.r.restarted, 1);
	EXPECT_EQ(g.listen_port("d1", LINK_KIND_UPSTREAM), busy);
	g.stop();
	EXPECT_EQ(count_lines(g.log(), "reload: d1: cannot start: "), 1u)
	    << g.log();
	for (int fd : {host, dev2, dl})
		close(fd);
}

// The new file gives the port of a device that cannot start to another
// device: that one has it, and the first is not started again in its
// place, whatever the order of the file.
TEST(Reload, ADeviceStartedAgainAsItWasTakesNoPortOfTheNewFile)
{
	int dport, dl = tcp_bound(&dport);
	int busy, b = tcp_listen(&busy);
	int aport = free_port();	// d1's upstream
	ASSERT_NE(dl, -1);
	ASSERT_NE(b, -1);
	ASSERT_NE(aport, -1);
	TestDir dir;
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    dev_conf("d1", dport, aport) + ");\n");
	ASSERT_TRUE(g.ok());

	Report rep;
	struct cfg *cfg = load(dir, test_preamble() + "devices = (\n" +
	    dev_conf("d1", dport, busy) + ",\n" + dev_conf("d2", dport, aport) +
	    ");\n");
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, &rep.r), -1);
	EXPECT_NE(rep.text().find("d2: added: started\n"), std::string::npos)
	    << rep.text();
	EXPECT_NE(rep.text().find("d1: cannot start: cannot listen on "
	    "127.0.0.1:" + std::to_string(busy)), std::string::npos)
	    << rep.text();
	EXPECT_NE(rep.text().find("; nor as it was: "), std::string::npos)
	    << rep.text();
	EXPECT_EQ(g.listen_port("d2", LINK_KIND_UPSTREAM), aport);
	EXPECT_EQ(g.listen_port("d1", LINK_KIND_UPSTREAM), -1);
	g.stop();
	close(b);
	close(dl);
}

// A reload that moves status.listen to a port another process holds: the
// old address serves on, the outcome is a warning that names the status
// server (and the same file again tries the new port again), and a later
// reload to a free port moves the server.
TEST(Reload, StatusServerStaysWhereItWasWhenItsNewPortIsTaken)
{
	if (!have_ipv6_loopback())
		GTEST_SKIP() << "no IPv6 loopback here (the server moves to ::1)";
	TestDir dir;
	const std::string sock = dir.path("ctl.sock");
	int dport, d = tcp_bound(&dport);
	int busy, b = tcp_listen(&busy);
	ASSERT_NE(d, -1);
	ASSERT_NE(b, -1);
	auto conf = [&](const std::string &listen) {
		return preamble_status(sock, listen) + "devices = (\n" +
		    dev_conf("d1", dport, 0) + ");\n";
	};
	const std::string ok = "\ngatewayd_config_last_reload_successful ";
	// Port 0 at the start: where it was is the port it was given.
	GatewayProcess g(conf("127.0.0.1:0"));
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();
	ASSERT_TRUE(eventually([&] {
		return g.log_contains("control: serving "); }, 5000)) << g.log();
	const std::string was = "127.0.0.1:" + std::to_string(sport);
	const std::string taken = "127.0.0.1:" + std::to_string(busy);

	g.rewrite_config(conf(taken));
	std::string out;
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(gwctl_reload(sock, &out), 1) << out;
		EXPECT_NE(out.find("status.listen " + taken + ": cannot serve: "),
		    std::string::npos) << out;
		EXPECT_NE(out.find("Address already in use; status server kept "
		    "on " + was + "\n"), std::string::npos) << out;
		EXPECT_NE(last_line(out).find("WARNING: reloaded "),
		    std::string::npos) << out;
		EXPECT_NE(last_line(out).find("the status server could not "
		    "move to " + taken + ": kept on " + was),
		    std::string::npos) << out;
		HttpReply r = http_get(sport, "/metrics");
		EXPECT_EQ(r.status, 200) << g.log();
		EXPECT_NE(r.body.find(ok + "0\n"), std::string::npos) << r.body;
	}
	EXPECT_EQ(count_lines(g.log(), "; status server kept on " + was), 2u)
	    << g.log();
	// Another port: the old server never stopped.
	EXPECT_EQ(count_lines(g.log(), "status: stopped serving"), 0u)
	    << g.log();

	// A free port (port 0 on another loopback address): the server
	// moves there, and the reload took.
	g.rewrite_config(conf("[::1]:0"));
	EXPECT_EQ(gwctl_reload(sock, &out), 0) << out;
	EXPECT_NE(last_line(out).find("OK: reloaded "), std::string::npos)
	    << out;
	std::vector<std::string> m;
	ASSERT_TRUE(re_search(g.log(), "status: serving /metrics and /status "
	    "on http://\\[::1\\]:([0-9]+)", &m)) << g.log();
	HttpReply r = http_get(std::stoi(m[0]), "/metrics", "::1");
	EXPECT_EQ(r.status, 200) << g.log();
	EXPECT_NE(r.body.find(ok + "1\n"), std::string::npos) << r.body;
	EXPECT_EQ(tcp_connect(sport, 500), -1) << "old status port still open";
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
	close(b);
	close(d);
}

// A reload does not move the control socket: a new control.socket is told
// to the asker (and logged), and the socket in use answers on.
TEST(Reload, ControlSocketStaysUntilTheNextStart)
{
	TestDir dir;
	const std::string sock = dir.path("ctl.sock");
	const std::string other = dir.path("other.sock");
	int dport, d = tcp_bound(&dport);
	ASSERT_NE(d, -1);
	const std::string devices = "devices = (\n" + dev_conf("d1", dport, 0) +
	    ");\n";
	GatewayProcess g(preamble_status(sock, "") + devices);
	ASSERT_TRUE(eventually([&] {
		return g.log_contains("control: serving "); }, 5000)) << g.log();

	g.rewrite_config(preamble_status(other, "") + devices);
	std::string out;
	EXPECT_EQ(gwctl_reload(sock, &out), 0) << out;
	EXPECT_NE(out.find("control.socket \"" + sock + "\" -> \"" + other +
	    "\": takes effect at the next start\n"), std::string::npos) << out;
	EXPECT_NE(last_line(out).find("OK: reloaded "), std::string::npos)
	    << out;
	// Again, on the same socket: it answers, and tells it again.
	EXPECT_EQ(gwctl_reload(sock, &out), 0) << out;
	EXPECT_NE(out.find("takes effect at the next start"),
	    std::string::npos) << out;
	EXPECT_EQ(unix_connect(other), -1);
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
	close(d);
}

// A host's command held for a device that is down (on_device_down =
// "hold") when a reload restarts the device (buffer_bytes changed): the
// bytes die with the old device's writer. Counted on the upstream link,
// where they came in, and logged, not dropped without a word.
TEST(Reload, HeldDataIsCountedWhenARestartStopsTheDevice)
{
	const size_t n = 5000;
	TestDir dir;
	int dport, d = tcp_bound(&dport);	// refuses: the device is down
	ASSERT_NE(d, -1);
	const std::string pre = preamble_status(dir.path("ctl.sock"),
	    "127.0.0.1:0");
	GatewayProcess g(pre + "devices = (\n" + held_conf("d1", dport) +
	    ");\n");
	int sport = logged_port(g, "status: serving");
	int uport = logged_port(g, "d1/upstream: listening");
	ASSERT_GT(sport, 0) << g.log();
	ASSERT_GT(uport, 0) << g.log();
	int host = tcp_connect(uport, 5000);
	ASSERT_NE(host, -1);
	std::string cmd(n, 'c');
	ASSERT_TRUE(write_all(host, cmd.data(), cmd.size(), 5000));
	// Read into the writer's buffer, waiting for the device.
	ASSERT_TRUE(eventually([&] {
		return bytes_in(sport, "d1", "upstream") == (long)n; }, 5000))
	    << g.log();
	const std::string series = "gatewayd_held_bytes_discarded_total"
	    "{device=\"d1\",link=\"upstream\"}";
	EXPECT_EQ(metric(http_get(sport, "/metrics").body, series), 0);

	ASSERT_TRUE(sighup(g, pre + "devices = (\n" + held_conf("d1", dport,
	    "    buffer_bytes = 8192;\n") + ");\n")) << g.log();
	EXPECT_EQ(count_lines(g.log(), "warn d1/upstream: discarded " +
	    std::to_string(n) + " bytes for d1/device: device stopping"), 1u)
	    << g.log();
	EXPECT_EQ(count_lines(g.log(), "discarded"), 1u) << g.log();
	EXPECT_TRUE(wait_closed(host, 5000)) << "the host was not closed";
	// The restarted device's links are new: their counts begin at 0.
	EXPECT_EQ(metric(http_get(sport, "/metrics").body, series), 0);
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
	close(host);
	close(d);
}

// The same when a reload removes the device, on both sides: a host's
// command held for a device that is down, and a device's reading held
// for a host that is not there.
TEST(Reload, HeldDataIsCountedWhenTheDeviceIsRemoved)
{
	const size_t n_cmd = 5000, n_reading = 3000;
	TestDir dir;
	int dport, d = tcp_bound(&dport);
	int rport, rl = tcp_listen(&rport);
	ASSERT_NE(d, -1);
	ASSERT_NE(rl, -1);
	const std::string pre = preamble_status(dir.path("ctl.sock"),
	    "127.0.0.1:0");
	GatewayProcess g(pre + "devices = (\n" + held_conf("cmd", dport) +
	    ",\n" + dev_conf("reading", rport, 0) + ");\n");
	int sport = logged_port(g, "status: serving");
	int uport = logged_port(g, "cmd/upstream: listening");
	ASSERT_GT(sport, 0) << g.log();
	ASSERT_GT(uport, 0) << g.log();
	int host = tcp_connect(uport, 5000);
	int dev = tcp_accept(rl, 5000);
	ASSERT_NE(host, -1);
	ASSERT_NE(dev, -1);
	std::string cmd(n_cmd, 'c'), reading(n_reading, 'r');
	ASSERT_TRUE(write_all(host, cmd.data(), cmd.size(), 5000));
	ASSERT_TRUE(write_all(dev, reading.data(), reading.size(), 5000));
	ASSERT_TRUE(eventually([&] {
		return bytes_in(sport, "cmd", "upstream") == (long)n_cmd &&
		    bytes_in(sport, "reading", "device") == (long)n_reading;
	}, 5000)) << g.log();

	ASSERT_TRUE(sighup(g, pre + "devices = ();\n")) << g.log();
	std::string log = g.log();
	EXPECT_EQ(count_lines(log, "warn cmd/upstream: discarded " +
	    std::to_string(n_cmd) + " bytes for cmd/device: device stopping"),
	    1u) << log;
	EXPECT_EQ(count_lines(log, "warn reading/device: discarded " +
	    std::to_string(n_reading) + " bytes for reading/upstream: device "
	    "stopping"), 1u) << log;
	EXPECT_EQ(count_lines(log, "discarded"), 2u) << log;
	EXPECT_TRUE(wait_closed(host, 5000));
	EXPECT_TRUE(wait_closed(dev, 5000));
	// Their series go with them; the gateway's totals count no failure.
	std::string m = http_get(sport, "/metrics").body;
	EXPECT_EQ(m.find("device=\"cmd\""), std::string::npos) << m;
	EXPECT_EQ(m.find("device=\"reading\""), std::string::npos) << m;
	EXPECT_EQ(metric(m, "gatewayd_failures_total{reason=\"peer_reset\"}"),
	    0) << m;
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
	for (int fd : {host, dev, rl, d})
		close(fd);
}

// A device that could not start at a reload (its listen port taken) and
// starts at the next one is added, not restarted: no device of its name
// ran before, whatever the file before said.
TEST(Reload, DeviceThatCouldNotStartIsAddedWhenItStarts)
{
	int dport, d = tcp_bound(&dport);
	int busy, b = tcp_listen(&busy);
	ASSERT_NE(d, -1);
	ASSERT_NE(b, -1);
	TestDir dir;
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    dev_conf("d1", dport, 0) + ");\n");
	ASSERT_TRUE(g.ok());
	const std::string both = test_preamble() + "devices = (\n" +
	    dev_conf("d1", dport, 0) + ",\n" + dev_conf("d2", dport, busy) +
	    ");\n";

	Report first;
	struct cfg *cfg = load(dir, both);
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, &first.r), -1);
	EXPECT_NE(first.text().find("d2: cannot start: "), std::string::npos)
	    << first.text();
	EXPECT_EQ(first.r.failed, 1);

	// The port is free now: the same file again starts d2.
	close(b);
	Report second;
	ASSERT_NE(cfg = load(dir, both), nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, &second.r), 0);
	EXPECT_EQ(second.text(), "d1: kept\nd2: added: started\n");
	EXPECT_EQ(second.r.added, 1);
	EXPECT_EQ(second.r.restarted, 0);
	EXPECT_GT(g.listen_port("d2", LINK_KIND_UPSTREAM), 0);
	g.stop();
	EXPECT_EQ(count_lines(g.log(), "reload: d2: added: starting"), 1u)
	    << g.log();
	close(d);
}

// A policy-only reload keeps where each link's backoff stands; only new
// backoff bounds start it again. The device accepts every dial and closes
// it at once: each short connection doubles the delay, up to max_ms, and
// every reload of another key (here stall_timeout_ms) sent it back to
// min_ms.
TEST(Reload, PolicyReloadKeepsTheBackoffUnlessItsBoundsChange)
{
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	TestDir dir;
	auto conf = [&](const std::string &extra) {
		return test_preamble() + "devices = (\n" + dev_conf("d1",
		    dport, 0, extra) + ");\n";
	};
	const std::string slow = "    backoff = { min_ms = 50; max_ms = 800; };\n";
	InProcessGateway g(conf(slow));
	ASSERT_TRUE(g.ok());
	using clk = std::chrono::steady_clock;
	// The gaps between the next n dials, in ms, each closed at once;
	// -1 for a dial that did not come within 3 s.
	auto gaps = [&](int n) {
		std::vector<long> v;
		clk::time_point last = clk::now();
		for (int i = 0; i <= n; i++) {
			int fd = tcp_accept(dl, 3000);
			clk::time_point now = clk::now();
			if (fd == -1)
				return std::vector<long>{ -1 };
			close(fd);
			if (i > 0)
				v.push_back((long)std::chrono::duration_cast<
				    std::chrono::milliseconds>(now - last).count());
			last = now;
		}
		return v;
	};
	auto str = [](const std::vector<long> &v) {
		std::string s;
		for (long x : v)
			s += std::to_string(x) + " ";
		return s;
	};
	// 50, 50..100, 100..200, 200..400: the ceiling is at max_ms then.
	std::vector<long> before = gaps(4);
	ASSERT_EQ(before.size(), 4u) << str(before);

	Report rep;
	struct cfg *cfg = load(dir, conf(slow + "    stall_timeout_ms = 7000;\n"));
	ASSERT_NE(cfg, nullptr);
	ASSERT_EQ(gw_reload(g.gw(), cfg, &rep.r), 0);
	ASSERT_EQ(rep.text(), "d1: kept, with the new policy applied to its "
	    "live links\n");
	// The dial already due comes when it was due; the ones after it
	// still wait 400..800 ms, not 50.
	std::vector<long> after = gaps(3);
	ASSERT_EQ(after.size(), 3u) << str(after);
	EXPECT_GE(*std::min_element(after.begin(), after.end()), 350)
	    << "before the reload: " << str(before) << "after: " << str(after);
	printf("backoff gaps (ms) before a policy reload: %safter: %s\n",
	    str(before).c_str(), str(after).c_str());

	// New bounds apply at once.
	ASSERT_NE(cfg = load(dir, conf("    backoff = { min_ms = 20; max_ms = "
	    "40; };\n    stall_timeout_ms = 7000;\n")), nullptr);
	ASSERT_EQ(gw_reload(g.gw(), cfg, nullptr), 0);
	std::vector<long> bounded = gaps(4);
	ASSERT_EQ(bounded.size(), 4u) << str(bounded);
	EXPECT_LE(*std::max_element(bounded.begin(), bounded.end()), 300)
	    << str(bounded);
	g.stop();
	close(dl);
}

// A change of a listen link's allow list (or on_new_client) restarts the
// device, and the reload says so: what it says names allow among what
// restarts a device, not only "addresses, buffer_bytes, relay or monitor".
TEST(Reload, ChangedAllowRestartsAndSaysSo)
{
	int dport, d = tcp_bound(&dport);
	ASSERT_NE(d, -1);
	TestDir dir;
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    dev_conf("d1", dport, 0) + ");\n");
	ASSERT_TRUE(g.ok());
	int u1 = g.listen_port("d1", LINK_KIND_UPSTREAM);
	ASSERT_GT(u1, 0);
	const std::string causes = "addresses, allow, on_new_client, monitor, "
	    "buffer_bytes, relay or monitor_format changed";

	for (const std::string &up : { std::string("allow = [\"127.0.0.1\"];"),
	    std::string("allow = [\"127.0.0.1\"]; on_new_client = "
	    "\"reject\";") }) {
		Report rep;
		struct cfg *cfg = load(dir, test_preamble() + "devices = (\n"
		    "  { name = \"d1\";\n"
		    "    device = { connect = \"127.0.0.1:" +
		    std::to_string(dport) + "\"; };\n"
		    "    upstream = { listen = \"127.0.0.1:" + std::to_string(u1) +
		    "\"; " + up + " }; }\n);\n");
		ASSERT_NE(cfg, nullptr);
		EXPECT_EQ(gw_reload(g.gw(), cfg, &rep.r), 0);
		EXPECT_EQ(rep.text(), "d1: restarted: " + causes + "\n") << up;
		EXPECT_EQ(rep.r.restarted, 1);
	}
	g.stop();
	EXPECT_EQ(count_lines(g.log(), "reload: d1: " + causes + ": restarting"),
	    2u) << g.log();
	close(d);
}
