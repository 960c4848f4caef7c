// Tests for LoadConfig / ParseConfig: the documented format parsed into the model, defaults,
// and every class of error reported with its exact file:line:column.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "connectors/connector.h"
#include "util/test_util.h"

namespace tether {
namespace {

using ::tether::testing::TempDir;
using ::tether::testing::WriteFile;

// "line:column" (1-based) of the first occurrence of `needle` in `text`, skipping `skip` of them.
std::string At(const std::string& text, const std::string& needle, int skip = 0) {
  size_t pos = text.find(needle);
  for (int i = 0; i < skip && pos != std::string::npos; ++i) pos = text.find(needle, pos + 1);
  EXPECT_NE(pos, std::string::npos) << needle;
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return std::to_string(line) + ":" + std::to_string(pos - line_start + 1);
}

EnvLookup MapEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class LoaderTest : public ::testing::Test {
 protected:
  std::string ConfigPath() const { return dir_.File("tether.yaml"); }

  Result<Config> Load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
    WriteFile(ConfigPath(), yaml);
    LoadOptions options;
    options.env = MapEnv(std::move(env));
    return LoadConfig(ConfigPath(), options);
  }

  // A kConfig error whose message starts with "<config path>:<line:column>: " and mentions
  // `mention` (a key name, a value, a variable).
  void ExpectError(const Result<Config>& r, const std::string& line_column,
                   const std::string& mention = "") {
    ASSERT_FALSE(r.ok()) << "expected an error at " << line_column;
    EXPECT_EQ(r.status().code(), StatusCode::kConfig) << r.status().ToString();
    const std::string prefix = ConfigPath() + ":" + line_column + ": ";
    EXPECT_EQ(r.status().message().substr(0, prefix.size()), prefix) << r.status().message();
    EXPECT_NE(r.status().message().find(mention), std::string::npos)
        << "'" << mention << "' not in: " << r.status().message();
  }

  TempDir dir_;
};

const char kDesignExample[] = R"(connections:
  live:    { url: "sqlite:demo/live.db" }
  staging: { url: "postgres://sync:${STAGING_PASS}@127.0.0.1:5432/shop" }

entities:
  customer:
    table: customer          # same name on both sides, or source_table / target_table
    key: id                  # may be a list for composite keys
    keys: mapped             # identity (same ids both sides) | mapped (links pair them)
    match: [email]
  category:
    table: category
    key: id
    keys: mapped
    match: [slug]
    references: { parent_id: category }      # a tree
  product:
    table: product
    key: id
    keys: mapped
    match: [sku]
    references: { category_id: category }
    cursor: updated_at
    columns: { exclude: [internal_note], rename: { title: name } }
    validate:
      sku:   { required: true, pattern: "^[A-Z0-9-]+$" }
      price: { min: 0 }
  order:
    table: sales_order
    key: id
    keys: mapped
    match: [increment_id]
    references: { customer_id: customer }
    filter: { date_column: created_at }
  order_item:
    table: sales_order_item
    key: id
    keys: mapped
    match: [order_id, sku]                  # composite, through a remapped reference
    references: { order_id: order }
  product_category:                         # a join table: its key is two references,
    table: product_category                 # remapped first, then used as the key
    key: [product_id, category_id]
    keys: identity
    references: { product_id: product, category_id: category }

pipelines:
  live-to-staging:
    source: live
    target: staging
    entities: [customer, category, product, product_category, order, order_item]
    on_duplicate: merge      # merge | skip | update | error
    on_invalid: skip         # skip | error
    batch_size: 1000
)";

using Refs = std::vector<std::pair<std::string, std::string>>;
using Names = std::vector<std::string>;

