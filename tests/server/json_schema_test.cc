// JsonSchemaValidator: each keyword, error messages naming the field's path, $ref, and the request
// body schemas of the API document against realistic requests.
#include "server/json_schema.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server/openapi.h"
#include "util/test_util.h"

namespace tether {
namespace {

using Json = nlohmann::json;

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// A validator over a small document whose schemas the tests reach by $ref.
class JsonSchemaTest : public ::testing::Test {
 protected:
  JsonSchemaTest()
      : validator_(Json::parse(R"({
          "components": {"schemas": {
            "Name": {"type": "string", "minLength": 1},
            "Alias": {"$ref": "#/components/schemas/Name"},
            "Point": {"type": "object", "required": ["x", "y"], "additionalProperties": false,
                      "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}},
            "LoopA": {"$ref": "#/components/schemas/LoopB"},
            "LoopB": {"$ref": "#/components/schemas/LoopA"},
            "Bad pattern": {"type": "string", "pattern": "("}
          }}})")) {}

  Status Check(const char* schema, const Json& value) const {
    return validator_.Validate(Json::parse(schema), value);
  }
  // The message of a refusal, failing the test unless it is kInvalidArgument.
  std::string Refusal(const char* schema, const Json& value) const {
    Status s = Check(schema, value);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << schema << " " << value.dump();
    return s.message();
  }

  JsonSchemaValidator validator_;
};

TEST_F(JsonSchemaTest, TypeNames) {
  struct Case {
    const char* type;
    Json value;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"object", Json::object(), true},
      {"object", Json::array(), false},
      {"array", Json::array(), true},
      {"array", "[]", false},
      {"string", "x", true},
      {"string", 1, false},
      {"integer", 10, true},
      {"integer", -10, true},
      {"integer", 18446744073709551615u, true},
      {"integer", 10.5, false},
      {"integer", 10.0, false},
      {"integer", "10", false},
      {"integer", true, false},
      {"number", 10, true},
      {"number", 2.5, true},
      {"number", "2.5", false},
      {"boolean", false, true},
      {"boolean", 0, false},
      {"null", nullptr, true},
      {"null", 0, false},
      {"string", nullptr, false},
  };
  for (const Case& c : cases) {
    Json schema = {{"type", c.type}};
    Status s = validator_.Validate(schema, c.value);
    EXPECT_EQ(s.ok(), c.ok) << c.type << " " << c.value.dump() << ": " << s.ToString();
    if (!c.ok) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST_F(JsonSchemaTest, IntegerMeansWrittenWithoutAFraction) {
  EXPECT_EQ(Check(R"({"type": "integer"})", Json::parse("1e3")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_OK(Check(R"({"type": "integer"})", Json::parse("1000")));
}

TEST_F(JsonSchemaTest, TypeListAndNullable) {
  const char* list = R"({"type": ["string", "null"]})";
  EXPECT_OK(Check(list, "x"));
  EXPECT_OK(Check(list, nullptr));
  EXPECT_TRUE(Contains(Refusal(list, 5), "expected a string or null, got 5"));

  const char* nullable = R"({"type": "integer", "nullable": true, "minimum": 1})";
  EXPECT_OK(Check(nullable, nullptr));
  EXPECT_OK(Check(nullable, 3));
  Refusal(nullable, 0);
  Refusal(R"({"type": "integer", "nullable": false})", nullptr);
  Refusal(R"({"type": "integer"})", nullptr);
}

TEST_F(JsonSchemaTest, MessageNamesTheFieldAndTheValue) {
  const char* schema = R"({"type": "object", "properties": {"batch_size": {"type": "integer"}}})";
  EXPECT_OK(Check(schema, {{"batch_size", 10}}));
  EXPECT_EQ(Refusal(schema, {{"batch_size", "ten"}}),
            R"(field 'batch_size': expected an integer, got "ten")");
  // The top level has no field name.
  EXPECT_EQ(Refusal(schema, Json::array({1})), "expected an object, got [1]");
}

TEST_F(JsonSchemaTest, LongValuesAreCutShortInMessages) {
  std::string message = Refusal(R"({"type": "integer"})", std::string(10000, 'x'));
  EXPECT_LT(message.size(), 120u);
}

TEST_F(JsonSchemaTest, NestedPathsInMessages) {
  const char* schema = R"({"type": "object", "properties": {
      "entities": {"type": "object", "additionalProperties": {
        "type": "object", "additionalProperties": false, "required": ["table"],
        "properties": {"table": {"type": "string"},
                       "key": {"type": "array", "items": {"type": "string"}}}}}}})";
  EXPECT_OK(Check(schema, Json::parse(R"({"entities": {"product": {"table": "p",
                                                                   "key": ["id", "sku"]}}})")));
  EXPECT_TRUE(Contains(
      Refusal(schema,
              Json::parse(R"({"entities": {"product": {"table": "p", "key": ["id", 5]}}})")),
      "field 'entities.product.key[1]': expected a string, got 5"));
  EXPECT_TRUE(Contains(Refusal(schema, Json::parse(R"({"entities": {"product": {"tabel": "p"}}})")),
                       "unknown field 'entities.product.tabel'"));
  EXPECT_TRUE(Contains(Refusal(schema, Json::parse(R"({"entities": {"product": {}}})")),
                       "missing required field 'entities.product.table'"));
  EXPECT_TRUE(Contains(Refusal(schema, Json::parse(R"({"entities": {"product": 1}})")),
                       "field 'entities.product': expected an object, got 1"));
}

TEST_F(JsonSchemaTest, Required) {
  const char* schema = R"({"type": "object", "required": ["name", "url"],
                           "properties": {"name": {"type": "string"}, "url": {"type": "string"}}})";
  EXPECT_OK(Check(schema, {{"name", "a"}, {"url", "sqlite:a.db"}}));
  EXPECT_EQ(Refusal(schema, {{"name", "a"}}), "missing required field 'url'");
  // A null value is present; its type is what is wrong.
  EXPECT_TRUE(Contains(Refusal(schema, {{"name", "a"}, {"url", nullptr}}), "field 'url'"));
}

