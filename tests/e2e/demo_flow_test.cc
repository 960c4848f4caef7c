// The demo shop end to end, the way a new user meets tether: demo init, check, plan, sync, sync
// again, then the run history and the link registry; and the plan's machine-readable formats.
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "e2e/e2e_util.h"

namespace tether::e2e {
namespace {

constexpr char kPipeline[] = "live-to-staging";

// A JSON value that holds a number, a decimal as text, or an exact decimal {"$decimal":"1.50"}.
double Number(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_object() && v.contains("$decimal")) return Number(v["$decimal"]);
  if (v.is_string()) return std::strtod(v.get<std::string>().c_str(), nullptr);
  ADD_FAILURE() << "not a number: " << v.dump();
  return 0;
}

std::set<std::pair<std::string, std::string>> Problems(const nlohmann::json& records) {
  std::set<std::pair<std::string, std::string>> out;
  for (const nlohmann::json& r : records) {
    out.insert({r.value("entity", ""), r.value("source_id", "")});
  }
  return out;
}

TEST(DemoFlowTest, InitCheckPlanSyncResyncRunsAndLinks) {
  TempDir tmp;
  const std::string dir = tmp.File("shop");
  ASSERT_NO_FATAL_FAILURE(MakeDemo(dir));
  const std::string staging = dir + "/staging.db";
  const std::string live = dir + "/live.db";

  CommandResult check = Tether({"check"}, dir);
  ASSERT_EQ(check.exit_code, 0) << Show(check);
  EXPECT_TRUE(Contains(check.out, kPipeline)) << Show(check);

  // plan: writes nothing at all, not even tether's own tables.
  const std::string staging_before = ReadFile(staging);
  const std::string live_before = ReadFile(live);
  CommandResult plan = Tether({"plan", "--format", "json"}, dir);
  ASSERT_EQ(plan.exit_code, 0) << Show(plan);
  EXPECT_TRUE(ReadFile(staging) == staging_before) << "plan changed staging.db";
  EXPECT_TRUE(ReadFile(live) == live_before) << "plan changed live.db";
  nlohmann::json planned = ParseJson(plan.out);
  ASSERT_TRUE(planned.contains("summary")) << plan.out.substr(0, 500);

  // sync: the counts it reports are the ones the plan announced.
  CommandResult sync = Tether({"sync", "--format", "json"}, dir);
  ASSERT_EQ(sync.exit_code, 0) << Show(sync);
  nlohmann::json synced = ParseJson(sync.out);
  ASSERT_TRUE(synced.is_object());
  EXPECT_EQ(synced["total"], planned["summary"]["total"]);
  EXPECT_EQ(synced["entities"], planned["summary"]["entities"]);
  EXPECT_EQ(synced["entities"].size(), 17u);
  const nlohmann::json& total = synced["total"];
  // The demo's documented shape: ~7,500 inserts, ~230 updates, 4 invalid records skipped.
  EXPECT_GT(total["inserted"].get<int64_t>(), 7000);
  EXPECT_GT(total["updated"].get<int64_t>(), 150);
  EXPECT_EQ(total["skipped"], 4);
  EXPECT_EQ(total["failed"], 0);
  EXPECT_EQ(synced["status"], "succeeded");
  ASSERT_TRUE(synced["problems"].is_array());
  ASSERT_EQ(synced["problems"].size(), 4u) << synced["problems"].dump(2);
  for (const nlohmann::json& p : synced["problems"]) {
    EXPECT_EQ(p["action"], "skip") << p.dump();
    EXPECT_FALSE(p.value("reason", "").empty()) << p.dump();
  }
  const auto skipped = Problems(synced["problems"]);
  const std::string first_run = synced["run_id"];
  ASSERT_FALSE(first_run.empty());
  EXPECT_EQ(Count(staging, "SELECT count(*) FROM tether_runs"), 1);

  // A second sync finds nothing to do.
  CommandResult again = Tether({"sync"}, dir);
  ASSERT_EQ(again.exit_code, 0) << Show(again);
  EXPECT_TRUE(Contains(again.out, "nothing to do")) << Show(again);
  // The counts table: a header line naming the columns, then one line per entity and "total".
  std::map<std::string, std::string> totals;
  std::vector<std::string> header;
  for (const std::string& line : Lines(again.out)) {
    std::vector<std::string> words = Words(line);
    if (!words.empty() && words[0] == "entity") header = words;
    if (!words.empty() && words[0] == "total" && words.size() == header.size()) {
      for (size_t i = 0; i < words.size(); ++i) totals[header[i]] = words[i];
    }
  }
  ASSERT_FALSE(totals.empty()) << Show(again);
  EXPECT_EQ(totals["inserted"], "0") << again.out;
  EXPECT_EQ(totals["updated"], "0") << again.out;
  EXPECT_EQ(totals["skipped"], "4") << again.out;

  // runs: newest first, with the first run's counts.
  CommandResult runs = Tether({"runs", "--format", "json"}, dir);
  ASSERT_EQ(runs.exit_code, 0) << Show(runs);
  nlohmann::json history = ParseJson(runs.out);
  ASSERT_TRUE(history.is_array());
  ASSERT_EQ(history.size(), 2u) << history.dump(2);
  EXPECT_EQ(history.back()["run_id"], first_run);
  EXPECT_EQ(history.back()["counts"]["inserted"], total["inserted"]);
  EXPECT_EQ(history.front()["counts"]["inserted"], 0);
  for (const nlohmann::json& r : history) EXPECT_EQ(r["status"], "succeeded") << r.dump();
  CommandResult runs_table = Tether({"runs"}, dir);
  ASSERT_EQ(runs_table.exit_code, 0) << Show(runs_table);
  EXPECT_EQ(Lines(runs_table.out).size(), 3u) << "header and 2 runs:\n" << runs_table.out;
  EXPECT_TRUE(Contains(runs_table.out, first_run)) << runs_table.out;

  // runs --show: the first run's four skipped records.
  CommandResult show = Tether({"runs", "--show", first_run, "--format", "json"}, dir);
  ASSERT_EQ(show.exit_code, 0) << Show(show);
  nlohmann::json shown = ParseJson(show.out);
  ASSERT_TRUE(shown["records"].is_array());
  EXPECT_EQ(shown["records"].size(), 4u) << shown.dump(2);
  EXPECT_EQ(Problems(shown["records"]), skipped);
  for (const nlohmann::json& r : shown["records"]) {
    EXPECT_EQ(r["action"], "skip") << r.dump();
    EXPECT_FALSE(r.value("error", "").empty()) << r.dump();
  }
  CommandResult show_table = Tether({"runs", "--show", first_run}, dir);
  ASSERT_EQ(show_table.exit_code, 0) << Show(show_table);
  for (const auto& [entity, id] : skipped) {
    EXPECT_TRUE(Contains(show_table.out, entity)) << entity << "\n" << show_table.out;
    EXPECT_TRUE(Contains(show_table.out, id)) << id << "\n" << show_table.out;
  }

  // links find: a live product and its staging copy, paired by sku.
  std::vector<std::string> pair = SqliteRows(live, "SELECT id, sku FROM product WHERE id = 1");
  ASSERT_EQ(pair.size(), 1u);
  const std::string sku = pair[0].substr(pair[0].find('|') + 1);
  std::vector<std::string> target =
      SqliteRows(staging, "SELECT id FROM product WHERE sku = '" + sku + "'");
  ASSERT_EQ(target.size(), 1u) << sku;
  CommandResult by_source =
      Tether({"links", "find", "--entity", "product", "--source-id", "1", "--format", "json"}, dir);
  ASSERT_EQ(by_source.exit_code, 0) << Show(by_source);
  nlohmann::json link = ParseJson(by_source.out);
  ASSERT_EQ(link.size(), 1u) << link.dump(2);
  EXPECT_EQ(link[0]["source_id"], "1");
  EXPECT_EQ(link[0]["target_id"], target[0]);
  EXPECT_EQ(link[0]["status"], "synced");
  EXPECT_EQ(link[0]["pipeline"], kPipeline);
  CommandResult by_target = Tether(
      {"links", "find", "--entity", "product", "--target-id", target[0], "--format", "json"}, dir);
  ASSERT_EQ(by_target.exit_code, 0) << Show(by_target);
  nlohmann::json back = ParseJson(by_target.out);
  ASSERT_EQ(back.size(), 1u) << back.dump(2);
  EXPECT_EQ(back[0]["source_id"], "1");
  EXPECT_EQ(back[0]["target_id"], target[0]);
  CommandResult by_source_table =
      Tether({"links", "find", "--entity", "product", "--source-id", "1"}, dir);
  ASSERT_EQ(by_source_table.exit_code, 0) << Show(by_source_table);
  EXPECT_TRUE(Contains(by_source_table.out, target[0])) << Show(by_source_table);

  // links failed: the two invalid products, attempted once per sync.
  std::set<std::string> bad_products;
  for (const auto& [entity, id] : skipped) {
    if (entity == "product") bad_products.insert(id);
  }
  ASSERT_EQ(bad_products.size(), 2u);
  CommandResult failed =
      Tether({"links", "failed", "--entity", "product", "--format", "json"}, dir);
  ASSERT_EQ(failed.exit_code, 0) << Show(failed);
  nlohmann::json failures = ParseJson(failed.out);
  ASSERT_EQ(failures.size(), 2u) << failures.dump(2);
  std::set<std::string> failed_ids;
  for (const nlohmann::json& f : failures) {
    failed_ids.insert(f["source_id"].get<std::string>());
    EXPECT_EQ(f["attempts"], 2) << "one attempt per sync: " << f.dump();
    EXPECT_FALSE(f.value("last_error", "").empty()) << f.dump();
    EXPECT_TRUE(f["target_id"].is_null()) << f.dump();
  }
  EXPECT_EQ(failed_ids, bad_products);
  CommandResult failed_table = Tether({"links", "failed", "--entity", "product"}, dir);
  ASSERT_EQ(failed_table.exit_code, 0) << Show(failed_table);
  for (const std::string& id : bad_products) {
    EXPECT_TRUE(Contains(failed_table.out, id)) << Show(failed_table);
  }
  EXPECT_EQ(Lines(failed_table.out).size(), 3u) << failed_table.out;
}

TEST(DemoFlowTest, PlanJsonHasRecordsAndASummaryThatAgree) {
  TempDir tmp;
  const std::string dir = tmp.File("shop");
  ASSERT_NO_FATAL_FAILURE(MakeDemo(dir));
  CommandResult plan = Tether({"plan", "--format", "json"}, dir);
  ASSERT_EQ(plan.exit_code, 0) << Show(plan);
  nlohmann::json j = ParseJson(plan.out);
  ASSERT_TRUE(j.is_object());
  ASSERT_TRUE(j["records"].is_array());
  ASSERT_TRUE(j["summary"].is_object());
  EXPECT_EQ(j["summary"]["dry_run"], true);
  std::map<std::string, int64_t> actions;
  bool saw_price_change = false;
  for (const nlohmann::json& r : j["records"]) {
    ASSERT_TRUE(r.contains("entity") && r.contains("source_id") && r.contains("action"))
        << r.dump();
    actions[r["action"].get<std::string>()]++;
    if (r["action"] == "update") {
      ASSERT_TRUE(r["changes"].is_array() && !r["changes"].empty()) << r.dump();
    }
    if (r["entity"] == "product" && r.contains("changes")) {
      for (const nlohmann::json& c : r["changes"]) {
        if (c["column"] != "price") continue;
        ASSERT_TRUE(c.contains("delta")) << c.dump();
        const double before = Number(c["before"]);
        const double after = Number(c["after"]);
        EXPECT_NEAR(c["delta"].get<double>(), after - before, 1e-6) << c.dump();
        saw_price_change = true;
      }
    }
  }
  EXPECT_TRUE(saw_price_change);
  const nlohmann::json& total = j["summary"]["total"];
  EXPECT_EQ(actions["insert"], total["inserted"].get<int64_t>());
  EXPECT_EQ(actions["update"], total["updated"].get<int64_t>());
  EXPECT_EQ(actions["link"], total["linked"].get<int64_t>());
  EXPECT_EQ(actions["skip"], total["skipped"].get<int64_t>());
  EXPECT_EQ(actions["fail"], total["failed"].get<int64_t>());
  EXPECT_EQ(actions.count("unchanged"), 0u) << "unchanged records are not listed";
  int64_t read = 0;
  for (const nlohmann::json& e : j["summary"]["entities"]) read += e["read"].get<int64_t>();
  EXPECT_EQ(read, total["read"].get<int64_t>());
}

// Fields of one CSV plan line.
struct CsvChange {
  std::string entity, source_id, action, column, before, after, delta;
};

std::vector<CsvChange> ReadPlanCsv(const std::string& out) {
  std::vector<std::string> lines = Lines(out);
  EXPECT_FALSE(lines.empty());
  if (lines.empty()) return {};
  EXPECT_EQ(lines[0], "entity,source_id,target_id,action,column,before,after,delta,reason");
  std::vector<CsvChange> rows;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f = SplitCsvLine(lines[i]);
    EXPECT_EQ(f.size(), 9u) << "line " << i + 1 << ": " << lines[i];
    if (f.size() != 9) continue;
    rows.push_back({f[0], f[1], f[3], f[4], f[5], f[6], f[7]});
  }
  return rows;
}

