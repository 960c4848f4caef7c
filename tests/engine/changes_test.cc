// Incremental sync from the change log (`sync --changes`) over every engine pair: the first run
// copies whole, later runs move exactly the changed records — inserts, updates, deletes, a row
// changed many times (one action), a parent and its children created together, composite keys —
// and end with the target equal to the source; an untracked entity is refused with the way out.
#include <gtest/gtest.h>

#include "track/change_log.h"
#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

constexpr char kChangesDdl[] = R"(
  CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT);
  CREATE TABLE sales_order (id INTEGER PRIMARY KEY, increment_id TEXT NOT NULL UNIQUE,
                            customer_id INTEGER REFERENCES customer(id), total REAL);
  CREATE TABLE order_line (order_no INTEGER NOT NULL, sku VARCHAR(40) NOT NULL, qty INTEGER,
                           PRIMARY KEY (order_no, sku));
)";

constexpr char kChangesEntities[] = R"(
entities:
  customer: { table: customer, match: [email], delete: propagate }
  order:
    table: sales_order
    match: [increment_id]
    references: { customer_id: customer }
    delete: propagate
  line: { table: order_line, key: [order_no, sku], keys: identity, delete: propagate }
)";

class ChangesTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Both(kChangesDdl);
    Configure(std::string(kChangesEntities) +
              Pipeline("customer, order, line", "    batch_size: 3\n"));
    Source(R"(
      INSERT INTO customer VALUES (1, 'ann@x', 'Ann'), (2, 'bob@x', 'Bob'), (3, 'cy@x', 'Cy');
      INSERT INTO sales_order VALUES (10, 'O-10', 1, 5.5), (11, 'O-11', 2, 7.25);
      INSERT INTO order_line VALUES (10, 'A', 1), (10, 'B', 2), (11, 'A', 3);
    )");
  }

  void Track() {
    auto conn = src_db_->Open("src");
    ASSERT_NE(conn, nullptr);
    ChangeLog log(conn.get());
    ASSERT_OK(log.Install({{"customer", "customer", {"id"}},
                           {"order", "sales_order", {"id"}},
                           {"line", "order_line", {"order_no", "sku"}}}));
  }

  Result<SyncReport> SyncChanges(std::vector<std::string> entities = {}) {
    SyncRequest req;
    req.mode = SyncMode::kChanges;
    req.entities = std::move(entities);
    return Sync(req);
  }

  void ExpectEqual() {
    EXPECT_EQ(Dst(kCustomers), Src(kCustomers));
    EXPECT_EQ(Dst(kOrders), Src(kOrders));
    EXPECT_EQ(Dst(kLines), Src(kLines));
  }

  static constexpr char kCustomers[] = "SELECT email, name FROM customer ORDER BY 1";
  static constexpr char kOrders[] =
      "SELECT o.increment_id, c.email, o.total FROM sales_order o "
      "LEFT JOIN customer c ON c.id = o.customer_id ORDER BY 1";
  static constexpr char kLines[] = "SELECT order_no, sku, qty FROM order_line ORDER BY 1, 2";
};

TEST_P(ChangesTest, FirstRunCopiesWholeThenOnlyWhatChanged) {
  Track();
  auto first = SyncChanges();
  ASSERT_OK(first);
  EXPECT_EQ(CountsOf(*first, "customer"), (RunCounts{.read = 3, .inserted = 3}));
  EXPECT_EQ(CountsOf(*first, "line"), (RunCounts{.read = 3, .inserted = 3}));
  ExpectEqual();

  // One row changed many times, a new customer with a new order (parent and child together),
  // a deleted order with its lines, a changed line and a line whose key changed.
  Source(R"(
    UPDATE customer SET name = 'Ann 1' WHERE id = 1;
    UPDATE customer SET name = 'Ann 2' WHERE id = 1;
    UPDATE customer SET name = 'Ann 3' WHERE id = 1;
    INSERT INTO customer VALUES (4, 'dee@x', 'Dee');
    INSERT INTO sales_order VALUES (12, 'O-12', 4, 9.0);
    DELETE FROM sales_order WHERE id = 11;
    DELETE FROM order_line WHERE order_no = 11;
    UPDATE order_line SET qty = 9 WHERE order_no = 10 AND sku = 'A';
    UPDATE order_line SET sku = 'C' WHERE order_no = 10 AND sku = 'B';
  )");
  auto second = SyncChanges();
  ASSERT_OK(second);
  EXPECT_EQ(CountsOf(*second, "customer"), (RunCounts{.read = 2, .inserted = 1, .updated = 1}));
  EXPECT_EQ(CountsOf(*second, "order"), (RunCounts{.read = 1, .inserted = 1, .deleted = 1}));
  // A 9, B gone, C new, (11, A) gone.
  EXPECT_EQ(CountsOf(*second, "line"),
            (RunCounts{.read = 2, .inserted = 1, .updated = 1, .deleted = 2}));
  ExpectEqual();

  auto idle = SyncChanges();
  ASSERT_OK(idle);
  EXPECT_EQ(Total(*idle).read, 0);
}

