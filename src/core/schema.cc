#include "core/schema.h"

namespace tether {

std::string_view TypeClassName(TypeClass t) {
  switch (t) {
    case TypeClass::kAny:
      return "any";
    case TypeClass::kInteger:
      return "integer";
    case TypeClass::kReal:
      return "real";
    case TypeClass::kDecimal:
      return "decimal";
    case TypeClass::kText:
      return "text";
    case TypeClass::kBlob:
      return "blob";
    case TypeClass::kBoolean:
      return "boolean";
    case TypeClass::kDate:
      return "date";
    case TypeClass::kTime:
      return "time";
    case TypeClass::kTimestamp:
      return "timestamp";
    case TypeClass::kTimestampTz:
      return "timestamptz";
    case TypeClass::kJson:
      return "json";
    case TypeClass::kUuid:
      return "uuid";
  }
  return "unknown";
}

bool IsTextual(TypeClass t) {
  switch (t) {
    case TypeClass::kText:
    case TypeClass::kDate:
    case TypeClass::kTime:
    case TypeClass::kTimestamp:
    case TypeClass::kTimestampTz:
    case TypeClass::kJson:
    case TypeClass::kUuid:
      return true;
    default:
      return false;
  }
}

const ColumnInfo* TableSchema::Find(const std::string& column) const {
  for (const ColumnInfo& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

}  // namespace tether
