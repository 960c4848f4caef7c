// What a run is restricted to: --from-date/--to-date, --where and --entity on the demo shop,
// checked with SQL on staging; and how bad filter values are refused.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"

namespace tether::e2e {
namespace {

class FiltersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.File("shop");
    ASSERT_NO_FATAL_FAILURE(MakeDemo(dir_));
    live_ = dir_ + "/live.db";
    staging_ = dir_ + "/staging.db";
  }

  CommandResult Run(const std::vector<std::string>& args) const { return Tether(args, dir_); }

  // Every data table of staging, dumped, except `skip`.
  std::map<std::string, std::vector<std::string>> Snapshot(const std::set<std::string>& skip) {
    std::map<std::string, std::vector<std::string>> out;
    for (const std::string& t : DataTables(staging_)) {
      if (!skip.count(t)) out[t] = Dump(staging_, t);
    }
    return out;
  }

  TempDir tmp_;
  std::string dir_, live_, staging_;
};

TEST_F(FiltersTest, DateRangeSyncsOnlyOrdersCreatedInRange) {
  // Bounds from the data: the days of the 100th and 160th orders, so both ends hold orders.
  std::vector<std::string> days =
      SqliteRows(live_, "SELECT date(created_at) FROM sales_order ORDER BY created_at");
  ASSERT_GT(days.size(), 200u);
  const std::string from = days[100], to = days[160];
  const std::set<std::string> before = RowSet(staging_, "SELECT increment_id FROM sales_order");
  const std::set<std::string> in_range =
      RowSet(live_, "SELECT increment_id FROM sales_order WHERE date(created_at) BETWEEN '" + from +
                        "' AND '" + to + "'");
  ASSERT_GT(in_range.size(), 40u);
  const int64_t on_last_day =
      Count(live_, "SELECT count(*) FROM sales_order WHERE date(created_at) = '" + to + "'");
  ASSERT_GT(on_last_day, 0) << "--to-date includes the whole day";

  const int64_t invoices = Count(staging_, "SELECT count(*) FROM invoice");
  const int64_t items = Count(staging_, "SELECT count(*) FROM sales_order_item");

  CommandResult r =
      Run({"sync", "--entity", "order", "--from-date", from, "--to-date", to, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  nlohmann::json report = ParseJson(r.out);
  // The report lists the selected entity, and the parents (customers, stores) pulled in for it.
  nlohmann::json order;
  for (const nlohmann::json& e : report["entities"]) {
    if (e["entity"] == "order") order = e;
    EXPECT_TRUE(e["entity"] == "order" || e["entity"] == "customer" || e["entity"] == "store")
        << report.dump(2);
  }
  ASSERT_FALSE(order.is_null()) << report.dump(2);
  EXPECT_EQ(order["read"].get<size_t>(), in_range.size());

  std::set<std::string> expected = before;
  expected.insert(in_range.begin(), in_range.end());
  EXPECT_EQ(RowSet(staging_, "SELECT increment_id FROM sales_order"), expected);
  // Children of the orders are other entities: not selected, not copied.
  EXPECT_EQ(Count(staging_, "SELECT count(*) FROM invoice"), invoices);
  EXPECT_EQ(Count(staging_, "SELECT count(*) FROM sales_order_item"), items);
}

TEST_F(FiltersTest, WhereSyncsOnlyMatchingProducts) {
  const std::string product_rows = "SELECT sku, name, price, status FROM product";
  const std::set<std::string> staging_before = RowSet(staging_, product_rows);
  const std::set<std::string> cheap =
      RowSet(live_, "SELECT sku FROM product WHERE price <= 100 OR price IS NULL");
  const std::set<std::string> dear = RowSet(live_, "SELECT sku FROM product WHERE price > 100");
  ASSERT_FALSE(cheap.empty());
  ASSERT_FALSE(dear.empty());

  CommandResult r =
      Run({"sync", "--entity", "product", "--where", "product.price > 100", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  nlohmann::json report = ParseJson(r.out);
  nlohmann::json product;
  for (const nlohmann::json& e : report["entities"]) {
    if (e["entity"] == "product") product = e;
  }
  ASSERT_FALSE(product.is_null()) << report.dump(2);
  EXPECT_EQ(product["read"].get<size_t>(), dear.size()) << report.dump(2);
  std::set<std::string> skipped;
  for (const nlohmann::json& p : report["problems"]) skipped.insert(p["source_id"]);

  // Every valid product over 100 is on staging with live's values.
  std::vector<std::string> want = SqliteRows(
      live_, "SELECT id, sku || '|' || name || '|' || price FROM product WHERE price > 100");
  const std::set<std::string> staging_after =
      RowSet(staging_, "SELECT sku || '|' || name || '|' || price FROM product");
  for (const std::string& row : want) {
    const std::string id = row.substr(0, row.find('|'));
    if (skipped.count(id)) continue;
    EXPECT_TRUE(staging_after.count(row.substr(row.find('|') + 1))) << "missing: " << row;
  }
  // Products at 100 or less: no new row, no changed row.
  std::set<std::string> new_or_changed;
  for (const std::string& row : RowSet(staging_, product_rows)) {
    if (!staging_before.count(row)) new_or_changed.insert(row.substr(0, row.find('|')));
  }
  for (const std::string& sku : new_or_changed) {
    EXPECT_FALSE(cheap.count(sku)) << "product " << sku << " (price <= 100) was written";
  }
  EXPECT_FALSE(new_or_changed.empty());
}

TEST_F(FiltersTest, EntityFlagSyncsOnlyThatEntity) {
  auto before = Snapshot({"coupon"});
  CommandResult r = Run({"sync", "--entity", "coupon", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  nlohmann::json report = ParseJson(r.out);
  ASSERT_EQ(report["entities"].size(), 1u) << report.dump(2);
  EXPECT_EQ(report["entities"][0]["entity"], "coupon");
  EXPECT_GT(report["total"]["inserted"].get<int64_t>(), 0);
  EXPECT_TRUE(Snapshot({"coupon"}) == before) << "a table other than coupon changed";
  std::set<std::string> want = RowSet(live_, "SELECT code FROM coupon WHERE discount >= 0");
  std::set<std::string> have = RowSet(staging_, "SELECT code FROM coupon");
  for (const std::string& code : want) EXPECT_TRUE(have.count(code)) << code;
  // The link registry knows coupons only.
  EXPECT_EQ(RowSet(staging_, "SELECT DISTINCT entity FROM tether_links"),
            std::set<std::string>{"coupon"});
}

TEST_F(FiltersTest, BadDateIsAUsageErrorAndWritesNothing) {
  const std::string before = ReadFile(staging_);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"sync", "--from-date", "yesterday"},
        std::vector<std::string>{"sync", "--to-date", "2025/01/31"},
        std::vector<std::string>{"plan", "--from-date", "31-01-2025"}}) {
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << Show(r);
    EXPECT_TRUE(Contains(r.err, args[2])) << "names the bad value\n" << Show(r);
    EXPECT_TRUE(r.out.empty()) << Show(r);
  }
  EXPECT_TRUE(ReadFile(staging_) == before);
}

// BUG: the message for a bad date is "date 'yesterday' is not YYYY-MM-DD or ..." and does not say
// which flag held it (--from-date or --to-date).
TEST_F(FiltersTest, BadDateMessageNamesTheFlag) {
  CommandResult from = Run({"sync", "--from-date", "yesterday"});
  EXPECT_EQ(from.exit_code, 2) << Show(from);
  EXPECT_TRUE(Contains(from.err, "--from-date")) << Show(from);
  CommandResult to = Run({"sync", "--to-date", "tomorrow"});
  EXPECT_EQ(to.exit_code, 2) << Show(to);
  EXPECT_TRUE(Contains(to.err, "--to-date")) << Show(to);
}

// BUG: dates that do not exist pass the YYYY-MM-DD pattern check and the run goes ahead:
// --to-date 2025-13-45 is normalised by timegm to some day of 2026, --from-date 2025-02-30 is
// compared as text. Expected exit 2; actual exit 0 and a sync.
TEST_F(FiltersTest, ImpossibleCalendarDateIsAUsageError) {
  const std::string before = ReadFile(staging_);
  for (std::string flag : {"--from-date", "--to-date"}) {
    for (std::string date : {"2025-13-45", "2025-02-30", "2025-00-10"}) {
      CommandResult r = Run({"sync", "--entity", "order", flag, date});
      EXPECT_EQ(r.exit_code, 2) << flag << " " << date << "\n" << Show(r);
      EXPECT_TRUE(Contains(r.err, date)) << Show(r);
    }
  }
  EXPECT_TRUE(ReadFile(staging_) == before) << "an impossible date started a sync";
}

TEST_F(FiltersTest, BadWhereIsAUsageErrorNamingTheFlag) {
  const std::string before = ReadFile(staging_);
  for (const std::string& where :
       {std::string("price"), std::string("price >"), std::string("price ~ 3"),
        std::string("nosuchcolumn = 1"), std::string("product.nosuchcolumn = 1"),
        std::string("nosuchentity.price = 1"), std::string("sku = 'unterminated")}) {
    CommandResult r = Run({"sync", "--where", where});
    EXPECT_EQ(r.exit_code, 2) << where << "\n" << Show(r);
    EXPECT_TRUE(Contains(r.err, "--where")) << Show(r);
    EXPECT_TRUE(Contains(r.err, where)) << Show(r);
  }
  EXPECT_TRUE(ReadFile(staging_) == before);
}

TEST_F(FiltersTest, WhereValueIsDataNeverSql) {
  const int64_t live_products = Count(live_, "SELECT count(*) FROM product");
  const int64_t staging_products = Count(staging_, "SELECT count(*) FROM product");
  for (const std::string& where :
       {std::string("product.sku = 'x''; DROP TABLE product; --'"),
        std::string("product.sku = x'; DROP TABLE product; --"),
        std::string("product.name = \"\"\" OR 1=1 --\""), std::string("sku = ') OR 1=1 --'"),
        std::string("product.sku like '%'' OR ''1''=''1'")}) {
    CommandResult r = Run({"sync", "--entity", "product", "--where", where, "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << where << "\n" << Show(r);
    nlohmann::json report = ParseJson(r.out);
    EXPECT_EQ(report["total"]["read"], 0) << where << ": no sku/name is equal to that text";
  }
  EXPECT_EQ(Count(live_, "SELECT count(*) FROM product"), live_products);
  EXPECT_EQ(Count(staging_, "SELECT count(*) FROM product"), staging_products);
  // A quote inside a value matches a row that really holds one.
  SqliteExec(live_, "UPDATE product SET name = 'O''Brien''s boot' WHERE id = 3");
  CommandResult r = Run({"plan", "--entity", "product", "--where", "product.name = O'Brien's boot",
                         "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  // (The plan also counts the categories a sync would pull for it.)
  const nlohmann::json plan = ParseJson(r.out);
  int64_t products = 0;
  for (const auto& e : plan["summary"]["entities"]) {
    if (e["entity"] == "product") products = e["read"];
  }
  EXPECT_EQ(products, 1) << r.out;
}

// BUG: with --entity, parents that the selected entity pulls in are written (and counted in the
// run history), but the sync report lists only the selected entity: `sync --entity order` on the
// fresh demo reports 32 inserted while it also inserted the orders' missing customers and store
// (49 new rows; `runs` says 49).
TEST_F(FiltersTest, SyncReportCountsParentsItPulledIn) {
  std::map<std::string, int64_t> before;
  for (const std::string& t : DataTables(staging_)) {
    before[t] = Count(staging_, "SELECT count(*) FROM \"" + t + "\"");
  }
  CommandResult r = Run({"sync", "--entity", "order", "--from-date", "2025-03-01", "--to-date",
                         "2025-03-31", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  nlohmann::json report = ParseJson(r.out);
  int64_t new_rows = 0;
  for (const auto& [t, n] : before) {
    new_rows += Count(staging_, "SELECT count(*) FROM \"" + t + "\"") - n;
  }
  EXPECT_EQ(report["total"]["inserted"].get<int64_t>(), new_rows) << report.dump(2);
  CommandResult runs = Run({"runs", "--format", "json"});
  ASSERT_EQ(runs.exit_code, 0) << Show(runs);
  nlohmann::json history = ParseJson(runs.out);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["counts"], report["total"]) << "sync and runs disagree";
}

}  // namespace
}  // namespace tether::e2e
