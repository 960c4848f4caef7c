// Value: one field of a record as it travels between connectors, and Row, a tuple of them.
// Values are plain data, copyable and safe to move between threads.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace tether {

enum class ValueKind : uint8_t {
  kNull = 0,
  kInt,      // int64
  kReal,     // double
  kText,     // UTF-8 text; empty text is not NULL
  kBlob,     // bytes
  kDecimal,  // exact decimal kept as its canonical text ("12.50" stays "12.50")
  kBool,
};

std::string_view ValueKindName(ValueKind kind);

class Value {
 public:
  Value() = default;  // NULL
  static Value Null() { return Value(); }
  static Value Int(int64_t v);
  static Value Real(double v);
  static Value Text(std::string v);
  static Value Blob(std::string bytes);
  static Value Decimal(std::string canonical);
  static Value Bool(bool v);

  ValueKind kind() const { return kind_; }
  bool is_null() const { return kind_ == ValueKind::kNull; }
  int64_t as_int() const { return i_; }  // kInt and kBool
  double as_real() const { return d_; }
  const std::string& as_string() const { return s_; }  // kText, kBlob, kDecimal
  bool as_bool() const { return i_ != 0; }

  // True for NULL and for empty text: "empty" in the sense of on_duplicate=merge.
  bool IsEmpty() const { return is_null() || (kind_ == ValueKind::kText && s_.empty()); }

  // Text form used in keys, messages and plans: 42, 12.5, abc; blobs as x'0a1b'; NULL as NULL.
  std::string ToText() const;

  // Exact equality: same kind and same payload (1 and 1.0 differ; NULL equals NULL).
  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  ValueKind kind_ = ValueKind::kNull;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
};

using Row = std::vector<Value>;

// JSON form, used by before-images, plans and the API: null, numbers, strings,
// {"$blob":"hex"} and {"$decimal":"12.50"} where JSON would lose the kind. Text that is not
// UTF-8 has its stray bytes written \xHH (EscapeInvalidUtf8): JSON cannot hold them.
nlohmann::json ValueToJson(const Value& v);
Value ValueFromJson(const nlohmann::json& j);

// The text form of a record key as stored in links and shown to users: the value's text for a
// single column (42, SKU-1), a JSON array for a composite key ([5,"SKU-1"]).
std::string EncodeKey(const Row& key);
// EncodeKey of a one-column key, without building the Row.
std::string EncodeKey(const Value& single);
// Inverse of EncodeKey for `arity` columns; integers come back as kInt, strings as kText.
bool DecodeKey(std::string_view text, size_t arity, Row* out);

// The value of a hexadecimal digit of either case, or -1.
int HexDigit(char c);

// Stable 64-bit hash of a row (kind-tagged, length-prefixed), as 16 hex digits.
std::string HashRow(const Row& row);
// Stable 64-bit hash of text (XXH3: the same in every process and tether version).
uint64_t HashText(std::string_view text);

}  // namespace tether
