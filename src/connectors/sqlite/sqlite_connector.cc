#include "connectors/sqlite/sqlite_connector.h"

#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "connectors/key_range.h"
#include "connectors/session_lock.h"
#include "connectors/sql_text.h"
#include "connectors/sqlite/sqlite_checksum.h"
#include "connectors/sqlite/sqlite_dialect.h"
#include "connectors/sqlite/sqlite_lock.h"
#include "connectors/sqlite/sqlite_statement.h"
#include "core/ascii.h"

namespace tether {
namespace sqlite {
namespace {

// Enough for every statement shape of a sync run; past it the cache starts over.
constexpr size_t kMaxCachedStatements = 64;
// Keys per Lookup statement; chunks are padded up to a power of two so that few shapes exist.
constexpr size_t kMaxLookupKeys = 1024;
constexpr std::string_view kBatchSavepoint = "tether_batch";

struct Options {
  std::string path;
  bool create = false;
  bool create_given = false;  // the URL says create=...
  bool read_only = false;
  int busy_timeout_ms = 5000;
};

// A sqlite URL's parts: "sqlite:" or "sqlite://" in any letter case, the path, "?options".
struct UrlParts {
  size_t path_at = 0;
  std::string_view path;
  std::string_view query;  // after the '?'
};

std::optional<UrlParts> SplitUrl(std::string_view url) {
  std::string_view rest = url;
  if (!ConsumePrefixIgnoreCase(&rest, "sqlite://") && !ConsumePrefixIgnoreCase(&rest, "sqlite:")) {
    return std::nullopt;
  }
  const size_t q = rest.find('?');
  return UrlParts{url.size() - rest.size(), rest.substr(0, q),
                  q == std::string_view::npos ? std::string_view() : rest.substr(q + 1)};
}

Result<Options> ParseUrl(const std::string& name, const std::string& url) {
  const std::string where = "connection '" + name + "'";
  const std::optional<UrlParts> parts = SplitUrl(url);
  if (!parts) return Status::Config(where + ": not a sqlite URL: " + url);
  Options opt;
  opt.path = std::string(parts->path);
  if (opt.path.empty()) return Status::Config(where + ": sqlite URL has no database path");
  std::string_view query = parts->query;
  const std::string in_url = " in the URL of " + opt.path;

  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    auto bad_value = [&] {
      return Status::Config(where + ": invalid value '" + std::string(value) + "' for option '" +
                            std::string(key) + "'" + in_url);
    };
    if (key == "create") {
      opt.create_given = true;
      if (value == "1" || value == "true") {
        opt.create = true;
      } else if (value == "0" || value == "false") {
        opt.create = false;
      } else {
        return bad_value();
      }
    } else if (key == "mode") {
      if (value != "ro" && value != "rw") return bad_value();
      opt.read_only = value == "ro";
    } else if (key == "busy_timeout_ms") {
      int ms = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (ec != std::errc() || end != value.data() + value.size() || ms < 0) return bad_value();
      opt.busy_timeout_ms = ms;
    } else {
      return Status::Config(where + ": unknown option '" + std::string(key) + "'" + in_url +
                            " (known: create, mode, busy_timeout_ms)");
    }
  }
  if (opt.read_only && opt.create) {
    return Status::Config(where + ": options mode=ro and create=1 exclude each other" + in_url);
  }
  return opt;
}

class SqliteRowStream final : public RowStream {
 public:
  SqliteRowStream(sqlite3* db, Statement stmt, std::string context)
      : db_(db), stmt_(std::move(stmt)), context_(std::move(context)) {}

  Result<bool> Next(Row* row) override {
    if (!stmt_.get()) return false;
    sqlite3_stmt* st = stmt_.get();
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      int n = sqlite3_column_count(st);
      row->resize(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) (*row)[static_cast<size_t>(i)] = ColumnValue(st, i);
      return true;
    }
    Status error;
    if (rc != SQLITE_DONE) {
      error = Status(CodeFor(rc, sqlite3_system_errno(db_)), context_ + ": " + sqlite3_errmsg(db_));
    }
    stmt_ = Statement();  // finished: let go of the read lock now, not when the stream dies
    if (!error.ok()) return error;
    return false;
  }

 private:
  sqlite3* db_;
  Statement stmt_;
  std::string context_;
};

class SqliteConnector final : public Connector {
 public:
  SqliteConnector(std::string name, std::string path, DbHandle db)
      : name_(std::move(name)),
        where_("connection '" + name_ + "' (" + path + ")"),
        path_(std::move(path)),
        db_(std::move(db)),
        locks_(path_, where_) {}

  // Proves the file is a database we can read, then sets the session up.
  Status Initialize() {
    Status s = Run("SELECT count(*) FROM sqlite_master");
    if (s.code() == StatusCode::kConnection &&
        (sqlite3_extended_errcode(db_.get()) & 0xff) == SQLITE_NOTADB) {
      return Status::Connection("connection '" + name_ + "': " + path_ +
                                " is not a SQLite database");
    }
    TETHER_RETURN_IF_ERROR(s);
    // Per-connection settings only (nothing persists in the user's file): a page cache large
    // enough for the link and key indexes a sync probes for every batch (SQLite's default is
    // 2 MiB), and temporary b-trees in memory.
    TETHER_RETURN_IF_ERROR(Run("PRAGMA cache_size=-65536"));
    TETHER_RETURN_IF_ERROR(Run("PRAGMA temp_store=MEMORY"));
    const int rc = RegisterChecksumFunctions(db_.get());
    if (rc != SQLITE_OK) return Error(rc, "registering the checksum functions");
    return Run("PRAGMA foreign_keys=ON");
  }

