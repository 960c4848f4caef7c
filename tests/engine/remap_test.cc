// Foreign-key remapping: references land on the right target parents when the two sides number
// their rows differently, through composite match keys and identity-keyed join tables.
#include <gtest/gtest.h>

#include "track/change_log.h"
#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

constexpr char kShopDdl[] = R"(
  CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT);
  CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT, price REAL);
  CREATE TABLE category (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT);
  CREATE TABLE product_category (product_id INTEGER NOT NULL REFERENCES product(id),
                                 category_id INTEGER NOT NULL REFERENCES category(id),
                                 position INTEGER,
                                 PRIMARY KEY (product_id, category_id));
  CREATE TABLE sales_order (id INTEGER PRIMARY KEY, increment_id TEXT NOT NULL UNIQUE,
                            customer_id INTEGER REFERENCES customer(id), total REAL);
  CREATE TABLE sales_order_item (id INTEGER PRIMARY KEY,
                                 order_id INTEGER NOT NULL REFERENCES sales_order(id),
                                 product_id INTEGER REFERENCES product(id),
                                 sku TEXT NOT NULL, qty INTEGER);
)";

constexpr char kShopEntities[] = R"(
entities:
  customer: { table: customer, match: [email] }
  product: { table: product, match: [sku] }
  category: { table: category, match: [slug] }
  product_category:
    table: product_category
    key: [product_id, category_id]
    keys: identity
    references: { product_id: product, category_id: category }
  order:
    table: sales_order
    match: [increment_id]
    references: { customer_id: customer }
  order_item:
    table: sales_order_item
    match: [order_id, sku]
    references: { order_id: order, product_id: product }
)";

class RemapTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Both(kShopDdl);
    Configure(std::string(kShopEntities) +
              Pipeline("order_item, order, product_category, category, product, customer",
                       "    batch_size: 2\n"));
  }

  // Orders with their customer's email, and items with their order's number and product's sku:
  // the data as natural keys, comparable across the two files.
  static constexpr char kOrders[] =
      "SELECT o.increment_id, c.email, o.total FROM sales_order o "
      "LEFT JOIN customer c ON c.id = o.customer_id ORDER BY 1";
  static constexpr char kItems[] =
      "SELECT o.increment_id, i.sku, p.sku, i.qty FROM sales_order_item i "
      "JOIN sales_order o ON o.id = i.order_id LEFT JOIN product p ON p.id = i.product_id "
      "ORDER BY 1, 2";
  static constexpr char kProductCategories[] =
      "SELECT p.sku, c.slug, pc.position FROM product_category pc "
      "JOIN product p ON p.id = pc.product_id JOIN category c ON c.id = pc.category_id "
      "ORDER BY 1, 2";
};

TEST_P(RemapTest, ChildrenPointAtTheRightParentsDespiteCollidingIds) {
  Source(R"(
    INSERT INTO customer VALUES (1, 'ann@x', 'Ann'), (2, 'bob@x', 'Bob'), (3, 'cy@x', 'Cy');
    INSERT INTO product VALUES (1, 'P-1', 'One', 10), (2, 'P-2', 'Two', 20);
    INSERT INTO sales_order VALUES (1, 'O-1', 1, 30), (2, 'O-2', 3, 20), (3, 'O-3', 2, 10),
                                   (4, 'O-4', NULL, 5);
    INSERT INTO sales_order_item VALUES (1, 1, 1, 'P-1', 1), (2, 1, 2, 'P-2', 1),
                                        (3, 2, 2, 'P-2', 1), (4, 3, 1, 'P-1', 1),
                                        (5, 4, 1, 'P-1', 7);
  )");
  // The target's ids mean other records: its customer 1 is someone else, its customer 2 is the
  // source's customer 3, its product 1 is the source's product 2.
  Target(R"(
    INSERT INTO customer VALUES (1, 'zed@x', 'Zed'), (2, 'cy@x', 'Cy'), (3, 'yan@x', 'Yan');
    INSERT INTO product VALUES (1, 'P-2', 'Two', 20), (2, 'OTHER', 'Other', 1);
    INSERT INTO sales_order VALUES (1, 'T-1', 1, 99);
    INSERT INTO sales_order_item VALUES (1, 1, 2, 'OTHER', 1);
  )");
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 3, .inserted = 2, .linked = 1}));
  EXPECT_EQ(CountsOf(*report, "product"), (RunCounts{.read = 2, .inserted = 1, .linked = 1}));
  EXPECT_EQ(CountsOf(*report, "order"), (RunCounts{.read = 4, .inserted = 4}));
  EXPECT_EQ(CountsOf(*report, "order_item"), (RunCounts{.read = 5, .inserted = 5}));
  EXPECT_EQ(report->run.status, "succeeded");

  // Every source order and item is in the target under the same natural keys; the target's own
  // records are untouched.
  std::vector<std::string> orders = Src(kOrders);
  orders.insert(orders.end(), "T-1|zed@x|99.0");
  std::sort(orders.begin(), orders.end());
  EXPECT_EQ(Dst(kOrders), orders);
  std::vector<std::string> items = Src(kItems);
  items.insert(items.end(), "T-1|OTHER|OTHER|1");
  std::sort(items.begin(), items.end());
  EXPECT_EQ(Dst(kItems), items);
  EXPECT_EQ(Dst("SELECT count(*) FROM customer"), std::vector<std::string>{"5"});
  EXPECT_EQ(Dst("SELECT id FROM customer WHERE email = 'cy@x'"), std::vector<std::string>{"2"});
  EXPECT_EQ(Dst("SELECT count(*) FROM sales_order_item i LEFT JOIN sales_order o "
                "ON o.id = i.order_id WHERE o.id IS NULL"),
            std::vector<std::string>{"0"});

  // Links pair source and target ids both ways.
  State state = OpenState();
  auto by_source = state->FindLinksBySource("p", "customer", {"1", "2", "3"});
  ASSERT_OK(by_source);
  ASSERT_EQ(by_source->size(), 3u);
  EXPECT_EQ(by_source->at("3").target_id, std::optional<std::string>("2"));
  EXPECT_EQ(by_source->at("3").status, "synced");
  auto by_target = state->FindLinksByTarget("p", "customer", {"2", "1"});
  ASSERT_OK(by_target);
  ASSERT_EQ(by_target->size(), 1u);  // target customer 1 is the target's own
  EXPECT_EQ((*by_target)[0].source_id, "3");

  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_FALSE(Total(*again).Changed());
  EXPECT_EQ(Total(*again).unchanged, 14);
  EXPECT_TRUE(obs_.records.empty());
}

