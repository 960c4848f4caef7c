#include "engine/coerce.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/ascii.h"
#include "core/temporal.h"
#include "core/utf8.h"

namespace tether {
namespace {

bool ParseInt(const std::string& s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

bool ParseDouble(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && !std::isspace(static_cast<unsigned char>(s[0]));
}

bool IsNumeric(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kInt:
    case ValueKind::kReal:
    case ValueKind::kDecimal:
    case ValueKind::kBool:
      return true;
    default:
      return false;
  }
}

// "1.25e-3" -> "0.00125", textually (no double on the way); other text is returned unchanged.
std::string ShiftExponent(const std::string& s) {
  size_t e = s.find_first_of("eE");
  if (e == std::string::npos) return s;
  int64_t exponent = 0;
  std::string exp_text = s.substr(e + 1);
  if (!exp_text.empty() && exp_text[0] == '+') exp_text.erase(0, 1);
  if (!ParseInt(exp_text, &exponent) || exponent > 1000 || exponent < -1000) return s;
  std::string mantissa = s.substr(0, e);
  bool neg = !mantissa.empty() && (mantissa[0] == '-' || mantissa[0] == '+');
  std::string sign = !mantissa.empty() && mantissa[0] == '-' ? "-" : "";
  if (neg) mantissa.erase(0, 1);
  size_t dot = mantissa.find('.');
  std::string digits = mantissa;
  int64_t point = static_cast<int64_t>(mantissa.size());
  if (dot != std::string::npos) {
    digits = mantissa.substr(0, dot) + mantissa.substr(dot + 1);
    point = static_cast<int64_t>(dot);
  }
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return s;
  point += exponent;
  if (point <= 0) return sign + "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  if (point >= static_cast<int64_t>(digits.size())) {
    return sign + digits + std::string(static_cast<size_t>(point) - digits.size(), '0');
  }
  return sign + digits.substr(0, static_cast<size_t>(point)) + "." +
         digits.substr(static_cast<size_t>(point));
}

// Canonical decimal text: plain notation, no leading '+', no trailing fractional zeros,
// "-0" -> "0".
std::string CanonicalDecimal(std::string s) {
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  s = ShiftExponent(s);
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  bool neg = !s.empty() && s[0] == '-';
  size_t digits = neg ? 1 : 0;
  while (digits + 1 < s.size() && s[digits] == '0' && s[digits + 1] != '.') s.erase(digits, 1);
  if (s == "-0" || s.empty()) s = "0";
  return s;
}

std::string NumericText(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kInt:
    case ValueKind::kBool:
      return std::to_string(v.as_int());
    case ValueKind::kReal:
      return CanonicalDecimal(v.ToText());
    default:
      return CanonicalDecimal(v.as_string());
  }
}

// Digits before and after the point of a canonical decimal ("-12.5" -> 2, 1).
void CountDigits(const std::string& canonical, int* integer_digits, int* fraction_digits) {
  size_t start = !canonical.empty() && canonical[0] == '-' ? 1 : 0;
  size_t dot = canonical.find('.');
  size_t int_end = dot == std::string::npos ? canonical.size() : dot;
  *integer_digits = static_cast<int>(int_end - start);
  if (*integer_digits == 1 && canonical[start] == '0') *integer_digits = 0;
  *fraction_digits = dot == std::string::npos ? 0 : static_cast<int>(canonical.size() - dot - 1);
}

