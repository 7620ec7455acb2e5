// Name lookups against a DNS server of the test's own: a child process
// with a network namespace of its own (only lo) and a private mount
// namespace whose /etc/resolv.conf names a server on 127.0.0.1:53 that
// the test runs, answering late or never. Every wait is bounded.
#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cfg.h"
#include "gwtest.h"
#include "http.h"
#include "net.h"
#include "nschild.h"
#include "resolve.h"

namespace {

using Clock = std::chrono::steady_clock;

const char kAnswer[] = "198.18.0.9";

// A DNS server on 127.0.0.1:53: each query for an A record is answered
// with the address a (kAnswer unless said), any other with no record,
// delay_ms after it came (-1: never). It counts the lookups it saw: a
// resolver sends the A query of one lookup under one ID, retries too.
class Dns {
public:
	explicit Dns(int delay_ms, const char *a = kAnswer) : delay_ms_(delay_ms)
	{
		if (inet_pton(AF_INET, a, &a_) != 1)
			return;
		struct sockaddr_in sin = {};
		sin.sin_family = AF_INET;
		sin.sin_port = htons(53);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd_ == -1 || bind(fd_, (struct sockaddr *)&sin,
		    sizeof(sin)) == -1)
			return;
		thread_ = std::thread([this] { run(); });
	}
	~Dns()
	{
		stop_ = true;
		if (thread_.joinable())
			thread_.join();
		if (fd_ != -1)
			close(fd_);
	}
	bool ok() const { return thread_.joinable(); }
	size_t lookups()
	{
		std::lock_guard<std::mutex> g(mu_);
		return ids_.size();
	}
private:
	struct Reply {
		Clock::time_point due;
		struct sockaddr_storage to;
		socklen_t tolen;
		std::string bytes;
	};

	// The answer to query q, or "" for what is no query of one question.
	std::string answer(const std::string &q, bool *is_a) const
	{
		size_t at = 12;

		if (q.size() < at || (q[2] & 0x80) != 0)
			return "";
		while (at < q.size() && q[at] != 0)
			at += 1 + (uint8_t)q[at];
		if (at + 5 > q.size())
			return "";
		*is_a = q[at + 1] == 0 && q[at + 2] == 1;
		std::string r = q.substr(0, at + 5);
		r[2] = (char)(0x80 | (q[2] & 0x01));	// QR, RD as asked
		r[3] = (char)0x80;			// RA, NOERROR
		r[4] = 0; r[5] = 1;			// one question
		r[6] = 0; r[7] = *is_a ? 1 : 0;		// the answer
		r.replace(8, 4, std::string(4, '\0'));	// nothing else
		if (*is_a) {
			static const unsigned char rr[] = {
				0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4 };
			r.append((const char *)rr, sizeof(rr));
			r.append((const char *)&a_, sizeof(a_));
		}
		return r;
	}

	void run()
	{
		std::vector<Reply> due;
		char buf[1500];

		while (!stop_) {
			struct pollfd p = { fd_, POLLIN, 0 };
			if (poll(&p, 1, 10) == 1) {
				Reply r;
				r.tolen = sizeof(r.to);
				ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0,
				    (struct sockaddr *)&r.to, &r.tolen);
				bool is_a = false;
				if (n > 0)
					r.bytes = answer(std::string(buf,
					    (size_t)n), &is_a);
				if (is_a) {
					std::lock_guard<std::mutex> g(mu_);
					ids_.insert((uint16_t)(
					    (uint8_t)buf[0] << 8 |
					    (uint8_t)buf[1]));
				}
				r.due = Clock::now() +
				    std::chrono::milliseconds(delay_ms_);
				if (!r.bytes.empty() && delay_ms_ >= 0)
					due.push_back(r);
			}
			for (auto it = due.begin(); it != due.end();) {
				if (it->due > Clock::now()) {
					++it;
					continue;
				}
				(void)sendto(fd_, it->bytes.data(),
				    it->bytes.size(), 0,
				    (struct sockaddr *)&it->to, it->tolen);
				it = due.erase(it);
			}
		}
	}

	int fd_ = -1;
	int delay_ms_;
	struct in_addr a_ = {};
	std::atomic<bool> stop_{false};
	std::thread thread_;
	std::mutex mu_;
	std::set<uint16_t> ids_;
};

