#include "connectors/sql_text.h"

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

std::string QuestionMarks(size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) out += i ? ",?" : "?";
  return out;
}

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

bool ConditionTakesValue(Condition::Op op) {
  return op != Condition::Op::kIsNull && op != Condition::Op::kIsNotNull;
}

}  // namespace tether
