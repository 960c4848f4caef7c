#include "connectors/mysql/mysql_connector.h"

#include <errmsg.h>
#include <fmt/format.h>
#include <mysqld_error.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>
#include <utility>

#include "connectors/mysql/mysql_connector_impl.h"
#include "connectors/mysql/mysql_dialect.h"
#include "connectors/mysql/mysql_open.h"
#include "connectors/session_lock.h"
#include "connectors/sql_text.h"
#include "core/ascii.h"
#include "core/utf8.h"

namespace tether {
namespace mysql {
namespace {

// How much of a statement an error message shows (cut on a character boundary: a table's name
// may be any UTF-8).
constexpr size_t kShownSql = 300;

// Enough for every statement shape of a sync run; past it the cache starts over.
constexpr size_t kMaxCachedStatements = 64;

// docs/TYPES.md: a value the column cannot hold is an error, never a warning. Set whole, so a
// server default such as PAD_CHAR_TO_FULL_LENGTH or ANSI_QUOTES cannot change what tether reads.
constexpr char kSessionSetup[] =
    "SET NAMES utf8mb4, time_zone = '+00:00', autocommit = 1, "
    "explicit_defaults_for_timestamp = 1, "
    "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', "
    "@tether_origin = 'tether'";  // what change-tracking triggers write as the origin

std::optional<int64_t> IntOrNull(const Value& v) {
  if (v.kind() == ValueKind::kInt) return v.as_int();
  if (v.kind() == ValueKind::kDecimal || v.kind() == ValueKind::kText) {
    int64_t n = 0;
    const std::string& s = v.as_string();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && end == s.data() + s.size()) return n;
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Rows streamed from the socket

Result<bool> MysqlRowStream::Next(Row* row) {
  if (abandoned_) {
    return Status::Internal(context_ +
                            ": the row stream was cut short by another call on the connection");
  }
  if (stmt_ == nullptr) return false;
  int rc = reader_.Next(stmt_, row);
  if (rc == 1) return true;
  Status error;
  if (rc < 0) {
    error = Status(CodeFor(StmtErrno(stmt_)), context_ + ": " + StmtErrorText(stmt_) + " (error " +
                                                  std::to_string(StmtErrno(stmt_)) + ")");
  }
  Finish();  // the end: hand the session back now, not when the stream dies
  if (!error.ok()) return error;
  return false;
}

void MysqlRowStream::Abandon() {
  Finish();
  abandoned_ = true;
}

void MysqlRowStream::Finish() {
  if (stmt_ != nullptr) {
    // Reads whatever the server still sends for this result: the session is usable after it.
    mysql_stmt_free_result(stmt_);
    stmt_ = nullptr;
  }
  if (owner_ != nullptr) {
    owner_->StreamDone(this);
    owner_ = nullptr;
  }
}

// ---------------------------------------------------------------------------------------------
// Session

MysqlConnector::MysqlConnector(std::string name, ConnectOptions options, ConnHandle conn)
    : name_(std::move(name)),
      options_(std::move(options)),
      where_("connection '" + name_ + "' (" + options_.Describe() + ")"),
      conn_(std::move(conn)) {}

MysqlConnector::~MysqlConnector() { Idle(); }

Status MysqlConnector::Initialize(const MysqlFeatureLimits& limits) {
  TETHER_RETURN_IF_ERROR(Run(kSessionSetup));
  unsigned long capabilities = 0;
  unsigned long extended = 0;
  mariadb_get_infov(conn_.get(), MARIADB_CONNECTION_SERVER_CAPABILITIES, &capabilities);
  mariadb_get_infov(conn_.get(), MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &extended);
  const unsigned long version = mysql_get_server_version(conn_.get());  // 10.11.2 -> 101102
  server_.mariadb = (capabilities & CLIENT_MYSQL) == 0;
  server_.bulk = server_.mariadb && (extended & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32)) != 0 &&
                 limits.allow_bulk;
  server_.returning = server_.mariadb && version >= 100500 && limits.allow_returning;
  server_.native_uuid = server_.mariadb && version >= 100700;

  // A read-only server (a replica) or session: MariaDB names the session flag tx_read_only,
  // MySQL 8 only transaction_read_only.
  const std::string read_only_session =
      server_.mariadb ? "@@session.tx_read_only" : "@@session.transaction_read_only";
  TETHER_ASSIGN_OR_RETURN(auto rows, Query("SELECT @@max_allowed_packet, @@global.read_only, " +
                                               read_only_session + ", @@lower_case_table_names",
                                           {}));
  if (rows.size() == 1 && rows[0].size() == 4) {
    if (auto packet = IntOrNull(rows[0][0])) server_.max_packet = static_cast<size_t>(*packet);
    server_.read_only =
        IntOrNull(rows[0][1]).value_or(0) != 0 || IntOrNull(rows[0][2]).value_or(0) != 0;
    server_.case_sensitive_names = IntOrNull(rows[0][3]).value_or(0) == 0;
  }
  return Status::OK();
}

Capabilities MysqlConnector::capabilities() const {
  Capabilities c;
  c.transactions = true;
  c.state_store = true;
  c.writable = !server_.read_only;
  c.checksums = true;
  c.read_ahead = true;
  return c;
}

const SqlDialect* MysqlConnector::sql_dialect() const { return &kSqlDialect; }

Status MysqlConnector::Ping() {
  Idle();
  if (mysql_ping(conn_.get()) != 0) return ConnError("ping");
  return Status::OK();
}

Status MysqlConnector::Error(unsigned int number, const std::string& text, std::string_view what,
                             const std::optional<RowSpan>& rows) const {
  if (began_ &&
      (number == ER_LOCK_DEADLOCK || number == CR_SERVER_GONE_ERROR || number == CR_SERVER_LOST)) {
    transaction_lost_ = true;
  }
  std::string msg = where_;
  msg += ": ";
  msg += what;
  msg += ": ";
  msg += text;
  msg += " (error " + std::to_string(number) + ")";
  if (rows && rows->total > 1) {
    // The server counts rows within its statement ("... at row 3"); say which row of the
    // caller's batch that is.
    size_t at = text.rfind(" at row ");
    size_t n = 0;
    if (at != std::string::npos) {
      for (size_t i = at + 8; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]));
           ++i) {
        n = n * 10 + static_cast<size_t>(text[i] - '0');
      }
    }
    if (n >= 1 && n <= rows->count) {
      msg +=
          " (row " + std::to_string(rows->first + n) + " of " + std::to_string(rows->total) + ")";
    } else if (rows->count == 1) {
      msg +=
          " (row " + std::to_string(rows->first + 1) + " of " + std::to_string(rows->total) + ")";
    } else {
      msg += " (in rows " + std::to_string(rows->first + 1) + " to " +
             std::to_string(rows->first + rows->count) + " of " + std::to_string(rows->total) + ")";
    }
  }
  return Status(CodeFor(number), std::move(msg));
}

