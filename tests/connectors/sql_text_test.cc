// The SQL text pieces shared by the SQL connectors: quoted literals for DDL and identifiers cut
// to an engine's limit without two long names colliding.
#include "connectors/sql_text.h"

#include <gtest/gtest.h>

namespace tether {
namespace {

TEST(SqlTextTest, QuoteLiteralDoublesQuotesAndOnlyWhereAskedBackslashes) {
  EXPECT_EQ(QuoteLiteral("plain", false), "'plain'");
  EXPECT_EQ(QuoteLiteral("it's", false), "'it''s'");
  EXPECT_EQ(QuoteLiteral("a\\'b", false), "'a\\''b'");
  EXPECT_EQ(QuoteLiteral("a\\'b", true), "'a\\\\''b'");
  EXPECT_EQ(QuoteLiteral("", true), "''");
}

TEST(SqlTextTest, ShortIdentifierKeepsShortNamesAndSeparatesLongOnes) {
  EXPECT_EQ(ShortIdentifier("tether_track_product", 63), "tether_track_product");
  const std::string a = "tether_track_" + std::string(60, 'x') + "_a";
  const std::string b = "tether_track_" + std::string(60, 'x') + "_b";
  const std::string sa = ShortIdentifier(a, 63), sb = ShortIdentifier(b, 63);
  EXPECT_LE(sa.size(), 63u);
  EXPECT_LE(sb.size(), 63u);
  EXPECT_NE(sa, sb);
  EXPECT_EQ(sa, ShortIdentifier(a, 63));  // stable
  // A multi-byte character at the cut is not split.
  const std::string accented =
      std::string(53, 'a') + "\xC3\xA9\xC3\xA9\xC3\xA9" + std::string(10, 'z');
  const std::string cut = ShortIdentifier(accented, 63);
  EXPECT_LE(cut.size(), 63u);
  const size_t underscore = cut.rfind('_');
  ASSERT_NE(underscore, std::string::npos);
  EXPECT_NE(static_cast<unsigned char>(cut[underscore - 1]), 0xC3u) << cut;
}

}  // namespace
}  // namespace tether
