// BatchProcessor: turns one batch of source rows of one entity into target writes — identify
// (link, match key, new), resolve references (pulling missing parents first), validate, decide,
// apply — inside the caller's open target transaction. Used by RunSync on one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "connectors/connector.h"
#include "engine/mapping.h"
#include "engine/sync.h"
#include "state/state_store.h"

namespace tether {

struct RunContext {
  const Config* config = nullptr;
  const PipelineConfig* pipeline = nullptr;
  Connector* source = nullptr;
  Connector* target = nullptr;
  StateStore* state = nullptr;
  std::map<std::string, std::unique_ptr<EntityMapping>> mappings;
  std::string run_id;
  bool dry_run = false;
  OnDuplicate on_duplicate = OnDuplicate::kMerge;
  OnInvalid on_invalid = OnInvalid::kSkip;
  SyncObserver* observer = nullptr;
  std::map<std::string, RunCounts> counts;  // per entity, whole run

  // Filled during a batch, written with it by the caller.
  std::vector<RecordResult> results;
  std::vector<BeforeImage> images;
  // First violation of an error policy (on_invalid / on_duplicate = error).
  Status violation;
  // Records this run has decided already (entity, source id), so that none is processed or
  // counted twice: parents pulled ahead of their own batch, and rejected records (not pulled
  // again for each of their children; a dry run also learns from them that a child would fail).
  std::set<std::pair<std::string, std::string>> pulled;
  std::set<std::pair<std::string, std::string>> rejected;
  // Entities whose full, unfiltered pass is still to come in this run: their records are
  // brought in line there, so a parent written anew need not take them along (FollowRecreated).
  std::set<std::string> passes_ahead;
  // Entities the run touches only if a parent is written anew (children not selected) whose
  // mapping could not be built (their table lacking a column, say), with why: the run goes on,
  // and fails with that reason only if such a child has to follow (FollowRecreated).
  std::map<std::string, Status> unmapped;
  bool compare = false;  // SyncRequest::compare
  // Dry runs: the records of mapped entities paired with a target row by match key in this run,
  // which a real run would have linked by now (links are not written in a dry run), per entity:
  // target id -> source id and back. With the links they say that a target row is taken (not
  // paired twice, not "only in the target") and translate keys made of references (KeyMap).
  // One entry per record the dry run pairs by match key.
  struct Pairings {
    std::map<std::string, std::string> by_target, by_source;
  };
  std::map<std::string, Pairings> paired;
  // Dry runs: the records this run would insert (per entity, a hash of the source id). The real
  // run has written them by now, under ids a plan does not know: a reference to one is to a
  // parent the run creates (not one to pull again), and a link of one (its target row was gone)
  // no longer says where it is. One entry per planned insert.
  std::map<std::string, std::unordered_set<uint64_t>> planned;
  // Dry runs: their match keys (a hash of the key -> a hash of the source id), so that a later
  // record with the same match key fails as in the real run, where it finds that row taken.
  std::map<std::string, std::unordered_map<uint64_t, uint64_t>> planned_match;

  // Adds to `pulled` or `rejected`, remembering the addition so that a rolled-back attempt can
  // take it back (ForgetAttempt): what a rolled-back batch decided did not happen.
  void Remember(std::set<std::pair<std::string, std::string>>* set, std::string entity,
                std::string id) {
    auto [pos, added] = set->insert({std::move(entity), std::move(id)});
    if (added) attempt_log_.push_back({set, *pos});
  }
  void StartAttempt() { attempt_log_.clear(); }
  void ForgetAttempt() {
    for (auto& [set, key] : attempt_log_) set->erase(key);
    attempt_log_.clear();
  }

