#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/mysql/mysql_dialect.h"
#include "mysql_test_util.h"

namespace tether {
namespace {

using testing::Contains;

class MysqlSchemaTest : public testing::MysqlTest {};

const ColumnInfo& Col(const TableSchema& s, const std::string& name) {
  const ColumnInfo* c = s.Find(name);
  EXPECT_NE(c, nullptr) << name;
  static const ColumnInfo kMissing;
  return c ? *c : kMissing;
}

TEST_F(MysqlSchemaTest, DescribesEveryTypeClass) {
  Exec(R"(
    CREATE TABLE everything (
      id BIGINT NOT NULL AUTO_INCREMENT,
      code CHAR(5) NOT NULL,
      flag BOOLEAN,
      tiny1 TINYINT(1) NOT NULL DEFAULT 1,
      tiny TINYINT,
      small SMALLINT UNSIGNED,
      medium MEDIUMINT,
      num INT,
      big BIGINT,
      ubig BIGINT UNSIGNED,
      yr YEAR,
      price DECIMAL(12,2) DEFAULT 0,
      wide DECIMAL(30,10),
      whole DECIMAL(8),
      ratio FLOAT,
      amount DOUBLE,
      name VARCHAR(100) NOT NULL,
      body TEXT,
      huge LONGTEXT,
      colour ENUM('red','green'),
      tags SET('a','b'),
      doc JSON,
      id2 UUID,
      bin BINARY(4),
      vbin VARBINARY(20),
      photo BLOB,
      big_photo LONGBLOB,
      born DATE,
      at_time TIME(2),
      at_naive DATETIME(6),
      at_naive0 DATETIME,
      at_utc TIMESTAMP(3) NULL,
      shape POINT,
      twice INT AS (num * 2) VIRTUAL,
      kept INT AS (num + 1) STORED,
      PRIMARY KEY (code, id),
      KEY (id)
    ))");
  auto described = conn_->DescribeTable("everything");
  ASSERT_OK(described);
  ASSERT_TRUE(described->has_value());
  const TableSchema& s = **described;
  EXPECT_EQ(s.name, "everything");
  EXPECT_EQ(s.primary_key, (std::vector<std::string>{"code", "id"}));
  ASSERT_EQ(s.columns.size(), 33u) << "generated columns are left out";
  EXPECT_EQ(s.Find("twice"), nullptr);
  EXPECT_EQ(s.Find("kept"), nullptr);
  EXPECT_EQ(s.columns[0].name, "id");
  EXPECT_EQ(s.columns[32].name, "shape");

  struct Want {
    const char* name;
    TypeClass type;
  };
  const Want want[] = {
      {"id", TypeClass::kInteger},
      {"code", TypeClass::kText},
      {"flag", TypeClass::kBoolean},
      {"tiny1", TypeClass::kBoolean},
      {"tiny", TypeClass::kInteger},
      {"small", TypeClass::kInteger},
      {"medium", TypeClass::kInteger},
      {"num", TypeClass::kInteger},
      {"big", TypeClass::kInteger},
      {"ubig", TypeClass::kDecimal},
      {"yr", TypeClass::kInteger},
      {"price", TypeClass::kDecimal},
      {"wide", TypeClass::kDecimal},
      {"whole", TypeClass::kDecimal},
      {"ratio", TypeClass::kReal},
      {"amount", TypeClass::kReal},
      {"name", TypeClass::kText},
      {"body", TypeClass::kText},
      {"huge", TypeClass::kText},
      {"colour", TypeClass::kText},
      {"tags", TypeClass::kText},
      {"doc", TypeClass::kJson},
      {"id2", TypeClass::kUuid},
      {"bin", TypeClass::kBlob},
      {"vbin", TypeClass::kBlob},
      {"photo", TypeClass::kBlob},
      {"big_photo", TypeClass::kBlob},
      {"born", TypeClass::kDate},
      {"at_time", TypeClass::kTime},
      {"at_naive", TypeClass::kTimestamp},
      {"at_naive0", TypeClass::kTimestamp},
      {"at_utc", TypeClass::kTimestampTz},
      {"shape", TypeClass::kAny},
  };
  for (const Want& w : want) {
    EXPECT_EQ(Col(s, w.name).type, w.type) << w.name << " is " << TypeClassName(Col(s, w.name).type)
                                           << " (" << Col(s, w.name).declared_type << ")";
  }

  const ColumnInfo& id = Col(s, "id");
  EXPECT_TRUE(id.auto_increment);
  EXPECT_TRUE(id.not_null);
  EXPECT_EQ(id.pk_position, 2);
  EXPECT_EQ(Col(s, "code").pk_position, 1);
  EXPECT_EQ(Col(s, "code").max_length, 5);
  EXPECT_EQ(Col(s, "name").max_length, 100);
  EXPECT_EQ(Col(s, "name").declared_type, "varchar(100)");
  EXPECT_TRUE(Col(s, "name").not_null);
  EXPECT_FALSE(Col(s, "name").has_default);
  EXPECT_FALSE(Col(s, "body").max_length.has_value());
  EXPECT_FALSE(Col(s, "flag").not_null);
  EXPECT_FALSE(Col(s, "flag").has_default) << "a nullable column without a default";
  EXPECT_TRUE(Col(s, "tiny1").has_default);
  EXPECT_TRUE(Col(s, "price").has_default);
  EXPECT_EQ(Col(s, "price").precision, 12);
  EXPECT_EQ(Col(s, "price").scale, 2);
  EXPECT_EQ(Col(s, "wide").precision, 30);
  EXPECT_EQ(Col(s, "wide").scale, 10);
  EXPECT_EQ(Col(s, "whole").scale, 0);
  EXPECT_EQ(Col(s, "ubig").precision, 20);
  EXPECT_EQ(Col(s, "ubig").scale, 0);
  EXPECT_EQ(Col(s, "at_time").scale, 2);
  EXPECT_EQ(Col(s, "at_naive").scale, 6);
  EXPECT_EQ(Col(s, "at_naive0").scale, 0);
  EXPECT_EQ(Col(s, "at_utc").scale, 3);
  EXPECT_FALSE(Col(s, "num").auto_increment);
  EXPECT_EQ(Col(s, "num").pk_position, 0);
}

TEST_F(MysqlSchemaTest, JsonIsTheCheckedLongtextOnly) {
  // A longtext with another check, or a json_valid check on another column, stays text.
  Exec(R"(
    CREATE TABLE docs (
      id INT PRIMARY KEY,
      doc JSON,
      plain LONGTEXT,
      other LONGTEXT CHECK (other <> ''),
      checked_elsewhere LONGTEXT,
      CONSTRAINT c1 CHECK (json_valid(plain) OR checked_elsewhere IS NULL)
    ))");
  auto described = conn_->DescribeTable("docs");
  ASSERT_OK(described);
  ASSERT_TRUE(described->has_value());
  EXPECT_EQ(Col(**described, "doc").type, TypeClass::kJson);
  EXPECT_EQ(Col(**described, "plain").type, TypeClass::kText);
  EXPECT_EQ(Col(**described, "other").type, TypeClass::kText);
  EXPECT_EQ(Col(**described, "checked_elsewhere").type, TypeClass::kText);
}

TEST_F(MysqlSchemaTest, TableNamesAreExact) {
  Exec("CREATE TABLE Product (a INT PRIMARY KEY); CREATE TABLE product (b INT, c INT)");
  auto upper = conn_->DescribeTable("Product");
  ASSERT_OK(upper);
  ASSERT_TRUE(upper->has_value());
  ASSERT_EQ((*upper)->columns.size(), 1u);
  EXPECT_EQ((*upper)->primary_key, std::vector<std::string>{"a"});
  auto lower = conn_->DescribeTable("product");
  ASSERT_OK(lower);
  ASSERT_TRUE(lower->has_value());
  EXPECT_EQ((*lower)->columns.size(), 2u);
  EXPECT_TRUE((*lower)->primary_key.empty());
}

TEST_F(MysqlSchemaTest, TableDdlRoundTripsEveryClass) {
  TableDef def;
  def.name = "made";
  auto col = [](const char* name, TypeClass t, bool not_null = false) {
    return ColumnDef{name, t, not_null};
  };
  ColumnDef id = col("id", TypeClass::kInteger, true);
  id.auto_increment = true;
  ColumnDef sku = col("sku", TypeClass::kText, true);
  sku.max_length = 64;
  ColumnDef price = col("price", TypeClass::kDecimal);
  price.precision = 12;
  price.scale = 2;
  ColumnDef at = col("at", TypeClass::kTimestamp);
  at.scale = 3;
  ColumnDef at_tz = col("at_tz", TypeClass::kTimestampTz);
  ColumnDef at_tz_required = col("at_tz_required", TypeClass::kTimestampTz, true);
  at_tz_required.scale = 0;
  ColumnDef t = col("t", TypeClass::kTime);
  t.scale = 2;
  def.columns = {id,
                 sku,
                 col("title", TypeClass::kText),
                 col("slug", TypeClass::kText),
                 price,
                 col("any_number", TypeClass::kDecimal),
                 col("weight", TypeClass::kReal),
                 col("qty", TypeClass::kInteger),
                 col("active", TypeClass::kBoolean),
                 col("photo", TypeClass::kBlob),
                 col("hash", TypeClass::kBlob),
                 col("born", TypeClass::kDate),
                 t,
                 at,
                 at_tz,
                 at_tz_required,
                 col("doc", TypeClass::kJson),
                 col("ref", TypeClass::kUuid),
                 col("whatever", TypeClass::kAny)};
  def.primary_key = {"id"};
  def.indexes = {{"", {"sku"}, true}, {"made_slug", {"slug", "hash"}, false}};

  const std::vector<std::string> ddl = conn_->TableDdl(def);
  ASSERT_EQ(ddl.size(), 3u);
  EXPECT_TRUE(Contains(ddl[0], "CREATE TABLE IF NOT EXISTS `made`")) << ddl[0];
  EXPECT_TRUE(Contains(ddl[0], "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")) << ddl[0];
  EXPECT_TRUE(Contains(ddl[1], "CREATE UNIQUE INDEX IF NOT EXISTS `made_sku_idx` ON `made`"))
      << ddl[1];
  EXPECT_TRUE(Contains(ddl[2], "CREATE INDEX IF NOT EXISTS `made_slug`")) << ddl[2];

  ASSERT_OK(conn_->EnsureTable(def));
  ASSERT_OK(conn_->EnsureTable(def));  // again: nothing to do
  auto described = conn_->DescribeTable("made");
  ASSERT_OK(described);
  ASSERT_TRUE(described->has_value());
  const TableSchema& s = **described;
  ASSERT_EQ(s.columns.size(), def.columns.size());
  EXPECT_EQ(s.primary_key, std::vector<std::string>{"id"});
  for (size_t i = 0; i < def.columns.size(); ++i) {
    const ColumnDef& d = def.columns[i];
    const ColumnInfo& c = s.columns[i];
    EXPECT_EQ(c.name, d.name);
    // kAny has no MySQL type of its own: it becomes text; timestamptz a datetime holding the
    // UTC time (a timestamp stops in 2038).
    TypeClass expected = d.type == TypeClass::kAny           ? TypeClass::kText
                         : d.type == TypeClass::kTimestampTz ? TypeClass::kTimestamp
                                                             : d.type;
    EXPECT_EQ(c.type, expected) << d.name << " became " << c.declared_type;
    EXPECT_EQ(c.not_null, d.not_null) << d.name;
  }
  EXPECT_TRUE(Col(s, "id").auto_increment);
  EXPECT_EQ(Col(s, "sku").max_length, 64);
  EXPECT_FALSE(Col(s, "title").max_length.has_value()) << Col(s, "title").declared_type;
  EXPECT_EQ(Col(s, "title").declared_type, "longtext");
  // Indexed text and bytes keep any length: the index takes a prefix of them.
  EXPECT_EQ(Col(s, "slug").declared_type, "longtext");
  EXPECT_EQ(Col(s, "hash").declared_type, "longblob");
  EXPECT_EQ(Col(s, "photo").declared_type, "longblob");
  EXPECT_EQ(Col(s, "price").precision, 12);
  EXPECT_EQ(Col(s, "price").scale, 2);
  EXPECT_EQ(Col(s, "any_number").precision, 65);
  EXPECT_EQ(Col(s, "any_number").scale, 30);
  EXPECT_EQ(Col(s, "at").scale, 3);
  EXPECT_EQ(Col(s, "at_tz").scale, 6);
  EXPECT_EQ(Col(s, "at_tz").declared_type, "datetime(6)");
  EXPECT_EQ(Col(s, "at_tz_required").scale, 0);
  EXPECT_FALSE(Col(s, "at_tz_required").has_default) << "no implicit CURRENT_TIMESTAMP";
  EXPECT_EQ(Col(s, "t").scale, 2);
  auto indexes = Rows(
      "SELECT INDEX_NAME, NON_UNIQUE, GROUP_CONCAT(CONCAT(COLUMN_NAME, "
      "IFNULL(CONCAT('(', SUB_PART, ')'), '')) ORDER BY SEQ_IN_INDEX) "
      "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND "
      "TABLE_NAME = 'made' GROUP BY INDEX_NAME, NON_UNIQUE");
  std::sort(indexes.begin(), indexes.end());
  // The two unbounded columns share the 3072 bytes of an index entry.
  EXPECT_EQ(indexes, (std::vector<std::string>{"PRIMARY|0|id", "made_sku_idx|0|sku",
                                               "made_slug|1|slug(384),hash(1536)"}));
}

TEST_F(MysqlSchemaTest, WeirdIdentifiersAreQuoted) {
  TableDef def;
  def.name = "Order Lines`s";
  def.columns = {ColumnDef{"order", TypeClass::kInteger, true},
                 ColumnDef{"Mixed Case", TypeClass::kText}, ColumnDef{"a`b", TypeClass::kText}};
  def.primary_key = {"order"};
  def.indexes = {{"", {"Mixed Case"}, false}};
  ASSERT_OK(conn_->EnsureTable(def));
  auto described = conn_->DescribeTable("Order Lines`s");
  ASSERT_OK(described);
  ASSERT_TRUE(described->has_value());
  EXPECT_EQ((*described)->primary_key, std::vector<std::string>{"order"});
  ASSERT_EQ((*described)->columns.size(), 3u);
  EXPECT_EQ((*described)->columns[2].name, "a`b");

  ASSERT_OK(conn_->Insert(def.name, {"order", "Mixed Case", "a`b"},
                          {{Value::Int(1), Value::Text("x"), Value::Text("y")},
                           {Value::Int(2), Value::Text("z"), Value::Null()}},
                          {}));
  ASSERT_OK(conn_->Update(def.name, {"order"}, {"a`b"}, {{Value::Text("w"), Value::Int(2)}}));
  ScanRequest req;
  req.table = def.name;
  req.columns = {"order", "a`b"};
  req.key_columns = {"order"};
  req.conditions = {{"Mixed Case", Condition::Op::kNe, Value::Text("nothing")}};
  auto stream = conn_->Scan(req);
  ASSERT_OK(stream);
  auto rows = testing::Drain(**stream);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1], (Row{Value::Int(2), Value::Text("w")}));
  ASSERT_OK(conn_->Delete(def.name, {"order"}, {{Value::Int(1)}}));
  EXPECT_EQ(conn_->Count(def.name, {}).value(), 1);
}

