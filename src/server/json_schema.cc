#include "server/json_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "core/utf8.h"

namespace tether {
namespace {

using Json = nlohmann::json;

// Deeper than any schema of the document: only a $ref cycle gets there.
constexpr int kMaxDepth = 64;
// Fields listed in an "unknown field" message when a schema has no more properties than this.
constexpr size_t kMaxListedFields = 16;

constexpr std::array<std::string_view, 17> kCheckedKeywords = {
    "$ref",    "type",     "nullable", "properties", "required",  "additionalProperties",
    "items",   "enum",     "minimum",  "maximum",    "minLength", "maxLength",
    "pattern", "minItems", "maxItems", "oneOf",      "anyOf"};
constexpr std::array<std::string_view, 8> kAnnotations = {
    "title", "description", "default", "example", "format", "readOnly", "writeOnly", "deprecated"};

std::string FieldPrefix(const std::string& path) {
  return path.empty() ? std::string() : fmt::format("field '{}': ", path);
}

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

// The value as the user wrote it (more or less), cut short when long.
std::string Render(const Json& value) {
  constexpr size_t kMax = 60;
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMax) text = text.substr(0, kMax - 3) + "...";
  return text;
}

// The JSON Schema type of a value; "integer" only for numbers written without a fraction.
std::string_view TypeOf(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    case Json::value_t::boolean:
      return "boolean";
    default:
      return "null";
  }
}

bool Flag(const Json& schema, const char* keyword) {
  auto it = schema.find(keyword);
  return it != schema.end() && it->is_boolean() && it->get<bool>();
}

// A non-negative integer keyword (minLength, maxItems, ...), or -1 when absent.
int64_t Count(const Json& schema, const char* keyword) {
  auto it = schema.find(keyword);
  if (it == schema.end() || !it->is_number_integer()) return -1;
  return it->get<int64_t>();
}

bool IsOfType(std::string_view type, const Json& value) {
  std::string_view actual = TypeOf(value);
  return actual == type || (type == "number" && actual == "integer");
}

// The types a schema allows, empty when it names none (any type).
std::vector<std::string> TypesOf(const Json& schema) {
  std::vector<std::string> types;
  auto type = schema.find("type");
  if (type == schema.end()) return types;
  if (type->is_string()) {
    types.push_back(type->get<std::string>());
  } else if (type->is_array()) {
    for (const Json& t : *type) {
      if (t.is_string()) types.push_back(t.get<std::string>());
    }
  }
  if (Flag(schema, "nullable") && std::find(types.begin(), types.end(), "null") == types.end()) {
    types.push_back("null");
  }
  return types;
}

std::string WithArticle(std::string_view type) {
  if (type == "null") return "null";
  if (type == "object" || type == "array" || type == "integer") return fmt::format("an {}", type);
  return fmt::format("a {}", type);
}

// "a, b or c"
std::string JoinOr(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

std::string Quoted(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
    out += fmt::format("'{}'", names[i]);
  }
  return out;
}

std::vector<std::string> RequiredOf(const Json& schema) {
  std::vector<std::string> names;
  auto required = schema.find("required");
  if (required != schema.end() && required->is_array()) {
    for (const Json& r : *required) {
      if (r.is_string()) names.push_back(r.get<std::string>());
    }
  }
  return names;
}

// Numbers compared exactly for any int64 / uint64 (long double holds 64 mantissa bits on x86-64).
long double AsNumber(const Json& n) {
  if (n.is_number_unsigned()) return static_cast<long double>(n.get<uint64_t>());
  if (n.is_number_integer()) return static_cast<long double>(n.get<int64_t>());
  return static_cast<long double>(n.get<double>());
}

// Every "pattern" string found anywhere in the document, compiled once.
void CollectPatterns(const Json& node, std::map<std::string, Result<Regex>, std::less<>>* out) {
  if (node.is_object()) {
    auto pattern = node.find("pattern");
    if (pattern != node.end() && pattern->is_string() &&
        !out->contains(pattern->get<std::string>())) {
      out->emplace(pattern->get<std::string>(), Regex::Compile(pattern->get<std::string>()));
    }
    for (const auto& [key, child] : node.items()) CollectPatterns(child, out);
  } else if (node.is_array()) {
    for (const Json& child : node) CollectPatterns(child, out);
  }
}

// The node a local reference ("#/components/schemas/X") names in `document`, or nullptr.
const Json* Pointee(const Json& document, const Json& ref) {
  if (!ref.is_string()) return nullptr;
  const std::string& text = ref.get_ref<const std::string&>();
  if (text.empty() || text[0] != '#') return nullptr;
  try {
    Json::json_pointer pointer(text.substr(1));
    if (!document.contains(pointer)) return nullptr;
    return &document.at(pointer);
  } catch (const Json::exception&) {
    return nullptr;
  }
}

}  // namespace

