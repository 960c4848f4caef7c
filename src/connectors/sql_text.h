// SQL text pieces every SQL connector writes the same way, but for its quote character.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
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

// The SQL of a condition's operator: =, <>, <, <=, >, >=, LIKE, IS NULL, IS NOT NULL.
std::string_view ConditionOperator(Condition::Op op);
// False for IS NULL / IS NOT NULL, which take no value.
bool ConditionTakesValue(Condition::Op op);

}  // namespace tether
