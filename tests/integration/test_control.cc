// The control socket, against gatewayd as a process: gwctl's status,
// reload and disconnect, the protocol's errors, the socket's mode and who
// may use it. Ports are 0, read back from the log; every wait is bounded.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "clock.h"
#include "gwtest.h"
#include "http.h"
#include "net.h"

namespace {

const std::string kGwctl = GW_GWCTL;

// The test preamble with the status server on port 0 and the control
// socket at sock.
std::string
preamble(const std::string &sock)
{
	return test_preamble_with(sock, true);
}

// A device that dials 127.0.0.1:dport, its upstream listening on port 0.
std::string
device(const std::string &name, int dport, const std::string &extra = "")
{
	return "  { name = \"" + name + "\"; device = { connect = \"127.0.0.1:" +
	    std::to_string(dport) + "\"; }; upstream = { listen = "
	    "\"127.0.0.1:0\"; };" + extra + " }";
}

int
gwctl(const std::vector<std::string> &args, std::string *out)
{
	std::vector<std::string> argv = { kGwctl };
	argv.insert(argv.end(), args.begin(), args.end());
	return run_command(argv, out, 20000);
}

std::string
first_line(const std::string &s)
{
	return s.substr(0, s.find('\n'));
}

bool
serving(const GatewayProcess &g)
{
	return eventually([&] { return g.log_contains("control: serving "
	    "gwctl's commands on "); }, 5000);
}

// A trace of dev on the socket at sock, once its header has come: the
// client's fd, or -1.
int
open_trace(const std::string &sock, const std::string &dev)
{
	std::string cmd = "trace " + dev + "\n";
	std::string head = "| tracing " + dev + ": dev>up is what the device "
	    "sent, up>dev what the host sent\n";
	std::string got(head.size(), '\0');
	int c = unix_connect(sock);

	if (c == -1)
		return -1;
	if (!write_all(c, cmd.data(), cmd.size(), 5000) ||
	    !read_exact(c, &got[0], got.size(), 5000) || got != head) {
		close(c);
		return -1;
	}
	return c;
}

// Four devices, d1 to d4, that dial 127.0.0.1:dport, the control socket
// at sock.
std::string
four_devices(const std::string &sock, int dport)
{
	return preamble(sock) + "devices = (\n" + device("d1", dport) + ",\n" +
	    device("d2", dport) + ",\n" + device("d3", dport) + ",\n" +
	    device("d4", dport) + "\n);\n";
}

// Twelve traces, the most the socket runs: four (the most a device
// takes) of each of d1, d2 and d3, their fds appended to *fds. False when
// one did not open.
bool
open_twelve_traces(const std::string &sock, std::vector<int> *fds)
{
	for (int i = 0; i < 12; i++) {
		int c = open_trace(sock, "d" + std::to_string(1 + i / 4));
		if (c == -1)
			return false;
		fds->push_back(c);
	}
	return true;
}

}  // namespace

// gwctl -S: the same table and exit codes as over HTTP; the socket is
// 0660; the protocol's last line says the outcome.
TEST(Control, StatusOnTheSocketWithMode0660)
{
	TestDir dir;
	const std::string sock = dir.path("ctl.sock");
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	GatewayProcess g(preamble(sock) + "devices = (\n" + device("d1", dport) +
	    "\n);\n");
	ASSERT_TRUE(serving(g)) << g.log();
	EXPECT_TRUE(g.log_contains("control: serving gwctl's commands on " +
	    sock)) << g.log();
	struct stat st;
	ASSERT_EQ(lstat(sock.c_str(), &st), 0);
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0660u);

	int dev = tcp_accept(dl, 5000);
	ASSERT_NE(dev, -1);
	std::string out;
	ASSERT_TRUE(eventually([&] {
		return gwctl({ "-S", sock }, &out) == 1; }, 5000)) << out;
	EXPECT_EQ(first_line(out), "WARNING: 1 of 2 links down: d1/upstream")
	    << out;
	EXPECT_NE(out.find("\nDEVICE  LINK      STATE"), std::string::npos)
	    << out;
	EXPECT_NE(out.find("\nd1      device    up     127.0.0.1:" +
	    std::to_string(dport)), std::string::npos) << out;
	// status is the default command, and may be named.
	EXPECT_EQ(gwctl({ "-S", sock, "status" }, &out), 1) << out;

	// The protocol itself: output lines, then the outcome.
	std::string raw = unix_request(sock, "status\n");
	EXPECT_EQ(raw.rfind("| d1\tdevice\tup\t127.0.0.1:", 0), 0u) << raw;
	EXPECT_EQ(last_line(raw), "OK: 2 links") << raw;
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
	// Gone with the daemon.
	EXPECT_NE(lstat(sock.c_str(), &st), 0);
	close(dev);
	close(dl);
}

