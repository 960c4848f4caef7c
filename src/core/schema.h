// Table schemas as connectors report them, and table definitions tether asks them to create.
// Plain data; safe to copy between threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/normalize.h"

namespace tether {

// What kind of values a column holds, whatever the engine calls it.
enum class TypeClass {
  kAny,  // no declared type (SQLite): anything goes
  kInteger,
  kReal,
  kDecimal,  // exact numeric
  kText,
  kBlob,
  kBoolean,
  kDate,         // values travel as text "YYYY-MM-DD"
  kTime,         // "HH:MM:SS[.ffffff]"
  kTimestamp,    // "YYYY-MM-DD HH:MM:SS[.ffffff]", no time zone
  kTimestampTz,  // "YYYY-MM-DD HH:MM:SS[.ffffff]+00:00", always in UTC
  kJson,         // JSON document as text
  kUuid,         // "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case
};
// Canonical text forms of temporal values are in core/temporal.h.

std::string_view TypeClassName(TypeClass t);

// True for classes whose values travel as text (text, dates, times, json, uuid).
bool IsTextual(TypeClass t);

struct ColumnInfo {
  std::string name;
  std::string declared_type;  // as the engine reports it, e.g. "VARCHAR(64)"
  TypeClass type = TypeClass::kAny;
  bool not_null = false;
  bool has_default = false;
  int pk_position = 0;                // 1-based position in the primary key, 0 when not part of it
  std::optional<int64_t> max_length;  // characters, from e.g. VARCHAR(64)
  // kText: char(n), whose trailing spaces are padding, not data (PostgreSQL pads values to n,
  // MySQL and MariaDB strip them on read); its values compare without them.
  bool blank_padded = false;
  // kDecimal: total digits and digits after the point, from e.g. NUMERIC(12,2).
  // kTime / kTimestamp / kTimestampTz: `scale` is the digits of fractional seconds kept.
  // kReal: `precision` is the bits of a narrower float's mantissa (24: a 4-byte float), unset
  // for a double.
  std::optional<int> precision;
  std::optional<int> scale;
  // kDecimal: the most significant digits the engine keeps exactly whatever the declaration
  // says (SQLite's NUMERIC affinity turns longer numbers into 15-digit doubles).
  std::optional<int> significant_digits;
  bool auto_increment = false;  // the engine generates it when omitted on insert
  // Whether a NaN, and ±infinity, can be stored (PostgreSQL: both; SQLite stores NULL for a NaN;
  // MySQL and MariaDB refuse both). A value the column cannot hold fails its record.
  bool holds_nan = true;
  bool holds_infinity = true;
  // Text columns of MySQL/MariaDB: the character set as the server names it ("utf8mb4",
  // "latin1"); "" where it is not known or does not apply.
  std::string charset;
};

struct TableSchema {
  std::string name;
  std::vector<ColumnInfo> columns;  // in table order
  std::vector<std::string> primary_key;

  const ColumnInfo* Find(const std::string& column) const;
};

struct ColumnDef {
  ColumnDef() = default;
  ColumnDef(std::string column_name, TypeClass column_type, bool is_not_null = false)
      : name(std::move(column_name)), type(column_type), not_null(is_not_null) {}

  std::string name;
  TypeClass type = TypeClass::kText;
  bool not_null = false;
  std::optional<int64_t> max_length;  // kText: VARCHAR(n) where the engine has it
  std::optional<int> precision;       // as in ColumnInfo
  std::optional<int> scale;
  bool auto_increment = false;  // integer key the engine generates (SERIAL, AUTO_INCREMENT)
};

struct IndexDef {
  std::string name;
  std::vector<std::string> columns;
  bool unique = false;
  // Empty, or one per column: index that column's normalised value (an expression index where
  // the engine has them), for lookups by a normalised match key.
  std::vector<Normalization> normalize = {};
};

// A table tether owns (state store) or creates; created only if it does not exist.
struct TableDef {
  std::string name;
  std::vector<ColumnDef> columns;
  std::vector<std::string> primary_key;
  std::vector<IndexDef> indexes;
};

}  // namespace tether
