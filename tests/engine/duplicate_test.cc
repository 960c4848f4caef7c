// on_duplicate: what happens to a target row that exists by match key but has no link yet.
#include <gtest/gtest.h>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class DuplicateTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Both(R"(
      CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT,
                             phone TEXT, city TEXT, points INTEGER);
    )");
    // Source customer 1 exists in the target as customer 7: its phone is NULL and its city empty
    // on the source, where the target has values. Customer 2 is new.
    Source(R"(
      INSERT INTO customer VALUES (1, 'ann@x', 'Ann', NULL, '', 5), (2, 'bob@x', 'Bob', '1', 'B', 1);
    )");
    Target(R"(
      INSERT INTO customer VALUES (7, 'ann@x', 'Old Ann', '555', 'Paris', 1);
    )");
  }
  void ConfigurePolicy(const std::string& policy) {
    Configure(R"(
entities:
  customer: { table: customer, match: [email] }
)" + Pipeline("customer", "    on_duplicate: " + policy + "\n"));
  }
  std::vector<std::string> Ann() {
    return Dst(
        "SELECT id, name, coalesce(phone, 'NULL'), city, points FROM customer "
        "WHERE email = 'ann@x'");
  }
  // A second run finds nothing to do.
  void ExpectRerunIsNoOp() {
    auto again = Sync();
    ASSERT_OK(again);
    EXPECT_EQ(CountsOf(*again, "customer"), (RunCounts{.read = 2, .unchanged = 2}));
    EXPECT_TRUE(obs_.records.empty());
  }
};

TEST_P(DuplicateTest, MergeKeepsTargetValuesWhereTheSourceIsEmpty) {
  ConfigurePolicy("merge");
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 2, .inserted = 1, .updated = 1}));
  EXPECT_EQ(Ann(), std::vector<std::string>{"7|Ann|555|Paris|5"});
  auto updates = Records("customer", Action::kUpdate);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].target_id, "7");
  std::vector<std::string> changed;
  for (const FieldChange& c : updates[0].changes) changed.push_back(c.column);
  EXPECT_EQ(changed, (std::vector<std::string>{"name", "points"}));
  EXPECT_EQ(LinkOf("customer", "1").target_id, std::optional<std::string>("7"));
  ExpectRerunIsNoOp();

  // A kept field stays until the source has a value for it.
  Source("UPDATE customer SET city = 'Lyon' WHERE id = 1");
  auto third = Sync();
  ASSERT_OK(third);
  EXPECT_EQ(CountsOf(*third, "customer"), (RunCounts{.read = 2, .updated = 1, .unchanged = 1}));
  EXPECT_EQ(Ann(), std::vector<std::string>{"7|Ann|555|Lyon|5"});
}

TEST_P(DuplicateTest, SkipLinksTheRowAndLeavesItUntouched) {
  ConfigurePolicy("skip");
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 2, .inserted = 1, .linked = 1}));
  EXPECT_EQ(Ann(), std::vector<std::string>{"7|Old Ann|555|Paris|1"});
  auto links = Records("customer", Action::kLink);
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].target_id, "7");
  EXPECT_EQ(LinkOf("customer", "1").target_id, std::optional<std::string>("7"));
  EXPECT_EQ(Dst("SELECT count(*) FROM tether_before_images"), std::vector<std::string>{"0"});
  ExpectRerunIsNoOp();
  EXPECT_EQ(Ann(), std::vector<std::string>{"7|Old Ann|555|Paris|1"});

  // Once linked, the record follows the source's later changes.
  Source("UPDATE customer SET points = 9 WHERE id = 1");
  auto third = Sync();
  ASSERT_OK(third);
  EXPECT_EQ(CountsOf(*third, "customer"), (RunCounts{.read = 2, .updated = 1, .unchanged = 1}));
  EXPECT_EQ(Ann(), std::vector<std::string>{"7|Ann|NULL||9"});
  ExpectRerunIsNoOp();
}

TEST_P(DuplicateTest, UpdateOverwritesEveryMappedColumn) {
  ConfigurePolicy("update");
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 2, .inserted = 1, .updated = 1}));
  EXPECT_EQ(Ann(), std::vector<std::string>{"7|Ann|NULL||5"});
  auto updates = Records("customer", Action::kUpdate);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].changes.size(), 4u);  // name, phone, city, points
  // The row as it was is kept for rollback.
  auto images = Dst("SELECT entity, target_id, op, image FROM tether_before_images");
  ASSERT_EQ(images.size(), 1u);
  EXPECT_NE(images[0].find("customer|7|update|"), std::string::npos);
  EXPECT_NE(images[0].find("Old Ann"), std::string::npos);
  ExpectRerunIsNoOp();
}

