// The detection budgets, against gatewayd as a process: -t prints each
// link's, /status shows the same in ms, and a verdict's detection time
// (last_detection_ms) lands within its budget. Ports are 0, read back from
// the log; every wait is bounded.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "gwtest.h"
#include "http.h"
#include "net.h"

namespace {

// The JSON object of one link of a device (link objects hold no nested
// objects).
std::string
json_link(const std::string &json, const std::string &dev,
    const std::string &kind)
{
	size_t d = json.find("{\"name\":\"" + dev + "\"");
	if (d == std::string::npos)
		return "";
	size_t l = json.find("{\"link\":\"" + kind + "\"", d);
	if (l == std::string::npos)
		return "";
	size_t e = json.find('}', l);
	return e == std::string::npos ? "" : json.substr(l, e - l + 1);
}

// The number after "name": in a link object; -1 for null or absent.
long
json_ms(const std::string &link, const std::string &name)
{
	size_t at = link.find("\"" + name + "\":");
	if (at == std::string::npos)
		return -2;
	at += name.size() + 3;
	if (link.compare(at, 4, "null") == 0)
		return -1;
	return strtol(link.c_str() + at, nullptr, 10);
}

// A keepalive of 1 + 1 * 2 s, user timeout 3 s, stall 2.5 s, a 50 ms
// watchdog: budgets 3050, 3050, 2550 ms (-t rounds them up to the tenth),
// a blip of 1 s survived.
std::string
config(int txport, int d2port)
{
	std::string p = test_preamble("  keepalive = { idle_s = 1; "
	    "interval_s = 1; count = 2; };\n  user_timeout_ms = 3000;\n"
	    "  stall_timeout_ms = 2500;\n");
	const std::string st = "status = { listen = \"\"; };";

	p.replace(p.find(st), st.size(), "status = { listen = \"127.0.0.1:0\"; };");
	return p + "devices = (\n"
	    "  { name = \"split\"; device = { rx = { listen = \"127.0.0.1:0\"; "
	    "}; tx = { connect = \"127.0.0.1:" + std::to_string(txport) +
	    "\"; }; }; upstream = { listen = \"127.0.0.1:0\"; }; },\n"
	    "  { name = \"quiet\"; device = { connect = \"127.0.0.1:" +
	    std::to_string(d2port) + "\"; }; upstream = { listen = "
	    "\"127.0.0.1:0\"; }; rx_silence_ms = 400; }\n);\n";
}

}  // namespace

TEST(Budget, CheckAndStatusShowTheSameBudgets)
{
	TestDir dir;
	int txport, txl = tcp_bound(&txport);
	int d2port, d2l = tcp_bound(&d2port);
	ASSERT_NE(txl, -1);
	ASSERT_NE(d2l, -1);
	const std::string conf = config(txport, d2port);
	std::string out;

	ASSERT_EQ(run_command({ GW_GATEWAYD, "-t", "-c", dir.write("gw.conf",
	    conf) }, &out, 10000), 0) << out;
	for (const char *line : {
	    "split/rx: idle peer 3.1 s, data in flight -, stalled peer -, "
	    "FIN/RST 0.1 s; survives a silent blip of 1.0 s\n",
	    "split/tx: idle peer 3.1 s, data in flight 3.1 s, stalled peer "
	    "2.6 s, FIN/RST 0.1 s; survives a silent blip of 1.0 s\n",
	    "split/upstream: idle peer 3.1 s, data in flight 3.1 s, stalled "
	    "peer 2.6 s, FIN/RST 0.1 s; survives a silent blip of 1.0 s\n",
	    "quiet/device: idle peer 3.1 s, data in flight 3.1 s, stalled peer "
	    "2.6 s, FIN/RST 0.1 s, no byte received 0.5 s; survives a silent "
	    "blip of 1.0 s\n" })
		EXPECT_NE(out.find(line), std::string::npos) << line << out;
	EXPECT_EQ(out.find("warning"), std::string::npos) << out;

	GatewayProcess g(conf);
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();
	HttpReply h = http_get(sport, "/status");
	ASSERT_EQ(h.status, 200);
	struct want { const char *dev, *kind; long idle, flight, stall; };
	for (const want &w : { want{ "split", "rx", 3050, -1, -1 },
	    want{ "split", "tx", 3050, 3050, 2550 },
	    want{ "split", "upstream", 3050, 3050, 2550 },
	    want{ "quiet", "device", 3050, 3050, 2550 } }) {
		std::string l = json_link(h.body, w.dev, w.kind);
		ASSERT_FALSE(l.empty()) << w.dev << "/" << w.kind << h.body;
		EXPECT_EQ(json_ms(l, "budget_idle_ms"), w.idle) << l;
		EXPECT_EQ(json_ms(l, "budget_in_flight_ms"), w.flight) << l;
		EXPECT_EQ(json_ms(l, "budget_stall_ms"), w.stall) << l;
		EXPECT_EQ(json_ms(l, "blip_tolerance_ms"), 1000) << l;
		EXPECT_EQ(json_ms(l, "last_detection_ms"), -1) << l;
	}
	close(txl);
	close(d2l);
}

