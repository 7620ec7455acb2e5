// Integration tests of the status server: GET /metrics and /status of an
// in-process gateway on loopback, promtool on the live output, errors, a
// slow client, IPv6, a busy port and reload. Every wait is bounded.
#include <gtest/gtest.h>

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cfg.h"
#include "gwtest.h"
#include "http.h"
#include "net.h"
#include "nschild.h"

namespace {

const char *const kReasons[] = { "peer_closed", "peer_reset",
	"keepalive_timeout", "ack_timeout", "zero_window_stall", "rx_silence",
	"socket_error", "operator" };

// The test preamble with the status server on listen ("HOST:PORT"), with
// per-link detail in /metrics or without.
std::string
preamble_with_status(const std::string &listen, bool detail = false)
{
	std::string p = test_preamble();
	const std::string off = "status = { listen = \"\"; };";
	size_t at = p.find(off);

	if (at == std::string::npos)
		return "";
	return p.replace(at, off.size(), "status = { listen = \"" + listen +
	    "\"; per_link_detail = " + (detail ? "true" : "false") + "; };");
}

std::string
loopback(int port)
{
	return "127.0.0.1:" + std::to_string(port);
}

std::string
device_conf(const std::string &name, const std::string &device,
    const std::string &upstream)
{
	return "  { name = \"" + name + "\";\n    device = " + device +
	    ";\n    upstream = " + upstream + ";\n  }";
}

std::string
connect_ep(int port)
{
	return "{ connect = \"" + loopback(port) + "\"; }";
}

std::string
listen_ep(int port)
{
	return "{ listen = \"" + loopback(port) + "\"; }";
}

std::string
labels(const char *dev, const char *link)
{
	return std::string("{device=\"") + dev + "\",link=\"" + link + "\"";
}

// The JSON object of one link: from {"link":"KIND" to its closing brace
// (link objects hold no nested objects). Searched after device NAME.
std::string
json_link(const std::string &json, const std::string &dev,
    const std::string &kind)
{
	size_t d = json.find("{\"name\":\"" + dev + "\"");
	if (d == std::string::npos)
		return "";
	size_t l = json.find("{\"link\":\"" + kind + "\"", d);
	if (l == std::string::npos)
		return "";
	size_t e = json.find('}', l);
	return e == std::string::npos ? "" : json.substr(l, e - l + 1);
}

// A strict JSON syntax check (RFC 8259), enough to catch bad escaping.
class JsonChecker {
public:
	explicit JsonChecker(const std::string &s) : s_(s) {}
	bool
	valid()
	{
		ws();
		if (!value())
			return false;
		ws();
		return i_ == s_.size();
	}
private:
	void ws() { while (i_ < s_.size() && strchr(" \t\r\n", s_[i_])) i_++; }
	bool
	lit(const char *w)
	{
		size_t n = strlen(w);
		if (s_.compare(i_, n, w) != 0)
			return false;
		i_ += n;
		return true;
	}
	bool
	str()
	{
		if (s_[i_] != '"')
			return false;
		for (i_++; i_ < s_.size(); i_++) {
			unsigned char c = (unsigned char)s_[i_];
			if (c == '"') {
				i_++;
				return true;
			}
			if (c < 0x20)
				return false;
			if (c != '\\')
				continue;
			if (++i_ >= s_.size())
				return false;
			if (s_[i_] == 'u') {
				for (int k = 0; k < 4; k++)
					if (++i_ >= s_.size() ||
					    !isxdigit((unsigned char)s_[i_]))
						return false;
			} else if (!strchr("\"\\/bfnrt", s_[i_]))
				return false;
		}
		return false;
	}
	bool
	num()
	{
		size_t b = i_;
		if (s_[i_] == '-')
			i_++;
		while (i_ < s_.size() && isdigit((unsigned char)s_[i_]))
			i_++;
		return i_ > b;
	}
	bool
	seq(char close, bool members)
	{
		i_++;
		ws();
		if (i_ < s_.size() && s_[i_] == close) {
			i_++;
			return true;
		}
		for (;;) {
			ws();
			if (members) {
				if (!str())
					return false;
				ws();
				if (i_ >= s_.size() || s_[i_++] != ':')
					return false;
				ws();
			}
			if (!value())
				return false;
			ws();
			if (i_ >= s_.size())
				return false;
			if (s_[i_] == close) {
				i_++;
				return true;
			}
			if (s_[i_++] != ',')
				return false;
		}
	}
	bool
	value()
	{
		if (i_ >= s_.size())
			return false;
		switch (s_[i_]) {
		case '{':
			return seq('}', true);
		case '[':
			return seq(']', false);
		case '"':
			return str();
		case 't':
			return lit("true");
		case 'f':
			return lit("false");
		case 'n':
			return lit("null");
		default:
			return num();
		}
	}
	const std::string &s_;
	size_t i_ = 0;
};

// A device the gateway dials (our listener), an upstream it listens on,
// a host connected through it, and the status server; the upstream and
// the status server on port 0 (a reload that keeps status.listen gives
// loopback(0) again).
struct Relay {
	int dport = -1, dl = -1, uport = -1, sport = -1;
	int dev = -1, host = -1;
	InProcessGateway *g = nullptr;

