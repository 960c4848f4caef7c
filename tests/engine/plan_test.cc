// The plan is the dry run of the same code, so it predicts the run: per entity the same counts
// as the sync that follows it, over every engine pair — with references to parents the run
// creates first, source records that collide on a match key, parents pulled for a selection of
// children, and parents written anew whose children must follow them (sync --keys, --changes).
#include <gtest/gtest.h>

#include "track/change_log.h"
#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

constexpr char kPlanDdl[] = R"(
  CREATE TABLE category (id INTEGER PRIMARY KEY, slug VARCHAR(20) NOT NULL, parent_id INTEGER);
  CREATE TABLE product (id INTEGER PRIMARY KEY, sku VARCHAR(20) NOT NULL, name TEXT,
                        category_id INTEGER);
  CREATE TABLE customer (id INTEGER PRIMARY KEY, email VARCHAR(40) NOT NULL, name TEXT);
  CREATE TABLE sales_order (id INTEGER PRIMARY KEY, increment_id VARCHAR(20) NOT NULL,
                            customer_id INTEGER);
)";

constexpr char kPlanEntities[] = R"(
entities:
  category: { table: category, match: [slug], references: { parent_id: category } }
  product: { table: product, match: [sku], references: { category_id: category } }
  customer: { table: customer, match: [email] }
  order: { table: sales_order, match: [increment_id], references: { customer_id: customer } }
)";

class PlanTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Both(kPlanDdl);
    Configure(std::string(kPlanEntities) +
              Pipeline("category, product, customer, order", "    batch_size: 2\n"));
  }

  std::vector<RecordPlan> Planned(const std::string& entity, Action action) const {
    std::vector<RecordPlan> out;
    for (const RecordPlan& p : planned_) {
      if (p.entity == entity && p.action == action) out.push_back(p);
    }
    return out;
  }

  static constexpr char kProducts[] =
      "SELECT p.sku, p.name, c.slug FROM product p LEFT JOIN category c ON c.id = p.category_id "
      "ORDER BY 1";
  static constexpr char kOrders[] =
      "SELECT o.increment_id, c.email FROM sales_order o "
      "LEFT JOIN customer c ON c.id = o.customer_id ORDER BY 1";
  static constexpr char kCategories[] =
      "SELECT c.slug, p.slug FROM category c LEFT JOIN category p ON p.id = c.parent_id ORDER BY 1";
};

TEST_P(PlanTest, AReferenceToAParentTheRunCreatesIsAChange) {
  Source(R"(
    INSERT INTO category VALUES (1, 'shoes', NULL);
    INSERT INTO product VALUES (1, 'P-1', 'One', 1), (2, 'P-2', 'Two', 1);
  )");
  ASSERT_OK(Sync());
  // Both products move to a category the target does not have yet; one is renamed too.
  Source(R"(
    INSERT INTO category VALUES (2, 'hats', NULL);
    UPDATE product SET category_id = 2, name = 'Uno' WHERE id = 1;
    UPDATE product SET category_id = 2 WHERE id = 2;
  )");
  auto report = PlanThenSync({});
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "product"), (RunCounts{.read = 2, .updated = 2}));
  auto updates = Planned("product", Action::kUpdate);
  ASSERT_EQ(updates.size(), 2u);
  const RecordPlan& moved = updates[0].source_id == "2" ? updates[0] : updates[1];
  EXPECT_EQ(moved.source_id, "2");
  ASSERT_EQ(moved.changes.size(), 1u);
  EXPECT_EQ(moved.changes[0].column, "category_id");
  EXPECT_EQ(moved.changes[0].after, Value::Text("new category 2"));
  EXPECT_EQ(Dst(kProducts), Src(kProducts));
}

