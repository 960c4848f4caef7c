// Bulk chunks: a first copy of an identity-keyed entity streams its batches into one bulk
// insert per chunk (engine/sync.cc, Runner::BulkChunk). Each chunk commits with its checkpoint;
// a record the target refuses rolls the chunk back and it is written the usual way, where that
// record fails alone; a target that already has rows past the position is never bulk-written.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class BulkTest : public EngineTest {
 protected:
  // Source rows id = from..to as (id, 'n<id>', id).
  void FillSource(int from, int to) {
    std::string rows;
    for (int i = from; i <= to; ++i) {
      if (!rows.empty()) rows += ",";
      rows +=
          "(" + std::to_string(i) + ", 'n" + std::to_string(i) + "', " + std::to_string(i) + ")";
    }
    Source("INSERT INTO item VALUES " + rows);
  }
  void ConfigureItem(int batch_size) {
    Configure("entities:\n  item: { table: item, keys: identity, delete: ignore }\n" +
              Pipeline("item", "    batch_size: " + std::to_string(batch_size) + "\n"));
  }
  // Notices that say a bulk chunk was refused and redone the usual way.
  std::vector<std::string> Refusals() const {
    std::vector<std::string> out;
    for (const std::string& n : obs_.notices) {
      if (Contains(n, "bulk insert was refused")) out.push_back(n);
    }
    return out;
  }
  static constexpr char kItems[] = "SELECT id, name, qty FROM item ORDER BY id";
};

TEST_P(BulkTest, EachChunkCommitsWithItsCheckpointAndACancelledCopyResumesThere) {
  Both("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)");
  FillSource(1, 100);
  ConfigureItem(10);
  SyncRequest req;
  req.bulk_chunk_time = std::chrono::milliseconds(0);  // a chunk per batch
  cancel_after_ = 3;
  ASSERT_CODE(Sync(req), StatusCode::kCancelled);
  EXPECT_EQ(Dst("SELECT count(*), max(id) FROM item"), std::vector<std::string>{"30|30"});
  auto cp = OpenState()->GetCheckpoint("p", "item");
  ASSERT_OK(cp);
  ASSERT_TRUE(cp->has_value());
  EXPECT_EQ((*cp)->position, std::optional<std::string>("30"));

  cancel_after_ = 0;
  auto resumed = Sync(req);
  ASSERT_OK(resumed);
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(CountsOf(*resumed, "item"), (RunCounts{.read = 70, .inserted = 70}));
  EXPECT_EQ(Dst(kItems), Src(kItems));
  EXPECT_TRUE(Refusals().empty());
}

TEST_P(BulkTest, ACancelInsideALongChunkCommitsWhatItRead) {
  Both("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)");
  FillSource(1, 100);
  ConfigureItem(10);
  SyncRequest req;
  req.bulk_chunk_time = std::chrono::hours(1);  // one chunk for everything, unless stopped
  cancel_after_ = 4;
  ASSERT_CODE(Sync(req), StatusCode::kCancelled);
  EXPECT_EQ(Dst("SELECT count(*), max(id) FROM item"), std::vector<std::string>{"40|40"});
  cancel_after_ = 0;
  auto resumed = Sync(req);
  ASSERT_OK(resumed);
  EXPECT_EQ(CountsOf(*resumed, "item"), (RunCounts{.read = 60, .inserted = 60}));
  EXPECT_EQ(Dst(kItems), Src(kItems));
}

TEST_P(BulkTest, ARecordTheTargetRefusesFailsAloneAndTheRestIsWritten) {
  Source("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)");
  // A rule of the target's that tether does not know about.
  Target("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER CHECK (qty < 57))");
  FillSource(1, 100);
  Source("UPDATE item SET qty = 0 WHERE id > 57");
  ConfigureItem(10);
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "item"), (RunCounts{.read = 100, .inserted = 99, .failed = 1}));
  auto fails = Records("item", Action::kFail);
  ASSERT_EQ(fails.size(), 1u);
  EXPECT_EQ(fails[0].source_id, "57");
  EXPECT_EQ(Refusals().size(), 1u);
  std::vector<std::string> want = Src("SELECT id, name, qty FROM item WHERE id <> 57 ORDER BY id");
  EXPECT_EQ(Dst(kItems), want);
  // Nothing of the refused chunk was written twice, and a rerun only retries the refused one.
  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "item"), (RunCounts{.read = 100, .unchanged = 99, .failed = 1}));
}

