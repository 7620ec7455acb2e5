// Zero copy under the kernel's pipe limits. The kernel counts every pipe of
// a user against fs.pipe-user-pages-soft and refuses a process without
// CAP_SYS_RESOURCE a larger pipe past it: a gateway run by a system user
// whose pipes are used up must copy, relay every byte and say why; with
// CAP_SYS_RESOURCE (which a site may grant it), it splices (or, where
// this machine's bounding set lacks that capability, with CAP_SYS_ADMIN,
// the kernel's other exemption from the pipe limits). The gateway
// runs as a user of no account, which a helper process of the same user
// fills up to the limit first. Needs root; skipped otherwise.
#include <gtest/gtest.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gwtest.h"
#include "net.h"

namespace {

constexpr int kPipeBytes = 65536;	// buffer_bytes' default
constexpr long kMaxPipes = 4096;	// the most the helper will open

// A uid of no account, so that no other process's pipes count with the
// helper's and the gateway's.
uid_t
test_uid()
{
	return 2000000000u + (uid_t)(getpid() % 1000000);
}

// fs.pipe-user-pages-soft; -1 when it cannot be read.
long
pipe_user_pages_soft()
{
	std::ifstream in("/proc/sys/fs/pipe-user-pages-soft");
	long pages = -1;

	in >> pages;
	return in ? pages : -1;
}

// A process of uid that opens pipes of kPipeBytes until the kernel
// refuses it one: uid's pipes then fill fs.pipe-user-pages-soft, and every
// further pipe of uid is created small. It holds them until it is killed,
// by its PID, on destruction.
class PipeHog {
public:
	explicit PipeHog(uid_t uid);
	~PipeHog();
	bool full() const { return full_; }
private:
	pid_t pid_ = -1;
	bool full_ = false;
};

PipeHog::PipeHog(uid_t uid)
{
	int report[2];
	struct pollfd pfd;
	char c = 0;

	if (pipe2(report, O_CLOEXEC) == -1)
		return;
	pid_ = fork();
	if (pid_ == 0) {
		struct rlimit rl = { kMaxPipes * 2 + 64, kMaxPipes * 2 + 64 };
		char verdict = 'N';

		close(report[0]);
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    setresgid(uid, uid, uid) == 0 &&
		    setresuid(uid, uid, uid) == 0) {
			for (long i = 0; i < kMaxPipes; i++) {
				int p[2];

				if (pipe2(p, O_CLOEXEC) == -1)
					break;
				if (fcntl(p[1], F_SETPIPE_SZ, kPipeBytes) == -1) {
					if (errno == EPERM)
						verdict = 'F';
					break;
				}
			}
		}
		if (write(report[1], &verdict, 1) != 1 || verdict != 'F')
			_exit(1);
		for (;;)
			pause();
	}
	close(report[1]);
	pfd = { report[0], POLLIN, 0 };
	if (pid_ > 0 && poll(&pfd, 1, 10000) == 1 && read(report[0], &c, 1) == 1)
		full_ = c == 'F';
	close(report[0]);
}

PipeHog::~PipeHog()
{
	if (pid_ > 0) {
		kill(pid_, SIGKILL);
		waitpid(pid_, nullptr, 0);
	}
}

// n bytes from one end of the relay arrive whole at the other.
bool
relays(int from, int to, size_t n, uint64_t seed)
{
	std::vector<uint8_t> out(n), in(n);
	bool sent = false;

	fill_random(out.data(), n, seed);
	std::thread writer([&] { sent = write_all(from, out.data(), n, 20000); });
	bool got = read_exact(to, in.data(), n, 20000);
	writer.join();
	return sent && got && in == out;
}

class PipeLimit : public ::testing::Test {
protected:
	void SetUp() override {
		long pages = pipe_user_pages_soft();

		if (geteuid() != 0)
			GTEST_SKIP() << "needs root, to run the gateway as "
			    "another user";
		// 16 pages a pipe: the helper must reach the limit.
		if (pages <= 0 || pages / 16 + 64 > kMaxPipes)
			GTEST_SKIP() << "fs.pipe-user-pages-soft is " << pages
			    << ": no limit a test can reach";
	}

	// A gateway relaying device d1, run as a user whose pipes fill the
	// limit already, holding keep_cap (-1: no capability).
	void StartPastTheLimit(int keep_cap) {
		const uid_t uid = test_uid();
		RunAs as = { uid, (gid_t)uid, keep_cap };

		hog_.reset(new PipeHog(uid));
		ASSERT_TRUE(hog_->full()) << "the helper did not reach the "
		    "pipe limit";
		d_.reset(new DeviceProcess(test_preamble(), "d1", "", &as));
		ASSERT_NE(d_->dev, -1) << d_->g->log();
		ASSERT_NE(d_->up, -1) << d_->g->log();
	}

	std::unique_ptr<PipeHog> hog_;
	std::unique_ptr<DeviceProcess> d_;
};

TEST_F(PipeLimit, AnUnprivilegedGatewayPastTheUserLimitCopiesAndSaysWhy)
{
	ASSERT_NO_FATAL_FAILURE(StartPastTheLimit(-1));
	const GatewayProcess &g = *d_->g;

	EXPECT_TRUE(eventually([&] { return g.log_contains(
	    "started 1 device, 0 relaying with zero copy"); }, 5000))
	    << g.log();
	EXPECT_TRUE(g.log_contains("zero copy refused by the kernel for "
	    "1 device set to splice")) << g.log();
	// Each direction says why, naming the limit and the way past it.
	EXPECT_EQ(count_lines(g.log(), "copies: the kernel refused a pipe "
	    "of 65536 bytes: Operation not permitted (over fs.pipe-max-size, "
	    "or over fs.pipe-user-pages-soft with the user's other pipes; "
	    "CAP_SYS_RESOURCE lifts both)"), 2u) << g.log();
	EXPECT_TRUE(relays(d_->up, d_->dev, 1u << 20, 1)) << g.log();
	EXPECT_TRUE(relays(d_->dev, d_->up, 1u << 20, 2)) << g.log();
}

TEST_F(PipeLimit, WithAnExemptingCapabilityTheGatewaySplicesPastTheLimit)
{
	// Where the machine's own bounding set lacks CAP_SYS_RESOURCE (a
	// container may), CAP_SYS_ADMIN, which the kernel exempts alike.
	int cap = prctl(PR_CAPBSET_READ, (long)CAP_SYS_RESOURCE, 0L, 0L, 0L) == 1 ?
	    CAP_SYS_RESOURCE : CAP_SYS_ADMIN;
	if (cap != CAP_SYS_RESOURCE)
		RecordProperty("capability", "CAP_SYS_ADMIN (no CAP_SYS_RESOURCE "
		    "in this machine's bounding set)");
	ASSERT_NO_FATAL_FAILURE(StartPastTheLimit(cap));
	const GatewayProcess &g = *d_->g;

	EXPECT_TRUE(eventually([&] { return g.log_contains(
	    "started 1 device, 1 relaying with zero copy"); }, 5000))
	    << g.log();
	EXPECT_FALSE(g.log_contains("refused")) << g.log();
	EXPECT_TRUE(relays(d_->up, d_->dev, 1u << 20, 3)) << g.log();
	EXPECT_TRUE(relays(d_->dev, d_->up, 1u << 20, 4)) << g.log();
}

}  // namespace
