// Log targets: the journal's native protocol on a Unix datagram socket the
// test binds (the journal writer and the logger take the socket's path),
// syslog(3) on a /dev/log of the test's own (a private mount namespace,
// where the host allows one), the fallback to stderr, rate limits on every
// target, and a reload that changes the target. Every wait is bounded.
#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "gwtest.h"
#include "journal.h"
#include "log.h"
#include "net.h"
#include "nschild.h"
#include "strbuf.h"

namespace {

// A Unix datagram socket bound at path: the journal's (or syslog's) side.
class DgramSink {
public:
	explicit DgramSink(const std::string &path) : path_(path)
	{
		struct sockaddr_un sa;

		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		if (path.size() >= sizeof(sa.sun_path))
			return;
		memcpy(sa.sun_path, path.c_str(), path.size());
		fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd_ != -1 && bind(fd_, (struct sockaddr *)&sa,
		    sizeof(sa)) == -1) {
			close(fd_);
			fd_ = -1;
		}
	}
	~DgramSink() { shut(); }
	bool ok() const { return fd_ != -1; }
	// Close the socket, leaving its file behind: nobody reads there.
	void
	shut()
	{
		if (fd_ != -1)
			close(fd_);
		fd_ = -1;
	}
	// Read every datagram waiting, without waiting; returns how many.
	unsigned
	drain()
	{
		std::string d;
		unsigned n = 0;

		while (next(&d, 0))
			n++;
		return n;
	}
	// The next datagram within timeout_ms; false when none came.
	bool
	next(std::string *out, int timeout_ms = 2000)
	{
		struct pollfd pfd = { fd_, POLLIN, 0 };
		char buf[8192];

		if (fd_ == -1 || poll(&pfd, 1, timeout_ms) != 1)
			return false;
		ssize_t n = recv(fd_, buf, sizeof(buf), 0);
		if (n < 0)
			return false;
		out->assign(buf, (size_t)n);
		return true;
	}
private:
	std::string path_;
	int fd_ = -1;
};

// The fields of one native journal entry; "!" holds a framing error.
std::map<std::string, std::string>
fields_of(const std::string &d)
{
	std::map<std::string, std::string> f;
	size_t i = 0;

	while (i < d.size()) {
		size_t nl = d.find('\n', i), eq = d.find('=', i);
		if (nl == std::string::npos) {
			f["!"] = "entry does not end with a newline";
			break;
		}
		if (eq != std::string::npos && eq < nl) {
			f[d.substr(i, eq - i)] = d.substr(eq + 1, nl - eq - 1);
			i = nl + 1;
			continue;
		}
		// NAME\n, 64-bit little-endian length, value, \n.
		std::string name = d.substr(i, nl - i);
		if (nl + 9 > d.size()) {
			f["!"] = "short binary field " + name;
			break;
		}
		uint64_t len = 0;
		for (int k = 7; k >= 0; k--)
			len = len << 8 | (unsigned char)d[nl + 1 + k];
		size_t v = nl + 9;
		if (v + len + 1 > d.size() || d[v + len] != '\n') {
			f["!"] = "bad binary field " + name;
			break;
		}
		f[name] = d.substr(v, len);
		i = v + len + 1;
	}
	return f;
}

// fd as stderr (fd 2) until restore(), at the latest on destruction.
class StderrSwap {
public:
	~StderrSwap() { restore(); }
	void
	swap_in(int fd)
	{
		if (fd != -1 && saved_ == -1 && (saved_ = dup(2)) != -1)
			dup2(fd, 2);
	}
	bool swapped() const { return saved_ != -1; }
	void
	restore()
	{
		if (saved_ != -1) {
			dup2(saved_, 2);
			close(saved_);
		}
		saved_ = -1;
	}
private:
	int saved_ = -1;
};

