// test_notify.cc -- the sd_notify protocol: gatewayd as a process tells a
// Unix datagram socket in NOTIFY_SOCKET READY=1 once it has started,
// RELOADING=1 and READY=1 around SIGHUP, WATCHDOG=1 while its watchdog
// sweeps, STOPPING=1 on SIGTERM; the module's addressing and ping pacing
// in process. Loopback only; every wait is bounded.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "clock.h"
#include "gwtest.h"
#include "net.h"

extern "C" {
#include "notify.h"
}

namespace {

// One received datagram: its text, the sender's pid, when it arrived.
struct Msg {
	std::string text;
	pid_t pid = -1;
	int64_t at_ms = 0;
	bool has(const std::string &s) const {
		return text.find(s) != std::string::npos;
	}
};

// A datagram socket standing in for the service manager: bound to a path
// in a temporary directory, or to an abstract name.
class Manager {
public:
	explicit Manager(bool abstract = false)
	{
		struct sockaddr_un sa = {};
		socklen_t len;
		int on = 1;

		sa.sun_family = AF_UNIX;
		if (abstract) {
			static int seq;
			std::string name = "gwtest-notify-" +
			    std::to_string(getpid()) + "-" + std::to_string(++seq);
			memcpy(sa.sun_path + 1, name.data(), name.size());
			len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			    1 + name.size());
			env_ = "@" + name;
		} else {
			env_ = dir_.path("notify");
			memcpy(sa.sun_path, env_.data(), env_.size());
			len = (socklen_t)sizeof(sa);
		}
		fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd_ == -1)
			return;
		// As systemd does: the sender's pid comes with each message.
		if (setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on,
		    sizeof(on)) == -1 ||
		    bind(fd_, (struct sockaddr *)&sa, len) == -1) {
			close(fd_);
			fd_ = -1;
		}
	}
	~Manager() { if (fd_ != -1) close(fd_); }
	bool ok() const { return fd_ != -1; }
	const std::string &env() const { return env_; }

	// The next message within timeout_ms; false on timeout.
	bool next(Msg *m, int timeout_ms)
	{
		int64_t deadline = clock_ms() + timeout_ms;
		char buf[NOTIFY_MSG_MAX + 1];
		char cbuf[CMSG_SPACE(sizeof(struct ucred))];

		for (;;) {
			int64_t left = deadline - clock_ms();
			struct pollfd p = { fd_, POLLIN, 0 };
			if (left < 0 || poll(&p, 1, (int)left) <= 0)
				return false;
			struct iovec iov = { buf, sizeof(buf) };
			struct msghdr mh = {};
			mh.msg_iov = &iov;
			mh.msg_iovlen = 1;
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			ssize_t n = recvmsg(fd_, &mh, MSG_DONTWAIT);
			if (n == -1)
				continue;
			m->text.assign(buf, (size_t)n);
			m->pid = -1;
			m->at_ms = clock_ms();
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != nullptr;
			    c = CMSG_NXTHDR(&mh, c)) {
				struct ucred uc;
				if (c->cmsg_level != SOL_SOCKET ||
				    c->cmsg_type != SCM_CREDENTIALS)
					continue;
				memcpy(&uc, CMSG_DATA(c), sizeof(uc));
				m->pid = uc.pid;
			}
			return true;
		}
	}

	// Every message that arrives within ms.
	std::vector<Msg> collect(int ms)
	{
		std::vector<Msg> v;
		int64_t end = clock_ms() + ms;
		Msg m;
		int64_t left;

		while ((left = end - clock_ms()) > 0 && next(&m, (int)left))
			v.push_back(m);
		return v;
	}

	// The next message that is not a WATCHDOG=1 ping, within timeout_ms.
	bool next_state(Msg *m, int timeout_ms)
	{
		int64_t end = clock_ms() + timeout_ms;
		int64_t left;

		while ((left = end - clock_ms()) > 0 && next(m, (int)left))
			if (m->text != "WATCHDOG=1")
				return true;
		return false;
	}

