// Text that a target cannot hold, or that is not UTF-8 at all, fails its own record — with a
// message that is valid UTF-8, cut on a character boundary — and never the batch, the run or
// the state store; good records of the same batch are written, and a rerun ends the same way.
#include "core/utf8.h"

#include <gtest/gtest.h>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class Utf8Test : public EngineTest {
 protected:
  // Every record result of the newest run.
  std::vector<RecordResult> StoredResults() {
    State state = OpenState();
    auto runs = state->ListRuns("p", 1);
    EXPECT_OK(runs);
    if (!runs.ok() || runs->empty()) return {};
    auto results = state->ListRecordResults((*runs)[0].run_id, 0);
    EXPECT_OK(results);
    return results.ok() ? *results : std::vector<RecordResult>{};
  }
};

TEST_P(Utf8Test, TextTooLongForItsColumnFailsAloneWithAValidMessage) {
  // 21 two-byte characters into varchar(10): the reason shows the value cut at 40 characters'
  // worth — once cut in the middle of a character, which the state store refused, and every run
  // died with nothing written.
  std::string long_name;
  for (int i = 0; i < 21; ++i) long_name += "\xC3\xA9";
  Source(
      "CREATE TABLE item (id INTEGER PRIMARY KEY, code TEXT, name TEXT);"
      "INSERT INTO item VALUES (1, 'A', 'ok'), (2, 'B', '" +
      long_name + "'), (3, 'C', 'fine');");
  Target("CREATE TABLE item (id INTEGER PRIMARY KEY, code VARCHAR(20), name VARCHAR(10))");
  Configure("entities:\n  item: { table: item, match: [code] }\n" + Pipeline("item"));

  for (int run = 1; run <= 2; ++run) {
    SCOPED_TRACE(run);
    auto report = Sync();
    ASSERT_OK(report);
    EXPECT_EQ(CountsOf(*report, "item"),
              run == 1 ? (RunCounts{.read = 3, .inserted = 2, .skipped = 1})
                       : (RunCounts{.read = 3, .unchanged = 2, .skipped = 1}));
    auto skips = Records("item", Action::kSkip);
    ASSERT_EQ(skips.size(), 1u);
    EXPECT_EQ(skips[0].source_id, "2");
    EXPECT_NE(skips[0].reason.find("column name:"), std::string::npos) << skips[0].reason;
    EXPECT_TRUE(IsUtf8(skips[0].reason)) << EscapeInvalidUtf8(skips[0].reason);

    const Link link = LinkOf("item", "2");
    EXPECT_EQ(link.status, "failed");
    EXPECT_EQ(link.attempts, run);
    EXPECT_EQ(link.last_error, skips[0].reason);
    const std::vector<RecordResult> stored = StoredResults();
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].error, skips[0].reason);
    EXPECT_EQ(Dst("SELECT code, name FROM item ORDER BY code"),
              (std::vector<std::string>{"A|ok", "C|fine"}));
    EXPECT_EQ(Dst("SELECT count(*) FROM tether_links"), std::vector<std::string>{"3"});
  }
}

// Only SQLite keeps bytes that are not UTF-8 as text: a SQLite source into each target engine.
using Utf8SourceTest = Utf8Test;

