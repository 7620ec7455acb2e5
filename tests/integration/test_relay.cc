// Integration tests on loopback: real threads and sockets through an
// in-process gateway. Every wait is bounded.
#include <gtest/gtest.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <poll.h>
#include <linux/sockios.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "clock.h"
#include "gwtest.h"
#include "net.h"

namespace {

constexpr size_t kBig = 64u << 20;	// 64 MiB each way
constexpr int kBigMs = 120000;

struct Stream {
	uint64_t sum = 0;
	bool ok = false;
};

// Send n pseudo-random bytes (seed) on fd; remember the checksum.
void
send_stream(int fd, size_t n, uint64_t seed, Stream *out)
{
	std::vector<uint8_t> buf(1 << 16);
	uint64_t h = 0xcbf29ce484222325ULL;

	out->ok = true;
	for (size_t done = 0; done < n; ) {
		size_t len = std::min(buf.size(), n - done);
		fill_random(buf.data(), len, seed + done);
		h = fnv1a(buf.data(), len, h);
		if (!write_all(fd, buf.data(), len, kBigMs)) {
			out->ok = false;
			return;
		}
		done += len;
	}
	out->sum = h;
}

void
recv_stream(int fd, size_t n, Stream *out)
{
	std::vector<uint8_t> buf(1 << 16);
	uint64_t h = 0xcbf29ce484222325ULL;

	out->ok = true;
	for (size_t done = 0; done < n; ) {
		size_t len = std::min(buf.size(), n - done);
		if (!read_exact(fd, buf.data(), len, kBigMs)) {
			out->ok = false;
			return;
		}
		h = fnv1a(buf.data(), len, h);
		done += len;
	}
	out->sum = h;
}

// Both directions at once: host <-> gateway <-> device.
void
both_ways(int host_fd, int dev_out_fd, int dev_in_fd)
{
	Stream up_sent, up_got, down_sent, down_got;
	std::thread t1(send_stream, host_fd, kBig, 11, &down_sent);
	std::thread t2(recv_stream, dev_in_fd, kBig, &down_got);
	std::thread t3(send_stream, dev_out_fd, kBig, 22, &up_sent);
	std::thread t4(recv_stream, host_fd, kBig, &up_got);
	t1.join();
	t2.join();
	t3.join();
	t4.join();
	ASSERT_TRUE(down_sent.ok && down_got.ok);
	ASSERT_TRUE(up_sent.ok && up_got.ok);
	EXPECT_EQ(down_sent.sum, down_got.sum) << "host -> device corrupted";
	EXPECT_EQ(up_sent.sum, up_got.sum) << "device -> host corrupted";
}

std::string
device_conf(const std::string &name, const std::string &device,
    const std::string &upstream, const std::string &extra = "")
{
	return "  { name = \"" + name + "\";\n"
	    "    device = " + device + ";\n"
	    "    upstream = " + upstream + ";\n" + extra + "  }";
}

std::string
connect_ep(int port)
{
	return "{ connect = \"127.0.0.1:" + std::to_string(port) + "\"; }";
}

std::string
listen_ep(int port, const std::string &extra = "")
{
	return "{ listen = \"127.0.0.1:" + std::to_string(port) + "\";" +
	    extra + " }";
}

// Connect as the host once the device link is up (with "close" a host that
// comes earlier is dropped at once, as a direct connection would be).
int
host_connect(InProcessGateway &g, const char *dev, enum link_kind k, int port)
{
	if (!eventually([&] { return g.up(dev, k); }, 10000))
		return -1;
	return tcp_connect(port, 5000);
}

// The local address of a socket of ours on 127.0.0.1, as the gateway
// shows its peer ("127.0.0.1:PORT"); "" when it has none.
std::string
local_addr(int fd)
{
	struct sockaddr_in sa = {};
	socklen_t len = sizeof(sa);

	if (fd == -1 || getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		return "";
	return "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
}

// The counters of link k of device dev.
struct link_snap
link_of(InProcessGateway &g, const char *dev, enum link_kind k)
{
	struct Want {
		const char *dev;
		enum link_kind kind;
		struct link_snap s;
	} w{};
	w.dev = dev;
	w.kind = k;
	gw_foreach_link(g.gw(), [](void *arg, const char *name,
	    struct link *l) {
		Want *want = static_cast<Want *>(arg);
		struct link_snap s;
		link_snapshot(l, &s);
		if (s.kind == want->kind && strcmp(name, want->dev) == 0)
			want->s = s;
	}, &w);
	return w.s;
}

// A host that takes little before it reads: a receive buffer of 4 KiB,
// set before it connects to port (its window is agreed then).
int
small_host(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int size = 4096;
	struct sockaddr_in sa = {};

	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
	    sizeof(size)) == -1 || connect(fd, (struct sockaddr *)&sa,
	    sizeof(sa)) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

// With the host not reading, the device sends 'A's on fd, its link in of
// device dev, in 8 KiB steps until the gateway holds some it cannot pass
// on: everything the device sent taken from the kernel (nothing left in
// the link's receive queue), not all of it sent to the host. *sent: the
// total.
void
fill_to_a_tail(InProcessGateway &g, const char *dev, enum link_kind in,
    int fd, size_t *sent)
{
	const std::string a(8192, 'A');
	// Hundreds of steps: look every millisecond.
	auto within = [](int ms, const std::function<bool()> &cond) {
		for (int i = 0; i < ms; i++) {
			if (cond())
				return true;
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
		}
		return cond();
	};
	*sent = 0;
	for (int i = 0; i < 1024; i++) {
		ASSERT_TRUE(write_all(fd, a.data(), a.size(), 5000));
		*sent += a.size();
		// The gateway's kernel has it all, and the gateway took it.
		ASSERT_TRUE(within(5000, [&] {
			int outq = -1;
			return ioctl(fd, SIOCOUTQ, &outq) == 0 && outq == 0;
		})) << "the gateway's receive queue filled up";
		ASSERT_TRUE(within(5000, [&] {
			return link_of(g, dev, in).bytes_in == *sent;
		})) << "the gateway left bytes in its receive queue";
		if (!within(100, [&] {
			return link_of(g, dev, LINK_KIND_UPSTREAM).bytes_out ==
			    *sent;
		}))
			return;
	}
	FAIL() << "the host's side took 8 MiB without reading";
}

// The device's connection on link in of dev ends with a tail in the
// gateway; once the gateway has seen it end (and had time to act on it),
// the host reads (with polls, it first sends a line, once the writer's
// last receive on the upstream has ended, io_timeout_ms: the line stays
// unread): it gets every byte the device sent, then the end of its
// connection (a reset when it sent a line). With pause_ms, it pauses
// that long after each read, as a host on a slow line.
void
host_gets_the_tail(InProcessGateway &g, const char *dev, enum link_kind in,
    int host, size_t sent, bool polls, int pause_ms = 0)
{
	ASSERT_TRUE(eventually([&] { return !g.up(dev, in); }, 5000));
	if (polls) {
		std::this_thread::sleep_for(std::chrono::milliseconds(500));
		ASSERT_TRUE(write_all(host, "poll\n", 5, 5000));
	}
	std::this_thread::sleep_for(std::chrono::milliseconds(500));
	std::vector<char> buf(1 << 16);
	size_t got = 0;
	bool all_a = true, ended = false;
	auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
	while (!ended && std::chrono::steady_clock::now() < end) {
		struct pollfd pfd = { host, POLLIN, 0 };
		if (poll(&pfd, 1, 500) != 1)
			continue;
		ssize_t n = recv(host, buf.data(), buf.size(), 0);
		ended = n <= 0;
		for (ssize_t i = 0; i < n; i++)
			all_a = all_a && buf[i] == 'A';
		got += n > 0 ? (size_t)n : 0;
		if (pause_ms > 0)
			std::this_thread::sleep_for(
			    std::chrono::milliseconds(pause_ms));
	}
	EXPECT_TRUE(ended) << "the host's connection did not end";
	EXPECT_EQ(got, sent) << "the host lost the device's last bytes";
	EXPECT_TRUE(all_a);
}

// A split device s1 whose tx dial waits on a peer that does not answer
// (txl, its accept queue full by filler: listen backlog 0, one connection
// queued, so the gateway's SYNs are dropped; connect_timeout_ms 8 s), its
// rx device connected (rx), the upstream listening on uport. The gateway
// goes first at the end, then the descriptors.
struct WaitingTx {
	std::unique_ptr<InProcessGateway> g;
	int txl = -1, filler = -1, rx = -1, uport = 0;

	~WaitingTx()
	{
		g.reset();
		for (int fd : { rx, filler, txl })
			if (fd != -1)
				close(fd);
	}
};

// A split device s1 with a tail (RelayPath::split_with_a_tail()): the
// gateway goes first at the end, then the descriptors still open.
struct SplitTail {
	std::unique_ptr<InProcessGateway> g;
	int txl = -1, tx = -1, rx = -1, host = -1;
	size_t sent = 0;

	~SplitTail()
	{
		g.reset();
		for (int fd : { host, rx, tx, txl })
			if (fd != -1)
				close(fd);
	}
};

// Each test runs on both paths: splice (zero copy) and copy.
class RelayPath : public ::testing::TestWithParam<const char *> {
protected:
	std::string
	preamble()
	{
		return test_preamble(std::string("  relay = \"") + GetParam() +
		    "\";\n");
	}

	// A split device s1: rx listens, tx dials txport, the upstream
	// listens; extra adds policy lines.
	std::string
	split_conf(int txport, const std::string &extra = "")
	{
		return preamble() + "devices = (\n" + device_conf("s1",
		    "{ rx = " + listen_ep(0) + "; tx = " + connect_ep(txport) +
		    "; }", listen_ep(0), extra) + ");\n";
	}

	// s1 in hold mode, its tx dial waiting on a peer that does not
	// answer, and its rx device connected (WaitingTx).
	void
	split_tx_waiting(WaitingTx *w)
	{
		int txport;

		ASSERT_NE(w->txl = tcp_listen_full(&txport, &w->filler), -1);
		w->g.reset(new InProcessGateway(split_conf(txport,
		    "    on_device_down = \"hold\";\n"
		    "    connect_timeout_ms = 8000;\n")));
		ASSERT_TRUE(w->g->ok());
		int rxport = w->g->listen_port("s1", LINK_KIND_RX);
		w->uport = w->g->listen_port("s1", LINK_KIND_UPSTREAM);
		ASSERT_GT(rxport, 0);
		ASSERT_GT(w->uport, 0);
		ASSERT_NE(w->rx = tcp_connect(rxport, 5000), -1);
		ASSERT_TRUE(eventually([&] {
			return w->g->up("s1", LINK_KIND_RX);
		    }, 5000));
	}

	// s1 of split_conf() in g, with its tx device accepted from txl
	// (*tx) and its rx device connected (*rx); *uport: the upstream's.
	void
	split_up(InProcessGateway &g, int txl, int *tx, int *rx, int *uport)
	{
		ASSERT_TRUE(g.ok());
		int rxport = g.listen_port("s1", LINK_KIND_RX);
		*uport = g.listen_port("s1", LINK_KIND_UPSTREAM);
		ASSERT_GT(rxport, 0);
		ASSERT_GT(*uport, 0);
		ASSERT_NE(*tx = tcp_accept(txl, 5000), -1);
		ASSERT_NE(*rx = tcp_connect(rxport, 5000), -1);
	}

	// s1 of split_conf() (a host's zero window must not be what ends
	// its connection) in t->g, up, both device links up, a host that
	// takes little on the upstream, and the gateway holding a tail of
	// t->sent bytes that rx sent, for that host.
	void
	split_with_a_tail(SplitTail *t)
	{
		int txport, uport = 0;

		ASSERT_NE(t->txl = tcp_listen(&txport), -1);
		t->g.reset(new InProcessGateway(split_conf(txport,
		    "    stall_timeout_ms = 60000;\n")));
		InProcessGateway &g = *t->g;
		ASSERT_NO_FATAL_FAILURE(split_up(g, t->txl, &t->tx, &t->rx,
		    &uport));
		ASSERT_TRUE(eventually([&] { return g.up("s1", LINK_KIND_RX) &&
		    g.up("s1", LINK_KIND_TX); }, 5000));
		ASSERT_NE(t->host = small_host(uport), -1);
		ASSERT_TRUE(eventually([&] {
			return g.up("s1", LINK_KIND_UPSTREAM); }, 5000));
		ASSERT_NO_FATAL_FAILURE(fill_to_a_tail(g, "s1", LINK_KIND_RX,
		    t->rx, &t->sent));
	}
};

std::string
path_name(const ::testing::TestParamInfo<const char *> &info)
{
	return info.param;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Relay, RelayPath, ::testing::Values("splice", "copy"),
    path_name);

TEST_P(RelayPath, BidirectionalLink64MiBEachWay)
{
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	InProcessGateway g(preamble() + "devices = (\n" +
	    device_conf("d1", connect_ep(dport), listen_ep(0)) + ");\n");
	ASSERT_TRUE(g.ok());
	int uport = g.listen_port("d1", LINK_KIND_UPSTREAM);
	ASSERT_GT(uport, 0);
	int dev = tcp_accept(dl, 5000);
	ASSERT_NE(dev, -1);
	int host = host_connect(g, "d1", LINK_KIND_DEVICE, uport);
	ASSERT_NE(host, -1);
	ASSERT_TRUE(eventually([&] { return g.up("d1", LINK_KIND_UPSTREAM); }, 5000));
	both_ways(host, dev, dev);
	close(host);
	close(dev);
	close(dl);
}

TEST_P(RelayPath, SplitRxTxLinks64MiBEachWay)
{
	int txport, txl = tcp_listen(&txport);
	ASSERT_NE(txl, -1);
	InProcessGateway g(split_conf(txport));
	ASSERT_TRUE(g.ok());
	int rxport = g.listen_port("s1", LINK_KIND_RX);
	int uport = g.listen_port("s1", LINK_KIND_UPSTREAM);
	ASSERT_GT(rxport, 0);
	ASSERT_GT(uport, 0);
	int tx = tcp_accept(txl, 5000);		// gateway -> device
	ASSERT_NE(tx, -1);
	int rx = tcp_connect(rxport, 5000);	// device -> gateway
	ASSERT_NE(rx, -1);
	int host = host_connect(g, "s1", LINK_KIND_RX, uport);
	ASSERT_NE(host, -1);
	ASSERT_TRUE(eventually([&] { return g.up("s1", LINK_KIND_UPSTREAM); }, 5000));
	both_ways(host, rx, tx);
	close(host);
	close(rx);
	close(tx);
	close(txl);
}

namespace {

// A gateway with one bidirectional device link the gateway dials, and an
// upstream it listens on. The test plays both the device and the host.
class OneDevice : public ::testing::TestWithParam<const char *> {
protected:
	void start(const std::string &extra = "", const std::string &up_extra = "") {
		// The device's port stays ours when it goes away (hold_).
		dl_ = tcp_listen_held(&dport_, &hold_);
		ASSERT_NE(dl_, -1);
		up_extra_ = up_extra;
		g_.reset(new InProcessGateway(conf(extra)));
		ASSERT_TRUE(g_->ok());
		uport_ = g_->listen_port("d1", LINK_KIND_UPSTREAM);
		ASSERT_GT(uport_, 0);
	}
	void TearDown() override {
		g_.reset();
		for (int fd : fds_)
			close(fd);
		if (dl_ != -1)
			close(dl_);
		if (hold_ != -1)
			close(hold_);
	}
	int keep(int fd) { if (fd != -1) fds_.push_back(fd); return fd; }
	// The device goes away, listening socket and all (redials are
	// refused), and the gateway sees its link down.
	void device_gone(int dev) {
		close(dl_);
		dl_ = -1;
		close(dev);
		fds_.erase(std::find(fds_.begin(), fds_.end(), dev));
		ASSERT_TRUE(eventually([&] { return !up(LINK_KIND_DEVICE); },
		    5000));
	}
	int accept_device() { return keep(tcp_accept(dl_, 5000)); }
	int connect_host() {
		return keep(host_connect(*g_, "d1", LINK_KIND_DEVICE, uport_));
	}
	bool up(enum link_kind k) { return g_->up("d1", k); }
	// The configuration of start(), with extra as d1's policy lines.
	std::string conf(const std::string &extra) {
		return test_preamble(std::string("  relay = \"") + GetParam() +
		    "\";\n") + "devices = (\n" + device_conf("d1",
		    connect_ep(dport_), listen_ep(0, up_extra_), extra) + ");\n";
	}
	// A reload to start()'s configuration with extra instead: true when
	// it took.
	bool reload(const std::string &extra) {
		std::string p = dir_.write("reload.conf", conf(extra));
		struct cfg *cfg = nullptr;
		return cfg_load(p.c_str(), &cfg, stderr) == 0 &&
		    gw_reload(g_->gw(), cfg, nullptr) == 0;
	}
	// The counters of link k of d1.
	struct link_snap snap(enum link_kind k) { return link_of(*g_, "d1", k); }
	// The held bytes discarded on link k of d1 (held_discarded).
	uint64_t discarded(enum link_kind k) { return snap(k).held_discarded; }
	// With "close", the device's connection ends (a FIN, or a reset) while
	// the gateway holds bytes it sent, for a host that has not read them;
	// with host_polls, the host sends a line before it reads (which the
	// gateway does not read while the device is down).
	void device_ends_with_a_tail(bool reset, bool host_polls = false) {
		int dev = -1, host = -1;
		size_t sent;
		ASSERT_NO_FATAL_FAILURE(start_with_a_tail(&dev, &host, &sent));
		if (reset) {
			close_reset(dev);
			fds_.erase(std::find(fds_.begin(), fds_.end(), dev));
		} else
			shutdown(dev, SHUT_WR);
		ASSERT_NO_FATAL_FAILURE(host_gets_the_tail(*g_, "d1",
		    LINK_KIND_DEVICE, host, sent, host_polls));
		EXPECT_EQ(discarded(LINK_KIND_DEVICE), 0u);
		ASSERT_NO_FATAL_FAILURE(next_session_starts_clean());
	}
	// The gateway holding a tail of *sent bytes the device (*dev) sent
	// for a host (*host) that takes little and does not read; extra adds
	// policy lines.
	void start_with_a_tail(int *dev, int *host, size_t *sent,
	    const std::string &extra = "") {
		// The host's zero window must not be what ends its connection.
		start("stall_timeout_ms = 60000;\n" + extra);
		ASSERT_NO_FATAL_FAILURE(connect_small_host(dev, host));
		ASSERT_NO_FATAL_FAILURE(fill_to_a_tail(*g_, "d1", LINK_KIND_DEVICE,
		    *dev, sent));
	}
	// With a tail of sent bytes held, the device (dev) sends more, until
	// the gateway has stopped reading: the rest waits in its receive
	// queue, more than its buffer (buffer_bytes, 64 KiB) holds. What the
	// gateway's kernel has not taken when the device's connection ends
	// dies with it. *delivered: the bytes the gateway's kernel has taken
	// in all; *last_write: when the device last sent.
	void queue_past_the_buffer(int dev, size_t sent, size_t *delivered,
	    int64_t *last_write) {
		const std::string a(8192, 'A');
		const size_t buffer = 65536;
		for (int i = 0; i < 128; i++) {
			ssize_t n = send(dev, a.data(), a.size(), MSG_DONTWAIT);
			if (n <= 0)
				break;
			sent += (size_t)n;
			std::this_thread::sleep_for(
			    std::chrono::milliseconds(10));
			if (sent - snap(LINK_KIND_DEVICE).bytes_in >= 2 * buffer)
				break;
		}
		*last_write = clock_ms();
		std::this_thread::sleep_for(std::chrono::milliseconds(200));
		int outq = -1;
		ASSERT_EQ(ioctl(dev, SIOCOUTQ, &outq), 0);
		*delivered = sent - (size_t)outq;
		ASSERT_GT(*delivered, snap(LINK_KIND_DEVICE).bytes_in + buffer) <<
		    "the gateway's receive queue holds no more than its buffer";
	}
	// The device's next connection, and a host for it: the first bytes
	// the host gets are the new connection's, nothing of the last one's.
	void next_session_starts_clean() {
		int dev2 = accept_device();
		ASSERT_NE(dev2, -1) << "the gateway did not redial the device";
		int host2 = connect_host();
		ASSERT_NE(host2, -1);
		ASSERT_TRUE(eventually([&] { return up(LINK_KIND_UPSTREAM); },
		    5000));
		ASSERT_TRUE(write_all(dev2, "fresh\n", 6, 5000));
		char got[7] = "";
		ASSERT_TRUE(read_exact(host2, got, 6, 5000));
		EXPECT_STREQ(got, "fresh\n") << "a later host got bytes of the "
		    "device's last connection";
	}
	// The device accepts the gateway's dial, then a host connects and the
	// upstream link comes up.
	void connect_pair(int *dev, int *host) {
		ASSERT_NE(*dev = accept_device(), -1);
		ASSERT_NE(*host = connect_host(), -1);
		ASSERT_TRUE(eventually([&] { return up(LINK_KIND_UPSTREAM); }, 5000));
	}
	// The same with a host that takes little before it reads.
	void connect_small_host(int *dev, int *host) {
		ASSERT_NE(*dev = accept_device(), -1);
		ASSERT_TRUE(eventually([&] { return up(LINK_KIND_DEVICE); }, 5000));
		ASSERT_NE(*host = keep(small_host(uport_)), -1);
		ASSERT_TRUE(eventually([&] { return up(LINK_KIND_UPSTREAM); }, 5000));
	}
	// With the device not reading, host sends until the gateway takes no
	// more: the writer is then held up in a send to the device, and a new
	// client of the upstream waits to be taken for as long as that send
	// lasts (io_timeout_ms).
	void hold_up_writer(int host) {
		std::atomic<bool> stalled{false}, stop{false};
		std::thread streamer([&] {
			std::vector<uint8_t> buf(1 << 16);
			for (int i = 0; i < 4096 && !stop; i++)
				if (!write_all(host, buf.data(), buf.size(),
				    300)) {
					stalled = true;
					return;
				}
		});
		EXPECT_TRUE(eventually([&] { return stalled.load(); }, 20000));
		stop = true;
		streamer.join();
		ASSERT_TRUE(stalled) << "the writer was never held up";
	}
	// A client of the upstream that sent n bytes, once the gateway's end
	// has them all (acknowledged: in its receive queue); -1 otherwise.
	int client_that_sent(size_t n) {
		int fd = keep(tcp_connect(uport_, 5000));
		if (fd == -1 || !write_all(fd, std::string(n, 'w').data(), n,
		    5000) || !eventually([&] {
			int outq = -1;
			return ioctl(fd, SIOCOUTQ, &outq) == 0 && outq == 0;
		    }, 5000))
			return -1;
		return fd;
	}
	// A gateway whose writer is held up in a send to *dev, the device,
	// from *host; a send may wait 30 s, so the writer stays in it for
	// the whole test. up_extra as for start().
	void held_up_link(int *dev, int *host, const std::string &up_extra) {
		start("    io_timeout_ms = 30000;\n    stall_timeout_ms = "
		    "60000;\n", up_extra);
		ASSERT_NO_FATAL_FAILURE(connect_pair(dev, host));
		ASSERT_TRUE(roundtrip(*host, *dev, "one\n"));
		ASSERT_NO_FATAL_FAILURE(hold_up_writer(*host));
	}
	// The same with reject, and the client reset since: the link is not
	// busy, and the writer cannot take a new client until dev reads
	// again.
	void reject_link_held_up(int *dev) {
		int host;
		ASSERT_NO_FATAL_FAILURE(held_up_link(dev, &host,
		    " on_new_client = \"reject\";"));
		// The watchdog fails the link, which the writer cannot close
		// yet.
		fds_.erase(std::remove(fds_.begin(), fds_.end(), host),
		    fds_.end());
		close_reset(host);
		ASSERT_TRUE(eventually([&] {
			return !up(LINK_KIND_UPSTREAM); }, 10000));
	}
	// The body of AWaitingClientThat{Left,Reset}DoesNotHoldARejectLink:
	// host2 waits to be taken by a reject link's writer, held up, and
	// leaves (a close, or a reset), then host3 comes.
	void a_waiting_client_leaves(bool reset) {
		int dev;
		ASSERT_NO_FATAL_FAILURE(reject_link_held_up(&dev));

		// host2 comes, waits to be taken, and leaves without a word.
		int host2 = tcp_connect(uport_, 5000);
		ASSERT_NE(host2, -1);
		std::this_thread::sleep_for(std::chrono::milliseconds(200));
		if (reset)
			close_reset(host2);
		else
			close(host2);
		std::this_thread::sleep_for(std::chrono::milliseconds(200));
		int host3 = keep(tcp_connect(uport_, 5000));
		ASSERT_NE(host3, -1);
		EXPECT_FALSE(wait_closed(host3, 1000)) << "host3 was refused: "
		    << g_->log();
		EXPECT_TRUE(eventually([&] {
			return g_->log().find("client waiting to be taken had "
			    "left; replaced by " + local_addr(host3)) !=
			    std::string::npos;
		    }, 5000)) << g_->log();

		// The device reads again: the writer passes on what it held,
		// takes host3 and its line, and host3 is served both ways.
		ASSERT_TRUE(write_all(host3, "three\n", 6, 5000));
		EXPECT_TRUE(drain_until(dev, "three\n", 20000))
		    << "host3's line never reached the device: " << g_->log();
		EXPECT_TRUE(eventually([&] {
			return snap(LINK_KIND_UPSTREAM).peer ==
			    local_addr(host3);
		    }, 5000));
		EXPECT_TRUE(roundtrip(dev, host3, "back to three\n"));
	}

	// Read dev until what came ends with tail (what came before it, the
	// stream that held the writer up, is dropped), within timeout_ms.
	bool drain_until(int dev, const std::string &tail, int timeout_ms) {
		std::string last;
		char buf[65536];
		auto end = std::chrono::steady_clock::now() +
		    std::chrono::milliseconds(timeout_ms);
		while (std::chrono::steady_clock::now() < end) {
			struct pollfd pfd = { dev, POLLIN, 0 };
			if (poll(&pfd, 1, 50) != 1)
				continue;
			ssize_t n = recv(dev, buf, sizeof(buf), 0);
			if (n <= 0)
				return false;
			last.append(buf, (size_t)n);
			if (last.size() > tail.size())
				last.erase(0, last.size() - tail.size());
			if (last == tail)
				return true;
		}
		return false;
	}

	std::unique_ptr<InProcessGateway> g_;
	TestDir dir_;
	std::string up_extra_;
	int dl_ = -1, hold_ = -1, dport_ = 0, uport_ = 0;
	std::vector<int> fds_;
};

}  // namespace

INSTANTIATE_TEST_SUITE_P(Relay, OneDevice, ::testing::Values("splice",
    "copy"), path_name);

TEST_P(OneDevice, DeviceRestartIsReconnectedAndRelayingResumes)
{
	start();
	int dev, host;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host));
	ASSERT_TRUE(roundtrip(host, dev, "before\n"));

