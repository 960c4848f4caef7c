// tether diff / verify / sync --keys / sync --verify as a user runs them: the review flow on the
// demo shop (diff to CSV, keep some lines, sync those, diff again), the exit codes of verify, and
// bad input refused with the file, line or key at fault and nothing written.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"

namespace tether::e2e {
namespace {

class DiffCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.File("shop");
    ASSERT_NO_FATAL_FAILURE(MakeDemo(dir_));
    staging_ = dir_ + "/staging.db";
  }
  CommandResult Run(const std::vector<std::string>& args) const { return Tether(args, dir_); }
  std::map<std::string, std::vector<std::string>> Staging() const {
    std::map<std::string, std::vector<std::string>> out;
    for (const std::string& t : DataTables(staging_)) out[t] = Dump(staging_, t);
    return out;
  }
  // (kind, source id) of each record a diff CSV lists for `entity`.
  static std::set<std::pair<std::string, std::string>> Listed(const std::string& csv,
                                                              const std::string& entity) {
    std::set<std::pair<std::string, std::string>> out;
    for (const std::string& line : Lines(csv)) {
      std::vector<std::string> f = SplitCsvLine(line);
      if (f.size() > 3 && f[0] == entity) out.insert({f[1], f[2].empty() ? f[3] : f[2]});
    }
    return out;
  }

  TempDir tmp_;
  std::string dir_, staging_;
};

TEST_F(DiffCliTest, PlanJsonShowsOneFormPerColumnAndNoDeltaForIds) {
  // The demo's staging is SQLite like live, whose NUMERIC columns return 140.99 as a double and
  // 154.99 as written: a plan shows both as {"$decimal": ...}. References are ids: no delta.
  CommandResult plan = Run({"plan", "--format", "json"});
  ASSERT_EQ(plan.exit_code, 0) << Show(plan);
  nlohmann::json j = ParseJson(plan.out);
  ASSERT_TRUE(j.contains("records")) << plan.out.substr(0, 2000);
  std::map<std::string, std::set<std::string>> forms;  // entity.column -> JSON forms seen
  size_t decimals = 0, references = 0;
  for (const nlohmann::json& r : j["records"]) {
    if (!r.contains("changes")) continue;
    for (const nlohmann::json& c : r["changes"]) {
      const std::string column =
          r["entity"].get<std::string>() + "." + c["column"].get<std::string>();
      for (const char* side : {"before", "after"}) {
        const nlohmann::json& v = c[side];
        if (v.is_null()) continue;
        const std::string form = v.is_object()   ? v.begin().key()
                                 : v.is_number() ? "number"
                                                 : v.type_name();
        forms[column].insert(form);
        decimals += form == "$decimal";
      }
      if (c["column"].get<std::string>().ends_with("_id") && c["column"] != "increment_id") {
        ++references;
        EXPECT_FALSE(c.contains("delta")) << column << ": " << c.dump();
      }
    }
  }
  for (const auto& [column, seen] : forms) {
    EXPECT_EQ(seen.size(), 1u) << column << " shows " << seen.size() << " forms";
  }
  EXPECT_GT(decimals, 0u);
  EXPECT_GT(references, 0u);
}

TEST_F(DiffCliTest, ReviewPickSyncTheChosenAndDiffAgain) {
  const auto before = Staging();
  CommandResult diff = Run({"diff", "-e", "product", "-f", "csv", "-o", "diff.csv"});
  ASSERT_EQ(diff.exit_code, 0) << Show(diff);
  EXPECT_TRUE(Staging() == before) << "diff wrote to staging";
  const std::string csv = ReadFile(dir_ + "/diff.csv");
  std::vector<std::string> lines = Lines(csv);
  ASSERT_GT(lines.size(), 10u);
  EXPECT_EQ(lines[0],
            "entity,kind,source_id,target_id,column,target_value,source_value,delta,reason");
  // Keep the lines of three changed products and two new ones.
  std::set<std::string> chosen;
  std::string picked = lines[0] + "\n";
  for (const char* kind : {"changed", "only_in_source"}) {
    size_t n = 0;
    for (const std::string& line : lines) {
      std::vector<std::string> f = SplitCsvLine(line);
      if (f.size() < 4 || f[1] != kind) continue;
      if (!chosen.count(f[2]) && n == (std::string(kind) == "changed" ? 3u : 2u)) continue;
      if (chosen.insert(f[2]).second) ++n;
      picked += line + "\n";
    }
  }
  ASSERT_EQ(chosen.size(), 5u);
  WriteFile(dir_ + "/picked.csv", picked);
  CommandResult sync = Run({"sync", "--keys", "picked.csv", "-f", "json"});
  ASSERT_EQ(sync.exit_code, 0) << Show(sync);
  nlohmann::json report = ParseJson(sync.out);
  for (const auto& e : report["entities"]) {
    if (e["entity"] == "product") {
      EXPECT_EQ(e["read"], 5);
      EXPECT_EQ(e["inserted"].get<int>() + e["updated"].get<int>(), 5);
    }
  }

  CommandResult again = Run({"diff", "-e", "product", "-f", "csv"});
  ASSERT_EQ(again.exit_code, 0) << Show(again);
  auto was = Listed(csv, "product"), now = Listed(again.out, "product");
  for (const auto& [kind, id] : was) {
    EXPECT_EQ(now.count({kind, id}), chosen.count(id) ? 0u : 1u) << kind << " " << id;
  }
  EXPECT_EQ(now.size() + 5, was.size());
}

