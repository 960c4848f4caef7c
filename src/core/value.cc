#include "core/value.h"

#include <xxhash.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/utf8.h"

namespace tether {
namespace {

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool HexDecode(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

std::string RealToText(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  (void)ec;
  return std::string(buf, end);
}

}  // namespace

std::string_view ValueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNull:
      return "null";
    case ValueKind::kInt:
      return "integer";
    case ValueKind::kReal:
      return "real";
    case ValueKind::kText:
      return "text";
    case ValueKind::kBlob:
      return "blob";
    case ValueKind::kDecimal:
      return "decimal";
    case ValueKind::kBool:
      return "boolean";
  }
  return "unknown";
}

Value Value::Int(int64_t v) {
  Value x;
  x.kind_ = ValueKind::kInt;
  x.i_ = v;
  return x;
}
Value Value::Real(double v) {
  Value x;
  x.kind_ = ValueKind::kReal;
  x.d_ = v;
  return x;
}
Value Value::Text(std::string v) {
  Value x;
  x.kind_ = ValueKind::kText;
  x.s_ = std::move(v);
  return x;
}
Value Value::Blob(std::string bytes) {
  Value x;
  x.kind_ = ValueKind::kBlob;
  x.s_ = std::move(bytes);
  return x;
}
Value Value::Decimal(std::string canonical) {
  Value x;
  x.kind_ = ValueKind::kDecimal;
  x.s_ = std::move(canonical);
  return x;
}
Value Value::Bool(bool v) {
  Value x;
  x.kind_ = ValueKind::kBool;
  x.i_ = v ? 1 : 0;
  return x;
}

std::string Value::ToText() const {
  switch (kind_) {
    case ValueKind::kNull:
      return "NULL";
    case ValueKind::kInt:
      return std::to_string(i_);
    case ValueKind::kReal:
      return RealToText(d_);
    case ValueKind::kText:
    case ValueKind::kDecimal:
      return s_;
    case ValueKind::kBlob:
      return "x'" + HexEncode(s_) + "'";
    case ValueKind::kBool:
      return i_ ? "true" : "false";
  }
  return "";
}

bool Value::operator==(const Value& o) const {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case ValueKind::kNull:
      return true;
    case ValueKind::kInt:
    case ValueKind::kBool:
      return i_ == o.i_;
    case ValueKind::kReal:
      return d_ == o.d_ || (std::isnan(d_) && std::isnan(o.d_));
    default:
      return s_ == o.s_;
  }
}

nlohmann::json ValueToJson(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNull:
      return nullptr;
    case ValueKind::kInt:
      return v.as_int();
    case ValueKind::kReal:
      if (!std::isfinite(v.as_real())) return {{"$real", RealToText(v.as_real())}};
      return v.as_real();
    case ValueKind::kText:
      // JSON text is UTF-8: bytes that are not (SQLite keeps any) are shown as \xHH.
      return EscapeInvalidUtf8(v.as_string());
    case ValueKind::kBlob:
      return {{"$blob", HexEncode(v.as_string())}};
    case ValueKind::kDecimal:
      return {{"$decimal", v.as_string()}};
    case ValueKind::kBool:
      return v.as_bool();
  }
  return nullptr;
}

Value ValueFromJson(const nlohmann::json& j) {
  if (j.is_null()) return Value::Null();
  if (j.is_boolean()) return Value::Bool(j.get<bool>());
  if (j.is_number_integer()) return Value::Int(j.get<int64_t>());
  if (j.is_number_unsigned()) return Value::Int(static_cast<int64_t>(j.get<uint64_t>()));
  if (j.is_number_float()) return Value::Real(j.get<double>());
  if (j.is_string()) return Value::Text(j.get<std::string>());
  if (j.is_object() && j.size() == 1) {
    if (j.contains("$blob")) {
      std::string bytes;
      if (HexDecode(j["$blob"].get<std::string>(), &bytes)) return Value::Blob(std::move(bytes));
    }
    if (j.contains("$decimal")) return Value::Decimal(j["$decimal"].get<std::string>());
    if (j.contains("$real"))
      return Value::Real(std::strtod(j["$real"].get<std::string>().c_str(), nullptr));
  }
  return Value::Text(j.dump());
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string EncodeKey(const Value& single) {
  if (single.kind() != ValueKind::kBlob) return single.ToText();
  return EncodeKey(Row{single});
}

std::string EncodeKey(const Row& key) {
  if (key.size() == 1) return EncodeKey(key[0]);
  nlohmann::json arr = nlohmann::json::array();
  for (const Value& v : key) arr.push_back(ValueToJson(v));
  return arr.dump();
}

bool DecodeKey(std::string_view text, size_t arity, Row* out) {
  out->clear();
  if (arity == 1) {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc() && ptr == text.data() + text.size() && !text.empty()) {
      out->push_back(Value::Int(n));
    } else {
      out->push_back(Value::Text(std::string(text)));
    }
    return true;
  }
  nlohmann::json arr = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!arr.is_array() || arr.size() != arity) return false;
  for (const auto& j : arr) out->push_back(ValueFromJson(j));
  return true;
}

std::string HashRow(const Row& row) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  for (const Value& v : row) {
    const uint8_t tag = static_cast<uint8_t>(v.kind());
    XXH3_64bits_update(state, &tag, 1);
    switch (v.kind()) {
      case ValueKind::kNull:
        break;
      case ValueKind::kInt:
      case ValueKind::kBool: {
        int64_t i = v.as_int();
        XXH3_64bits_update(state, &i, sizeof i);
        break;
      }
      case ValueKind::kReal: {
        double d = v.as_real();
        XXH3_64bits_update(state, &d, sizeof d);
        break;
      }
      default: {
        uint64_t n = v.as_string().size();
        XXH3_64bits_update(state, &n, sizeof n);
        XXH3_64bits_update(state, v.as_string().data(), n);
      }
    }
  }
  uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 16);
}

uint64_t HashText(std::string_view text) { return XXH3_64bits(text.data(), text.size()); }

}  // namespace tether