	// The device restarts: its connection ends, it comes back on the same
	// listening address, and the gateway dials again.
	close(dev);
	fds_.erase(std::find(fds_.begin(), fds_.end(), dev));
	int dev2 = accept_device();
	ASSERT_NE(dev2, -1) << "the gateway did not redial the device";
	// With "close" the host saw the drop; it reconnects.
	EXPECT_TRUE(wait_closed(host, 5000));
	int host2 = connect_host();
	ASSERT_NE(host2, -1);
	ASSERT_TRUE(eventually([&] { return up(LINK_KIND_UPSTREAM); }, 5000));
	EXPECT_TRUE(roundtrip(host2, dev2, "after\n"));
	EXPECT_TRUE(roundtrip(dev2, host2, "and back\n"));
}

// Urgent data (a Telnet "Synch", a terminal server's break) goes on as
// the byte it is, in its place, both ways and on both paths: not skipped,
// and not taken for the end of the stream.
TEST_P(OneDevice, UrgentDataIsRelayedInItsPlace)
{
	start();
	int dev, host;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host));
	ASSERT_TRUE(roundtrip(host, dev, "warm\n"));
	const int ends[2][2] = { { host, dev }, { dev, host } };
	for (const auto &e : ends) {
		ASSERT_TRUE(write_all(e[0], "ab", 2, 1000));
		ASSERT_EQ(send(e[0], "U", 1, MSG_OOB), 1);
		ASSERT_TRUE(write_all(e[0], "cd", 2, 1000));
		std::string got(5, '\0');
		EXPECT_TRUE(read_exact(e[1], &got[0], got.size(), 5000));
		EXPECT_EQ(got, "abUcd") << (e[0] == host ? "to the device" :
		    "to the host");
	}
	EXPECT_TRUE(up(LINK_KIND_DEVICE));
	EXPECT_TRUE(up(LINK_KIND_UPSTREAM));
	EXPECT_TRUE(roundtrip(host, dev, "after\n"));
	EXPECT_TRUE(roundtrip(dev, host, "and back\n"));
	EXPECT_EQ(snap(LINK_KIND_UPSTREAM).bytes_in, 5u + 5 + 6);
}

