// Invalid records (validate: rules and the target's schema) under on_invalid skip and error, and
// records the target refuses: each fails alone, keeps its reason and attempts, and syncs once
// fixed.
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class InvalidTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Source(R"(
      CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT, name TEXT, price REAL, qty TEXT,
                            code TEXT, ean TEXT);
      INSERT INTO product VALUES
        (1, 'GOOD-1', 'Good one', 1.5, '3', 'AB', '123'),
        (2, '', 'No sku', 1, '1', NULL, NULL),
        (3, 'bad sku', 'Spaces', 1, '1', NULL, NULL),
        (4, 'SHORT', 'X', 1, '1', NULL, NULL),
        (5, 'LONG', 'A name far too long!!', 1, '1', NULL, NULL),
        (6, 'CHEAP', 'Negative', -1, '1', NULL, NULL),
        (7, 'DEAR', 'Expensive', 5000, '1', NULL, NULL),
        (8, 'EAN', 'Bad ean', 1, '1', NULL, '12a'),
        (9, 'QTY', 'Text qty', 1, 'lots', NULL, NULL),
        (10, 'NONAME', NULL, 1, '1', NULL, NULL),
        (11, 'CODE', 'Long code', 1, '1', 'TOOLONG', NULL),
        (12, 'GOOD-2', 'Good two', 2, '7', 'ABCDE', '456');
    )");
    Target(R"(
      CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
                            price REAL, qty INTEGER, code VARCHAR(5), ean TEXT);
    )");
  }
  void ConfigurePolicy(const std::string& policy) {
    Configure(R"(
entities:
  product:
    table: product
    match: [sku]
    validate:
      sku: { required: true, pattern: "^[A-Z0-9-]+$" }
      name: { min_length: 2, max_length: 20 }
      price: { min: 0, max: 1000 }
      ean: { type: integer }
)" + Pipeline("product", "    batch_size: 5\n    on_invalid: " + policy + "\n"));
  }
};

TEST_P(InvalidTest, SkipReportsEachInvalidRecordAndSyncsTheRest) {
  ConfigurePolicy("skip");
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "product"), (RunCounts{.read = 12, .inserted = 2, .skipped = 10}));
  EXPECT_EQ(report->run.status, "succeeded");
  EXPECT_EQ(Dst("SELECT sku, name, price, qty, code, ean FROM product ORDER BY sku"),
            (std::vector<std::string>{"GOOD-1|Good one|1.5|3|AB|123",
                                      "GOOD-2|Good two|2.0|7|ABCDE|456"}));
  if (target_engine() == "sqlite") {  // stored as an integer, not as the text "3"
    EXPECT_EQ(Dst("SELECT typeof(qty) FROM product WHERE sku = 'GOOD-1'"),
              std::vector<std::string>{"integer"});
  }

  auto skips = Records("product", Action::kSkip);
  std::vector<std::string> ids;
  for (const RecordPlan& p : skips) {
    ids.push_back(p.source_id);
    EXPECT_FALSE(p.reason.empty()) << p.source_id;
    EXPECT_EQ(p.target_id, "");
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}));

  // Each is kept in the run's records and in its link, with its attempts.
  EXPECT_EQ(Dst("SELECT source_id, action FROM tether_run_records WHERE error <> '' "
                "ORDER BY CAST(source_id AS INTEGER)"),
            (std::vector<std::string>{"2|skip", "3|skip", "4|skip", "5|skip", "6|skip", "7|skip",
                                      "8|skip", "9|skip", "10|skip", "11|skip"}));
  State state = OpenState();
  auto runs = state->ListRuns("p", 10);
  ASSERT_OK(runs);
  ASSERT_EQ(runs->size(), 1u);
  auto results = state->ListRecordResults((*runs)[0].run_id, 0);
  ASSERT_OK(results);
  EXPECT_EQ(results->size(), 10u);
  EXPECT_EQ((*runs)[0].counts.skipped, 10);
  for (const char* id : {"2", "9", "10", "11"}) {
    Link l = LinkOf("product", id);
    EXPECT_EQ(l.status, "failed") << id;
    EXPECT_EQ(l.attempts, 1) << id;
    EXPECT_FALSE(l.target_id.has_value()) << id;
    EXPECT_FALSE(l.last_error.empty()) << id;
  }

  // Rerun: the invalid ones are tried again (one more attempt); fixed ones sync.
  Source("UPDATE product SET qty = '4', code = 'OK' WHERE id IN (9, 11)");
  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "product"),
            (RunCounts{.read = 12, .inserted = 2, .unchanged = 2, .skipped = 8}));
  EXPECT_EQ(LinkOf("product", "2").attempts, 2);
  Link fixed = LinkOf("product", "9");
  EXPECT_EQ(fixed.status, "synced");
  EXPECT_EQ(fixed.attempts, 0);
  EXPECT_EQ(fixed.last_error, "");
  EXPECT_EQ(Dst("SELECT qty FROM product WHERE sku = 'QTY'"), std::vector<std::string>{"4"});
}

