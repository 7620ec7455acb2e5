// The last words of a dead link, end to end: the last 64 bytes received
// from and sent to it when it failed, in /status and in gwctl status -v,
// on both relay paths; bulk that passed zero-copy is counted, not shown.
#include <gtest/gtest.h>

#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "gwtest.h"
#include "http.h"
#include "net.h"

namespace {

const std::string kGwctl = GW_GWCTL;

struct Rig {
	TestDir dir;
	std::string sock = dir.path("ctl.sock");
	DeviceProcess d;
	int &dev = d.dev, &up = d.up;
	std::unique_ptr<GatewayProcess> &g = d.g;

	explicit Rig(const std::string &relay)
	    : d(test_preamble_with(sock, false), "p1", "relay = \"" + relay +
	    "\";") {}
	bool ready() const
	{
		return dev != -1 && up != -1;
	}
	// gwctl -S status -v once the device link has failed.
	std::string
	verbose_status()
	{
		std::string out;
		eventually([&] {
			run_command({ kGwctl, "-S", sock, "-v", "status" }, &out,
			    5000);
			return out.find("p1/device: last failure") !=
			    std::string::npos;
		}, 5000);
		return out;
	}
};

class LastWords : public ::testing::TestWithParam<const char *> {};

}  // namespace

// A press answers a telegram and its link dies: what it said last and what
// it was told last, whole, hex and ASCII.
TEST_P(LastWords, ATelegramExchangeBeforeTheFailure)
{
	Rig r(GetParam());
	ASSERT_TRUE(r.ready()) << r.g->log();
	const std::string ask = "\x02READ D100\x03", said = "\x02OK 42\x03";
	ASSERT_TRUE(roundtrip(r.up, r.dev, ask));
	ASSERT_TRUE(roundtrip(r.dev, r.up, said));
	close_reset(r.dev);
	r.dev = -1;

	// The reset is found by recv() or by the watchdog, which word it
	// differently.
	std::string out = r.verbose_status();
	EXPECT_TRUE(re_search(out, "\np1/device: last failure peer_reset "
	    "\\([^\n]+\\)\n"
	    "  last received: 024f4b20343203  \\|\\.OK 42\\.\\|\n"
	    "  last sent: 0252454144204431303003  \\|\\.READ D100\\.\\|\n"))
	    << out;
}

// More than 64 bytes in small pieces: the last 64 of them, in order.
TEST_P(LastWords, OnlyTheLast64Bytes)
{
	Rig r(GetParam());
	ASSERT_TRUE(r.ready()) << r.g->log();
	std::string all;
	for (int i = 0; i < 30; i++) {
		std::string line = "line " + std::to_string(i) + "\n";
		ASSERT_TRUE(roundtrip(r.dev, r.up, line));
		all += line;
	}
	close_reset(r.dev);
	r.dev = -1;
	std::string tail = all.substr(all.size() - 64), hex;
	for (unsigned char c : tail) {
		char b[3];
		snprintf(b, sizeof(b), "%02x", c);
		hex += b;
	}
	std::string out = r.verbose_status();
	EXPECT_NE(out.find("  last received: " + hex + "  |"),
	    std::string::npos) << out;
	EXPECT_NE(out.find("  last sent: nothing\n"), std::string::npos) << out;
}

INSTANTIATE_TEST_SUITE_P(Relay, LastWords, ::testing::Values("copy",
    "splice"));

// Bulk on the zero-copy path passes unseen: the last words say how much
// went by after the bytes they show; on the copy path they are its tail.
TEST(LastWordsBulk, ZeroCopyBulkIsCountedNotShown)
{
	for (const char *relay : { "splice", "copy" }) {
		SCOPED_TRACE(relay);
		Rig r(relay);
		ASSERT_TRUE(r.ready()) << r.g->log();
		ASSERT_TRUE(roundtrip(r.dev, r.up, "hello"));
		const size_t total = 8u << 20;
		std::vector<uint8_t> in(total), got(total);
		fill_random(in.data(), total, 3);
		bool sent = false;
		std::thread w([&] {
			sent = write_all(r.dev, in.data(), total, 10000); });
		bool read = read_exact(r.up, got.data(), total, 10000);
		w.join();
		ASSERT_TRUE(sent && read);
		close_reset(r.dev);
		r.dev = -1;
		std::string out = r.verbose_status();
		std::string hex;
		for (size_t i = total - 64; i < total; i++) {
			char b[3];
			snprintf(b, sizeof(b), "%02x", in[i]);
			hex += b;
		}
		if (std::string(relay) == "copy") {
			EXPECT_NE(out.find("  last received: " + hex + "  |"),
			    std::string::npos) << out;
			EXPECT_EQ(out.find("unseen"), std::string::npos) << out;
		} else {
			// A last chunk under a page is seen: then the words are
			// the exact tail. A last bulk chunk passes unseen: then
			// the bytes after the words shown are counted.
			bool tail = out.find("  last received: " + hex + "  |") !=
			    std::string::npos;
			bool counted = out.find(" bytes unseen (zero copy)\n  "
			    "last sent: nothing\n") != std::string::npos;
			EXPECT_TRUE(tail != counted) << out;
		}
	}
}