  const std::string& connection_name() const override { return name_; }
  std::string_view engine() const override { return "sqlite"; }
  Capabilities capabilities() const override {
    Capabilities c;
    c.transactions = true;
    c.writable = sqlite3_db_readonly(db_.get(), "main") == 0;
    c.state_store = true;
    c.checksums = true;
    return c;
  }
  const SqlDialect* sql_dialect() const override { return &kSqlDialect; }
  Status PreferFastCommits() override {
    return Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL",
                "preferring fast commits");
  }

  Status Ping() override { return Run("PRAGMA schema_version"); }

  Result<std::optional<TableSchema>> DescribeTable(const std::string& table) override;
  Result<std::vector<std::string>> TableNames() override {
    TETHER_ASSIGN_OR_RETURN(
        auto rows, CachedRows("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                              "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                              {}, "listing tables"));
    std::vector<std::string> names;
    for (const Row& r : rows) names.push_back(r[0].ToText());
    return names;
  }
  Status EnsureTable(const TableDef& def) override;
  std::vector<std::string> TableDdl(const TableDef& def) const override;
  std::vector<std::string> AddColumnsDdl(const std::string& table,
                                         const std::vector<ColumnDef>& columns) const override {
    return AddColumnStatements(table, columns, '"', sqlite::DeclaredTypeFor);
  }
  std::vector<std::string> TrackingDdl(const TrackedTable& t, bool install) const override {
    return sqlite::TrackingDdl(t, install);
  }
  Status ExecuteScript(const std::string& sql) override { return Exec(sql, "script"); }
  Result<std::vector<Row>> Query(const std::string& sql, const Row& params) override;

  Result<std::unique_ptr<RowStream>> Scan(const ScanRequest& request) override;
  Result<int64_t> Count(const std::string& table,
                        const std::vector<Condition>& conditions) override;
  Result<std::vector<Row>> Lookup(const LookupRequest& request) override;
  Result<bool> LookupUsesIndex(const LookupRequest& request) override;
  Result<RangeChecksum> Checksum(const ChecksumRequest& request) override;
  Result<std::vector<Row>> RowHashes(const ChecksumRequest& request) override;
  Result<std::vector<BucketChecksum>> ChecksumBuckets(const ChecksumRequest& request,
                                                      const KeyBuckets& buckets) override;
  Result<std::optional<std::pair<int64_t, int64_t>>> KeyBounds(
      const ChecksumRequest& request) override;

  Result<std::vector<Row>> Insert(const std::string& table, const std::vector<std::string>& columns,
                                  const std::vector<Row>& rows,
                                  const std::vector<std::string>& returning) override;
  Status Update(const std::string& table, const std::vector<std::string>& key_columns,
                const std::vector<std::string>& set_columns, const std::vector<Row>& rows) override;
  Status Upsert(const std::string& table, const std::vector<std::string>& columns,
                const std::vector<std::string>& conflict_columns,
                const std::vector<Row>& rows) override;
  Status Delete(const std::string& table, const std::vector<std::string>& key_columns,
                const std::vector<Row>& keys) override;

  // BEGIN IMMEDIATE takes the write lock now, so a locked target fails here with kBusy and not
  // halfway through a batch.
  Status Begin() override {
    TETHER_RETURN_IF_ERROR(Run("BEGIN IMMEDIATE"));
    // With change tracking installed, this transaction's changes are tether's (TrackingDdl).
    TETHER_ASSIGN_OR_RETURN(marked_, HasSessionTable());
    if (!marked_) return Status::OK();
    return Run(std::string("UPDATE ") + kSessionTable + " SET origin = 'tether'");
  }
  Status Commit() override {
    if (marked_) {
      marked_ = false;
      TETHER_RETURN_IF_ERROR(Run(std::string("UPDATE ") + kSessionTable + " SET origin = NULL"));
    }
    return Run("COMMIT");
  }
  Status Rollback() override {
    marked_ = false;  // the mark goes with the rest
    // SQLite may already have rolled back on its own (disk full, I/O error); that is success.
    if (sqlite3_get_autocommit(db_.get())) return Status::OK();
    return Run("ROLLBACK");
  }
  Status Savepoint(const std::string& name) override {
    return Run("SAVEPOINT " + QuoteIdent(name));
  }
  Status ReleaseSavepoint(const std::string& name) override {
    return Run("RELEASE SAVEPOINT " + QuoteIdent(name));
  }
  Status RollbackToSavepoint(const std::string& name) override {
    return Run("ROLLBACK TO SAVEPOINT " + QuoteIdent(name));
  }

  // An in-memory database is this connector's alone: nobody else can take its locks.
  Result<bool> TryLock(const std::string& name) override {
    if (InMemory()) return true;
    return locks_.TryLock(name);
  }
  Status ReleaseLock(const std::string& name) override {
    if (InMemory()) return Status::OK();
    return locks_.Release(name);
  }
  // The database file's device and inode: the same file whatever path reaches it.
  Result<std::string> DatabaseMark() override {
    if (InMemory()) return MakeMark("sqlite-memory", {RandomToken()});
    struct stat st {};
    if (stat(path_.c_str(), &st) != 0) {
      return Status::Io(where_ + ": cannot read the file's identity: " + std::strerror(errno));
    }
    return MakeMark("sqlite", {std::to_string(st.st_dev), std::to_string(st.st_ino)});
  }
  Result<bool> SameDatabase(const std::string& mark) override {
    if (InMemory()) return false;
    TETHER_ASSIGN_OR_RETURN(std::string own, DatabaseMark());
    return own == mark;
  }

