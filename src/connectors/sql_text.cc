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

}  // namespace tether
