#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "connectors/connector.h"
#include "connectors/mysql/mysql_connector.h"
#include "mysql_test_util.h"

namespace tether {
namespace {

using testing::Contains;
using testing::Drain;

struct Flavor {
  const char* name;
  MysqlFeatureLimits limits;
};

// Every test runs twice: with MariaDB's bulk execution and INSERT ... RETURNING, and without
// them, as on MySQL (multi-row statements, one UPDATE per row, LAST_INSERT_ID).
class MysqlWriteTest : public ::testing::TestWithParam<Flavor> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok());
    auto c = OpenMysqlConnectorWithLimits("target", db_.url(), GetParam().limits);
    ASSERT_OK(c);
    conn_ = std::move(c).value();
    ASSERT_OK(conn_->ExecuteScript(R"(
      CREATE TABLE customer (id BIGINT AUTO_INCREMENT PRIMARY KEY,
                             email VARCHAR(40) NOT NULL UNIQUE, name VARCHAR(10),
                             points INT DEFAULT 0);
    )"));
  }

  std::vector<std::string> Rows(const std::string& sql) { return db_.Rows(sql); }

  static Row Customer(int i) {
    return {Value::Text("c" + std::to_string(i) + "@a"), Value::Text("C" + std::to_string(i))};
  }

  testing::TestDatabase db_{"mysql"};
  std::unique_ptr<Connector> conn_;
};

TEST_P(MysqlWriteTest, InsertReturnsGeneratedIdsInInputOrder) {
  ASSERT_OK(conn_->Insert("customer", {"id", "email"}, {{Value::Int(10), Value::Text("x@a")}}, {}));
  std::vector<Row> rows;
  for (int i = 0; i < 2100; ++i) rows.push_back(Customer(i));
  auto ids = conn_->Insert("customer", {"email", "name"}, rows, {"id", "email"});
  ASSERT_OK(ids);
  ASSERT_EQ(ids->size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ((*ids)[i].size(), 2u);
    EXPECT_EQ((*ids)[i][0], Value::Int(static_cast<int64_t>(11 + i))) << i;
    EXPECT_EQ((*ids)[i][1], rows[i][0]) << i;
  }
  EXPECT_EQ(Rows("SELECT COUNT(*), MAX(id) FROM customer"), std::vector<std::string>{"2101|2110"});
  // An explicit key comes back as given.
  auto given =
      conn_->Insert("customer", {"id", "email"}, {{Value::Int(5000), Value::Text("y@a")}}, {"id"});
  ASSERT_OK(given);
  EXPECT_EQ((*given)[0], Row{Value::Int(5000)});
}

