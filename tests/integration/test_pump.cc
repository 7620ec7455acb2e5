// One direction's pump, from a local socket to a TCP connection on
// 127.0.0.1, on both paths (splice and copy): while the source has more
// waiting, the pump sends whole segments and keeps the part-filled rest for
// the next fill; what the source sends last leaves as it is. The test is
// linked with send() and splice() wrapped (-Wl,--wrap), to see how much
// the pump asks each call to send.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <errno.h>

#include "clock.h"
#include "gwtest.h"
#include "link.h"
#include "net.h"
#include "pump.h"
#include "sockopt.h"

// What each send() or splice() to the socket watched_fd was asked to send;
// only the test's thread sends there. The same for the sockets whose local
// port is watched_port (0: none), which the gateway's threads send on.
static std::atomic<int> watched_fd(-1);
static std::vector<size_t> asked;
// What the last splice() from the socket watched_src was asked to take.
static std::atomic<int> watched_src(-1);
static size_t src_asked;
static std::atomic<int> watched_port(0);
static std::mutex port_mu;
static std::vector<size_t> port_asked;

static void
note_asked(int fd, size_t len)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);

	if (fd == watched_fd) {
		asked.push_back(len);
		return;
	}
	if (watched_port == 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) == -1 ||
	    sa.sin_family != AF_INET || ntohs(sa.sin_port) != watched_port)
		return;
	std::lock_guard<std::mutex> lock(port_mu);
	port_asked.push_back(len);
}

extern "C" {
ssize_t __real_send(int, const void *, size_t, int);
ssize_t __real_splice(int, loff_t *, int, loff_t *, size_t, unsigned);

ssize_t
__wrap_send(int fd, const void *buf, size_t len, int flags)
{
	note_asked(fd, len);
	return __real_send(fd, buf, len, flags);
}

ssize_t
__wrap_splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out,
    size_t len, unsigned flags)
{
	if (fd_in == watched_src)
		src_asked = len;
	note_asked(fd_out, len);
	return __real_splice(fd_in, off_in, fd_out, off_out, len, flags);
}
}

