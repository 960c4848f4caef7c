#include "cli/diff_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "compare/diff.h"

namespace tether::cli {
namespace {

std::string KindLabel(DiffKind k) {
  std::string s(DiffKindName(k));
  for (char& c : s) {
    if (c == '_') c = ' ';
  }
  return s;
}

nlohmann::json DifferenceJson(const Difference& d) {
  nlohmann::json j = {{"entity", d.entity},
                      {"kind", std::string(DiffKindName(d.kind))},
                      {"source_id", d.source_id},
                      {"target_id", d.target_id}};
  if (!d.reason.empty()) j["reason"] = d.reason;
  if (d.kept) j["kept"] = true;
  if (!d.fields.empty()) {
    nlohmann::json fields = nlohmann::json::array();
    for (const FieldChange& c : d.fields) {
      nlohmann::json one = {{"column", c.column},
                            {"target", ValueToJson(c.before)},
                            {"source", ValueToJson(c.after)}};
      if (auto delta = ChangeDelta(c)) one["delta"] = *delta;
      fields.push_back(std::move(one));
    }
    j["fields"] = std::move(fields);
  }
  return j;
}

std::vector<std::string> DifferenceCsv(const Difference& d) {
  std::string base = fmt::format("{},{},{},{}", CsvField(d.entity), DiffKindName(d.kind),
                                 CsvField(d.source_id), CsvField(d.target_id));
  std::vector<std::string> lines;
  if (d.fields.empty()) {
    lines.push_back(base + ",,,,," + CsvField(d.reason));
    return lines;
  }
  for (const FieldChange& c : d.fields) {
    lines.push_back(base + "," + CsvField(c.column) + "," + CsvField(ValueText(c.before)) + "," +
                    CsvField(ValueText(c.after)) + "," + ChangeDelta(c).value_or("") + ",");
  }
  return lines;
}

nlohmann::json EntityJson(const EntityDiff& e) {
  return {{"entity", e.entity},
          {"equal", e.equal()},
          {"in_step", e.in_step()},
          {"source_rows", e.source_rows},
          {"unchanged", e.unchanged},
          {"only_in_source", e.only_in_source},
          {"only_in_target", e.only_in_target},
          {"kept", e.kept},
          {"changed", e.changed},
          {"invalid", e.invalid},
          {"method", e.method}};
}

std::string SummaryTable(const DiffReport& report) {
  std::vector<std::vector<std::string>> rows;
  for (const EntityDiff& e : report.entities) {
    std::string only_in_target = Thousands(e.only_in_target);
    if (e.kept > 0) only_in_target += " (" + Thousands(e.kept) + " kept)";
    rows.push_back({e.entity, Thousands(e.unchanged), Thousands(e.only_in_source), only_in_target,
                    Thousands(e.changed), Thousands(e.invalid), e.method});
  }
  return FormatTable({"entity", "unchanged", "only in source", "only in target", "changed",
                      "invalid", "compared by"},
                     rows);
}

// A compare stopped on request (Ctrl-C): what it had found in what it had compared.
std::string StoppedVerdict(const DiffReport& report, double secs) {
  int64_t n = 0;
  for (const EntityDiff& e : report.entities) {
    n += e.only_in_source + e.only_in_target + e.changed + e.invalid;
  }
  return fmt::format(
      "stopped after {:.2f} s: {} difference{} in what was compared; the rest was "
      "not compared",
      secs, Thousands(n), n == 1 ? "" : "s");
}

std::string Verdict(const DiffReport& report, double secs) {
  int64_t n = 0, kept = 0;
  size_t entities = 0;
  for (const EntityDiff& e : report.entities) {
    int64_t d = e.only_in_source + e.only_in_target + e.changed + e.invalid;
    n += d;
    kept += e.kept;
    entities += d > 0;
  }
  if (n == 0) return fmt::format("equal: source and target match — {:.2f} s", secs);
  // Target rows the entities' delete policies keep (delete: ignore, or rows tether never
  // linked) differ on purpose: a sync leaves them.
  const std::string rows_kept =
      fmt::format("{} target row{} without a source record kept by policy", Thousands(kept),
                  kept == 1 ? "" : "s");
  if (kept == n) return fmt::format("in step: {} — {:.2f} s", rows_kept, secs);
  return fmt::format("{} difference{} in {} entit{}{} — {:.2f} s", Thousands(n), n == 1 ? "" : "s",
                     entities, entities == 1 ? "y" : "ies", kept > 0 ? " (" + rows_kept + ")" : "",
                     secs);
}

// What diff and verify show while they compare: the progress line on a terminal, and the
// counts so far, for a compare stopped on request.
class ProgressWatcher : public DiffObserver {
 public:
  explicit ProgressWatcher(const Globals& g) : g_(g), progress_(!g.quiet) {}

