#include "core/regex.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace tether {
namespace {

TEST(RegexTest, FullAndPartialMatch) {
  Regex sku = Regex::Trusted("[A-Z0-9-]+");
  EXPECT_TRUE(sku.FullMatch("AB-12"));
  EXPECT_FALSE(sku.FullMatch("AB 12"));
  EXPECT_TRUE(sku.PartialMatch("ab AB-12 cd"));
  EXPECT_FALSE(Regex::Trusted("^[a-z]+$").PartialMatch("abc1"));
  // Characters, not bytes: "." is one code point.
  EXPECT_TRUE(Regex::Trusted("...").FullMatch("été"));
}

TEST(RegexTest, WhatRe2CannotDoIsRefusedWithItsReason) {
  for (const char* pattern : {"(a", R"((a)\1)", "(?=a)a", "(?<!a)b", "a{1001}", "[z-a]"}) {
    Result<Regex> r = Regex::Compile(pattern);
    ASSERT_FALSE(r.ok()) << pattern;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << pattern;
    EXPECT_FALSE(r.status().message().empty()) << pattern;
  }
}

TEST(RegexTest, TimeIsLinearInTheInput) {
  // A backtracking engine recurses once per repetition here (and overflowed its stack), and
  // tries 2^n splits of n a's before the '!' there.
  const std::string ab = [] {
    std::string s(1 << 20, 'a');
    for (size_t i = 1; i < s.size(); i += 2) s[i] = 'b';
    return s;
  }();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(Regex::Trusted("(a|b)*").FullMatch(ab));
  EXPECT_FALSE(Regex::Trusted("(a|b)*").FullMatch(ab + "c"));
  EXPECT_FALSE(Regex::Trusted("(a+)+$").FullMatch(std::string(100000, 'a') + "!"));
  EXPECT_FALSE(Regex::Trusted("(x+x+)+y").PartialMatch(std::string(100000, 'x')));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10);
}

}  // namespace
}  // namespace tether
