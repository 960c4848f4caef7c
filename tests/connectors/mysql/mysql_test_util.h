// Helpers shared by the MySQL/MariaDB connector tests. Test threads only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "util/test_database.h"
#include "util/test_util.h"

namespace tether::testing {

// A fresh MariaDB database and a connector to it named "target".
class MysqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok());
    conn_ = db_.Open("target");
    ASSERT_NE(conn_, nullptr);
  }

  void Exec(const std::string& sql) { ASSERT_OK(conn_->ExecuteScript(sql)); }
  std::vector<std::string> Rows(const std::string& sql) { return db_.Rows(sql); }

  TestDatabase db_{"mysql"};
  std::unique_ptr<Connector> conn_;
};

}  // namespace tether::testing