	explicit Relay(bool detail = false)
	{
		dl = tcp_listen(&dport);
		g = new InProcessGateway(preamble_with_status(loopback(0),
		    detail) +
		    "devices = (\n" + device_conf("d1", connect_ep(dport),
		    listen_ep(0)) + ");\n");
		if (!g->ok())
			return;
		uport = g->listen_port("d1", LINK_KIND_UPSTREAM);
		sport = logged_port(*g, "status: serving");
		if (uport <= 0 || sport <= 0)
			return;
		dev = tcp_accept(dl, 5000);
		if (!eventually([&] { return g->up("d1", LINK_KIND_DEVICE); },
		    5000))
			return;
		host = tcp_connect(uport, 5000);
		eventually([&] { return g->up("d1", LINK_KIND_UPSTREAM); }, 5000);
	}
	~Relay()
	{
		delete g;
		for (int fd : { dev, host, dl })
			if (fd != -1)
				close(fd);
	}
	bool
	ready()
	{
		return g->ok() && sport > 0 && dev != -1 && host != -1 &&
		    g->up("d1", LINK_KIND_UPSTREAM);
	}
	// Bytes both ways: host -> device and device -> host.
	bool
	exchange(const std::string &down, const std::string &up)
	{
		std::string got(down.size(), '\0');
		if (!write_all(host, down.data(), down.size(), 5000) ||
		    !read_exact(dev, &got[0], got.size(), 5000) || got != down)
			return false;
		got.assign(up.size(), '\0');
		return write_all(dev, up.data(), up.size(), 5000) &&
		    read_exact(host, &got[0], got.size(), 5000) && got == up;
	}
	// Wait until the byte counters have caught up with what the peers
	// received (a pump counts after its send() returned).
	bool
	counted(double to_device, double to_upstream)
	{
		return eventually([&] {
			std::string m = http_get(sport, "/metrics").body;
			return metric(m, "gatewayd_bytes_total" +
			    labels("d1", "device") + ",direction=\"to_device\"}") ==
			    to_device && metric(m, "gatewayd_bytes_total" +
			    labels("d1", "upstream") +
			    ",direction=\"to_upstream\"}") == to_upstream;
		}, 5000);
	}
};

// promtool, or "" after failing (CI) or skipping the calling test.
#define NEED_PROMTOOL(var)						\
	std::string var = find_in_path("promtool");			\
	if (var.empty()) {						\
		if (getenv("CI") != nullptr)				\
			FAIL() << "promtool not found (Debian package "	\
			    "prometheus; tools/setup.sh installs it)";	\
		GTEST_SKIP() << "promtool not found: install the Debian " \
		    "package prometheus (tools/setup.sh)";		\
	}

// The shipped rule GatewaydReloadFailed, run by promtool over 10 minutes
// of scrapes of one gateway ("live") that all read value for
// gatewayd_config_last_reload_successful: the alert fires, or not, as
// fires says. Returns promtool's exit code (0: as expected), its output
// in *out.
int
reload_alert(const std::string &promtool, double value, bool fires,
    std::string *out)
{
	TestDir dir;
	std::string v = std::to_string((int)value);
	std::string expect = fires ?
	    "        exp_alerts:\n"
	    "          - exp_labels: { severity: warning, job: gatewayd, "
	    "instance: live }\n"
	    "            exp_annotations:\n"
	    "              summary: \"gatewayd live: configuration reload "
	    "failed\"\n"
	    "              description: \"The last reload of live did not "
	    "take: it rejected its configuration file and runs on the "
	    "previous one (a restart would fail: check the file with "
	    "gatewayd -t), or a device of the file could not start or the "
	    "status server could not move (see the log).\"\n" :
	    "        exp_alerts: []\n";
	std::string path = dir.write("live.test.yml",
	    "rule_files: [ \"" GW_SOURCE_DIR "/etc/gatewayd-alerts.yml\" ]\n"
	    "evaluation_interval: 1m\n"
	    "tests:\n"
	    "  - interval: 1m\n"
	    "    input_series:\n"
	    "      - series: 'gatewayd_config_last_reload_successful"
	    "{job=\"gatewayd\", instance=\"live\"}'\n"
	    "        values: '" + v + "x10'\n"
	    "    alert_rule_test:\n"
	    "      - eval_time: 10m\n"
	    "        alertname: GatewaydReloadFailed\n" + expect);
	return run_command({ promtool, "test", "rules", path }, out, 30000);
}

// Every family with its HELP and TYPE, and every series of a split device
// whose links are all down, at 0: per link, with per_link_detail or
// without.
void
every_family(bool detail)
{
	// Nothing listens on the tx port (ours, bound only): every link
	// stays down.
	int txport, tx = tcp_bound(&txport);
	ASSERT_NE(tx, -1);
	std::string split = "{ rx = " + listen_ep(0) + "; tx = " +
	    connect_ep(txport) + "; }";
	InProcessGateway g(preamble_with_status(loopback(0), detail) +
	    "devices = (\n" + device_conf("s1", split, listen_ep(0)) +
	    ");\n");
	ASSERT_TRUE(g.ok());
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();

	HttpReply r = http_get(sport, "/metrics");
	ASSERT_EQ(r.status, 200) << r.headers;
	EXPECT_EQ(r.header("Content-Type"),
	    "text/plain; version=0.0.4; charset=utf-8");
	const std::string &m = r.body;
	const std::vector<std::pair<std::string, std::string>> families = {
		{ "gatewayd_build_info", "gauge" },
		{ "process_start_time_seconds", "gauge" },
		{ "gatewayd_config_last_reload_successful", "gauge" },
		{ "gatewayd_config_last_reload_success_timestamp_seconds",
		  "gauge" },
		{ "gatewayd_link_up", "gauge" },
		{ "gatewayd_link_connects_total", "counter" },
		{ "gatewayd_link_failures_total", "counter" },
		{ "gatewayd_failures_total", "counter" },
		{ "gatewayd_bytes_total", "counter" },
		{ "gatewayd_unacked_bytes_at_failure_total", "counter" },
		{ "gatewayd_held_bytes_discarded_total", "counter" },
		{ "gatewayd_detection_seconds", "histogram" },
		{ "gatewayd_watchdog_sweeps_total", "counter" },
		{ "gatewayd_watchdog_sweep_seconds", "histogram" },
	};
	for (auto &f : families) {
		EXPECT_NE(m.find("# HELP " + f.first + " "), std::string::npos)
		    << f.first;
		EXPECT_NE(m.find("# TYPE " + f.first + " " + f.second + "\n"),
		    std::string::npos) << f.first;
	}
	const char *const les[] = { "0.001", "0.005", "0.01", "0.05", "0.1",
	    "0.25", "0.5", "1", "2.5", "5", "10", "60", "+Inf" };
	for (const char *link : { "rx", "tx", "upstream" }) {
		std::string l = labels("s1", link);
		EXPECT_EQ(metric(m, "gatewayd_link_up" + l + "}"), 0) << link;
		EXPECT_EQ(metric(m, "gatewayd_link_connects_total" + l + "}"), 0);
		EXPECT_EQ(metric(m, "gatewayd_unacked_bytes_at_failure_total" +
		    l + "}"), 0);
		EXPECT_EQ(metric(m, "gatewayd_held_bytes_discarded_total" + l +
		    "}"), 0);
		if (!detail) {
			// One series per link, every reason together; no
			// histogram per link.
			EXPECT_EQ(metric(m, "gatewayd_link_failures_total" + l +
			    "}"), 0) << link;
			EXPECT_EQ(m.find("gatewayd_link_failures_total" + l +
			    ",reason="), std::string::npos) << link;
			EXPECT_EQ(m.find("gatewayd_detection_seconds_bucket" + l),
			    std::string::npos) << link;
			continue;
		}
		for (const char *reason : kReasons)
			EXPECT_EQ(metric(m, "gatewayd_link_failures_total" + l +
			    ",reason=\"" + reason + "\"}"), 0) << link << reason;
		for (const char *le : les)
			EXPECT_EQ(metric(m, "gatewayd_detection_seconds_bucket" + l +
			    ",le=\"" + le + "\"}"), 0) << link << le;
		EXPECT_EQ(metric(m, "gatewayd_detection_seconds_sum" + l + "}"), 0);
		EXPECT_EQ(metric(m, "gatewayd_detection_seconds_count" + l + "}"),
		    0);
	}
	// The reasons and, by default, the histogram: the gateway's.
	for (const char *reason : kReasons)
		EXPECT_EQ(metric(m, std::string("gatewayd_failures_total{reason=\"") +
		    reason + "\"}"), 0) << reason;
	if (!detail) {
		for (const char *le : les)
			EXPECT_EQ(metric(m, std::string("gatewayd_detection_seconds_"
			    "bucket{le=\"") + le + "\"}"), 0) << le;
		EXPECT_EQ(metric(m, "gatewayd_detection_seconds_sum"), 0);
		EXPECT_EQ(metric(m, "gatewayd_detection_seconds_count"), 0);
	}
	EXPECT_EQ(m.find("reason=\"none\""), std::string::npos);
	// Bytes the gateway sends: none to an rx peer, so no series for it.
	EXPECT_EQ(metric(m, "gatewayd_bytes_total" + labels("s1", "tx") +
	    ",direction=\"to_device\"}"), 0);
	EXPECT_EQ(metric(m, "gatewayd_bytes_total" + labels("s1", "upstream") +
	    ",direction=\"to_upstream\"}"), 0);
	EXPECT_EQ(m.find("gatewayd_bytes_total{device=\"s1\",link=\"rx\""),
	    std::string::npos);
	EXPECT_GE(metric(m, "gatewayd_watchdog_sweeps_total"), 0);
	EXPECT_GE(metric(m, "gatewayd_watchdog_sweep_seconds_bucket{le=\"+Inf\"}"),
	    0);
	EXPECT_GE(metric(m, "gatewayd_watchdog_sweep_seconds_count"), 0);
	EXPECT_GE(metric(m, "gatewayd_watchdog_sweep_seconds_sum"), 0);
	g.stop();
	close(tx);
}

// A device crashes (RST): its link's failure counted once, by its reason;
// the upstream closed on purpose counts nothing.
void
counters_move(bool detail)
{
	Relay r(detail);
	ASSERT_TRUE(r.ready());
	ASSERT_TRUE(r.exchange("hello", "world!!"));
	ASSERT_TRUE(r.counted(5, 7));

	std::string m = http_get(r.sport, "/metrics").body;
	std::string dl = labels("d1", "device"), ul = labels("d1", "upstream");
	EXPECT_EQ(metric(m, "gatewayd_link_up" + dl + "}"), 1);
	EXPECT_EQ(metric(m, "gatewayd_link_up" + ul + "}"), 1);
	EXPECT_EQ(metric(m, "gatewayd_link_connects_total" + dl + "}"), 1);
	EXPECT_EQ(metric(m, "gatewayd_link_connects_total" + ul + "}"), 1);
	EXPECT_EQ(metric(m, "gatewayd_bytes_total" + dl +
	    ",direction=\"to_device\"}"), 5);
	EXPECT_EQ(metric(m, "gatewayd_bytes_total" + ul +
	    ",direction=\"to_upstream\"}"), 7);
	double sweeps = metric(m, "gatewayd_watchdog_sweeps_total");
	EXPECT_GE(sweeps, 0);

	// The device crashes: an RST. Counted once, by its reason.
	close_reset(r.dev);
	r.dev = -1;
	std::string reset_series = detail ? "gatewayd_link_failures_total" +
	    dl + ",reason=\"peer_reset\"}" : "gatewayd_link_failures_total" +
	    dl + "}";
	ASSERT_TRUE(eventually([&] {
		m = http_get(r.sport, "/metrics").body;
		return metric(m, reset_series) == 1;
	}, 5000)) << m;
	for (const char *reason : kReasons)
		EXPECT_EQ(metric(m, std::string("gatewayd_failures_total{reason=\"") +
		    reason + "\"}"), strcmp(reason, "peer_reset") == 0 ? 1 : 0)
		    << reason;
	if (detail) {
		for (const char *reason : kReasons) {
			if (strcmp(reason, "peer_reset") == 0)
				continue;
			EXPECT_EQ(metric(m, "gatewayd_link_failures_total" + dl +
			    ",reason=\"" + std::string(reason) + "\"}"), 0)
			    << reason;
		}
		// The upstream was closed on purpose ("close"): not a failure.
		for (const char *reason : kReasons)
			EXPECT_EQ(metric(m, "gatewayd_link_failures_total" + ul +
			    ",reason=\"" + std::string(reason) + "\"}"), 0)
			    << reason;
	} else
		EXPECT_EQ(metric(m, "gatewayd_link_failures_total" + ul + "}"), 0);
	// The gateway redials; our listener's backlog takes it.
	EXPECT_TRUE(eventually([&] {
		m = http_get(r.sport, "/metrics").body;
		return metric(m, "gatewayd_link_connects_total" + dl + "}") == 2;
	}, 5000));
	EXPECT_TRUE(eventually([&] {
		m = http_get(r.sport, "/metrics").body;
		return metric(m, "gatewayd_watchdog_sweeps_total") > sweeps &&
		    metric(m, "gatewayd_watchdog_sweep_seconds_count") > 0;
	}, 5000)) << m;
}

// promtool accepts what the gateway serves, with a failure counted.
void
promtool_checks(bool detail)
{
	NEED_PROMTOOL(promtool);
	Relay r(detail);
	ASSERT_TRUE(r.ready());
	ASSERT_TRUE(r.exchange("ping", "pong"));
	close_reset(r.dev);
	r.dev = -1;
	std::string series = "gatewayd_failures_total{reason=\"peer_reset\"}";
	std::string body;
	ASSERT_TRUE(eventually([&] {
		body = http_get(r.sport, "/metrics").body;
		return metric(body, series) == 1;
	}, 5000));

	TestDir dir;
	std::string path = dir.write("metrics.txt", body);
	std::string out;
	int rc = run_command({ promtool, "check", "metrics" }, &out, 30000, path);
	EXPECT_EQ(rc, 0) << "promtool check metrics:\n" << out << "\n--- input:\n"
	    << body;
}

}  // namespace

