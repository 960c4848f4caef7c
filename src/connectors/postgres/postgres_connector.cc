#include "connectors/postgres/postgres_connector.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "connectors/key_range.h"
#include "connectors/postgres/postgres_binary.h"
#include "connectors/postgres/postgres_copy.h"
#include "connectors/postgres/postgres_dialect.h"
#include "connectors/postgres/postgres_stream.h"
#include "connectors/postgres/postgres_url.h"
#include "connectors/postgres/postgres_values.h"
#include "connectors/session_lock.h"
#include "connectors/sql_text.h"

namespace tether {
namespace postgres {
namespace {

// The protocol numbers bind parameters with 16 bits.
constexpr size_t kMaxParams = 65535;
// Rows per multi-row INSERT / upsert / UPDATE statement: large enough that the round trip is
// small next to the work, small enough that parsing and planning the statement stay cheap.
constexpr size_t kMaxRowsPerStatement = 1000;
// Keys per Lookup / Delete statement.
constexpr size_t kMaxKeysPerStatement = 4096;
constexpr std::string_view kBatchSavepoint = "tether_batch";

// Column name -> type OID, for the statements whose placeholders PostgreSQL cannot type from
// context (VALUES lists joined against a table).
using ColumnTypes = std::unordered_map<std::string, TypeOid>;

std::string NulMessage(const std::string& context, const std::string& column, size_t row,
                       size_t rows) {
  return context + " (row " + std::to_string(row + 1) + " of " + std::to_string(rows) +
         "): the text for column '" + column +
         "' holds a NUL character, which PostgreSQL cannot store";
}

class PostgresConnector final : public Connector {
 public:
  PostgresConnector(std::string name, ConnectTarget target, ConnHandle conn)
      : name_(std::move(name)), target_(std::move(target)), conn_(std::move(conn)) {
    const char* host = PQhost(conn_.get());
    const char* port = PQport(conn_.get());
    const char* db = PQdb(conn_.get());
    where_ = "connection '" + name_ + "' (" + (host ? host : "") + ":" + (port ? port : "") + "/" +
             (db ? db : "") + ")";
  }

  ~PostgresConnector() override {
    // A stream the caller still holds must not touch the connection after it is closed.
    if (streaming_) streaming_->Abandon();
    if (copying_) copying_->Orphan();
  }

  // Session settings that make the server speak docs/TYPES.md's forms, plus the search_path
  // of schema=NAME. One round trip.
  Status Setup() {
    std::string sql =
        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres';"
        " SET extra_float_digits = 3; SET bytea_output = 'hex';"
        // What change-tracking triggers write into tether_changes.origin (see TrackingDdl).
        " SET tether.origin = 'tether';";
    // Neither JIT nor parallel plans pay on tether's queries, index walks and one-pass checksums:
    // JIT cost 0.6 s of 3 s in a checksum of 1M rows, and a parallel bucket checksum sorts
    // every row, spilling to disk, where a serial one hashes the few buckets.
    sql += " SET max_parallel_workers_per_gather = 0;";
    if (PQserverVersion(conn()) >= 110000) sql += " SET jit = off;";
    if (!target_.schema.empty()) sql += " SET search_path = " + QuoteIdent(target_.schema) + ";";
    sql += " SELECT current_setting('transaction_read_only'), current_schema()";
    ++commands_;
    ResultHandle result(PQexec(conn(), sql.c_str()));
    if (!result) return ConnError(conn(), where_ + ": setting the session up");
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
      return ResultError(conn(), result.get(), where_ + ": setting the session up");
    }
    read_only_ = std::string_view(PQgetvalue(result.get(), 0, 0)) == "on";
    schema_ = PQgetisnull(result.get(), 0, 1) ? "" : PQgetvalue(result.get(), 0, 1);
    if (!target_.schema.empty() && PQgetisnull(result.get(), 0, 1)) {
      return Status::Config(where_ + ": schema '" + target_.schema + "' (from schema= in the URL)" +
                            " does not exist");
    }
    return Status::OK();
  }

  const std::string& connection_name() const override { return name_; }
  std::string_view engine() const override { return "postgres"; }
  Capabilities capabilities() const override {
    Capabilities c;
    c.transactions = true;
    c.state_store = true;
    c.writable = !read_only_;
    c.checksums = true;
    c.read_ahead = true;
    return c;
  }
  const SqlDialect* sql_dialect() const override { return &kSqlDialect; }

  Status Ping() override {
    TETHER_RETURN_IF_ERROR(Ready());
    return Run("SELECT 1", "ping");
  }

  Result<std::optional<TableSchema>> DescribeTable(const std::string& table) override;
  // Those of the schemas on the search path, as an unqualified name would find them.
  Result<std::vector<std::string>> TableNames() override {
    TETHER_ASSIGN_OR_RETURN(
        auto rows,
        Query("SELECT DISTINCT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
              "c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = "
              "ANY (current_schemas(false)) ORDER BY 1",
              {}));
    std::vector<std::string> names;
    for (const Row& r : rows) names.push_back(r[0].ToText());
    return names;
  }
  Status EnsureTable(const TableDef& def) override;
  std::vector<std::string> TableDdl(const TableDef& def) const override {
    return postgres::TableDdl(def);
  }
  std::vector<std::string> AddColumnsDdl(const std::string& table,
                                         const std::vector<ColumnDef>& columns) const override {
    return AddColumnStatements(table, columns, '"', postgres::DeclaredTypeFor);
  }
  std::vector<std::string> TrackingDdl(const TrackedTable& t, bool install) const override {
    return postgres::TrackingDdl(t, install);
  }
  Status ExecuteScript(const std::string& sql) override {
    TETHER_RETURN_IF_ERROR(Ready());
    types_.clear();  // the script may have changed tables
    return Run(sql, "script");
  }
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
  Result<std::unique_ptr<BulkWriter>> StartBulkInsert(
      const std::string& table, const std::vector<std::string>& columns) override;

  Status Begin() override {
    TETHER_RETURN_IF_ERROR(Ready());
    return Run("BEGIN", "starting a transaction");
  }
  Status Commit() override;
  Status Rollback() override;
  Status Savepoint(const std::string& name) override {
    TETHER_RETURN_IF_ERROR(Ready());
    TETHER_RETURN_IF_ERROR(Run("SAVEPOINT " + QuoteIdent(name), "creating savepoint " + name));
    MarkAtSavepoint(name);
    return Status::OK();
  }
  Status ReleaseSavepoint(const std::string& name) override {
    TETHER_RETURN_IF_ERROR(Ready());
    return Run("RELEASE SAVEPOINT " + QuoteIdent(name), "releasing savepoint " + name);
  }
  Status RollbackToSavepoint(const std::string& name) override {
    TETHER_RETURN_IF_ERROR(Ready());
    TETHER_RETURN_IF_ERROR(
        Run("ROLLBACK TO SAVEPOINT " + QuoteIdent(name), "rolling back to savepoint " + name));
    MarkAtSavepoint(name);
    return Status::OK();
  }

