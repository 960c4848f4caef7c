// Filters: an entity's `filter.where`, the request's `where` (prefixed or not) and date range,
// and parents outside the filter pulled for the children inside it.
#include <gtest/gtest.h>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class FilterTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Both(R"(
      CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, points INTEGER);
      CREATE TABLE sales_order (id INTEGER PRIMARY KEY, increment_id TEXT NOT NULL UNIQUE,
                                customer_id INTEGER REFERENCES customer(id), status TEXT,
                                created_at TEXT);
      CREATE TABLE cms_page (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE,
                             is_active INTEGER);
    )");
    Source(R"(
      INSERT INTO customer VALUES (1, 'a@x', 1), (2, 'b@x', 5), (3, 'c@x', 9);
      INSERT INTO sales_order VALUES
        (1, 'O-1', 1, 'paid', '2023-12-31 23:59:59'),
        (2, 'O-2', 2, 'new', '2024-01-01 00:00:00'),
        (3, 'O-3', 1, 'paid', '2024-01-15'),
        (4, 'O-4', 3, 'paid', '2024-01-31 23:59:59'),
        (5, 'O-5', 2, 'new', '2024-02-01 00:00:00'),
        (6, 'O-6', NULL, 'paid', '2024-02-10 12:00');
      INSERT INTO cms_page VALUES (1, 'home', 1), (2, 'draft', 0), (3, 'about', 1);
    )");
    Configure(R"(
entities:
  customer: { table: customer, match: [email] }
  order:
    table: sales_order
    match: [increment_id]
    references: { customer_id: customer }
    filter: { date_column: created_at }
  page:
    table: cms_page
    match: [slug]
    filter: { where: "is_active = 1" }
)" + Pipeline("customer, order, page", "    batch_size: 2\n"));
  }
  static SyncRequest Where(std::vector<std::string> where) {
    SyncRequest req;
    req.where = std::move(where);
    return req;
  }
  std::vector<std::string> Orders() {
    return Dst("SELECT increment_id FROM sales_order ORDER BY increment_id");
  }
  std::vector<std::string> Customers() { return Dst("SELECT email FROM customer ORDER BY email"); }
};

TEST_P(FilterTest, EntityFilterLeavesOtherRowsOut) {
  auto report = Sync(Only({"page"}));
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "page"), (RunCounts{.read = 2, .inserted = 2}));
  EXPECT_EQ(Dst("SELECT slug FROM cms_page ORDER BY slug"),
            (std::vector<std::string>{"about", "home"}));
  // The request's filters add to the entity's.
  Source("INSERT INTO cms_page VALUES (4, 'blog', 1), (5, 'old-blog', 0)");
  auto more = Sync(Where({"page.slug like '%blog%'"}));
  ASSERT_OK(more);
  EXPECT_EQ(CountsOf(*more, "page"), (RunCounts{.read = 1, .inserted = 1}));
  EXPECT_EQ(Dst("SELECT slug FROM cms_page ORDER BY slug"),
            (std::vector<std::string>{"about", "blog", "home"}));
}

TEST_P(FilterTest, PrefixedWhereAppliesToItsEntityOnly) {
  auto report = Sync(Where({"order.status = 'paid'"}));
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 3, .inserted = 3}));
  EXPECT_EQ(CountsOf(*report, "order"), (RunCounts{.read = 4, .inserted = 4}));
  EXPECT_EQ(Orders(), (std::vector<std::string>{"O-1", "O-3", "O-4", "O-6"}));
}

TEST_P(FilterTest, UnprefixedWhereAppliesWhereTheColumnExists) {
  auto report = Sync(Where({"status = new"}));
  ASSERT_OK(report);
  // customer and page have no status column: unfiltered.
  EXPECT_EQ(CountsOf(*report, "customer").read, 3);
  EXPECT_EQ(CountsOf(*report, "page").read, 2);
  EXPECT_EQ(Orders(), (std::vector<std::string>{"O-2", "O-5"}));
}

