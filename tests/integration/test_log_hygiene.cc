// Log hygiene: a misbehaving device must not flood the log. gatewayd runs
// as a process with stderr captured; a device that refuses connections and
// a device that accepts and closes at once (flapping) run for a few
// seconds, and the lines about each are counted. Every wait is bounded.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>

#include "gwtest.h"
#include "net.h"

namespace {

constexpr int kRunMs = 8000;

// A device that accepts every connection and closes it at once, until
// destroyed.
class FlappingDevice {
public:
	FlappingDevice() : lfd_(tcp_listen(&port_))
	{
		if (lfd_ != -1)
			thread_ = std::thread([this] { run(); });
	}
	~FlappingDevice()
	{
		stop_ = true;
		if (thread_.joinable())
			thread_.join();
		if (lfd_ != -1)
			close(lfd_);
	}
	int port() const { return lfd_ == -1 ? -1 : port_; }
	unsigned accepted() const { return accepted_; }
private:
	void
	run()
	{
		while (!stop_) {
			int fd = tcp_accept(lfd_, 50);
			if (fd == -1)
				continue;
			accepted_++;
			close(fd);
		}
	}
	int port_ = -1;
	int lfd_;
	std::atomic<bool> stop_{false};
	std::atomic<unsigned> accepted_{0};
	std::thread thread_;
};

// The first few lines of log that contain what, for a failure message.
std::string
sample_lines(const std::string &log, const std::string &what, int max = 12)
{
	std::istringstream in(log);
	std::string line, out;

	while (std::getline(in, line) && max > 0)
		if (line.find(what) != std::string::npos) {
			out += line + "\n";
			max--;
		}
	return out;
}

std::string
device_conf(const std::string &name, int dport, int uport)
{
	return "  { name = \"" + name + "\";\n"
	    "    device = { connect = \"127.0.0.1:" + std::to_string(dport) +
	    "\"; };\n"
	    "    upstream = { listen = \"127.0.0.1:" + std::to_string(uport) +
	    "\"; };\n  }";
}

}  // namespace

// A device that refuses every connect: one line when it starts failing;
// the retries (every 20..200 ms) are counted, not logged; when it comes
// back, one line says how many attempts failed and lines were suppressed.
TEST(LogHygiene, RefusingDeviceLogsAHandfulOfLines)
{
	// The device's port: ours, refusing until it listens.
	int dport, l = tcp_bound(&dport);
	ASSERT_NE(l, -1);
	GatewayProcess gw(test_preamble() + "devices = (\n" +
	    device_conf("refuser", dport, 0) + ");\n");
	ASSERT_GT(gw.pid(), 0);
	std::this_thread::sleep_for(std::chrono::milliseconds(kRunMs));
	ASSERT_EQ(listen(l, 16), 0);
	int dev = tcp_accept(l, 10000);
	EXPECT_NE(dev, -1);
	EXPECT_TRUE(eventually([&] {
		return gw.log_contains("refuser/device up");
	}, 10000));
	EXPECT_EQ(gw.signal_and_wait(SIGTERM, 10000), 0);

	std::string log = gw.log();
	unsigned lines = count_lines(log, "refuser/");
	unsigned refused = count_lines(log, "Connection refused");
	EXPECT_LE(refused, 3u) << sample_lines(log, "refuser/");
	EXPECT_LE(lines, 8u) << sample_lines(log, "refuser/");
	EXPECT_NE(log.find("suppressed"), std::string::npos)
	    << "no line reports the suppressed retries:\n"
	    << sample_lines(log, "refuser/");
	RecordProperty("refuser_lines", (int)lines);
	printf("refusing device: %u lines (%u about the refusals) in %d ms\n",
	    lines, refused, kRunMs);
	if (dev != -1)
		close(dev);
	close(l);
}

// The contract: "a device flapping for a minute produces a bounded number
// of lines". Here one flaps as fast as it can for kRunMs: the lines about
// it must stay a handful, whatever the number of connects.
TEST(LogHygiene, FlappingDeviceLogsABoundedNumberOfLines)
{
	FlappingDevice flap;
	ASSERT_NE(flap.port(), -1);
	GatewayProcess gw(test_preamble() + "devices = (\n" +
	    device_conf("flapper", flap.port(), 0) + ");\n");
	ASSERT_GT(gw.pid(), 0);
	std::this_thread::sleep_for(std::chrono::milliseconds(kRunMs));
	EXPECT_EQ(gw.signal_and_wait(SIGTERM, 10000), 0);

	std::string log = gw.log();
	unsigned lines = count_lines(log, "flapper/");
	unsigned accepted = flap.accepted();
	RecordProperty("flapper_lines", (int)lines);
	RecordProperty("flapper_connects", (int)accepted);
	printf("flapping device: %u connects, %u lines in %d ms\n", accepted,
	    lines, kRunMs);
	EXPECT_GT(accepted, 0u);
	EXPECT_LE(lines, 12u) << "the device connected " << accepted
	    << " times in " << kRunMs << " ms and the gateway logged " << lines
	    << " lines about it; the first ones:\n"
	    << sample_lines(log, "flapper/");
}
