#include "connectors/key_range.h"

#include <algorithm>
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

std::optional<uint64_t> SumModulo64(const Value& sum) {
  switch (sum.kind()) {
    case ValueKind::kNull:
      return 0;
    case ValueKind::kInt:
      return static_cast<uint64_t>(sum.as_int());
    case ValueKind::kDecimal:
    case ValueKind::kText:
      return DecimalModulo64(sum.as_string());
    default:
      return std::nullopt;
  }
}

std::string RangeRequestProblem(const ChecksumRequest& request) {
  if (request.key_columns.empty()) return "no key columns";
  return KeyBoundsProblem(request.key_columns, request.range.after, request.range.upto,
                          "the range's after", "the range's upto");
}

std::string KeyBucketsProblem(const ChecksumRequest& request, const KeyBuckets& buckets) {
  if (buckets.width < 1) return "a bucket needs a width of at least 1";
  if (buckets.last < buckets.origin) return "the buckets' last key is before their origin";
  return RangeRequestProblem(request);
}

Result<std::vector<BucketChecksum>> ReadBucketRows(const std::vector<Row>& rows,
                                                   const std::string& what) {
  std::vector<BucketChecksum> out;
  out.reserve(rows.size());
  for (const Row& r : rows) {
    std::optional<uint64_t> sum;
    if (r.size() == 5 && r[0].kind() == ValueKind::kInt && r[1].kind() == ValueKind::kInt &&
        r[3].kind() == ValueKind::kInt && r[4].kind() == ValueKind::kInt) {
      sum = SumModulo64(r[2]);
    }
    if (!sum) return Status::Internal(what + ": unexpected result of the bucket checksums");
    out.push_back({r[0].as_int(), {r[1].as_int(), *sum}, r[3].as_int(), r[4].as_int()});
  }
  std::sort(out.begin(), out.end(),
            [](const BucketChecksum& a, const BucketChecksum& b) { return a.bucket < b.bucket; });
  return out;
}

Result<std::optional<std::pair<int64_t, int64_t>>> ReadBoundsRow(const std::vector<Row>& rows,
                                                                 const std::string& what) {
  if (rows.size() == 1 && rows[0].size() == 2) {
    const Row& r = rows[0];
    if (r[0].is_null() && r[1].is_null()) return std::optional<std::pair<int64_t, int64_t>>();
    if (r[0].kind() == ValueKind::kInt && r[1].kind() == ValueKind::kInt) {
      return std::optional(std::pair{r[0].as_int(), r[1].as_int()});
    }
    // SQLite keeps what it is given: 'abc' in an INT column, which then sorts last (or first).
    for (const Value& bound : r) {
      if (bound.kind() != ValueKind::kInt) {
        return Status::InvalidArgument(what + ": the key '" + bound.ToText() +
                                       "' is not an integer (compare with --no-checksums)");
      }
    }
  }
  return Status::Internal(what + ": unexpected result of the key bounds");
}

}  // namespace tether