  // Session advisory locks, which PostgreSQL keeps per database; the key covers the schema too,
  // since tether's tables (and so what a lock protects) live in the session's current schema.
  Result<bool> TryLock(const std::string& name) override {
    if (locks_.count(name)) return true;
    TETHER_RETURN_IF_ERROR(Ready());
    TETHER_ASSIGN_OR_RETURN(bool taken, AdvisoryLock("pg_try_advisory_lock", name));
    if (taken) locks_.insert(name);
    return taken;
  }
  Status ReleaseLock(const std::string& name) override {
    if (!locks_.erase(name)) return Status::OK();
    return AdvisoryLock("pg_advisory_unlock", name).status();
  }
  // This session holds an advisory lock of a random key, which a session can find in pg_locks
  // only on the same server and, for advisory locks, in the same database.
  Result<std::string> DatabaseMark() override {
    if (mark_.empty()) {
      const int64_t key =
          static_cast<int64_t>(std::stoull(RandomToken().substr(0, 16), nullptr, 16));
      TETHER_ASSIGN_OR_RETURN(
          auto rows,
          Query("SELECT pg_try_advisory_lock($1::int8), pg_backend_pid()", {Value::Int(key)}));
      if (rows.size() != 1 || rows[0].size() != 2 || rows[0][0].kind() != ValueKind::kBool ||
          !rows[0][0].as_bool()) {
        return Status::Internal(Context("marking the session"));
      }
      mark_ = MakeMark("postgres", {std::to_string(key), rows[0][1].ToText(), schema_});
    }
    return mark_;
  }
  Result<bool> SameDatabase(const std::string& mark) override {
    std::optional<std::vector<std::string>> parts = MarkParts(mark, "postgres", 3);
    int64_t signed_key = 0;
    if (!parts || (*parts)[2] != schema_) return false;
    const std::string& text = (*parts)[0];
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), signed_key);
    if (ec != std::errc() || end != text.data() + text.size()) return false;
    const uint64_t key = static_cast<uint64_t>(signed_key);
    TETHER_ASSIGN_OR_RETURN(
        auto rows,
        Query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
              "(SELECT oid FROM pg_database WHERE datname = current_database()) AND "
              "classid::int8 = $1 AND objid::int8 = $2 AND objsubid = 1 AND pid = $3::int4",
              {Value::Int(static_cast<int64_t>(key >> 32)),
               Value::Int(static_cast<int64_t>(key & 0xffffffffu)), Value::Text((*parts)[1])}));
    return rows.size() == 1 && !rows[0].empty() && rows[0][0].kind() == ValueKind::kInt &&
           rows[0][0].as_int() > 0;
  }

 private:
  // `function` (pg_try_advisory_lock or pg_advisory_unlock) of lock `name`'s key: its answer.
  Result<bool> AdvisoryLock(std::string_view function, const std::string& name) {
    const int64_t key = static_cast<int64_t>(LockKey(schema_, name));
    TETHER_ASSIGN_OR_RETURN(
        auto rows, Query("SELECT " + std::string(function) + "($1::int8)", {Value::Int(key)}));
    if (rows.size() != 1 || rows[0].size() != 1 || rows[0][0].kind() != ValueKind::kBool) {
      return Status::Internal(Context(std::string(function) + " of '" + name + "'"));
    }
    return rows[0][0].as_bool();
  }

  PGconn* conn() const { return conn_.get(); }
  std::string Context(std::string_view what) const { return where_ + ": " + std::string(what); }

  // Makes the connection ready for a new command: a scan still streaming reads the rest of its
  // rows first, and a connection lost outside a transaction is opened again (a lost
  // transaction is the caller's to roll back and retry).
  Status Ready() {
    if (streaming_) streaming_->Detach();
    if (copying_) copying_->Abandon();
    if (PQstatus(conn()) == CONNECTION_OK) return Status::OK();
    if (in_block_) {
      return Status::Connection(where_ + ": the connection was lost during a transaction");
    }
    PQreset(conn());
    if (PQstatus(conn()) != CONNECTION_OK) {
      return ConnectFailure("connection '" + name_ + "'", target_, PQerrorMessage(conn()));
    }
    types_.clear();
    TETHER_RETURN_IF_ERROR(Setup());
    // The session's locks went with it: take them back, unless another session has meanwhile.
    const std::set<std::string> held = std::move(locks_);
    locks_.clear();
    for (const std::string& name : held) {
      TETHER_ASSIGN_OR_RETURN(bool taken, TryLock(name));
      if (!taken) {
        return Status::Busy(where_ +
                            ": the connection was lost and opened again, and another "
                            "session took lock '" +
                            name + "' meanwhile");
      }
    }
    return Status::OK();
  }

  // Remembers whether the session is inside a transaction block, for when the connection is
  // lost: the server's answer is unknown then.
  void NoteTransactionState() {
    switch (PQtransactionStatus(conn())) {
      case PQTRANS_IDLE:
        in_block_ = false;
        break;
      case PQTRANS_INTRANS:
      case PQTRANS_INERROR:
        in_block_ = true;
        break;
      default:
        break;
    }
  }

  // The session's state is exactly that of the caller's savepoint `name`: nothing has run
  // since it was set or rolled back to.
  void MarkAtSavepoint(const std::string& name) {
    at_savepoint_ = name;
    at_savepoint_mark_ = commands_;
  }

  // Runs one statement with `params` bound; fails unless it completed.
  Result<ResultHandle> Exec(const std::string& sql, const Params* params, std::string_view what) {
    ++commands_;
    ResultHandle result(PQexecParams(
        conn(), sql.c_str(), params ? params->size() : 0, params ? params->types() : nullptr,
        params ? params->values() : nullptr, params ? params->lengths() : nullptr,
        params ? params->formats() : nullptr, /*resultFormat=*/0));
    NoteTransactionState();
    if (!result) return ConnError(conn(), Context(what));
    ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
    return ResultError(conn(), result.get(), Context(what));
  }

  // Runs trusted SQL without parameters; it may hold several statements.
  Status Run(const std::string& sql, std::string_view what) {
    ++commands_;
    ResultHandle result(PQexec(conn(), sql.c_str()));
    NoteTransactionState();
    if (!result) return ConnError(conn(), Context(what));
    ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
      return Status::OK();
    }
    return ResultError(conn(), result.get(), Context(what));
  }

  // Runs `body` so that it takes effect entirely or not at all, and so that a failure leaves
  // the caller's transaction usable:
  //  - outside a transaction, in one of its own (which a single statement, `one_statement`,
  //    already is);
  //  - right after the caller's own savepoint (the engine sets one around each write), with
  //    nothing more: on failure, rolling back to that savepoint restores exactly the state
  //    before `body`, so no savepoint of its own is needed;
  //  - otherwise inside a savepoint of its own.
  // `body(prefix)` sends its statements. A body whose first statement goes through PQexec
  // (`takes_prefix`) puts `prefix` ("SAVEPOINT ...; ") in front of it, sparing a round trip;
  // for the others the savepoint is set first.
  template <typename Fn>
  Status Atomically(bool one_statement, bool takes_prefix, Fn&& body) {
    if (PQtransactionStatus(conn()) == PQTRANS_IDLE) {
      if (one_statement) return body(std::string());
      TETHER_RETURN_IF_ERROR(Run("BEGIN", "starting a transaction"));
      Status s = body(std::string());
      if (s.ok()) s = Run("COMMIT", "committing");
      if (s.ok()) return s;
      if (PQstatus(conn()) == CONNECTION_OK) {
        (void)Run("ROLLBACK", "rolling back");  // an error here would only repeat the first one
      } else {
        in_block_ = false;  // the transaction was this call's own, and is gone with the connection
      }
      return s;
    }
    if (!at_savepoint_.empty() && at_savepoint_mark_ == commands_) {
      const std::string savepoint = at_savepoint_;
      Status s = body(std::string());
      if (!s.ok() && PQstatus(conn()) == CONNECTION_OK &&
          Run("ROLLBACK TO SAVEPOINT " + QuoteIdent(savepoint), "rolling back to a savepoint")
              .ok()) {
        MarkAtSavepoint(savepoint);
      }
      return s;
    }
    const std::string savepoint = "SAVEPOINT " + std::string(kBatchSavepoint);
    std::string prefix = savepoint + "; ";
    if (!takes_prefix) {
      TETHER_RETURN_IF_ERROR(Run(savepoint, "creating a savepoint"));
      prefix.clear();
    }
    Status s = body(prefix);
    if (s.ok()) return Run("RELEASE " + savepoint, "releasing a savepoint");
    if (PQstatus(conn()) == CONNECTION_OK) {
      (void)Run("ROLLBACK TO " + savepoint + "; RELEASE " + savepoint, "rolling back a savepoint");
    }
    return s;
  }

  // The table's columns and, in *types, the type of every column (generated ones too).
  Result<std::optional<TableSchema>> Describe(const std::string& table, ColumnTypes* types);

  // A lookup's statement around its key list (KeyList): head and tail; *types gets the key
  // columns' types where PostgreSQL cannot infer them (several key columns).
  Result<std::pair<std::string, std::string>> LookupShape(const LookupRequest& request,
                                                          std::vector<TypeOid>* types,
                                                          std::string_view what);

  // The type OIDs of `columns` of `table`, for placeholders PostgreSQL cannot type itself.
  Result<std::vector<TypeOid>> TypesOf(const std::string& table,
                                       const std::vector<std::string>& columns,
                                       std::string_view what) {
    auto it = types_.find(table);
    if (it == types_.end()) {
      ColumnTypes types;
      TETHER_ASSIGN_OR_RETURN(auto schema, Describe(table, &types));
      if (!schema) return Status::NotFound(Context(what) + ": table " + table + " does not exist");
      it = types_.emplace(table, std::move(types)).first;
    }
    std::vector<TypeOid> out;
    out.reserve(columns.size());
    for (const std::string& c : columns) {
      auto found = it->second.find(c);
      if (found == it->second.end()) {
        return Status::NotFound(Context(what) + ": column " + c + " does not exist in " + table);
      }
      out.push_back(found->second);
    }
    return out;
  }

  // Appends `row`'s values to *params, typed by `types` when given.
  Status AddRow(const Row& row, const std::vector<TypeOid>* types,
                const std::vector<std::string>& names, std::string_view what, size_t index,
                size_t count, Params* params) const {
    for (size_t i = 0; i < row.size(); ++i) {
      if (!params->Add(row[i], types ? (*types)[i] : 0)) {
        return Status::InvalidRecord(
            NulMessage(Context(what), i < names.size() ? names[i] : "?", index, count));
      }
    }
    return Status::OK();
  }

  // Every row of `q`'s result, read as Scan reads rows.
  Result<std::vector<Row>> TextRows(const SqlText& q, std::string_view what) {
    TETHER_ASSIGN_OR_RETURN(ResultHandle result, ExecText(q, what));
    const std::vector<FieldKind> kinds = FieldKinds(result.get());
    std::vector<Row> rows(static_cast<size_t>(PQntuples(result.get())));
    for (size_t i = 0; i < rows.size(); ++i) {
      ReadRow(result.get(), static_cast<int>(i), kinds, &rows[i]);
    }
    return rows;
  }

  // Runs `q` (values bound, types inferred by the server).
  Result<ResultHandle> ExecText(const SqlText& q, std::string_view what) {
    Params params;
    params.Reserve(q.params.size());
    for (const Value* v : q.params) {
      if (!params.Add(*v)) return Status::InvalidArgument(Context(what) + ": NUL in a condition");
    }
    return Exec(q.sql, &params, what);
  }

  Status CheckArity(const std::vector<Row>& rows, size_t arity, std::string_view what) const {
    for (const Row& row : rows) {
      if (row.size() != arity) {
        return Status::InvalidArgument(Context(what) + ": a row has " + std::to_string(row.size()) +
                                       " values, expected " + std::to_string(arity));
      }
    }
    return Status::OK();
  }

  // Starts COPY ... FROM STDIN, with `prefix` (SQL) sent in front of it.
  Result<std::unique_ptr<CopyWriter>> StartCopy(const std::string& table,
                                                const std::vector<std::string>& columns,
                                                const std::string& what, const std::string& prefix,
                                                std::vector<TypeOid> binary_types = {});
  // COPY ... FROM STDIN of `rows`, with `prefix` (SQL) sent in front of the COPY.
  Status CopyIn(const std::string& table, const std::vector<std::string>& columns,
                const std::vector<Row>& rows, const std::string& what, const std::string& prefix);

  std::string name_;
  std::string where_;  // "connection 'name' (host:port/db)", the start of every error message
  ConnectTarget target_;
  ConnHandle conn_;
  bool read_only_ = false;
  std::string schema_;           // current_schema(): where unqualified tables are
  std::set<std::string> locks_;  // TryLock names held
  std::string mark_;             // DatabaseMark, once made
  // Last seen inside a transaction block: a lost connection is then reported to the caller (whose
  // transaction is gone) instead of being opened again behind its back.
  bool in_block_ = false;
  SingleRowStream* streaming_ = nullptr;
  CopyWriter* copying_ = nullptr;
  std::unordered_map<std::string, ColumnTypes> types_;
  uint64_t commands_ = 0;           // commands sent so far
  std::string at_savepoint_;        // the caller's savepoint last set or rolled back to ...
  uint64_t at_savepoint_mark_ = 0;  // ... and commands_ then
};

