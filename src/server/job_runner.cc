#include "server/job_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/id.h"
#include "core/temporal.h"
#include "engine/where.h"
#include "server/json_text.h"

namespace tether {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr size_t kRecentLogs = 500;    // log lines kept in memory for event streams
constexpr size_t kRecordFlush = 1000;  // records written to the store per transaction
constexpr auto kPersistEvery = std::chrono::seconds(1);
constexpr auto kCleanupEvery = std::chrono::minutes(10);
constexpr auto kMonitorEvery = std::chrono::milliseconds(100);  // timeouts and due retries

bool Terminal(const std::string& status) { return status != "queued" && status != "running"; }

std::string DurationText(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms % 3600000 == 0) return fmt::format("{}h", ms / 3600000);
  if (ms % 60000 == 0) return fmt::format("{}m", ms / 60000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace

void DurationHistogram::Add(double seconds) {
  ++count;
  sum += seconds;
  for (size_t i = 0; i < std::size(kBounds); ++i) {
    if (seconds <= kBounds[i]) {
      ++buckets[i];
      return;
    }
  }
}

Result<SyncRequest> SyncRequestFor(const Config& config, const std::string& pipeline,
                                   const std::string& kind, const json& body) {
  const PipelineConfig* p = config.FindPipeline(pipeline);
  if (!p) return Status::NotFound(fmt::format("no pipeline '{}'", pipeline));
  SyncRequest req;
  req.pipeline = pipeline;
  auto known = [&](const std::string& entity) {
    return std::find(p->entities.begin(), p->entities.end(), entity) != p->entities.end();
  };
  if (body.contains("entities")) {
    for (const json& e : body["entities"]) {
      std::string name = e.get<std::string>();
      if (!known(name)) {
        return Status::InvalidArgument(
            fmt::format("field 'entities': pipeline '{}' has no entity '{}'", pipeline, name));
      }
      req.entities.push_back(std::move(name));
    }
  }
  if (kind == "diff") {
    req.mode = SyncMode::kCompare;
    req.checksums = body.value("checksums", true);
    return req;
  }
  req.dry_run = body.value("dry_run", false);
  const bool incremental = body.value("mode", std::string("full")) == "incremental";
  if (incremental) req.mode = SyncMode::kChanges;
  req.restart = body.value("restart", false);
  req.create_tables = body.value("create_tables", false);
  if (body.contains("where")) req.where = body["where"].get<std::vector<std::string>>();
  if (body.contains("keys")) {
    if (incremental) {
      return Status::InvalidArgument(
          "field 'keys': selected records are synced as they are now; not with mode incremental");
    }
    for (const auto& [entity, ids] : body["keys"].items()) {
      if (!known(entity)) {
        return Status::InvalidArgument(
            fmt::format("field 'keys.{}': pipeline '{}' has no such entity", entity, pipeline));
      }
      for (const json& id : ids) {
        req.keys[entity].push_back(id.is_string() ? id.get<std::string>() : JsonText(id));
      }
    }
    if (req.keys.empty()) return Status::InvalidArgument("field 'keys': no record selected");
    req.mode = SyncMode::kKeys;
  }
  req.count_rows = req.mode == SyncMode::kFull;
  return req;
}

Status CheckWhere(const Config& config, const SyncRequest& request, const ConnectorFactory& open) {
  if (request.where.empty()) return Status::OK();
  const PipelineConfig* p = config.FindPipeline(request.pipeline);
  if (!p) return Status::NotFound(fmt::format("no pipeline '{}'", request.pipeline));
  // The entities the run reads, as the engine selects them.
  std::vector<std::string> selected;
  for (const std::string& e : p->entities) {
    const bool asked = request.mode == SyncMode::kKeys
                           ? request.keys.count(e) > 0
                           : request.entities.empty() ||
                                 std::find(request.entities.begin(), request.entities.end(), e) !=
                                     request.entities.end();
    if (asked) selected.push_back(e);
  }
  constexpr std::string_view kField = "field 'where':";
  TETHER_RETURN_IF_ERROR(WhereConditions(kField, request.where, selected, [](const std::string&) {
                           return static_cast<const TableSchema*>(nullptr);
                         }).status());
  const ConnectionConfig* source = config.FindConnection(p->source);
  Result<std::unique_ptr<Connector>> conn = open(source->name, source->url);
  if (!conn.ok()) return conn.status().IsRetryable() ? Status::OK() : conn.status();
  std::map<std::string, TableSchema> schemas;
  for (const std::string& e : selected) {
    const EntityConfig* entity = config.FindEntity(e);
    Result<std::optional<TableSchema>> schema = (*conn)->DescribeTable(entity->source_table);
    if (!schema.ok()) return schema.status().IsRetryable() ? Status::OK() : schema.status();
    if (!*schema) {
      return Status::Config(fmt::format("entity '{}': table '{}' does not exist on connection '{}'",
                                        e, entity->source_table, source->name));
    }
    schemas[e] = std::move(**schema);
  }
  Status columns = WhereConditions(kField, request.where, selected, [&](const std::string& e) {
                     return &schemas.at(e);
                   }).status();
  // Well formed, but naming a column the database does not have: the configuration's side.
  return columns.ok() ? columns : Status::Config(columns.message());
}

struct JobRunner::Active {
  Job job;
  std::atomic<bool> cancel{false};
  std::string stop_reason;  // stop | timeout | shutdown
  bool running = false;
  bool finished = false;
  bool plan = false;  // a dry run or diff
  std::optional<Clock::time_point> deadline;
  std::optional<SystemTime> next_attempt;  // waiting for a retry
  uint64_t version = 1;
  RunCounts earlier;               // counts of attempts before this one
  std::vector<std::string> order;  // entities as they started
  std::map<std::string, RunCounts> entity_counts;
  std::map<std::string, std::optional<int64_t>> totals;
  std::map<std::string, bool> done;
  std::string current;
  int64_t log_seq = 0;
  int64_t record_seq = 0;
  int64_t records_dropped = 0;
  std::vector<LogLine> pending_logs;
  std::vector<RecordLine> pending_records;
  std::deque<LogLine> recent_logs;
  Clock::time_point last_persist;  // on the runner's clock, as `deadline` and `started`
  Clock::time_point started;
};

// Feeds the engine's callbacks (on the worker's thread) into the run's state.
class JobRunner::Observer : public SyncObserver {
 public:
  Observer(JobRunner* runner, std::shared_ptr<Active> a, bool plan)
      : runner_(runner), a_(std::move(a)), plan_(plan) {}

  void OnRunStart(const RunInfo& run) override {
    Update([&](Active& a) {
      json runs = json::parse(a.job.engine_runs);
      runs.push_back(run.run_id);
      a.job.engine_runs = JsonText(runs);
      runner_->Log(a, "info", fmt::format("engine run {} started", run.run_id));
    });
  }
  void OnEntityStart(const std::string& entity) override {
    Update([&](Active& a) {
      if (!a.entity_counts.count(entity)) a.order.push_back(entity);
      a.entity_counts[entity];
      a.current = entity;
      runner_->Log(a, "info", fmt::format("entity {}: started", entity));
    });
  }
  void OnEntityTotal(const std::string& entity, int64_t total) override {
    Update([&](Active& a) { a.totals[entity] = total; });
  }
  void OnRecord(const RecordPlan& r) override {
    bool flush = false;
    Update([&](Active& a) {
      if (a.record_seq >= static_cast<int64_t>(runner_->options_.max_records_per_job)) {
        ++a.records_dropped;
        return;
      }
      RecordLine line;
      line.seq = ++a.record_seq;
      line.entity = r.entity;
      line.source_id = r.source_id;
      line.target_id = r.target_id;
      line.action = std::string(ActionName(r.action));
      json changes = json::array();
      for (const FieldChange& c : r.changes) {
        changes.push_back({{"column", c.column},
                           {"before", ValueToJson(c.before)},
                           {"after", ValueToJson(c.after)}});
      }
      line.changes = JsonText(changes);
      line.reason = r.reason;
      a.pending_records.push_back(std::move(line));
      flush = a.pending_records.size() >= kRecordFlush;
    });
    if (flush) runner_->Persist(a_);
  }
  bool WantsWrittenRecords() const override { return plan_; }
  void OnProgress(const std::string& entity, const RunCounts& totals) override {
    bool persist = false;
    Update([&](Active& a) {
      a.entity_counts[entity] = totals;
      persist = runner_->clock_->Now() - a.last_persist >= kPersistEvery;
    });
    if (persist) runner_->Persist(a_);
  }
  void OnEntityEnd(const std::string& entity, const RunCounts& counts) override {
    Update([&](Active& a) {
      a.entity_counts[entity] = counts;
      a.done[entity] = true;
      runner_->Log(a, "info",
                   fmt::format("entity {}: read {}, inserted {}, updated {}, deleted {}, linked "
                               "{}, skipped {}, failed {}",
                               entity, counts.read, counts.inserted, counts.updated, counts.deleted,
                               counts.linked, counts.skipped, counts.failed));
    });
  }
  void OnNotice(const std::string& text) override {
    Update([&](Active& a) { runner_->Log(a, "info", text); });
  }

 private:
  // Applies `f` to the run; a new log line is written to the store at once (there are few),
  // so that a server killed now keeps it.
  template <typename F>
  void Update(F&& f) {
    bool logged = false;
    {
      std::lock_guard<std::mutex> lk(runner_->mu_);
      const int64_t seq = a_->log_seq;
      f(*a_);
      ++a_->version;
      logged = a_->log_seq != seq;
    }
    runner_->changed_.notify_all();
    if (logged) runner_->Persist(a_);
  }

  JobRunner* runner_;
  std::shared_ptr<Active> a_;
  bool plan_;
};

JobRunner::JobRunner(ServerStore* store, ConfigResolver resolve, RunnerOptions options)
    : store_(store), resolve_(std::move(resolve)), options_(options), clock_(options_.env.clock) {}

JobRunner::~JobRunner() { Shutdown(); }

Status JobRunner::Start() {
  TETHER_ASSIGN_OR_RETURN(
      auto failed,
      store_->FailUnfinishedJobs("the server stopped before this run finished; committed "
                                 "batches stay, and the next run resumes from the checkpoint"));
  (void)failed;
  const int n = std::max(1, options_.max_concurrency);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  monitor_thread_ = std::thread([this] { MonitorLoop(); });
  return Status::OK();
}

void JobRunner::Shutdown() {
  std::vector<std::shared_ptr<Active>> waiting;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    for (auto& [id, a] : active_) {
      if (a->running) {
        a->stop_reason = "shutdown";
        a->cancel = true;
      } else {
        waiting.push_back(a);
      }
    }
    ready_.clear();
  }
  work_.notify_all();
  monitor_.notify_all();
  changed_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  if (monitor_thread_.joinable()) monitor_thread_.join();
  for (auto& a : waiting) Finish(a, "cancelled", "the server stopped before the run started");
}

Result<Job> JobRunner::Submit(const std::string& pipeline, const std::string& kind,
                              const std::string& trigger, const json& request) {
  auto a = std::make_shared<Active>();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) return Status::Busy("the server is stopping");
    auto it = active_by_pipeline_.find(pipeline);
    if (it != active_by_pipeline_.end()) {
      const Active& other = *active_.at(it->second);
      return Status::AlreadyExists(fmt::format("pipeline '{}' already has run {} ({})", pipeline,
                                               it->second, other.job.status));
    }
    a->job.id = NewId('j');
    a->job.pipeline = pipeline;
    a->job.kind = kind;
    a->job.trigger = trigger;
    a->job.request = JsonText(request);
    a->job.created_at = IsoUtc(clock_->WallNow());
    a->last_persist = clock_->Now();
    a->job.max_attempts = 1 + std::max(0, options_.retry_attempts);
    active_[a->job.id] = a;
    active_by_pipeline_[pipeline] = a->job.id;
  }
  Status put = store_->PutJob(a->job);
  std::lock_guard<std::mutex> lk(mu_);
  if (!put.ok()) {
    active_.erase(a->job.id);
    active_by_pipeline_.erase(pipeline);
    return put;
  }
  ready_.push_back(a);
  work_.notify_one();
  return a->job;
}

