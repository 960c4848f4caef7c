// Range checksums (engine/checksum_ranges.h) in diff and in a resync, over the nine engine
// pairs: with tiny buckets, a few scattered differences in a sparse-keyed table are narrowed down
// to exactly the records that differ, the diff finds what a row-by-row diff finds, and a resync
// reads only those records and leaves the target equal to the source.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "compare/diff.h"
#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class Collect : public DiffObserver {
 public:
  void OnDifference(const Difference& d) override {
    std::string line = std::string(DiffKindName(d.kind)) + " " + d.source_id + "/" + d.target_id;
    for (const FieldChange& c : d.fields) {
      line += " " + c.column + ": " + c.before.ToText() + " -> " + c.after.ToText();
    }
    lines.push_back(line);
  }
  std::vector<std::string> lines;
};

class ChecksumDiffTest : public EngineTest {
 protected:
  static constexpr int kRows = 600;
  // id = i*i: sparse keys, far from dense integers.
  static std::string Key(int i) { return std::to_string(i * i); }

  void SetUp() override {
    EngineTest::SetUp();
    if (HasFatalFailure()) return;
    Both(
        "CREATE TABLE product (id INTEGER PRIMARY KEY, sku VARCHAR(20) NOT NULL, name TEXT, "
        "price DECIMAL(12,2), qty INTEGER, seen DATETIME(6), active BOOLEAN)");
    std::string rows;
    for (int i = 1; i <= kRows; ++i) {
      if (!rows.empty()) rows += ",";
      rows += "(" + Key(i) + ", 'S-" + std::to_string(i) + "', 'name " + std::to_string(i) +
              " ü', " + std::to_string(i % 97) + "." + std::to_string(i % 10) + "0, " +
              std::to_string(i % 13) + ", '2024-0" + std::to_string(1 + i % 9) + "-11 10:00:0" +
              std::to_string(i % 10) + "." + std::to_string(1 + i % 3) + "', " +
              (i % 2 ? "TRUE" : "FALSE") + ")";
    }
    Both("INSERT INTO product VALUES " + rows);
    Configure("entities:\n  product: { table: product, keys: identity, delete: propagate }\n" +
              Pipeline("product", "    batch_size: 50\n"));
  }

  // Differences scattered over the table: first, middle and last rows changed, a row missing
  // from the target, rows only in the target below, between and past the source's keys.
  void Scatter() {
    Target("UPDATE product SET qty = qty + 100 WHERE id = " + Key(1));
    Target("UPDATE product SET name = 'name 300 u' WHERE id = " + Key(300));
    Target("UPDATE product SET price = 1.01 WHERE id = " + Key(kRows));
    Target("DELETE FROM product WHERE id = " + Key(150));
    Target("INSERT INTO product VALUES (2, 'X-2', 'stray', 1, 1, NULL, FALSE)");
    Target("INSERT INTO product VALUES (999999, 'X-9', 'past', 1, 1, NULL, TRUE)");
    Source("INSERT INTO product VALUES (5, 'S-new', 'new', 2.50, 3, NULL, TRUE)");
  }

  Result<DiffReport> Diff(bool checksums) {
    found_ = Collect();
    DiffRequest req;
    req.pipeline = "p";
    req.checksums = checksums;
    req.checksum_options = kTiny;
    return RunDiff(config_, req, &found_);
  }

  // Rows of `a` that `b` does not have, to show a mismatch readably.
  static std::vector<std::string> Minus(const std::vector<std::string>& a,
                                        const std::vector<std::string>& b) {
    std::vector<std::string> out;
    for (const std::string& r : a) {
      if (std::find(b.begin(), b.end(), r) == b.end()) out.push_back(r);
    }
    return out;
  }
  void ExpectTargetEqualsSource() {
    std::vector<std::string> src = Src(kAll), dst = Dst(kAll);
    EXPECT_EQ(Minus(src, dst), std::vector<std::string>{}) << "source rows the target lacks";
    EXPECT_EQ(Minus(dst, src), std::vector<std::string>{}) << "target rows the source lacks";
  }

  // 16 buckets over 1..999,999, most of the 600 rows in the first few (keys are i²): a bucket
  // of more than 16 rows that differs is bucketed again, in buckets of about 4 rows; parts of
  // 16 rows where keys are cut into parts.
  static constexpr ChecksumPlanOptions kTiny{16, 16, 4, 16};
  static constexpr char kAll[] = "SELECT * FROM product ORDER BY id";
  Collect found_;
};

TEST_P(ChecksumDiffTest, NarrowsScatteredDifferencesDownToAFewRows) {
  Scatter();
  auto by_rows = Diff(false);
  ASSERT_OK(by_rows);
  std::vector<std::string> expected = Sorted(found_.lines);
  ASSERT_EQ(expected.size(), 7u) << ::testing::PrintToString(expected);
  auto by_sums = Diff(true);
  ASSERT_OK(by_sums);
  EXPECT_EQ(Sorted(found_.lines), expected);
  const EntityDiff& rows = by_rows->entities.at(0);
  const EntityDiff& sums = by_sums->entities.at(0);
  EXPECT_EQ(sums.unchanged, rows.unchanged);
  EXPECT_EQ(rows.source_rows, kRows + 1);
  EXPECT_EQ(sums.source_rows, kRows + 1) << sums.method;
  // Read one by one: 1, 300, 600 changed; 5 and 150 new; 2 and 999999 deleted.
  // 16 buckets, the differing big ones bucketed again: 24 rows hashed to find 7.
  EXPECT_TRUE(Contains(sums.method, "112 buckets, 9 differed (24 rows hashed")) << sums.method;
  EXPECT_TRUE(Contains(sums.method, "7 records differ")) << sums.method;
  EXPECT_TRUE(Contains(sums.method, "checksums:")) << sums.method;
}