private:
	TestDir dir_;
	std::string env_;
	int fd_ = -1;
};

// Sets environment variables for the life of the object (each test runs
// as a process of its own: gatewayd children inherit them).
class Env {
public:
	void set(const char *name, const std::string &value)
	{
		setenv(name, value.c_str(), 1);
		names_.push_back(name);
	}
	~Env() { for (const char *n : names_) unsetenv(n); }
private:
	std::vector<const char *> names_;
};

std::string
one_device(int dport, int uport)
{
	return test_preamble() + "devices = ( { name = \"d1\";\n"
	    "  device = { connect = \"127.0.0.1:" + std::to_string(dport) +
	    "\"; };\n"
	    "  upstream = { listen = \"127.0.0.1:" + std::to_string(uport) +
	    "\"; };\n} );\n";
}

int64_t
monotonic_us()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

// The value of KEY= in a message, "" when absent.
std::string
field(const std::string &text, const std::string &key)
{
	size_t at = ("\n" + text).find("\n" + key + "=");

	if (at == std::string::npos)
		return "";
	at += key.size() + 1;
	return text.substr(at, text.find('\n', at) - at);
}

}  // namespace

TEST(Notify, ReadyReloadingStopping)
{
	Manager mgr;
	Env env;
	Msg m;
	int dport, d = tcp_listen(&dport);

	ASSERT_TRUE(mgr.ok());
	ASSERT_NE(d, -1);
	env.set("NOTIFY_SOCKET", mgr.env());
	GatewayProcess g(one_device(dport, 0));

	// READY=1 comes once every device has started: the upstream port
	// already listens, and the log said which one it is.
	ASSERT_TRUE(mgr.next(&m, 10000)) << g.log();
	std::string at_ready = g.log();
	int uport = logged_port([&] { return at_ready; },
	    "d1/upstream: listening");
	ASSERT_GT(uport, 0) << at_ready;
	EXPECT_TRUE(m.has("READY=1")) << m.text;
	EXPECT_EQ(field(m.text, "STATUS"), "relaying for 1 device");
	EXPECT_EQ(m.pid, g.pid());
	int host = tcp_connect(uport, 1000);
	EXPECT_NE(host, -1);
	if (host != -1)
		close(host);
	// No WatchdogSec=, no WATCHDOG=1.
	for (const Msg &x : mgr.collect(500))
		EXPECT_FALSE(x.has("WATCHDOG=1")) << x.text;

	// A reload: RELOADING=1 with the monotonic clock, then READY=1.
	int64_t before = monotonic_us();
	ASSERT_EQ(kill(g.pid(), SIGHUP), 0);
	ASSERT_TRUE(mgr.next(&m, 5000)) << g.log();
	int64_t after = monotonic_us();
	EXPECT_TRUE(m.has("RELOADING=1")) << m.text;
	std::string mono = field(m.text, "MONOTONIC_USEC");
	ASSERT_FALSE(mono.empty()) << m.text;
	EXPECT_GE(std::stoll(mono), before);
	EXPECT_LE(std::stoll(mono), after);
	EXPECT_EQ(field(m.text, "STATUS").rfind("reloading ", 0), 0u) << m.text;
	ASSERT_TRUE(mgr.next(&m, 5000)) << g.log();
	EXPECT_TRUE(m.has("READY=1")) << m.text;
	EXPECT_EQ(field(m.text, "STATUS"), "relaying for 1 device");

	// A bad file: still READY=1 (the running configuration is kept), and
	// the status says so.
	g.rewrite_config("version = 1;\nbogus = 3;\n");
	ASSERT_EQ(kill(g.pid(), SIGHUP), 0);
	ASSERT_TRUE(mgr.next(&m, 5000)) << g.log();
	EXPECT_TRUE(m.has("RELOADING=1")) << m.text;
	ASSERT_TRUE(mgr.next(&m, 5000)) << g.log();
	EXPECT_TRUE(m.has("READY=1")) << m.text;
	EXPECT_EQ(field(m.text, "STATUS").rfind("reload failed: ", 0), 0u)
	    << m.text;

	// SIGTERM: STOPPING=1, then a clean exit.
	ASSERT_EQ(kill(g.pid(), SIGTERM), 0);
	ASSERT_TRUE(mgr.next(&m, 5000)) << g.log();
	EXPECT_TRUE(m.has("STOPPING=1")) << m.text;
	EXPECT_EQ(m.pid, g.pid());
	EXPECT_EQ(g.wait_exit(5000), 0) << g.log();
	close(d);
}

