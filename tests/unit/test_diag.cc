// test_diag.cc -- the sock_diag dump: crafted replies parsed into the
// table, and a real dump of loopback sockets against wd_probe().
#include <sys/socket.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <vector>

#include <gtest/gtest.h>

#include "diag.h"
#include "net.h"
#include "probe.h"
#include "watchdog.h"

namespace {

const uint32_t kSeq = 7;
// The inode of a message that does not test inodes: any but 0.
const uint32_t kIno = 4711;

// The kernel's struct tcp_info up to tcpi_snd_wnd, at the offsets of
// include/uapi/linux/tcp.h (x86_64 and aarch64 alike).
const size_t kInfoFull = 232;		// through tcpi_snd_wnd
const size_t kInfoNoWnd = 228;		// through tcpi_rcv_ooopack
const size_t kInfoNoNotsent = 144;	// through tcpi_segs_in
const size_t kInfoMinimal = 60;		// through tcpi_last_ack_recv

struct info_fields {
	uint8_t state = TCP_ESTABLISHED;
	uint8_t retransmits = 0, probes = 0, backoff = 0;
	uint32_t unacked = 0;
	uint32_t last_data_sent = 0, last_data_recv = 0, last_ack_recv = 0;
	uint32_t notsent = 0;
	uint32_t snd_wnd = 0;
};

void
put32(std::vector<uint8_t> &b, size_t off, uint32_t v)
{
	memcpy(&b[off], &v, sizeof(v));
}

// A struct tcp_info of len bytes holding f.
std::vector<uint8_t>
tcp_info_bytes(const info_fields &f, size_t len)
{
	std::vector<uint8_t> b(kInfoFull, 0);

	b[0] = f.state;
	b[2] = f.retransmits;
	b[3] = f.probes;
	b[4] = f.backoff;
	put32(b, 24, f.unacked);
	put32(b, 44, f.last_data_sent);
	put32(b, 52, f.last_data_recv);
	put32(b, 56, f.last_ack_recv);
	put32(b, 144, f.notsent);
	put32(b, 228, f.snd_wnd);
	b.resize(len);
	return b;
}

// Netlink messages, each padded to NLMSG_ALIGNTO, in one buffer whose
// storage is aligned for struct nlmsghdr.
class Reply {
public:
	std::vector<uint32_t> words;	// for alignment
	size_t len = 0;

	void
	append(const void *p, size_t n)
	{
		size_t need = NLMSG_ALIGN(len + n);

		words.resize((need + 3) / 4, 0);
		memcpy(reinterpret_cast<uint8_t *>(words.data()) + len, p, n);
		len = need;
	}

	const void *data() const { return words.data(); }

	// A message of type with payload, sequence seq.
	void
	message(uint16_t type, const std::vector<uint8_t> &payload,
	    uint32_t seq = kSeq)
	{
		struct nlmsghdr h;

		memset(&h, 0, sizeof(h));
		h.nlmsg_len = NLMSG_LENGTH(payload.size());
		h.nlmsg_type = type;
		h.nlmsg_flags = NLM_F_MULTI;
		h.nlmsg_seq = seq;
		append(&h, sizeof(h));
		if (!payload.empty())
			append(payload.data(), payload.size());
	}

	// One socket, named by its cookie: its inet_diag_msg, then
	// attributes (INET_DIAG_INFO with info when info is not empty, and
	// an INET_DIAG_SHUTDOWN first, as the kernel sends, to be skipped).
	void
	socket(uint64_t cookie, uint8_t state, uint32_t rqueue,
	    uint32_t wqueue, const std::vector<uint8_t> &info,
	    uint32_t seq = kSeq, uint32_t ino = kIno)
	{
		struct inet_diag_msg r;
		std::vector<uint8_t> p;

		memset(&r, 0, sizeof(r));
		r.idiag_family = AF_INET;
		r.idiag_state = state;
		r.idiag_inode = ino;
		r.id.idiag_cookie[0] = (uint32_t)cookie;
		r.id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
		r.idiag_rqueue = rqueue;
		r.idiag_wqueue = wqueue;
		p.resize(NLMSG_ALIGN(sizeof(r)));
		memcpy(p.data(), &r, sizeof(r));
		attr(p, INET_DIAG_SHUTDOWN, std::vector<uint8_t>(1, 0));
		if (!info.empty())
			attr(p, INET_DIAG_INFO, info);
		message(SOCK_DIAG_BY_FAMILY, p, seq);
	}

