#include "demo/demo.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "util/test_util.h"

namespace tether {
namespace {

using ::tether::testing::ReadFile;
using ::tether::testing::SqliteRows;
using ::tether::testing::TempDir;
using ::tether::testing::WriteFile;

const std::vector<std::string> kTables = {"store",
                                          "customer",
                                          "customer_address",
                                          "category",
                                          "product",
                                          "product_category",
                                          "stock",
                                          "sales_order",
                                          "sales_order_item",
                                          "sales_order_address",
                                          "sales_order_payment",
                                          "invoice",
                                          "shipment",
                                          "creditmemo",
                                          "newsletter_subscriber",
                                          "cms_page",
                                          "coupon"};

// Natural key of each table with its own id, as a SQL expression.
const std::map<std::string, std::string> kNaturalKeys = {
    {"store", "code"},
    {"customer", "email"},
    {"category", "slug"},
    {"product", "sku"},
    {"sales_order", "increment_id"},
    {"invoice", "increment_id"},
    {"shipment", "increment_id"},
    {"creditmemo", "increment_id"},
    {"newsletter_subscriber", "email"},
    {"cms_page", "slug"},
    {"coupon", "code"},
};

int64_t Count(const std::string& db, const std::string& sql) {
  std::vector<std::string> rows = SqliteRows(db, sql);
  return rows.size() == 1 ? std::stoll(rows[0]) : -1;
}

// natural key -> id
std::map<std::string, std::string> KeyToId(const std::string& db, const std::string& table) {
  std::map<std::string, std::string> out;
  for (const std::string& row :
       SqliteRows(db, "SELECT " + kNaturalKeys.at(table) + " || '|' || id FROM " + table)) {
    const size_t bar = row.rfind('|');
    out[row.substr(0, bar)] = row.substr(bar + 1);
  }
  return out;
}

std::vector<std::string> Dump(const std::string& db) {
  std::vector<std::string> out;
  for (const std::string& table : kTables) {
    for (std::string& row : SqliteRows(db, "SELECT * FROM " + table + " ORDER BY 1, 2")) {
      out.push_back(table + ":" + row);
    }
  }
  return out;
}

const DemoTableSummary& Find(const DemoSummary& s, const std::string& table) {
  for (const DemoTableSummary& t : s.tables) {
    if (t.table == table) return t;
  }
  static const DemoTableSummary kNone;
  ADD_FAILURE() << "no summary for " << table;
  return kNone;
}

class DemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.dir = dir_.File("demo");
    ASSERT_OK(GenerateDemo(options_, &summary_));
    live_ = summary_.live_path;
    staging_ = summary_.staging_path;
  }

  TempDir dir_;
  DemoOptions options_;
  DemoSummary summary_;
  std::string live_, staging_;
};

