// Normalized (core/normalize.h): what `match: [{ column, normalize }]` compares — A-Z lowered and
// spaces trimmed, nothing else, so that every engine computes the same.
#include "core/normalize.h"

#include <gtest/gtest.h>

namespace tether {
namespace {

TEST(NormalizeTest, LowerChangesOnlyAToZAndTrimOnlySpaces) {
  const Normalization lower{true, false}, trim{false, true}, both{true, true};
  EXPECT_EQ(Normalized(Value::Text("CaseTest@X.com"), lower), Value::Text("casetest@x.com"));
  EXPECT_EQ(Normalized(Value::Text("ÉVA Ærø"), lower), Value::Text("Éva Ærø"));
  EXPECT_EQ(Normalized(Value::Text("  a b  "), trim), Value::Text("a b"));
  EXPECT_EQ(Normalized(Value::Text("\ta\n"), trim), Value::Text("\ta\n"));
  EXPECT_EQ(Normalized(Value::Text("   "), both), Value::Text(""));
  EXPECT_EQ(Normalized(Value::Text(" Bob@X "), both), Value::Text("bob@x"));
  EXPECT_EQ(Normalized(Value::Text("Bob"), Normalization{}), Value::Text("Bob"));
  // Other kinds are left as they are.
  EXPECT_EQ(Normalized(Value::Int(7), both), Value::Int(7));
  EXPECT_EQ(Normalized(Value::Null(), both), Value::Null());
  EXPECT_EQ(Normalized(Value::Blob("AB "), both), Value::Blob("AB "));
  EXPECT_EQ(Normalized(Row{Value::Text("A"), Value::Text(" B ")}, {Normalization{}, both}),
            (Row{Value::Text("A"), Value::Text("b")}));
  EXPECT_EQ(NormalizationName(both), "lower, trim");
  EXPECT_EQ(NormalizationSuffix(both), "_lower_trim");
  EXPECT_TRUE(AnyNormalized({Normalization{}, trim}));
  EXPECT_FALSE(AnyNormalized({Normalization{}}));
}

}  // namespace
}  // namespace tether