// A device that stays silent past rx_silence_ms: the verdict comes within
// its budget plus one watchdog period, and /status says how long it took.
TEST(Budget, LastDetectionIsWithinTheBudget)
{
	int txport, txl = tcp_bound(&txport);
	int d2port, d2l = tcp_listen(&d2port);
	ASSERT_NE(txl, -1);
	ASSERT_NE(d2l, -1);
	GatewayProcess g(config(txport, d2port));
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();
	int dev = tcp_accept(d2l, 5000);
	ASSERT_NE(dev, -1);

	std::string l;
	ASSERT_TRUE(eventually([&] {
		l = json_link(http_get(sport, "/status").body, "quiet", "device");
		return json_ms(l, "last_detection_ms") >= 0; }, 5000)) << l;
	EXPECT_NE(l.find("\"last_reason\":\"rx_silence\""), std::string::npos)
	    << l;
	long ms = json_ms(l, "last_detection_ms");
	EXPECT_GE(ms, 400) << l;
	// The budget, one watchdog period, and a loaded machine's slack.
	EXPECT_LE(ms, 400 + 50 + 200) << l;
	EXPECT_TRUE(g.log_contains("quiet/device down: rx_silence")) << g.log();
	close(dev);
	close(txl);
	close(d2l);
}

// rx_silence_ms is for what the device says: a host that only reads the
// device's periodic lines is quiet and healthy, and stays.
TEST(Budget, RxSilenceLeavesAHostThatOnlyReads)
{
	int txport, txl = tcp_bound(&txport);
	int d2port, d2l = tcp_listen(&d2port);
	ASSERT_NE(txl, -1);
	ASSERT_NE(d2l, -1);
	// rx_silence_ms = 1000 here: a tick late on a loaded machine must not
	// be what ends the device's link.
	std::string conf = config(txport, d2port);
	const std::string rxs = "rx_silence_ms = 400;";
	conf.replace(conf.find(rxs), rxs.size(), "rx_silence_ms = 1000;");
	GatewayProcess g(conf);
	int uport = logged_port(g, "quiet/upstream: listening");
	ASSERT_GT(uport, 0) << g.log();
	int dev = tcp_accept(d2l, 5000);
	ASSERT_NE(dev, -1);
	int host = tcp_connect(uport, 5000);
	ASSERT_NE(host, -1);
	// A line every 100 ms for 3 s: the host silent for three times
	// rx_silence_ms.
	for (int i = 0; i < 30; i++) {
		ASSERT_TRUE(write_all(dev, "tick\n", 5, 1000));
		char got[6] = "";
		ASSERT_TRUE(read_exact(host, got, 5, 2000)) << "line " << i <<
		    g.log();
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	EXPECT_FALSE(g.log_contains("quiet/upstream down")) << g.log();
	EXPECT_FALSE(g.log_contains("quiet/device down")) << g.log();
	for (int fd : { host, dev, txl, d2l })
		close(fd);
}