// gwctl reload runs what SIGHUP runs and says what it did; a bad file is
// rejected with its errors (FILE:LINE), exit 1, the running
// configuration kept.
TEST(Control, ReloadTellsWhatItDidAndRejectsABadFile)
{
	TestDir dir;
	const std::string sock = dir.path("ctl.sock");
	int p1, l1 = tcp_listen(&p1);
	int p2, l2 = tcp_listen(&p2);
	int p3, l3 = tcp_listen(&p3);
	ASSERT_NE(l1, -1);
	ASSERT_NE(l2, -1);
	ASSERT_NE(l3, -1);
	const std::string pre = preamble(sock);
	GatewayProcess g(pre + "devices = (\n" + device("kept", p1) + ",\n" +
	    device("moved", p2) + ",\n" + device("gone", p3) + ",\n" +
	    device("tuned", p3) + "\n);\n");
	ASSERT_TRUE(serving(g)) << g.log();
	int kept = tcp_accept(l1, 5000);
	ASSERT_NE(kept, -1);

	g.rewrite_config(pre + "devices = (\n" + device("kept", p1) + ",\n" +
	    device("moved", p3) + ",\n" + device("tuned", p3,
	    " stall_timeout_ms = 7000;") + ",\n" + device("new", p2) +
	    "\n);\n");
	std::string out;
	int rc = gwctl({ "-S", sock, "reload" }, &out);
	EXPECT_EQ(rc, 0) << out;
	for (const char *l : { "kept: kept\n", "gone: removed: stopped\n",
	    "tuned: kept, with the new policy applied to its live links\n",
	    "moved: restarted: addresses, allow, on_new_client, monitor, "
	    "buffer_bytes, relay or monitor_format changed\n",
	    "new: added: started\n" })
		EXPECT_NE(out.find(l), std::string::npos) << l << "\n" << out;
	EXPECT_NE(last_line(out).find("OK: reloaded "), std::string::npos)
	    << out;
	EXPECT_NE(last_line(out).find(": 2 kept (1 with a new policy), 1 "
	    "restarted, 1 added, 1 removed"), std::string::npos) << out;
	// The device kept its connection through it.
	EXPECT_TRUE(stays_quiet(kept, 300));
	EXPECT_TRUE(g.log_contains("control: reloading ")) << g.log();
	EXPECT_TRUE(g.log_contains(" for uid " + std::to_string(getuid())))
	    << g.log();

	// A bad file: every error with its line, WARNING, exit 1.
	g.rewrite_config(pre + "devices = (\n" + device("kept", p1,
	    " keepalive = { idle_s = 0; };") + ",\n" + device("kept", p2) +
	    "\n);\nbogus = 1;\n");
	rc = gwctl({ "-S", sock, "reload" }, &out);
	EXPECT_EQ(rc, 1) << out;
	EXPECT_NE(out.find("gw.conf:12: devices.[0].keepalive.idle_s: out of "
	    "range (got 0, want 1..7200)\n"), std::string::npos) << out;
	EXPECT_NE(out.find("gw.conf:13: devices.[1].name: duplicate device "
	    "name"), std::string::npos) << out;
	EXPECT_NE(out.find("gw.conf:15: bogus: unknown setting"),
	    std::string::npos) << out;
	EXPECT_NE(last_line(out).find("WARNING: reload rejected: "),
	    std::string::npos) << out;
	EXPECT_NE(last_line(out).find("is not valid; running configuration "
	    "kept"), std::string::npos) << out;
	// The log line says why too, whatever the log's target (the lines
	// above go to stderr only).
	EXPECT_TRUE(re_search(g.log(), "reload: [^ ]*gw\\.conf is not valid "
	    "\\([^ ]*gw\\.conf:12: devices\\.\\[0\\]\\.keepalive\\.idle_s: out "
	    "of range \\(got 0, want 1\\.\\.7200\\), and 2 more errors\\); "
	    "running configuration kept\n")) << g.log();
	// Kept: the four devices of the last good file are still there.
	std::string raw = unix_request(sock, "status\n");
	for (const char *d : { "| kept\t", "| moved\t", "| tuned\t", "| new\t" })
		EXPECT_NE(raw.find(d), std::string::npos) << d << raw;
	EXPECT_TRUE(stays_quiet(kept, 100));
	close(kept);
	close(l1);
	close(l2);
	close(l3);
}