// Everything written on stderr (fd 2) while it lives.
class StderrCapture {
public:
	StderrCapture()
	{
		char tmpl[] = "/tmp/gwtest-stderr.XXXXXX";

		fd_ = mkstemp(tmpl);
		path_ = tmpl;
		swap_.swap_in(fd_);
	}
	~StderrCapture()
	{
		restore();
		if (fd_ != -1)
			close(fd_);
		unlink(path_.c_str());
	}
	void restore() { swap_.restore(); }
	std::string
	text() const
	{
		std::ifstream in(path_);
		std::stringstream ss;

		ss << in.rdbuf();
		return ss.str();
	}
private:
	StderrSwap swap_;
	std::string path_;
	int fd_ = -1;
};

unsigned
count(const std::string &text, const std::string &what)
{
	unsigned n = 0;

	for (size_t at = 0; (at = text.find(what, at)) != std::string::npos;
	    at += what.size())
		n++;
	return n;
}

// The logger back at its defaults, whatever a test did.
struct LogReset {
	~LogReset()
	{
		(void)log_set_target(LOG_TO_STDERR, nullptr);
		log_set_level(LOG_LVL_INFO);
		log_set_tag(nullptr);
	}
};

// An empty tmpfs on /dev, in a private mount namespace (so /dev/log is the
// test's to bind), with the old /dev/null bound into it for the gateway.
bool
private_dev()
{
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	std::string null_path = "/proc/self/fd/" + std::to_string(null_fd);
	bool ok = null_fd != -1 && mount("none", "/dev", "tmpfs", 0,
	    nullptr) == 0 &&
	    close(open("/dev/null", O_WRONLY | O_CREAT, 0666)) == 0 &&
	    mount(null_path.c_str(), "/dev/null", nullptr, MS_BIND,
	    nullptr) == 0;

	if (null_fd != -1)
		close(null_fd);
	return ok;
}

// body as a test's whole body, in a child process with a /dev of its own
// (private_dev()): skipped where the host allows no such namespace.
void
expect_in_private_dev(const std::function<std::string()> &body)
{
	expect_in_namespaces(0, private_dev, body,
	    "no private mount namespace here");
}

// The datagram as syslog(3) sends it ("<PRI>TIMESTAMP gatewayd[PID]:
// MESSAGE"): "" when it is that, else what is wrong.
std::string
syslog_line_is(const std::string &d, int pri, const std::string &msg)
{
	std::string head = "<" + std::to_string(pri) + ">";
	std::string tail = "gatewayd[" + std::to_string(getpid()) + "]: " + msg;

	if (d.compare(0, head.size(), head) != 0 || d.size() < tail.size() ||
	    d.compare(d.size() - tail.size(), tail.size(), tail) != 0)
		return "got \"" + d + "\", want " + head + "... " + tail;
	return "";
}

}  // namespace

TEST(Journal, SendsEveryFieldInOneDatagram)
{
	TestDir dir;
	DgramSink sink(dir.path("journal.sock"));
	ASSERT_TRUE(sink.ok());
	int fd = journal_open(dir.path("journal.sock").c_str());
	ASSERT_NE(fd, -1) << strerror(errno);

	struct journal_entry e = {};
	e.priority = LOG_WARNING;
	e.identifier = "gatewayd";
	e.message = "press1/device down: keepalive_timeout (3 probes unanswered)";
	e.device = "press1";
	e.link = "device";
	e.reason = "keepalive_timeout";
	ASSERT_EQ(journal_send(fd, &e, true), 0) << strerror(errno);
	std::string d;
	ASSERT_TRUE(sink.next(&d));
	auto f = fields_of(d);
	EXPECT_EQ(f.count("!"), 0u) << f["!"];
	EXPECT_EQ(f["MESSAGE"], e.message);
	EXPECT_EQ(f["PRIORITY"], "4");
	EXPECT_EQ(f["SYSLOG_IDENTIFIER"], "gatewayd");
	EXPECT_EQ(f["GATEWAYD_DEVICE"], "press1");
	EXPECT_EQ(f["GATEWAYD_LINK"], "device");
	EXPECT_EQ(f["GATEWAYD_REASON"], "keepalive_timeout");
	EXPECT_EQ(f.size(), 6u);

	// Fields without a value are left out.
	e.priority = LOG_INFO;
	e.message = "started 2 devices";
	e.device = nullptr;
	e.link = "";
	e.reason = nullptr;
	ASSERT_EQ(journal_send(fd, &e, true), 0);
	ASSERT_TRUE(sink.next(&d));
	f = fields_of(d);
	EXPECT_EQ(d, "MESSAGE=started 2 devices\nPRIORITY=6\n"
	    "SYSLOG_IDENTIFIER=gatewayd\n");
	close(fd);
}

