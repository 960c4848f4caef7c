// Typed, located reads out of a yaml-cpp tree for the config loader. yaml-cpp's marks are
// 0-based; locations shown to users are 1-based.
#include "config/yaml_reader.h"

#include <algorithm>
#include <set>

#include "config/env.h"

namespace tether::config_internal {

SourceLocation YamlReader::Location(const YAML::Mark& mark) const {
  SourceLocation loc;
  loc.file = file_;
  if (mark.line >= 0 && mark.column >= 0) {
    loc.line = mark.line + 1;
    loc.column = mark.column + 1;
  }
  return loc;
}

Status YamlReader::Error(const YAML::Mark& mark, std::string_view path,
                         std::string_view message) const {
  if (path.empty())
    return Status::Config(fmt::format("{}: {}", Location(mark).ToString(), message));
  return Status::Config(fmt::format("{}: {}: {}", Location(mark).ToString(), path, message));
}

YamlValue YamlReader::Child(const YamlValue& parent, const std::string& key,
                            const YAML::Mark& key_mark, const YAML::Node& node) {
  YamlValue v;
  v.node = node;
  v.path = parent.path.empty() ? key : parent.path + "." + key;
  v.mark = (!node.IsDefined() || node.IsNull()) ? key_mark : node.Mark();
  return v;
}

std::string YamlReader::Raw(const YamlValue& v) {
  if (v.node.IsDefined() && v.node.IsScalar()) return v.node.Scalar();
  return Describe(v);
}

std::string YamlReader::Describe(const YamlValue& v) {
  if (v.IsNull()) return "nothing";
  if (v.node.IsMap()) return "a map";
  if (v.node.IsSequence()) return "a list";
  return fmt::format("'{}'", v.node.Scalar());
}

Result<std::vector<YamlEntry>> YamlReader::Map(const YamlValue& v,
                                               const std::vector<std::string_view>& allowed) const {
  std::vector<YamlEntry> entries;
  if (v.IsNull()) return entries;
  if (!v.node.IsMap()) {
    return Error(v, fmt::format("expected a map (key: value), got {}", Describe(v)));
  }
  std::map<std::string, YAML::Mark> seen;
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    // Copies: the iterator hands out a proxy that does not outlive the expression.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    std::string name;
    if (key.IsNull()) {
      name = "null";
    } else if (key.IsScalar()) {
      name = key.Scalar();
    } else {
      return Error(key.Mark(), v.path, "a key must be a plain name, not a map or list");
    }
    auto [first, inserted] = seen.emplace(name, key.Mark());
    if (!inserted) {
      return Error(
          key.Mark(), v.path,
          fmt::format("duplicate key '{}' (first at line {})", name, Location(first->second).line));
    }
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      if (auto close = ClosestMatch(name, allowed)) {
        return Error(key.Mark(), v.path,
                     fmt::format("unknown key '{}' (did you mean '{}'?)", name, *close));
      }
      return Error(key.Mark(), v.path,
                   fmt::format("unknown key '{}' (allowed: {})", name, JoinNames(allowed)));
    }
    YamlEntry e;
    e.key = name;
    e.key_node = key;
    e.key_mark = key.Mark();
    e.value = Child(v, name, key.Mark(), value);
    entries.push_back(std::move(e));
  }
  return entries;
}

Result<std::vector<YamlValue>> YamlReader::Sequence(const YamlValue& v) const {
  std::vector<YamlValue> items;
  if (v.IsNull()) return items;
  if (!v.node.IsSequence()) return Error(v, fmt::format("expected a list, got {}", Describe(v)));
  size_t i = 0;
  for (const YAML::Node& n : v.node) {
    YamlValue item;
    item.node = n;
    item.path = fmt::format("{}[{}]", v.path, i++);
    item.mark = (!n.IsDefined() || n.IsNull()) ? v.mark : n.Mark();
    items.push_back(std::move(item));
  }
  return items;
}

Result<std::string> YamlReader::ScalarText(const YamlValue& v, std::string_view expected) const {
  if (v.IsNull() || !v.node.IsScalar()) {
    return Error(v, fmt::format("expected {}, got {}", expected, Describe(v)));
  }
  auto text = Interpolate(v.node.Scalar(), env_);
  if (!text.ok()) return Error(v, text.status().message());
  return std::move(text).value();
}

Result<std::string> YamlReader::String(const YamlValue& v, bool allow_empty) const {
  TETHER_ASSIGN_OR_RETURN(std::string s, ScalarText(v, "text"));
  if (s.empty() && !allow_empty) return Error(v, "must not be empty");
  return s;
}

