#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "connectors/connector.h"
#include "mysql_test_util.h"

namespace tether {
namespace {

using testing::Drain;

class MysqlReadTest : public testing::MysqlTest {
 protected:
  void SetUp() override {
    testing::MysqlTest::SetUp();
    if (HasFatalFailure()) return;
    // 2,500 rows keyed by (shop, n): shop in 0..4, n in 0..499; every 10th row is archived,
    // every 7th has no note.
    Exec(R"(
      CREATE TABLE stock (shop INT NOT NULL, n INT NOT NULL, sku VARCHAR(20), archived BOOLEAN,
                          note VARCHAR(10), PRIMARY KEY (shop, n));
      INSERT INTO stock SELECT seq % 5, seq DIV 5, CONCAT('SKU-', seq), (seq % 10) = 0,
                               IF(seq % 7 = 0, NULL, 'n')
                        FROM seq_0_to_2499;
    )");
  }

  // Every page of `req` until an empty one; fails on a repeated or out-of-order key.
  std::vector<Row> ScanAll(ScanRequest req, size_t key_size, size_t* pages) {
    std::vector<Row> all;
    *pages = 0;
    for (int guard = 0; guard < 1000; ++guard) {
      auto stream = conn_->Scan(req);
      EXPECT_OK(stream);
      if (!stream.ok()) break;
      std::vector<Row> page = Drain(**stream);
      if (page.empty()) return all;
      ++*pages;
      EXPECT_LE(page.size(), req.limit);
      req.after_key = Row(page.back().begin(), page.back().begin() + key_size);
      all.insert(all.end(), page.begin(), page.end());
    }
    ADD_FAILURE() << "paging does not end";
    return all;
  }
};

TEST_F(MysqlReadTest, ScanPagesOverCompositeKeyWithoutGapsOrRepeats) {
  ScanRequest req;
  req.table = "stock";
  req.columns = {"shop", "n", "sku"};
  req.key_columns = {"shop", "n"};
  req.limit = 1000;
  size_t pages = 0;
  std::vector<Row> rows = ScanAll(req, 2, &pages);
  EXPECT_EQ(pages, 3u);
  ASSERT_EQ(rows.size(), 2500u);
  std::vector<std::pair<int64_t, int64_t>> keys;
  for (const Row& r : rows) keys.emplace_back(r[0].as_int(), r[1].as_int());
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(std::set(keys.begin(), keys.end()).size(), 2500u);
}

TEST_F(MysqlReadTest, KeysetConditionUsesARangeOfThePrimaryKey) {
  // The statement Scan sends for a page after (2, 100), as EXPLAIN sees it: a range read of
  // the primary key, not a walk of the whole index from its start.
  Exec("ANALYZE TABLE stock");
  auto plan = conn_->Query(
      "EXPLAIN SELECT `shop`,`n` FROM `stock` WHERE ((`shop` > ?) OR (`shop` = ? AND `n` > ?)) "
      "ORDER BY `shop`,`n` LIMIT ?",
      {Value::Int(2), Value::Int(2), Value::Int(100), Value::Int(10)});
  ASSERT_OK(plan);
  ASSERT_EQ(plan->size(), 1u);
  EXPECT_EQ((*plan)[0][3], Value::Text("range"));    // type
  EXPECT_EQ((*plan)[0][5], Value::Text("PRIMARY"));  // key
}

TEST_F(MysqlReadTest, ScanWithEveryConditionOp) {
  struct Case {
    Condition condition;
    int64_t expected;
  };
  const Case cases[] = {
      {{"shop", Condition::Op::kEq, Value::Int(2)}, 500},
      {{"shop", Condition::Op::kNe, Value::Int(2)}, 2000},
      {{"shop", Condition::Op::kLt, Value::Int(2)}, 1000},
      {{"shop", Condition::Op::kLe, Value::Int(2)}, 1500},
      {{"shop", Condition::Op::kGt, Value::Int(2)}, 1000},
      {{"shop", Condition::Op::kGe, Value::Int(2)}, 1500},
      {{"sku", Condition::Op::kLike, Value::Text("SKU-1%")}, 1111},
      {{"note", Condition::Op::kIsNull, Value()}, 358},
      {{"note", Condition::Op::kIsNotNull, Value()}, 2142},
      {{"archived", Condition::Op::kEq, Value::Bool(true)}, 250},
  };
  for (const Case& c : cases) {
    ScanRequest req;
    req.table = "stock";
    req.columns = {"shop", "n"};
    req.key_columns = {"shop", "n"};
    req.conditions = {c.condition};
    req.limit = 300;
    size_t pages = 0;
    std::vector<Row> rows = ScanAll(req, 2, &pages);
    EXPECT_EQ(static_cast<int64_t>(rows.size()), c.expected) << c.condition.column;
    std::set<std::pair<int64_t, int64_t>> unique;
    for (const Row& r : rows) unique.emplace(r[0].as_int(), r[1].as_int());
    EXPECT_EQ(unique.size(), rows.size()) << c.condition.column;
    auto count = conn_->Count("stock", {c.condition});
    ASSERT_OK(count);
    EXPECT_EQ(*count, c.expected) << c.condition.column;
  }
  // Several conditions AND together, with the keyset bound after them.
  ScanRequest req;
  req.table = "stock";
  req.columns = {"shop", "n"};
  req.key_columns = {"shop", "n"};
  req.conditions = {{"archived", Condition::Op::kEq, Value::Bool(false)},
                    {"shop", Condition::Op::kGe, Value::Int(3)}};
  req.limit = 7;
  size_t pages = 0;
  EXPECT_EQ(ScanAll(req, 2, &pages).size(), 1000u);
  EXPECT_EQ(pages, 143u);
}

TEST_F(MysqlReadTest, CaseInsensitiveTextKeysPageWithoutLoopingOrSkipping) {
  // Under utf8mb4_unicode_ci 'a', 'A' and 'a ' compare equal: paging by (name, id) must use
  // the same comparison as ORDER BY, or a page boundary inside such a group repeats or skips.
  Exec(R"(
    CREATE TABLE tag (name VARCHAR(20) NOT NULL, id INT NOT NULL, PRIMARY KEY (name, id))
      DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
    INSERT INTO tag VALUES ('a', 1), ('A', 2), ('a', 3), ('B', 4), ('b', 5), ('à', 6), ('À', 7),
                           ('ab', 8), ('AB', 9), ('Ab', 10), ('b', 11), ('c', 12);
  )");
  for (size_t limit : {1u, 2u, 3u, 5u}) {
    ScanRequest req;
    req.table = "tag";
    req.columns = {"name", "id"};
    req.key_columns = {"name", "id"};
    req.limit = limit;
    size_t pages = 0;
    std::vector<Row> rows = ScanAll(req, 2, &pages);
    std::set<int64_t> ids;
    for (const Row& r : rows) ids.insert(r[1].as_int());
    EXPECT_EQ(rows.size(), 12u) << "limit " << limit;
    EXPECT_EQ(ids.size(), 12u) << "limit " << limit;
  }
}

TEST_F(MysqlReadTest, CaseSensitiveTextKeysPageToo) {
  Exec(R"(
    CREATE TABLE code (c VARCHAR(10) COLLATE utf8mb4_bin PRIMARY KEY);
    INSERT INTO code VALUES ('a'), ('A'), ('b'), ('B'), ('aa'), ('Aa'), ('é'), ('É');
  )");
  ScanRequest req;
  req.table = "code";
  req.columns = {"c"};
  req.key_columns = {"c"};
  req.limit = 3;
  size_t pages = 0;
  std::vector<Row> rows = ScanAll(req, 1, &pages);
  ASSERT_EQ(rows.size(), 8u);
  std::vector<std::string> got;
  for (const Row& r : rows) got.push_back(r[0].as_string());
  EXPECT_EQ(got, (std::vector<std::string>{"A", "Aa", "B", "a", "aa", "b", "É", "é"}));
}

TEST_F(MysqlReadTest, ScanWithoutKeyOrLimitStreamsEverything) {
  ScanRequest req;
  req.table = "stock";
  auto stream = conn_->Scan(req);
  ASSERT_OK(stream);
  auto rows = Drain(**stream);
  ASSERT_EQ(rows.size(), 2500u);
  EXPECT_EQ(rows[0].size(), 5u);
  Row row;
  auto again = (*stream)->Next(&row);  // after the end: still the end
  ASSERT_OK(again);
  EXPECT_FALSE(*again);
  ASSERT_CODE(conn_->Scan({"stock", {}, {"shop", "n"}, Row{Value::Int(1)}, {}, 0, {}}),
              StatusCode::kInvalidArgument);
}

TEST_F(MysqlReadTest, AnotherCallCutsAnOpenStreamShortAndSaysSo) {
  ScanRequest req;
  req.table = "stock";
  req.key_columns = {"shop", "n"};
  auto stream = conn_->Scan(req);
  ASSERT_OK(stream);
  Row row;
  ASSERT_TRUE((*stream)->Next(&row).value());
  // The session is needed elsewhere: the rest of the stream is dropped, the call works.
  auto count = conn_->Count("stock", {});
  ASSERT_OK(count);
  EXPECT_EQ(*count, 2500);
  ASSERT_CODE((*stream)->Next(&row), StatusCode::kInternal);
  // A stream dropped half-read leaves the session usable, and so does a connector closed
  // while its stream lives on.
  {
    auto half = conn_->Scan(req);
    ASSERT_OK(half);
    ASSERT_TRUE((*half)->Next(&row).value());
  }
  ASSERT_OK(conn_->Ping());
  auto orphan = conn_->Scan(req);
  ASSERT_OK(orphan);
  conn_.reset();
  ASSERT_CODE((*orphan)->Next(&row), StatusCode::kInternal);
}

TEST_F(MysqlReadTest, LookupWithCompositeAndRepeatedKeys) {
  LookupRequest req;
  req.table = "stock";
  req.columns = {"shop", "n", "sku"};
  req.by_columns = {"shop", "n"};
  req.keys = {{Value::Int(1), Value::Int(3)},
              {Value::Int(4), Value::Int(499)},
              {Value::Int(1), Value::Int(3)},  // repeated
              {Value::Int(9), Value::Int(9)},  // missing
              {Value::Null(), Value::Int(1)}};
  auto rows = conn_->Lookup(req);
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u);
  std::set<std::string> skus;
  for (const Row& r : *rows) skus.insert(r[2].as_string());
  EXPECT_EQ(skus, (std::set<std::string>{"SKU-16", "SKU-2499"}));