TEST(Journal, ValueWithALineBreakGoesInBinaryForm)
{
	TestDir dir;
	DgramSink sink(dir.path("j"));
	ASSERT_TRUE(sink.ok());
	int fd = journal_open(dir.path("j").c_str());
	ASSERT_NE(fd, -1);

	struct journal_entry e = {};
	e.priority = LOG_ERR;
	e.identifier = "gatewayd";
	e.message = "two\nlines=";
	e.device = "d=1";
	ASSERT_EQ(journal_send(fd, &e, true), 0);
	std::string d;
	ASSERT_TRUE(sink.next(&d));
	std::string want("MESSAGE\n\x0a\0\0\0\0\0\0\0two\nlines=\n", 27);
	EXPECT_EQ(d.substr(0, want.size()), want);
	auto f = fields_of(d);
	EXPECT_EQ(f.count("!"), 0u) << f["!"];
	EXPECT_EQ(f["MESSAGE"], "two\nlines=");
	EXPECT_EQ(f["PRIORITY"], "3");
	EXPECT_EQ(f["GATEWAYD_DEVICE"], "d=1");
	close(fd);
}

TEST(Journal, TooLargeAnEntryIsRefused)
{
	TestDir dir;
	DgramSink sink(dir.path("j"));
	ASSERT_TRUE(sink.ok());
	int fd = journal_open(dir.path("j").c_str());
	ASSERT_NE(fd, -1);
	std::string big(JOURNAL_ENTRY_MAX, 'x');
	struct journal_entry e = {};
	e.message = big.c_str();
	errno = 0;
	EXPECT_EQ(journal_send(fd, &e, true), -1);
	EXPECT_EQ(errno, EMSGSIZE);
	std::string d;
	EXPECT_FALSE(sink.next(&d, 100));
	close(fd);
}

TEST(Journal, OpenFailsWhereNoJournalReads)
{
	TestDir dir;

	errno = 0;
	EXPECT_EQ(journal_open(dir.path("none").c_str()), -1);
	EXPECT_EQ(errno, ENOENT);
	DgramSink gone(dir.path("gone"));
	ASSERT_TRUE(gone.ok());
	gone.shut();
	errno = 0;
	EXPECT_EQ(journal_open(dir.path("gone").c_str()), -1);
	EXPECT_EQ(errno, ECONNREFUSED);
	errno = 0;
	EXPECT_EQ(journal_open(("/" + std::string(200, 'x')).c_str()), -1);
	EXPECT_EQ(errno, ENAMETOOLONG);
}