// Each distinct key once (by `key_of`), keeping the last occurrence, in input order: a
// repeated key would otherwise update a row twice in one statement, which PostgreSQL refuses
// for upserts, while sequential writes (SQLite) let the last one win.
template <typename KeyOf>
std::vector<const Row*> LastOfEachKey(const std::vector<Row>& rows, KeyOf key_of) {
  std::vector<std::string> keys;
  keys.reserve(rows.size());
  std::unordered_map<std::string_view, size_t> last;
  last.reserve(rows.size());
  for (const Row& row : rows) keys.push_back(key_of(row));
  for (size_t i = 0; i < rows.size(); ++i) last[keys[i]] = i;
  std::vector<const Row*> out;
  out.reserve(last.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (last[keys[i]] == i) out.push_back(&rows[i]);
  }
  return out;
}

Row Pick(const Row& row, size_t from, size_t n) {
  return Row(row.begin() + static_cast<std::ptrdiff_t>(from),
             row.begin() + static_cast<std::ptrdiff_t>(from + n));
}

// Rows per statement for `arity` parameters each, under the protocol's parameter limit.
size_t RowsPerStatement(size_t arity, size_t cap) {
  return std::max<size_t>(1, std::min(cap, kMaxParams / std::max<size_t>(arity, 1)));
}