 private:
  bool InMemory() const { return path_ == ":memory:"; }

  Status Error(int rc, std::string_view what) const {
    std::string msg = where_;
    msg += ": ";
    msg += what;
    msg += ": ";
    msg += sqlite3_errmsg(db_.get());
    return Status(CodeFor(rc, sqlite3_system_errno(db_.get())), std::move(msg));
  }

  Status RowError(int rc, std::string_view what, size_t index, size_t count) const {
    return Error(rc, std::string(what) + " (row " + std::to_string(index + 1) + " of " +
                         std::to_string(count) + ")");
  }

  Result<Statement> Prepare(const std::string& sql, unsigned flags = 0) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), flags, &raw,
                                nullptr);
    Statement stmt(raw);
    if (rc != SQLITE_OK) return Error(rc, "preparing " + sql);
    return stmt;
  }

  // A prepared statement for `sql`, kept for reuse. The pointer is valid until the next call
  // to Cached(); the caller resets it after use.
  Result<sqlite3_stmt*> Cached(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second.get();
    TETHER_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql, SQLITE_PREPARE_PERSISTENT));
    if (cache_.size() >= kMaxCachedStatements) cache_.clear();
    sqlite3_stmt* raw = stmt.get();
    cache_.emplace(sql, std::move(stmt));
    return raw;
  }

  // Every row of the cached statement `sql` with `params` bound in order.
  // Calls `each` with the statement on each row of `q` over the request's range.
  using EachRowFn = std::function<Status(sqlite3_stmt*)>;
  Status RangeEach(const RangeSql& q, const ChecksumRequest& request, const std::string& what,
                   const EachRowFn& each);
  // All rows of `q`.
  Result<std::vector<Row>> RangeRows(const RangeSql& q, const ChecksumRequest& request,
                                     const std::string& what);
  // An EachRowFn that appends each row to *rows.
  static EachRowFn AppendTo(std::vector<Row>* rows) {
    return [rows](sqlite3_stmt* st) {
      const int n = sqlite3_column_count(st);
      Row& row = rows->emplace_back();
      row.reserve(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) row.push_back(ColumnValue(st, i));
      return Status::OK();
    };
  }
  Status EachRow(const std::string& sql, const std::vector<const Value*>& params,
                 std::string_view what, const EachRowFn& each) {
    TETHER_ASSIGN_OR_RETURN(sqlite3_stmt * st, Cached(sql));
    ScopedReset reset(st);
    for (size_t i = 0; i < params.size(); ++i) {
      const int rc = BindValue(st, static_cast<int>(i + 1), *params[i], /*copy=*/false);
      if (rc != SQLITE_OK) return Error(rc, what);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) TETHER_RETURN_IF_ERROR(each(st));
    if (rc != SQLITE_DONE) return Error(rc, what);
    return Status::OK();
  }
  Result<std::vector<Row>> CachedRows(const std::string& sql,
                                      const std::vector<const Value*>& params,
                                      std::string_view what) {
    std::vector<Row> rows;
    TETHER_RETURN_IF_ERROR(EachRow(sql, params, what, AppendTo(&rows)));
    return rows;
  }

  // Runs one parameterless statement to its end, ignoring any rows.
  Result<bool> HasSessionTable() {
    TETHER_ASSIGN_OR_RETURN(
        sqlite3_stmt * st,
        Cached(std::string("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '") +
               kSessionTable + "'"));
    ScopedReset reset(st);
    const int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error(rc, "looking for tether_session");
    return rc == SQLITE_ROW;
  }

  Status Run(const std::string& sql) {
    TETHER_ASSIGN_OR_RETURN(sqlite3_stmt * st, Cached(sql));
    ScopedReset reset(st);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return Error(rc, sql);
    return Status::OK();
  }

  // Runs trusted multi-statement SQL.
  Status Exec(const std::string& sql, std::string_view what) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::OK();
    std::string msg = where_ + ": " + std::string(what) + ": " + (err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return Status(CodeFor(sqlite3_extended_errcode(db_.get()), sqlite3_system_errno(db_.get())),
                  std::move(msg));
  }

  // Runs `body` so that it takes effect entirely or not at all: inside the caller's transaction
  // through a savepoint, otherwise in a transaction of its own (which is also much faster).
  template <typename Fn>
  Status Atomically(Fn&& body) {
    const std::string savepoint = "SAVEPOINT " + std::string(kBatchSavepoint);
    const std::string release = "RELEASE " + std::string(kBatchSavepoint);
    TETHER_RETURN_IF_ERROR(Run(savepoint));
    Status s = body();
    if (s.ok()) s = Run(release);
    if (s.ok()) return s;
    if (!sqlite3_get_autocommit(db_.get())) {
      // Errors here only repeat the first one; the caller gets the cause.
      (void)Run("ROLLBACK TO " + std::string(kBatchSavepoint));
      (void)Run(release);
    }
    return s;
  }

  // Steps `sql` once per row with the row's values bound in order. When `returned` is set it
  // receives, per row, the first result row (RETURNING), or an empty row.
  Status ExecEach(const std::string& sql, size_t arity, const std::vector<Row>& rows,
                  std::string_view what, std::vector<Row>* returned) {
    for (const Row& row : rows) {
      if (row.size() != arity) {
        return Status::InvalidArgument(where_ + ": " + std::string(what) + ": a row has " +
                                       std::to_string(row.size()) + " values, expected " +
                                       std::to_string(arity));
      }
    }
    if (rows.empty()) return Status::OK();
    if (returned) returned->reserve(returned->size() + rows.size());
    return Atomically([&]() -> Status {
      TETHER_ASSIGN_OR_RETURN(sqlite3_stmt * st, Cached(sql));
      for (size_t r = 0; r < rows.size(); ++r) {
        ScopedReset reset(st);
        const Row& row = rows[r];
        for (size_t i = 0; i < arity; ++i) {
          int rc = BindValue(st, static_cast<int>(i + 1), row[i], /*copy=*/false);
          if (rc != SQLITE_OK) return RowError(rc, what, r, rows.size());
        }
        Row* out = returned ? &returned->emplace_back() : nullptr;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
          if (out && out->empty()) {
            int n = sqlite3_column_count(st);
            out->reserve(static_cast<size_t>(n));
            for (int i = 0; i < n; ++i) out->push_back(ColumnValue(st, i));
          }
        }
        if (rc != SQLITE_DONE) return RowError(rc, what, r, rows.size());
      }
      return Status::OK();
    });
  }

  std::string name_;
  std::string where_;    // "connection 'name' (path)", the start of every error message
  bool marked_ = false;  // this transaction set tether_session.origin (Begin)
  std::string path_;
  DbHandle db_;
  LockFile locks_;
  // Declared after db_, so destroyed (finalized) before the database closes.
  std::unordered_map<std::string, Statement> cache_;
};

