#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "connectors/connector.h"
#include "util/test_util.h"

namespace tether {
namespace {

using testing::Drain;

class SqliteReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("read.db");
    db_ = testing::OpenSqlite(path_);
    ASSERT_NE(db_, nullptr);
    // 2,500 rows keyed by (shop, n): shop in 0..4, n in 0..499; every 10th row is archived.
    ASSERT_OK(db_->ExecuteScript(R"(
      CREATE TABLE stock (shop INTEGER, n INTEGER, sku TEXT, archived INTEGER, note TEXT,
                          PRIMARY KEY (shop, n));
      WITH RECURSIVE i(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM i WHERE v < 2499)
      INSERT INTO stock SELECT v % 5, v / 5, 'SKU-' || v, (v % 10) = 0,
                               CASE WHEN v % 7 = 0 THEN NULL ELSE 'n' END FROM i;
    )"));
  }

  testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<Connector> db_;
};

TEST_F(SqliteReadTest, ScanPagesOverCompositeKeyWithoutGapsOrRepeats) {
  ScanRequest req;
  req.table = "stock";
  req.columns = {"shop", "n", "sku"};
  req.key_columns = {"shop", "n"};
  req.limit = 1000;

  std::vector<std::pair<int64_t, int64_t>> seen;
  size_t pages = 0;
  for (;;) {
    auto stream = db_->Scan(req);
    ASSERT_OK(stream);
    std::vector<Row> page = Drain(**stream);
    if (page.empty()) break;
    ++pages;
    ASSERT_LE(page.size(), 1000u);
    for (const Row& r : page) {
      ASSERT_EQ(r.size(), 3u);
      seen.emplace_back(r[0].as_int(), r[1].as_int());
    }
    req.after_key = Row{page.back()[0], page.back()[1]};
  }
  EXPECT_EQ(pages, 3u);
  ASSERT_EQ(seen.size(), 2500u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set(seen.begin(), seen.end()).size(), 2500u);
}

TEST_F(SqliteReadTest, ScanWithConditions) {
  ScanRequest req;
  req.table = "stock";
  req.columns = {"shop", "n"};
  req.key_columns = {"shop", "n"};
  req.conditions = {{"archived", Condition::Op::kEq, Value::Int(0)},
                    {"shop", Condition::Op::kGe, Value::Int(3)},
                    {"sku", Condition::Op::kLike, Value::Text("sku-1%")},
                    {"note", Condition::Op::kIsNotNull, Value()}};
  req.limit = 7;
  std::vector<Row> all;
  for (;;) {
    auto stream = db_->Scan(req);
    ASSERT_OK(stream);
    std::vector<Row> page = Drain(**stream);
    if (page.empty()) break;
    all.insert(all.end(), page.begin(), page.end());
    req.after_key = Row{page.back()[0], page.back()[1]};
  }
  auto expected = testing::SqliteRows(
      path_,
      "SELECT shop, n FROM stock WHERE archived = 0 AND shop >= 3 AND sku LIKE 'sku-1%'"
      " AND note IS NOT NULL ORDER BY shop, n");
  ASSERT_FALSE(expected.empty());
  ASSERT_EQ(all.size(), expected.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i][0].ToText() + "|" + all[i][1].ToText(), expected[i]);
  }
}

TEST_F(SqliteReadTest, ScanOtherOperators) {
  auto count = [&](std::vector<Condition> conditions) -> size_t {
    ScanRequest req;
    req.table = "stock";
    req.columns = {"sku"};
    req.key_columns = {"shop", "n"};
    req.conditions = std::move(conditions);
    auto stream = db_->Scan(req);
    EXPECT_OK(stream);
    return stream.ok() ? Drain(**stream).size() : 0;
  };
  EXPECT_EQ(count({{"note", Condition::Op::kIsNull, {}}}), 358u);  // v % 7 == 0
  EXPECT_EQ(count({{"shop", Condition::Op::kNe, Value::Int(0)}}), 2000u);
  EXPECT_EQ(count({{"n", Condition::Op::kLt, Value::Int(10)}}), 50u);
  EXPECT_EQ(count({{"n", Condition::Op::kLe, Value::Int(10)}}), 55u);
  EXPECT_EQ(count({{"n", Condition::Op::kGt, Value::Int(495)}}), 20u);
  EXPECT_EQ(count({{"sku", Condition::Op::kEq, Value::Text("SKU-42")}}), 1u);
}

