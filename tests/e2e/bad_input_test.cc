// Bad input, one fault at a time: each must stop tether with the documented exit code, a message
// that names what is at fault (file:line:column, key, connection, table, column, flag), and a
// target left byte for byte as it was.
#include <sqlite3.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"

namespace tether::e2e {
namespace {

constexpr int kBadInputUsage = 2;
constexpr int kBadInputConfig = 3;
constexpr int kBadInputConnection = 4;
constexpr int kPolicy = 6;

class BadInputTest : public ::testing::Test {
 protected:
  // Runs each command; each must exit with `code`, name every part on stderr, and leave staging
  // as it was.
  void ExpectRefused(const std::vector<std::vector<std::string>>& commands, int code,
                     const std::vector<std::string>& parts) {
    const std::string before = ReadFile(shop_.staging());
    for (const std::vector<std::string>& args : commands) {
      std::string command = "tether";
      for (const std::string& a : args) command += " " + a;
      CommandResult r = shop_.Run(args);
      EXPECT_EQ(r.exit_code, code) << command << "\n" << Show(r);
      for (const std::string& part : parts) {
        EXPECT_TRUE(Contains(r.err, part)) << command << ": stderr should name '" << part << "'\n"
                                           << Show(r);
      }
      EXPECT_TRUE(ReadFile(shop_.staging()) == before) << command << " changed staging.db";
    }
  }

