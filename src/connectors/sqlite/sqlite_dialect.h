// SQLite's SQL dialect as tether needs it: identifier quoting and the mapping between declared
// column types and TypeClass. Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.h"
#include "core/schema.h"

namespace tether::sqlite {

// What Connector::sql_dialect() answers.
inline constexpr SqlDialect kSqlDialect{'"', false, ""};

// "name" with embedded quotes doubled: safe for any identifier (mixed case, spaces, `order`).
std::string QuoteIdent(std::string_view name);
// "a","b","c"
std::string QuoteList(const std::vector<std::string>& names);
// The SQL of a (quoted) column's value normalised: lower() and trim() are ASCII-only and
// space-only in SQLite, exactly Normalized() (core/normalize.h). An index can be made on it.
std::string NormalizedColumn(const std::string& column, const Normalization& how);
// ?,?,? (n of them)
std::string Placeholders(size_t n);

// SQLite's affinity rules, refined (docs/TYPES.md): INT -> integer; CHAR/CLOB/TEXT -> text (with
// max_length from "(n)"); BLOB -> blob; REAL/FLOA/DOUB -> real; BOOL -> boolean;
// TIMESTAMPTZ / "WITH TIME ZONE" -> timestamptz; DATETIME/TIMESTAMP -> timestamp; DATE -> date;
// TIME -> time; DECIMAL/NUMERIC -> decimal (precision, scale from "(p,s)"); JSON -> json;
// UUID -> uuid. An empty or unrecognized type is kAny: SQLite stores whatever it is given.
// Fills type, max_length, precision and scale of *column.
void ClassifyDeclared(std::string_view declared, ColumnInfo* column);

// The declared type EnsureTable writes for a column; empty for kAny. Chosen so that
// ClassifyDeclared reads it back as the same class, length, precision and scale.
std::string DeclaredTypeFor(const ColumnDef& column);

// Change tracking (Connector::TrackingDdl). SQLite has no session variables: tether's
// transactions set tether_session.origin while they write (SqliteConnector::Begin) and clear it
// before they commit; as SQLite has one writer at a time, only tether's writes see it set.
std::vector<std::string> TrackingDdl(const TrackedTable& t, bool install);
inline constexpr char kSessionTable[] = "tether_session";

}  // namespace tether::sqlite
