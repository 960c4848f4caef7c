#include "cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli/output.h"

namespace tether::cli {

ProgressLine::ProgressLine(bool enabled) : on_(enabled && isatty(2)) {}

void ProgressLine::Rows(const std::string& entity, int64_t done) {
  if (!on_) return;
  const auto now = std::chrono::steady_clock::now();
  if (entity != entity_) {
    entity_ = entity;
    entity_start_ = now;
  }
  const double secs = std::chrono::duration<double>(now - entity_start_).count();
  const double rate = secs > 0 ? done / secs : 0;
  const int64_t total = totals_.count(entity) ? totals_[entity] : 0;
  std::string line = fmt::format("  {}: {}", entity, Thousands(done));
  if (total > 0) {
    line += fmt::format(" / {} rows ({}%)", Thousands(total),
                        std::min<int64_t>(100, done * 100 / total));
  } else {
    line += " rows";
  }
  line += fmt::format("  {} rows/s", Thousands(static_cast<int64_t>(rate)));
  if (total > done && rate > 0) {
    line += fmt::format("  ETA {:.0f} s", static_cast<double>(total - done) / rate);
  }
  Show(line);
}

void ProgressLine::Show(const std::string& text) {
  if (!on_) return;
  std::fflush(stdout);  // what was printed before comes first
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::Clear() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace tether::cli