// WATCHDOG_USEC = 1 s: a ping about every 0.5 s, never two within half
// the interval, never a gap the manager would kill for.
TEST(Notify, WatchdogPingsWhileTheWatchdogSweeps)
{
	Manager mgr;
	Env env;
	Msg m;
	int dport, d = tcp_listen(&dport);

	ASSERT_TRUE(mgr.ok());
	ASSERT_NE(d, -1);
	env.set("NOTIFY_SOCKET", mgr.env());
	env.set("WATCHDOG_USEC", "1000000");
	GatewayProcess g(one_device(dport, 0));

	ASSERT_TRUE(mgr.next_state(&m, 10000)) << g.log();
	EXPECT_TRUE(m.has("READY=1")) << m.text;
	std::vector<Msg> got = mgr.collect(3000);
	std::vector<int64_t> pings;
	for (const Msg &x : got) {
		EXPECT_EQ(x.text, "WATCHDOG=1");
		EXPECT_EQ(x.pid, g.pid());
		pings.push_back(x.at_ms);
	}
	ASSERT_GE(pings.size(), 4u);
	EXPECT_LE(pings.size(), 7u);
	for (size_t i = 1; i < pings.size(); i++) {
		EXPECT_GE(pings[i] - pings[i - 1], 400) << i;
		EXPECT_LT(pings[i] - pings[i - 1], 1000) << i;
	}
	EXPECT_FALSE(g.log_contains("too long")) << g.log();
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0) << g.log();
	close(d);
}

// WATCHDOG_PID names another process: the pings are not for us.
TEST(Notify, NoPingsForAnotherProcess)
{
	Manager mgr;
	Env env;
	Msg m;
	int dport, d = tcp_listen(&dport);

	ASSERT_TRUE(mgr.ok());
	ASSERT_NE(d, -1);
	env.set("NOTIFY_SOCKET", mgr.env());
	env.set("WATCHDOG_USEC", "200000");
	env.set("WATCHDOG_PID", "1");
	GatewayProcess g(one_device(dport, 0));

	ASSERT_TRUE(mgr.next(&m, 10000)) << g.log();
	EXPECT_TRUE(m.has("READY=1")) << m.text;
	for (const Msg &x : mgr.collect(800))
		EXPECT_FALSE(x.has("WATCHDOG=1")) << x.text;
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0) << g.log();
	close(d);
}

// A watchdog period too long for WatchdogSec= is worth a warning.
TEST(Notify, WarnsWhenThePeriodIsTooLongForTheManager)
{
	Manager mgr;
	Env env;
	Msg m;
	int dport, d = tcp_listen(&dport);

	ASSERT_TRUE(mgr.ok());
	ASSERT_NE(d, -1);
	env.set("NOTIFY_SOCKET", mgr.env());
	env.set("WATCHDOG_USEC", "150000");
	GatewayProcess g(one_device(dport, 0));

	ASSERT_TRUE(mgr.next_state(&m, 10000)) << g.log();
	EXPECT_TRUE(eventually([&] {
		return g.log_contains("watchdog.period_ms 50 is too long for "
		    "the service manager's watchdog (150 ms)"); }, 5000))
	    << g.log();
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0) << g.log();
	close(d);
}

