// SyncMode::kFull: every selected entity whole, in key order, in batches or bulk chunks, then
// the delete sweeps. Compare runs (sync_compare.cc) and incremental runs (sync_changes.cc) use it
// too.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "engine/checksum_ranges.h"
#include "engine/mapping.h"
#include "engine/page_reader.h"
#include "engine/runner.h"

namespace tether::sync_internal {
namespace {

// Bulk chunks (Runner::BulkChunk): how many usual batches pass before a target that had rows
// past the position is probed again.
constexpr int kBulkProbePause = 32;

}  // namespace

ScanRequest Runner::EntityScan(const EntityPlan& plan, const std::optional<Row>& after,
                               size_t batch, const std::optional<Row>& upto) const {
  const EntityMapping& m = *plan.mapping;
  ScanRequest scan;
  scan.table = m.source_schema.name;
  scan.columns = m.source_columns;
  scan.key_columns = m.SourceKeyNames();
  scan.after_key = after;
  scan.conditions = plan.conditions;
  scan.limit = batch;
  scan.upto_key = upto;
  return scan;
}

bool Runner::BulkEligible(const EntityMapping& m, bool dry_run) const {
  return !dry_run && !m.mapped() && !m.generated_key && m.references.empty() &&
         target_->capabilities().transactions;
}

Result<bool> Runner::TargetEmptyPast(const EntityMapping& m, const std::optional<Row>& after) {
  bool ordered = after.has_value();
  for (size_t i = 0; ordered && i < m.key.size(); ++i) {
    ordered = m.columns[m.key[i]].target_info.type == TypeClass::kInteger &&
              (*after)[i].kind() == ValueKind::kInt;
  }
  ScanRequest probe;
  probe.table = m.target_schema.name;
  probe.columns = m.TargetKeyNames();
  probe.key_columns = m.TargetKeyNames();
  if (ordered) probe.after_key = after;
  probe.limit = 1;
  TETHER_ASSIGN_OR_RETURN(auto stream, target_->Scan(probe));
  Row row;
  TETHER_ASSIGN_OR_RETURN(bool any, stream->Next(&row));
  return !any;
}

Status Runner::BulkChunk(const EntityPlan& plan, BatchProcessor& processor, Connector* ahead,
                         std::optional<Row>* after, const std::optional<Row>& upto,
                         BulkChunkResult* result) {
  const EntityMapping& m = *plan.mapping;
  const std::string& name = m.name();
  const size_t batch_size = req_.batch_size.value_or(pipeline_->batch_size);
  Row last_key;
  Status st = Transaction(false, name, [&]() -> Status {
    *result = BulkChunkResult{};
    last_key.clear();
    PageReader reader(source_.get(), EntityScan(plan, *after, batch_size, upto), m.source_key,
                      ahead);
    TETHER_ASSIGN_OR_RETURN(auto writer,
                            target_->StartBulkInsert(m.target_schema.name, m.TargetColumnNames()));
    processor.set_bulk(writer.get());
    Status read = [&]() -> Status {
      const auto deadline = std::chrono::steady_clock::now() + req_.bulk_chunk_time;
      do {
        if (req_.cancel && req_.cancel->load()) break;  // what was read so far commits
        TETHER_ASSIGN_OR_RETURN(std::vector<Row> rows, reader.Next());
        if (rows.empty()) {
          result->done = true;
          break;
        }
        ++result->batches;
        last_key.clear();
        for (int p : m.source_key) last_key.push_back(rows.back()[p]);
        TETHER_RETURN_IF_ERROR(processor.Process(m, std::move(rows)));
        if (!ctx_.violation.ok()) return ctx_.violation;
        if (watcher_) watcher_->OnProgress(name, ctx_.counts[name]);
      } while (std::chrono::steady_clock::now() < deadline);
      return Status::OK();
    }();
    processor.set_bulk(nullptr);
    TETHER_RETURN_IF_ERROR(read);
    TETHER_RETURN_IF_ERROR(writer->Finish());
    if (last_key.empty()) return Status::OK();
    return CommitBatch(plan, last_key, false);
  });
  if (st.ok() && !last_key.empty()) *after = std::move(last_key);
  return st;
}

Status Runner::RunRange(const EntityPlan& plan, BatchProcessor& processor, Connector* ahead,
                        const KeyRange& range, bool dry_run) {
  const EntityMapping& m = *plan.mapping;
  const std::string& name = m.name();
  const size_t batch_size = req_.batch_size.value_or(pipeline_->batch_size);
  std::optional<Row> after = range.after;
  const bool bulk = BulkEligible(m, dry_run);
  int until_probe = 0;  // usual batches before the target is probed for a bulk chunk again
  size_t redo = 0;      // batches of a refused bulk chunk still to be redone the usual way
  std::unique_ptr<PageReader> reader;  // for usual batches (a bulk chunk reads with its own)
  for (;;) {
    if (req_.cancel && req_.cancel->load()) return Status::Cancelled("stopped on request");
    if (bulk && redo == 0 && until_probe == 0) {
      TETHER_ASSIGN_OR_RETURN(bool empty, TargetEmptyPast(m, after));
      if (empty) {
        reader.reset();
        BulkChunkResult chunk;
        Status st = BulkChunk(plan, processor, ahead, &after, range.upto, &chunk);
        if (st.ok()) {
          if (chunk.done) break;
          continue;
        }
        // (Refused before any batch was read is not about a record: redoing nothing would only
        // try the same chunk again.)
        if (!IsRecordError(st) || chunk.batches == 0) return st;
        // A record the target refuses (a row that appeared meanwhile, a constraint tether does
        // not know): the chunk was rolled back; its batches go the usual way, record by record.
        if (obs_) {
          obs_->OnNotice(
              fmt::format("{}: the bulk insert was refused ({}); writing its {} "
                          "batches one by one",
                          name, st.message(), chunk.batches));
        }
        redo = chunk.batches;
      } else {
        until_probe = kBulkProbePause;
      }
    }
    if (!reader) {
      reader = std::make_unique<PageReader>(
          source_.get(), EntityScan(plan, after, batch_size, range.upto), m.source_key, ahead);
    }
    TETHER_ASSIGN_OR_RETURN(std::vector<Row> rows, reader->Next());
    if (rows.empty()) break;
    Row last_key;
    for (int p : m.source_key) last_key.push_back(rows.back()[p]);
    TETHER_RETURN_IF_ERROR(Transaction(dry_run, name, [&]() -> Status {
      TETHER_RETURN_IF_ERROR(processor.Process(m, rows));
      if (!ctx_.violation.ok() && !dry_run) return ctx_.violation;
      return CommitBatch(plan, last_key, dry_run);
    }));
    if (watcher_) watcher_->OnProgress(name, ctx_.counts[name]);
    after = std::move(last_key);
    if (redo > 0) {
      --redo;
    } else if (until_probe > 0) {
      --until_probe;
    }
  }
  return Status::OK();
}

Status Runner::RunDiffering(const EntityPlan& plan, BatchProcessor& processor,
                            const std::vector<Row>& keys, bool dry_run) {
  std::vector<std::string> ids;
  ids.reserve(keys.size());
  for (const Row& k : keys) ids.push_back(EncodeKey(k));
  return KeyBatches(plan, processor, ids, {}, dry_run,
                    [&](size_t last) { return CommitBatch(plan, keys[last], dry_run); });
}

Status Runner::RunEntity(const EntityPlan& plan, bool dry_run) {
  const EntityMapping& m = *plan.mapping;
  const std::string& name = m.name();
  ctx_.passes_ahead.erase(name);
  if (watcher_) watcher_->OnEntityStart(name);
  std::optional<Row> after;
  if (!req_.restart && req_.mode != SyncMode::kCompare) {
    TETHER_ASSIGN_OR_RETURN(auto cp, state_->GetCheckpoint(pipeline_->name, name));
    if (cp && cp->mode == "full" && cp->position && cp->options_hash == plan.options_hash) {
      Row k = TypedKey(*cp->position, m.source_schema, m.SourceKeyNames());
      if (!k.empty()) {
        after = std::move(k);
        resumed_ = true;
        if (watcher_) {
          watcher_->OnNotice(fmt::format("{}: resuming after key {} (checkpoint of run {})", name,
                                         *cp->position, cp->run_id));
        }
      }
    }
  }
  BatchProcessor processor(&ctx_);
  TETHER_ASSIGN_OR_RETURN(Connector * ahead, ReadAheadSource());
  std::optional<std::vector<ChecksumWork>> differing;  // by checksums: only these differ
  compared_.erase(name);
  if (req_.checksums && !plan.filtered) {
    std::string why = ChecksumIneligibility(m, config_, *source_, *target_);
    if (why.empty()) {
      // A first copy has nothing to skip: no need to checksum the source.
      TETHER_ASSIGN_OR_RETURN(bool empty, TargetEmptyPast(m, after));
      if (empty) why = "the target has none of the rows";
    }
    if (why.empty()) {
      TETHER_ASSIGN_OR_RETURN(
          ChecksumPlan cp, PlanByChecksums(source_.get(), target_.get(), m,
                                           KeyRange{after, std::nullopt}, req_.checksum_options));
      // Records the checksums proved equal were read and compared, in effect.
      ctx_.counts[name].read += cp.equal_rows;
      ctx_.counts[name].unchanged += cp.equal_rows;
      methods_[name] = cp.Summary();
      differing = std::move(cp.work);
      compared_.insert(name);
      // The checksums tell the total: no need to count the source.
      if (req_.count_rows && watcher_) {
        watcher_->OnEntityTotal(name, cp.equal_rows + cp.copy_rows + cp.differing);
      }
    } else {
      methods_[name] = "rows (no checksums: " + why + ")";
    }
  }
  if (!differing && req_.count_rows && watcher_) {
    TETHER_ASSIGN_OR_RETURN(int64_t total, source_->Count(m.source_schema.name, plan.conditions));
    watcher_->OnEntityTotal(name, total);
  }
  if (!differing) {
    TETHER_RETURN_IF_ERROR(
        RunRange(plan, processor, ahead, KeyRange{after, std::nullopt}, dry_run));
  }
  for (const ChecksumWork& work : differing.value_or(std::vector<ChecksumWork>{})) {
    if (work.copy) {
      TETHER_RETURN_IF_ERROR(RunRange(plan, processor, ahead, *work.copy, dry_run));
    } else {
      TETHER_RETURN_IF_ERROR(RunDiffering(plan, processor, work.keys, dry_run));
    }
  }
  if (!dry_run) {
    // The entity is complete: the next run starts from the beginning.
    Checkpoint cp;
    cp.run_id = run_.run_id;
    cp.options_hash = plan.options_hash;
    TETHER_RETURN_IF_ERROR(Transaction(
        dry_run, name, [&] { return state_->PutCheckpoint(pipeline_->name, name, cp); }));
    completed_.insert(name);
  }
  if (watcher_) watcher_->OnEntityEnd(name, ctx_.counts[name]);
  return Status::OK();
}

Status Runner::RunFull(bool dry_run) {
  ExpectPasses(order_);
  for (const std::string& name : order_) {
    if (completed_.count(name)) {  // by an earlier attempt of this run (RunWithRetries)
      ctx_.passes_ahead.erase(name);
      continue;
    }
    TETHER_RETURN_IF_ERROR(RunEntity(plans_.at(name), dry_run));
  }
  return RunDeletes(dry_run, order_);
}

Status Runner::RunDeletes(bool dry_run, const std::vector<std::string>& names) {
  // Children first, so that a parent is never removed from under its children.
  for (auto name = names.rbegin(); name != names.rend(); ++name) {
    const EntityPlan& plan = plans_.at(*name);
    const EntityMapping& m = *plan.mapping;
    if (m.config->delete_policy == DeletePolicy::kIgnore && !ctx_.compare) continue;
    if (plan.filtered) {
      if (ctx_.observer) {
        ctx_.observer->OnNotice(fmt::format(
            "{}: deletes are not propagated by a filtered run (it cannot tell deleted from "
            "filtered out)",
            *name));
      }
      continue;
    }
    BatchProcessor processor(&ctx_);
    const size_t page = req_.batch_size.value_or(pipeline_->batch_size);
    // Compared by checksums: the rows gone from the source were among the differing records.
    std::optional<Row> cursor;
    for (bool swept = compared_.count(*name) > 0; !swept;) {
      if (req_.cancel && req_.cancel->load()) return Status::Cancelled("stopped on request");
      size_t examined = 0;
      std::optional<Row> start = cursor;
      TETHER_RETURN_IF_ERROR(Transaction(dry_run, *name, [&]() -> Status {
        cursor = start;
        TETHER_ASSIGN_OR_RETURN(examined, processor.SweepDeletes(m, &cursor, page));
        if (dry_run) return Status::OK();
        return WriteBatchState();
      }));
      swept = examined == 0;
    }
    if (ctx_.compare && m.mapped()) TETHER_RETURN_IF_ERROR(SweepUnpaired(m));
    if (watcher_) watcher_->OnProgress(*name, ctx_.counts[*name]);
  }
  return Status::OK();
}

}  // namespace tether::sync_internal