 private:
  std::vector<std::pair<std::set<std::pair<std::string, std::string>>*,
                        std::pair<std::string, std::string>>>
      attempt_log_;
};

// The target refused one record (a constraint, a value it cannot hold), not the whole batch.
bool IsRecordError(const Status& s);

// The key a text id (EncodeKey) stands for, typed by the table's columns ("007" stays text).
Row TypedKey(const std::string& id, const TableSchema& schema,
             const std::vector<std::string>& columns);

class BatchProcessor {
 public:
  explicit BatchProcessor(RunContext* ctx) : ctx_(ctx) {}

  // Processes source rows (in the mapping's source_columns order). Per-record problems become
  // record results; the Status is for what stops the batch (connection, policy).
  Status Process(const EntityMapping& m, std::vector<Row> rows);

  // Removes (or soft-deletes) target rows whose source row is gone, for one page of candidates.
  // Returns how many candidates were examined; 0 when done. `cursor` carries the position;
  // identity keys may stop at `upto` (inclusive).
  Result<size_t> SweepDeletes(const EntityMapping& m, std::optional<Row>* cursor, size_t limit,
                              const std::optional<Row>& upto = std::nullopt);

  // Compare runs, mapped keys: reports (as kDelete, source id "") the target rows of one page
  // that neither a link nor a match of this run pairs with a source record. Returns how many
  // target rows were examined; 0 when done. `cursor` carries the position.
  Result<size_t> SweepUnpaired(const EntityMapping& m, std::optional<Row>* cursor, size_t limit);

  // Brings the target in line with the source for these source ids (EncodeKey form, as a change
  // log records them): records the source has — and `conditions` select — are processed like a
  // batch; records it no longer has are deleted per the entity's delete policy (not in a
  // filtered run, which cannot tell gone from filtered out).
  Status ProcessKeys(const EntityMapping& m, const std::vector<std::string>& ids,
                     const std::vector<Condition>& conditions);

  // Bulk mode, for the runner's bulk chunks (engine/sync.cc): the caller has made sure that the
  // target holds none of the records (identity keys, no references, nothing past the position),
  // so they are written without a lookup, straight into `writer`. Null ends bulk mode.
  void set_bulk(BulkWriter* writer) { bulk_ = writer; }