namespace {

constexpr size_t kChunk = 65536;	// buffer_bytes' default

// Both ends of a new connection over 127.0.0.1.
void
tcp_pair(int *mine, int *theirs)
{
	struct sockaddr_in sa = {};
	socklen_t salen = sizeof(sa);
	int lfd;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_NE(lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), -1);
	ASSERT_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_EQ(listen(lfd, 1), 0);
	ASSERT_EQ(getsockname(lfd, (struct sockaddr *)&sa, &salen), 0);
	ASSERT_NE(*theirs = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	ASSERT_EQ(connect(*theirs, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_NE(*mine = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC), -1);
	close(lfd);
}

// A pump from src, on a local socket pair whose queue the test fills
// before the pump looks (src_peer_), to dst, a TCP connection set up as
// the gateway sets up its own (sockopt_link(): TCP_NODELAY), read on
// dst_peer_. GetParam(): splice.
class PumpOnTcp : public ::testing::TestWithParam<bool> {
protected:
	void
	SetUp() override
	{
		const char *what;

		pol_.keepalive_idle_s = 5;
		pol_.keepalive_interval_s = 1;
		pol_.keepalive_count = 3;
		pol_.user_timeout_ms = 10000;
		pol_.io_timeout_ms = 1000;
		int sv[2];
		ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sv), 0);
		src_fd_ = sv[0];
		src_peer_ = sv[1];
		ASSERT_NO_FATAL_FAILURE(tcp_pair(&dst_fd_, &dst_peer_));
		ASSERT_EQ(sockopt_link(dst_fd_, &pol_, &what), 0) << what;
		// A read of the device's side that waits ends, as a test must.
		struct timeval tv = { 5, 0 };
		ASSERT_EQ(setsockopt(dst_peer_, SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof(tv)), 0);
		link_sync_init(&sync_);
		have_sync_ = true;
		ep_.mode = CFG_LINK_CONNECT;
		src_ = link_new("dev", LINK_KIND_UPSTREAM, &ep_, &pol_, &sync_);
		dst_ = link_new("dev", LINK_KIND_DEVICE, &ep_, &pol_, &sync_);
		ASSERT_NE(src_, nullptr);
		ASSERT_NE(dst_, nullptr);
		link_attach(src_, src_fd_, "host");
		link_attach(dst_, dst_fd_, "device");
		char why[128];
		ASSERT_EQ(pump_init(&pump_, kChunk, GetParam(), why,
		    sizeof(why)), 0);
		have_pump_ = true;
		ASSERT_EQ(pump_splices(&pump_), GetParam()) << why;
		watched_fd = dst_fd_;
		watched_src = src_fd_;
		asked.clear();
	}
	void
	TearDown() override
	{
		watched_fd = -1;
		watched_src = -1;
		if (have_pump_)
			pump_free(&pump_);
		// A link closes the socket it was given; one not given is
		// closed here.
		if (src_ != nullptr) {
			link_close(src_, true);
			link_free(src_);
		} else if (src_fd_ != -1)
			close(src_fd_);
		if (dst_ != nullptr) {
			link_close(dst_, true);
			link_free(dst_);
		} else if (dst_fd_ != -1)
			close(dst_fd_);
		if (have_sync_)
			link_sync_destroy(&sync_);
		for (int fd : { src_peer_, dst_peer_ })
			if (fd != -1)
				close(fd);
	}
	// Opens the device's window as a connection that has carried bulk
	// has it open: 4 MiB sent on dst and read. TCP sends segments of at
	// most half the largest window the peer offered: a new connection's
	// are smaller than its MSS.
	void
	open_the_window()
	{
		std::vector<char> bulk(4 << 20, 'w');
		std::thread device([&] {
			std::vector<char> in(bulk.size());
			size_t off = 0;
			ssize_t n = 1;
			while (off < in.size() && n > 0)
				if ((n = read(dst_peer_, in.data() + off,
				    in.size() - off)) > 0)
					off += (size_t)n;
			EXPECT_EQ(off, in.size());
		});
		size_t off = 0;
		ssize_t n = 1;
		while (off < bulk.size() && n > 0)
			if ((n = write(dst_fd_, bulk.data() + off,
			    bulk.size() - off)) > 0)
				off += (size_t)n;
		EXPECT_EQ(off, bulk.size()) << strerror(errno);
		if (off < bulk.size())
			shutdown(dst_peer_, SHUT_RDWR);
		device.join();
	}
	// One fill, which must leave len bytes held, and the drains that
	// follow it as a device's thread makes them: until nothing is held
	// or what is held waits for the next fill. A splice into the pipe
	// may come short of len where the kernel keeps the bytes in more
	// pieces than the pipe has slots (memory in single pages): the test
	// is skipped then, as it is about a pipe that fills, if the pump
	// asked for all the room it had.
	void
	relay_one_fill(size_t len)
	{
		size_t room = pump_.cap - pump_len(&pump_);

		src_asked = 0;
		ASSERT_EQ(pump_fill(&pump_, src_, true, nullptr), LINK_OK);
		if (pump_len(&pump_) < len && src_asked != 0) {
			ASSERT_EQ(src_asked, room) << "a splice asked for less";
			GTEST_SKIP() << "the pipe took " << pump_len(&pump_)
			    << " of " << len << " bytes in one splice";
		}
		ASSERT_EQ(pump_len(&pump_), len);
		while (pump_len(&pump_) > 0 && !pump_tops_up(&pump_))
			ASSERT_NE(pump_drain(&pump_, dst_, 0, clock_ms()),
			    LINK_CLOSED);
	}
	// The largest segment of the device's connection now.
	size_t
	segment()
	{
		int mss = 0;
		socklen_t len = sizeof(mss);

		EXPECT_EQ(getsockopt(dst_fd_, IPPROTO_TCP, TCP_MAXSEG, &mss,
		    &len), 0);
		return (size_t)mss;
	}
	// The window open, a chunk and 100 bytes (*msg) from the source, and
	// the chunk relayed: its whole segments sent, the part-filled rest
	// (*part bytes) held for the 100 bytes.
	void
	part_waiting(std::string *msg, size_t *part)
	{
		ASSERT_NO_FATAL_FAILURE(open_the_window());
		size_t seg = segment();
		ASSERT_GT(seg, 0u);
		if (kChunk % seg == 0)
			GTEST_SKIP() << "a chunk is whole segments of " << seg;
		msg->resize(kChunk + 100);
		for (size_t i = 0; i < msg->size(); i++)
			(*msg)[i] = (char)('a' + i % 23);
		ASSERT_EQ(write(src_peer_, msg->data(), msg->size()),
		    (ssize_t)msg->size());
		ASSERT_NO_FATAL_FAILURE(relay_one_fill(kChunk));
		if (IsSkipped())
			return;
		*part = kChunk % seg;
	}
	// Reads len bytes on the device's side; "" when they did not come.
	std::string
	device_reads(size_t len)
	{
		std::string got(len, '\0');
		size_t off = 0;
		while (off < len) {
			ssize_t n = read(dst_peer_, &got[off], len - off);
			if (n <= 0)
				return "";
			off += (size_t)n;
		}
		return got;
	}
	struct cfg_policy pol_ = {};
	struct cfg_endpoint ep_ = {};
	struct link_sync sync_;
	struct link *src_ = nullptr, *dst_ = nullptr;
	struct pump pump_;
	bool have_sync_ = false, have_pump_ = false;
	int src_fd_ = -1, src_peer_ = -1, dst_fd_ = -1, dst_peer_ = -1;
};