// The scale of a fleet: by default, per link only its state and counters;
// the reasons and the detection histogram per gateway.
TEST(Status, MetricsHaveEveryFamilyWithHelpAndType)
{
	every_family(false);
}

// status.per_link_detail: the reasons and a histogram per link too.
TEST(Status, PerLinkDetailHasEveryReasonAndHistogramPerLink)
{
	every_family(true);
}

TEST(Status, CountersMoveWithTrafficAndFailures)
{
	counters_move(false);
}

TEST(Status, CountersMoveWithTrafficAndFailuresPerLinkDetail)
{
	counters_move(true);
}

TEST(Status, PromtoolChecksTheLiveOutput)
{
	promtool_checks(false);
}

TEST(Status, PromtoolChecksTheLiveOutputPerLinkDetail)
{
	promtool_checks(true);
}

TEST(Status, JsonShowsStatePeerAndLastReason)
{
	Relay r;
	ASSERT_TRUE(r.ready());
	ASSERT_TRUE(r.exchange("abc", "defg"));
	ASSERT_TRUE(r.counted(3, 4));

	HttpReply h = http_get(r.sport, "/status");
	ASSERT_EQ(h.status, 200);
	EXPECT_EQ(h.header("Content-Type"), "application/json");
	EXPECT_TRUE(JsonChecker(h.body).valid()) << h.body;
	EXPECT_EQ(h.body.rfind("{\"version\":\"" GATEWAYD_VERSION
	    "\",\"devices\":[{\"name\":\"d1\",\"monitor\":null,"
	    "\"links\":[", 0), 0u) << h.body;
	std::string d = json_link(h.body, "d1", "device");
	EXPECT_NE(d.find("\"state\":\"up\""), std::string::npos) << d;
	EXPECT_NE(d.find("\"peer\":\"" + loopback(r.dport) + "\""),
	    std::string::npos) << d;
	EXPECT_NE(d.find("\"since\":\"20"), std::string::npos) << d;
	EXPECT_NE(d.find("\"last_reason\":null,\"last_failure\":null,"
	    "\"last_detail\":null"), std::string::npos) << d;
	EXPECT_NE(d.find("\"connects\":1,\"failures\":0,\"bytes_in\":4,"
	    "\"bytes_out\":3,"), std::string::npos) << d;
	std::string u = json_link(h.body, "d1", "upstream");
	EXPECT_NE(u.find("\"state\":\"up\""), std::string::npos) << u;
	EXPECT_NE(u.find("\"bytes_in\":3,\"bytes_out\":4,"), std::string::npos)
	    << u;
	// The budgets of the test policy (keepalive 2 + 1 * 3 s, user and
	// stall timeouts 5 s) plus one 50 ms watchdog period; no verdict yet.
	for (const std::string &l : { d, u })
		EXPECT_NE(l.find("\"budget_idle_ms\":5050,\"budget_in_flight_ms\":"
		    "5050,\"budget_stall_ms\":5050,\"blip_tolerance_ms\":2000,"
		    "\"last_detection_ms\":null,\"last_words\":null}"),
		    std::string::npos) << l;

	// Make the device link fail and stay down: no listener to redial.
	close(r.dl);
	r.dl = -1;
	close_reset(r.dev);
	r.dev = -1;
	ASSERT_TRUE(eventually([&] {
		h = http_get(r.sport, "/status");
		d = json_link(h.body, "d1", "device");
		u = json_link(h.body, "d1", "upstream");
		return d.find("\"last_reason\":\"peer_reset\"") !=
		    std::string::npos && d.find("\"state\":\"up\"") ==
		    std::string::npos && u.find("\"state\":\"down\"") !=
		    std::string::npos;
	}, 5000)) << d << "\n" << u;
	EXPECT_TRUE(JsonChecker(h.body).valid()) << h.body;
	EXPECT_NE(d.find("\"peer\":null"), std::string::npos) << d;
	EXPECT_NE(d.find("\"last_failure\":\"20"), std::string::npos) << d;
	EXPECT_EQ(d.find("\"last_detail\":null"), std::string::npos) << d;
	EXPECT_NE(d.find("\"failures\":1,"), std::string::npos) << d;
	// Its last words: what the device said ("defg") and was told ("abc").
	EXPECT_NE(d.find(",\"last_words\":{\"received\":\"64656667\","
	    "\"received_skipped\":0,\"sent\":\"616263\",\"sent_skipped\":0}"),
	    std::string::npos) << d;
	// The upstream was closed on purpose: down, but no failure.
	EXPECT_NE(u.find("\"last_reason\":null"), std::string::npos) << u;
}