  void OnEntityTotal(const std::string& entity, int64_t total) override {
    progress_.Total(entity, total);
  }
  void OnProgress(const EntityDiff& so_far) override {
    if (!seen_.count(so_far.entity)) order_.push_back(so_far.entity);
    seen_[so_far.entity] = so_far;
    progress_.Rows(so_far.entity, so_far.source_rows);
  }
  void OnNotice(const std::string& text) override {
    if (g_.verbose == 0) return;
    progress_.Clear();
    std::fprintf(stderr, "%s\n", text.c_str());
  }

  // The entities compared so far, with their counts.
  DiffReport SoFar(const std::string& pipeline) const {
    DiffReport r;
    r.pipeline = pipeline;
    for (const std::string& e : order_) {
      r.entities.push_back(seen_.at(e));
      r.entities.back().method = "stopped";
    }
    return r;
  }

 protected:
  const Globals& g_;
  ProgressLine progress_;

 private:
  std::vector<std::string> order_;
  std::map<std::string, EntityDiff> seen_;
};

// Writes each difference as it comes, in the chosen format, to stdout or --output.
class DiffPrinter final : public ProgressWatcher {
 public:
  DiffPrinter(const Globals& g, const DiffFlags& f, FILE* out)
      : ProgressWatcher(g), f_(f), out_(out) {
    if (f_.format == "json") {
      std::fprintf(out_, "{\"differences\":[");
    } else if (f_.format == "csv") {
      std::fprintf(out_,
                   "entity,kind,source_id,target_id,column,target_value,source_value,delta,"
                   "reason\n");
    }
  }

  void OnDifference(const Difference& d) override {
    progress_.Clear();
    if (f_.format == "json") {
      std::fprintf(out_, "%s%s", first_ ? "\n" : ",\n", JsonText(DifferenceJson(d)).c_str());
      first_ = false;
    } else if (f_.format == "csv") {
      for (const std::string& line : DifferenceCsv(d)) std::fprintf(out_, "%s\n", line.c_str());
    } else {
      size_t& shown = shown_[d.entity];
      if (f_.limit != 0 && shown >= f_.limit) {
        ++hidden_[d.entity];
        return;
      }
      ++shown;
      std::string ids = d.source_id.empty() ? d.target_id : d.source_id;
      if (!d.source_id.empty() && !d.target_id.empty() && d.target_id != d.source_id) {
        ids += " → " + d.target_id;
      }
      std::string what = d.reason.empty() ? "" : "(" + d.reason + ")";
      for (const FieldChange& c : d.fields) {
        what += (what.empty() ? "" : "; ") + FormatChange(c);
      }
      std::fprintf(out_, "  %-15s %s %s  %s\n", KindLabel(d.kind).c_str(), d.entity.c_str(),
                   ids.c_str(), what.c_str());
    }
  }

  // `stopped`: the compare was stopped on request, and `report` holds what it had compared.
  void Finish(const DiffReport& report, double secs, bool stopped = false) {
    progress_.Clear();
    if (f_.format == "json") {
      nlohmann::json entities = nlohmann::json::array();
      for (const EntityDiff& e : report.entities) entities.push_back(EntityJson(e));
      std::fprintf(out_,
                   "%s],\"pipeline\":%s,\"equal\":%s,\"in_step\":%s,%s\"seconds\":%.3f,"
                   "\"entities\":%s}\n",
                   first_ ? "" : "\n", JsonText(nlohmann::json(report.pipeline)).c_str(),
                   report.equal() && !stopped ? "true" : "false",
                   report.in_step() && !stopped ? "true" : "false",
                   stopped ? "\"stopped\":true," : "", secs, JsonText(entities).c_str());
      return;
    }
    if (f_.format == "csv") return;
    for (const auto& [entity, n] : hidden_) {
      std::fprintf(out_, "  ... %s more in %s (--limit 0 lists all; --format csv or json)\n",
                   Thousands(static_cast<int64_t>(n)).c_str(), entity.c_str());
    }
    std::fprintf(out_, "%s%s\n%s\n", shown_.empty() ? "" : "\n", SummaryTable(report).c_str(),
                 (stopped ? StoppedVerdict(report, secs) : Verdict(report, secs)).c_str());
  }

