#include <gtest/gtest.h>

#include <string>

#include "connectors/connector.h"
#include "connectors/sqlite/sqlite_dialect.h"
#include "util/test_util.h"

namespace tether {
namespace {

class SqliteSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("schema.db");
    db_ = testing::OpenSqlite(path_);
    ASSERT_NE(db_, nullptr);
  }

  testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<Connector> db_;
};

TEST_F(SqliteSchemaTest, DescribesColumnsTypesAndConstraints) {
  ASSERT_OK(db_->ExecuteScript(R"(
    CREATE TABLE product (
      id INTEGER PRIMARY KEY,
      sku VARCHAR(64) NOT NULL,
      title TEXT,
      price DECIMAL(10,2) DEFAULT 0,
      weight DOUBLE,
      qty BIGINT NOT NULL DEFAULT 0,
      active BOOLEAN,
      born DATE,
      updated_at DATETIME,
      created_at TIMESTAMP,
      photo BLOB,
      anything,
      doc JSON
    ))"));
  auto described = db_->DescribeTable("product");
  ASSERT_OK(described);
  ASSERT_TRUE(described->has_value());
  const TableSchema& s = **described;
  EXPECT_EQ(s.name, "product");
  ASSERT_EQ(s.columns.size(), 13u);
  EXPECT_EQ(s.primary_key, std::vector<std::string>{"id"});

  struct Want {
    const char* name;
    TypeClass type;
  };
  const Want want[] = {{"id", TypeClass::kInteger},
                       {"sku", TypeClass::kText},
                       {"title", TypeClass::kText},
                       {"price", TypeClass::kDecimal},
                       {"weight", TypeClass::kReal},
                       {"qty", TypeClass::kInteger},
                       {"active", TypeClass::kBoolean},
                       {"born", TypeClass::kDate},
                       {"updated_at", TypeClass::kTimestamp},
                       {"created_at", TypeClass::kTimestamp},
                       {"photo", TypeClass::kBlob},
                       {"anything", TypeClass::kAny},
                       {"doc", TypeClass::kJson}};
  for (size_t i = 0; i < std::size(want); ++i) {
    EXPECT_EQ(s.columns[i].name, want[i].name);
    EXPECT_EQ(s.columns[i].type, want[i].type) << want[i].name;
  }
  const ColumnInfo* id = s.Find("id");
  EXPECT_TRUE(id->auto_increment);
  EXPECT_EQ(id->pk_position, 1);
  const ColumnInfo* sku = s.Find("sku");
  EXPECT_EQ(sku->declared_type, "VARCHAR(64)");
  EXPECT_EQ(sku->max_length, 64);
  EXPECT_TRUE(sku->not_null);
  EXPECT_FALSE(sku->has_default);
  EXPECT_FALSE(sku->auto_increment);
  EXPECT_EQ(s.Find("title")->max_length, std::nullopt);
  EXPECT_EQ(s.Find("price")->max_length, std::nullopt);
  EXPECT_TRUE(s.Find("price")->has_default);
  EXPECT_FALSE(s.Find("price")->not_null);
  EXPECT_TRUE(s.Find("qty")->not_null);
  EXPECT_TRUE(s.Find("qty")->has_default);
  EXPECT_EQ(s.Find("anything")->declared_type, "");
}

TEST_F(SqliteSchemaTest, CompositePrimaryKeyInKeyOrderAndNoAutoIncrement) {
  ASSERT_OK(db_->ExecuteScript(
      "CREATE TABLE product_category (category_id INTEGER, position INT, product_id INTEGER,"
      " PRIMARY KEY (product_id, category_id))"));
  auto s = db_->DescribeTable("product_category");
  ASSERT_OK(s);
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->primary_key, (std::vector<std::string>{"product_id", "category_id"}));
  EXPECT_EQ((*s)->Find("product_id")->pk_position, 1);
  EXPECT_EQ((*s)->Find("category_id")->pk_position, 2);
  EXPECT_EQ((*s)->Find("position")->pk_position, 0);
  for (const ColumnInfo& c : (*s)->columns) EXPECT_FALSE(c.auto_increment) << c.name;
}

