// Range checksums in SQLite (Connector::Checksum). SQLite has no MD5, and its values are typed
// per value, not per column (a NUMERIC(12,2) column holds INTEGER 12 or REAL 12.5), so the
// canonical text of connector.h's row encoding cannot be read off the column type in SQL alone.
// Two deterministic functions, registered on each connection, compute it inside the query, each
// taking a row as (class, value) pairs, the class a TypeClass number, whatever storage class the
// value has (a value with no canonical text in its class is written as free text):
//   tether_hash(c1, v1, c2, v2, ...)      the row's hash (the first 8 bytes of the MD5 of its
//                                         text, big-endian) as a signed 64-bit integer;
//   tether_hash_sum(c1, v1, c2, v2, ...)  aggregate: the sum modulo 2^64 of the rows' hashes,
//                                         returned with the same 64 bits as a signed integer.
// The row's text is built in one buffer per thread: no SQL string per field.
// Used by the connection's thread only.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/schema.h"

namespace tether::sqlite {

// Registers tether_hash and tether_hash_sum on `db`; returns a SQLite result code.
int RegisterChecksumFunctions(sqlite3* db);

// The arguments of tether_hash / tether_hash_sum for `columns`: `3, "price", 5, "name"`.
std::string RowHashArgs(const std::vector<ColumnInfo>& columns);

// Canonical decimal text (connector.h) of a double kept by NUMERIC affinity: its 15 significant
// digits (all SQLite keeps of a decimal literal), without exponent or trailing zeros.
std::string DecimalText(double value);

}  // namespace tether::sqlite