// gwctl disconnect: the link goes down now for reason operator, counted
// and logged with the uid that asked, and reconnects as after any failure.
TEST(Control, DisconnectIsCountedAsOperatorWithWhoAsked)
{
	TestDir dir;
	const std::string sock = dir.path("ctl.sock");
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	GatewayProcess g(preamble(sock) + "devices = (\n" + device("d1", dport) +
	    "\n);\n");
	ASSERT_TRUE(serving(g)) << g.log();
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();
	int dev = tcp_accept(dl, 5000);
	ASSERT_NE(dev, -1);
	ASSERT_TRUE(eventually([&] {
		return http_get(sport, "/status").body.find("\"state\":\"up\"") !=
		    std::string::npos; }, 5000));

	std::string out;
	EXPECT_EQ(gwctl({ "-S", sock, "disconnect", "d1", "device" }, &out), 0)
	    << out;
	EXPECT_EQ(out, "d1/device: disconnected\nOK: disconnected 1 link of d1 "
	    "(reason operator); it reconnects as after any failure\n");
	EXPECT_TRUE(wait_closed(dev, 5000));
	close(dev);
	const std::string who = "disconnected by uid " +
	    std::to_string(getuid()) + " (pid ";
	ASSERT_TRUE(eventually([&] {
		return g.log_contains("d1/device down: operator (" + who); },
	    5000)) << g.log();
	EXPECT_TRUE(g.log_contains("uid " + std::to_string(getuid()) +
	    " (pid ")) << g.log();
	// It reconnects, and the status says why it went down, and who.
	dev = tcp_accept(dl, 5000);
	ASSERT_NE(dev, -1);
	HttpReply r = http_get(sport, "/status");
	EXPECT_NE(r.body.find("\"last_reason\":\"operator\""), std::string::npos)
	    << r.body;
	EXPECT_NE(r.body.find("\"last_detail\":\"" + who), std::string::npos)
	    << r.body;
	r = http_get(sport, "/metrics");
	EXPECT_NE(r.body.find("\ngatewayd_failures_total{reason=\"operator\"} 1\n"),
	    std::string::npos) << r.body;
	EXPECT_NE(r.body.find("\ngatewayd_link_failures_total{device=\"d1\","
	    "link=\"device\"} 1\n"), std::string::npos) << r.body;

	// Every link of the device at once; one that is not up is said so.
	ASSERT_TRUE(eventually([&] {
		return http_get(sport, "/status").body.find("\"state\":\"up\"") !=
		    std::string::npos; }, 5000));
	EXPECT_EQ(gwctl({ "-S", sock, "disconnect", "d1" }, &out), 0) << out;
	EXPECT_EQ(out, "d1/device: disconnected\nd1/upstream: not up\n"
	    "OK: disconnected 1 link of d1 (reason operator); it reconnects as "
	    "after any failure\n");
	EXPECT_TRUE(wait_closed(dev, 5000));
	close(dev);
	EXPECT_EQ(gwctl({ "-S", sock, "disconnect", "d1", "upstream" }, &out), 1)
	    << out;
	EXPECT_EQ(out, "d1/upstream: not up\nWARNING: nothing to disconnect: "
	    "no link of d1 asked for was up\n");
	close(dl);
}

