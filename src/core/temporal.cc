#include "core/temporal.h"

#include <fmt/format.h>

#include <cstdint>
#include <ctime>
#include <string>

#include "core/regex.h"

namespace tether {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

namespace {

// Reads exactly `n` digits at *pos.
bool Digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Eat(std::string_view s, size_t* pos, char c) {
  if (*pos < s.size() && s[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

struct Date {
  int y = 0, m = 0, d = 0;
};
struct Time {
  int h = 0, mi = 0, s = 0;
  std::string fraction;  // digits, trailing zeros removed
};

// Years have 4 to 7 digits: PostgreSQL's dates reach 5874897 AD.
constexpr size_t kMaxYearDigits = 7;
constexpr std::string_view kBc = " BC";

// "YYYY-MM-DD", the year of 4 or more digits, as an astronomical year (1 BC is year 0):
// `bc` says the text ended " BC" (PostgreSQL's way), then the year is 1 - YYYY.
bool ParseDate(std::string_view s, size_t* pos, bool bc, Date* out) {
  size_t digits = 0;
  while (*pos + digits < s.size() && s[*pos + digits] >= '0' && s[*pos + digits] <= '9') {
    ++digits;
  }
  if (digits < 4 || digits > kMaxYearDigits || !Digits(s, pos, digits, &out->y) ||
      !Eat(s, pos, '-') || !Digits(s, pos, 2, &out->m) || !Eat(s, pos, '-') ||
      !Digits(s, pos, 2, &out->d)) {
    return false;
  }
  if (bc) {
    if (out->y == 0) return false;  // there is no "0000 BC"
    out->y = 1 - out->y;
  }
  return out->m >= 1 && out->m <= 12 && out->d >= 1 && out->d <= DaysInMonth(out->y, out->m);
}

// Strips a trailing " BC" from `text`; true when there was one.
bool TakeBc(std::string_view* text) {
  if (!text->ends_with(kBc)) return false;
  text->remove_suffix(kBc.size());
  return true;
}

bool ParseTime(std::string_view s, size_t* pos, Time* out) {
  if (!Digits(s, pos, 2, &out->h) || !Eat(s, pos, ':') || !Digits(s, pos, 2, &out->mi)) {
    return false;
  }
  if (Eat(s, pos, ':')) {
    if (!Digits(s, pos, 2, &out->s)) return false;
    if (Eat(s, pos, '.')) {
      size_t start = *pos;
      while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9') ++*pos;
      if (*pos == start) return false;
      out->fraction.assign(s.substr(start, *pos - start));
      while (!out->fraction.empty() && out->fraction.back() == '0') out->fraction.pop_back();
    }
  }
  if (out->h == 24) return out->mi == 0 && out->s == 0 && out->fraction.empty();
  return out->h < 24 && out->mi < 60 && out->s < 60;
}

// "Z", "+HH", "+HHMM", "+HH:MM" (also with seconds, as PostgreSQL prints for old dates).
bool ParseZone(std::string_view s, size_t* pos, int* offset_seconds) {
  if (Eat(s, pos, 'Z') || Eat(s, pos, 'z')) {
    *offset_seconds = 0;
    return true;
  }
  int sign = 0;
  if (Eat(s, pos, '+')) {
    sign = 1;
  } else if (Eat(s, pos, '-')) {
    sign = -1;
  } else {
    return false;
  }
  int h = 0, m = 0, sec = 0;
  if (!Digits(s, pos, 2, &h)) return false;
  bool colon = Eat(s, pos, ':');
  if (*pos < s.size()) {
    if (!Digits(s, pos, 2, &m)) return false;
    if ((colon ? Eat(s, pos, ':') : false) && !Digits(s, pos, 2, &sec)) return false;
  } else if (colon) {
    return false;
  }
  if (h > 15 || m > 59 || sec > 59) return false;
  *offset_seconds = sign * (h * 3600 + m * 60 + sec);
  return true;
}

// Appends `v` as exactly `width` digits (callers pass values that fit).
void AppendDigits(std::string* out, int v, int width) {
  char buf[4];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out->append(buf, static_cast<size_t>(width));
}

// Formatting runs once per temporal value of every synced row: no printf. A year before 1 AD
// is written as PostgreSQL does, 1 BC as 0001 with " BC" at the very end (AppendEra).
std::string FormatDate(const Date& d) {
  std::string out;
  out.reserve(10);
  const int year = d.y > 0 ? d.y : 1 - d.y;
  if (year > 9999) {
    out += std::to_string(year);
  } else {
    AppendDigits(&out, year, 4);
  }
  out += '-';
  AppendDigits(&out, d.m, 2);
  out += '-';
  AppendDigits(&out, d.d, 2);
  return out;
}

std::string FormatTime(const Time& t) {
  std::string out;
  out.reserve(9 + t.fraction.size());
  AppendDigits(&out, t.h, 2);
  out += ':';
  AppendDigits(&out, t.mi, 2);
  out += ':';
  AppendDigits(&out, t.s, 2);
  if (!t.fraction.empty()) out += "." + t.fraction;
  return out;
}

std::string AppendEra(std::string text, const Date& d) {
  if (d.y <= 0) text += kBc;
  return text;
}

}  // namespace

void CivilFromDays(int64_t z, int* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int>(yoe + era * 400 + (*m <= 2));
}

std::optional<std::string> CanonicalDate(std::string_view text) {
  size_t pos = 0;
  Date d;
  const bool bc = TakeBc(&text);
  if (!ParseDate(text, &pos, bc, &d)) return std::nullopt;
  if (pos != text.size()) {
    Time t;
    if (!(Eat(text, &pos, ' ') || Eat(text, &pos, 'T')) || !ParseTime(text, &pos, &t) ||
        pos != text.size() || t.h || t.mi || t.s || !t.fraction.empty()) {
      return std::nullopt;
    }
  }
  return AppendEra(FormatDate(d), d);
}

std::optional<std::string> CanonicalTime(std::string_view text) {
  size_t pos = 0;
  Time t;
  if (!ParseTime(text, &pos, &t) || pos != text.size()) return std::nullopt;
  return FormatTime(t);
}

std::optional<std::string> CanonicalTimestamp(std::string_view text, bool with_zone) {
  size_t pos = 0;
  Date d;
  Time t;
  const bool bc = TakeBc(&text);
  if (!ParseDate(text, &pos, bc, &d)) return std::nullopt;
  bool has_zone = false;
  int offset = 0;
  if (pos < text.size()) {
    if (!(Eat(text, &pos, ' ') || Eat(text, &pos, 'T')) || !ParseTime(text, &pos, &t)) {
      return std::nullopt;
    }
    Eat(text, &pos, ' ');
    if (pos < text.size()) {
      if (!ParseZone(text, &pos, &offset) || pos != text.size()) return std::nullopt;
      has_zone = true;
    }
  }
  if (has_zone && offset != 0) {
    int64_t secs = DaysFromCivil(d.y, d.m, d.d) * 86400 + t.h * 3600 + t.mi * 60 + t.s - offset;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rest = secs - days * 86400;
    CivilFromDays(days, &d.y, &d.m, &d.d);
    t.h = static_cast<int>(rest / 3600);
    t.mi = static_cast<int>(rest % 3600 / 60);
    t.s = static_cast<int>(rest % 60);
  }
  if (d.y > 9999999 || 1 - d.y > 9999999) return std::nullopt;  // moved past 7 digits
  std::string out = FormatDate(d) + " " + FormatTime(t);
  if (with_zone) out += "+00:00";
  return AppendEra(std::move(out), d);
}

int FractionDigits(std::string_view canonical) {
  size_t dot = canonical.find('.');
  if (dot == std::string_view::npos) return 0;
  size_t end = dot + 1;
  while (end < canonical.size() && canonical[end] >= '0' && canonical[end] <= '9') ++end;
  return static_cast<int>(end - dot - 1);
}

std::optional<int64_t> ParseDurationMs(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;
  int64_t n = 0;
  for (size_t i = 0; i < digits; ++i) n = n * 10 + (text[i] - '0');
  const std::string_view unit = text.substr(digits);
  int64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60000;
  } else if (unit == "h") {
    scale = 3600000;
  } else {
    return std::nullopt;
  }
  if (n == 0) return std::nullopt;
  return n * scale;
}

std::optional<int64_t> UtcSeconds(std::string_view text) {
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  auto num = [&](size_t at, size_t len) {
    int n = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      n = n * 10 + (text[i] - '0');
    }
    return n;
  };
  std::tm tm{};
  const int fields[] = {num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)};
  for (int f : fields) {
    if (f < 0) return std::nullopt;
  }
  tm.tm_year = fields[0] - 1900;
  tm.tm_mon = fields[1] - 1;
  tm.tm_mday = fields[2];
  tm.tm_hour = fields[3];
  tm.tm_min = fields[4];
  tm.tm_sec = fields[5];
  return static_cast<int64_t>(timegm(&tm));
}

std::string UtcSecondsText(int64_t seconds) {
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int y = 0, m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", y, m, d, rem / 3600, rem / 60 % 60,
                     rem % 60);
}