 private:
  struct Item;
  using Handled = std::set<std::pair<std::string, std::string>>;  // (entity, source id)
  // Process without following re-created parents: skips rows pulled before or in `handled`,
  // and adds the others to it.
  Status ProcessRows(const EntityMapping& m, std::vector<Row> rows, Handled* handled);
  // Records written anew under another target id (their linked row was gone) leave their
  // children pointing at the old one: the children's source records — those referring to them —
  // are processed now, as a full sync would, a page at a time; each is then done for the run.
  Status FollowRecreated(Handled* handled);
  // The records of `child` whose reference column (a position in `columns`) holds `parent` (its
  // source id), processed a page at a time.
  Status ProcessChildren(const EntityMapping& child, int column, const Value& parent,
                         Handled* handled);
  // One batch of `m` at a parent depth: items built from the rows, their links read, their
  // references resolved (pulling parents one depth deeper), written in waves, links collected.
  Status ProcessDepth(const EntityMapping& m, std::vector<Row> rows, int depth);
  // An item per row: its source id and desired values (rules, value maps, defaults applied),
  // rejected when its id or a reference is unusable. Moves values out of `rows`.
  std::vector<Item> BuildItems(const EntityMapping& m, std::vector<Row>& rows);
  // Mapped keys: each item's link, and the target ids they give in known_.
  Status ReadLinks(const EntityMapping& m, std::vector<Item>& items);
  // Identifies, decides and applies the items in waves: an item whose parent is in the same
  // batch waits for a later wave, when the parent has its target id.
  Status RunWaves(const EntityMapping& m, std::vector<Item>& items);
  // The items ready for the next wave (none done or rejected, no parent awaited).
  std::vector<Item*> NextWave(const EntityMapping& m, std::vector<Item>& items);
  // Coerces the wave's values to the target's types; a value it cannot hold rejects its item.
  void CoerceWave(const EntityMapping& m, std::vector<Item*>& wave);
  // Counts and reports the rejected items and stores the links of all (not in dry runs).
  Status CollectLinks(const EntityMapping& m, std::vector<Item>& items, int depth,
                      RunCounts& counts);
  // Reports a rejected item; its failed link, for mapped keys with a usable id.
  std::optional<Link> ReportRejected(const EntityMapping& m, const Item& item);
  // The link of a written or paired item.
  static Link SyncedLink(const Item& item);
  Status ResolveReferences(const EntityMapping& m, std::vector<Item>& items, int depth);
  Status Identify(const EntityMapping& m, std::vector<Item*>& wave);
  Status Decide(const EntityMapping& m, std::vector<Item*>& wave);
  Status Apply(const EntityMapping& m, std::vector<Item*>& wave);
  Status ApplyBulk(const EntityMapping& m, std::vector<Item*>& wave);
  // Writes records 0..n-1 with `write` in one savepoint; if the target refuses a record, redoes
  // them one by one so that only the refused ones fail (reported through `refused`).
  Status WriteEach(size_t n, const std::function<Status(const std::vector<size_t>&)>& write,
                   const std::function<void(size_t, const Status&)>& refused);
  // Of these candidates (source id, target key), deletes — or soft-deletes — those whose source
  // record is gone, with before-images, counts, reports and link updates.
  Status DeleteGone(const EntityMapping& m, const std::vector<std::string>& source_ids,
                    const std::vector<Row>& target_keys);
  // One page of the target's keys after `*cursor` (and up to `upto`), which moves to its last.
  Result<std::vector<Row>> TargetKeyPage(const EntityMapping& m, std::optional<Row>* cursor,
                                         size_t limit, const std::optional<Row>& upto);
  // Compare runs: reports these target rows (target ids), which no source record pairs with, as
  // only in the target (kDelete with source id "").
  void ReportUnpaired(const EntityMapping& m, const std::vector<std::string>& ids);
  Status PullParents(const EntityMapping& parent, const std::vector<std::string>& ids, int depth);
  // Adds to known_ the target ids of those of `ids` (source ids of `m`) the target already has.
  Status LearnTargetIds(const EntityMapping& m, const std::vector<std::string>& ids);
  // Dry runs: marks those of `ids` the run would insert as planned in known_ (RunContext::planned).
  void LearnPlanned(const EntityMapping& m, const std::vector<std::string>& ids);
  void Reject(const EntityMapping& m, Item& item, Action action, std::string reason);
  // A link that gives the record's target row.
  static bool Linked(const Item& item);
  // The key two records without a link collide on (they would pair with one target row): the
  // match key, or nullopt when it pairs by link, has no match key, or a part is NULL.
  static std::optional<std::string> CollisionKey(const EntityMapping& m, const Item& item);
  static std::string MatchNames(const EntityMapping& m);
  // Identity keys: true when the target has no row in the key range of `keys` (one integer
  // key column; a first full copy is all such batches), so they need no lookup. Integers only:
  // their order is the same in every engine, unlike text under different collations.
  Result<bool> KeyRangeAbsent(const EntityMapping& m, const std::vector<Row>& keys);

  RunContext* ctx_;
  // Target ids known in this batch: entity -> source id -> target id (new inserts, links read).
  std::map<std::string, std::map<std::string, std::string>> known_;
  std::set<std::pair<std::string, std::string>> pulling_;
  std::vector<std::pair<std::string, std::string>> recreated_;  // (entity, source id), see Apply
  int savepoint_seq_ = 0;
  static constexpr int kProbePause = 32;  // batches not probed after a probe found rows
  int probe_pause_ = 0;
  BulkWriter* bulk_ = nullptr;  // see set_bulk
  // Compare runs: parents pulled to identify them are neither counted nor reported.
  bool silent_ = false;
};

}  // namespace tether