TEST(Status, TextFormatIsOneTabSeparatedLinePerLink)
{
	Relay r;
	ASSERT_TRUE(r.ready());
	ASSERT_TRUE(r.exchange("12", "345"));
	ASSERT_TRUE(r.counted(2, 3));

	HttpReply h = http_get(r.sport, "/status?format=text");
	ASSERT_EQ(h.status, 200);
	EXPECT_EQ(h.header("Content-Type"), "text/plain; charset=utf-8");
	std::vector<std::string> lines;
	for (size_t b = 0, e; (e = h.body.find('\n', b)) != std::string::npos;
	    b = e + 1)
		lines.push_back(h.body.substr(b, e - b));
	ASSERT_EQ(lines.size(), 2u) << h.body;
	EXPECT_EQ(lines[0].rfind("d1\tdevice\tup\t" + loopback(r.dport) +
	    "\t20", 0), 0u) << lines[0];
	EXPECT_EQ(lines[0].substr(lines[0].size() - 6), "\t-\t3\t2") << lines[0];
	EXPECT_EQ(lines[1].rfind("d1\tupstream\tup\t127.0.0.1:", 0), 0u)
	    << lines[1];
	EXPECT_EQ(lines[1].substr(lines[1].size() - 6), "\t-\t2\t3") << lines[1];
}