// The child's /etc/resolv.conf and /etc/nsswitch.conf: names go to the
// server on 127.0.0.1 alone, waiting timeout_s for it, one try.
std::function<bool()>
private_resolver(TestDir *dir, int timeout_s)
{
	return [dir, timeout_s]() {
		std::string rc = dir->write("resolv.conf",
		    "nameserver 127.0.0.1\noptions timeout:" +
		    std::to_string(timeout_s) + " attempts:1\n");
		std::string ns = dir->write("nsswitch.conf", "hosts: dns\n");
		return mount(rc.c_str(), "/etc/resolv.conf", nullptr, MS_BIND,
		    nullptr) == 0 && mount(ns.c_str(), "/etc/nsswitch.conf",
		    nullptr, MS_BIND, nullptr) == 0;
	};
}

// This process's thread count.
int
threads()
{
	std::ifstream in("/proc/self/status");
	std::string line;

	while (std::getline(in, line))
		if (line.compare(0, 8, "Threads:") == 0)
			return std::stoi(line.substr(8));
	return -1;
}

// resolve_stream() of name:5000 in timeout_ms; "" when it resolved to
// kAnswer (want_ok) or failed with want_errno, else what happened.
std::string
expect_resolve(const char *name, int timeout_ms, bool want_ok,
    int want_errno = 0)
{
	struct resolve_addrs addrs;
	char err[256] = "", got[64] = "";

	errno = 0;
	int rc = resolve_stream(name, "5000", -1, nullptr, timeout_ms, &addrs,
	    err, sizeof(err));
	int e = errno;
	if (rc == 0 && addrs.n > 0) {
		const struct sockaddr_in *sin =
		    (const struct sockaddr_in *)&addrs.a[0].ss;
		if (sin->sin_family == AF_INET)
			inet_ntop(AF_INET, &sin->sin_addr, got, sizeof(got));
	}
	if (want_ok && rc == 0 && strcmp(got, kAnswer) == 0)
		return "";
	if (!want_ok && rc == -1 && e == want_errno)
		return "";
	return std::string(name) + ": rc " + std::to_string(rc) + ", " +
	    (rc == 0 ? std::string("address ") + got : std::string(err) +
	    " (" + strerror(e) + ")");
}

// body as a test's whole body, in a child process with a network of its
// own and a DNS server there that answers a (kAnswer unless said) after
// delay_ms (-1: never), which the resolver waits 5 s for; skipped where
// the host allows no such namespaces.
void
with_dns(int delay_ms, const std::function<std::string(Dns &)> &body,
    const char *a = kAnswer)
{
	TestDir dir;

	expect_in_namespaces(CLONE_NEWNET, private_resolver(&dir, 5),
	    [&]() -> std::string {
		Dns dns(delay_ms, a);
		if (!dns.ok())
			return "cannot serve DNS on 127.0.0.1:53";
		return body(dns);
	    }, "no private network and mount namespaces here");
}

// "" when the server saw want lookups, else what it saw.
std::string
lookups_are(Dns &dns, size_t want)
{
	if (dns.lookups() == want)
		return "";
	return "the server saw " + std::to_string(dns.lookups()) +
	    " lookups, want " + std::to_string(want);
}

// After 0.2 s to settle: "" when the server saw want lookups and this
// process runs want threads more than before, else what it saw.
std::string
lookups_and_threads(Dns &dns, int before, int want)
{
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	std::string r = lookups_are(dns, (size_t)want);
	int more = threads() - before;

	if (more != want)
		r += (r.empty() ? "" : ", ") + std::to_string(more) +
		    " threads more than before, want " + std::to_string(want);
	return r;
}

}  // namespace

