#include "core/status.h"

#include <gtest/gtest.h>

namespace tether {
namespace {

TEST(StatusTest, CodesContextAndRetry) {
  Status s = Status::Busy("database is locked");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsRetryable());
  EXPECT_FALSE(Status::Constraint("unique").IsRetryable());
  Status c = s.WithContext("connection 'live'");
  EXPECT_EQ(c.code(), StatusCode::kBusy);
  EXPECT_EQ(c.message(), "connection 'live': database is locked");
  EXPECT_EQ(c.ToString(), "Busy: connection 'live': database is locked");
  EXPECT_TRUE(Status::OK().ok());
}

Result<int> Half(int n) {
  if (n % 2) return Status::InvalidArgument("odd");
  return n / 2;
}

Status UseHalf(int n, int* out) {
  TETHER_ASSIGN_OR_RETURN(*out, Half(n));
  return Status::OK();
}

TEST(StatusTest, ResultAndMacros) {
  int out = 0;
  EXPECT_TRUE(UseHalf(8, &out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_EQ(UseHalf(3, &out).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tether
