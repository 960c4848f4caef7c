// MySQL/MariaDB's SQL dialect as tether needs it: identifier quoting, the mapping from
// information_schema column facts to TypeClass, and the column types EnsureTable writes
// (docs/TYPES.md). Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.h"
#include "core/schema.h"

namespace tether::mysql {

// What Connector::sql_dialect() answers.
inline constexpr SqlDialect kSqlDialect{'`', false, ""};

// `name` with embedded backticks doubled: safe for any identifier (mixed case, spaces, `order`).
std::string QuoteIdent(std::string_view name);
// `a`,`b`,`c`
std::string QuoteList(const std::vector<std::string>& names);
// ?,?,? (n of them)
std::string Placeholders(size_t n);

// One row of information_schema.COLUMNS, as DescribeTable reads it.
struct ColumnFacts {
  std::string data_type;    // DATA_TYPE: "varchar", "tinyint", "longtext", ...
  std::string column_type;  // COLUMN_TYPE: "varchar(20)", "tinyint(1)", "bigint(20) unsigned"
  std::optional<int64_t> char_max_length;  // CHARACTER_MAXIMUM_LENGTH (characters)
  std::optional<int64_t> numeric_precision;
  std::optional<int64_t> numeric_scale;
  std::optional<int64_t> datetime_precision;
  bool json_check = false;  // MariaDB: a CHECK (json_valid(`column`)) constraint exists
};

// docs/TYPES.md: tinyint(1) -> boolean; other integers -> integer, except bigint unsigned ->
// decimal(20,0) (it exceeds int64); decimal -> decimal(p,s); float/double -> real; char/varchar
// -> text with max_length; *text, enum, set -> text (longtext with a json_valid check -> json);
// json -> json; uuid -> uuid; binary/varbinary/*blob -> blob; date; time(s); datetime(s) ->
// timestamp; timestamp(s) -> timestamptz; anything else -> any.
// Fills type, max_length, precision and scale of *column.
void ClassifyColumn(const ColumnFacts& facts, ColumnInfo* column);

// True when `clause` (information_schema.CHECK_CONSTRAINTS.CHECK_CLAUSE) is exactly
// json_valid(`column`), which is how MariaDB stores a JSON column.
bool IsJsonValidCheck(std::string_view clause, std::string_view column);

// The column type EnsureTable writes for `column` (docs/TYPES.md): text with a length up to
// 16383 characters becomes varchar(n), longer or unbounded text longtext; a blob with a length (a
// primary key's, see WithKeyLengths) varbinary(n), else longblob; timestamptz datetime(s),
// which holds the UTC time over the whole range (timestamp(s) stops in 2038).
// `native_uuid`: the server has a uuid type (MariaDB >= 10.7); char(36) otherwise.
std::string ColumnTypeFor(const ColumnDef& column, bool native_uuid);

// InnoDB's limit on one index entry (a primary key's too): 768 characters of utf8mb4.
inline constexpr int64_t kMaxKeyBytes = 3072;

// `def` with each text and blob column of its primary key given a length that lets the key fit
// kMaxKeyBytes: a declared length that fits is kept; unbounded (or too long) columns share what
// the others leave (a single unbounded text key: varchar(768)). A key cannot be a prefix, so a
// longer value fails its record, with the reason.
TableDef WithKeyLengths(TableDef def);

// The column list of an index on `columns` of `def`, for CREATE INDEX: a text or blob column
// whose whole length does not fit its share of kMaxKeyBytes is indexed by a prefix (`email`(768)),
// so that longtext columns can be match keys, looked up through the index, whatever their
// values' length. A unique index is never cut (it would make the prefixes unique).
std::string IndexColumns(const TableDef& def, const IndexDef& index);

// One field of Connector::Checksum's row encoding for `column` (as DescribeTable describes it:
// decimals, times and timestamps are printed by their scale), as an expression in the
// session's utf8mb4: 'N' for NULL, else `<canonical text>,` or, for free text,
// `<characters>:<text>`.
std::string ChecksumField(const ColumnInfo& column);

// An index name for `index` of `table` when it has none: table_col1_col2_idx, kept within
// MySQL's 64-character limit by a hash of the full name.
inline constexpr size_t kMaxIdentifierBytes = 64;  // MySQL counts characters; bytes are safe
std::string IndexNameFor(const std::string& table, const IndexDef& index);

// Change tracking (Connector::TrackingDdl): an insert, an update and a delete trigger per
// table; the origin is the user variable @tether_origin, which tether's sessions set.
std::vector<std::string> TrackingDdl(const TrackedTable& t, bool install);

}  // namespace tether::mysql