// A DNS server that answers in 1 s, to dials that wait 0.3 s and 0.9 s
// with 0.1 s between them: the second dial takes the first one's lookup
// and finds the name, where a lookup of its own would have come too late
// (and so would every one after it, for ever).
TEST(Resolve, AnAnswerSlowerThanOneTryServesTheNext)
{
	with_dns(1000, [](Dns &dns) -> std::string {
		std::string r = expect_resolve("plc1.gatewayd-test.invalid",
		    300, false, ETIMEDOUT);
		if (!r.empty())
			return "first try: " + r;
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
		if (!(r = expect_resolve("plc1.gatewayd-test.invalid", 900,
		    true)).empty())
			return "second try: " + r;
		return lookups_are(dns, 1);
	});
}

namespace {

// load_listen_pair(dir): cfg_load_regular() (a reload's) of a file with
// two upstreams on port 25100, one at a name, one at 127.0.0.3: whether
// it loaded, what it said, and how long it took.
struct Loaded {
	bool ok;
	std::string said;
	int64_t ms;
};

Loaded
load_listen_pair(const TestDir &dir)
{
	const std::string path = dir.write("gw.conf", "version = 1;\n"
	    "status = { listen = \"\"; };\ncontrol = { socket = \"\"; };\n"
	    "devices = (\n"
	    "  { name = \"a\"; device = { connect = \"127.0.0.1:1\"; }; "
	    "upstream = { listen = \"plc1.gatewayd-test.invalid:25100\"; }; },\n"
	    "  { name = \"b\"; device = { connect = \"127.0.0.1:2\"; }; "
	    "upstream = { listen = \"127.0.0.3:25100\"; }; }\n);\n");
	char *text = nullptr;
	size_t len = 0;
	FILE *err = open_memstream(&text, &len);
	struct cfg *c = nullptr;
	auto t0 = Clock::now();
	int rc = cfg_load_regular(path.c_str(), &c, err);
	Loaded l;
	l.ms = std::chrono::duration_cast<std::chrono::milliseconds>(
	    Clock::now() - t0).count();
	fclose(err);
	l.ok = rc == 0 && c != nullptr;
	l.said = text != nullptr ? text : "";
	free(text);
	cfg_free(c);
	return l;
}

}  // namespace

// A listen name that shares its port with another listen address is
// looked up to find a clash: one that binds the other's address is
// refused.
TEST(Resolve, AListenNameThatBindsAnotherListenAddressIsRefused)
{
	with_dns(0, [](Dns &) -> std::string {
		TestDir dir;
		Loaded l = load_listen_pair(dir);
		if (l.ok)
			return "loaded: " + l.said;
		if (l.said.find("both bind 127.0.0.3") == std::string::npos)
			return "refused, but: " + l.said;
		return "";
	}, "127.0.0.3");
}

// The same with a DNS server that never answers (the resolver waits 5 s
// for it): a reload runs on the thread that answers SIGTERM and pings
// the service manager, so it waits 2 s for the name and leaves the clash
// to the bind, rather than the resolver's 5 s (or its attempts times its
// servers).
TEST(Resolve, AListenNameASilentServerHoldsUpNoReload)
{
	with_dns(-1, [](Dns &) -> std::string {
		TestDir dir;
		Loaded l = load_listen_pair(dir);
		if (!l.ok)
			return "refused: " + l.said;
		if (l.ms >= 4000)
			return "the load took " + std::to_string(l.ms) + " ms";
		return "";
	});
}

namespace {

// ms since t0.
int64_t
ms_since(Clock::time_point t0)
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(
	    Clock::now() - t0).count();
}

// A device called name whose upstream listens on listen.
std::string
device_listening(const std::string &name, const std::string &listen)
{
	return "  { name = \"" + name + "\"; device = { connect = "
	    "\"127.0.0.1:1\"; }; upstream = { listen = \"" + listen +
	    "\"; }; }";
}

// The preamble with status.listen at listen.
std::string
preamble_status(const std::string &listen)
{
	std::string p = test_preamble();
	const std::string off = "status = { listen = \"\"; };";

	return p.replace(p.find(off), off.size(), "status = { listen = \"" +
	    listen + "\"; };");
}

}  // namespace

