// UTC wall-clock times as the server writes them ("2026-11-22T02:26:38.123Z") and back. Pure
// functions; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tether {

using SystemTime = std::chrono::system_clock::time_point;

std::string IsoUtc(SystemTime t);
// Reads "YYYY-MM-DDTHH:MM:SS[.fff]Z" (or a space for the T); nullopt otherwise.
std::optional<SystemTime> ParseIsoUtc(std::string_view text);

}  // namespace tether