JsonSchemaValidator::JsonSchemaValidator(nlohmann::json document) : document_(std::move(document)) {
  CollectPatterns(document_, &patterns_);
}

bool JsonSchemaValidator::IsKnownKeyword(std::string_view keyword) {
  return std::find(kCheckedKeywords.begin(), kCheckedKeywords.end(), keyword) !=
             kCheckedKeywords.end() ||
         std::find(kAnnotations.begin(), kAnnotations.end(), keyword) != kAnnotations.end();
}

Status JsonSchemaValidator::Validate(const nlohmann::json& schema,
                                     const nlohmann::json& value) const {
  return ValidateAt(schema, value, "", 0);
}

Status JsonSchemaValidator::ValidateRequestBody(std::string_view method,
                                                std::string_view path_template,
                                                const nlohmann::json& body) const {
  const Json* schema = RequestSchema(document_, method, path_template);
  if (schema == nullptr) {
    return Status::NotFound(
        fmt::format("the API document has no JSON request body for {} {}", method, path_template));
  }
  return Validate(*schema, body);
}

const nlohmann::json* JsonSchemaValidator::Resolve(const nlohmann::json& schema) const {
  const Json* current = &schema;
  for (int hops = 0; hops < kMaxDepth; ++hops) {
    if (!current->is_object()) return current;
    auto ref = current->find("$ref");
    if (ref == current->end()) return current;
    current = Pointee(document_, *ref);
    if (current == nullptr) return nullptr;
  }
  return nullptr;  // a cycle of references
}

bool JsonSchemaValidator::TypeAllows(const nlohmann::json& schema,
                                     const nlohmann::json& value) const {
  const Json* resolved = Resolve(schema);
  if (resolved == nullptr || !resolved->is_object()) return true;
  std::vector<std::string> types = TypesOf(*resolved);
  if (types.empty()) return true;
  return std::any_of(types.begin(), types.end(),
                     [&](const std::string& t) { return IsOfType(t, value); });
}

std::string JsonSchemaValidator::Describe(const nlohmann::json& schema) const {
  const Json* resolved = Resolve(schema);
  if (resolved == nullptr || !resolved->is_object()) return "a value";
  std::vector<std::string> types = TypesOf(*resolved);
  if (types.empty()) {
    for (std::string_view keyword : {"oneOf", "anyOf"}) {
      auto alternatives = resolved->find(keyword);
      if (alternatives == resolved->end() || !alternatives->is_array()) continue;
      std::vector<std::string> parts;
      for (const Json& alternative : *alternatives) parts.push_back(Describe(alternative));
      return JoinOr(parts);
    }
    return "a value";
  }
  std::vector<std::string> parts;
  for (const std::string& type : types) {
    if (type == "object") {
      std::vector<std::string> required = RequiredOf(*resolved);
      parts.push_back(required.empty() ? "an object"
                                       : fmt::format("an object with {}", Quoted(required)));
    } else if (type == "array" && resolved->contains("items")) {
      std::string items = Describe(resolved->at("items"));
      // "a string" -> "an array of strings"; anything richer stays "an array".
      if (items.rfind("a ", 0) == 0 || items.rfind("an ", 0) == 0) {
        std::string noun = items.substr(items.find(' ') + 1);
        if (noun.find(' ') == std::string::npos) {
          parts.push_back(fmt::format("an array of {}s", noun));
          continue;
        }
      }
      parts.push_back("an array");
    } else {
      parts.push_back(WithArticle(type));
    }
  }
  return JoinOr(parts);
}

