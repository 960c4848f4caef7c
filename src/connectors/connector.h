// Connector: the one interface the engine uses to talk to a system (SQLite, PostgreSQL, ...).
// A Connector owns one session with its system and is used by one thread at a time; open one
// per thread. Every value reaches the system as a bound parameter, never as SQL text.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/normalize.h"
#include "core/schema.h"
#include "core/status.h"
#include "core/value.h"

namespace tether {

// A condition on a column, ANDed with the others. The value is always bound.
struct Condition {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kLike, kIsNull, kIsNotNull };
  std::string column;
  Op op = Op::kEq;
  Value value;  // unused for kIsNull / kIsNotNull
};

// One page of a keyset scan: SELECT columns FROM table WHERE conditions AND (key) > after_key
// ORDER BY key LIMIT limit. Never OFFSET.
struct ScanRequest {
  std::string table;
  std::vector<std::string> columns;
  std::vector<std::string> key_columns;  // ORDER BY these, ascending
  std::optional<Row> after_key;          // exclusive lower bound, one value per key column
  std::vector<Condition> conditions;
  size_t limit = 0;             // 0: no limit (still streamed)
  std::optional<Row> upto_key;  // inclusive upper bound, one value per key column
  // Rows passed over before the first one returned (OFFSET, with a limit): only for finding cut
  // points in an index (KeySplits), never for paging.
  size_t skip = 0;
};

// A part of a table by its key, in the engine's key order: after < key <= upto, an absent end
// being open. Keys compare as row values when there are several key columns.
struct KeyRange {
  std::optional<Row> after;  // exclusive lower bound, one value per key column
  std::optional<Row> upto;   // inclusive upper bound, one value per key column
};

// Checksum of a key range, computed inside the system over a row encoding that is the same in
// every engine, so that a range holding the same records in two systems (even of different
// engines) has the same checksum:
//  - a row's text is its fields in `columns` order, concatenated; a NULL field is `N`; a field
//    of free text (classes text, json, any) is `<length>:<text>`, the length in characters, in
//    decimal; any other field is `<canonical text>,` (those texts hold no comma, so the field
//    ends at its comma, and the value is printed once); a value with no canonical text in its
//    class (only SQLite can hold one: 'x12' in a decimal column) is written as free text;
//  - canonical text by the column's type class (core/schema.h): integer: decimal digits;
//    decimal: no exponent, no trailing zeros after the point, no point when whole, `0` for
//    zero (`12.50` -> `12.5`, `-0.0` -> `0`, `100` -> `100`); boolean: `1` / `0`; text, any:
//    as is; blob: lower-case hex; date `YYYY-MM-DD`; time `HH:MM:SS` and timestamp
//    `YYYY-MM-DD HH:MM:SS`, each with `.fraction` when the fraction is not zero, without
//    trailing zeros; timestamptz: the UTC time in timestamp form, no offset; uuid: lower case;
//    real and json: the engine's own text (engines print them differently: such a column may
//    make equal ranges differ between engines, never different ranges look equal);
//  - a row's hash is the first 16 hex digits of the MD5 of its text (UTF-8), as a 64-bit number;
//  - the checksum is the count of rows and the sum of their hashes modulo 2^64.
struct ChecksumRequest {
  std::string table;
  std::vector<ColumnInfo> columns;  // hashed, in this order: names and type classes of `table`
  std::vector<std::string> key_columns;
  KeyRange range;
  std::vector<Condition> conditions;
};

struct RangeChecksum {
  int64_t rows = 0;
  uint64_t sum = 0;
  bool operator==(const RangeChecksum& o) const { return rows == o.rows && sum == o.sum; }
  bool operator!=(const RangeChecksum& o) const { return !(*this == o); }
};

// Buckets of a range by the value of its first key column, an integer: bucket i holds the rows
// whose first key column is in [origin + i·width, origin + (i+1)·width - 1] and not past `last`
// (rows before origin or past last are left out). last - origin fits in 64 bits; width >= 1.
struct KeyBuckets {
  int64_t origin = 0;
  int64_t width = 1;
  int64_t last = 0;
};