Status MysqlConnector::ConnError(std::string_view what) const {
  return Error(mysql_errno(conn_.get()), mysql_error(conn_.get()), what);
}

Status MysqlConnector::StmtError(MYSQL_STMT* stmt, std::string_view what,
                                 const std::optional<RowSpan>& rows) const {
  return Error(StmtErrno(stmt), StmtErrorText(stmt), what, rows);
}

Status MysqlConnector::InvalidArgument(std::string_view what, const std::string& why) const {
  return Status::InvalidArgument(where_ + ": " + std::string(what) + ": " + why);
}

void MysqlConnector::Idle() {
  if (open_stream_ != nullptr) open_stream_->Abandon();
}

bool MysqlConnector::InTransaction() const {
  unsigned int status = 0;
  mariadb_get_infov(conn_.get(), MARIADB_CONNECTION_SERVER_STATUS, &status);
  return (status & SERVER_STATUS_IN_TRANS) != 0;
}

Status MysqlConnector::CheckTransaction(std::string_view what) const {
  if (!began_ || (!transaction_lost_ && InTransaction())) return Status::OK();
  return Status::TryAgain(where_ + ": " + std::string(what) +
                          ": the server has rolled the transaction back (after a deadlock or a "
                          "lost connection); it must start over");
}

Status MysqlConnector::Run(const std::string& sql) {
  Idle();
  MYSQL* m = conn_.get();
  if (mysql_real_query(m, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
    return ConnError(sql);
  }
  if (mysql_field_count(m) > 0) mysql_free_result(mysql_store_result(m));
  return Status::OK();
}

Result<MYSQL_STMT*> MysqlConnector::Cached(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second.get();
  Statement stmt(mysql_stmt_init(conn_.get()));
  if (stmt.get() == nullptr) return ConnError("preparing a statement");
  if (mysql_stmt_prepare(stmt.get(), sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
    return StmtError(stmt.get(), "preparing " + Utf8Excerpt(sql, kShownSql));
  }
  if (cache_.size() >= kMaxCachedStatements) cache_.clear();
  MYSQL_STMT* raw = stmt.get();
  cache_.emplace(sql, std::move(stmt));
  return raw;
}

Result<MYSQL_STMT*> MysqlConnector::Execute(const std::string& sql,
                                            const std::vector<const Value*>& params,
                                            std::string_view what,
                                            const std::optional<RowSpan>& rows) {
  Idle();
  ParamBinder binder;
  binder.Bind(params);
  for (int attempt = 0;; ++attempt) {
    TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt, Cached(sql));
    if (mysql_stmt_param_count(stmt) != params.size()) {
      return InvalidArgument(
          what, "the statement has " + std::to_string(mysql_stmt_param_count(stmt)) +
                    " placeholders, given " + std::to_string(params.size()) + " values");
    }
    unsigned int single = 0;
    mysql_stmt_attr_set(stmt, STMT_ATTR_ARRAY_SIZE, &single);
    if (!params.empty() && mysql_stmt_bind_param(stmt, binder.binds()) != 0) {
      return StmtError(stmt, what, rows);
    }
    if (mysql_stmt_execute(stmt) == 0) return stmt;
    // The table changed shape since the statement was prepared: prepare it again, once.
    if (mysql_stmt_errno(stmt) == CR_NEW_STMT_METADATA && attempt == 0) {
      cache_.erase(sql);
      continue;
    }
    return StmtError(stmt, what, rows);
  }
}

Status MysqlConnector::ExecuteBulk(const std::string& sql, const std::vector<const Row*>& rows,
                                   size_t begin, size_t end, size_t columns,
                                   std::string_view what) {
  Idle();
  TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt, Cached(sql));
  BulkBinder binder;
  binder.Bind(rows, begin, end, columns);
  unsigned int size = binder.size();
  const RowSpan span{begin, end - begin, rows.size()};
  if (mysql_stmt_attr_set(stmt, STMT_ATTR_ARRAY_SIZE, &size) != 0 ||
      mysql_stmt_bind_param(stmt, binder.binds()) != 0 || mysql_stmt_execute(stmt) != 0) {
    Status s = StmtError(stmt, what, span);
    unsigned int single = 0;
    mysql_stmt_attr_set(stmt, STMT_ATTR_ARRAY_SIZE, &single);
    return s;
  }
  unsigned int single = 0;
  mysql_stmt_attr_set(stmt, STMT_ATTR_ARRAY_SIZE, &single);
  return CheckWarnings(stmt, what);
}

