// Reads typed values out of a yaml-cpp tree for the config loader (internal to src/config/):
// every value keeps its dotted key path and location, string scalars are ${VAR}-interpolated,
// and every problem comes back as a kConfig Status "file:line:column: path: message".
// One reader per parse; not thread-safe.
#pragma once

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/text.h"
#include "core/status.h"
#include "core/value.h"

namespace tether::config_internal {

// A YAML value with the dotted path of the key that holds it ("entities.product.table") and
// where to point at it: the value itself, or its key when the value is empty (yaml-cpp places
// an empty value at the start of the next line).
struct YamlValue {
  YAML::Node node;
  std::string path;
  YAML::Mark mark;

  bool IsNull() const { return !node.IsDefined() || node.IsNull(); }
};

struct YamlEntry {
  std::string key;  // "null" for an empty key
  YAML::Node key_node;
  YAML::Mark key_mark;
  YamlValue value;
};

struct YamlText {
  std::string text;
  YAML::Mark mark;
};

class YamlReader {
 public:
  YamlReader(std::string file, EnvLookup env) : file_(std::move(file)), env_(std::move(env)) {}

  SourceLocation Location(const YAML::Mark& mark) const;
  Status Error(const YAML::Mark& mark, std::string_view path, std::string_view message) const;
  Status Error(const YamlValue& v, std::string_view message) const {
    return Error(v.mark, v.path, message);
  }

  // The entries of a map, in file order; an empty value reads as no entries. Rejects duplicate
  // keys and, when `allowed` is not empty, keys outside it (suggesting the closest one).
  Result<std::vector<YamlEntry>> Map(const YamlValue& v,
                                     const std::vector<std::string_view>& allowed = {}) const;
  // The items of a list; an empty value reads as no items.
  Result<std::vector<YamlValue>> Sequence(const YamlValue& v) const;

  // An interpolated text scalar; empty text is an error unless allow_empty.
  Result<std::string> String(const YamlValue& v, bool allow_empty = false) const;
  // A text scalar or a list of them (each non-empty, no repeats); an empty value reads as none.
  Result<std::vector<YamlText>> StringList(const YamlValue& v) const;
  Result<int64_t> Integer(const YamlValue& v, int64_t min, int64_t max) const;
  Result<double> Number(const YamlValue& v) const;
  Result<bool> Bool(const YamlValue& v) const;
  // A scalar typed the YAML way: empty/~/null -> Null; plain true/false -> Bool; plain integers
  // -> Int; plain decimals -> Real; quoted or any other text -> Text. Interpolated first.
  Result<Value> TypedScalar(const YamlValue& v) const;
  // Same typing for a map key (keys are not interpolated).
  Value TypedKey(const YamlEntry& e) const;

  // One of `choices`, by its name; the error lists them all.
  template <typename E>
  Result<E> Enum(const YamlValue& v,
                 std::initializer_list<std::pair<std::string_view, E>> choices) const {
    TETHER_ASSIGN_OR_RETURN(std::string s, String(v, /*allow_empty=*/true));
    std::vector<std::string_view> names;
    for (const auto& [name, value] : choices) {
      if (s == name) return value;
      names.push_back(name);
    }
    return Error(v, fmt::format("must be one of {}; got '{}'", JoinNames(names), Raw(v)));
  }

  // The value as written (before interpolation) for messages: a secret that came from the
  // environment is never echoed back.
  static std::string Raw(const YamlValue& v);
  // "a map", "a list", "text 'x'", "nothing", for "expected X, got Y" messages.
  static std::string Describe(const YamlValue& v);

  static YamlValue Child(const YamlValue& parent, const std::string& key,
                         const YAML::Mark& key_mark, const YAML::Node& node);

  // yaml-cpp reads a quoted value that is never closed as running on to the end of the text,
  // swallowing the lines after it: such a value (key or value, anywhere under `node`) is an
  // error here, pointing at its opening quote. `text` is what `node` was parsed from.
  Status CheckQuotesClosed(const YAML::Node& node, std::string_view text) const;

 private:
  Result<std::string> ScalarText(const YamlValue& v, std::string_view expected) const;
  Value TypePlain(const std::string& text) const;

  std::string file_;
  EnvLookup env_;
};

}  // namespace tether::config_internal
