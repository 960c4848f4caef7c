// Helpers shared by the PostgreSQL connector tests: one test database per suite (creating a
// database per test would dominate the run time) and small readers. Test threads only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.h"
#include "util/test_database.h"
#include "util/test_util.h"

namespace tether::testing {

// A fixture whose tests share one fresh database; each test gets its own connector `pg_`
// named "pg".
class PostgresFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { db_ = new TestDatabase("postgres"); }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(db_->ok());
    pg_ = db_->Open("pg");
    ASSERT_NE(pg_, nullptr);
  }

  static std::vector<std::string> Rows(const std::string& sql, const Row& params = {}) {
    return db_->Rows(sql, params);
  }

  static TestDatabase* db_;
  std::unique_ptr<Connector> pg_;
};

inline TestDatabase* PostgresFixture::db_ = nullptr;

}  // namespace tether::testing