// Listen names, the status server's too, bind what the DNS server
// answers, at their ports: looked up once for a start, one lookup a name
// whatever its ports (the answer comes 0.3 s late, so both wait for the
// one lookup).
TEST(Resolve, ListenNamesBindWhatTheStartLookedUp)
{
	with_dns(300, [](Dns &dns) -> std::string {
		GatewayProcess g(preamble_status(
		    "plc1.gatewayd-test.invalid:25103") + "devices = (\n" +
		    device_listening("d1", "plc1.gatewayd-test.invalid:0") +
		    "\n);\n");
		if (logged_port(g, "d1/upstream: listening") <= 0 ||
		    logged_port(g, "status: serving") != 25103)
			return "not listening; log:\n" + g.log();
		if (!g.log_contains("d1/upstream: listening on 127.0.0.3:") ||
		    !g.log_contains(" on http://127.0.0.3:25103"))
			return "not on the answer; log:\n" + g.log();
		if (http_get(25103, "/status", "127.0.0.3").status != 200)
			return "no status on 127.0.0.3:25103; log:\n" + g.log();
		std::string r = lookups_are(dns, 1);
		if (g.signal_and_wait(SIGTERM, 5000) != 0)
			r += std::string(r.empty() ? "" : ", ") +
			    "no clean stop";
		return r.empty() ? r : r + "; log:\n" + g.log();
	}, "127.0.0.3");
}

// A reload that adds a device listening at a name the DNS server never
// answers (the resolver would wait 5 s), and a SIGTERM 0.2 s after the
// SIGHUP: the reload runs on the thread that answers SIGTERM and pings the
// service manager, so it waits 2 s for the name; the device does not
// start, the reload says why, and then the stop comes.
TEST(Resolve, AReloadWaitsTwoSecondsForAListenNameNotAnswered)
{
	with_dns(-1, [](Dns &) -> std::string {
		const std::string d1 = device_listening("d1", "127.0.0.1:0");
		GatewayProcess g(test_preamble() + "devices = (\n" + d1 +
		    "\n);\n");
		if (logged_port(g, "d1/upstream: listening") <= 0)
			return "d1 did not start; log:\n" + g.log();
		g.rewrite_config(test_preamble() + "devices = (\n" + d1 +
		    ",\n" + device_listening("d2",
		    "plc2.gatewayd-test.invalid:25102") + "\n);\n");
		auto t0 = Clock::now();
		kill(g.pid(), SIGHUP);
		std::this_thread::sleep_for(std::chrono::milliseconds(200));
		kill(g.pid(), SIGTERM);
		if (!eventually([&] {
			return g.log_contains("reload: d2: cannot start");
		    }, 8000))
			return "no word on d2 within 8 s; log:\n" + g.log();
		int64_t ms = ms_since(t0);
		int rc = g.wait_exit(5000);
		printf("the reload gave up on the name after %lld ms; "
		    "stopped after %lld ms\n", (long long)ms,
		    (long long)ms_since(t0));
		fflush(stdout);
		std::string r;
		if (!g.log_contains("reload: d2: cannot start: cannot resolve "
		    "plc2.gatewayd-test.invalid: no answer in time"))
			r = "not the reason";
		else if (ms >= 4000)
			r = "the reload took " + std::to_string(ms) + " ms";
		else if (rc != 0)
			r = "exit " + std::to_string(rc) + " on SIGTERM";
		return r.empty() ? r : r + "; log:\n" + g.log();
	});
}

// Three such names at a start: gatewayd cannot start (70) and says why,
// after 2 s in all, rather than the resolver's 5 s for each, or 2 s for
// each.
TEST(Resolve, AStartWaitsTwoSecondsForListenNamesNotAnswered)
{
	with_dns(-1, [](Dns &) -> std::string {
		auto t0 = Clock::now();
		GatewayProcess g(test_preamble() + "devices = (\n" +
		    device_listening("d1", "plc1.gatewayd-test.invalid:25101") +
		    ",\n" + device_listening("d2",
		    "plc2.gatewayd-test.invalid:25102") + ",\n" +
		    device_listening("d3", "plc3.gatewayd-test.invalid:25103") +
		    "\n);\n");
		int rc = g.wait_exit(8000);
		int64_t ms = ms_since(t0);
		std::string r;
		if (rc != 70)
			r = "exit " + std::to_string(rc) + ", want 70";
		else if (!g.log_contains("cannot start: d1: cannot resolve "
		    "plc1.gatewayd-test.invalid: no answer in time"))
			r = "not the reason";
		else if (ms >= 4000)
			r = "the start took " + std::to_string(ms) + " ms";
		return r.empty() ? r : r + "; log:\n" + g.log();
	});
}

