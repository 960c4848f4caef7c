// Normalised match keys (`match: [{ column: email, normalize: [lower, trim] }]`) over every engine
// pair: records pair with target rows whose key differs only in ASCII case and surrounding
// spaces, nothing else (É is not é); two source records with one normalised key collide; plain
// match keys stay exact; and the target's lookup by the normalised key has an index where the
// engine can make one, or `tether check` says it has none.
#include <gtest/gtest.h>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

constexpr char kNormalizeDdl[] = R"(
  CREATE TABLE customer (id INTEGER PRIMARY KEY, email VARCHAR(60) NOT NULL, name TEXT);
  CREATE TABLE tag (id INTEGER PRIMARY KEY, code VARCHAR(20) NOT NULL);
)";

class NormalizeTest : public EngineTest {};

TEST_P(NormalizeTest, RecordsPairByTheNormalisedKeyAndCollideOnIt) {
  Both(kNormalizeDdl);
  Configure(R"(
entities:
  customer: { table: customer, match: [{ column: email, normalize: [lower, trim] }] }
  tag: { table: tag, match: [code] }
)" + Pipeline("customer, tag", "    batch_size: 4\n"));
  Source(R"(
    INSERT INTO customer VALUES (1, 'CaseTest@x.com', 'Case'), (2, '  bob@x.com ', 'Bob'),
                                (3, 'new@x.com', 'New'), (4, 'DUP@x.com', 'D1'),
                                (5, 'dup@x.com ', 'D2'), (6, 'Éva@x.com', 'E');
    INSERT INTO tag VALUES (1, 'ABC');
  )");
  Target(R"(
    INSERT INTO customer VALUES (10, 'casetest@x.com', 'Case'), (11, 'BOB@X.COM', 'Bob'),
                                (12, 'éva@x.com', 'E');
    INSERT INTO tag VALUES (7, 'abc');
  )");
  auto report = PlanThenSync();
  ASSERT_OK(report);
  // 1 and 2 pair with 10 and 11 (and take the source's spelling); 5 collides with 4; É is not é.
  EXPECT_EQ(CountsOf(*report, "customer"),
            (RunCounts{.read = 6, .inserted = 3, .updated = 2, .failed = 1}));
  EXPECT_EQ(LinkOf("customer", "1").target_id, std::optional<std::string>("10"));
  EXPECT_EQ(LinkOf("customer", "2").target_id, std::optional<std::string>("11"));
  auto failed = Records("customer", Action::kFail);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].source_id, "5");
  EXPECT_EQ(Dst("SELECT id, email FROM customer WHERE id IN (10, 11, 12) ORDER BY id"),
            (std::vector<std::string>{"10|CaseTest@x.com", "11|  bob@x.com ", "12|éva@x.com"}));
  EXPECT_EQ(Dst("SELECT count(*) FROM customer"), std::vector<std::string>{"6"});
  // A plain match key compares exactly, whatever the target's collation.
  EXPECT_EQ(CountsOf(*report, "tag"), (RunCounts{.read = 1, .inserted = 1}));

  auto again = PlanThenSync();
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "customer"), (RunCounts{.read = 6, .unchanged = 5, .failed = 1}));
  EXPECT_EQ(CountsOf(*again, "tag"), (RunCounts{.read = 1, .unchanged = 1}));
}

TEST_P(NormalizeTest, TheLookupHasAnIndexOrCheckSaysItHasNone) {
  Source(kNormalizeDdl);
  Configure(R"(
entities:
  customer: { table: customer, match: [{ column: email, normalize: lower }] }
  tag: { table: tag, match: [{ column: code, normalize: [lower, trim] }] }
)" + Pipeline("customer, tag"));
  auto warnings = [&]() {
    obs_ = RecordingObserver();
    EXPECT_OK(CheckPipelines(config_, {"p"}, &obs_));
    std::vector<std::string> out;
    for (const std::string& n : obs_.notices) {
      if (Contains(n, "warning"))
        out.push_back(n.find("'customer'") != std::string::npos ? "customer" : "tag");
    }
    return out;
  };
  // Tables tether creates have the index: an expression index where the engine has them; on
  // MySQL/MariaDB the column's own, which serves `lower` through its case-insensitive collation
  // but not `trim`.
  SyncRequest create;
  create.create_tables = true;
  ASSERT_OK(Sync(create));
  EXPECT_EQ(warnings(), target_engine() == "mysql" ? std::vector<std::string>{"tag"}
                                                   : std::vector<std::string>{});
  // Without those indexes, every engine says so.
  Target("DROP TABLE customer; DROP TABLE tag");
  Target(kNormalizeDdl);
  EXPECT_EQ(warnings(), (std::vector<std::string>{"customer", "tag"}));
}

TETHER_ALL_PAIRS(NormalizeTest);

}  // namespace
}  // namespace tether::testing
