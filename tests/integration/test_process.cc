// gatewayd as a process: CLI, exit codes, signals.
#include <gtest/gtest.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gwtest.h"
#include "net.h"

namespace {

// Run gatewayd with args; returns the exit code and stdout+stderr.
int
run(const std::vector<std::string> &args, std::string *out)
{
	int pfd[2];

	if (pipe(pfd) == -1)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		std::vector<char *> argv;
		argv.push_back((char *)"gatewayd");
		for (auto &a : args)
			argv.push_back((char *)a.c_str());
		argv.push_back(nullptr);
		execv(GW_GATEWAYD, argv.data());
		_exit(127);
	}
	close(pfd[1]);
	char buf[4096];
	ssize_t n;
	out->clear();
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0)
		out->append(buf, (size_t)n);
	close(pfd[0]);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string
one_device(int dport, int uport)
{
	return test_preamble() + "devices = ( { name = \"d1\";\n"
	    "  device = { connect = \"127.0.0.1:" + std::to_string(dport) + "\"; };\n"
	    "  upstream = { listen = \"127.0.0.1:" + std::to_string(uport) + "\"; };\n"
	    "} );\n";
}

// Whether process pid runs gatewayd (it has exec'd) and blocks sig (the
// Name and SigBlk lines of its status).
bool
gatewayd_blocks(pid_t pid, int sig)
{
	std::ifstream in("/proc/" + std::to_string(pid) + "/status");
	std::string line;
	bool named = false;

	while (std::getline(in, line)) {
		if (line == "Name:\tgatewayd")
			named = true;
		if (line.compare(0, 7, "SigBlk:") == 0)
			return named && (std::stoull(line.substr(7), nullptr,
			    16) >> (sig - 1) & 1) != 0;
	}
	return false;
}

// Write text to the FIFO at path once a reader has it open, within 5 s.
bool
feed_fifo(const std::string &path, const std::string &text)
{
	int fd = -1;

	for (int i = 0; i < 500 && fd == -1; i++)
		if ((fd = open(path.c_str(), O_WRONLY | O_NONBLOCK)) == -1)
			usleep(10000);
	if (fd == -1)
		return false;
	bool ok = write(fd, text.data(), text.size()) == (ssize_t)text.size();
	close(fd);
	return ok;
}

// Fork and exec gatewayd -c conf, with out as its stdout and stderr (-1:
// descriptors 0, 1 and 2 closed). The child's signal mask is cleared:
// exec keeps it, and the gateway must block its signals itself (a
// sanitizer's fork may hand the child a full one). Returns the pid.
pid_t
spawn_gatewayd(const std::string &conf, int out)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, nullptr);
	if (out == -1) {
		close(0);
		close(1);
		close(2);
	} else {
		// dup2() clears O_CLOEXEC.
		dup2(out, 1);
		dup2(out, 2);
	}
	execl(GW_GATEWAYD, "gatewayd", "-c", conf.c_str(), (char *)nullptr);
	_exit(127);
}

// spawn_gatewayd() with its output into a new file at logpath: the pid,
// or -1 when the file cannot be made.
pid_t
spawn_logging(const std::string &conf, const std::string &logpath)
{
	int logfd = open(logpath.c_str(), O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600);

	if (logfd == -1)
		return -1;
	pid_t pid = spawn_gatewayd(conf, logfd);
	close(logfd);
	return pid;
}

// What the file at path holds ("" when it cannot be read).
std::string
text_of(const std::string &path)
{
	std::ifstream in(path);

	return std::string((std::istreambuf_iterator<char>(in)),
	    std::istreambuf_iterator<char>());
}

// Whether pid exits by itself within timeout_ms (then *status is its
// status); else it is killed (SIGKILL) and reaped.
bool
reap_within(pid_t pid, int timeout_ms, int *status)
{
	bool exited = eventually([&] {
		return waitpid(pid, status, WNOHANG) == pid; }, timeout_ms);

	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, status, 0);
	}
	return exited;
}


}  // namespace

TEST(Cli, VersionHelpAndUsage)
{
	std::string out;

	EXPECT_EQ(run({"-V"}, &out), 0);
	EXPECT_EQ(out.rfind("gatewayd ", 0), 0u) << out;
	EXPECT_EQ(run({"-h"}, &out), 0);
	EXPECT_NE(out.find("usage: gatewayd"), std::string::npos);
	EXPECT_EQ(run({}, &out), 64);
	EXPECT_EQ(run({"-x"}, &out), 64);
}

