// ParseSchedule and Schedule::Next: "every <duration>" intervals aligned on the Unix epoch, and
// cron expressions in UTC whose next tick is found by skipping whole months, days and hours that
// cannot match rather than scanning minute by minute.
#include "config/schedule.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "config/text.h"
#include "core/ascii.h"

namespace tether {

namespace {

using config_internal::ParseDurationWithDaysMs;
using config_internal::Trim;
namespace chr = std::chrono;
using TimePoint = chr::system_clock::time_point;

constexpr std::string_view kExpected =
    "expected 'every <duration>' or a 5-field cron expression (minute hour day-of-month month "
    "day-of-week)";

struct FieldSpec {
  const char* name;
  int min;
  int max;                                 // day-of-week takes 7 as well, read as Sunday
  std::array<std::string_view, 13> names;  // names[i] is value i (+1 for months); "" for none
};

const std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, {}},
    {"hour", 0, 23, {}},
    {"day-of-month", 1, 31, {}},
    {"month",
     1,
     12,
     {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
    {"day-of-week", 0, 7, {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? s.npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

class FieldParser {
 public:
  FieldParser(int index, std::string_view text)
      : index_(index), spec_(kFields[index]), text_(text) {}

  // Sets the allowed values of the field (day-of-week 7 folded onto 0 by the caller).
  Status Parse(std::vector<bool>* allowed) const {
    allowed->assign(spec_.max + 1, false);
    for (std::string_view item : Split(text_, ',')) {
      if (item.empty()) return Error(fmt::format("empty item in '{}'", text_));
      TETHER_RETURN_IF_ERROR(ParseItem(item, allowed));
    }
    return Status::OK();
  }

 private:
  Status ParseItem(std::string_view item, std::vector<bool>* allowed) const {
    std::string_view range = item;
    int step = 1;
    const size_t slash = item.find('/');
    if (slash != std::string_view::npos) {
      range = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      std::optional<int> n = Number(step_text);
      if (!n || *n < 1) {
        return Error(fmt::format("step '{}' is not a whole number of at least 1", step_text));
      }
      step = *n;
    }
    int low = spec_.min;
    int high = spec_.max;
    if (range != "*") {
      const size_t dash = range.find('-');
      TETHER_ASSIGN_OR_RETURN(low, ParseValue(range.substr(0, dash)));
      if (dash != std::string_view::npos) {
        TETHER_ASSIGN_OR_RETURN(high, ParseValue(range.substr(dash + 1)));
        if (low > high) return Error(fmt::format("range {} goes backwards", range));
      } else if (slash == std::string_view::npos) {
        high = low;
      }  // else "a/n": from a to the field's end
    }
    for (int v = low; v <= high; v += step) (*allowed)[v] = true;
    return Status::OK();
  }

  Result<int> ParseValue(std::string_view text) const {
    std::optional<int> n = Number(text);
    if (!n) {
      for (size_t i = 0; i < spec_.names.size(); ++i) {
        if (!spec_.names[i].empty() && EqualsIgnoreCase(text, spec_.names[i])) {
          return static_cast<int>(i) + spec_.min;
        }
      }
      if (text.empty()) return Error(fmt::format("a range in '{}' lacks a value", text_));
      return Error(
          fmt::format("'{}' is not a number{}", text, spec_.names[0].empty() ? "" : " or a name"));
    }
    if (*n < spec_.min || *n > spec_.max) {
      return Error(fmt::format("{} is out of range {}-{}", *n, spec_.min, spec_.max));
    }
    return *n;
  }

  static std::optional<int> Number(std::string_view text) {
    if (text.empty() || text.size() > 4) return std::nullopt;
    int n = 0;
    for (char c : text) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  }

  Status Error(std::string_view message) const {
    return Status::InvalidArgument(
        fmt::format("cron field {} ({}): {}", index_ + 1, spec_.name, message));
  }

  int index_;
  const FieldSpec& spec_;
  std::string_view text_;
};

template <size_t N>
void Fill(const std::vector<bool>& allowed, std::bitset<N>* bits) {
  bits->reset();
  for (size_t i = 0; i < allowed.size() && i < N; ++i) bits->set(i, allowed[i]);
}

Result<Schedule> ParseCron(const std::vector<std::string_view>& fields, std::string text) {
  Schedule s;
  s.kind = Schedule::Kind::kCron;
  s.text = std::move(text);
  std::array<std::vector<bool>, 5> allowed;
  for (int i = 0; i < 5; ++i) {
    TETHER_RETURN_IF_ERROR(FieldParser(i, fields[i]).Parse(&allowed[i]));
  }
  if (allowed[4][7]) allowed[4][0] = true;
  Fill(allowed[0], &s.minutes);
  Fill(allowed[1], &s.hours);
  Fill(allowed[2], &s.days_of_month);
  Fill(allowed[3], &s.months);
  Fill(allowed[4], &s.days_of_week);
  s.any_day_of_month = fields[2].starts_with('*');
  s.any_day_of_week = fields[4].starts_with('*');
  return s;
}

// Seconds -> "every 5m" in the largest unit that divides it.
std::string EveryText(int64_t seconds) {
  static constexpr std::pair<const char*, int64_t> kUnits[] = {
      {"d", 86400}, {"h", 3600}, {"m", 60}};
  for (const auto& [unit, size] : kUnits) {
    if (seconds % size == 0) return fmt::format("every {}{}", seconds / size, unit);
  }
  return fmt::format("every {}s", seconds);
}

Result<Schedule> ParseEvery(std::string_view duration) {
  std::optional<int64_t> ms = ParseDurationWithDaysMs(duration);
  if (!ms) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a duration such as 30s, 5m, 1h or 1d (in 'every <duration>')", duration));
  }
  if (*ms % 1000 != 0) {
    return Status::InvalidArgument(
        fmt::format("every {}: a schedule's interval is a whole number of seconds", duration));
  }
  Schedule s;
  s.kind = Schedule::Kind::kEvery;
  s.every = chr::seconds(*ms / 1000);
  s.text = EveryText(s.every.count());
  return s;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Seconds since the epoch -> time_point, or max() when it does not fit.
TimePoint ToTimePoint(int64_t seconds) {
  constexpr int64_t kMaxSeconds =
      chr::duration_cast<chr::seconds>(TimePoint::max().time_since_epoch()).count();
  if (seconds >= kMaxSeconds) return TimePoint::max();
  return TimePoint(chr::duration_cast<TimePoint::duration>(chr::seconds(seconds)));
}

// First index >= from whose bit is set, or -1.
template <size_t N>
int NextSet(const std::bitset<N>& bits, int from) {
  for (int i = from; i < static_cast<int>(N); ++i) {
    if (bits[i]) return i;
  }
  return -1;
}

}  // namespace

TimePoint Schedule::Next(TimePoint after) const {
  if (after == TimePoint::max()) return TimePoint::max();
  const int64_t after_seconds = chr::floor<chr::seconds>(after).time_since_epoch().count();
  if (kind == Kind::kEvery) {
    const int64_t n = every.count();
    if (n <= 0) return TimePoint::max();  // not from ParseSchedule
    const int64_t q = FloorDiv(after_seconds, n) + 1;
    if (q > std::numeric_limits<int64_t>::max() / n) return TimePoint::max();
    return ToTimePoint(q * n);
  }

  // The first whole minute after `after`, then forward field by field: a month that cannot
  // match skips to the next month, a day to the next day, an hour to the next hour.
  const int64_t start_minute = FloorDiv(after_seconds, 60) + 1;
  chr::sys_days day{chr::days(FloorDiv(start_minute, 1440))};
  int minute_of_day = static_cast<int>(start_minute - FloorDiv(start_minute, 1440) * 1440);
  const int last_year = static_cast<int>(chr::year_month_day(day).year()) + 8;
  while (true) {
    const chr::year_month_day ymd(day);
    const int year = static_cast<int>(ymd.year());
    if (year > last_year) return TimePoint::max();
    const unsigned month = static_cast<unsigned>(ymd.month());
    if (!months[month]) {
      day = chr::sys_days(chr::year_month_day(ymd.year() / ymd.month() / 1) + chr::months(1));
      minute_of_day = 0;
      continue;
    }
    const bool dom = days_of_month[static_cast<unsigned>(ymd.day())];
    const bool dow = days_of_week[chr::weekday(day).c_encoding()];
    const bool day_matches = any_day_of_month || any_day_of_week ? dom && dow : dom || dow;
    if (day_matches) {
      int hour = NextSet(hours, minute_of_day / 60);
      int minute = -1;
      while (hour >= 0) {
        minute = NextSet(minutes, hour == minute_of_day / 60 ? minute_of_day % 60 : 0);
        if (minute >= 0) break;
        hour = NextSet(hours, hour + 1);
      }
      if (hour >= 0) {
        const int64_t days = day.time_since_epoch().count();
        return ToTimePoint(days * 86400 + hour * 3600 + minute * 60);
      }
    }
    day += chr::days(1);
    minute_of_day = 0;
  }
}

Result<Schedule> ParseSchedule(const std::string& text) {
  const std::vector<std::string_view> words = Words(text);
  if (words.empty()) return Status::InvalidArgument(std::string(kExpected) + "; got nothing");
  if (words.size() == 1 && words[0].starts_with('@')) {
    static constexpr std::pair<std::string_view, std::string_view> kMacros[] = {
        {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"}};
    for (const auto& [name, cron] : kMacros) {
      if (EqualsIgnoreCase(words[0], name)) return ParseCron(Words(cron), std::string(name));
    }
    return Status::InvalidArgument(
        fmt::format("unknown '{}'; use @hourly, @daily, @weekly, @monthly or @yearly", words[0]));
  }
  if (words.size() == 2 && EqualsIgnoreCase(words[0], "every")) return ParseEvery(words[1]);
  if (words.size() == 1 && std::isdigit(static_cast<unsigned char>(words[0][0]))) {
    return ParseEvery(words[0]);
  }
  if (words.size() == 5) {
    std::string normalized;
    for (std::string_view w : words) {
      if (!normalized.empty()) normalized += ' ';
      normalized += w;
    }
    return ParseCron(words, std::move(normalized));
  }
  if (EqualsIgnoreCase(words[0], "every")) {
    return Status::InvalidArgument(
        fmt::format("expected 'every <duration>' such as 'every 5m'; got '{}'", Trim(text)));
  }
  return Status::InvalidArgument(
      fmt::format("{}; got {} field{}", kExpected, words.size(), words.size() == 1 ? "" : "s"));
}

}  // namespace tether
