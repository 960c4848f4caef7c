// ServerStore: what `tether serve` keeps between restarts — the connections (their passwords in
// a table of their own) and pipelines defined through the API, runs (jobs) with their logs and
// per-record results, and each schedule's last tick — in tether_server_* tables through one
// Connector (a SQLite file by default; PostgreSQL or MariaDB by URL). Every call is serialized by
// an internal mutex, so any thread may call it; values only ever travel as bound parameters, never
// as SQL text.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "core/status.h"
#include "state/state_store.h"

namespace tether {

struct StoredConnection {
  std::string name;
  // As given, password included: never leaves the process. The store keeps the password of
  // the URL's user information apart, in tether_server_secrets, and the URL without it.
  std::string url;
  std::string created_at;
  std::string updated_at;
};

struct StoredPipeline {
  std::string name;
  std::string body;  // JSON object of the pipeline as given (entities inline)
  std::string created_at;
  std::string updated_at;
};

// One run of the server's job runner (the API calls it a run); one job may make several engine
// runs when it is retried.
struct Job {
  std::string id;  // "j" + UTC time + random suffix: sorts by creation time
  std::string pipeline;
  std::string kind = "sync";    // sync | diff
  std::string trigger = "api";  // api | schedule
  std::string status =
      "queued";  // queued | running | succeeded | partial | failed | cancelled | timed_out
  std::string request = "{}";  // JSON of what was asked (mode, dry_run, entities, keys ...)
  std::string created_at;
  std::string started_at;   // "" until it starts
  std::string finished_at;  // "" until it ends
  std::string message;
  int64_t attempt = 0;  // attempts made so far
  int64_t max_attempts = 1;
  std::string engine_runs = "[]";  // JSON array of the engine's run ids, one per attempt
  RunCounts counts;
  std::string progress = "{}";  // JSON, the last progress snapshot
};

struct JobFilter {
  std::optional<std::string> pipeline;
  std::optional<std::string> status;
  std::optional<std::string> kind;
  std::optional<std::string> trigger;
  std::optional<std::string> before;  // only ids < before (paging, newest first)
  size_t limit = 50;
};

struct LogLine {
  int64_t seq = 0;             // 1, 2, ... per job, assigned by the caller
  std::string at;              // UTC ISO 8601
  std::string level = "info";  // info | warn | error
  std::string text;
};

// A record's decision in a job: a plan line of a dry run or diff, or a failure / skip / delete of
// a real run.
struct RecordLine {
  int64_t seq = 0;  // 1, 2, ... per job, assigned by the caller
  std::string entity;
  std::string source_id;
  std::string target_id;
  std::string action;          // insert | update | delete | link | skip | fail
  std::string changes = "[]";  // JSON array of {column, before, after}
  std::string reason;
};

struct ScheduleMark {
  std::string pipeline;
  std::string schedule;   // the schedule's text when the mark was written
  std::string last_tick;  // UTC ISO 8601 of the last tick handled (fired or skipped)
  std::string last_job;   // id of the job it started, "" when skipped
};

class ServerStore {
 public:
  // Opens the store at `url` (sqlite:PATH is created when missing) and creates its tables.
  static Result<std::unique_ptr<ServerStore>> Open(const std::string& url);
  explicit ServerStore(std::unique_ptr<Connector> conn) : conn_(std::move(conn)) {}

  Status EnsureSchema();
  std::string_view engine() const;

  Result<std::vector<StoredConnection>> ListConnections();  // by name
  Result<std::optional<StoredConnection>> GetConnection(const std::string& name);
  Status PutConnection(const StoredConnection& c);         // insert or replace
  Result<bool> DeleteConnection(const std::string& name);  // false: there was none

  Result<std::vector<StoredPipeline>> ListPipelines();  // by name
  Result<std::optional<StoredPipeline>> GetPipeline(const std::string& name);
  Status PutPipeline(const StoredPipeline& p);
  Result<bool> DeletePipeline(const std::string& name);

  Status PutJob(const Job& job);  // insert or replace
  Result<std::optional<Job>> GetJob(const std::string& id);
  Result<std::vector<Job>> ListJobs(const JobFilter& filter);  // newest first
  // At start-up: every job left queued or running by a process that died is marked failed with
  // `message` and finished_at = now. Returns those jobs (after the change).
  Result<std::vector<Job>> FailUnfinishedJobs(const std::string& message);
  // Deletes finished jobs with finished_at < `cutoff` (ISO 8601), with their logs and records.
  // Returns how many jobs went.
  Result<int64_t> DeleteJobsFinishedBefore(const std::string& cutoff);

  Status AppendLogs(const std::string& job_id, const std::vector<LogLine>& lines);
  // Lines with seq > after, in seq order, at most `limit`.
  Result<std::vector<LogLine>> ListLogs(const std::string& job_id, int64_t after, size_t limit);

  Status AddRecords(const std::string& job_id, const std::vector<RecordLine>& records);
  // Records with seq > after (and action = `action` when given), in seq order, at most `limit`.
  Result<std::vector<RecordLine>> ListRecords(const std::string& job_id,
                                              const std::optional<std::string>& action,
                                              int64_t after, size_t limit);

  Result<std::vector<ScheduleMark>> ListScheduleMarks();
  Status PutScheduleMark(const ScheduleMark& mark);
  Status DeleteScheduleMark(const std::string& pipeline);

 private:
  Status PutConnectionLocked(const StoredConnection& c);  // in the caller's transaction

  std::mutex mu_;
  std::unique_ptr<Connector> conn_;
};

}  // namespace tether
