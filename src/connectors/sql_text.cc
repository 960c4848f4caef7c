#include "connectors/sql_text.h"

#include <cstdint>

namespace tether {

std::string QuoteIdentifier(std::string_view name, char quote) {
  std::string out;
  out.reserve(name.size() + 2);
  out += quote;
  for (char c : name) {
    if (c == quote) out += quote;
    out += c;
  }
  out += quote;
  return out;
}

std::string QuoteIdentifiers(const std::vector<std::string>& names, char quote) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += QuoteIdentifier(names[i], quote);
  }
  return out;
}

std::string QuoteLiteral(std::string_view text, bool backslash_escapes) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  for (char c : text) {
    if (c == '\'' || (backslash_escapes && c == '\\')) out += c;
    out += c;
  }
  out += '\'';
  return out;
}

std::string ShortIdentifier(const std::string& name, size_t max_bytes) {
  if (name.size() <= max_bytes) return name;
  uint32_t hash = 2166136261u;
  for (unsigned char ch : name) hash = (hash ^ ch) * 16777619u;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string suffix = "_";
  for (int shift = 28; shift >= 0; shift -= 4) suffix += kHex[(hash >> shift) & 0xf];
  size_t keep = max_bytes - suffix.size();
  while (keep > 0 && (static_cast<unsigned char>(name[keep]) & 0xC0) == 0x80) --keep;  // UTF-8
  return name.substr(0, keep) + suffix;
}

std::vector<std::string> AddColumnStatements(
    const std::string& table, const std::vector<ColumnDef>& columns, char quote,
    const std::function<std::string(const ColumnDef&)>& type) {
  std::vector<std::string> out;
  for (const ColumnDef& c : columns) {
    std::string sql = "ALTER TABLE " + QuoteIdentifier(table, quote) + " ADD COLUMN " +
                      QuoteIdentifier(c.name, quote);
    const std::string declared = type(c);
    if (!declared.empty()) sql += " " + declared;
    out.push_back(std::move(sql));
  }
  return out;
}

std::string QuestionMarks(size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) out += i ? ",?" : "?";
  return out;
}

namespace {

std::string_view ConditionOperator(Condition::Op op) {
  switch (op) {
    case Condition::Op::kEq:
      return "=";
    case Condition::Op::kNe:
      return "<>";
    case Condition::Op::kLt:
      return "<";
    case Condition::Op::kLe:
      return "<=";
    case Condition::Op::kGt:
      return ">";
    case Condition::Op::kGe:
      return ">=";
    case Condition::Op::kLike:
      return "LIKE";
    case Condition::Op::kIsNull:
      return "IS NULL";
    case Condition::Op::kIsNotNull:
      return "IS NOT NULL";
  }
  return "=";
}

}  // namespace

std::string SqlDialect::Quote(std::string_view name) const { return QuoteIdentifier(name, quote); }

std::string SqlDialect::Placeholder(size_t n) const {
  return numbered_params ? "$" + std::to_string(n) : std::string("?");
}

const char* AppendConditions(const std::vector<Condition>& conditions, const SqlDialect& dialect,
                             std::string* sql,
                             const std::function<size_t(const Condition&)>& bind) {
  const char* joiner = " WHERE ";
  for (const Condition& c : conditions) {
    *sql += joiner;
    joiner = " AND ";
    *sql += dialect.Quote(c.column);
    if (c.op == Condition::Op::kLike) *sql += dialect.like_cast;
    *sql += " ";
    *sql += ConditionOperator(c.op);
    if (c.op == Condition::Op::kIsNull || c.op == Condition::Op::kIsNotNull) continue;
    // The placeholder stays untyped, so that the engine gives it the column's type and can use
    // an index on the column.
    *sql += " " + dialect.Placeholder(bind(c));
  }
  return joiner;
}

}  // namespace tether