Result<JobSnapshot> JobRunner::Stop(const std::string& id) {
  std::shared_ptr<Active> a;
  bool queued = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = active_.find(id);
    if (it != active_.end()) {
      a = it->second;
      if (!a->running) {
        queued = true;
        ready_.erase(std::remove(ready_.begin(), ready_.end(), a), ready_.end());
        a->next_attempt.reset();
        a->stop_reason = "stop";
        a->running = true;  // so that no worker or retry takes it now
      } else if (a->stop_reason.empty()) {
        a->stop_reason = "stop";
        a->cancel = true;
        Log(*a, "info", "stop requested: the run stops after its current batch");
      }
    }
  }
  if (!a) {
    TETHER_ASSIGN_OR_RETURN(std::optional<Job> job, store_->GetJob(id));
    if (!job) return Status::NotFound(fmt::format("no run '{}'", id));
    return Status::AlreadyExists(fmt::format("run {} has already finished ({})", id, job->status));
  }
  changed_.notify_all();
  if (queued) Finish(a, "cancelled", "stopped on request before it started");
  std::lock_guard<std::mutex> lk(mu_);
  return SnapshotLocked(*a, 0);
}

Result<std::optional<JobSnapshot>> JobRunner::Get(const std::string& id, int64_t after_log) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = active_.find(id);
    if (it != active_.end())
      return std::optional<JobSnapshot>(SnapshotLocked(*it->second, after_log));
  }
  TETHER_ASSIGN_OR_RETURN(std::optional<Job> job, store_->GetJob(id));
  if (!job) return std::optional<JobSnapshot>();
  JobSnapshot s;
  s.job = std::move(*job);
  s.finished = Terminal(s.job.status);
  if (s.finished) {
    TETHER_ASSIGN_OR_RETURN(s.logs, store_->ListLogs(id, after_log, 1000));
  }
  return std::optional<JobSnapshot>(std::move(s));
}

