// Reading back stored numbers: an engine may return one as an integer, a decimal or text; what is
// no whole number is an error naming where it was read, never an exception.
#include "core/stored.h"

#include <gtest/gtest.h>

namespace tether {
namespace {

TEST(StoredTest, WholeNumbersReadInEveryForm) {
  EXPECT_EQ(*StoredInt(Value::Int(42), "t.c"), 42);
  EXPECT_EQ(*StoredInt(Value::Null(), "t.c"), 0);
  EXPECT_EQ(*StoredInt(Value::Bool(true), "t.c"), 1);
  EXPECT_EQ(*StoredInt(Value::Text("-7"), "t.c"), -7);
  EXPECT_EQ(*StoredInt(Value::Decimal("12.000"), "t.c"), 12);
  EXPECT_EQ(*StoredInt("9223372036854775807", "t.c"), INT64_MAX);
  EXPECT_EQ(StoredText(Value::Null()), "");
  EXPECT_EQ(StoredText(Value::Int(5)), "5");
}

TEST(StoredTest, AnythingElseIsAnErrorNamingWhere) {
  for (const Value& bad :
       {Value::Text("seven"), Value::Text("12abc"), Value::Text(""), Value::Decimal("1.5"),
        Value::Text("99999999999999999999"), Value::Real(2.5)}) {
    Result<int64_t> n = StoredInt(bad, "tether_runs.inserted");
    ASSERT_FALSE(n.ok()) << bad.ToText();
    EXPECT_EQ(n.status().code(), StatusCode::kInternal);
    EXPECT_NE(n.status().message().find("tether_runs.inserted"), std::string::npos);
  }
}

TEST(StoredTest, ARowKeepsItsFirstBadValue) {
  const std::vector<std::string> columns = {"name", "a", "b"};
  const Row row = {Value::Text("x"), Value::Text("oops"), Value::Text("bad")};
  StoredRow in(row, "t", columns);
  EXPECT_EQ(in.Text(0), "x");
  EXPECT_EQ(in.Int(1), 0);
  EXPECT_EQ(in.Int(2), 0);
  EXPECT_EQ(in.status().code(), StatusCode::kInternal);
  EXPECT_NE(in.status().message().find("t.a"), std::string::npos);
}

}  // namespace
}  // namespace tether