Result<std::vector<Row>> MysqlConnector::FetchAll(MYSQL_STMT* stmt, std::string_view what) {
  std::vector<Row> rows;
  if (mysql_stmt_field_count(stmt) == 0) return rows;
  ResultReader reader;
  if (!reader.Prepare(stmt)) {
    Status s = StmtError(stmt, what);
    mysql_stmt_free_result(stmt);
    return s;
  }
  for (;;) {
    Row row;
    int rc = reader.Next(stmt, &row);
    if (rc == 0) break;
    if (rc < 0) {
      Status s = StmtError(stmt, what);
      mysql_stmt_free_result(stmt);
      return s;
    }
    rows.push_back(std::move(row));
  }
  mysql_stmt_free_result(stmt);
  return rows;
}

Status MysqlConnector::CheckWarnings(MYSQL_STMT* stmt, std::string_view what) {
  if (mysql_stmt_warning_count(stmt) == 0) return Status::OK();
  // Codes that mean the stored value differs from the one sent; others (deprecations, ...) pass.
  static const std::set<int64_t> kDataChanged = {1262, 1263, 1264, 1265, 1292,
                                                 1366, 1367, 1406, 1300, 1977};
  MYSQL* m = conn_.get();
  static const std::string kShow = "SHOW WARNINGS";
  if (mysql_real_query(m, kShow.data(), static_cast<unsigned long>(kShow.size())) != 0) {
    return ConnError(kShow);
  }
  MYSQL_RES* res = mysql_store_result(m);
  if (res == nullptr) return Status::OK();
  Status found;
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    if (mysql_num_fields(res) < 3 || row[1] == nullptr) continue;
    const int64_t code = std::strtoll(row[1], nullptr, 10);
    if (kDataChanged.count(code) != 0) {
      found =
          Status::InvalidRecord(where_ + ": " + std::string(what) + ": " + (row[2] ? row[2] : "") +
                                " (" + (row[0] ? row[0] : "") + " " + std::to_string(code) +
                                "): the value would not be stored as sent");
      break;
    }
  }
  mysql_free_result(res);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Schema

