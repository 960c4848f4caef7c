// The OpenAPI document (src/server/openapi.json as compiled in): well-formed OpenAPI 3.0.3 that
// the server's request validation can rely on.
#include "server/openapi.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/regex.h"
#include "core/version.h"
#include "server/json_schema.h"

namespace tether {
namespace {

using Json = nlohmann::json;

const std::set<std::string> kMethods = {"get",   "put",  "post",    "delete",
                                        "patch", "head", "options", "trace"};

Json Document() { return Json::parse(kOpenApiJson); }

// The node a "#/..." reference names, or nullptr.
const Json* Pointee(const Json& doc, const std::string& ref) {
  if (ref.empty() || ref[0] != '#') return nullptr;
  Json::json_pointer pointer(ref.substr(1));
  return doc.contains(pointer) ? &doc.at(pointer) : nullptr;
}

const Json& Deref(const Json& doc, const Json& node) {
  if (node.is_object() && node.contains("$ref")) {
    const Json* target = Pointee(doc, node.at("$ref").get<std::string>());
    if (target != nullptr) return *target;
  }
  return node;
}

// Calls `visit(method, path, operation)` for every operation of the document.
void ForEachOperation(
    const Json& doc,
    const std::function<void(const std::string&, const std::string&, const Json&)>& visit) {
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (kMethods.contains(method)) visit(method, path, operation);
    }
  }
}

// Calls `visit(where, schema)` for every schema of the document and every schema inside one.
void ForEachSchema(const Json& doc,
                   const std::function<void(const std::string&, const Json&)>& visit) {
  std::function<void(const std::string&, const Json&)> walk = [&](const std::string& where,
                                                                  const Json& schema) {
    visit(where, schema);
    if (!schema.is_object()) return;
    if (schema.contains("properties")) {
      for (const auto& [name, s] : schema.at("properties").items()) walk(where + "." + name, s);
    }
    if (schema.contains("items")) walk(where + "[]", schema.at("items"));
    if (schema.contains("additionalProperties") && schema.at("additionalProperties").is_object()) {
      walk(where + ".*", schema.at("additionalProperties"));
    }
    for (const char* keyword : {"oneOf", "anyOf"}) {
      if (!schema.contains(keyword)) continue;
      for (size_t i = 0; i < schema.at(keyword).size(); ++i) {
        walk(where + "|" + std::to_string(i), schema.at(keyword)[i]);
      }
    }
  };
  auto content_schemas = [&](const std::string& where, const Json& holder) {
    if (!holder.contains("content")) return;
    for (const auto& [type, media] : holder.at("content").items()) {
      if (media.contains("schema")) walk(where + " " + type, media.at("schema"));
    }
  };
  auto parameters = [&](const std::string& where, const Json& list) {
    for (const Json& p : list) {
      if (p.contains("schema")) walk(where + " parameter " + p.value("name", "?"), p.at("schema"));
    }
  };
  const Json& components = doc.at("components");
  for (const auto& [name, s] : components.at("schemas").items()) walk(name, s);
  for (const auto& [name, p] : components.at("parameters").items()) {
    Json list = Json::array();
    list.push_back(p);
    parameters(name, list);
  }
  for (const auto& [name, r] : components.at("responses").items()) {
    content_schemas(name, r);
    if (r.contains("headers")) {
      for (const auto& [header, h] : r.at("headers").items())
        walk(name + " " + header, h.at("schema"));
    }
  }
  for (const auto& [path, item] : doc.at("paths").items()) {
    if (item.contains("parameters")) parameters(path, item.at("parameters"));
  }
  ForEachOperation(doc, [&](const std::string& method, const std::string& path, const Json& op) {
    std::string where = method + " " + path;
    if (op.contains("parameters")) parameters(where, op.at("parameters"));
    if (op.contains("requestBody")) content_schemas(where + " body", op.at("requestBody"));
    for (const auto& [code, response] : op.at("responses").items()) {
      content_schemas(where + " " + code, response);
    }
  });
}

void CollectRefs(const Json& node, std::vector<std::string>* refs) {
  if (node.is_object()) {
    for (const auto& [key, child] : node.items()) {
      if (key == "$ref" && child.is_string()) {
        refs->push_back(child.get<std::string>());
      } else {
        CollectRefs(child, refs);
      }
    }
  } else if (node.is_array()) {
    for (const Json& child : node) CollectRefs(child, refs);
  }
}