TEST_P(PlanTest, RecordsThatCollideOnAMatchKeyFailInThePlanAsInTheRun) {
  // 1 and 2 collide in one batch, 3 and 5 across batches, 6 and 8 on a row the target has; the
  // target has no unique index that would refuse the second of a pair.
  Source(R"(
    INSERT INTO customer VALUES (1, 'a@x', 'N'), (2, 'a@x', 'N'), (3, 'b@x', 'N'), (4, 'c@x', 'N'),
                                (5, 'b@x', 'N'), (6, 'd@x', 'N'), (7, 'e@x', 'N'), (8, 'd@x', 'N');
  )");
  Target("INSERT INTO customer VALUES (40, 'd@x', 'N')");
  auto report = PlanThenSync(Only({"customer"}));
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "customer"),
            (RunCounts{.read = 8, .inserted = 4, .linked = 1, .failed = 3}));
  std::vector<std::string> failed;
  for (const RecordPlan& r : Records("customer", Action::kFail)) failed.push_back(r.source_id);
  EXPECT_EQ(Sorted(failed), (std::vector<std::string>{"2", "5", "8"}));
  EXPECT_EQ(Dst("SELECT email, count(*) FROM customer GROUP BY email ORDER BY 1"),
            (std::vector<std::string>{"a@x|1", "b@x|1", "c@x|1", "d@x|1", "e@x|1"}));
  // They fail again, and the plan says so.
  auto again = PlanThenSync(Only({"customer"}));
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "customer"), (RunCounts{.read = 8, .unchanged = 5, .failed = 3}));
}

TEST_P(PlanTest, ParentsPulledForTheChosenChildrenAreCountedInThePlan) {
  Source(R"(
    INSERT INTO customer VALUES (1, 'a@x', 'Ann'), (2, 'b@x', 'Bob');
    INSERT INTO sales_order VALUES (10, 'O-10', 1), (11, 'O-11', 2), (12, 'O-12', 1);
  )");
  auto report = PlanThenSync(Only({"order"}));
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 2, .inserted = 2}));
  EXPECT_EQ(CountsOf(*report, "order"), (RunCounts{.read = 3, .inserted = 3}));
  EXPECT_EQ(Planned("customer", Action::kInsert).size(), 2u);
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
}