TEST_F(DiffCliTest, JsonAndTableReportTheSameCounts) {
  CommandResult json = Run({"diff", "-f", "json"});
  ASSERT_EQ(json.exit_code, 0) << Show(json);
  nlohmann::json j = ParseJson(json.out);
  EXPECT_EQ(j["equal"], false);
  std::map<std::string, int64_t> changed;
  for (const auto& d : j["differences"]) {
    const std::string kind = d["kind"];
    EXPECT_TRUE(kind == "only_in_source" || kind == "only_in_target" || kind == "changed" ||
                kind == "invalid")
        << kind;
    if (kind == "changed") {
      ++changed[d["entity"]];
      EXPECT_FALSE(d["fields"].empty()) << d.dump();
    }
  }
  for (const auto& e : j["entities"]) EXPECT_EQ(changed[e["entity"]], e["changed"]) << e.dump();

  CommandResult table = Run({"diff", "--limit", "0"});
  ASSERT_EQ(table.exit_code, 0) << Show(table);
  EXPECT_TRUE(Contains(table.out, "only in source")) << Show(table);
  EXPECT_TRUE(Contains(table.out, "(Δ ")) << "numeric deltas\n" << Show(table);
  EXPECT_TRUE(Contains(table.out, "differences in")) << Show(table);
}

// A shop of one identity-keyed table, for verify's exit codes.
TEST(VerifyCliTest, SyncVerifyPassesAndOneChangedByteFailsVerify) {
  TempDir tmp;
  const std::string dir = tmp.File("v");
  std::filesystem::create_directories(dir);
  for (const char* db : {"a.db", "b.db"}) {
    SqliteExec(dir + "/" + db,
               "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC(10,2))");
  }
  SqliteExec(dir + "/a.db", "INSERT INTO item VALUES (1, 'Anvil', 12.5), (2, 'Bolt', 0.1)");
  WriteFile(dir + "/tether.yaml",
            "connections:\n  a: { url: \"sqlite:a.db\" }\n  b: { url: \"sqlite:b.db\" }\n"
            "entities:\n  item: { table: item, keys: identity }\n"
            "pipelines:\n  p: { source: a, target: b, entities: [item] }\n");
  CommandResult before = Tether({"verify"}, dir);
  EXPECT_EQ(before.exit_code, 8) << Show(before);
  CommandResult sync = Tether({"sync", "--verify"}, dir);
  EXPECT_EQ(sync.exit_code, 0) << Show(sync);
  EXPECT_TRUE(Contains(sync.out, "equal")) << Show(sync);
  SqliteExec(dir + "/b.db", "UPDATE item SET name = 'Anvim' WHERE id = 1");
  CommandResult after = Tether({"-v", "verify"}, dir);
  EXPECT_EQ(after.exit_code, 8) << Show(after);
  EXPECT_TRUE(Contains(after.out, "Anvim")) << Show(after);
}

