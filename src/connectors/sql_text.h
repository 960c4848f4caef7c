// SQL text pieces every SQL connector writes the same way, but for its quote character.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tether {

// `name` between `quote`s, with every `quote` inside it doubled: safe for any identifier
// (mixed case, spaces, reserved words).
std::string QuoteIdentifier(std::string_view name, char quote);
// The quoted names joined by ','.
std::string QuoteIdentifiers(const std::vector<std::string>& names, char quote);
// ?,?,? (n of them)
std::string QuestionMarks(size_t n);

}  // namespace tether