	void
	done(int err = 0)
	{
		std::vector<uint8_t> p(sizeof(err));

		memcpy(p.data(), &err, sizeof(err));
		message(NLMSG_DONE, p);
	}

	static void
	attr(std::vector<uint8_t> &p, uint16_t type,
	    const std::vector<uint8_t> &v)
	{
		struct rtattr a;
		size_t off = p.size();

		a.rta_len = (unsigned short)RTA_LENGTH(v.size());
		a.rta_type = type;
		p.resize(off + RTA_SPACE(v.size()), 0);
		memcpy(&p[off], &a, sizeof(a));
		memcpy(&p[off + RTA_LENGTH(0)], v.data(), v.size());
	}
};

class Diag : public ::testing::Test {
protected:
	struct wd_diag *d = nullptr;

	void
	SetUp() override
	{
		ASSERT_NE(d = wd_diag_new(), nullptr);
	}

	void
	TearDown() override
	{
		wd_diag_free(d);
	}

	enum wd_diag_status
	parse(const Reply &r)
	{
		return wd_diag_parse(d, r.data(), r.len, kSeq);
	}

	// The errno of a parse of len bytes of r that fails; 0 when it does
	// not fail.
	int
	parse_error(const Reply &r, size_t len)
	{
		errno = 0;
		return wd_diag_parse(d, r.data(), len, kSeq) == WD_DIAG_FAILED ?
		    errno : 0;
	}

	int
	parse_error(const Reply &r)
	{
		return parse_error(r, r.len);
	}

	bool
	lookup(uint64_t cookie, struct wd_sample *s)
	{
		memset(s, 0xa5, sizeof(*s));
		return wd_diag_lookup(d, cookie, s);
	}
};

}  // namespace

// Every field of the sample comes from where wd_probe() would take it:
// tcp_info, and the queues from the message (SIOCINQ, SIOCOUTQ).
TEST_F(Diag, EstablishedSocketBecomesASample)
{
	info_fields f;
	f.retransmits = 2;
	f.probes = 1;
	f.backoff = 3;
	f.unacked = 4;
	f.last_data_sent = 1100;
	f.last_data_recv = 2200;
	f.last_ack_recv = 3300;
	f.notsent = 500;
	f.snd_wnd = 65535;
	Reply r;
	r.socket(1234, TCP_ESTABLISHED, 10, 1500, tcp_info_bytes(f, kInfoFull));
	r.done();

	ASSERT_EQ(parse(r), WD_DIAG_DONE);
	struct wd_sample s;
	ASSERT_TRUE(lookup(1234, &s));
	EXPECT_EQ(s.so_error, 0);
	EXPECT_EQ(s.state, WD_TCP_ESTABLISHED);
	EXPECT_EQ(s.retransmits, 2);
	EXPECT_EQ(s.probes, 1);
	EXPECT_EQ(s.backoff, 3);
	EXPECT_EQ(s.unacked, 4u);
	EXPECT_EQ(s.last_data_sent_ms, 1100u);
	EXPECT_EQ(s.last_data_recv_ms, 2200u);
	EXPECT_EQ(s.last_ack_recv_ms, 3300u);
	EXPECT_TRUE(s.snd_wnd_known);
	EXPECT_EQ(s.snd_wnd, 65535u);
	EXPECT_EQ(s.notsent_bytes, 500u);
	EXPECT_EQ(s.outq_bytes, 1500u);
	EXPECT_EQ(s.inq_bytes, 10u);
	EXPECT_FALSE(lookup(1235, &s));
	EXPECT_FALSE(lookup(0, &s));
}

// A reply spread over several reads: MORE until NLMSG_DONE.
TEST_F(Diag, ReplyOverSeveralReads)
{
	info_fields f;
	Reply a, b, c;
	a.socket(1, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoFull));
	a.socket(2, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoFull));
	b.socket(3, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoFull));
	c.done();

	EXPECT_EQ(parse(a), WD_DIAG_MORE);
	EXPECT_EQ(parse(b), WD_DIAG_MORE);
	EXPECT_EQ(parse(c), WD_DIAG_DONE);
	struct wd_sample s;
	for (uint64_t cookie = 1; cookie <= 3; cookie++)
		EXPECT_TRUE(lookup(cookie, &s)) << cookie;
}