bool IsPlainDecimal(const std::string& s) {
  size_t i = s.size() > 0 && s[0] == '-' ? 1 : 0;
  bool digits = false, dot = false;
  for (; i < s.size(); ++i) {
    if (s[i] >= '0' && s[i] <= '9') {
      digits = true;
    } else if (s[i] == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digits;
}

std::optional<std::string> CanonicalUuid(const std::string& s) {
  if (s.size() == 38 && s.front() == '{' && s.back() == '}') return CanonicalUuid(s.substr(1, 36));
  std::string hex;
  for (char ch : s) {
    if (ch == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(ch))) return std::nullopt;
    hex += ch;
  }
  hex = AsciiLower(hex);
  if (hex.size() != 32) return std::nullopt;
  if (s.size() != 32 &&
      (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')) {
    return std::nullopt;
  }
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

// The canonical text of a temporal value for a column of class `t`, or nullopt.
std::optional<std::string> CanonicalTemporal(TypeClass t, const std::string& s) {
  switch (t) {
    case TypeClass::kDate:
      return CanonicalDate(s);
    case TypeClass::kTime:
      return CanonicalTime(s);
    case TypeClass::kTimestamp:
      return CanonicalTimestamp(s, /*with_zone=*/false);
    case TypeClass::kTimestampTz:
      return CanonicalTimestamp(s, /*with_zone=*/true);
    default:
      return std::nullopt;
  }
}

bool IsTemporal(TypeClass t) {
  return t == TypeClass::kDate || t == TypeClass::kTime || t == TypeClass::kTimestamp ||
         t == TypeClass::kTimestampTz;
}

Status Invalid(const ColumnInfo& c, const Value& v, std::string_view why) {
  // Cut on a character boundary, bytes that are not UTF-8 escaped: the message is stored and
  // printed, and must be valid UTF-8 itself.
  constexpr size_t kShown = 40;
  const bool textual = v.kind() == ValueKind::kText || v.kind() == ValueKind::kDecimal;
  const std::string shown = Utf8Excerpt(textual ? v.as_string() : v.ToText(), kShown);
  return Status::InvalidRecord(
      fmt::format("column {}: value '{}' {} ({})", c.name, shown, why,
                  c.declared_type.empty() ? std::string(TypeClassName(c.type)) : c.declared_type));
}

// Text without trailing spaces: a char(n) value without its padding.
std::string_view WithoutPadding(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Whether a double holds `i` exactly (every integer up to 2^53 does; larger ones only some).
bool DoubleHoldsInt(int64_t i) {
  constexpr int64_t kExact = int64_t{1} << 53;
  if (i >= -kExact && i <= kExact) return true;
  const double d = static_cast<double>(i);
  return d < 9223372036854775808.0 && static_cast<int64_t>(d) == i;  // 2^63 is past int64
}

// Value::ToText of a double: the shortest text that reads back the same double.
std::string RealText(double d) { return Value::Real(d).ToText(); }

// OK when the column stores `d` so that it reads back equal: a NaN or an infinity where the
// engine has them, and for a 4-byte float column only doubles whose float reads back as the
// same number (connectors read a float as its shortest text: 0.1f reads as 0.1).
Status CheckReal(double d, const ColumnInfo& c, const Value& v) {
  if (std::isnan(d)) {
    return c.holds_nan ? Status::OK() : Invalid(c, v, "is NaN, which the target cannot store");
  }
  if (std::isinf(d)) {
    return c.holds_infinity ? Status::OK()
                            : Invalid(c, v, "is infinite, which the target cannot store");
  }
  if (!c.precision || *c.precision >= 53) return Status::OK();
  bool exact = std::fabs(d) <= std::numeric_limits<float>::max();
  if (exact) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<float>(d));
    double back = 0;
    exact = ec == std::errc() && std::from_chars(buf, end, back).ec == std::errc() && back == d;
  }
  if (exact) return Status::OK();
  return Invalid(c, v, "has more digits than the target's 4-byte float holds exactly");
}

}  // namespace

Status CheckUtf8(const Value& v, const ColumnInfo& c) {
  if (v.kind() != ValueKind::kText) return Status::OK();
  const size_t at = InvalidUtf8At(v.as_string());
  if (at == std::string_view::npos) return Status::OK();
  return Invalid(c, v,
                 fmt::format("is not valid UTF-8 (byte {} is 0x{:02X})", at + 1,
                             static_cast<unsigned char>(v.as_string()[at])));
}

namespace {

// One function per type class: `v` is not NULL, and its text is UTF-8 unless the column is a
// blob.

Result<Value> ToAny(const Value& v, const ColumnInfo& c) {
  // Values are kept as they are, but a NaN would still become SQLite's NULL.
  if (v.kind() == ValueKind::kReal) TETHER_RETURN_IF_ERROR(CheckReal(v.as_real(), c, v));
  return v;
}

Result<Value> ToInteger(const Value& v, const ColumnInfo& c) {
  switch (v.kind()) {
    case ValueKind::kInt:
      return v;
    case ValueKind::kBool:
      return Value::Int(v.as_int());
    case ValueKind::kReal:
      if (std::trunc(v.as_real()) == v.as_real() && std::fabs(v.as_real()) < 9.2e18) {
        return Value::Int(static_cast<int64_t>(v.as_real()));
      }
      return Invalid(c, v, "is not an integer");
    case ValueKind::kText:
    case ValueKind::kDecimal: {
      int64_t i = 0;
      if (ParseInt(v.as_string(), &i)) return Value::Int(i);
      double d = 0;
      if (ParseDouble(v.as_string(), &d) && std::trunc(d) == d && std::fabs(d) < 9.2e18) {
        return Value::Int(static_cast<int64_t>(d));
      }
      return Invalid(c, v, "is not an integer");
    }
    default:
      return Invalid(c, v, "is not an integer");
  }
}

Result<Value> ToReal(const Value& v, const ColumnInfo& c) {
  switch (v.kind()) {
    case ValueKind::kInt: {
      // 2^53 + 1 would be stored as 2^53: written, then "updated" on every run.
      if (!DoubleHoldsInt(v.as_int())) {
        return Invalid(c, v, "has more digits than a double holds exactly");
      }
      TETHER_RETURN_IF_ERROR(CheckReal(static_cast<double>(v.as_int()), c, v));
      return v;
    }
    case ValueKind::kReal:
      TETHER_RETURN_IF_ERROR(CheckReal(v.as_real(), c, v));
      return v;
    case ValueKind::kBool:
      return Value::Int(v.as_int());
    case ValueKind::kText:
    case ValueKind::kDecimal: {
      double d = 0;
      if (!ParseDouble(v.as_string(), &d)) return Invalid(c, v, "is not a number");
      // The number the text spells, not the nearest double: 0.1 is, 0.1000000000000000001
      // is not (it would be stored as 0.1, and differ from its source forever).
      if (std::isfinite(d) && CanonicalDecimal(RealText(d)) != CanonicalDecimal(v.as_string())) {
        return Invalid(c, v, "has more digits than a double holds exactly");
      }
      TETHER_RETURN_IF_ERROR(CheckReal(d, c, v));
      return Value::Real(d);
    }
    default:
      return Invalid(c, v, "is not a number");
  }
}

// The canonical decimal text of a number value, or why it is none.
Result<std::string> DecimalText(const Value& v, const ColumnInfo& c) {
  switch (v.kind()) {
    case ValueKind::kInt:
    case ValueKind::kBool:
      return std::to_string(v.as_int());
    case ValueKind::kReal:
      if (!std::isfinite(v.as_real())) return Invalid(c, v, "is not a finite number");
      return CanonicalDecimal(v.ToText());
    case ValueKind::kText:
    case ValueKind::kDecimal: {
      double d = 0;
      if (!ParseDouble(v.as_string(), &d)) return Invalid(c, v, "is not a number");
      return CanonicalDecimal(v.as_string());
    }
    default:
      return Invalid(c, v, "is not a number");
  }
}

// The significant digits of a canonical decimal as a target that keeps a limited number of
// them exactly counts them (SQLite's REAL-backed NUMERIC).
int SignificantDigits(const std::string& text) {
  std::string digits;
  for (char ch : text) {
    if (ch >= '0' && ch <= '9') digits += ch;
  }
  size_t first = digits.find_first_not_of('0');
  size_t last = digits.find_last_not_of('0');
  int significant = first == std::string::npos ? 0 : static_cast<int>(last - first + 1);
  // Trailing zeros of a whole number count: 1e20 is not an integer SQLite can hold.
  if (text.find('.') == std::string::npos && first != std::string::npos) {
    significant = static_cast<int>(digits.size() - first);
    if (significant <= 18) significant = 0;  // fits an int64: stored exactly
  }
  return significant;
}

Result<Value> ToDecimal(const Value& v, const ColumnInfo& c) {
  TETHER_ASSIGN_OR_RETURN(std::string text, DecimalText(v, c));
  if (!IsPlainDecimal(text)) return Invalid(c, v, "is not an exact decimal number");
  int int_digits = 0, frac_digits = 0;
  CountDigits(text, &int_digits, &frac_digits);
  if (c.scale && frac_digits > *c.scale) {
    return Invalid(
        c, v,
        fmt::format("has {} digits after the point; the column keeps {}", frac_digits, *c.scale));
  }
  if (c.precision && int_digits > *c.precision - c.scale.value_or(0)) {
    return Invalid(c, v,
                   fmt::format("has {} digits before the point; the column holds {}", int_digits,
                               *c.precision - c.scale.value_or(0)));
  }
  if (v.kind() == ValueKind::kInt) return v;
  if (c.significant_digits) {
    const int significant = SignificantDigits(text);
    if (significant > *c.significant_digits) {
      return Invalid(c, v,
                     fmt::format("has {} significant digits; the target keeps {} exactly",
                                 significant, *c.significant_digits));
    }
  }
  return Value::Decimal(text);
}

Result<Value> ToBoolean(const Value& v, const ColumnInfo& c) {
  if (v.kind() == ValueKind::kBool) return v;
  if (v.kind() == ValueKind::kInt && (v.as_int() == 0 || v.as_int() == 1)) {
    return Value::Bool(v.as_int() == 1);
  }
  if (v.kind() == ValueKind::kText) {
    const std::string& s = v.as_string();
    if (s == "1" || s == "true" || s == "t" || s == "TRUE") return Value::Bool(true);
    if (s == "0" || s == "false" || s == "f" || s == "FALSE") return Value::Bool(false);
  }
  return Invalid(c, v, "is not a boolean");
}

// kDate, kTime, kTimestamp and kTimestampTz.
Result<Value> ToTemporal(const Value& v, const ColumnInfo& c) {
  if (v.kind() != ValueKind::kText) {
    return Invalid(c, v, fmt::format("is not a {}", TypeClassName(c.type)));
  }
  std::optional<std::string> canonical = CanonicalTemporal(c.type, v.as_string());
  if (!canonical) return Invalid(c, v, fmt::format("is not a valid {}", TypeClassName(c.type)));
  if (c.type != TypeClass::kDate && c.scale && FractionDigits(*canonical) > *c.scale) {
    return Invalid(c, v,
                   fmt::format("has {} digits of fractional seconds; the column keeps {}",
                               FractionDigits(*canonical), *c.scale));
  }
  return Value::Text(std::move(*canonical));
}

Result<Value> ToJson(const Value& v, const ColumnInfo& c) {
  if (v.kind() != ValueKind::kText) return Invalid(c, v, "is not JSON text");
  if (!nlohmann::json::accept(v.as_string())) return Invalid(c, v, "is not valid JSON");
  return v;
}

Result<Value> ToUuid(const Value& v, const ColumnInfo& c) {
  if (v.kind() != ValueKind::kText) return Invalid(c, v, "is not a UUID");
  std::optional<std::string> canonical = CanonicalUuid(v.as_string());
  if (!canonical) return Invalid(c, v, "is not a UUID");
  return Value::Text(std::move(*canonical));
}

Result<Value> ToText(const Value& v, const ColumnInfo& c) {
  Value t = v;
  if (v.kind() == ValueKind::kBlob) return Invalid(c, v, "is binary, not text");
  if (v.kind() != ValueKind::kText) t = Value::Text(v.ToText());
  // char(n) pads with spaces: trailing ones are not data (and do not count against n), so
  // the value is written as the target reads it back.
  if (c.blank_padded && t.as_string().ends_with(' ')) {
    t = Value::Text(std::string(WithoutPadding(t.as_string())));
  }
  if (c.max_length && static_cast<int64_t>(Utf8Length(t.as_string())) > *c.max_length) {
    return Invalid(c, v,
                   fmt::format("is {} characters, longer than the target's limit of {}",
                               Utf8Length(t.as_string()), *c.max_length));
  }
  return t;
}

}  // namespace

Result<Value> CoerceToColumn(const Value& v, const ColumnInfo& c) {
  if (v.is_null()) {
    // A column's DEFAULT does not help: the NULL is written explicitly, and refused.
    if (c.not_null && !c.auto_increment) {
      return Status::InvalidRecord(fmt::format("column {}: NULL in a NOT NULL column", c.name));
    }
    return v;
  }
  // Text is UTF-8 (core/value.h). SQLite keeps any bytes as text: such a value fails its record
  // here rather than the target's statement (or being copied into another SQLite file as is).
  if (c.type != TypeClass::kBlob) TETHER_RETURN_IF_ERROR(CheckUtf8(v, c));
  switch (c.type) {
    case TypeClass::kAny:
      return ToAny(v, c);
    case TypeClass::kBlob:
      return v;
    case TypeClass::kInteger:
      return ToInteger(v, c);
    case TypeClass::kReal:
      return ToReal(v, c);
    case TypeClass::kDecimal:
      return ToDecimal(v, c);
    case TypeClass::kBoolean:
      return ToBoolean(v, c);
    case TypeClass::kDate:
    case TypeClass::kTime:
    case TypeClass::kTimestamp:
    case TypeClass::kTimestampTz:
      return ToTemporal(v, c);
    case TypeClass::kJson:
      return ToJson(v, c);
    case TypeClass::kUuid:
      return ToUuid(v, c);
    case TypeClass::kText:
      return ToText(v, c);
  }
  return v;
}

Status CoerceInPlace(Value* v, const ColumnInfo& c) {
  if (!v->is_null()) {
    const ValueKind k = v->kind();
    switch (c.type) {
      case TypeClass::kAny:
        if (k == ValueKind::kText ? IsUtf8(v->as_string())
                                  : k != ValueKind::kReal || std::isfinite(v->as_real())) {
          return Status::OK();
        }
        break;
      case TypeClass::kBlob:
        return Status::OK();
      case TypeClass::kInteger:
        if (k == ValueKind::kInt) return Status::OK();
        break;
      case TypeClass::kReal:
        // A finite double into a double column; CoerceToColumn checks the rest.
        if (k == ValueKind::kReal && std::isfinite(v->as_real()) && !c.precision) {
          return Status::OK();
        }
        break;
      case TypeClass::kBoolean:
        if (k == ValueKind::kBool) return Status::OK();
        break;
      case TypeClass::kText:
        if (k == ValueKind::kText && IsUtf8(v->as_string()) &&
            !(c.blank_padded && v->as_string().ends_with(' ')) &&
            (!c.max_length || static_cast<int64_t>(Utf8Length(v->as_string())) <= *c.max_length)) {
          return Status::OK();
        }
        break;  // CoerceToColumn converts it, or says why it does not fit
      default:
        break;
    }
  }
  TETHER_ASSIGN_OR_RETURN(Value out, CoerceToColumn(*v, c));
  *v = std::move(out);
  return Status::OK();
}

Value DisplayValue(const Value& v, const ColumnInfo& c) {
  if (v.is_null()) return v;
  Result<Value> converted = CoerceToColumn(v, c);
  if (!converted.ok()) return v;
  if (c.type != TypeClass::kDecimal || !IsNumeric(*converted)) return std::move(*converted);
  std::string text = NumericText(*converted);
  if (c.scale && *c.scale > 0 && IsPlainDecimal(text)) {
    int int_digits = 0, frac_digits = 0;
    CountDigits(text, &int_digits, &frac_digits);
    if (frac_digits == 0) text += '.';
    text.append(static_cast<size_t>(std::max(0, *c.scale - frac_digits)), '0');
  }
  return Value::Decimal(std::move(text));
}

bool SameValue(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (IsNumeric(a) && IsNumeric(b)) {
    if (a.kind() == ValueKind::kInt && b.kind() == ValueKind::kInt) return a.as_int() == b.as_int();
    return NumericText(a) == NumericText(b);
  }
  if (IsNumeric(a) != IsNumeric(b)) {
    // A number read back from a text column, or text written to a numeric one.
    const Value& num = IsNumeric(a) ? a : b;
    const Value& txt = IsNumeric(a) ? b : a;
    if (txt.kind() != ValueKind::kText) return false;
    double d = 0;
    return ParseDouble(txt.as_string(), &d) &&
           NumericText(num) == CanonicalDecimal(txt.as_string());
  }
  return a.as_string() == b.as_string();
}

bool SameValueIn(const Value& a, const Value& b, const ColumnInfo& column) {
  if (a.kind() == ValueKind::kText && b.kind() == ValueKind::kText &&
      a.as_string() != b.as_string()) {
    if (column.blank_padded) {
      return WithoutPadding(a.as_string()) == WithoutPadding(b.as_string());
    }
    if (IsTemporal(column.type)) {
      std::optional<std::string> ca = CanonicalTemporal(column.type, a.as_string());
      std::optional<std::string> cb = CanonicalTemporal(column.type, b.as_string());
      return ca && cb && *ca == *cb;
    }
    if (column.type == TypeClass::kJson) {
      nlohmann::json ja = nlohmann::json::parse(a.as_string(), nullptr, /*allow_exceptions=*/false);
      nlohmann::json jb = nlohmann::json::parse(b.as_string(), nullptr, /*allow_exceptions=*/false);
      return !ja.is_discarded() && !jb.is_discarded() && ja == jb;
    }
    if (column.type == TypeClass::kUuid) {
      std::optional<std::string> ca = CanonicalUuid(a.as_string());
      return ca && ca == CanonicalUuid(b.as_string());
    }
  }
  return SameValue(a, b);
}

CompiledRule::CompiledRule(const ValidationRule& rule) : rule_(rule) {
  if (rule.pattern) pattern_ = Regex::Compile(*rule.pattern);
}

std::string CompiledRule::Check(const Value& v) const {
  if (v.IsEmpty()) return rule_.required ? "is required" : "";
  std::string text = v.ToText();
  if (rule_.type) {
    const std::string& t = *rule_.type;
    double d = 0;
    int64_t i = 0;
    bool ok = true;
    if (t == "integer") {
      ok = v.kind() == ValueKind::kInt || (v.kind() != ValueKind::kBlob && ParseInt(text, &i));
    } else if (t == "number") {
      ok = IsNumeric(v) || (v.kind() == ValueKind::kText && ParseDouble(text, &d));
    } else if (t == "boolean") {
      ok = v.kind() == ValueKind::kBool ||
           (v.kind() == ValueKind::kInt && (v.as_int() == 0 || v.as_int() == 1)) ||
           text == "true" || text == "false";
    } else if (t == "date") {
      static const Regex kDate = Regex::Trusted(R"(\d{4}-\d{2}-\d{2})");
      ok = kDate.FullMatch(text);
    } else if (t == "datetime") {
      static const Regex kDateTime = Regex::Trusted(
          R"(\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?)");
      ok = kDateTime.FullMatch(text);
    } else if (t == "email") {
      static const Regex kEmail = Regex::Trusted(R"([^@\s]+@[^@\s]+\.[^@\s]+)");
      ok = kEmail.FullMatch(text);
    } else if (t == "text") {
      ok = v.kind() == ValueKind::kText;
    }
    if (!ok) return fmt::format("is not a valid {}", t);
  }
  if (rule_.min_length || rule_.max_length) {
    int64_t n = static_cast<int64_t>(Utf8Length(text));
    if (rule_.min_length && n < *rule_.min_length) {
      return fmt::format("is shorter than {} characters", *rule_.min_length);
    }
    if (rule_.max_length && n > *rule_.max_length) {
      return fmt::format("is longer than {} characters", *rule_.max_length);
    }
  }
  if (rule_.pattern) {
    if (!pattern_.ok())
      return fmt::format("has a pattern that cannot be used: {}", pattern_.status().message());
    if (!pattern_->FullMatch(text)) return fmt::format("does not match {}", *rule_.pattern);
  }
  if (rule_.min || rule_.max) {
    double d = 0;
    if (v.kind() == ValueKind::kInt) {
      d = static_cast<double>(v.as_int());
    } else if (v.kind() == ValueKind::kReal) {
      d = v.as_real();
    } else if (!ParseDouble(text, &d)) {
      return "is not a number";
    }
    if (rule_.min && d < *rule_.min) return fmt::format("is below the minimum {}", *rule_.min);
    if (rule_.max && d > *rule_.max) return fmt::format("is above the maximum {}", *rule_.max);
  }
  return "";
}

}  // namespace tether