Result<std::optional<JobSnapshot>> JobRunner::WaitForChange(const std::string& id, uint64_t seen,
                                                            int64_t after_log,
                                                            std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  auto it = active_.find(id);
  if (it == active_.end()) {
    lk.unlock();
    return Get(id, after_log);
  }
  std::shared_ptr<Active> a = it->second;
  changed_.wait_for(lk, timeout, [&] { return a->version > seen || stopping_; });
  return std::optional<JobSnapshot>(SnapshotLocked(*a, after_log));
}

bool JobRunner::PipelineActive(const std::string& pipeline) {
  std::lock_guard<std::mutex> lk(mu_);
  return active_by_pipeline_.count(pipeline) > 0;
}

RunnerStats JobRunner::Stats() {
  std::lock_guard<std::mutex> lk(mu_);
  RunnerStats s = stats_;
  s.busy = busy_;
  s.queued = static_cast<int>(active_.size()) - busy_;
  return s;
}

JobSnapshot JobRunner::SnapshotLocked(const Active& a, int64_t after_log) const {
  JobSnapshot s;
  s.job = a.job;
  RunCounts total = a.earlier;
  json entities = json::array();
  int64_t known_total = 0, known_read = 0;
  bool all_known = !a.order.empty();
  for (const std::string& name : a.order) {
    const RunCounts& c = a.entity_counts.at(name);
    total += c;
    auto t = a.totals.find(name);
    const bool has_total = t != a.totals.end() && t->second.has_value();
    const int64_t n = has_total ? *t->second : 0;
    const bool done = a.done.count(name) > 0;
    entities.push_back({{"name", name},
                        {"total", has_total ? json(n) : json(nullptr)},
                        {"done", done},
                        {"counts", RunCountsJson(c)}});
    if (has_total) {
      known_total += n;
      known_read += done ? n : std::min(c.read, n);
    } else if (!done) {
      all_known = false;
    }
  }
  s.job.counts = total;
  json progress = {{"entity", a.current.empty() ? json(nullptr) : json(a.current)},
                   {"entities", entities}};
  if (a.finished && a.job.status == "succeeded") {
    progress["percent"] = 100.0;
  } else if (all_known && known_total > 0) {
    progress["percent"] = std::round(1000.0 * known_read / known_total) / 10.0;
  } else {
    progress["percent"] = nullptr;
  }
  s.job.progress = JsonText(progress);
  s.stop_requested = !a.stop_reason.empty();
  if (a.next_attempt) s.next_attempt_at = IsoUtc(*a.next_attempt);
  s.version = a.version;
  s.finished = a.finished;
  for (const LogLine& l : a.recent_logs) {
    if (l.seq > after_log) s.logs.push_back(l);
  }
  return s;
}

