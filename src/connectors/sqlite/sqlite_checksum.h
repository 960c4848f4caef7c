// Range checksums in SQLite (Connector::Checksum). SQLite has no MD5, and its values are typed
// per value, not per column (a NUMERIC(12,2) column holds INTEGER 12 or REAL 12.5), so the
// canonical text of connector.h's row encoding cannot be read off the column type in SQL alone.
// Two deterministic functions, registered on each connection, compute it inside the query:
//   tether_field(class, value)  one field of a row's text for a column of TypeClass number
//                               `class`, whatever storage class the value has: `N` for NULL,
//                               `<canonical text>,` or, for free text and for a value that has
//                               no canonical text in its class, `<characters>:<text>`;
//   tether_hash(text)           a row text's hash (the first 8 bytes of its MD5, big-endian) as
//                               a signed 64-bit integer;
//   tether_hash_sum(text)       aggregate: the sum modulo 2^64 of each row text's hash (the first
//                               8 bytes of its MD5, big-endian), returned with the same 64 bits as
//                               a signed integer.
// Used by the connection's thread only.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/schema.h"

namespace tether::sqlite {

// Registers tether_field, tether_hash and tether_hash_sum on `db`; returns a SQLite result code.
int RegisterChecksumFunctions(sqlite3* db);

// The SQL of a row's text for `columns`: tether_field(..) || tether_field(..) || ...
std::string RowTextSql(const std::vector<ColumnInfo>& columns);

// Canonical decimal text (connector.h) of a double kept by NUMERIC affinity: its 15 significant
// digits (all SQLite keeps of a decimal literal), without exponent or trailing zeros.
std::string DecimalText(double value);

}  // namespace tether::sqlite