Result<std::optional<TableSchema>> SqliteConnector::DescribeTable(const std::string& table) {
  const std::string what = "describing table " + table;
  TableSchema schema;
  schema.name = table;
  {
    // hidden: 1 = hidden column of a virtual table, 2/3 = generated; none of them is writable.
    TETHER_ASSIGN_OR_RETURN(sqlite3_stmt * st,
                            Cached("SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk "
                                   "FROM pragma_table_xinfo(?1) WHERE hidden = 0 ORDER BY cid"));
    ScopedReset reset(st);
    int rc = sqlite3_bind_text64(st, 1, table.data(), table.size(), SQLITE_STATIC, SQLITE_UTF8);
    if (rc != SQLITE_OK) return Error(rc, what);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      ColumnInfo& col = schema.columns.emplace_back();
      col.name = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      const auto* type = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
      col.declared_type = type ? type : "";
      ClassifyDeclared(col.declared_type, &col);
      col.not_null = sqlite3_column_int(st, 2) != 0;
      col.has_default = sqlite3_column_int(st, 3) != 0;
      col.pk_position = sqlite3_column_int(st, 4);
    }
    if (rc != SQLITE_DONE) return Error(rc, what);
  }
  if (schema.columns.empty()) return std::optional<TableSchema>();

  std::vector<const ColumnInfo*> pk;
  for (const ColumnInfo& c : schema.columns) {
    if (c.pk_position > 0) pk.push_back(&c);
  }
  std::sort(pk.begin(), pk.end(), [](const ColumnInfo* a, const ColumnInfo* b) {
    return a->pk_position < b->pk_position;
  });
  for (const ColumnInfo* c : pk) schema.primary_key.push_back(c->name);

  // A single-column primary key declared exactly INTEGER is the rowid, which SQLite assigns —
  // unless the table is WITHOUT ROWID or the key is DESC; then the key has its own index.
  if (pk.size() == 1) {
    if (AsciiUpper(pk[0]->declared_type) == "INTEGER") {
      TETHER_ASSIGN_OR_RETURN(
          sqlite3_stmt * st,
          Cached("SELECT count(*) FROM pragma_index_list(?1) WHERE origin = 'pk'"));
      ScopedReset reset(st);
      int rc = sqlite3_bind_text64(st, 1, table.data(), table.size(), SQLITE_STATIC, SQLITE_UTF8);
      if (rc != SQLITE_OK) return Error(rc, what);
      rc = sqlite3_step(st);
      if (rc != SQLITE_ROW) return Error(rc, what);
      if (sqlite3_column_int(st, 0) == 0) {
        for (ColumnInfo& c : schema.columns) c.auto_increment = c.pk_position == 1;
      }
    }
  }
  return std::optional<TableSchema>(std::move(schema));
}

std::vector<std::string> SqliteConnector::TableDdl(const TableDef& def) const {
  std::vector<std::string> out;
  std::string sql = "CREATE TABLE IF NOT EXISTS " + QuoteIdent(def.name) + " (";
  for (size_t i = 0; i < def.columns.size(); ++i) {
    const ColumnDef& c = def.columns[i];
    if (i) sql += ", ";
    sql += QuoteIdent(c.name);
    // SQLite generates a key only for a column declared exactly INTEGER PRIMARY KEY.
    const bool rowid =
        c.auto_increment && def.primary_key.size() == 1 && def.primary_key[0] == c.name;
    std::string type = rowid ? "INTEGER PRIMARY KEY" : DeclaredTypeFor(c);
    if (!type.empty()) sql += " " + type;
    if (c.not_null) sql += " NOT NULL";
  }
  const bool rowid_key =
      std::any_of(def.columns.begin(), def.columns.end(), [&def](const ColumnDef& c) {
        return c.auto_increment && def.primary_key.size() == 1 && def.primary_key[0] == c.name;
      });
  if (!def.primary_key.empty() && !rowid_key) {
    sql += ", PRIMARY KEY (" + QuoteList(def.primary_key) + ")";
  }
  sql += ")";
  out.push_back(std::move(sql));
  for (const IndexDef& index : def.indexes) {
    // Index names are global to the database: derive one from the table when none is given.
    std::string name = index.name;
    std::string columns;
    for (size_t i = 0; i < index.columns.size(); ++i) {
      const Normalization how = i < index.normalize.size() ? index.normalize[i] : Normalization{};
      columns += (i ? "," : "") + NormalizedColumn(QuoteIdent(index.columns[i]), how);
      if (index.name.empty()) name += "_" + index.columns[i] + NormalizationSuffix(how);
    }
    if (index.name.empty()) name = def.name + name + "_idx";
    out.push_back(std::string("CREATE ") + (index.unique ? "UNIQUE " : "") +
                  "INDEX IF NOT EXISTS " + QuoteIdent(name) + " ON " + QuoteIdent(def.name) + " (" +
                  columns + ")");
  }
  return out;
}