// A bad command, an unknown device or link: one line, a non-zero exit.
TEST(Control, BadCommandsAreOneLineErrors)
{
	TestDir dir;
	const std::string sock = dir.path("ctl.sock");
	int dport, dl = tcp_bound(&dport);
	ASSERT_NE(dl, -1);
	GatewayProcess g(preamble(sock) + "devices = (\n" + device("d1", dport) +
	    "\n);\n");
	ASSERT_TRUE(serving(g)) << g.log();
	std::string out;

	EXPECT_EQ(gwctl({ "-S", sock, "disconnect", "nosuch" }, &out), 3) << out;
	EXPECT_EQ(out, "UNKNOWN: no such device: nosuch\n");
	EXPECT_EQ(gwctl({ "-S", sock, "disconnect", "d1", "rx" }, &out), 3)
	    << out;
	EXPECT_EQ(out, "UNKNOWN: d1 has no rx link (its links: device, "
	    "upstream)\n");
	EXPECT_EQ(gwctl({ "-S", sock, "disconnect", "d1", "cable" }, &out), 3)
	    << out;
	EXPECT_EQ(out, "UNKNOWN: no such link: d1/cable (want device, rx, tx or "
	    "upstream)\n");
	// A name longer than any: said at once, the command never cut.
	EXPECT_EQ(gwctl({ "-S", sock, "disconnect", std::string(300, 'x') },
	    &out), 3) << out;
	EXPECT_EQ(out, "UNKNOWN: a device or link name has at most 64 "
	    "characters\n");
	EXPECT_EQ(gwctl({ "-S", sock, "frobnicate" }, &out), 3) << out;
	EXPECT_NE(out.find("usage: gwctl"), std::string::npos) << out;
	EXPECT_EQ(gwctl({ "-S", sock, "reload", "now" }, &out), 3) << out;
	EXPECT_EQ(gwctl({ "-s", "127.0.0.1:1", "reload" }, &out), 3) << out;
	EXPECT_EQ(out, "UNKNOWN: reload needs the control socket (-S PATH), not "
	    "the status server\n");
	EXPECT_EQ(gwctl({ "-S", dir.path("none.sock") }, &out), 3) << out;
	EXPECT_EQ(out, "UNKNOWN: cannot connect to " + dir.path("none.sock") +
	    ": No such file or directory\n");

	// What another client than gwctl may send.
	EXPECT_EQ(unix_request(sock, "frobnicate\n"), "UNKNOWN: unknown command "
	    "frobnicate (want status, reload, disconnect or trace)\n");
	EXPECT_EQ(unix_request(sock, "\n"), "UNKNOWN: no command (want status, "
	    "reload, disconnect or trace)\n");
	EXPECT_EQ(unix_request(sock, "status -x\n"), "UNKNOWN: usage: status "
	    "[-v]\n");
	EXPECT_EQ(unix_request(sock, "disconnect\n"), "UNKNOWN: usage: "
	    "disconnect DEVICE [LINK]\n");
	EXPECT_EQ(unix_request(sock, std::string(600, 'x')), "UNKNOWN: command "
	    "line too long (want at most 512 bytes)\n");
	// The end of what it sends ends a line too: the whole status answer
	// (not compared with another one: the device's link moves between
	// down and connecting as it redials).
	std::string eof = unix_request(sock, "status", 5000, true);
	EXPECT_EQ(last_line(eof), "OK: 2 links") << eof;
	EXPECT_EQ(std::count(eof.begin(), eof.end(), '\n'), 3) << eof;
	const std::string first = "| d1\tdevice\t";
	EXPECT_EQ(eof.compare(0, first.size(), first), 0) << eof;
	// One that says nothing is told so and closed after its deadline,
	// and the server serves on meanwhile.
	int idle = unix_connect(sock);
	ASSERT_NE(idle, -1);
	EXPECT_EQ(last_line(unix_request(sock, "status\n")), "OK: 2 links");
	char buf[128] = "";
	EXPECT_TRUE(read_exact(idle, buf, 31, 8000));
	EXPECT_STREQ(buf, "UNKNOWN: no command within 5 s\n");
	EXPECT_TRUE(wait_closed(idle, 1000));
	close(idle);
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0) << g.log();
	close(dl);
}

// Traces left open never lock out the other commands: the thirteenth is
// refused, and status still answers.
TEST(Control, TracesLeaveRoomForTheOtherCommands)
{
	TestDir dir;
	const std::string sock = dir.path("ctl.sock");
	int dport, dl = tcp_bound(&dport);
	ASSERT_NE(dl, -1);
	GatewayProcess g(four_devices(sock, dport));
	ASSERT_TRUE(serving(g)) << g.log();
	std::vector<int> traces;
	ASSERT_TRUE(open_twelve_traces(sock, &traces));
	int c = unix_connect(sock);
	ASSERT_NE(c, -1);
	traces.push_back(c);
	ASSERT_TRUE(write_all(c, "trace d4\n", 9, 5000));
	const std::string refused = "UNKNOWN: cannot trace: 12 traces run "
	    "already, the limit; the other 4 places are kept for status, "
	    "reload and disconnect\n";
	std::string got(refused.size(), '\0');
	ASSERT_TRUE(read_exact(c, &got[0], got.size(), 5000));
	EXPECT_EQ(got, refused);
	std::string out;
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(gwctl({ "-S", sock, "status" }, &out), 2) << out;
		EXPECT_NE(out.find("d4"), std::string::npos) << out;
	}
	EXPECT_EQ(gwctl({ "-S", sock, "reload" }, &out), 0) << out;
	for (int fd : traces)
		close(fd);
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0) << g.log();
	close(dl);
}