// Target rows a sync keeps by policy — delete: ignore — are reported by verify, and verify
// passes; with delete: propagate the same row is one a sync would delete, and verify fails
// until a sync has deleted it.
TEST(VerifyCliTest, RowsTheDeletePolicyKeepsDoNotFailVerify) {
  TempDir tmp;
  const std::string dir = tmp.File("v");
  std::filesystem::create_directories(dir);
  for (const char* db : {"a.db", "b.db"}) {
    SqliteExec(dir + "/" + db, "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)");
  }
  SqliteExec(dir + "/a.db", "INSERT INTO item VALUES (1, 'Anvil'), (2, 'Bolt')");
  SqliteExec(dir + "/b.db", "INSERT INTO item VALUES (9, 'Own')");
  auto configure = [&](const std::string& policy) {
    WriteFile(dir + "/tether.yaml",
              "connections:\n  a: { url: \"sqlite:a.db\" }\n  b: { url: \"sqlite:b.db\" }\n"
              "entities:\n  item: { table: item, keys: identity, delete: " +
                  policy + " }\npipelines:\n  p: { source: a, target: b, entities: [item] }\n");
  };
  configure("ignore");
  CommandResult sync = Tether({"sync", "--verify"}, dir);
  EXPECT_EQ(sync.exit_code, 0) << Show(sync);
  EXPECT_TRUE(Contains(sync.out, "kept")) << Show(sync);
  CommandResult verify = Tether({"verify", "-v"}, dir);
  EXPECT_EQ(verify.exit_code, 0) << Show(verify);
  CommandResult diff = Tether({"diff", "-f", "json"}, dir);
  ASSERT_EQ(diff.exit_code, 0) << Show(diff);
  nlohmann::json j = ParseJson(diff.out);
  EXPECT_EQ(j["equal"], false);
  EXPECT_EQ(j["in_step"], true);
  ASSERT_EQ(j["differences"].size(), 1u) << diff.out;
  EXPECT_EQ(j["differences"][0]["target_id"], "9");
  EXPECT_EQ(j["differences"][0]["kept"], true);

  configure("propagate");
  CommandResult would_delete = Tether({"verify"}, dir);
  EXPECT_EQ(would_delete.exit_code, 8) << Show(would_delete);
  CommandResult deleted = Tether({"sync", "--verify"}, dir);
  EXPECT_EQ(deleted.exit_code, 0) << Show(deleted);
  EXPECT_EQ(Dump(dir + "/b.db", "item").size(), 2u);
}

TEST_F(DiffCliTest, BadInputIsRefusedNamingWhatIsWrongAndWritesNothing) {
  const auto before = Staging();
  WriteFile(dir_ + "/tabs.txt", "product\t1\nproduct 2\n");
  CommandResult tabs = Run({"sync", "--keys", "tabs.txt"});
  EXPECT_EQ(tabs.exit_code, 2) << Show(tabs);
  EXPECT_TRUE(Contains(tabs.err, "tabs.txt:2")) << Show(tabs);

  WriteFile(dir_ + "/word.txt", "1\nabc\n");
  CommandResult word = Run({"sync", "-e", "product", "--keys", "word.txt"});
  EXPECT_EQ(word.exit_code, 2) << Show(word);
  EXPECT_TRUE(Contains(word.err, "word.txt:2")) << Show(word);

  WriteFile(dir_ + "/unknown.csv",
            "entity,kind,source_id,target_id,column,target_value,source_value,delta,reason\n"
            "widget,changed,1,1,,,,,\n");
  CommandResult unknown = Run({"sync", "--keys", "unknown.csv"});
  EXPECT_EQ(unknown.exit_code, 2) << Show(unknown);
  EXPECT_TRUE(Contains(unknown.err, "unknown.csv:2")) << Show(unknown);

  CommandResult missing = Run({"sync", "--keys", "nope.txt"});
  EXPECT_EQ(missing.exit_code, 2) << Show(missing);
  EXPECT_TRUE(Contains(missing.err, "nope.txt")) << Show(missing);

  CommandResult many = Run({"sync", "--key", "1"});
  EXPECT_EQ(many.exit_code, 2) << Show(many);

  CommandResult out = Run({"diff", "-o", "no/such/dir/d.csv"});
  EXPECT_EQ(out.exit_code, 2) << Show(out);
  EXPECT_TRUE(Contains(out.err, "no/such/dir/d.csv")) << Show(out);

  CommandResult format = Run({"diff", "-f", "xml"});
  EXPECT_EQ(format.exit_code, 2) << Show(format);
  CommandResult dry = Run({"sync", "--verify", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 2) << Show(dry);

  EXPECT_TRUE(Staging() == before) << "a refused command wrote to staging";
}

}  // namespace
}  // namespace tether::e2e
