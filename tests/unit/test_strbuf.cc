// Unit tests for strbuf: appends, growth, printf of any length, take.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "strbuf.h"

TEST(Strbuf, TakeOfNothingIsAnEmptyString)
{
	struct strbuf sb;
	size_t len = 99;

	strbuf_init(&sb);
	char *p = strbuf_take(&sb, &len);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(len, 0u);
	EXPECT_STREQ(p, "");
	free(p);
	EXPECT_EQ(sb.buf, nullptr);
}

TEST(Strbuf, AppendsGrowAndStayTerminated)
{
	struct strbuf sb;
	std::string want;

	strbuf_init(&sb);
	for (int i = 0; i < 5000; i++) {
		std::string piece = std::to_string(i) + ",";
		ASSERT_EQ(strbuf_add(&sb, piece.data(), piece.size()), 0);
		want += piece;
		ASSERT_EQ(strbuf_puts(&sb, "x"), 0);
		want += "x";
		ASSERT_EQ(sb.buf[sb.len], '\0');
	}
	EXPECT_EQ(std::string(sb.buf, sb.len), want);
	EXPECT_FALSE(sb.failed);
	strbuf_free(&sb);
	EXPECT_EQ(sb.buf, nullptr);
	EXPECT_EQ(sb.len, 0u);
}

TEST(Strbuf, PrintfOfAnyLength)
{
	struct strbuf sb;
	std::string big(10000, 'a');
	size_t len;

	strbuf_init(&sb);
	ASSERT_EQ(strbuf_printf(&sb, "%d-", 42), 0);
	ASSERT_EQ(strbuf_printf(&sb, "%s|%s", big.c_str(), "end"), 0);
	ASSERT_EQ(strbuf_printf(&sb, "%s", ""), 0);
	char *p = strbuf_take(&sb, &len);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(std::string(p, len), "42-" + big + "|end");
	EXPECT_EQ(p[len], '\0');
	free(p);
}

TEST(Strbuf, FailedBufferAppendsNothingAndTakesNull)
{
	struct strbuf sb;
	size_t len;

	strbuf_init(&sb);
	ASSERT_EQ(strbuf_puts(&sb, "abc"), 0);
	sb.failed = true;	// as after an allocation failure
	EXPECT_EQ(strbuf_puts(&sb, "def"), -1);
	EXPECT_EQ(strbuf_printf(&sb, "%d", 1), -1);
	EXPECT_EQ(sb.len, 3u);
	EXPECT_EQ(strbuf_take(&sb, &len), nullptr);
	EXPECT_EQ(sb.buf, nullptr);
}

TEST(Strbuf, HexTwoLowerCaseDigitsPerByte)
{
	struct strbuf sb;
	const unsigned char bytes[] = { 0x00, 0x0f, 0x7f, 0xa5, 0xff };
	std::string big(5000, '\x3c');

	strbuf_init(&sb);
	ASSERT_EQ(strbuf_puts(&sb, "x="), 0);
	ASSERT_EQ(strbuf_hex(&sb, bytes, sizeof(bytes)), 0);
	ASSERT_EQ(strbuf_hex(&sb, bytes, 0), 0);
	EXPECT_STREQ(sb.buf, "x=000f7fa5ff");
	// Past the first allocation: grows, and stays terminated.
	ASSERT_EQ(strbuf_hex(&sb, big.data(), big.size()), 0);
	EXPECT_EQ(sb.len, 12u + 10000u);
	std::string want;
	for (int i = 0; i < 5000; i++)
		want += "3c";
	EXPECT_EQ(std::string(sb.buf + 12), want);
	strbuf_free(&sb);
}

TEST(Strbuf, DropKeepsTheRestTerminatedAndAppendable)
{
	struct strbuf sb;

	strbuf_init(&sb);
	ASSERT_EQ(strbuf_puts(&sb, "0123456789"), 0);
	strbuf_drop(&sb, 0);
	EXPECT_EQ(std::string(sb.buf, sb.len), "0123456789");
	strbuf_drop(&sb, 4);
	EXPECT_EQ(std::string(sb.buf, sb.len), "456789");
	EXPECT_EQ(sb.buf[sb.len], '\0');
	ASSERT_EQ(strbuf_puts(&sb, "ab"), 0);
	EXPECT_EQ(std::string(sb.buf, sb.len), "456789ab");
	strbuf_drop(&sb, sb.len);
	EXPECT_EQ(sb.len, 0u);
	EXPECT_EQ(sb.buf[0], '\0');
	strbuf_free(&sb);
}