Result<std::optional<TableSchema>> PostgresConnector::Describe(const std::string& table,
                                                               ColumnTypes* types) {
  const std::string what = "describing table " + table;
  // attgenerated (stored generated columns) exists from PostgreSQL 12 on.
  const char* generated = PQserverVersion(conn()) >= 120000 ? "a.attgenerated <> ''" : "false";
  const std::string sql =
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod),"
      " CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END,"
      " CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,"
      " a.attnotnull, a.atthasdef OR a.attidentity <> '',"
      " a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false),"
      " coalesce((SELECT k.n FROM pg_index i,"
      "   unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)"
      "   WHERE i.indrelid = c.oid AND i.indisprimary AND k.attnum = a.attnum), 0),"
      " " +
      std::string(generated) +
      ", a.atttypid"
      " FROM pg_class c"
      " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
      " LEFT JOIN pg_type t ON t.oid = a.atttypid"
      " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
      " WHERE c.oid = to_regclass(quote_ident($1)) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
      " ORDER BY a.attnum";
  Params params;
  const Value name = Value::Text(table);
  if (!params.Add(name)) return Status::InvalidArgument(Context(what) + ": NUL in the table name");
  TETHER_ASSIGN_OR_RETURN(ResultHandle result, Exec(sql, &params, what));
  PGresult* r = result.get();
  const int n = PQntuples(r);
  if (n == 0) return std::optional<TableSchema>();

  TableSchema schema;
  schema.name = table;
  std::vector<std::pair<int, std::string>> key;
  for (int i = 0; i < n; ++i) {
    if (PQgetisnull(r, i, 0)) continue;  // a table without columns
    auto flag = [r, i](int col) { return PQgetvalue(r, i, col)[0] == 't'; };
    auto number = [r, i](int col) { return std::stoll(PQgetvalue(r, i, col)); };
    const std::string column = PQgetvalue(r, i, 0);
    if (types) (*types)[column] = static_cast<TypeOid>(number(9));
    if (flag(8)) continue;  // generated: computed by the server, never written
    ColumnInfo& c = schema.columns.emplace_back();
    c.name = column;
    c.declared_type = PQgetvalue(r, i, 1);
    ClassifyType(static_cast<TypeOid>(number(2)), static_cast<int32_t>(number(3)), &c);
    c.not_null = flag(4);
    c.has_default = flag(5);
    c.auto_increment = flag(6);
    c.pk_position = static_cast<int>(number(7));
    if (c.pk_position > 0) key.emplace_back(c.pk_position, c.name);
  }
  std::sort(key.begin(), key.end());
  for (auto& [position, column] : key) schema.primary_key.push_back(std::move(column));
  return std::optional<TableSchema>(std::move(schema));
}

Result<std::optional<TableSchema>> PostgresConnector::DescribeTable(const std::string& table) {
  TETHER_RETURN_IF_ERROR(Ready());
  ColumnTypes types;
  TETHER_ASSIGN_OR_RETURN(auto schema, Describe(table, &types));
  if (schema) {
    types_[table] = std::move(types);
  } else {
    types_.erase(table);
  }
  return schema;
}

Status PostgresConnector::EnsureTable(const TableDef& def) {
  if (def.name.empty() || def.columns.empty()) {
    return Status::InvalidArgument(where_ + ": a table to create needs a name and columns");
  }
  TETHER_RETURN_IF_ERROR(Ready());
  std::string sql;
  for (const std::string& statement : TableDdl(def)) sql += statement + ";\n";
  types_.erase(def.name);
  // One simple query: its statements run in one implicit transaction outside the caller's.
  return Atomically(true, true, [&](const std::string& prefix) {
    return Run(prefix + sql, "creating table " + def.name);
  });
}

Result<std::vector<Row>> PostgresConnector::Query(const std::string& sql, const Row& params) {
  TETHER_RETURN_IF_ERROR(Ready());
  Params bound;
  bound.Reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    if (!bound.Add(params[i])) {
      return Status::InvalidRecord(Context("running " + sql) + ": parameter $" +
                                   std::to_string(i + 1) + " holds a NUL character");
    }
  }
  TETHER_ASSIGN_OR_RETURN(ResultHandle result, Exec(sql, &bound, "running " + sql));
  // A statement may have changed a table: then forget the column types.
  const std::string_view tag = PQcmdStatus(result.get());
  if (tag.starts_with("ALTER") || tag.starts_with("DROP") || tag.starts_with("CREATE")) {
    types_.clear();
  }
  const std::vector<FieldKind> kinds = FieldKinds(result.get());
  const int n = PQntuples(result.get());
  std::vector<Row> rows(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) ReadRow(result.get(), i, kinds, &rows[static_cast<size_t>(i)]);
  return rows;
}

