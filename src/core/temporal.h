// Canonical text forms of dates, times and timestamps, so that the same instant read from
// SQLite, PostgreSQL or MySQL compares equal and is written the same way everywhere.
//   date         2024-03-01
//   time         13:05:09, 13:05:09.25        (fraction without trailing zeros)
//   timestamp    2024-03-01 13:05:09.123456   (no zone)
//   timestamptz  2024-03-01 12:05:09.5+00:00  (always converted to UTC)
// Years have 4 to 7 digits (10000-01-01); a year before 1 AD is written as PostgreSQL writes it,
// with " BC" at the very end (0044-03-15 BC, 0044-03-15 12:00:00+00:00 BC; 1 BC is year 0 of
// the calendar below, and "0000-01-01" is read as 0001-01-01 BC).
// Also the wall-clock times tether writes in its own tables, logs and the server's JSON
// ("2026-11-22T02:26:38.123Z"), and the --from-date / --to-date bounds.
// Pure functions (UtcNow reads the system clock); thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/status.h"

namespace tether {

// "YYYY-MM-DD" (a trailing " 00:00:00" is accepted), optionally ending " BC"; nullopt when not
// a valid date.
std::optional<std::string> CanonicalDate(std::string_view text);

// "HH:MM[:SS[.fraction]]"; 24:00:00 is allowed. nullopt when not a valid time.
std::optional<std::string> CanonicalTime(std::string_view text);

// "YYYY-MM-DD[ T]HH:MM[:SS[.fraction]]" with an optional zone "Z", "+HH", "+HHMM" or "+HH:MM";
// a date alone means midnight. with_zone = false: a zone in the input is applied (the result is
// the UTC wall time) and dropped. with_zone = true: no zone means UTC; the result ends "+00:00".
std::optional<std::string> CanonicalTimestamp(std::string_view text, bool with_zone);

// Proleptic Gregorian calendar: leap years, days of month m (1-12) of year y, and the days
// since 1970-01-01 of a date (Howard Hinnant's days_from_civil; negative before it).
bool IsLeap(int y);
int DaysInMonth(int y, int m);
int64_t DaysFromCivil(int64_t y, int m, int d);
// Inverse of DaysFromCivil: the civil date `days` after 1970-01-01 (negative: before).
void CivilFromDays(int64_t days, int* y, int* m, int* d);

// Digits after the seconds' decimal point in a canonical time or timestamp (0 when none).
int FractionDigits(std::string_view canonical);

// "500ms", "5s", "2m", "1h" or bare seconds ("30") -> milliseconds; nullopt when the text is
// not a whole positive duration.
std::optional<int64_t> ParseDurationMs(std::string_view text);

// The UTC seconds since the epoch of text starting "YYYY-MM-DD HH:MM:SS" (a canonical timestamp;
// any fraction or zone after it is ignored); nullopt when it does not start so.
std::optional<int64_t> UtcSeconds(std::string_view text);
// Its inverse: "YYYY-MM-DD HH:MM:SS" of UTC seconds since the epoch.
std::string UtcSecondsText(int64_t seconds);

using SystemTime = std::chrono::system_clock::time_point;

// "2026-11-22T02:26:38.123Z".
std::string IsoUtc(SystemTime t);
// IsoUtc of the system clock's now.
std::string UtcNow();
// Reads "YYYY-MM-DDTHH:MM:SS[.fff]Z" (or a space for the T); nullopt otherwise.
std::optional<SystemTime> ParseIsoUtc(std::string_view text);

// A --from-date (upper = false) or --to-date (upper = true) bound: "YYYY-MM-DD" or
// "YYYY-MM-DD[ T]HH:MM[:SS[.fraction]]" of a real calendar day and time, else InvalidArgument
// naming the flag. Returns the bound's text and whether it is inclusive: a --to-date of a date
// alone becomes the start of the next day, exclusive ("2024-12-31" -> "2025-01-01").
Result<std::pair<std::string, bool>> ParseDateBound(const std::string& text, bool upper);

}  // namespace tether