void JobRunner::Log(Active& a, const std::string& level, const std::string& text) {
  LogLine line{++a.log_seq, IsoUtc(clock_->WallNow()), level, text};
  a.pending_logs.push_back(line);
  a.recent_logs.push_back(std::move(line));
  if (a.recent_logs.size() > kRecentLogs) a.recent_logs.pop_front();
  ++a.version;
}

void JobRunner::Persist(const std::shared_ptr<Active>& a) {
  std::vector<LogLine> logs;
  std::vector<RecordLine> records;
  Job job;
  {
    std::lock_guard<std::mutex> lk(mu_);
    logs.swap(a->pending_logs);
    records.swap(a->pending_records);
    job = SnapshotLocked(*a, a->log_seq).job;
    a->last_persist = clock_->Now();
  }
  // A store that fails here loses only this snapshot's detail: the run goes on, and its end is
  // written again by Finish. The failure is kept in the run's log.
  Status st = store_->AppendLogs(job.id, logs);
  if (st.ok()) st = store_->AddRecords(job.id, records);
  if (st.ok()) st = store_->PutJob(job);
  if (!st.ok()) {
    std::lock_guard<std::mutex> lk(mu_);
    Log(*a, "error", "could not write to the server's state store: " + st.ToString());
  }
}

void JobRunner::Finish(const std::shared_ptr<Active>& a, const std::string& status,
                       const std::string& message) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    Job& j = a->job;
    j.counts = a->earlier;  // the attempts before, and this one's entities (kept for progress)
    for (const std::string& name : a->order) j.counts += a->entity_counts.at(name);
    j.status = status;
    j.message = message;
    j.finished_at = IsoUtc(clock_->WallNow());
    a->next_attempt.reset();
    if (a->records_dropped > 0) {
      Log(*a, "warn",
          fmt::format("{} more record lines were not kept (max_records_per_job {})",
                      a->records_dropped, options_.max_records_per_job));
    }
    Log(*a, status == "succeeded" ? "info" : (status == "partial" ? "warn" : "error"),
        fmt::format("run {}{}{}", status, message.empty() ? "" : ": ", message));
    a->finished = true;
  }
  Persist(a);
  {
    std::lock_guard<std::mutex> lk(mu_);
    const Job& j = a->job;
    active_.erase(j.id);
    auto it = active_by_pipeline_.find(j.pipeline);
    if (it != active_by_pipeline_.end() && it->second == j.id) active_by_pipeline_.erase(it);
    ++stats_.finished_by_status[status];
    ++stats_.runs_total[j.pipeline][status];
    // Dry runs and diffs write nothing: their counts are plans, not records written.
    auto& rec = a->plan ? stats_.planned[j.pipeline] : stats_.records[j.pipeline];
    rec["read"] += j.counts.read;
    rec["inserted"] += j.counts.inserted;
    rec["updated"] += j.counts.updated;
    rec["deleted"] += j.counts.deleted;
    rec["linked"] += j.counts.linked;
    rec["skipped"] += j.counts.skipped;
    rec["failed"] += j.counts.failed;
    if (!j.started_at.empty()) {
      stats_.durations[j.pipeline].Add(
          std::chrono::duration<double>(clock_->Now() - a->started).count());
    }
    ++a->version;
  }
  changed_.notify_all();
}