// A chunk of buffer_bytes with 100 bytes behind it: the pump sends its
// whole segments, and the part-filled rest waits for the 100 bytes (on
// loopback, MSS 65,483 for an MTU of 65,536, the chunk alone would leave
// as a full segment and one of 53 bytes). The rest and the 100 bytes,
// which nothing follows, leave together.
TEST_P(PumpOnTcp, BulkLeavesInWholeSegments)
{
	std::string msg;
	size_t part;

	ASSERT_NO_FATAL_FAILURE(part_waiting(&msg, &part));
	if (IsSkipped())
		return;
	EXPECT_TRUE(pump_tops_up(&pump_)) << "100 bytes were waiting";
	EXPECT_EQ(pump_len(&pump_), part);
	ASSERT_NO_FATAL_FAILURE(relay_one_fill(part + 100));
	if (IsSkipped())
		return;
	EXPECT_EQ(pump_len(&pump_), 0u);
	EXPECT_EQ(asked, (std::vector<size_t>{ kChunk - part, part + 100 }));
	EXPECT_EQ(device_reads(msg.size()), msg);
}

// Bytes that waited for a destination that was down are held until they
// are out, not until the pump empties: bulk that follows them keeps a part
// in the pump at every send, and would otherwise count as held, and expire
// with hold_max_ms, as long as it flows.
TEST_P(PumpOnTcp, HeldEndsWithTheBytesThatWaited)
{
	ASSERT_NO_FATAL_FAILURE(open_the_window());
	size_t seg = segment();
	if (seg == 0 || kChunk % seg == 0)
		GTEST_SKIP() << "a chunk is whole segments of " << seg;
	std::string msg(2 * kChunk + 100, 'h');
	for (size_t i = 0; i < msg.size(); i++)
		msg[i] = (char)('a' + i % 19);
	ASSERT_EQ(write(src_peer_, msg.data(), msg.size()),
	    (ssize_t)msg.size());
	// Taken while the destination is down, and held.
	ASSERT_EQ(pump_fill(&pump_, src_, false, nullptr), LINK_OK);
	ASSERT_EQ(pump_len(&pump_), kChunk);
	pump_hold(&pump_);

	// The destination is back: the held chunk's whole segments go, its
	// part waits, still held.
	while (pump_len(&pump_) > 0 && !pump_tops_up(&pump_))
		ASSERT_NE(pump_drain(&pump_, dst_, 0, clock_ms()), LINK_CLOSED);
	ASSERT_TRUE(pump_tops_up(&pump_));
	EXPECT_TRUE(pump_held(&pump_));
	// Topped up and sent: the held bytes are out, a part of the next
	// chunk waits, and nothing is held.
	ASSERT_NO_FATAL_FAILURE(relay_one_fill(kChunk));
	if (IsSkipped())
		return;
	EXPECT_GT(pump_len(&pump_), 0u);
	EXPECT_FALSE(pump_held(&pump_)) << "the bytes that waited are out";
	ASSERT_NO_FATAL_FAILURE(relay_one_fill(pump_len(&pump_) +
	    (msg.size() - pump_.in_total)));
	if (IsSkipped())
		return;
	EXPECT_EQ(device_reads(msg.size()), msg);
}

// A source that fails while a part-filled segment waits for its next
// bytes: the part goes as it is.
TEST_P(PumpOnTcp, APartWaitingWhenTheSourceFailsGoesOut)
{
	std::string msg;
	size_t part;

	ASSERT_NO_FATAL_FAILURE(part_waiting(&msg, &part));
	if (IsSkipped())
		return;
	ASSERT_TRUE(pump_tops_up(&pump_));

	link_fail(src_, link_gen(src_), WD_PEER_RESET, 0, "as a test");
	EXPECT_EQ(pump_fill(&pump_, src_, true, nullptr), LINK_CLOSED);
	EXPECT_FALSE(pump_tops_up(&pump_)) << "waits for a fill to come";
	while (pump_len(&pump_) > 0 && !pump_tops_up(&pump_))
		ASSERT_NE(pump_drain(&pump_, dst_, 0, clock_ms()), LINK_CLOSED);
	EXPECT_EQ(device_reads(kChunk), msg.substr(0, kChunk));
}

