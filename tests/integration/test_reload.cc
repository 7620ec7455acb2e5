// Reload (what SIGHUP does): unchanged devices keep their connections,
// new timeouts reach live sockets, changed addresses restart, added
// devices start, removed ones stop.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "cfg.h"
#include "gwtest.h"
#include "net.h"

namespace {

std::string
dev_conf(const std::string &name, int dport, int uport, const std::string &extra = "")
{
	return "  { name = \"" + name + "\";\n"
	    "    device = { connect = \"127.0.0.1:" + std::to_string(dport) + "\"; };\n"
	    "    upstream = { listen = \"127.0.0.1:" + std::to_string(uport) + "\"; };\n" +
	    extra + "  }";
}

struct cfg *
load(TestDir &dir, const std::string &text)
{
	struct cfg *cfg = nullptr;
	std::string p = dir.write("reload.conf", text);

	if (cfg_load(p.c_str(), &cfg, stderr) == -1)
		return nullptr;
	return cfg;
}

int
local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

// TCP_USER_TIMEOUT on the gateway's own socket of a device's link.
int
user_timeout_of(struct gateway *gw, const char *device, enum link_kind kind)
{
	struct q { const char *dev; enum link_kind kind; int value; } q = {
		device, kind, -1 };

	gw_foreach_link(gw, [](void *arg, const char *dev, struct link *l) {
		auto *q = static_cast<struct q *>(arg);
		struct link_snap s;
		link_snapshot(l, &s);
		if (std::string(dev) != q->dev || s.kind != q->kind)
			return;
		uint64_t gen;
		int fd = link_acquire(l, &gen);
		if (fd == -1)
			return;
		socklen_t len = sizeof(q->value);
		getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &q->value, &len);
		link_release(l);
	}, &q);
	return q.value;
}

}  // namespace

TEST(Reload, UnchangedDeviceKeepsItsConnectionAndNewTimeoutsApplyInPlace)
{
	int p1, l1 = tcp_listen(&p1);
	int p2, l2 = tcp_listen(&p2);
	ASSERT_NE(l1, -1);
	ASSERT_NE(l2, -1);
	TestDir dir;
	// The upstreams on port 0; the reload gives the same text again.
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    dev_conf("same", p1, 0) + ",\n" + dev_conf("tuned", p2, 0) + ");\n");
	ASSERT_TRUE(g.ok());
	int u1 = g.listen_port("same", LINK_KIND_UPSTREAM);
	ASSERT_GT(u1, 0);
	int d1 = tcp_accept(l1, 5000), d2 = tcp_accept(l2, 5000);
	ASSERT_NE(d1, -1);
	ASSERT_NE(d2, -1);
	ASSERT_TRUE(eventually([&] { return g.up("same", LINK_KIND_DEVICE); }, 5000));
	int h1 = tcp_connect(u1, 5000);
	ASSERT_NE(h1, -1);
	ASSERT_TRUE(eventually([&] { return g.up("same", LINK_KIND_UPSTREAM); }, 5000));
	ASSERT_TRUE(roundtrip(h1, d1, "before\n"));
	int h1_port = local_port(h1);
	EXPECT_EQ(user_timeout_of(g.gw(), "tuned", LINK_KIND_DEVICE), 5000);

	// "tuned" gets longer timeouts; "new" is added; the rest is the same.
	int p3, l3 = tcp_listen(&p3);
	ASSERT_NE(l3, -1);
	struct cfg *cfg = load(dir, test_preamble() + "devices = (\n" +
	    dev_conf("same", p1, 0) + ",\n" +
	    dev_conf("tuned", p2, 0, "    user_timeout_ms = 9000;\n") + ",\n" +
	    dev_conf("new", p3, 0) + ");\n");
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, nullptr), 0);

	// The same TCP connections, bytes flowing across the reload.
	EXPECT_TRUE(roundtrip(h1, d1, "after\n"));
	EXPECT_TRUE(roundtrip(d1, h1, "and back\n"));
	EXPECT_EQ(local_port(h1), h1_port);
	EXPECT_EQ(g.listen_port("same", LINK_KIND_UPSTREAM), u1);
	EXPECT_TRUE(stays_quiet(d2, 200)) << "tuned device was reconnected";
	EXPECT_EQ(user_timeout_of(g.gw(), "tuned", LINK_KIND_DEVICE), 9000);
	// The added device starts.
	int d3 = tcp_accept(l3, 5000);
	EXPECT_NE(d3, -1) << "added device not started";

	for (int fd : {h1, d1, d2, d3, l1, l2, l3})
		if (fd != -1)
			close(fd);
}

TEST(Reload, ChangedAddressRestartsAndRemovedDeviceStops)
{
	int p1, l1 = tcp_listen(&p1);
	int p2, l2 = tcp_listen(&p2);
	int pnew, lnew = tcp_listen(&pnew);
	ASSERT_NE(l1, -1);
	ASSERT_NE(l2, -1);
	ASSERT_NE(lnew, -1);
	TestDir dir;
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    dev_conf("moved", p1, 0) + ",\n" + dev_conf("gone", p2, 0) + ");\n");
	ASSERT_TRUE(g.ok());
	// "moved" keeps the port it got: ours (the gateway's) to reuse.
	int u1 = g.listen_port("moved", LINK_KIND_UPSTREAM);
	int u2 = g.listen_port("gone", LINK_KIND_UPSTREAM);
	ASSERT_GT(u1, 0);
	ASSERT_GT(u2, 0);
	int d1 = tcp_accept(l1, 5000), d2 = tcp_accept(l2, 5000);
	ASSERT_NE(d1, -1);
	ASSERT_NE(d2, -1);

	struct cfg *cfg = load(dir, test_preamble() + "devices = (\n" +
	    dev_conf("moved", pnew, u1) + ");\n");
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(gw_reload(g.gw(), cfg, nullptr), 0);
	// "moved" now dials its new address; its old connection is closed.
	int dn = tcp_accept(lnew, 5000);
	EXPECT_NE(dn, -1) << "moved device not restarted on its new address";
	EXPECT_TRUE(wait_closed(d1, 5000));
	EXPECT_TRUE(eventually([&] {
		return g.listen_port("moved", LINK_KIND_UPSTREAM) == u1; }, 5000));
	// "gone" stops: its connection closes and its listen port is free.
	EXPECT_TRUE(wait_closed(d2, 5000));
	EXPECT_EQ(g.listen_port("gone", LINK_KIND_UPSTREAM), -1);
	int again = tcp_listen_on(u2);
	EXPECT_NE(again, -1) << "removed device's listen port still taken";

	for (int fd : {d1, d2, dn, again, l1, l2, lnew})
		if (fd != -1)
			close(fd);
}