  // Thousands of keys: chunked statements, each row once.
  LookupRequest many;
  many.table = "stock";
  many.columns = {"sku"};
  many.by_columns = {"sku"};
  for (int i = 0; i < 3000; ++i) many.keys.push_back({Value::Text("SKU-" + std::to_string(i))});
  auto found = conn_->Lookup(many);
  ASSERT_OK(found);
  EXPECT_EQ(found->size(), 2500u);
  ASSERT_CODE(conn_->Lookup({"stock", {"sku"}, {"shop", "n"}, {{Value::Int(1)}}}),
              StatusCode::kInvalidArgument);
  auto none = conn_->Lookup({"stock", {"sku"}, {"sku"}, {}});
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(MysqlReadTest, LookupMatchesTextByTheColumnsCollation) {
  LookupRequest req{"stock", {"sku"}, {"sku"}, {{Value::Text("sku-7")}}};
  auto rows = conn_->Lookup(req);
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], Value::Text("SKU-7"));
}

TEST_F(MysqlReadTest, QueryConvertsByResultTypes) {
  auto rows = conn_->Query(
      "SELECT ?, ?, ? + 1, CAST(? AS DECIMAL(10,3)), ?, NULL, CAST(1 AS UNSIGNED), "
      "CAST(18446744073709551615 AS UNSIGNED), x'00ff', 2.5e0, 'text', COUNT(*) "
      "FROM stock WHERE shop = ?",
      {Value::Int(-7), Value::Text("héllo"), Value::Int(41), Value::Text("1.5"),
       Value::Blob(std::string("\0\1", 2)), Value::Int(0)});
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  const Row& r = (*rows)[0];
  EXPECT_EQ(r[0], Value::Int(-7));
  EXPECT_EQ(r[1], Value::Text("héllo"));
  EXPECT_EQ(r[2], Value::Int(42));
  EXPECT_EQ(r[3], Value::Decimal("1.500"));
  EXPECT_EQ(r[4], Value::Blob(std::string("\0\1", 2)));
  EXPECT_TRUE(r[5].is_null());
  EXPECT_EQ(r[6], Value::Int(1));
  EXPECT_EQ(r[7], Value::Decimal("18446744073709551615"));
  EXPECT_EQ(r[8], Value::Blob(std::string("\0\xff", 2)));
  EXPECT_EQ(r[9], Value::Real(2.5));
  EXPECT_EQ(r[10], Value::Text("text"));
  EXPECT_EQ(r[11], Value::Int(500));
  ASSERT_CODE(conn_->Query("SELECT ?", {}), StatusCode::kInvalidArgument);
  ASSERT_CODE(conn_->Query("SELEKT 1"), StatusCode::kInternal);
}