Result<const std::unordered_map<std::string, TypeClass>*> MysqlConnector::ColumnClasses(
    const std::string& table) {
  auto it = classes_.find(table);
  if (it != classes_.end()) return &it->second;
  std::unordered_map<std::string, TypeClass> classes;
  TETHER_ASSIGN_OR_RETURN(auto schema, DescribeTable(table));
  if (schema) {
    for (const ColumnInfo& c : schema->columns) classes.emplace(AsciiLower(c.name), c.type);
  }
  return &classes_.emplace(table, std::move(classes)).first->second;
}

Result<std::optional<TableSchema>> MysqlConnector::DescribeTable(const std::string& table) {
  const std::string what = "describing table " + table;
  if (options_.database.empty()) {
    return Status::Config(where_ + ": " + what +
                          ": the connection URL names no database (mysql://host/DATABASE)");
  }
  // information_schema compares names without regard to case; the server may not (Linux):
  // rows of a twin table named in another case are dropped here.
  auto same_table = [this, &table](const Value& v) {
    if (v.kind() != ValueKind::kText) return false;
    return server_.case_sensitive_names ? v.as_string() == table
                                        : AsciiLower(v.as_string()) == AsciiLower(table);
  };
  const Value name = Value::Text(table);

  static const std::string kColumns =
      "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE = 'YES', "
      "COLUMN_DEFAULT IS NOT NULL AND COLUMN_DEFAULT <> 'NULL', EXTRA, "
      "CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, "
      "CHARACTER_SET_NAME "
      "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? "
      "ORDER BY ORDINAL_POSITION";
  TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * st, Execute(kColumns, {&name}, what));
  TETHER_ASSIGN_OR_RETURN(auto rows, FetchAll(st, what));

  TableSchema schema;
  schema.name = table;
  bool has_long_text = false;
  for (const Row& r : rows) {
    if (r.size() != 12 || !same_table(r[0])) continue;
    const std::string extra = AsciiLower(r[6].is_null() ? "" : r[6].as_string());
    // Generated columns cannot be written; MySQL 8's DEFAULT_GENERATED is an ordinary default.
    if (extra.find("virtual generated") != std::string::npos ||
        extra.find("stored generated") != std::string::npos ||
        extra.find("persistent generated") != std::string::npos) {
      continue;
    }
    ColumnInfo& c = schema.columns.emplace_back();
    c.name = r[1].as_string();
    c.declared_type = r[2].as_string();
    ColumnFacts facts;
    facts.data_type = r[3].as_string();
    facts.column_type = c.declared_type;
    facts.char_max_length = IntOrNull(r[7]);
    facts.numeric_precision = IntOrNull(r[8]);
    facts.numeric_scale = IntOrNull(r[9]);
    facts.datetime_precision = IntOrNull(r[10]);
    ClassifyColumn(facts, &c);
    if (r[11].kind() == ValueKind::kText) c.charset = AsciiLower(r[11].as_string());
    if (AsciiLower(facts.data_type) == "longtext") has_long_text = true;
    c.not_null = !(r[4].kind() == ValueKind::kInt && r[4].as_int() != 0);
    c.has_default = r[5].kind() == ValueKind::kInt && r[5].as_int() != 0;
    c.auto_increment = extra.find("auto_increment") != std::string::npos;
  }
  if (schema.columns.empty()) return std::optional<TableSchema>();

  static const std::string kPrimaryKey =
      "SELECT TABLE_NAME, COLUMN_NAME, SEQ_IN_INDEX FROM information_schema.STATISTICS "
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' "
      "ORDER BY SEQ_IN_INDEX";
  TETHER_ASSIGN_OR_RETURN(st, Execute(kPrimaryKey, {&name}, what));
  TETHER_ASSIGN_OR_RETURN(rows, FetchAll(st, what));
  for (const Row& r : rows) {
    if (r.size() != 3 || !same_table(r[0])) continue;
    const std::string column = r[1].as_string();
    for (ColumnInfo& c : schema.columns) {
      // Column names compare without regard to case in MySQL.
      if (AsciiLower(c.name) == AsciiLower(column)) {
        c.pk_position = static_cast<int>(schema.primary_key.size() + 1);
        schema.primary_key.push_back(c.name);
        break;
      }
    }
  }

  // MariaDB's json is a longtext with a CHECK (json_valid(`column`)) constraint.
  if (server_.mariadb && has_long_text) {
    static const std::string kChecks =
        "SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
        "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?";
    TETHER_ASSIGN_OR_RETURN(st, Execute(kChecks, {&name}, what));
    TETHER_ASSIGN_OR_RETURN(rows, FetchAll(st, what));
    for (ColumnInfo& c : schema.columns) {
      if (c.type != TypeClass::kText || AsciiLower(c.declared_type) != "longtext") continue;
      for (const Row& r : rows) {
        if (r.size() == 2 && same_table(r[0]) && r[1].kind() == ValueKind::kText &&
            IsJsonValidCheck(r[1].as_string(), c.name)) {
          c.type = TypeClass::kJson;
          break;
        }
      }
    }
  }
  return std::optional<TableSchema>(std::move(schema));
}