// What the table leaves out, so that the caller probes the socket itself:
// any other state than ESTABLISHED (the dump asks for ESTABLISHED only;
// a reply that says otherwise is not trusted), no inode (no file behind
// it), no cookie, no tcp_info, a tcp_info without tcpi_notsent_bytes,
// another request's messages.
TEST_F(Diag, LeavesOutWhatTheProbeMustSee)
{
	info_fields f, cw;
	cw.state = TCP_CLOSE_WAIT;
	Reply r;
	r.socket(10, TCP_CLOSE_WAIT, 0, 0, tcp_info_bytes(cw, kInfoFull));
	r.socket(11, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(cw, kInfoFull));
	r.socket(17, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoFull), kSeq,
	    0);
	r.socket(0, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoFull));
	r.socket(12, TCP_ESTABLISHED, 0, 0, {});
	r.socket(13, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoNoNotsent));
	r.socket(14, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoMinimal));
	r.socket(15, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoFull),
	    kSeq - 1);
	r.socket(16, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoFull));
	r.done();

	ASSERT_EQ(parse(r), WD_DIAG_DONE);
	struct wd_sample s;
	for (uint64_t cookie = 10; cookie <= 15; cookie++)
		EXPECT_FALSE(lookup(cookie, &s)) << cookie;
	EXPECT_FALSE(lookup(17, &s));
	EXPECT_FALSE(lookup(0, &s));
	EXPECT_TRUE(lookup(16, &s));
}

// Before Linux 5.4 tcp_info ends before tcpi_snd_wnd: the window is
// unknown, not zero.
TEST_F(Diag, WindowUnknownOnOlderKernels)
{
	info_fields f;
	f.snd_wnd = 100;
	Reply r;
	r.socket(5, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoNoWnd));
	r.done();

	ASSERT_EQ(parse(r), WD_DIAG_DONE);
	struct wd_sample s;
	ASSERT_TRUE(lookup(5, &s));
	EXPECT_FALSE(s.snd_wnd_known);
	EXPECT_EQ(s.snd_wnd, 0u);
}

// A newer kernel's longer tcp_info: the fields we know are read as ever.
TEST_F(Diag, LongerTcpInfoIsRead)
{
	info_fields f;
	f.last_ack_recv = 77;
	std::vector<uint8_t> info = tcp_info_bytes(f, kInfoFull);
	info.resize(kInfoFull + 64, 0xff);
	Reply r;
	r.socket(6, TCP_ESTABLISHED, 0, 0, info);
	r.done();

	ASSERT_EQ(parse(r), WD_DIAG_DONE);
	struct wd_sample s;
	ASSERT_TRUE(lookup(6, &s));
	EXPECT_EQ(s.last_ack_recv_ms, 77u);
	EXPECT_TRUE(s.snd_wnd_known);
}

// The kernel's errors: in NLMSG_ERROR, and in NLMSG_DONE's payload.
TEST_F(Diag, KernelErrors)
{
	struct nlmsgerr e;
	memset(&e, 0, sizeof(e));
	e.error = -EACCES;
	std::vector<uint8_t> p(sizeof(e));
	memcpy(p.data(), &e, sizeof(e));
	Reply r;
	r.message(NLMSG_ERROR, p);
	EXPECT_EQ(parse_error(r), EACCES);

	Reply done;
	done.done(-ENOMEM);
	EXPECT_EQ(parse_error(done), ENOMEM);

	// An NLMSG_ERROR too short to hold struct nlmsgerr.
	Reply shortr;
	shortr.message(NLMSG_ERROR, std::vector<uint8_t>(4, 0));
	EXPECT_EQ(parse_error(shortr), EPROTO);
}

