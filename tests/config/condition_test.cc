// Tests for ParseCondition: every operator, quoting, number typing and malformed input.
#include <gtest/gtest.h>

#include "config/config.h"
#include "util/test_util.h"

namespace tether {
namespace {

using Op = Condition::Op;

Condition Cond(const std::string& text) {
  auto r = ParseCondition(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : Condition{};
}

TEST(ParseCondition, EveryOperator) {
  const std::vector<std::pair<std::string, Op>> cases = {
      {"a = 1", Op::kEq},  {"a != 1", Op::kNe}, {"a <> 1", Op::kNe}, {"a < 1", Op::kLt},
      {"a <= 1", Op::kLe}, {"a > 1", Op::kGt},  {"a >= 1", Op::kGe}, {"a like 1", Op::kLike},
  };
  for (const auto& [text, op] : cases) {
    Condition c = Cond(text);
    EXPECT_EQ(c.column, "a") << text;
    EXPECT_EQ(c.op, op) << text;
    EXPECT_EQ(c.value, Value::Int(1)) << text;
  }
  EXPECT_EQ(Cond("name LIKE 'A%'").op, Op::kLike);
  EXPECT_EQ(Cond("name Like 'A%'").value, Value::Text("A%"));
}

TEST(ParseCondition, NullTests) {
  Condition c = Cond("deleted_at is null");
  EXPECT_EQ(c.column, "deleted_at");
  EXPECT_EQ(c.op, Op::kIsNull);
  EXPECT_EQ(Cond("deleted_at IS NOT NULL").op, Op::kIsNotNull);
  EXPECT_EQ(Cond("  x   is   not\tnull  ").op, Op::kIsNotNull);
  EXPECT_EQ(Cond("x Is Null").op, Op::kIsNull);
}

TEST(ParseCondition, SpacingIsOptionalAroundSymbols) {
  Condition c = Cond("price>=10");
  EXPECT_EQ(c.column, "price");
  EXPECT_EQ(c.op, Op::kGe);
  EXPECT_EQ(c.value, Value::Int(10));
  c = Cond("  _col_2<>'x'  ");
  EXPECT_EQ(c.column, "_col_2");
  EXPECT_EQ(c.op, Op::kNe);
  EXPECT_EQ(c.value, Value::Text("x"));
}

TEST(ParseCondition, Numbers) {
  EXPECT_EQ(Cond("a = 42").value, Value::Int(42));
  EXPECT_EQ(Cond("a = -7").value, Value::Int(-7));
  EXPECT_EQ(Cond("a = +7").value, Value::Int(7));
  EXPECT_EQ(Cond("a = 007").value, Value::Int(7));
  EXPECT_EQ(Cond("a = 2.5").value, Value::Real(2.5));
  EXPECT_EQ(Cond("a = -.5").value, Value::Real(-0.5));
  EXPECT_EQ(Cond("a = 1e3").value, Value::Real(1000));
  EXPECT_EQ(Cond("a = 9223372036854775807").value, Value::Int(INT64_MAX));
  // Too large for an integer: kept exactly, as text.
  EXPECT_EQ(Cond("a = 99999999999999999999").value, Value::Text("99999999999999999999"));
  EXPECT_EQ(Cond("a = 1.2.3").value, Value::Text("1.2.3"));
  EXPECT_EQ(Cond("a = 12abc").value, Value::Text("12abc"));
  EXPECT_EQ(Cond("a = 0x10").value, Value::Text("0x10"));
}

TEST(ParseCondition, TextAndQuoting) {
  EXPECT_EQ(Cond("status = active").value, Value::Text("active"));
  EXPECT_EQ(Cond("name = John Smith").value, Value::Text("John Smith"));
  EXPECT_EQ(Cond("a = true").value, Value::Text("true"));
  EXPECT_EQ(Cond("a = '42'").value, Value::Text("42"));  // quoted: always text
  EXPECT_EQ(Cond("a = \"2.5\"").value, Value::Text("2.5"));
  EXPECT_EQ(Cond("a = ''").value, Value::Text(""));
  EXPECT_EQ(Cond("a = 'it''s'").value, Value::Text("it's"));
  EXPECT_EQ(Cond("a = \"say \"\"hi\"\"\"").value, Value::Text("say \"hi\""));
  EXPECT_EQ(Cond("a = 'null'").value, Value::Text("null"));
  EXPECT_EQ(Cond("a = 'x' ").value, Value::Text("x"));
  // The value is data: SQL in it stays text.
  EXPECT_EQ(Cond("a = 1; DROP TABLE t").value, Value::Text("1; DROP TABLE t"));
  EXPECT_EQ(Cond("a = 'x'' OR ''1''=''1'").value, Value::Text("x' OR '1'='1"));
}

TEST(ParseCondition, BadInput) {
  for (
      const char* bad :
      {"",         "   ",         "1abc = 2", "a.b = 1",        "\"a\" = 1", "a-b = 1", "a",
       "a =",      "a = ",        "a == 1",   "a => 1",         "a ~ 1",     "a is",    "a is not",
       "a is nul", "a is null x", "a isnull", "a = 'open",      "a = 'x' y", "a like",  "a likes 1",
       "a = null", "a != NULL",   "(a = 1)",  "a = 1 or b = 2x"}) {
    auto r = ParseCondition(bad);
    if (std::string(bad) == "a = 1 or b = 2x") {
      // Everything after the operator is the value, so this one is valid text.
      EXPECT_TRUE(r.ok());
      continue;
    }
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "'" << bad << "'";
  }
  auto r = ParseCondition("price ?? 3");
  ASSERT_CODE(r, StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("?? 3"), std::string::npos) << r.status().message();
  r = ParseCondition("9lives = 1");
  ASSERT_CODE(r, StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("9lives"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace tether