TEST_P(InvalidTest, EachRuleAndSchemaCheckRejectsItsRecord) {
  // One record at a time, so that each reason is the rule it broke.
  ConfigurePolicy("skip");
  auto report = Sync();
  ASSERT_OK(report);
  std::map<std::string, std::string> reason;
  for (const RecordPlan& p : Records("product", Action::kSkip)) reason[p.source_id] = p.reason;
  // The reasons name the column at fault (their wording is free).
  const std::map<std::string, std::string> column = {
      {"2", "sku"},   {"3", "sku"}, {"4", "name"}, {"5", "name"},  {"6", "price"},
      {"7", "price"}, {"8", "ean"}, {"9", "qty"},  {"10", "name"}, {"11", "code"}};
  for (const auto& [id, col] : column) {
    ASSERT_TRUE(reason.count(id)) << id;
    EXPECT_NE(reason[id].find(col), std::string::npos) << id << ": " << reason[id];
  }
}

TEST_P(InvalidTest, RuleReasonsNameTheColumnNeverTheValue) {
  // A rule may guard anything, secrets too: its reason says which column broke which rule, and
  // the record's id says which record; the value itself is never repeated.
  ConfigurePolicy("skip");
  ASSERT_OK(Sync());
  std::map<std::string, std::string> reason;
  for (const RecordPlan& p : Records("product", Action::kSkip)) reason[p.source_id] = p.reason;
  const std::map<std::string, std::string> value = {
      {"3", "bad sku"}, {"5", "far too long"}, {"6", "-1"}, {"7", "5000"}, {"8", "12a"}};
  for (const auto& [id, v] : value) {
    ASSERT_TRUE(reason.count(id)) << id;
    EXPECT_EQ(reason[id].find(v), std::string::npos) << id << ": " << reason[id];
  }
  for (const char* id : {"3", "5", "6", "7", "8"}) {
    EXPECT_EQ(LinkOf("product", id).last_error, reason[id]) << id;
  }
}

TEST_P(InvalidTest, ErrorStopsTheRunAndWritesNothing) {
  ConfigurePolicy("error");
  std::string before = TargetSnapshot();
  ASSERT_CODE(Sync(), StatusCode::kPolicy);
  EXPECT_TRUE(TargetSnapshot() == before);
  EXPECT_FALSE(TargetHasStateTables());

  // Even when the only invalid record is in the last batch.
  Source("DELETE FROM product WHERE id BETWEEN 2 AND 10");
  ASSERT_CODE(Sync(), StatusCode::kPolicy);
  EXPECT_TRUE(TargetSnapshot() == before);

  Source("DELETE FROM product WHERE id = 11");
  auto ok = Sync();
  ASSERT_OK(ok);
  EXPECT_EQ(CountsOf(*ok, "product").inserted, 2);
}

TEST_P(InvalidTest, RequestOverridesThePipelinePolicy) {
  ConfigurePolicy("skip");
  std::string before = TargetSnapshot();
  SyncRequest req;
  req.on_invalid = OnInvalid::kError;
  ASSERT_CODE(Sync(req), StatusCode::kPolicy);
  EXPECT_TRUE(TargetSnapshot() == before);
}

class SchemaCheckTest : public EngineTest {};

