// The engine's run of one sync request, private to src/engine/: Runner holds a run's connectors,
// state and context, and its work is spread over one file per SyncMode — sync.cc (preparing,
// the lock, transactions, the run row), sync_full.cc, sync_changes.cc, sync_keys.cc and
// sync_compare.cc. One Runner per thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "engine/batch.h"
#include "engine/sync.h"
#include "state/state_store.h"

namespace tether {
class ChangeLog;
}  // namespace tether

namespace tether::sync_internal {

struct EntityPlan {
  const EntityMapping* mapping;
  std::vector<Condition> conditions;
  bool filtered = false;
  std::string options_hash;
};

// Holds a transaction's per-record reports until it commits: a batch that is rolled back and
// retried must not report its records twice. Everything else passes straight through.
class BufferedObserver : public SyncObserver {
 public:
  void Reset(SyncObserver* to) {
    to_ = to;
    records_.clear();
  }
  void Flush() {
    if (to_) {
      for (const RecordPlan& r : records_) to_->OnRecord(r);
    }
    records_.clear();
  }
  void OnRecord(const RecordPlan& record) override { records_.push_back(record); }
  bool WantsWrittenRecords() const override { return to_ && to_->WantsWrittenRecords(); }
  void OnNotice(const std::string& text) override {
    if (to_) to_->OnNotice(text);
  }

 private:
  SyncObserver* to_ = nullptr;
  std::vector<RecordPlan> records_;
};

class Runner {
 public:
  Runner(const Config& config, const SyncRequest& req, SyncObserver* obs)
      : config_(config), req_(req), obs_(obs) {}
  // The pipeline's lock goes now rather than when the session ends: a server ends a closed
  // session in its own time, and the next run should not find the lock still held. Should the
  // release fail, closing the session (next) releases it.
  ~Runner() {
    if (locked_) (void)target_->ReleaseLock(LockName());
  }

  Result<SyncReport> Run();
  // Opens both sides and resolves every entity against the real schemas. With `lock`, takes the
  // pipeline's lock in the target first, before anything (--create-tables) is written.
  Status Prepare(bool lock);
  // After Prepare: a warning (notice) per entity whose normalised match key the target cannot
  // look up through an index, which would read the whole table for every batch.
  Status CheckMatchIndexes(SyncObserver* observer);