TEST_P(MysqlWriteTest, InsertWithoutReturningGivesOneEmptyRowPerInput) {
  auto out = conn_->Insert("customer", {"email"}, {{Value::Text("a@a")}, {Value::Text("b@a")}}, {});
  ASSERT_OK(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_TRUE((*out)[0].empty());
  auto none = conn_->Insert("customer", {"email"}, {}, {"id"});
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  ASSERT_CODE(conn_->Insert("customer", {"email"}, {{Value::Text("a"), Value::Text("b")}}, {}),
              StatusCode::kInvalidArgument);
  ASSERT_OK(
      conn_->ExecuteScript("CREATE TABLE counter (id INT AUTO_INCREMENT PRIMARY KEY, "
                           "n INT DEFAULT 7)"));
  ASSERT_OK(conn_->Insert("counter", {}, {{}, {}, {}}, {}));
  EXPECT_EQ(Rows("SELECT COUNT(*), SUM(n) FROM counter"), std::vector<std::string>{"3|21"});
}

TEST_P(MysqlWriteTest, ManyRowsAreChunkedAndAllWritten) {
  std::vector<Row> rows;
  // More rows than one statement takes, and more bytes than one packet should carry.
  const std::string filler(750, 'x');
  for (int i = 0; i < 12000; ++i) rows.push_back({Value::Int(i), Value::Text(filler)});
  ASSERT_OK(conn_->ExecuteScript("CREATE TABLE wide (id INT PRIMARY KEY, t TEXT)"));
  ASSERT_OK(conn_->Insert("wide", {"id", "t"}, rows, {}));
  EXPECT_EQ(Rows("SELECT COUNT(*), SUM(LENGTH(t)) FROM wide"),
            std::vector<std::string>{"12000|9000000"});
}

TEST_P(MysqlWriteTest, OneBadRowWritesNothingOfItsBatchAndSaysWhich) {
  std::vector<Row> rows;
  for (int i = 0; i < 3000; ++i) rows.push_back(Customer(i));
  rows[2500][1] = Value::Text("far too long for ten");
  auto out = conn_->Insert("customer", {"email", "name"}, rows, {});
  ASSERT_CODE(out, StatusCode::kInvalidRecord);
  const std::string m = out.status().message();
  EXPECT_TRUE(Contains(m, "target")) << m;
  EXPECT_TRUE(Contains(m, "name")) << m;
  EXPECT_TRUE(Contains(m, "row 2501 of 3000")) << m;
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM customer"), std::vector<std::string>{"0"});

  rows[2500] = Customer(7);  // a duplicate email
  out = conn_->Insert("customer", {"email", "name"}, rows, {"id"});
  ASSERT_CODE(out, StatusCode::kConstraint);
  EXPECT_TRUE(Contains(out.status().message(), "c7@a")) << out.status().message();
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM customer"), std::vector<std::string>{"0"});

  ASSERT_CODE(conn_->Insert("customer", {"name"}, {{Value::Text("no email")}}, {}),
              StatusCode::kConstraint);
  ASSERT_CODE(conn_->Insert("customer", {"email", "points"},
                            {{Value::Text("p@a"), Value::Text("lots")}}, {}),
              StatusCode::kInvalidRecord);
  ASSERT_CODE(conn_->Insert("customer", {"email", "points"},
                            {{Value::Text("p@a"), Value::Int(int64_t{1} << 40)}}, {}),
              StatusCode::kInvalidRecord);
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM customer"), std::vector<std::string>{"0"});
}

TEST_P(MysqlWriteTest, FailedBatchInsideATransactionKeepsEarlierWork) {
  ASSERT_OK(conn_->Begin());
  ASSERT_OK(conn_->Insert("customer", {"email"}, {{Value::Text("a@a")}}, {}));
  std::vector<Row> rows;
  for (int i = 0; i < 1500; ++i) rows.push_back({Value::Text("b" + std::to_string(i) + "@a")});
  rows.push_back({Value::Text("a@a")});
  ASSERT_CODE(conn_->Insert("customer", {"email"}, rows, {}), StatusCode::kConstraint);
  rows.back() = {Value::Text(std::string(41, 'x'))};
  ASSERT_CODE(conn_->Upsert("customer", {"email"}, {"email"}, rows), StatusCode::kInvalidRecord);
  ASSERT_CODE(conn_->Update("customer", {"email"}, {"name"},
                            {{Value::Text("ok"), Value::Text("a@a")},
                             {Value::Text("far too long"), Value::Text("a@a")}}),
              StatusCode::kInvalidRecord);
  ASSERT_OK(conn_->Commit());
  EXPECT_EQ(Rows("SELECT email, name FROM customer"), std::vector<std::string>{"a@a|NULL"});
}

TEST_P(MysqlWriteTest, RoundedDecimalIsRefusedNotStored) {
  ASSERT_OK(conn_->ExecuteScript("CREATE TABLE price (id INT PRIMARY KEY, p DECIMAL(6,2))"));
  auto out = conn_->Insert(
      "price", {"id", "p"},
      {{Value::Int(1), Value::Decimal("1.25")}, {Value::Int(2), Value::Decimal("1.255")}}, {});
  ASSERT_CODE(out, StatusCode::kInvalidRecord);
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM price"), std::vector<std::string>{"0"});
  ASSERT_OK(conn_->Insert("price", {"id", "p"}, {{Value::Int(1), Value::Decimal("1.2")}}, {}));
  EXPECT_EQ(Rows("SELECT p FROM price"), std::vector<std::string>{"1.20"});
}

TEST_P(MysqlWriteTest, Update) {
  ASSERT_OK(conn_->Insert("customer", {"id", "email", "name"},
                          {{Value::Int(1), Value::Text("a@a"), Value::Text("Ann")},
                           {Value::Int(2), Value::Text("b@a"), Value::Text("Bob")},
                           {Value::Int(3), Value::Text("c@a"), Value::Text("Cid")}},
                          {}));
  ASSERT_OK(conn_->Update("customer", {"id"}, {"name", "points"},
                          {{Value::Text("Anna"), Value::Int(5), Value::Int(1)},
                           {Value::Null(), Value::Int(7), Value::Int(3)},
                           {Value::Text("Ghost"), Value::Int(1), Value::Int(99)},
                           {Value::Text("Annie"), Value::Text("6"), Value::Int(1)}}));  // last wins
  EXPECT_EQ(Rows("SELECT id, name, points FROM customer ORDER BY id"),
            (std::vector<std::string>{"1|Annie|6", "2|Bob|0", "3|NULL|7"}));
  ASSERT_CODE(conn_->Update("customer", {"id"}, {"email"}, {{Value::Text("a@a"), Value::Int(2)}}),
              StatusCode::kConstraint);
  ASSERT_CODE(conn_->Update("customer", {"id"}, {"name"}, {{Value::Text("x")}}),
              StatusCode::kInvalidArgument);
  ASSERT_OK(conn_->Update("customer", {"id"}, {"name"}, {}));
}

TEST_P(MysqlWriteTest, UpsertInsertsOrUpdatesOnTheConflictColumns) {
  ASSERT_OK(conn_->Insert("customer", {"id", "email", "name", "points"},
                          {{Value::Int(1), Value::Text("a@a"), Value::Text("Ann"), Value::Int(3)}},
                          {}));
  ASSERT_OK(conn_->Upsert(
      "customer", {"email", "name"}, {"email"},
      {{Value::Text("a@a"), Value::Text("Anna")}, {Value::Text("b@a"), Value::Text("Bob")}}));
  EXPECT_EQ(Rows("SELECT id, email, name, points FROM customer ORDER BY id"),
            (std::vector<std::string>{"1|a@a|Anna|3", "2|b@a|Bob|0"}));
  // Every column is a conflict column: existing rows stay as they are.
  ASSERT_OK(conn_->Upsert("customer", {"email"}, {"email"},
                          {{Value::Text("a@a")}, {Value::Text("c@a")}}));
  EXPECT_EQ(Rows("SELECT email, name FROM customer ORDER BY id"),
            (std::vector<std::string>{"a@a|Anna", "b@a|Bob", "c@a|NULL"}));
  ASSERT_CODE(conn_->Upsert("customer", {"email"}, {}, {{Value::Text("a@a")}}),
              StatusCode::kInvalidArgument);
}

TEST_P(MysqlWriteTest, DeleteByCompositeKeys) {
  ASSERT_OK(conn_->ExecuteScript(R"(
    CREATE TABLE link (a INT, b VARCHAR(5), PRIMARY KEY (a, b));
    INSERT INTO link VALUES (1, 'x'), (1, 'y'), (2, 'x');
  )"));
  ASSERT_OK(conn_->Delete("link", {"a", "b"},
                          {{Value::Int(1), Value::Text("y")},
                           {Value::Int(2), Value::Text("x")},
                           {Value::Int(2), Value::Text("x")},
                           {Value::Int(9), Value::Text("z")}}));
  EXPECT_EQ(Rows("SELECT a, b FROM link"), std::vector<std::string>{"1|x"});
  ASSERT_CODE(conn_->Delete("link", {}, {{}}), StatusCode::kInvalidArgument);
  ASSERT_OK(conn_->Delete("link", {"a"}, {{Value::Int(1)}}));
  EXPECT_TRUE(Rows("SELECT a FROM link").empty());
}

TEST_P(MysqlWriteTest, RollbackAndSavepoints) {
  ASSERT_OK(conn_->Begin());
  ASSERT_CODE(conn_->Begin(), StatusCode::kInvalidArgument);  // would commit silently
  ASSERT_OK(conn_->Insert("customer", {"email"}, {{Value::Text("a@a")}}, {}));
  ASSERT_OK(conn_->Rollback());
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM customer"), std::vector<std::string>{"0"});
  ASSERT_OK(conn_->Rollback());  // nothing open: nothing to do
  EXPECT_FALSE(conn_->Commit().ok());

  ASSERT_OK(conn_->Begin());
  ASSERT_OK(conn_->Insert("customer", {"email"}, {{Value::Text("kept@a")}}, {}));
  ASSERT_OK(conn_->Savepoint("batch 1"));  // names are quoted
  ASSERT_OK(conn_->Insert("customer", {"email"}, {{Value::Text("dropped@a")}}, {}));
  ASSERT_OK(conn_->RollbackToSavepoint("batch 1"));
  ASSERT_OK(conn_->ReleaseSavepoint("batch 1"));
  ASSERT_OK(conn_->Savepoint("batch 2"));
  ASSERT_OK(conn_->Insert("customer", {"email"}, {{Value::Text("also@a")}}, {}));
  ASSERT_OK(conn_->ReleaseSavepoint("batch 2"));
  ASSERT_OK(conn_->Commit());
  EXPECT_EQ(Rows("SELECT email FROM customer ORDER BY id"),
            (std::vector<std::string>{"kept@a", "also@a"}));
  ASSERT_FALSE(conn_->ReleaseSavepoint("never").ok());
}

TEST_P(MysqlWriteTest, ValuesRoundTrip) {
  ASSERT_OK(conn_->ExecuteScript(R"(
    CREATE TABLE v (
      id INT PRIMARY KEY, t LONGTEXT, s VARCHAR(5), b LONGBLOB, d DECIMAL(40,10), i BIGINT,
      r DOUBLE, f FLOAT, flag BOOLEAN, day DATE, tm TIME(6), dt DATETIME(6), ts TIMESTAMP(6) NULL,
      doc JSON, u UUID)
  )"));
  const std::string megabyte(1 << 20, 'm');
  const std::string bytes("\0\x01\xff\0z", 5);
  const std::vector<std::string> cols = {"id",   "t",   "s",  "b",  "d",  "i",   "r", "f",
                                         "flag", "day", "tm", "dt", "ts", "doc", "u"};
  std::vector<Row> rows = {
      {Value::Int(1), Value::Text("emoji 😀 and ü"), Value::Text(""), Value::Blob(bytes),
       Value::Decimal("123456789012345678901234567890.1234567890"),
       Value::Int(std::numeric_limits<int64_t>::min()), Value::Real(0.1), Value::Real(0.5),
       Value::Bool(true), Value::Text("2024-03-01"), Value::Text("13:05:09.25"),
       Value::Text("2024-03-01 13:05:09.123456"), Value::Text("2024-03-01 13:05:09.5+02:00"),
       Value::Text(R"({"a": [1, 2, {"b": null}]})"),
       Value::Text("0e3c5d2a-8f4b-4c1d-9a7e-5b6c7d8e9f00")},
      {Value::Int(2), Value::Text(megabyte), Value::Null(), Value::Blob(""),
       Value::Decimal("-0.0000000001"), Value::Int(std::numeric_limits<int64_t>::max()),
       Value::Real(-1e300), Value::Null(), Value::Bool(false), Value::Null(),
       Value::Text("00:00:00"), Value::Text("1999-12-31 23:59:59"),
       Value::Text("2024-03-01T00:30:00Z"), Value::Null(), Value::Null()},
  };
  ASSERT_OK(conn_->Insert("v", cols, rows, {}));
  EXPECT_EQ(Rows("SELECT id, s IS NULL, LENGTH(s), LENGTH(b), LENGTH(t) FROM v ORDER BY id"),
            (std::vector<std::string>{"1|0|0|5|17", "2|1|NULL|0|1048576"}));

  ScanRequest req;
  req.table = "v";
  req.columns = cols;
  req.key_columns = {"id"};
  auto stream = conn_->Scan(req);
  ASSERT_OK(stream);
  std::vector<Row> got = Drain(**stream);
  ASSERT_EQ(got.size(), 2u);
  const Row& a = got[0];
  EXPECT_EQ(a[1], rows[0][1]);
  EXPECT_EQ(a[2], Value::Text("")) << "empty text is not NULL";
  EXPECT_EQ(a[3], Value::Blob(bytes));
  EXPECT_EQ(a[4], rows[0][4]);
  EXPECT_EQ(a[5], rows[0][5]);
  EXPECT_EQ(a[6], Value::Real(0.1));
  EXPECT_EQ(a[7], Value::Real(0.5));
  EXPECT_EQ(a[8], Value::Bool(true));
  EXPECT_EQ(a[9], Value::Text("2024-03-01"));
  EXPECT_EQ(a[10], Value::Text("13:05:09.25"));
  EXPECT_EQ(a[11], Value::Text("2024-03-01 13:05:09.123456"));
  EXPECT_EQ(a[12], Value::Text("2024-03-01 11:05:09.5+00:00")) << "stored in UTC";
  EXPECT_EQ(a[13], Value::Text(R"({"a": [1, 2, {"b": null}]})"));
  EXPECT_EQ(a[14], Value::Text("0e3c5d2a-8f4b-4c1d-9a7e-5b6c7d8e9f00"));
  const Row& b = got[1];
  EXPECT_EQ(b[1].as_string().size(), megabyte.size());
  EXPECT_EQ(b[1], rows[1][1]);
  EXPECT_TRUE(b[2].is_null());
  EXPECT_EQ(b[3], Value::Blob(""));
  EXPECT_EQ(b[4], Value::Decimal("-0.0000000001"));
  EXPECT_EQ(b[5], rows[1][5]);
  EXPECT_EQ(b[6], Value::Real(-1e300));
  EXPECT_EQ(b[8], Value::Bool(false));
  EXPECT_EQ(b[10], Value::Text("00:00:00"));
  EXPECT_EQ(b[11], Value::Text("1999-12-31 23:59:59"));
  EXPECT_EQ(b[12], Value::Text("2024-03-01 00:30:00+00:00"));
  EXPECT_TRUE(b[13].is_null());

  // Keys and conditions with a zone are compared in UTC too.
  LookupRequest lookup{"v", {"id"}, {"ts"}, {{Value::Text("2024-03-01 12:05:09.5+01:00")}}};
  auto found = conn_->Lookup(lookup);
  ASSERT_OK(found);
  EXPECT_EQ(*found, std::vector<Row>{{Value::Int(1)}});
  auto count =
      conn_->Count("v", {{"ts", Condition::Op::kGe, Value::Text("2024-03-01 03:00+02:00")}});
  ASSERT_OK(count);
  EXPECT_EQ(*count, 1);
  // ... but text that looks like a zoned timestamp is left alone in a text column.
  ASSERT_OK(conn_->Update("v", {"id"}, {"t"},
                          {{Value::Text("2024-03-01 12:00:00+01:00"), Value::Int(2)}}));
  EXPECT_EQ(Rows("SELECT t FROM v WHERE id = 2"),
            std::vector<std::string>{"2024-03-01 12:00:00+01:00"});
}

TEST_P(MysqlWriteTest, InvalidJsonUuidAndDatesAreInvalidRecords) {
  ASSERT_OK(conn_->ExecuteScript(
      "CREATE TABLE j (id INT PRIMARY KEY, doc JSON, u UUID, day DATE, b TINYINT UNSIGNED)"));
  ASSERT_CODE(conn_->Insert("j", {"id", "doc"}, {{Value::Int(1), Value::Text("{nope")}}, {}),
              StatusCode::kInvalidRecord);
  ASSERT_CODE(conn_->Insert("j", {"id", "u"}, {{Value::Int(1), Value::Text("not-a-uuid")}}, {}),
              StatusCode::kInvalidRecord);
  ASSERT_CODE(conn_->Insert("j", {"id", "day"}, {{Value::Int(1), Value::Text("2024-02-30")}}, {}),
              StatusCode::kInvalidRecord);
  ASSERT_CODE(conn_->Insert("j", {"id", "b"}, {{Value::Int(1), Value::Int(-1)}}, {}),
              StatusCode::kInvalidRecord);
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM j"), std::vector<std::string>{"0"});
}

TEST_P(MysqlWriteTest, ColumnsMixingValueKindsAreWritten) {
  ASSERT_OK(conn_->ExecuteScript("CREATE TABLE m (id INT PRIMARY KEY, x VARCHAR(20))"));
  ASSERT_OK(conn_->Insert("m", {"id", "x"},
                          {{Value::Int(1), Value::Text("one")},
                           {Value::Text("2"), Value::Int(2)},
                           {Value::Int(3), Value::Real(2.5)},
                           {Value::Int(4), Value::Bool(true)},
                           {Value::Int(5), Value::Null()}},
                          {}));
  EXPECT_EQ(Rows("SELECT id, x FROM m ORDER BY id"),
            (std::vector<std::string>{"1|one", "2|2", "3|2.5", "4|1", "5|NULL"}));
}

// Two sessions locking two rows in opposite orders: InnoDB rolls one back, which says kTryAgain
// (the engine retries such a batch); the other goes on.
TEST(MysqlDeadlockTest, TheVictimGetsTryAgain) {
  testing::TestDatabase db("mysql");
  ASSERT_TRUE(db.ok());
  db.Exec("CREATE TABLE d (id INT PRIMARY KEY, v INT); INSERT INTO d VALUES (1, 0), (2, 0)");
  auto a = db.Open("a");
  auto b = db.Open("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto set = [](Connector* c, int id) {
    return c->Update("d", {"id"}, {"v"}, {{Value::Int(9), Value::Int(id)}});
  };
  ASSERT_OK(a->Begin());
  ASSERT_OK(b->Begin());
  ASSERT_OK(set(a.get(), 1));
  ASSERT_OK(set(b.get(), 2));
  Status from_a;
  std::thread t([&] { from_a = set(a.get(), 2); });  // waits for b
  Status from_b = set(b.get(), 1);                   // closes the cycle
  t.join();
  EXPECT_NE(from_a.ok(), from_b.ok()) << from_a.ToString() << " / " << from_b.ToString();
  const bool a_lost = !from_a.ok();
  const Status& victim = a_lost ? from_a : from_b;
  EXPECT_EQ(victim.code(), StatusCode::kTryAgain) << victim.ToString();
  // The victim's transaction is gone: its savepoints and later writes fail the same way instead
  // of committing one by one, until it rolls back and begins again.
  Connector* loser = a_lost ? a.get() : b.get();
  ASSERT_CODE(loser->RollbackToSavepoint("tether_b1"), StatusCode::kTryAgain);
  ASSERT_CODE(loser->Savepoint("again"), StatusCode::kTryAgain);
  ASSERT_CODE(set(loser, 1), StatusCode::kTryAgain);
  ASSERT_CODE(loser->Commit(), StatusCode::kTryAgain);
  ASSERT_OK(a->Rollback());
  ASSERT_OK(b->Rollback());
  EXPECT_EQ(db.Rows("SELECT id, v FROM d ORDER BY id"), (std::vector<std::string>{"1|0", "2|0"}));
  ASSERT_OK(loser->Begin());
  ASSERT_OK(set(loser, 1));
  ASSERT_OK(loser->Commit());
}

INSTANTIATE_TEST_SUITE_P(Flavors, MysqlWriteTest,
                         ::testing::Values(Flavor{"MariaDB", {true, true}},
                                           Flavor{"WithoutBulkOrReturning", {false, false}}),
                         [](const ::testing::TestParamInfo<Flavor>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace tether
