// test_addr.cc -- HOST:PORT and CIDR parsing, source-address matching.

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include <string>

#include <gtest/gtest.h>

extern "C" {
#include "addr.h"
}

namespace {

// A sockaddr from an address literal (port 4242); family AF_UNSPEC when
// the literal does not parse.
struct Sa {
	struct sockaddr_storage	ss;

	explicit Sa(const char *lit, unsigned port = 4242)
	{
		struct sockaddr_in	*in = (struct sockaddr_in *)&ss;
		struct sockaddr_in6	*in6 = (struct sockaddr_in6 *)&ss;

		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, lit, &in->sin_addr) == 1) {
			in->sin_family = AF_INET;
			in->sin_port = htons(port);
		} else if (inet_pton(AF_INET6, lit, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(port);
		}
	}
	const struct sockaddr *sa() const { return (const struct sockaddr *)&ss; }
};

struct HostPortCase {
	const char	*in;
	const char	*host;		// expected; nullptr: must fail
	const char	*port_or_why;	// port when good, the reason when bad
};

const HostPortCase hostport_cases[] = {
	// good
	{ "127.0.0.1:502", "127.0.0.1", "502" },
	{ "0.0.0.0:15000", "0.0.0.0", "15000" },
	{ "[::1]:502", "::1", "502" },
	{ "[::]:1", "::", "1" },
	{ "[2001:db8::17]:65535", "2001:db8::17", "65535" },
	{ "[::ffff:10.1.2.3]:80", "::ffff:10.1.2.3", "80" },
	{ "[fe80::1%eth0]:502", "fe80::1%eth0", "502" },
	{ "mes.local:7000", "mes.local", "7000" },
	{ "localhost:80", "localhost", "80" },
	{ "plc_7.line-2.example.com.:502", "plc_7.line-2.example.com.", "502" },
	{ "a:1", "a", "1" },
	{ "host:00080", "host", "80" },		// stored without zeros
	{ "3com.example:9", "3com.example", "9" },
	// bad
	{ "", nullptr, "empty address" },
	{ "127.0.0.1", nullptr, "missing port" },
	{ "127.0.0.1:", nullptr, "missing port" },
	{ "mes.local", nullptr, "missing port" },
	{ ":502", nullptr, "missing host" },
	{ "[]:502", nullptr, "missing host" },
	{ "::1:502", nullptr, "IPv6 address must be in brackets" },
	{ "::1", nullptr, "IPv6 address must be in brackets" },
	{ "2001:db8::1:502", nullptr, "IPv6 address must be in brackets" },
	{ "[::1]", nullptr, "missing port" },
	{ "[::1]:", nullptr, "missing port" },
	{ "[::1]502", nullptr, "want ':' after ']'" },
	{ "[::1:502", nullptr, "missing ']' after IPv6 address" },
	{ "[1.2.3.4]:80", nullptr, "bad IPv6 address" },
	{ "[::g]:80", nullptr, "bad IPv6 address" },
	{ "[mes.local]:80", nullptr, "bad IPv6 address" },
	{ "[fe80::1%]:80", nullptr, "bad IPv6 address" },
	{ "[fe80::1%e/0]:80", nullptr, "bad IPv6 address" },

	{ "h:0", nullptr, "port out of range 1..65535" },
	{ "h:65536", nullptr, "port out of range 1..65535" },
	{ "h:99999999999999999999", nullptr, "port out of range 1..65535" },
	{ "h:abc", nullptr, "port is not a number" },
	{ "h:http", nullptr, "port is not a number" },
	{ "h:-1", nullptr, "port is not a number" },
	{ "h:+1", nullptr, "port is not a number" },
	{ "h: 1", nullptr, "port is not a number" },
	{ "h:1 ", nullptr, "port is not a number" },
	{ "h:0x10", nullptr, "port is not a number" },
	{ "256.1.1.1:1", nullptr, "bad IPv4 address" },
	{ "10.1:1", nullptr, "bad IPv4 address" },
	{ "010.0.0.1:1", nullptr, "bad IPv4 address" },
	{ "1.2.3.4.5:1", nullptr, "bad IPv4 address" },
	{ "bad host:1", nullptr, "bad character in host name" },
	{ "h\xc3\xa9:1", nullptr, "bad character in host name" },
	{ "-a.example:1", nullptr, "host name label starts or ends with '-'" },
	{ "a-.example:1", nullptr, "host name label starts or ends with '-'" },
	{ "a..b:1", nullptr, "empty label in host name" },
	{ ".a:1", nullptr, "empty label in host name" },
};