TEST(Log, JournalTargetCarriesTheLinkAsFields)
{
	LogReset reset;
	TestDir dir;
	DgramSink sink(dir.path("journal.sock"));
	ASSERT_TRUE(sink.ok());
	ASSERT_EQ(log_set_target(LOG_TO_JOURNAL,
	    dir.path("journal.sock").c_str()), 0) << strerror(errno);

	log_link(LOG_LVL_WARN, "press1", "device", "keepalive_timeout",
	    "%s down: %s (3 probes unanswered)", "press1/device",
	    "keepalive_timeout");
	std::string d;
	ASSERT_TRUE(sink.next(&d));
	auto f = fields_of(d);
	EXPECT_EQ(f["MESSAGE"],
	    "press1/device down: keepalive_timeout (3 probes unanswered)");
	EXPECT_EQ(f["PRIORITY"], "4");
	EXPECT_EQ(f["SYSLOG_IDENTIFIER"], "gatewayd");
	EXPECT_EQ(f["GATEWAYD_DEVICE"], "press1");
	EXPECT_EQ(f["GATEWAYD_LINK"], "device");
	EXPECT_EQ(f["GATEWAYD_REASON"], "keepalive_timeout");

	// A device without a link; a tagged line about nothing in particular;
	// an error; debug is below the level and sends nothing.
	log_link(LOG_LVL_INFO, "press2", nullptr, nullptr,
	    "reload: press2: added: starting");
	ASSERT_TRUE(sink.next(&d));
	f = fields_of(d);
	EXPECT_EQ(f["GATEWAYD_DEVICE"], "press2");
	EXPECT_EQ(f.count("GATEWAYD_LINK"), 0u);
	EXPECT_EQ(f.count("GATEWAYD_REASON"), 0u);
	EXPECT_EQ(f["PRIORITY"], "6");
	log_set_tag("acceptor");
	log_info("listening");
	ASSERT_TRUE(sink.next(&d));
	EXPECT_EQ(d, "MESSAGE=acceptor: listening\nPRIORITY=6\n"
	    "SYSLOG_IDENTIFIER=gatewayd\n");
	log_error("broken: %d", 70);
	ASSERT_TRUE(sink.next(&d));
	EXPECT_EQ(fields_of(d)["PRIORITY"], "3");
	EXPECT_EQ(fields_of(d)["MESSAGE"], "acceptor: broken: 70");
	log_debug("not shown");
	EXPECT_FALSE(sink.next(&d, 100)) << d;
	log_set_level(LOG_LVL_DEBUG);
	log_debug("shown");
	ASSERT_TRUE(sink.next(&d));
	EXPECT_EQ(fields_of(d)["PRIORITY"], "7");
}

// A rate limit is the caller's: it holds on every target alike.
TEST(Log, RateLimitHoldsOnTheJournal)
{
	LogReset reset;
	TestDir dir;
	DgramSink sink(dir.path("j"));
	ASSERT_TRUE(sink.ok());
	ASSERT_EQ(log_set_target(LOG_TO_JOURNAL, dir.path("j").c_str()), 0);

	struct log_limit limit = {};
	limit.window_ms = 60000;
	unsigned suppressed;
	for (int64_t now : { 0, 10, 20, 30, 40, 60040 })
		if (log_limit_allow(&limit, now, &suppressed))
			log_link(LOG_LVL_WARN, "press1", "device", nullptr,
			    "press1/device: connect refused%s",
			    log_suppressed(suppressed));
	std::string d;
	ASSERT_TRUE(sink.next(&d));
	EXPECT_EQ(fields_of(d)["MESSAGE"], "press1/device: connect refused");
	ASSERT_TRUE(sink.next(&d));
	EXPECT_EQ(fields_of(d)["MESSAGE"], "press1/device: connect refused "
	    "(suppressed 4 similar)");
	EXPECT_FALSE(sink.next(&d, 100)) << d;
}

