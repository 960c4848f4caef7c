#include "cli/cli.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "cli/common.h"
#include "cli/diff_command.h"
#include "cli/keys_file.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/serve_command.h"
#include "cli/track_command.h"
#include "config/config.h"
#include "core/temporal.h"
#include "demo/demo.h"
#include "engine/sync.h"
#include "engine/target_tables.h"
#include "state/state_store.h"

namespace tether::cli {
namespace {

// `sync --retries`: how often a run that loses a connection part way connects again by itself.
constexpr int kDefaultRetries = 3;

struct RunFlags {
  std::string pipeline;
  std::vector<std::string> entities;
  bool dry_run = false;
  std::string on_duplicate;
  std::string on_invalid;
  std::string from_date, to_date;
  std::vector<std::string> where;
  std::string format = "table";
  size_t batch_size = 0;
  bool restart = false;
  bool create_tables = false;
  bool changes = false;
  bool mark_synced = false;
  bool watch = false;
  std::string interval = "5s";
  size_t limit = 20;
  bool verify = false;
  bool no_checksums = false;
  std::string keys_file;
  std::vector<std::string> key_values;
  std::string wait;               // --wait DURATION: for a pipeline another run holds
  int retries = kDefaultRetries;  // --retries N: SyncRequest::retries
};

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
      nlohmann::json one = CountsToJson(e.counts);
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
            {"total", CountsToJson(total)}};
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

int RunCommand(const Globals& g, RunFlags f, bool plan) {
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

class NoticePrinter : public SyncObserver {
 public:
  void OnNotice(const std::string& text) override { std::printf("%s\n", text.c_str()); }
};

int CheckCommand(const Globals& g, const std::vector<std::string>& pipelines) {
  Result<Config> config = Load(g);
  if (!config.ok()) {
    Error(config.status());
    return ExitCodeFor(config.status());
  }
  if (config->pipelines.empty()) {
    // An empty file (or one whose text never became keys) must not pass for a good one.
    Error(Status::Config(config->path + ": defines no pipeline, so there is nothing to check"));
    return kExitConfig;
  }
  std::printf("config %s: ok\n", config->path.c_str());
  NoticePrinter printer;
  Status st = CheckPipelines(*config, pipelines, &printer);
  if (!st.ok()) {
    Error(st);
    return ExitCodeFor(st);
  }
  return kExitOk;
}

// `tether schema`: the DDL of target tables that do not exist yet, and of columns existing ones
// lack; --apply creates and adds them (nothing is ever dropped or changed).
int SchemaCommand(const Globals& g, const std::string& asked,
                  const std::vector<std::string>& entities, bool apply) {
  Result<Config> config = Load(g);
  if (!config.ok()) {
    Error(config.status());
    return ExitCodeFor(config.status());
  }
  Result<std::string> pipeline = PickPipeline(*config, asked);
  if (!pipeline.ok()) {
    Error(pipeline.status());
    return kExitUsage;
  }
  const PipelineConfig* p = config->FindPipeline(*pipeline);
  if (!p) {
    Error(Status::InvalidArgument(fmt::format("{}: no pipeline '{}'", config->path, *pipeline)));
    return kExitUsage;
  }
  const ConnectionConfig* sc = config->FindConnection(p->source);
  const ConnectionConfig* tc = config->FindConnection(p->target);
  auto source = OpenConnector(sc->name, sc->url);
  auto target = source.ok() ? OpenConnector(tc->name, tc->url) : source.status();
  if (!target.ok()) {
    Error(target.status());
    return ExitCodeFor(target.status());
  }
  auto missing = FindMissingTables(*config, *p, entities, **source, **target);
  auto lacking = missing.ok() ? FindMissingColumns(*config, *p, entities, **source, **target)
                              : missing.status();
  if (!lacking.ok()) {
    Error(lacking.status());
    return ExitCodeFor(lacking.status());
  }
  if (missing->empty() && lacking->empty()) {
    std::fprintf(stderr,
                 "tether: every target table of pipeline '%s' exists on connection '%s', with "
                 "every column\n",
                 p->name.c_str(), tc->name.c_str());
    return kExitOk;
  }
  const std::string engine((*target)->engine());
  for (const MissingTable& t : *missing) {
    std::printf("-- entity %s: table %s on connection %s (%s)\n", t.entity.c_str(),
                t.table.name.c_str(), t.connection.c_str(), engine.c_str());
    for (const std::string& statement : t.ddl) std::printf("%s;\n", statement.c_str());
    if (apply) {
      Status st = (*target)->EnsureTable(t.table);
      if (!st.ok()) {
        Error(st);
        return ExitCodeFor(st);
      }
      std::printf("-- created\n");
    }
    std::printf("\n");
  }
  size_t columns = 0;
  for (const MissingColumns& m : *lacking) {
    columns += m.columns.size();
    std::printf("-- entity %s: table %s on connection %s (%s) lacks %zu column(s)\n",
                m.entity.c_str(), m.table.c_str(), m.connection.c_str(), engine.c_str(),
                m.columns.size());
    for (const std::string& statement : m.ddl) std::printf("%s;\n", statement.c_str());
    if (apply) {
      Status st = AddMissingColumns(**target, m);
      if (!st.ok()) {
        Error(st);
        return ExitCodeFor(st);
      }
      std::printf("-- added\n");
    }
    std::printf("\n");
  }
  if (!apply) {
    std::fprintf(stderr,
                 "tether: %zu table(s) missing, %zu column(s) missing from existing tables; "
                 "`tether schema --apply` or `tether sync --create-tables` adds them\n",
                 missing->size(), columns);
  }
  return kExitOk;
}

// What the read-only commands (runs, links) need: the config, the pipeline and its target
// connection, which holds the state store. On failure, prints why and sets the exit code.
struct StateAccess {
  Config config;
  std::string pipeline;
  std::unique_ptr<Connector> target;
};

std::optional<StateAccess> OpenState(const Globals& g, const std::string& asked, int* exit_code) {
  Result<Config> config = Load(g);
  if (!config.ok()) {
    Error(config.status());
    *exit_code = ExitCodeFor(config.status());
    return std::nullopt;
  }
  Result<std::string> pipeline = PickPipeline(*config, asked);
  if (!pipeline.ok()) {
    Error(pipeline.status());
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  const PipelineConfig* p = config->FindPipeline(*pipeline);
  if (!p) {
    Error(Status::InvalidArgument(fmt::format("no pipeline '{}'", *pipeline)));
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  const ConnectionConfig* c = config->FindConnection(p->target);
  Result<std::unique_ptr<Connector>> target = OpenConnector(c->name, c->url);
  if (!target.ok()) {
    Error(target.status());
    *exit_code = ExitCodeFor(target.status());
    return std::nullopt;
  }
  return StateAccess{std::move(config).value(), std::move(pipeline).value(),
                     std::move(target).value()};
}

// What kind of run it was, from its options: full, changes (--changes, --watch) or keys
// (--keys); runs recorded before the options said so are full or changes alike.
std::string RunMode(const RunInfo& r) {
  nlohmann::json options = nlohmann::json::parse(r.options, nullptr, false);
  if (!options.is_object() || !options.contains("mode") || !options["mode"].is_string()) return "";
  return options["mode"].get<std::string>();
}

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
                          {"counts", CountsToJson((*run)->counts)},
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
                     {"counts", CountsToJson(r.counts)},
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

int LinksCommand(const Globals& g, const std::string& asked, const std::string& entity,
                 const std::string& source_id, const std::string& target_id, bool failed,
                 const std::string& format) {
  int code = kExitOk;
  std::optional<StateAccess> access = OpenState(g, asked, &code);
  if (!access) return code;
  const std::string* pipeline = &access->pipeline;
  if (!access->config.FindEntity(entity)) {
    Error(Status::InvalidArgument(
        fmt::format("--entity {}: no such entity in {}", entity, access->config.path)));
    return kExitUsage;
  }
  StateStore state(access->target.get());
  std::vector<Link> links;
  if (failed) {
    auto r = state.ListLinks(*pipeline, entity, std::nullopt, 0, std::string("failed"));
    if (!r.ok()) {
      Error(r.status());
      return ExitCodeFor(r.status());
    }
    links = std::move(*r);
  } else if (!source_id.empty()) {
    auto r = state.FindLinksBySource(*pipeline, entity, {source_id});
    if (!r.ok()) {
      Error(r.status());
      return ExitCodeFor(r.status());
    }
    for (auto& [id, l] : *r) links.push_back(l);
  } else {
    auto r = state.FindLinksByTarget(*pipeline, entity, {target_id});
    if (!r.ok()) {
      Error(r.status());
      return ExitCodeFor(r.status());
    }
    links = std::move(*r);
  }
  if (format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const Link& l : links) {
      arr.push_back({{"pipeline", *pipeline},
                     {"entity", entity},
                     {"source_id", l.source_id},
                     {"target_id", l.target_id ? nlohmann::json(*l.target_id) : nullptr},
                     {"hash", l.hash},
                     {"synced_at", l.synced_at},
                     {"status", l.status},
                     {"attempts", l.attempts},
                     {"last_error", l.last_error},
                     {"metadata", nlohmann::json::parse(l.metadata, nullptr, false)}});
    }
    std::printf("%s\n", JsonText(arr, 2).c_str());
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const Link& l : links) {
      rows.push_back({l.source_id, l.target_id.value_or("-"), l.status, l.synced_at,
                      std::to_string(l.attempts), l.last_error});
    }
    std::printf(
        "%s", FormatTable(
                  {"source_id", "target_id", "status", "synced_at", "attempts", "last_error"}, rows)
                  .c_str());
  }
  if (links.empty()) {
    if (format != "json") std::fprintf(stderr, "tether: no link found\n");
    return failed ? kExitOk : kExitNotFound;
  }
  return kExitOk;
}

void AddRunFlags(CLI::App* cmd, RunFlags* f, bool plan) {
  cmd->add_option("pipeline", f->pipeline, "Pipeline to run (default: the only one)");
  cmd->add_option("--entity,-e", f->entities, "Only these entities (repeatable)");
  if (!plan) cmd->add_flag("--dry-run,-n", f->dry_run, "Plan only: print what would change");
  cmd->add_option("--on-duplicate", f->on_duplicate, "merge | skip | update | error");
  cmd->add_option("--on-invalid", f->on_invalid, "skip | error");
  cmd->add_option("--from-date", f->from_date, "Only rows whose date column is on/after D");
  cmd->add_option("--to-date", f->to_date, "Only rows whose date column is on/before D");
  cmd->add_option("--where,-w", f->where,
                  "[entity.]column op value (op: = != < <= > >= like, is [not] null); bound, "
                  "never SQL");
  cmd->add_option("--format,-f", f->format, plan ? "table | json | csv" : "table | json")
      ->check(plan ? CLI::IsMember({"table", "json", "csv"}) : CLI::IsMember({"table", "json"}));
  cmd->add_option("--batch-size", f->batch_size, "Rows per batch (overrides the pipeline)")
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  cmd->add_option("--limit", f->limit, "Records listed per entity in table output (0: all)")
      ->check(CLI::NonNegativeNumber);
  if (!plan) {
    cmd->add_flag("--restart", f->restart,
                  "Start from the beginning instead of resuming an interrupted run");
    cmd->add_flag("--create-tables", f->create_tables,
                  "Create missing target tables first (see `tether schema`)");
    cmd->add_flag("--watch", f->watch,
                  "Run incremental passes (--changes) until stopped (SIGINT / SIGTERM)");
    cmd->add_option("--interval", f->interval, "Pause between --watch passes (default 5s)");
    cmd->add_flag("--mark-synced", f->mark_synced,
                  "After --changes: prune the changes every pipeline has consumed");
    cmd->add_option("--wait", f->wait,
                    "When another run holds the pipeline, wait up to DURATION for it (default: "
                    "fail at once, exit 4)");
    cmd->add_option("--retries", f->retries,
                    "After a lost connection, a deadlock or a lock timeout, connect again and go "
                    "on from the last checkpoint up to N times, waiting 1s, 2s, 4s ... (default "
                    "3; 0: fail at once, exit 4)")
        ->check(CLI::Range(0, 100));
  }
  cmd->add_flag("--changes", f->changes,
                "Incremental: only records the source's change log (tether track) lists");
  cmd->add_option("--keys", f->keys_file,
                  "Only the records in FILE: one key per line (ENTITY<TAB>KEY with several "
                  "entities), or a `tether diff --format csv` report");
  cmd->add_option("--key", f->key_values,
                  "Only this record of the one selected entity (repeatable)");
  cmd->add_flag("--no-checksums", f->no_checksums,
                "Read and compare every record instead of skipping key ranges whose checksums "
                "agree");
  if (!plan) {
    cmd->add_flag("--verify", f->verify,
                  "After the sync, compare source and target (as `tether verify`); exit 8 if "
                  "they differ");
  }
}

}  // namespace

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kInvalidArgument:
      return kExitUsage;
    case StatusCode::kConfig:
    case StatusCode::kNotFound:
    case StatusCode::kUnsupported:
      return kExitConfig;
    case StatusCode::kConnection:
    case StatusCode::kPermissionDenied:
    case StatusCode::kBusy:
    case StatusCode::kTryAgain:
    case StatusCode::kTimedOut:
      return kExitConnection;
    case StatusCode::kPolicy:
      return kExitPolicy;
    case StatusCode::kCancelled:
      return kExitInterrupted;
    default:
      return kExitInternal;
  }
}

