// gwctl against a live in-process gateway's status server on loopback: the
// summary, the table and the monitoring-plugin exit codes. Every wait is
// bounded. (The control socket's commands: test_control.cc.)
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gwtest.h"
#include "http.h"
#include "net.h"

namespace {

const std::string kGwctl = GW_GWCTL;

std::string
loopback(int port)
{
	return "127.0.0.1:" + std::to_string(port);
}

// The status server and both upstreams on port 0 (the ports they get are
// in the log and the snapshot); press1 and scanner2 dial d1port, d2port.
std::string
config(int d1port, int d2port)
{
	std::string p = test_preamble();
	const std::string off = "status = { listen = \"\"; };";
	size_t at = p.find(off);

	if (at == std::string::npos)
		return "";
	p.replace(at, off.size(), "status = { listen = \"127.0.0.1:0\"; };");
	return p + "devices = (\n"
	    "  { name = \"press1\"; device = { connect = \"" + loopback(d1port) +
	    "\"; }; upstream = { listen = \"127.0.0.1:0\"; }; },\n"
	    "  { name = \"scanner2\"; device = { connect = \"" +
	    loopback(d2port) + "\"; }; upstream = { listen = "
	    "\"127.0.0.1:0\"; }; }\n);\n";
}

// gwctl's exit code; *out gets its output.
int
gwctl(const std::vector<std::string> &args, std::string *out)
{
	std::vector<std::string> argv = { kGwctl };
	argv.insert(argv.end(), args.begin(), args.end());
	return run_command(argv, out, 15000);
}

// The first line of out.
std::string
first_line(const std::string &out)
{
	return out.substr(0, out.find('\n'));
}

// The whitespace-separated words of the line of out that starts with the
// words dev and link.
std::vector<std::string>
row(const std::string &out, const std::string &dev, const std::string &link)
{
	std::istringstream lines(out);
	std::string line;

	while (std::getline(lines, line)) {
		std::istringstream in(line);
		std::vector<std::string> w;
		std::string word;
		while (in >> word)
			w.push_back(word);
		if (w.size() >= 2 && w[0] == dev && w[1] == link)
			return w;
	}
	return {};
}

}  // namespace

TEST(Gwctl, TableAndHealthExitCodes)
{
	int d1port, d1 = tcp_listen(&d1port);
	// scanner2's device: a port of ours, refusing until it listens.
	int d2port, d2 = tcp_bound(&d2port);
	ASSERT_NE(d1, -1);
	ASSERT_NE(d2, -1);
	InProcessGateway g(config(d1port, d2port));
	ASSERT_TRUE(g.ok());
	int sport = logged_port(g, "status: serving");
	int u1port = g.listen_port("press1", LINK_KIND_UPSTREAM);
	int u2port = g.listen_port("scanner2", LINK_KIND_UPSTREAM);
	ASSERT_GT(sport, 0) << g.log();
	ASSERT_GT(u1port, 0);
	ASSERT_GT(u2port, 0);
	int dev1 = tcp_accept(d1, 5000);
	ASSERT_NE(dev1, -1);
	ASSERT_TRUE(eventually([&] { return g.up("press1", LINK_KIND_DEVICE); },
	    5000));
	int host1 = tcp_connect(u1port, 5000);
	ASSERT_NE(host1, -1);
	ASSERT_TRUE(eventually([&] { return g.up("press1", LINK_KIND_UPSTREAM); },
	    5000));
	ASSERT_TRUE(write_all(host1, "hello", 5, 5000));
	char buf[5];
	ASSERT_TRUE(read_exact(dev1, buf, 5, 5000));

	// scanner2's device refuses connections: its device link is down,
	// and its upstream link with it: CRITICAL, exit 2.
	std::string out;
	int rc = gwctl({ "-s", loopback(sport) }, &out);
	EXPECT_EQ(rc, 2) << out;
	EXPECT_EQ(first_line(out), "CRITICAL: 2 of 4 links down: "
	    "scanner2/device, scanner2/upstream") << out;
	EXPECT_EQ(out.find("\nDEVICE "), first_line(out).size()) << out;
	for (const char *h : { "LINK", "STATE", "PEER", "SINCE", "LAST-REASON",
	    "BYTES-IN", "BYTES-OUT" })
		EXPECT_NE(out.find(h), std::string::npos) << h;
	std::vector<std::string> w = row(out, "press1", "device");
	ASSERT_EQ(w.size(), 8u) << out;
	EXPECT_EQ(w[2], "up");
	EXPECT_EQ(w[3], loopback(d1port));
	EXPECT_EQ(w[4].rfind("20", 0), 0u) << w[4];
	EXPECT_EQ(w[5], "-");
	EXPECT_EQ(w[6], "0");
	EXPECT_EQ(w[7], "5");
	w = row(out, "press1", "upstream");
	ASSERT_EQ(w.size(), 8u) << out;
	EXPECT_EQ(w[2], "up");
	EXPECT_EQ(w[6], "5");
	w = row(out, "scanner2", "device");
	ASSERT_EQ(w.size(), 8u) << out;
	EXPECT_TRUE(w[2] == "down" || w[2] == "connecting") << w[2];
	EXPECT_EQ(w[3], "-");

	// The device comes up; its host is not connected yet: WARNING, exit 1.
	ASSERT_EQ(listen(d2, 16), 0);
	int dev2 = tcp_accept(d2, 5000);
	ASSERT_NE(dev2, -1);
	ASSERT_TRUE(eventually([&] { return g.up("scanner2", LINK_KIND_DEVICE); },
	    5000));
	rc = gwctl({ "-s", loopback(sport) }, &out);
	EXPECT_EQ(rc, 1) << out;
	EXPECT_EQ(first_line(out), "WARNING: 1 of 4 links down: "
	    "scanner2/upstream") << out;
	w = row(out, "scanner2", "device");
	ASSERT_EQ(w.size(), 8u) << out;
	EXPECT_EQ(w[2], "up");

	// The host connects: every link up, OK, exit 0.
	int host2 = tcp_connect(u2port, 5000);
	ASSERT_NE(host2, -1);
	ASSERT_TRUE(eventually([&] {
		return g.up("scanner2", LINK_KIND_UPSTREAM); }, 5000));
	rc = gwctl({ "-s", loopback(sport) }, &out);
	EXPECT_EQ(rc, 0) << out;
	EXPECT_EQ(first_line(out), "OK: 4 links up") << out;
	w = row(out, "scanner2", "device");
	ASSERT_EQ(w.size(), 8u) << out;
	EXPECT_EQ(w[2], "up");
	EXPECT_EQ(w[3], loopback(d2port));

	// The device resets: down again, with its reason.
	close(d2);
	close_reset(dev2);
	ASSERT_TRUE(eventually([&] {
		return !g.up("scanner2", LINK_KIND_DEVICE); }, 5000));
	rc = gwctl({ "-s", loopback(sport) }, &out);
	EXPECT_EQ(rc, 2) << out;
	EXPECT_EQ(first_line(out).rfind("CRITICAL: ", 0), 0u) << out;
	EXPECT_NE(first_line(out).find("scanner2/device"), std::string::npos)
	    << out;
	w = row(out, "scanner2", "device");
	ASSERT_EQ(w.size(), 8u) << out;
	EXPECT_EQ(w[5], "peer_reset");

	close(host2);
	close(host1);
	close(dev1);
	close(d1);
}