// gatewayd's device listening and a service manager whose watchdog wants
// a ping every usec microseconds, in the environment a unit gets.
struct Watched {
	Manager mgr;
	Env env;
	int dport = 0, d = -1;

	explicit Watched(const char *usec)
	{
		d = tcp_listen(&dport);
		env.set("NOTIFY_SOCKET", mgr.env());
		env.set("WATCHDOG_USEC", usec);
	}
	~Watched() { if (d != -1) close(d); }
	bool ok() { return mgr.ok() && d != -1; }
};

// One too long for half of it is refused: the manager would kill a healthy
// daemon, and the unit restart it into the same end. At the start, exit 78
// (which the unit does not restart); at a reload, the running configuration
// is kept.
TEST(Notify, RefusesAPeriodTheManagersWatchdogCannotWaitFor)
{
	Watched w("80000");
	ASSERT_TRUE(w.ok());
	GatewayProcess g(one_device(w.dport, 0));
	EXPECT_EQ(g.wait_exit(5000), 78) << g.log();
	EXPECT_TRUE(g.log_contains("sets watchdog.period_ms 50, too long for "
	    "the service manager's watchdog (80 ms)")) << g.log();
}

TEST(Notify, ReloadToAPeriodTheManagersWatchdogCannotWaitForIsRejected)
{
	Watched w("1000000");
	Msg m;
	ASSERT_TRUE(w.ok());
	GatewayProcess g(one_device(w.dport, 0));
	ASSERT_TRUE(w.mgr.next_state(&m, 10000)) << g.log();
	EXPECT_TRUE(m.has("READY=1")) << m.text;
	std::string text = one_device(w.dport, 0);
	const std::string was = "period_ms = 50;";
	text.replace(text.find(was), was.size(), "period_ms = 600;");
	g.rewrite_config(text);
	kill(g.pid(), SIGHUP);
	EXPECT_TRUE(eventually([&] {
		return g.log_contains("sets watchdog.period_ms 600, too long "
		    "for the service manager's watchdog (1000 ms), which is "
		    "pinged only after a completed sweep: want at most 500, "
		    "best under a quarter of WatchdogSec=; running "
		    "configuration kept"); }, 5000)) << g.log();
	EXPECT_FALSE(g.log_contains("reload: watchdog.period_ms")) << g.log();
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0) << g.log();
}

TEST(NotifyModule, AbstractSocket)
{
	Manager mgr(true);
	Env env;
	Msg m;
	char err[256];

	ASSERT_TRUE(mgr.ok());
	ASSERT_EQ(mgr.env()[0], '@');
	env.set("NOTIFY_SOCKET", mgr.env());
	struct notify *n = notify_open(err, sizeof(err));
	ASSERT_NE(n, nullptr);
	EXPECT_STREQ(err, "");
	EXPECT_EQ(notify_watchdog_ms(n), 0);
	EXPECT_EQ(notify_send(n, "READY=1\nSTATUS=%s", "up"), 0);
	ASSERT_TRUE(mgr.next(&m, 2000));
	EXPECT_EQ(m.text, "READY=1\nSTATUS=up");
	EXPECT_EQ(m.pid, getpid());
	// Too long for one datagram: refused whole, never cut.
	std::string big(NOTIFY_MSG_MAX, 'x');
	EXPECT_EQ(notify_send(n, "STATUS=%s", big.c_str()), -1);
	EXPECT_EQ(errno, EMSGSIZE);
	EXPECT_FALSE(mgr.next(&m, 100));
	notify_close(n);
}

