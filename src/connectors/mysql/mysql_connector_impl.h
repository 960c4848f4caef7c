// The MySQL/MariaDB connector's class, shared by its source files: the session plumbing and
// schema work (mysql_connector.cc), reads (mysql_read.cc) and writes (mysql_write.cc).
// Private to the connector; one thread at a time, like every Connector.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "connectors/connector.h"
#include "connectors/key_range.h"
#include "connectors/mysql/mysql_connector.h"
#include "connectors/mysql/mysql_statement.h"
#include "connectors/mysql/mysql_url.h"

namespace tether::mysql {

class MysqlConnector;

// Streams an executed statement's rows straight off the socket (no client-side buffering).
// The statement belongs to the connector's cache; the stream borrows it until it ends.
class MysqlRowStream final : public RowStream {
 public:
  MysqlRowStream(MysqlConnector* owner, MYSQL_STMT* stmt, std::string context)
      : owner_(owner), stmt_(stmt), context_(std::move(context)) {}
  ~MysqlRowStream() override { Finish(); }
  MysqlRowStream(const MysqlRowStream&) = delete;
  MysqlRowStream& operator=(const MysqlRowStream&) = delete;

  // Binds the result buffers; false on a client error.
  bool Prepare() { return reader_.Prepare(stmt_); }
  Result<bool> Next(Row* row) override;
  // The connector needs the session for another call: read and drop the remaining rows. Next()
  // then fails, so a caller never mistakes a cut-short stream for a complete one.
  void Abandon();

 private:
  void Finish();  // drops remaining rows and hands the session back

  MysqlConnector* owner_;
  MYSQL_STMT* stmt_;  // null once finished
  ResultReader reader_;
  std::string context_;
  bool abandoned_ = false;
};

class MysqlConnector final : public Connector {
 public:
  struct ServerInfo {
    bool mariadb = false;
    bool bulk = false;                 // COM_STMT_BULK_EXECUTE
    bool returning = false;            // INSERT ... RETURNING
    bool native_uuid = false;          // a uuid column type
    bool read_only = false;            // @@read_only, or a read-only session
    bool case_sensitive_names = true;  // @@lower_case_table_names = 0
    size_t max_packet = 16 << 20;      // @@max_allowed_packet
  };

  MysqlConnector(std::string name, ConnectOptions options, ConnHandle conn);
  ~MysqlConnector() override;

  // Sets the session up (docs/TYPES.md) and learns what the server can do.
  Status Initialize(const MysqlFeatureLimits& limits);

  const std::string& connection_name() const override { return name_; }
  std::string_view engine() const override { return "mysql"; }
  Capabilities capabilities() const override;
  const SqlDialect* sql_dialect() const override;
  Status Ping() override;

  Result<std::optional<TableSchema>> DescribeTable(const std::string& table) override;
  Result<std::vector<std::string>> TableNames() override;
  Status EnsureTable(const TableDef& def) override;
  std::vector<std::string> TableDdl(const TableDef& def) const override;
  std::vector<std::string> AddColumnsDdl(const std::string& table,
                                         const std::vector<ColumnDef>& columns) const override;
  std::vector<std::string> TrackingDdl(const TrackedTable& t, bool install) const override;
  Status ExecuteScript(const std::string& sql) override;
  Result<std::vector<Row>> Query(const std::string& sql, const Row& params) override;

  Result<std::unique_ptr<RowStream>> Scan(const ScanRequest& request) override;
  Result<std::vector<Row>> Lookup(const LookupRequest& request) override;
  Result<bool> LookupUsesIndex(const LookupRequest& request) override;
  Result<int64_t> Count(const std::string& table,
                        const std::vector<Condition>& conditions) override;
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

  Status Begin() override;
  Status Commit() override;
  Status Rollback() override;
  Status Savepoint(const std::string& name) override;
  Status ReleaseSavepoint(const std::string& name) override;
  Status RollbackToSavepoint(const std::string& name) override;

