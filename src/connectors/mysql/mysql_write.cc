// Writes of the MySQL/MariaDB connector. On MariaDB, INSERT, upsert and UPDATE send their rows
// as bulk executions of a one-row statement (COM_STMT_BULK_EXECUTE: one round trip per chunk of
// rows, the server running the statement once per row); elsewhere multi-row INSERTs, and UPDATE
// one row at a time. INSERT ... RETURNING is multi-row; DELETE is `key IN (...)` everywhere.
// Every call takes effect entirely or not at all (Atomically).
#include <algorithm>
#include <cctype>

#include "connectors/mysql/mysql_connector_impl.h"
#include "connectors/mysql/mysql_dialect.h"
#include "core/ascii.h"
#include "core/temporal.h"

namespace tether::mysql {
namespace {

// The protocol numbers placeholders with 16 bits.
constexpr size_t kMaxPlaceholders = 65535;
// Rows per multi-row statement; more only makes the statement text longer to parse.
constexpr size_t kMaxRowsPerStatement = 1000;
// Rows per bulk execution; the packet limit usually comes first.
constexpr size_t kMaxBulkRows = 10000;
// Bytes per statement, below the server's max_allowed_packet: large enough that round trips
// do not matter, small enough to keep memory and the server's work per packet modest.
constexpr size_t kMaxChunkBytes = 8u << 20;

// "2024-03-01 13:05[:09[.5]]" followed by Z, +HH[:MM] or -HH[:MM].
bool LooksZoned(const Value& v) {
  if (v.kind() != ValueKind::kText) return false;
  const std::string& s = v.as_string();
  if (s.size() < 17 || s.size() > 40) return false;
  if (s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':') return false;
  return s.find_first_of("Z+-", 16) != std::string::npos;
}

// What a value costs in a statement packet, roughly (length prefix and type included).
size_t WireBytes(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kText:
    case ValueKind::kBlob:
    case ValueKind::kDecimal:
      return v.as_string().size() + 12;
    default:
      return 12;
  }
}

std::vector<const Row*> Pointers(const std::vector<Row>& rows) {
  std::vector<const Row*> out;
  out.reserve(rows.size());
  for (const Row& r : rows) out.push_back(&r);
  return out;
}

std::vector<const Value*> ValuesOf(const Row& row) {
  std::vector<const Value*> out;
  out.reserve(row.size());
  for (const Value& v : row) out.push_back(&v);
  return out;
}

}  // namespace

Status MysqlConnector::NormalizeZones(const std::string& table,
                                      const std::vector<std::string>& columns,
                                      std::vector<const Row*>* rows, std::vector<Row>* storage) {
  auto zoned_at = [&columns](const Row& row, const std::vector<bool>* only) {
    for (size_t i = 0; i < std::min(columns.size(), row.size()); ++i) {
      if ((only == nullptr || (*only)[i]) && LooksZoned(row[i])) return true;
    }
    return false;
  };
  if (std::none_of(rows->begin(), rows->end(),
                   [&](const Row* r) { return zoned_at(*r, nullptr); })) {
    return Status::OK();  // the common case: no table description needed
  }
  TETHER_ASSIGN_OR_RETURN(const auto* classes, ColumnClasses(table));
  std::vector<bool> temporal(columns.size(), false);
  for (size_t i = 0; i < columns.size(); ++i) {
    auto it = classes->find(AsciiLower(columns[i]));
    temporal[i] = it != classes->end() &&
                  (it->second == TypeClass::kTimestamp || it->second == TypeClass::kTimestampTz);
  }
  // Copies only of the rows that change; reserved so that pointers into *storage stay valid.
  size_t changing = 0;
  for (const Row* r : *rows) changing += zoned_at(*r, &temporal) ? 1 : 0;
  if (changing == 0) return Status::OK();
  storage->reserve(storage->size() + changing);
  for (const Row*& r : *rows) {
    if (!zoned_at(*r, &temporal)) continue;
    Row copy = *r;
    for (size_t i = 0; i < std::min(columns.size(), copy.size()); ++i) {
      if (!temporal[i] || !LooksZoned(copy[i])) continue;
      if (auto utc = CanonicalTimestamp(copy[i].as_string(), /*with_zone=*/false)) {
        copy[i] = Value::Text(std::move(*utc));
      }
    }
    storage->push_back(std::move(copy));
    r = &storage->back();
  }
  return Status::OK();
}