TEST_F(JsonSchemaTest, AdditionalProperties) {
  const char* closed = R"({"type": "object", "additionalProperties": false,
                           "properties": {"table": {"type": "string"}}})";
  EXPECT_OK(Check(closed, {{"table", "t"}}));
  EXPECT_OK(Check(closed, Json::object()));
  EXPECT_TRUE(Contains(Refusal(closed, {{"table", "t"}, {"tabel", "t"}}), "unknown field 'tabel'"));
  // An unknown field is reported before the required one it was probably meant to be.
  EXPECT_TRUE(
      Contains(Refusal(R"({"type": "object", "additionalProperties": false, "required": ["table"],
                          "properties": {"table": {"type": "string"}}})",
                       {{"tabel", "t"}}),
               "unknown field 'tabel'"));

  const char* typed = R"({"type": "object", "additionalProperties": {"type": "integer"}})";
  EXPECT_OK(Check(typed, {{"a", 1}, {"b", 2}}));
  EXPECT_TRUE(Contains(Refusal(typed, {{"a", 1}, {"b", "2"}}), "field 'b'"));

  EXPECT_OK(Check(R"({"type": "object"})", {{"anything", {1, 2}}}));
  EXPECT_OK(Check(R"({"type": "object", "additionalProperties": true})", {{"x", 1}}));
}

TEST_F(JsonSchemaTest, Items) {
  const char* schema = R"({"type": "array", "items": {"type": "string", "minLength": 1}})";
  EXPECT_OK(Check(schema, Json::array()));
  EXPECT_OK(Check(schema, {"a", "b"}));
  EXPECT_TRUE(Contains(Refusal(schema, {"a", ""}), "field '[1]'"));
}

TEST_F(JsonSchemaTest, MinItemsMaxItems) {
  const char* schema = R"({"type": "array", "minItems": 1, "maxItems": 2})";
  Refusal(schema, Json::array());
  EXPECT_OK(Check(schema, {1}));
  EXPECT_OK(Check(schema, {1, 2}));
  Refusal(schema, {1, 2, 3});
}