class HostPort : public ::testing::TestWithParam<HostPortCase> {};

TEST_P(HostPort, Parses)
{
	const HostPortCase	&c = GetParam();
	struct addr_hostport	 hp;
	const char		*why = nullptr;
	int			 rc;

	memset(&hp, 'x', sizeof(hp));
	rc = addr_parse_hostport(c.in, &hp, &why);
	if (c.host != nullptr) {
		ASSERT_EQ(rc, 0) << c.in << ": " << (why ? why : "");
		EXPECT_STREQ(hp.host, c.host);
		EXPECT_STREQ(hp.port, c.port_or_why);
	} else {
		ASSERT_EQ(rc, -1) << c.in;
		ASSERT_NE(why, nullptr);
		EXPECT_STREQ(why, c.port_or_why) << c.in;
		EXPECT_EQ(hp.host[0], '\0');
	}
}

INSTANTIATE_TEST_SUITE_P(Table, HostPort, ::testing::ValuesIn(hostport_cases));

TEST(HostPortLimits, LongNames)
{
	struct addr_hostport	 hp;
	const char		*why;
	std::string		 label63(63, 'a'), label64(64, 'a'), name;

	EXPECT_EQ(addr_parse_hostport((label63 + ".x:1").c_str(), &hp, &why), 0);
	ASSERT_EQ(addr_parse_hostport((label64 + ".x:1").c_str(), &hp, &why), -1);
	EXPECT_STREQ(why, "host name label longer than 63");

	// 4 * 63 + 3 dots = 255 > 253.
	name = label63 + "." + label63 + "." + label63 + "." + label63;
	ASSERT_EQ(addr_parse_hostport((name + ":1").c_str(), &hp, &why), -1);
	EXPECT_STREQ(why, "host name too long");
	name = std::string(300, 'a');
	ASSERT_EQ(addr_parse_hostport((name + ":1").c_str(), &hp, &why), -1);
	EXPECT_STREQ(why, "host name too long");
	// 253 characters is the most a name may have.
	name = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
	ASSERT_EQ(name.size(), 253u);
	EXPECT_EQ(addr_parse_hostport((name + ":1").c_str(), &hp, &why), 0);
	EXPECT_EQ(addr_parse_hostport(nullptr, &hp, &why), -1);
}

struct CidrCase {
	const char	*in;
	int		 family;	// 0: must fail
	int		 prefix_or_0;
	const char	*why;
};

const CidrCase cidr_cases[] = {
	{ "10.0.0.0/8", AF_INET, 8, nullptr },
	{ "10.1.2.3", AF_INET, 32, nullptr },
	{ "10.1.2.3/32", AF_INET, 32, nullptr },
	{ "0.0.0.0/0", AF_INET, 0, nullptr },
	{ "192.168.1.128/25", AF_INET, 25, nullptr },
	{ "172.16.0.0/12", AF_INET, 12, nullptr },
	{ "::/0", AF_INET6, 0, nullptr },
	{ "::1", AF_INET6, 128, nullptr },
	{ "2001:db8::/32", AF_INET6, 32, nullptr },
	{ "fe80::/10", AF_INET6, 10, nullptr },
	{ "::ffff:10.0.0.0/104", AF_INET6, 104, nullptr },
	{ "10.0.0.0/08", AF_INET, 8, nullptr },
	{ "", 0, 0, "empty CIDR" },
	{ "10.0.0.1/8", 0, 0, "host bits set beyond the prefix length" },
	{ "192.168.1.129/25", 0, 0, "host bits set beyond the prefix length" },
	{ "2001:db8::1/32", 0, 0, "host bits set beyond the prefix length" },
	{ "10.0.0.0/33", 0, 0, "prefix length out of range 0..32" },
	{ "10.0.0.0/999999999999", 0, 0, "prefix length out of range 0..32" },
	{ "::/129", 0, 0, "prefix length out of range 0..128" },
	{ "10.0.0.0/", 0, 0, "missing prefix length" },
	{ "10.0.0.0/x", 0, 0, "prefix length is not a number" },
	{ "10.0.0.0/-1", 0, 0, "prefix length is not a number" },
	{ "10.0.0.0/8/8", 0, 0, "prefix length is not a number" },
	{ "10.0.0/8", 0, 0, "bad address" },
	{ "mes.local/8", 0, 0, "bad address" },
	{ "/8", 0, 0, "bad address" },
	{ "[::1]/128", 0, 0, "bad address" },
	{ "10.0.0.0 /8", 0, 0, "bad address" },
};