Result<int64_t> PostgresConnector::Count(const std::string& table,
                                         const std::vector<Condition>& conditions) {
  TETHER_RETURN_IF_ERROR(Ready());
  const std::string what = "counting rows of " + table;
  SqlText q;
  q.sql = "SELECT count(*) FROM " + QuoteIdent(table);
  AppendConditions(conditions, &q);
  Params params;
  for (const Value* v : q.params) {
    if (!params.Add(*v)) return Status::InvalidArgument(Context(what) + ": NUL in a condition");
  }
  TETHER_ASSIGN_OR_RETURN(ResultHandle result, Exec(q.sql, &params, what));
  return static_cast<int64_t>(std::stoll(PQgetvalue(result.get(), 0, 0)));
}

Result<std::unique_ptr<RowStream>> PostgresConnector::Scan(const ScanRequest& request) {
  TETHER_RETURN_IF_ERROR(Ready());
  const std::string what = "scanning " + request.table;
  const std::string problem = KeyBoundsProblem(request.key_columns, request.after_key,
                                               request.upto_key, "after_key", "upto_key");
  if (!problem.empty()) return Status::InvalidArgument(Context(what) + ": " + problem);
  SqlText q = ScanSql(request);
  Params params;
  for (const Value* v : q.params) {
    if (!params.Add(*v)) return Status::InvalidArgument(Context(what) + ": NUL in a condition");
  }
  if (request.limit > 0) {
    // A bounded page: one round trip, and memory bounded by the page size.
    TETHER_ASSIGN_OR_RETURN(ResultHandle result, Exec(q.sql, &params, what));
    return std::unique_ptr<RowStream>(std::make_unique<PageStream>(std::move(result)));
  }
  // Unbounded: rows stream in single-row mode, so memory stays bounded by one row.
  const bool in_transaction = PQtransactionStatus(conn()) != PQTRANS_IDLE;
  ++commands_;
  if (!PQsendQueryParams(conn(), q.sql.c_str(), params.size(), params.types(), params.values(),
                         params.lengths(), params.formats(), 0)) {
    return ConnError(conn(), Context(what));
  }
  (void)PQsetSingleRowMode(conn());  // cannot fail right after a successful send
  auto stream =
      std::make_unique<SingleRowStream>(conn(), &streaming_, Context(what), in_transaction);
  TETHER_RETURN_IF_ERROR(stream->Start());
  return std::unique_ptr<RowStream>(std::move(stream));
}

Result<std::pair<std::string, std::string>> PostgresConnector::LookupShape(
    const LookupRequest& request, std::vector<TypeOid>* types, std::string_view what) {
  // One column: `c IN ($1, ...)`, whose placeholders take the column's type. Several: a join
  // with a VALUES list typed like the key columns, so PostgreSQL probes the index per key. A
  // normalised column is compared as the expression an index can be made on.
  const size_t arity = request.by_columns.size();
  auto by = [&request](size_t i, const std::string& prefix) {
    const std::string column = prefix + QuoteIdent(request.by_columns[i]);
    return i < request.normalize.size() ? NormalizedColumn(column, request.normalize[i]) : column;
  };
  std::string head = "SELECT ";
  std::string tail;
  if (arity == 1) {
    head += request.columns.empty() ? "*" : QuoteList(request.columns);
    head += " FROM " + QuoteIdent(request.table) + " WHERE " + by(0, "") + " IN (";
    tail = ")";
  } else {
    TETHER_ASSIGN_OR_RETURN(*types, TypesOf(request.table, request.by_columns, what));
    if (request.columns.empty()) {
      head += "t.*";
    } else {
      for (size_t i = 0; i < request.columns.size(); ++i) {
        head += (i ? ", t." : "t.") + QuoteIdent(request.columns[i]);
      }
    }
    head += " FROM (VALUES ";
    tail = ") AS k(" + Aliases("k", arity) + ") JOIN " + QuoteIdent(request.table) + " AS t ON ";
    for (size_t i = 0; i < arity; ++i) {
      if (i) tail += " AND ";
      tail += by(i, "t.") + " = k.k" + std::to_string(i + 1);
    }
  }
  return std::make_pair(std::move(head), std::move(tail));
}

Result<bool> PostgresConnector::LookupUsesIndex(const LookupRequest& request) {
  TETHER_RETURN_IF_ERROR(Ready());
  const std::string what = "checking how rows of " + request.table + " are looked up";
  const size_t arity = request.by_columns.size();
  if (arity == 0) return Status::InvalidArgument(Context(what) + ": no by_columns");
  std::vector<TypeOid> types;
  TETHER_ASSIGN_OR_RETURN(const auto shape, LookupShape(request, &types, what));
  // The plan PostgreSQL makes for any key (a generic plan: a NULL key is not folded away), with
  // sequential scans priced out: it reads the table whole only when no index serves.
  TETHER_RETURN_IF_ERROR(
      Run("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan", what));
  ResultHandle prepared(
      PQprepare(conn(), "tether_probe", (shape.first + KeyList(1, arity) + shape.second).c_str(),
                static_cast<int>(types.size()), types.empty() ? nullptr : types.data()));
  Result<std::vector<Row>> plan = [&]() -> Result<std::vector<Row>> {
    if (!prepared) return ConnError(conn(), Context(what));
    if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
      return ResultError(conn(), prepared.get(), Context(what));
    }
    std::string nulls;
    for (size_t i = 0; i < arity; ++i) nulls += i ? ", NULL" : "NULL";
    return TextRows(SqlText{"EXPLAIN EXECUTE tether_probe(" + nulls + ")", {}}, what);
  }();
  std::string reset = "RESET enable_seqscan; RESET plan_cache_mode";
  if (prepared && PQresultStatus(prepared.get()) == PGRES_COMMAND_OK) {
    reset = "DEALLOCATE tether_probe; " + reset;
  }
  TETHER_RETURN_IF_ERROR(Run(reset, what));
  TETHER_RETURN_IF_ERROR(plan.status());
  const std::string scan = "Seq Scan on " + request.table;
  for (const Row& line : *plan) {
    if (!line.empty() && line[0].kind() == ValueKind::kText &&
        line[0].as_string().find(scan) != std::string::npos) {
      return false;
    }
  }
  return true;
}