// The same in the middle of bulk, where the zero-copy path splices: a
// splice stops before urgent data, and the byte still goes on in its
// place, 4 MiB in, both ways.
TEST_P(OneDevice, UrgentDataInBulkIsRelayedInItsPlace)
{
	start();
	int dev, host;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host));
	const size_t half = 4u << 20;
	std::vector<uint8_t> in(2 * half + 1), got(in.size());
	fill_random(in.data(), in.size(), 5);
	in[half] = 'U';
	const int ends[2][2] = { { host, dev }, { dev, host } };
	for (const auto &e : ends) {
		bool sent = false;
		std::thread w([&] {
			sent = write_all(e[0], in.data(), half, 20000) &&
			    send(e[0], &in[half], 1, MSG_OOB) == 1 &&
			    write_all(e[0], &in[half + 1], half, 20000);
		});
		bool read = read_exact(e[1], got.data(), got.size(), 20000);
		w.join();
		EXPECT_TRUE(sent);
		EXPECT_TRUE(read) << (e[0] == host ? "to the device" :
		    "to the host");
		EXPECT_EQ(fnv1a(got.data(), got.size()),
		    fnv1a(in.data(), in.size()));
		EXPECT_EQ(got[half], 'U');
	}
	EXPECT_TRUE(up(LINK_KIND_DEVICE));
	EXPECT_TRUE(up(LINK_KIND_UPSTREAM));
	EXPECT_TRUE(roundtrip(host, dev, "after\n"));
}