TEST_F(LoaderTest, DesignExample) {
  auto r = Load(kDesignExample, {{"STAGING_PASS", "s3cret"}});
  ASSERT_OK(r);
  const Config& c = *r;
  const std::string base = std::filesystem::path(ConfigPath()).parent_path().string();
  EXPECT_EQ(c.path, ConfigPath());
  EXPECT_EQ(c.base_dir, base);

  ASSERT_EQ(c.connections.size(), 2u);
  EXPECT_EQ(c.connections[0].name, "live");
  EXPECT_EQ(c.connections[0].url, "sqlite:" + base + "/demo/live.db");
  EXPECT_EQ(c.connections[0].location.ToString(), ConfigPath() + ":2:3");
  EXPECT_EQ(c.connections[1].name, "staging");
  EXPECT_EQ(c.connections[1].url, "postgres://sync:s3cret@127.0.0.1:5432/shop");
  EXPECT_EQ(c.connections[1].location.line, 3);

  ASSERT_EQ(c.entities.size(), 6u);
  const EntityConfig* customer = c.FindEntity("customer");
  ASSERT_NE(customer, nullptr);
  EXPECT_EQ(customer->source_table, "customer");
  EXPECT_EQ(customer->target_table, "customer");
  EXPECT_EQ(customer->key, Names{"id"});
  EXPECT_EQ(customer->keys, KeyMode::kMapped);
  EXPECT_EQ(customer->match, Names{"email"});
  EXPECT_TRUE(customer->references.empty());
  EXPECT_EQ(customer->location.line, 6);
  EXPECT_EQ(customer->location.column, 3);

  const EntityConfig* category = c.FindEntity("category");
  ASSERT_NE(category, nullptr);
  EXPECT_EQ(category->references, (Refs{{"parent_id", "category"}}));
  ASSERT_NE(category->ReferenceOf("parent_id"), nullptr);
  EXPECT_EQ(*category->ReferenceOf("parent_id"), "category");
  EXPECT_EQ(category->ReferenceOf("id"), nullptr);

  const EntityConfig* product = c.FindEntity("product");
  ASSERT_NE(product, nullptr);
  EXPECT_EQ(product->match, Names{"sku"});
  EXPECT_EQ(product->references, (Refs{{"category_id", "category"}}));
  EXPECT_EQ(product->cursor, "updated_at");
  EXPECT_TRUE(product->columns.include.empty());
  EXPECT_EQ(product->columns.exclude, Names{"internal_note"});
  EXPECT_EQ(product->columns.rename, (std::map<std::string, std::string>{{"title", "name"}}));
  EXPECT_TRUE(product->columns.defaults.empty());
  EXPECT_TRUE(product->columns.values.empty());
  EXPECT_EQ(product->delete_policy, DeletePolicy::kIgnore);
  ASSERT_EQ(product->validate.size(), 2u);
  const ValidationRule& sku = product->validate.at("sku");
  EXPECT_TRUE(sku.required);
  EXPECT_EQ(sku.pattern, "^[A-Z0-9-]+$");
  EXPECT_FALSE(sku.type.has_value());
  EXPECT_FALSE(sku.min.has_value());
  EXPECT_EQ(sku.location.line, 26);
  const ValidationRule& price = product->validate.at("price");
  EXPECT_FALSE(price.required);
  EXPECT_EQ(price.min, 0.0);
  EXPECT_FALSE(price.max.has_value());

  const EntityConfig* order = c.FindEntity("order");
  ASSERT_NE(order, nullptr);
  EXPECT_EQ(order->source_table, "sales_order");
  EXPECT_EQ(order->target_table, "sales_order");
  EXPECT_EQ(order->filter.date_column, "created_at");
  EXPECT_TRUE(order->filter.where.empty());

  const EntityConfig* item = c.FindEntity("order_item");
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->match, (Names{"order_id", "sku"}));

  const EntityConfig* join = c.FindEntity("product_category");
  ASSERT_NE(join, nullptr);
  EXPECT_EQ(join->key, (Names{"product_id", "category_id"}));
  EXPECT_EQ(join->keys, KeyMode::kIdentity);
  EXPECT_EQ(join->references, (Refs{{"product_id", "product"}, {"category_id", "category"}}));

  ASSERT_EQ(c.pipelines.size(), 1u);
  const PipelineConfig* p = c.FindPipeline("live-to-staging");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->source, "live");
  EXPECT_EQ(p->target, "staging");
  EXPECT_EQ(p->entities,
            (Names{"customer", "category", "product", "product_category", "order", "order_item"}));
  EXPECT_EQ(p->on_duplicate, OnDuplicate::kMerge);
  EXPECT_EQ(p->on_invalid, OnInvalid::kSkip);
  EXPECT_EQ(p->on_conflict, OnConflict::kSourceWins);
  EXPECT_EQ(p->batch_size, 1000u);
  EXPECT_EQ(p->concurrency, 1);
  EXPECT_FALSE(p->schedule.has_value());
  EXPECT_FALSE(p->state.has_value());
  EXPECT_EQ(p->location.ToString(), ConfigPath() + ":" + At(kDesignExample, "live-to-staging:"));

  EXPECT_EQ(c.FindConnection("live"), &c.connections[0]);
  EXPECT_EQ(c.FindConnection("nope"), nullptr);
  EXPECT_EQ(c.FindEntity("nope"), nullptr);
  EXPECT_EQ(c.FindPipeline("nope"), nullptr);
}

TEST_F(LoaderTest, EveryField) {
  const std::string yaml = R"(version: 1
connections:
  a: "sqlite:/abs/a.db"
  b: { url: "sqlite::memory:" }
entities:
  parent:
    table: parent
  product:
    source_table: products
    target_table: catalog_product
    key: [store, id]
    keys: identity
    match: sku
    references: { parent_id: parent, self_id: product }
    cursor: updated_at
    columns:
      include: [id, store, sku, title, status, country, parent_id, self_id, deleted_at]
      exclude: [secret]
      rename: { title: name, sku: code }
      default: { country: AU, stock: 0, ratio: 0.5, active: true, code: "007", note: ~ }
      values:
        status: { "1": active, 0: inactive, ~: unknown, yes: true }
    filter:
      where: ["status = active", "price >= 10"]
      date_column: created_at
    delete: { soft: deleted_at }
    validate:
      sku: { required: true, type: text, min_length: 1, max_length: 64, pattern: "^[A-Z]+$" }
      price: { min: -1.5, max: 1e6, type: number }
pipelines:
  p:
    source: a
    target: b
    entities: [product, parent]
    on_duplicate: update
    on_invalid: error
    on_conflict: newest_wins
    batch_size: 500
    concurrency: 8
    schedule: "5m"
    state: "sqlite:state/tether.db?mode=rwc"
)";
  auto r = Load(yaml);
  ASSERT_OK(r);
  const std::string base = std::filesystem::path(ConfigPath()).parent_path().string();
  EXPECT_EQ(r->connections[0].url, "sqlite:/abs/a.db");
  EXPECT_EQ(r->connections[1].url, "sqlite::memory:");

  const EntityConfig& e = r->entities[1];
  EXPECT_EQ(e.name, "product");
  EXPECT_EQ(e.source_table, "products");
  EXPECT_EQ(e.target_table, "catalog_product");
  EXPECT_EQ(e.key, (Names{"store", "id"}));
  EXPECT_EQ(e.keys, KeyMode::kIdentity);
  EXPECT_EQ(e.match, Names{"sku"});
  EXPECT_EQ(e.references, (Refs{{"parent_id", "parent"}, {"self_id", "product"}}));
  EXPECT_EQ(e.columns.include.size(), 9u);
  EXPECT_EQ(e.columns.exclude, Names{"secret"});
  EXPECT_EQ(e.columns.rename.at("title"), "name");
  EXPECT_EQ(e.columns.rename.at("sku"), "code");

  const auto& d = e.columns.defaults;
  ASSERT_EQ(d.size(), 6u);
  EXPECT_EQ(d.at("country"), Value::Text("AU"));
  EXPECT_EQ(d.at("stock"), Value::Int(0));
  EXPECT_EQ(d.at("ratio"), Value::Real(0.5));
  EXPECT_EQ(d.at("active"), Value::Bool(true));
  EXPECT_EQ(d.at("code"), Value::Text("007"));  // quoted: stays text
  EXPECT_TRUE(d.at("note").is_null());

  const auto& status = e.columns.values.at("status");
  ASSERT_EQ(status.size(), 4u);  // file order
  EXPECT_EQ(status[0].first, Value::Text("1"));
  EXPECT_EQ(status[0].second, Value::Text("active"));
  EXPECT_EQ(status[1].first, Value::Int(0));
  EXPECT_EQ(status[1].second, Value::Text("inactive"));
  EXPECT_TRUE(status[2].first.is_null());
  EXPECT_EQ(status[2].second, Value::Text("unknown"));
  EXPECT_EQ(status[3].first, Value::Text("yes"));  // YAML 1.2: only true/false are booleans
  EXPECT_EQ(status[3].second, Value::Bool(true));

  ASSERT_EQ(e.filter.where.size(), 2u);
  EXPECT_EQ(e.filter.where[0].column, "status");
  EXPECT_EQ(e.filter.where[0].op, Condition::Op::kEq);
  EXPECT_EQ(e.filter.where[0].value, Value::Text("active"));
  EXPECT_EQ(e.filter.where[1].op, Condition::Op::kGe);
  EXPECT_EQ(e.filter.where[1].value, Value::Int(10));
  EXPECT_EQ(e.filter.date_column, "created_at");

  EXPECT_EQ(e.delete_policy, DeletePolicy::kSoft);
  EXPECT_EQ(e.soft_delete_column, "deleted_at");

  const ValidationRule& sku = e.validate.at("sku");
  EXPECT_TRUE(sku.required);
  EXPECT_EQ(sku.type, "text");
  EXPECT_EQ(sku.min_length, 1);
  EXPECT_EQ(sku.max_length, 64);
  EXPECT_EQ(sku.pattern, "^[A-Z]+$");
  const ValidationRule& price = e.validate.at("price");
  EXPECT_EQ(price.min, -1.5);
  EXPECT_EQ(price.max, 1e6);
  EXPECT_EQ(price.type, "number");

  const PipelineConfig& p = r->pipelines[0];
  EXPECT_EQ(p.entities, (Names{"product", "parent"}));  // as written
  EXPECT_EQ(p.on_duplicate, OnDuplicate::kUpdate);
  EXPECT_EQ(p.on_invalid, OnInvalid::kError);
  EXPECT_EQ(p.on_conflict, OnConflict::kNewestWins);
  EXPECT_EQ(p.batch_size, 500u);
  EXPECT_EQ(p.concurrency, 8);
  EXPECT_EQ(p.schedule, "every 5m");  // normalized
  EXPECT_EQ(p.state, "sqlite:" + base + "/state/tether.db?mode=rwc");

  auto order = EntityOrder(*r, p);
  ASSERT_OK(order);
  EXPECT_EQ(*order, (Names{"parent", "product"}));
}