TEST_P(SchemaCheckTest, NullIntoANotNullColumnWithADefaultIsInvalid) {
  // The target's DEFAULT does not apply to a NULL that is written: the record is invalid, and
  // on_invalid: error catches it before anything is written.
  Source(R"(
    CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, status TEXT);
    INSERT INTO t VALUES (1, 'a', 'x'), (2, 'b', NULL), (3, 'c', 'y');
  )");
  Target("CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, status TEXT NOT NULL DEFAULT 'new')");
  Configure("entities:\n  t: { table: t, match: [code] }\n" + Pipeline("t"));
  std::string before = TargetSnapshot();
  SyncRequest strict;
  strict.on_invalid = OnInvalid::kError;
  ASSERT_CODE(Sync(strict), StatusCode::kPolicy);
  EXPECT_TRUE(TargetSnapshot() == before);

  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "t"), (RunCounts{.read = 3, .inserted = 2, .skipped = 1}));
  auto skips = Records("t", Action::kSkip);
  ASSERT_EQ(skips.size(), 1u);
  EXPECT_EQ(skips[0].source_id, "2");
}

TEST_P(SchemaCheckTest, AnInvalidParentPulledForAChildStopsAnErrorPolicyRun) {
  Both(R"(
    CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT);
    CREATE TABLE sales_order (id INTEGER PRIMARY KEY, increment_id TEXT, customer_id INTEGER);
  )");
  Source(R"(
    INSERT INTO customer VALUES (1, 'a@x.io'), (2, 'not an email');
    INSERT INTO sales_order VALUES (1, 'O-1', 1), (2, 'O-2', 1), (3, 'O-3', 2);
  )");
  Configure(R"(
entities:
  customer:
    table: customer
    match: [email]
    validate: { email: { type: email } }
  order:
    table: sales_order
    match: [increment_id]
    references: { customer_id: customer }
)" + Pipeline("customer, order", "    on_invalid: error\n    batch_size: 2\n"));
  std::string before = TargetSnapshot();
  // Only orders: the invalid customer is met as the parent of the second batch's order.
  ASSERT_CODE(Sync(Only({"order"})), StatusCode::kPolicy);
  EXPECT_TRUE(TargetSnapshot() == before);
  EXPECT_FALSE(TargetHasStateTables());
}

class RefusedTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Source(R"(
      CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL, nick TEXT);
      INSERT INTO customer VALUES (1, 'a@x', 'ann'), (2, 'b@x', 'bob'), (3, 'c@x', 'taken'),
                                  (4, 'd@x', 'dan'), (5, 'e@x', 'eve');
    )");
    // nick is UNIQUE on the target, and a target-only customer already uses 'taken'.
    Target(R"(
      CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,
                             nick TEXT UNIQUE);
      INSERT INTO customer VALUES (1, 'zed@x', 'taken');
    )");
    Configure(R"(
entities:
  customer: { table: customer, match: [email] }
)" + Pipeline("customer", "    batch_size: 10\n"));
  }
};

TEST_P(RefusedTest, ARowTheTargetRefusesFailsAloneAndSyncsOnceFixed) {
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 5, .inserted = 4, .failed = 1}));
  EXPECT_EQ(report->run.status, "partial");
  EXPECT_EQ(Dst("SELECT email, nick FROM customer ORDER BY email"),
            (std::vector<std::string>{"a@x|ann", "b@x|bob", "d@x|dan", "e@x|eve", "zed@x|taken"}));
  auto fails = Records("customer", Action::kFail);
  ASSERT_EQ(fails.size(), 1u);
  EXPECT_EQ(fails[0].source_id, "3");
  EXPECT_FALSE(fails[0].reason.empty());
  EXPECT_EQ(Dst("SELECT source_id, action FROM tether_run_records"),
            std::vector<std::string>{"3|fail"});
  Link link = LinkOf("customer", "3");
  EXPECT_EQ(link.status, "failed");
  EXPECT_EQ(link.attempts, 1);
  EXPECT_FALSE(link.last_error.empty());
  State state = OpenState();
  auto runs = state->ListRuns("p", 0);
  ASSERT_OK(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].status, "partial");
  EXPECT_EQ((*runs)[0].counts.failed, 1);

  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "customer"), (RunCounts{.read = 5, .unchanged = 4, .failed = 1}));
  EXPECT_EQ(LinkOf("customer", "3").attempts, 2);

  Source("UPDATE customer SET nick = 'cy' WHERE id = 3");
  auto fixed = Sync();
  ASSERT_OK(fixed);
  EXPECT_EQ(CountsOf(*fixed, "customer"), (RunCounts{.read = 5, .inserted = 1, .unchanged = 4}));
  EXPECT_EQ(fixed->run.status, "succeeded");
  link = LinkOf("customer", "3");
  EXPECT_EQ(link.status, "synced");
  EXPECT_EQ(link.attempts, 0);
  EXPECT_EQ(Dst("SELECT nick FROM customer WHERE email = 'c@x'"), std::vector<std::string>{"cy"});
}