TEST_P(RemapTest, CompositeMatchKeyThroughARemappedReference) {
  Source(R"(
    INSERT INTO product VALUES (1, 'P-1', 'One', 10), (2, 'P-2', 'Two', 20);
    INSERT INTO sales_order VALUES (1, 'O-1', NULL, 30), (2, 'O-2', NULL, 20);
    INSERT INTO sales_order_item VALUES (1, 1, 1, 'P-1', 2), (2, 1, 2, 'P-2', 1),
                                        (3, 2, 1, 'P-1', 5);
  )");
  // Order O-1 is target order 7 and already holds its P-1 line (as item 70, qty 1); target order
  // 1 is another order with a P-1 line, which must not be taken for the source's (order 1, P-1).
  Target(R"(
    INSERT INTO product VALUES (5, 'P-1', 'One', 10), (6, 'P-2', 'Two', 20);
    INSERT INTO sales_order VALUES (1, 'T-1', NULL, 1), (7, 'O-1', NULL, 30);
    INSERT INTO sales_order_item VALUES (1, 1, 5, 'P-1', 9), (70, 7, 5, 'P-1', 1);
  )");
  auto report = Sync(Only({"product", "order", "order_item"}));
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "order_item"), (RunCounts{.read = 3, .inserted = 2, .updated = 1}));
  auto updates = Records("order_item", Action::kUpdate);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].source_id, "1");
  EXPECT_EQ(updates[0].target_id, "70");
  ASSERT_EQ(updates[0].changes.size(), 1u);
  EXPECT_EQ(updates[0].changes[0].column, "qty");
  EXPECT_EQ(updates[0].changes[0].after, Value::Int(2));

  std::vector<std::string> items = Src(kItems);
  items.insert(items.begin(), "T-1|P-1|P-1|9");
  std::sort(items.begin(), items.end());
  EXPECT_EQ(Dst(kItems), items);
  EXPECT_EQ(LinkOf("order_item", "1").target_id, std::optional<std::string>("70"));

  auto again = Sync(Only({"product", "order", "order_item"}));
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "order_item"), (RunCounts{.read = 3, .unchanged = 3}));
}