Status MysqlConnector::CheckArity(std::string_view what, const std::vector<Row>& rows,
                                  size_t arity) const {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].size() != arity) {
      return InvalidArgument(what, "row " + std::to_string(i + 1) + " has " +
                                       std::to_string(rows[i].size()) + " values, expected " +
                                       std::to_string(arity));
    }
  }
  return Status::OK();
}

Result<std::vector<std::pair<size_t, size_t>>> MysqlConnector::Chunk(
    const std::vector<const Row*>& rows, size_t max_rows, size_t max_params,
    std::string_view what) const {
  std::vector<std::pair<size_t, size_t>> chunks;
  const size_t columns = rows.empty() ? 0 : rows[0]->size();
  const size_t rows_by_params = columns == 0 ? max_rows : std::max<size_t>(1, max_params / columns);
  const size_t limit_rows = std::min(max_rows, rows_by_params);
  // Room for the statement id, flags, null bitmap and types around the values.
  const size_t budget =
      std::max<size_t>(std::min(server_.max_packet, kMaxChunkBytes), 65536) - 4096;
  size_t begin = 0;
  size_t bytes = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    size_t row_bytes = 4;
    for (const Value& v : *rows[r]) row_bytes += WireBytes(v);
    if (row_bytes > budget && row_bytes + 4096 > server_.max_packet) {
      return Status::InvalidRecord(
          where_ + ": " + std::string(what) + ": row " + std::to_string(r + 1) + " of " +
          std::to_string(rows.size()) + " is about " + std::to_string(row_bytes) +
          " bytes, more than the server accepts in one statement (max_allowed_packet = " +
          std::to_string(server_.max_packet) + ")");
    }
    if (r > begin && (r - begin >= limit_rows || bytes + row_bytes > budget)) {
      chunks.emplace_back(begin, r);
      begin = r;
      bytes = 0;
    }
    bytes += row_bytes;
  }
  if (begin < rows.size()) chunks.emplace_back(begin, rows.size());
  return chunks;
}

Status MysqlConnector::WriteRows(const std::string& head, const std::string& tail,
                                 const std::vector<const Row*>& rows, size_t columns,
                                 std::string_view what, std::vector<Row>* returned) {
  const std::string tuple = "(" + Placeholders(columns) + ")";
  if (server_.bulk && columns > 0 && returned == nullptr) {
    const std::string sql = head + tuple + tail;
    TETHER_ASSIGN_OR_RETURN(auto chunks, Chunk(rows, kMaxBulkRows, SIZE_MAX, what));
    for (const auto& [begin, end] : chunks) {
      TETHER_RETURN_IF_ERROR(ExecuteBulk(sql, rows, begin, end, columns, what));
    }
    return Status::OK();
  }
  TETHER_ASSIGN_OR_RETURN(auto chunks, Chunk(rows, kMaxRowsPerStatement, kMaxPlaceholders, what));
  for (const auto& [begin, end] : chunks) {
    std::string sql = head;
    sql.reserve(head.size() + (end - begin) * (tuple.size() + 1) + tail.size());
    std::vector<const Value*> params;
    params.reserve((end - begin) * columns);
    for (size_t r = begin; r < end; ++r) {
      if (r > begin) sql += ',';
      sql += tuple;
      for (const Value& v : *rows[r]) params.push_back(&v);
    }
    sql += tail;
    TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt,
                            Execute(sql, params, what, RowSpan{begin, end - begin, rows.size()}));
    if (returned != nullptr) {
      TETHER_ASSIGN_OR_RETURN(auto result, FetchAll(stmt, what));
      for (Row& row : result) returned->push_back(std::move(row));
    }
    TETHER_RETURN_IF_ERROR(CheckWarnings(stmt, what));
  }
  return Status::OK();
}