Result<std::vector<Row>> PostgresConnector::Lookup(const LookupRequest& request) {
  TETHER_RETURN_IF_ERROR(Ready());
  const std::string what = "looking up rows of " + request.table;
  const size_t arity = request.by_columns.size();
  if (arity == 0) return Status::InvalidArgument(Context(what) + ": no by_columns");
  TETHER_RETURN_IF_ERROR(CheckArity(request.keys, arity, what));

  // Each key once: a repeated key would return its rows twice.
  std::vector<const Row*> keys;
  keys.reserve(request.keys.size());
  {
    std::unordered_set<std::string> seen;
    for (const Row& key : request.keys) {
      if (seen.insert(EncodeKey(key)).second) keys.push_back(&key);
    }
  }
  if (keys.empty()) return std::vector<Row>();

  std::vector<TypeOid> types;
  TETHER_ASSIGN_OR_RETURN(const auto shape, LookupShape(request, &types, what));
  const auto& [head, tail] = shape;
  const size_t per_statement = RowsPerStatement(arity, kMaxKeysPerStatement);
  std::vector<Row> out;
  Params params;
  for (size_t begin = 0; begin < keys.size(); begin += per_statement) {
    const size_t n = std::min(per_statement, keys.size() - begin);
    const std::string sql = head + KeyList(n, arity) + tail;
    params.Clear();
    params.Reserve(n * arity);
    for (size_t j = 0; j < n; ++j) {
      TETHER_RETURN_IF_ERROR(AddRow(*keys[begin + j], types.empty() ? nullptr : &types,
                                    request.by_columns, what, begin + j, keys.size(), &params));
    }
    TETHER_ASSIGN_OR_RETURN(ResultHandle result, Exec(sql, &params, what));
    const std::vector<FieldKind> kinds = FieldKinds(result.get());
    const int rows = PQntuples(result.get());
    for (int i = 0; i < rows; ++i) ReadRow(result.get(), i, kinds, &out.emplace_back());
  }
  return out;
}

Result<RangeChecksum> PostgresConnector::Checksum(const ChecksumRequest& request) {
  TETHER_RETURN_IF_ERROR(Ready());
  const std::string what = "computing a checksum of " + request.table;
  const std::string problem =
      KeyBoundsProblem(request.key_columns, request.range.after, request.range.upto,
                       "the range's after", "the range's upto");
  if (!problem.empty()) return Status::InvalidArgument(Context(what) + ": " + problem);
  const bool trim_scale = PQserverVersion(conn()) >= 130000;
  TETHER_ASSIGN_OR_RETURN(ResultHandle result, ExecText(ChecksumSql(request, trim_scale), what));
  const PGresult* r = result.get();
  std::optional<uint64_t> sum;
  if (PQntuples(r) == 1 && PQnfields(r) == 2) {
    // sum() of no rows is NULL.
    sum = PQgetisnull(r, 0, 1) ? 0 : DecimalModulo64(PQgetvalue(r, 0, 1));
  }
  if (!sum) return Status::Internal(Context(what) + ": unexpected result of the checksum query");
  return RangeChecksum{std::stoll(PQgetvalue(r, 0, 0)), *sum};
}

Result<std::vector<Row>> PostgresConnector::RowHashes(const ChecksumRequest& request) {
  TETHER_RETURN_IF_ERROR(Ready());
  const std::string what = "hashing the rows of " + request.table;
  const std::string problem =
      KeyBoundsProblem(request.key_columns, request.range.after, request.range.upto,
                       "the range's after", "the range's upto");
  if (!problem.empty()) return Status::InvalidArgument(Context(what) + ": " + problem);
  const bool trim_scale = PQserverVersion(conn()) >= 130000;
  return TextRows(RowHashesSql(request, trim_scale), what);
}

Result<std::vector<BucketChecksum>> PostgresConnector::ChecksumBuckets(
    const ChecksumRequest& request, const KeyBuckets& buckets) {
  TETHER_RETURN_IF_ERROR(Ready());
  const std::string what = "computing bucket checksums of " + request.table;
  const std::string problem = KeyBucketsProblem(request, buckets);
  if (!problem.empty()) return Status::InvalidArgument(Context(what) + ": " + problem);
  const bool trim_scale = PQserverVersion(conn()) >= 130000;
  const Row numbers = {Value::Int(buckets.origin), Value::Int(buckets.width),
                       Value::Int(buckets.last)};
  TETHER_ASSIGN_OR_RETURN(auto rows,
                          TextRows(ChecksumBucketsSql(request, trim_scale, numbers), what));
  return ReadBucketRows(rows, Context(what));
}

Result<std::optional<std::pair<int64_t, int64_t>>> PostgresConnector::KeyBounds(
    const ChecksumRequest& request) {
  TETHER_RETURN_IF_ERROR(Ready());
  const std::string what = "finding the key bounds of " + request.table;
  const std::string problem = RangeRequestProblem(request);
  if (!problem.empty()) return Status::InvalidArgument(Context(what) + ": " + problem);
  TETHER_ASSIGN_OR_RETURN(auto rows, TextRows(KeyBoundsSql(request), what));
  return ReadBoundsRow(rows, Context(what));
}

Result<std::unique_ptr<CopyWriter>> PostgresConnector::StartCopy(
    const std::string& table, const std::vector<std::string>& columns, const std::string& what,
    const std::string& prefix, std::vector<TypeOid> binary_types) {
  const std::string sql = prefix + "COPY " + QuoteIdent(table) + " (" + QuoteList(columns) +
                          ") FROM STDIN" + (binary_types.empty() ? "" : " (FORMAT binary)");
  ++commands_;
  // With several statements, PQexec stops at the COPY's result (or returns the first error).
  ResultHandle started(PQexec(conn(), sql.c_str()));
  if (!started) return ConnError(conn(), Context(what));
  if (PQresultStatus(started.get()) != PGRES_COPY_IN) {
    return ResultError(conn(), started.get(), Context(what));
  }
  return std::make_unique<CopyWriter>(conn(), &copying_, Context(what), columns,
                                      std::move(binary_types));
}

Status PostgresConnector::CopyIn(const std::string& table, const std::vector<std::string>& columns,
                                 const std::vector<Row>& rows, const std::string& what,
                                 const std::string& prefix) {
  TETHER_ASSIGN_OR_RETURN(auto copy, StartCopy(table, columns, what, prefix));
  for (const Row& row : rows) TETHER_RETURN_IF_ERROR(copy->Append(row));
  return copy->Finish();
}

Result<std::unique_ptr<BulkWriter>> PostgresConnector::StartBulkInsert(
    const std::string& table, const std::vector<std::string>& columns) {
  TETHER_RETURN_IF_ERROR(Ready());
  const std::string what = "inserting into " + table;
  if (columns.empty()) {
    return Status::InvalidArgument(Context(what) + ": a bulk insert needs columns");
  }
  // Binary when every column's type has a binary form: the server then parses no text.
  TETHER_ASSIGN_OR_RETURN(std::vector<TypeOid> types, TypesOf(table, columns, what));
  if (!BinaryCopyable(types)) types.clear();
  TETHER_ASSIGN_OR_RETURN(auto copy, StartCopy(table, columns, what, "", std::move(types)));
  return std::unique_ptr<BulkWriter>(std::move(copy));
}