TEST(Status, UnknownPathIs404OtherMethodsAre405)
{
	int dport, d = tcp_bound(&dport);
	ASSERT_NE(d, -1);
	InProcessGateway g(preamble_with_status(loopback(0)) +
	    "devices = (\n" + device_conf("d1", connect_ep(dport),
	    listen_ep(0)) + ");\n");
	ASSERT_TRUE(g.ok());
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();

	for (const char *path : { "/", "/metric", "/metrics/x", "/status/",
	    "/../etc/passwd" })
		EXPECT_EQ(http_get(sport, path).status, 404) << path;
	EXPECT_EQ(http_get(sport, "/status?format=xml").status, 400);
	for (const char *method : { "POST", "PUT", "DELETE", "OPTIONS" }) {
		HttpReply r = http_request(sport, method, "/metrics", 5000,
		    "127.0.0.1", "x=1");
		EXPECT_EQ(r.status, 405) << method;
		EXPECT_NE(r.header("Allow").find("GET"), std::string::npos)
		    << method << ": " << r.headers;
	}
	HttpReply head = http_request(sport, "HEAD", "/metrics");
	EXPECT_EQ(head.status, 200);
	EXPECT_EQ(head.header("Content-Type"),
	    "text/plain; version=0.0.4; charset=utf-8");
	EXPECT_TRUE(head.body.empty());
	// Still serving after all that.
	EXPECT_EQ(http_get(sport, "/metrics").status, 200);
	g.stop();
	close(d);
}

TEST(Status, SlowClientsDoNotBlockRelayOrOtherRequests)
{
	Relay r;
	ASSERT_TRUE(r.ready());

	// Clients that connect and send nothing, or half a request line, or
	// a whole request they never read.
	std::vector<int> slow;
	for (int i = 0; i < 6; i++)
		slow.push_back(tcp_connect(r.sport, 5000));
	int half = tcp_connect(r.sport, 5000);
	ASSERT_NE(half, -1);
	ASSERT_TRUE(write_all(half, "GET /metr", 9, 1000));
	slow.push_back(half);
	int mute = tcp_connect(r.sport, 5000);
	ASSERT_NE(mute, -1);
	std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	ASSERT_TRUE(write_all(mute, req.data(), req.size(), 1000));
	slow.push_back(mute);
	for (int fd : slow)
		ASSERT_NE(fd, -1);

	// Relaying goes on, and so do other requests, promptly.
	std::string big(256 << 10, 'x');
	ASSERT_TRUE(r.exchange(big, "ok"));
	ASSERT_TRUE(r.counted((double)big.size(), 2));
	for (int i = 0; i < 5; i++) {
		auto t0 = std::chrono::steady_clock::now();
		HttpReply h = http_request(r.sport, "GET", "/status", 2000);
		auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
		    std::chrono::steady_clock::now() - t0).count();
		EXPECT_EQ(h.status, 200);
		EXPECT_LT(ms, 1000);
	}
	ASSERT_TRUE(r.exchange("still", "here"));
	for (int fd : slow)
		close(fd);
}