// A chunk of exactly buffer_bytes with nothing after it, and a telegram:
// nothing waits behind them, and they leave whole at once.
TEST_P(PumpOnTcp, WhatEndsTheStreamLeavesAsItIs)
{
	ASSERT_NO_FATAL_FAILURE(open_the_window());
	size_t seg = segment();
	if (seg == 0 || kChunk % seg == 0)
		GTEST_SKIP() << "a chunk is whole segments of " << seg;
	for (size_t len : { kChunk, (size_t)100 }) {
		std::string msg(len, 'x');
		ASSERT_EQ(write(src_peer_, msg.data(), len), (ssize_t)len);
		asked.clear();
		ASSERT_NO_FATAL_FAILURE(relay_one_fill(len));
		if (IsSkipped())
			return;
		EXPECT_EQ(pump_len(&pump_), 0u);
		EXPECT_EQ(asked, std::vector<size_t>{ len });
		EXPECT_EQ(device_reads(len), msg);
	}
}

std::string
path_name(const ::testing::TestParamInfo<bool> &p)
{
	return p.param ? "Splice" : "Copy";
}

INSTANTIATE_TEST_SUITE_P(Relay, PumpOnTcp, ::testing::Values(true, false),
    path_name);

// A gateway of one device. GetParam(): splice.
class GatewayBulk : public ::testing::TestWithParam<bool> {};

INSTANTIATE_TEST_SUITE_P(Relay, GatewayBulk, ::testing::Values(true, false),
    path_name);

// A host sends 8 MiB as fast as it can, and the device reads them as fast
// as it can. A chunk with the host's next bytes waiting behind it leaves in
// whole segments, its part-filled rest topped up by the next fill before it
// is sent: the device's thread sends hardly a small piece, and hardly a
// whole chunk (on loopback, where 65,536 bytes are not whole segments, a
// chunk sent whole ends in a segment of 53 bytes). Where the host's
// connection's segments make 65,536 bytes, so would the device's.
TEST_P(GatewayBulk, LeavesInWholeSegments)
{
	const size_t total = 8 << 20;
	int dport, dl = tcp_listen(&dport);
	ASSERT_NE(dl, -1);
	InProcessGateway g(test_preamble(std::string("  relay = \"") +
	    (GetParam() ? "splice" : "copy") + "\";\n") + "devices = (\n"
	    "  { name = \"d1\";\n"
	    "    device = { connect = \"127.0.0.1:" + std::to_string(dport) +
	    "\"; };\n"
	    "    upstream = { listen = \"127.0.0.1:0\"; };\n  }\n);\n");
	ASSERT_TRUE(g.ok());
	int dev = tcp_accept(dl, 5000);
	close(dl);
	ASSERT_NE(dev, -1);
	int uport = g.listen_port("d1", LINK_KIND_UPSTREAM);
	ASSERT_GT(uport, 0);
	ASSERT_TRUE(eventually([&] { return g.up("d1", LINK_KIND_DEVICE); },
	    5000));
	int host = tcp_connect(uport, 5000);
	ASSERT_NE(host, -1);
	ASSERT_TRUE(eventually([&] {
		return g.up("d1", LINK_KIND_UPSTREAM);
	    }, 5000));
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	ASSERT_EQ(getpeername(dev, (struct sockaddr *)&sa, &salen), 0);
	{
		std::lock_guard<std::mutex> lock(port_mu);
		port_asked.clear();
	}
	watched_port = ntohs(sa.sin_port);

	std::vector<uint8_t> out(total), in(total);
	fill_random(out.data(), out.size(), 9);
	std::thread writer([&] {
		EXPECT_TRUE(write_all(host, out.data(), out.size(), 20000));
	});
	EXPECT_TRUE(read_exact(dev, in.data(), in.size(), 20000));
	writer.join();
	watched_port = 0;
	EXPECT_TRUE(in == out);
	int seg = 0;
	socklen_t seglen = sizeof(seg);
	ASSERT_EQ(getsockopt(host, IPPROTO_TCP, TCP_MAXSEG, &seg, &seglen), 0);
	ASSERT_GT(seg, 0);
	std::lock_guard<std::mutex> lock(port_mu);
	size_t small = 0, chunks = 0;
	for (size_t len : port_asked) {
		small += len < 1024;
		chunks += len == kChunk;
	}
	EXPECT_LE(small, 2u) << "of " << port_asked.size() << " sends";
	if (kChunk % (size_t)seg != 0) {
		EXPECT_LE(chunks, port_asked.size() / 4) << "of "
		    << port_asked.size() << " sends were whole chunks";
	}
	close(host);
	close(dev);
}

}  // namespace