TEST_P(OneDevice, CloseModeHostSeesTheDropAndNewHostsAreClosedWhileDeviceDown)
{
	start();
	int dev, host;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host));
	ASSERT_TRUE(roundtrip(dev, host, "data then drop\n"));

	close(dl_);	// the device is gone and stays gone
	dl_ = -1;
	close_reset(dev);
	fds_.erase(std::find(fds_.begin(), fds_.end(), dev));
	EXPECT_TRUE(wait_closed(host, 5000)) << "host did not see the drop";
	// A host that connects while the device is down is closed at once.
	int late = keep(tcp_connect(uport_, 5000));
	ASSERT_NE(late, -1);
	EXPECT_TRUE(wait_closed(late, 5000));
	EXPECT_FALSE(up(LINK_KIND_UPSTREAM));
}

// With "close", what the device sent before its connection ended and the
// gateway still holds goes to the host of that moment, then the close:
// as on a direct connection, where those bytes would be in the host's
// receive queue. Never to the host of the device's next connection.
TEST_P(OneDevice, CloseModeHostGetsTheDevicesLastBytesThenTheClose)
{
	ASSERT_NO_FATAL_FAILURE(device_ends_with_a_tail(false));
}

TEST_P(OneDevice, CloseModeHostGetsTheDevicesLastBytesWhenItResets)
{
	ASSERT_NO_FATAL_FAILURE(device_ends_with_a_tail(true));
}

// The device resets with bytes the gateway's kernel has taken and the
// gateway has not read yet (its buffer full for a host that does not
// read): the watchdog finds the reset, and those bytes, which a direct
// connection would still have delivered, reach the host too, once it
// reads, before its connection ends.
TEST_P(OneDevice, CloseModeHostGetsTheBytesQueuedWhenTheDeviceResets)
{
	int dev = -1, host = -1;
	size_t sent, delivered;
	int64_t last_write;
	ASSERT_NO_FATAL_FAILURE(start_with_a_tail(&dev, &host, &sent));
	ASSERT_NO_FATAL_FAILURE(queue_past_the_buffer(dev, sent, &delivered,
	    &last_write));
	close_reset(dev);
	fds_.erase(std::find(fds_.begin(), fds_.end(), dev));
	ASSERT_TRUE(eventually([&] { return !up(LINK_KIND_DEVICE); }, 5000));
	int64_t down = clock_ms(), down_wall = clock_wall_ms();
	// Failed, not closed yet: shown as down, with its reason.
	struct link_snap ls = snap(LINK_KIND_DEVICE);
	EXPECT_EQ(ls.state, LINK_DOWN);
	EXPECT_STREQ(ls.peer, "");
	EXPECT_EQ(ls.last_reason, WD_PEER_RESET);
	EXPECT_EQ(ls.since_wall_ms, ls.last_failure_wall_ms);
	EXPECT_LE(ls.last_failure_wall_ms, down_wall);
	ASSERT_NO_FATAL_FAILURE(host_gets_the_tail(*g_, "d1", LINK_KIND_DEVICE,
	    host, delivered, false));
	EXPECT_EQ(discarded(LINK_KIND_DEVICE), 0u);
	ls = snap(LINK_KIND_DEVICE);
	EXPECT_EQ(ls.bytes_in, delivered);
	// The link went down at the verdict, seen before the host read (it
	// waited 0.5 s), not when the tail had passed: from the device's
	// last bytes to the verdict, and the failure's wall time.
	EXPECT_GE(ls.last_detection_ms, 0);
	EXPECT_LE(ls.last_detection_ms, down - last_write + 50);
	EXPECT_LE(ls.last_failure_wall_ms, down_wall + 50);
	EXPECT_EQ(g_->log().find("received and not relayed"), std::string::npos)
	    << g_->log();
	ASSERT_NO_FATAL_FAILURE(next_session_starts_clean());
}

