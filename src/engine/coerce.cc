#include "engine/coerce.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

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

// Canonical decimal text: no leading '+', no trailing fractional zeros, "-0" -> "0".
std::string CanonicalDecimal(std::string s) {
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  if (s.find_first_of("eE") != std::string::npos) {
    double d = 0;
    if (ParseDouble(s, &d)) s = Value::Real(d).ToText();
    if (s.find_first_of("eE") != std::string::npos) return s;
  }
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

Status Invalid(const ColumnInfo& c, const Value& v, std::string_view why) {
  std::string shown = v.ToText();
  if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
  return Status::InvalidRecord(
      fmt::format("column {}: value '{}' {} ({})", c.name, shown, why,
                  c.declared_type.empty() ? std::string(TypeClassName(c.type)) : c.declared_type));
}

}  // namespace

size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

Result<Value> CoerceToColumn(const Value& v, const ColumnInfo& c) {
  if (v.is_null()) {
    // A column's DEFAULT does not help: the NULL is written explicitly, and refused.
    if (c.not_null && !c.auto_increment) {
      return Status::InvalidRecord(fmt::format("column {}: NULL in a NOT NULL column", c.name));
    }
    return v;
  }
  switch (c.type) {
    case TypeClass::kAny:
    case TypeClass::kBlob:
      return v;
    case TypeClass::kInteger: {
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
    case TypeClass::kReal:
    case TypeClass::kDecimal: {
      switch (v.kind()) {
        case ValueKind::kInt:
        case ValueKind::kReal:
        case ValueKind::kDecimal:
          return v;
        case ValueKind::kBool:
          return Value::Int(v.as_int());
        case ValueKind::kText: {
          double d = 0;
          if (!ParseDouble(v.as_string(), &d)) return Invalid(c, v, "is not a number");
          return c.type == TypeClass::kReal ? Value::Real(d) : Value::Decimal(v.as_string());
        }
        default:
          return Invalid(c, v, "is not a number");
      }
    }
    case TypeClass::kBoolean: {
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
    case TypeClass::kText:
    case TypeClass::kDate:
    case TypeClass::kTime:
    case TypeClass::kTimestamp:
    case TypeClass::kTimestampTz:
    case TypeClass::kJson:
    case TypeClass::kUuid: {
      Value t = v;
      if (v.kind() == ValueKind::kBlob) return Invalid(c, v, "is binary, not text");
      if (v.kind() != ValueKind::kText) t = Value::Text(v.ToText());
      if (c.max_length && static_cast<int64_t>(Utf8Length(t.as_string())) > *c.max_length) {
        return Invalid(c, v,
                       fmt::format("is {} characters, longer than the target's limit of {}",
                                   Utf8Length(t.as_string()), *c.max_length));
      }
      return t;
    }
  }
  return v;
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

CompiledRule::CompiledRule(const ValidationRule& rule) : rule_(rule) {
  if (rule.pattern) pattern_.emplace(*rule.pattern, std::regex::ECMAScript);
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
      static const std::regex kDate(R"(\d{4}-\d{2}-\d{2})");
      ok = std::regex_match(text, kDate);
    } else if (t == "datetime") {
      static const std::regex kDateTime(
          R"(\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?)");
      ok = std::regex_match(text, kDateTime);
    } else if (t == "email") {
      static const std::regex kEmail(R"([^@\s]+@[^@\s]+\.[^@\s]+)");
      ok = std::regex_match(text, kEmail);
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
  if (pattern_ && !std::regex_match(text, *pattern_)) {
    return fmt::format("does not match {}", *rule_.pattern);
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
