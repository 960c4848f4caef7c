#include "cli/sync_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "cli/cli.h"
#include "cli/diff_command.h"
#include "cli/keys_file.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/track_command.h"
#include "config/config.h"
#include "connectors/connector.h"
#include "core/temporal.h"
#include "engine/sync.h"
#include "state/state_store.h"
#include "track/prune.h"

namespace tether::cli {
namespace {

template <typename E>
Result<std::optional<E>> ParseEnum(const std::string& flag, const std::string& text,
                                   const std::vector<std::pair<std::string, E>>& options) {
  if (text.empty()) return std::optional<E>();
  std::vector<std::string> names;
  for (const auto& [name, value] : options) {
    if (name == text) return std::optional<E>(value);
    names.push_back(name);
  }
  return Status::InvalidArgument(
      fmt::format("{} {}: expected one of {}", flag, text, fmt::join(names, " | ")));
}

// "tether [-c FILE] runs PIPELINE --show RUN": the command that lists a run's records.
std::string RunsShowCommand(const Globals& g, const std::string& pipeline,
                            const std::string& run_id) {
  std::string c = "tether";
  if (g.config_path != "tether.yaml") c += " -c " + g.config_path;
  return c + " runs " + pipeline + " --show " + run_id;
}

// Prints progress on a terminal, records in the chosen format, notices with -v, and the run's
// counts at the end — or, for a run stopped on request, the counts of what it committed.
class CliObserver : public SyncObserver {
 public:
  CliObserver(const Globals& g, const RunFlags& f, bool plan, ProgressLine* progress)
      : g_(g), f_(f), plan_(plan), progress_(progress) {
    start_ = std::chrono::steady_clock::now();
  }

  // A pass of --watch: the "sync PIPELINE (run ID)" line waits for Finish, which only passes
  // that changed something call, and the counts list only the entities that changed.
  void Watching() { watching_ = true; }

  void OnRunStart(const RunInfo& run) override {
    run_ = run;
    if (f_.format == "table" && !g_.quiet) {
      // A plan writes nothing, its run included: no run id that `runs --show` would not know.
      header_ = run.dry_run ? fmt::format("plan {} (dry run: nothing is written)\n", run.pipeline)
                            : fmt::format("sync {} (run {})\n", run.pipeline, run.run_id);
      if (!watching_) std::printf("%s", header_.c_str());
    }
    if (plan_ && f_.format == "json") std::printf("{\"records\":[");
    if (plan_ && f_.format == "csv") {
      std::printf("entity,source_id,target_id,action,column,before,after,delta,reason\n");
    }
  }

  bool WantsWrittenRecords() const override { return plan_ || g_.verbose > 0; }

  void OnRecord(const RecordPlan& r) override {
    bool problem = r.action == Action::kFail || r.action == Action::kSkip;
    if (problem) problems_.push_back(r);
    if (!plan_) {
      if (g_.verbose > 0 && !problem) PrintDetail(r);
      return;
    }
    progress_->Clear();
    if (f_.format == "json") {
      std::printf("%s%s", first_record_ ? "" : ",\n", JsonText(RecordToJson(r)).c_str());
      first_record_ = false;
    } else if (f_.format == "csv") {
      for (const std::string& line : RecordToCsv(r)) std::printf("%s\n", line.c_str());
    } else if (!g_.quiet) {
      size_t& shown = shown_[r.entity];
      if (f_.limit == 0 || shown < f_.limit) {
        PrintDetail(r);
      } else if (shown == f_.limit) {
        std::printf("  %-9s ... more %s records (raise --limit, or use --format json|csv)\n", "",
                    r.entity.c_str());
      }
      ++shown;
    }
  }

  void OnEntityStart(const std::string& entity) override { Saw(entity); }
  void OnEntityTotal(const std::string& entity, int64_t total) override {
    progress_->Total(entity, total);
  }
  void OnProgress(const std::string& entity, const RunCounts& c) override {
    Saw(entity) = c;
    progress_->Rows(entity, c.read);
  }
  void OnEntityEnd(const std::string& entity, const RunCounts& c) override {
    Saw(entity) = c;
    progress_->Clear();
  }

