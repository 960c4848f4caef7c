// Diff: what differs between a pipeline's source and target, record by record — only in the
// source, only in the target, changed (field by field), or not syncable at all. It is the sync
// engine's compare run (a dry run that also looks for target rows without a source record), so
// records pair exactly as a sync pairs them: by link, match key or identity key, through the
// column mapping. RunDiff runs on the calling thread and calls its observer there.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "engine/sync.h"

namespace tether {

enum class DiffKind { kOnlyInSource, kOnlyInTarget, kChanged, kInvalid };
// only_in_source, only_in_target, changed, invalid
std::string_view DiffKindName(DiffKind kind);

struct Difference {
  std::string entity;
  DiffKind kind = DiffKind::kChanged;
  std::string source_id;  // "" for a target row that no source record pairs with
  std::string target_id;  // "" for a record only in the source
  // kChanged: the fields that differ, in target column names; `before` is the target's value,
  // `after` what the source's record makes of it (what a sync would write).
  std::vector<FieldChange> fields;
  std::string reason;  // kInvalid: why a sync cannot write the record; else a remark or ""
  // kOnlyInTarget: a sync would leave the row as it is (RecordPlan::kept): its entity has
  // delete: ignore, or no source record was ever linked to it.
  bool kept = false;
};

struct EntityDiff {
  std::string entity;
  int64_t source_rows = 0;  // source records compared (by checksum or one by one)
  int64_t unchanged = 0;    // records equal on both sides (in ranges whose checksums matched too)
  int64_t only_in_source = 0;
  int64_t only_in_target = 0;
  int64_t changed = 0;
  int64_t invalid = 0;
  int64_t kept = 0;    // of only_in_target: rows a sync leaves by policy (Difference::kept)
  std::string method;  // how it compared (EntityReport::method)
  bool equal() const { return only_in_source + only_in_target + changed + invalid == 0; }
  // Nothing differs that a sync of the pipeline would change: every difference is a target row
  // the entity's policies keep. What `tether verify` checks.
  bool in_step() const { return only_in_source + (only_in_target - kept) + changed + invalid == 0; }
};

struct DiffReport {
  std::string pipeline;
  std::vector<EntityDiff> entities;  // parents first
  bool equal() const;
  bool in_step() const;
};

struct DiffRequest {
  std::string pipeline;
  std::vector<std::string> entities;  // empty: all of the pipeline's
  std::optional<size_t> batch_size;
  const std::atomic<bool>* cancel = nullptr;  // checked between batches
  bool checksums = true;  // SyncRequest::checksums: skip ranges whose checksums agree
  ChecksumPlanOptions checksum_options;
  bool count_rows = false;  // count each entity's source rows first, for progress estimates
};

class DiffObserver {
 public:
  virtual ~DiffObserver() = default;
  // Each difference as it is found.
  virtual void OnDifference(const Difference& d) { (void)d; }
  virtual void OnNotice(const std::string& text) { (void)text; }
  // With DiffRequest::count_rows: how many source rows the entity's compare reads.
  virtual void OnEntityTotal(const std::string& entity, int64_t total) {
    (void)entity;
    (void)total;
  }
  // After each batch compared: the entity's counts so far (method not yet known).
  virtual void OnProgress(const EntityDiff& so_far) { (void)so_far; }
};

Result<DiffReport> RunDiff(const Config& config, const DiffRequest& request,
                           DiffObserver* observer = nullptr);

}  // namespace tether
