// Schedules of `tether serve`: "every 5m" (ticks on multiples of the interval since the Unix
// epoch, so a restart keeps the same ticks) or a five-field cron expression in UTC. Parsed once,
// then read-only: safe to share between threads.
#pragma once

#include <bitset>
#include <chrono>
#include <string>

#include "core/status.h"

namespace tether {

struct Schedule {
  enum class Kind { kEvery, kCron };
  Kind kind = Kind::kEvery;
  // Normalized, and parses back to the same Schedule: "every 5m" (in the largest unit that
  // divides the interval: "every 120s" -> "every 2m"), "@daily" (lower case), or the cron
  // expression's fields as given, separated by single spaces.
  std::string text;
  std::chrono::seconds every{0};  // kEvery
  std::bitset<60> minutes;        // kCron: the allowed values of each field
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // 1..31
  std::bitset<13> months;         // 1..12
  std::bitset<7> days_of_week;    // 0..6, Sunday = 0 (7 is read as Sunday)
  // Cron's day rule (crontab(5), Vixie cron, cronie): when both day fields are restricted, a day
  // matching either fires; when either field starts with '*' ("*", "*/2"), a day must match
  // both.
  bool any_day_of_month = true;
  bool any_day_of_week = true;

  // The first tick strictly after `after`. time_point::max() when there is none within 8 years
  // of `after` (then there is none at all: every valid day, 29 February included, comes back
  // within 8 years — "0 0 31 2 *" never fires) or when it lies beyond what time_point holds.
  std::chrono::system_clock::time_point Next(std::chrono::system_clock::time_point after) const;

  friend bool operator==(const Schedule&, const Schedule&) = default;
};

// "every 30s" / "every 5m" / "every 1h" / "every 1d" (also "5m" alone; a whole number of seconds,
// at least 1s), "@hourly", "@daily", "@weekly", "@monthly", "@yearly", or cron
// "m h dom mon dow" with *, lists, ranges a-b, steps */n, a-b/n and a/n (a to the field's end),
// month names JAN-DEC and day names SUN-SAT (any case), 7 = Sunday. A kInvalidArgument whose
// message says what is wrong, without location.
Result<Schedule> ParseSchedule(const std::string& text);

}  // namespace tether