// The host sends a line meanwhile: the close that follows the tail is a
// reset then, which must come only once the host has it all.
TEST_P(OneDevice, CloseModeHostGetsTheDevicesLastBytesThoughItSendsMeanwhile)
{
	ASSERT_NO_FATAL_FAILURE(device_ends_with_a_tail(false, true));
}

// With "hold", the device's last bytes, those the gateway's kernel took
// and the gateway had not read yet included, go to the host, which stays
// up, before the gateway dials the device again: a dial that lasts
// connect_timeout_ms when the device is off.
TEST_P(OneDevice, HoldModeHostGetsTheDevicesLastBytesBeforeTheRedial)
{
	int dev = -1, host = -1;
	size_t sent, delivered;
	int64_t last_write;
	ASSERT_NO_FATAL_FAILURE(start_with_a_tail(&dev, &host, &sent,
	    "    on_device_down = \"hold\";\n    hold_max_ms = 20000;\n"
	    "    connect_timeout_ms = 8000;\n"));
	ASSERT_NO_FATAL_FAILURE(queue_past_the_buffer(dev, sent, &delivered,
	    &last_write));
	// The device goes off: the gateway's dials to it go unanswered (its
	// accept queue full: backlog 0, one connection queued).
	ASSERT_EQ(listen(dl_, 0), 0);
	int filler = keep(tcp_connect(dport_, 5000));
	ASSERT_NE(filler, -1);
	close_reset(dev);
	fds_.erase(std::find(fds_.begin(), fds_.end(), dev));
	ASSERT_TRUE(eventually([&] { return !up(LINK_KIND_DEVICE); }, 5000));
	std::this_thread::sleep_for(std::chrono::milliseconds(500));
	// All of it, within 3 s of the host's first read: not after the
	// dial's 8 s.
	std::vector<char> got(delivered);
	ASSERT_TRUE(read_exact(host, got.data(), got.size(), 3000)) <<
	    "the host did not get the device's last bytes before the redial "
	    "ended; discarded: " << discarded(LINK_KIND_DEVICE);
	EXPECT_EQ(std::count(got.begin(), got.end(), 'A'), (long)delivered);
	EXPECT_EQ(discarded(LINK_KIND_DEVICE), 0u);
	EXPECT_EQ(snap(LINK_KIND_DEVICE).bytes_in, delivered);
	EXPECT_TRUE(up(LINK_KIND_UPSTREAM)) << "hold closed the host";
	// The device back (its queue free again): the same host gets its
	// next connection's bytes.
	ASSERT_NE(keep(tcp_accept(dl_, 5000)), -1);
	int dev2 = accept_device();
	ASSERT_NE(dev2, -1) << "the gateway did not redial the device";
	EXPECT_TRUE(roundtrip(dev2, host, "fresh\n"));
}

// The same, but the host does not read, and sends a command for the
// device: the host waits for the device now, which is dialled again at
// once and gets it; what the gateway held for the host still goes to it,
// and what the old connection's kernel still held is discarded, counted.
TEST_P(OneDevice, HoldModeHostThatWaitsForTheDeviceHasItRedialled)
{
	int dev = -1, host = -1;
	size_t sent, delivered;
	int64_t last_write;
	ASSERT_NO_FATAL_FAILURE(start_with_a_tail(&dev, &host, &sent,
	    "    on_device_down = \"hold\";\n    hold_max_ms = 20000;\n"));
	ASSERT_NO_FATAL_FAILURE(queue_past_the_buffer(dev, sent, &delivered,
	    &last_write));
	close_reset(dev);
	fds_.erase(std::find(fds_.begin(), fds_.end(), dev));
	ASSERT_TRUE(eventually([&] { return !up(LINK_KIND_DEVICE); }, 5000));
	ASSERT_TRUE(write_all(host, "poll\n", 5, 1000));
	int dev2 = accept_device();
	ASSERT_NE(dev2, -1) << "the device was not dialled again while its "
	    "host waited for it";
	char got[6] = "";
	ASSERT_TRUE(read_exact(dev2, got, 5, 5000));
	EXPECT_STREQ(got, "poll\n");
	EXPECT_TRUE(up(LINK_KIND_UPSTREAM)) << "hold closed the host";
	uint64_t lost = discarded(LINK_KIND_DEVICE);
	ASSERT_LT(lost, delivered);
	std::vector<char> tail(delivered - lost);
	ASSERT_TRUE(read_exact(host, tail.data(), tail.size(), 5000)) <<
	    "the host did not get what the gateway held for it";
	EXPECT_EQ(std::count(tail.begin(), tail.end(), 'A'), (long)tail.size());
	EXPECT_TRUE(stays_quiet(host, 200)) << "more than was not discarded";
}

// A reload from close to hold while the writer holds bytes for the
// device's connection of then, which a reset ends: the next connection
// gets them, as hold has it, and the writer does not spin on a send meant
// for the old one.
TEST_P(OneDevice, HeldBytesOfCloseModeGoToTheNextConnectionAfterAReloadToHold)
{
	start();
	int dev, host;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host));
	ASSERT_NO_FATAL_FAILURE(hold_up_writer(host));
	ASSERT_TRUE(reload("    on_device_down = \"hold\";\n"
	    "    hold_max_ms = 20000;\n"));
	uint64_t before = snap(LINK_KIND_DEVICE).bytes_out;
	close_reset(dev);
	fds_.erase(std::find(fds_.begin(), fds_.end(), dev));
	int dev2 = accept_device();
	ASSERT_NE(dev2, -1) << "the gateway did not redial the device";
	char buf[4096];
	EXPECT_TRUE(read_exact(dev2, buf, sizeof(buf), 5000)) << "the held "
	    "bytes did not go to the device's next connection";
	// Counted once the send has returned, maybe after they arrived.
	EXPECT_TRUE(eventually([&] {
		return snap(LINK_KIND_DEVICE).bytes_out > before; }, 5000));
	EXPECT_TRUE(up(LINK_KIND_UPSTREAM)) << "hold closed the host";
}

TEST_P(OneDevice, HoldModeDeliversHeldDataInOrderWhenTheDeviceReturns)
{
	start("    on_device_down = \"hold\";\n    hold_max_ms = 20000;\n");
	int dev, host;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host));
	ASSERT_TRUE(roundtrip(host, dev, "first\n"));

	// The device goes away, listening socket and all: redials are refused.
	ASSERT_NO_FATAL_FAILURE(device_gone(dev));

	// The host sends while the device is down: 200 KiB, more than the
	// buffer, so TCP flow control holds the rest.
	std::vector<uint8_t> held(200 * 1024);
	fill_random(held.data(), held.size(), 5);
	std::thread writer([&] { write_all(host, held.data(), held.size(), 20000); });
	EXPECT_TRUE(up(LINK_KIND_UPSTREAM)) << "hold must keep the upstream up";

	// The device returns on the same port.
	dl_ = tcp_listen_on(dport_, true);
	ASSERT_NE(dl_, -1);
	int dev2 = accept_device();
	ASSERT_NE(dev2, -1);
	std::vector<uint8_t> got(held.size());
	EXPECT_TRUE(read_exact(dev2, got.data(), got.size(), 20000));
	writer.join();
	EXPECT_TRUE(got == held) << "held data not delivered intact and in order";
}

TEST_P(OneDevice, HoldModeDiscardsDataOlderThanHoldMaxAndClosesUpstream)
{
	start("    on_device_down = \"hold\";\n    hold_max_ms = 300;\n");
	int dev, host;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host));

	ASSERT_NO_FATAL_FAILURE(device_gone(dev));
	ASSERT_TRUE(write_all(host, "stale command\n", 14, 5000));
	// The held data expires: the upstream is closed so the host knows,
	// and the discarded bytes are counted.
	EXPECT_TRUE(wait_closed(host, 5000));
	uint64_t discarded = 0;
	gw_foreach_link(g_->gw(), [](void *arg, const char *, struct link *l) {
		struct link_snap s;
		link_snapshot(l, &s);
		*static_cast<uint64_t *>(arg) += s.held_discarded;
	}, &discarded);
	EXPECT_EQ(discarded, 14u);

	// When the device comes back, the stale command is never delivered.
	dl_ = tcp_listen_on(dport_, true);
	ASSERT_NE(dl_, -1);
	int dev2 = accept_device();
	ASSERT_NE(dev2, -1);
	EXPECT_TRUE(stays_quiet(dev2, 1000)) << "stale data delivered late";
}