TEST(Cli, CheckOnlyExitsZeroOrConfigError)
{
	TestDir dir;
	std::string out;
	std::string good = dir.write("good.conf", one_device(5000, 15000));
	std::string bad = dir.write("bad.conf", "version = 1;\nbogus = 3;\n");

	EXPECT_EQ(run({"-t", "-c", good}, &out), 0) << out;
	EXPECT_NE(out.find("configuration OK"), std::string::npos) << out;
	EXPECT_EQ(run({"-t", "-c", bad}, &out), 78);
	EXPECT_NE(out.find(bad + ":2: "), std::string::npos) << out;
	// Without -t a bad config also exits 78, before touching the network.
	EXPECT_EQ(run({"-c", bad}, &out), 78);
	EXPECT_EQ(run({"-t", "-c", dir.path("missing.conf")}, &out), 78);
}

TEST(Process, SigtermWithThreadsBlockedInRecvAndInAFullSendExitsZeroPromptly)
{
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	GatewayProcess gw(one_device(dport, 0));
	int uport = logged_port(gw, "d1/upstream: listening");
	ASSERT_GT(uport, 0) << gw.log();
	int dev = tcp_accept(dl, 5000);		// never reads: the writer fills it
	ASSERT_NE(dev, -1);
	// The host's data has to reach a writer stuck in send(): a host
	// whose bytes go through to the device.
	int host = host_through(uport, dev, 10000);
	ASSERT_NE(host, -1) << gw.log();
	std::vector<uint8_t> chunk(1 << 16);
	// Fill the device's receive window and the gateway's buffer: write
	// until the host's own send blocks.
	int64_t sent = 0;
	while (write_all(host, chunk.data(), chunk.size(), 300))
		sent += (int64_t)chunk.size();
	EXPECT_GT(sent, 0);

	auto t0 = std::chrono::steady_clock::now();
	int code = gw.signal_and_wait(SIGTERM, 5000);
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
	    std::chrono::steady_clock::now() - t0).count();
	EXPECT_EQ(code, 0) << gw.log();
	EXPECT_LT(ms, 3000) << "stop took " << ms << " ms";
	EXPECT_TRUE(gw.log_contains("terminating")) << gw.log();
	close(host);
	close(dev);
	close(dl);
}

// A stop asked for while the gateway is still starting ends the run as at
// any other time, exit 0, not by the signal's default action. The start is
// held in the load: the configuration is a FIFO that the test fills only
// after the signal.
TEST(Process, SigtermWhileStartingExitsZero)
{
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	TestDir dir;
	const std::string conf = dir.path("gw.conf");
	const std::string logpath = dir.path("gw.log");
	ASSERT_EQ(mkfifo(conf.c_str(), 0600), 0);
	pid_t pid = spawn_logging(conf, logpath);
	ASSERT_NE(pid, -1);
	// Blocked in the load, reading the FIFO (exec'd, not the test's
	// fork still): SIGTERM must be held already.
	EXPECT_TRUE(eventually([&] { return gatewayd_blocks(pid, SIGTERM); },
	    5000));
	kill(pid, SIGTERM);
	bool fed = feed_fifo(conf, one_device(dport, 0));
	int status = 0;
	bool exited = reap_within(pid, 10000, &status);
	std::string log = text_of(logpath);
	EXPECT_TRUE(fed) << log;
	ASSERT_TRUE(exited) << log;
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
	    << (WIFSIGNALED(status) ? "killed by signal " +
	    std::to_string(WTERMSIG(status)) : "exit " +
	    std::to_string(WEXITSTATUS(status))) << "\n" << log;
	EXPECT_NE(log.find("Terminated: stopping"), std::string::npos) << log;
	close(dl);
}

// A reload while the configuration's path is a FIFO that nobody writes:
// rejected at once, where opening it would hold the main thread (and so
// SIGTERM) until a writer came.
TEST(Process, ReloadOfAFifoIsRejectedAndSigtermStillStops)
{
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	TestDir dir;
	const std::string conf = dir.write("gw.conf", one_device(dport, 0));
	const std::string logpath = dir.path("gw.log");
	pid_t pid = spawn_logging(conf, logpath);
	ASSERT_NE(pid, -1);
	auto log = [&] { return text_of(logpath); };
	EXPECT_TRUE(eventually([&] {
		return log().find("started 1 device") != std::string::npos; },
	    5000)) << log();
	ASSERT_EQ(unlink(conf.c_str()), 0);
	ASSERT_EQ(mkfifo(conf.c_str(), 0600), 0);
	kill(pid, SIGHUP);
	EXPECT_TRUE(eventually([&] {
		return log().find("is not a regular file; running "
		    "configuration kept") != std::string::npos; }, 5000))
	    << log();
	kill(pid, SIGTERM);
	int status = 0;
	bool exited = reap_within(pid, 3000, &status);
	EXPECT_TRUE(exited) << "SIGTERM not answered; log:\n" << log();
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log();
	close(dl);
}