// With every slot taken, gwctl says the server's refusal and exits 3, run
// after run: the server answers and closes at once, maybe before gwctl's
// command is sent, and gwctl reads the answer all the same.
TEST(Control, AllSlotsTakenGwctlSaysTheRefusal)
{
	TestDir dir;
	const std::string sock = dir.path("ctl.sock");
	const std::string refusal = "UNKNOWN: too many control connections: "
	    "try again\n";
	int dport, dl = tcp_bound(&dport);
	ASSERT_NE(dl, -1);
	GatewayProcess g(four_devices(sock, dport));
	ASSERT_TRUE(serving(g)) << g.log();

	// Twelve traces, which have no deadline, and four clients that have
	// not sent their command yet, which have 5 s to, hold every slot.
	std::vector<int> traces;
	ASSERT_TRUE(open_twelve_traces(sock, &traces));
	int64_t filled = clock_ms();
	for (int i = 0; i < 4; i++) {
		int c = unix_connect(sock);
		ASSERT_NE(c, -1);
		traces.push_back(c);
	}
	std::string out;
	int runs = 0;
	// Each run begins 2.5 s or more before the four expire (5 s).
	for (; runs < 20 && clock_ms() - filled < 2500; runs++) {
		EXPECT_EQ(gwctl({ "-S", sock, "status" }, &out), 3) << out;
		EXPECT_EQ(out, refusal) << "run " << runs;
	}
	EXPECT_GE(runs, 3);
	for (int c : traces)
		close(c);
	// The slots come back.
	EXPECT_TRUE(eventually([&] {
		return gwctl({ "-S", sock, "status" }, &out) == 2; }, 5000))
	    << out;
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0) << g.log();
	close(dl);
}

// File permissions are the authentication: a 0660 socket of root's
// refuses another uid; once its mode lets that uid in, the daemon logs
// that uid with what it asked.
TEST(Control, APeerWithoutPermissionIsRefused)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "needs root, to run gwctl as another uid";
	const std::string setpriv = find_in_path("setpriv");
	if (setpriv.empty())
		GTEST_SKIP() << "setpriv not found (util-linux)";
	TestDir dir;
	const std::string sock = dir.path("ctl.sock");
	const std::string tool = dir.path("gwctl");
	// The directory and the copy of gwctl are open to all: only the
	// socket's own mode stands in the way.
	ASSERT_TRUE(std::filesystem::copy_file(kGwctl, tool));
	ASSERT_EQ(chmod(tool.c_str(), 0755), 0);
	ASSERT_EQ(chmod(dir.path("").c_str(), 0755), 0);
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	GatewayProcess g(preamble(sock) + "devices = (\n" + device("d1", dport) +
	    "\n);\n");
	ASSERT_TRUE(serving(g)) << g.log();
	int dev = tcp_accept(dl, 5000);
	ASSERT_NE(dev, -1);
	const std::vector<std::string> nobody = { setpriv, "--reuid=65534",
	    "--regid=65534", "--clear-groups", tool, "-S", sock };
	auto as_nobody = [&](const std::vector<std::string> &args,
	    std::string *out) {
		std::vector<std::string> argv = nobody;
		argv.insert(argv.end(), args.begin(), args.end());
		return run_command(argv, out, 20000);
	};

	std::string out;
	EXPECT_EQ(as_nobody({ "disconnect", "d1" }, &out), 3) << out;
	EXPECT_EQ(out, "UNKNOWN: cannot connect to " + sock + ": Permission "
	    "denied\n");
	EXPECT_EQ(as_nobody({ "status" }, &out), 3) << out;
	EXPECT_TRUE(stays_quiet(dev, 200));
	EXPECT_FALSE(g.log_contains("uid 65534")) << g.log();

	ASSERT_EQ(chmod(sock.c_str(), 0666), 0);
	EXPECT_EQ(as_nobody({ "disconnect", "d1", "device" }, &out), 0) << out;
	EXPECT_TRUE(wait_closed(dev, 5000));
	EXPECT_TRUE(eventually([&] {
		return g.log_contains("d1/device down: operator (disconnected by "
		    "uid 65534 (pid "); }, 5000)) << g.log();
	close(dev);
	close(dl);
}