Status JsonSchemaValidator::ValidateAt(const nlohmann::json& schema, const nlohmann::json& value,
                                       const std::string& path, int depth) const {
  if (depth > kMaxDepth) {
    return Status::Internal("API schema: nested too deep (a cycle of $ref?)");
  }
  if (schema.is_boolean()) {
    if (schema.get<bool>()) return Status::OK();
    return Status::InvalidArgument(fmt::format("{}not allowed", FieldPrefix(path)));
  }
  if (!schema.is_object()) {
    return Status::Internal(fmt::format("API schema: expected an object, got {}", Render(schema)));
  }
  if (auto ref = schema.find("$ref"); ref != schema.end()) {
    // OpenAPI 3.0: a $ref replaces the whole schema object; its siblings are ignored.
    const Json* target = Pointee(document_, *ref);
    if (target == nullptr) {
      return Status::Internal(fmt::format("API schema: unresolved $ref {}", Render(*ref)));
    }
    return ValidateAt(*target, value, path, depth + 1);
  }
  for (const auto& [keyword, unused] : schema.items()) {
    if (!IsKnownKeyword(keyword)) {
      return Status::Internal(fmt::format("API schema: unsupported keyword '{}'", keyword));
    }
  }

  if (value.is_null() && Flag(schema, "nullable")) return Status::OK();
  std::vector<std::string> types = TypesOf(schema);
  if (!types.empty() && std::none_of(types.begin(), types.end(),
                                     [&](const std::string& t) { return IsOfType(t, value); })) {
    std::vector<std::string> wanted;
    for (const std::string& t : types) wanted.push_back(WithArticle(t));
    return Status::InvalidArgument(
        fmt::format("{}expected {}, got {}", FieldPrefix(path), JoinOr(wanted), Render(value)));
  }

  if (auto allowed = schema.find("enum"); allowed != schema.end() && allowed->is_array()) {
    if (std::find(allowed->begin(), allowed->end(), value) == allowed->end()) {
      std::string choices;
      for (const Json& choice : *allowed) {
        choices += fmt::format("{}{}", choices.empty() ? "" : ", ", choice.dump());
      }
      return Status::InvalidArgument(
          fmt::format("{}expected one of {}, got {}", FieldPrefix(path), choices, Render(value)));
    }
  }

  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    const int64_t length = static_cast<int64_t>(Utf8Length(text));
    if (int64_t min = Count(schema, "minLength"); length < min) {
      return Status::InvalidArgument(
          min == 1 ? fmt::format("{}must not be empty", FieldPrefix(path))
                   : fmt::format("{}must be at least {} characters long, got {}", FieldPrefix(path),
                                 min, Render(value)));
    }
    if (int64_t max = Count(schema, "maxLength"); max >= 0 && length > max) {
      return Status::InvalidArgument(fmt::format("{}must be at most {} characters long, got {}",
                                                 FieldPrefix(path), max, length));
    }
    if (auto pattern = schema.find("pattern"); pattern != schema.end() && pattern->is_string()) {
      const std::string& source = pattern->get_ref<const std::string&>();
      auto compiled = patterns_.find(source);
      Result<Regex> re = compiled != patterns_.end() ? compiled->second : Regex::Compile(source);
      if (!re.ok()) {
        return Status::Internal(
            fmt::format("API schema: pattern {}: {}", source, re.status().message()));
      }
      if (!re->PartialMatch(text)) {
        // The schema's description says in words what the pattern says in regex.
        auto description = schema.find("description");
        std::string expected = description != schema.end() && description->is_string()
                                   ? description->get<std::string>()
                                   : fmt::format("must match {}", source);
        return Status::InvalidArgument(
            fmt::format("{}{} is not accepted: {}", FieldPrefix(path), Render(value), expected));
      }
    }
  }

  if (value.is_number()) {
    if (auto min = schema.find("minimum"); min != schema.end() && min->is_number()) {
      if (AsNumber(value) < AsNumber(*min)) {
        return Status::InvalidArgument(fmt::format("{}must be at least {}, got {}",
                                                   FieldPrefix(path), min->dump(), Render(value)));
      }
    }
    if (auto max = schema.find("maximum"); max != schema.end() && max->is_number()) {
      if (AsNumber(value) > AsNumber(*max)) {
        return Status::InvalidArgument(fmt::format("{}must be at most {}, got {}",
                                                   FieldPrefix(path), max->dump(), Render(value)));
      }
    }
  }

  if (value.is_array()) {
    const int64_t size = static_cast<int64_t>(value.size());
    if (int64_t min = Count(schema, "minItems"); size < min) {
      return Status::InvalidArgument(
          fmt::format("{}must have at least {} item(s), got {}", FieldPrefix(path), min, size));
    }
    if (int64_t max = Count(schema, "maxItems"); max >= 0 && size > max) {
      return Status::InvalidArgument(
          fmt::format("{}must have at most {} item(s), got {}", FieldPrefix(path), max, size));
    }
    if (auto items = schema.find("items"); items != schema.end()) {
      for (size_t i = 0; i < value.size(); ++i) {
        TETHER_RETURN_IF_ERROR(
            ValidateAt(*items, value[i], fmt::format("{}[{}]", path, i), depth + 1));
      }
    }
  }

  if (value.is_object()) {
    static const Json kNoProperties = Json::object();
    auto found = schema.find("properties");
    const Json& properties = found != schema.end() && found->is_object() ? *found : kNoProperties;
    auto additional = schema.find("additionalProperties");
    // Unknown fields first: a misspelt field is the cause of the "missing" one beside it.
    if (additional != schema.end() && additional->is_boolean() && !additional->get<bool>()) {
      for (const auto& [key, unused] : value.items()) {
        if (properties.contains(key)) continue;
        std::string message = fmt::format("unknown field '{}'", Child(path, key));
        if (properties.size() <= kMaxListedFields) {
          std::vector<std::string> names;
          for (const auto& [name, unused_schema] : properties.items()) names.push_back(name);
          message += names.empty() ? " (no fields are accepted here)"
                                   : fmt::format(" (expected {})", JoinOr(names));
        }
        return Status::InvalidArgument(std::move(message));
      }
    }
    for (const std::string& name : RequiredOf(schema)) {
      if (!value.contains(name)) {
        return Status::InvalidArgument(
            fmt::format("missing required field '{}'", Child(path, name)));
      }
    }
    for (const auto& [key, field] : value.items()) {
      if (auto property = properties.find(key); property != properties.end()) {
        TETHER_RETURN_IF_ERROR(ValidateAt(*property, field, Child(path, key), depth + 1));
      } else if (additional != schema.end() && !additional->is_boolean()) {
        TETHER_RETURN_IF_ERROR(ValidateAt(*additional, field, Child(path, key), depth + 1));
      }
    }
  }

  if (schema.contains("oneOf")) {
    TETHER_RETURN_IF_ERROR(ValidateAlternatives(schema, "oneOf", value, path, depth));
  }
  if (schema.contains("anyOf")) {
    TETHER_RETURN_IF_ERROR(ValidateAlternatives(schema, "anyOf", value, path, depth));
  }
  return Status::OK();
}

