// tools/gwctl against a live in-process gateway on loopback: the table and
// the health-check exit codes. Every wait is bounded.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "gwtest.h"
#include "http.h"
#include "net.h"

namespace {

const std::string kGwctl = GW_SOURCE_DIR "/tools/gwctl";

std::string
loopback(int port)
{
	return "127.0.0.1:" + std::to_string(port);
}

std::string
config(int sport, int d1port, int u1port, int d2port, int u2port)
{
	std::string p = test_preamble();
	const std::string off = "status = { listen = \"\"; };";
	size_t at = p.find(off);

	if (at == std::string::npos)
		return "";
	p.replace(at, off.size(), "status = { listen = \"" + loopback(sport) +
	    "\"; };");
	return p + "devices = (\n"
	    "  { name = \"press1\"; device = { connect = \"" + loopback(d1port) +
	    "\"; }; upstream = { listen = \"" + loopback(u1port) + "\"; }; },\n"
	    "  { name = \"scanner2\"; device = { connect = \"" +
	    loopback(d2port) + "\"; }; upstream = { listen = \"" +
	    loopback(u2port) + "\"; }; }\n);\n";
}

// gwctl's exit code; *out gets its output.
int
gwctl(const std::vector<std::string> &args, std::string *out)
{
	std::vector<std::string> argv = { "/bin/sh", kGwctl };
	argv.insert(argv.end(), args.begin(), args.end());
	return run_command(argv, out, 15000);
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
	if (find_in_path("curl").empty()) {
		if (getenv("CI") != nullptr)
			FAIL() << "curl not found (tools/setup.sh installs it)";
		GTEST_SKIP() << "curl not found: gwctl needs it";
	}
	int d1port, d1 = tcp_listen(&d1port);
	int d2port = free_port(), u1port = free_port(), u2port = free_port();
	int sport = free_port();
	ASSERT_NE(d1, -1);
	InProcessGateway g(config(sport, d1port, u1port, d2port, u2port));
	ASSERT_TRUE(g.ok());
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

	// scanner2's device refuses connections: down, exit 1.
	std::string out;
	int rc = gwctl({ "-s", loopback(sport) }, &out);
	EXPECT_EQ(rc, 1) << out;
	EXPECT_EQ(out.rfind("DEVICE", 0), 0u) << out;
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

	// The device comes up and a host connects: every link up, exit 0.
	int d2 = tcp_listen_on(d2port);
	ASSERT_NE(d2, -1);
	int dev2 = tcp_accept(d2, 5000);
	ASSERT_NE(dev2, -1);
	ASSERT_TRUE(eventually([&] { return g.up("scanner2", LINK_KIND_DEVICE); },
	    5000));
	int host2 = tcp_connect(u2port, 5000);
	ASSERT_NE(host2, -1);
	ASSERT_TRUE(eventually([&] {
		return g.up("scanner2", LINK_KIND_UPSTREAM); }, 5000));
	rc = gwctl({ "-s", loopback(sport) }, &out);
	EXPECT_EQ(rc, 0) << out;
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
	EXPECT_EQ(rc, 1) << out;
	w = row(out, "scanner2", "device");
	ASSERT_EQ(w.size(), 8u) << out;
	EXPECT_EQ(w[5], "peer_reset");

	close(host2);
	close(host1);
	close(dev1);
	close(d1);
}

TEST(Gwctl, CannotFetchIsTwoAndBadUsageIs64)
{
	if (find_in_path("curl").empty()) {
		if (getenv("CI") != nullptr)
			FAIL() << "curl not found (tools/setup.sh installs it)";
		GTEST_SKIP() << "curl not found: gwctl needs it";
	}
	std::string out;
	EXPECT_EQ(gwctl({ "-s", loopback(free_port()) }, &out), 2) << out;
	EXPECT_NE(out.find("cannot fetch"), std::string::npos) << out;
	EXPECT_EQ(gwctl({ "-x" }, &out), 64) << out;
	EXPECT_EQ(gwctl({ "extra" }, &out), 64) << out;
	EXPECT_EQ(gwctl({ "-h" }, &out), 0) << out;
	EXPECT_NE(out.find("usage: gwctl"), std::string::npos) << out;
}