// The checksum of one bucket (Connector::ChecksumBuckets), with the least and greatest value of
// the first key column among its rows.
struct BucketChecksum {
  int64_t bucket = 0;
  RangeChecksum checksum;
  int64_t least = 0;
  int64_t greatest = 0;
};

// Rows of `table` whose (by_columns) equal one of `keys`. Order of results is unspecified.
struct LookupRequest {
  std::string table;
  std::vector<std::string> columns;     // what to return
  std::vector<std::string> by_columns;  // what to match on
  std::vector<Row> keys;                // one value per by_column each
  // Empty, or one per by_column: that column's values are compared normalised (the keys are
  // given normalised). The result may hold more rows than match exactly — an engine may compare
  // through a case-insensitive collation — never fewer; the caller keeps the exact ones.
  std::vector<Normalization> normalize = {};
};

// A forward-only stream of rows; the connector may hold a cursor open until it is destroyed.
class RowStream {
 public:
  virtual ~RowStream() = default;
  // Fills *row and returns true, or returns false at the end.
  virtual Result<bool> Next(Row* row) = 0;
};

// A table whose inserts, updates and deletes `tether track` records in tether_changes
// (src/track/change_log.h) through triggers on the table.
struct TrackedTable {
  std::string entity;  // written into every change row
  std::string table;
  std::vector<std::string> key_columns;  // row_key: the key as text; a JSON array when several
};

// The session mark of writes tether makes itself: change rows get it in `origin`, so that a
// pipeline reading changes of a database tether also writes can tell its own echoes.
inline constexpr char kTetherOrigin[] = "tether";

// Rows streamed into one table over many calls, for the part of a copy that only inserts (the
// target has none of the rows). Rows may reach the system as they are added; whether all were
// accepted is known at Finish, which fails as a whole: the caller rolls its transaction back and
// writes the rows the usual way. Until Finish returns, the writer owns its connector: any other
// call on the connector abandons the writer first (its rows are dropped and the open
// transaction fails). Destroying an unfinished writer abandons it too.
class BulkWriter {
 public:
  virtual ~BulkWriter() = default;
  // Rows, one value per column, in the order of the columns given at the start.
  virtual Status Add(std::vector<Row> rows) = 0;
  virtual Status Finish() = 0;
};

// What a connector can do, so that callers ask that instead of which engine it is. Each flag
// says what it promises; a system that cannot tell answers false.
struct Capabilities {
  bool transactions = false;  // Begin/Commit/Rollback and savepoints
  bool state_store = false;   // can hold tether_ tables next to the data
  bool writable = false;      // opened for writing (false: read-only, e.g. sqlite ?mode=ro)
  bool checksums = false;     // Checksum and KeySplits work (SQL engines)
  // Reading the next page on a second connection, on another thread, while this one's page is
  // worked on saves time: reads wait for a server (its round trips, its disk). False for SQLite,
  // whose reads are this process's own work (and whose file may be the target's too).
  bool read_ahead = false;
};

// How the SQL that Connector::Query takes is written where the engines differ: what a caller
// needs to write a statement of its own (values always bound, never in the text).
struct SqlDialect {
  char quote = '"';              // around identifiers: "name" (SQLite, PostgreSQL), `name` (MySQL)
  bool numbered_params = false;  // placeholders $1, $2, ... (PostgreSQL) rather than ?
  // Appended to a column compared with LIKE where LIKE takes text only ("::text" on PostgreSQL);
  // empty where it takes any column.
  std::string_view like_cast;

  // `name` quoted, quote characters inside doubled: safe for any identifier.
  std::string Quote(std::string_view name) const;
  // The placeholder of the n-th bound parameter of a statement (n from 1).
  std::string Placeholder(size_t n) const;
};

