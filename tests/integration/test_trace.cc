// gwctl trace against gatewayd as a process: both directions, one line per
// chunk, the byte limit, Ctrl-C, and a reader that stops reading, which the
// relay never waits for. Both relay paths: a trace makes the zero-copy path
// give way to the copy path while it lasts. Every wait is bounded.
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gwtest.h"
#include "http.h"
#include "net.h"

namespace {

const std::string kGwctl = GW_GWCTL;

// The pid of the trace client the daemon logged ("uid U (pid P): trace of
// d1"), or -1.
pid_t
trace_pid(const GatewayProcess &g)
{
	std::vector<std::string> m;

	if (!re_search(g.log(), "\\(pid ([0-9]+)\\): trace of d1\n", &m))
		return -1;
	return (pid_t)std::stol(m[0]);
}

// A gateway with a control socket and d1 up: dev the device's end, up a
// host's.
struct Rig {
	TestDir dir;
	std::string sock = dir.path("ctl.sock");
	DeviceProcess d;
	int &dev = d.dev, &up = d.up;
	std::unique_ptr<GatewayProcess> &g = d.g;

	explicit Rig(const std::string &relay)
	    : d(test_preamble_with(sock, false), "d1", "relay = \"" + relay +
	    "\";") {}
	// Relaying, and the control socket serving: the daemon opens it
	// after its devices have started.
	bool ready() const
	{
		return dev != -1 && up != -1 && roundtrip(up, dev, "x") &&
		    roundtrip(dev, up, "y") && control_serving(*g);
	}
};

// gwctl trace d1 on r's socket (or the command argv, which runs it),
// ended by end() once the daemon has it: the exit code, the output in
// *out; -1 when the trace never began.
int
trace_ended_by(Rig &r, const std::function<void()> &end, std::string *out,
    const std::vector<std::string> &argv = {})
{
	int rc = -1;
	std::thread t([&] {
		rc = run_command(argv.empty() ? std::vector<std::string>{ kGwctl,
		    "-S", r.sock, "trace", "d1" } : argv, out, 20000);
	});
	bool attached = eventually([&] {
		return r.g->log_contains("): trace of d1\n"); }, 5000);
	if (attached)
		end();
	t.join();
	return attached ? rc : -1;
}

class Trace : public ::testing::TestWithParam<const char *> {};

}  // namespace

// Both directions, in order, one line each: time, direction, count, hex,
// ASCII; -n ends it after that many bytes, exit 0.
TEST_P(Trace, BothDirectionsUntilTheLimit)
{
	Rig r(GetParam());
	ASSERT_TRUE(r.ready()) << r.g->log();

	std::string out;
	int rc = -1;
	std::thread t([&] {
		rc = run_command({ kGwctl, "-S", r.sock, "-n", "11", "trace",
		    "d1" }, &out, 20000);
	});
	bool attached = eventually([&] {
		return r.g->log_contains("): trace of d1\n"); }, 5000);
	if (attached) {
		EXPECT_TRUE(roundtrip(r.dev, r.up, "hello"));
		EXPECT_TRUE(roundtrip(r.up, r.dev, "world\x01\n"));
	}
	t.join();
	ASSERT_TRUE(attached) << r.g->log();
	EXPECT_EQ(rc, 0) << out;
	const std::string want(
	    "tracing d1: dev>up is what the device sent, up>dev what the host "
	    "sent\n"
	    "20[0-9-]{8}T[0-9:.]{12}Z dev>up 5 68656c6c6f \\|hello\\|\n"
	    "20[0-9-]{8}T[0-9:.]{12}Z up>dev 6 776f726c6401 \\|world\\.\\|\n"
	    "OK: trace of d1 ended after 11 bytes, the limit \\(0 dropped\\)\n");
	EXPECT_TRUE(re_match(out, want)) << out;
	// Relaying goes on after the trace, on whichever path.
	EXPECT_TRUE(roundtrip(r.dev, r.up, "after"));
	EXPECT_TRUE(eventually([&] {
		return r.g->log_contains("trace of d1 ended: 11 bytes shown, "
		    "0 dropped"); }, 5000)) << r.g->log();
}

// Ctrl-C ends gwctl at once, exit 0, and the daemon lets the trace go.
TEST_P(Trace, CtrlCEndsIt)
{
	Rig r(GetParam());
	ASSERT_TRUE(r.ready()) << r.g->log();

	std::string out;
	int rc = -1;
	std::thread t([&] {
		rc = run_command({ kGwctl, "-S", r.sock, "trace", "d1" }, &out,
		    20000);
	});
	pid_t pid = -1;
	bool attached = eventually([&] {
		return (pid = trace_pid(*r.g)) > 0; }, 5000);
	if (attached) {
		EXPECT_TRUE(roundtrip(r.dev, r.up, "ping"));
		// The line is out before the interrupt.
		EXPECT_TRUE(eventually([&] {
			return r.g->log_contains("): trace of d1\n"); }, 100));
		usleep(200 * 1000);
		kill(pid, SIGINT);
	}
	t.join();
	ASSERT_TRUE(attached) << r.g->log();
	EXPECT_EQ(rc, 0) << out;
	EXPECT_NE(out.find(" dev>up 4 70696e67 |ping|\n"), std::string::npos)
	    << out;
	EXPECT_TRUE(eventually([&] {
		return r.g->log_contains("trace of d1 ended: 4 bytes shown"); },
	    5000)) << r.g->log();
}