namespace {

// Policy for the two tests below: each receive may wait 5 s, longer
// than data is held. A thread that holds data for a link that is down
// waits in a receive on its other link; only a wake-up at the link's
// change, not the receive's end, lets the data through in time.
const char kLongReceives[] =
    "    on_device_down = \"hold\";\n    hold_max_ms = 4000;\n"
    "    io_timeout_ms = 5000;\n";

// Milliseconds since t0.
long
ms_since(std::chrono::steady_clock::time_point t0)
{
	return (long)std::chrono::duration_cast<std::chrono::milliseconds>(
	    std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_P(OneDevice, HeldCommandGoesOutAsSoonAsTheDeviceReturns)
{
	start(kLongReceives);
	int dev, host;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host));
	ASSERT_TRUE(roundtrip(host, dev, "first\n"));

	ASSERT_NO_FATAL_FAILURE(device_gone(dev));
	// Held: the writer waits in a receive on the host again.
	ASSERT_TRUE(write_all(host, "command\n", 8, 5000));
	std::this_thread::sleep_for(std::chrono::milliseconds(300));

	dl_ = tcp_listen_on(dport_, true);
	ASSERT_NE(dl_, -1);
	int dev2 = accept_device();
	ASSERT_NE(dev2, -1);
	auto t0 = std::chrono::steady_clock::now();
	char got[8];
	ASSERT_TRUE(read_exact(dev2, got, sizeof(got), 2000))
	    << "the held command did not follow the device's return";
	EXPECT_EQ(std::string(got, sizeof(got)), "command\n");
	printf("held command delivered %ld ms after the device's return\n",
	    ms_since(t0));
}

// Held data expires on time although the thread that holds it waits in a
// receive on its host (io_timeout_ms 5 s, hold_max_ms 1.5 s): the host
// learns that its command did not go through when it expires. The
// device's redials are 10 s apart, so that no change of a link wakes the
// thread meanwhile.
TEST_P(OneDevice, HeldCommandExpiresOnTimeWhileTheWriterWaits)
{
	start("    on_device_down = \"hold\";\n    hold_max_ms = 1500;\n"
	    "    io_timeout_ms = 5000;\n"
	    "    backoff = { min_ms = 10000; max_ms = 10000; };\n");
	int dev, host;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host));
	ASSERT_NO_FATAL_FAILURE(device_gone(dev));

	auto t0 = std::chrono::steady_clock::now();
	ASSERT_TRUE(write_all(host, "stale command\n", 14, 5000));
	EXPECT_TRUE(wait_closed(host, 3500)) << "not closed within 3.5 s";
	printf("host closed %ld ms after its held command (hold_max_ms "
	    "1500)\n", ms_since(t0));
	EXPECT_EQ(discarded(LINK_KIND_UPSTREAM), 14u);
}

// Held data that expires closes the host that sent it, to tell it; a
// host that came after and sent nothing held stays.
TEST_P(OneDevice, ExpiryClosesOnlyTheHostWhoseDataExpired)
{
	start("    on_device_down = \"hold\";\n    hold_max_ms = 1000;\n");
	int dev, host1;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host1));
	ASSERT_NO_FATAL_FAILURE(device_gone(dev));

	ASSERT_TRUE(write_all(host1, "cmd\n", 4, 5000));
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	close(host1);
	fds_.erase(std::find(fds_.begin(), fds_.end(), host1));
	ASSERT_TRUE(eventually([&] { return !up(LINK_KIND_UPSTREAM); }, 5000));
	int host2 = keep(tcp_connect(uport_, 5000));
	ASSERT_NE(host2, -1);
	ASSERT_TRUE(eventually([&] { return up(LINK_KIND_UPSTREAM); }, 5000));

	// host1's command expires about 1 s after it came.
	EXPECT_TRUE(eventually([&] {
		return discarded(LINK_KIND_UPSTREAM) == 4; }, 5000));
	EXPECT_TRUE(stays_quiet(host2, 500)) << "host2 closed for host1's data";
	EXPECT_TRUE(up(LINK_KIND_UPSTREAM));
}

TEST_P(OneDevice, HeldDeviceDataGoesOutAsSoonAsAHostConnects)
{
	start(kLongReceives);
	int dev = accept_device();
	ASSERT_NE(dev, -1);
	ASSERT_TRUE(eventually([&] { return up(LINK_KIND_DEVICE); }, 5000));
	// No host yet: the reader holds this, then waits on the device again.
	ASSERT_TRUE(write_all(dev, "reading 42\n", 11, 5000));
	std::this_thread::sleep_for(std::chrono::milliseconds(300));

	int host = keep(tcp_connect(uport_, 5000));
	ASSERT_NE(host, -1);
	auto t0 = std::chrono::steady_clock::now();
	char got[11];
	ASSERT_TRUE(read_exact(host, got, sizeof(got), 2000))
	    << "the held reading did not follow the host's arrival";
	EXPECT_EQ(std::string(got, sizeof(got)), "reading 42\n");
	printf("held reading delivered %ld ms after the host connected\n",
	    ms_since(t0));
}

TEST_P(OneDevice, SecondClientReplacesTheFirstByDefault)
{
	start();
	int dev, host1;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host1));
	ASSERT_TRUE(roundtrip(host1, dev, "one\n"));
	int host2 = keep(tcp_connect(uport_, 5000));
	ASSERT_NE(host2, -1);
	EXPECT_TRUE(wait_closed(host1, 5000)) << "old client not closed";
	ASSERT_TRUE(eventually([&] { return up(LINK_KIND_UPSTREAM); }, 5000));
	EXPECT_TRUE(roundtrip(host2, dev, "two\n"));
	EXPECT_TRUE(roundtrip(dev, host2, "back to two\n"));
}

// Clients that come back to back, 100 rounds of two: each round's second
// client replaces the first, also one that comes while the gateway is
// taking the first (and so found the link not busy): the link ends up with
// the second, served, and the first closed, every round.
TEST_P(OneDevice, ClientsBackToBackLeaveTheNewestTaken)
{
	start();
	int dev, host;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host));
	for (int i = 0; i < 100; i++) {
		int first = tcp_connect(uport_, 5000);
		int second = tcp_connect(uport_, 5000);
		std::string peer = local_addr(second);
		bool taken = eventually([&] {
			return up(LINK_KIND_UPSTREAM) &&
			    snap(LINK_KIND_UPSTREAM).peer == peer;
		    }, 2000);
		bool closed = first != -1 && wait_closed(first, 2000);
		std::string line = "round " + std::to_string(i) + "\n";
		bool served = taken && roundtrip(dev, second, line.c_str());
		close(first);
		close(second);
		ASSERT_NE(peer, "");
		ASSERT_TRUE(taken) << "round " << i << ": the link is not the "
		    "second client's: " << snap(LINK_KIND_UPSTREAM).peer;
		ASSERT_TRUE(closed) << "round " << i << ": the first client "
		    "was not closed";
		ASSERT_TRUE(served) << "round " << i << ": the second client "
		    "was not served";
	}
}

// The same with reject, each round to a link without a client: the first
// becomes the link and is served, also when the second came before the
// first was taken (a client waiting to be taken holds the link) or while
// it was being taken; the second is closed, never left waiting.
TEST_P(OneDevice, ClientsBackToBackWithRejectLeaveOneTaken)
{
	start("", " on_new_client = \"reject\";");
	int dev;
	ASSERT_NE(dev = accept_device(), -1);
	ASSERT_TRUE(eventually([&] { return up(LINK_KIND_DEVICE); }, 5000));
	for (int i = 0; i < 100; i++) {
		int c[2] = { tcp_connect(uport_, 5000),
		    tcp_connect(uport_, 5000) };
		std::string peer[2] = { local_addr(c[0]), local_addr(c[1]) };
		int k = -1;
		bool taken = eventually([&] {
			struct link_snap ls = snap(LINK_KIND_UPSTREAM);
			k = ls.peer == peer[0] ? 0 : ls.peer == peer[1] ? 1 : -1;
			return up(LINK_KIND_UPSTREAM) && k != -1;
		    }, 2000);
		bool closed = taken && wait_closed(c[1 - k], 2000);
		std::string line = "round " + std::to_string(i) + "\n";
		bool served = taken && roundtrip(dev, c[k], line.c_str());
		close(c[0]);
		close(c[1]);
		bool down = eventually([&] {
			return !up(LINK_KIND_UPSTREAM);
		    }, 2000);
		ASSERT_NE(peer[0], "");
		ASSERT_NE(peer[1], "");
		ASSERT_TRUE(taken) << "round " << i << ": neither client is the "
		    "link";
		ASSERT_EQ(k, 0) << "round " << i << ": the second client "
		    "replaced the first";
		ASSERT_TRUE(closed) << "round " << i << ": the other client was "
		    "left open";
		ASSERT_TRUE(served) << "round " << i << ": the link's client "
		    "was not served";
		ASSERT_TRUE(down) << "round " << i << ": the link stayed up";
	}
}

