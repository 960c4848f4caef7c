#include "connectors/key_range.h"

#include <utility>

namespace tether {

std::string KeyBoundsProblem(const std::vector<std::string>& key_columns,
                             const std::optional<Row>& after, const std::optional<Row>& upto,
                             std::string_view after_name, std::string_view upto_name) {
  for (const auto& [bound, name] : {std::pair{&after, after_name}, std::pair{&upto, upto_name}}) {
    if (*bound && (key_columns.empty() || (*bound)->size() != key_columns.size())) {
      return std::string(name) + " needs one value per key column";
    }
  }
  return "";
}

std::optional<uint64_t> DecimalModulo64(std::string_view text) {
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;  // unsigned arithmetic wraps: exactly the value modulo 2^64
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return negative ? 0 - value : value;
}

}  // namespace tether
