#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "postgres_test_util.h"

namespace tether {
namespace {

using testing::Contains;
using testing::Drain;

class PostgresReadTest : public testing::PostgresFixture {
 protected:
  static void SetUpTestSuite() {
    PostgresFixture::SetUpTestSuite();
    if (!db_->ok()) return;
    // 2,500 rows keyed by (shop, n): shop in 0..4, n in 0..499; every 10th row is archived.
    // item: 20,000 rows with a unique sku, and pair: 12,000 rows keyed by (a, b).
    db_->Exec(R"(
      CREATE TABLE stock (shop int, n int, sku text, archived boolean, note text,
                          PRIMARY KEY (shop, n));
      INSERT INTO stock SELECT v % 5, v / 5, 'SKU-' || v, (v % 10) = 0,
                               CASE WHEN v % 7 = 0 THEN NULL ELSE 'n' END
                        FROM generate_series(0, 2499) v;
      CREATE TABLE item (id bigint PRIMARY KEY, sku varchar(32) UNIQUE, price numeric(10,2));
      INSERT INTO item SELECT v, 'SKU-' || v, v / 100.0 FROM generate_series(1, 20000) v;
      CREATE TABLE pair (a bigint, b text, v bigint, PRIMARY KEY (a, b));
      INSERT INTO pair SELECT v / 3, 'k' || (v % 3), v FROM generate_series(0, 11999) v;
      ANALYZE stock; ANALYZE item; ANALYZE pair;
    )");
  }
};

TEST_F(PostgresReadTest, ScanPagesOverCompositeKeyWithoutGapsOrRepeats) {
  ScanRequest req;
  req.table = "stock";
  req.columns = {"shop", "n", "sku"};
  req.key_columns = {"shop", "n"};
  req.limit = 1000;
  std::vector<std::pair<int64_t, int64_t>> seen;
  size_t pages = 0;
  for (;;) {
    auto stream = pg_->Scan(req);
    ASSERT_OK(stream);
    std::vector<Row> page = Drain(**stream);
    if (page.empty()) break;
    ++pages;
    ASSERT_LE(page.size(), 1000u);
    for (const Row& r : page) {
      ASSERT_EQ(r.size(), 3u);
      ASSERT_EQ(r[0].kind(), ValueKind::kInt);
      seen.emplace_back(r[0].as_int(), r[1].as_int());
    }
    req.after_key = Row{page.back()[0], page.back()[1]};
  }
  EXPECT_EQ(pages, 3u);
  ASSERT_EQ(seen.size(), 2500u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set(seen.begin(), seen.end()).size(), 2500u);
}

TEST_F(PostgresReadTest, ScanWithConditionsPagesLikeTheEquivalentQuery) {
  ScanRequest req;
  req.table = "stock";
  req.columns = {"shop", "n"};
  req.key_columns = {"shop", "n"};
  req.conditions = {{"archived", Condition::Op::kEq, Value::Bool(false)},
                    {"shop", Condition::Op::kGe, Value::Int(3)},
                    {"sku", Condition::Op::kLike, Value::Text("SKU-1%")},
                    {"note", Condition::Op::kIsNotNull, Value()}};
  req.limit = 7;
  std::vector<std::string> all;
  for (;;) {
    auto stream = pg_->Scan(req);
    ASSERT_OK(stream);
    std::vector<Row> page = Drain(**stream);
    if (page.empty()) break;
    for (const Row& r : page) all.push_back(r[0].ToText() + "|" + r[1].ToText());
    req.after_key = Row{page.back()[0], page.back()[1]};
  }
  auto expected = Rows(
      "SELECT shop, n FROM stock WHERE NOT archived AND shop >= 3 AND sku LIKE 'SKU-1%'"
      " AND note IS NOT NULL ORDER BY shop, n");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(all, expected);
}

TEST_F(PostgresReadTest, EveryConditionOperator) {
  auto count = [&](std::vector<Condition> conditions) -> size_t {
    ScanRequest req;
    req.table = "stock";
    req.columns = {"sku"};
    req.key_columns = {"shop", "n"};
    req.conditions = std::move(conditions);
    auto stream = pg_->Scan(req);
    EXPECT_OK(stream);
    size_t n = stream.ok() ? Drain(**stream).size() : 0;
    auto counted = pg_->Count("stock", req.conditions);  // Count agrees with Scan
    EXPECT_OK(counted);
    if (counted.ok()) {
      EXPECT_EQ(static_cast<size_t>(*counted), n);
    }
    return n;
  };
  EXPECT_EQ(count({}), 2500u);
  EXPECT_EQ(count({{"note", Condition::Op::kIsNull, {}}}), 358u);  // v % 7 == 0
  EXPECT_EQ(count({{"note", Condition::Op::kIsNotNull, {}}}), 2142u);
  EXPECT_EQ(count({{"shop", Condition::Op::kNe, Value::Int(0)}}), 2000u);
  EXPECT_EQ(count({{"n", Condition::Op::kLt, Value::Int(10)}}), 50u);
  EXPECT_EQ(count({{"n", Condition::Op::kLe, Value::Int(10)}}), 55u);
  EXPECT_EQ(count({{"n", Condition::Op::kGt, Value::Int(495)}}), 20u);
  EXPECT_EQ(count({{"n", Condition::Op::kGe, Value::Int(495)}}), 25u);
  EXPECT_EQ(count({{"sku", Condition::Op::kEq, Value::Text("SKU-42")}}), 1u);
  EXPECT_EQ(count({{"sku", Condition::Op::kLike, Value::Text("SKU-24__")}}), 100u);
  EXPECT_EQ(count({{"n", Condition::Op::kLike, Value::Text("49_")}}), 50u);  // any type
  EXPECT_EQ(count({{"archived", Condition::Op::kEq, Value::Bool(true)}}), 250u);
}

TEST_F(PostgresReadTest, UnboundedScanStreamsAndSurvivesInterleavedCalls) {
  ScanRequest req;
  req.table = "item";
  req.columns = {"id", "sku", "price"};
  req.key_columns = {"id"};
  auto stream = pg_->Scan(req);
  ASSERT_OK(stream);
  Row row;
  auto more = (*stream)->Next(&row);
  ASSERT_OK(more);
  ASSERT_TRUE(*more);
  EXPECT_EQ(row[0], Value::Int(1));
  EXPECT_EQ(row[2], Value::Decimal("0.01"));
  // The connector is needed for something else while the scan is open.
  auto found = pg_->Lookup({"item", {"id"}, {"sku"}, {{Value::Text("SKU-77")}}});
  ASSERT_OK(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0][0], Value::Int(77));
  size_t n = 1;
  int64_t last = 1;
  for (;;) {
    more = (*stream)->Next(&row);
    ASSERT_OK(more);
    if (!*more) break;
    ASSERT_EQ(row[0].as_int(), last + 1);
    last = row[0].as_int();
    ++n;
  }
  EXPECT_EQ(n, 20000u);
  more = (*stream)->Next(&row);  // stays at the end
  ASSERT_OK(more);
  EXPECT_FALSE(*more);
}

TEST_F(PostgresReadTest, AbandonedScanLeavesTheConnectionUsable) {
  ScanRequest req;
  req.table = "item";
  req.columns = {"id"};
  req.key_columns = {"id"};
  Row row;
  {
    auto stream = pg_->Scan(req);  // outside a transaction: cancelled
    ASSERT_OK(stream);
    ASSERT_OK((*stream)->Next(&row));
  }
  ASSERT_OK(pg_->Ping());
  // Inside a transaction the rest is read, so the transaction survives.
  db_->Exec("CREATE TABLE IF NOT EXISTS scan_note (id bigint PRIMARY KEY)");
  ASSERT_OK(pg_->Begin());
  ASSERT_OK(pg_->Insert("scan_note", {"id"}, {{Value::Int(1)}}, {}));
  {
    auto stream = pg_->Scan(req);
    ASSERT_OK(stream);
    ASSERT_OK((*stream)->Next(&row));
  }
  ASSERT_OK(pg_->Insert("scan_note", {"id"}, {{Value::Int(2)}}, {}));
  ASSERT_OK(pg_->Commit());
  EXPECT_EQ(Rows("SELECT count(*) FROM scan_note"), std::vector<std::string>{"2"});
}

TEST_F(PostgresReadTest, ScanStreamOutlivesItsRequest) {
  std::unique_ptr<RowStream> stream;
  {
    ScanRequest req;
    req.table = "stock";
    req.columns = {"sku"};
    req.key_columns = {"shop", "n"};
    req.after_key = Row{Value::Int(4), Value::Int(497)};
    req.conditions = {{"sku", Condition::Op::kNe, Value::Text(std::string(100, 'z'))}};
    req.limit = 10;
    auto s = pg_->Scan(req);
    ASSERT_OK(s);
    stream = std::move(s).value();
  }
  std::vector<Row> rows = Drain(*stream);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], Value::Text("SKU-2494"));
  EXPECT_EQ(rows[1][0], Value::Text("SKU-2499"));
}

