// Self-references: a category tree whose parents come after their children in key order, so
// that parents arrive in later batches (pulled first) or in the same batch (waves).
#include <gtest/gtest.h>

#include <string>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

constexpr char kTreeDdl[] = R"(
  CREATE TABLE category (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT,
                         parent_id INTEGER REFERENCES category(id));
)";

// Each category with its parent's slug: the tree as natural keys.
constexpr char kTree[] =
    "SELECT c.slug, coalesce(p.slug, '-') FROM category c "
    "LEFT JOIN category p ON p.id = c.parent_id ORDER BY 1";

class TreeTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Both(kTreeDdl);
  }
  void ConfigureTree(size_t batch_size) {
    Configure(R"(
entities:
  category:
    table: category
    match: [slug]
    references: { parent_id: category }
)" + Pipeline("category", "    batch_size: " + std::to_string(batch_size) + "\n"));
  }
};

TEST_P(TreeTest, ParentsWithHigherIdsInLaterAndSameBatches) {
  // root(20) > shoes(12) > boots(3), sandals(5); root > hats(15) > caps(1), berets(14);
  // shoes(12) > kids(2) > tiny(4).
  Source(R"(
    INSERT INTO category VALUES (20, 'root', 'Root', NULL), (12, 'shoes', 'Shoes', 20),
      (3, 'boots', 'Boots', 12), (5, 'sandals', 'Sandals', 12), (15, 'hats', 'Hats', 20),
      (1, 'caps', 'Caps', 15), (14, 'berets', 'Berets', 15), (2, 'kids', 'Kids', 12),
      (4, 'tiny', 'Tiny', 2);
  )");
  // Colliding ids, one category shared by slug, and a tree of the target's own.
  Target(R"(
    INSERT INTO category VALUES (1, 'misc', 'Misc', NULL), (2, 'hats', 'Hats', NULL),
      (3, 'misc-sub', 'Sub', 1);
  )");
  for (size_t batch_size : {2, 3}) {
    SCOPED_TRACE(batch_size);
    ConfigureTree(batch_size);
    auto report = Sync();
    ASSERT_OK(report);
    RunCounts c = CountsOf(*report, "category");
    if (batch_size == 2) {
      EXPECT_EQ(c.inserted, 8);
      EXPECT_EQ(c.updated, 1);  // hats gets its parent
      EXPECT_EQ(c.failed + c.skipped, 0);
    } else {
      EXPECT_FALSE(Total(*report).Changed());
    }
    std::vector<std::string> tree = Src(kTree);
    tree.insert(tree.end(), {"misc|-", "misc-sub|misc"});
    EXPECT_EQ(Sorted(Dst(kTree)), Sorted(tree));
  }
}

TEST_P(TreeTest, DeepChainInReverseKeyOrder) {
  // c1 -> c2 -> ... -> c100 (the root): every parent comes after its child.
  constexpr int kDepth = 100;
  std::string sql = "INSERT INTO category VALUES ";
  for (int i = 1; i <= kDepth; ++i) {
    if (i > 1) sql += ",";
    sql += "(" + std::to_string(i) + ", 'c" + std::to_string(i) + "', 'C', " +
           (i == kDepth ? std::string("NULL") : std::to_string(i + 1)) + ")";
  }
  Source(sql);
  Target("INSERT INTO category VALUES (1, 'other', 'Other', NULL)");
  ConfigureTree(3);
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "category").inserted, kDepth);
  EXPECT_EQ(CountsOf(*report, "category").failed, 0);
  std::vector<std::string> tree = Src(kTree);
  tree.push_back("other|-");
  EXPECT_EQ(Sorted(Dst(kTree)), Sorted(tree));

  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "category"), (RunCounts{.read = kDepth, .unchanged = kDepth}));
}

