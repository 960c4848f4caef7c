#include "core/id.h"

#include <fmt/format.h>

#include <random>

#include "core/temporal.h"

namespace tether {

std::string NewId(char prefix) {
  // UtcNow() is "2026-11-22T02:26:38.123Z": its digits and the T keep the time's order.
  std::string id(1, prefix);
  for (char c : UtcNow()) {
    if ((c >= '0' && c <= '9') || c == 'T') id += c;
  }
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}-{:06x}", id, rng() & 0xffffff);
}

}  // namespace tether