TEST_F(PostgresReadTest, ScanRejectsAMismatchedAfterKey) {
  ScanRequest req;
  req.table = "stock";
  req.key_columns = {"shop", "n"};
  req.after_key = Row{Value::Int(1)};
  ASSERT_CODE(pg_->Scan(req), StatusCode::kInvalidArgument);
}

TEST_F(PostgresReadTest, LookupSingleColumnWithManyKeys) {
  LookupRequest req;
  req.table = "item";
  req.columns = {"id", "sku"};
  req.by_columns = {"sku"};
  // 10,001 keys (several statements): every even item, once more each, and one that is absent.
  for (int i = 2; i <= 20000; i += 2) req.keys.push_back({Value::Text("SKU-" + std::to_string(i))});
  for (int i = 2; i <= 200; i += 2) req.keys.push_back({Value::Text("SKU-" + std::to_string(i))});
  req.keys.push_back({Value::Text("SKU-none")});
  auto rows = pg_->Lookup(req);
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

TEST_F(PostgresReadTest, LookupCompositeWithManyAndDuplicateKeys) {
  LookupRequest req;
  req.table = "pair";
  req.columns = {"v"};
  req.by_columns = {"a", "b"};
  for (int v = 0; v < 11000; ++v) {
    req.keys.push_back({Value::Int(v / 3), Value::Text("k" + std::to_string(v % 3))});
  }
  req.keys.push_back({Value::Int(5), Value::Text("k1")});  // again
  req.keys.push_back({Value::Int(1), Value::Text("k9")});  // no such row
  auto rows = pg_->Lookup(req);
  ASSERT_OK(rows);
  std::set<int64_t> values;
  for (const Row& r : *rows) values.insert(r[0].as_int());
  EXPECT_EQ(rows->size(), 11000u);
  EXPECT_EQ(values.size(), 11000u);
  EXPECT_EQ(*values.rbegin(), 10999);

  req.columns.clear();  // all columns
  req.keys = {{Value::Int(1), Value::Text("k2")}};
  rows = pg_->Lookup(req);
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0], (Row{Value::Int(1), Value::Text("k2"), Value::Int(5)}));

  req.keys.clear();
  rows = pg_->Lookup(req);
  ASSERT_OK(rows);
  EXPECT_TRUE(rows->empty());
  req.keys = {{Value::Int(1)}};  // wrong arity
  ASSERT_CODE(pg_->Lookup(req), StatusCode::kInvalidArgument);
}