TEST_F(DemoTest, WritesTwoSqliteDatabasesAndTheConfig) {
  for (const std::string& path : {live_, staging_}) {
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    EXPECT_EQ(ReadFile(path).substr(0, 16), std::string("SQLite format 3\0", 16));
    EXPECT_EQ(SqliteRows(path, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
    EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
    EXPECT_FALSE(std::filesystem::exists(path + "-journal"));
  }
  EXPECT_EQ(std::filesystem::path(live_).parent_path(), std::filesystem::path(options_.dir));
  EXPECT_TRUE(summary_.config_written);
  EXPECT_EQ(ReadFile(summary_.config_path), std::string(DemoConfigYaml()));
}

TEST(DemoConfigTest, EmbeddedConfigIsTheRepositoryDemoConfig) {
  EXPECT_EQ(ReadFile(std::string(TETHER_SOURCE_DIR) + "/demo/tether.yaml"),
            std::string(DemoConfigYaml()));
}

TEST_F(DemoTest, BothDatabasesHaveTheSameSchema) {
  const std::string sql =
      "SELECT type || ' ' || name || ' ' || sql FROM sqlite_master WHERE name NOT LIKE "
      "'sqlite_%' ORDER BY name";
  EXPECT_EQ(SqliteRows(live_, sql), SqliteRows(staging_, sql));
  for (const std::string& table : kTables) {
    EXPECT_EQ(SqliteRows(live_, "SELECT name FROM sqlite_master WHERE name = '" + table + "'"),
              std::vector<std::string>{table});
  }
}

TEST_F(DemoTest, CountsAtScaleOne) {
  ASSERT_EQ(summary_.tables.size(), kTables.size());
  for (size_t i = 0; i < kTables.size(); ++i) {
    const DemoTableSummary& t = summary_.tables[i];
    EXPECT_EQ(t.table, kTables[i]);
    EXPECT_EQ(Count(live_, "SELECT count(*) FROM " + t.table), t.live_rows) << t.table;
    EXPECT_EQ(Count(staging_, "SELECT count(*) FROM " + t.table), t.staging_rows) << t.table;
    EXPECT_GT(t.staging_rows, 0) << t.table;
    // Testers made orders, but never invoiced, shipped or refunded them.
    const bool document = t.table == "invoice" || t.table == "shipment" || t.table == "creditmemo";
    EXPECT_EQ(t.staging_only > 0, !document) << t.table;
  }
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM store"), 3);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM customer"), 300);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM category"), 40);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM category WHERE parent_id IS NULL"), 4);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM product"), 502);  // two of them invalid
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM stock"), 500);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM sales_order"), 1000);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM sales_order_payment"), 1000);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM sales_order_address"), 2000);
  EXPECT_EQ(Count(live_,
                  "SELECT count(*) FROM (SELECT order_id FROM sales_order_item GROUP BY order_id "
                  "HAVING count(*) BETWEEN 1 AND 4)"),
            1000);
  const int64_t invoices = Count(live_, "SELECT count(*) FROM invoice");
  const int64_t shipments = Count(live_, "SELECT count(*) FROM shipment");
  const int64_t memos = Count(live_, "SELECT count(*) FROM creditmemo");
  EXPECT_GT(invoices, 850);
  EXPECT_LT(invoices, 1000);
  EXPECT_GT(shipments, 700);
  EXPECT_LE(shipments, invoices);
  EXPECT_GT(memos, 5);
  EXPECT_LT(memos, 60);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM newsletter_subscriber"), 201);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM cms_page"), 20);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM coupon"), 30);

  // Staging holds roughly a third of the customers, products and orders.
  for (const char* table : {"customer", "product", "sales_order"}) {
    const DemoTableSummary& t = Find(summary_, table);
    const int64_t copies = t.staging_rows - t.staging_only;
    EXPECT_GT(copies * 4, t.live_rows) << table;
    EXPECT_LT(copies * 5, t.live_rows * 2) << table;
  }
}

TEST_F(DemoTest, CategoriesFormATreeThreeLevelsDeep) {
  for (const std::string& db : {live_, staging_}) {
    EXPECT_EQ(Count(db,
                    "WITH RECURSIVE t(id, depth) AS (SELECT id, 1 FROM category WHERE parent_id "
                    "IS NULL UNION ALL SELECT c.id, t.depth + 1 FROM category c JOIN t ON "
                    "c.parent_id = t.id) SELECT max(depth) FROM t"),
              3);
    EXPECT_EQ(Count(db,
                    "WITH RECURSIVE t(id) AS (SELECT id FROM category WHERE parent_id IS NULL "
                    "UNION ALL SELECT c.id FROM category c JOIN t ON c.parent_id = t.id) "
                    "SELECT count(*) FROM t"),
              Count(db, "SELECT count(*) FROM category"));
  }
}

TEST_F(DemoTest, EveryForeignKeyIsValid) {
  for (const std::string& db : {live_, staging_}) {
    EXPECT_EQ(SqliteRows(db, "PRAGMA foreign_key_check"), std::vector<std::string>{}) << db;
  }
  // Every reference column is declared as one, so a dangling value would be refused.
  EXPECT_EQ(SqliteRows(live_,
                       "SELECT m.name || '.' || c.name FROM sqlite_master m, "
                       "pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name LIKE "
                       "'%\\_id' ESCAPE '\\' AND c.name != 'increment_id' AND c.name NOT IN "
                       "(SELECT \"from\" FROM pragma_foreign_key_list(m.name))"),
            std::vector<std::string>{});
  EXPECT_EQ(Count(live_,
                  "SELECT count(*) FROM sqlite_master m, pragma_foreign_key_list(m.name) "
                  "WHERE m.type = 'table'"),
            17);
}

TEST_F(DemoTest, SameOptionsGiveTheSameDatabases) {
  DemoOptions again = options_;
  again.dir = dir_.File("again");
  DemoSummary summary;
  ASSERT_OK(GenerateDemo(again, &summary));
  EXPECT_EQ(Dump(live_), Dump(summary.live_path));
  EXPECT_EQ(Dump(staging_), Dump(summary.staging_path));

  DemoOptions other = options_;
  other.dir = dir_.File("other");
  other.seed = 7;
  ASSERT_OK(GenerateDemo(other, &summary));
  EXPECT_NE(Dump(live_), Dump(summary.live_path));
}