Result<std::vector<Row>> PostgresConnector::Insert(const std::string& table,
                                                   const std::vector<std::string>& columns,
                                                   const std::vector<Row>& rows,
                                                   const std::vector<std::string>& returning) {
  TETHER_RETURN_IF_ERROR(Ready());
  const std::string what = "inserting into " + table;
  TETHER_RETURN_IF_ERROR(CheckArity(rows, columns.size(), what));
  if (rows.empty()) return std::vector<Row>();
  const std::string returning_sql = returning.empty() ? "" : " RETURNING " + QuoteList(returning);

  if (returning.empty() && !columns.empty()) {
    // COPY: the fastest way in, one statement for the whole batch.
    TETHER_RETURN_IF_ERROR(Atomically(true, true, [&](const std::string& prefix) {
      return CopyIn(table, columns, rows, what, prefix);
    }));
    return std::vector<Row>(rows.size());
  }

  std::vector<Row> out;
  out.reserve(rows.size());
  auto collect = [&out](const ResultHandle& result) {
    const std::vector<FieldKind> kinds = FieldKinds(result.get());
    const int n = PQntuples(result.get());
    for (int i = 0; i < n; ++i) ReadRow(result.get(), i, kinds, &out.emplace_back());
  };

  if (columns.empty()) {
    // Rows of nothing but defaults, all in one statement.
    const std::string sql = "INSERT INTO " + QuoteIdent(table) +
                            " SELECT FROM generate_series(1, " + std::to_string(rows.size()) + ")" +
                            returning_sql;
    TETHER_ASSIGN_OR_RETURN(ResultHandle result, Exec(sql, nullptr, what));
    if (returning.empty()) return std::vector<Row>(rows.size());
    collect(result);
    return out;
  }

  // RETURNING comes back in the order of the VALUES list, so the values match the input rows.
  const size_t per_statement = RowsPerStatement(columns.size(), kMaxRowsPerStatement);
  const std::string head =
      "INSERT INTO " + QuoteIdent(table) + " (" + QuoteList(columns) + ") VALUES ";
  TETHER_RETURN_IF_ERROR(
      Atomically(rows.size() <= per_statement, false, [&](const std::string&) -> Status {
        Params params;
        for (size_t begin = 0; begin < rows.size(); begin += per_statement) {
          const size_t n = std::min(per_statement, rows.size() - begin);
          params.Clear();
          params.Reserve(n * columns.size());
          for (size_t j = 0; j < n; ++j) {
            TETHER_RETURN_IF_ERROR(
                AddRow(rows[begin + j], nullptr, columns, what, begin + j, rows.size(), &params));
          }
          TETHER_ASSIGN_OR_RETURN(
              ResultHandle result,
              Exec(head + Tuples(n, columns.size()) + returning_sql, &params, what));
          collect(result);
        }
        return Status::OK();
      }));
  if (out.size() != rows.size()) {
    return Status::Internal(Context(what) + ": " + std::to_string(out.size()) +
                            " rows came back for " + std::to_string(rows.size()) + " inserted");
  }
  return out;
}

Status PostgresConnector::Update(const std::string& table,
                                 const std::vector<std::string>& key_columns,
                                 const std::vector<std::string>& set_columns,
                                 const std::vector<Row>& rows) {
  const std::string what = "updating " + table;
  if (key_columns.empty() || set_columns.empty()) {
    return Status::InvalidArgument(Context(what) + ": needs key columns and columns to set");
  }
  TETHER_RETURN_IF_ERROR(Ready());
  const size_t arity = set_columns.size() + key_columns.size();
  TETHER_RETURN_IF_ERROR(CheckArity(rows, arity, what));
  if (rows.empty()) return Status::OK();

  std::vector<std::string> names = set_columns;
  names.insert(names.end(), key_columns.begin(), key_columns.end());
  // A VALUES list in FROM has no column to take its types from: they come from the table.
  TETHER_ASSIGN_OR_RETURN(std::vector<TypeOid> types, TypesOf(table, names, what));
  const size_t sets = set_columns.size();
  const std::vector<const Row*> unique = LastOfEachKey(rows, [sets, &key_columns](const Row& r) {
    return EncodeKey(Pick(r, sets, key_columns.size()));
  });

  std::string set_sql;
  for (size_t i = 0; i < sets; ++i) {
    if (i) set_sql += ", ";
    set_sql += QuoteIdent(set_columns[i]) + " = v.s" + std::to_string(i + 1);
  }
  std::string where_sql;
  for (size_t i = 0; i < key_columns.size(); ++i) {
    where_sql += i ? " AND " : " WHERE ";
    where_sql += "t." + QuoteIdent(key_columns[i]) + " = v.k" + std::to_string(i + 1);
  }
  const std::string head =
      "UPDATE " + QuoteIdent(table) + " AS t SET " + set_sql + " FROM (VALUES ";
  const std::string tail =
      ") AS v(" + Aliases("s", sets) + "," + Aliases("k", key_columns.size()) + ")" + where_sql;

  const size_t per_statement = RowsPerStatement(arity, kMaxRowsPerStatement);
  return Atomically(unique.size() <= per_statement, false, [&](const std::string&) -> Status {
    Params params;
    for (size_t begin = 0; begin < unique.size(); begin += per_statement) {
      const size_t n = std::min(per_statement, unique.size() - begin);
      params.Clear();
      params.Reserve(n * arity);
      for (size_t j = 0; j < n; ++j) {
        TETHER_RETURN_IF_ERROR(
            AddRow(*unique[begin + j], &types, names, what, begin + j, unique.size(), &params));
      }
      TETHER_RETURN_IF_ERROR(Exec(head + Tuples(n, arity) + tail, &params, what).status());
    }
    return Status::OK();
  });
}