TEST_P(FilterTest, WhereThatNoEntityCanTakeIsRejected) {
  std::string before = TargetSnapshot();
  ASSERT_CODE(Sync(Where({"nosuch = 1"})), StatusCode::kInvalidArgument);
  ASSERT_CODE(Sync(Where({"order.nosuch = 1"})), StatusCode::kInvalidArgument);
  ASSERT_CODE(Sync(Where({"shipment.status = 1"})), StatusCode::kInvalidArgument);
  // page is not selected: its column does not count.
  SyncRequest req = Where({"is_active = 1"});
  req.entities = {"customer", "order"};
  ASSERT_CODE(Sync(req), StatusCode::kInvalidArgument);
  ASSERT_CODE(Sync(Where({"status ~~ 1"})), StatusCode::kInvalidArgument);
  EXPECT_TRUE(TargetSnapshot() == before);
}

TEST_P(FilterTest, DateRangeIncludesTheWholeToDate) {
  SyncRequest req;
  req.from_date = "2024-01-01";
  req.to_date = "2024-01-31";
  auto report = Sync(req);
  ASSERT_OK(report);
  EXPECT_EQ(Orders(), (std::vector<std::string>{"O-2", "O-3", "O-4"}));
  // Entities without a date column are not filtered by dates.
  EXPECT_EQ(CountsOf(*report, "customer").read, 3);

  SyncRequest later;
  later.from_date = "2024-02-01 00:00:00";
  auto rest = Sync(later);
  ASSERT_OK(rest);
  EXPECT_EQ(CountsOf(*rest, "order"), (RunCounts{.read = 2, .inserted = 2}));

  SyncRequest until;
  until.to_date = "2023-12-31 23:59:59";
  auto first = Sync(until);
  ASSERT_OK(first);
  EXPECT_EQ(CountsOf(*first, "order"), (RunCounts{.read = 1, .inserted = 1}));
  EXPECT_EQ(Orders(), (std::vector<std::string>{"O-1", "O-2", "O-3", "O-4", "O-5", "O-6"}));
}

TEST_P(FilterTest, BadDatesAreRejected) {
  SyncRequest req;
  req.from_date = "31/01/2024";
  ASSERT_CODE(Sync(req), StatusCode::kInvalidArgument);
  SyncRequest pages = Only({"page"});
  pages.to_date = "2024-01-31";  // page has no date column
  ASSERT_CODE(Sync(pages), StatusCode::kInvalidArgument);
}

TEST_P(FilterTest, ParentOutsideTheFilterIsPulledForItsChild) {
  // Customers with points >= 5 only; but order O-1 and O-3 belong to customer 1 (1 point).
  auto report = Sync(Where({"customer.points >= 5"}));
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "order").inserted, 6);
  EXPECT_EQ(CountsOf(*report, "order").failed, 0);
  EXPECT_EQ(Customers(), (std::vector<std::string>{"a@x", "b@x", "c@x"}));
  EXPECT_EQ(Dst("SELECT o.increment_id, c.email FROM sales_order o JOIN customer c "
                "ON c.id = o.customer_id ORDER BY 1"),
            (std::vector<std::string>{"O-1|a@x", "O-2|b@x", "O-3|a@x", "O-4|c@x", "O-5|b@x"}));
  EXPECT_EQ(CountsOf(*report, "customer").inserted, 3);  // two in its pass, one pulled
}

TEST_P(FilterTest, PulledParentOfAnUnselectedEntity) {
  auto report = Sync(Only({"order"}));
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "order"), (RunCounts{.read = 6, .inserted = 6}));
  EXPECT_EQ(Customers(), (std::vector<std::string>{"a@x", "b@x", "c@x"}));
  // The pulled parents are linked: the customer pass finds them done.
  auto customers = Sync(Only({"customer"}));
  ASSERT_OK(customers);
  EXPECT_EQ(CountsOf(*customers, "customer"), (RunCounts{.read = 3, .unchanged = 3}));
}

TETHER_ALL_PAIRS(FilterTest);

}  // namespace
}  // namespace tether::testing