std::string IsoUtc(SystemTime t) {
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  int64_t secs = ms / 1000;
  int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  std::string text = UtcSecondsText(secs);
  text[10] = 'T';
  return fmt::format("{}.{:03}Z", text, frac);
}

std::string UtcNow() { return IsoUtc(std::chrono::system_clock::now()); }

std::optional<SystemTime> ParseIsoUtc(std::string_view text) {
  if (text.size() < 19) return std::nullopt;
  std::string canonical(text.substr(0, 19));
  if (canonical[10] == 'T') canonical[10] = ' ';
  std::optional<int64_t> secs = UtcSeconds(canonical);
  if (!secs) return std::nullopt;
  int64_t ms = 0;
  if (text.size() > 20 && text[19] == '.') {
    int digits = 0;
    for (size_t i = 20; i < text.size() && digits < 3 && text[i] >= '0' && text[i] <= '9'; ++i) {
      ms = ms * 10 + (text[i] - '0');
      ++digits;
    }
    for (; digits < 3; ++digits) ms *= 10;
  }
  return SystemTime(std::chrono::milliseconds(*secs * 1000 + ms));
}

Result<std::pair<std::string, bool>> ParseDateBound(const std::string& text, bool upper) {
  static const Regex kDate = Regex::Trusted(R"(\d{4}-\d{2}-\d{2})");
  static const Regex kDateTime =
      Regex::Trusted(R"(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)");
  const char* flag = upper ? "--to-date" : "--from-date";
  const bool date_only = kDate.FullMatch(text);
  if (!date_only && !kDateTime.FullMatch(text)) {
    return Status::InvalidArgument(
        fmt::format("{} {}: expected YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS]", flag, text));
  }
  auto num = [&text](size_t at, size_t len) {  // digits, as the patterns above checked
    int n = 0;
    for (size_t i = at; i < at + len; ++i) n = n * 10 + (text[i] - '0');
    return n;
  };
  // A real calendar day: 2025-02-30 and 2025-13-01 are refused, not rolled over.
  const int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  if (m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) {
    return Status::InvalidArgument(fmt::format("{} {}: no such date", flag, text));
  }
  if (!date_only) {
    const int hh = num(11, 2), mi = num(14, 2), ss = text.size() >= 19 ? num(17, 2) : 0;
    if (hh > 23 || mi > 59 || ss > 59) {
      return Status::InvalidArgument(fmt::format("{} {}: no such time", flag, text));
    }
    return std::make_pair(text, true);
  }
  if (!upper) return std::make_pair(text, true);
  int ny = 0, nm = 0, nd = 0;
  CivilFromDays(DaysFromCivil(y, m, d) + 1, &ny, &nm, &nd);
  return std::make_pair(fmt::format("{:04}-{:02}-{:02}", ny, nm, nd), false);  // exclusive
}

}  // namespace tether