// A file with an error (a duplicate included) is refused without its
// listen names looked up: a start that exits 78 touches no network.
TEST(Resolve, AFileWithAnErrorLooksNoNameUp)
{
	with_dns(-1, [](Dns &dns) -> std::string {
		const std::string named = device_listening("d1",
		    "plc1.gatewayd-test.invalid:25101");
		const struct { const char *error; std::string devices; } files[] = {
			{ "bogus: unknown setting", "bogus = 1;\ndevices = (\n" +
			    named + "\n);\n" },
			{ "duplicate device name", "devices = (\n" + named +
			    ",\n" + device_listening("d1", "127.0.0.1:25102") +
			    "\n);\n" },
		};
		for (const auto &f : files) {
			GatewayProcess g(test_preamble() + f.devices);
			int rc = g.wait_exit(8000);
			std::string r;
			if (rc != 78)
				r = "exit " + std::to_string(rc) + ", want 78";
			else if (!g.log_contains(f.error))
				r = std::string("not the reason: ") + f.error;
			else
				r = lookups_are(dns, 0);
			if (!r.empty())
				return r + "; log:\n" + g.log();
		}
		return std::string();
	});
}

// A reload that moves the status server to a name the DNS server never
// answers, on the port it serves on: the old server serves on, never
// stopped (it cannot hold what a name without an answer binds).
TEST(Resolve, AStatusServerMovedToANameNotAnsweredServesOn)
{
	with_dns(-1, [](Dns &) -> std::string {
		const std::string devs = "devices = (\n" +
		    device_listening("d1", "127.0.0.1:0") + "\n);\n";
		GatewayProcess g(preamble_status("127.0.0.1:25111") + devs);
		if (logged_port(g, "status: serving") != 25111)
			return "no status server; log:\n" + g.log();
		g.rewrite_config(preamble_status(
		    "plc1.gatewayd-test.invalid:25111") + devs);
		kill(g.pid(), SIGHUP);
		if (!eventually([&] {
			return g.log_contains("status server kept on");
		    }, 8000))
			return "no word on the status server within 8 s; "
			    "log:\n" + g.log();
		std::string r;
		if (g.log_contains("status: stopped serving"))
			r = "the old server was stopped";
		else if (http_get(25111, "/status").status != 200)
			r = "no status on 127.0.0.1:25111";
		return r.empty() ? r : r + "; log:\n" + g.log();
	});
}

// A DNS server that never answers, and 10 dials of one name that each
// give up after 50 ms: one lookup (one thread) runs for them all; another
// name gets a lookup of its own.
TEST(Resolve, TriesThatGiveUpOnASilentServerShareOneLookup)
{
	with_dns(-1, [](Dns &dns) -> std::string {
		int before = threads();
		for (int i = 0; i < 10; i++) {
			std::string r = expect_resolve(
			    "plc1.gatewayd-test.invalid", 50, false, ETIMEDOUT);
			if (!r.empty())
				return "try " + std::to_string(i + 1) + ": " + r;
		}
		std::string r = lookups_and_threads(dns, before, 1);
		if (!r.empty())
			return "after 10 tries of one name: " + r;
		r = expect_resolve("plc2.gatewayd-test.invalid", 50, false,
		    ETIMEDOUT);
		if (!r.empty())
			return "another name: " + r;
		r = lookups_and_threads(dns, before, 2);
		if (!r.empty())
			return "with another name: " + r;
		return "";
	});
}

