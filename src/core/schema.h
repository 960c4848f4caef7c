// Table schemas as connectors report them, and table definitions tether asks them to create.
// Plain data; safe to copy between threads.
#pragma once

#include <optional>
#include <string>
#include <vector>

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
  kDate,  // stored as ISO text by engines without a date type
  kTimestamp,
};

std::string_view TypeClassName(TypeClass t);

struct ColumnInfo {
  std::string name;
  std::string declared_type;  // as the engine reports it, e.g. "VARCHAR(64)"
  TypeClass type = TypeClass::kAny;
  bool not_null = false;
  bool has_default = false;
  int pk_position = 0;                // 1-based position in the primary key, 0 when not part of it
  std::optional<int64_t> max_length;  // characters, from e.g. VARCHAR(64)
  bool auto_increment = false;        // the engine generates it when omitted on insert
};

struct TableSchema {
  std::string name;
  std::vector<ColumnInfo> columns;  // in table order
  std::vector<std::string> primary_key;

  const ColumnInfo* Find(const std::string& column) const;
};

struct ColumnDef {
  std::string name;
  TypeClass type = TypeClass::kText;
  bool not_null = false;
};

struct IndexDef {
  std::string name;
  std::vector<std::string> columns;
  bool unique = false;
};

// A table tether owns (state store) or creates; created only if it does not exist.
struct TableDef {
  std::string name;
  std::vector<ColumnDef> columns;
  std::vector<std::string> primary_key;
  std::vector<IndexDef> indexes;
};

}  // namespace tether