void JobRunner::WorkerLoop() {
  for (;;) {
    std::shared_ptr<Active> a;
    {
      std::unique_lock<std::mutex> lk(mu_);
      work_.wait(lk, [&] { return stopping_ || !ready_.empty(); });
      if (stopping_) return;
      a = ready_.front();
      ready_.pop_front();
      a->running = true;
      ++busy_;
    }
    Execute(a);
    std::lock_guard<std::mutex> lk(mu_);
    --busy_;
  }
}

void JobRunner::Execute(const std::shared_ptr<Active>& a) {
  const std::string pipeline = a->job.pipeline;
  json body = json::parse(a->job.request, nullptr, false);
  Result<std::shared_ptr<const Config>> config = resolve_(pipeline);
  Result<SyncRequest> req = config.ok() ? SyncRequestFor(**config, pipeline, a->job.kind, body)
                                        : Result<SyncRequest>(config.status());
  if (!req.ok()) {
    Finish(a, "failed", req.status().ToString());
    return;
  }
  req->cancel = &a->cancel;
  req->env = options_.env;
  // A job's attempts are its retries (retry_attempts, retry_delay: each a new attempt from the
  // checkpoints, shown in the job), so the engine does not retry inside an attempt as well.
  req->retries = 0;
  // A pipeline another process is running (a cron `tether sync`) is waited for rather than
  // retried: the job then runs as soon as it is free. Stop and job_timeout end the wait too.
  req->lock_wait =
      options_.job_timeout.count() > 0
          ? options_.job_timeout
          : std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::hours(24));
  const bool plan = req->plans_only();
  {
    std::lock_guard<std::mutex> lk(mu_);
    a->plan = plan;
    Job& j = a->job;
    ++j.attempt;
    j.status = "running";
    if (j.started_at.empty()) {
      j.started_at = IsoUtc(clock_->WallNow());
      a->started = clock_->Now();
    }
    if (options_.job_timeout.count() > 0) a->deadline = clock_->Now() + options_.job_timeout;
    Log(*a, "info",
        fmt::format("attempt {} of {} started ({} {})", j.attempt, j.max_attempts, j.kind,
                    j.request));
  }
  changed_.notify_all();
  Persist(a);

  Observer observer(this, a, plan);
  Result<SyncReport> report = RunSync(**config, *req, &observer);

  if (report.ok()) {
    {
      // The report is the final word on counts (a dry run reports no entity progress).
      std::lock_guard<std::mutex> lk(mu_);
      for (const EntityReport& e : report->entities) {
        if (!a->entity_counts.count(e.entity)) a->order.push_back(e.entity);
        a->entity_counts[e.entity] = e.counts;
        a->done[e.entity] = true;
      }
    }
    Finish(a, report->run.status, report->run.message);
    return;
  }
  const Status st = report.status();
  std::string reason;
  {
    std::lock_guard<std::mutex> lk(mu_);
    reason = a->stop_reason;
  }
  if (st.code() == StatusCode::kCancelled || !reason.empty()) {
    if (reason == "timeout") {
      Finish(a, "timed_out",
             fmt::format("stopped after job_timeout ({}); committed batches stay, and the next "
                         "run resumes from the checkpoint",
                         DurationText(options_.job_timeout)));
    } else if (reason == "shutdown") {
      Finish(a, "cancelled",
             "the server stopped during the run; committed batches stay, and the next run "
             "resumes from the checkpoint");
    } else {
      Finish(a, "cancelled", "stopped on request; committed batches stay");
    }
    return;
  }
  bool retry = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    Job& j = a->job;
    if (st.IsRetryable() && j.attempt < j.max_attempts && !stopping_) {
      retry = true;
      const auto delay =
          options_.retry_delay * (int64_t{1} << std::min<int64_t>(j.attempt - 1, 20));
      a->next_attempt = clock_->WallNow() + delay;
      for (const std::string& name : a->order) a->earlier += a->entity_counts.at(name);
      a->order.clear();
      a->entity_counts.clear();
      a->totals.clear();
      a->done.clear();
      a->current.clear();
      a->deadline.reset();
      a->running = false;
      j.status = "queued";
      j.message = fmt::format("attempt {} failed: {}; retrying at {}", j.attempt, st.ToString(),
                              IsoUtc(*a->next_attempt));
      Log(*a, "warn", j.message);
    }
  }
  if (retry) {
    changed_.notify_all();
    Persist(a);
    return;
  }
  Finish(a, "failed", st.ToString());
}