class Connector {
 public:
  virtual ~Connector() = default;

  virtual const std::string& connection_name() const = 0;
  virtual std::string_view engine() const = 0;  // "sqlite", "postgres", ...
  virtual Capabilities capabilities() const = 0;
  // The SQL that Query and ExecuteScript take, for a caller writing a statement of its own; null
  // when the system takes no SQL (an HTTP API), and then Query and ExecuteScript fail too. A
  // caller that cannot do without SQL reports kUnsupported naming the connection.
  virtual const SqlDialect* sql_dialect() const { return nullptr; }
  // Makes commits cheap for a writer that commits small and often (the server's job log): a
  // commit need not wait for the disk — a power cut may lose the last commits, never the
  // database — and readers in other processes do not wait for the writer. SQLite switches the
  // file to WAL (it stays so) and this session to synchronous=NORMAL. The default does nothing:
  // a server's durability is its own setting.
  virtual Status PreferFastCommits() { return Status::OK(); }

  // Cheap round trip proving the connection is usable.
  virtual Status Ping() = 0;

  // nullopt when the table does not exist.
  virtual Result<std::optional<TableSchema>> DescribeTable(const std::string& table) = 0;
  // The tables and views DescribeTable finds by their bare name, for suggesting the one a
  // misspelt name meant.
  virtual Result<std::vector<std::string>> TableNames() = 0;
  // Creates the table and its indexes if they do not exist yet.
  virtual Status EnsureTable(const TableDef& def) = 0;
  // The statements EnsureTable runs for `def`, in order, each without a trailing ';'
  // (for `tether schema` to print). Types follow docs/TYPES.md.
  virtual std::vector<std::string> TableDdl(const TableDef& def) const = 0;
  // The statements that add `columns` to the existing `table` (`tether schema --apply`): one
  // ALTER TABLE ... ADD COLUMN each, in the types TableDdl writes, and nullable whatever the
  // definition says (the rows already there have no value yet). Nothing is dropped or altered.
  virtual std::vector<std::string> AddColumnsDdl(const std::string& table,
                                                 const std::vector<ColumnDef>& columns) const = 0;
  // The statements that install — or with `install` false remove — the triggers recording
  // every insert, update and delete of `t` into tether_changes (which must exist), in order.
  // Installing replaces the triggers of an earlier install. A key that changes is recorded as
  // a delete of the old key and an insert of the new one. Changes made through a tether
  // connection carry kTetherOrigin.
  virtual std::vector<std::string> TrackingDdl(const TrackedTable& t, bool install) const = 0;
  // Runs trusted SQL written by tether itself or shipped with it (demo schema); never user values.
  // May hold several statements separated by ';'.
  virtual Status ExecuteScript(const std::string& sql) = 0;
  // One trusted statement written by tether (never text from config, CLI or records) with
  // `params` bound in order to its placeholders (sql_dialect()->Placeholder).
  // Returns all result rows, values converted as Scan would (by the result's column types).
  virtual Result<std::vector<Row>> Query(const std::string& sql, const Row& params = {}) = 0;