TEST_F(LoaderTest, Defaults) {
  auto r = Load(R"(connections:
  a: "sqlite:a.db"
entities:
  thing: { table: things }
pipelines:
  p: { source: a, target: a, entities: thing }
)");
  ASSERT_OK(r);
  const EntityConfig& e = r->entities[0];
  EXPECT_EQ(e.key, Names{"id"});
  EXPECT_EQ(e.keys, KeyMode::kMapped);
  EXPECT_TRUE(e.match.empty());
  EXPECT_TRUE(e.references.empty());
  EXPECT_FALSE(e.cursor.has_value());
  EXPECT_TRUE(e.columns.include.empty());
  EXPECT_TRUE(e.filter.where.empty());
  EXPECT_FALSE(e.filter.date_column.has_value());
  EXPECT_EQ(e.delete_policy, DeletePolicy::kIgnore);
  EXPECT_FALSE(e.soft_delete_column.has_value());
  EXPECT_TRUE(e.validate.empty());
  const PipelineConfig& p = r->pipelines[0];
  EXPECT_EQ(p.entities, Names{"thing"});
  EXPECT_EQ(p.on_duplicate, OnDuplicate::kMerge);
  EXPECT_EQ(p.on_invalid, OnInvalid::kSkip);
  EXPECT_EQ(p.on_conflict, OnConflict::kSourceWins);
  EXPECT_EQ(p.batch_size, 1000u);
  EXPECT_EQ(p.concurrency, 1);
}

TEST_F(LoaderTest, EmptyFileAndEmptySections) {
  auto r = Load("");
  ASSERT_OK(r);
  EXPECT_TRUE(r->connections.empty());
  r = Load("connections:\nentities:\npipelines:\n");
  ASSERT_OK(r);
  EXPECT_TRUE(r->pipelines.empty());
}

TEST_F(LoaderTest, ConnectionForms) {
  auto r = Load(R"(connections:
  short: "postgres://u@h/db"
  long: { url: "mysql://u@h/db" }
  plain: sqlite:data/x.db
)");
  ASSERT_OK(r);
  ASSERT_EQ(r->connections.size(), 3u);
  EXPECT_EQ(r->connections[0].url, "postgres://u@h/db");
  EXPECT_EQ(r->connections[1].url, "mysql://u@h/db");
  EXPECT_EQ(r->connections[2].url, "sqlite:" + dir_.path().string() + "/data/x.db");
}

TEST_F(LoaderTest, SqlitePathsResolveAgainstTheConfigFolder) {
  auto r = Load(R"(connections:
  rel: "sqlite:db/../live.db?mode=ro"
  dot: "sqlite:./x.db"
  abs: "sqlite:/var/lib/x.db"
  mem: "sqlite::memory:"
)");
  ASSERT_OK(r);
  const std::string base = dir_.path().string();
  EXPECT_EQ(r->connections[0].url, "sqlite:" + base + "/live.db?mode=ro");
  EXPECT_EQ(r->connections[1].url, "sqlite:" + base + "/x.db");
  EXPECT_EQ(r->connections[2].url, "sqlite:/var/lib/x.db");
  EXPECT_EQ(r->connections[3].url, "sqlite::memory:");
}

// The scheme in any letter case, and the "sqlite://" form, as the connector reads them: a
// relative path is the config folder's whatever way the URL is written.
TEST_F(LoaderTest, SqlitePathsResolveWhateverTheSchemeLooksLike) {
  auto r = Load(R"(connections:
  upper: "SQLITE:data/x.db"
  mixed: { url: "SQLite:./y.db?mode=ro" }
  slashes: "sqlite://z.db"
  server: "Postgres://u@h/db"
entities:
  e: { table: t, key: id }
pipelines:
  p: { source: upper, target: mixed, entities: [e], state: "Sqlite:state/s.db" }
)");
  ASSERT_OK(r);
  const std::string base = dir_.path().string();
  EXPECT_EQ(r->connections[0].url, "SQLITE:" + base + "/data/x.db");
  EXPECT_EQ(r->connections[1].url, "SQLite:" + base + "/y.db?mode=ro");
  EXPECT_EQ(r->connections[2].url, "sqlite://" + base + "/z.db");
  EXPECT_EQ(r->connections[3].url, "Postgres://u@h/db");
  EXPECT_EQ(r->pipelines[0].state, "Sqlite:" + base + "/state/s.db");
  for (const ConnectionConfig& c : r->connections) {
    if (c.name == "server") continue;
    EXPECT_EQ(LocalDatabaseFile(c.name, c.url).value()->rfind(base, 0), 0u) << c.url;
  }
}