void JobRunner::MonitorLoop() {
  auto next_cleanup = clock_->Now();
  std::unique_lock<std::mutex> lk(mu_);
  while (!stopping_) {
    const auto now = clock_->Now();
    const auto wall = clock_->WallNow();
    bool changed = false;
    for (auto& [id, a] : active_) {
      if (a->running && a->deadline && now >= *a->deadline && !a->cancel) {
        a->stop_reason = "timeout";
        a->cancel = true;
        Log(*a, "warn",
            fmt::format("job_timeout ({}) reached: stopping after the current batch",
                        DurationText(options_.job_timeout)));
        changed = true;
      }
      if (!a->running && a->next_attempt && wall >= *a->next_attempt) {
        a->next_attempt.reset();
        ready_.push_back(a);
        work_.notify_one();
      }
    }
    if (changed) changed_.notify_all();  // event streams wait on it: only when a run changed
    if (now >= next_cleanup) {
      next_cleanup = now + kCleanupEvery;
      lk.unlock();
      Cleanup();
      lk.lock();
      continue;
    }
    clock_->WaitUntil(monitor_, lk, now + kMonitorEvery);
  }
}

void JobRunner::Cleanup() {
  const std::string cutoff = IsoUtc(clock_->WallNow() - options_.cleanup_age);
  Result<int64_t> n = store_->DeleteJobsFinishedBefore(cutoff);
  if (!n.ok()) {
    std::fprintf(stderr, "tether serve: cleanup of runs finished before %s failed: %s\n",
                 cutoff.c_str(), n.status().ToString().c_str());
  } else if (*n > 0) {
    std::fprintf(stderr, "tether serve: deleted %lld runs finished before %s (cleanup_age)\n",
                 static_cast<long long>(*n), cutoff.c_str());
  }
}

}  // namespace tether