  void OnNotice(const std::string& text) override {
    if (g_.verbose == 0) return;
    progress_->Clear();
    std::fprintf(stderr, "%s\n", text.c_str());
  }

  void Finish(const SyncReport& report) { Print(report, ""); }

  // A run stopped on request (Ctrl-C): what it had committed, entity by entity.
  void Stopped() {
    if (run_.run_id.empty()) return;  // stopped before it started (waiting for the pipeline)
    SyncReport partial;
    partial.run = run_;
    partial.run.status = "cancelled";
    for (const std::string& name : order_) partial.entities.push_back({name, seen_[name], ""});
    Print(partial,
          plan_ ? "stopped: the plan above is incomplete"
                : fmt::format("stopped: run {} cancelled; what it committed stays, and the next "
                              "sync resumes after it",
                              run_.run_id));
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double Seconds(Clock::time_point since) {
    return std::chrono::duration<double>(Clock::now() - since).count();
  }

  RunCounts& Saw(const std::string& entity) {
    if (!seen_.count(entity)) order_.push_back(entity);
    return seen_[entity];
  }

  // The counts table and a verdict (`verdict` "" : from the counts).
  void Print(const SyncReport& report, const std::string& verdict_given) {
    progress_->Clear();
    if (watching_ && !g_.quiet && f_.format == "table") std::printf("%s", header_.c_str());
    double secs = Seconds(start_);
    if (plan_ && f_.format == "json") {
      nlohmann::json summary = ReportJson(report, secs);
      std::printf("],\"summary\":%s}\n", JsonText(summary).c_str());
      return;
    }
    if (f_.format == "json") {
      nlohmann::json j = ReportJson(report, secs);
      nlohmann::json probs = nlohmann::json::array();
      for (const RecordPlan& r : problems_) probs.push_back(RecordToJson(r));
      j["problems"] = probs;
      std::printf("%s\n", JsonText(j, 2).c_str());
      return;
    }
    if (f_.format == "csv" || g_.quiet) return;
    std::vector<std::vector<std::string>> rows;
    RunCounts total;
    for (const EntityReport& e : report.entities) {
      total += e.counts;
      const RunCounts& c = e.counts;
      if (watching_ && c.inserted + c.updated + c.deleted + c.linked + c.skipped + c.failed == 0) {
        continue;  // a pass names only what it changed
      }
      rows.push_back(CountsRow(e.entity, e.counts));
    }
    rows.push_back(CountsRow("total", total));
    std::printf("\n%s", FormatTable({"entity", "read", plan_ ? "insert" : "inserted",
                                     plan_ ? "update" : "updated", "unchanged", "linked",
                                     plan_ ? "delete" : "deleted", "skipped", "failed"},
                                    rows)
                            .c_str());
    const std::string show = RunsShowCommand(g_, report.run.pipeline, report.run.run_id);
    if (!plan_ && !problems_.empty()) {
      std::printf("\nrecords not synced:\n");
      size_t n = 0;
      for (const RecordPlan& r : problems_) {
        if (f_.limit != 0 && n++ >= f_.limit) {
          std::printf("  ... %zu more (%s)\n", problems_.size() - f_.limit, show.c_str());
          break;
        }
        std::printf("  %-5s %s %s: %s\n", std::string(ActionName(r.action)).c_str(),
                    r.entity.c_str(), r.source_id.c_str(), r.reason.c_str());
      }
    }
    int64_t rate = secs > 0 ? static_cast<int64_t>(total.read / secs) : 0;
    std::string verdict = verdict_given;
    if (!verdict.empty()) {
    } else if (plan_) {
      verdict = "dry run: nothing was written";
    } else if (total.failed > 0) {
      // Exit 5: the records that failed are what to look at, whatever else happened.
      verdict =
          fmt::format("run {} partial: {} record{} failed (`{}` lists them)", report.run.run_id,
                      Thousands(total.failed), total.failed == 1 ? "" : "s", show);
    } else if (!total.Changed()) {
      verdict = "nothing to do: the target was already up to date";
      if (!problems_.empty()) {
        verdict += fmt::format(" (but for the {} record(s) not synced, above)", problems_.size());
      }
    } else {
      verdict = fmt::format("run {} {}", report.run.run_id, report.run.status);
    }
    std::printf("\n%s — %.2f s, %s rows/s\n", verdict.c_str(), secs, Thousands(rate).c_str());
  }

  static std::vector<std::string> CountsRow(const std::string& name, const RunCounts& c) {
    return {name,
            Thousands(c.read),
            Thousands(c.inserted),
            Thousands(c.updated),
            Thousands(c.unchanged),
            Thousands(c.linked),
            Thousands(c.deleted),
            Thousands(c.skipped),
            Thousands(c.failed)};
  }

  nlohmann::json ReportJson(const SyncReport& report, double secs) const {
    nlohmann::json entities = nlohmann::json::array();
    RunCounts total;
    for (const EntityReport& e : report.entities) {
      nlohmann::json one = RunCountsJson(e.counts);
      one["entity"] = e.entity;
      entities.push_back(std::move(one));
      total += e.counts;
    }
    // A plan is not recorded: it has no run id to look up.
    nlohmann::json run_id =
        report.run.dry_run ? nlohmann::json() : nlohmann::json(report.run.run_id);
    return {{"run_id", run_id},
            {"pipeline", report.run.pipeline},
            {"dry_run", report.run.dry_run},
            {"status", report.run.status},
            {"resumed", report.resumed},
            {"seconds", secs},
            {"entities", entities},
            {"total", RunCountsJson(total)}};
  }

  void PrintDetail(const RecordPlan& r) {
    progress_->Clear();
    std::string ids = r.source_id;
    if (!r.target_id.empty() && r.target_id != r.source_id) ids += " → " + r.target_id;
    std::string what = r.reason;
    for (const FieldChange& c : r.changes) what += (what.empty() ? "" : "; ") + FormatChange(c);
    std::printf("  %-9s %-8s %s  %s\n", std::string(ActionName(r.action)).c_str(), r.entity.c_str(),
                ids.c_str(), what.c_str());
  }

  const Globals& g_;
  const RunFlags& f_;
  bool plan_;
  ProgressLine* progress_;
  bool first_record_ = true;
  bool watching_ = false;
  std::string header_;
  RunInfo run_;
  Clock::time_point start_;
  std::map<std::string, size_t> shown_;
  std::vector<RecordPlan> problems_;
  std::vector<std::string> order_;  // entities as they were first heard of
  std::map<std::string, RunCounts> seen_;
};

// `sync --watch`: incremental passes until SIGINT / SIGTERM, one every interval. A signal
// during a pass lets its current batch finish (exit 130); between passes it ends the watch
// (exit 0). A pass that fails on something that may pass (connection lost, lock) is reported
// and the next one tried; any other failure ends the watch with its exit code.
// --mark-synced: after a pass that read changes, prune what every pipeline has consumed.
Status MarkSynced(const Globals& g, const Config& config, const SyncRequest& req) {
  const PipelineConfig* p = config.FindPipeline(req.pipeline);
  const ConnectionConfig* sc = p ? config.FindConnection(p->source) : nullptr;
  if (!sc) return Status::OK();  // RunSync has already said why
  TETHER_ASSIGN_OR_RETURN(auto source, OpenConnector(sc->name, sc->url));
  TETHER_ASSIGN_OR_RETURN(PruneOutcome out, PruneConsumed(config, sc->name, source.get()));
  if (!g.quiet) PrintPrune(out, sc->name);
  return Status::OK();
}

// Away from a terminal (a log file), --watch says it is alive this often.
constexpr std::chrono::minutes kWatchHeartbeat{10};

int Watch(const Globals& g, const RunFlags& f, const Config& config, SyncRequest req) {
  std::optional<int64_t> interval_ms = ParseDurationMs(f.interval);
  if (!interval_ms) {
    Error(Status::InvalidArgument("--interval " + f.interval +
                                  ": expected a duration such as 5s, 500ms, 2m"));
    return kExitUsage;
  }
  req.record_idle = false;  // a pass that finds nothing to do leaves no run row behind
  ProgressLine progress(!g.quiet);
  const bool table = f.format == "table" && !g.quiet;
  if (table) {
    std::printf("watch %s: an incremental pass every %s, until Ctrl-C or SIGTERM\n",
                req.pipeline.c_str(), f.interval.c_str());
    std::fflush(stdout);
  }
  int64_t passes = 0, changed = 0;  // since the last heartbeat
  auto last_beat = std::chrono::steady_clock::now();
  for (;;) {
    CliObserver obs(g, f, req.dry_run, &progress);
    obs.Watching();
    Result<SyncReport> report = RunSync(config, req, &obs);
    ++passes;
    if (!report.ok()) {
      progress.Clear();
      if (report.status().code() == StatusCode::kCancelled) {
        obs.Stopped();
        return kExitInterrupted;
      }
      Error(report.status());
      if (!report.status().IsRetryable()) return ExitCodeFor(report.status());
    } else {
      RunCounts total;
      for (const EntityReport& e : report->entities) total += e.counts;
      if (total.inserted + total.updated + total.deleted + total.linked + total.failed +
              total.skipped >
          0) {
        obs.Finish(*report);
        ++changed;
      }
      if (f.mark_synced) {
        Status marked = MarkSynced(g, config, req);
        if (!marked.ok()) Error(marked);
      }
    }
    const std::string at = UtcNow().substr(11, 8);
    if (progress.on()) {
      progress.Show(fmt::format("watch {}: pass {} at {} UTC{}; the next in {}", req.pipeline,
                                passes, at, report.ok() ? "" : " failed", f.interval));
    } else if (table && std::chrono::steady_clock::now() - last_beat >= kWatchHeartbeat) {
      std::printf("%s UTC watch %s: %lld pass(es) in the last %lld min, %lld changed something\n",
                  at.c_str(), req.pipeline.c_str(), static_cast<long long>(passes),
                  static_cast<long long>(kWatchHeartbeat.count()), static_cast<long long>(changed));
      std::fflush(stdout);
      passes = changed = 0;
      last_beat = std::chrono::steady_clock::now();
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(*interval_ms);
    while (std::chrono::steady_clock::now() < until) {
      if (req.cancel->load()) return kExitOk;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (req.cancel->load()) return kExitOk;
  }
}

// --keys FILE / --key V: the records of a selective sync, into req->keys.
Status SelectKeys(const Config& config, const std::string& pipeline, const RunFlags& f,
                  SyncRequest* req) {
  if (f.keys_file.empty() && f.key_values.empty()) return Status::OK();
  const PipelineConfig* p = config.FindPipeline(pipeline);
  if (!p)
    return Status::InvalidArgument(fmt::format("{}: no pipeline '{}'", config.path, pipeline));
  std::string single;
  if (f.entities.size() == 1) single = f.entities[0];
  if (f.entities.empty() && p->entities.size() == 1) single = p->entities[0];
  if (!f.key_values.empty()) {
    if (single.empty()) {
      return Status::InvalidArgument("--key needs one selected entity (--entity E)");
    }
    for (const std::string& k : f.key_values) req->keys[single].push_back(k);
  }
  if (!f.keys_file.empty()) {
    std::map<std::string, bool> identity;
    for (const std::string& e : p->entities) {
      const EntityConfig* ec = config.FindEntity(e);
      identity[e] = ec && ec->keys == KeyMode::kIdentity;
    }
    TETHER_ASSIGN_OR_RETURN(KeysFromFile from_file, ReadKeysFile(f.keys_file, single, identity));
    for (auto& [entity, ids] : from_file.keys) {
      if (!f.entities.empty() &&
          std::find(f.entities.begin(), f.entities.end(), entity) == f.entities.end()) {
        continue;  // --entity narrows a file listing several
      }
      std::vector<std::string>& origins = req->key_origins[entity];
      origins.resize(req->keys[entity].size());  // --key values come first, named as they are
      for (std::string& id : ids) req->keys[entity].push_back(std::move(id));
      for (std::string& o : from_file.origins[entity]) origins.push_back(std::move(o));
    }
    if (req->keys.empty()) {
      return Status::InvalidArgument(
          fmt::format("--keys {}: no key for the selected entities", f.keys_file));
    }
  }
  return Status::OK();
}

}  // namespace

int SyncCommand(const Globals& g, RunFlags f, bool plan) {
  if (f.format != "table" && f.format != "json" && (f.format != "csv" || !plan)) {
    Error(Status::InvalidArgument("--format " + f.format + ": expected table|json" +
                                  (plan ? "|csv" : "")));
    return kExitUsage;
  }
  Config config;
  std::string pipeline;
  if (int code = LoadPipeline(g, f.pipeline, &config, &pipeline); code != kExitOk) return code;
  SyncRequest req;
  req.pipeline = pipeline;
  req.entities = f.entities;
  req.dry_run = plan || f.dry_run;
  auto dup = ParseEnum<OnDuplicate>("--on-duplicate", f.on_duplicate,
                                    {{"merge", OnDuplicate::kMerge},
                                     {"skip", OnDuplicate::kSkip},
                                     {"update", OnDuplicate::kUpdate},
                                     {"error", OnDuplicate::kError}});
  auto inv = ParseEnum<OnInvalid>("--on-invalid", f.on_invalid,
                                  {{"skip", OnInvalid::kSkip}, {"error", OnInvalid::kError}});
  if (!dup.ok() || !inv.ok()) {
    Error(dup.ok() ? inv.status() : dup.status());
    return kExitUsage;
  }
  req.on_duplicate = *dup;
  req.on_invalid = *inv;
  if (!f.from_date.empty()) req.from_date = f.from_date;
  if (!f.to_date.empty()) req.to_date = f.to_date;
  req.where = f.where;
  req.restart = f.restart;
  req.checksums = !f.no_checksums;
  req.create_tables = f.create_tables;
  const bool changes = f.changes || f.watch;
  if (changes) req.mode = SyncMode::kChanges;
  if (f.mark_synced && !changes) {
    Error(Status::InvalidArgument("--mark-synced needs --changes (or --watch)"));
    return kExitUsage;
  }
  if (f.batch_size > 0) req.batch_size = f.batch_size;
  req.retries = f.retries;
  if (!f.wait.empty()) {
    std::optional<int64_t> wait_ms = ParseDurationMs(f.wait);
    if (!wait_ms) {
      Error(Status::InvalidArgument("--wait " + f.wait +
                                    ": expected a duration such as 30s, 10m, 1h"));
      return kExitUsage;
    }
    req.lock_wait = std::chrono::milliseconds(*wait_ms);
  }
  Status selected = SelectKeys(config, pipeline, f, &req);
  if (selected.ok() && !req.keys.empty()) {
    selected =
        changes ? Status::InvalidArgument("--keys and --changes cannot be combined") : Status::OK();
    req.mode = SyncMode::kKeys;
  }
  if (!selected.ok()) {
    Error(selected);
    return kExitUsage;
  }
  if (f.verify && (f.dry_run || f.watch || !req.keys.empty() || !req.where.empty() ||
                   req.from_date || req.to_date)) {
    Error(Status::InvalidArgument(
        "--verify compares whole entities after a sync: it does not go with --dry-run, --watch, "
        "--keys/--key or filters"));
    return kExitUsage;
  }
  req.cancel = StopOnSignals();
  req.count_rows = isatty(2) && !g.quiet && req.mode != SyncMode::kChanges;
  if (f.watch) return Watch(g, f, config, req);

  ProgressLine progress(!g.quiet);
  CliObserver obs(g, f, req.dry_run, &progress);
  Result<SyncReport> report = RunSync(config, req, &obs);
  if (!report.ok()) {
    progress.Clear();
    if (report.status().code() == StatusCode::kCancelled) obs.Stopped();
    Error(report.status());
    if (report.status().code() == StatusCode::kPolicy) {
      std::fprintf(stderr, "tether: nothing was written\n");
    }
    return ExitCodeFor(report.status());
  }
  obs.Finish(*report);
  if (f.mark_synced && req.mode == SyncMode::kChanges && !req.dry_run) {
    Status marked = MarkSynced(g, config, req);
    if (!marked.ok()) {
      Error(marked);
      return ExitCodeFor(marked);
    }
  }
  RunCounts total;
  for (const EntityReport& e : report->entities) total += e.counts;
  if (f.verify) {
    int verified = Verify(g, config, pipeline, f.entities, !f.no_checksums);
    if (verified != kExitOk) return verified;
  }
  return total.failed > 0 ? kExitPartial : kExitOk;
}

}  // namespace tether::cli
