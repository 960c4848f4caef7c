// Target tables and columns tether creates (`tether schema --apply`, `sync --create-tables`)
// hold every value their source holds — dates before 1970 and after 2038, long text in match
// and key columns — and a column added to a source table later is added to the target on
// request, never silently dropped from the sync.
#include <gtest/gtest.h>

#include "engine/target_tables.h"
#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class TargetSchemaTest : public EngineTest {
 protected:
  // The source's own spelling of a type the test SQL cannot write portably.
  std::string SourceType(const std::string& sqlite_and_postgres, const std::string& mysql) const {
    return source_engine() == "mysql" ? mysql : sqlite_and_postgres;
  }

  // Adds what `tether schema --apply` would add to the target for pipeline `p`.
  void ApplyMissingColumns() {
    auto source = src_db_->Open("src");
    auto target = dst_db_->Open("dst");
    ASSERT_TRUE(source && target);
    const PipelineConfig* p = config_.FindPipeline("p");
    ASSERT_NE(p, nullptr);
    auto missing = FindMissingColumns(config_, *p, {}, *source, *target);
    ASSERT_OK(missing);
    for (const MissingColumns& m : *missing) ASSERT_OK(AddMissingColumns(*target, m));
  }
};

TEST_P(TargetSchemaTest, CreatedTablesHoldTheSourcesExtremes) {
  const std::string email(290, 'e');
  const std::string code(600, 'k');
  const std::string text = SourceType("TEXT", "LONGTEXT");
  const std::string instant = SourceType("TIMESTAMPTZ", "DATETIME(6)");
  Source("CREATE TABLE person (id INTEGER PRIMARY KEY, email " + text + ", seen " + instant +
         ", born DATE, bio " + text + ");");
  Source("CREATE TABLE tag (code " + SourceType("TEXT", "VARCHAR(700)") +
         " PRIMARY KEY, label TEXT);");
  Source("CREATE TABLE event (id INTEGER PRIMARY KEY, at " + instant + ");");
  Source("INSERT INTO person VALUES (1, '" + email +
         "@example.com', '2050-01-01 00:00:00', '1960-01-01', 'x'),"
         "  (2, 'b@example.com', '1960-06-30 12:00:00.5', '2100-12-31', NULL),"
         "  (3, 'c@example.com', '2038-01-19 03:14:08', '1000-01-01', '');");
  Source("INSERT INTO tag VALUES ('" + code + "', 'long'), ('short', 's');");
  Source("INSERT INTO event VALUES (1, '1960-01-01 00:00:00'), (2, '2050-06-30 12:00:00.25');");
  Configure(R"(
entities:
  person: { table: person, match: [email] }
  tag: { table: tag, key: code, keys: identity }
  event: { table: event, keys: identity }
)" + Pipeline("person, tag, event"));
  SyncRequest create;
  create.create_tables = true;
  auto first = Sync(create);
  ASSERT_OK(first);
  EXPECT_EQ(CountsOf(*first, "person"), (RunCounts{.read = 3, .inserted = 3}));
  EXPECT_EQ(CountsOf(*first, "tag"), (RunCounts{.read = 2, .inserted = 2}));
  for (const RecordPlan& r : obs_.records) {
    if (r.action != Action::kInsert)
      ADD_FAILURE() << r.entity << " " << r.source_id << ": " << r.reason;
  }
  auto second = Sync();
  ASSERT_OK(second);
  EXPECT_EQ(CountsOf(*second, "person"), (RunCounts{.read = 3, .unchanged = 3}));
  EXPECT_EQ(CountsOf(*second, "tag"), (RunCounts{.read = 2, .unchanged = 2}));
  EXPECT_EQ(Dst("SELECT length(email), born FROM person ORDER BY born"),
            (std::vector<std::string>{"13|1000-01-01", "302|1960-01-01", "13|2100-12-31"}));
  EXPECT_EQ(Dst("SELECT length(code) FROM tag ORDER BY code"),
            (std::vector<std::string>{"600", "5"}));
  // The UTC times a timestamptz became hash as the source's instants: range checksums agree.
  SyncRequest compare;
  compare.dry_run = true;
  compare.mode = SyncMode::kCompare;
  compare.checksums = true;
  compare.entities = {"event"};
  auto diff = Sync(compare);
  ASSERT_OK(diff);
  EXPECT_EQ(CountsOf(*diff, "event"), (RunCounts{.read = 2, .unchanged = 2}));
  for (const EntityReport& e : diff->entities) {
    if (e.entity != "event") continue;
    EXPECT_NE(e.method.find(", 0 differed"), std::string::npos) << e.method;
  }
}

TEST_P(TargetSchemaTest, AColumnAddedToTheSourceIsAddedOnRequest) {
  Both(
      "CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT, name TEXT);"
      "CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT);");
  Source(
      "INSERT INTO product VALUES (1, 'P1', 'one'), (2, 'P2', 'two');"
      "INSERT INTO customer VALUES (1, 'a@x.io');");
  Configure(R"(
entities:
  product: { table: product, match: [sku] }
  customer: { table: customer, match: [email] }
)" + Pipeline("product, customer"));
  ASSERT_OK(Sync());

  Source(
      "ALTER TABLE product ADD COLUMN color TEXT;"
      "UPDATE product SET color = 'red' WHERE id = 1;");
  Source("INSERT INTO customer VALUES (2, 'b@x.io')");
  // The run stops before writing anything, naming the entity, table and column, and the fix.
  const std::string before = TargetSnapshot();
  auto stopped = Sync();
  ASSERT_CODE(stopped, StatusCode::kNotFound);
  for (const char* part : {"'product'", "'color'", "tether schema --apply"}) {
    EXPECT_NE(stopped.status().message().find(part), std::string::npos)
        << stopped.status().message();
  }
  EXPECT_TRUE(TargetSnapshot() == before);
  // An entity that does not need it still runs on its own.
  auto customers = Sync(Only({"customer"}));
  ASSERT_OK(customers);
  EXPECT_EQ(CountsOf(*customers, "customer"),
            (RunCounts{.read = 2, .inserted = 1, .unchanged = 1}));

  ApplyMissingColumns();
  auto added = Sync();
  ASSERT_OK(added);
  EXPECT_EQ(CountsOf(*added, "product"), (RunCounts{.read = 2, .updated = 1, .unchanged = 1}));
  EXPECT_EQ(Dst("SELECT sku, color FROM product ORDER BY sku"),
            (std::vector<std::string>{"P1|red", "P2|NULL"}));

  // sync --create-tables adds one too; nothing is dropped (the target's own column stays).
  Source("ALTER TABLE product ADD COLUMN size INTEGER; UPDATE product SET size = 3;");
  Target("ALTER TABLE product ADD COLUMN note TEXT");
  SyncRequest create;
  create.create_tables = true;
  auto grown = Sync(create);
  ASSERT_OK(grown);
  EXPECT_EQ(CountsOf(*grown, "product"), (RunCounts{.read = 2, .updated = 2}));
  EXPECT_EQ(Dst("SELECT sku, color, size, note FROM product ORDER BY sku"),
            (std::vector<std::string>{"P1|red|3|NULL", "P2|NULL|3|NULL"}));
  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "product"), (RunCounts{.read = 2, .unchanged = 2}));
}

TETHER_ALL_PAIRS(TargetSchemaTest);

}  // namespace
}  // namespace tether::testing