TEST_P(ChecksumDiffTest, AResyncReadsOnlyTheDifferingRangesAndEndsEqual) {
  Scatter();
  SyncRequest req;
  req.checksum_options = kTiny;
  auto resync = Sync(req);
  ASSERT_OK(resync);
  RunCounts c = CountsOf(*resync, "product");
  EXPECT_EQ(c.read, kRows + 1);
  EXPECT_EQ(c.inserted, 2);  // 5 and Key(150)
  EXPECT_EQ(c.updated, 3);
  EXPECT_EQ(c.deleted, 2);  // 2 and 999999
  EXPECT_EQ(c.unchanged + c.inserted + c.updated, kRows + 1);
  EXPECT_TRUE(Contains(resync->entities.at(0).method, "7 records differ"))
      << resync->entities.at(0).method;
  ExpectTargetEqualsSource();

  auto again = Sync(req);
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "product"), (RunCounts{.read = kRows + 1, .unchanged = kRows + 1}));
  EXPECT_TRUE(Contains(again->entities.at(0).method, "16 buckets, 0 differed"))
      << again->entities.at(0).method;
}

TEST_P(ChecksumDiffTest, OneChangedByteIsFound) {
  Target("UPDATE product SET sku = 'S-4OO' WHERE id = " + Key(400));
  auto report = Diff(true);
  ASSERT_OK(report);
  EXPECT_FALSE(report->equal());
  EXPECT_EQ(found_.lines, std::vector<std::string>{"changed " + Key(400) + "/" + Key(400) +
                                                   " sku: S-4OO -> S-400"});
}

TEST_P(ChecksumDiffTest, AnEntityChecksumsCannotServeIsComparedRowByRowAndSaysWhy) {
  Configure(
      "entities:\n  product: { table: product, keys: identity, delete: propagate,"
      " columns: { values: { active: { 1: 0 } } } }\n" +
      Pipeline("product"));
  auto report = Diff(true);
  ASSERT_OK(report);
  EXPECT_TRUE(Contains(report->entities.at(0).method, "no checksums"))
      << report->entities.at(0).method;
}

// Keys the buckets cannot serve are cut into parts at the source's keys: a composite key, and
// keys whose range is wider than 64 bits. The diff is the same as row by row.
TEST_P(ChecksumDiffTest, CompositeKeysAndKeysSpanningMoreThan64BitsAreComparedInParts) {
  Both(
      "CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, v INTEGER, PRIMARY KEY (a, b))");
  Both("CREATE TABLE wide (id BIGINT PRIMARY KEY, v INTEGER)");
  std::string pairs, wide;
  for (int i = 1; i <= 100; ++i) {
    pairs += std::string(i > 1 ? "," : "") + "(" + std::to_string(i % 7) + ", " +
             std::to_string(i) + ", " + std::to_string(i) + ")";
    wide += std::string(i > 1 ? "," : "") + "(" + std::to_string((i - 50) * 180000000000000000LL) +
            ", " + std::to_string(i) + ")";
  }
  Both("INSERT INTO pairs VALUES " + pairs);
  Both("INSERT INTO wide VALUES " + wide);
  Target("UPDATE pairs SET v = 0 WHERE a = 3 AND b = 52");
  Target("DELETE FROM pairs WHERE a = 6 AND b = 90");
  Target("UPDATE wide SET v = 0 WHERE id = " + std::to_string(-49 * 180000000000000000LL));
  Target("DELETE FROM wide WHERE id = " + std::to_string(50 * 180000000000000000LL));
  Configure(
      "entities:\n"
      "  pairs: { table: pairs, key: [a, b], keys: identity, delete: propagate }\n"
      "  wide: { table: wide, keys: identity, delete: propagate }\n" +
      Pipeline("pairs, wide"));
  auto by_rows = Diff(false);
  ASSERT_OK(by_rows);
  const std::vector<std::string> expected = Sorted(found_.lines);
  EXPECT_EQ(expected.size(), 4u) << ::testing::PrintToString(expected);
  auto by_sums = Diff(true);
  ASSERT_OK(by_sums);
  EXPECT_EQ(Sorted(found_.lines), expected);
  for (const EntityDiff& e : by_sums->entities) {
    SCOPED_TRACE(e.entity);
    EXPECT_TRUE(Contains(e.method, "parts, 2 differed")) << e.method;
    EXPECT_TRUE(Contains(e.method, "2 records differ")) << e.method;
  }
}

TETHER_ALL_PAIRS(ChecksumDiffTest);

}  // namespace
}  // namespace tether::testing
