// The one-way sync engine: plan -> apply for a pipeline's entities, parents first, in atomic
// batches that carry their links, checkpoint and before-images. The CLI and (later) the server
// call RunSync; it holds all sync logic. One RunSync per thread; observers are called on the
// calling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "connectors/connector.h"
#include "core/clock.h"
#include "core/status.h"
#include "core/value.h"
#include "engine/checksum_ranges.h"
#include "state/state_store.h"

namespace tether {

enum class Action { kInsert, kUpdate, kUnchanged, kLink, kSkip, kFail, kDelete };
std::string_view ActionName(Action a);

// Values are shown in one kind per column class whatever engine they were read from (a decimal
// is a Decimal even when SQLite returned a double), see DisplayValue in engine/coerce.h.
struct FieldChange {
  std::string column;  // target column
  Value before;
  Value after;
  bool is_id = false;  // a key, match or reference column: an identifier, shown without a delta
};

// One record's decision, as a plan line or a result.
struct RecordPlan {
  std::string entity;
  std::string source_id;
  std::string target_id;  // "" for a new row not yet written (dry run)
  Action action = Action::kUnchanged;
  std::vector<FieldChange> changes;  // updates: only the fields that differ
  std::string reason;                // skip / fail: why
  // Compare runs, kDelete: a sync would leave this target row as it is — the entity has
  // delete: ignore, or no source record was ever linked to the row (tether deletes only rows
  // it wrote or paired).
  bool kept = false;
};

class SyncObserver {
 public:
  virtual ~SyncObserver() = default;
  virtual void OnRunStart(const RunInfo& run) { (void)run; }
  virtual void OnEntityStart(const std::string& entity) { (void)entity; }
  // With SyncRequest::count_rows: how many source rows the entity's run will read.
  virtual void OnEntityTotal(const std::string& entity, int64_t total) {
    (void)entity;
    (void)total;
  }
  // Every decision except kUnchanged.
  virtual void OnRecord(const RecordPlan& record) { (void)record; }
  // False when OnRecord is wanted only for records that were skipped or failed: the engine then
  // spares itself the report of each written record.
  virtual bool WantsWrittenRecords() const { return true; }
  // After each committed (or planned) batch, with the entity's totals so far (in a bulk chunk,
  // after each batch written into the chunk's transaction, which commits at the chunk's end).
  virtual void OnProgress(const std::string& entity, const RunCounts& totals) {
    (void)entity;
    (void)totals;
  }
  virtual void OnEntityEnd(const std::string& entity, const RunCounts& counts) {
    (void)entity;
    (void)counts;
  }
  virtual void OnNotice(const std::string& text) { (void)text; }
};

// What a run does with the selected entities. One file of src/engine/ each (sync_full.cc,
// sync_changes.cc, sync_keys.cc, sync_compare.cc).
enum class SyncMode {
  // Every selected entity whole, in key order, resuming after an interrupted run's checkpoint.
  kFull,
  // Incremental: read the source's change log (tether track) after each entity's change
  // checkpoint instead of whole tables, or rows past an entity's `cursor:` position; an entity
  // that has not read changes yet is copied whole first.
  kChanges,
  // Selective sync: exactly SyncRequest::keys, each record brought in line with the source as a
  // full run would — written, or deleted per the delete policy when the source no longer has
  // it; parents are pulled first. Only entities named there run. No checkpoints: the selection
  // is the whole run.
  kKeys,
  // tether diff / verify: a full pass that writes nothing (whatever dry_run says). Checkpoints
  // are ignored, and every selected entity's target rows without a source record are reported
  // as kDelete whatever its delete policy — with mapped keys also target rows that no link and
  // no match key pairs with (their source_id is ""). An unchanged record is counted, not
  // reported, as in any run.
  kCompare,
};
// "full", "changes", "keys", "compare": as runs record it in their options.
std::string_view SyncModeName(SyncMode mode);

// What a run opens its connections and reads time through (LevelDB's Env): the defaults are
// the real ones; a test passes a factory that wraps each connector in faults
// (tests/util/fault_connector.h) and a clock it advances instead of sleeping.
struct RunEnv {
  ConnectorFactory open_connector = OpenConnector;
  RunClock* clock = RealClock();
};

struct SyncRequest {
  std::string pipeline;
  SyncMode mode = SyncMode::kFull;
  std::vector<std::string> entities;        // empty: all of the pipeline's
  bool dry_run = false;                     // plan only; kCompare always does
  std::optional<OnDuplicate> on_duplicate;  // overrides the pipeline's
  std::optional<OnInvalid> on_invalid;
  std::optional<std::string> from_date;  // YYYY-MM-DD[ HH:MM[:SS]]; inclusive
  std::optional<std::string> to_date;    // a bare date includes that whole day
  // "[entity.]column op value" filters; an unprefixed one applies to every selected entity
  // that has the column (and must apply to at least one).
  std::vector<std::string> where;
  bool restart = false;  // ignore an interrupted run's checkpoints and start from the beginning
  std::optional<size_t> batch_size;
  const std::atomic<bool>* cancel = nullptr;  // checked between batches
  // How long a bulk chunk (a first copy's batches in one transaction, see engine/sync.cc) runs
  // before it commits with its checkpoint; zero commits every batch (tests use that).
  std::chrono::milliseconds bulk_chunk_time{1000};
  bool count_rows = false;     // count each entity's source rows first, for progress estimates
  bool create_tables = false;  // create missing target tables first (engine/target_tables.h)
  // kKeys: the records of each entity to bring in line (source ids in EncodeKey form: 42,
  // SKU-1, [5,"SKU-1"]); at least one. Other modes do not read it.
  std::map<std::string, std::vector<std::string>> keys;
  // Compare key ranges by checksums computed inside both databases first and read only the
  // ranges that differ (engine/checksum_ranges.h), for entities that allow it; a full sync
  // then costs about what differs. False: every record is read and compared.
  bool checksums = true;
  ChecksumPlanOptions checksum_options;  // how ranges are cut (tests use tiny ranges)
  // Where each of `keys` came from ("keys.txt:3"), in the same order, for messages: a key read
  // from a file is named by its place, never quoted (the file may be any file). Empty: keys are
  // named as they are.
  std::map<std::string, std::vector<std::string>> key_origins;
  // A run (not a dry run) holds its pipeline's lock in the target from before it writes anything
  // until it ends, so that two runs of one pipeline never interleave (they would pair the same
  // records twice). When another run holds it: wait up to this long, then fail with kBusy
  // naming the holder; zero fails at once.
  std::chrono::milliseconds lock_wait{0};
  // False: a run that changed nothing and failed nothing leaves no tether_runs row (the idle
  // passes of `sync --watch`).
  bool record_idle = true;
  RunEnv env;
  // A run that writes and fails with a retryable status (Status::IsRetryable: a lost connection,
  // a server shutting down, a deadlock, a lock wait timeout) after it has started opens both
  // connections again and goes on from its last committed checkpoints, up to this many times,
  // waiting retry_delay, then twice as long each time. What the failed attempt had not committed
  // was rolled back with it and is done again; nothing committed is written twice. Zero: the
  // run fails at once, as a rerun would then go on.
  int retries = 0;
  std::chrono::milliseconds retry_delay{1000};

  // Whether the run writes nothing.
  bool plans_only() const { return dry_run || mode == SyncMode::kCompare; }
};

struct EntityReport {
  std::string entity;
  RunCounts counts;
  // How the records were compared: "rows" (every record read and compared), or a summary of
  // the range checksums that let equal ranges be skipped.
  std::string method = "rows";
};

struct SyncReport {
  RunInfo run;
  std::vector<EntityReport> entities;  // in run order
  bool resumed = false;
  int retries = 0;  // how many of SyncRequest::retries the run used
};

// Runs (or with dry_run, plans) a pipeline. A kPolicy status means an error policy stopped the
// run before anything was written; per-record failures are in the report, not in the status.
Result<SyncReport> RunSync(const Config& config, const SyncRequest& request,
                           SyncObserver* observer = nullptr);

// `tether check`: every connection reachable, every table and column of every pipeline present,
// keys usable, no pipeline from a database into itself. Returns every problem found (Problems);
// notices go to the observer. Connections are opened through env.open_connector, as a run's.
Status CheckPipelines(const Config& config, const std::vector<std::string>& pipelines,
                      SyncObserver* observer = nullptr, const RunEnv& env = {});

}  // namespace tether
