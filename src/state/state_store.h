// StateStore: links, checkpoints, runs, per-record results and before-images, kept in tether_
// tables through a Connector — by default the target's own, so that a batch, its links and its
// checkpoint commit in one transaction. Uses only generic Connector calls, so it works on any
// engine that has the state_store capability. One thread at a time, like its Connector.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "core/status.h"

namespace tether {

struct Link {
  std::string source_id;                 // EncodeKey of the source key
  std::optional<std::string> target_id;  // none while the record has never reached the target
  std::string hash;                      // HashRow of the record as last written
  std::string synced_at;                 // UTC, ISO 8601
  std::string status = "synced";         // synced | failed | deleted
  int64_t attempts = 0;                  // failed attempts since the last success
  std::string last_error;
  std::string metadata = "{}";  // JSON
};

struct Checkpoint {
  std::string mode = "full";            // full | changes | cursor
  std::optional<std::string> position;  // JSON; none once the entity finished
  std::string run_id;
  std::string options_hash;  // a position is only resumed by a run with the same options
  std::string updated_at;
};

// A checkpoint's position as a whole number (the change log's seq a changes run read up to);
// an Internal error naming the pipeline and entity when the stored text is no number.
Result<int64_t> PositionNumber(const Checkpoint& cp, const std::string& pipeline,
                               const std::string& entity);

struct RunCounts {
  int64_t read = 0;
  int64_t inserted = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t linked = 0;  // paired with an existing target row, nothing written (on_duplicate=skip)
  int64_t deleted = 0;
  int64_t skipped = 0;  // invalid records skipped by on_invalid=skip
  int64_t failed = 0;   // records the target refused, or that could not be resolved

  RunCounts& operator+=(const RunCounts& o);
  bool Changed() const { return inserted + updated + deleted + linked > 0; }
};

class StoredRow;
// The eight counts read from a row of tether's own tables, in field order from column `first`.
RunCounts ReadRunCounts(StoredRow& in, size_t first);

// The eight counts as one JSON object ({"read": 3, "inserted": 1, ...}), as the CLI's --json
// and the REST API write them.
nlohmann::json RunCountsJson(const RunCounts& c);

struct RunInfo {
  std::string run_id;
  std::string pipeline;
  std::string status = "running";  // running | succeeded | partial | failed | interrupted
  bool dry_run = false;
  std::string started_at;
  std::string finished_at;
  std::string options;  // JSON of what was asked
  std::string message;
  int64_t pid = 0;
  std::string host;
  RunCounts counts;
};

// One record's outcome worth keeping: failures, skips, deletes.
struct RecordResult {
  std::string entity;
  std::string source_id;
  std::string target_id;
  std::string action;  // failed | skipped | deleted ...
  std::string error;
};

struct BeforeImage {
  std::string entity;
  std::string target_id;
  std::string op;     // update | delete
  std::string image;  // JSON object of the target row before the write
};

class StateStore {
 public:
  // The longest source or target id (characters) a link can hold: its columns are indexed,
  // and MySQL indexes text only up to a length.
  static constexpr size_t kMaxIdLength = 500;
  // Text the store keeps (ids of run records, errors, messages) is valid UTF-8 — bytes that are
  // not are written \xHH — and at most this many characters, cut on a character boundary: a
  // PostgreSQL or MariaDB store refuses anything else, and refusing a message would lose the
  // batch it reports. Before-images are kept whole.
  static constexpr size_t kMaxStoredText = 4000;

  // `conn` is not owned and must outlive the store.
  explicit StateStore(Connector* conn) : conn_(conn) {}

  // Creates the tether_ tables if missing.
  Status EnsureSchema();
  // True when the tables exist (a dry run against a fresh target reads as empty).
  Result<bool> Exists();

  // Ids a link cannot hold (not UTF-8, longer than kMaxIdLength) have none: they are left out
  // of lookups, never sent to the store.
  Result<std::map<std::string, Link>> FindLinksBySource(const std::string& pipeline,
                                                        const std::string& entity,
                                                        const std::vector<std::string>& ids);
  Result<std::vector<Link>> FindLinksByTarget(const std::string& pipeline,
                                              const std::string& entity,
                                              const std::vector<std::string>& ids);
  // Links of an entity in source_id order after `after` (exclusive), at most `limit`.
  Result<std::vector<Link>> ListLinks(const std::string& pipeline, const std::string& entity,
                                      const std::optional<std::string>& after, size_t limit,
                                      const std::optional<std::string>& status = std::nullopt);
  Status PutLinks(const std::string& pipeline, const std::string& entity,
                  const std::vector<Link>& links);
  Status DeleteLinks(const std::string& pipeline, const std::string& entity,
                     const std::vector<std::string>& source_ids);

  Result<std::optional<Checkpoint>> GetCheckpoint(const std::string& pipeline,
                                                  const std::string& entity);
  Status PutCheckpoint(const std::string& pipeline, const std::string& entity,
                       const Checkpoint& checkpoint);

  Status PutRun(const RunInfo& run);
  Result<std::optional<RunInfo>> GetRun(const std::string& run_id);
  // Newest first; pipeline empty = all.
  Result<std::vector<RunInfo>> ListRuns(const std::string& pipeline, size_t limit);

  Status AddRecordResults(const std::string& run_id, const std::vector<RecordResult>& results);
  Result<std::vector<RecordResult>> ListRecordResults(const std::string& run_id, size_t limit);
  Status AddBeforeImages(const std::string& run_id, const std::vector<BeforeImage>& images);

 private:
  Result<bool> ReadOnlyEmpty();  // true when tables are missing: reads return nothing
  Connector* conn_;
  std::optional<bool> exists_;
};

}  // namespace tether