std::vector<std::string> MysqlConnector::TrackingDdl(const TrackedTable& t, bool install) const {
  return mysql::TrackingDdl(t, install);
}

std::vector<std::string> MysqlConnector::TableDdl(const TableDef& asked) const {
  const TableDef def = WithKeyLengths(asked);
  std::string sql = "CREATE TABLE IF NOT EXISTS " + QuoteIdent(def.name) + " (";
  for (size_t i = 0; i < def.columns.size(); ++i) {
    const ColumnDef& c = def.columns[i];
    if (i) sql += ", ";
    sql += QuoteIdent(c.name) + " " + ColumnTypeFor(c, server_.native_uuid);
    if (c.not_null) sql += " NOT NULL";
  }
  if (!def.primary_key.empty()) sql += ", PRIMARY KEY (" + QuoteList(def.primary_key) + ")";
  // InnoDB needs an AUTO_INCREMENT column to lead some index.
  for (const ColumnDef& c : def.columns) {
    if (!c.auto_increment) continue;
    auto leads = [&c](const std::vector<std::string>& cols) {
      return !cols.empty() && AsciiLower(cols[0]) == AsciiLower(c.name);
    };
    bool led = leads(def.primary_key);
    for (const IndexDef& index : def.indexes) led = led || leads(index.columns);
    if (!led) sql += ", KEY (" + QuoteIdent(c.name) + ")";
  }
  // MySQL has no CREATE INDEX IF NOT EXISTS: there the indexes go into CREATE TABLE.
  if (!server_.mariadb) {
    for (const IndexDef& index : def.indexes) {
      sql += std::string(", ") + (index.unique ? "UNIQUE " : "") + "KEY " +
             QuoteIdent(IndexNameFor(def.name, index)) + " (" + IndexColumns(def, index) + ")";
    }
  }
  sql += ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
  std::vector<std::string> out;
  out.push_back(std::move(sql));
  if (server_.mariadb) {
    for (const IndexDef& index : def.indexes) {
      out.push_back(std::string("CREATE ") + (index.unique ? "UNIQUE " : "") +
                    "INDEX IF NOT EXISTS " + QuoteIdent(IndexNameFor(def.name, index)) + " ON " +
                    QuoteIdent(def.name) + " (" + IndexColumns(def, index) + ")");
    }
  }
  return out;
}

std::vector<std::string> MysqlConnector::AddColumnsDdl(
    const std::string& table, const std::vector<ColumnDef>& columns) const {
  return AddColumnStatements(table, columns, '`', [this](const ColumnDef& c) {
    return ColumnTypeFor(c, server_.native_uuid);
  });
}

