#include "state/state_store.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/stored.h"
#include "core/temporal.h"
#include "core/utf8.h"

namespace tether {
namespace {

constexpr char kLinks[] = "tether_links";
constexpr char kCheckpoints[] = "tether_checkpoints";
constexpr char kRuns[] = "tether_runs";
constexpr char kRecords[] = "tether_run_records";
constexpr char kImages[] = "tether_before_images";

const std::vector<std::string> kLinkColumns = {"pipeline",   "entity",    "source_id", "target_id",
                                               "hash",       "synced_at", "status",    "attempts",
                                               "last_error", "metadata"};
const std::vector<std::string> kRunColumns = {
    "run_id",  "pipeline",  "status", "dry_run", "started_at", "finished_at",
    "options", "message",   "pid",    "host",    "rows_read",  "inserted",
    "updated", "unchanged", "linked", "deleted", "skipped",    "failed"};

Value TextOrNull(const std::optional<std::string>& s) {
  return s ? Value::Text(*s) : Value::Null();
}
// See StateStore::kMaxStoredText.
Value Stored(const std::string& s) {
  return Value::Text(Utf8Excerpt(s, StateStore::kMaxStoredText));
}
// Whether a link can hold `id` (StateStore::kMaxIdLength).
bool Linkable(const std::string& id) {
  return IsUtf8(id) && Utf8Length(id) <= StateStore::kMaxIdLength;
}

Result<Link> LinkFromRow(const Row& r) {  // r in kLinkColumns order
  StoredRow in(r, kLinks, kLinkColumns);
  Link l;
  l.source_id = in.Text(2);
  if (!r[3].is_null()) l.target_id = r[3].ToText();
  l.hash = in.Text(4);
  l.synced_at = in.Text(5);
  l.status = in.Text(6);
  l.attempts = in.Int(7);
  l.last_error = in.Text(8);
  l.metadata = in.Text(9);
  TETHER_RETURN_IF_ERROR(in.status());
  return l;
}

Result<RunInfo> RunFromRow(const Row& r) {  // r in kRunColumns order
  StoredRow in(r, kRuns, kRunColumns);
  RunInfo run;
  run.run_id = in.Text(0);
  run.pipeline = in.Text(1);
  run.status = in.Text(2);
  run.dry_run = in.Int(3) != 0;
  run.started_at = in.Text(4);
  run.finished_at = in.Text(5);
  run.options = in.Text(6);
  run.message = in.Text(7);
  run.pid = in.Int(8);
  run.host = in.Text(9);
  run.counts = ReadRunCounts(in, 10);
  TETHER_RETURN_IF_ERROR(in.status());
  return run;
}

}  // namespace

RunCounts& RunCounts::operator+=(const RunCounts& o) {
  read += o.read;
  inserted += o.inserted;
  updated += o.updated;
  unchanged += o.unchanged;
  linked += o.linked;
  deleted += o.deleted;
  skipped += o.skipped;
  failed += o.failed;
  return *this;
}

RunCounts ReadRunCounts(StoredRow& in, size_t first) {
  RunCounts c;
  c.read = in.Int(first);
  c.inserted = in.Int(first + 1);
  c.updated = in.Int(first + 2);
  c.unchanged = in.Int(first + 3);
  c.linked = in.Int(first + 4);
  c.deleted = in.Int(first + 5);
  c.skipped = in.Int(first + 6);
  c.failed = in.Int(first + 7);
  return c;
}

nlohmann::json RunCountsJson(const RunCounts& c) {
  return {{"read", c.read},           {"inserted", c.inserted}, {"updated", c.updated},
          {"unchanged", c.unchanged}, {"linked", c.linked},     {"deleted", c.deleted},
          {"skipped", c.skipped},     {"failed", c.failed}};
}

Status StateStore::EnsureSchema() {
  // Columns in keys and indexes have a length, which MySQL needs to index them: 100 + 100 + 500
  // characters of utf8mb4 stay under InnoDB's 3072-byte key limit. A record key longer than 500
  // characters cannot be linked (the write fails and says so).
  auto text = [](const char* n, bool not_null = false, std::optional<int64_t> length = {}) {
    ColumnDef c{n, TypeClass::kText, not_null};
    c.max_length = length;
    return c;
  };
  auto name = [&text](const char* n) { return text(n, true, 100); };
  auto key = [&text](const char* n, bool not_null) {
    return text(n, not_null, static_cast<int64_t>(kMaxIdLength));
  };
  auto integer = [](const char* n) { return ColumnDef{n, TypeClass::kInteger}; };
  TableDef links{kLinks,
                 {name("pipeline"), name("entity"), key("source_id", true), key("target_id", false),
                  text("hash"), text("synced_at"), text("status"), integer("attempts"),
                  text("last_error"), text("metadata")},
                 {"pipeline", "entity", "source_id"},
                 {{"tether_links_target", {"pipeline", "entity", "target_id"}, false}}};
  TableDef checkpoints{kCheckpoints,
                       {name("pipeline"), name("entity"), text("mode"), text("position"),
                        text("run_id"), text("options_hash"), text("updated_at")},
                       {"pipeline", "entity"},
                       {}};
  TableDef runs{
      kRuns, {}, {"run_id"}, {{"tether_runs_pipeline", {"pipeline", "started_at"}, false}}};
  for (const std::string& c : kRunColumns) {
    bool is_int = c == "dry_run" || c == "pid" || c == "rows_read" || c == "inserted" ||
                  c == "updated" || c == "unchanged" || c == "linked" || c == "deleted" ||
                  c == "skipped" || c == "failed";
    ColumnDef def{c, is_int ? TypeClass::kInteger : TypeClass::kText, c == "run_id"};
    if (c == "run_id") def.max_length = 64;
    if (c == "pipeline" || c == "started_at") def.max_length = 100;
    runs.columns.push_back(def);
  }
  TableDef records{kRecords,
                   {text("run_id", true, 64), text("entity"), text("source_id"), text("target_id"),
                    text("action"), text("error"), text("at")},
                   {},
                   {{"tether_run_records_run", {"run_id"}, false}}};
  TableDef images{kImages,
                  {text("run_id", true, 64), text("entity"), text("target_id"), text("op"),
                   text("image"), text("at")},
                  {},
                  {{"tether_before_images_run", {"run_id"}, false}}};
  for (const TableDef* def : {&links, &checkpoints, &runs, &records, &images}) {
    TETHER_RETURN_IF_ERROR(conn_->EnsureTable(*def));
  }
  exists_ = true;
  return Status::OK();
}

Result<bool> StateStore::Exists() {
  if (!exists_) {
    TETHER_ASSIGN_OR_RETURN(auto schema, conn_->DescribeTable(kRuns));
    exists_ = schema.has_value();
  }
  return *exists_;
}

Result<bool> StateStore::ReadOnlyEmpty() {
  TETHER_ASSIGN_OR_RETURN(bool exists, Exists());
  return !exists;
}

Result<std::map<std::string, Link>> StateStore::FindLinksBySource(
    const std::string& pipeline, const std::string& entity, const std::vector<std::string>& ids) {
  std::map<std::string, Link> out;
  TETHER_ASSIGN_OR_RETURN(bool empty, ReadOnlyEmpty());
  if (empty || ids.empty()) return out;
  LookupRequest req{kLinks, kLinkColumns, {"pipeline", "entity", "source_id"}, {}};
  req.keys.reserve(ids.size());
  for (const std::string& id : ids) {
    if (Linkable(id)) {
      req.keys.push_back({Value::Text(pipeline), Value::Text(entity), Value::Text(id)});
    }
  }
  if (req.keys.empty()) return out;
  TETHER_ASSIGN_OR_RETURN(auto rows, conn_->Lookup(req));
  for (const Row& r : rows) {
    TETHER_ASSIGN_OR_RETURN(Link l, LinkFromRow(r));
    out.emplace(l.source_id, std::move(l));
  }
  return out;
}

Result<std::vector<Link>> StateStore::FindLinksByTarget(const std::string& pipeline,
                                                        const std::string& entity,
                                                        const std::vector<std::string>& ids) {
  std::vector<Link> out;
  TETHER_ASSIGN_OR_RETURN(bool empty, ReadOnlyEmpty());
  if (empty || ids.empty()) return out;
  LookupRequest req{kLinks, kLinkColumns, {"pipeline", "entity", "target_id"}, {}};
  for (const std::string& id : ids) {
    if (Linkable(id)) {
      req.keys.push_back({Value::Text(pipeline), Value::Text(entity), Value::Text(id)});
    }
  }
  if (req.keys.empty()) return out;
  TETHER_ASSIGN_OR_RETURN(auto rows, conn_->Lookup(req));
  for (const Row& r : rows) {
    TETHER_ASSIGN_OR_RETURN(Link l, LinkFromRow(r));
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::vector<Link>> StateStore::ListLinks(const std::string& pipeline,
                                                const std::string& entity,
                                                const std::optional<std::string>& after,
                                                size_t limit,
                                                const std::optional<std::string>& status) {
  std::vector<Link> out;
  TETHER_ASSIGN_OR_RETURN(bool empty, ReadOnlyEmpty());
  if (empty) return out;
  ScanRequest req;
  req.table = kLinks;
  req.columns = kLinkColumns;
  req.key_columns = {"pipeline", "entity", "source_id"};
  req.conditions = {{"pipeline", Condition::Op::kEq, Value::Text(pipeline)},
                    {"entity", Condition::Op::kEq, Value::Text(entity)}};
  if (status) req.conditions.push_back({"status", Condition::Op::kEq, Value::Text(*status)});
  if (after) {
    req.after_key = Row{Value::Text(pipeline), Value::Text(entity), Value::Text(*after)};
  }
  req.limit = limit;
  TETHER_ASSIGN_OR_RETURN(auto stream, conn_->Scan(req));
  Row row;
  for (;;) {
    TETHER_ASSIGN_OR_RETURN(bool more, stream->Next(&row));
    if (!more) break;
    TETHER_ASSIGN_OR_RETURN(Link l, LinkFromRow(row));
    out.push_back(std::move(l));
  }
  return out;
}

Status StateStore::PutLinks(const std::string& pipeline, const std::string& entity,
                            const std::vector<Link>& links) {
  if (links.empty()) return Status::OK();
  std::vector<Row> rows;
  rows.reserve(links.size());
  for (const Link& l : links) {
    rows.push_back({Value::Text(pipeline), Value::Text(entity), Value::Text(l.source_id),
                    TextOrNull(l.target_id), Value::Text(l.hash), Value::Text(l.synced_at),
                    Value::Text(l.status), Value::Int(l.attempts), Stored(l.last_error),
                    Value::Text(l.metadata)});
  }
  return conn_->Upsert(kLinks, kLinkColumns, {"pipeline", "entity", "source_id"}, rows);
}

Status StateStore::DeleteLinks(const std::string& pipeline, const std::string& entity,
                               const std::vector<std::string>& source_ids) {
  if (source_ids.empty()) return Status::OK();
  std::vector<Row> keys;
  for (const std::string& id : source_ids) {
    if (Linkable(id)) keys.push_back({Value::Text(pipeline), Value::Text(entity), Value::Text(id)});
  }
  if (keys.empty()) return Status::OK();
  return conn_->Delete(kLinks, {"pipeline", "entity", "source_id"}, keys);
}

Result<std::optional<Checkpoint>> StateStore::GetCheckpoint(const std::string& pipeline,
                                                            const std::string& entity) {
  TETHER_ASSIGN_OR_RETURN(bool empty, ReadOnlyEmpty());
  if (empty) return std::optional<Checkpoint>();
  LookupRequest req{kCheckpoints,
                    {"mode", "position", "run_id", "options_hash", "updated_at"},
                    {"pipeline", "entity"},
                    {{Value::Text(pipeline), Value::Text(entity)}}};
  TETHER_ASSIGN_OR_RETURN(auto rows, conn_->Lookup(req));
  if (rows.empty()) return std::optional<Checkpoint>();
  const Row& r = rows[0];
  Checkpoint c;
  c.mode = StoredText(r[0]);
  if (!r[1].is_null()) c.position = r[1].ToText();
  c.run_id = StoredText(r[2]);
  c.options_hash = StoredText(r[3]);
  c.updated_at = StoredText(r[4]);
  return std::optional<Checkpoint>(std::move(c));
}

Result<int64_t> PositionNumber(const Checkpoint& cp, const std::string& pipeline,
                               const std::string& entity) {
  return StoredInt(
      cp.position.value_or(""),
      fmt::format("{}.position of pipeline '{}', entity '{}'", kCheckpoints, pipeline, entity));
}

Status StateStore::PutCheckpoint(const std::string& pipeline, const std::string& entity,
                                 const Checkpoint& c) {
  return conn_->Upsert(
      kCheckpoints,
      {"pipeline", "entity", "mode", "position", "run_id", "options_hash", "updated_at"},
      {"pipeline", "entity"},
      {{Value::Text(pipeline), Value::Text(entity), Value::Text(c.mode), TextOrNull(c.position),
        Value::Text(c.run_id), Value::Text(c.options_hash), Value::Text(UtcNow())}});
}

Status StateStore::PutRun(const RunInfo& r) {
  const RunCounts& c = r.counts;
  Row row = {Value::Text(r.run_id),
             Value::Text(r.pipeline),
             Value::Text(r.status),
             Value::Int(r.dry_run),
             Value::Text(r.started_at),
             Value::Text(r.finished_at),
             Value::Text(EscapeInvalidUtf8(r.options)),
             Stored(r.message),
             Value::Int(r.pid),
             Value::Text(r.host),
             Value::Int(c.read),
             Value::Int(c.inserted),
             Value::Int(c.updated),
             Value::Int(c.unchanged),
             Value::Int(c.linked),
             Value::Int(c.deleted),
             Value::Int(c.skipped),
             Value::Int(c.failed)};
  return conn_->Upsert(kRuns, kRunColumns, {"run_id"}, {row});
}

Result<std::optional<RunInfo>> StateStore::GetRun(const std::string& run_id) {
  TETHER_ASSIGN_OR_RETURN(bool empty, ReadOnlyEmpty());
  if (empty) return std::optional<RunInfo>();
  TETHER_ASSIGN_OR_RETURN(auto rows,
                          conn_->Lookup({kRuns, kRunColumns, {"run_id"}, {{Value::Text(run_id)}}}));
  if (rows.empty()) return std::optional<RunInfo>();
  TETHER_ASSIGN_OR_RETURN(RunInfo run, RunFromRow(rows[0]));
  return std::optional<RunInfo>(std::move(run));
}

Result<std::vector<RunInfo>> StateStore::ListRuns(const std::string& pipeline, size_t limit) {
  std::vector<RunInfo> out;
  TETHER_ASSIGN_OR_RETURN(bool empty, ReadOnlyEmpty());
  if (empty) return out;
  // Run ids sort by start time; keep the newest `limit` while streaming in id order.
  ScanRequest req;
  req.table = kRuns;
  req.columns = kRunColumns;
  req.key_columns = {"run_id"};
  if (!pipeline.empty()) {
    req.conditions.push_back({"pipeline", Condition::Op::kEq, Value::Text(pipeline)});
  }
  TETHER_ASSIGN_OR_RETURN(auto stream, conn_->Scan(req));
  Row row;
  for (;;) {
    TETHER_ASSIGN_OR_RETURN(bool more, stream->Next(&row));
    if (!more) break;
    TETHER_ASSIGN_OR_RETURN(RunInfo run, RunFromRow(row));
    out.push_back(std::move(run));
    if (limit > 0 && out.size() > limit) out.erase(out.begin());
  }
  std::reverse(out.begin(), out.end());
  return out;
}

Status StateStore::AddRecordResults(const std::string& run_id,
                                    const std::vector<RecordResult>& results) {
  if (results.empty()) return Status::OK();
  std::vector<Row> rows;
  std::string now = UtcNow();
  for (const RecordResult& r : results) {
    rows.push_back({Value::Text(run_id), Value::Text(r.entity), Stored(r.source_id),
                    Stored(r.target_id), Value::Text(r.action), Stored(r.error), Value::Text(now)});
  }
  auto inserted = conn_->Insert(
      kRecords, {"run_id", "entity", "source_id", "target_id", "action", "error", "at"}, rows, {});
  return inserted.status();
}

Result<std::vector<RecordResult>> StateStore::ListRecordResults(const std::string& run_id,
                                                                size_t limit) {
  std::vector<RecordResult> out;
  TETHER_ASSIGN_OR_RETURN(bool empty, ReadOnlyEmpty());
  if (empty) return out;
  TETHER_ASSIGN_OR_RETURN(auto rows,
                          conn_->Lookup({kRecords,
                                         {"entity", "source_id", "target_id", "action", "error"},
                                         {"run_id"},
                                         {{Value::Text(run_id)}}}));
  for (const Row& r : rows) {
    if (limit > 0 && out.size() >= limit) break;
    out.push_back(
        {StoredText(r[0]), StoredText(r[1]), StoredText(r[2]), StoredText(r[3]), StoredText(r[4])});
  }
  return out;
}

Status StateStore::AddBeforeImages(const std::string& run_id,
                                   const std::vector<BeforeImage>& images) {
  if (images.empty()) return Status::OK();
  std::vector<Row> rows;
  std::string now = UtcNow();
  for (const BeforeImage& b : images) {
    rows.push_back({Value::Text(run_id), Value::Text(b.entity), Stored(b.target_id),
                    Value::Text(b.op), Value::Text(EscapeInvalidUtf8(b.image)), Value::Text(now)});
  }
  auto inserted =
      conn_->Insert(kImages, {"run_id", "entity", "target_id", "op", "image", "at"}, rows, {});
  return inserted.status();
}

}  // namespace tether
