// Unit tests for metrics: the renderings of a hand-made copy (no sockets,
// no threads): escaping, histogram buckets, series per link kind, JSON
// structure and nulls, the text table, times.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "clock.h"
#include "metrics.h"

namespace {

// A copy with the given links (device name, kind), all down, never failed.
class Copy {
public:
	Copy() { metrics_init(&m_); }
	~Copy() { metrics_free(&m_); }
	struct metrics_link &
	add(const char *device, enum link_kind kind)
	{
		m_.links = (struct metrics_link *)realloc(m_.links,
		    (m_.n_links + 1) * sizeof(*m_.links));
		struct metrics_link &ml = m_.links[m_.n_links++];
		m_.cap = m_.n_links;
		memset(&ml, 0, sizeof(ml));
		snprintf(ml.device, sizeof(ml.device), "%s", device);
		ml.snap.kind = kind;
		ml.snap.state = LINK_DOWN;
		ml.snap.since_wall_ms = 1795341600123;	// 2026-11-22T10:00:00.123Z
		ml.snap.last_detection_ms = -1;		// never failed
		ml.budgets = { -1, -1, -1, -1, -1, -1 };
		return ml;
	}
	struct metrics *get() { return &m_; }
	std::string
	prometheus()
	{
		struct strbuf sb;
		size_t len;
		strbuf_init(&sb);
		EXPECT_EQ(metrics_render_prometheus(&m_, "1.2.3", &sb), 0);
		char *p = strbuf_take(&sb, &len);
		std::string s(p, len);
		free(p);
		return s;
	}
	std::string
	json()
	{
		struct strbuf sb;
		size_t len;
		strbuf_init(&sb);
		EXPECT_EQ(metrics_render_json(&m_, "1.2.3", &sb), 0);
		char *p = strbuf_take(&sb, &len);
		std::string s(p, len);
		free(p);
		return s;
	}
	std::string
	text(bool verbose = false)
	{
		struct strbuf sb;
		size_t len;
		strbuf_init(&sb);
		EXPECT_EQ(metrics_render_text(&m_, verbose, &sb), 0);
		char *p = strbuf_take(&sb, &len);
		std::string s(p, len);
		free(p);
		return s;
	}
private:
	struct metrics m_;
};

bool
has_line(const std::string &text, const std::string &line)
{
	return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST(Metrics, FormatTimeIsUtcWithMilliseconds)
{
	char buf[32];

	EXPECT_STREQ(clock_format_utc(1795341600123, buf, sizeof(buf)),
	    "2026-11-22T10:00:00.123Z");
	EXPECT_STREQ(clock_format_utc(0, buf, sizeof(buf)),
	    "1970-01-01T00:00:00.000Z");
	EXPECT_STREQ(clock_format_utc(1005, buf, sizeof(buf)),
	    "1970-01-01T00:00:01.005Z");
}

TEST(Metrics, PrometheusEscapesLabelValues)
{
	Copy c;
	c.add("a\"b\\c\nd", LINK_KIND_DEVICE);
	std::string p = c.prometheus();
	EXPECT_TRUE(has_line(p,
	    "gatewayd_link_up{device=\"a\\\"b\\\\c\\nd\",link=\"device\"} 0"))
	    << p;
}

// By default a link's failures are one series, every reason together,
// and the reasons are the gateway's: every reason but none, from the start.
TEST(Metrics, PrometheusFailuresPerLinkAndByReasonPerGateway)
{
	Copy c;
	c.add("d1", LINK_KIND_DEVICE).snap.failures[WD_ACK_TIMEOUT] = 3;
	c.get()->links[0].snap.failures[WD_PEER_RESET] = 1;
	c.add("d1", LINK_KIND_UPSTREAM).snap.failures[WD_PEER_RESET] = 2;
	std::string p = c.prometheus();
	EXPECT_TRUE(has_line(p, "gatewayd_link_failures_total{device=\"d1\","
	    "link=\"device\"} 4")) << p;
	EXPECT_TRUE(has_line(p, "gatewayd_link_failures_total{device=\"d1\","
	    "link=\"upstream\"} 2")) << p;
	for (int r = WD_REASON_NONE + 1; r < WD_REASON_COUNT; r++) {
		std::string series = std::string("gatewayd_failures_total"
		    "{reason=\"") + wd_reason_str((enum wd_reason)r) + "\"} ";
		int n = r == WD_ACK_TIMEOUT ? 3 : r == WD_PEER_RESET ? 3 : 0;
		EXPECT_TRUE(has_line(p, series + std::to_string(n))) << series;
	}
	EXPECT_EQ(p.find("link_failures_total{device=\"d1\",link=\"device\","
	    "reason="), std::string::npos) << p;
	EXPECT_EQ(p.find("reason=\"none\""), std::string::npos);
}

// With per_link_detail, the reasons per link too, as they were before the
// default went per gateway.
TEST(Metrics, PrometheusEveryReasonButNoneForEveryLink)
{
	Copy c;
	c.get()->per_link_detail = true;
	c.add("d1", LINK_KIND_DEVICE).snap.failures[WD_ACK_TIMEOUT] = 3;
	c.add("d1", LINK_KIND_UPSTREAM);
	std::string p = c.prometheus();
	for (const char *link : { "device", "upstream" }) {
		for (int r = WD_REASON_NONE + 1; r < WD_REASON_COUNT; r++) {
			std::string series = std::string("gatewayd_link_failures_total"
			    "{device=\"d1\",link=\"") + link + "\",reason=\"" +
			    wd_reason_str((enum wd_reason)r) + "\"} ";
			bool three = r == WD_ACK_TIMEOUT && strcmp(link, "device") == 0;
			EXPECT_TRUE(has_line(p, series + (three ? "3" : "0")))
			    << series;
		}
	}
	EXPECT_EQ(p.find("reason=\"none\""), std::string::npos);
	EXPECT_TRUE(has_line(p, "gatewayd_failures_total{reason=\"ack_timeout\"} "
	    "3")) << p;
}

TEST(Metrics, PrometheusBytesSeriesByLinkKind)
{
	Copy c;
	c.add("s", LINK_KIND_RX).snap.bytes_out = 0;
	c.add("s", LINK_KIND_TX).snap.bytes_out = 11;
	c.add("s", LINK_KIND_UPSTREAM).snap.bytes_out = 22;
	c.add("d", LINK_KIND_DEVICE).snap.bytes_out = 33;
	std::string p = c.prometheus();
	EXPECT_TRUE(has_line(p, "gatewayd_bytes_total{device=\"s\",link=\"tx\","
	    "direction=\"to_device\"} 11")) << p;
	EXPECT_TRUE(has_line(p, "gatewayd_bytes_total{device=\"s\","
	    "link=\"upstream\",direction=\"to_upstream\"} 22")) << p;
	EXPECT_TRUE(has_line(p, "gatewayd_bytes_total{device=\"d\","
	    "link=\"device\",direction=\"to_device\"} 33")) << p;
	EXPECT_EQ(p.find("gatewayd_bytes_total{device=\"s\",link=\"rx\""),
	    std::string::npos);
}

// With per_link_detail: one detection histogram per link.
TEST(Metrics, PrometheusHistogramIsCumulativeInSeconds)
{
	Copy c;
	c.get()->per_link_detail = true;
	struct metrics_link &ml = c.add("d", LINK_KIND_DEVICE);
	ml.snap.detect.bucket[0] = 1;	// <= 1 ms
	ml.snap.detect.bucket[3] = 2;	// <= 50 ms
	ml.snap.detect.bucket[8] = 1;	// <= 2.5 s
	ml.snap.detect.count = 5;		// one beyond 60 s
	ml.snap.detect.sum_us = 61234567;
	c.get()->sweeps = 42;
	c.get()->sweep.bucket[1] = 42;
	c.get()->sweep.count = 42;
	c.get()->sweep.sum_us = 84000;
	std::string p = c.prometheus();
	const char *le[] = { "0.001", "0.005", "0.01", "0.05", "0.1", "0.25",
	    "0.5", "1", "2.5", "5", "10", "60", "+Inf" };
	const int cum[] = { 1, 1, 1, 3, 3, 3, 3, 3, 4, 4, 4, 4, 5 };
	std::string l = "{device=\"d\",link=\"device\"";
	for (int i = 0; i < 13; i++)
		EXPECT_TRUE(has_line(p, "gatewayd_detection_seconds_bucket" + l +
		    ",le=\"" + le[i] + "\"} " + std::to_string(cum[i])))
		    << le[i] << "\n" << p;
	EXPECT_TRUE(has_line(p, "gatewayd_detection_seconds_sum" + l +
	    "} 61.234567"));
	EXPECT_TRUE(has_line(p, "gatewayd_detection_seconds_count" + l + "} 5"));
	EXPECT_TRUE(has_line(p, "gatewayd_watchdog_sweeps_total 42"));
	EXPECT_TRUE(has_line(p,
	    "gatewayd_watchdog_sweep_seconds_bucket{le=\"0.001\"} 0"));
	EXPECT_TRUE(has_line(p,
	    "gatewayd_watchdog_sweep_seconds_bucket{le=\"0.005\"} 42"));
	EXPECT_TRUE(has_line(p,
	    "gatewayd_watchdog_sweep_seconds_bucket{le=\"+Inf\"} 42"));
	EXPECT_TRUE(has_line(p, "gatewayd_watchdog_sweep_seconds_sum 0.084000"));
	EXPECT_TRUE(has_line(p, "gatewayd_watchdog_sweep_seconds_count 42"));
}

// By default one detection histogram for the gateway: every link's, and
// those of links since removed (retired), added up.
TEST(Metrics, PrometheusDetectionIsPerGateway)
{
	Copy c;
	struct metrics_link &a = c.add("d", LINK_KIND_DEVICE);
	a.snap.detect.bucket[0] = 1;	// <= 1 ms
	a.snap.detect.bucket[8] = 1;	// <= 2.5 s
	a.snap.detect.count = 2;
	a.snap.detect.sum_us = 2000500;
	struct metrics_link &b = c.add("e", LINK_KIND_RX);
	b.snap.detect.bucket[3] = 2;	// <= 50 ms
	b.snap.detect.count = 3;	// one beyond 60 s
	b.snap.detect.sum_us = 61060000;
	c.get()->retired.detect.bucket[9] = 4;	// <= 5 s
	c.get()->retired.detect.count = 4;
	c.get()->retired.detect.sum_us = 16000000;
	c.get()->retired.failures[WD_RX_SILENCE] = 5;
	std::string p = c.prometheus();
	const char *le[] = { "0.001", "0.005", "0.01", "0.05", "0.1", "0.25",
	    "0.5", "1", "2.5", "5", "10", "60", "+Inf" };
	const int cum[] = { 1, 1, 1, 3, 3, 3, 3, 3, 4, 8, 8, 8, 9 };
	for (int i = 0; i < 13; i++)
		EXPECT_TRUE(has_line(p, std::string("gatewayd_detection_seconds_"
		    "bucket{le=\"") + le[i] + "\"} " + std::to_string(cum[i])))
		    << le[i] << "\n" << p;
	EXPECT_TRUE(has_line(p, "gatewayd_detection_seconds_sum 79.060500"));
	EXPECT_TRUE(has_line(p, "gatewayd_detection_seconds_count 9"));
	EXPECT_EQ(p.find("gatewayd_detection_seconds_bucket{device="),
	    std::string::npos) << p;
	EXPECT_TRUE(has_line(p, "gatewayd_failures_total{reason=\"rx_silence\"} "
	    "5")) << p;
	EXPECT_TRUE(has_line(p, "gatewayd_link_failures_total{device=\"e\","
	    "link=\"rx\"} 0")) << p;
}

// The scale issue: at most 6 series per link, whatever the link, and a
// fixed number for the gateway, however many links there are.
TEST(Metrics, PrometheusAtMostSixSeriesPerLink)
{
	auto series = [](const std::string &p, const std::string &with) {
		size_t n = 0;
		for (size_t b = 0, e; (e = p.find('\n', b)) != std::string::npos;
		    b = e + 1)
			if (p[b] != '#' && p.substr(b, e - b).find(with) !=
			    std::string::npos)
				n++;
		return n;
	};
	Copy one, many;
	one.add("d0", LINK_KIND_DEVICE);
	for (int i = 0; i < 50; i++) {
		std::string d = "d" + std::to_string(i);
		many.add(d.c_str(), LINK_KIND_DEVICE);
		many.add(d.c_str(), LINK_KIND_UPSTREAM);
		many.add(d.c_str(), LINK_KIND_RX);
		many.add(d.c_str(), LINK_KIND_TX);
	}
	std::string p = many.prometheus();
	for (const char *kind : { "device", "upstream", "tx" })
		EXPECT_EQ(series(p, std::string("device=\"d7\",link=\"") + kind +
		    "\""), 6u) << kind << "\n" << p;
	EXPECT_EQ(series(p, "device=\"d7\",link=\"rx\""), 5u);
	std::string o = one.prometheus();
	EXPECT_EQ(series(p, "") - series(p, "device=\""),
	    series(o, "") - series(o, "device=\"")) << o;
}

// The page a gateway of 2,000 links (1,000 devices, each a device and an
// upstream link) serves: 6 series per link, and about 0.8 MiB, against
// 28 series per link and 4.3 MiB with per_link_detail (as every gateway
// served before the default went per gateway).
TEST(Metrics, PrometheusSizeForAGatewayOf2000Links)
{
	size_t bytes[2], series[2];

	for (int detail = 0; detail < 2; detail++) {
		Copy c;
		c.get()->per_link_detail = detail == 1;
		for (int i = 0; i < 2000; i++) {
			char name[16];
			snprintf(name, sizeof(name), "press%04d", i / 2);
			struct metrics_link &ml = c.add(name, i % 2 ?
			    LINK_KIND_UPSTREAM : LINK_KIND_DEVICE);
			ml.snap.state = LINK_UP;
			ml.snap.connects = 12;
			ml.snap.bytes_out = 123456789;
			ml.snap.failures[WD_KEEPALIVE_TIMEOUT] = 3;
		}
		std::string p = c.prometheus();
		bytes[detail] = p.size();
		series[detail] = 0;
		for (size_t b = 0, e; (e = p.find('\n', b)) != std::string::npos;
		    b = e + 1)
			series[detail] += p[b] != '#';
		RecordProperty(detail ? "bytes_per_link_detail" : "bytes",
		    std::to_string(bytes[detail]));
		printf("2000 links%s: %zu bytes, %zu series\n", detail ?
		    ", per_link_detail" : "", bytes[detail], series[detail]);
	}
	// 6 per link, and 43 for the gateway: 4 fleet, 8 reasons, 15 of the
	// detection histogram, 16 of the watchdog.
	EXPECT_EQ(series[0], 2000u * 6 + 43);
	EXPECT_EQ(series[1], 2000u * 28 + 28);
	EXPECT_LT(bytes[0], (size_t)1 << 20);
	EXPECT_LT(bytes[0] * 4, bytes[1]);
}

TEST(Metrics, PrometheusFleetFamilies)
{
	Copy c;
	c.get()->start_wall_ms = 1795341600123;	// 2026-11-22T10:00:00.123Z
	c.get()->reload_ok = true;
	c.get()->reload_ok_wall_ms = 1795341660000;
	std::string p = c.prometheus();
	EXPECT_TRUE(has_line(p, "gatewayd_build_info{version=\"1.2.3\"} 1")) << p;
	EXPECT_TRUE(has_line(p, "process_start_time_seconds 1795341600.123"));
	EXPECT_TRUE(has_line(p, "gatewayd_config_last_reload_successful 1"));
	EXPECT_TRUE(has_line(p,
	    "gatewayd_config_last_reload_success_timestamp_seconds 1795341660"));
	c.get()->reload_ok = false;
	p = c.prometheus();
	EXPECT_TRUE(has_line(p, "gatewayd_config_last_reload_successful 0"));
	EXPECT_TRUE(has_line(p,
	    "gatewayd_config_last_reload_success_timestamp_seconds 1795341660"));
}

TEST(Metrics, PrometheusEveryFamilyHasHelpThenTypeOnce)
{
	Copy c;
	c.add("d", LINK_KIND_DEVICE);
	std::string p = c.prometheus();
	for (const char *f : { "gatewayd_link_up", "gatewayd_link_connects_total",
	    "gatewayd_link_failures_total", "gatewayd_failures_total",
	    "gatewayd_bytes_total",
	    "gatewayd_unacked_bytes_at_failure_total",
	    "gatewayd_held_bytes_discarded_total", "gatewayd_detection_seconds",
	    "gatewayd_watchdog_sweeps_total",
	    "gatewayd_watchdog_sweep_seconds", "gatewayd_build_info",
	    "process_start_time_seconds",
	    "gatewayd_config_last_reload_successful",
	    "gatewayd_config_last_reload_success_timestamp_seconds" }) {
		std::string help = std::string("# HELP ") + f + " ";
		size_t h = p.find(help);
		ASSERT_NE(h, std::string::npos) << f;
		EXPECT_EQ(p.find(help, h + 1), std::string::npos) << f;
		size_t t = p.find(std::string("# TYPE ") + f + " ");
		EXPECT_GT(t, h) << f;
		EXPECT_EQ(p.find('\n', h) + 1, t) << f;
	}
	EXPECT_EQ(p.back(), '\n');
}

TEST(Metrics, ReadHistNeverCountsLessThanItsBuckets)
{
	struct hist h;
	struct hist_snap out;

	memset((void *)&h, 0, sizeof(h));
	hist_add_us(&h, 500);
	hist_add_us(&h, 70000000);	// beyond the last bound
	hist_read(&h, &out);
	EXPECT_EQ(out.bucket[0], 1u);
	EXPECT_EQ(out.count, 2u);
	EXPECT_EQ(out.sum_us, 70000500u);
	// A reader between hist_add_us()'s bucket and count updates.
	h.bucket[4].fetch_add(1);
	hist_read(&h, &out);
	EXPECT_EQ(out.count, 2u);
	h.bucket[5].fetch_add(2);
	hist_read(&h, &out);
	EXPECT_EQ(out.count, 4u);
}

TEST(Metrics, JsonEmptyGateway)
{
	Copy c;
	EXPECT_EQ(c.json(), "{\"version\":\"1.2.3\",\"devices\":[]}\n");
}

TEST(Metrics, JsonGroupsLinksByDeviceWithNullsForNever)
{
	Copy c;
	struct metrics_link &a = c.add("d1", LINK_KIND_DEVICE);
	a.snap.state = LINK_UP;
	snprintf(a.snap.peer, sizeof(a.snap.peer), "127.0.0.1:5001");
	snprintf(a.snap.listen, sizeof(a.snap.listen), "[::1]:15001");
	a.snap.connects = 2;
	a.snap.failures[WD_PEER_RESET] = 1;
	a.snap.failures[WD_KEEPALIVE_TIMEOUT] = 2;
	a.snap.bytes_in = 10;
	a.snap.bytes_out = 20;
	a.snap.unacked_at_failure = 30;
	a.snap.held_discarded = 40;
	a.snap.last_reason = WD_KEEPALIVE_TIMEOUT;
	a.snap.last_failure_wall_ms = 1795341601000;
	snprintf(a.snap.last_detail, sizeof(a.snap.last_detail), "3 probes");
	a.snap.last_detection_ms = 5180;
	memcpy(a.snap.last_words_in.b, "ok\x01", 3);
	a.snap.last_words_in.len = 3;
	a.snap.last_words_out.skipped = 65536;
	a.has_monitor = true;
	snprintf(a.monitor.listen, sizeof(a.monitor.listen), "127.0.0.1:16000");
	a.monitor.clients = 2;
	a.monitor.missed = 1234;
	a.budgets = { 5100, 5100, 5100, 100, -1, 2000 };
	c.add("d1", LINK_KIND_UPSTREAM);
	struct metrics_link &rx = c.add("s2", LINK_KIND_RX);
	rx.snap.state = LINK_CONNECTING;
	c.add("s2", LINK_KIND_TX);
	std::string j = c.json();
	std::string never = "\"peer\":null,\"listen\":null,\"since\":\"2026-11-22T10:00:00.123Z\","
	    "\"last_reason\":null,\"last_failure\":null,\"last_detail\":null,"
	    "\"connects\":0,\"failures\":0,\"bytes_in\":0,\"bytes_out\":0,"
	    "\"unacked_bytes_at_failure\":0,\"held_bytes_discarded\":0,"
	    "\"budget_idle_ms\":null,\"budget_in_flight_ms\":null,"
	    "\"budget_stall_ms\":null,\"blip_tolerance_ms\":0,"
	    "\"last_detection_ms\":null,\"last_words\":null}";
	EXPECT_EQ(j, "{\"version\":\"1.2.3\",\"devices\":["
	    "{\"name\":\"d1\",\"monitor\":{\"listen\":\"127.0.0.1:16000\","
	    "\"clients\":2,\"missed_bytes\":1234},\"links\":["
	    "{\"link\":\"device\",\"state\":\"up\",\"peer\":\"127.0.0.1:5001\","
	    "\"listen\":\"[::1]:15001\",\"since\":\"2026-11-22T10:00:00.123Z\","
	    "\"last_reason\":\"keepalive_timeout\","
	    "\"last_failure\":\"2026-11-22T10:00:01.000Z\","
	    "\"last_detail\":\"3 probes\",\"connects\":2,\"failures\":3,"
	    "\"bytes_in\":10,\"bytes_out\":20,\"unacked_bytes_at_failure\":30,"
	    "\"held_bytes_discarded\":40,\"budget_idle_ms\":5100,"
	    "\"budget_in_flight_ms\":5100,\"budget_stall_ms\":5100,"
	    "\"blip_tolerance_ms\":2000,\"last_detection_ms\":5180,"
	    "\"last_words\":{\"received\":\"6f6b01\",\"received_skipped\":0,"
	    "\"sent\":\"\",\"sent_skipped\":65536}},"
	    "{\"link\":\"upstream\",\"state\":\"down\"," + never + "]},"
	    "{\"name\":\"s2\",\"monitor\":null,\"links\":["
	    "{\"link\":\"rx\",\"state\":\"connecting\"," + never + ","
	    "{\"link\":\"tx\",\"state\":\"down\"," + never + "]}]}\n");
}

TEST(Metrics, JsonEscapesStringsAndReplacesInvalidUtf8)
{
	Copy c;
	struct metrics_link &a = c.add("d1", LINK_KIND_DEVICE);
	a.snap.last_reason = WD_SOCKET_ERROR;
	a.snap.last_failure_wall_ms = 1;
	snprintf(a.snap.last_detail, sizeof(a.snap.last_detail),
	    "q\" b\\ n\n t\t c\x01 del\x7f \xc3\xa9 \xe2\x82\xac bad\xff"
	    " short\xc3 over\xc0\xaf sur\xed\xa0\x80 end");
	std::string j = c.json();
	EXPECT_NE(j.find("\"last_detail\":\"q\\\" b\\\\ n\\n t\\t c\\u0001 "
	    "del\\u007f \xc3\xa9 \xe2\x82\xac bad\\ufffd short\\ufffd "
	    "over\\ufffd\\ufffd sur\\ufffd\\ufffd\\ufffd end\""),
	    std::string::npos) << j;
}

TEST(Metrics, TextOneLinePerLinkWithDashesForEmpty)
{
	Copy c;
	struct metrics_link &a = c.add("d1", LINK_KIND_DEVICE);
	a.snap.state = LINK_UP;
	snprintf(a.snap.peer, sizeof(a.snap.peer), "[::1]:5001");
	a.snap.bytes_in = 7;
	a.snap.bytes_out = 8;
	a.snap.last_reason = WD_PEER_CLOSED;
	struct metrics_link &b = c.add("d1", LINK_KIND_UPSTREAM);
	snprintf(b.snap.peer, sizeof(b.snap.peer), "odd\tpeer\nname");
	EXPECT_EQ(c.text(),
	    "d1\tdevice\tup\t[::1]:5001\t2026-11-22T10:00:00.123Z\tpeer_closed"
	    "\t7\t8\n"
	    "d1\tupstream\tdown\todd peer name\t2026-11-22T10:00:00.123Z\t-"
	    "\t0\t0\n");
	Copy empty;
	EXPECT_EQ(empty.text(), "");
}

// Verbose: the last failure's detail and last words, hex, and the bytes
// skipped after them; dashes and zeros for a link that never failed.
TEST(Metrics, TextVerboseAddsDetailAndLastWords)
{
	Copy c;
	struct metrics_link &a = c.add("d1", LINK_KIND_DEVICE);
	a.snap.last_reason = WD_KEEPALIVE_TIMEOUT;
	snprintf(a.snap.last_detail, sizeof(a.snap.last_detail), "3 probes");
	memcpy(a.snap.last_words_in.b, "\x02OK\x03", 4);
	a.snap.last_words_in.len = 4;
	a.snap.last_words_out.skipped = 9;
	c.add("d1", LINK_KIND_UPSTREAM);
	EXPECT_EQ(c.text(true),
	    "d1\tdevice\tdown\t-\t2026-11-22T10:00:00.123Z\tkeepalive_timeout"
	    "\t0\t0\t3 probes\t024f4b03\t0\t-\t9\n"
	    "d1\tupstream\tdown\t-\t2026-11-22T10:00:00.123Z\t-\t0\t0\t-\t-"
	    "\t0\t-\t0\n");
}