Result<std::vector<std::string>> MysqlConnector::TableNames() {
  TETHER_ASSIGN_OR_RETURN(auto rows, Query("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = DATABASE() ORDER BY 1",
                                           {}));
  std::vector<std::string> names;
  for (const Row& r : rows) names.push_back(r[0].ToText());
  return names;
}

Status MysqlConnector::EnsureTable(const TableDef& def) {
  const std::string what = "creating table " + def.name;
  if (def.name.empty() || def.columns.empty()) {
    return InvalidArgument("creating a table", "a table to create needs a name and columns");
  }
  Idle();
  if (InTransaction()) {
    return InvalidArgument(what,
                           "MySQL commits the open transaction before CREATE TABLE; create "
                           "tables before Begin() or after Commit()");
  }
  classes_.erase(def.name);
  collations_.erase(def.name);
  for (const std::string& statement : TableDdl(def)) {
    MYSQL* m = conn_.get();
    if (mysql_real_query(m, statement.data(), static_cast<unsigned long>(statement.size())) != 0) {
      return ConnError(what);
    }
  }
  return Status::OK();
}

Status MysqlConnector::ExecuteScript(const std::string& sql) {
  Idle();
  classes_.clear();  // the script may change tables
  collations_.clear();
  MYSQL* m = conn_.get();
  // Several statements per call only here, for trusted SQL; everywhere else one statement.
  if (mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_ON) != 0) {
    return ConnError("script");
  }
  Status status;
  int rc = mysql_real_query(m, sql.data(), static_cast<unsigned long>(sql.size()));
  if (rc != 0) status = ConnError("script");
  while (rc == 0) {
    if (mysql_field_count(m) > 0) mysql_free_result(mysql_store_result(m));
    rc = mysql_next_result(m);  // 0: another result, -1: done, > 0: a statement failed
    if (rc > 0) status = ConnError("script");
  }
  if (mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_OFF) != 0 && status.ok()) {
    status = ConnError("script");
  }
  return status;
}

Result<std::vector<Row>> MysqlConnector::Query(const std::string& sql, const Row& params) {
  std::vector<const Value*> bound;
  bound.reserve(params.size());
  for (const Value& v : params) bound.push_back(&v);
  const std::string what = "running " + Utf8Excerpt(sql, kShownSql);
  TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt, Execute(sql, bound, what));
  return FetchAll(stmt, what);
}

// ---------------------------------------------------------------------------------------------
// Transactions

Status MysqlConnector::Begin() {
  Idle();
  if (InTransaction()) {
    // START TRANSACTION would silently commit the open one.
    return InvalidArgument("begin", "a transaction is already open");
  }
  TETHER_RETURN_IF_ERROR(Run("START TRANSACTION"));
  began_ = true;
  transaction_lost_ = false;
  return Status::OK();
}

Status MysqlConnector::Commit() {
  Idle();
  Status s = CheckTransaction("commit");
  if (s.ok() && !InTransaction()) s = InvalidArgument("commit", "no transaction is open");
  if (s.ok()) s = Run("COMMIT");
  began_ = false;
  transaction_lost_ = false;
  return s;
}

Status MysqlConnector::Rollback() {
  Idle();
  began_ = false;
  transaction_lost_ = false;
  // The server may already have rolled back (a deadlock); that is success.
  if (!InTransaction()) return Status::OK();
  return Run("ROLLBACK");
}

// Inside a transaction the server ended, SAVEPOINT would succeed and the writes after it would
// commit one by one: CheckTransaction stops that.
Status MysqlConnector::Savepoint(const std::string& name) {
  TETHER_RETURN_IF_ERROR(CheckTransaction("savepoint " + name));
  return Run("SAVEPOINT " + QuoteIdent(name));
}

Status MysqlConnector::ReleaseSavepoint(const std::string& name) {
  TETHER_RETURN_IF_ERROR(CheckTransaction("releasing savepoint " + name));
  return Run("RELEASE SAVEPOINT " + QuoteIdent(name));
}

Status MysqlConnector::RollbackToSavepoint(const std::string& name) {
  TETHER_RETURN_IF_ERROR(CheckTransaction("rolling back to savepoint " + name));
  return Run("ROLLBACK TO SAVEPOINT " + QuoteIdent(name));
}