  Result<bool> TryLock(const std::string& name) override;
  Status ReleaseLock(const std::string& name) override;
  Result<std::string> DatabaseMark() override;
  Result<bool> SameDatabase(const std::string& mark) override;

  // For MysqlRowStream.
  void StreamDone(MysqlRowStream* stream) {
    if (open_stream_ == stream) open_stream_ = nullptr;
  }

 private:
  // Where a failed statement's rows sit in the caller's batch, for "row N of M" in messages.
  struct RowSpan {
    size_t first = 0;  // index of the statement's first row in the caller's rows
    size_t count = 0;  // rows in the statement
    size_t total = 0;  // rows in the caller's batch
  };

  // --- errors (mysql_connector.cc)
  Status Error(unsigned int number, const std::string& text, std::string_view what,
               const std::optional<RowSpan>& rows = std::nullopt) const;
  Status ConnError(std::string_view what) const;
  Status StmtError(MYSQL_STMT* stmt, std::string_view what,
                   const std::optional<RowSpan>& rows = std::nullopt) const;
  Status InvalidArgument(std::string_view what, const std::string& why) const;

  // --- session plumbing (mysql_connector.cc)
  // DATABASE(), lower-cased where the server compares names so; "" when none is chosen.
  Result<std::string> CurrentDatabase();
  // Takes the session back from an open RowStream, if any.
  void Idle();
  bool InTransaction() const;
  // kTryAgain when Begin() opened a transaction that the server has since ended on its own
  // (a deadlock rolls the whole transaction back): going on would write outside it, or into a
  // transaction without the savepoints the caller set.
  Status CheckTransaction(std::string_view what) const;
  // Runs one parameterless statement over the text protocol, dropping any result.
  Status Run(const std::string& sql);
  // The prepared statement for `sql`, kept for reuse; valid until the next call to Cached().
  Result<MYSQL_STMT*> Cached(const std::string& sql);
  // Prepares (or reuses) `sql`, binds `params` and executes it; a result set is left pending.
  Result<MYSQL_STMT*> Execute(const std::string& sql, const std::vector<const Value*>& params,
                              std::string_view what,
                              const std::optional<RowSpan>& rows = std::nullopt);
  // One bulk execution of `sql` over rows [begin, end), each row's values as the parameters.
  Status ExecuteBulk(const std::string& sql, const std::vector<const Row*>& rows, size_t begin,
                     size_t end, size_t columns, std::string_view what);
  // Every row of `q` (key_range.h) over the request's range (mysql_read.cc).
  Result<std::vector<Row>> RangeQuery(const RangeSql& q, const ChecksumRequest& request,
                                      std::string_view what);
  // Every row of the pending result of `stmt`.
  Result<std::vector<Row>> FetchAll(MYSQL_STMT* stmt, std::string_view what);
  // After a write: notes and warnings that mean data was changed on the way in (a decimal
  // rounded to the column's scale) fail the write instead of passing silently.
  Status CheckWarnings(MYSQL_STMT* stmt, std::string_view what);
  // Runs `body` so that it takes effect entirely or not at all: inside the caller's
  // transaction through a savepoint, otherwise in a transaction of its own.
  template <typename Fn>
  Status Atomically(Fn&& body);