TEST_P(TreeTest, WholeTreeInOneBatchIsWrittenInWaves) {
  Source(R"(
    INSERT INTO category VALUES (1, 'd', 'D', 2), (2, 'c', 'C', 3), (3, 'b', 'B', 4),
      (4, 'a', 'A', NULL), (5, 'e', 'E', 1);
  )");
  ConfigureTree(100);
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "category"), (RunCounts{.read = 5, .inserted = 5}));
  EXPECT_EQ(Dst(kTree), Src(kTree));
}

TEST_P(TreeTest, DryRunOfATreeCountsWhatTheRunDoes) {
  Source(R"(
    INSERT INTO category VALUES (20, 'root', 'Root', NULL), (12, 'shoes', 'Shoes', 20),
      (3, 'boots', 'Boots', 12), (5, 'sandals', 'Sandals', 12), (15, 'hats', 'Hats', 20),
      (1, 'caps', 'Caps', 15), (14, 'berets', 'Berets', 15);
  )");
  Target("INSERT INTO category VALUES (1, 'hats', 'Old hats', NULL)");
  ConfigureTree(2);
  std::string before = TargetSnapshot();
  auto plan = DryRun();
  ASSERT_OK(plan);
  EXPECT_TRUE(TargetSnapshot() == before);
  std::vector<RecordPlan> planned = obs_.records;
  auto real = Sync();
  ASSERT_OK(real);
  EXPECT_EQ(CountsOf(*plan, "category"), CountsOf(*real, "category"));
  EXPECT_EQ(planned.size(), obs_.records.size());
  EXPECT_EQ(Dst(kTree), Src(kTree));
}

TEST_P(TreeTest, AGrandparentInTheSameBatchIsWrittenOnce) {
  // Batch [1, 2]: 1's parent 3 comes later and is pulled, and 3's parent is 2, of this batch.
  Source("INSERT INTO category VALUES (1, 'a', 'A', 3), (2, 'b', 'B', NULL), (3, 'c', 'C', 2)");
  for (const char* match : {"", "    match: [slug]\n"}) {
    SCOPED_TRACE(match);
    DropState();
    Target("DELETE FROM category");
    Configure(std::string("entities:\n  category:\n    table: category\n") + match +
              "    references: { parent_id: category }\n" +
              Pipeline("category", "    batch_size: 2\n"));
    auto plan = DryRun();
    ASSERT_OK(plan);
    auto real = Sync();
    ASSERT_OK(real);
    EXPECT_EQ(CountsOf(*real, "category"), (RunCounts{.read = 3, .inserted = 3}));
    EXPECT_EQ(CountsOf(*plan, "category"), CountsOf(*real, "category"));
    EXPECT_EQ(Dst("SELECT count(*) FROM category"), std::vector<std::string>{"3"});
    EXPECT_EQ(Sorted(Dst(kTree)), Sorted(Src(kTree)));
  }
}

TEST_P(TreeTest, IdentityKeyedTree) {
  Both("CREATE TABLE folder (id INTEGER PRIMARY KEY, name TEXT, parent_id INTEGER)");
  Source(R"(
    INSERT INTO folder VALUES (1, 'a', 5), (2, 'b', 4), (3, 'c', 5), (4, 'd', 6), (5, 'e', NULL),
                              (6, 'f', 5);
  )");
  Target("INSERT INTO folder VALUES (5, 'e', NULL)");  // the root is there already
  Configure(R"(
entities:
  folder: { table: folder, keys: identity, references: { parent_id: folder } }
)" + Pipeline("folder", "    batch_size: 2\n"));
  auto plan = DryRun();
  ASSERT_OK(plan);
  auto real = Sync();
  ASSERT_OK(real);
  EXPECT_EQ(CountsOf(*real, "folder"), (RunCounts{.read = 6, .inserted = 5, .unchanged = 1}));
  EXPECT_EQ(CountsOf(*plan, "folder"), CountsOf(*real, "folder"));
  const char* all = "SELECT * FROM folder ORDER BY id";
  EXPECT_EQ(Dst(all), Src(all));
}

TETHER_ALL_PAIRS(TreeTest);

}  // namespace
}  // namespace tether::testing