 private:
  const DiffFlags& f_;
  FILE* out_;
  bool first_ = true;
  std::map<std::string, size_t> shown_, hidden_;
};

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// verify lists differences only with -v, and then only a few.
class VerifyPrinter final : public ProgressWatcher {
 public:
  explicit VerifyPrinter(const Globals& g) : ProgressWatcher(g) {}
  void OnDifference(const Difference& d) override {
    if (g_.verbose == 0 || shown_++ >= 20) return;
    progress_.Clear();
    std::string what = d.reason;
    for (const FieldChange& c : d.fields) what += (what.empty() ? "" : "; ") + FormatChange(c);
    std::printf("  %-15s %s %s  %s\n", KindLabel(d.kind).c_str(), d.entity.c_str(),
                (d.source_id.empty() ? d.target_id : d.source_id).c_str(), what.c_str());
  }

 private:
  int shown_ = 0;
};

}  // namespace

int DiffCommand(const Globals& g, const DiffFlags& f) {
  if (f.format != "table" && f.format != "json" && f.format != "csv") {
    Error(Status::InvalidArgument("--format " + f.format + ": expected table|json|csv"));
    return kExitUsage;
  }
  Config config;
  std::string pipeline;
  if (int code = LoadPipeline(g, f.pipeline, &config, &pipeline); code != kExitOk) return code;
  FILE* out = stdout;
  if (!f.output.empty()) {
    out = std::fopen(f.output.c_str(), "w");
    if (!out) {
      Error(Status::Io(fmt::format("--output {}: {}", f.output, std::strerror(errno))));
      return kExitUsage;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  DiffPrinter printer(g, f, out);
  DiffRequest req;
  req.pipeline = pipeline;
  req.entities = f.entities;
  req.checksums = !f.no_checksums;
  req.cancel = StopOnSignals();
  req.count_rows = !g.quiet && isatty(2);
  Result<DiffReport> report = RunDiff(config, req, &printer);
  if (report.ok()) {
    printer.Finish(*report, Since(start));
  } else if (report.status().code() == StatusCode::kCancelled) {
    printer.Finish(printer.SoFar(pipeline), Since(start), /*stopped=*/true);
  }
  int code = report.ok() ? kExitOk : ExitCodeFor(report.status());
  if (out != stdout && std::fclose(out) != 0 && code == kExitOk) {
    Error(Status::Io(fmt::format("--output {}: {}", f.output, std::strerror(errno))));
    code = kExitInternal;
  }
  if (!report.ok()) Error(report.status());
  return code;
}

int Verify(const Globals& g, const Config& config, const std::string& pipeline,
           const std::vector<std::string>& entities, bool checksums) {
  const auto start = std::chrono::steady_clock::now();
  VerifyPrinter printer(g);
  DiffRequest req;
  req.pipeline = pipeline;
  req.entities = entities;
  req.checksums = checksums;
  req.cancel = StopOnSignals();
  req.count_rows = !g.quiet && isatty(2);
  Result<DiffReport> report = RunDiff(config, req, &printer);
  if (!report.ok()) {
    if (report.status().code() == StatusCode::kCancelled) {
      DiffReport so_far = printer.SoFar(pipeline);
      std::printf("\nverify:\n%s%s\n", SummaryTable(so_far).c_str(),
                  StoppedVerdict(so_far, Since(start)).c_str());
    }
    Error(report.status().WithContext("verify"));
    return ExitCodeFor(report.status());
  }
  // Target rows a sync keeps by policy are reported, not failed: verify proves that a sync has
  // nothing left to do.
  if (!g.quiet || !report->in_step()) {
    std::printf("\nverify:\n%s%s\n", SummaryTable(*report).c_str(),
                Verdict(*report, Since(start)).c_str());
  }
  return report->in_step() ? kExitOk : kExitDiffers;
}

}  // namespace tether::cli
