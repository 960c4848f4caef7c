#include "core/normalize.h"

#include "core/ascii.h"

namespace tether {

bool AnyNormalized(const std::vector<Normalization>& how) {
  for (const Normalization& n : how) {
    if (n.any()) return true;
  }
  return false;
}

std::string NormalizationName(const Normalization& n) {
  if (n.lower && n.trim) return "lower, trim";
  return n.lower ? "lower" : n.trim ? "trim" : "";
}

std::string NormalizationSuffix(const Normalization& n) {
  return std::string(n.lower ? "_lower" : "") + (n.trim ? "_trim" : "");
}

Value Normalized(const Value& v, const Normalization& n) {
  if (v.kind() != ValueKind::kText || !n.any()) return v;
  std::string_view s = v.as_string();
  if (n.trim) {
    const size_t first = s.find_first_not_of(' ');
    s = first == std::string_view::npos ? std::string_view() : s.substr(first);
    s = s.substr(0, s.find_last_not_of(' ') + 1);
  }
  return Value::Text(n.lower ? AsciiLower(s) : std::string(s));
}

Row Normalized(Row row, const std::vector<Normalization>& how) {
  for (size_t i = 0; i < row.size() && i < how.size(); ++i) row[i] = Normalized(row[i], how[i]);
  return row;
}

}  // namespace tether