TEST_F(JsonSchemaTest, Enum) {
  const char* schema = R"({"type": "string", "enum": ["full", "incremental"]})";
  EXPECT_OK(Check(schema, "full"));
  EXPECT_EQ(Refusal(schema, "fast"), R"(expected one of "full", "incremental", got "fast")");
  Refusal(schema, "Full");
  EXPECT_OK(Check(R"({"enum": [1, "a", null]})", nullptr));
  Refusal(R"({"enum": [1, "a", null]})", 2);
}

TEST_F(JsonSchemaTest, MinimumMaximum) {
  const char* schema = R"({"type": "integer", "minimum": 1, "maximum": 1000000})";
  EXPECT_OK(Check(schema, 1));
  EXPECT_OK(Check(schema, 1000000));
  EXPECT_TRUE(Contains(Refusal(schema, 0), "at least 1"));
  EXPECT_TRUE(Contains(Refusal(schema, 1000001), "at most 1000000"));
  Refusal(schema, -9223372036854775807LL - 1);
  Refusal(schema, 18446744073709551615u);

  const char* real = R"({"type": "number", "minimum": 0, "maximum": 100})";
  EXPECT_OK(Check(real, 99.5));
  Refusal(real, 100.01);
  Refusal(real, -0.5);
  EXPECT_OK(Check(R"({"type": "number", "minimum": 0.5})", 1));
  Refusal(R"({"type": "number", "maximum": 0.5})", 1);
  // Bounds apply to numbers only; another type is the type keyword's business.
  EXPECT_OK(Check(R"({"minimum": 5})", "text"));
}

TEST_F(JsonSchemaTest, LengthsCountCharactersNotBytes) {
  const char* schema = R"({"type": "string", "minLength": 2, "maxLength": 3})";
  EXPECT_OK(Check(schema, "\xC3\xA9\xC3\xA9\xC3\xA9"));  // "ééé": 3 characters, 6 bytes
  Refusal(schema, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
  Refusal(schema, "\xC3\xA9");
  EXPECT_TRUE(Contains(Refusal(R"({"type": "string", "minLength": 1})", ""), "empty"));
}

TEST_F(JsonSchemaTest, PatternIsSearchedNotAnchored) {
  EXPECT_OK(Check(R"({"type": "string", "pattern": "[0-9]"})", "abc1def"));
  Refusal(R"({"type": "string", "pattern": "[0-9]"})", "abcdef");
  const char* anchored = R"({"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"})";
  EXPECT_OK(Check(anchored, "live-to-staging.v2"));
  EXPECT_TRUE(Contains(Refusal(anchored, "live to staging"), "must match ^[A-Za-z0-9_.-]{1,64}$"));
  // A description, when there is one, says it in words.
  EXPECT_TRUE(Contains(Refusal(R"({"type": "string", "pattern": "^[a-z]+$",
                                   "description": "Lower-case letters."})",
                               "Abc"),
                       "Lower-case letters."));
  // Patterns outside the document are compiled when met.
  EXPECT_OK(Check(R"({"pattern": "^a+$"})", "aaa"));
}

TEST_F(JsonSchemaTest, OneOf) {
  const char* schema = R"({"oneOf": [{"type": "string"},
                                     {"type": "array", "items": {"type": "string"}}]})";
  EXPECT_OK(Check(schema, "id"));
  EXPECT_OK(Check(schema, {"id", "sku"}));
  // Only the array form takes an array: its error is the one that explains.
  EXPECT_TRUE(Contains(Refusal(schema, {"id", 2}), "field '[1]': expected a string, got 2"));
  EXPECT_TRUE(Contains(Refusal(schema, 5), "expected a string or an array of strings, got 5"));

  // More than one alternative fits: refused.
  const char* overlapping = R"({"oneOf": [{"type": "number"}, {"type": "integer"}]})";
  EXPECT_OK(Check(overlapping, 1.5));
  Refusal(overlapping, 1);
}

TEST_F(JsonSchemaTest, OneOfObjectsPickTheFormWhoseRequiredFieldsAreGiven) {
  const char* schema = R"({"oneOf": [
      {"type": "string", "minLength": 1},
      {"type": "object", "required": ["every"], "additionalProperties": false,
       "properties": {"every": {"type": "string"}}},
      {"type": "object", "required": ["cron"], "additionalProperties": false,
       "properties": {"cron": {"type": "string"}}}]})";
  EXPECT_OK(Check(schema, "every 5m"));
  EXPECT_OK(Check(schema, {{"every", "5m"}}));
  EXPECT_OK(Check(schema, {{"cron", "*/5 * * * *"}}));
  EXPECT_TRUE(Contains(Refusal(schema, {{"every", 5}}), "field 'every': expected a string"));
  EXPECT_TRUE(Contains(Refusal(schema, Json::object()),
                       "expected a string, an object with 'every' or an object with 'cron'"));
  Refusal(schema, {{"every", "5m"}, {"cron", "* * * * *"}});
  Refusal(schema, "");
}