// Three times as many idle clients as the server takes at once, all
// waiting to be accepted: each evicts the oldest in turn, and a request
// behind them all is answered promptly (it waited a tick of 100 ms per
// eviction, about 10 s).
TEST(Status, RequestBehindManyIdleClientsIsAnsweredPromptly)
{
	Relay r;
	ASSERT_TRUE(r.ready());

	std::vector<int> idle;
	for (int i = 0; i < 200; i++)
		idle.push_back(tcp_connect(r.sport, 2000));
	auto t0 = std::chrono::steady_clock::now();
	HttpReply h = http_request(r.sport, "GET", "/metrics", 2000);
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
	    std::chrono::steady_clock::now() - t0).count();
	EXPECT_EQ(h.status, 200);
	EXPECT_LT(ms, 2000);
	int failed = 0;
	for (int fd : idle) {
		if (fd == -1)
			failed++;
		else
			close(fd);
	}
	EXPECT_EQ(failed, 0);
}

TEST(Status, ListensOnIPv6Loopback)
{
	if (!have_ipv6_loopback())
		GTEST_SKIP() << "no IPv6 loopback here";
	int dport, d = tcp_bound(&dport);
	ASSERT_NE(d, -1);
	InProcessGateway g(preamble_with_status("[::1]:0") + "devices = (\n" +
	    device_conf("d1", connect_ep(dport), listen_ep(0)) + ");\n");
	ASSERT_TRUE(g.ok());
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();
	EXPECT_TRUE(g.log().find("on http://[::1]:" + std::to_string(sport)) !=
	    std::string::npos) << g.log();
	HttpReply h = http_get(sport, "/status", "::1");
	EXPECT_EQ(h.status, 200);
	EXPECT_TRUE(JsonChecker(h.body).valid()) << h.body;
	// Bound to ::1 only.
	EXPECT_EQ(tcp_connect(sport, 500), -1);
	g.stop();
	close(d);
}

// An IPv4-mapped IPv6 address is the IPv4 address: the status server,
// whose IPv6 sockets take IPv6 alone, serves on it.
TEST(Status, ListensOnAnIPv4MappedAddress)
{
	int dport, d = tcp_bound(&dport);
	ASSERT_NE(d, -1);
	InProcessGateway g(preamble_with_status("[::ffff:127.0.0.1]:0") +
	    "devices = (\n" + device_conf("d1", connect_ep(dport),
	    listen_ep(0)) + ");\n");
	ASSERT_TRUE(g.ok()) << g.log();
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();
	EXPECT_TRUE(g.log().find("on http://127.0.0.1:" + std::to_string(sport))
	    != std::string::npos) << g.log();
	EXPECT_EQ(http_get(sport, "/status").status, 200);
	g.stop();
	close(d);
}

TEST(Status, BusyPortFailsStartWithTheReason)
{
	int sport, busy = tcp_listen(&sport);
	ASSERT_NE(busy, -1);
	TestDir dir;
	int dport, d = tcp_bound(&dport);
	ASSERT_NE(d, -1);
	std::string p = dir.write("gw.conf", preamble_with_status(
	    loopback(sport)) + "devices = (\n" + device_conf("d1",
	    connect_ep(dport), listen_ep(0)) + ");\n");
	struct cfg *cfg = nullptr;
	char err[512] = "";
	ASSERT_EQ(cfg_load(p.c_str(), &cfg, stderr), 0);
	struct gateway *gw = gw_start(cfg, err, sizeof(err));
	EXPECT_EQ(gw, nullptr);
	if (gw != nullptr)
		gw_stop(gw);
	EXPECT_NE(strstr(err, ("status.listen " + loopback(sport)).c_str()),
	    nullptr) << err;
	EXPECT_NE(strstr(err, "in use"), nullptr) << err;
	close(busy);
	close(d);
}

TEST(Status, ReloadMovesOrStopsTheServer)
{
	if (!have_ipv6_loopback())
		GTEST_SKIP() << "no IPv6 loopback here (the server moves to ::1)";
	// Every port is one the gateway bound on port 0 and still holds, or
	// one the test holds: none has to stay free meanwhile.
	int dport, d = tcp_bound(&dport);
	ASSERT_NE(d, -1);
	std::string devices = "devices = (\n" + device_conf("d1",
	    connect_ep(dport), listen_ep(0)) + ");\n";
	InProcessGateway g(preamble_with_status(loopback(0)) + devices);
	ASSERT_TRUE(g.ok());
	int p1 = logged_port(g, "status: serving", 1);
	ASSERT_GT(p1, 0) << g.log();
	ASSERT_EQ(http_get(p1, "/status").status, 200);

	TestDir dir;
	auto reload = [&](const std::string &listen, const std::string &devs) {
		std::string p = dir.write("new.conf",
		    preamble_with_status(listen) + devs);
		struct cfg *cfg = nullptr;
		ASSERT_EQ(cfg_load(p.c_str(), &cfg, stderr), 0);
		gw_reload(g.gw(), cfg, nullptr);
	};
	// Moved to another address (::1, loopback too), port 0.
	reload("[::1]:0", devices);
	int p2 = logged_port(g, "status: serving", 2);
	ASSERT_GT(p2, 0) << g.log();
	EXPECT_EQ(http_get(p2, "/status", "::1").status, 200);
	EXPECT_EQ(tcp_connect(p1, 500), -1);
	reload("", devices);
	EXPECT_EQ(tcp_connect(p2, 500, "::1"), -1);
	reload(loopback(0), devices);
	int p3 = logged_port(g, "status: serving", 3);
	ASSERT_GT(p3, 0) << g.log();
	EXPECT_EQ(http_get(p3, "/metrics").status, 200);
	// Told the port it holds and has just served on: it restarts there.
	reload(loopback(p3), devices);
	EXPECT_EQ(logged_port(g, "status: serving", 4), p3) << g.log();
	EXPECT_EQ(http_get(p3, "/metrics").status, 200);

	// A port that cannot be had (d1's upstream holds it): logged, the
	// server serves on where it was, and the next reload, with the same
	// status.listen, tries again: d1, removed, gives the port up first.
	int busy = g.listen_port("d1", LINK_KIND_UPSTREAM);
	ASSERT_GT(busy, 0);
	reload(loopback(busy), devices);
	EXPECT_EQ(http_get(p3, "/metrics").status, 200);
	EXPECT_EQ(count_lines(g.log(), "status server kept on " +
	    loopback(p3)), 1u) << g.log();
	reload(loopback(busy), "devices = ();\n");
	EXPECT_EQ(http_get(busy, "/status").status, 200);
	EXPECT_EQ(tcp_connect(p3, 500), -1);
	g.stop();
	close(d);
}