TEST_P(RemapTest, IdentityJoinTableKeyedByTwoReferences) {
  Source(R"(
    INSERT INTO product VALUES (1, 'P-1', 'One', 10), (2, 'P-2', 'Two', 20);
    INSERT INTO category VALUES (1, 'shoes', 'Shoes'), (2, 'hats', 'Hats');
    INSERT INTO product_category VALUES (1, 1, 1), (1, 2, 2), (2, 2, 1);
  )");
  // Other ids on the target, and a join row of its own that uses the same id pair (1, 1).
  Target(R"(
    INSERT INTO product VALUES (1, 'T-ONLY', 'Target', 1), (10, 'P-2', 'Two', 20);
    INSERT INTO category VALUES (1, 'sale', 'Sale'), (20, 'hats', 'Hats');
    INSERT INTO product_category VALUES (1, 1, 1);
  )");
  auto report = Sync(Only({"product", "category", "product_category"}));
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "product_category"), (RunCounts{.read = 3, .inserted = 3}));
  std::vector<std::string> expected = Src(kProductCategories);
  expected.push_back("T-ONLY|sale|1");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Dst(kProductCategories), expected);
  // Identity entities keep no links.
  EXPECT_EQ(Dst("SELECT count(*) FROM tether_links WHERE entity = 'product_category'"),
            std::vector<std::string>{"0"});

  // Rerun: nothing to do. Then a change to a join row's own column updates exactly it.
  auto again = Sync(Only({"product", "category", "product_category"}));
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "product_category"), (RunCounts{.read = 3, .unchanged = 3}));
  Source("UPDATE product_category SET position = 9 WHERE product_id = 2 AND category_id = 2");
  auto third = Sync(Only({"product", "category", "product_category"}));
  ASSERT_OK(third);
  EXPECT_EQ(CountsOf(*third, "product_category"),
            (RunCounts{.read = 3, .updated = 1, .unchanged = 2}));
  auto updates = Records("product_category", Action::kUpdate);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].source_id, "[2,2]");
  EXPECT_EQ(updates[0].target_id, "[10,20]");
  std::vector<std::string> now = Src(kProductCategories);
  now.push_back("T-ONLY|sale|1");
  std::sort(now.begin(), now.end());
  EXPECT_EQ(Dst(kProductCategories), now);
}

// A join table keyed by two references to mapped parents: its target keys are the target's
// parent ids, so they pair with source keys only through the parents' links. Deletes, selective
// sync and the change log must translate them, not take a target key for a source key.
TEST_P(RemapTest, JoinTableKeyedByMappedReferencesDeletesOnlyWhatTheSourceDeleted) {
  std::string entities = kShopEntities;
  entities.replace(entities.find("    keys: identity\n"), 19,
                   "    keys: identity\n    delete: propagate\n");
  Configure(entities + Pipeline("product_category, category, product", "    batch_size: 2\n"));
  Source(R"(
    INSERT INTO product VALUES (1, 'P-1', 'One', 10), (2, 'P-2', 'Two', 20), (3, 'P-3', 'Three', 30);
    INSERT INTO category VALUES (1, 'shoes', 'Shoes'), (2, 'hats', 'Hats');
    INSERT INTO product_category VALUES (1, 1, 1), (1, 2, 2), (2, 2, 1), (3, 1, 5);
  )");
  // The target numbers the same records the other way round: its (1, 2) is the source's (2, 1),
  // which the source does not have, and its (2, 2) is the source's (1, 1). T-ONLY and sale are
  // the target's own records, which no source record is linked to.
  Target(R"(
    INSERT INTO product VALUES (2, 'P-1', 'One', 10), (1, 'P-2', 'Two', 20), (5, 'T-ONLY', 'T', 1);
    INSERT INTO category VALUES (2, 'shoes', 'Shoes'), (1, 'hats', 'Hats'), (7, 'sale', 'Sale');
    INSERT INTO product_category VALUES (2, 2, 1), (1, 2, 4), (5, 7, 3);
  )");
  const std::vector<std::string> synced = {"P-1|hats|2", "P-1|shoes|1", "P-2|hats|1", "P-3|shoes|5",
                                           "T-ONLY|sale|3"};
  // Three new rows, one unchanged, P-2|shoes deleted; the plan says the same.
  auto report = PlanThenSync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "product_category"),
            (RunCounts{.read = 4, .inserted = 3, .unchanged = 1, .deleted = 1}));
  EXPECT_EQ(Dst(kProductCategories), synced);
  auto deletes = Records("product_category", Action::kDelete);
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].source_id, "[2,1]");
  EXPECT_EQ(deletes[0].target_id, "[1,2]");

  // A rerun has nothing to do: no row deleted and inserted again.
  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "product_category"), (RunCounts{.read = 4, .unchanged = 4}));
  EXPECT_EQ(Dst(kProductCategories), synced);

  // A row deleted in the source goes in the target, whichever way it is found.
  Source("DELETE FROM product_category WHERE product_id = 1 AND category_id = 2");
  auto deleted = PlanThenSync();
  ASSERT_OK(deleted);
  EXPECT_EQ(CountsOf(*deleted, "product_category"),
            (RunCounts{.read = 3, .unchanged = 3, .deleted = 1}));
  EXPECT_EQ(Dst(kProductCategories), (std::vector<std::string>{"P-1|shoes|1", "P-2|hats|1",
                                                               "P-3|shoes|5", "T-ONLY|sale|3"}));

  // By key: source key [2,2] is target row (1,1); target row (2,2) is another record.
  Source("DELETE FROM product_category WHERE product_id = 2 AND category_id = 2");
  SyncRequest by_key;
  by_key.mode = SyncMode::kKeys;
  by_key.keys["product_category"] = {"[2,2]"};
  auto selective = Sync(by_key);
  ASSERT_OK(selective);
  EXPECT_EQ(CountsOf(*selective, "product_category").deleted, 1);
  EXPECT_EQ(Dst(kProductCategories),
            (std::vector<std::string>{"P-1|shoes|1", "P-3|shoes|5", "T-ONLY|sale|3"}));

  // From the change log.
  {
    auto conn = src_db_->Open("src");
    ASSERT_NE(conn, nullptr);
    ChangeLog log(conn.get());
    ASSERT_OK(
        log.Install({{"product", "product", {"id"}},
                     {"category", "category", {"id"}},
                     {"product_category", "product_category", {"product_id", "category_id"}}}));
  }
  SyncRequest changes;
  changes.mode = SyncMode::kChanges;
  ASSERT_OK(Sync(changes));  // the first incremental run copies whole
  Source("DELETE FROM product_category WHERE product_id = 3 AND category_id = 1");
  auto incremental = Sync(changes);
  ASSERT_OK(incremental);
  EXPECT_EQ(CountsOf(*incremental, "product_category").deleted, 1);
  EXPECT_EQ(Dst(kProductCategories), (std::vector<std::string>{"P-1|shoes|1", "T-ONLY|sale|3"}));
}

