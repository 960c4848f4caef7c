// Small text helpers shared by the config module's parsers: trimming, identifiers, numbers and
// the edit distance behind "did you mean" suggestions.
#include "config/text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "core/temporal.h"

namespace tether::config_internal {

std::string_view Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !IsIdentifierStart(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(), IsIdentifierChar);
}

namespace {

size_t CountDigits(std::string_view s, size_t i) {
  size_t n = 0;
  while (i + n < s.size() && s[i + n] >= '0' && s[i + n] <= '9') ++n;
  return n;
}

}  // namespace

std::optional<Value> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
  const size_t int_digits = CountDigits(s, i);
  i += int_digits;
  if (i == s.size()) {
    if (int_digits == 0) return std::nullopt;
    // from_chars accepts '-' but not '+'.
    std::string_view digits = s[0] == '+' ? s.substr(1) : s;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return Value::Int(v);
  }
  size_t frac_digits = 0;
  if (s[i] == '.') {
    ++i;
    frac_digits = CountDigits(s, i);
    i += frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const size_t exp_digits = CountDigits(s, i);
    if (exp_digits == 0) return std::nullopt;
    i += exp_digits;
  }
  if (i != s.size()) return std::nullopt;
  std::string_view digits = s[0] == '+' ? s.substr(1) : s;
  double d = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return Value::Real(d);
}

std::optional<int64_t> ParseDurationWithDaysMs(std::string_view text) {
  if (text.size() >= 2 && text.back() == 'd' && text[text.size() - 2] >= '0' &&
      text[text.size() - 2] <= '9') {
    // Seconds' digit rules apply; at most 9 digits, so days in milliseconds fit int64.
    std::optional<int64_t> seconds = ParseDurationMs(text.substr(0, text.size() - 1));
    if (!seconds) return std::nullopt;
    return *seconds / 1000 * 86'400'000;
  }
  return ParseDurationMs(text);
}

std::string JoinNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace tether::config_internal
