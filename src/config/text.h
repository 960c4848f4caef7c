// Small text helpers shared by the config module's parsers (internal to src/config/).
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/suggest.h"
#include "core/value.h"

namespace tether::config_internal {

std::string_view Trim(std::string_view s);

// [A-Za-z_][A-Za-z0-9_]*
bool IsIdentifier(std::string_view s);
inline bool IsIdentifierStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
inline bool IsIdentifierChar(char c) { return IsIdentifierStart(c) || (c >= '0' && c <= '9'); }

// Int for a decimal integer that fits int64 ("-12", "+7", "007"), Real for a decimal number
// ("1.5", ".5", "2e3"), nullopt for anything else (including integers too large for int64).
std::optional<Value> ParseNumber(std::string_view s);

// Did-you-mean is the engine's too (unknown tables and columns): it lives in core/suggest.h.
using ::tether::ClosestMatch;
using ::tether::EditDistance;

// ParseDurationMs's forms ("500ms", "5s", "2m", "1h", bare seconds) plus days ("30d") ->
// milliseconds; nullopt when the text is not a whole positive duration.
std::optional<int64_t> ParseDurationWithDaysMs(std::string_view text);

// "a, b, c"
std::string JoinNames(const std::vector<std::string_view>& names);

}  // namespace tether::config_internal
