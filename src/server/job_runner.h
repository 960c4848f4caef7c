// JobRunner: the server's bounded worker pool. It queues runs (one active run per pipeline: a
// second start is refused, not queued), runs them through the engine's RunSync on its worker
// threads with stop, timeout and retries with exponential backoff, and keeps their status,
// progress, logs and per-record results in the ServerStore. Watchers (the event stream) wait on
// a change counter. Every public method is thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "engine/sync.h"
#include "server/server_store.h"

namespace tether {

struct RunnerOptions {
  int max_concurrency = 5;
  int retry_attempts = 3;  // retries after the first attempt, for retryable failures only
  std::chrono::milliseconds retry_delay{30000};    // first retry; doubles each time
  std::chrono::milliseconds job_timeout{3600000};  // zero: none
  std::chrono::milliseconds cleanup_age{30LL * 24 * 3600 * 1000};
  size_t max_records_per_job = 100000;  // plan lines and results kept per run; the rest counted
  // How runs open connections and read time, and the clock the runner itself decides by: job
  // timeouts, when a retry is due, cleanup, the times runs show (and the Scheduler's ticks).
  // Tests wrap connectors in faults and advance a ManualClock.
  RunEnv env;
};

// The configuration a pipeline runs with now (a pipeline's definition may change between runs).
using ConfigResolver = std::function<Result<std::shared_ptr<const Config>>(const std::string&)>;

// What a watcher sees: the run as it is now, and log lines after the ones it has seen.
struct JobSnapshot {
  Job job;
  bool stop_requested = false;
  std::optional<std::string> next_attempt_at;
  uint64_t version = 0;
  bool finished = false;
  std::vector<LogLine> logs;  // seq > the caller's `after_log`, from the recent ones kept in memory
};

// Run durations in seconds, as a Prometheus histogram.
struct DurationHistogram {
  static constexpr double kBounds[] = {0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600};
  int64_t buckets[std::size(kBounds)] = {};  // runs with duration <= bound (not cumulative)
  int64_t count = 0;
  double sum = 0;
  void Add(double seconds);
};

// Counters since the process started.
struct RunnerStats {
  int busy = 0;
  int queued = 0;  // waiting for a worker or for a retry
  std::map<std::string, int64_t> finished_by_status;
  std::map<std::string, std::map<std::string, int64_t>> runs_total;  // pipeline -> status -> n
  std::map<std::string, std::map<std::string, int64_t>> records;     // pipeline -> action -> n
  std::map<std::string, std::map<std::string, int64_t>> planned;     // the same, of dry runs/diffs
  std::map<std::string, DurationHistogram> durations;                // pipeline -> runs
};

// The engine request a start call asks for: `kind` sync (body: mode, dry_run, entities, keys,
// where, restart, create_tables) or diff (entities, checksums). Names the field at fault.
Result<SyncRequest> SyncRequestFor(const Config& config, const std::string& pipeline,
                                   const std::string& kind, const nlohmann::json& body);

// The `where` filters of `request` checked before a run is accepted, as the run would check
// them: kInvalidArgument for a malformed filter or an entity the run does not select, kConfig
// for a column the entity's source table lacks (the source is opened and its tables described;
// when it cannot be reached the columns are left to the run, which retries). The source is
// opened through `open`, as the run would (RunnerOptions::env).
Status CheckWhere(const Config& config, const SyncRequest& request, const ConnectorFactory& open);

class JobRunner {
 public:
  JobRunner(ServerStore* store, ConfigResolver resolve, RunnerOptions options);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Marks runs a dead process left queued or running as failed, then starts the workers.
  Status Start();
  // Stops taking work, stops running runs between batches and waits for the workers. Their runs
  // end "cancelled" with a message saying the server stopped.
  void Shutdown();

  // Queues a run. `kind` is sync or diff; `request` the validated body of the start call.
  // kAlreadyExists when the pipeline has a queued or running run (the API's 409).
  Result<Job> Submit(const std::string& pipeline, const std::string& kind,
                     const std::string& trigger, const nlohmann::json& request);
  // Asks a run to stop: a queued one is cancelled at once, a running one between batches.
  // kNotFound for an unknown id; kAlreadyExists (409) when it has finished.
  Result<JobSnapshot> Stop(const std::string& id);
  Result<std::optional<JobSnapshot>> Get(const std::string& id, int64_t after_log = 0);
  // Blocks until the run's version passes `seen` or `timeout` passes; the run as it is then.
  Result<std::optional<JobSnapshot>> WaitForChange(const std::string& id, uint64_t seen,
                                                   int64_t after_log,
                                                   std::chrono::milliseconds timeout);
  bool PipelineActive(const std::string& pipeline);
  RunnerStats Stats();
  const RunnerOptions& options() const { return options_; }

 private:
  struct Active;
  class Observer;

  void WorkerLoop();
  void MonitorLoop();
  void Execute(const std::shared_ptr<Active>& a);
  // Ends a run: status, message, store, counters; removes it from the active set.
  void Finish(const std::shared_ptr<Active>& a, const std::string& status,
              const std::string& message);
  void Log(Active& a, const std::string& level, const std::string& text);  // with mu_ held
  void Persist(const std::shared_ptr<Active>& a);  // writes pending logs, records and the job
  JobSnapshot SnapshotLocked(const Active& a, int64_t after_log) const;
  void Cleanup();

  ServerStore* store_;
  ConfigResolver resolve_;
  RunnerOptions options_;
  RunClock* clock_;  // options_.env.clock

  std::mutex mu_;
  std::condition_variable work_;     // workers: a run is ready, or shutdown
  std::condition_variable changed_;  // watchers: some run changed
  std::condition_variable monitor_;  // the monitor: shutdown
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<Active>> active_;  // id -> queued or running run
  std::map<std::string, std::string> active_by_pipeline_;  // pipeline -> id
  std::deque<std::shared_ptr<Active>> ready_;              // waiting for a worker
  int busy_ = 0;
  RunnerStats stats_;
  std::vector<std::thread> workers_;
  std::thread monitor_thread_;
};

}  // namespace tether