Status MysqlConnector::InsertEach(const std::string& table, const std::vector<std::string>& columns,
                                  const std::vector<const Row*>& rows,
                                  const std::vector<std::string>& returning,
                                  std::vector<Row>* out) {
  // Without INSERT ... RETURNING: insert one row, learn its key (given, or the generated
  // LAST_INSERT_ID), then read the returned columns back by that key.
  const std::string what = "inserting into " + table;
  TETHER_ASSIGN_OR_RETURN(auto schema, DescribeTable(table));
  if (!schema) return Status::NotFound(where_ + ": " + what + ": no such table");
  std::string generated;
  for (const ColumnInfo& c : schema->columns) {
    if (c.auto_increment) generated = c.name;
  }
  auto position = [&columns](const std::string& name) -> std::optional<size_t> {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (AsciiLower(columns[i]) == AsciiLower(name)) return i;
    }
    return std::nullopt;
  };
  const std::vector<std::string>& key = schema->primary_key;
  if (key.empty()) {
    return Status::Unsupported(where_ + ": " + what +
                               ": returning values from a table without a primary key needs "
                               "INSERT ... RETURNING (MariaDB 10.5 or later)");
  }
  const std::string insert = "INSERT INTO " + QuoteIdent(table) + " (" + QuoteList(columns) +
                             ") VALUES (" + Placeholders(columns.size()) + ")";
  std::string select = "SELECT " + QuoteList(returning) + " FROM " + QuoteIdent(table);
  for (size_t i = 0; i < key.size(); ++i) {
    select += (i ? " AND " : " WHERE ") + QuoteIdent(key[i]) + " = ?";
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt,
                            Execute(insert, ValuesOf(*rows[r]), what, RowSpan{r, 1, rows.size()}));
    TETHER_RETURN_IF_ERROR(CheckWarnings(stmt, what));
    const auto id = static_cast<int64_t>(mysql_stmt_insert_id(stmt));
    Row key_values;
    for (const std::string& k : key) {
      auto at = position(k);
      if (at && !(*rows[r])[*at].is_null()) {
        key_values.push_back((*rows[r])[*at]);
      } else if (AsciiLower(k) == AsciiLower(generated)) {
        key_values.push_back(Value::Int(id));
      } else {
        return Status::Unsupported(where_ + ": " + what + ": key column " + k +
                                   " is neither given nor generated");
      }
    }
    TETHER_ASSIGN_OR_RETURN(stmt, Execute(select, ValuesOf(key_values), what));
    TETHER_ASSIGN_OR_RETURN(auto found, FetchAll(stmt, what));
    out->push_back(found.empty() ? Row{} : std::move(found[0]));
  }
  return Status::OK();
}

Result<std::vector<Row>> MysqlConnector::Insert(const std::string& table,
                                                const std::vector<std::string>& columns,
                                                const std::vector<Row>& rows,
                                                const std::vector<std::string>& returning) {
  const std::string what = "inserting into " + table;
  TETHER_RETURN_IF_ERROR(CheckArity(what, rows, columns.size()));
  std::vector<Row> out;
  if (rows.empty()) return out;
  std::vector<const Row*> input = Pointers(rows);
  std::vector<Row> storage;
  TETHER_RETURN_IF_ERROR(NormalizeZones(table, columns, &input, &storage));
  const std::string head =
      "INSERT INTO " + QuoteIdent(table) + " (" + QuoteList(columns) + ") VALUES ";
  Status s;
  if (returning.empty()) {
    s = Atomically([&] { return WriteRows(head, "", input, columns.size(), what, nullptr); });
    if (!s.ok()) return s;
    out.resize(rows.size());
    return out;
  }
  out.reserve(rows.size());
  if (server_.returning) {
    // MariaDB returns the rows of a multi-row INSERT ... RETURNING in the order of VALUES.
    s = Atomically([&] {
      return WriteRows(head, " RETURNING " + QuoteList(returning), input, columns.size(), what,
                       &out);
    });
  } else {
    s = Atomically([&] { return InsertEach(table, columns, input, returning, &out); });
  }
  if (!s.ok()) return s;
  if (out.size() != rows.size()) {
    return Status::Internal(where_ + ": " + what + ": the server returned " +
                            std::to_string(out.size()) + " rows for " +
                            std::to_string(rows.size()) + " inserted");
  }
  return out;
}

Status MysqlConnector::Update(const std::string& table, const std::vector<std::string>& key_columns,
                              const std::vector<std::string>& set_columns,
                              const std::vector<Row>& rows) {
  const std::string what = "updating " + table;
  if (key_columns.empty() || set_columns.empty()) {
    return InvalidArgument(what, "needs key columns and columns to set");
  }
  std::vector<std::string> columns = set_columns;
  columns.insert(columns.end(), key_columns.begin(), key_columns.end());
  TETHER_RETURN_IF_ERROR(CheckArity(what, rows, columns.size()));
  if (rows.empty()) return Status::OK();
  std::vector<const Row*> input = Pointers(rows);
  std::vector<Row> storage;
  TETHER_RETURN_IF_ERROR(NormalizeZones(table, columns, &input, &storage));

  std::string sql = "UPDATE " + QuoteIdent(table) + " SET ";
  for (size_t i = 0; i < set_columns.size(); ++i) {
    if (i) sql += ", ";
    sql += QuoteIdent(set_columns[i]) + " = ?";
  }
  for (size_t i = 0; i < key_columns.size(); ++i) {
    sql += (i ? " AND " : " WHERE ") + QuoteIdent(key_columns[i]) + " = ?";
  }
  return Atomically([&]() -> Status {
    if (server_.bulk) {
      TETHER_ASSIGN_OR_RETURN(auto chunks, Chunk(input, kMaxBulkRows, SIZE_MAX, what));
      for (const auto& [begin, end] : chunks) {
        TETHER_RETURN_IF_ERROR(ExecuteBulk(sql, input, begin, end, columns.size(), what));
      }
      return Status::OK();
    }
    // Without bulk execution, one prepared statement per row (each row may set other values).
    for (size_t r = 0; r < input.size(); ++r) {
      TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt,
                              Execute(sql, ValuesOf(*input[r]), what, RowSpan{r, 1, input.size()}));
      TETHER_RETURN_IF_ERROR(CheckWarnings(stmt, what));
    }
    return Status::OK();
  });
}