// A move that cannot be had even once the old server has let go (the
// test holds the port on [::1], which "[::]" overlaps) takes the old
// server back where it served: on a link-local address, with its scope,
// without which that address cannot be bound.
TEST(Status, AServerTakenBackKeepsItsLinkLocalScope)
{
	expect_in_namespaces(CLONE_NEWNET, [] {
		return system("ip addr add fe80::1/64 dev lo nodad "
		    ">/dev/null 2>&1") == 0;
	    }, []() -> std::string {
		int port, busy = tcp_listen(&port, "::1");
		if (busy == -1)
			return "cannot listen on [::1]";
		int dport, d = tcp_bound(&dport);
		if (d == -1) {
			close(busy);
			return "cannot bind a device port";
		}
		const std::string sp = std::to_string(port);
		const std::string devices = "devices = (\n" + device_conf("d1",
		    connect_ep(dport), listen_ep(0)) + ");\n";
		std::string r;
		{
			InProcessGateway g(preamble_with_status(
			    "[fe80::1%lo]:" + sp) + devices);
			TestDir dir;
			std::string p = dir.write("new.conf",
			    preamble_with_status("[::]:" + sp) + devices);
			struct cfg *cfg = nullptr;
			if (!g.ok())
				r = "no start";
			else if (http_get(port, "/status", "fe80::1%lo")
			    .status != 200)
				r = "no status on [fe80::1%lo]";
			else if (cfg_load(p.c_str(), &cfg, stderr) != 0)
				r = "the new file does not load";
			if (r.empty()) {
				gw_reload(g.gw(), cfg, nullptr);
				if (g.log().find("status server kept on") ==
				    std::string::npos)
					r = "the move was not refused";
				/* Let go and taken back, not left alone. */
				else if (g.log().find("status: stopped serving "
				    "on [fe80::1]:" + sp) == std::string::npos)
					r = "the old server was never let go";
				else if (http_get(port, "/status",
				    "fe80::1%lo").status != 200)
					r = "no status on [fe80::1%lo] after";
			}
			if (!r.empty())
				r += "; log:\n" + g.log();
			g.stop();
		}
		close(busy);
		close(d);
		return r;
	    }, "no private network namespace here");
}

TEST(Status, FleetMetricsFollowTheReloads)
{
	// The devices dial a port of ours that refuses; d1 listens on uport
	// (0: any), d2, when there, on any port.
	int dport, d = tcp_bound(&dport);
	ASSERT_NE(d, -1);
	auto conf = [&](int uport, bool with_d2) {
		return preamble_with_status(loopback(0)) + "devices = (\n" +
		    device_conf("d1", connect_ep(dport), listen_ep(uport)) +
		    (with_d2 ? ",\n" + device_conf("d2", connect_ep(dport),
		    listen_ep(0)) : "") + ");\n";
	};
	const std::string ok = "gatewayd_config_last_reload_successful";
	const std::string when =
	    "gatewayd_config_last_reload_success_timestamp_seconds";
	// The wall clock to the ms, as the gateway reads it: time() reads
	// the kernel's coarse clock, up to a tick behind, so a start in the
	// first ms of a second could read later than time() + 1 after it.
	auto wall_s = [] {
		using namespace std::chrono;
		return (double)duration_cast<milliseconds>(
		    system_clock::now().time_since_epoch()).count() / 1000;
	};
	double before = wall_s();
	InProcessGateway g(conf(0, true));
	ASSERT_TRUE(g.ok());
	double after = wall_s();
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();

	std::string m = http_get(sport, "/metrics").body;
	EXPECT_EQ(metric(m, "gatewayd_build_info{version=\"" GATEWAYD_VERSION
	    "\"}"), 1) << m;
	double start = metric(m, "process_start_time_seconds");
	EXPECT_GE(start, before);
	EXPECT_LE(start, after);
	EXPECT_EQ(metric(m, ok), 1);
	EXPECT_EQ(metric(m, when), start);

	TestDir dir;
	auto reload = [&](const std::string &text) {
		std::string p = dir.write("new.conf", text);
		struct cfg *cfg = nullptr;
		if (cfg_load(p.c_str(), &cfg, stderr) == -1)
			return -2;
		return gw_reload(g.gw(), cfg, nullptr);
	};
	// A good reload, a little later.
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	ASSERT_EQ(reload(conf(0, true)), 0);
	m = http_get(sport, "/metrics").body;
	EXPECT_EQ(metric(m, ok), 1);
	double good = metric(m, when);
	EXPECT_GT(good, start);

	// A rejected file: the running configuration stays, the time of the
	// last good reload too.
	gw_reload_rejected(g.gw());
	m = http_get(sport, "/metrics").body;
	EXPECT_EQ(metric(m, ok), 0);
	EXPECT_EQ(metric(m, when), good);

	// A device that cannot start: its new listen port is taken (d2 has
	// it).
	int busy_port = g.listen_port("d2", LINK_KIND_UPSTREAM);
	ASSERT_GT(busy_port, 0);
	EXPECT_EQ(reload(conf(busy_port, true)), -1);
	m = http_get(sport, "/metrics").body;
	EXPECT_EQ(metric(m, ok), 0);
	EXPECT_EQ(metric(m, when), good);

	// Fixed: d2, removed, gives the port up first; d1, the same text,
	// is tried again and starts, and the reload took.
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	ASSERT_EQ(reload(conf(busy_port, false)), 0);
	m = http_get(sport, "/metrics").body;
	EXPECT_EQ(metric(m, ok), 1);
	EXPECT_GT(metric(m, when), good);
	EXPECT_EQ(metric(m, "process_start_time_seconds"), start);
	EXPECT_EQ(g.listen_port("d1", LINK_KIND_UPSTREAM), busy_port);
	g.stop();
	close(d);
}