TEST_F(LoaderTest, ParseConfigUsesTheFileNameForMessagesAndFolder) {
  auto r = ParseConfig("connections:\n  a: sqlite:x.db\n", "/some/dir/t.yaml", MapEnv({}));
  ASSERT_OK(r);
  EXPECT_EQ(r->path, "/some/dir/t.yaml");
  EXPECT_EQ(r->base_dir, "/some/dir");
  EXPECT_EQ(r->connections[0].url, "sqlite:/some/dir/x.db");

  r = ParseConfig("connections:\n  a: 1\n  a: 2\n", "/some/dir/t.yaml", MapEnv({}));
  ASSERT_CODE(r, StatusCode::kConfig);
  EXPECT_EQ(r.status().message().rfind("/some/dir/t.yaml:3:3: ", 0), 0u) << r.status().message();
}

// --- interpolation ---

TEST_F(LoaderTest, InterpolationSetDefaultAndDollar) {
  auto r = Load(R"(connections:
  a: "postgres://${USER_NAME}:${PASS}@${HOST:-localhost}:${PORT:-5432}/shop"
  b: "https://api.example.com/pa$$word/${EMPTY:-fallback}"
entities:
  t:
    table: ${TABLE:-things}
    columns:
      default:
        stock: "${STOCK:-5}"
        qty: ${QTY:-7}
pipelines:
  p: { source: a, target: b, entities: [t], batch_size: "${BATCH:-250}" }
)",
                {{"USER_NAME", "sync"}, {"PASS", "pw"}, {"PORT", "6543"}, {"EMPTY", ""}});
  ASSERT_OK(r);
  EXPECT_EQ(r->connections[0].url, "postgres://sync:pw@localhost:6543/shop");
  EXPECT_EQ(r->connections[1].url, "https://api.example.com/pa$word/fallback");
  EXPECT_EQ(r->entities[0].source_table, "things");
  EXPECT_EQ(r->entities[0].columns.defaults.at("stock"), Value::Text("5"));  // quoted
  EXPECT_EQ(r->entities[0].columns.defaults.at("qty"), Value::Int(7));       // plain
  EXPECT_EQ(r->pipelines[0].batch_size, 250u);
}

TEST_F(LoaderTest, UnsetVariableIsAnErrorNamingItNotTheValue) {
  const std::string yaml = R"(connections:
  live: "sqlite:live.db"
  staging: { url: "postgres://sync:${STAGING_PASS}@${STAGING_HOST}/shop" }
)";
  auto r = Load(yaml, {{"STAGING_PASS", "hunter2"}});
  ExpectError(r, At(yaml, "\"postgres"), "STAGING_HOST");
  EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos);
  EXPECT_NE(r.status().message().find("connections.staging.url"), std::string::npos);
}

TEST_F(LoaderTest, MalformedReference) {
  const std::string yaml = "connections:\n  a: \"sqlite:${NOPE\"\n";
  ExpectError(Load(yaml), "2:6");
  const std::string yaml2 = "connections:\n  a: \"sqlite:${1X}\"\n";
  ExpectError(Load(yaml2), "2:6", "1X");
}

// --- .env ---

class DotEnvLoaderTest : public LoaderTest {
 protected:
  void SetUp() override { unsetenv("TETHER_CFG_TEST_A"); }
  void TearDown() override { unsetenv("TETHER_CFG_TEST_A"); }

  Result<Config> LoadWithDefaultEnv(const std::string& yaml) {
    WriteFile(ConfigPath(), yaml);
    return LoadConfig(ConfigPath());
  }
};

TEST_F(DotEnvLoaderTest, ReadsDotEnvBesideTheConfig) {
  WriteFile(dir_.File(".env"), "# secrets\nTETHER_CFG_TEST_A=from-dotenv\n");
  auto r = LoadWithDefaultEnv("connections:\n  a: \"https://x/${TETHER_CFG_TEST_A}\"\n");
  ASSERT_OK(r);
  EXPECT_EQ(r->connections[0].url, "https://x/from-dotenv");
}

TEST_F(DotEnvLoaderTest, ProcessEnvironmentWinsOverDotEnv) {
  WriteFile(dir_.File(".env"), "TETHER_CFG_TEST_A=from-dotenv\n");
  setenv("TETHER_CFG_TEST_A", "from-process", 1);
  auto r = LoadWithDefaultEnv("connections:\n  a: \"https://x/${TETHER_CFG_TEST_A}\"\n");
  ASSERT_OK(r);
  EXPECT_EQ(r->connections[0].url, "https://x/from-process");
}

TEST_F(DotEnvLoaderTest, MissingDotEnvIsFine) {
  auto r = LoadWithDefaultEnv("connections:\n  a: \"https://x/${TETHER_CFG_TEST_A:-d}\"\n");
  ASSERT_OK(r);
  EXPECT_EQ(r->connections[0].url, "https://x/d");
  r = LoadWithDefaultEnv("connections:\n  a: \"https://x/${TETHER_CFG_TEST_A}\"\n");
  ExpectError(r, "2:6", "TETHER_CFG_TEST_A");
}

TEST_F(DotEnvLoaderTest, MalformedDotEnvLine) {
  WriteFile(dir_.File(".env"), "OK=1\n\nthis line has no equals sign secret\n");
  auto r = LoadWithDefaultEnv("connections:\n  a: sqlite:a.db\n");
  ASSERT_CODE(r, StatusCode::kConfig);
  const std::string prefix = dir_.File(".env") + ":3:";
  EXPECT_EQ(r.status().message().rfind(prefix, 0), 0u) << r.status().message();
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos);
}

TEST_F(DotEnvLoaderTest, ExplicitEnvIgnoresDotEnv) {
  WriteFile(dir_.File(".env"), "TETHER_CFG_TEST_A=from-dotenv\n");
  auto r = Load("connections:\n  a: \"https://x/${TETHER_CFG_TEST_A:-none}\"\n");
  ASSERT_OK(r);
  EXPECT_EQ(r->connections[0].url, "https://x/none");
}

