// Values a target holds differently from its source: floats a narrower column or an engine
// cannot hold exactly (NaN, infinity, digits past a float or a double), char(n)'s padding, dates
// past 9999 and before 1 AD. Each is either written exactly — and the rerun changes nothing —
// or fails its record with the reason; never changed silently and then "updated" forever.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class ValuesTest : public EngineTest {
 protected:
  // Syncs twice: the first run writes `written` records and skips or fails the rest (each with
  // a reason naming its column); the second finds the written ones unchanged and the others
  // refused again. Returns the ids refused, with their reasons.
  std::map<std::string, std::string> SyncTwice(const std::string& entity, int64_t read,
                                               int64_t written) {
    std::map<std::string, std::string> refused;
    for (int run = 1; run <= 2; ++run) {
      SCOPED_TRACE(run);
      auto report = Sync();
      EXPECT_OK(report);
      if (!report.ok()) return refused;
      const RunCounts c = CountsOf(*report, entity);
      EXPECT_EQ(c.read, read);
      EXPECT_EQ(c.inserted, run == 1 ? written : 0);
      EXPECT_EQ(c.updated, 0);
      EXPECT_EQ(c.unchanged, run == 1 ? 0 : written);
      EXPECT_EQ(c.skipped + c.failed, read - written);
      for (const RecordPlan& r : obs_.records) {
        if (r.action == Action::kSkip || r.action == Action::kFail) {
          refused[r.source_id] = r.reason;
        } else if (r.action != Action::kInsert) {
          ADD_FAILURE() << r.source_id << " " << ActionName(r.action);
        }
      }
    }
    return refused;
  }
  static std::set<std::string> Ids(const std::map<std::string, std::string>& refused) {
    std::set<std::string> out;
    for (const auto& [id, reason] : refused) out.insert(id);
    return out;
  }
};

TEST_P(ValuesTest, FloatsAreExactOrTheirRecordFails) {
  Source(
      "CREATE TABLE m (id INTEGER PRIMARY KEY, f REAL, d BIGINT, t TEXT, n REAL);"
      "INSERT INTO m VALUES (1, 0.5, 9007199254740992, '0.25', 1.5),"
      "  (2, 0.123456789, NULL, NULL, NULL),"               // more digits than a 4-byte float
      "  (3, NULL, 9007199254740993, NULL, NULL),"          // 2^53 + 1: not a double
      "  (4, NULL, NULL, '0.12345678901234567890', NULL),"  // not a double either
      "  (5, 0.1, NULL, NULL, NULL),"                       // a float's 0.1 reads back as 0.1
      "  (6, 1e39, NULL, NULL, NULL);");                    // past a float's range
  const bool pg_source = source_engine() == "postgres";
  if (pg_source) Source("INSERT INTO m (id, n) VALUES (7, 'NaN'), (8, '-Infinity')");
  Target("CREATE TABLE m (id INTEGER PRIMARY KEY, f FLOAT4, d REAL, t REAL, n REAL)");
  Configure("entities:\n  m: { table: m, keys: identity }\n" + Pipeline("m"));

  // SQLite's REAL is a double whatever it is called; it stores NULL for a NaN. MySQL and
  // MariaDB have neither NaN nor infinity.
  std::set<std::string> want = {"3", "4"};
  if (target_engine() != "sqlite") want.insert({"2", "6"});
  if (pg_source && target_engine() != "postgres") want.insert("7");
  if (pg_source && target_engine() == "mysql") want.insert("8");
  const int64_t read = pg_source ? 8 : 6;
  auto refused = SyncTwice("m", read, read - static_cast<int64_t>(want.size()));
  EXPECT_EQ(Ids(refused), want);
  const std::map<std::string, std::string> column = {{"2", "column f:"}, {"3", "column d:"},
                                                     {"4", "column t:"}, {"6", "column f:"},
                                                     {"7", "column n:"}, {"8", "column n:"}};
  for (const auto& [id, reason] : refused) {
    EXPECT_NE(reason.find(column.at(id)), std::string::npos) << id << ": " << reason;
  }
  EXPECT_EQ(
      Dst("SELECT id, f, d, t, n FROM m WHERE id IN (1, 5) ORDER BY id"),
      (std::vector<std::string>{"1|0.5|9.00719925474099e+15|0.25|1.5", "5|0.1|NULL|NULL|NULL"}));
}