Status SqliteConnector::EnsureTable(const TableDef& def) {
  if (def.name.empty() || def.columns.empty()) {
    return Status::InvalidArgument(where_ + ": a table to create needs a name and columns");
  }
  std::string sql;
  for (const std::string& statement : TableDdl(def)) sql += statement + ";\n";
  return Atomically([&] { return Exec(sql, "creating table " + def.name); });
}

Result<std::vector<Row>> SqliteConnector::Query(const std::string& sql, const Row& params) {
  TETHER_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
  for (size_t i = 0; i < params.size(); ++i) {
    int rc = BindValue(stmt.get(), static_cast<int>(i + 1), params[i], /*copy=*/false);
    if (rc != SQLITE_OK) return Error(rc, "binding a parameter of " + sql);
  }
  std::vector<Row> rows;
  const int n = sqlite3_column_count(stmt.get());
  while (true) {
    int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Error(rc, "running " + sql);
    Row row;
    row.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) row.push_back(ColumnValue(stmt.get(), i));
    rows.push_back(std::move(row));
  }
  return rows;
}

// Appends " WHERE c1 op ? AND ..." and collects the values to bind; returns the joiner for
// whatever comes next (" WHERE " when there were no conditions, " AND " otherwise).
const char* AppendConditions(const std::vector<Condition>& conditions, std::string* sql,
                             std::vector<const Value*>* params) {
  return tether::AppendConditions(conditions, kSqlDialect, sql, [params](const Condition& c) {
    params->push_back(&c.value);
    return params->size();
  });
}

// Appends the key range `after` < (keys) <= `upto` (an absent bound is open) as row-value
// comparisons and collects the values to bind; returns the joiner for whatever comes next.
const char* AppendKeyRange(const std::vector<std::string>& keys, const std::optional<Row>& after,
                           const std::optional<Row>& upto, const char* joiner, std::string* sql,
                           std::vector<const Value*>* params) {
  for (const auto& [bound, op] : {std::pair{&after, ">"}, std::pair{&upto, "<="}}) {
    if (!*bound) continue;
    *sql += joiner;
    joiner = " AND ";
    *sql += "(" + QuoteList(keys) + ") " + op + " (" + Placeholders(keys.size()) + ")";
    for (const Value& v : **bound) params->push_back(&v);
  }
  return joiner;
}

Result<int64_t> SqliteConnector::Count(const std::string& table,
                                       const std::vector<Condition>& conditions) {
  const std::string what = "counting rows of " + table;
  std::string sql = "SELECT count(*) FROM " + QuoteIdent(table);
  std::vector<const Value*> params;
  AppendConditions(conditions, &sql, &params);
  TETHER_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
  for (size_t i = 0; i < params.size(); ++i) {
    int rc = BindValue(stmt.get(), static_cast<int>(i + 1), *params[i], /*copy=*/false);
    if (rc != SQLITE_OK) return Error(rc, what);
  }
  int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return Error(rc, what);
  return static_cast<int64_t>(sqlite3_column_int64(stmt.get(), 0));
}

Result<std::unique_ptr<RowStream>> SqliteConnector::Scan(const ScanRequest& request) {
  const std::string what = "scanning " + request.table;
  std::string sql = "SELECT ";
  sql += request.columns.empty() ? "*" : QuoteList(request.columns);
  sql += " FROM " + QuoteIdent(request.table);

  std::vector<const Value*> params;
  const std::string problem = KeyBoundsProblem(request.key_columns, request.after_key,
                                               request.upto_key, "after_key", "upto_key");
  if (!problem.empty()) return Status::InvalidArgument(where_ + ": " + what + ": " + problem);
  const char* joiner = AppendConditions(request.conditions, &sql, &params);
  AppendKeyRange(request.key_columns, request.after_key, request.upto_key, joiner, &sql, &params);
  if (!request.key_columns.empty()) sql += " ORDER BY " + QuoteList(request.key_columns);
  if (request.limit > 0) sql += request.skip > 0 ? " LIMIT ? OFFSET ?" : " LIMIT ?";

  TETHER_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
  // The stream outlives the request, so SQLite copies what it binds.
  for (size_t i = 0; i < params.size(); ++i) {
    int rc = BindValue(stmt.get(), static_cast<int>(i + 1), *params[i], /*copy=*/true);
    if (rc != SQLITE_OK) return Error(rc, what);
  }
  if (request.limit > 0) {
    int rc = sqlite3_bind_int64(stmt.get(), static_cast<int>(params.size() + 1),
                                static_cast<sqlite3_int64>(request.limit));
    if (rc == SQLITE_OK && request.skip > 0) {
      rc = sqlite3_bind_int64(stmt.get(), static_cast<int>(params.size() + 2),
                              static_cast<sqlite3_int64>(request.skip));
    }
    if (rc != SQLITE_OK) return Error(rc, what);
  }
  return std::unique_ptr<RowStream>(
      std::make_unique<SqliteRowStream>(db_.get(), std::move(stmt), where_ + ": " + what));
}