// A client waiting to be taken while the writer is held up (here in a
// send to a device that stops reading) and replaced by a newer one: what
// it sent is counted as discarded on the upstream link, not lost unseen.
TEST_P(OneDevice, BytesOfAWaitingClientThatIsReplacedAreCounted)
{
	int dev, host1;
	ASSERT_NO_FATAL_FAILURE(held_up_link(&dev, &host1, ""));

	// host2 waits to be taken, its 100 bytes in its socket; host3
	// replaces it.
	int host2 = client_that_sent(100);
	ASSERT_NE(host2, -1) << "host2's bytes never reached the gateway";
	ASSERT_NE(keep(tcp_connect(uport_, 5000)), -1);
	EXPECT_TRUE(wait_closed(host2, 5000)) << "host2 was not replaced";
	EXPECT_TRUE(eventually([&] {
		return discarded(LINK_KIND_UPSTREAM) == 100; }, 5000))
	    << discarded(LINK_KIND_UPSTREAM);
	// Counted first, then said.
	EXPECT_TRUE(eventually([&] { return g_->log().find("client waiting to "
	    "be taken replaced by 127.0.0.1:") != std::string::npos &&
	    g_->log().find("; 100 bytes it sent were discarded") !=
	    std::string::npos; }, 5000)) << g_->log();
}

// A client still waiting to be taken when the device stops (its writer
// held up as above) goes with the link: the bytes it sent are said, as
// link_close() says what a link left unread, not dropped in silence.
TEST_P(OneDevice, BytesOfAClientWaitingWhenTheDeviceStopsAreSaid)
{
	int dev, host1;
	ASSERT_NO_FATAL_FAILURE(held_up_link(&dev, &host1, ""));
	int host2 = client_that_sent(100);
	ASSERT_NE(host2, -1) << "host2's bytes never reached the gateway";

	// The stop wakes the writer (shutdown of the device link); the
	// threads end before they take host2, which the link's free closes.
	g_->stop();
	EXPECT_TRUE(wait_closed(host2, 5000));
	std::string log = g_->log();
	EXPECT_TRUE(re_search(log, "d1/upstream: closed client 127\\.0\\.0\\.1:"
	    "[0-9]+ that waited to be taken: stopping; 100 bytes it sent were "
	    "discarded")) << log;
}

// With reject, a client waiting to be taken while the writer is held up
// holds the link, but not once it has left (closed, or reset) with
// nothing to pass on: a later client takes its place (refused before, for
// as long as the writer was held up) and is served once the writer is
// free again.
TEST_P(OneDevice, AWaitingClientThatLeftDoesNotHoldARejectLink)
{
	a_waiting_client_leaves(false);
}

TEST_P(OneDevice, AWaitingClientThatResetDoesNotHoldARejectLink)
{
	a_waiting_client_leaves(true);
}

// The same client leaving after it sent a request still holds the link:
// its bytes are passed on when the writer is free, the later client is
// refused.
TEST_P(OneDevice, AWaitingClientThatLeftAfterARequestHoldsARejectLink)
{
	int dev;
	ASSERT_NO_FATAL_FAILURE(reject_link_held_up(&dev));

	int host2 = client_that_sent(100);
	ASSERT_NE(host2, -1) << "host2's bytes never reached the gateway";
	ASSERT_EQ(shutdown(host2, SHUT_WR), 0);
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	int host3 = keep(tcp_connect(uport_, 5000));
	ASSERT_NE(host3, -1);
	EXPECT_TRUE(wait_closed(host3, 5000)) << "host3 was not refused";
	EXPECT_TRUE(eventually([&] { return g_->log().find("refused " +
	    local_addr(host3) + ": busy with " + local_addr(host2)) !=
	    std::string::npos; }, 5000)) << g_->log();
	EXPECT_TRUE(drain_until(dev, std::string(100, 'w'), 20000))
	    << "host2's request never reached the device: " << g_->log();
}

TEST_P(OneDevice, SecondClientIsRejectedWithReject)
{
	start("", " on_new_client = \"reject\";");
	int dev, host1;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host1));
	int host2 = keep(tcp_connect(uport_, 5000));
	ASSERT_NE(host2, -1);
	EXPECT_TRUE(wait_closed(host2, 5000)) << "new client not rejected";
	EXPECT_TRUE(roundtrip(host1, dev, "still one\n"));
	EXPECT_TRUE(roundtrip(dev, host1, "back to one\n"));
}

// A host whose address the allow list leaves out is refused; a reload to a
// list that has it lets the same host in (loopback tests have one address
// to connect from: the list changes, not the host).
TEST_P(OneDevice, DisallowedSourceAddressIsRefused)
{
	start("", " allow = [\"10.0.0.0/8\"];");
	int dev = accept_device();
	ASSERT_NE(dev, -1);
	ASSERT_TRUE(eventually([&] { return up(LINK_KIND_DEVICE); }, 5000));
	int bad = keep(tcp_connect(uport_, 5000));
	ASSERT_NE(bad, -1);
	EXPECT_TRUE(wait_closed(bad, 5000)) << "disallowed client not refused";
	EXPECT_FALSE(up(LINK_KIND_UPSTREAM));

	// A change of allow restarts the device: a new port, a new dial.
	up_extra_ = " allow = [\"10.0.0.0/8\", \"127.0.0.1\"];";
	ASSERT_TRUE(reload(""));
	ASSERT_NE(dev = accept_device(), -1);
	ASSERT_TRUE(eventually([&] { return up(LINK_KIND_DEVICE); }, 5000));
	ASSERT_GT(uport_ = g_->listen_port("d1", LINK_KIND_UPSTREAM), 0);
	int good = keep(tcp_connect(uport_, 5000));
	ASSERT_NE(good, -1);
	ASSERT_TRUE(eventually([&] { return up(LINK_KIND_UPSTREAM); }, 5000));
	EXPECT_TRUE(roundtrip(good, dev, "allowed\n"));
}