TEST_F(SqliteSchemaTest, OnlyARowidAliasIsAutoIncrement) {
  ASSERT_OK(db_->ExecuteScript(R"(
    CREATE TABLE a (id INT PRIMARY KEY, x);
    CREATE TABLE b (id INTEGER PRIMARY KEY, x) WITHOUT ROWID;
    CREATE TABLE c (id TEXT PRIMARY KEY, x);
    CREATE TABLE d (id INTEGER, x, PRIMARY KEY (id));
    CREATE TABLE e (id integer primary key autoincrement, x);
  )"));
  auto expect_auto = [&](const std::string& table, bool want) {
    auto s = db_->DescribeTable(table);
    ASSERT_OK(s);
    ASSERT_TRUE(s->has_value()) << table;
    EXPECT_EQ((*s)->Find("id")->auto_increment, want) << table;
  };
  expect_auto("a", false);
  expect_auto("b", false);
  expect_auto("c", false);
  expect_auto("d", true);
  expect_auto("e", true);
}

TEST_F(SqliteSchemaTest, MissingTableIsNullopt) {
  auto s = db_->DescribeTable("no_such_table");
  ASSERT_OK(s);
  EXPECT_FALSE(s->has_value());
}

TEST_F(SqliteSchemaTest, WeirdIdentifiers) {
  ASSERT_OK(db_->ExecuteScript(
      "CREATE TABLE \"order\" (\"select\" INTEGER PRIMARY KEY, \"Mixed Case\" TEXT,"
      " \"quo\"\"te\" TEXT)"));
  auto s = db_->DescribeTable("order");
  ASSERT_OK(s);
  ASSERT_TRUE(s->has_value());
  ASSERT_EQ((*s)->columns.size(), 3u);
  EXPECT_EQ((*s)->columns[1].name, "Mixed Case");
  EXPECT_EQ((*s)->columns[2].name, "quo\"te");
}

TEST_F(SqliteSchemaTest, EnsureTableCreatesTableAndIndexesOnce) {
  TableDef def;
  def.name = "tether_link";
  def.columns = {
      {"pipeline", TypeClass::kText, true},        {"entity", TypeClass::kText, true},
      {"source_id", TypeClass::kText, true},       {"target_id", TypeClass::kText, false},
      {"hash", TypeClass::kBlob, false},           {"attempts", TypeClass::kInteger, true},
      {"ratio", TypeClass::kReal, false},          {"amount", TypeClass::kDecimal, false},
      {"ok", TypeClass::kBoolean, false},          {"day", TypeClass::kDate, false},
      {"synced_at", TypeClass::kTimestamp, false}, {"metadata", TypeClass::kAny, false}};
  def.primary_key = {"pipeline", "entity", "source_id"};
  def.indexes = {{"tether_link_target", {"pipeline", "entity", "target_id"}, true},
                 {"", {"synced_at"}, false}};
  ASSERT_OK(db_->EnsureTable(def));
  ASSERT_OK(db_->EnsureTable(def));  // idempotent

  auto s = db_->DescribeTable("tether_link");
  ASSERT_OK(s);
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->primary_key, def.primary_key);
  ASSERT_EQ((*s)->columns.size(), def.columns.size());
  for (size_t i = 0; i < def.columns.size(); ++i) {
    EXPECT_EQ((*s)->columns[i].name, def.columns[i].name);
    EXPECT_EQ((*s)->columns[i].type, def.columns[i].type) << def.columns[i].name;
    EXPECT_EQ((*s)->columns[i].not_null, def.columns[i].not_null) << def.columns[i].name;
  }
  EXPECT_EQ(testing::SqliteRows(path_,
                                "SELECT name, \"unique\" FROM pragma_index_list('tether_link')"
                                " WHERE origin = 'c' ORDER BY name"),
            (std::vector<std::string>{"tether_link_synced_at_idx|0", "tether_link_target|1"}));
}