  virtual Result<std::unique_ptr<RowStream>> Scan(const ScanRequest& request) = 0;
  virtual Result<std::vector<Row>> Lookup(const LookupRequest& request) = 0;
  // Whether Lookup(request) finds its rows through an index rather than by reading the whole
  // table (request.keys are not used): every lookup tether makes per batch should. The default,
  // for systems that cannot tell, says yes.
  virtual Result<bool> LookupUsesIndex(const LookupRequest& request);
  // The checksum of one key range (see ChecksumRequest). Needs capabilities().checksums.
  virtual Result<RangeChecksum> Checksum(const ChecksumRequest& request);
  // The checksums of a range's buckets (see KeyBuckets), in bucket order, buckets without rows
  // left out: one pass over the range however many buckets. Needs capabilities().checksums.
  virtual Result<std::vector<BucketChecksum>> ChecksumBuckets(const ChecksumRequest& request,
                                                              const KeyBuckets& buckets);
  // The least and greatest value of the first key column (an integer) in request's range, or
  // nullopt when it holds no row; request's columns are not used. Needs
  // capabilities().checksums.
  virtual Result<std::optional<std::pair<int64_t, int64_t>>> KeyBounds(
      const ChecksumRequest& request);
  // The hash of each row of a range, as Checksum would add it up: one row per table row holding
  // its key columns (typed as Scan returns them) and then the hash as an Int (the 64 bits read
  // as a signed number), in no particular order. Needs capabilities().checksums.
  virtual Result<std::vector<Row>> RowHashes(const ChecksumRequest& request);
  // Cut points that split `range` (rows matching `conditions`) into parts of `every` rows in key
  // order: the keys of its every-th, 2·every-th, ... row (none when it holds `every` rows or
  // fewer), computed inside the system. Needs capabilities().checksums.
  virtual Result<std::vector<Row>> KeySplits(const std::string& table,
                                             const std::vector<std::string>& key_columns,
                                             const KeyRange& range,
                                             const std::vector<Condition>& conditions,
                                             size_t every);
  // How many rows match; used for progress estimates only.
  virtual Result<int64_t> Count(const std::string& table,
                                const std::vector<Condition>& conditions) = 0;

  // Inserts rows (each with one value per column). Returns, per input row and in order, the
  // values of `returning` (e.g. a generated key); empty rows when `returning` is empty.
  virtual Result<std::vector<Row>> Insert(const std::string& table,
                                          const std::vector<std::string>& columns,
                                          const std::vector<Row>& rows,
                                          const std::vector<std::string>& returning) = 0;
  // UPDATE table SET set_columns WHERE key_columns; each row holds the set values, then the keys.
  virtual Status Update(const std::string& table, const std::vector<std::string>& key_columns,
                        const std::vector<std::string>& set_columns,
                        const std::vector<Row>& rows) = 0;
  // Insert, or on a conflict on conflict_columns update the other columns.
  virtual Status Upsert(const std::string& table, const std::vector<std::string>& columns,
                        const std::vector<std::string>& conflict_columns,
                        const std::vector<Row>& rows) = 0;
  virtual Status Delete(const std::string& table, const std::vector<std::string>& key_columns,
                        const std::vector<Row>& keys) = 0;
  // A bulk insert of `columns` into `table` inside the caller's open transaction. The default
  // writes each Add with Insert; PostgreSQL streams one COPY for all of them.
  virtual Result<std::unique_ptr<BulkWriter>> StartBulkInsert(
      const std::string& table, const std::vector<std::string>& columns);

  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
  virtual Status Savepoint(const std::string& name) = 0;
  virtual Status ReleaseSavepoint(const std::string& name) = 0;
  virtual Status RollbackToSavepoint(const std::string& name) = 0;

  // A named lock in this database, exclusive between sessions (two connectors of one process
  // included), for tether's own use: one run per pipeline. Takes it at once or answers false
  // when another session holds it; never waits. Held until ReleaseLock or the session's end —
  // the connector destroyed, the connection lost, the process killed (SIGKILL too) — and not
  // tied to transactions. Locks of different names, or in different databases, never meet.
  // Taking a lock this connector already holds answers true.
  virtual Result<bool> TryLock(const std::string& name) = 0;
  virtual Status ReleaseLock(const std::string& name) = 0;

  // Which database this session works in, to refuse a pipeline from a database into itself:
  // DatabaseMark() returns a text that SameDatabase() of any other connector (any engine, any
  // process on this machine) answers true for exactly when both work in the same database — the
  // same SQLite file; the same server, database and schema. Two different databases are never
  // taken for one, however alike they look (the same port on two hosts, a copy of a server).
  // The mark may hold a resource of this session (a lock) until the connector is destroyed.
  virtual Result<std::string> DatabaseMark() = 0;
  virtual Result<bool> SameDatabase(const std::string& mark) = 0;
};

