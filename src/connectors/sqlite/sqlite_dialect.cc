#include "connectors/sqlite/sqlite_dialect.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tether::sqlite {

std::string QuoteIdent(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string QuoteList(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += QuoteIdent(names[i]);
  }
  return out;
}

std::string Placeholders(size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) out += i ? ",?" : "?";
  return out;
}

namespace {

std::optional<int64_t> ParenthesizedLength(std::string_view type) {
  size_t open = type.find('(');
  if (open == std::string_view::npos) return std::nullopt;
  size_t start = open + 1;
  while (start < type.size() && type[start] == ' ') ++start;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(type.data() + start, type.data() + type.size(), n);
  if (ec != std::errc() || n <= 0) return std::nullopt;
  return n;
}

}  // namespace

TypeClass TypeClassFromDeclared(std::string_view declared, std::optional<int64_t>* max_length) {
  *max_length = std::nullopt;
  std::string upper(declared);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  auto has = [&upper](std::string_view part) { return upper.find(part) != std::string::npos; };

  if (upper.find_first_not_of(" \t\n\r") == std::string::npos) return TypeClass::kAny;
  if (has("INT")) return TypeClass::kInteger;
  if (has("CHAR") || has("CLOB") || has("TEXT")) {
    *max_length = ParenthesizedLength(upper);
    return TypeClass::kText;
  }
  if (has("BLOB")) return TypeClass::kBlob;
  if (has("REAL") || has("FLOA") || has("DOUB")) return TypeClass::kReal;
  if (has("BOOL")) return TypeClass::kBoolean;
  if (has("DATETIME") || has("TIMESTAMP")) return TypeClass::kTimestamp;
  if (has("DATE")) return TypeClass::kDate;
  if (has("DECIMAL") || has("NUMERIC")) return TypeClass::kDecimal;
  return TypeClass::kAny;
}

std::string_view DeclaredTypeFor(TypeClass type) {
  switch (type) {
    case TypeClass::kAny:
      return "";
    case TypeClass::kInteger:
      return "INTEGER";
    case TypeClass::kReal:
      return "REAL";
    case TypeClass::kDecimal:
      return "NUMERIC";
    case TypeClass::kText:
      return "TEXT";
    case TypeClass::kBlob:
      return "BLOB";
    case TypeClass::kBoolean:
      return "BOOLEAN";
    case TypeClass::kDate:
      return "DATE";
    case TypeClass::kTimestamp:
      return "TIMESTAMP";
  }
  return "";
}

}  // namespace tether::sqlite