TEST_F(MysqlReadTest, ScanAfterTheTableChangedShape) {
  ScanRequest req;
  req.table = "stock";
  req.key_columns = {"shop", "n"};
  req.limit = 2;
  auto before = conn_->Scan(req);
  ASSERT_OK(before);
  auto rows = Drain(**before);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].size(), 5u);
  Exec("ALTER TABLE stock ADD COLUMN extra INT DEFAULT 7");
  auto after = conn_->Scan(req);  // the same statement text, prepared before the change
  ASSERT_OK(after);
  rows = Drain(**after);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(rows[0].size(), 6u);
  EXPECT_EQ(rows[0][5], Value::Int(7));
}

TEST_F(MysqlReadTest, ScriptStopsAtTheFailingStatementAndTheSessionGoesOn) {
  Status s = conn_->ExecuteScript(
      "CREATE TABLE s1 (id INT PRIMARY KEY); INSERT INTO s1 VALUES (1); "
      "INSERT INTO no_such_table VALUES (2); INSERT INTO s1 VALUES (3)");
  ASSERT_CODE(s, StatusCode::kNotFound);
  EXPECT_TRUE(testing::Contains(s.message(), "no_such_table")) << s.message();
  EXPECT_EQ(Rows("SELECT id FROM s1"), std::vector<std::string>{"1"});
  auto one = conn_->Query("SELECT 1");
  ASSERT_OK(one);
  // Multi-statement text is refused outside ExecuteScript.
  ASSERT_CODE(conn_->Query("SELECT 1; SELECT 2"), StatusCode::kInternal);
}

}  // namespace
}  // namespace tether