TEST_F(PostgresReadTest, KeysetPagesLookupsAndKeyedWritesUseTheIndex) {
  // Within one transaction pg_stat_xact_user_tables counts this session's scans of each table.
  ASSERT_OK(pg_->Begin());
  ScanRequest page;
  page.table = "pair";
  page.columns = {"a", "b", "v"};
  page.key_columns = {"a", "b"};
  page.after_key = Row{Value::Int(2000), Value::Text("k1")};
  page.limit = 100;
  auto stream = pg_->Scan(page);
  ASSERT_OK(stream);
  EXPECT_EQ(Drain(**stream).size(), 100u);
  ASSERT_OK(
      pg_->Lookup({"pair",
                   {"v"},
                   {"a", "b"},
                   {{Value::Int(7), Value::Text("k1")}, {Value::Int(9), Value::Text("k0")}}}));
  ASSERT_OK(
      pg_->Lookup({"item", {"id"}, {"sku"}, {{Value::Text("SKU-5")}, {Value::Text("SKU-6")}}}));
  ScanRequest by_item;
  by_item.table = "item";
  by_item.columns = {"id"};
  by_item.key_columns = {"id"};
  by_item.after_key = Row{Value::Int(19990)};
  by_item.limit = 5;
  stream = pg_->Scan(by_item);
  ASSERT_OK(stream);
  EXPECT_EQ(Drain(**stream).size(), 5u);
  ASSERT_OK(
      pg_->Update("pair", {"a", "b"}, {"v"}, {{Value::Int(-1), Value::Int(3), Value::Text("k0")}}));
  ASSERT_OK(pg_->Delete("pair", {"a", "b"}, {{Value::Int(4), Value::Text("k0")}}));
  ASSERT_OK(pg_->Update("item", {"id"}, {"price"}, {{Value::Decimal("1.00"), Value::Int(8)}}));
  auto stats = pg_->Query(
      "SELECT relname, seq_scan, idx_scan FROM pg_stat_xact_user_tables"
      " WHERE relname IN ('pair', 'item') ORDER BY relname");
  ASSERT_OK(pg_->Rollback());
  ASSERT_OK(stats);
  ASSERT_EQ(stats->size(), 2u);
  for (const Row& r : *stats) {
    EXPECT_EQ(r[1], Value::Int(0)) << r[0].as_string() << " was read sequentially";
    EXPECT_GT(r[2].as_int(), 0) << r[0].as_string();
  }
}

TEST_F(PostgresReadTest, QueryBindsParametersAndConvertsResults) {
  auto rows =
      pg_->Query("SELECT id, sku, price FROM item WHERE id > $1 AND sku LIKE $2 ORDER BY id",
                 {Value::Int(19997), Value::Text("SKU-%")});
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[2],
            (Row{Value::Int(20000), Value::Text("SKU-20000"), Value::Decimal("200.00")}));
  auto none = pg_->Query("SELECT 1 WHERE false");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  auto bad = pg_->Query("SELEKT 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "connection 'pg'")) << bad.status().message();
  ASSERT_OK(
      pg_->ExecuteScript("CREATE TEMP TABLE scratch (x int); INSERT INTO scratch VALUES (1);"
                         " INSERT INTO scratch VALUES (2)"));
  rows = pg_->Query("SELECT sum(x)::int FROM scratch");
  ASSERT_OK(rows);
  EXPECT_EQ((*rows)[0][0], Value::Int(3));
}

}  // namespace
}  // namespace tether