TEST_F(DemoTest, RegeneratingReplacesTheDatabasesButKeepsAnEditedConfig) {
  WriteFile(summary_.config_path, "# my edits\n");
  const std::vector<std::string> before = Dump(staging_);
  DemoSummary summary;
  ASSERT_OK(GenerateDemo(options_, &summary));
  EXPECT_FALSE(summary.config_written);
  EXPECT_EQ(ReadFile(summary.config_path), "# my edits\n");
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM customer"), 300);
  EXPECT_EQ(Dump(staging_), before);
}

TEST_F(DemoTest, StagingHoldsLiveRecordsUnderOtherIds) {
  for (const auto& [table, key] : kNaturalKeys) {
    const std::map<std::string, std::string> live = KeyToId(live_, table);
    const std::map<std::string, std::string> staging = KeyToId(staging_, table);
    int64_t shared = 0, same_id = 0;
    for (const auto& [k, id] : staging) {
      auto it = live.find(k);
      if (it == live.end()) continue;
      ++shared;
      same_id += it->second == id;
    }
    const DemoTableSummary& t = Find(summary_, table);
    EXPECT_EQ(shared, t.expect_update + t.expect_unchanged) << table;
    EXPECT_EQ(static_cast<int64_t>(staging.size()) - shared, t.staging_only) << table;
    EXPECT_GT(shared, 0) << table;
    EXPECT_EQ(same_id, 0) << table;
  }
}

TEST_F(DemoTest, IdsCollideAcrossTheTwoShops) {
  // Staging customer 1 exists, and is not live customer 1.
  const std::vector<std::string> live1 =
      SqliteRows(live_, "SELECT email FROM customer WHERE id = 1");
  const std::vector<std::string> staging1 =
      SqliteRows(staging_, "SELECT email FROM customer WHERE id = 1");
  ASSERT_EQ(live1.size(), 1u);
  ASSERT_EQ(staging1.size(), 1u);
  EXPECT_NE(live1, staging1);
  for (const char* table : {"store", "customer", "category", "product", "sales_order"}) {
    const std::map<std::string, std::string> live = KeyToId(live_, table);
    std::map<std::string, std::string> live_by_id;
    for (const auto& [k, id] : live) live_by_id[id] = k;
    int64_t collisions = 0;
    for (const auto& [k, id] : KeyToId(staging_, table)) {
      auto it = live_by_id.find(id);
      collisions += it != live_by_id.end() && it->second != k;
    }
    EXPECT_GT(collisions, 0) << table;
  }
}

TEST_F(DemoTest, StagingCopiesDriftedFromLive) {
  auto by_key = [](const std::string& db, const std::string& sql) {
    std::map<std::string, std::string> out;
    for (const std::string& row : SqliteRows(db, sql)) {
      const size_t bar = row.find('|');
      out[row.substr(0, bar)] = row.substr(bar + 1);
    }
    return out;
  };
  auto differing = [&](const std::string& sql) {
    const auto live = by_key(live_, sql);
    int64_t n = 0;
    for (const auto& [k, v] : by_key(staging_, sql)) {
      auto it = live.find(k);
      n += it != live.end() && it->second != v;
    }
    return n;
  };
  EXPECT_GT(differing("SELECT sku, price FROM product"), 10);
  EXPECT_GT(differing("SELECT sku, name FROM product"), 5);
  EXPECT_GT(differing("SELECT p.sku, s.qty FROM stock s JOIN product p ON p.id = s.product_id"),
            20);
  EXPECT_GT(differing("SELECT email, lastname FROM customer"), 10);
  EXPECT_GT(differing("SELECT increment_id, status FROM sales_order"), 3);
  EXPECT_GT(differing("SELECT code, name FROM store"), 0);
  // A moved category: its parent differs by slug, not only by id.
  EXPECT_GT(differing("SELECT c.slug, p.slug FROM category c JOIN category p ON p.id = "
                      "c.parent_id"),
            0);
  // Each staging order item names the same product as its live original, through other ids.
  EXPECT_EQ(differing("SELECT o.increment_id || '/' || i.sku, p.sku FROM sales_order_item i "
                      "JOIN sales_order o ON o.id = i.order_id JOIN product p ON p.id = "
                      "i.product_id"),
            0);

  const DemoTableSummary& product = Find(summary_, "product");
  EXPECT_GT(product.expect_update, 10);
  EXPECT_GT(product.expect_unchanged, 50);
  EXPECT_GT(Find(summary_, "stock").expect_update, 20);
  EXPECT_EQ(Find(summary_, "sales_order_item").expect_update, 0);
}