// A socket file left by a gateway that is gone is replaced; one another
// process answers on, or a file that is no socket, is left alone, and the
// gateway relays without a control socket.
TEST(Control, StaleSocketIsReplacedALiveOneLeftAlone)
{
	TestDir dir;
	const std::string sock = dir.path("ctl.sock");
	struct sockaddr_un sun = {};
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock.c_str(), sock.size() + 1);
	int dport, dl = tcp_bound(&dport);
	ASSERT_NE(dl, -1);
	const std::string conf = preamble(sock) + "devices = (\n" +
	    device("d1", dport) + "\n);\n";

	// Stale: bound, then closed without unlinking.
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_EQ(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(s);
	{
		GatewayProcess g(conf);
		ASSERT_TRUE(serving(g)) << g.log();
		EXPECT_EQ(last_line(unix_request(sock, "status\n")),
		    "OK: 2 links");
		EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
	}

	// Live: another listener answers there.
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_EQ(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ASSERT_EQ(listen(s, 4), 0);
	{
		GatewayProcess g(conf);
		ASSERT_TRUE(eventually([&] { return g.log_contains(
		    "control.socket: " + sock + " is in use by another process; "
		    "running without the control socket"); }, 5000)) << g.log();
		ASSERT_TRUE(eventually([&] {
			return g.log_contains("started 1 device"); }, 5000));
		struct stat st;
		EXPECT_EQ(lstat(sock.c_str(), &st), 0);
		EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
	}
	int c = unix_connect(sock);
	EXPECT_NE(c, -1) << "the other listener's socket was taken away";
	if (c != -1)
		close(c);
	close(s);
	unlink(sock.c_str());

	// Not a socket at all.
	dir.write("ctl.sock", "keep me\n");
	{
		GatewayProcess g(conf);
		ASSERT_TRUE(eventually([&] { return g.log_contains(
		    "control.socket: " + sock + " exists and is not a socket"); },
		    5000)) << g.log();
		EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0);
	}
	struct stat st;
	ASSERT_EQ(lstat(sock.c_str(), &st), 0);
	EXPECT_TRUE(S_ISREG(st.st_mode));
	close(dl);
}

// A control socket whose server does not answer (a daemon stopped with
// SIGSTOP, or hung): gwctl says so within its deadline, exit 3, both
// when the server's queue took the connection and when it is full.
TEST(Control, GwctlGivesUpOnASocketThatDoesNotAnswer)
{
	TestDir dir;
	auto listener = [&](const std::string &name, int backlog) {
		struct sockaddr_un sun = {};
		sun.sun_family = AF_UNIX;
		const std::string path = dir.path(name);
		memcpy(sun.sun_path, path.c_str(), path.size() + 1);
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		EXPECT_EQ(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
		EXPECT_EQ(listen(s, backlog), 0);
		return std::make_pair(s, sun);
	};
	// Takes the connection into its queue, never accepts it.
	auto quiet = listener("quiet.sock", 4);
	// Its queue full: a connect fails with EAGAIN.
	auto full = listener("full.sock", 0);
	std::vector<int> queued;
	for (int i = 0; i < 64; i++) {
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (connect(c, (struct sockaddr *)&full.second,
		    sizeof(full.second)) == -1) {
			EXPECT_EQ(errno, EAGAIN);
			close(c);
			break;
		}
		queued.push_back(c);
	}
	ASSERT_FALSE(queued.empty());
	ASSERT_LT(queued.size(), 64u);

	std::string out_quiet, out_full;
	int rc_quiet = -2, rc_full = -2;
	auto t0 = std::chrono::steady_clock::now();
	std::thread a([&] { rc_quiet = gwctl({ "-S", dir.path("quiet.sock"),
	    "status" }, &out_quiet); });
	std::thread b([&] { rc_full = gwctl({ "-S", dir.path("full.sock"),
	    "status" }, &out_full); });
	a.join();
	b.join();
	auto secs = std::chrono::duration_cast<std::chrono::seconds>(
	    std::chrono::steady_clock::now() - t0).count();
	EXPECT_EQ(rc_quiet, 3) << out_quiet;
	EXPECT_EQ(out_quiet, "UNKNOWN: no answer from " +
	    dir.path("quiet.sock") + " within 10 s\n");
	EXPECT_EQ(rc_full, 3) << out_full;
	EXPECT_EQ(out_full, "UNKNOWN: no answer from " +
	    dir.path("full.sock") + " within 10 s: it accepts no connection\n");
	EXPECT_LT(secs, 14);
	for (int c : queued)
		close(c);
	close(quiet.first);
	close(full.first);
}
