#include "core/stored.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/utf8.h"

namespace tether {

std::string StoredText(const Value& v) { return v.is_null() ? std::string() : v.ToText(); }

Result<int64_t> StoredInt(std::string_view text, std::string_view what) {
  int64_t out = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, out);
  // A decimal's zero fraction ("42.000", as MySQL sums come back) still reads.
  if (ec == std::errc() && stop != end && *stop == '.') {
    stop = std::find_if(stop + 1, end, [](char c) { return c != '0'; });
  }
  if (ec != std::errc() || stop != end || text.empty()) {
    return Status::Internal(
        fmt::format("{} holds '{}', not a whole number", what, Utf8Excerpt(text, 40)));
  }
  return out;
}

Result<int64_t> StoredInt(const Value& v, std::string_view what) {
  switch (v.kind()) {
    case ValueKind::kNull:
      return 0;
    case ValueKind::kInt:
    case ValueKind::kBool:
      return v.as_int();
    default:
      return StoredInt(std::string_view(v.ToText()), what);
  }
}

int64_t StoredRow::Int(size_t i) {
  Result<int64_t> n = StoredInt(row_[i], fmt::format("{}.{}", table_, columns_[i]));
  if (n.ok()) return *n;
  if (status_.ok()) status_ = n.status();
  return 0;
}

}  // namespace tether
