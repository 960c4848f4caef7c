#include "track/change_log.h"

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "core/stored.h"
#include "core/temporal.h"
#include "state/state_store.h"

namespace tether {
namespace {

ColumnDef Text(const char* name, int64_t length, bool not_null = true) {
  ColumnDef c(name, TypeClass::kText, not_null);
  c.max_length = length;
  return c;
}

TableDef ChangesDef() {
  TableDef t;
  t.name = kChangesTable;
  ColumnDef seq("seq", TypeClass::kInteger, true);
  seq.auto_increment = true;
  ColumnDef at("changed_at", TypeClass::kTimestampTz, true);
  at.scale = 6;
  t.columns = {seq, Text("entity", 100),       Text("row_key", 1000), Text("op", 1),
               at,  Text("origin", 100, false)};
  t.primary_key = {"seq"};
  t.indexes = {IndexDef{"", {"entity", "seq"}, false}};
  return t;
}

TableDef TrackedDef() {
  TableDef t;
  t.name = kTrackedTable;
  t.columns = {Text("entity", 100), Text("table_name", 255), Text("key_columns", 1000),
               Text("installed_at", 40)};
  t.primary_key = {"entity"};
  return t;
}

// A sequence number or count read from the change log.
Result<int64_t> SeqOf(const Value& v) { return StoredInt(v, std::string(kChangesTable) + ".seq"); }

}  // namespace

Result<const SqlDialect*> ChangeLog::Sql() const {
  const SqlDialect* sql = db_->sql_dialect();
  if (sql == nullptr) {
    return Status::Unsupported(fmt::format(
        "connection '{}' takes no SQL: it cannot hold a change log", db_->connection_name()));
  }
  return sql;
}

Result<bool> ChangeLog::Installed() {
  TETHER_ASSIGN_OR_RETURN(auto changes, db_->DescribeTable(kChangesTable));
  TETHER_ASSIGN_OR_RETURN(auto tracked, db_->DescribeTable(kTrackedTable));
  return changes.has_value() && tracked.has_value();
}

Status ChangeLog::Install(const std::vector<TrackedTable>& tables) {
  const std::string where = fmt::format("connection '{}'", db_->connection_name());
  // Everything is checked before anything is created.
  for (const TrackedTable& t : tables) {
    if (t.entity.empty() || t.entity.size() > 100) {
      return Status::InvalidArgument(fmt::format(
          "{}: entity '{}': a tracked entity's name has 1 to 100 characters", where, t.entity));
    }
    if (t.entity.find('$') != std::string::npos) {
      return Status::InvalidArgument(
          fmt::format("{}: entity '{}': a tracked entity's name cannot hold '$'", where, t.entity));
    }
    TETHER_ASSIGN_OR_RETURN(auto schema, db_->DescribeTable(t.table));
    if (!schema) {
      return Status::NotFound(
          fmt::format("{}: entity '{}': table '{}' does not exist", where, t.entity, t.table));
    }
    if (t.key_columns.empty()) {
      return Status::InvalidArgument(
          fmt::format("{}: entity '{}': no key columns to record", where, t.entity));
    }
    for (const std::string& k : t.key_columns) {
      if (!schema->Find(k)) {
        return Status::NotFound(fmt::format("{}: entity '{}': table '{}' has no key column '{}'",
                                            where, t.entity, t.table, k));
      }
    }
  }
  TETHER_RETURN_IF_ERROR(db_->EnsureTable(ChangesDef()));
  TETHER_RETURN_IF_ERROR(db_->EnsureTable(TrackedDef()));
  for (const TrackedTable& t : tables) {
    std::string script;
    for (const std::string& statement : db_->TrackingDdl(t, true)) script += statement + ";\n";
    Status st = db_->ExecuteScript(script);
    if (!st.ok()) {
      return st.WithContext(fmt::format("{}: installing the triggers of table '{}' (entity '{}')",
                                        where, t.table, t.entity));
    }
    TETHER_RETURN_IF_ERROR(db_->Upsert(
        kTrackedTable, {"entity", "table_name", "key_columns", "installed_at"}, {"entity"},
        {{Value::Text(t.entity), Value::Text(t.table),
          Value::Text(nlohmann::json(t.key_columns).dump()), Value::Text(UtcNow())}}));
  }
  return Status::OK();
}

Result<std::vector<TrackStatus>> ChangeLog::Describe() {
  std::vector<TrackStatus> out;
  TETHER_ASSIGN_OR_RETURN(bool installed, Installed());
  if (!installed) return out;
  TETHER_ASSIGN_OR_RETURN(
      auto tracked,
      db_->Query(std::string("SELECT entity, table_name, key_columns, installed_at FROM ") +
                 kTrackedTable + " ORDER BY entity"));
  TETHER_ASSIGN_OR_RETURN(
      auto counts,
      db_->Query(std::string("SELECT entity, count(*), min(seq), max(seq), min(changed_at), "
                             "max(changed_at) FROM ") +
                 kChangesTable + " GROUP BY entity"));
  for (const Row& r : tracked) {
    TrackStatus s;
    s.entity = r[0].ToText();
    s.table = r[1].ToText();
    nlohmann::json keys = nlohmann::json::parse(r[2].ToText(), nullptr, false);
    if (keys.is_array()) {
      for (const auto& k : keys) {
        if (k.is_string()) s.key_columns.push_back(k.get<std::string>());
      }
    }
    s.installed_at = r[3].ToText();
    for (const Row& c : counts) {
      if (c[0].ToText() != s.entity) continue;
      TETHER_ASSIGN_OR_RETURN(s.pending, SeqOf(c[1]));
      if (!c[2].is_null()) {
        TETHER_ASSIGN_OR_RETURN(s.first_seq, SeqOf(c[2]));
      }
      if (!c[3].is_null()) {
        TETHER_ASSIGN_OR_RETURN(s.last_seq, SeqOf(c[3]));
      }
      s.oldest = c[4].is_null() ? "" : c[4].ToText();
      s.newest = c[5].is_null() ? "" : c[5].ToText();
    }
    out.push_back(std::move(s));
  }
  return out;
}

Status ChangeLog::Uninstall(const std::vector<std::string>& entities) {
  TETHER_ASSIGN_OR_RETURN(auto tracked, Describe());
  const std::string where = fmt::format("connection '{}'", db_->connection_name());
  for (const std::string& e : entities) {
    bool known = false;
    for (const TrackStatus& s : tracked) known = known || s.entity == e;
    if (!known) {
      return Status::NotFound(fmt::format("{}: entity '{}' is not tracked", where, e));
    }
  }
  size_t left = tracked.size();
  for (const TrackStatus& s : tracked) {
    if (!entities.empty() &&
        std::find(entities.begin(), entities.end(), s.entity) == entities.end()) {
      continue;
    }
    std::string script;
    for (const std::string& statement :
         db_->TrackingDdl({s.entity, s.table, s.key_columns}, false)) {
      script += statement + ";\n";
    }
    Status st = db_->ExecuteScript(script);
    if (!st.ok()) {
      return st.WithContext(fmt::format("{}: removing the triggers of table '{}' (entity '{}')",
                                        where, s.table, s.entity));
    }
    TETHER_RETURN_IF_ERROR(db_->Delete(kChangesTable, {"entity"}, {{Value::Text(s.entity)}}));
    TETHER_RETURN_IF_ERROR(db_->Delete(kTrackedTable, {"entity"}, {{Value::Text(s.entity)}}));
    --left;
  }
  if (left == 0) {
    // Nothing is tracked any more: tether's own tables go too (tether_session: SQLite's mark).
    return db_->ExecuteScript(std::string("DROP TABLE IF EXISTS ") + kChangesTable +
                              ";\nDROP TABLE IF EXISTS " + kTrackedTable +
                              ";\nDROP TABLE IF EXISTS tether_session;\n");
  }
  return Status::OK();
}

Result<int64_t> ChangeLog::Prune(int64_t upto) {
  TETHER_ASSIGN_OR_RETURN(bool installed, Installed());
  if (!installed) return int64_t{0};
  TETHER_ASSIGN_OR_RETURN(auto newest,
                          db_->Query(std::string("SELECT max(seq) FROM ") + kChangesTable));
  if (newest.empty() || newest[0][0].is_null()) return int64_t{0};
  TETHER_ASSIGN_OR_RETURN(const int64_t last, SeqOf(newest[0][0]));
  const int64_t limit = std::min(upto, last - 1);
  TETHER_ASSIGN_OR_RETURN(const SqlDialect* sql, Sql());
  const std::string condition =
      " FROM " + std::string(kChangesTable) + " WHERE seq <= " + sql->Placeholder(1);
  const Row params = {Value::Int(limit)};
  TETHER_ASSIGN_OR_RETURN(auto count, db_->Query("SELECT count(*)" + condition, params));
  int64_t n = 0;
  if (!count.empty()) {
    TETHER_ASSIGN_OR_RETURN(n, SeqOf(count[0][0]));
  }
  if (n > 0) TETHER_RETURN_IF_ERROR(db_->Query("DELETE" + condition, params).status());
  return n;
}

Result<std::vector<Change>> ChangeLog::Select(const std::string& where, const Row& params,
                                              size_t limit) {
  TETHER_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT seq, entity, row_key, op, changed_at, origin FROM " +
                                         std::string(kChangesTable) + " WHERE " + where +
                                         " ORDER BY seq LIMIT " + std::to_string(limit),
                                     params));
  std::vector<Change> out;
  out.reserve(rows.size());
  for (const Row& r : rows) {
    Change c;
    TETHER_ASSIGN_OR_RETURN(c.seq, SeqOf(r[0]));
    c.entity = r[1].ToText();
    c.row_key = r[2].ToText();
    const std::string op = r[3].ToText();
    c.op = op.empty() ? 'U' : op[0];
    c.changed_at = r[4].ToText();
    if (!r[5].is_null()) c.origin = r[5].ToText();
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<Change>> ChangeLog::Read(const std::string& entity, int64_t after,
                                            size_t limit) {
  TETHER_ASSIGN_OR_RETURN(const SqlDialect* sql, Sql());
  return Select("entity = " + sql->Placeholder(1) + " AND seq > " + sql->Placeholder(2),
                {Value::Text(entity), Value::Int(after)}, limit);
}

Result<std::vector<Change>> ChangeLog::ReadAll(int64_t after, size_t limit) {
  TETHER_ASSIGN_OR_RETURN(const SqlDialect* sql, Sql());
  return Select("seq > " + sql->Placeholder(1), {Value::Int(after)}, limit);
}

Result<int64_t> ChangeLog::SettledSeq(int64_t age_seconds) {
  // "YYYY-MM-DD HH:MM:SS" in UTC compares right with every engine's changed_at: SQLite's text,
  // and the timestamps of PostgreSQL and MySQL, whose tether sessions are in UTC.
  const std::string bound = UtcSecondsText(std::time(nullptr) - age_seconds);
  TETHER_ASSIGN_OR_RETURN(const SqlDialect* sql, Sql());
  TETHER_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT max(seq) FROM " + std::string(kChangesTable) +
                                         " WHERE changed_at < " + sql->Placeholder(1),
                                     {Value::Text(bound)}));
  if (rows.empty() || rows[0][0].is_null()) return int64_t{0};
  return SeqOf(rows[0][0]);
}

}  // namespace tether
