// PostgreSQL's SQL dialect as tether needs it: identifier quoting, the mapping between column
// types (type OID and typmod) and TypeClass, the types EnsureTable writes, the text of the
// statements, and what a SQLSTATE means for retrying. Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.h"
#include "core/schema.h"
#include "core/status.h"
#include "core/value.h"

namespace tether::postgres {

// Built-in type OIDs (fixed in PostgreSQL's catalog, the same on every server version).
using TypeOid = unsigned int;
inline constexpr TypeOid kBoolOid = 16;
inline constexpr TypeOid kByteaOid = 17;
inline constexpr TypeOid kInt8Oid = 20;
inline constexpr TypeOid kInt2Oid = 21;
inline constexpr TypeOid kInt4Oid = 23;
inline constexpr TypeOid kTextOid = 25;
inline constexpr TypeOid kJsonOid = 114;
inline constexpr TypeOid kFloat4Oid = 700;
inline constexpr TypeOid kFloat8Oid = 701;
inline constexpr TypeOid kBpcharOid = 1042;
inline constexpr TypeOid kVarcharOid = 1043;
inline constexpr TypeOid kDateOid = 1082;
inline constexpr TypeOid kTimeOid = 1083;
inline constexpr TypeOid kTimestampOid = 1114;
inline constexpr TypeOid kTimestampTzOid = 1184;
inline constexpr TypeOid kNumericOid = 1700;
inline constexpr TypeOid kUuidOid = 2950;
inline constexpr TypeOid kJsonbOid = 3802;

// Longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes); longer ones are cut silently.
inline constexpr size_t kMaxIdentifierBytes = 63;

// What Connector::sql_dialect() answers.
inline constexpr SqlDialect kSqlDialect{'"', true, "::text"};

// "name" with embedded quotes doubled: safe for any identifier (mixed case, spaces, `order`).
std::string QuoteIdent(std::string_view name);
// "a","b","c"
std::string QuoteList(const std::vector<std::string>& names);

// The class of a column of type `type_oid` (a domain's base type) with modifier `typmod`
// (docs/TYPES.md); fills type, max_length, precision and scale of *column. Types without a class
// of their own (interval, arrays, inet, enums, timetz, ...) are kAny and read as text.
void ClassifyType(TypeOid type_oid, int32_t typmod, ColumnInfo* column);

// The column type EnsureTable writes, chosen so that ClassifyType reads it back as the same
// class, length, precision and scale.
std::string DeclaredTypeFor(const ColumnDef& column);

// The SQL of a (quoted) column's value normalised: btrim() removes spaces, and lower() under the
// "C" collation changes only A-Z, exactly Normalized() (core/normalize.h) whatever the
// database's locale. An index can be made on it.
std::string NormalizedColumn(const std::string& column, const Normalization& how);
// An index's column list: the columns, or their normalised values (IndexDef::normalize).
std::string IndexColumns(const IndexDef& index);

// The index's name, or one derived from the table and columns when it has none; kept within
// kMaxIdentifierBytes (a hash suffix keeps two long derived names apart).
std::string IndexName(const std::string& table, const IndexDef& index);

// CREATE TABLE IF NOT EXISTS ..., then CREATE [UNIQUE] INDEX IF NOT EXISTS ... per index.
std::vector<std::string> TableDdl(const TableDef& def);

// tether's status code for a SQLSTATE (five characters; empty when the server sent none).
StatusCode CodeForSqlState(std::string_view sqlstate);

// "($1,$2),($3,$4)": `rows` tuples of `arity` placeholders, numbered from 1.
std::string Tuples(size_t rows, size_t arity);
// The keys of an IN list: "$1,$2,$3" for one column, Tuples(rows, arity) for several.
std::string KeyList(size_t rows, size_t arity);
// "k1,k2,k3": `n` column aliases for a VALUES list.
std::string Aliases(std::string_view prefix, size_t n);

// A statement and the values for its $1.. placeholders, in order. The pointers refer into the
// request the statement was built from.
struct SqlText {
  std::string sql;
  std::vector<const Value*> params;
};

// " WHERE c1 = $n AND ..." for `conditions`, numbering placeholders after those already in *out.
// Returns the joiner for a further condition: " WHERE " or " AND ".
const char* AppendConditions(const std::vector<Condition>& conditions, SqlText* out);

// " AND (k1, k2) > ($n, $m) AND (k1, k2) <= ($o, $p)" for the bounds present (an absent one is
// open), starting with `joiner`; returns the joiner for a further condition.
const char* AppendKeyRange(const std::vector<std::string>& keys, const std::optional<Row>& after,
                           const std::optional<Row>& upto, const char* joiner, SqlText* out);

// One keyset page: SELECT ... WHERE conditions AND (k1, k2) > ($n, $m) [AND (k1, k2) <= (..)]
// ORDER BY k1, k2 LIMIT n. The caller has checked that the bounds have one value per key column.
SqlText ScanSql(const ScanRequest& request);

// One field of Connector::Checksum's row encoding for `column`, as a text expression: 'N' for
// NULL, else `<canonical text>,` or, for free text, `<characters>:<text>`. `trim_scale`: the server
// has trim_scale() (13 on).
std::string ChecksumField(const ColumnInfo& column, bool trim_scale);
// SELECT count(*), sum(<first 64 bits of md5(row text)> as a signed bigint) FROM ... WHERE
// conditions AND range: the sum is exact (numeric); the caller takes it modulo 2^64.
SqlText ChecksumSql(const ChecksumRequest& request, bool trim_scale);
// Connector::RowHashes: the key columns and each row's hash (bigint) over the range.
SqlText RowHashesSql(const ChecksumRequest& request, bool trim_scale);
// Connector::ChecksumBuckets: bucket, count(*), sum (exact, numeric), min and max of the first key
// column, grouped by bucket (in no order). `numbers` holds origin, width and last (as Ints) and
// must outlive the result. The caller has checked the request (KeyBucketsProblem).
SqlText ChecksumBucketsSql(const ChecksumRequest& request, bool trim_scale, const Row& numbers);
// Connector::KeyBounds: min and max of the first key column over the range.
SqlText KeyBoundsSql(const ChecksumRequest& request);
// Change tracking (Connector::TrackingDdl): one PL/pgSQL trigger function and one row trigger
// per table; the origin is the session setting tether.origin, which tether's sessions set.
std::vector<std::string> TrackingDdl(const TrackedTable& t, bool install);

}  // namespace tether::postgres