int Main(int argc, char** argv) {
  CLI::App app{"tether — keeps business records in step between databases"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags (-c, -v, -q) may follow the subcommand
  app.set_version_flag("--version", "tether 0.1.0");
  Globals g;
  app.add_option("--config,-c", g.config_path,
                 "Configuration file (default: tether.yaml, or $TETHER_CONFIG)")
      ->envname("TETHER_CONFIG");
  app.add_flag("-v,--verbose", g.verbose, "More detail (repeatable)");
  app.add_flag("-q,--quiet", g.quiet, "Only errors");
  int code = kExitOk;

  RunFlags sync_flags, plan_flags;
  plan_flags.limit = 20;
  CLI::App* sync = app.add_subcommand("sync", "Sync a pipeline: source → target");
  AddRunFlags(sync, &sync_flags, false);
  sync->callback([&] { code = RunCommand(g, sync_flags, false); });

  CLI::App* plan =
      app.add_subcommand("plan", "Dry run: what sync would insert, update, skip, fail");
  AddRunFlags(plan, &plan_flags, true);
  plan->callback([&] { code = RunCommand(g, plan_flags, true); });

  AddDiffCommands(&app, &g, &code);

  std::vector<std::string> check_pipelines;
  CLI::App* check = app.add_subcommand(
      "check", "Validate the config, reach every connection, find every table and column");
  check->add_option("pipeline", check_pipelines, "Pipelines to check (default: all)");
  check->callback([&] { code = CheckCommand(g, check_pipelines); });

  std::string runs_pipeline, runs_show, runs_format = "table";
  size_t runs_limit = 20;
  CLI::App* schema = app.add_subcommand(
      "schema", "Print (or --apply) the DDL of missing target tables and of columns they lack");
  std::string schema_pipeline;
  std::vector<std::string> schema_entities;
  bool schema_apply = false;
  schema->add_option("pipeline", schema_pipeline, "Pipeline (default: the only one)");
  schema->add_option("--entity,-e", schema_entities, "Only these entities (repeatable)");
  schema->add_flag("--apply", schema_apply, "Create the tables and add the columns on the target");
  schema->callback(
      [&] { code = SchemaCommand(g, schema_pipeline, schema_entities, schema_apply); });

  AddTrackCommand(&app, &g, &code);
  AddServeCommand(&app, &g, &code);

  CLI::App* runs = app.add_subcommand("runs", "Run history with counts; --show RUN for records");
  runs->add_option("pipeline", runs_pipeline, "Pipeline (default: the only one)");
  runs->add_option("--show", runs_show, "A run id: its per-record results");
  runs->add_option("--limit", runs_limit, "How many (default 20; 0: all)")
      ->check(CLI::NonNegativeNumber);
  runs->add_option("--format,-f", runs_format, "table | json")
      ->check(CLI::IsMember({"table", "json"}));
  runs->callback([&] { code = RunsCommand(g, runs_pipeline, runs_show, runs_limit, runs_format); });

  std::string links_pipeline, links_entity, links_source, links_target, links_format = "table";
  CLI::App* links = app.add_subcommand("links", "The link registry: which record is which");
  links->require_subcommand(1);
  links->fallthrough();
  CLI::App* find = links->add_subcommand("find", "Find a link by source or target id");
  find->add_option("pipeline", links_pipeline, "Pipeline (default: the only one)");
  find->add_option("--entity,-e", links_entity, "Entity")->required();
  auto* sid = find->add_option("--source-id", links_source, "Source record id");
  auto* tid = find->add_option("--target-id", links_target, "Target record id");
  sid->excludes(tid);
  find->add_option("--format,-f", links_format, "table | json")
      ->check(CLI::IsMember({"table", "json"}));
  find->callback([&] {
    if (links_source.empty() && links_target.empty()) {
      std::fprintf(stderr, "tether: links find needs --source-id or --target-id\n");
      code = kExitUsage;
      return;
    }
    code = LinksCommand(g, links_pipeline, links_entity, links_source, links_target, false,
                        links_format);
  });
  CLI::App* failed = links->add_subcommand("failed", "Records that failed, with attempts and why");
  failed->add_option("pipeline", links_pipeline, "Pipeline (default: the only one)");
  failed->add_option("--entity,-e", links_entity, "Entity")->required();
  failed->add_option("--format,-f", links_format, "table | json")
      ->check(CLI::IsMember({"table", "json"}));
  failed->callback(
      [&] { code = LinksCommand(g, links_pipeline, links_entity, "", "", true, links_format); });

  DemoOptions demo_opts;
  CLI::App* demo = app.add_subcommand("demo", "The bundled demo shop");
  demo->require_subcommand(1);
  demo->fallthrough();
  CLI::App* init = demo->add_subcommand("init", "Create demo/live.db and demo/staging.db");
  init->add_option("--dir", demo_opts.dir, "Folder (default: demo)");
  init->add_option("--scale", demo_opts.scale, "Multiply row counts (default 1)");
  init->callback([&] {
    DemoSummary summary;
    Status st = GenerateDemo(demo_opts, &summary);
    if (!st.ok()) {
      Error(st);
      code = ExitCodeFor(st);
      return;
    }
    if (g.quiet) return;
    std::vector<std::vector<std::string>> rows;
    for (const DemoTableSummary& t : summary.tables) {
      rows.push_back({t.table, Thousands(t.live_rows), Thousands(t.staging_rows)});
    }
    std::printf("demo shop written:\n  %s\n  %s\n  %s%s\n\n%s", summary.live_path.c_str(),
                summary.staging_path.c_str(), summary.config_path.c_str(),
                summary.config_written ? "" : " (kept: it already existed)",
                FormatTable({"table", "live", "staging"}, rows).c_str());
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tether: %s\nRun with --help for more information.\n", e.what());
    return kExitUsage;
  }
  return code;
}

}  // namespace tether::cli