// No device at all: nothing is relayed, worth a WARNING.
TEST(Gwctl, NoDeviceIsAWarning)
{
	std::string text = config(1, 2);
	ASSERT_FALSE(text.empty());
	text = text.substr(0, text.find("devices = ("));
	InProcessGateway g(text);
	ASSERT_TRUE(g.ok());
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();
	std::string out;
	EXPECT_EQ(gwctl({ "-s", loopback(sport) }, &out), 1) << out;
	EXPECT_EQ(first_line(out), "WARNING: no links: no device is configured")
	    << out;
}

TEST(Gwctl, CannotFetchAndBadUsageAreUnknown)
{
	// A port of ours that refuses connections.
	int port, fd = tcp_bound(&port);
	ASSERT_NE(fd, -1);
	std::string out;
	std::string where = loopback(port);
	EXPECT_EQ(gwctl({ "-s", where }, &out), 3) << out;
	EXPECT_EQ(out.rfind("UNKNOWN: cannot fetch the status from http://" +
	    where + "/: ", 0), 0u) << out;
	EXPECT_EQ(gwctl({ "-x" }, &out), 3) << out;
	EXPECT_EQ(gwctl({ "extra" }, &out), 3) << out;
	EXPECT_EQ(gwctl({ "-h" }, &out), 0) << out;
	EXPECT_NE(out.find("usage: gwctl"), std::string::npos) << out;
	close(fd);
}

// Something else answers on the port: UNKNOWN, not a verdict on links.
TEST(Gwctl, NotAGatewayIsUnknown)
{
	int port, lfd = tcp_listen(&port);
	ASSERT_NE(lfd, -1);
	std::thread server([lfd] {
		int c = tcp_accept(lfd, 10000);
		char buf[1024];
		if (c == -1)
			return;
		if (read(c, buf, sizeof(buf)) < 0) {
			close(c);
			return;
		}
		const std::string reply = "HTTP/1.0 200 OK\r\n"
		    "Content-Type: text/plain\r\n\r\nhello world\n";
		write_all(c, reply.data(), reply.size(), 5000);
		close(c);
	});
	std::string out;
	EXPECT_EQ(gwctl({ "-s", loopback(port) }, &out), 3) << out;
	EXPECT_EQ(first_line(out), "UNKNOWN: http://" + loopback(port) +
	    "/ did not answer like a gatewayd") << out;
	server.join();
	close(lfd);
}
