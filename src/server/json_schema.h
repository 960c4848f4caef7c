// JsonSchemaValidator: checks a JSON value against a schema of an OpenAPI 3.0 document (the
// subset of JSON Schema that src/server/openapi.json uses), so the server accepts exactly what the
// document says. Read-only after construction: one instance may be shared by every thread.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/regex.h"
#include "core/status.h"

namespace tether {

// Keywords checked: type (object, array, string, integer, number, boolean, null, or a list of
// them), nullable, properties, required, additionalProperties (false, true or a schema), items,
// enum, minimum, maximum, minLength, maxLength (in characters), pattern (RE2 syntax, searched, not
// anchored), minItems, maxItems, oneOf, anyOf, and $ref to "#/..." inside the document.
// Annotations (description, default, example, format, ...) are ignored; any other keyword makes
// Validate fail with kInternal, so the document cannot silently rely on one that is not checked.
//
// "integer" means a JSON number written without a fraction or exponent (10, not 10.0).
// Validation stops at the first error: a kInvalidArgument whose message names the field by its
// path in the value, e.g. "field 'entities.product.key[1]': expected a string, got 5",
// "unknown field 'entities.product.tabel'", "missing required field 'url'".
class JsonSchemaValidator {
 public:
  explicit JsonSchemaValidator(nlohmann::json document);

  // `schema` is a schema object (for instance from RequestSchema) or {"$ref": "#/..."}.
  Status Validate(const nlohmann::json& schema, const nlohmann::json& value) const;

  // Validates `body` against the application/json request body schema of an operation of the
  // document; kNotFound when the operation has no such body.
  Status ValidateRequestBody(std::string_view method, std::string_view path_template,
                             const nlohmann::json& body) const;

  const nlohmann::json& document() const { return document_; }

  // True for a keyword Validate checks or knowingly ignores (an annotation).
  static bool IsKnownKeyword(std::string_view keyword);

 private:
  Status ValidateAt(const nlohmann::json& schema, const nlohmann::json& value,
                    const std::string& path, int depth) const;
  Status ValidateAlternatives(const nlohmann::json& schema, std::string_view keyword,
                              const nlohmann::json& value, const std::string& path,
                              int depth) const;
  // The schema a {"$ref": ...} points to (followed until it is not a $ref), or nullptr.
  const nlohmann::json* Resolve(const nlohmann::json& schema) const;
  std::string Describe(const nlohmann::json& schema) const;
  // Whether `value`'s JSON type is one `schema` allows (true when it names no type).
  bool TypeAllows(const nlohmann::json& schema, const nlohmann::json& value) const;

  nlohmann::json document_;
  // Every pattern of the document, compiled (or why it does not compile).
  std::map<std::string, Result<Regex>, std::less<>> patterns_;
};

// The application/json request body schema of `method` (any case) on `path_template` (as the
// document spells it, "/api/runs/{id}"), or nullptr when the operation has none.
const nlohmann::json* RequestSchema(const nlohmann::json& document, std::string_view method,
                                    std::string_view path_template);

}  // namespace tether