namespace {

// A full pipe as stderr, as left by a log reader that stalled: the
// capacity is taken up front, so that the first line finds no room.
class StderrStalled {
public:
	StderrStalled()
	{
		if (pipe2(p_, O_CLOEXEC) == -1)
			return;
		fcntl(p_[0], F_SETFL, O_NONBLOCK);
		fcntl(p_[1], F_SETFL, O_NONBLOCK);
		std::string junk(4096, 'x');
		while (write(p_[1], junk.data(), junk.size()) > 0)
			;
		fcntl(p_[1], F_SETFL, 0);
		swap_.swap_in(p_[1]);
	}
	~StderrStalled()
	{
		restore();
		close(p_[0]);
		close(p_[1]);
	}
	bool ok() const { return swap_.swapped(); }
	// What the pipe holds (the junk first), reading it empty.
	std::string
	drain()
	{
		std::string out;
		char buf[4096];
		ssize_t n;

		while ((n = read(p_[0], buf, sizeof(buf))) > 0)
			out.append(buf, (size_t)n);
		return out;
	}
	void restore() { swap_.restore(); }
private:
	StderrSwap swap_;
	int p_[2] = { -1, -1 };
};

// Log from a thread of its own and wait for it at most timeout_ms; when it
// is still blocked then, unblock it by draining stderr (the pipe) so that
// it can be joined. Returns the ms it took, or -1.
long
log_with_deadline(StderrStalled &s, const char *what, int timeout_ms)
{
	std::atomic<bool> done{false};
	auto t0 = std::chrono::steady_clock::now();
	std::thread t([&] { log_warnx("%s", what); done = true; });
	bool in_time = eventually([&] { return done.load(); }, timeout_ms);
	long ms = std::chrono::duration_cast<std::chrono::milliseconds>(
	    std::chrono::steady_clock::now() - t0).count();
	while (!done) {
		s.drain();
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	t.join();
	return in_time ? ms : -1;
}

// Log n lines ("line I") from a thread of its own while sink does not
// read, and wait for it at most timeout_ms; when it is still logging then,
// read from sink until it is done, so that it can be joined. Returns the
// ms it took, or -1.
long
flood(DgramSink &sink, int n, int timeout_ms)
{
	std::atomic<bool> done{false};
	auto t0 = std::chrono::steady_clock::now();
	std::thread t([&] {
		for (int i = 0; i < n; i++)
			log_warnx("line %d", i);
		done = true;
	});
	bool in_time = eventually([&] { return done.load(); }, timeout_ms);
	long ms = std::chrono::duration_cast<std::chrono::milliseconds>(
	    std::chrono::steady_clock::now() - t0).count();
	while (!done)
		sink.drain();
	t.join();
	return in_time ? ms : -1;
}

}  // namespace

// A stderr that nobody reads holds a thread that logs for at most about a
// second, once; the lines after it are dropped at once, and the first line
// that gets through again says how many were lost.
TEST(Log, StderrNobodyReadsHoldsNoThreadForLong)
{
	LogReset reset;
	StderrStalled s;
	ASSERT_TRUE(s.ok());

	long first = log_with_deadline(s, "first", 5000);
	EXPECT_NE(first, -1) << "a line on a full stderr blocked its thread";
	EXPECT_GE(first, 500) << "did not wait for room at all";
	long rest = 0;
	for (int i = 0; i < 9 && first != -1; i++)
		rest += log_with_deadline(s, "next", 5000);
	EXPECT_LT(rest, 1000) << "lines after the first lost one waited too";
	std::string junk = s.drain();
	EXPECT_EQ(junk.find(" warn "), std::string::npos) << "a line went out";

	log_warnx("after");
	std::string t = s.drain();
	s.restore();
	EXPECT_NE(t.find(" warn log: 10 lines lost: stderr was not read\n"),
	    std::string::npos) << t;
	EXPECT_NE(t.find(" warn after\n"), std::string::npos) << t;
	EXPECT_LT(t.find("lines lost"), t.find("after")) << t;

	// Counted afresh: the next line comes alone.
	StderrCapture cap;
	log_warnx("alone");
	cap.restore();
	EXPECT_EQ(cap.text().find("lost"), std::string::npos) << cap.text();
}

TEST(Log, NoJournalLeavesTheLinesOnStderr)
{
	LogReset reset;
	TestDir dir;
	StderrCapture cap;

	errno = 0;
	EXPECT_EQ(log_set_target(LOG_TO_JOURNAL, dir.path("none").c_str()), -1);
	EXPECT_EQ(errno, ENOENT);
	log_link(LOG_LVL_WARN, "press1", "device", "peer_reset",
	    "press1/device down: peer_reset");
	cap.restore();
	std::string t = cap.text();
	EXPECT_NE(t.find(" warn press1/device down: peer_reset\n"),
	    std::string::npos) << t;
}

// The journal goes away after the start: each line it refuses goes to
// stderr, and one warning says so.
TEST(Log, LinesTheJournalRefusesGoToStderr)
{
	LogReset reset;
	TestDir dir;
	DgramSink sink(dir.path("j"));
	ASSERT_TRUE(sink.ok());
	ASSERT_EQ(log_set_target(LOG_TO_JOURNAL, dir.path("j").c_str()), 0);
	sink.shut();
	StderrCapture cap;
	log_warnx("first");
	log_warnx("second");
	cap.restore();
	std::string t = cap.text();
	EXPECT_NE(t.find(" warn first\n"), std::string::npos) << t;
	EXPECT_NE(t.find(" warn second\n"), std::string::npos) << t;
	EXPECT_EQ(count(t, "the journal refused a line"), 1u) << t;
}

// A journal that stops reading holds a thread that logs for about a second
// once, not a second a line: once a line is refused, the next are offered
// without waiting. No line is lost: each is in the journal or on stderr.
// When the journal reads again, the lines go there again.
TEST(Log, AJournalThatStopsReadingHoldsNoThreadForLong)
{
	LogReset reset;
	TestDir dir;
	DgramSink sink(dir.path("j"));
	ASSERT_TRUE(sink.ok());
	ASSERT_EQ(log_set_target(LOG_TO_JOURNAL, dir.path("j").c_str()), 0);
	StderrCapture cap;
	long ms = flood(sink, 200, 10000);
	cap.restore();
	std::string t = cap.text();
	EXPECT_NE(ms, -1) << "200 lines to a journal that does not read took "
	    "more than 10 s";
	EXPECT_LT(ms, 5000);
	EXPECT_GE(count(t, " warn line "), 1u) << t;
	EXPECT_EQ(count(t, "the journal refused a line"), 1u) << t;
	EXPECT_EQ(sink.drain() + count(t, " warn line "), 200u) << t;

	log_warnx("back");
	std::string d;
	ASSERT_TRUE(sink.next(&d));
	EXPECT_EQ(fields_of(d)["MESSAGE"], "back");
}

// The same for syslog: syslog(3) would wait as long as the daemon does.
TEST(Log, ASyslogThatStopsReadingHoldsNoThreadForLong)
{
	expect_in_private_dev([]() -> std::string {
		LogReset reset;
		DgramSink sink("/dev/log");
		if (!sink.ok())
			return std::string("cannot bind /dev/log: ") +
			    strerror(errno);
		if (log_set_target(LOG_TO_SYSLOG, nullptr) != 0)
			return std::string("log_set_target(syslog): ") +
			    strerror(errno);
		StderrCapture cap;
		long ms = flood(sink, 200, 10000);
		cap.restore();
		std::string t = cap.text(), d;
		if (ms == -1 || ms >= 5000)
			return "200 lines to a syslog that does not read took " +
			    (ms == -1 ? std::string("more than 10000") :
			    std::to_string(ms)) + " ms";
		if (count(t, "syslog refused a line") != 1)
			return "want one 'syslog refused a line' warning: " + t;
		if (sink.drain() + count(t, " warn line ") != 200)
			return "lines lost: " + t;
		log_warnx("back");
		if (!sink.next(&d) || d.find("gatewayd[") == std::string::npos ||
		    d.find("]: back") == std::string::npos)
			return "after the drain, not on syslog: " + d;
		return "";
	});
}

// A syslog daemon that restarts makes its socket anew: lines reach the new
// one without a reload.
TEST(Log, SyslogRestartedIsFoundAgain)
{
	expect_in_private_dev([]() -> std::string {
		LogReset reset;
		std::string d;
		{
			DgramSink sink("/dev/log");
			if (!sink.ok() ||
			    log_set_target(LOG_TO_SYSLOG, nullptr) != 0)
				return "cannot log to a /dev/log of our own";
			log_warnx("before");
			if (!sink.next(&d) || d.find("]: before") ==
			    std::string::npos)
				return "not on syslog: " + d;
		}
		unlink("/dev/log");
		DgramSink again("/dev/log");
		if (!again.ok())
			return "cannot bind /dev/log again";
		log_warnx("after");
		if (!again.next(&d) || d.find("]: after") == std::string::npos)
			return "not on the restarted syslog: " + d;
		return "";
	});
}

TEST(Log, SyslogGetsTheDaemonFacilityAndTheLevel)
{
	expect_in_private_dev([]() -> std::string {
		LogReset reset;
		// No /dev/log yet: stderr, and the caller is told.
		errno = 0;
		if (log_set_target(LOG_TO_SYSLOG, nullptr) != -1 ||
		    errno != ENOENT)
			return "no /dev/log, yet log_set_target() did not fail "
			    "with ENOENT";
		DgramSink sink("/dev/log");
		if (!sink.ok())
			return std::string("cannot bind /dev/log: ") +
			    strerror(errno);
		if (log_set_target(LOG_TO_SYSLOG, nullptr) != 0)
			return std::string("log_set_target(syslog): ") +
			    strerror(errno);
		std::string d, bad;
		log_link(LOG_LVL_WARN, "press1", "device", "peer_reset",
		    "press1/device down: peer_reset");
		if (!sink.next(&d))
			return "no warn line on /dev/log";
		// daemon (3 << 3) + warning (4)
		if (!(bad = syslog_line_is(d, 28,
		    "press1/device down: peer_reset")).empty())
			return bad;
		log_set_tag("status");
		log_error("poll: %s", "Bad file descriptor");
		if (!sink.next(&d))
			return "no error line on /dev/log";
		if (!(bad = syslog_line_is(d, 27,
		    "status: poll: Bad file descriptor")).empty())
			return bad;
		log_info("serving");
		if (!sink.next(&d) || !(bad = syslog_line_is(d, 30,
		    "status: serving")).empty())
			return "info: " + bad;
		log_debug("hidden");
		if (sink.next(&d, 100))
			return "a debug line below the level: " + d;
		// Back to stderr: nothing more on /dev/log.
		if (log_set_target(LOG_TO_STDERR, nullptr) != 0)
			return "log_set_target(stderr) failed";
		log_warnx("on stderr");
		if (sink.next(&d, 100))
			return "a line on /dev/log after leaving syslog: " + d;
		return "";
	});
}

// A reload moves the log: the line that announces the move goes to the old
// target, the reload's summary to the new one already.
TEST(Log, ReloadChangesTheTarget)
{
	expect_in_private_dev([]() -> std::string {
		DgramSink sink("/dev/log");
		if (!sink.ok())
			return "cannot bind /dev/log";
		const std::string devices = "devices = ();\n";
		InProcessGateway g(test_preamble() + devices);
		if (!g.ok())
			return "the gateway did not start";
		std::string d;
		if (sink.next(&d, 100))
			return "on /dev/log before the reload: " + d;
		TestDir dir;
		auto reload = [&](const std::string &target) {
			std::string t = test_preamble() + devices;
			size_t at = t.find("log = { level = \"info\"; };");
			if (at == std::string::npos)
				return false;
			t.replace(at, 26, "log = { level = \"info\"; target = \"" +
			    target + "\"; };");
			std::string p = dir.write("new.conf", t);
			struct cfg *cfg = nullptr;
			if (cfg_load(p.c_str(), &cfg, nullptr) == -1)
				return false;
			return gw_reload(g.gw(), cfg, nullptr) == 0;
		};
		if (!reload("syslog"))
			return "the reload to syslog failed";
		if (!sink.next(&d) || d.find("gatewayd[") == std::string::npos ||
		    d.find("reload: 0 devices kept") == std::string::npos)
			return "no reload summary on /dev/log: " + d;
		// The move is announced where the lines were going.
		if (!reload("stderr"))
			return "the reload to stderr failed";
		if (!sink.next(&d) || d.find("reload: log.target syslog -> "
		    "stderr") == std::string::npos)
			return "no announcement of the move on /dev/log: " + d;
		g.stop();
		if (sink.next(&d, 100))
			return "on /dev/log after the reload to stderr: " + d;
		return "";
	});
}

// A reload that changes log.level says so, where either level shows it:
// before the move to a quieter level, after one to a louder; between warn
// and error, at warn.
TEST(Log, ReloadOfTheLevelIsLogged)
{
	auto conf = [](const std::string &level) {
		std::string t = test_preamble() + "devices = ();\n";
		const std::string was = "level = \"info\"";
		t.replace(t.find(was), was.size(), "level = \"" + level + "\"");
		return t;
	};
	GatewayProcess g(conf("info"));
	ASSERT_TRUE(eventually([&] { return g.log_contains("started 0 "
	    "devices"); }, 5000)) << g.log();
	const char *const steps[][2] = { { "debug", "info -> debug" },
	    { "warn", "debug -> warn" }, { "error", "warn -> error" },
	    { "warn", "error -> warn" }, { "info", "warn -> info" } };
	for (const auto &step : steps) {
		g.rewrite_config(conf(step[0]));
		kill(g.pid(), SIGHUP);
		EXPECT_TRUE(eventually([&] { return g.log_contains(
		    std::string("reload: log.level ") + step[1] + "\n"); },
		    5000)) << g.log();
	}
	EXPECT_EQ(g.signal_and_wait(SIGTERM, 5000), 0) << g.log();
}

// A reload to a target nobody reads (no /dev/log) takes the rest of the
// file, but is no success: the lines stay on stderr, and the report says
// why.
TEST(Log, ReloadToATargetThatCannotBeUsedSaysSo)
{
	expect_in_private_dev([]() -> std::string {
		const std::string devices = "devices = ();\n";
		InProcessGateway g(test_preamble() + devices);
		if (!g.ok())
			return "the gateway did not start";
		TestDir dir;
		std::string t = test_preamble() + devices;
		size_t at = t.find("log = { level = \"info\"; };");
		if (at == std::string::npos)
			return "no log group in the preamble";
		t.replace(at, 26, "log = { level = \"info\"; target = "
		    "\"syslog\"; };");
		std::string p = dir.write("new.conf", t);
		struct cfg *cfg = nullptr;
		if (cfg_load(p.c_str(), &cfg, nullptr) == -1)
			return "the file did not load";
		struct gw_reload_report rep;
		memset(&rep, 0, sizeof(rep));
		strbuf_init(&rep.lines);
		int rc = gw_reload(g.gw(), cfg, &rep);
		std::string lines = rep.lines.buf != nullptr ?
		    std::string(rep.lines.buf, rep.lines.len) : "";
		const char *failed = rep.log_failed;
		strbuf_free(&rep.lines);
		if (rc != -1)
			return "the reload counted as a success";
		if (failed == nullptr || std::string(failed) != "syslog")
			return "log_failed not syslog";
		if (lines.find("log.target syslog: cannot use /dev/log: ") ==
		    std::string::npos || lines.find("; logging to stderr\n") ==
		    std::string::npos)
			return "the report does not say so: " + lines;
		g.stop();
		return "";
	});
}

// The daemon itself, asked for the journal on a host without one: a
// warning at each attempt (the start, each reload), and every line on
// stderr as usual.
TEST(Log, DaemonWithoutAJournalSaysSoAndLogsToStderr)
{
	if (access(JOURNAL_SOCKET, F_OK) == 0)
		GTEST_SKIP() << JOURNAL_SOCKET << " exists: a journal reads it";
	std::string conf = test_preamble() + "devices = ();\n";
	size_t at = conf.find("log = { level = \"info\"; };");
	ASSERT_NE(at, std::string::npos);
	conf.replace(at, 26, "log = { level = \"info\"; target = \"journal\"; };");
	const std::string warning = " warn log.target journal: cannot use "
	    JOURNAL_SOCKET ": No such file or directory; logging to stderr\n";
	GatewayProcess p(conf);
	ASSERT_TRUE(eventually([&] { return p.log_contains("started 0 devices"); },
	    5000)) << p.log();
	EXPECT_EQ(count(p.log(), warning), 1u) << p.log();
	kill(p.pid(), SIGHUP);
	ASSERT_TRUE(eventually([&] {
		return p.log_contains("reload: 0 devices kept"); }, 5000))
	    << p.log();
	EXPECT_EQ(p.signal_and_wait(SIGTERM, 5000), 0);
	std::string log = p.log();
	EXPECT_EQ(count(log, warning), 2u) << log;
	EXPECT_NE(log.find(" info terminating\n"), std::string::npos) << log;
}