// --- files ---

TEST(LoadConfigFile, MissingFileNamesThePath) {
  TempDir dir;
  auto r = LoadConfig(dir.File("nope.yaml"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().code() == StatusCode::kNotFound ||
              r.status().code() == StatusCode::kConfig);
  EXPECT_NE(r.status().message().find(dir.File("nope.yaml")), std::string::npos);
}

// --- errors, each with its exact location ---

TEST_F(LoaderTest, MalformedYaml) {
  ExpectError(Load("connections:\n  a: [1, 2\nentities: {}\n"), "3:9");
  // yaml-cpp points at the character it could not place.
  ExpectError(Load("connections:\n  a: 1\n b: 2\n"), "3:2");
}

TEST_F(LoaderTest, TopLevelMustBeAMap) { ExpectError(Load("- a\n- b\n"), "1:1"); }

TEST_F(LoaderTest, UnknownKeySuggestsTheClosest) {
  const std::string yaml = R"(connections:
  a: sqlite:a.db
entities:
  product:
    tabel: product
)";
  auto r = Load(yaml);
  ExpectError(r, "5:5", "entities.product");
  EXPECT_NE(r.status().message().find("'tabel'"), std::string::npos);
  EXPECT_NE(r.status().message().find("did you mean 'table'"), std::string::npos);
}

TEST_F(LoaderTest, UnknownKeyFarFromAnyListsTheAllowedOnes) {
  const std::string yaml = "connections: {}\npipelines:\n  p:\n    source: a\n    zzz: 1\n";
  auto r = Load(yaml);
  ExpectError(r, "5:5", "zzz");
  EXPECT_NE(r.status().message().find("batch_size"), std::string::npos);
  ExpectError(Load("version: 1\nconection: {}\n"), "2:1", "connections");
  ExpectError(Load(R"(entities:
  e:
    table: t
    validate: { sku: { requird: true } }
)"),
              "4:24", "required");
  ExpectError(Load("connections:\n  a: { url: sqlite:a.db, uri: x }\n"), "2:26", "uri");
}

TEST_F(LoaderTest, DuplicateKeys) {
  ExpectError(Load("connections:\n  a: sqlite:a.db\n  b: sqlite:b.db\n  a: sqlite:c.db\n"), "4:3",
              "'a'");
  ExpectError(Load("entities:\n  e: { table: t, key: id, table: u }\n"), "2:27", "table");
}

TEST_F(LoaderTest, Version) {
  ASSERT_OK(Load("version: 1\n"));
  ExpectError(Load("version: 2\n"), "1:10");
  ExpectError(Load("version: one\n"), "1:10");
}

TEST_F(LoaderTest, WrongTypes) {
  const std::string base = R"(connections:
  a: sqlite:a.db
entities:
  t: { table: t }
pipelines:
  p:
    source: a
    target: a
    entities: [t]
)";
  ExpectError(Load(base + "    batch_size: lots\n"), "10:17", "batch_size");
  ExpectError(Load(base + "    batch_size: 0\n"), "10:17", "batch_size");
  ExpectError(Load(base + "    batch_size: 1000001\n"), "10:17", "batch_size");
  ExpectError(Load(base + "    batch_size: 2.5\n"), "10:17", "batch_size");
  ASSERT_OK(Load(base + "    batch_size: 1000000\n"));
  ExpectError(Load(base + "    concurrency: 65\n"), "10:18", "concurrency");
  ExpectError(Load(base + "    concurrency: [1]\n"), "10:18", "concurrency");
  ExpectError(Load(base + "    schedule:\n"), "10:5", "schedule");
  ExpectError(Load("connections: [a, b]\n"), "1:14", "connections");
  ExpectError(Load("connections:\n  a: [sqlite:a.db]\n"), "2:6", "connections.a");
  ExpectError(Load("connections:\n  a: not a url\n"), "2:6", "connections.a");
  ExpectError(Load("entities:\n  t: { table: [a, b] }\n"), "2:15", "table");
  ExpectError(Load("entities:\n  t: { table: t, key: { a: b } }\n"), "2:23", "key");
  ExpectError(Load("entities:\n  t: { table: t, key: [] }\n"), "2:23", "key");
  ExpectError(Load("entities:\n  t: { table: t, match: [a, a] }\n"), "2:29", "match");
  ExpectError(Load("entities:\n  t:\n    table: t\n    validate: { a: { required: maybe } }\n"),
              "4:32", "required");
  ExpectError(Load("entities:\n  t:\n    table: t\n    validate: { a: { min: low } }\n"), "4:27",
              "min");
  ExpectError(Load("entities:\n  t:\n    table: t\n    validate: { a: { max_length: -1 } }\n"),
              "4:34", "max_length");
  ExpectError(Load("entities:\n  t:\n    table: t\n    columns: { default: { a: [1] } }\n"), "4:30",
              "default.a");
  ExpectError(Load("entities:\n  t:\n    table: t\n    columns: { values: { a: b } }\n"), "4:29",
              "values.a");
}

const char kScheduleBase[] = R"(connections:
  a: sqlite:a.db
entities:
  t: { table: t }
pipelines:
  p:
    source: a
    target: a
    entities: [t]
)";

TEST_F(LoaderTest, ScheduleFormsAreStoredNormalized) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"every 5m", "every 5m"},
      {"5m", "every 5m"},
      {"\"every 300s\"", "every 5m"},
      {"\"*/5  *  * * *\"", "*/5 * * * *"},
      {"\"0 9 * * mon-fri\"", "0 9 * * mon-fri"},
      {"\"@daily\"", "@daily"},
      {"{ every: 5m }", "every 5m"},
      {"{ every: 90 }", "every 90s"},
      {"{ every: 1d }", "every 1d"},
      {"{ cron: \"*/5 * * * *\" }", "*/5 * * * *"},
      {"{ cron: \"@weekly\" }", "@weekly"},
      {"{ cron: \"${CRON}\" }", "0 3 * * *"},
  };
  for (const auto& [yaml, normalized] : cases) {
    SCOPED_TRACE(yaml);
    auto r =
        Load(std::string(kScheduleBase) + "    schedule: " + yaml + "\n", {{"CRON", "0 3 * * *"}});
    ASSERT_OK(r);
    EXPECT_EQ(r->pipelines[0].schedule, normalized);
  }
}