TEST_F(MysqlSchemaTest, EnsureTableRefusesToRunInsideATransaction) {
  TableDef def;
  def.name = "later";
  def.columns = {ColumnDef{"id", TypeClass::kInteger, true}};
  def.primary_key = {"id"};
  Exec("CREATE TABLE t (id INT PRIMARY KEY)");
  ASSERT_OK(conn_->Begin());
  ASSERT_OK(conn_->Insert("t", {"id"}, {{Value::Int(1)}}, {}));
  ASSERT_CODE(conn_->EnsureTable(def), StatusCode::kInvalidArgument);
  ASSERT_OK(conn_->Rollback());  // the insert was not committed by a CREATE TABLE
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM t"), std::vector<std::string>{"0"});
  ASSERT_OK(conn_->EnsureTable(def));
  auto described = conn_->DescribeTable("later");
  ASSERT_OK(described);
  EXPECT_TRUE(described->has_value());
}

TEST_F(MysqlSchemaTest, KeysOfTextGetLengthsTheIndexEntryHolds) {
  // A primary key cannot be a prefix: its text columns are bounded so that the key fits InnoDB's
  // 3072 bytes; a declared length that fits is kept, unbounded columns share the rest.
  TableDef single;
  single.name = "single";
  single.columns = {ColumnDef{"code", TypeClass::kText, true}, ColumnDef{"v", TypeClass::kText}};
  single.primary_key = {"code"};
  TableDef mixed;
  mixed.name = "mixed";
  ColumnDef shop{"shop", TypeClass::kText, true};
  shop.max_length = 100;
  mixed.columns = {shop, ColumnDef{"n", TypeClass::kInteger, true},
                   ColumnDef{"sku", TypeClass::kText, true}};
  mixed.primary_key = {"shop", "n", "sku"};
  mixed.indexes = {{"", {"sku", "shop"}, false}};
  for (const TableDef* def : {&single, &mixed}) ASSERT_OK(conn_->EnsureTable(*def));
  auto one = conn_->DescribeTable("single");
  auto two = conn_->DescribeTable("mixed");
  ASSERT_OK(one);
  ASSERT_OK(two);
  ASSERT_TRUE(one->has_value() && two->has_value());
  EXPECT_EQ(Col(**one, "code").declared_type, "varchar(768)");
  EXPECT_EQ(Col(**one, "v").declared_type, "longtext");
  EXPECT_EQ(Col(**two, "shop").declared_type, "varchar(100)");
  EXPECT_EQ(Col(**two, "sku").declared_type, "varchar(660)");  // (3072 - 400 - 32) / 4
  // A 768-character key is written; the index on (sku, shop) needs no prefix.
  ASSERT_OK(conn_->Insert("single", {"code", "v"},
                          {{Value::Text(std::string(768, 'k')), Value::Text("x")}}, {}));
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                 "DATABASE() AND TABLE_NAME = 'mixed' AND SUB_PART IS NOT NULL"),
            std::vector<std::string>{"0"});
}

TEST(MysqlDialectTest, QuotesIdentifiers) {
  EXPECT_EQ(mysql::QuoteIdent("order"), "`order`");
  EXPECT_EQ(mysql::QuoteIdent("a`b"), "`a``b`");
  EXPECT_EQ(mysql::QuoteList({"a", "b c"}), "`a`,`b c`");
  EXPECT_EQ(mysql::Placeholders(3), "?,?,?");
}

TEST(MysqlDialectTest, LongIndexNamesStayWithinTheLimit) {
  IndexDef index{"", {std::string(40, 'c'), std::string(40, 'd')}, false};
  std::string name = mysql::IndexNameFor(std::string(30, 't'), index);
  EXPECT_LE(name.size(), 64u);
  EXPECT_EQ(name, mysql::IndexNameFor(std::string(30, 't'), index)) << "stable";
  IndexDef other{"", {std::string(40, 'c'), std::string(40, 'e')}, false};
  EXPECT_NE(name, mysql::IndexNameFor(std::string(30, 't'), other));
}

}  // namespace
}  // namespace tether
