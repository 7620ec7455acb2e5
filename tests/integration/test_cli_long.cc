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
	EXPECT_EQ(out, "configuration OK\n");
	EXPECT_EQ(gatewayd({ "--check", "--config=" + good }, &out), 0) << out;
	EXPECT_EQ(gatewayd({ "--config", bad, "--check" }, &out), 78) << out;
	EXPECT_NE(out.find("bad.conf:2: bogus"), std::string::npos) << out;
}