TEST_P(OneDevice, PeerResetWhileGatewayWritesDoesNotKillTheProcess)
{
	start();
	int dev, host;
	ASSERT_NO_FATAL_FAILURE(connect_pair(&dev, &host));
	// The host streams; the device resets mid-stream. The gateway's
	// writer hits EPIPE/ECONNRESET: SIGPIPE must not be raised.
	std::atomic<bool> stop{false};
	std::thread streamer([&] {
		std::vector<uint8_t> buf(1 << 16);
		while (!stop && write_all(host, buf.data(), buf.size(), 200))
			;
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(100));
	close_reset(dev);
	fds_.erase(std::find(fds_.begin(), fds_.end(), dev));
	int dev2 = accept_device();
	stop = true;
	streamer.join();
	EXPECT_NE(dev2, -1) << "gateway did not reconnect after the reset";
}

// A split device that reboots ends both links while the gateway holds
// the last bytes rx sent, for a host that has not read them: the host
// gets them all, then the close (the writer, which sees tx end, leaves
// the upstream to the reader).
TEST_P(RelayPath, SplitDeviceEndingBothLinksLeavesTheHostItsLastBytes)
{
	SplitTail t;
	ASSERT_NO_FATAL_FAILURE(split_with_a_tail(&t));
	close(t.tx);
	t.tx = -1;
	shutdown(t.rx, SHUT_WR);
	ASSERT_NO_FATAL_FAILURE(host_gets_the_tail(*t.g, "s1", LINK_KIND_RX,
	    t.host, t.sent, false));
	EXPECT_EQ(link_of(*t.g, "s1", LINK_KIND_RX).held_discarded, 0u);
}

// A split device's tx link ends for good, its rx link stays (with
// "close"): the host, which reads slowly, gets every byte rx sent before
// its connection is closed, though it sent a line meanwhile, which the
// gateway leaves unread while the device is down (the close is then a
// reset, which drops what is still queued to the host).
TEST_P(RelayPath, SplitTxEndingLeavesTheHostTheBytesRxSent)
{
	SplitTail t;
	ASSERT_NO_FATAL_FAILURE(split_with_a_tail(&t));
	// The tx device goes, and stays away (its redials refused).
	close(t.txl);
	close(t.tx);
	t.txl = t.tx = -1;
	ASSERT_NO_FATAL_FAILURE(host_gets_the_tail(*t.g, "s1", LINK_KIND_TX,
	    t.host, t.sent, true, 1));
	EXPECT_EQ(link_of(*t.g, "s1", LINK_KIND_RX).held_discarded, 0u);
}

// A split device's tx link ends (the device closes it) while the writer,
// which owns it, waits in a receive on the host. With "close" the host
// must learn of it when the watchdog sees the FIN, not when that receive
// ends.
TEST_P(RelayPath, SplitTxEndReachesTheHostAtOnce)
{
	int txport, txl = tcp_listen(&txport);
	ASSERT_NE(txl, -1);
	InProcessGateway g(split_conf(txport, "    io_timeout_ms = 5000;\n"));
	int tx = -1, rx = -1, uport = 0;
	ASSERT_NO_FATAL_FAILURE(split_up(g, txl, &tx, &rx, &uport));
	int host = host_connect(g, "s1", LINK_KIND_RX, uport);
	ASSERT_NE(host, -1);
	ASSERT_TRUE(eventually([&] { return g.up("s1", LINK_KIND_UPSTREAM); },
	    5000));
	ASSERT_TRUE(roundtrip(host, tx, "to the device\n"));

	close(tx);
	auto t0 = std::chrono::steady_clock::now();
	EXPECT_TRUE(wait_closed(host, 2500))
	    << "the host did not learn that the device's tx link ended";
	printf("host closed %ld ms after the tx link's FIN\n", ms_since(t0));
	close(host);
	close(rx);
	close(txl);
}

// A split device's tx link, lost while its writer waits in a receive on
// the host, is dialled again on the backoff (20..200 ms here), not when
// that receive ends (io_timeout_ms 5 s).
TEST_P(RelayPath, SplitTxIsRedialledOnTheBackoffInHoldMode)
{
	int txport, txhold, txl = tcp_listen_held(&txport, &txhold);
	ASSERT_NE(txl, -1);
	InProcessGateway g(split_conf(txport,
	    "    on_device_down = \"hold\";\n    io_timeout_ms = 5000;\n"));
	ASSERT_TRUE(g.ok());
	int uport = g.listen_port("s1", LINK_KIND_UPSTREAM);
	ASSERT_GT(uport, 0);
	int tx = tcp_accept(txl, 5000);
	ASSERT_NE(tx, -1);
	int host = tcp_connect(uport, 5000);
	ASSERT_NE(host, -1);
	ASSERT_TRUE(eventually([&] { return g.up("s1", LINK_KIND_UPSTREAM); },
	    5000));
	ASSERT_TRUE(roundtrip(host, tx, "to the device\n"));

	// The tx device goes away, and comes back 300 ms later.
	close(txl);
	close(tx);
	ASSERT_TRUE(eventually([&] { return !g.up("s1", LINK_KIND_TX); },
	    5000));
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	txl = tcp_listen_on(txport, true);
	ASSERT_NE(txl, -1);
	auto t0 = std::chrono::steady_clock::now();
	int tx2 = tcp_accept(txl, 2000);
	EXPECT_NE(tx2, -1) << "tx not redialled within 2 s of its return";
	printf("tx redialled %ld ms after the device came back\n",
	    ms_since(t0));
	EXPECT_TRUE(tx2 == -1 || roundtrip(host, tx2, "again\n"));
	for (int fd : {tx2, host, txl, txhold})
		if (fd != -1)
			close(fd);
}

// A split device's writer dials its tx link towards a peer that does not
// answer (its accept queue full: listen backlog 0, one connection queued,
// so the gateway's SYNs are dropped; connect_timeout_ms 8 s). A host that
// connects meanwhile is taken at once, not when the dial gives up, and
// gets what the rx device sent while no host was there.
TEST_P(RelayPath, SplitTxDialThatHangsHoldsUpNoHost)
{
	WaitingTx w;
	ASSERT_NO_FATAL_FAILURE(split_tx_waiting(&w));
	InProcessGateway &g = *w.g;
	ASSERT_TRUE(write_all(w.rx, "SCAN-1\n", 7, 5000));
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	EXPECT_FALSE(g.up("s1", LINK_KIND_TX));

	int host = tcp_connect(w.uport, 5000);
	ASSERT_NE(host, -1);
	auto t0 = std::chrono::steady_clock::now();
	char got[7];
	EXPECT_TRUE(read_exact(host, got, sizeof(got), 2000))
	    << "the host was not taken while the tx dial waited";
	EXPECT_EQ(std::string(got, sizeof(got)), "SCAN-1\n");
	printf("host taken and served %ld ms after it connected, the tx dial "
	    "still waiting\n", ms_since(t0));
	EXPECT_FALSE(g.up("s1", LINK_KIND_TX));
	close(host);
}

// The same dial, and a second host replaces the first (on_new_client's
// default): the first host's connection is closed, not left open behind
// the second's, which is taken at once and served.
TEST_P(RelayPath, SplitTxDialThatHangsLetsASecondHostReplaceTheFirst)
{
	WaitingTx w;
	ASSERT_NO_FATAL_FAILURE(split_tx_waiting(&w));
	InProcessGateway &g = *w.g;
	int first = tcp_connect(w.uport, 5000);
	ASSERT_NE(first, -1);
	ASSERT_TRUE(eventually([&] { return g.up("s1", LINK_KIND_UPSTREAM); },
	    2000)) << "the first host was not taken while the tx dial waited";
	int second = tcp_connect(w.uport, 5000);
	ASSERT_NE(second, -1);
	EXPECT_TRUE(wait_closed(first, 2000)) << "the first host's connection "
	    "was left open";
	EXPECT_TRUE(eventually([&] {
		return g.log().find("s1/upstream down: replaced by new client") !=
		    std::string::npos;
	    }, 2000)) << "the first host's link was not closed";
	ASSERT_TRUE(write_all(w.rx, "SCAN-2\n", 7, 5000));
	char got[7];
	EXPECT_TRUE(read_exact(second, got, sizeof(got), 2000))
	    << "the second host was not served while the tx dial waited";
	EXPECT_EQ(std::string(got, sizeof(got)), "SCAN-2\n");
	EXPECT_FALSE(g.up("s1", LINK_KIND_TX));
	close(first);
	close(second);
}

// A device that comes and goes, the gateway dialling its host
// (on_device_down "close"): the host's connection ends with each of the
// device's, on purpose, and is dialled again as the device comes back.
// That is no host dropping connections, which the backoff is for: the
// redial waits backoff.min_ms at most, not longer each time (backoff
// 100..3000 ms here).
TEST(Relay, AHostClosedForItsDeviceIsRedialledWithoutBackingOff)
{
	int hport, hl = tcp_listen(&hport);
	ASSERT_NE(hl, -1);
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    device_conf("d1", listen_ep(0), connect_ep(hport),
	    "    backoff = { min_ms = 100; max_ms = 3000; };\n") + ");\n");
	ASSERT_TRUE(g.ok());
	int dport = g.listen_port("d1", LINK_KIND_DEVICE);
	ASSERT_GT(dport, 0);
	long longest = 0;
	for (int round = 0; round < 6; round++) {
		int dev = tcp_connect(dport, 5000);
		ASSERT_NE(dev, -1);
		auto t0 = std::chrono::steady_clock::now();
		int host = tcp_accept(hl, 5000);
		long ms = ms_since(t0);
		longest = std::max(longest, ms);
		ASSERT_NE(host, -1) << "round " << round;
		EXPECT_LT(ms, 500) << "round " << round << ": the host dialled "
		    << ms << " ms after its device came";
		ASSERT_TRUE(roundtrip(dev, host, "hello\n"));
		close(dev);
		EXPECT_TRUE(wait_closed(host, 5000)) << "round " << round;
		close(host);
		ASSERT_TRUE(eventually([&] {
			return !g.up("d1", LINK_KIND_UPSTREAM); }, 5000));
	}
	printf("host dialled at most %ld ms after its device came, 6 rounds\n",
	    longest);
	close(hl);
}

TEST(Relay, Ipv6LiteralsAndHostNames)
{
	// The device is dialled by host name (every address of "localhost" is
	// tried); the host connects over IPv6.
	int dport, dl = tcp_listen(&dport, "127.0.0.1");
	ASSERT_NE(dl, -1);
	if (!have_ipv6_loopback())
		GTEST_SKIP() << "no IPv6 loopback on this machine";
	InProcessGateway g(test_preamble() + "devices = (\n" +
	    device_conf("v6", "{ connect = \"localhost:" + std::to_string(dport) +
	    "\"; }", "{ listen = \"[::1]:0\"; }") + ");\n");
	ASSERT_TRUE(g.ok());
	int uport = g.listen_port("v6", LINK_KIND_UPSTREAM);
	ASSERT_GT(uport, 0);
	int dev = tcp_accept(dl, 5000);
	ASSERT_NE(dev, -1);
	ASSERT_TRUE(eventually([&] { return g.up("v6", LINK_KIND_DEVICE); }, 5000));
	int host = tcp_connect(uport, 5000, "::1");
	ASSERT_NE(host, -1);
	ASSERT_TRUE(eventually([&] { return g.up("v6", LINK_KIND_UPSTREAM); }, 5000));
	const char msg[] = "over v6\n";
	char got[sizeof(msg) - 1];
	ASSERT_TRUE(write_all(host, msg, sizeof(got), 5000));
	ASSERT_TRUE(read_exact(dev, got, sizeof(got), 5000));
	EXPECT_EQ(std::string(got, sizeof(got)), "over v6\n");
	close(host);
	close(dev);
	close(dl);
}
