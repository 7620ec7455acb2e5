// test_cli_long.cc -- gatewayd's long options: the same behaviour as the
// short ones, --help exits 0, a bad option exits 64.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gwtest.h"
#include "http.h"

namespace {

// gatewayd's exit code with args; *out gets stdout and stderr.
int
gatewayd(const std::vector<std::string> &args, std::string *out)
{
	std::vector<std::string> argv = { GW_GATEWAYD };

	argv.insert(argv.end(), args.begin(), args.end());
	return run_command(argv, out, 15000);
}

const std::string kValid = "version = 1;\nstatus = { listen = \"\"; };\n"
    "devices = ( { name = \"d1\"; device = { connect = \"127.0.0.1:1\"; };\n"
    "  upstream = { listen = \"127.0.0.1:2\"; }; } );\n";

}  // namespace

TEST(CliLong, HelpAndVersion)
{
	std::string out, shortout;

	EXPECT_EQ(gatewayd({ "--help" }, &out), 0) << out;
	EXPECT_EQ(out.rfind("usage: gatewayd", 0), 0u) << out;
	for (const char *opt : { "--config", "--check", "--version", "--help" })
		EXPECT_NE(out.find(opt), std::string::npos) << opt;
	EXPECT_EQ(gatewayd({ "-h" }, &shortout), 0);
	EXPECT_EQ(out, shortout);

	EXPECT_EQ(gatewayd({ "--version" }, &out), 0) << out;
	EXPECT_EQ(out, std::string("gatewayd ") + GATEWAYD_VERSION + "\n");
}

TEST(CliLong, BadOptionIsUsageError)
{
	std::string out;

	EXPECT_EQ(gatewayd({ "--no-such-option" }, &out), 64) << out;
	EXPECT_NE(out.find("usage: gatewayd"), std::string::npos) << out;
	EXPECT_EQ(gatewayd({ "--config" }, &out), 64) << out;
	EXPECT_EQ(gatewayd({ "--check" }, &out), 64) << out;
	EXPECT_EQ(gatewayd({ "--help=yes" }, &out), 64) << out;
}

TEST(CliLong, CheckWithConfig)
{
	TestDir dir;
	std::string out;
	std::string good = dir.write("good.conf", kValid);
	std::string bad = dir.write("bad.conf", "version = 1;\nbogus = 3;\n");

	EXPECT_EQ(gatewayd({ "--check", "--config", good }, &out), 0) << out;
	// Then each link's detection budgets, with the defaults: keepalive
	// 2 + 1 * 3 s, user and stall timeouts 5 s, plus one 100 ms period.
	EXPECT_EQ(out, "configuration OK\n"
	    "d1/device: idle peer 5.1 s, data in flight 5.1 s, stalled peer "
	    "5.1 s, FIN/RST 0.1 s; survives a silent blip of 2.0 s\n"
	    "d1/upstream: idle peer 5.1 s, data in flight 5.1 s, stalled peer "
	    "5.1 s, FIN/RST 0.1 s; survives a silent blip of 2.0 s\n");
	EXPECT_EQ(gatewayd({ "--check", "--config=" + good }, &out), 0) << out;
	EXPECT_EQ(gatewayd({ "--config", bad, "--check" }, &out), 78) << out;
	EXPECT_NE(out.find("bad.conf:2: bogus"), std::string::npos) << out;
}

// -t shows each link's budgets as the watchdog's arithmetic has them: an rx
// link has no data in flight, rx_silence is for what the device says (not
// on tx, which reads nothing, nor upstream), the watchdog period adds to each, and a budget over a minute or a link that
// survives no blip is warned about.
TEST(CliLong, CheckShowsBudgetsPerLinkAndWarns)
{
	TestDir dir;
	std::string out;
	std::string conf = dir.write("b.conf", "version = 1;\n"
	    "status = { listen = \"\"; };\nwatchdog = { period_ms = 200; };\n"
	    "devices = (\n"
	    "{ name = \"s\"; device = { rx = { listen = \"127.0.0.1:0\"; };\n"
	    "  tx = { connect = \"127.0.0.1:1\"; }; };\n"
	    "  upstream = { listen = \"127.0.0.1:0\"; };\n"
	    "  rx_silence_ms = 3000; },\n"
	    "{ name = \"slow\"; device = { connect = \"127.0.0.1:1\"; };\n"
	    "  upstream = { listen = \"127.0.0.1:0\"; };\n"
	    "  keepalive = { idle_s = 60; interval_s = 5; count = 1; };\n"
	    "  user_timeout_ms = 70000; },\n"
	    "{ name = \"deaf\"; device = { connect = \"127.0.0.1:1\"; };\n"
	    "  upstream = { listen = \"127.0.0.1:0\"; };\n"
	    "  stall_timeout_ms = 90000; }\n);\n");

	EXPECT_EQ(gatewayd({ "-t", "-c", conf }, &out), 0) << out;
	for (const char *line : {
	    "s/rx: idle peer 5.2 s, data in flight -, stalled peer -, FIN/RST "
	    "0.2 s, no byte received 3.2 s; survives a silent blip of 2.0 s\n",
	    "s/tx: idle peer 5.2 s, data in flight 5.2 s, stalled peer 5.2 s, "
	    "FIN/RST 0.2 s; survives a silent blip of 2.0 s\n",
	    "s/upstream: idle peer 5.2 s, data in flight 5.2 s, stalled peer "
	    "5.2 s, FIN/RST 0.2 s; survives a silent blip of 2.0 s\n",
	    "slow/device: idle peer 65.2 s, data in flight 70.2 s, stalled "
	    "peer 5.2 s, FIN/RST 0.2 s; survives a silent blip of 0.0 s\n",
	    "warning: slow/device: a silent idle peer goes unnoticed for up to "
	    "65.2 s (more than 60 s)\n",
	    "warning: slow/device: survives no silent blip at all: one lost "
	    "keepalive probe drops the link\n",
	    "warning: slow/device: a silent peer with data in flight goes "
	    "unnoticed for up to 70.2 s (more than 60 s)\n",
	    "deaf/device: idle peer 5.2 s, data in flight 5.2 s, stalled peer "
	    "90.2 s, FIN/RST 0.2 s; survives a silent blip of 2.0 s\n",
	    "warning: deaf/device: a peer that stopped reading goes unnoticed "
	    "for up to 90.2 s (more than 60 s)\n" })
		EXPECT_NE(out.find(line), std::string::npos) << line << out;
	// Nothing else is warned about: the rx link's 3.2 s of rx_silence_ms
	// was asked for, and every other budget is under a minute. (slow's
	// and deaf's upstreams share their device's policy: 3 and 1 more.)
	size_t warnings = 0;
	for (size_t at = 0; (at = out.find("\nwarning: ", at)) !=
	    std::string::npos; at++)
		warnings++;
	EXPECT_EQ(warnings, 8u) << out;
}