TEST_P(DuplicateTest, ErrorStopsBeforeAnythingIsWritten) {
  ConfigurePolicy("error");
  // Enough rows for several batches: the duplicate is in the last one.
  Source("DELETE FROM customer WHERE id = 1");
  std::string sql = "INSERT INTO customer VALUES ";
  for (int i = 10; i < 30; ++i) {
    sql += "(" + std::to_string(i) + ", 'c" + std::to_string(i) + "@x', 'C', NULL, NULL, 0), ";
  }
  sql += "(99, 'ann@x', 'Ann', NULL, '', 5)";
  Source(sql);
  std::string before = TargetSnapshot();
  SyncRequest req;
  req.batch_size = 4;
  ASSERT_CODE(Sync(req), StatusCode::kPolicy);
  EXPECT_TRUE(TargetSnapshot() == before);
  EXPECT_FALSE(TargetHasStateTables());
  EXPECT_FALSE(std::filesystem::exists(dst_ + "-journal"));

  // Overridden by the request, the same data syncs; then the policy finds nothing to object to.
  req.on_duplicate = OnDuplicate::kMerge;
  auto merged = Sync(req);
  ASSERT_OK(merged);
  EXPECT_EQ(CountsOf(*merged, "customer").inserted, 21);
  EXPECT_EQ(CountsOf(*merged, "customer").updated, 1);
  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_FALSE(Total(*again).Changed());
}

TEST_P(DuplicateTest, ErrorPolicyIgnoresRowsThatAreAlreadyLinked) {
  ConfigurePolicy("error");
  Target("DELETE FROM customer");
  auto first = Sync();
  ASSERT_OK(first);
  EXPECT_EQ(CountsOf(*first, "customer"), (RunCounts{.read = 2, .inserted = 2}));
  Source("UPDATE customer SET name = 'Ann B' WHERE id = 1");
  auto second = Sync();
  ASSERT_OK(second);
  EXPECT_EQ(CountsOf(*second, "customer"), (RunCounts{.read = 2, .updated = 1, .unchanged = 1}));
}

TEST_P(DuplicateTest, TwoTargetRowsWithTheSameMatchKeyFailTheRecord) {
  Both("CREATE TABLE tag (id INTEGER PRIMARY KEY, code TEXT, label TEXT)");
  Source("INSERT INTO tag VALUES (1, 'a', 'A'), (2, 'b', 'B')");
  Target("INSERT INTO tag VALUES (1, 'a', 'x'), (2, 'a', 'y')");
  Configure(R"(
entities:
  tag: { table: tag, match: [code] }
)" + Pipeline("tag"));
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "tag"), (RunCounts{.read = 2, .inserted = 1, .failed = 1}));
  EXPECT_EQ(Records("tag", Action::kFail).size(), 1u);
  EXPECT_EQ(Dst("SELECT count(*) FROM tag WHERE code = 'a'"), std::vector<std::string>{"2"});
}

TEST_P(DuplicateTest, TwoSourceRecordsNeverTakeTheSameTargetRow) {
  // Source tags 1 and 3 share a natural key that one target row has.
  Source(R"(
    CREATE TABLE tag (id INTEGER PRIMARY KEY, code TEXT, label TEXT);
    INSERT INTO tag VALUES (1, 'a', 'first'), (2, 'b', 'B'), (3, 'a', 'second');
  )");
  Target("CREATE TABLE tag (id INTEGER PRIMARY KEY, code TEXT UNIQUE, label TEXT)");
  Configure(R"(
entities:
  tag: { table: tag, match: [code] }
)" + Pipeline("tag"));
  for (size_t batch_size : {10, 1}) {  // in one batch, and across batches
    SCOPED_TRACE(batch_size);
    DropState();
    Target("DELETE FROM tag");
    Target("INSERT INTO tag VALUES (7, 'a', 'target')");
    SyncRequest req;
    req.batch_size = batch_size;
    auto report = Sync(req);
    ASSERT_OK(report);
    EXPECT_EQ(CountsOf(*report, "tag"),
              (RunCounts{.read = 3, .inserted = 1, .updated = 1, .failed = 1}));
    // The first record has the row; the other fails instead of overwriting it.
    EXPECT_EQ(Dst("SELECT id, label FROM tag WHERE code = 'a'"),
              std::vector<std::string>{"7|first"});
    auto fails = Records("tag", Action::kFail);
    ASSERT_EQ(fails.size(), 1u);
    EXPECT_EQ(fails[0].source_id, "3");
    EXPECT_EQ(Dst("SELECT source_id FROM tether_links WHERE target_id = '7'"),
              std::vector<std::string>{"1"});
    EXPECT_EQ(LinkOf("tag", "3").status, "failed");
  }
}

TETHER_ALL_PAIRS(DuplicateTest);

}  // namespace
}  // namespace tether::testing