// A reader of gwctl's output that leaves (gwctl trace d1 | head): gwctl
// ends, exit 0 as at Ctrl-C, and the daemon lets the trace go; not a
// death by SIGPIPE, whose 141 is none of gwctl's exit codes (0 to 3).
TEST_P(Trace, AReaderOfGwctlThatLeavesEndsItWithExitZero)
{
	Rig r(GetParam());
	ASSERT_TRUE(r.ready()) << r.g->log();

	std::string out;
	// Once head has taken the header and gone, what passes is written to
	// a pipe that nobody reads.
	int rc = trace_ended_by(r, [&] {
		for (int i = 0; i < 100 &&
		    !r.g->log_contains("trace of d1 ended"); i++) {
			EXPECT_TRUE(roundtrip(r.dev, r.up, "ping"));
			usleep(20 * 1000);
		}
	}, &out, { "/bin/bash", "-c", "\"$0\" -S \"$1\" trace d1 | "
	    "head -c 10 >/dev/null; echo \"gwctl ${PIPESTATUS[0]}\"", kGwctl,
	    r.sock });
	EXPECT_EQ(rc, 0) << out << r.g->log();
	EXPECT_EQ(out, "gwctl 0\n");
	EXPECT_TRUE(eventually([&] {
		return r.g->log_contains("trace of d1 ended: "); }, 5000))
	    << r.g->log();
}