Status JsonSchemaValidator::ValidateAlternatives(const nlohmann::json& schema,
                                                 std::string_view keyword,
                                                 const nlohmann::json& value,
                                                 const std::string& path, int depth) const {
  const Json& alternatives = schema.at(keyword);
  if (!alternatives.is_array() || alternatives.empty()) {
    return Status::Internal(fmt::format("API schema: '{}' must be a non-empty list", keyword));
  }
  std::vector<Status> failures(alternatives.size());
  size_t matched = 0;
  for (size_t i = 0; i < alternatives.size(); ++i) {
    Status s = ValidateAt(alternatives[i], value, path, depth + 1);
    if (s.ok()) {
      ++matched;
    } else if (s.code() != StatusCode::kInvalidArgument) {
      return s;  // a broken schema, not a bad value
    }
    failures[i] = std::move(s);
  }
  if (matched == 1 || (matched > 1 && keyword == "anyOf")) return Status::OK();
  if (matched > 1) {
    return Status::InvalidArgument(fmt::format("{}{} fits more than one of the accepted forms",
                                               FieldPrefix(path), Render(value)));
  }

  // Nothing fits: explain against the one alternative the value was evidently meant to be (the
  // only one of its type, or the only object one whose required fields it has), else list them.
  std::vector<size_t> candidates;
  for (size_t i = 0; i < alternatives.size(); ++i) {
    if (TypeAllows(alternatives[i], value)) candidates.push_back(i);
  }
  if (candidates.size() > 1 && value.is_object()) {
    std::vector<size_t> narrowed;
    for (size_t i : candidates) {
      const Json* resolved = Resolve(alternatives[i]);
      if (resolved == nullptr) continue;
      std::vector<std::string> required = RequiredOf(*resolved);
      if (!required.empty() &&
          std::all_of(required.begin(), required.end(),
                      [&](const std::string& r) { return value.contains(r); })) {
        narrowed.push_back(i);
      }
    }
    if (narrowed.size() == 1) candidates = std::move(narrowed);
  }
  if (candidates.size() == 1) return failures[candidates[0]];
  std::vector<std::string> forms;
  for (const Json& alternative : alternatives) forms.push_back(Describe(alternative));
  return Status::InvalidArgument(
      fmt::format("{}expected {}, got {}", FieldPrefix(path), JoinOr(forms), Render(value)));
}

const nlohmann::json* RequestSchema(const nlohmann::json& document, std::string_view method,
                                    std::string_view path_template) {
  const std::string verb = AsciiLower(method);
  auto paths = document.find("paths");
  if (paths == document.end() || !paths->is_object()) return nullptr;
  auto item = paths->find(std::string(path_template));
  if (item == paths->end() || !item->is_object()) return nullptr;
  auto operation = item->find(verb);
  if (operation == item->end() || !operation->is_object()) return nullptr;
  auto body = operation->find("requestBody");
  if (body == operation->end()) return nullptr;
  const Json* request_body = &*body;
  if (auto ref = request_body->find("$ref"); ref != request_body->end()) {
    request_body = Pointee(document, *ref);
    if (request_body == nullptr) return nullptr;
  }
  auto content = request_body->find("content");
  if (content == request_body->end() || !content->is_object()) return nullptr;
  auto json_content = content->find("application/json");
  if (json_content == content->end() || !json_content->is_object()) return nullptr;
  auto schema = json_content->find("schema");
  return schema == json_content->end() ? nullptr : &*schema;
}

}  // namespace tether