// No answer is kept: once a lookup has ended, the next try asks again
// (an address that changed in DNS is found at the next dial).
TEST(Resolve, EachTryAfterALookupEndedAsksAgain)
{
	with_dns(0, [](Dns &dns) -> std::string {
		for (int i = 0; i < 3; i++) {
			std::string r = expect_resolve(
			    "plc1.gatewayd-test.invalid", 2000, true);
			if (!r.empty())
				return "try " + std::to_string(i + 1) + ": " + r;
		}
		return lookups_are(dns, 3);
	});
}

// The same through gatewayd: a device whose name the DNS server answers in
// 2.5 s, with connect_timeout_ms = 1000. Each dial gives up on the lookup
// after 1 s and the next one takes it over, until the answer comes; a dial
// that started its own lookup each time would never get one.
TEST(Resolve, ADeviceWhoseNameAnswersSlowerThanItsConnectTimeoutComesUp)
{
	with_dns(2500, [](Dns &dns) -> std::string {
		int port, lfd = tcp_listen(&port);
		if (lfd == -1)
			return "cannot listen on 127.0.0.1";
		GatewayProcess g(test_preamble() + "devices = (\n"
		    "  { name = \"d1\";\n"
		    "    device = { connect = \"plc1.gatewayd-test.invalid:" +
		    std::to_string(port) + "\"; };\n"
		    "    upstream = { listen = \"127.0.0.1:0\"; }; }\n);\n");
		int dev = tcp_accept(lfd, 8000);
		close(lfd);
		if (dev == -1)
			return "the device was not dialled within 8 s; log:\n" +
			    g.log();
		close(dev);
		std::string r;
		r = lookups_are(dns, 1);
		return r.empty() ? r : r + "; log:\n" + g.log();
	}, "127.0.0.1");
}

// A split device whose tx peer is a name the DNS server never answers
// (the resolver gives up after 5 s, connect_timeout_ms is 8 s). While the
// writer waits for the lookup, a host that connects is taken at once and
// gets what the rx device sent meanwhile ("hold"), not when the lookup
// gives up.
TEST(Resolve, SplitTxNameThatHangsHoldsUpNoHost)
{
	with_dns(-1, [](Dns &) -> std::string {
		GatewayProcess g(test_preamble() + "devices = (\n"
		    "  { name = \"s1\";\n"
		    "    device = { rx = { listen = \"127.0.0.1:0\"; };\n"
		    "      tx = { connect = \"plc1.gatewayd-test.invalid:5000\"; "
		    "}; };\n"
		    "    upstream = { listen = \"127.0.0.1:0\"; };\n"
		    "    on_device_down = \"hold\";\n"
		    "    connect_timeout_ms = 8000; }\n);\n");
		int rxport = logged_port(g, "s1/rx: listening");
		int uport = logged_port(g, "s1/upstream: listening");
		if (rxport <= 0 || uport <= 0)
			return "no listening ports; log:\n" + g.log();
		int rx = tcp_connect(rxport, 5000);
		if (rx == -1)
			return "cannot connect the rx device";
		std::string r;
		int host = -1;
		char got[7];
		if (!eventually([&] { return g.log_contains("s1/rx up"); },
		    5000))
			r = "the rx link did not come up";
		else if (!write_all(rx, "SCAN-1\n", 7, 5000))
			r = "the rx device could not send";
		if (r.empty()) {
			std::this_thread::sleep_for(
			    std::chrono::milliseconds(300));
			host = tcp_connect(uport, 5000);
			if (host == -1)
				r = "cannot connect the host";
		}
		auto t0 = Clock::now();
		if (r.empty() && !read_exact(host, got, sizeof(got), 2000))
			r = "the host was not taken while the lookup waited";
		else if (r.empty() && std::string(got, sizeof(got)) !=
		    "SCAN-1\n")
			r = "the host got " + std::string(got, sizeof(got));
		if (r.empty())
			printf("host taken and served %ld ms after it connected, "
			    "the lookup still waiting\n", (long)std::chrono::
			    duration_cast<std::chrono::milliseconds>(
			    Clock::now() - t0).count());
		if (r.empty() && g.log_contains("s1/tx up"))
			r = "the tx link came up";
		if (host != -1)
			close(host);
		close(rx);
		fflush(stdout);
		return r.empty() ? r : r + "; log:\n" + g.log();
	});
}
