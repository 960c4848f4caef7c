// SQL text pieces every SQL connector writes the same way, but for what its SqlDialect says.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.h"

namespace tether {

// `name` between `quote`s, with every `quote` inside it doubled: safe for any identifier
// (mixed case, spaces, reserved words).
std::string QuoteIdentifier(std::string_view name, char quote);
// The quoted names joined by ','.
std::string QuoteIdentifiers(const std::vector<std::string>& names, char quote);
// ?,?,? (n of them)
std::string QuestionMarks(size_t n);

// `text` as a string literal between single quotes, quotes doubled — and backslashes doubled
// too where the engine reads them as escapes (MySQL without NO_BACKSLASH_ESCAPES). Only for
// DDL, which takes no parameters (trigger bodies); everywhere else values are bound.
std::string QuoteLiteral(std::string_view text, bool backslash_escapes);
// `name` if it fits in `max_bytes`; else a prefix and an FNV-1a hash of the whole name, so that
// two long names sharing a prefix stay apart (an engine would cut both to the same name). Never
// cuts a UTF-8 sequence in half. Stable across runs, so DDL built from it is too.
std::string ShortIdentifier(const std::string& name, size_t max_bytes);

// ALTER TABLE <table> ADD COLUMN <name> <type>, one statement per column (SQLite adds one at a
// time), `type` giving each column's type; never NOT NULL, for Connector::AddColumnsDdl.
std::vector<std::string> AddColumnStatements(
    const std::string& table, const std::vector<ColumnDef>& columns, char quote,
    const std::function<std::string(const ColumnDef&)>& type);

// " WHERE c1 op p1 AND c2 op p2 ..." for `conditions` in `dialect` (nothing when there are
// none), the one writer of conditions for every SQL connector. `bind` is called for each
// condition that takes a value, in order, and returns the number (from 1) of the parameter it
// bound for it. Returns the joiner for a further condition: " WHERE " when nothing was written,
// else " AND ".
const char* AppendConditions(const std::vector<Condition>& conditions, const SqlDialect& dialect,
                             std::string* sql, const std::function<size_t(const Condition&)>& bind);

}  // namespace tether