Status MysqlConnector::Upsert(const std::string& table, const std::vector<std::string>& columns,
                              const std::vector<std::string>& conflict_columns,
                              const std::vector<Row>& rows) {
  const std::string what = "upserting into " + table;
  if (columns.empty() || conflict_columns.empty()) {
    return InvalidArgument(what, "needs columns and conflict columns");
  }
  TETHER_RETURN_IF_ERROR(CheckArity(what, rows, columns.size()));
  if (rows.empty()) return Status::OK();
  std::vector<const Row*> input = Pointers(rows);
  std::vector<Row> storage;
  TETHER_RETURN_IF_ERROR(NormalizeZones(table, columns, &input, &storage));

  // MySQL has no conflict target: ON DUPLICATE KEY fires on any unique key, which for the
  // conflict columns is the one that matters (they must carry a unique index).
  const std::string head =
      "INSERT INTO " + QuoteIdent(table) + " (" + QuoteList(columns) + ") VALUES ";
  std::string tail = " ON DUPLICATE KEY UPDATE ";
  bool any_set = false;
  for (const std::string& c : columns) {
    bool is_conflict =
        std::any_of(conflict_columns.begin(), conflict_columns.end(),
                    [&c](const std::string& k) { return AsciiLower(k) == AsciiLower(c); });
    if (is_conflict) continue;
    if (any_set) tail += ", ";
    any_set = true;
    tail += QuoteIdent(c) + " = VALUES(" + QuoteIdent(c) + ")";
  }
  if (!any_set) {
    // Every column is a conflict column: leave the existing row as it is (no INSERT IGNORE,
    // which would also turn errors such as a too-long value into warnings).
    const std::string k = QuoteIdent(conflict_columns[0]);
    tail += k + " = " + k;
  }
  return Atomically([&] { return WriteRows(head, tail, input, columns.size(), what, nullptr); });
}

Status MysqlConnector::Delete(const std::string& table, const std::vector<std::string>& key_columns,
                              const std::vector<Row>& keys) {
  const std::string what = "deleting from " + table;
  if (key_columns.empty()) return InvalidArgument(what, "no key columns");
  TETHER_RETURN_IF_ERROR(CheckArity(what, keys, key_columns.size()));
  if (keys.empty()) return Status::OK();
  std::vector<const Row*> input = Pointers(keys);
  std::vector<Row> storage;
  TETHER_RETURN_IF_ERROR(NormalizeZones(table, key_columns, &input, &storage));
  const size_t arity = key_columns.size();

  // `k IN (?, ...)` or `(a, b) IN ((?, ?), ...)`, read as ranges of the key's index: one
  // statement per chunk of keys (measured faster than a bulk execution of a one-row DELETE).
  return Atomically([&]() -> Status {
    std::string head = "DELETE FROM " + QuoteIdent(table) + " WHERE ";
    head += arity == 1 ? QuoteIdent(key_columns[0]) : "(" + QuoteList(key_columns) + ")";
    head += " IN ";
    const std::string tuple = arity == 1 ? "?" : "(" + Placeholders(arity) + ")";
    TETHER_ASSIGN_OR_RETURN(auto chunks,
                            Chunk(input, kMaxRowsPerStatement, kMaxPlaceholders, what));
    for (const auto& [begin, end] : chunks) {
      std::string sql = head + "(";
      std::vector<const Value*> params;
      for (size_t r = begin; r < end; ++r) {
        if (r > begin) sql += ',';
        sql += tuple;
        for (const Value& v : *input[r]) params.push_back(&v);
      }
      sql += ")";
      TETHER_RETURN_IF_ERROR(Execute(sql, params, what).status());
    }
    return Status::OK();
  });
}

}  // namespace tether::mysql
