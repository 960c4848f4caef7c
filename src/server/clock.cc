#include "server/clock.h"

#include <fmt/format.h>

#include "core/temporal.h"

namespace tether {

std::string IsoUtc(SystemTime t) {
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  int64_t secs = ms / 1000;
  int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int y = 0, m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", y, m, d, rem / 3600,
                     rem / 60 % 60, rem % 60, frac);
}

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

}  // namespace tether