TEST_F(LoaderTest, BadSchedulesAreErrorsAtTheirValue) {
  struct Case {
    std::string yaml;    // after "schedule: "
    std::string needle;  // where the error points, within `yaml`
    std::string mention;
  };
  const std::vector<Case> cases = {
      {"every 5x", "every", "schedule"},
      {"\"0 25 * * *\"", "\"0", "hour"},
      {"\"* * * *\"", "\"*", "schedule"},
      {"every 0s", "every", "schedule"},
      {"\"@reboot\"", "\"@", "@reboot"},
      {"{ every: 5m, cron: \"* * * * *\" }", "cron", "not both"},
      {"{ evry: 5m }", "evry", "did you mean 'every'"},
      {"{ at: \"10:00\" }", "at", "schedule"},
      {"{ every: 5x }", "5x", "schedule.every"},
      {"{ every: \"*/5 * * * *\" }", "\"*/5", "schedule.every"},
      {"{ cron: \"0 0 * * 8\" }", "\"0", "day-of-week"},
      {"{ cron: every 5m }", "every", "not a cron expression"},
      {"{ cron: 5m }", "5m", "schedule.cron"},
      {"{}", "{}", "schedule"},
      {"[every 5m]", "[", "schedule"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    const std::string yaml = std::string(kScheduleBase) + "    schedule: " + c.yaml + "\n";
    const std::string at = At(yaml, "schedule: ");
    const int column =
        std::stoi(at.substr(at.find(':') + 1)) + 10 + static_cast<int>(c.yaml.find(c.needle));
    ExpectError(Load(yaml), "10:" + std::to_string(column), c.mention);
  }
}

TEST_F(LoaderTest, ServerDefaults) {
  auto r = Load("connections: {}\n");
  ASSERT_OK(r);
  const ServerConfig& s = r->server;
  EXPECT_EQ(s.listen, "127.0.0.1:8080");
  EXPECT_FALSE(s.token.has_value());
  EXPECT_EQ(s.max_concurrency, 5);
  EXPECT_EQ(s.retry_attempts, 3);
  EXPECT_EQ(s.retry_delay_ms, 30'000);
  EXPECT_EQ(s.job_timeout_ms, 3'600'000);
  EXPECT_EQ(s.cleanup_age_ms, int64_t{30} * 24 * 3600 * 1000);
  EXPECT_EQ(s.max_body, 1'048'576);
  const ServerConfig::FromFile& f = s.from_file;
  EXPECT_FALSE(f.listen || f.token || f.max_concurrency || f.retry_attempts || f.retry_delay ||
               f.job_timeout || f.cleanup_age || f.max_body);
  EXPECT_TRUE(s.location.file.empty());

  r = Load("server:\n");
  ASSERT_OK(r);
  EXPECT_EQ(r->server.listen, "127.0.0.1:8080");
  EXPECT_EQ(r->server.location.ToString(), ConfigPath() + ":1:1");
}

TEST_F(LoaderTest, ServerEveryField) {
  auto r = Load(R"(server:
  listen: "0.0.0.0:9000"
  token: "${TETHER_API_TOKEN}"
  max_concurrency: 64
  retry_attempts: 0
  retry_delay: 500ms
  job_timeout: 0
  cleanup_age: 7d
  max_body: 4096
  max_connections: 50
  max_connections_per_client: 5
  header_timeout: 2s
  data_dir: files/api
)",
                {{"TETHER_API_TOKEN", "s3cret"}});
  ASSERT_OK(r);
  const ServerConfig& s = r->server;
  EXPECT_EQ(s.listen, "0.0.0.0:9000");
  EXPECT_EQ(s.token, "s3cret");
  EXPECT_EQ(s.max_concurrency, 64);
  EXPECT_EQ(s.retry_attempts, 0);
  EXPECT_EQ(s.retry_delay_ms, 500);
  EXPECT_EQ(s.job_timeout_ms, 0);
  EXPECT_EQ(s.cleanup_age_ms, int64_t{7} * 24 * 3600 * 1000);
  EXPECT_EQ(s.max_body, 4096);
  EXPECT_EQ(s.max_connections, 50);
  EXPECT_EQ(s.max_connections_per_client, 5);
  EXPECT_EQ(s.header_timeout_ms, 2000);
  EXPECT_EQ(s.data_dir, (std::filesystem::path(r->base_dir) / "files/api").string());
  const ServerConfig::FromFile& f = s.from_file;
  EXPECT_TRUE(f.listen && f.token && f.max_concurrency && f.retry_attempts && f.retry_delay &&
              f.job_timeout && f.cleanup_age && f.max_body);

  // Only what the file sets is marked.
  r = Load("server:\n  retry_attempts: 20\n  job_timeout: 90m\n  listen: \"[::1]:0\"\n");
  ASSERT_OK(r);
  EXPECT_EQ(r->server.retry_attempts, 20);
  EXPECT_EQ(r->server.job_timeout_ms, 90 * 60'000);
  EXPECT_EQ(r->server.listen, "[::1]:0");
  EXPECT_TRUE(r->server.from_file.retry_attempts);
  EXPECT_TRUE(r->server.from_file.job_timeout);
  EXPECT_TRUE(r->server.from_file.listen);
  EXPECT_FALSE(r->server.from_file.max_concurrency);
  EXPECT_FALSE(r->server.from_file.token);
  EXPECT_EQ(r->server.max_concurrency, 5);
}

TEST_F(LoaderTest, ServerErrors) {
  auto r = Load("server:\n  listn: \"127.0.0.1:1\"\n");
  ExpectError(r, "2:3", "server");
  EXPECT_NE(r.status().message().find("did you mean 'listen'"), std::string::npos)
      << r.status().message();
  ExpectError(Load("server:\n  port: 8080\n"), "2:3", "max_body");  // lists the allowed keys
  ExpectError(Load("server: [a]\n"), "1:9", "server");
  ExpectError(Load("server: 8080\n"), "1:9", "server");
  const std::vector<std::pair<std::string, std::string>> bad_values = {
      {"listen", "8080"},
      {"listen", "\"localhost:65536\""},
      {"listen", "\":8080\""},
      {"listen", "\"localhost:http\""},
      {"listen", "\"::1:8080\""},
      {"token", "\"\""},
      {"token", "\"${NO_SUCH_TOKEN}\""},
      {"max_concurrency", "0"},
      {"max_concurrency", "65"},
      {"retry_attempts", "-1"},
      {"retry_attempts", "21"},
      {"retry_delay", "0"},
      {"retry_delay", "soon"},
      {"job_timeout", "1 hour"},
      {"job_timeout", "-1s"},
      {"cleanup_age", "0"},
      {"cleanup_age", "30days"},
      {"max_body", "0"},
      {"max_body", "1MiB"},
      {"max_body", "[1]"},
      {"max_connections", "0"},
      {"max_connections_per_client", "0"},
      {"header_timeout", "0"},
      {"data_dir", "\"\""},
  };
  for (const auto& [key, value] : bad_values) {
    SCOPED_TRACE(key + ": " + value);
    ExpectError(Load("server:\n  " + key + ": " + value + "\n"),
                "2:" + std::to_string(key.size() + 5), "server." + key);
  }
}

TEST_F(LoaderTest, BadEnumValuesListTheAllowedOnes) {
  const std::string base = R"(connections:
  a: sqlite:a.db
entities:
  t: { table: t }
pipelines:
  p:
    source: a
    target: a
    entities: [t]
)";
  auto r = Load(base + "    on_duplicate: replace\n");
  ExpectError(r, "10:19", "on_duplicate");
  EXPECT_NE(r.status().message().find("merge, skip, update, error"), std::string::npos);
  ExpectError(Load(base + "    on_invalid: ignore\n"), "10:17", "skip, error");
  ExpectError(Load(base + "    on_conflict: last\n"), "10:18", "newest_wins");
  ExpectError(Load("entities:\n  t: { table: t, keys: auto }\n"), "2:24", "identity, mapped");
  ExpectError(Load("entities:\n  t: { table: t, delete: always }\n"), "2:26", "propagate");
  ExpectError(Load("entities:\n  t:\n    table: t\n    validate: { a: { type: float } }\n"), "4:28",
              "integer");
}

TEST_F(LoaderTest, TableForms) {
  ExpectError(Load("entities:\n  t: { key: id }\n"), "2:3", "table");
  ExpectError(Load("entities:\n  t:\n"), "2:3", "table");
  ExpectError(Load("entities:\n  t: { source_table: a }\n"), "2:8", "target_table");
  ExpectError(Load("entities:\n  t: { target_table: a }\n"), "2:8", "source_table");
  ExpectError(Load("entities:\n  t: { table: a, target_table: b }\n"), "2:18", "target_table");
  ExpectError(Load("entities:\n  t: { table: \"\" }\n"), "2:15", "table");
}

TEST_F(LoaderTest, SoftDeleteNeedsAColumn) {
  auto r = Load("entities:\n  t: { table: t, delete: propagate }\n");
  ASSERT_OK(r);
  EXPECT_EQ(r->entities[0].delete_policy, DeletePolicy::kPropagate);
  ExpectError(Load("entities:\n  t: { table: t, delete: soft }\n"), "2:26", "soft");
  ExpectError(Load("entities:\n  t: { table: t, delete: { soft: } }\n"), "2:28", "soft");
  ExpectError(Load("entities:\n  t: { table: t, delete: { hard: x } }\n"), "2:28", "hard");
}

TEST_F(LoaderTest, CursorIsAColumnOrAColumnWithALag) {
  auto plain = Load("entities:\n  t: { table: t, cursor: updated_at }\n");
  ASSERT_OK(plain);
  EXPECT_EQ(plain->entities[0].cursor, "updated_at");
  EXPECT_EQ(plain->entities[0].cursor_lag_ms, 10000);
  auto lagged = Load("entities:\n  t: { table: t, cursor: { column: changed, lag: 90s } }\n");
  ASSERT_OK(lagged);
  EXPECT_EQ(lagged->entities[0].cursor, "changed");
  EXPECT_EQ(lagged->entities[0].cursor_lag_ms, 90000);
  ExpectError(Load("entities:\n  t: { table: t, cursor: { lag: 5s } }\n"), "2:26", "column");
  ExpectError(Load("entities:\n  t: { table: t, cursor: { column: c, lag: soon } }\n"), "2:44",
              "duration");
  ExpectError(Load("entities:\n  t: { table: t, cursor: { column: c, lags: 5s } }\n"), "2:39",
              "lags");
}

TEST_F(LoaderTest, MatchColumnsMayBeNormalised) {
  auto r = Load(R"(entities:
  plain: { table: a, match: [sku] }
  one: { table: b, match: email }
  mixed:
    table: c
    match: [store_id, { column: email, normalize: [lower, trim] }, { column: code, normalize: lower }]
  single: { table: d, match: { column: slug, normalize: trim } }
)");
  ASSERT_OK(r);
  auto normalize = [&](const std::string& entity) {
    std::vector<std::string> out;
    for (const Normalization& n : r->FindEntity(entity)->match_normalize) {
      out.push_back(NormalizationName(n));
    }
    return out;
  };
  EXPECT_EQ(r->FindEntity("plain")->match, std::vector<std::string>{"sku"});
  EXPECT_EQ(normalize("plain"), std::vector<std::string>{""});
  EXPECT_EQ(r->FindEntity("one")->match, std::vector<std::string>{"email"});
  EXPECT_EQ(r->FindEntity("mixed")->match, (std::vector<std::string>{"store_id", "email", "code"}));
  EXPECT_EQ(normalize("mixed"), (std::vector<std::string>{"", "lower, trim", "lower"}));
  EXPECT_EQ(r->FindEntity("single")->match, std::vector<std::string>{"slug"});
  EXPECT_EQ(normalize("single"), std::vector<std::string>{"trim"});

  const std::string unknown =
      "entities:\n  t: { table: t, match: [{ column: e, normalize: [upper] }] }\n";
  ExpectError(Load(unknown), At(unknown, "upper"), "upper");
  const std::string no_column = "entities:\n  t: { table: t, match: [{ normalize: lower }] }\n";
  ExpectError(Load(no_column), At(no_column, "{ normalize"), "column");
  const std::string bad_key = "entities:\n  t: { table: t, match: [{ column: e, lower: true }] }\n";
  ExpectError(Load(bad_key), At(bad_key, "lower"), "lower");
  const std::string twice = "entities:\n  t: { table: t, match: [e, { column: e }] }\n";
  ExpectError(Load(twice), At(twice, "{ column"), "twice");
}

TEST_F(LoaderTest, ColumnConflicts) {
  ExpectError(Load(R"(entities:
  t:
    table: t
    columns:
      include: [a, b, c]
      exclude: [d, b]
)"),
              "6:20", "'b'");
  ExpectError(Load(R"(entities:
  t:
    table: t
    columns:
      rename: { a: x, b: y, c: x }
)"),
              "5:32", "'x'");
}

// tether's own tables hold its state — links, runs, and for the server the connections with
// their passwords: an entity may neither read nor write one, whatever the letter case.
TEST_F(LoaderTest, TethersOwnTablesAreNoEntitysTable) {
  ExpectError(Load(R"(entities:
  t:
    table: tether_server_connections
)"),
              "3:12", "tether_server_connections");
  ExpectError(Load(R"(entities:
  t:
    table: TETHER_Links
)"),
              "3:12", "TETHER_Links");
  ExpectError(Load(R"(entities:
  t:
    source_table: product
    target_table: tether_server_secrets
)"),
              "4:19", "tether_server_secrets");
  ExpectError(Load(R"(entities:
  t:
    source_table: "Tether_Runs"
    target_table: product
)"),
              "3:19", "Tether_Runs");
  ASSERT_OK(Load(R"(entities:
  t:
    table: tethered_items
)"));
}

TEST_F(LoaderTest, InvalidPattern) {
  const std::string yaml = R"(entities:
  t:
    table: t
    validate:
      sku: { pattern: "^[A-Z" }
)";
  ExpectError(Load(yaml), "5:23", "pattern");
}

TEST_F(LoaderTest, PatternsOutsideRe2SyntaxAreRefusedWithTheirPlace) {
  // Patterns are matched by RE2 (linear time): backreferences and lookaround, which need a
  // backtracking engine, are a configuration error at the pattern, not a failure mid-run.
  for (const std::string pattern : {R"((a)\\1)", "(?=a)a", "(?<!x)y", "a{1001}"}) {
    const std::string yaml = R"(entities:
  t:
    table: t
    validate:
      sku: { pattern: ")" + pattern +
                             R"(" }
)";
    ExpectError(Load(yaml), "5:23", "pattern");
  }
  auto ok = Load(R"(entities:
  t:
    table: t
    validate:
      sku: { pattern: "^[A-Z0-9-]+$" }
      note: { pattern: "(a|b)*(a+)+$" }
)");
  ASSERT_OK(ok);
}