namespace {

// A lookup's statement for some number of keys: head, then `tuple` per key (comma-separated),
// then tail.
struct LookupSql {
  std::string head, tuple, tail;
};

// One column: `c IN (?,...)`. Several: a join against the key list, because SQLite answers
// `(a,b) IN (VALUES ...)` with a full table scan, while the join probes the index per key. A
// normalised column is compared as the expression an index can be made on (NormalizedColumn).
LookupSql LookupShape(const LookupRequest& request) {
  const size_t arity = request.by_columns.size();
  auto by = [&request](size_t i, const std::string& prefix) {
    const std::string column = prefix + QuoteIdent(request.by_columns[i]);
    return i < request.normalize.size() ? NormalizedColumn(column, request.normalize[i]) : column;
  };
  LookupSql q;
  q.head = "SELECT ";
  if (arity == 1) {
    q.head += request.columns.empty() ? "*" : QuoteList(request.columns);
    q.head += " FROM " + QuoteIdent(request.table) + " WHERE " + by(0, "") + " IN (";
    q.tail = ")";
  } else {
    if (request.columns.empty()) {
      q.head += "t.*";
    } else {
      for (size_t i = 0; i < request.columns.size(); ++i) {
        q.head += (i ? ", t." : "t.") + QuoteIdent(request.columns[i]);
      }
    }
    q.head += " FROM (VALUES ";
    q.tail = ") AS k CROSS JOIN " + QuoteIdent(request.table) + " AS t ON ";
    for (size_t i = 0; i < arity; ++i) {
      if (i) q.tail += " AND ";
      q.tail += by(i, "t.") + " = k.column" + std::to_string(i + 1);
    }
  }
  q.tuple = arity == 1 ? "?" : "(" + Placeholders(arity) + ")";
  return q;
}

}  // namespace

Result<bool> SqliteConnector::LookupUsesIndex(const LookupRequest& request) {
  if (request.by_columns.empty()) {
    return Status::InvalidArgument(where_ + ": looking up rows of " + request.table +
                                   ": no by_columns");
  }
  const LookupSql q = LookupShape(request);
  TETHER_ASSIGN_OR_RETURN(auto plan, Query("EXPLAIN QUERY PLAN " + q.head + q.tuple + q.tail, {}));
  // Each row's last field describes a step: "SEARCH <table or alias> USING INDEX ..." reads
  // through an index, "SCAN <table>" reads all of it.
  const std::string table = request.by_columns.size() == 1 ? request.table : "t";
  for (const Row& step : plan) {
    if (step.empty() || step.back().kind() != ValueKind::kText) continue;
    const std::string& detail = step.back().as_string();
    if (detail.rfind("SEARCH " + table + " ", 0) == 0) return true;
  }
  return false;
}

Result<std::vector<Row>> SqliteConnector::Lookup(const LookupRequest& request) {
  const std::string what = "looking up rows of " + request.table;
  const size_t arity = request.by_columns.size();
  if (arity == 0) return Status::InvalidArgument(where_ + ": " + what + ": no by_columns");
  for (const Row& key : request.keys) {
    if (key.size() != arity) {
      return Status::InvalidArgument(where_ + ": " + what + ": a key has " +
                                     std::to_string(key.size()) + " values, expected " +
                                     std::to_string(arity));
    }
  }
  const auto [head, tuple, tail] = LookupShape(request);

  // Each key once: a repeated key would return its rows twice.
  std::vector<const Row*> keys;
  keys.reserve(request.keys.size());
  {
    std::unordered_set<std::string> seen;
    for (const Row& key : request.keys) {
      if (seen.insert(EncodeKey(key)).second) keys.push_back(&key);
    }
  }

  const int var_limit = sqlite3_limit(db_.get(), SQLITE_LIMIT_VARIABLE_NUMBER, -1);
  const size_t max_keys =
      std::clamp<size_t>(static_cast<size_t>(var_limit) / arity, 1, kMaxLookupKeys);

  std::vector<Row> out;
  for (size_t begin = 0; begin < keys.size();) {
    const size_t n = std::min(max_keys, keys.size() - begin);
    // Padding with NULL keys (they match nothing) keeps the number of statement shapes small.
    const size_t slots = std::min(std::bit_ceil(n), max_keys);
    std::string sql = head;
    sql.reserve(head.size() + slots * (tuple.size() + 1) + tail.size());
    for (size_t j = 0; j < slots; ++j) {
      if (j) sql += ',';
      sql += tuple;
    }
    sql += tail;

    TETHER_ASSIGN_OR_RETURN(sqlite3_stmt * st, Cached(sql));
    ScopedReset reset(st);
    sqlite3_clear_bindings(st);
    int param = 1;
    for (size_t j = 0; j < n; ++j) {
      for (const Value& v : *keys[begin + j]) {
        int rc = BindValue(st, param++, v, /*copy=*/false);
        if (rc != SQLITE_OK) return Error(rc, what);
      }
    }
    int rc;
    const int columns = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      Row& row = out.emplace_back();
      row.reserve(static_cast<size_t>(columns));
      for (int i = 0; i < columns; ++i) row.push_back(ColumnValue(st, i));
    }
    if (rc != SQLITE_DONE) return Error(rc, what);
    begin += n;
  }
  return out;
}