 private:
  // Runs the request's mode. `again`: a retry of the run (RunWithRetries) — the counts of what
  // earlier attempts committed are kept, and entities they completed are not run again.
  Status RunEntities(bool dry_run, SyncObserver* obs, bool again = false);
  // The writing run, and each retry SyncRequest::retries allows after a retryable failure:
  // waits (the env's clock), opens the connections again (Reconnect) and runs again from the
  // checkpoints. Returns the last attempt's status.
  Status RunWithRetries();
  // Opens both sides again through the env's factory, with a new state store, and takes the
  // pipeline's lock again: what a new run would do, for the same run.
  Status Reconnect();
  // Opens source_ and target_ through the env's factory.
  Status OpenSides();
  // SyncMode::kFull and kCompare: every selected entity, then the delete sweeps.
  Status RunFull(bool dry_run);
  // SyncRequest::keys in kKeys mode, else none.
  const std::map<std::string, std::vector<std::string>>& Keys() const;
  Status RunEntity(const EntityPlan& plan, bool dry_run);
  // The entity's source rows in `range`, batch by batch (bulk chunks where they fit).
  Status RunRange(const EntityPlan& plan, BatchProcessor& processor, Connector* ahead,
                  const KeyRange& range, bool dry_run);
  // Records range checksums found different (keys in key order, of either side), a batch of
  // keys per transaction with its checkpoint.
  Status RunDiffering(const EntityPlan& plan, BatchProcessor& processor,
                      const std::vector<Row>& keys, bool dry_run);
  Status CommitBatch(const EntityPlan& plan, const Row& last_key, bool dry_run);
  // The keyset scan of an entity's source rows past `after`, `batch` at a time.
  ScanRequest EntityScan(const EntityPlan& plan, const std::optional<Row>& after, size_t batch,
                         const std::optional<Row>& upto) const;
  // Bulk chunks: where the target has none of the rows still to come (a first copy, or the new
  // end of a table), batches of an identity-keyed entity without references are written into
  // one BulkWriter — on PostgreSQL a COPY that the server works through while tether prepares
  // the next batch — and committed with the checkpoint every SyncRequest::bulk_chunk_time
  // (a second). A record the target refuses rolls the chunk back; its batches are then written
  // the usual way, where a refused record fails alone.
  bool BulkEligible(const EntityMapping& m, bool dry_run) const;
  // True when the target has no row that a source row past `after` could be: none with a key
  // past it (integer keys, which order alike in every engine), or none at all.
  Result<bool> TargetEmptyPast(const EntityMapping& m, const std::optional<Row>& after);
  struct BulkChunkResult {
    size_t batches = 0;  // batches read (and, on failure, to redo)
    bool done = false;   // the last batch of the entity was read
  };
  // One bulk chunk from `*after`, in one transaction; on success *after moves past it.
  Status BulkChunk(const EntityPlan& plan, BatchProcessor& processor, Connector* ahead,
                   std::optional<Row>* after, const std::optional<Row>& upto,
                   BulkChunkResult* result);
  // Runs `body` in one target transaction (none in a dry run). A retryable failure rolls it
  // back, restores the run's in-memory state and tries again, up to kMaxAttempts times.
  Status Transaction(bool dry_run, const std::string& what, const std::function<Status()>& body);
  Status RunDeletes(bool dry_run, const std::vector<std::string>& names);
  // The unfiltered of these entities get a full pass next (RunContext::passes_ahead).
  void ExpectPasses(const std::vector<std::string>& names);
  // Compare runs, mapped keys: the target rows no source record pairs with.
  Status SweepUnpaired(const EntityMapping& m);
  // Selective sync (SyncRequest::keys): each selected record brought in line, a batch of keys
  // per transaction.
  Status RunKeys(bool dry_run);
  // Brings the records `ids` (source ids) in line, a batch per transaction; `commit(last)`
  // writes the batch's state inside it (`last`: the index of its last id).
  Status KeyBatches(const EntityPlan& plan, BatchProcessor& processor,
                    const std::vector<std::string>& ids, const std::vector<Condition>& conditions,
                    bool dry_run, const std::function<Status(size_t last)>& commit);
  // Incremental run: entities that have not read changes yet are copied whole first; then the
  // change log is read in order, batch by batch, each batch's changed records brought in line
  // in one target transaction with every entity's change checkpoint.
  Status RunChanges(bool dry_run);
  // The selected entities whose changes `log` records, in run order; kInvalidArgument naming an
  // entity that is neither tracked nor has a `cursor:` column.
  Result<std::vector<std::string>> LoggedEntities(ChangeLog& log);
  // The first pass of entities without a change checkpoint: copied whole (with their delete
  // sweeps), then their change checkpoint set to the settled sequence from before the copy,
  // which is returned.
  Result<int64_t> CopyBeforeChanges(ChangeLog& log, const std::vector<std::string>& initial,
                                    bool dry_run);
  // Reads the change log past the smallest of `position` (entity -> its change checkpoint),
  // batch by batch, each batch's changed records (coalesced) brought in line in one target
  // transaction that moves the entities' change checkpoints.
  Status ApplyChanges(ChangeLog& log, std::map<std::string, int64_t> position, bool dry_run);
  // Sets the change checkpoint of `names` to `seq` (in the caller's transaction).
  Status PutChangePositions(const std::vector<std::string>& names, int64_t seq);
  // Cursor mode for one entity (`cursor:`, no change log): rows past the position in (cursor,
  // key) order; the position stops at the newest cursor minus the entity's lag, so rows that
  // commit late with an older cursor are read again. Deletes are not seen.
  Status RunCursor(const EntityPlan& plan, bool dry_run);
  // The newest cursor value of the entity's source table, minus its lag for timestamps.
  Result<Value> CursorBound(const EntityMapping& m);
  Status WriteBatchState();
  std::string LockName() const { return "pipeline:" + pipeline_->name; }
  // Takes the pipeline's lock in the target (SyncRequest::lock_wait). `lost_session`: the run
  // held it in a session it has lost (Reconnect), which its server may not have dropped yet.
  Status AcquireLock(bool lost_session = false);
  // Who holds the pipeline (from tether_runs' running rows), for the kBusy message.
  std::string Holder();
  // What the pipeline's running rows say of the lock's holder. kGone: the newest running row is
  // of a process of this host that no longer exists, whose session its server has not let go
  // of yet. kThisRun: the row is this run's own, so the holder is the session it lost before
  // connecting again (also when no row says and the run has just lost its session). kAlive for
  // a live process, one on another host, or when no row says.
  enum class HolderState { kAlive, kGone, kThisRun };
  HolderState LockHolderState(bool lost_session);
  // With the lock held, every other run of the pipeline still marked running is dead: marks
  // them interrupted.
  Status MarkInterrupted();
  // Writes the run row — unless the run has changed nothing yet and SyncRequest::record_idle
  // is false.
  Status RecordRun();
  // Every selected key (SyncRequest::keys) is one its entity's source key can be.
  Status CheckKeys() const;
  // A second connection to the source, for reading pages ahead (engine/page_reader.h); null
  // when the source's reads gain nothing by it (Capabilities::read_ahead).
  Result<Connector*> ReadAheadSource();
  Status FinishRun(const Status& outcome);

  const Config& config_;
  const SyncRequest& req_;
  SyncObserver* obs_;
  const PipelineConfig* pipeline_ = nullptr;
  std::unique_ptr<Connector> source_, target_;
  std::unique_ptr<Connector> ahead_;  // see ReadAheadSource
  std::unique_ptr<StateStore> state_;
  RunContext ctx_;
  std::vector<std::string> order_;  // selected entities, parents first
  std::vector<std::string> all_;    // every entity of the pipeline, parents first
  std::map<std::string, EntityPlan> plans_;
  // Entities compared by checksums (their differing records, deleted ones included, were
  // brought in line by key or range: no delete sweep), and how each entity was compared
  // (EntityReport::method).
  std::set<std::string> compared_;
  std::map<std::string, std::string> methods_;
  RunInfo run_;
  bool resumed_ = false;
  BufferedObserver buffer_;
  // Who hears of entities and progress: the caller's observer, but not during the pre-flight of
  // an error policy (the run it plans is reported by the run that follows).
  SyncObserver* watcher_ = nullptr;
  bool locked_ = false;              // this run holds the pipeline's lock (AcquireLock)
  int retries_ = 0;                  // SyncRequest::retries used
  std::set<std::string> completed_;  // entities whose full pass this run has committed
  bool run_recorded_ = false;        // the run row exists
  int64_t state_changes_ = -1;       // changes counted when run state was last written
  std::chrono::steady_clock::time_point state_written_{};
  std::chrono::steady_clock::time_point run_written_{};  // the run row's counts, last written
};

}  // namespace tether::sync_internal