TEST_P(ChangesTest, AChildEntityAloneStillBringsItsNewParent) {
  Track();
  ASSERT_OK(SyncChanges());
  Source(R"(
    INSERT INTO customer VALUES (5, 'eve@x', 'Eve');
    INSERT INTO sales_order VALUES (13, 'O-13', 5, 1.5);
  )");
  auto report = SyncChanges({"order"});
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "order"), (RunCounts{.read = 1, .inserted = 1}));
  EXPECT_EQ(CountsOf(*report, "customer").inserted, 1);  // pulled as the order's parent
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
  // The customer's own change is still read when customer is synced: nothing left to do.
  auto customers = SyncChanges({"customer"});
  ASSERT_OK(customers);
  EXPECT_EQ(CountsOf(*customers, "customer").inserted, 0);
  ExpectEqual();
}

TEST_P(ChangesTest, AnUntrackedEntityIsRefusedWithTheWayOut) {
  auto report = SyncChanges();
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(Contains(report.status().message(), "not tracked on connection 'src'"))
      << report.status().ToString();
  EXPECT_TRUE(Contains(report.status().message(), "tether track install"))
      << report.status().ToString();
}

TEST_P(ChangesTest, DateFiltersApplyToTheChangedRecords) {
  Both("CREATE TABLE event (id INTEGER PRIMARY KEY, happened DATE NOT NULL, what TEXT)");
  Source(R"(INSERT INTO event VALUES (1, '2025-01-10', 'a'), (2, '2025-03-01', 'b'),
                                     (3, '2025-01-20', 'c'))");
  Configure(R"(
entities:
  event: { table: event, keys: identity, delete: propagate, filter: { date_column: happened } }
)" + Pipeline("event"));
  {
    auto conn = src_db_->Open("src");
    ASSERT_NE(conn, nullptr);
    ChangeLog log(conn.get());
    ASSERT_OK(log.Install({{"event", "event", {"id"}}}));
  }
  SyncRequest req;
  req.mode = SyncMode::kChanges;
  req.from_date = "2025-01-01";
  req.to_date = "2025-01-31";
  auto first = Sync(req);
  ASSERT_OK(first);
  EXPECT_EQ(CountsOf(*first, "event"), (RunCounts{.read = 2, .inserted = 2}));
  Source(R"(
    UPDATE event SET what = 'a2' WHERE id = 1;
    UPDATE event SET what = 'b2' WHERE id = 2;
    INSERT INTO event VALUES (4, '2025-01-05', 'd'), (5, '2025-02-05', 'e');
    DELETE FROM event WHERE id = 3;
  )");
  auto second = Sync(req);
  ASSERT_OK(second);
  // 1 and 4 are in January; 2 and 5 are not; a filtered run propagates no delete.
  EXPECT_EQ(CountsOf(*second, "event"), (RunCounts{.read = 2, .inserted = 1, .updated = 1}));
  EXPECT_EQ(Dst("SELECT id, what FROM event ORDER BY id"),
            (std::vector<std::string>{"1|a2", "3|c", "4|d"}));
}

// A checkpoint's position is tether's own text: edited into no number, it stops the next run
// with an error naming the entity, instead of an exception that ended the process.
TEST_P(ChangesTest, ACorruptedCheckpointPositionIsAnErrorNotACrash) {
  Track();
  ASSERT_OK(SyncChanges());
  Target("UPDATE tether_checkpoints SET position = 'seven' WHERE entity = 'customer'");
  auto again = SyncChanges();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kInternal) << again.status().ToString();
  EXPECT_NE(again.status().message().find("'customer'"), std::string::npos)
      << again.status().ToString();
}

TETHER_ALL_PAIRS(ChangesTest);

}  // namespace
}  // namespace tether::testing