TEST_P(BulkTest, RowsPastTheTargetsLastRowAreBulkWrittenOnceItsRowsArePassed) {
  Source("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)");
  Target("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER CHECK (qty < 390))");
  FillSource(1, 400);
  Source("UPDATE item SET qty = 0 WHERE id > 390");
  // The target holds the first 50 rows already, with other names.
  std::string rows;
  for (int i = 1; i <= 50; ++i) {
    rows += std::string(i > 1 ? "," : "") + "(" + std::to_string(i) + ", 'old', " +
            std::to_string(i) + ")";
  }
  Target("INSERT INTO item VALUES " + rows);
  ConfigureItem(5);
  // Read row by row, and compared by checksums in buckets of 50 keys (those the target has
  // nothing of are copied as one range, which is bulk-written too).
  for (bool checksums : {false, true}) {
    SCOPED_TRACE(checksums ? "checksums" : "rows");
    Target("DELETE FROM item WHERE id > 50");
    Target("UPDATE item SET name = 'old'");
    SyncRequest req;
    req.checksums = checksums;
    req.checksum_options.buckets = 8;
    auto report = Sync(req);
    ASSERT_OK(report);
    EXPECT_EQ(CountsOf(*report, "item"),
              (RunCounts{.read = 400, .inserted = 349, .updated = 50, .failed = 1}));
    // Row 390 breaks the target's rule deep in the part the target had nothing of: that part
    // went in bulk (and was redone the usual way when refused).
    EXPECT_EQ(Refusals().size(), 1u);
    EXPECT_EQ(Dst(kItems), Src("SELECT id, name, qty FROM item WHERE id <> 390 ORDER BY id"));
  }
}

TEST_P(BulkTest, ATargetRowPastThePositionKeepsTheUsualWay) {
  Both("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)");
  FillSource(1, 400);
  // Someone else's rows: one at the start, one far past it. Bulk-writing past 1 would collide
  // with 300 (the refusal this test expects never to see).
  Target("INSERT INTO item VALUES (1, 'theirs', 1), (300, 'theirs', 300)");
  ConfigureItem(5);
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "item"), (RunCounts{.read = 400, .inserted = 398, .updated = 2}));
  EXPECT_TRUE(Refusals().empty()) << Refusals()[0];
  EXPECT_EQ(Dst(kItems), Src(kItems));
}

TEST_P(BulkTest, TextKeysAreBulkWrittenOnlyIntoAnEmptyTable) {
  // Text sorts differently in each engine: past a position means nothing across them.
  Both("CREATE TABLE tag (code VARCHAR(20) PRIMARY KEY, label TEXT)");
  std::string rows;
  for (int i = 1; i <= 60; ++i) {
    rows += std::string(i > 1 ? "," : "") + "('K" + std::to_string(i) + "', 'l" +
            std::to_string(i) + "')";
  }
  Source("INSERT INTO tag VALUES " + rows);
  Source("INSERT INTO tag VALUES ('a-lower', 'x'), ('Z-upper', 'y'), ('_under', 'z')");
  Target("INSERT INTO tag VALUES ('K9', 'theirs'), ('a-lower', 'theirs')");
  Configure("entities:\n  tag: { table: tag, key: code, keys: identity, delete: ignore }\n" +
            Pipeline("tag", "    batch_size: 4\n"));
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "tag"), (RunCounts{.read = 63, .inserted = 61, .updated = 2}));
  EXPECT_TRUE(Refusals().empty()) << Refusals()[0];
  EXPECT_EQ(Sorted(Dst("SELECT code, label FROM tag")), Sorted(Src("SELECT code, label FROM tag")));

  // Into an empty table they are.
  Target("DROP TABLE tag");
  Target("CREATE TABLE tag (code VARCHAR(20) PRIMARY KEY, label TEXT CHECK (label <> 'l33'))");
  auto fresh = Sync();
  ASSERT_OK(fresh);
  EXPECT_EQ(CountsOf(*fresh, "tag"), (RunCounts{.read = 63, .inserted = 62, .failed = 1}));
  EXPECT_EQ(Refusals().size(), 1u);
}

TETHER_ALL_PAIRS(BulkTest);

}  // namespace
}  // namespace tether::testing
