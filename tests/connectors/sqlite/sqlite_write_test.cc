#include <gtest/gtest.h>

#include <string>

#include "connectors/connector.h"
#include "util/test_util.h"

namespace tether {
namespace {

class SqliteWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("write.db");
    db_ = testing::OpenSqlite(path_, "target");
    ASSERT_NE(db_, nullptr);
    ASSERT_OK(db_->ExecuteScript(R"(
      CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT,
                             points INTEGER DEFAULT 0);
    )"));
  }

  std::vector<std::string> Rows(const std::string& sql) { return testing::SqliteRows(path_, sql); }

  testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<Connector> db_;
};

TEST_F(SqliteWriteTest, InsertReturnsGeneratedIdsInOrder) {
  ASSERT_OK(db_->Insert("customer", {"id", "email"}, {{Value::Int(10), Value::Text("x@a")}}, {}));
  std::vector<Row> rows;
  for (int i = 0; i < 100; ++i) {
    rows.push_back(
        {Value::Text("c" + std::to_string(i) + "@a"), Value::Text("C" + std::to_string(i))});
  }
  auto ids = db_->Insert("customer", {"email", "name"}, rows, {"id", "email"});
  ASSERT_OK(ids);
  ASSERT_EQ(ids->size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ((*ids)[i].size(), 2u);
    EXPECT_EQ((*ids)[i][0], Value::Int(static_cast<int64_t>(11 + i)));
    EXPECT_EQ((*ids)[i][1], rows[i][0]);
  }
  EXPECT_EQ(Rows("SELECT count(*), max(id) FROM customer"), std::vector<std::string>{"101|110"});
}