// The connectors' registry, the one place that reads connection URLs: a scheme in any letter
// case ("sqlite:", "SQLite:", "Postgres://") names the same engine everywhere.

// Opens a connector for a connection URL ("sqlite:path", "postgres://...", "mysql://...").
// `connection_name` is used in every error message; the URL's password never is.
Result<std::unique_ptr<Connector>> OpenConnector(const std::string& connection_name,
                                                 const std::string& url);
// How a run opens its connectors: OpenConnector, or a test's wrapper around it (a connector that
// injects faults, tests/util/fault_connector.h).
using ConnectorFactory = std::function<Result<std::unique_ptr<Connector>>(
    const std::string& connection_name, const std::string& url)>;
// What OpenConnector says of the URL's scheme and user information, without opening anything.
Status CheckConnectorUrl(const std::string& connection_name, const std::string& url);

// The engine a URL's scheme names, as the connector's engine() answers it ("sqlite",
// "postgres", "mysql"), whatever the rest of the URL holds; "" for a scheme no connector has.
std::string_view ConnectorEngine(const std::string& url);

// What OpenConnector would make of a URL, read without opening anything.
struct ConnectorUrl {
  std::string_view engine;          // what the connector's engine() answers: "sqlite", "postgres"
  std::optional<std::string> file;  // as LocalDatabaseFile
  bool creates = false;             // opening creates a missing database (sqlite ?create=1)
};
// kConfig naming the connection for an unknown scheme or a malformed URL of a local file.
Result<ConnectorUrl> DescribeConnectorUrl(const std::string& connection_name,
                                          const std::string& url);

// The local file a connection URL keeps its database in ("sqlite:PATH": PATH absolute and
// lexically normal, as the connector opens it; symbolic links are not followed), or nullopt
// when it has none (a server database, SQLite's ":memory:"). kConfig for a malformed URL.
Result<std::optional<std::string>> LocalDatabaseFile(const std::string& connection_name,
                                                     const std::string& url);

// `url` asking for its database to be created when missing, unless the URL says otherwise
// (SQLite: create=1 added unless it says create=... or mode=ro); a server URL unchanged, as tether
// creates no server database. kConfig as DescribeConnectorUrl.
Result<std::string> ConnectorUrlCreating(const std::string& connection_name,
                                         const std::string& url);

// `url` with the relative path of a local database file made absolute against `base_dir` (a
// config file's folder); any other URL, and one the registry cannot read, unchanged.
std::string ConnectorUrlRelativeTo(const std::string& url, const std::string& base_dir);

// "%40" -> "@"; nullopt on a malformed escape (a '%' not followed by two hex digits).
std::optional<std::string> PercentDecode(std::string_view s);

// The user information of a server URL, "scheme://user[:password]@host...", percent-decoded.
struct UrlUserInfo {
  std::string user;
  std::optional<std::string> password;  // nullopt: no ':' after the user
  size_t host_offset = 0;               // where the host starts in the URL
};

// The user information of `url` (nullopt when it has none), read so that every parser reads it
// alike: the authority ends at the first '/', '?' or '#' after "://", and the user information
// at its one '@'. An '@' anywhere else is refused — it is a password's '@' (two in the
// authority), or the '@' a password's unencoded '/', '?' or '#' left behind when it ended the
// authority early — and so is a malformed %-escape in user or password. libpq, for one, reads
// "u:p@ss@host" as password "p" on host "ss@host" and "u:pa/ss@host/db" as host "u", port "pa",
// and names both in its errors. kConfig naming the connection, never any part of the password.
Result<std::optional<UrlUserInfo>> ParseUrlUserInfo(const std::string& connection_name,
                                                    const std::string& url);

// The URL with any password replaced by "***", for messages and logs.
std::string RedactUrl(const std::string& url);

}  // namespace tether