// The daemon told to reload a bad file says so in its metrics, and the
// shipped alert rule fires on what it says; a good file clears it.
TEST(Status, RejectedFileFiresTheReloadAlert)
{
	std::string good = preamble_with_status(loopback(0)) +
	    "devices = ();\n";
	const std::string ok = "gatewayd_config_last_reload_successful";
	GatewayProcess p(good);
	int sport = logged_port(p, "status: serving");
	ASSERT_GT(sport, 0) << p.log();
	std::string m;
	ASSERT_TRUE(eventually([&] {
		m = http_get(sport, "/metrics").body;
		return metric(m, ok) == 1;
	}, 5000)) << p.log();

	p.rewrite_config(good + "nonsense = 1;\n");
	kill(p.pid(), SIGHUP);
	ASSERT_TRUE(eventually([&] {
		m = http_get(sport, "/metrics").body;
		return metric(m, ok) == 0;
	}, 5000)) << p.log();
	double rejected = metric(m, ok);

	p.rewrite_config(good);
	kill(p.pid(), SIGHUP);
	ASSERT_TRUE(eventually([&] {
		m = http_get(sport, "/metrics").body;
		return metric(m, ok) == 1;
	}, 5000)) << p.log();
	double fixed = metric(m, ok);
	EXPECT_EQ(p.signal_and_wait(SIGTERM, 5000), 0);

	NEED_PROMTOOL(promtool);
	std::string out;
	EXPECT_EQ(reload_alert(promtool, rejected, true, &out), 0) << out;
	EXPECT_EQ(reload_alert(promtool, fixed, false, &out), 0) << out;
}

// The gateway's counts never go back: a device that fails, then is
// removed by a reload, leaves its failures in the reasons and its
// detection in the histogram, while its own series go.
TEST(Status, RemovedDeviceStaysInTheGatewayTotals)
{
	Relay r;
	ASSERT_TRUE(r.ready());
	std::string m;
	const std::string reset = "gatewayd_failures_total{reason=\"peer_reset\"}";
	close_reset(r.dev);
	r.dev = -1;
	ASSERT_TRUE(eventually([&] {
		m = http_get(r.sport, "/metrics").body;
		return metric(m, reset) == 1;
	}, 5000)) << m;
	double detections = metric(m, "gatewayd_detection_seconds_count");

	// status.listen as it was (port 0): the server stays where it is.
	int d2port, d2 = tcp_bound(&d2port);
	ASSERT_NE(d2, -1);
	TestDir dir;
	std::string p = dir.write("new.conf", preamble_with_status(
	    loopback(0)) + "devices = (\n" + device_conf("d2",
	    connect_ep(d2port), listen_ep(0)) + ");\n");
	struct cfg *cfg = nullptr;
	ASSERT_EQ(cfg_load(p.c_str(), &cfg, stderr), 0);
	ASSERT_EQ(gw_reload(r.g->gw(), cfg, nullptr), 0);
	m = http_get(r.sport, "/metrics").body;
	EXPECT_EQ(m.find("device=\"d1\""), std::string::npos) << m;
	EXPECT_EQ(metric(m, "gatewayd_link_up" + labels("d2", "device") + "}"),
	    0) << m;
	EXPECT_EQ(metric(m, reset), 1) << m;
	EXPECT_EQ(metric(m, "gatewayd_detection_seconds_count"), detections);
	r.g->stop();
	close(d2);
}

// A reload turns the per-link detail on and off.
TEST(Status, ReloadTogglesPerLinkDetail)
{
	int dport, d = tcp_bound(&dport);
	ASSERT_NE(d, -1);
	std::string devices = "devices = (\n" + device_conf("d1",
	    connect_ep(dport), listen_ep(0)) + ");\n";
	InProcessGateway g(preamble_with_status(loopback(0)) + devices);
	ASSERT_TRUE(g.ok());
	int sport = logged_port(g, "status: serving");
	ASSERT_GT(sport, 0) << g.log();
	const std::string per_link = "gatewayd_link_failures_total" +
	    labels("d1", "device") + ",reason=\"peer_reset\"}";
	const std::string total = "gatewayd_link_failures_total" +
	    labels("d1", "device") + "}";

	TestDir dir;
	auto reload = [&](bool detail) {
		std::string p = dir.write("new.conf", preamble_with_status(
		    loopback(0), detail) + devices);
		struct cfg *cfg = nullptr;
		ASSERT_EQ(cfg_load(p.c_str(), &cfg, stderr), 0);
		ASSERT_EQ(gw_reload(g.gw(), cfg, nullptr), 0);
	};
	std::string m = http_get(sport, "/metrics").body;
	EXPECT_EQ(metric(m, total), 0);
	EXPECT_EQ(metric(m, per_link), -1);
	reload(true);
	m = http_get(sport, "/metrics").body;
	EXPECT_EQ(metric(m, total), -1);
	EXPECT_EQ(metric(m, per_link), 0);
	EXPECT_EQ(metric(m, "gatewayd_detection_seconds_count" +
	    labels("d1", "upstream") + "}"), 0);
	reload(false);
	m = http_get(sport, "/metrics").body;
	EXPECT_EQ(metric(m, total), 0);
	EXPECT_EQ(metric(m, per_link), -1);
	EXPECT_EQ(metric(m, "gatewayd_detection_seconds_count"), 0);
	g.stop();
	close(d);
}