  const std::vector<std::vector<std::string>> kAll = {{"check"}, {"plan"}, {"sync"}};
  SmallShop shop_;
};

TEST_F(BadInputTest, TheSmallShopItselfSyncs) {
  // The baseline the other tests break: it works, and skips item B (text in an INTEGER column).
  CommandResult check = shop_.Run({"check"});
  ASSERT_EQ(check.exit_code, 0) << Show(check);
  CommandResult sync = shop_.Run({"sync", "--format", "json"});
  ASSERT_EQ(sync.exit_code, 0) << Show(sync);
  EXPECT_EQ(SqliteRows(shop_.staging(), "SELECT code, qty FROM item ORDER BY code"),
            (std::vector<std::string>{"A|5", "C|7"}));
}

TEST_F(BadInputTest, MalformedYaml) {
  shop_.WriteConfig(
      "connections:\n"
      "  live: { url: \"sqlite:live.db\"\n"
      "entities: {}\n");
  const std::string before = ReadFile(shop_.staging());
  for (const char* command : {"check", "sync"}) {
    CommandResult r = shop_.Run({command});
    EXPECT_EQ(r.exit_code, kBadInputConfig) << Show(r);
    EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(tether\.yaml:\d+:\d+: )"))) << Show(r);
    EXPECT_TRUE(Contains(r.err, "YAML")) << Show(r);
  }
  EXPECT_TRUE(ReadFile(shop_.staging()) == before);
}

TEST_F(BadInputTest, UnknownKeyIsNamedWithFileLineAndColumn) {
  shop_.WriteConfig(
      "connections:\n"
      "  live: { url: \"sqlite:live.db\" }\n"
      "  staging: { url: \"sqlite:staging.db\" }\n"
      "entities:\n"
      "  item:\n"
      "    table: item\n"
      "    key: id\n"
      "    mtach: [code]\n"
      "pipelines:\n"
      "  copy: { source: live, target: staging, entities: [item] }\n");
  ExpectRefused(kAll, kBadInputConfig, {"tether.yaml:8:5", "mtach"});
}

TEST_F(BadInputTest, MissingConfigFile) {
  ExpectRefused({{"-c", "nope.yaml", "check"}, {"sync", "-c", "nope.yaml"}}, kBadInputConfig,
                {"nope.yaml"});
  ExpectRefused({{"-c", "/no/such/folder/tether.yaml", "sync"}}, kBadInputConfig,
                {"/no/such/folder/tether.yaml"});
}

TEST_F(BadInputTest, UnsetEnvironmentVariable) {
  shop_.WriteConfig(SmallShop::Config("sqlite:${TETHER_E2E_UNSET_VARIABLE}/live.db"));
  ExpectRefused(kAll, kBadInputConfig, {"tether.yaml:2:", "TETHER_E2E_UNSET_VARIABLE"});
}

TEST_F(BadInputTest, UndefinedConnectionInAPipeline) {
  std::string text = SmallShop::Config();
  text.replace(text.find("target: staging"), 15, "target: stagign");
  shop_.WriteConfig(text);
  ExpectRefused(kAll, kBadInputConfig, {"tether.yaml:", "stagign"});
}

TEST_F(BadInputTest, DependencyCycle) {
  std::string text = SmallShop::Config();
  text.replace(text.find("match: [slug] }"), 15, "match: [slug], references: { slug: item } }");
  shop_.WriteConfig(text);
  ExpectRefused(kAll, kBadInputConfig, {"tether.yaml:", "cycle", "item", "category"});
}

TEST_F(BadInputTest, MissingSourceDatabaseFile) {
  shop_.WriteConfig(SmallShop::Config("sqlite:missing.db"));
  ExpectRefused(kAll, kBadInputConnection, {"'live'", "missing.db"});
  EXPECT_FALSE(std::filesystem::exists(shop_.dir() + "/missing.db")) << "must not create it";
}

TEST_F(BadInputTest, TargetThatIsNotADatabase) {
  std::string garbage;
  for (int i = 0; i < 200; ++i) garbage += "this is not a database, just notes. ";
  WriteFile(shop_.staging(), garbage);
  ExpectRefused(kAll, kBadInputConnection, {"'staging'", "staging.db"});
  EXPECT_EQ(ReadFile(shop_.staging()), garbage);
}

TEST_F(BadInputTest, LockedTarget) {
  shop_.WriteConfig(SmallShop::Config("sqlite:live.db", "sqlite:staging.db?busy_timeout_ms=200"));
  const std::string before = ReadFile(shop_.staging());
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(shop_.staging().c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  for (const char* command : {"check", "sync", "plan"}) {
    CommandResult r = shop_.Run({command});
    EXPECT_EQ(r.exit_code, kBadInputConnection) << command << "\n" << Show(r);
    EXPECT_TRUE(Contains(r.err, "'staging'")) << Show(r);
    EXPECT_TRUE(Contains(r.err, "locked")) << Show(r);
  }
  ASSERT_EQ(sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(holder);
  EXPECT_TRUE(ReadFile(shop_.staging()) == before);
  // Once the lock is gone, the same command works.
  CommandResult r = shop_.Run({"sync"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
}

TEST_F(BadInputTest, ReadOnlyTarget) {
  shop_.WriteConfig(SmallShop::Config("sqlite:live.db", "sqlite:staging.db?mode=ro"));
  // Reading is allowed: a plan against a read-only target works and writes nothing.
  const std::string before = ReadFile(shop_.staging());
  CommandResult plan = shop_.Run({"plan"});
  EXPECT_EQ(plan.exit_code, 0) << Show(plan);
  ExpectRefused({{"sync"}, {"check"}}, kBadInputConnection, {"'staging'", "read-only"});
  CommandResult sync = shop_.Run({"sync"});
  EXPECT_TRUE(Contains(sync.err, "read")) << "says it is read-only\n" << Show(sync);
  EXPECT_TRUE(ReadFile(shop_.staging()) == before);
}

TEST_F(BadInputTest, MissingTargetTable) {
  std::string text = SmallShop::Config();
  text.replace(text.find("    table: item\n"), 16,
               "    source_table: item\n    target_table: item_copy\n");
  shop_.WriteConfig(text);
  ExpectRefused(kAll, kBadInputConfig, {"tether.yaml:", "item_copy", "'staging'"});
}

TEST_F(BadInputTest, MissingSourceTable) {
  SqliteExec(shop_.live(), "DROP TABLE item");
  ExpectRefused(kAll, kBadInputConfig, {"tether.yaml:", "'item'", "'live'"});
}

TEST_F(BadInputTest, MissingMatchColumn) {
  std::string text = SmallShop::Config();
  text.replace(text.find("match: [code]"), 13, "match: [sku]");
  shop_.WriteConfig(text);
  ExpectRefused(kAll, kBadInputConfig, {"tether.yaml:", "'sku'", "'item'"});
}

TEST_F(BadInputTest, MissingTargetColumn) {
  shop_.WriteConfig(SmallShop::Config("sqlite:live.db", "sqlite:staging.db",
                                      "    columns: { rename: { qty: quantity } }\n"));
  ExpectRefused(kAll, kBadInputConfig, {"tether.yaml:", "'quantity'", "'staging'"});
}

TEST_F(BadInputTest, SourceColumnTheTargetLacks) {
  // A column added to the source: every run stops before writing, naming entity, table and
  // column and how to add it; `schema` shows the ALTER TABLE, `schema --apply` runs it.
  SqliteExec(shop_.live(), "ALTER TABLE item ADD COLUMN color TEXT; UPDATE item SET color = 'red'");
  ExpectRefused(kAll, kBadInputConfig,
                {"tether.yaml:", "'item'", "'color'", "tether schema --apply"});
  CommandResult other = shop_.Run({"sync", "--entity", "category"});
  EXPECT_EQ(other.exit_code, 0) << Show(other);  // an entity that does not need it runs
  CommandResult shown = shop_.Run({"schema"});
  ASSERT_EQ(shown.exit_code, 0) << Show(shown);
  EXPECT_TRUE(Contains(shown.out, "ALTER TABLE \"item\" ADD COLUMN \"color\" TEXT")) << Show(shown);
  EXPECT_TRUE(Contains(shown.err, "1 column(s) missing")) << Show(shown);
  EXPECT_EQ(SqliteRows(shop_.staging(),
                       "SELECT count(*) FROM pragma_table_info('item') "
                       "WHERE name = 'color'"),
            std::vector<std::string>{"0"});
  CommandResult applied = shop_.Run({"schema", "--apply"});
  ASSERT_EQ(applied.exit_code, 0) << Show(applied);
  CommandResult sync = shop_.Run({"sync"});
  ASSERT_EQ(sync.exit_code, 0) << Show(sync);
  EXPECT_EQ(SqliteRows(shop_.staging(), "SELECT code, color FROM item ORDER BY code"),
            (std::vector<std::string>{"A|red", "C|red"}));
}

TEST_F(BadInputTest, TextThatIsNotUtf8IsReportedInValidJsonAndText) {
  // SQLite keeps any bytes as text: the record fails, and every output stays printable —
  // JSON parses, the stored run lists it with its bytes escaped.
  SqliteExec(shop_.live(),
             "INSERT INTO item VALUES (4, CAST(X'44FF' AS TEXT), 1, 1);"
             "CREATE TABLE tag (code TEXT PRIMARY KEY);"
             "INSERT INTO tag VALUES ('ok'), (CAST(X'FE' AS TEXT));");
  SqliteExec(shop_.staging(), "CREATE TABLE tag (code TEXT PRIMARY KEY)");
  std::string text = SmallShop::Config();
  text.replace(text.find("pipelines:"), 10,
               "  tag: { table: tag, key: code, keys: identity }\npipelines:");
  text.replace(text.find("[category, item]"), 16, "[category, item, tag]");
  shop_.WriteConfig(text);
  for (const char* command : {"plan", "sync"}) {
    CommandResult r = shop_.Run({command, "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    nlohmann::json j = ParseJson(r.out);
    EXPECT_TRUE(Contains(r.out, "\\\\xFE")) << command << ": " << r.out;  // the id, escaped
    EXPECT_TRUE(Contains(r.out, "\\\\xFF")) << command << ": " << r.out;  // in the reason
  }
  CommandResult runs = shop_.Run({"runs", "--format", "json"});
  ASSERT_EQ(runs.exit_code, 0) << Show(runs);
  nlohmann::json listed = ParseJson(runs.out);
  ASSERT_FALSE(listed.empty()) << runs.out;
  CommandResult run =
      shop_.Run({"runs", "--show", listed[0]["run_id"].get<std::string>(), "--format", "json"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  EXPECT_TRUE(Contains(run.out, "\\\\xFE")) << run.out;
  CommandResult table = shop_.Run({"plan"});
  ASSERT_EQ(table.exit_code, 0) << Show(table);
  EXPECT_TRUE(Contains(table.out, "\\xFE")) << Show(table);
  EXPECT_EQ(SqliteRows(shop_.staging(), "SELECT code FROM tag"), std::vector<std::string>{"ok"});
}

TEST_F(BadInputTest, WrongTypeIsSkippedAndReported) {
  CommandResult r = shop_.Run({"sync"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_TRUE(Contains(r.out, "item 2")) << Show(r);
  EXPECT_TRUE(Contains(r.out, "qty")) << Show(r);
  EXPECT_TRUE(Contains(r.out, "lots")) << Show(r);
  EXPECT_EQ(SqliteRows(shop_.staging(), "SELECT code, qty FROM item ORDER BY code"),
            (std::vector<std::string>{"A|5", "C|7"}));
  CommandResult json = shop_.Run({"sync", "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << Show(json);
  nlohmann::json report = ParseJson(json.out);
  ASSERT_EQ(report["problems"].size(), 1u) << report.dump(2);
  EXPECT_EQ(report["problems"][0]["entity"], "item");
  EXPECT_EQ(report["problems"][0]["source_id"], "2");
  EXPECT_EQ(report["problems"][0]["action"], "skip");
  EXPECT_EQ(report["total"]["skipped"], 1);
}

TEST_F(BadInputTest, SkippedRecordIsListedAsFailedUntilItIsFixed) {
  // A dry run writes nothing, not even tether's own tables.
  const std::string before = ReadFile(shop_.staging());
  CommandResult dry = shop_.Run({"sync", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << Show(dry);
  EXPECT_TRUE(Contains(dry.out, "item")) << Show(dry);
  EXPECT_TRUE(ReadFile(shop_.staging()) == before) << "sync --dry-run wrote";

  ASSERT_EQ(shop_.Run({"sync"}).exit_code, 0);
  CommandResult failed = shop_.Run({"links", "failed", "--entity", "item", "--format", "json"});
  ASSERT_EQ(failed.exit_code, 0) << Show(failed);
  nlohmann::json list = ParseJson(failed.out);
  ASSERT_EQ(list.size(), 1u) << list.dump(2);
  EXPECT_EQ(list[0]["source_id"], "2");
  EXPECT_EQ(list[0]["attempts"], 1);
  EXPECT_TRUE(Contains(list[0].value("last_error", ""), "qty")) << list.dump(2);

  // Fixed on live, the record goes across on the next run and leaves the failed list.
  SqliteExec(shop_.live(), "UPDATE item SET qty = 3 WHERE id = 2");
  CommandResult sync = shop_.Run({"sync", "--format", "json"});
  ASSERT_EQ(sync.exit_code, 0) << Show(sync);
  EXPECT_EQ(ParseJson(sync.out)["total"]["inserted"], 1) << sync.out;
  EXPECT_EQ(SqliteRows(shop_.staging(), "SELECT code, qty FROM item ORDER BY code"),
            (std::vector<std::string>{"A|5", "B|3", "C|7"}));
  failed = shop_.Run({"links", "failed", "--entity", "item", "--format", "json"});
  ASSERT_EQ(failed.exit_code, 0) << Show(failed);
  EXPECT_TRUE(ParseJson(failed.out).empty()) << failed.out;
  CommandResult found =
      shop_.Run({"links", "find", "--entity", "item", "--source-id", "2", "--format", "json"});
  ASSERT_EQ(found.exit_code, 0) << Show(found);
  nlohmann::json link = ParseJson(found.out);
  ASSERT_EQ(link.size(), 1u) << found.out;
  EXPECT_EQ(link[0]["status"], "synced");
  EXPECT_EQ(link[0]["target_id"],
            SqliteRows(shop_.staging(), "SELECT id FROM item WHERE code = 'B'").at(0));
}

TEST_F(BadInputTest, WrongTypeWithOnInvalidErrorWritesNothing) {
  ExpectRefused({{"sync", "--on-invalid", "error"}}, kPolicy, {"item", "qty", "nothing"});
  std::string text = SmallShop::Config();
  text += "    on_invalid: error\n";
  shop_.WriteConfig(text);
  ExpectRefused({{"sync"}, {"sync", "--format", "json"}}, kPolicy, {"item", "qty"});
  // The flag overrides the pipeline's policy both ways.
  CommandResult r = shop_.Run({"sync", "--on-invalid", "skip"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
}

TEST_F(BadInputTest, OnDuplicateErrorWritesNothing) {
  ExpectRefused({{"sync", "--on-duplicate", "error"}}, kPolicy, {"already exists", "nothing"});
  std::string text = SmallShop::Config();
  text += "    on_duplicate: error\n    on_invalid: skip\n";
  shop_.WriteConfig(text);
  ExpectRefused({{"sync"}}, kPolicy, {"already exists"});
}

TEST_F(BadInputTest, UnknownPipeline) {
  ExpectRefused({{"sync", "nosuchpipeline"},
                 {"plan", "nosuchpipeline"},
                 {"check", "nosuchpipeline"},
                 {"runs", "nosuchpipeline"}},
                kBadInputUsage, {"nosuchpipeline"});
}

TEST_F(BadInputTest, UnknownEntity) {
  ExpectRefused({{"sync", "--entity", "nosuchentity"},
                 {"plan", "--entity", "item", "--entity", "nosuchentity"},
                 {"links", "find", "--entity", "nosuchentity", "--source-id", "1"},
                 {"links", "failed", "--entity", "nosuchentity"}},
                kBadInputUsage, {"nosuchentity"});
}

TEST_F(BadInputTest, UnknownFlagOrBadFlagValue) {
  ExpectRefused({{"sync", "--bogus"}, {"--bogus", "check"}, {"plan", "--dry-run"}}, kBadInputUsage,
                {});
  ExpectRefused({{"sync", "--on-duplicate", "maybe"}}, kBadInputUsage, {"--on-duplicate", "maybe"});
  ExpectRefused({{"sync", "--on-invalid", "ignore"}}, kBadInputUsage, {"--on-invalid", "ignore"});
  ExpectRefused({{"sync", "--format", "csv"}, {"plan", "--format", "xml"}}, kBadInputUsage,
                {"--format"});
  ExpectRefused({{"sync", "--batch-size", "many"}, {"runs", "--limit", "x"}}, kBadInputUsage, {});
  ExpectRefused({{"links", "find", "--entity", "item"}}, kBadInputUsage, {"--source-id"});
  ExpectRefused({{"frobnicate"}, {}}, kBadInputUsage, {});
}

// BUG: a negative --batch-size (or --limit) is accepted: CLI11 wraps "-1" into a huge size_t, so
// the run reads the whole table as one batch. Expected exit 2.
TEST_F(BadInputTest, NegativeBatchSizeIsAUsageError) {
  ExpectRefused({{"sync", "--batch-size", "-1"}, {"sync", "--batch-size=-5"}}, kBadInputUsage,
                {"--batch-size"});
  ExpectRefused({{"plan", "--limit", "-1"}, {"runs", "--limit", "-3"}}, kBadInputUsage,
                {"--limit"});
}

// BUG: `runs` and `links` accept any --format: `runs --format xml` prints the table and exits 0
// (sync and plan refuse an unknown format with exit 2).
TEST_F(BadInputTest, UnknownFormatOfRunsAndLinksIsAUsageError) {
  ExpectRefused({{"runs", "--format", "xml"},
                 {"links", "find", "--entity", "item", "--source-id", "1", "--format", "csv"},
                 {"links", "failed", "--entity", "item", "--format", "yaml"}},
                kBadInputUsage, {"--format"});
}

// BUG: TETHER_CONFIG overrides an explicit `-c tether.yaml`, because the CLI treats the value
// "tether.yaml" as "no -c given". `TETHER_CONFIG=/elsewhere.yaml tether -c tether.yaml check`
// reads /elsewhere.yaml (exit 3, "configuration file not found").
TEST_F(BadInputTest, ExplicitConfigFlagWinsOverEnvironment) {
  CommandResult r = ::tether::testing::RunTether({"-c", "tether.yaml", "check"}, shop_.dir(),
                                                 {"TETHER_CONFIG=/no/such/elsewhere.yaml"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  // Without -c, the environment variable is used.
  CommandResult env =
      ::tether::testing::RunTether({"check"}, std::filesystem::temp_directory_path().string(),
                                   {"TETHER_CONFIG=" + shop_.config()});
  EXPECT_EQ(env.exit_code, 0) << Show(env);
}

}  // namespace
}  // namespace tether::e2e
