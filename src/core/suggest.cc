#include "core/suggest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "core/ascii.h"

namespace tether {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance over three rolling rows.
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string_view> ClosestMatch(std::string_view word,
                                             const std::vector<std::string_view>& candidates) {
  std::optional<std::string_view> best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  const std::string lower = AsciiLower(word);
  for (std::string_view c : candidates) {
    const size_t d = std::min(EditDistance(word, c), EditDistance(lower, AsciiLower(c)));
    // A typo changes about one character in four; short names tolerate one edit.
    const size_t limit = std::max<size_t>(1, std::min(word.size(), c.size()) / 4);
    if (d <= limit && d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& known) {
  std::vector<std::string_view> views(known.begin(), known.end());
  if (auto close = ClosestMatch(word, views)) return fmt::format(" (did you mean '{}'?)", *close);
  return "";
}

}  // namespace tether