// Malformed replies fail with EPROTO and read nothing beyond the buffer.
TEST_F(Diag, MalformedReplies)
{
	info_fields f;
	Reply good;
	good.socket(1, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoFull));

	// Cut short: the last message claims more than the buffer holds.
	EXPECT_EQ(parse_error(good, good.len - 8), EPROTO);

	// A header's length below the header itself.
	Reply bad;
	bad.message(SOCK_DIAG_BY_FAMILY, {});
	struct nlmsghdr *h = reinterpret_cast<struct nlmsghdr *>(
	    bad.words.data());
	h->nlmsg_len = 4;
	EXPECT_EQ(parse_error(bad), EPROTO);

	// A socket message shorter than struct inet_diag_msg.
	Reply tiny;
	tiny.message(SOCK_DIAG_BY_FAMILY, std::vector<uint8_t>(16, 0));
	EXPECT_EQ(parse_error(tiny), EPROTO);

	// An attribute longer than its message.
	Reply longattr;
	longattr.socket(2, TCP_ESTABLISHED, 0, 0,
	    tcp_info_bytes(f, kInfoFull));
	struct rtattr *a = reinterpret_cast<struct rtattr *>(
	    reinterpret_cast<uint8_t *>(longattr.words.data()) +
	    NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct inet_diag_msg)));
	a->rta_len = 0xfff0;
	EXPECT_EQ(parse_error(longattr), EPROTO);

	// Trailing bytes shorter than a header.
	Reply trail;
	trail.done();
	EXPECT_EQ(parse_error(trail, 8), EPROTO);
}

// Thousands of sockets: the table grows and finds every one; a socket
// seen twice keeps its later sample.
TEST_F(Diag, ManySocketsAndDuplicates)
{
	const uint32_t n = 5000;
	info_fields f;
	for (uint32_t base = 0; base < n; base += 100) {
		Reply r;
		for (uint32_t i = base; i < base + 100; i++) {
			f.last_ack_recv = i;
			r.socket(1000 + i, TCP_ESTABLISHED, 0, 0,
			    tcp_info_bytes(f, kInfoFull));
		}
		ASSERT_EQ(parse(r), WD_DIAG_MORE);
	}
	f.last_ack_recv = 424242;
	Reply again;
	again.socket(1000 + 17, TCP_ESTABLISHED, 0, 0,
	    tcp_info_bytes(f, kInfoFull));
	again.done();
	ASSERT_EQ(parse(again), WD_DIAG_DONE);

	struct wd_sample s;
	for (uint32_t i = 0; i < n; i++) {
		ASSERT_TRUE(lookup(1000 + i, &s)) << i;
		EXPECT_EQ(s.last_ack_recv_ms, i == 17 ? 424242u : i);
	}
	EXPECT_FALSE(lookup(1000 + n, &s));
	EXPECT_FALSE(lookup(999, &s));
}

// Inode numbers are 32 bits, drawn from one counter with every pipe and
// file of the system, and wrap: two live sockets can share one. Their
// cookies differ (here also in the upper 32 bits alone), and each is found
// with its own sample.
TEST_F(Diag, SocketsSharingAnInodeAreToldApartByTheirCookies)
{
	const uint64_t a = 0x100000005ULL, b = 0x200000005ULL, c = 5;
	info_fields f;
	Reply r;
	f.last_ack_recv = 100;
	r.socket(a, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoFull));
	f.last_ack_recv = 200;
	r.socket(b, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoFull));
	f.last_ack_recv = 300;
	r.socket(c, TCP_ESTABLISHED, 0, 0, tcp_info_bytes(f, kInfoFull));
	r.done();

	ASSERT_EQ(parse(r), WD_DIAG_DONE);
	struct wd_sample s;
	ASSERT_TRUE(lookup(a, &s));
	EXPECT_EQ(s.last_ack_recv_ms, 100u);
	ASSERT_TRUE(lookup(b, &s));
	EXPECT_EQ(s.last_ack_recv_ms, 200u);
	ASSERT_TRUE(lookup(c, &s));
	EXPECT_EQ(s.last_ack_recv_ms, 300u);
	EXPECT_FALSE(lookup(kIno, &s));
	EXPECT_FALSE(lookup(0x300000005ULL, &s));
}

namespace {

// A connected 127.0.0.1 pair, for a real dump.
struct Pair {
	int cli = -1, srv = -1;

	~Pair()
	{
		if (cli != -1)
			close(cli);
		if (srv != -1)
			close(srv);
	}

	void
	open()
	{
		int port, lfd = tcp_listen(&port);

		ASSERT_NE(lfd, -1);
		cli = tcp_connect(port, 5000);
		srv = tcp_accept(lfd, 5000);
		close(lfd);
		ASSERT_NE(cli, -1);
		ASSERT_NE(srv, -1);
	}
};

uint64_t
cookie_of(int fd)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) == 0 ?
	    cookie : 0;
}