TEST_F(DemoTest, LiveHoldsInvalidRecordsThatStagingLacks) {
  const std::regex sku("^[A-Z0-9-]+$");
  std::vector<std::string> bad_skus;
  for (const std::string& s : SqliteRows(live_, "SELECT sku FROM product")) {
    if (!std::regex_match(s, sku)) bad_skus.push_back(s);
  }
  ASSERT_EQ(bad_skus.size(), 1u);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM product WHERE price < 0"), 1);
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM customer WHERE email NOT LIKE '%_@_%._%'"), 1);
  EXPECT_EQ(
      Count(live_, "SELECT count(*) FROM newsletter_subscriber WHERE email NOT LIKE '%_@_%._%'"),
      1);
  EXPECT_EQ(Count(staging_,
                  "SELECT count(*) FROM product WHERE price < 0 OR sku = '" + bad_skus[0] + "'"),
            0);
  EXPECT_EQ(Count(staging_, "SELECT count(*) FROM customer WHERE email NOT LIKE '%_@_%._%'"), 0);
  // Nothing refers to them, so skipping them leaves no child without its parent.
  EXPECT_EQ(Count(live_,
                  "SELECT count(*) FROM sales_order_item i JOIN product p ON p.id = i.product_id "
                  "WHERE p.price < 0 OR p.sku = '" +
                      bad_skus[0] + "'"),
            0);
  EXPECT_EQ(Count(live_,
                  "SELECT (SELECT count(*) FROM sales_order o JOIN customer c ON c.id = "
                  "o.customer_id WHERE c.email NOT LIKE '%@%') + (SELECT count(*) FROM "
                  "customer_address a JOIN customer c ON c.id = a.customer_id WHERE c.email NOT "
                  "LIKE '%@%')"),
            0);
  EXPECT_EQ(Find(summary_, "product").expect_invalid, 2);
  EXPECT_EQ(Find(summary_, "customer").expect_invalid, 1);
  EXPECT_EQ(Find(summary_, "newsletter_subscriber").expect_invalid, 1);
}

TEST_F(DemoTest, SummaryAddsUp) {
  for (const DemoTableSummary& t : summary_.tables) {
    EXPECT_EQ(t.expect_insert + t.expect_update + t.expect_unchanged + t.expect_invalid +
                  t.expect_filtered,
              t.live_rows)
        << t.table;
    EXPECT_EQ(t.expect_update + t.expect_unchanged + t.staging_only, t.staging_rows) << t.table;
    EXPECT_GT(t.expect_insert, 0) << t.table;
  }
  EXPECT_GT(Find(summary_, "cms_page").expect_filtered, 0);
}

TEST_F(DemoTest, OrdersSpreadOverTwoYears) {
  EXPECT_GE(SqliteRows(live_, "SELECT min(created_at) FROM sales_order")[0], "2024-01-01");
  EXPECT_LT(SqliteRows(live_, "SELECT max(created_at) FROM sales_order")[0], "2026-01-01");
  EXPECT_GT(Count(live_, "SELECT count(*) FROM sales_order WHERE created_at < '2025-01-01'"), 400);
  EXPECT_GT(Count(live_, "SELECT count(*) FROM sales_order WHERE created_at >= '2025-01-01'"), 400);
  EXPECT_GT(Count(live_, "SELECT count(*) FROM sales_order WHERE customer_id IS NULL"), 0);
}

TEST(DemoScaleTest, ScaleMultipliesCounts) {
  TempDir dir;
  DemoOptions options;
  options.dir = dir.File("demo");
  options.scale = 2;
  DemoSummary summary;
  ASSERT_OK(GenerateDemo(options, &summary));
  EXPECT_EQ(Count(summary.live_path, "SELECT count(*) FROM customer"), 600);
  EXPECT_EQ(Count(summary.live_path, "SELECT count(*) FROM category"), 80);
  EXPECT_EQ(Count(summary.live_path, "SELECT count(*) FROM sales_order"), 2000);
  EXPECT_EQ(Count(summary.live_path, "SELECT count(*) FROM cms_page"), 40);
  for (const std::string& db : {summary.live_path, summary.staging_path}) {
    EXPECT_EQ(SqliteRows(db, "PRAGMA foreign_key_check"), std::vector<std::string>{});
  }
}

TEST(DemoScaleTest, RejectsABadScale) {
  TempDir dir;
  DemoOptions options;
  options.dir = dir.File("demo");
  options.scale = 0;
  ASSERT_CODE(GenerateDemo(options), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir.File("demo")));
}

}  // namespace
}  // namespace tether