TEST_P(Utf8SourceTest, TextThatIsNotUtf8FailsItsRecordWhereverItIs) {
  // Bad bytes in a value, a match key, a reference, an identity key, a mapped key and one part
  // of a composite key: each fails its record only, before its id is looked up anywhere.
  Source(R"(
    CREATE TABLE tag (code TEXT PRIMARY KEY, label TEXT);
    INSERT INTO tag VALUES ('a', 'A'), (CAST(X'FF61' AS TEXT), 'bad key'), ('b', 'B'),
                           ('c', CAST(X'41FF42' AS TEXT));
    CREATE TABLE item (id INTEGER PRIMARY KEY, sku TEXT, name TEXT, tag TEXT);
    INSERT INTO item VALUES (1, 'S1', 'one', 'a'), (2, 'S2', CAST(X'C3' AS TEXT), 'a'),
                            (3, CAST(X'FF' AS TEXT), 'three', 'b'),
                            (4, 'S4', 'four', CAST(X'FF61' AS TEXT)), (5, 'S5', 'five', 'b');
    CREATE TABLE note (id TEXT PRIMARY KEY, body TEXT);
    INSERT INTO note VALUES ('n1', 'x'), (CAST(X'FF6E' AS TEXT), 'bad'), ('n3', 'y');
    CREATE TABLE pair (a TEXT, b INTEGER, v TEXT, PRIMARY KEY (a, b));
    INSERT INTO pair VALUES ('x', 1, 'ok'), (CAST(X'78FE' AS TEXT), 2, 'bad');
  )");
  Target(R"(
    CREATE TABLE tag (code VARCHAR(20) PRIMARY KEY, label VARCHAR(20));
    CREATE TABLE item (id INTEGER PRIMARY KEY, sku VARCHAR(20), name VARCHAR(20),
                       tag VARCHAR(20));
    CREATE TABLE note (id INTEGER PRIMARY KEY, body VARCHAR(20));
    CREATE TABLE pair (a VARCHAR(20), b INTEGER, v VARCHAR(20), PRIMARY KEY (a, b));
  )");
  Configure(R"(
entities:
  tag: { table: tag, key: code, keys: identity }
  item: { table: item, match: [sku], references: { tag: tag } }
  note: { table: note }
  pair: { table: pair, key: [a, b], keys: identity }
)" + Pipeline("tag, item, note, pair"));

  size_t first_results = 0;
  for (int run = 1; run <= 2; ++run) {
    SCOPED_TRACE(run);
    auto report = Sync();
    ASSERT_OK(report);
    const bool first = run == 1;
    EXPECT_EQ(CountsOf(*report, "tag"), first
                                            ? (RunCounts{.read = 4, .inserted = 2, .skipped = 2})
                                            : (RunCounts{.read = 4, .unchanged = 2, .skipped = 2}));
    EXPECT_EQ(CountsOf(*report, "item"),
              first ? (RunCounts{.read = 5, .inserted = 2, .skipped = 3})
                    : (RunCounts{.read = 5, .unchanged = 2, .skipped = 3}));
    EXPECT_EQ(CountsOf(*report, "note"),
              first ? (RunCounts{.read = 3, .inserted = 2, .skipped = 1})
                    : (RunCounts{.read = 3, .unchanged = 2, .skipped = 1}));
    EXPECT_EQ(CountsOf(*report, "pair"),
              first ? (RunCounts{.read = 2, .inserted = 1, .skipped = 1})
                    : (RunCounts{.read = 2, .unchanged = 1, .skipped = 1}));
    std::map<std::string, std::string> reasons;  // entity/source id -> reason
    for (const RecordPlan& r : obs_.records) {
      if (r.action != Action::kSkip) continue;
      EXPECT_TRUE(IsUtf8(r.source_id)) << EscapeInvalidUtf8(r.source_id);
      EXPECT_TRUE(IsUtf8(r.reason)) << EscapeInvalidUtf8(r.reason);
      reasons[r.entity + "/" + r.source_id] = r.reason;
    }
    // The record's column is named; a key that is not UTF-8 is reported escaped.
    const std::map<std::string, std::string> column = {{"tag/\\xFFa", "column code:"},
                                                       {"tag/c", "column label:"},
                                                       {"item/2", "column name:"},
                                                       {"item/3", "column sku:"},
                                                       {"item/4", "column tag:"},
                                                       {"note/\\xFFn", "column id:"},
                                                       {"pair/[\"x\\\\xFE\",2]", "column a:"}};
    EXPECT_EQ(reasons.size(), column.size());
    for (const auto& [id, col] : column) {
      ASSERT_TRUE(reasons.count(id)) << id;
      EXPECT_NE(reasons[id].find(col), std::string::npos) << id << ": " << reasons[id];
    }
    EXPECT_EQ(Dst("SELECT code, label FROM tag ORDER BY code"),
              (std::vector<std::string>{"a|A", "b|B"}));
    EXPECT_EQ(Dst("SELECT sku, name FROM item ORDER BY sku"),
              (std::vector<std::string>{"S1|one", "S5|five"}));
    EXPECT_EQ(Dst("SELECT body FROM note ORDER BY body"), (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(Dst("SELECT a, b, v FROM pair"), (std::vector<std::string>{"x|1|ok"}));
    // Stored as the observer saw them; no link for a key that cannot be one, and no more links
    // on the rerun.
    const std::vector<RecordResult> stored = StoredResults();
    EXPECT_EQ(stored.size(), column.size());
    for (const RecordResult& r : stored) {
      EXPECT_TRUE(reasons.count(r.entity + "/" + r.source_id)) << r.entity << " " << r.source_id;
    }
    if (first) first_results = stored.size();
    EXPECT_EQ(stored.size(), first_results);
    EXPECT_EQ(Dst("SELECT entity, status, count(*) FROM tether_links GROUP BY entity, status "
                  "ORDER BY entity, status"),
              (std::vector<std::string>{"item|failed|3", "item|synced|2", "note|synced|2"}));
  }
}

TETHER_ALL_PAIRS(Utf8Test);
TETHER_SQLITE_SOURCE_PAIRS(Utf8SourceTest);

}  // namespace
}  // namespace tether::testing
