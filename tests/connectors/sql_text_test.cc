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

// The one condition writer: what differs between engines comes from the dialect, and a numbered
// placeholder continues after the parameters the statement already holds.
TEST(SqlTextTest, AppendConditionsWritesTheDialectsText) {
  const std::vector<Condition> conditions = {{"a b", Condition::Op::kLike, Value::Text("x%")},
                                             {"c", Condition::Op::kIsNull, {}},
                                             {"d`\"", Condition::Op::kGe, Value::Int(3)}};
  auto write = [&](const SqlDialect& dialect, size_t before) {
    std::string sql = "SELECT 1 FROM t";
    std::vector<const Value*> bound;
    const char* joiner = AppendConditions(conditions, dialect, &sql, [&](const Condition& c) {
      bound.push_back(&c.value);
      return before + bound.size();
    });
    EXPECT_STREQ(joiner, " AND ");
    EXPECT_EQ(bound.size(), 2u);
    return sql;
  };
  EXPECT_EQ(write(SqlDialect{'"', true, "::text"}, 2),
            R"(SELECT 1 FROM t WHERE "a b"::text LIKE $3 AND "c" IS NULL AND "d`""" >= $4)");
  EXPECT_EQ(write(SqlDialect{'`', false, ""}, 0),
            "SELECT 1 FROM t WHERE `a b` LIKE ? AND `c` IS NULL AND `d``\"` >= ?");
  std::string none;
  EXPECT_STREQ(AppendConditions({}, SqlDialect{}, &none, [](const Condition&) { return 1; }),
               " WHERE ");
  EXPECT_EQ(none, "");
}

}  // namespace
}  // namespace tether