// Without a usable NOTIFY_SOCKET every call succeeds and sends nothing;
// an unusable one is explained.
TEST(NotifyModule, NoManager)
{
	Env env;
	char err[256];

	unsetenv("NOTIFY_SOCKET");
	struct notify *n = notify_open(err, sizeof(err));
	ASSERT_NE(n, nullptr);
	EXPECT_STREQ(err, "");
	EXPECT_EQ(notify_send(n, "READY=1"), 0);
	EXPECT_EQ(notify_reloading(n, "x"), 0);
	EXPECT_EQ(notify_watchdog(n, 1, 0), 0);
	notify_close(n);

	for (const std::string &bad : { std::string("relative/path"),
	    std::string("@"), "/" + std::string(200, 'a'),
	    std::string("vsock:2:1234") }) {
		env.set("NOTIFY_SOCKET", bad);
		env.set("WATCHDOG_USEC", "1000000");
		n = notify_open(err, sizeof(err));
		ASSERT_NE(n, nullptr);
		EXPECT_NE(std::string(err).find("NOTIFY_SOCKET="),
		    std::string::npos) << bad;
		EXPECT_EQ(notify_watchdog_ms(n), 0) << bad;
		EXPECT_EQ(notify_send(n, "READY=1"), 0) << bad;
		notify_close(n);
	}
	notify_close(nullptr);
}

// Nothing listens on the socket: the caller learns it.
TEST(NotifyModule, SendFailureIsReported)
{
	TestDir dir;
	Env env;
	char err[256];

	env.set("NOTIFY_SOCKET", dir.path("nobody"));
	struct notify *n = notify_open(err, sizeof(err));
	ASSERT_NE(n, nullptr);
	EXPECT_STREQ(err, "");
	EXPECT_EQ(notify_send(n, "READY=1"), -1);
	EXPECT_EQ(errno, ENOENT);
	notify_close(n);
}

// WATCHDOG=1 only after a new sweep, and at most every half interval.
TEST(NotifyModule, WatchdogPacing)
{
	Manager mgr;
	Env env;
	Msg m;
	char err[256];

	ASSERT_TRUE(mgr.ok());
	env.set("NOTIFY_SOCKET", mgr.env());
	env.set("WATCHDOG_USEC", "1000000");
	env.set("WATCHDOG_PID", std::to_string(getpid()));
	struct notify *n = notify_open(err, sizeof(err));
	ASSERT_NE(n, nullptr);
	EXPECT_EQ(notify_watchdog_ms(n), 1000);

	struct step {
		uint64_t sweeps;
		int64_t now_ms;
		bool sent;
	} steps[] = {
		{ 0, 0, false },	// no sweep completed yet
		{ 1, 10, true },
		{ 2, 400, false },	// too soon: 390 ms < 500 ms
		{ 2, 509, false },
		{ 2, 510, true },
		{ 2, 5000, false },	// no sweep since: the watchdog is stuck
		{ 3, 5000, true },
		{ 4, 5499, false },
		{ 5, 5500, true },
	};
	for (const step &s : steps) {
		EXPECT_EQ(notify_watchdog(n, s.sweeps, s.now_ms), 0);
		if (s.sent) {
			ASSERT_TRUE(mgr.next(&m, 1000)) << s.now_ms;
			EXPECT_EQ(m.text, "WATCHDOG=1");
		} else {
			EXPECT_FALSE(mgr.next(&m, 20)) << s.now_ms;
		}
	}
	notify_close(n);

	// Values the manager never sends mean no watchdog.
	for (const char *usec : { "0", "-5", "abc", "12x", "" }) {
		env.set("WATCHDOG_USEC", usec);
		n = notify_open(err, sizeof(err));
		ASSERT_NE(n, nullptr);
		EXPECT_EQ(notify_watchdog_ms(n), 0) << usec;
		notify_close(n);
	}
	env.set("WATCHDOG_USEC", "500");
	env.set("WATCHDOG_PID", "x");
	n = notify_open(err, sizeof(err));
	ASSERT_NE(n, nullptr);
	EXPECT_EQ(notify_watchdog_ms(n), 0);
	notify_close(n);
	unsetenv("WATCHDOG_PID");
	n = notify_open(err, sizeof(err));
	ASSERT_NE(n, nullptr);
	EXPECT_EQ(notify_watchdog_ms(n), 1);
	notify_close(n);
}