TEST(SqliteDialectTest, ClassifyDeclared) {
  auto classify = [](std::string_view declared) {
    ColumnInfo c;
    sqlite::ClassifyDeclared(declared, &c);
    return c;
  };
  EXPECT_EQ(classify("").type, TypeClass::kAny);
  EXPECT_EQ(classify("unsigned big int").type, TypeClass::kInteger);
  EXPECT_EQ(classify("nvarchar(100)").type, TypeClass::kText);
  EXPECT_EQ(classify("nvarchar(100)").max_length, 100);
  EXPECT_EQ(classify("CHARACTER(20)").max_length, 20);
  EXPECT_EQ(classify("CLOB").type, TypeClass::kText);
  EXPECT_EQ(classify("CLOB").max_length, std::nullopt);
  EXPECT_EQ(classify("FLOAT").type, TypeClass::kReal);
  EXPECT_EQ(classify("DOUBLE PRECISION").type, TypeClass::kReal);
  EXPECT_EQ(classify("NUMERIC").type, TypeClass::kDecimal);
  EXPECT_EQ(classify("NUMERIC").precision, std::nullopt);
  ColumnInfo dec = classify("decimal(10, 5)");
  EXPECT_EQ(dec.type, TypeClass::kDecimal);
  EXPECT_EQ(dec.precision, 10);
  EXPECT_EQ(dec.scale, 5);
  EXPECT_EQ(dec.max_length, std::nullopt);
  EXPECT_EQ(classify("BOOL").type, TypeClass::kBoolean);
  EXPECT_EQ(classify("datetime").type, TypeClass::kTimestamp);
  EXPECT_EQ(classify("TIMESTAMP(3)").scale, 3);
  EXPECT_EQ(classify("timestamptz").type, TypeClass::kTimestampTz);
  EXPECT_EQ(classify("TIMESTAMP WITH TIME ZONE").type, TypeClass::kTimestampTz);
  EXPECT_EQ(classify("date").type, TypeClass::kDate);
  EXPECT_EQ(classify("time").type, TypeClass::kTime);
  EXPECT_EQ(classify("JSON").type, TypeClass::kJson);
  EXPECT_EQ(classify("uuid").type, TypeClass::kUuid);
}

TEST(SqliteDialectTest, DeclaredTypesReadBackAsTheSameClass) {
  for (TypeClass t :
       {TypeClass::kInteger, TypeClass::kReal, TypeClass::kDecimal, TypeClass::kText,
        TypeClass::kBlob, TypeClass::kBoolean, TypeClass::kDate, TypeClass::kTime,
        TypeClass::kTimestamp, TypeClass::kTimestampTz, TypeClass::kJson, TypeClass::kUuid}) {
    ColumnDef def{"c", t};
    if (t == TypeClass::kDecimal) {
      def.precision = 12;
      def.scale = 2;
    }
    if (t == TypeClass::kText) def.max_length = 64;
    ColumnInfo back;
    sqlite::ClassifyDeclared(sqlite::DeclaredTypeFor(def), &back);
    EXPECT_EQ(back.type, t) << sqlite::DeclaredTypeFor(def);
    EXPECT_EQ(back.precision, def.precision);
    EXPECT_EQ(back.scale, def.scale);
    EXPECT_EQ(back.max_length, def.max_length);
  }
}

TEST(SqliteDialectTest, QuoteIdentDoublesQuotes) {
  EXPECT_EQ(sqlite::QuoteIdent("order"), "\"order\"");
  EXPECT_EQ(sqlite::QuoteIdent("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(sqlite::QuoteIdent("Mixed Case"), "\"Mixed Case\"");
}

}  // namespace
}  // namespace tether