// A log reader that stopped reading (a stalled supervisord): stderr is a
// pipe full from the start. The gateway still starts, relays, rejects a
// reload to a bad configuration (whose messages go to stderr too) and
// stops on SIGTERM with exit 0; its lines are dropped, not waited for.
TEST(Process, StderrNobodyReadsHoldsNeitherRelayNorStop)
{
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	// The log that would name port 0's pick is the one nobody reads.
	int uport = free_port();
	ASSERT_NE(uport, -1);
	TestDir dir;
	const std::string conf = dir.path("gw.conf");
	std::ofstream(conf) << one_device(dport, uport);
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	std::string junk(4096, 'x');
	while (write(p[1], junk.data(), junk.size()) > 0)
		;
	// Filled without blocking; a supervisor hands stderr over blocking.
	ASSERT_EQ(fcntl(p[1], F_SETFL, 0), 0);

	pid_t pid = spawn_gatewayd(conf, p[1]);
	ASSERT_NE(pid, -1);
	close(p[1]);
	int dev = tcp_accept(dl, 10000);
	EXPECT_NE(dev, -1) << "the gateway did not dial its device";
	// A host that comes before the gateway has the device link up is
	// closed at once (on_device_down = "close").
	int host = dev != -1 ? host_through(uport, dev, 10000) : -1;
	EXPECT_NE(host, -1) << "no host got through to the device";
	if (host != -1) {
		EXPECT_TRUE(roundtrip(host, dev, "through a silent log"));
	}
	std::ofstream(conf) << test_preamble() <<
	    "devices = ( { name = 1; nonsense = 2; } );\n";
	kill(pid, SIGHUP);
	std::this_thread::sleep_for(std::chrono::milliseconds(500));

	auto t0 = std::chrono::steady_clock::now();
	kill(pid, SIGTERM);
	int status = 0;
	bool exited = reap_within(pid, 10000, &status);
	long ms = std::chrono::duration_cast<std::chrono::milliseconds>(
	    std::chrono::steady_clock::now() - t0).count();
	ASSERT_TRUE(exited) << "SIGTERM did not stop a gateway whose "
	    "stderr is full";
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
	    << status;
	EXPECT_LT(ms, 3000) << "stop took " << ms << " ms";
	close(p[0]);
	if (host != -1)
		close(host);
	if (dev != -1)
		close(dev);
	close(dl);
}

// Started with descriptors 0, 1 and 2 closed (an init script's "2>&-"):
// they are opened on /dev/null first, so that no socket takes number 2
// and no log line goes down a link.
TEST(Process, ClosedStandardDescriptorsAreNeverALink)
{
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	int uport = free_port();
	ASSERT_NE(uport, -1);
	TestDir dir;
	const std::string conf = dir.path("gw.conf");
	std::ofstream(conf) << one_device(dport, uport);

	pid_t pid = spawn_gatewayd(conf, -1);
	ASSERT_NE(pid, -1);
	int dev = tcp_accept(dl, 10000);
	EXPECT_NE(dev, -1) << "the gateway did not dial its device";
	for (int fd = 0; fd <= 2; fd++) {
		char target[256] = "";
		std::string link = "/proc/" + std::to_string(pid) + "/fd/" +
		    std::to_string(fd);
		ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
		EXPECT_EQ(std::string(target, n > 0 ? (size_t)n : 0),
		    "/dev/null") << "descriptor " << fd;
	}
	// A host that comes before the gateway has the device link up is
	// closed at once (on_device_down = "close").
	int host = dev != -1 ? host_through(uport, dev, 10000) : -1;
	EXPECT_NE(host, -1) << "no host got through to the device";
	// The host's connect is logged: nothing of it may reach the device.
	if (host != -1) {
		EXPECT_TRUE(roundtrip(host, dev, "only this"));
		EXPECT_TRUE(stays_quiet(dev, 200));
	}
	kill(pid, SIGTERM);
	int status = 0;
	bool exited = reap_within(pid, 10000, &status);
	EXPECT_TRUE(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0)
	    << status;
	if (host != -1)
		close(host);
	if (dev != -1)
		close(dev);
	close(dl);
}

TEST(Process, SighupWithABadConfigKeepsRunning)
{
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	TestDir dir;
	GatewayProcess gw(one_device(dport, 0));
	int dev = tcp_accept(dl, 5000);
	ASSERT_NE(dev, -1);
	// Break the running config file, then ask for a reload.
	ASSERT_TRUE(eventually([&] { return gw.log_contains("d1/device up"); }, 5000));
	gw.rewrite_config("version = 1;\ndevices = 7;\n");
	kill(gw.pid(), SIGHUP);
	ASSERT_TRUE(eventually([&] {
		return gw.log_contains("running configuration kept"); }, 5000)) << gw.log();
	EXPECT_EQ(gw.wait_exit(300), -1) << "exited on a bad reload";
	EXPECT_TRUE(stays_quiet(dev, 200)) << "device link dropped by a bad reload";
	EXPECT_EQ(gw.signal_and_wait(SIGTERM, 5000), 0);
	close(dev);
	close(dl);
}