// A trace reader that stops reading: 32 MiB still cross the relay in
// full, the trace drops what it cannot hold and says so when read again.
TEST_P(Trace, AStoppedReaderNeverSlowsTheRelay)
{
	Rig r(GetParam());
	ASSERT_TRUE(r.ready()) << r.g->log();
	int c = unix_connect(r.sock);
	ASSERT_NE(c, -1);
	ASSERT_TRUE(write_all(c, "trace d1\n", 9, 1000));
	ASSERT_TRUE(eventually([&] {
		return r.g->log_contains("): trace of d1\n"); }, 5000))
	    << r.g->log();

	const size_t total = 32u << 20;
	std::vector<uint8_t> in(total), got(total);
	fill_random(in.data(), total, 7);
	bool sent = false;
	std::thread w([&] { sent = write_all(r.dev, in.data(), total, 20000); });
	bool read = read_exact(r.up, got.data(), total, 20000);
	w.join();
	EXPECT_TRUE(sent);
	ASSERT_TRUE(read);
	EXPECT_EQ(fnv1a(got.data(), total), fnv1a(in.data(), total));

	// Now read the trace: somewhere it says how much it dropped. Read
	// until that line is whole: a recv() may end in the middle of it.
	std::string text;
	char buf[65536];
	auto deadline = std::chrono::steady_clock::now() +
	    std::chrono::seconds(10);
	auto dropped_line_whole = [&] {
		size_t at = text.find(" dropped ");
		return at != std::string::npos &&
		    text.find('\n', at) != std::string::npos;
	};
	while (!dropped_line_whole() &&
	    std::chrono::steady_clock::now() < deadline) {
		struct pollfd p = { c, POLLIN, 0 };
		if (poll(&p, 1, 500) <= 0)
			continue;
		ssize_t n = recv(c, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		text.append(buf, (size_t)n);
		if (text.size() > (64u << 20))
			break;
	}
	size_t at = text.find(" dropped ");
	EXPECT_TRUE(re_search(text, "\n\\| 20[0-9-]{8}T[0-9:.]{12}Z dropped "
	    "[0-9]+ bytes: the trace could not keep up\n")) <<
	    text.substr(0, 400) << "\n...\n" << (at == std::string::npos ?
	    "(no \"dropped\")" : text.substr(at > 200 ? at - 200 : 0, 400));
	close(c);
	EXPECT_TRUE(eventually([&] {
		return re_search(r.g->log(), "trace of d1 ended: [0-9]+ bytes "
		    "shown, [1-9][0-9]* dropped"); },
	    5000)) << r.g->log();
}

// The device stops: the trace says so and ends with WARNING.
TEST_P(Trace, EndsWhenTheDeviceGoes)
{
	Rig r(GetParam());
	ASSERT_TRUE(r.ready()) << r.g->log();
	std::string out;
	int rc = trace_ended_by(r, [&] {
		// A reload without d1 stops it.
		r.g->rewrite_config(test_preamble_with(r.sock, false) +
		    "devices = ();\n");
		kill(r.g->pid(), SIGHUP);
	}, &out);
	EXPECT_EQ(rc, 1) << out << r.g->log();
	EXPECT_NE(out.find("WARNING: trace of d1 ended: the device stopped (0 "
	    "bytes shown, 0 dropped)\n"), std::string::npos) << out;
}

// The gateway stops: the trace ends with its outcome, not with a
// connection cut short.
TEST_P(Trace, EndsWithAnOutcomeWhenTheGatewayStops)
{
	Rig r(GetParam());
	ASSERT_TRUE(r.ready()) << r.g->log();
	std::string out;
	int exit_code = -1;
	int rc = trace_ended_by(r, [&] {
		exit_code = r.g->signal_and_wait(SIGTERM, 5000); }, &out);
	EXPECT_EQ(exit_code, 0) << r.g->log();
	EXPECT_EQ(rc, 1) << out << r.g->log();
	EXPECT_NE(out.find("WARNING: trace of d1 ended: gatewayd is stopping "
	    "(0 bytes shown, 0 dropped)\n"), std::string::npos) << out;
}

// Bytes the trace showed that never went on are said to be discarded:
// the host sends to a device that does not read, which then resets (with
// "close", what the gateway held for it dies with its connection).
TEST_P(Trace, SaysWhatItShowedWasDiscarded)
{
	Rig r(GetParam());
	ASSERT_TRUE(r.ready()) << r.g->log();
	int c = unix_connect(r.sock);
	ASSERT_NE(c, -1);
	ASSERT_TRUE(write_all(c, "trace d1\n", 9, 1000));
	std::string text;
	std::atomic<bool> stop{false};
	std::mutex mu;
	std::thread reader([&] {
		char buf[65536];
		while (!stop) {
			struct pollfd p = { c, POLLIN, 0 };
			if (poll(&p, 1, 100) != 1)
				continue;
			ssize_t n = recv(c, buf, sizeof(buf), 0);
			if (n <= 0)
				return;
			std::lock_guard<std::mutex> l(mu);
			text.append(buf, (size_t)n);
		}
	});
	auto seen = [&](const std::string &ere) {
		std::lock_guard<std::mutex> l(mu);
		return re_search(text, ere);
	};
	EXPECT_TRUE(eventually([&] { return seen("\\| tracing d1"); }, 5000));
	// Until the gateway takes no more: its writer holds bytes.
	std::vector<uint8_t> chunk(65536, 'c');
	for (int i = 0; i < 4096; i++)
		if (!write_all(r.up, chunk.data(), chunk.size(), 300))
			break;
	close_reset(r.dev);
	r.dev = -1;
	EXPECT_TRUE(eventually([&] { return seen("\n\\| 20[0-9-]{8}T[0-9:.]{12}Z "
	    "up>dev [1-9][0-9]* bytes discarded: device is down\n"); }, 10000))
	    << r.g->log();
	stop = true;
	reader.join();
	close(c);
}

// Errors: an unknown device, a bad limit; one line, non-zero.
TEST(TraceErrors, UnknownDeviceAndBadLimit)
{
	Rig r("copy");
	ASSERT_TRUE(r.ready()) << r.g->log();
	std::string out;
	EXPECT_EQ(run_command({ kGwctl, "-S", r.sock, "trace", "nope" }, &out,
	    5000), 3);
	EXPECT_EQ(out, "UNKNOWN: no such device: nope\n");
	// Sent as the number it is: leading zeros never cut the line.
	EXPECT_EQ(run_command({ kGwctl, "-S", r.sock, "-n", std::string(300,
	    '0') + "7", "trace", "nope" }, &out, 5000), 3);
	EXPECT_EQ(out, "UNKNOWN: no such device: nope\n");
	EXPECT_EQ(run_command({ kGwctl, "-S", r.sock, "-n", "0", "trace",
	    "d1" }, &out, 5000), 3);
	EXPECT_EQ(out, "UNKNOWN: -n wants a positive number of bytes, not 0\n");
	EXPECT_EQ(run_command({ kGwctl, "-S", r.sock, "-n", "5", "status" },
	    &out, 5000), 3);
	EXPECT_EQ(out, "UNKNOWN: -n goes with trace only\n");
	EXPECT_EQ(unix_request(r.sock, "trace d1 -4\n"), "UNKNOWN: trace: BYTES "
	    "must be a positive number\n");
	EXPECT_EQ(unix_request(r.sock, "trace\n"), "UNKNOWN: usage: trace "
	    "DEVICE [BYTES]\n");
}

INSTANTIATE_TEST_SUITE_P(Relay, Trace, ::testing::Values("copy", "splice"));