TEST(DemoFlowTest, PlanCsvHasOneLinePerFieldChangeWithNumericDeltas) {
  TempDir tmp;
  const std::string dir = tmp.File("shop");
  ASSERT_NO_FATAL_FAILURE(MakeDemo(dir));
  CommandResult json = Tether({"plan", "--format", "json"}, dir);
  ASSERT_EQ(json.exit_code, 0) << Show(json);
  CommandResult csv = Tether({"plan", "--format", "csv"}, dir);
  ASSERT_EQ(csv.exit_code, 0) << Show(csv);
  EXPECT_TRUE(csv.err.empty()) << csv.err;

  nlohmann::json plan = ParseJson(json.out);
  size_t expected_lines = 0;
  size_t expected_changes = 0;
  for (const nlohmann::json& r : plan["records"]) {
    size_t n = r.contains("changes") ? r["changes"].size() : 0;
    expected_changes += n;
    expected_lines += std::max<size_t>(1, n);
  }
  std::vector<CsvChange> rows = ReadPlanCsv(csv.out);
  EXPECT_EQ(rows.size(), expected_lines);
  size_t changes = 0;
  size_t price_changes = 0;
  for (const CsvChange& c : rows) {
    if (c.column.empty()) continue;
    ++changes;
    if (c.entity != "product" || c.column != "price") continue;
    ++price_changes;
    ASSERT_FALSE(c.delta.empty()) << c.source_id;
    char* end = nullptr;
    double delta = std::strtod(c.delta.c_str(), &end);
    EXPECT_EQ(*end, '\0') << "delta is not a number: " << c.delta;
    EXPECT_NEAR(
        delta, std::strtod(c.after.c_str(), nullptr) - std::strtod(c.before.c_str(), nullptr), 1e-6)
        << c.source_id << ": " << c.before << " -> " << c.after;
  }
  EXPECT_EQ(changes, expected_changes);
  EXPECT_GT(price_changes, 0u);
}