TEST(OpenApiTest, ParsesAsOpenApi303) {
  Json doc;
  ASSERT_NO_THROW(doc = Document());
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.at("openapi"), "3.0.3");
  EXPECT_TRUE(doc.at("info").at("title").is_string());
  EXPECT_EQ(doc.at("info").at("version"), kTetherVersion);
  EXPECT_FALSE(doc.at("paths").empty());
}

// The compiled copy is the file itself: nothing in it was taken for a CMake @VAR@ or ended the raw
// string literal early.
TEST(OpenApiTest, CompiledCopyEqualsTheSourceFile) {
  std::ifstream in(std::string(TETHER_SOURCE_DIR) + "/src/server/openapi.json");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(Json::parse(text.str()), Document());
  EXPECT_EQ(text.str().find(")tether_openapi"), std::string::npos);
}

TEST(OpenApiTest, EveryRefResolves) {
  Json doc = Document();
  std::vector<std::string> refs;
  CollectRefs(doc, &refs);
  EXPECT_FALSE(refs.empty());
  for (const std::string& ref : refs) {
    EXPECT_NE(Pointee(doc, ref), nullptr) << ref;
  }
}

TEST(OpenApiTest, DefinesTheNamedSchemas) {
  Json doc = Document();
  const Json& schemas = doc.at("components").at("schemas");
  for (const char* name :
       {"Error", "Connection", "ConnectionCreate", "ConnectionUpdate", "Pipeline", "Entity",
        "PipelineCreate", "PipelineUpdate", "ScheduleSpec", "RunRequest", "DiffRequest", "Run",
        "RunCounts", "LogLine", "RecordLine", "Link", "Stats", "Status", "Schedule"}) {
    EXPECT_TRUE(schemas.contains(name)) << name;
  }
}

TEST(OpenApiTest, EveryOperationHasDescribedResponsesAndAUniqueId) {
  Json doc = Document();
  std::set<std::string> ids;
  int operations = 0;
  ForEachOperation(doc, [&](const std::string& method, const std::string& path, const Json& op) {
    ++operations;
    SCOPED_TRACE(method + " " + path);
    ASSERT_TRUE(op.contains("operationId"));
    EXPECT_TRUE(ids.insert(op.at("operationId").get<std::string>()).second);
    ASSERT_TRUE(op.contains("responses"));
    ASSERT_FALSE(op.at("responses").empty());
    bool has_success = false;
    for (const auto& [code, response] : op.at("responses").items()) {
      EXPECT_TRUE(std::regex_match(code, std::regex("[1-5][0-9][0-9]|default"))) << code;
      EXPECT_TRUE(Deref(doc, response).contains("description")) << code;
      if (code[0] == '2') has_success = true;
      // Every error response carries the Error body.
      if (code[0] == '4' || code[0] == '5') {
        const Json& r = Deref(doc, response);
        ASSERT_TRUE(r.contains("content")) << code;
        EXPECT_EQ(r.at("content").at("application/json").at("schema").at("$ref"),
                  "#/components/schemas/Error");
      }
    }
    EXPECT_TRUE(has_success);
    if (op.contains("requestBody")) {
      EXPECT_TRUE(op.at("responses").contains("400"));
      EXPECT_TRUE(op.at("responses").contains("413"));
    }
  });
  EXPECT_EQ(operations, 27);
}

TEST(OpenApiTest, EveryPathParameterIsDeclared) {
  Json doc = Document();
  const std::regex placeholder("\\{([^}]+)\\}");
  ForEachOperation(doc, [&](const std::string& method, const std::string& path, const Json& op) {
    SCOPED_TRACE(method + " " + path);
    std::set<std::string> in_template;
    for (std::sregex_iterator it(path.begin(), path.end(), placeholder), end; it != end; ++it) {
      in_template.insert((*it)[1].str());
    }
    std::set<std::string> declared;
    for (const Json* list : {static_cast<const Json*>(&doc.at("paths").at(path)), &op}) {
      if (!list->contains("parameters")) continue;
      for (const Json& p : list->at("parameters")) {
        const Json& parameter = Deref(doc, p);
        ASSERT_TRUE(parameter.contains("name"));
        ASSERT_TRUE(parameter.contains("in"));
        ASSERT_TRUE(parameter.contains("schema"));
        if (parameter.at("in") != "path") continue;
        EXPECT_EQ(parameter.value("required", false), true) << parameter.at("name");
        declared.insert(parameter.at("name").get<std::string>());
      }
    }
    EXPECT_EQ(in_template, declared);
  });
}