Status SqliteConnector::RangeEach(const RangeSql& q, const ChecksumRequest& request,
                                  const std::string& what, const EachRowFn& each) {
  const std::string problem = RangeRequestProblem(request);
  if (!problem.empty()) return Status::InvalidArgument(where_ + ": " + what + ": " + problem);
  std::string sql = q.head + " FROM " + QuoteIdent(request.table);
  std::vector<const Value*> params;
  for (const Value& v : q.head_params) params.push_back(&v);
  const char* joiner = AppendConditions(request.conditions, &sql, &params);
  joiner = AppendKeyRange(request.key_columns, request.range.after, request.range.upto, joiner,
                          &sql, &params);
  if (!q.also.empty()) sql += joiner + q.also;
  for (const Value& v : q.also_params) params.push_back(&v);
  return EachRow(sql + q.tail, params, what, each);
}

Result<std::vector<Row>> SqliteConnector::RangeRows(const RangeSql& q,
                                                    const ChecksumRequest& request,
                                                    const std::string& what) {
  std::vector<Row> rows;
  TETHER_RETURN_IF_ERROR(RangeEach(q, request, what, AppendTo(&rows)));
  return rows;
}

Result<RangeChecksum> SqliteConnector::Checksum(const ChecksumRequest& request) {
  const std::string what = "computing a checksum of " + request.table;
  TETHER_ASSIGN_OR_RETURN(std::vector<Row> rows,
                          RangeRows(RangeSql::Select("SELECT count(*), tether_hash_sum(" +
                                                     RowHashArgs(request.columns) + ")"),
                                    request, what));
  if (rows.size() != 1 || rows[0].size() != 2 || rows[0][0].kind() != ValueKind::kInt ||
      rows[0][1].kind() != ValueKind::kInt) {
    return Status::Internal(where_ + ": " + what + ": unexpected result of the checksum query");
  }
  return RangeChecksum{rows[0][0].as_int(), static_cast<uint64_t>(rows[0][1].as_int())};
}

Result<std::vector<Row>> SqliteConnector::RowHashes(const ChecksumRequest& request) {
  return RangeRows(RangeSql::Select("SELECT " + QuoteList(request.key_columns) + ", tether_hash(" +
                                    RowHashArgs(request.columns) + ")"),
                   request, "hashing the rows of " + request.table);
}

// Each row's hash in key order, added up here: SQLite would sort every row to GROUP BY a
// bucket, where the key's index gives them in order.
Result<std::vector<BucketChecksum>> SqliteConnector::ChecksumBuckets(const ChecksumRequest& request,
                                                                     const KeyBuckets& buckets) {
  const std::string what = "computing bucket checksums of " + request.table;
  const std::string problem = KeyBucketsProblem(request, buckets);
  if (!problem.empty()) return Status::InvalidArgument(where_ + ": " + what + ": " + problem);
  const std::string key = QuoteIdent(request.key_columns[0]);
  RangeSql q;
  q.head = "SELECT " + key + ", tether_hash(" + RowHashArgs(request.columns) + ")";
  q.also = key + " >= ? AND " + key + " <= ?";
  q.also_params = {Value::Int(buckets.origin), Value::Int(buckets.last)};
  q.tail = " ORDER BY " + key;
  std::vector<BucketChecksum> out;
  TETHER_RETURN_IF_ERROR(RangeEach(q, request, what, [&](sqlite3_stmt* st) {
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER) {
      return Status::InvalidArgument(where_ + ": " + what + ": the key '" +
                                     ColumnValue(st, 0).ToText() +
                                     "' is not an integer (compare with --no-checksums)");
    }
    const int64_t id = sqlite3_column_int64(st, 0);
    const auto bucket = static_cast<int64_t>(static_cast<uint64_t>(id - buckets.origin) /
                                             static_cast<uint64_t>(buckets.width));
    if (out.empty() || out.back().bucket != bucket) out.push_back({bucket, {}, id, id});
    BucketChecksum& b = out.back();
    ++b.checksum.rows;
    b.checksum.sum += static_cast<uint64_t>(sqlite3_column_int64(st, 1));  // modulo 2^64
    b.greatest = id;
    return Status::OK();
  }));
  return out;
}

Result<std::optional<std::pair<int64_t, int64_t>>> SqliteConnector::KeyBounds(
    const ChecksumRequest& request) {
  const std::string what = "finding the key bounds of " + request.table;
  if (request.key_columns.empty()) {
    return Status::InvalidArgument(where_ + ": " + what + ": no key columns");
  }
  const std::string key = QuoteIdent(request.key_columns[0]);
  TETHER_ASSIGN_OR_RETURN(
      auto rows,
      RangeRows(RangeSql::Select("SELECT min(" + key + "), max(" + key + ")"), request, what));
  return ReadBoundsRow(rows, where_ + ": " + what);
}

Result<std::vector<Row>> SqliteConnector::Insert(const std::string& table,
                                                 const std::vector<std::string>& columns,
                                                 const std::vector<Row>& rows,
                                                 const std::vector<std::string>& returning) {
  std::string sql = "INSERT INTO " + QuoteIdent(table);
  if (columns.empty()) {
    sql += " DEFAULT VALUES";
  } else {
    sql += " (" + QuoteList(columns) + ") VALUES (" + Placeholders(columns.size()) + ")";
  }
  if (!returning.empty()) sql += " RETURNING " + QuoteList(returning);
  std::vector<Row> out;
  TETHER_RETURN_IF_ERROR(ExecEach(sql, columns.size(), rows, "inserting into " + table, &out));
  return out;
}