// BUG: a DECIMAL(12,2) price change 40.99 -> 44 is shown with delta 3.009999999999998 (CSV and
// table; JSON carries the same double) instead of 3.01. The difference is computed in binary
// floating point and printed at full precision.
TEST(DemoFlowTest, PlanCsvMoneyDeltaHasNoFloatingPointNoise) {
  TempDir tmp;
  const std::string dir = tmp.File("shop");
  ASSERT_NO_FATAL_FAILURE(MakeDemo(dir));
  CommandResult csv = Tether({"plan", "--format", "csv", "--entity", "product"}, dir);
  ASSERT_EQ(csv.exit_code, 0) << Show(csv);
  size_t checked = 0;
  for (const CsvChange& c : ReadPlanCsv(csv.out)) {
    if (c.column != "price") continue;
    ++checked;
    size_t dot = c.delta.find('.');
    EXPECT_TRUE(dot == std::string::npos || c.delta.size() - dot - 1 <= 2)
        << "product " << c.source_id << ": " << c.before << " -> " << c.after << " has delta "
        << c.delta;
  }
  EXPECT_GT(checked, 0u);
  CommandResult table = Tether({"plan", "--entity", "product", "--limit", "0"}, dir);
  ASSERT_EQ(table.exit_code, 0) << Show(table);
  EXPECT_FALSE(Contains(table.out, "99999999")) << table.out.substr(0, 3000);
}

}  // namespace
}  // namespace tether::e2e