TEST_F(LoaderTest, InvalidWhereCondition) {
  const std::string yaml = R"(entities:
  t:
    table: t
    filter:
      where:
        - "status = active"
        - "1abc = 2"
)";
  auto r = Load(yaml);
  ExpectError(r, "7:11", "filter.where");
  EXPECT_NE(r.status().message().find("1abc"), std::string::npos);
  ExpectError(Load("entities:\n  t: { table: t, filter: { where: \"a ~ b\" } }\n"), "2:35");
}

TEST_F(LoaderTest, UndefinedReferencedEntity) {
  const std::string yaml = R"(entities:
  product:
    table: product
    references: { category_id: categroy }
  category: { table: category }
)";
  auto r = Load(yaml);
  ExpectError(r, "4:32", "categroy");
  EXPECT_NE(r.status().message().find("did you mean 'category'"), std::string::npos);
}

TEST_F(LoaderTest, ReferenceToAnEntityDefinedLaterIsFine) {
  ASSERT_OK(Load(R"(entities:
  product: { table: p, references: { category_id: category } }
  category: { table: c }
)"));
}

TEST_F(LoaderTest, PipelineCrossReferences) {
  const std::string head = R"(connections:
  live: sqlite:a.db
  staging: sqlite:b.db
entities:
  category: { table: category }
  product: { table: product, references: { category_id: category } }
pipelines:
  p:
)";
  ExpectError(Load(head + "    source: lvie\n    target: staging\n    entities: [product]\n"),
              "9:13", "lvie");
  ExpectError(Load(head + "    source: live\n    target: prod\n    entities: [product]\n"), "10:13",
              "prod");
  ExpectError(
      Load(head + "    source: live\n    target: staging\n    entities: [category, prodcut]\n"),
      "11:26", "prodcut");
  ExpectError(Load(head + "    source: live\n    target: staging\n    entities: []\n"), "11:15",
              "entities");
  ExpectError(Load(head + "    source: live\n    target: staging\n    entities:\n"), "11:5",
              "entities");
  ExpectError(Load(head + "    source: live\n    target: staging\n"), "8:3", "entities");
  ExpectError(Load(head + "    target: staging\n    entities: [product]\n"), "8:3", "source");
}