TEST_F(JsonSchemaTest, AnyOf) {
  const char* schema = R"({"anyOf": [{"type": "number"}, {"type": "integer"}]})";
  EXPECT_OK(Check(schema, 1));
  EXPECT_OK(Check(schema, 1.5));
  Refusal(schema, "1");
}

TEST_F(JsonSchemaTest, RefResolvesAgainstTheDocument) {
  const char* point = R"({"$ref": "#/components/schemas/Point"})";
  EXPECT_OK(Check(point, {{"x", 1}, {"y", 2}}));
  EXPECT_TRUE(Contains(Refusal(point, {{"x", 1}}), "missing required field 'y'"));
  EXPECT_TRUE(Contains(Refusal(point, {{"x", 1}, {"y", 2}, {"z", 3}}), "unknown field 'z'"));

  // A $ref to a $ref, and a $ref inside properties keeps the path.
  EXPECT_OK(Check(R"({"$ref": "#/components/schemas/Alias"})", "a"));
  Refusal(R"({"$ref": "#/components/schemas/Alias"})", "");
  const char* nested = R"({"type": "object", "properties": {
                            "points": {"type": "array", "items": {"$ref": "#/components/schemas/Point"}}}})";
  EXPECT_TRUE(Contains(
      Refusal(nested, Json::parse(R"({"points": [{"x": 1, "y": 2}, {"x": 1, "y": "2"}]})")),
      "field 'points[1].y'"));
}