TEST_P(ValuesTest, CharPaddingIsNotData) {
  // char on both sides, char on one side only, either way; a char match key finds its row.
  Source(
      "CREATE TABLE c (id INTEGER PRIMARY KEY, a CHAR(5), b VARCHAR(5), v CHAR(5));"
      "INSERT INTO c VALUES (1, 'ab', 'ab', 'ab'), (2, 'abcde', 'xy  ', 'x y'),"
      "  (3, 'q', '', '');");
  Target(
      "CREATE TABLE c (id INTEGER PRIMARY KEY, a CHAR(5), b CHAR(5), v VARCHAR(5));"
      "INSERT INTO c VALUES (10, 'ab', 'zz', 'zz');");
  Configure("entities:\n  c: { table: c, match: [a] }\n" + Pipeline("c"));
  auto first = Sync();
  ASSERT_OK(first);
  EXPECT_EQ(CountsOf(*first, "c"), (RunCounts{.read = 3, .inserted = 2, .updated = 1}));
  auto second = Sync();
  ASSERT_OK(second);
  EXPECT_EQ(CountsOf(*second, "c"), (RunCounts{.read = 3, .unchanged = 3}));
  for (const RecordPlan& r : obs_.records) {
    ADD_FAILURE() << r.source_id << " " << ActionName(r.action) << " "
                  << (r.changes.empty()
                          ? r.reason
                          : r.changes[0].column + ": '" + r.changes[0].before.ToText() + "' -> '" +
                                r.changes[0].after.ToText() + "'");
  }
  EXPECT_EQ(Dst("SELECT count(*) FROM c"), std::vector<std::string>{"3"});
  EXPECT_EQ(Dst("SELECT id, b FROM c WHERE a = 'ab'"), std::vector<std::string>{"10|ab"});
  // A compare run with range checksums finds nothing to do either (verify passes).
  SyncRequest compare;
  compare.dry_run = true;
  compare.mode = SyncMode::kCompare;
  compare.checksums = true;
  auto diff = Sync(compare);
  ASSERT_OK(diff);
  EXPECT_EQ(CountsOf(*diff, "c").updated, 0);
  EXPECT_EQ(CountsOf(*diff, "c").inserted, 0);
}

TEST_P(ValuesTest, DatesPastTheFourDigitYears) {
  Source(
      "CREATE TABLE d (id INTEGER PRIMARY KEY, day DATE);"
      "INSERT INTO d VALUES (1, '2024-02-29'), (2, '1960-01-01'), (3, '2050-01-01');");
  // PostgreSQL's dates reach 5874897 AD and 4714 BC; SQLite keeps the text; MySQL and MariaDB
  // hold 0000-9999 only.
  const bool wide_source = source_engine() != "mysql";
  if (wide_source) Source("INSERT INTO d VALUES (4, '10000-01-01'), (5, '0044-03-15 BC')");
  Target("CREATE TABLE d (id INTEGER PRIMARY KEY, day DATE)");
  Configure("entities:\n  d: { table: d, keys: identity }\n" + Pipeline("d"));
  std::set<std::string> want;
  if (wide_source && target_engine() == "mysql") want = {"4", "5"};
  const int64_t read = wide_source ? 5 : 3;
  auto refused = SyncTwice("d", read, read - static_cast<int64_t>(want.size()));
  EXPECT_EQ(Ids(refused), want);
  std::vector<std::string> days = {"1|2024-02-29", "2|1960-01-01", "3|2050-01-01"};
  if (wide_source && target_engine() != "mysql") {
    days.insert(days.end(), {"4|10000-01-01", "5|0044-03-15 BC"});
  }
  EXPECT_EQ(Dst("SELECT id, day FROM d ORDER BY id"), days);
}

TEST_P(ValuesTest, PlansShowOneFormPerColumnClassAndNoDeltaForIds) {
  // The plan's values of a column take its class's form whatever engine they come from (SQLite
  // returns 140.99 from a NUMERIC column as a double); a remapped reference is an id, not an
  // amount: 970 -> 1202 has no delta.
  Both(
      "CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT);"
      "CREATE TABLE ord (id INTEGER PRIMARY KEY, increment_id TEXT, customer_id INTEGER,"
      "  total NUMERIC(10,2), paid BOOLEAN);");
  Source(
      "INSERT INTO customer VALUES (1, 'a@x.io'), (2, 'b@x.io');"
      "INSERT INTO ord VALUES (1, 'O1', 2, 154.99, TRUE), (2, 'O2', 1, 10, FALSE);");
  Target(
      "INSERT INTO customer VALUES (970, 'a@x.io'), (1202, 'b@x.io');"
      "INSERT INTO ord VALUES (5, 'O1', 970, 140.99, FALSE), (6, 'O2', 970, 9.5, FALSE);");
  Configure(R"(
entities:
  customer: { table: customer, match: [email] }
  ord: { table: ord, match: [increment_id], references: { customer_id: customer } }
)" + Pipeline("customer, ord"));
  auto plan = DryRun();
  ASSERT_OK(plan);
  std::map<std::string, std::map<std::string, FieldChange>> changes;  // order id -> column
  for (const RecordPlan& r : Records("ord", Action::kUpdate)) {
    for (const FieldChange& c : r.changes) changes[r.source_id][c.column] = c;
  }
  ASSERT_EQ(changes.size(), 2u);
  const FieldChange& total = changes["1"]["total"];
  EXPECT_EQ(total.before, Value::Decimal("140.99"));
  EXPECT_EQ(total.after, Value::Decimal("154.99"));
  EXPECT_FALSE(total.is_id);
  // An integer or a shorter fraction shows with the column's scale too.
  EXPECT_EQ(changes["2"]["total"].before, Value::Decimal("9.50"));
  EXPECT_EQ(changes["2"]["total"].after, Value::Decimal("10.00"));
  EXPECT_EQ(changes["1"]["paid"].before, Value::Bool(false));
  EXPECT_EQ(changes["1"]["paid"].after, Value::Bool(true));
  const FieldChange& customer = changes["1"]["customer_id"];
  EXPECT_EQ(customer.before, Value::Int(970));
  EXPECT_EQ(customer.after, Value::Int(1202));
  EXPECT_TRUE(customer.is_id);
  EXPECT_EQ(changes["2"].count("customer_id"), 0u);  // 970 is customer 1's target id
}

TETHER_ALL_PAIRS(ValuesTest);

}  // namespace
}  // namespace tether::testing
