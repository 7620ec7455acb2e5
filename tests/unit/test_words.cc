// The last words of a link: the last WORDS_MAX bytes, in order, across
// chunks of any size, and the bytes that went by unseen after them.
#include <gtest/gtest.h>

#include <string>

#include "words.h"

namespace {

std::string
held(struct words *w, uint64_t *skipped = nullptr)
{
	struct words_snap s;
	words_copy(w, &s);
	if (skipped != nullptr)
		*skipped = s.skipped;
	return std::string(reinterpret_cast<const char *>(s.b), s.len);
}

class Words : public ::testing::Test {
protected:
	void SetUp() override { words_init(&w_); }
	void TearDown() override { words_destroy(&w_); }
	struct words w_;
};

}  // namespace

TEST_F(Words, KeepsTheLastBytesAcrossChunks)
{
	EXPECT_EQ(held(&w_), "");
	words_add(&w_, "hello ", 6);
	words_add(&w_, "press", 5);
	EXPECT_EQ(held(&w_), "hello press");

	// 100 bytes in chunks of 7: the last 64, in order.
	std::string all;
	for (int i = 0; i < 100; i++)
		all += (char)('A' + i % 26);
	for (size_t at = 0; at < all.size(); at += 7) {
		std::string c = all.substr(at, 7);
		words_add(&w_, c.data(), c.size());
	}
	EXPECT_EQ(held(&w_), all.substr(all.size() - WORDS_MAX));

	// One chunk longer than the window: its own tail.
	words_add(&w_, all.data(), all.size());
	EXPECT_EQ(held(&w_), all.substr(all.size() - WORDS_MAX));
	// Exactly the window, then one byte.
	words_add(&w_, all.data(), WORDS_MAX);
	words_add(&w_, "!", 1);
	EXPECT_EQ(held(&w_), all.substr(1, WORDS_MAX - 1) + "!");
}

TEST_F(Words, CountsWhatPassedUnseenAfterThem)
{
	uint64_t skipped = 1;
	words_add(&w_, "tail", 4);
	words_skip(&w_, 65536);
	words_skip(&w_, 100);
	EXPECT_EQ(held(&w_, &skipped), "tail");
	EXPECT_EQ(skipped, 65636u);
	// Seen bytes again: nothing passed after them.
	words_add(&w_, "next", 4);
	EXPECT_EQ(held(&w_, &skipped), "tailnext");
	EXPECT_EQ(skipped, 0u);
	// A new connection forgets.
	words_clear(&w_);
	EXPECT_EQ(held(&w_, &skipped), "");
	EXPECT_EQ(skipped, 0u);
}
