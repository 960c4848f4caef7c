#include "core/value.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tether {
namespace {

TEST(ValueTest, KindsAndEquality) {
  EXPECT_TRUE(Value().is_null());
  EXPECT_EQ(Value::Int(1), Value::Int(1));
  EXPECT_NE(Value::Int(1), Value::Real(1.0));  // exact: kinds differ
  EXPECT_NE(Value::Text(""), Value::Null());   // empty text is not NULL
  EXPECT_NE(Value::Text("a"), Value::Blob("a"));
  EXPECT_EQ(Value::Null(), Value::Null());
  EXPECT_TRUE(Value::Text("").IsEmpty());
  EXPECT_TRUE(Value::Null().IsEmpty());
  EXPECT_FALSE(Value::Int(0).IsEmpty());
}

TEST(ValueTest, ToText) {
  EXPECT_EQ(Value::Int(-42).ToText(), "-42");
  EXPECT_EQ(Value::Real(12.5).ToText(), "12.5");
  EXPECT_EQ(Value::Real(0.1).ToText(), "0.1");
  EXPECT_EQ(Value::Blob(std::string("\x0a\xff", 2)).ToText(), "x'0aff'");
  EXPECT_EQ(Value::Decimal("12.50").ToText(), "12.50");
  EXPECT_EQ(Value::Bool(true).ToText(), "true");
  EXPECT_EQ(Value::Null().ToText(), "NULL");
}

TEST(ValueTest, JsonRoundTripKeepsKinds) {
  for (const Value& v :
       {Value::Null(), Value::Int(7), Value::Real(2.25), Value::Text("ü😀"),
        Value::Blob(std::string("\0\1", 2)), Value::Decimal("0.10"), Value::Bool(false)}) {
    EXPECT_EQ(ValueFromJson(ValueToJson(v)), v) << v.ToText();
  }
}

TEST(KeyTest, SingleKeysAreTheirText) {
  EXPECT_EQ(EncodeKey({Value::Int(42)}), "42");
  EXPECT_EQ(EncodeKey({Value::Text("SKU-1")}), "SKU-1");
  Row back;
  ASSERT_TRUE(DecodeKey("42", 1, &back));
  EXPECT_EQ(back, Row{Value::Int(42)});
  ASSERT_TRUE(DecodeKey("SKU-1", 1, &back));
  EXPECT_EQ(back, Row{Value::Text("SKU-1")});
}

TEST(KeyTest, CompositeKeysAreJsonArraysAndRoundTrip) {
  Row key{Value::Int(5), Value::Text("007"), Value::Text("a,\"b\"")};
  std::string text = EncodeKey(key);
  EXPECT_EQ(text, R"([5,"007","a,\"b\""])");
  Row back;
  ASSERT_TRUE(DecodeKey(text, 3, &back));
  EXPECT_EQ(back, key);  // "007" stays text
  EXPECT_FALSE(DecodeKey(text, 2, &back));
  EXPECT_FALSE(DecodeKey("not json", 2, &back));
}

TEST(HashTest, StableAndSensitive) {
  Row a{Value::Int(1), Value::Text("x"), Value::Null()};
  EXPECT_EQ(HashRow(a), HashRow(a));
  EXPECT_EQ(HashRow(a).size(), 16u);
  EXPECT_NE(HashRow(a), HashRow({Value::Int(1), Value::Text("x"), Value::Text("")}));
  EXPECT_NE(HashRow(a), HashRow({Value::Int(1), Value::Text("y"), Value::Null()}));
  // Length prefixes: moving a boundary between fields changes the hash.
  EXPECT_NE(HashRow({Value::Text("ab"), Value::Text("c")}),
            HashRow({Value::Text("a"), Value::Text("bc")}));
  EXPECT_NE(HashRow({Value::Int(1)}), HashRow({Value::Real(1.0)}));
}

}  // namespace
}  // namespace tether
