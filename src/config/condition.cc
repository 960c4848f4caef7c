// ParseCondition: "column op value" filters from the config, turned into a Condition whose
// value is data to bind, never SQL text.
#include <fmt/format.h>

#include "config/config.h"
#include "config/text.h"
#include "core/ascii.h"

namespace tether {

namespace {

using config_internal::IsIdentifierChar;
using config_internal::IsIdentifierStart;

constexpr std::string_view kOps = "=, !=, <>, <, <=, >, >=, like, is null, is not null";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class ConditionParser {
 public:
  explicit ConditionParser(const std::string& text) : text_(text) {}

  Result<Condition> Parse() {
    Condition c;
    SkipSpace();
    if (AtEnd()) return Fail("empty condition; expected \"column op value\"");
    if (!IsIdentifierStart(text_[pos_])) {
      return Fail("expected a column name (letters, digits and _)");
    }
    const size_t start = pos_;
    while (!AtEnd() && IsIdentifierChar(text_[pos_])) ++pos_;
    c.column = text_.substr(start, pos_ - start);
    SkipSpace();
    if (AtEnd()) return Fail(fmt::format("expected an operator ({}) after the column", kOps));

    const size_t op_at = pos_;
    bool symbolic = true;
    if (Take("<=")) {
      c.op = Condition::Op::kLe;
    } else if (Take(">=")) {
      c.op = Condition::Op::kGe;
    } else if (Take("<>") || Take("!=")) {
      c.op = Condition::Op::kNe;
    } else if (Take("=")) {
      c.op = Condition::Op::kEq;
    } else if (Take("<")) {
      c.op = Condition::Op::kLt;
    } else if (Take(">")) {
      c.op = Condition::Op::kGt;
    } else {
      symbolic = false;
      std::string_view word = Word();
      if (EqualsIgnoreCase(word, "like")) {
        c.op = Condition::Op::kLike;
      } else if (EqualsIgnoreCase(word, "is")) {
        SkipSpace();
        word = Word();
        c.op = Condition::Op::kIsNull;
        if (EqualsIgnoreCase(word, "not")) {
          SkipSpace();
          word = Word();
          c.op = Condition::Op::kIsNotNull;
        }
        if (!EqualsIgnoreCase(word, "null")) {
          pos_ = op_at;
          return Fail("expected 'is null' or 'is not null'");
        }
        SkipSpace();
        if (!AtEnd()) return Fail("unexpected text after 'null'");
        return c;
      } else {
        pos_ = op_at;
        return Fail(fmt::format("unknown operator; expected one of {}", kOps));
      }
    }
    if (symbolic && !AtEnd() &&
        std::string_view("=<>!").find(text_[pos_]) != std::string_view::npos) {
      pos_ = op_at;
      return Fail(fmt::format("unknown operator; expected one of {}", kOps));
    }
    SkipSpace();
    if (AtEnd()) return Fail("expected a value after the operator (quote it for empty text: '')");
    TETHER_ASSIGN_OR_RETURN(c.value, ParseValue());
    return c;
  }

 private:
  Result<Value> ParseValue() {
    const char quote = text_[pos_];
    if (quote == '\'' || quote == '"') {
      const size_t start = pos_;
      std::string s;
      ++pos_;
      for (;;) {
        if (AtEnd()) {
          pos_ = start;
          return Fail("unterminated quoted value");
        }
        if (text_[pos_] == quote) {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == quote) {  // '' inside '...'
            s += quote;
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        s += text_[pos_++];
      }
      SkipSpace();
      if (!AtEnd()) return Fail("unexpected text after the quoted value");
      return Value::Text(std::move(s));
    }
    std::string_view raw = config_internal::Trim(std::string_view(text_).substr(pos_));
    if (EqualsIgnoreCase(raw, "null")) {
      return Fail("compare with NULL using 'is null' or 'is not null' (or quote 'null' for text)");
    }
    if (std::optional<Value> n = config_internal::ParseNumber(raw)) return *n;
    return Value::Text(std::string(raw));
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  void SkipSpace() {
    while (!AtEnd() && IsSpace(text_[pos_])) ++pos_;
  }
  bool Take(std::string_view token) {
    if (std::string_view(text_).substr(pos_).starts_with(token)) {
      pos_ += token.size();
      return true;
    }
    return false;
  }
  std::string_view Word() {
    const size_t start = pos_;
    while (!AtEnd() && IsIdentifierChar(text_[pos_])) ++pos_;
    return std::string_view(text_).substr(start, pos_ - start);
  }
  Status Fail(std::string_view why) const {
    if (AtEnd()) return Status::InvalidArgument(fmt::format("condition '{}': {}", text_, why));
    return Status::InvalidArgument(
        fmt::format("condition '{}': {} at '{}'", text_, why, text_.substr(pos_)));
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

Result<Condition> ParseCondition(const std::string& text) { return ConditionParser(text).Parse(); }

}  // namespace tether