TEST_P(RemapTest, DanglingReferenceFailsTheRecordAndWritesNothingDangling) {
  SourceUnchecked(R"(
    INSERT INTO customer VALUES (1, 'ann@x', 'Ann');
    INSERT INTO sales_order VALUES (1, 'O-1', 1, 10), (2, 'O-2', 42, 20), (3, 'O-3', 1, 30);
    INSERT INTO sales_order_item VALUES (1, 1, NULL, 'A', 1), (2, 2, NULL, 'B', 1),
                                        (3, 9, NULL, 'C', 1);
  )");
  auto report = Sync(Only({"customer", "order", "order_item"}));
  ASSERT_OK(report);
  // Order 2 refers to customer 42, which the source does not have.
  EXPECT_EQ(CountsOf(*report, "order"), (RunCounts{.read = 3, .inserted = 2, .failed = 1}));
  // Item 2 belongs to the failed order; item 3 to order 9, which does not exist.
  EXPECT_EQ(CountsOf(*report, "order_item").inserted, 1);
  EXPECT_EQ(CountsOf(*report, "order_item").failed, 2);
  EXPECT_EQ(report->run.status, "partial");
  EXPECT_EQ(Dst("SELECT increment_id FROM sales_order ORDER BY 1"),
            (std::vector<std::string>{"O-1", "O-3"}));
  EXPECT_EQ(Dst("SELECT sku FROM sales_order_item"), std::vector<std::string>{"A"});
  EXPECT_EQ(Dst("SELECT count(*) FROM sales_order o LEFT JOIN customer c ON c.id = o.customer_id "
                "WHERE o.customer_id IS NOT NULL AND c.id IS NULL"),
            std::vector<std::string>{"0"});

  auto fails = Records("order", Action::kFail);
  ASSERT_EQ(fails.size(), 1u);
  EXPECT_EQ(fails[0].source_id, "2");
  EXPECT_FALSE(fails[0].reason.empty());
  Link link = LinkOf("order", "2");
  EXPECT_EQ(link.status, "failed");
  EXPECT_EQ(link.attempts, 1);
  EXPECT_FALSE(link.target_id.has_value());
  EXPECT_FALSE(link.last_error.empty());
  EXPECT_EQ(LinkOf("order_item", "3").status, "failed");

  // The failure stays until the source is fixed; a rerun tries again and counts the attempt.
  auto again = Sync(Only({"customer", "order", "order_item"}));
  ASSERT_OK(again);
  EXPECT_EQ(LinkOf("order", "2").attempts, 2);
  Source("UPDATE sales_order SET customer_id = 1 WHERE id = 2");
  auto fixed = Sync(Only({"customer", "order", "order_item"}));
  ASSERT_OK(fixed);
  EXPECT_EQ(CountsOf(*fixed, "order").inserted, 1);
  EXPECT_EQ(CountsOf(*fixed, "order").failed, 0);
  EXPECT_EQ(CountsOf(*fixed, "order_item").inserted, 1);  // item 2 follows its order
  EXPECT_EQ(LinkOf("order", "2").status, "synced");
  EXPECT_EQ(LinkOf("order", "2").attempts, 0);
  EXPECT_EQ(Dst(kOrders),
            (std::vector<std::string>{"O-1|ann@x|10.0", "O-2|ann@x|20.0", "O-3|ann@x|30.0"}));
}

TETHER_ALL_PAIRS(RemapTest);

}  // namespace
}  // namespace tether::testing