// A parent whose linked target row someone deleted is written anew under another id; its
// children in the target still hold the old id until they are brought in line — in the same
// run, whichever way the parent was chosen.
TEST_P(PlanTest, ChildrenFollowAParentWrittenAnew) {
  Source(R"(
    INSERT INTO customer VALUES (1, 'a@x', 'Ann'), (2, 'b@x', 'Bob'), (3, 'c@x', 'Cy');
    INSERT INTO sales_order VALUES (10, 'O-10', 1), (11, 'O-11', 1), (12, 'O-12', 2),
                                   (13, 'O-13', 1), (14, 'O-14', 3);
    INSERT INTO category VALUES (1, 'top', NULL), (2, 'mid', 1), (3, 'leaf', 2), (4, 'side', 1);
  )");
  ASSERT_OK(Sync());
  Target("DELETE FROM customer WHERE email = 'a@x'; DELETE FROM category WHERE slug = 'top'");

  SyncRequest by_key;
  by_key.mode = SyncMode::kKeys;
  by_key.keys["customer"] = {"1"};
  by_key.keys["category"] = {"1"};
  auto keys = PlanThenSync(by_key);
  ASSERT_OK(keys);
  EXPECT_EQ(CountsOf(*keys, "customer"), (RunCounts{.read = 1, .inserted = 1}));
  EXPECT_EQ(CountsOf(*keys, "order"), (RunCounts{.read = 3, .updated = 3}));
  EXPECT_EQ(CountsOf(*keys, "category"),
            (RunCounts{.read = 3, .inserted = 1, .updated = 2}));  // top anew; mid and side follow
  for (const RecordPlan& r : Planned("order", Action::kUpdate)) {
    ASSERT_EQ(r.changes.size(), 1u) << r.source_id;
    EXPECT_EQ(r.changes[0].after, Value::Text("new customer 1")) << r.source_id;
  }
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
  EXPECT_EQ(Dst(kCategories), Src(kCategories));
  auto full = Sync();
  ASSERT_OK(full);
  EXPECT_FALSE(Total(*full).Changed()) << ::testing::PrintToString(Total(*full));

  // A full run of the parent alone takes its children along; one of every entity leaves them to
  // their own pass, which follows.
  Target("DELETE FROM customer WHERE email = 'c@x'");
  auto parent_only = PlanThenSync(Only({"customer"}));
  ASSERT_OK(parent_only);
  EXPECT_EQ(CountsOf(*parent_only, "order"), (RunCounts{.read = 1, .updated = 1}));
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
  // (Not the row with the highest id: SQLite would give the same id to the new one.)
  Target("DELETE FROM customer WHERE email = 'a@x'");
  auto all = PlanThenSync();
  ASSERT_OK(all);
  EXPECT_EQ(CountsOf(*all, "customer"), (RunCounts{.read = 3, .inserted = 1, .unchanged = 2}));
  EXPECT_EQ(CountsOf(*all, "order"), (RunCounts{.read = 5, .updated = 3, .unchanged = 2}));
  EXPECT_EQ(Dst(kOrders), Src(kOrders));

  // From the change log: customer 2 changed in the source, its target row is gone.
  {
    auto conn = src_db_->Open("src");
    ASSERT_NE(conn, nullptr);
    ChangeLog log(conn.get());
    ASSERT_OK(log.Install({{"customer", "customer", {"id"}}, {"order", "sales_order", {"id"}}}));
  }
  SyncRequest changes;
  changes.mode = SyncMode::kChanges;
  changes.entities = {"customer", "order"};
  ASSERT_OK(Sync(changes));  // the first incremental run copies whole
  Target("DELETE FROM customer WHERE email = 'b@x'");
  Source("UPDATE customer SET name = 'Bobby' WHERE id = 2");
  auto incremental = PlanThenSync(changes);
  ASSERT_OK(incremental);
  EXPECT_EQ(CountsOf(*incremental, "customer"), (RunCounts{.read = 1, .inserted = 1}));
  EXPECT_EQ(CountsOf(*incremental, "order"), (RunCounts{.read = 1, .updated = 1}));
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
}

// Children the run takes along only when a parent is written anew need not map for the run to
// go on (their source table may have a column the target lacks); when one must follow, the run
// fails with that reason and writes nothing, instead of leaving it pointing at the old id.
TEST_P(PlanTest, AChildThatCannotMapStopsTheRunOnlyWhenItMustFollow) {
  Source(R"(
    INSERT INTO customer VALUES (1, 'a@x', 'Ann'), (2, 'b@x', 'Bob');
    INSERT INTO sales_order VALUES (10, 'O-10', 1), (11, 'O-11', 2);
  )");
  ASSERT_OK(Sync());
  Source("ALTER TABLE sales_order ADD COLUMN note TEXT");
  Source("UPDATE customer SET name = 'Bobby' WHERE id = 2");
  auto fine = Sync(Only({"customer"}));
  ASSERT_OK(fine);
  EXPECT_EQ(CountsOf(*fine, "customer"), (RunCounts{.read = 2, .updated = 1, .unchanged = 1}));

  Target("DELETE FROM customer WHERE email = 'a@x'");
  SyncRequest by_key;
  by_key.mode = SyncMode::kKeys;
  by_key.keys["customer"] = {"1"};
  auto stopped = Sync(by_key);
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.status().message().find("'order'"), std::string::npos)
      << stopped.status().ToString();
  EXPECT_NE(stopped.status().message().find("note"), std::string::npos)
      << stopped.status().ToString();
  EXPECT_EQ(Dst("SELECT count(*) FROM customer"), std::vector<std::string>{"1"});
}

TETHER_ALL_PAIRS(PlanTest);

}  // namespace
}  // namespace tether::testing