// A dump, or the test is skipped where sock_diag is not there.
bool
dump_or_skip(struct wd_diag *d)
{
	if (wd_diag_dump(d, WD_DIAG_INET | WD_DIAG_INET6, 1000) == 0)
		return true;
	if (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT ||
	    errno == EACCES || errno == EPERM)
		return false;
	ADD_FAILURE() << "dump: " << strerror(errno);
	return false;
}

}  // namespace

// A real dump shows what wd_probe() shows of the same established socket,
// here one with bytes received and not read yet.
TEST_F(Diag, DumpAgreesWithProbe)
{
	Pair p;
	ASSERT_NO_FATAL_FAILURE(p.open());
	ASSERT_EQ(send(p.cli, "hello", 5, 0), 5);
	struct pollfd pfd = { p.srv, POLLIN, 0 };
	ASSERT_EQ(poll(&pfd, 1, 5000), 1);

	if (!dump_or_skip(d))
		GTEST_SKIP() << "no sock_diag here";
	struct wd_sample dumped, probed;
	ASSERT_TRUE(lookup(cookie_of(p.srv), &dumped));
	ASSERT_EQ(wd_probe(p.srv, &probed), 0);
	EXPECT_EQ(dumped.state, probed.state);
	EXPECT_EQ(dumped.so_error, probed.so_error);
	EXPECT_EQ(dumped.inq_bytes, 5u);
	EXPECT_EQ(dumped.inq_bytes, probed.inq_bytes);
	EXPECT_EQ(dumped.outq_bytes, probed.outq_bytes);
	EXPECT_EQ(dumped.notsent_bytes, probed.notsent_bytes);
	EXPECT_EQ(dumped.unacked, probed.unacked);
	EXPECT_EQ(dumped.probes, probed.probes);
	EXPECT_EQ(dumped.snd_wnd_known, probed.snd_wnd_known);
	EXPECT_TRUE(lookup(cookie_of(p.cli), &dumped));
}

// A socket whose peer sent FIN is in CLOSE_WAIT: left out of the dump, so
// that it is probed, SO_ERROR and SIOCINQ included.
TEST_F(Diag, CloseWaitIsLeftToTheProbe)
{
	Pair p;
	ASSERT_NO_FATAL_FAILURE(p.open());
	close(p.srv);
	p.srv = -1;
	struct wd_sample s;
	for (int i = 0; i < 500; i++) {
		ASSERT_EQ(wd_probe(p.cli, &s), 0);
		if (s.state == WD_TCP_CLOSE_WAIT)
			break;
		poll(nullptr, 0, 10);
	}
	ASSERT_EQ(s.state, WD_TCP_CLOSE_WAIT);
	if (!dump_or_skip(d))
		GTEST_SKIP() << "no sock_diag here";
	EXPECT_FALSE(lookup(cookie_of(p.cli), &s));
}

// A dump has a time of its own, however many replies it takes: one out of
// time is given up (EAGAIN) and leaves nothing behind, and the next one
// starts clean.
TEST_F(Diag, ADumpOutOfTimeIsGivenUp)
{
	Pair p;
	ASSERT_NO_FATAL_FAILURE(p.open());
	if (!dump_or_skip(d))
		GTEST_SKIP() << "no sock_diag here";
	struct wd_sample s;
	ASSERT_TRUE(lookup(cookie_of(p.cli), &s));
	errno = 0;
	EXPECT_EQ(wd_diag_dump(d, WD_DIAG_INET | WD_DIAG_INET6, 0), -1);
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_FALSE(lookup(cookie_of(p.cli), &s));
	ASSERT_TRUE(dump_or_skip(d));
	EXPECT_TRUE(lookup(cookie_of(p.cli), &s));
}

// The dump's time ends well before the sweep under way counts as stuck
// (which exits 70), so that the sweep can still probe each link: half of
// WD_STUCK_PERIODS periods, and a second at most.
TEST(DiagTime, ADumpEndsBeforeTheSweepIsStuck)
{
	for (int period : { 1, 10, 50, 100, 200, 250, 1000, 60000 }) {
		int ms = wd_dump_timeout_ms(period);
		EXPECT_GT(ms, 0) << period;
		EXPECT_LE(ms, 1000) << period;
		EXPECT_LE(2 * (int64_t)ms, (int64_t)WD_STUCK_PERIODS * period)
		    << period;
	}
	EXPECT_EQ(wd_dump_timeout_ms(100), 500);
}
