#include "cli/runs_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "cli/cli.h"
#include "cli/output.h"
#include "state/state_store.h"

namespace tether::cli {
namespace {

// What kind of run it was, from its options: full, changes (--changes, --watch) or keys
// (--keys); runs recorded before the options said so are full or changes alike.
std::string RunMode(const RunInfo& r) {
  nlohmann::json options = nlohmann::json::parse(r.options, nullptr, false);
  if (!options.is_object() || !options.contains("mode") || !options["mode"].is_string()) return "";
  return options["mode"].get<std::string>();
}

}  // namespace

int RunsCommand(const Globals& g, const std::string& asked, const std::string& show, size_t limit,
                const std::string& format) {
  int code = kExitOk;
  std::optional<StateAccess> access = OpenState(g, asked, &code);
  if (!access) return code;
  const std::string* pipeline = &access->pipeline;
  StateStore state(access->target.get());
  if (!show.empty()) {
    auto run = state.GetRun(show);
    auto results = state.ListRecordResults(show, limit);
    if (!run.ok() || !results.ok()) {
      Error(run.ok() ? results.status() : run.status());
      return ExitCodeFor(run.ok() ? results.status() : run.status());
    }
    if (!*run) {
      Error(Status::NotFound(fmt::format("no run '{}' for pipeline '{}'", show, *pipeline)));
      return kExitUsage;
    }
    if (format == "json") {
      nlohmann::json j = {{"run_id", (*run)->run_id},
                          {"status", (*run)->status},
                          {"mode", RunMode(**run)},
                          {"counts", RunCountsJson((*run)->counts)},
                          {"message", (*run)->message}};
      nlohmann::json rec = nlohmann::json::array();
      for (const RecordResult& r : *results) {
        rec.push_back({{"entity", r.entity},
                       {"source_id", r.source_id},
                       {"target_id", r.target_id},
                       {"action", r.action},
                       {"error", r.error}});
      }
      j["records"] = rec;
      std::printf("%s\n", JsonText(j, 2).c_str());
      return kExitOk;
    }
    const RunCounts& c = (*run)->counts;
    std::printf(
        "run %s  %s  %s  started %s  finished %s\nread %s, inserted %s, updated %s, unchanged %s, "
        "linked %s, deleted %s, skipped %s, failed %s\n",
        (*run)->run_id.c_str(), (*run)->status.c_str(), RunMode(**run).c_str(),
        (*run)->started_at.c_str(), (*run)->finished_at.c_str(), Thousands(c.read).c_str(),
        Thousands(c.inserted).c_str(), Thousands(c.updated).c_str(), Thousands(c.unchanged).c_str(),
        Thousands(c.linked).c_str(), Thousands(c.deleted).c_str(), Thousands(c.skipped).c_str(),
        Thousands(c.failed).c_str());
    if (!(*run)->message.empty()) std::printf("%s\n", (*run)->message.c_str());
    std::vector<std::vector<std::string>> rows;
    for (const RecordResult& r : *results) {
      rows.push_back({r.entity, r.source_id, r.target_id, r.action, r.error});
    }
    std::printf("%s",
                FormatTable({"entity", "source_id", "target_id", "action", "error"}, rows).c_str());
    return kExitOk;
  }
  auto runs = state.ListRuns(*pipeline, limit);
  if (!runs.ok()) {
    Error(runs.status());
    return ExitCodeFor(runs.status());
  }
  if (format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const RunInfo& r : *runs) {
      nlohmann::json options = nlohmann::json::parse(r.options, nullptr, false);
      arr.push_back({{"run_id", r.run_id},
                     {"pipeline", r.pipeline},
                     {"status", r.status},
                     {"mode", RunMode(r)},
                     {"started_at", r.started_at},
                     {"finished_at", r.finished_at},
                     {"counts", RunCountsJson(r.counts)},
                     {"options", options.is_discarded() ? nlohmann::json() : options},
                     {"message", r.message}});
    }
    std::printf("%s\n", JsonText(arr, 2).c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const RunInfo& r : *runs) {
    const RunCounts& c = r.counts;
    rows.push_back({r.run_id, r.status, RunMode(r), r.started_at, Thousands(c.read),
                    Thousands(c.inserted), Thousands(c.updated), Thousands(c.unchanged),
                    Thousands(c.linked), Thousands(c.deleted), Thousands(c.skipped),
                    Thousands(c.failed)});
  }
  std::printf("%s", FormatTable({"run", "status", "mode", "started", "read", "inserted", "updated",
                                 "unchanged", "linked", "deleted", "skipped", "failed"},
                                rows)
                        .c_str());
  return kExitOk;
}

}  // namespace tether::cli