  // --- values on the way in (mysql_write.cc)
  // A timestamp with a zone offset ("...+02:00") bound to a datetime or timestamp column of
  // `table` becomes the UTC wall time the session expects (MySQL refuses the offset). `columns`
  // names the column of each value of a row. Rows needing no change are used as they are;
  // converted copies go to *storage.
  Status NormalizeZones(const std::string& table, const std::vector<std::string>& columns,
                        std::vector<const Row*>* rows, std::vector<Row>* storage);
  Status CheckArity(std::string_view what, const std::vector<Row>& rows, size_t arity) const;
  // Splits rows into statements: at most `max_rows` rows and `max_params` parameters each, and
  // within the server's packet limit. An oversized single row is an invalid record.
  Result<std::vector<std::pair<size_t, size_t>>> Chunk(const std::vector<const Row*>& rows,
                                                       size_t max_rows, size_t max_params,
                                                       std::string_view what) const;
  // INSERT-like statements over many rows: `head` + "(?,..),(?,..)" + `tail` per chunk, or
  // one bulk execution of `head` + "(?,..)" + `tail` per chunk when the server has it.
  Status WriteRows(const std::string& head, const std::string& tail,
                   const std::vector<const Row*>& rows, size_t columns, std::string_view what,
                   std::vector<Row>* returned);
  Status InsertEach(const std::string& table, const std::vector<std::string>& columns,
                    const std::vector<const Row*>& rows, const std::vector<std::string>& returning,
                    std::vector<Row>* out);
  // The class of each column of `table` (lower-cased names), cached until DDL runs.
  Result<const std::unordered_map<std::string, TypeClass>*> ColumnClasses(const std::string& table);
  // How a lookup compares each by_column (mysql_read.cc): the column itself, or an expression
  // of it (LOWER, TRIM), which no index serves (MySQL/MariaDB index no expressions here).
  // `lower` alone on a column whose collation ignores case compares the column itself: its
  // index finds every row that lower-cases alike (and some more, which the caller drops).
  struct LookupColumn {
    std::string column_sql;  // what the by_column is compared as
    std::string key_sql;     // the placeholder of its key
    bool plain = true;       // column_sql is the column, which an index can serve
  };
  Result<std::vector<LookupColumn>> LookupColumns(const LookupRequest& request,
                                                  std::string_view what);
  // The collation of each column of `table` (lower-cased names), cached until DDL runs.
  Result<const std::unordered_map<std::string, std::string>*> ColumnCollations(
      const std::string& table, std::string_view what);

  std::string name_;
  ConnectOptions options_;
  std::string where_;  // "connection 'name' (user@host:port/db)", the start of every message
  ConnHandle conn_;
  ServerInfo server_;
  MysqlRowStream* open_stream_ = nullptr;
  bool began_ = false;  // Begin() succeeded and neither Commit() nor Rollback() ran since
  // A deadlock or a lost session ended the transaction Begin() opened (set by Error(), which
  // sees every failure).
  mutable bool transaction_lost_ = false;
  std::map<std::string, std::string> locks_;  // TryLock name -> GET_LOCK name, held
  std::string mark_;                          // DatabaseMark, once made
  // Declared after conn_, so destroyed (closed) before the session is.
  std::unordered_map<std::string, Statement> cache_;
  std::unordered_map<std::string, std::unordered_map<std::string, TypeClass>> classes_;
  std::unordered_map<std::string, std::unordered_map<std::string, std::string>> collations_;

  friend class MysqlRowStream;
};

template <typename Fn>
Status MysqlConnector::Atomically(Fn&& body) {
  static const std::string kSavepoint = "SAVEPOINT tether_batch";
  static const std::string kRelease = "RELEASE SAVEPOINT tether_batch";
  static const std::string kRollbackTo = "ROLLBACK TO SAVEPOINT tether_batch";
  TETHER_RETURN_IF_ERROR(CheckTransaction("writing"));
  const bool nested = InTransaction();
  TETHER_RETURN_IF_ERROR(Run(nested ? kSavepoint : "START TRANSACTION"));
  Status s = body();
  if (s.ok()) s = Run(nested ? kRelease : "COMMIT");
  if (s.ok()) return s;
  // Errors here only repeat the first one (or find the transaction already rolled back by a
  // deadlock); the caller gets the cause.
  if (nested) {
    (void)Run(kRollbackTo);
    (void)Run(kRelease);
  } else {
    (void)Run("ROLLBACK");
  }
  return s;
}

}  // namespace tether::mysql