TEST_F(SqliteWriteTest, InsertWithoutReturningGivesOneEmptyRowPerInput) {
  auto out = db_->Insert("customer", {"email"}, {{Value::Text("a@a")}, {Value::Text("b@a")}}, {});
  ASSERT_OK(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_TRUE((*out)[0].empty());
  auto none = db_->Insert("customer", {"email"}, {}, {"id"});
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(SqliteWriteTest, FailedInsertWritesNothingOfItsBatch) {
  auto out = db_->Insert("customer", {"email"},
                         {{Value::Text("a@a")}, {Value::Text("b@a")}, {Value::Text("a@a")}}, {});
  ASSERT_CODE(out, StatusCode::kConstraint);
  EXPECT_NE(out.status().message().find("customer.email"), std::string::npos)
      << out.status().message();  // SQLite's text names the column
  EXPECT_NE(out.status().message().find("target"), std::string::npos);
  ASSERT_CODE(db_->Insert("customer", {"name"}, {{Value::Text("no email")}}, {}),
              StatusCode::kConstraint);
  ASSERT_CODE(db_->Insert("customer", {"email"}, {{Value::Text("a"), Value::Text("b")}}, {}),
              StatusCode::kInvalidArgument);
  EXPECT_EQ(Rows("SELECT count(*) FROM customer"), std::vector<std::string>{"0"});
}

TEST_F(SqliteWriteTest, FailedBatchInsideATransactionKeepsEarlierWork) {
  ASSERT_OK(db_->Begin());
  ASSERT_OK(db_->Insert("customer", {"email"}, {{Value::Text("a@a")}}, {}));
  ASSERT_CODE(db_->Insert("customer", {"email"}, {{Value::Text("b@a")}, {Value::Text("a@a")}}, {}),
              StatusCode::kConstraint);
  ASSERT_OK(db_->Commit());
  EXPECT_EQ(Rows("SELECT email FROM customer"), std::vector<std::string>{"a@a"});
}

TEST_F(SqliteWriteTest, TypeMismatchIsAnInvalidRecord) {
  ASSERT_CODE(
      db_->Insert("customer", {"id", "email"}, {{Value::Text("abc"), Value::Text("a@a")}}, {}),
      StatusCode::kInvalidRecord);
}

TEST_F(SqliteWriteTest, Update) {
  ASSERT_OK(db_->Insert("customer", {"id", "email", "name"},
                        {{Value::Int(1), Value::Text("a@a"), Value::Text("Ann")},
                         {Value::Int(2), Value::Text("b@a"), Value::Text("Bob")},
                         {Value::Int(3), Value::Text("c@a"), Value::Text("Cid")}},
                        {}));
  ASSERT_OK(db_->Update("customer", {"id"}, {"name", "points"},
                        {{Value::Text("Anna"), Value::Int(5), Value::Int(1)},
                         {Value::Null(), Value::Int(7), Value::Int(3)},
                         {Value::Text("Ghost"), Value::Int(1), Value::Int(99)}}));
  EXPECT_EQ(Rows("SELECT id, name, points FROM customer ORDER BY id"),
            (std::vector<std::string>{"1|Anna|5", "2|Bob|0", "3|NULL|7"}));
  ASSERT_CODE(db_->Update("customer", {"id"}, {"email"}, {{Value::Text("a@a"), Value::Int(2)}}),
              StatusCode::kConstraint);
  ASSERT_CODE(db_->Update("customer", {"id"}, {"name"}, {{Value::Text("x")}}),
              StatusCode::kInvalidArgument);
}

TEST_F(SqliteWriteTest, UpsertInsertsOrUpdatesOnTheConflictColumns) {
  ASSERT_OK(db_->Insert("customer", {"id", "email", "name", "points"},
                        {{Value::Int(1), Value::Text("a@a"), Value::Text("Ann"), Value::Int(3)}},
                        {}));
  ASSERT_OK(db_->Upsert(
      "customer", {"email", "name"}, {"email"},
      {{Value::Text("a@a"), Value::Text("Anna")}, {Value::Text("b@a"), Value::Text("Bob")}}));
  EXPECT_EQ(Rows("SELECT id, email, name, points FROM customer ORDER BY id"),
            (std::vector<std::string>{"1|a@a|Anna|3", "2|b@a|Bob|0"}));
  // Every column is a conflict column: DO NOTHING.
  ASSERT_OK(
      db_->Upsert("customer", {"email"}, {"email"}, {{Value::Text("a@a")}, {Value::Text("c@a")}}));
  EXPECT_EQ(Rows("SELECT email FROM customer ORDER BY id"),
            (std::vector<std::string>{"a@a", "b@a", "c@a"}));
}

TEST_F(SqliteWriteTest, Delete) {
  ASSERT_OK(db_->ExecuteScript(R"(
    CREATE TABLE link (a INTEGER, b TEXT, PRIMARY KEY (a, b));
    INSERT INTO link VALUES (1, 'x'), (1, 'y'), (2, 'x');
  )"));
  ASSERT_OK(db_->Delete("link", {"a", "b"},
                        {{Value::Int(1), Value::Text("y")},
                         {Value::Int(2), Value::Text("x")},
                         {Value::Int(9), Value::Text("z")}}));
  EXPECT_EQ(Rows("SELECT a, b FROM link"), std::vector<std::string>{"1|x"});
  ASSERT_CODE(db_->Delete("link", {}, {{}}), StatusCode::kInvalidArgument);
}

TEST_F(SqliteWriteTest, RollbackUndoesTheTransaction) {
  ASSERT_OK(db_->Begin());
  ASSERT_OK(db_->Insert("customer", {"email"}, {{Value::Text("a@a")}}, {}));
  ASSERT_OK(db_->Rollback());
  EXPECT_EQ(Rows("SELECT count(*) FROM customer"), std::vector<std::string>{"0"});
  ASSERT_OK(db_->Rollback());  // nothing open: nothing to do

  ASSERT_OK(db_->Begin());
  ASSERT_OK(db_->Insert("customer", {"email"}, {{Value::Text("b@a")}}, {}));
  ASSERT_OK(db_->Commit());
  EXPECT_EQ(Rows("SELECT email FROM customer"), std::vector<std::string>{"b@a"});
  EXPECT_FALSE(db_->Commit().ok());  // nothing open
}

TEST_F(SqliteWriteTest, SavepointRollbackKeepsTheRest) {
  ASSERT_OK(db_->Begin());
  ASSERT_OK(db_->Insert("customer", {"email"}, {{Value::Text("kept@a")}}, {}));
  ASSERT_OK(db_->Savepoint("batch 1"));  // names are quoted
  ASSERT_OK(db_->Insert("customer", {"email"}, {{Value::Text("dropped@a")}}, {}));
  ASSERT_OK(db_->RollbackToSavepoint("batch 1"));
  ASSERT_OK(db_->ReleaseSavepoint("batch 1"));
  ASSERT_OK(db_->Savepoint("batch 2"));
  ASSERT_OK(db_->Insert("customer", {"email"}, {{Value::Text("also@a")}}, {}));
  ASSERT_OK(db_->ReleaseSavepoint("batch 2"));
  ASSERT_OK(db_->Commit());
  EXPECT_EQ(Rows("SELECT email FROM customer ORDER BY id"),
            (std::vector<std::string>{"kept@a", "also@a"}));
  ASSERT_FALSE(db_->ReleaseSavepoint("never").ok());
}

TEST_F(SqliteWriteTest, NullEmptyTextAndEmptyBlobRoundTrip) {
  ASSERT_OK(db_->ExecuteScript("CREATE TABLE v (id INTEGER PRIMARY KEY, x)"));
  const std::vector<Row> values = {
      {Value::Int(1), Value::Null()},
      {Value::Int(2), Value::Text("")},
      {Value::Int(3), Value::Blob("")},
      {Value::Int(4), Value::Blob(std::string("\0\x01\xff", 3))},
      {Value::Int(5), Value::Text(std::string("h\xc3\xa9llo\nw\0rld", 12))},
      {Value::Int(6), Value::Real(2.5)},
      {Value::Int(7), Value::Int(INT64_MIN)},
      {Value::Int(8), Value::Bool(true)},
      {Value::Int(9), Value::Decimal("12.50")},
  };
  ASSERT_OK(db_->Insert("v", {"id", "x"}, values, {}));
  EXPECT_EQ(Rows("SELECT id, typeof(x), length(x) FROM v WHERE id <= 3 ORDER BY id"),
            (std::vector<std::string>{"1|null|NULL", "2|text|0", "3|blob|0"}));

  ScanRequest req;
  req.table = "v";
  req.columns = {"id", "x"};
  req.key_columns = {"id"};
  auto stream = db_->Scan(req);
  ASSERT_OK(stream);
  std::vector<Row> got;
  Row row;
  for (;;) {
    auto more = (*stream)->Next(&row);
    ASSERT_OK(more);
    if (!*more) break;
    got.push_back(row);
  }
  ASSERT_EQ(got.size(), values.size());
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(got[i], values[i]) << i;
  EXPECT_EQ(got[7][1], Value::Int(1));         // booleans are stored as integers
  EXPECT_EQ(got[8][1], Value::Text("12.50"));  // decimals as their exact text
}

TEST_F(SqliteWriteTest, WeirdIdentifiers) {
  ASSERT_OK(db_->ExecuteScript(
      "CREATE TABLE \"order\" (\"group\" INTEGER PRIMARY KEY, \"Mixed Case\" TEXT UNIQUE,"
      " \"quo\"\"te\" TEXT)"));
  const std::string t = "order";
  auto ids = db_->Insert(
      t, {"Mixed Case", "quo\"te"},
      {{Value::Text("A"), Value::Text("1")}, {Value::Text("B"), Value::Text("2")}}, {"group"});
  ASSERT_OK(ids);
  ASSERT_EQ(ids->size(), 2u);
  ASSERT_OK(db_->Update(t, {"group"}, {"quo\"te"}, {{Value::Text("22"), (*ids)[1][0]}}));
  ASSERT_OK(
      db_->Upsert(t, {"Mixed Case", "quo\"te"}, {"Mixed Case"},
                  {{Value::Text("A"), Value::Text("11")}, {Value::Text("C"), Value::Text("3")}}));
  auto found = db_->Lookup({t,
                            {"Mixed Case", "quo\"te"},
                            {"Mixed Case"},
                            {{Value::Text("A")}, {Value::Text("B")}, {Value::Text("C")}}});
  ASSERT_OK(found);
  EXPECT_EQ(found->size(), 3u);
  ScanRequest req;
  req.table = t;
  req.columns = {"quo\"te"};
  req.key_columns = {"Mixed Case"};
  req.after_key = Row{Value::Text("A")};
  req.conditions = {{"group", Condition::Op::kGe, Value::Int(0)}};
  auto stream = db_->Scan(req);
  ASSERT_OK(stream);
  Row row;
  ASSERT_OK((*stream)->Next(&row));
  EXPECT_EQ(row, Row{Value::Text("22")});
  ASSERT_OK(db_->Delete(t, {"Mixed Case"}, {{Value::Text("C")}}));
  EXPECT_EQ(Rows("SELECT \"Mixed Case\", \"quo\"\"te\" FROM \"order\" ORDER BY 1"),
            (std::vector<std::string>{"A|11", "B|22"}));
  auto schema = db_->DescribeTable(t);
  ASSERT_OK(schema);
  ASSERT_TRUE(schema->has_value());
  EXPECT_TRUE((*schema)->Find("group")->auto_increment);
}

TEST_F(SqliteWriteTest, ExecuteScriptErrorsAreMapped) {
  ASSERT_CODE(db_->ExecuteScript("INSERT INTO customer(id, email) VALUES (1, 'a'), (1, 'b')"),
              StatusCode::kConstraint);
  auto bad = db_->ExecuteScript("SELEKT 1");
  ASSERT_CODE(bad, StatusCode::kInternal);
  EXPECT_NE(bad.message().find("target"), std::string::npos);
}

TEST_F(SqliteWriteTest, ManyRowsInOneTransaction) {
  std::vector<Row> rows;
  rows.reserve(50000);
  for (int i = 0; i < 50000; ++i) {
    rows.push_back(
        {Value::Int(i + 1), Value::Text("u" + std::to_string(i) + "@a"), Value::Text("name")});
  }
  ASSERT_OK(db_->Begin());
  ASSERT_OK(db_->Insert("customer", {"id", "email", "name"}, rows, {}));
  for (Row& r : rows) r[2] = Value::Text("renamed");
  ASSERT_OK(db_->Upsert("customer", {"id", "email", "name"}, {"id"}, rows));
  ASSERT_OK(db_->Commit());
  EXPECT_EQ(Rows("SELECT count(*), min(name), max(name) FROM customer"),
            std::vector<std::string>{"50000|renamed|renamed"});
}

}  // namespace
}  // namespace tether
