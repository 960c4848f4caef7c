#include "core/utf8.h"

#include <gtest/gtest.h>

namespace tether {
namespace {

TEST(Utf8Test, ValidityFollowsTheWellFormedTable) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("plain ascii"));
  EXPECT_TRUE(IsUtf8("\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80"));  // é ✓ 😀
  EXPECT_EQ(InvalidUtf8At("A\xFF"
                          "B"),
            1u);
  EXPECT_EQ(InvalidUtf8At("ok\xC3"), 2u);            // a sequence cut at the end
  EXPECT_EQ(InvalidUtf8At("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(InvalidUtf8At("\xED\xA0\x80"), 0u);      // a surrogate
  EXPECT_EQ(InvalidUtf8At("\xF4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(InvalidUtf8At("\xE2\x9C"
                          "x"),
            0u);
}

TEST(Utf8Test, EscapeShowsStrayBytesAndKeepsCharacters) {
  EXPECT_EQ(EscapeInvalidUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(EscapeInvalidUtf8("A\xFF"
                              "B\xC3"),
            "A\\xFFB\\xC3");
  EXPECT_TRUE(IsUtf8(EscapeInvalidUtf8("\xF0\x9F\x98\xFF\x80\xC3\xA9")));
  EXPECT_EQ(EscapeInvalidUtf8("\xF0\x9F\x98\xFF\xC3\xA9"), "\\xF0\\x9F\\x98\\xFF\xC3\xA9");
}

TEST(Utf8Test, ExcerptCutsOnCharacterBoundaries) {
  const std::string e = "\xC3\xA9";  // é, two bytes
  std::string many;
  for (int i = 0; i < 21; ++i) many += e;
  EXPECT_EQ(Utf8Excerpt(many, 40), many);  // 21 characters fit
  const std::string cut = Utf8Excerpt(many, 10);
  EXPECT_TRUE(IsUtf8(cut));
  EXPECT_EQ(Utf8Length(cut), 10u);
  EXPECT_EQ(cut.substr(cut.size() - 3), "...");
  std::string seven;
  for (int i = 0; i < 7; ++i) seven += e;
  EXPECT_EQ(cut, seven + "...");
  // Four-byte characters, and a long input whose cut falls inside one.
  std::string emoji;
  for (int i = 0; i < 1000; ++i) emoji += "\xF0\x9F\x98\x80";
  const std::string short_emoji = Utf8Excerpt(emoji, 5);
  EXPECT_EQ(short_emoji, "\xF0\x9F\x98\x80\xF0\x9F\x98\x80...");
  // Stray bytes are escaped, and count as the characters they are shown as.
  EXPECT_EQ(Utf8Excerpt(std::string(100, '\xFF'), 9), "\\xFF\\x...");
  EXPECT_EQ(Utf8Excerpt("ab", 1), "ab");  // at least 4 characters are kept
}

TEST(Utf8Test, LengthCountsCharacters) {
  EXPECT_EQ(Utf8Length(""), 0u);
  EXPECT_EQ(Utf8Length("\xC3\xA9t\xC3\xA9"), 3u);
  EXPECT_EQ(Utf8Length("\xF0\x9F\x98\x80"), 1u);
}

}  // namespace
}  // namespace tether