Result<std::vector<YamlText>> YamlReader::StringList(const YamlValue& v) const {
  std::vector<YamlValue> items;
  if (v.node.IsDefined() && v.node.IsScalar()) {
    items.push_back(v);
  } else if (!v.IsNull() && !v.node.IsSequence()) {
    return Error(v, fmt::format("expected a name or a list of names, got {}", Describe(v)));
  } else {
    TETHER_ASSIGN_OR_RETURN(items, Sequence(v));
  }
  std::vector<YamlText> out;
  std::set<std::string> seen;
  for (const YamlValue& item : items) {
    TETHER_ASSIGN_OR_RETURN(std::string s, String(item));
    if (!seen.insert(s).second) return Error(item, fmt::format("'{}' is listed twice", Raw(item)));
    out.push_back({std::move(s), item.mark});
  }
  return out;
}

Result<int64_t> YamlReader::Integer(const YamlValue& v, int64_t min, int64_t max) const {
  const std::string want = fmt::format("an integer from {} to {}", min, max);
  TETHER_ASSIGN_OR_RETURN(std::string s, ScalarText(v, want));
  std::optional<Value> n = ParseNumber(Trim(s));
  if (!n || n->kind() != ValueKind::kInt || n->as_int() < min || n->as_int() > max) {
    return Error(v, fmt::format("must be {}, got '{}'", want, Raw(v)));
  }
  return n->as_int();
}

Result<double> YamlReader::Number(const YamlValue& v) const {
  TETHER_ASSIGN_OR_RETURN(std::string s, ScalarText(v, "a number"));
  std::optional<Value> n = ParseNumber(Trim(s));
  if (!n) return Error(v, fmt::format("must be a number, got '{}'", Raw(v)));
  return n->kind() == ValueKind::kInt ? static_cast<double>(n->as_int()) : n->as_real();
}

namespace {

std::optional<bool> ParseBool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

}  // namespace

Result<bool> YamlReader::Bool(const YamlValue& v) const {
  TETHER_ASSIGN_OR_RETURN(std::string s, ScalarText(v, "true or false"));
  std::optional<bool> b = ParseBool(Trim(s));
  if (!b) return Error(v, fmt::format("must be true or false, got '{}'", Raw(v)));
  return *b;
}

Value YamlReader::TypePlain(const std::string& text) const {
  if (std::optional<bool> b = ParseBool(text)) return Value::Bool(*b);
  if (std::optional<Value> n = ParseNumber(text)) return *n;
  return Value::Text(text);
}

Result<Value> YamlReader::TypedScalar(const YamlValue& v) const {
  if (v.IsNull()) return Value::Null();
  TETHER_ASSIGN_OR_RETURN(std::string s,
                          ScalarText(v, "a single value (text, number, true or false)"));
  if (v.node.Tag() == "?") return TypePlain(s);
  return Value::Text(std::move(s));
}

Value YamlReader::TypedKey(const YamlEntry& e) const {
  if (!e.key_node.IsDefined() || e.key_node.IsNull()) return Value::Null();
  if (e.key_node.Tag() == "?") return TypePlain(e.key_node.Scalar());
  return Value::Text(e.key_node.Scalar());
}

namespace {

// Whether the quoted scalar opening at text[at] ('"' or '\'') is closed before the text ends:
// in double quotes a backslash escapes the next character; in single quotes '' is a quote.
bool QuoteCloses(std::string_view text, size_t at) {
  const char quote = text[at];
  for (size_t i = at + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;
      } else {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

Status YamlReader::CheckQuotesClosed(const YAML::Node& node, std::string_view text) const {
  if (!node.IsDefined()) return Status::OK();
  if (node.IsScalar() && node.Tag() != "?") {
    const int pos = node.Mark().pos;
    if (pos >= 0 && static_cast<size_t>(pos) < text.size() &&
        (text[pos] == '"' || text[pos] == '\'') && !QuoteCloses(text, static_cast<size_t>(pos))) {
      return Error(node.Mark(), "",
                   fmt::format("invalid YAML: this quoted value has no closing {} (it would run "
                               "to the end of the file)",
                               text[pos]));
    }
  }
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      TETHER_RETURN_IF_ERROR(CheckQuotesClosed(it->first, text));
      TETHER_RETURN_IF_ERROR(CheckQuotesClosed(it->second, text));
    }
  } else if (node.IsSequence()) {
    for (const YAML::Node& item : node) TETHER_RETURN_IF_ERROR(CheckQuotesClosed(item, text));
  }
  return Status::OK();
}

}  // namespace tether::config_internal
