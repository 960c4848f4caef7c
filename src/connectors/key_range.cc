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

std::string KeySplitsHead(const std::string& keys, const std::string& table) {
  // One window (lead() or count() over the partition would make MariaDB sort twice); an alias
  // unlikely to be a key column's name.
  return "SELECT " + keys + ", tether_split_rn FROM (SELECT " + keys +
         ", row_number() OVER (ORDER BY " + keys + ") AS tether_split_rn FROM " + table;
}

std::string KeySplitsTail(const std::string& every) {
  return ") AS s WHERE tether_split_rn % " + every + " <= 1 ORDER BY tether_split_rn";
}

std::vector<Row> CutsOf(std::vector<Row> numbered, size_t every) {
  std::vector<Row> out;
  for (size_t i = 0; i + 1 < numbered.size(); ++i) {
    const int64_t n = numbered[i].back().as_int();
    if (n % static_cast<int64_t>(every) != 0 || numbered[i + 1].back().as_int() != n + 1) continue;
    numbered[i].pop_back();
    out.push_back(std::move(numbered[i]));
  }
  return out;
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