TEST_P(RefusedTest, AnUpdateTheTargetRefusesFailsAloneAndKeepsTheRow) {
  Source("UPDATE customer SET nick = 'cy' WHERE id = 3");
  ASSERT_OK(Sync());
  // Two source records now want nicks that collide on the target, in one batch with others.
  Source(R"(
    UPDATE customer SET nick = 'taken' WHERE id = 2;
    UPDATE customer SET nick = 'dan2' WHERE id = 4;
  )");
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "customer"),
            (RunCounts{.read = 5, .updated = 1, .unchanged = 3, .failed = 1}));
  EXPECT_EQ(Dst("SELECT email, nick FROM customer ORDER BY email"),
            (std::vector<std::string>{"a@x|ann", "b@x|bob", "c@x|cy", "d@x|dan2", "e@x|eve",
                                      "zed@x|taken"}));
  // Only the committed update left a before-image.
  EXPECT_EQ(Dst("SELECT count(*) FROM tether_before_images"), std::vector<std::string>{"1"});
  Link link = LinkOf("customer", "2");
  EXPECT_EQ(link.status, "failed");
  EXPECT_TRUE(link.target_id.has_value());  // still paired with its target row
  EXPECT_EQ(link.attempts, 1);
}

// `validate: pattern` is matched in time linear in the value (RE2): a pattern that makes a
// backtracking engine recurse once per character, or try exponentially many splits, neither
// crashes nor hangs a run.
class PatternTest : public EngineTest {
 protected:
  // MySQL's TEXT holds 64 KiB; the values here are longer.
  static std::string LongText(const std::string& engine) {
    return engine == "mysql" ? "MEDIUMTEXT" : "TEXT";
  }
};

TEST_P(PatternTest, LongValuesAndBacktrackingPatternsFinishFast) {
  const std::string ab(200000, 'a');
  std::string alternating = ab;
  for (size_t i = 1; i < alternating.size(); i += 2) alternating[i] = 'b';
  const std::string table = "CREATE TABLE doc (id INTEGER PRIMARY KEY, body ";
  Source(table + LongText(source_engine()) + ", code TEXT)");
  Target(table + LongText(target_engine()) + ", code TEXT)");
  Source("INSERT INTO doc VALUES (1, '" + alternating + "', 'aaa')");
  Source("INSERT INTO doc VALUES (2, '" + alternating + "c', 'aaa')");
  Source("INSERT INTO doc VALUES (3, 'ab', '" + std::string(40, 'a') + "!')");
  Source("INSERT INTO doc VALUES (4, 'ba', 'aa')");
  Configure(R"(
entities:
  doc:
    table: doc
    keys: identity
    validate:
      body: { pattern: "(a|b)*" }
      code: { pattern: "(a+)+$" }
)" + Pipeline("doc"));
  const auto start = std::chrono::steady_clock::now();
  auto report = Sync();
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_OK(report);
  EXPECT_LT(seconds, 20) << "a pattern took time exponential in the value";
  EXPECT_EQ(CountsOf(*report, "doc"), (RunCounts{.read = 4, .inserted = 2, .skipped = 2}));
  EXPECT_EQ(Dst("SELECT id, length(body), code FROM doc ORDER BY id"),
            (std::vector<std::string>{"1|200000|aaa", "4|2|aa"}));
  std::map<std::string, std::string> reason;
  for (const RecordPlan& p : Records("doc", Action::kSkip)) reason[p.source_id] = p.reason;
  EXPECT_NE(reason["2"].find("body"), std::string::npos) << reason["2"];
  EXPECT_NE(reason["3"].find("code"), std::string::npos) << reason["3"];
}

TETHER_ALL_PAIRS(InvalidTest);
TETHER_ALL_PAIRS(RefusedTest);
TETHER_ALL_PAIRS(SchemaCheckTest);
TETHER_ALL_PAIRS(PatternTest);

}  // namespace
}  // namespace tether::testing
