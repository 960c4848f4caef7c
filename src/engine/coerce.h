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

// Equality as a database would see it: numbers compare by value whatever their kind
// (1 = 1.0 = "1.00" as decimal), text and bytes exactly, NULL only equals NULL.
bool SameValue(const Value& a, const Value& b);

// SameValue, knowing the column both values belong to: timestamps compare as instants in any
// accepted spelling, JSON as documents (key order and spacing aside), UUIDs case-insensitively.
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

// Number of UTF-8 code points in `s`.
size_t Utf8Length(const std::string& s);

}  // namespace tether