Status PostgresConnector::Upsert(const std::string& table, const std::vector<std::string>& columns,
                                 const std::vector<std::string>& conflict_columns,
                                 const std::vector<Row>& rows) {
  const std::string what = "upserting into " + table;
  if (columns.empty() || conflict_columns.empty()) {
    return Status::InvalidArgument(Context(what) + ": needs columns and conflict columns");
  }
  std::vector<size_t> conflict_at;
  for (const std::string& c : conflict_columns) {
    auto it = std::find(columns.begin(), columns.end(), c);
    if (it == columns.end()) {
      return Status::InvalidArgument(Context(what) + ": conflict column " + c +
                                     " is not among the columns written");
    }
    conflict_at.push_back(static_cast<size_t>(it - columns.begin()));
  }
  TETHER_RETURN_IF_ERROR(Ready());
  TETHER_RETURN_IF_ERROR(CheckArity(rows, columns.size(), what));
  if (rows.empty()) return Status::OK();

  const std::vector<const Row*> unique = LastOfEachKey(rows, [&conflict_at](const Row& r) {
    Row key;
    for (size_t p : conflict_at) key.push_back(r[p]);
    return EncodeKey(key);
  });

  std::string action;
  for (const std::string& c : columns) {
    if (std::find(conflict_columns.begin(), conflict_columns.end(), c) != conflict_columns.end()) {
      continue;
    }
    action += action.empty() ? "UPDATE SET " : ", ";
    action += QuoteIdent(c) + " = EXCLUDED." + QuoteIdent(c);
  }
  if (action.empty()) action = "NOTHING";
  const std::string head =
      "INSERT INTO " + QuoteIdent(table) + " (" + QuoteList(columns) + ") VALUES ";
  const std::string tail = " ON CONFLICT (" + QuoteList(conflict_columns) + ") DO " + action;

  const size_t per_statement = RowsPerStatement(columns.size(), kMaxRowsPerStatement);
  return Atomically(unique.size() <= per_statement, false, [&](const std::string&) -> Status {
    Params params;
    for (size_t begin = 0; begin < unique.size(); begin += per_statement) {
      const size_t n = std::min(per_statement, unique.size() - begin);
      params.Clear();
      params.Reserve(n * columns.size());
      for (size_t j = 0; j < n; ++j) {
        TETHER_RETURN_IF_ERROR(
            AddRow(*unique[begin + j], nullptr, columns, what, begin + j, unique.size(), &params));
      }
      TETHER_RETURN_IF_ERROR(Exec(head + Tuples(n, columns.size()) + tail, &params, what).status());
    }
    return Status::OK();
  });
}

Status PostgresConnector::Delete(const std::string& table,
                                 const std::vector<std::string>& key_columns,
                                 const std::vector<Row>& keys) {
  const std::string what = "deleting from " + table;
  if (key_columns.empty()) return Status::InvalidArgument(Context(what) + ": no key columns");
  TETHER_RETURN_IF_ERROR(Ready());
  const size_t arity = key_columns.size();
  TETHER_RETURN_IF_ERROR(CheckArity(keys, arity, what));
  if (keys.empty()) return Status::OK();
  const std::vector<const Row*> unique =
      LastOfEachKey(keys, [](const Row& r) { return EncodeKey(r); });

  std::vector<TypeOid> types;
  std::string head;
  std::string tail;
  if (arity == 1) {
    head = "DELETE FROM " + QuoteIdent(table) + " WHERE " + QuoteIdent(key_columns[0]) + " IN (";
    tail = ")";
  } else {
    TETHER_ASSIGN_OR_RETURN(types, TypesOf(table, key_columns, what));
    head = "DELETE FROM " + QuoteIdent(table) + " AS t USING (VALUES ";
    tail = ") AS v(" + Aliases("k", arity) + ")";
    for (size_t i = 0; i < arity; ++i) {
      tail += i ? " AND " : " WHERE ";
      tail += "t." + QuoteIdent(key_columns[i]) + " = v.k" + std::to_string(i + 1);
    }
  }
  const size_t per_statement = RowsPerStatement(arity, kMaxKeysPerStatement);
  return Atomically(unique.size() <= per_statement, false, [&](const std::string&) -> Status {
    Params params;
    for (size_t begin = 0; begin < unique.size(); begin += per_statement) {
      const size_t n = std::min(per_statement, unique.size() - begin);
      const std::string sql = head + KeyList(n, arity) + tail;
      params.Clear();
      params.Reserve(n * arity);
      for (size_t j = 0; j < n; ++j) {
        TETHER_RETURN_IF_ERROR(AddRow(*unique[begin + j], types.empty() ? nullptr : &types,
                                      key_columns, what, begin + j, unique.size(), &params));
      }
      TETHER_RETURN_IF_ERROR(Exec(sql, &params, what).status());
    }
    return Status::OK();
  });
}

Status PostgresConnector::Commit() {
  if (streaming_) streaming_->Detach();
  if (copying_) copying_->Abandon();
  if (PQstatus(conn()) != CONNECTION_OK) {
    in_block_ = false;
    return Status::Connection(where_ +
                              ": the connection was lost; the transaction was rolled back");
  }
  if (PQtransactionStatus(conn()) == PQTRANS_INERROR) {
    // COMMIT of a failed transaction "succeeds" as a rollback; say what really happened.
    (void)Run("ROLLBACK", "rolling back");
    return Status::Internal(where_ +
                            ": cannot commit: a statement of the transaction failed, so it was "
                            "rolled back");
  }
  ++commands_;
  ResultHandle result(PQexec(conn(), "COMMIT"));
  NoteTransactionState();
  if (!result) return ConnError(conn(), Context("committing"));
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return ResultError(conn(), result.get(), Context("committing"));
  }
  if (std::string_view(PQcmdStatus(result.get())) == "ROLLBACK") {
    return Status::Internal(where_ + ": the transaction had failed and was rolled back");
  }
  return Status::OK();
}

Status PostgresConnector::Rollback() {
  if (streaming_) streaming_->Detach();
  if (copying_) copying_->Abandon();
  in_block_ = false;
  // A lost connection has rolled back on the server already; so has nothing at all.
  if (PQstatus(conn()) != CONNECTION_OK) return Status::OK();
  if (PQtransactionStatus(conn()) == PQTRANS_IDLE) return Status::OK();
  return Run("ROLLBACK", "rolling back");
}

}  // namespace
}  // namespace postgres

Result<std::unique_ptr<Connector>> OpenPostgresConnector(const std::string& connection_name,
                                                         const std::string& url) {
  using postgres::ConnHandle;
  TETHER_ASSIGN_OR_RETURN(postgres::ConnectTarget target, postgres::ParseUrl(connection_name, url));
  const std::string where = "connection '" + connection_name + "'";
  // Keywords before dbname are defaults the URL may override; those after it are imposed.
  const char* const keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                              "client_encoding", nullptr};
  const char* const values[] = {"10", "tether", target.uri.c_str(), "UTF8", nullptr};
  ConnHandle conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!conn) return Status::Connection(where + ": out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return postgres::ConnectFailure(where, target, PQerrorMessage(conn.get()));
  }
  // Server notices ("relation already exists, skipping") are not for the terminal.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  auto connector = std::make_unique<postgres::PostgresConnector>(connection_name, std::move(target),
                                                                 std::move(conn));
  TETHER_RETURN_IF_ERROR(connector->Setup());
  return std::unique_ptr<Connector>(std::move(connector));
}

}  // namespace tether