// ---------------------------------------------------------------------------------------------
// Named locks and the database mark

Result<std::string> MysqlConnector::CurrentDatabase() {
  TETHER_ASSIGN_OR_RETURN(auto rows, Query("SELECT DATABASE()", {}));
  std::string db =
      rows.empty() || rows[0].empty() || rows[0][0].is_null() ? "" : rows[0][0].ToText();
  if (!server_.case_sensitive_names) {
    db = AsciiLower(db);
  }
  return db;
}

// GET_LOCK's names are the server's, not the database's, and at most 64 characters long: a
// name is the key of the database and the lock name.
Result<bool> MysqlConnector::TryLock(const std::string& name) {
  if (locks_.count(name)) return true;
  TETHER_ASSIGN_OR_RETURN(std::string db, CurrentDatabase());
  const std::string server_name = fmt::format("tether_{:016x}", LockKey(db, name));
  TETHER_ASSIGN_OR_RETURN(auto rows, Query("SELECT GET_LOCK(?, 0)", {Value::Text(server_name)}));
  const bool taken = rows.size() == 1 && rows[0].size() == 1 &&
                     rows[0][0].kind() == ValueKind::kInt && rows[0][0].as_int() == 1;
  if (taken) locks_.emplace(name, server_name);
  return taken;
}

Status MysqlConnector::ReleaseLock(const std::string& name) {
  auto it = locks_.find(name);
  if (it == locks_.end()) return Status::OK();
  const std::string server_name = it->second;
  locks_.erase(it);
  return Query("SELECT RELEASE_LOCK(?)", {Value::Text(server_name)}).status();
}

// This session holds a lock of a random name, which IS_USED_LOCK finds only on the same server.
Result<std::string> MysqlConnector::DatabaseMark() {
  if (mark_.empty()) {
    const std::string lock = "tether_mark_" + RandomToken();
    TETHER_ASSIGN_OR_RETURN(auto rows,
                            Query("SELECT GET_LOCK(?, 0), CONNECTION_ID()", {Value::Text(lock)}));
    if (rows.size() != 1 || rows[0].size() != 2 || rows[0][0].kind() != ValueKind::kInt ||
        rows[0][0].as_int() != 1) {
      return Status::Internal(where_ + ": marking the session");
    }
    TETHER_ASSIGN_OR_RETURN(std::string db, CurrentDatabase());
    mark_ = MakeMark("mysql", {lock, rows[0][1].ToText(), db});
  }
  return mark_;
}

Result<bool> MysqlConnector::SameDatabase(const std::string& mark) {
  std::optional<std::vector<std::string>> parts = MarkParts(mark, "mysql", 3);
  if (!parts) return false;
  TETHER_ASSIGN_OR_RETURN(std::string db, CurrentDatabase());
  if (db != (*parts)[2]) return false;
  TETHER_ASSIGN_OR_RETURN(auto rows, Query("SELECT IS_USED_LOCK(?)", {Value::Text((*parts)[0])}));
  return rows.size() == 1 && rows[0].size() == 1 && !rows[0][0].is_null() &&
         rows[0][0].ToText() == (*parts)[1];
}

}  // namespace mysql

Result<std::unique_ptr<Connector>> OpenMysqlConnector(const std::string& connection_name,
                                                      const std::string& url) {
  return OpenMysqlConnectorWithLimits(connection_name, url, MysqlFeatureLimits{});
}

Result<std::unique_ptr<Connector>> OpenMysqlConnectorWithLimits(const std::string& connection_name,
                                                                const std::string& url,
                                                                const MysqlFeatureLimits& limits) {
  TETHER_ASSIGN_OR_RETURN(mysql::ConnectOptions options,
                          mysql::ParseMysqlUrl(connection_name, url));
  const std::string where = "connection '" + connection_name + "' (" + options.Describe() + ")";
  TETHER_ASSIGN_OR_RETURN(mysql::ConnHandle conn, mysql::Connect(options, where));
  auto connector =
      std::make_unique<mysql::MysqlConnector>(connection_name, std::move(options), std::move(conn));
  TETHER_RETURN_IF_ERROR(connector->Initialize(limits));
  return std::unique_ptr<Connector>(std::move(connector));
}

}  // namespace tether
