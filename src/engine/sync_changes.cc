// SyncMode::kChanges: an incremental run, from the change log (tether track) or by cursor.
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <limits>

#include "core/temporal.h"
#include "core/utf8.h"
#include "engine/mapping.h"
#include "engine/page_reader.h"
#include "engine/runner.h"
#include "track/change_log.h"

namespace tether::sync_internal {
namespace {

// A hole in the change log's sequence whose next change is younger than this may be a source
// transaction still open (sequence numbers are taken at insert, rows appear at commit): the
// change checkpoint stays before it. Older holes are rolled-back transactions.
constexpr int64_t kChangeSettleSeconds = 10;

// Cursor order: numbers by value, anything else by its canonical text (timestamps sort so).
bool AtOrBefore(const Value& v, const Value& bound) {
  if (v.kind() == ValueKind::kInt && bound.kind() == ValueKind::kInt) {
    return v.as_int() <= bound.as_int();
  }
  return v.ToText() <= bound.ToText();
}

// Whether a changed_at text ("YYYY-MM-DD HH:MM:SS...", UTC) is within kChangeSettleSeconds.
bool Young(const std::string& changed_at) {
  std::optional<int64_t> at = UtcSeconds(changed_at);
  return !at || *at > std::time(nullptr) - kChangeSettleSeconds;
}

}  // namespace

Status Runner::RunChanges(bool dry_run) {
  ChangeLog log(source_.get());
  TETHER_ASSIGN_OR_RETURN(std::vector<std::string> logged, LoggedEntities(log));
  for (const std::string& name : order_) {
    if (std::find(logged.begin(), logged.end(), name) == logged.end()) {
      TETHER_RETURN_IF_ERROR(RunCursor(plans_.at(name), dry_run));
    }
  }
  std::map<std::string, int64_t> position;
  std::vector<std::string> initial;
  for (const std::string& name : logged) {
    TETHER_ASSIGN_OR_RETURN(auto cp, state_->GetCheckpoint(pipeline_->name, name));
    if (!req_.restart && cp && cp->mode == kChangesMode && cp->position) {
      TETHER_ASSIGN_OR_RETURN(position[name], PositionNumber(*cp, pipeline_->name, name));
    } else {
      initial.push_back(name);
    }
  }
  if (!initial.empty()) {
    TETHER_ASSIGN_OR_RETURN(int64_t start, CopyBeforeChanges(log, initial, dry_run));
    for (const std::string& name : initial) position[name] = start;
  }
  if (logged.empty()) return Status::OK();
  return ApplyChanges(log, std::move(position), dry_run);
}

Result<std::vector<std::string>> Runner::LoggedEntities(ChangeLog& log) {
  TETHER_ASSIGN_OR_RETURN(auto tracked, log.Describe());
  std::vector<std::string> logged;
  for (const std::string& name : order_) {
    const bool found = std::any_of(tracked.begin(), tracked.end(),
                                   [&](const TrackStatus& t) { return t.entity == name; });
    if (found) {
      logged.push_back(name);
    } else if (!plans_.at(name).mapping->config->cursor) {
      return Status::InvalidArgument(fmt::format(
          "--changes: the changes of entity '{}' (table '{}') are not tracked on connection '{}' "
          "(`tether track install` adds the triggers; or give the entity a `cursor:` column)",
          name, plans_.at(name).mapping->source_schema.name, source_->connection_name()));
    }
  }
  return logged;
}

Status Runner::PutChangePositions(const std::vector<std::string>& names, int64_t seq) {
  for (const std::string& name : names) {
    Checkpoint cp;
    cp.mode = kChangesMode;
    cp.position = std::to_string(seq);
    cp.run_id = run_.run_id;
    cp.options_hash = plans_.at(name).options_hash;
    TETHER_RETURN_IF_ERROR(state_->PutCheckpoint(pipeline_->name, name, cp));
  }
  return Status::OK();
}

Result<int64_t> Runner::CopyBeforeChanges(ChangeLog& log, const std::vector<std::string>& initial,
                                          bool dry_run) {
  // Everything older than the settle time is in the tables the full pass reads; changes after
  // it are read again afterwards, which is harmless (a change is applied as the row is now).
  TETHER_ASSIGN_OR_RETURN(int64_t start, log.SettledSeq(kChangeSettleSeconds));
  if (watcher_) {
    watcher_->OnNotice(
        fmt::format("{}: no change checkpoint yet: copying whole, then reading "
                    "changes after seq {}",
                    fmt::join(initial, ", "), start));
  }
  ExpectPasses(initial);
  for (const std::string& name : initial) {
    TETHER_RETURN_IF_ERROR(RunEntity(plans_.at(name), dry_run));
  }
  TETHER_RETURN_IF_ERROR(RunDeletes(dry_run, initial));
  if (!dry_run) {
    TETHER_RETURN_IF_ERROR(Transaction(dry_run, "change checkpoints",
                                       [&] { return PutChangePositions(initial, start); }));
  }
  return start;
}

Status Runner::ApplyChanges(ChangeLog& log, std::map<std::string, int64_t> position, bool dry_run) {
  int64_t from = std::numeric_limits<int64_t>::max();
  for (const auto& [name, seq] : position) from = std::min(from, seq);
  const size_t batch = req_.batch_size.value_or(pipeline_->batch_size);
  BatchProcessor processor(&ctx_);
  int64_t cursor = from, safe = from;
  bool held = false;  // a young hole: the checkpoint stays before it, later changes still apply
  for (;;) {
    if (req_.cancel && req_.cancel->load()) return Status::Cancelled("stopped on request");
    TETHER_ASSIGN_OR_RETURN(std::vector<Change> changes, log.ReadAll(cursor, batch));
    if (changes.empty()) break;
    // Coalesced: one action per changed record, whatever and however often it changed.
    std::map<std::string, std::vector<std::string>> keys;
    std::set<std::pair<std::string, std::string>> seen;
    int64_t prev = cursor;
    for (const Change& c : changes) {
      if (!held && c.seq != prev + 1 && Young(c.changed_at)) held = true;
      if (!held) safe = c.seq;
      prev = c.seq;
      auto p = position.find(c.entity);
      if (p == position.end() || c.seq <= p->second) continue;  // not selected, or read already
      if (seen.insert({c.entity, c.row_key}).second) keys[c.entity].push_back(c.row_key);
    }
    cursor = changes.back().seq;
    TETHER_RETURN_IF_ERROR(Transaction(dry_run, "changes", [&]() -> Status {
      // Parents first, as in a full run; a child whose parent is not there yet pulls it.
      for (const std::string& name : order_) {
        auto k = keys.find(name);
        if (k == keys.end()) continue;
        const EntityPlan& plan = plans_.at(name);
        TETHER_RETURN_IF_ERROR(processor.ProcessKeys(*plan.mapping, k->second, plan.conditions));
      }
      if (!ctx_.violation.ok() && !dry_run) return ctx_.violation;
      if (dry_run) return Status::OK();
      TETHER_RETURN_IF_ERROR(WriteBatchState());
      std::vector<std::string> moved;
      for (const auto& [name, seq] : position) {
        if (safe > seq) moved.push_back(name);
      }
      return PutChangePositions(moved, safe);
    }));
    for (auto& [name, seq] : position) seq = std::max(seq, safe);
    if (watcher_) {
      for (const auto& [name, ids] : keys) watcher_->OnProgress(name, ctx_.counts[name]);
    }
    if (changes.size() < batch) break;
  }
  return Status::OK();
}

Result<Value> Runner::CursorBound(const EntityMapping& m) {
  const std::string& column = *m.config->cursor;
  const SqlDialect* sql = source_->sql_dialect();
  if (sql == nullptr) {
    return Status::Unsupported(
        fmt::format("entity '{}': connection '{}' takes no SQL, which reading by cursor needs",
                    m.name(), source_->connection_name()));
  }
  TETHER_ASSIGN_OR_RETURN(auto rows, source_->Query("SELECT max(" + sql->Quote(column) + ") FROM " +
                                                    sql->Quote(m.source_schema.name)));
  if (rows.empty() || rows[0].empty() || rows[0][0].is_null()) return Value::Null();
  Value newest = rows[0][0];
  const TypeClass type = m.source_schema.Find(column)->type;
  if (type != TypeClass::kTimestamp && type != TypeClass::kTimestampTz && type != TypeClass::kAny) {
    return newest;  // a row version: no time to subtract
  }
  std::optional<int64_t> at = UtcSeconds(newest.ToText());
  if (!at) return newest;
  return Value::Text(UtcSecondsText(*at - (m.config->cursor_lag_ms + 999) / 1000));
}

Status Runner::RunCursor(const EntityPlan& plan, bool dry_run) {
  const EntityMapping& m = *plan.mapping;
  const std::string& name = m.name();
  const std::string& column = *m.config->cursor;
  if (!m.source_schema.Find(column)) {
    return Status::NotFound(fmt::format(
        "{}: entity '{}': cursor column '{}' is not a column of table '{}' on connection '{}'",
        m.config->location.ToString(), name, column, m.source_schema.name,
        source_->connection_name()));
  }
  const std::vector<std::string> key = m.SourceKeyNames();
  auto put_position = [&](const Row& position) {
    return Transaction(dry_run, name, [&]() -> Status {
      if (dry_run) return Status::OK();
      Checkpoint cp;
      cp.mode = "cursor";
      cp.position = EncodeKey(position);
      cp.run_id = run_.run_id;
      cp.options_hash = plan.options_hash;
      if (!IsUtf8(*cp.position)) return Status::OK();  // as in CommitBatch
      return state_->PutCheckpoint(pipeline_->name, name, cp);
    });
  };
  TETHER_ASSIGN_OR_RETURN(auto cp, state_->GetCheckpoint(pipeline_->name, name));
  std::optional<Row> after;    // the last settled (cursor, key) read
  std::optional<Value> since;  // or, right after a whole copy: cursor >= since
  // The position: (cursor, key...) of the last settled row, or (cursor, null...) right after a
  // whole copy.
  Row decoded;
  if (!req_.restart && cp && cp->mode == "cursor" && cp->position &&
      DecodeKey(*cp->position, 1 + key.size(), &decoded)) {
    if (decoded[1].is_null()) {
      since = decoded[0];
    } else {
      after = decoded;
    }
  } else {
    // No position yet: the whole table, then rows from just before it was read.
    TETHER_ASSIGN_OR_RETURN(Value bound, CursorBound(m));
    TETHER_RETURN_IF_ERROR(RunEntity(plan, dry_run));
    TETHER_RETURN_IF_ERROR(RunDeletes(dry_run, {name}));
    if (bound.is_null()) return Status::OK();  // an empty table: the next run copies whole
    Row position(1 + key.size());
    position[0] = bound;
    return put_position(position);
  }
  TETHER_ASSIGN_OR_RETURN(Value bound, CursorBound(m));
  if (bound.is_null()) return Status::OK();
  // Read the cursor and key too when the mapping does not carry them.
  std::vector<std::string> columns = m.source_columns;
  auto position_of = [&](const std::string& c) {
    auto it = std::find(columns.begin(), columns.end(), c);
    if (it == columns.end()) {
      columns.push_back(c);
      return static_cast<int>(columns.size() - 1);
    }
    return static_cast<int>(it - columns.begin());
  };
  std::vector<int> order_at = {position_of(column)};
  for (const std::string& k : key) order_at.push_back(position_of(k));
  ScanRequest scan;
  scan.table = m.source_schema.name;
  scan.columns = columns;
  scan.key_columns = {column};
  scan.key_columns.insert(scan.key_columns.end(), key.begin(), key.end());
  scan.after_key = after;
  scan.conditions = plan.conditions;
  scan.conditions.push_back({column, Condition::Op::kIsNotNull, {}});
  if (since) scan.conditions.push_back({column, Condition::Op::kGe, *since});
  scan.limit = req_.batch_size.value_or(pipeline_->batch_size);
  PageReader reader(source_.get(), std::move(scan), order_at, nullptr);
  BatchProcessor processor(&ctx_);
  const size_t width = m.source_columns.size();
  for (;;) {
    if (req_.cancel && req_.cancel->load()) return Status::Cancelled("stopped on request");
    TETHER_ASSIGN_OR_RETURN(std::vector<Row> rows, reader.Next());
    if (rows.empty()) break;
    // The position moves to the last row at or before the bound; later rows are read again.
    std::optional<Row> settled;
    for (const Row& r : rows) {
      if (!AtOrBefore(r[order_at[0]], bound)) break;
      Row p;
      for (int at : order_at) p.push_back(r[at]);
      settled = std::move(p);
    }
    for (Row& r : rows) r.resize(width);
    TETHER_RETURN_IF_ERROR(Transaction(dry_run, name, [&]() -> Status {
      TETHER_RETURN_IF_ERROR(processor.Process(m, rows));
      if (!ctx_.violation.ok() && !dry_run) return ctx_.violation;
      if (dry_run) return Status::OK();
      TETHER_RETURN_IF_ERROR(WriteBatchState());
      if (!settled) return Status::OK();
      Checkpoint cp;
      cp.mode = "cursor";
      cp.position = EncodeKey(*settled);
      cp.run_id = run_.run_id;
      cp.options_hash = plan.options_hash;
      if (!IsUtf8(*cp.position)) return Status::OK();  // as in CommitBatch
      return state_->PutCheckpoint(pipeline_->name, name, cp);
    }));
    if (watcher_) watcher_->OnProgress(name, ctx_.counts[name]);
  }
  return Status::OK();
}

}  // namespace tether::sync_internal