class Cidr : public ::testing::TestWithParam<CidrCase> {};

TEST_P(Cidr, Parses)
{
	const CidrCase		&c = GetParam();
	struct addr_cidr	 cidr;
	const char		*why = nullptr;
	int			 rc;

	rc = addr_parse_cidr(c.in, &cidr, &why);
	if (c.family != 0) {
		ASSERT_EQ(rc, 0) << c.in << ": " << (why ? why : "");
		EXPECT_EQ(cidr.family, c.family);
		EXPECT_EQ(cidr.prefix, c.prefix_or_0);
	} else {
		ASSERT_EQ(rc, -1) << c.in;
		EXPECT_STREQ(why, c.why) << c.in;
	}
}

INSTANTIATE_TEST_SUITE_P(Table, Cidr, ::testing::ValuesIn(cidr_cases));

struct MatchCase {
	const char	*cidr;
	const char	*addr;
	bool		 match;
};

const MatchCase match_cases[] = {
	{ "10.0.0.0/8", "10.1.2.3", true },
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "11.0.0.1", false },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "10.1.2.3", "10.1.2.3", true },
	{ "10.1.2.3", "10.1.2.4", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "192.168.1.128/25", "192.168.1.200", true },
	{ "192.168.1.128/25", "192.168.1.100", false },
	{ "172.16.0.0/12", "172.31.255.255", true },
	{ "172.16.0.0/12", "172.32.0.0", false },
	// An IPv4-mapped peer (dual-stack socket) counts as IPv4.
	{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
	{ "10.0.0.0/8", "::ffff:11.1.2.3", false },
	{ "127.0.0.1", "::ffff:127.0.0.1", true },
	// ... and an IPv6 entry that covers it as written matches too.
	{ "::/0", "::ffff:10.1.2.3", true },
	{ "::ffff:0:0/96", "::ffff:10.1.2.3", true },
	// Families do not mix otherwise.
	{ "10.0.0.0/8", "2001:db8::1", false },
	{ "0.0.0.0/0", "::1", false },
	{ "::/0", "10.1.2.3", false },
	{ "2001:db8::/32", "10.1.2.3", false },
	{ "2001:db8::/32", "2001:db8:1::1", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "fe80::/10", "febf::1", true },
	{ "fe80::/10", "fec0::1", false },
	{ "::1", "::1", true },
	{ "::1", "::2", false },
	{ "::/0", "2001:db8::1", true },
};

class Match : public ::testing::TestWithParam<MatchCase> {};

TEST_P(Match, Matches)
{
	const MatchCase		&c = GetParam();
	struct addr_cidr	 cidr;
	const char		*why;
	Sa			 sa(c.addr);

	ASSERT_EQ(addr_parse_cidr(c.cidr, &cidr, &why), 0) << c.cidr;
	ASSERT_NE(sa.ss.ss_family, AF_UNSPEC) << c.addr;
	EXPECT_EQ(addr_cidr_match(&cidr, sa.sa()), c.match)
	    << c.cidr << " vs " << c.addr;
}

INSTANTIATE_TEST_SUITE_P(Table, Match, ::testing::ValuesIn(match_cases));

TEST(MatchOther, UnknownFamilyNeverMatches)
{
	struct addr_cidr	cidr;
	struct sockaddr_un	un;
	const char		*why;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	ASSERT_EQ(addr_parse_cidr("0.0.0.0/0", &cidr, &why), 0);
	EXPECT_FALSE(addr_cidr_match(&cidr, (struct sockaddr *)&un));
	EXPECT_FALSE(addr_cidr_match(&cidr, nullptr));
	EXPECT_FALSE(addr_cidr_match(nullptr, Sa("1.2.3.4").sa()));
}

TEST(Format, Families)
{
	char	buf[64];

	EXPECT_STREQ(addr_format(Sa("192.0.2.1", 502).sa(), buf, sizeof(buf)),
	    "192.0.2.1:502");
	EXPECT_STREQ(addr_format(Sa("::1", 502).sa(), buf, sizeof(buf)),
	    "[::1]:502");
	EXPECT_STREQ(addr_format(Sa("2001:db8::1", 1).sa(), buf, sizeof(buf)),
	    "[2001:db8::1]:1");
	EXPECT_STREQ(addr_format(Sa("::ffff:10.0.0.1", 7).sa(), buf,
	    sizeof(buf)), "10.0.0.1:7");
	EXPECT_STREQ(addr_format(nullptr, buf, sizeof(buf)), "?");
}