TEST_F(SqliteReadTest, ScanStreamOutlivesItsRequest) {
  std::unique_ptr<RowStream> stream;
  {
    ScanRequest req;
    req.table = "stock";
    req.columns = {"sku"};
    req.key_columns = {"shop", "n"};
    req.after_key = Row{Value::Int(4), Value::Int(497)};
    req.conditions = {{"sku", Condition::Op::kNe, Value::Text(std::string(100, 'z'))}};
    auto s = db_->Scan(req);
    ASSERT_OK(s);
    stream = std::move(s).value();
  }
  std::vector<Row> rows = Drain(*stream);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], Value::Text("SKU-2494"));
  EXPECT_EQ(rows[1][0], Value::Text("SKU-2499"));
  Row row;
  auto again = stream->Next(&row);  // stays at the end
  ASSERT_OK(again);
  EXPECT_FALSE(*again);
}

TEST_F(SqliteReadTest, ScanOfMissingTableFails) {
  ScanRequest req;
  req.table = "nope";
  req.columns = {"x"};
  req.key_columns = {"x"};
  auto stream = db_->Scan(req);
  ASSERT_FALSE(stream.ok());
  EXPECT_NE(stream.status().message().find("nope"), std::string::npos);
}

TEST_F(SqliteReadTest, LookupSingleColumnWithManyKeys) {
  ASSERT_OK(db_->ExecuteScript(R"(
    CREATE TABLE item (id INTEGER PRIMARY KEY, sku TEXT UNIQUE);
    WITH RECURSIVE i(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM i WHERE v < 20000)
    INSERT INTO item SELECT v, 'SKU-' || v FROM i;
  )"));
  LookupRequest req;
  req.table = "item";
  req.columns = {"id", "sku"};
  req.by_columns = {"sku"};
  // 10,001 keys: every even item, plus 1 that does not exist.
  for (int i = 2; i <= 20000; i += 2) req.keys.push_back({Value::Text("SKU-" + std::to_string(i))});
  req.keys.push_back({Value::Text("SKU-none")});
  auto rows = db_->Lookup(req);
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 10000u);
  std::set<int64_t> ids;
  for (const Row& r : *rows) {
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[1], Value::Text("SKU-" + std::to_string(r[0].as_int())));
    ids.insert(r[0].as_int());
  }
  EXPECT_EQ(ids.size(), 10000u);
  EXPECT_EQ(*ids.begin(), 2);
  EXPECT_EQ(*ids.rbegin(), 20000);
}

TEST_F(SqliteReadTest, LookupCompositeWithManyKeys) {
  ASSERT_OK(db_->ExecuteScript(R"(
    CREATE TABLE pair (a INTEGER, b TEXT, v INTEGER, PRIMARY KEY (a, b));
    WITH RECURSIVE i(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM i WHERE v < 11999)
    INSERT INTO pair SELECT v / 3, 'k' || (v % 3), v FROM i;
  )"));
  LookupRequest req;
  req.table = "pair";
  req.columns = {"v"};
  req.by_columns = {"a", "b"};
  for (int v = 0; v < 11000; ++v) {
    req.keys.push_back({Value::Int(v / 3), Value::Text("k" + std::to_string(v % 3))});
  }
  req.keys.push_back({Value::Int(1), Value::Text("k9")});  // no such row
  auto rows = db_->Lookup(req);
  ASSERT_OK(rows);
  std::set<int64_t> values;
  for (const Row& r : *rows) values.insert(r[0].as_int());
  EXPECT_EQ(rows->size(), 11000u);
  EXPECT_EQ(values.size(), 11000u);
  EXPECT_EQ(*values.rbegin(), 10999);
}

TEST_F(SqliteReadTest, LookupOfFewAndNoKeys) {
  LookupRequest req;
  req.table = "stock";
  req.columns = {"sku"};
  req.by_columns = {"shop", "n"};
  req.keys = {{Value::Int(1), Value::Int(2)},
              {Value::Int(3), Value::Int(4)},
              {Value::Int(3), Value::Int(5)}};
  auto rows = db_->Lookup(req);
  ASSERT_OK(rows);
  std::set<std::string> skus;
  for (const Row& r : *rows) skus.insert(r[0].as_string());
  EXPECT_EQ(skus, (std::set<std::string>{"SKU-11", "SKU-23", "SKU-28"}));

  req.keys.clear();
  rows = db_->Lookup(req);
  ASSERT_OK(rows);
  EXPECT_TRUE(rows->empty());

  req.keys = {{Value::Int(1)}};  // wrong arity
  ASSERT_CODE(db_->Lookup(req), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tether
