// Value checks and conversions between a source value and a target column: type coercion,
// tolerant comparison (12.5 equals "12.50" in a decimal column), and `validate:` rules.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "core/regex.h"
#include "core/schema.h"
#include "core/status.h"
#include "core/value.h"

namespace tether {

// `v` converted for `column`, or kInvalidRecord saying why it cannot be held exactly
// (not an integer, too long for VARCHAR(n), NULL in a NOT NULL column, ...).
Result<Value> CoerceToColumn(const Value& v, const ColumnInfo& column);
// The same, in place: a value that already fits (the usual case) is checked without a copy.
Status CoerceInPlace(Value* v, const ColumnInfo& column);
// OK unless `v` is text that is not valid UTF-8 (SQLite keeps any bytes as text): then
// kInvalidRecord naming `column`, the value (bytes escaped as \xHH) and the first bad byte.
Status CheckUtf8(const Value& v, const ColumnInfo& column);

// `v` as plans and diffs show a value of `column`: in the column's class where it converts
// (a decimal is a Decimal with the column's scale even when SQLite returned a double or an
// integer, a boolean a Bool, a date its canonical text), so that a column's values take one
// form whatever engine they were read from; as it is otherwise.
Value DisplayValue(const Value& v, const ColumnInfo& column);

// Equality as a database would see it: numbers compare by value whatever their kind
// (1 = 1.0 = "1.00" as decimal), text and bytes exactly, NULL only equals NULL.
bool SameValue(const Value& a, const Value& b);

// SameValue, knowing the column both values belong to: timestamps compare as instants in any
// accepted spelling, JSON as documents (key order and spacing aside), UUIDs case-insensitively,
// char(n) text without its trailing spaces.
bool SameValueIn(const Value& a, const Value& b, const ColumnInfo& column);

// A validation rule compiled once (the pattern is an RE2 Regex: linear in the value's length).
class CompiledRule {
 public:
  explicit CompiledRule(const ValidationRule& rule);
  // Empty when `v` passes; otherwise why it does not ("does not match ^[A-Z0-9-]+$").
  std::string Check(const Value& v) const;

 private:
  ValidationRule rule_;
  Result<Regex> pattern_ = Status::NotFound("no pattern");
};

}  // namespace tether
