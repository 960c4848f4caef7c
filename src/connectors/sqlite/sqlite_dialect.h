// SQLite's SQL dialect as tether needs it: identifier quoting and the mapping between declared
// column types and TypeClass. Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/schema.h"

namespace tether::sqlite {

// "name" with embedded quotes doubled: safe for any identifier (mixed case, spaces, `order`).
std::string QuoteIdent(std::string_view name);
// "a","b","c"
std::string QuoteList(const std::vector<std::string>& names);
// ?,?,? (n of them)
std::string Placeholders(size_t n);

// SQLite's affinity rules, refined: INT -> integer; CHAR/CLOB/TEXT -> text (with max_length
// from "(n)"); BLOB -> blob; REAL/FLOA/DOUB -> real; BOOL -> boolean; DATETIME/TIMESTAMP ->
// timestamp; DATE -> date; DECIMAL/NUMERIC -> decimal. An empty or unrecognized type (JSON,
// UUID, ...) is kAny: SQLite will store whatever it is given.
TypeClass TypeClassFromDeclared(std::string_view declared, std::optional<int64_t>* max_length);

// The declared type EnsureTable writes for a TypeClass; empty for kAny.
std::string_view DeclaredTypeFor(TypeClass type);

}  // namespace tether::sqlite