TEST_F(LoaderTest, ReferencedParentMustBeInThePipeline) {
  const std::string yaml = R"(connections:
  live: sqlite:a.db
entities:
  category: { table: category, references: { parent_id: category } }
  product: { table: product, references: { category_id: category } }
pipelines:
  p:
    source: live
    target: live
    entities: [product]
)";
  auto r = Load(yaml);
  ExpectError(r, "10:16", "product");
  for (const char* word : {"'p'", "category_id", "'category'"}) {
    EXPECT_NE(r.status().message().find(word), std::string::npos) << word;
  }
  // A self-reference needs nothing more.
  ASSERT_OK(Load(R"(connections:
  live: sqlite:a.db
entities:
  category: { table: category, references: { parent_id: category } }
pipelines:
  p: { source: live, target: live, entities: [category] }
)"));
}

TEST_F(LoaderTest, CycleInAPipelineIsAnError) {
  const std::string yaml = R"(connections:
  live: sqlite:a.db
entities:
  category: { table: category, references: { featured_product_id: product } }
  product: { table: product, references: { category_id: category } }
pipelines:
  sync:
    source: live
    target: live
    entities: [product, category]
)";
  auto r = Load(yaml);
  // Named from the entity listed first in the pipeline.
  ExpectError(r, "7:3", "product -> category -> product");
}

TEST_F(LoaderTest, MultipleDocumentsAreRejected) {
  ExpectError(Load("connections: {}\n---\nentities: {}\n"), "3:1");
}

}  // namespace
}  // namespace tether
