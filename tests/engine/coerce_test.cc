// CoerceToColumn and SameValueIn: what a target column accepts, exactly, and what it refuses.
#include "engine/coerce.h"

#include <gtest/gtest.h>

#include "util/test_util.h"

namespace tether {
namespace {

ColumnInfo Column(TypeClass type, std::optional<int> precision = {},
                  std::optional<int> scale = {}) {
  ColumnInfo c;
  c.name = "c";
  c.type = type;
  c.precision = precision;
  c.scale = scale;
  return c;
}

std::string Reason(const Value& v, const ColumnInfo& c) {
  Result<Value> r = CoerceToColumn(v, c);
  return r.ok() ? "" : r.status().message();
}

TEST(CoerceTest, DecimalsStayExactAndFitTheColumn) {
  ColumnInfo money = Column(TypeClass::kDecimal, 12, 2);
  Result<Value> v = CoerceToColumn(Value::Text("12.5"), money);
  ASSERT_OK(v);
  EXPECT_EQ(*v, Value::Decimal("12.5"));
  v = CoerceToColumn(Value::Decimal("123456789012345678901234.125"), Column(TypeClass::kDecimal));
  ASSERT_OK(v);
  EXPECT_EQ(v->as_string(), "123456789012345678901234.125");  // no double on the way
  v = CoerceToColumn(Value::Real(0.1), money);
  ASSERT_OK(v);
  EXPECT_EQ(*v, Value::Decimal("0.1"));
  EXPECT_NE(
      Reason(Value::Decimal("1.005"), money).find("3 digits after the point; the column keeps 2"),
      std::string::npos);
  EXPECT_NE(Reason(Value::Int(12345678901), money).find("11 digits before the point"),
            std::string::npos);
  EXPECT_EQ(Reason(Value::Int(9999999999), money), "");
  EXPECT_NE(Reason(Value::Text("12,50"), money).find("not a number"), std::string::npos);
  EXPECT_NE(Reason(Value::Real(1.0 / 0.0), money).find("not a finite"), std::string::npos);
}

TEST(CoerceTest, TemporalValuesBecomeCanonical) {
  Result<Value> v =
      CoerceToColumn(Value::Text("2024-03-01T13:05:09.120Z"), Column(TypeClass::kTimestamp));
  ASSERT_OK(v);
  EXPECT_EQ(v->as_string(), "2024-03-01 13:05:09.12");
  v = CoerceToColumn(Value::Text("2024-03-01 15:05:09+02:00"), Column(TypeClass::kTimestampTz));
  ASSERT_OK(v);
  EXPECT_EQ(v->as_string(), "2024-03-01 13:05:09+00:00");
  v = CoerceToColumn(Value::Text("2024-03-01"), Column(TypeClass::kDate));
  ASSERT_OK(v);
  EXPECT_EQ(v->as_string(), "2024-03-01");
  EXPECT_NE(Reason(Value::Text("2024-03-01 13:05:09.5"), Column(TypeClass::kTimestamp, {}, 0))
                .find("1 digits of fractional seconds; the column keeps 0"),
            std::string::npos);
  EXPECT_NE(Reason(Value::Text("0000-00-00 00:00:00"), Column(TypeClass::kTimestamp))
                .find("not a valid timestamp"),
            std::string::npos);
  EXPECT_NE(Reason(Value::Int(5), Column(TypeClass::kDate)).find("not a date"), std::string::npos);
}

TEST(CoerceTest, JsonAndUuid) {
  EXPECT_EQ(Reason(Value::Text(R"({"a":[1,2]})"), Column(TypeClass::kJson)), "");
  EXPECT_NE(Reason(Value::Text("{a:1}"), Column(TypeClass::kJson)).find("not valid JSON"),
            std::string::npos);
  Result<Value> v = CoerceToColumn(Value::Text("{0E3C4C1A-9B1F-4B6E-8F00-0123456789AB}"),
                                   Column(TypeClass::kUuid));
  ASSERT_OK(v);
  EXPECT_EQ(v->as_string(), "0e3c4c1a-9b1f-4b6e-8f00-0123456789ab");
  EXPECT_NE(Reason(Value::Text("not-a-uuid"), Column(TypeClass::kUuid)).find("not a UUID"),
            std::string::npos);
}

TEST(CoerceTest, TextLimitsCountCharactersNotBytes) {
  ColumnInfo c = Column(TypeClass::kText);
  c.max_length = 3;
  EXPECT_EQ(Reason(Value::Text("\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"), c), "");
  EXPECT_NE(
      Reason(Value::Text("abcd"), c).find("4 characters, longer than the target's limit of 3"),
      std::string::npos);
  EXPECT_NE(Reason(Value::Blob("ab"), c).find("binary"), std::string::npos);
  Result<Value> empty = CoerceToColumn(Value::Text(""), c);
  ASSERT_OK(empty);
  EXPECT_FALSE(empty->is_null());
}

TEST(CoerceTest, SameValueInKnowsTheColumn) {
  EXPECT_TRUE(SameValueIn(Value::Text("2024-03-01T13:05:09Z"), Value::Text("2024-03-01 13:05:09"),
                          Column(TypeClass::kTimestamp)));
  EXPECT_FALSE(SameValueIn(Value::Text("2024-03-01 13:05:09.1"), Value::Text("2024-03-01 13:05:09"),
                           Column(TypeClass::kTimestamp)));
  EXPECT_TRUE(SameValueIn(Value::Text(R"({"b": 2, "a": 1})"), Value::Text(R"({"a":1,"b":2})"),
                          Column(TypeClass::kJson)));
  EXPECT_FALSE(SameValueIn(Value::Text(R"({"a":1})"), Value::Text(R"({"a":"1"})"),
                           Column(TypeClass::kJson)));
  EXPECT_FALSE(SameValueIn(Value::Text(R"({"b": 2, "a": 1})"), Value::Text(R"({"a":1,"b":2})"),
                           Column(TypeClass::kText)));
  EXPECT_TRUE(SameValueIn(Value::Decimal("12.50"), Value::Real(12.5), Column(TypeClass::kDecimal)));
  EXPECT_FALSE(SameValueIn(Value::Text(""), Value::Null(), Column(TypeClass::kText)));
}

}  // namespace
}  // namespace tether

namespace tether {
namespace {

TEST(CoerceTest, DecimalsWiderThanTheEngineKeepsAreRefused) {
  ColumnInfo c = Column(TypeClass::kDecimal, 30, 10);
  c.significant_digits = 15;  // SQLite's NUMERIC affinity
  EXPECT_EQ(Reason(Value::Decimal("123456789012.125"), c), "");
  EXPECT_EQ(Reason(Value::Decimal("123456789012345678"), c), "");  // an int64
  EXPECT_NE(Reason(Value::Decimal("12345678901234567890.0123456789"), c)
                .find("has 30 significant digits; the target keeps 15 exactly"),
            std::string::npos);
  ColumnInfo unbounded = Column(TypeClass::kDecimal);
  unbounded.significant_digits = 15;
  EXPECT_NE(Reason(Value::Decimal("0.000000000123456789012345678"), unbounded)
                .find("has 18 significant digits"),
            std::string::npos);
}

}  // namespace
}  // namespace tether