TEST(Format, TruncatesSafely)
{
	char	buf[8];

	memset(buf, 'x', sizeof(buf));
	EXPECT_STREQ(addr_format(Sa("192.0.2.1", 502).sa(), buf, sizeof(buf)),
	    "192.0.2");
	EXPECT_EQ(addr_format(Sa("192.0.2.1", 502).sa(), buf, 0), buf);
}

struct OverlapCase {
	const char	*a, *b;
	bool		 overlap;
};

const OverlapCase overlap_cases[] = {
	{ "127.0.0.1:1", "127.0.0.1:1", true },
	{ "127.0.0.1:1", "127.0.0.1:2", false },
	{ "127.0.0.1:1", "127.0.0.2:1", false },
	{ "0.0.0.0:1", "127.0.0.1:1", true },
	{ "127.0.0.1:1", "0.0.0.0:1", true },
	{ "0.0.0.0:1", "0.0.0.0:2", false },
	{ "[::]:1", "127.0.0.1:1", true },	// dual stack takes IPv4 too
	{ "[::]:1", "0.0.0.0:1", true },
	{ "[::]:1", "[::1]:1", true },
	{ "127.0.0.1:1", "[::1]:1", false },
	{ "0.0.0.0:1", "[::1]:1", false },	// Linux binds both
	{ "0.0.0.0:1", "[fe80::1%lo]:1", false },
	{ "0.0.0.0:1", "[::ffff:127.0.0.1]:1", true },
	{ "[::ffff:0.0.0.0]:1", "127.0.0.1:1", true },
	{ "0.0.0.0:1", "[::%1]:1", true },	// a zone on [::] is [::]
	{ "0.0.0.0:1", "[::ffff:10.0.0.1%1]:1", true },
	{ "[::%1]:1", "[::1]:1", true },
	{ "[::1]:1", "[0:0::1]:1", true },
	{ "[::ffff:127.0.0.1]:1", "127.0.0.1:1", true },
	{ "mes.local:1", "MES.local.:1", true },
	{ "mes.local:1", "mes.local:2", false },
	{ "mes.local:1", "127.0.0.1:1", false },
	{ "mes.local:1", "0.0.0.0:1", true },
	{ "host:0080", "host:80", true },
};

class Overlap : public ::testing::TestWithParam<OverlapCase> {};

TEST_P(Overlap, Decides)
{
	const OverlapCase	&c = GetParam();
	struct addr_hostport	 a, b;
	const char		*why;

	ASSERT_EQ(addr_parse_hostport(c.a, &a, &why), 0) << c.a;
	ASSERT_EQ(addr_parse_hostport(c.b, &b, &why), 0) << c.b;
	EXPECT_EQ(addr_listen_overlap(&a, &b), c.overlap) << c.a << " " << c.b;
	EXPECT_EQ(addr_listen_overlap(&b, &a), c.overlap) << c.b << " " << c.a;
}

INSTANTIATE_TEST_SUITE_P(Table, Overlap, ::testing::ValuesIn(overlap_cases));

TEST(Zone, OnlyALinkLocalLiteralWithoutOneNeedsIt)
{
	EXPECT_TRUE(addr_needs_zone("fe80::2"));
	EXPECT_TRUE(addr_needs_zone("febf::1"));
	EXPECT_FALSE(addr_needs_zone("fe80::2%eth0"));
	EXPECT_FALSE(addr_needs_zone("fec0::1"));
	EXPECT_FALSE(addr_needs_zone("::1"));
	EXPECT_FALSE(addr_needs_zone("127.0.0.1"));
	EXPECT_FALSE(addr_needs_zone("plc1.example"));
}

TEST(Wildcard, Literals)
{
	EXPECT_TRUE(addr_host_is_wildcard("0.0.0.0"));
	EXPECT_TRUE(addr_host_is_wildcard("::"));
	EXPECT_TRUE(addr_host_is_wildcard("0:0::0"));
	EXPECT_FALSE(addr_host_is_wildcard("127.0.0.1"));
	EXPECT_FALSE(addr_host_is_wildcard("::1"));
	EXPECT_FALSE(addr_host_is_wildcard("localhost"));
}

}  // namespace