Status SqliteConnector::Update(const std::string& table,
                               const std::vector<std::string>& key_columns,
                               const std::vector<std::string>& set_columns,
                               const std::vector<Row>& rows) {
  if (key_columns.empty() || set_columns.empty()) {
    return Status::InvalidArgument(where_ + ": updating " + table +
                                   ": needs key columns and columns to set");
  }
  std::string sql = "UPDATE " + QuoteIdent(table) + " SET ";
  for (size_t i = 0; i < set_columns.size(); ++i) {
    if (i) sql += ", ";
    sql += QuoteIdent(set_columns[i]) + " = ?";
  }
  for (size_t i = 0; i < key_columns.size(); ++i) {
    sql += i ? " AND " : " WHERE ";
    sql += QuoteIdent(key_columns[i]) + " = ?";
  }
  return ExecEach(sql, set_columns.size() + key_columns.size(), rows, "updating " + table, nullptr);
}

Status SqliteConnector::Upsert(const std::string& table, const std::vector<std::string>& columns,
                               const std::vector<std::string>& conflict_columns,
                               const std::vector<Row>& rows) {
  if (columns.empty() || conflict_columns.empty()) {
    return Status::InvalidArgument(where_ + ": upserting into " + table +
                                   ": needs columns and conflict columns");
  }
  std::string sql = "INSERT INTO " + QuoteIdent(table) + " (" + QuoteList(columns) + ") VALUES (" +
                    Placeholders(columns.size()) + ") ON CONFLICT (" + QuoteList(conflict_columns) +
                    ") DO ";
  bool any_set = false;
  for (const std::string& c : columns) {
    if (std::find(conflict_columns.begin(), conflict_columns.end(), c) != conflict_columns.end()) {
      continue;
    }
    sql += any_set ? ", " : "UPDATE SET ";
    any_set = true;
    sql += QuoteIdent(c) + " = excluded." + QuoteIdent(c);
  }
  if (!any_set) sql += "NOTHING";
  return ExecEach(sql, columns.size(), rows, "upserting into " + table, nullptr);
}

Status SqliteConnector::Delete(const std::string& table,
                               const std::vector<std::string>& key_columns,
                               const std::vector<Row>& keys) {
  if (key_columns.empty()) {
    return Status::InvalidArgument(where_ + ": deleting from " + table + ": no key columns");
  }
  std::string sql = "DELETE FROM " + QuoteIdent(table);
  for (size_t i = 0; i < key_columns.size(); ++i) {
    sql += i ? " AND " : " WHERE ";
    sql += QuoteIdent(key_columns[i]) + " = ?";
  }
  return ExecEach(sql, key_columns.size(), keys, "deleting from " + table, nullptr);
}

// The database file of `opt`, absolute and lexically normal; nullopt for ":memory:".
std::optional<std::string> FileOf(const Options& opt) {
  if (opt.path == ":memory:") return std::nullopt;
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(opt.path, ec);
  return ec ? opt.path : abs.lexically_normal().string();
}

}  // namespace
}  // namespace sqlite

Result<ConnectorUrl> DescribeSqliteUrl(const std::string& connection_name, const std::string& url) {
  TETHER_ASSIGN_OR_RETURN(sqlite::Options opt, sqlite::ParseUrl(connection_name, url));
  return ConnectorUrl{"sqlite", sqlite::FileOf(opt), opt.create};
}

Result<std::string> SqliteUrlCreating(const std::string& connection_name, const std::string& url) {
  TETHER_ASSIGN_OR_RETURN(sqlite::Options opt, sqlite::ParseUrl(connection_name, url));
  if (opt.create_given || opt.read_only) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "create=1";
}

std::string SqliteUrlRelativeTo(const std::string& url, const std::string& base_dir) {
  const std::optional<sqlite::UrlParts> parts = sqlite::SplitUrl(url);
  if (!parts) return url;
  const std::string_view path = parts->path;
  if (path.empty() || path == ":memory:" || path.front() == '/' || path.starts_with("file:")) {
    return url;
  }
  return url.substr(0, parts->path_at) +
         (std::filesystem::path(base_dir) / path).lexically_normal().string() +
         url.substr(parts->path_at + path.size());
}

Result<std::unique_ptr<Connector>> OpenSqliteConnector(const std::string& connection_name,
                                                       const std::string& url) {
  using sqlite::DbHandle;
  TETHER_ASSIGN_OR_RETURN(sqlite::Options opt, sqlite::ParseUrl(connection_name, url));
  const std::string where = "connection '" + connection_name + "'";

  std::string path = sqlite::FileOf(opt).value_or(opt.path);
  if (path != ":memory:") {
    std::error_code ec;
    bool exists = std::filesystem::exists(path, ec);
    if (ec) {
      StatusCode code = ec == std::errc::permission_denied ? StatusCode::kPermissionDenied
                                                           : StatusCode::kConnection;
      return Status(code, where + ": cannot access database file " + path + ": " + ec.message());
    }
    if (!exists && !opt.create) {
      return Status::Connection(where + ": database file " + path + " does not exist");
    }
  }

  int flags = SQLITE_OPEN_NOMUTEX;
  if (opt.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE | (opt.create ? SQLITE_OPEN_CREATE : 0);
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) {
    int sys_errno = raw ? sqlite3_system_errno(raw) : 0;
    std::string msg = where + ": cannot open database file " + path + ": " +
                      (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    if (sys_errno != 0) msg += std::string(" (") + std::strerror(sys_errno) + ")";
    return Status(sqlite::CodeFor(rc, sys_errno), std::move(msg));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, opt.busy_timeout_ms);

  auto connector = std::make_unique<sqlite::SqliteConnector>(connection_name, path, std::move(db));
  TETHER_RETURN_IF_ERROR(connector->Initialize());
  return std::unique_ptr<Connector>(std::move(connector));
}

}  // namespace tether