TEST(OpenApiTest, BearerTokenEverywhereButStatus) {
  Json doc = Document();
  EXPECT_EQ(doc.at("components").at("securitySchemes").at("bearerAuth"),
            (Json{{"type", "http"}, {"scheme", "bearer"}}));
  EXPECT_EQ(doc.at("security"), Json::parse(R"([{"bearerAuth": []}])"));
  ForEachOperation(doc, [&](const std::string& method, const std::string& path, const Json& op) {
    SCOPED_TRACE(method + " " + path);
    if (method == "get" && path == "/api/status") {
      EXPECT_EQ(op.at("security"), Json::array());
      EXPECT_FALSE(op.at("responses").contains("401"));
    } else {
      EXPECT_FALSE(op.contains("security"));
      EXPECT_TRUE(op.at("responses").contains("401"));
    }
  });
}

// The server validates bodies against these schemas: each must refuse fields it does not know.
TEST(OpenApiTest, RequestBodiesAreClosedObjects) {
  Json doc = Document();
  int bodies = 0;
  ForEachOperation(doc, [&](const std::string& method, const std::string& path, const Json& op) {
    if (!op.contains("requestBody")) return;
    SCOPED_TRACE(method + " " + path);
    ++bodies;
    const Json* schema = RequestSchema(doc, method, path);
    ASSERT_NE(schema, nullptr);
    EXPECT_EQ(op.at("requestBody").at("content").size(), 1u);  // application/json only
    const Json& resolved = Deref(doc, *schema);
    EXPECT_EQ(resolved.at("type"), "object");
    EXPECT_EQ(resolved.at("additionalProperties"), false);
    for (const Json& name : resolved.value("required", Json::array())) {
      EXPECT_TRUE(resolved.at("properties").contains(name.get<std::string>())) << name;
    }
  });
  EXPECT_EQ(bodies, 7);
}

// Validation rejects a keyword it does not check, so the document must use only known ones; and
// every pattern must be a valid ECMAScript regex.
TEST(OpenApiTest, SchemasUseOnlyKeywordsTheValidatorChecks) {
  Json doc = Document();
  int schemas = 0;
  ForEachSchema(doc, [&](const std::string& where, const Json& schema) {
    ++schemas;
    if (schema.is_boolean()) return;
    ASSERT_TRUE(schema.is_object()) << where;
    for (const auto& [keyword, value] : schema.items()) {
      EXPECT_TRUE(JsonSchemaValidator::IsKnownKeyword(keyword)) << where << ": " << keyword;
    }
    // OpenAPI 3.0: siblings of $ref are ignored, so there must be none.
    if (schema.contains("$ref")) {
      EXPECT_EQ(schema.size(), 1u) << where;
    }
    // OpenAPI 3.0 (unlike JSON Schema 2020-12): one type name; nullable for null.
    if (schema.contains("type")) {
      EXPECT_TRUE(schema.at("type").is_string()) << where;
    }
    if (schema.contains("required")) {
      EXPECT_FALSE(schema.at("required").empty()) << where;
    }
    if (schema.contains("pattern")) {  // the server matches patterns with RE2
      EXPECT_TRUE(Regex::Compile(schema.at("pattern").get<std::string>()).ok()) << where;
    }
  });
  EXPECT_GT(schemas, 100);
}

TEST(OpenApiTest, ErrorSchemaListsEveryErrorCode) {
  Json doc = Document();
  const Json& code = doc.at("components")
                         .at("schemas")
                         .at("Error")
                         .at("properties")
                         .at("error")
                         .at("properties")
                         .at("code");
  EXPECT_EQ(code.at("enum"), Json::parse(R"(["invalid_argument", "unauthorized", "not_found",
      "method_not_allowed", "conflict", "payload_too_large", "config", "connection", "internal",
      "request_timeout", "unsupported_media_type", "too_many_requests", "headers_too_large",
      "unavailable"])"));
}

}  // namespace
}  // namespace tether
