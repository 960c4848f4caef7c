// The progress line a command keeps on a terminal (stderr): one line redrawn in place — entity,
// rows done / total, %, rows/s, ETA — and cleared before anything else is printed, so output
// never lands after half a line. Inert when stderr is not a terminal or with -q. Main thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace tether::cli {

class ProgressLine {
 public:
  // On when `enabled` and stderr is a terminal.
  explicit ProgressLine(bool enabled);
  ~ProgressLine() { Clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool on() const { return on_; }
  // How many rows an entity will read, for % and ETA.
  void Total(const std::string& entity, int64_t total) { totals_[entity] = total; }
  // An entity's rows done so far; its rate counts from its first call.
  void Rows(const std::string& entity, int64_t done);
  // Any text in place of the line.
  void Show(const std::string& text);
  // Removes the line, if one is drawn; call before printing anything else.
  void Clear();

 private:
  bool on_;
  bool drawn_ = false;
  std::string entity_;
  std::chrono::steady_clock::time_point entity_start_;
  std::map<std::string, int64_t> totals_;
};

}  // namespace tether::cli