TEST_F(JsonSchemaTest, BrokenSchemasAreInternalErrors) {
  ASSERT_CODE(Check(R"({"$ref": "#/components/schemas/Nope"})", 1), StatusCode::kInternal);
  ASSERT_CODE(Check(R"({"$ref": "https://example.com/schema"})", 1), StatusCode::kInternal);
  ASSERT_CODE(Check(R"({"$ref": "#/components/schemas/LoopA"})", 1), StatusCode::kInternal);
  ASSERT_CODE(Check(R"({"$ref": "#/components/schemas/Bad pattern"})", "x"), StatusCode::kInternal);
  // A keyword the validator does not check must not be silently ignored.
  ASSERT_CODE(Check(R"({"type": "string", "const": "x"})", "y"), StatusCode::kInternal);
  ASSERT_CODE(Check(R"({"oneOf": []})", 1), StatusCode::kInternal);
  ASSERT_CODE(Check("5", 1), StatusCode::kInternal);
  // Annotations are fine.
  EXPECT_OK(Check(R"({"type": "string", "description": "d", "example": "e", "format": "date-time",
                      "default": "x"})",
                  "y"));
}

TEST_F(JsonSchemaTest, BooleanSchemas) {
  EXPECT_OK(Check("true", 1));
  Refusal("false", 1);
}

TEST(JsonSchemaRequestSchemaTest, FindsTheJsonBodyOfAnOperation) {
  Json doc = Json::parse(kOpenApiJson);
  const Json* schema = RequestSchema(doc, "POST", "/api/connections");
  ASSERT_NE(schema, nullptr);
  EXPECT_EQ(schema->at("$ref"), "#/components/schemas/ConnectionCreate");
  EXPECT_EQ(RequestSchema(doc, "post", "/api/connections"), schema);
  EXPECT_EQ(RequestSchema(doc, "GET", "/api/connections"), nullptr);
  EXPECT_EQ(RequestSchema(doc, "POST", "/api/runs/{id}/stop"), nullptr);
  EXPECT_EQ(RequestSchema(doc, "POST", "/api/nope"), nullptr);
  EXPECT_EQ(RequestSchema(Json::object(), "POST", "/api/connections"), nullptr);

  JsonSchemaValidator validator(doc);
  EXPECT_OK(validator.ValidateRequestBody("POST", "/api/connections",
                                          {{"name", "live"}, {"url", "sqlite:live.db"}}));
  ASSERT_CODE(validator.ValidateRequestBody("POST", "/api/connections", {{"name", "live"}}),
              StatusCode::kInvalidArgument);
  ASSERT_CODE(validator.ValidateRequestBody("POST", "/api/runs/{id}/stop", Json::object()),
              StatusCode::kNotFound);
}

// The API document's request bodies, each with a realistic request.
class JsonSchemaRequestBodyTest : public ::testing::Test {
 protected:
  JsonSchemaRequestBodyTest() : doc_(Json::parse(kOpenApiJson)), validator_(doc_) {}

  static Json Pipeline() {
    return Json::parse(R"({
      "name": "live-to-staging",
      "source": "live",
      "target": "staging",
      "entities": {
        "category": {"table": "category", "key": "id", "match": ["slug"],
                     "references": {"parent_id": "category"}, "delete": "propagate"},
        "product": {
          "source_table": "product", "target_table": "products",
          "key": ["id"], "keys": "mapped", "match": ["sku"],
          "references": {"category_id": "category"},
          "cursor": {"column": "updated_at", "lag": "30s"},
          "columns": {"include": ["id", "sku", "name", "price", "category_id"],
                      "rename": {"title": "name"}, "default": {"country": "AU"},
                      "values": {"status": {"1": "active", "0": "inactive"}}},
          "filter": {"where": ["status = 1"], "date_column": "created_at"},
          "delete": {"soft": "deleted_at"},
          "validate": {"sku": {"required": true, "pattern": "^[A-Z0-9-]+$", "max_length": 64},
                       "price": {"type": "number", "min": 0}}
        }
      },
      "on_duplicate": "merge",
      "on_invalid": "skip",
      "on_conflict": "source_wins",
      "batch_size": 1000,
      "concurrency": 2,
      "schedule": {"every": "5m"},
      "state": "sqlite:state.db"
    })");
  }

  // One realistic body per operation that takes one.
  static std::map<std::pair<std::string, std::string>, Json> Examples() {
    Json update = Pipeline();
    update.erase("name");
    update["schedule"] = "*/5 * * * *";
    return {
        {{"post", "/api/connections"},
         {{"name", "live"},
          {"url", "postgres://shop@db.internal:5432/shop?sslmode=require"},
          {"password", "s3cret"}}},
        {{"put", "/api/connections/{name}"}, {{"url", "sqlite:data/staging.db?create=1"}}},
        {{"post", "/api/pipelines"}, Pipeline()},
        {{"put", "/api/pipelines/{name}"}, update},
        {{"post", "/api/pipelines/validate"}, Pipeline()},
        {{"post", "/api/pipelines/{name}/runs"}, Json::parse(R"({
            "mode": "incremental", "dry_run": true, "entities": ["product"],
            "keys": {"product": ["42", "SKU-1"]}, "where": ["product.price > 10"],
            "restart": false, "create_tables": true})")},
        {{"post", "/api/pipelines/{name}/diff"},
         {{"entities", {"product", "category"}}, {"checksums", false}}},
    };
  }

  Json doc_;
  JsonSchemaValidator validator_;
};

TEST_F(JsonSchemaRequestBodyTest, EveryOperationWithABodyHasAnExample) {
  std::set<std::pair<std::string, std::string>> with_body;
  for (const auto& [path, item] : doc_.at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      if (op.is_object() && op.contains("requestBody")) with_body.insert({method, path});
    }
  }
  std::set<std::pair<std::string, std::string>> examples;
  for (const auto& [operation, body] : Examples()) examples.insert(operation);
  EXPECT_EQ(with_body, examples);
}

TEST_F(JsonSchemaRequestBodyTest, AcceptsARealisticRequest) {
  for (const auto& [operation, body] : Examples()) {
    const auto& [method, path] = operation;
    SCOPED_TRACE(method + " " + path);
    EXPECT_OK(validator_.ValidateRequestBody(method, path, body));
  }
}

TEST_F(JsonSchemaRequestBodyTest, RefusesAnUnknownField) {
  for (const auto& [operation, body] : Examples()) {
    const auto& [method, path] = operation;
    Json with_unknown = body;
    with_unknown["bogus"] = 1;
    Status s = validator_.ValidateRequestBody(method, path, with_unknown);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << method << " " << path;
    EXPECT_TRUE(Contains(s.message(), "'bogus'"));
  }
}

TEST_F(JsonSchemaRequestBodyTest, RefusesAMissingRequiredField) {
  int checked = 0;
  for (const auto& [operation, body] : Examples()) {
    const auto& [method, path] = operation;
    const Json* schema = RequestSchema(doc_, method, path);
    ASSERT_NE(schema, nullptr);
    Json::json_pointer pointer(schema->at("$ref").get<std::string>().substr(1));
    for (const Json& name : doc_.at(pointer).value("required", Json::array())) {
      Json without = body;
      without.erase(name.get<std::string>());
      Status s = validator_.ValidateRequestBody(method, path, without);
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << method << " " << path << " " << name;
      EXPECT_TRUE(Contains(s.message(), "missing required field '" + name.get<std::string>()));
      ++checked;
    }
  }
  // name + url, url, name + source + target + entities (twice), source + target + entities.
  EXPECT_EQ(checked, 2 + 1 + 4 + 3 + 4);
}

TEST_F(JsonSchemaRequestBodyTest, RefusesABodyThatIsNotAnObject) {
  for (const auto& [operation, body] : Examples()) {
    const auto& [method, path] = operation;
    ASSERT_CODE(validator_.ValidateRequestBody(method, path, Json::array()),
                StatusCode::kInvalidArgument);
    ASSERT_CODE(validator_.ValidateRequestBody(method, path, "text"), StatusCode::kInvalidArgument);
  }
}

// Run and diff bodies have no required field: {} is a full sync / a plain diff.
TEST_F(JsonSchemaRequestBodyTest, EmptyRunAndDiffBodiesAreAccepted) {
  EXPECT_OK(validator_.ValidateRequestBody("post", "/api/pipelines/{name}/runs", Json::object()));
  EXPECT_OK(validator_.ValidateRequestBody("post", "/api/pipelines/{name}/diff", Json::object()));
}

TEST_F(JsonSchemaRequestBodyTest, PipelineFieldsNameTheirPath) {
  auto refusal = [&](const Json& body) {
    Status s = validator_.ValidateRequestBody("post", "/api/pipelines", body);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << body.dump();
    return s.message();
  };
  Json body = Pipeline();
  body["batch_size"] = "ten";
  EXPECT_EQ(refusal(body), R"(field 'batch_size': expected an integer, got "ten")");
  body = Pipeline();
  body["batch_size"] = 0;
  EXPECT_TRUE(Contains(refusal(body), "field 'batch_size'"));
  body["batch_size"] = 1000001;
  EXPECT_TRUE(Contains(refusal(body), "field 'batch_size'"));
  body = Pipeline();
  body["on_duplicate"] = "overwrite";
  EXPECT_TRUE(Contains(refusal(body), "field 'on_duplicate'"));
  body = Pipeline();
  body["entities"]["product"]["tabel"] = "product";
  EXPECT_TRUE(Contains(refusal(body), "unknown field 'entities.product.tabel'"));
  body = Pipeline();
  body["entities"]["product"]["key"] = {"id", 7};
  EXPECT_TRUE(Contains(refusal(body), "field 'entities.product.key[1]': expected a string"));
  body = Pipeline();
  body["entities"]["product"]["keys"] = "random";
  EXPECT_TRUE(Contains(refusal(body), "field 'entities.product.keys'"));
  body = Pipeline();
  body["entities"]["product"] = "product";
  EXPECT_TRUE(Contains(refusal(body), "field 'entities.product': expected an object"));
  body = Pipeline();
  body["name"] = "live to staging";
  EXPECT_TRUE(Contains(refusal(body), "field 'name'"));
  body["name"] = std::string(65, 'a');
  EXPECT_TRUE(Contains(refusal(body), "field 'name'"));
  // A pipeline's read-only fields are not part of a request.
  body = Pipeline();
  body["origin"] = "api";
  EXPECT_TRUE(Contains(refusal(body), "unknown field 'origin'"));
}

// Entity details are the configuration loader's to check (a 422 naming the key): the schema only
// checks the top-level keys, and lets any nested value through.
TEST_F(JsonSchemaRequestBodyTest, EntityDetailsAreLeftToTheConfigLoader) {
  Json body = Pipeline();
  body["entities"]["product"]["columns"] = {{"inclde", 5}};
  body["entities"]["product"]["validate"] = {{"sku", {{"max_len", "x"}}}};
  body["entities"]["product"]["filter"] = {{"where", "status = 1"}};
  body["entities"]["product"]["cursor"] = "updated_at";
  body["entities"]["product"]["delete"] = "ignore";
  body["entities"]["product"]["key"] = "id";
  EXPECT_OK(validator_.ValidateRequestBody("post", "/api/pipelines", body));
  body["entities"]["empty"] = Json::object();
  EXPECT_OK(validator_.ValidateRequestBody("post", "/api/pipelines", body));
}

TEST_F(JsonSchemaRequestBodyTest, ScheduleForms) {
  for (const Json& schedule : {Json("every 5m"), Json("*/5 * * * *"), Json("@hourly"),
                               Json({{"every", "30s"}}), Json({{"cron", "0 3 * * *"}})}) {
    Json body = Pipeline();
    body["schedule"] = schedule;
    SCOPED_TRACE(schedule.dump());
    EXPECT_OK(validator_.ValidateRequestBody("post", "/api/pipelines", body));
  }
  for (const Json& schedule :
       {Json(""), Json(5), Json::object(), Json({{"every", 5}}),
        Json({{"every", "5m"}, {"cron", "* * * * *"}}), Json({{"at", "03:00"}}), Json::array()}) {
    Json body = Pipeline();
    body["schedule"] = schedule;
    Status s = validator_.ValidateRequestBody("post", "/api/pipelines", body);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << schedule.dump();
    EXPECT_TRUE(Contains(s.message(), "'schedule")) << schedule.dump();
  }
}

TEST_F(JsonSchemaRequestBodyTest, RunRequestFields) {
  auto check = [&](const char* body) {
    return validator_.ValidateRequestBody("post", "/api/pipelines/{name}/runs", Json::parse(body));
  };
  EXPECT_OK(check(R"({"mode": "full"})"));
  ASSERT_CODE(check(R"({"mode": "fast"})"), StatusCode::kInvalidArgument);
  ASSERT_CODE(check(R"({"dry_run": "yes"})"), StatusCode::kInvalidArgument);
  ASSERT_CODE(check(R"({"entities": "product"})"), StatusCode::kInvalidArgument);
  Status s = check(R"({"keys": {"product": [42]}})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "field 'keys.product[0]'"));
}

TEST_F(JsonSchemaRequestBodyTest, ConnectionFields) {
  auto check = [&](const Json& body) {
    return validator_.ValidateRequestBody("post", "/api/connections", body);
  };
  EXPECT_OK(check({{"name", "a.b-c_1"}, {"url", "sqlite:a.db"}}));
  ASSERT_CODE(check({{"name", ""}, {"url", "sqlite:a.db"}}), StatusCode::kInvalidArgument);
  ASSERT_CODE(check({{"name", "a/b"}, {"url", "sqlite:a.db"}}), StatusCode::kInvalidArgument);
  ASSERT_CODE(check({{"name", "a"}, {"url", ""}}), StatusCode::kInvalidArgument);
  ASSERT_CODE(check({{"name", "a"}, {"url", "sqlite:a.db"}, {"password", 1234}}),
              StatusCode::kInvalidArgument);
  // The response's fields are not accepted in a request.
  ASSERT_CODE(check({{"name", "a"}, {"url", "sqlite:a.db"}, {"engine", "sqlite"}}),
              StatusCode::kInvalidArgument);
}

// One validator serves every request thread.
TEST_F(JsonSchemaRequestBodyTest, SharedBetweenThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        for (const auto& [operation, body] : Examples()) {
          if (!validator_.ValidateRequestBody(operation.first, operation.second, body).ok()) {
            ++failures;
          }
        }
        Json bad = Pipeline();
        bad["name"] = "not valid";
        if (validator_.ValidateRequestBody("post", "/api/pipelines", bad).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace tether
