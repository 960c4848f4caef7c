// Range checksums (Connector::Checksum, ChecksumBuckets, KeyBounds, RowHashes), key splits
// (KeySplits) and Scan's upto_key, on real
// SQLite, PostgreSQL and MariaDB databases: the same records written through each connector give
// the same checksum in every engine, equal to connector.h's row encoding computed here from its
// description (the reference encoder below).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "connectors/connector.h"
#include "util/test_database.h"
#include "util/test_util.h"

namespace tether {

// Found by gtest through the argument's namespace.
std::ostream& operator<<(std::ostream& os, const RangeChecksum& c) {
  return os << "{rows " << c.rows << ", sum " << c.sum << "}";
}

namespace {

using testing::AllEngines;
using testing::Drain;
using testing::TestDatabase;

// --- The reference: connector.h's row encoding, from its description.

using Fields = std::vector<std::optional<std::string>>;  // canonical texts; nullopt is NULL
using Classes = std::vector<TypeClass>;                  // of each field

size_t Characters(const std::string& utf8) {
  return static_cast<size_t>(
      std::count_if(utf8.begin(), utf8.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool FreeText(TypeClass type) {
  return type == TypeClass::kText || type == TypeClass::kJson || type == TypeClass::kAny;
}

std::string RowText(const Fields& fields, const Classes& classes) {
  EXPECT_EQ(fields.size(), classes.size());
  std::string out;
  for (size_t i = 0; i < fields.size() && i < classes.size(); ++i) {
    const auto& f = fields[i];
    if (!f) {
      out += "N";
    } else if (FreeText(classes[i])) {
      out += std::to_string(Characters(*f)) + ":" + *f;
    } else {
      out += *f + ",";
    }
  }
  return out;
}

// The first 16 hex digits of the MD5 of the row's text, as a number.
uint64_t RowHash(const Fields& fields, const Classes& classes) {
  const std::string text = RowText(fields, classes);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EXPECT_EQ(EVP_Digest(text.data(), text.size(), digest, &size, EVP_md5(), nullptr), 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return std::stoull(hex.substr(0, 16), nullptr, 16);
}

RangeChecksum Reference(const std::vector<Fields>& rows, const Classes& classes) {
  RangeChecksum out;
  for (const Fields& row : rows) {
    ++out.rows;
    out.sum += RowHash(row, classes);  // wraps: modulo 2^64
  }
  return out;
}

// --- Tables

ColumnDef Column(std::string name, TypeClass type, std::optional<int> precision = std::nullopt,
                 std::optional<int> scale = std::nullopt) {
  ColumnDef c(std::move(name), type);
  c.precision = precision;
  c.scale = scale;
  return c;
}

// One column of every type class whose text must agree across engines.
TableDef MixedTable() {
  TableDef def;
  def.name = "mixed";
  def.columns = {ColumnDef("id", TypeClass::kInteger, true),
                 Column("d2", TypeClass::kDecimal, 12, 2),
                 Column("d6", TypeClass::kDecimal, 20, 6),
                 Column("txt", TypeClass::kText),
                 Column("flag", TypeClass::kBoolean),
                 Column("data", TypeClass::kBlob),
                 Column("day", TypeClass::kDate),
                 Column("clock", TypeClass::kTime, std::nullopt, 3),
                 Column("at", TypeClass::kTimestamp, std::nullopt, 6),
                 Column("at_tz", TypeClass::kTimestampTz, std::nullopt, 6),
                 Column("uid", TypeClass::kUuid)};
  def.primary_key = {"id"};
  return def;
}

Value Dec(std::string s) { return Value::Decimal(std::move(s)); }
Value Txt(std::string s) { return Value::Text(std::move(s)); }

// The records, as tether's engine hands them to Insert.
std::vector<Row> MixedRows() {
  return {
      {Value::Int(1), Dec("12.50"), Dec("-3.141500"), Txt("héllo wörld ✓"), Value::Bool(true),
       Value::Blob(std::string("\x00\x01\xfe\xff", 4)), Txt("2024-03-01"), Txt("13:05:09.25"),
       Txt("2024-03-01 13:05:09.5"), Txt("2024-03-01 12:05:09.123456+00:00"),
       Txt("0e3c1f2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b")},
      {Value::Int(2), {}, {}, {}, {}, {}, {}, {}, {}, {}, {}},
      {Value::Int(3), Dec("0.00"), Dec("100.000000"), Txt(""), Value::Bool(false), Value::Blob(""),
       Txt("1970-01-01"), Txt("00:00:00"), Txt("1999-12-31 23:59:59"),
       Txt("2024-03-01 14:00:00+02:00"), Txt("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")},
      {Value::Int(9007199254740993), Dec("-0.01"), Dec("1234567890.12345"),
       Txt("😀 line\nbreak 'q' \"dq\" \\ N"), Value::Bool(true), Value::Blob(std::string(1, '\0')),
       Txt("2000-02-29"), Txt("23:59:59.999"), Txt("2024-02-29 00:00:00.000001"),
       Txt("2038-01-19 03:14:07.999999+00:00"), Txt("00000000-0000-0000-0000-000000000000")},
  };
}

// The canonical texts of MixedRows, written out by hand from connector.h.
std::vector<Fields> MixedCanonical() {
  return {
      {"1", "12.5", "-3.1415", "héllo wörld ✓", "1", "0001feff", "2024-03-01", "13:05:09.25",
       "2024-03-01 13:05:09.5", "2024-03-01 12:05:09.123456",
       "0e3c1f2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"},
      {"2", {}, {}, {}, {}, {}, {}, {}, {}, {}, {}},
      {"3", "0", "100", "", "0", "", "1970-01-01", "00:00:00", "1999-12-31 23:59:59",
       "2024-03-01 12:00:00", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
      {"9007199254740993", "-0.01", "1234567890.12345", "😀 line\nbreak 'q' \"dq\" \\ N", "1", "00",
       "2000-02-29", "23:59:59.999", "2024-02-29 00:00:00.000001", "2038-01-19 03:14:07.999999",
       "00000000-0000-0000-0000-000000000000"},
  };
}

TableDef IntTable(const std::string& name, const std::vector<std::string>& keys,
                  std::vector<ColumnDef> more = {}) {
  TableDef def;
  def.name = name;
  for (const std::string& k : keys) def.columns.emplace_back(k, TypeClass::kInteger, true);
  for (ColumnDef& c : more) def.columns.push_back(std::move(c));
  def.primary_key = keys;
  return def;
}

Row Ints(std::initializer_list<int64_t> values) {
  Row out;
  for (int64_t v : values) out.push_back(Value::Int(v));
  return out;
}

// --- Fixtures: one database per engine for a suite (creating databases would dominate).

class Databases : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const std::string& engine : AllEngines()) {
      (*dbs_)[engine] = std::make_unique<TestDatabase>(engine);
    }
  }
  static void TearDownTestSuite() { dbs_->clear(); }

  // A connector to `engine`'s database; nullptr and a test failure when there is none.
  static std::unique_ptr<Connector> Open(const std::string& engine) {
    const TestDatabase& db = *(*dbs_)[engine];
    EXPECT_TRUE(db.ok()) << engine << ": no test database";
    return db.ok() ? db.Open("cs-" + engine) : nullptr;
  }

  // Creates `def` afresh in `conn`'s database and inserts `rows` through Insert.
  static void Create(Connector& conn, const TableDef& def, const std::vector<Row>& rows) {
    ASSERT_OK(conn.ExecuteScript("DROP TABLE IF EXISTS " + def.name));
    ASSERT_OK(conn.EnsureTable(def));
    std::vector<std::string> columns;
    for (const ColumnDef& c : def.columns) columns.push_back(c.name);
    ASSERT_OK(conn.Insert(def.name, columns, rows, {}));
  }

  // The checksum of `table`'s `columns` (all when empty) as a diff asks for it: columns described
  // by the connector itself.
  static Result<RangeChecksum> Sum(Connector& conn, const std::string& table,
                                   const std::vector<std::string>& columns,
                                   const std::vector<std::string>& keys, KeyRange range = {},
                                   std::vector<Condition> conditions = {}) {
    TETHER_ASSIGN_OR_RETURN(auto schema, conn.DescribeTable(table));
    if (!schema) return Status::NotFound(table);
    ChecksumRequest request{table, {}, keys, std::move(range), std::move(conditions)};
    for (const ColumnInfo& c : schema->columns) {
      if (columns.empty() || std::find(columns.begin(), columns.end(), c.name) != columns.end()) {
        request.columns.push_back(c);
      }
    }
    return conn.Checksum(request);
  }

  static inline std::map<std::string, std::unique_ptr<TestDatabase>>* dbs_ =
      new std::map<std::string, std::unique_ptr<TestDatabase>>();
};

class CrossEngineChecksumTest : public Databases {};

TEST_F(CrossEngineChecksumTest, EveryTypeClassHashesAlikeInEveryEngineAndAsSpecified) {
  const std::vector<Row> rows = MixedRows();
  const std::vector<Fields> canonical = MixedCanonical();
  Classes classes;
  for (const ColumnDef& c : MixedTable().columns) classes.push_back(c.type);
  std::map<std::string, RangeChecksum> whole;
  for (const std::string& engine : AllEngines()) {
    SCOPED_TRACE(engine);
    auto conn = Open(engine);
    ASSERT_NE(conn, nullptr);
    ASSERT_NO_FATAL_FAILURE(Create(*conn, MixedTable(), rows));
    // Row by row first, so that a difference names its row.
    for (size_t i = 0; i < rows.size(); ++i) {
      SCOPED_TRACE("row " + std::to_string(i + 1));
      const int64_t id = rows[i][0].as_int();
      auto one = Sum(*conn, "mixed", {}, {"id"}, {Ints({id - 1}), Ints({id})});
      ASSERT_OK(one);
      EXPECT_EQ(*one, Reference({canonical[i]}, classes)) << RowText(canonical[i], classes);
    }
    auto all = Sum(*conn, "mixed", {}, {"id"});
    ASSERT_OK(all);
    EXPECT_EQ(*all, Reference(canonical, classes));
    whole[engine] = *all;
    // Each row's own hash (RowHashes): keyed as Scan reads keys, and what the sum adds up.
    auto schema = conn->DescribeTable("mixed");
    ASSERT_OK(schema);
    ChecksumRequest request{"mixed", (*schema)->columns, {"id"}, {}, {}};
    auto hashes = conn->RowHashes(request);
    ASSERT_OK(hashes);
    ASSERT_EQ(hashes->size(), rows.size());
    std::map<int64_t, uint64_t> by_id;
    for (const Row& h : *hashes) {
      ASSERT_EQ(h.size(), 2u);
      ASSERT_EQ(h[0].kind(), ValueKind::kInt);
      ASSERT_EQ(h[1].kind(), ValueKind::kInt);
      by_id[h[0].as_int()] = static_cast<uint64_t>(h[1].as_int());
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(by_id[rows[i][0].as_int()], Reference({canonical[i]}, classes).sum)
          << "row " << i + 1;
    }
    // A range: only its rows.
    request.range = {Ints({rows[0][0].as_int()}), std::nullopt};
    hashes = conn->RowHashes(request);
    ASSERT_OK(hashes);
    EXPECT_EQ(hashes->size(), rows.size() - 1);
  }
  EXPECT_EQ(whole["sqlite"], whole["postgres"]);
  EXPECT_EQ(whole["postgres"], whole["mysql"]);
}

// Values SQLite holds as other programs wrote them (it keeps what it is given): the canonical
// text does not depend on how they were spelled.
TEST_F(CrossEngineChecksumTest, SqliteCanonicalizesTextOtherProgramsWrote) {
  auto conn = Open("sqlite");
  ASSERT_NE(conn, nullptr);
  ASSERT_OK(conn->ExecuteScript(
      "CREATE TABLE spelled (id INTEGER PRIMARY KEY, d NUMERIC(12,2), at TIMESTAMP(6),"
      " at_tz TIMESTAMPTZ(6), clock TIME, uid UUID, flag BOOLEAN);"
      "INSERT INTO spelled VALUES (1, 'x12', '2024-03-01T13:05:09.500000',"
      " '2024-03-01 14:05:09.5+02:00', '13:05', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 1),"
      " (2, 0.1 + 0.2, '2024-03-01 13:05:09.5', '2024-03-01 12:05:09.500Z', '13:05:00.000',"
      " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 0.0)"));
  auto sum = Sum(*conn, "spelled", {}, {"id"});
  ASSERT_OK(sum);
  const std::string uid = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
  Classes classes = {TypeClass::kInteger,     TypeClass::kDecimal, TypeClass::kTimestamp,
                     TypeClass::kTimestampTz, TypeClass::kTime,    TypeClass::kUuid,
                     TypeClass::kBoolean};
  const RangeChecksum second = Reference(
      {{"2", "0.3", "2024-03-01 13:05:09.5", "2024-03-01 12:05:09.5", "13:05:00", uid, "0"}},
      classes);
  // 'x12' has no decimal text: it counts as free text.
  classes[1] = TypeClass::kText;
  const RangeChecksum first = Reference(
      {{"1", "x12", "2024-03-01 13:05:09.5", "2024-03-01 12:05:09.5", "13:05:00", uid, "1"}},
      classes);
  EXPECT_EQ(*sum, (RangeChecksum{2, first.sum + second.sum}));
}

// A key SQLite holds as text in an integer column cannot be bucketed: the error names it.
TEST_F(CrossEngineChecksumTest, SqliteKeyThatIsNotAnIntegerIsNamed) {
  auto conn = Open("sqlite");
  ASSERT_NE(conn, nullptr);
  ASSERT_OK(
      conn->ExecuteScript("CREATE TABLE junk (id INT PRIMARY KEY, v INT);"
                          "INSERT INTO junk VALUES (1, 1), ('abc', 2), (3, 3)"));
  ChecksumRequest request{"junk", {}, {"id"}, {}, {}};
  auto bounds = conn->KeyBounds(request);
  ASSERT_FALSE(bounds.ok());
  EXPECT_EQ(bounds.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bounds.status().message().find("the key 'abc' is not an integer"), std::string::npos)
      << bounds.status().ToString();
  auto schema = conn->DescribeTable("junk");
  ASSERT_OK(schema);
  request.columns = (*schema)->columns;
  auto buckets = conn->ChecksumBuckets(request, {1, 1, 3});  // 'abc' sorts past 3: not read
  ASSERT_OK(buckets);
  EXPECT_EQ(buckets->size(), 2u);
  // 2.5 stays a REAL in an INT column, between the bounds.
  ASSERT_OK(conn->ExecuteScript("INSERT INTO junk VALUES (2.5, 4)"));
  buckets = conn->ChecksumBuckets(request, {1, 1, 3});
  ASSERT_FALSE(buckets.ok());
  EXPECT_NE(buckets.status().message().find("the key '2.5' is not an integer"), std::string::npos)
      << buckets.status().ToString();
}

// Text hashes as UTF-8 whatever the column's character set or collation.
TEST_F(CrossEngineChecksumTest, MysqlTextOfAnyCharacterSetOrCollationHashesAsUtf8) {
  auto conn = Open("mysql");
  ASSERT_NE(conn, nullptr);
  ASSERT_OK(conn->ExecuteScript(
      "CREATE TABLE charsets (id BIGINT PRIMARY KEY, a VARCHAR(20) CHARACTER SET latin1,"
      " b VARCHAR(20) COLLATE utf8mb4_bin, c TEXT COLLATE utf8mb4_general_ci)"));
  ASSERT_OK(conn->Insert("charsets", {"id", "a", "b", "c"},
                         {{Value::Int(1), Txt("héllo"), Txt("wörld ✓"), Txt("Grüße")}}, {}));
  auto sum = Sum(*conn, "charsets", {}, {"id"});
  ASSERT_OK(sum);
  const TypeClass kInt = TypeClass::kInteger, kText = TypeClass::kText;
  EXPECT_EQ(*sum, Reference({{"1", "héllo", "wörld ✓", "Grüße"}}, {kInt, kText, kText, kText}));
  // Alone, a latin1 column would make the row latin1.
  sum = Sum(*conn, "charsets", {"id", "a"}, {"id"});
  ASSERT_OK(sum);
  EXPECT_EQ(*sum, Reference({{"1", "héllo"}}, {kInt, kText}));
}

class ChecksumTest : public Databases, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    conn_ = Open(GetParam());
    ASSERT_NE(conn_, nullptr);
  }

  RangeChecksum SumOf(const std::string& table, const std::vector<std::string>& keys,
                      KeyRange range = {}, std::vector<Condition> conditions = {},
                      const std::vector<std::string>& columns = {}) {
    auto sum = Sum(*conn_, table, columns, keys, std::move(range), std::move(conditions));
    EXPECT_TRUE(sum.ok()) << sum.status().ToString();
    return sum.ok() ? *sum : RangeChecksum{-1, 0};
  }

  std::vector<Row> Scan(const std::string& table, const std::vector<std::string>& keys,
                        std::optional<Row> after, std::optional<Row> upto, size_t limit = 0) {
    ScanRequest request{table, keys, keys, std::move(after), {}, limit, std::move(upto)};
    auto stream = conn_->Scan(request);
    EXPECT_TRUE(stream.ok()) << stream.status().ToString();
    return stream.ok() ? Drain(**stream) : std::vector<Row>();
  }

  std::unique_ptr<Connector> conn_;
};

TEST_P(ChecksumTest, SaysItCanChecksum) { EXPECT_TRUE(conn_->capabilities().checksums); }

TEST_P(ChecksumTest, EquivalentSpellingsHashAlike) {
  // 12.50 in decimal(12,2) and 12.5 in decimal(20,6); .500000 in timestamp(6) and .5 in
  // timestamp(3); whole numbers and instants with and without zeros after the point.
  auto table = [](const std::string& name, int precision, int scale, int fraction) {
    return IntTable(name, {"id"},
                    {Column("v", TypeClass::kDecimal, precision, scale),
                     Column("at", TypeClass::kTimestamp, std::nullopt, fraction),
                     Column("clock", TypeClass::kTime, std::nullopt, fraction)});
  };
  ASSERT_NO_FATAL_FAILURE(Create(
      *conn_, table("scaled_a", 12, 2, 6),
      {{Value::Int(1), Dec("12.50"), Txt("2024-03-01 13:05:09.500000"), Txt("13:05:09.500000")},
       {Value::Int(2), Dec("100.00"), Txt("2024-03-01 00:00:00.000000"), Txt("00:00:00.000000")}}));
  ASSERT_NO_FATAL_FAILURE(
      Create(*conn_, table("scaled_b", 20, 6, 3),
             {{Value::Int(1), Dec("12.5"), Txt("2024-03-01 13:05:09.5"), Txt("13:05:09.5")},
              {Value::Int(2), Dec("100"), Txt("2024-03-01 00:00:00"), Txt("00:00:00")}}));
  const RangeChecksum a = SumOf("scaled_a", {"id"});
  EXPECT_EQ(a, SumOf("scaled_b", {"id"}));
  EXPECT_EQ(a, Reference({{"1", "12.5", "2024-03-01 13:05:09.5", "13:05:09.5"},
                          {"2", "100", "2024-03-01 00:00:00", "00:00:00"}},
                         {TypeClass::kInteger, TypeClass::kDecimal, TypeClass::kTimestamp,
                          TypeClass::kTime}));
}

TEST_P(ChecksumTest, AnyDifferenceChangesTheChecksum) {
  ASSERT_NO_FATAL_FAILURE(
      Create(*conn_,
             IntTable("variants", {"id"},
                      {Column("a", TypeClass::kText), Column("b", TypeClass::kText),
                       Column("bin", TypeClass::kBlob)}),
             {
                 {Value::Int(1), Txt("1"), Txt("0"), {}},  // "1","0" against "10",""
                 {Value::Int(2), Txt("10"), Txt(""), {}},
                 {Value::Int(3), {}, Txt("x"), {}},  // NULL against ''
                 {Value::Int(4), Txt(""), Txt("x"), {}},
                 {Value::Int(5), Txt("abc"), {}, {}},  // one byte
                 {Value::Int(6), Txt("abd"), {}, {}},
                 {Value::Int(7), {}, {}, Value::Blob(std::string("\0\1", 2))},
                 {Value::Int(8), {}, {}, Value::Blob(std::string("\0\2", 2))},
                 {Value::Int(9), Txt("N"), {}, {}},  // the text N against NULL
                 {Value::Int(10), {}, {}, {}},
                 {Value::Int(11), Txt("abc"), {}, {}},  // the same as 5
             }));
  auto row = [&](int64_t id) {
    return SumOf("variants", {"id"}, {Ints({id - 1}), Ints({id})}, {}, {"a", "b", "bin"});
  };
  for (int64_t id : {1, 3, 5, 7, 9}) {
    SCOPED_TRACE("rows " + std::to_string(id) + " and " + std::to_string(id + 1));
    const RangeChecksum first = row(id);
    EXPECT_EQ(first.rows, 1);
    EXPECT_NE(first, row(id + 1));
  }
  EXPECT_EQ(row(5), row(11));
}

// Fields that print without a length end at their comma: (1, 23) is not (12, 3).
TEST_P(ChecksumTest, FieldsWithoutALengthDoNotRunTogether) {
  ASSERT_NO_FATAL_FAILURE(Create(
      *conn_,
      IntTable("runs", {"id"},
               {Column("a", TypeClass::kInteger), Column("b", TypeClass::kInteger),
                Column("c", TypeClass::kDecimal, 12, 2), Column("d", TypeClass::kDecimal, 12, 2)}),
      {{Value::Int(1), Value::Int(1), Value::Int(23), {}, {}},
       {Value::Int(2), Value::Int(12), Value::Int(3), {}, {}},
       {Value::Int(3), {}, {}, Dec("1.5"), Dec("2")},
       {Value::Int(4), {}, {}, Dec("1.52"), {}}}));
  auto row = [&](int64_t id) {
    return SumOf("runs", {"id"}, {Ints({id - 1}), Ints({id})}, {}, {"a", "b", "c", "d"});
  };
  EXPECT_NE(row(1), row(2));
  EXPECT_NE(row(3), row(4));
}

TEST_P(ChecksumTest, KeyBoundsAreTheLeastAndGreatestKeyOfTheRange) {
  std::vector<Row> rows;
  for (int64_t id : {-30, -7, 0, 3, 99, 5000}) rows.push_back(Ints({id, id % 2}));
  ASSERT_NO_FATAL_FAILURE(
      Create(*conn_, IntTable("bounded", {"id"}, {Column("v", TypeClass::kInteger)}), rows));
  auto bounds = [&](KeyRange range, std::vector<Condition> conditions = {}) {
    ChecksumRequest request{"bounded", {}, {"id"}, std::move(range), std::move(conditions)};
    auto b = conn_->KeyBounds(request);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? *b : std::optional(std::pair<int64_t, int64_t>{-1, -1});
  };
  using Pair = std::pair<int64_t, int64_t>;
  EXPECT_EQ(bounds({}), Pair(-30, 5000));
  EXPECT_EQ(bounds({Ints({0}), Ints({99})}), Pair(3, 99));
  EXPECT_EQ(bounds({}, {{"v", Condition::Op::kEq, Value::Int(1)}}), Pair(3, 99));
  EXPECT_EQ(bounds({Ints({5000}), std::nullopt}), std::nullopt);
  ChecksumRequest no_key{"bounded", {}, {}, {}, {}};
  EXPECT_FALSE(conn_->KeyBounds(no_key).ok());
}

// Each bucket's checksum is the checksum of its key range; buckets without rows are left out,
// and so are rows before the origin or past the last key.
TEST_P(ChecksumTest, BucketsAreTheChecksumsOfTheirKeyRanges) {
  std::vector<Row> rows;
  std::vector<int64_t> ids;
  for (int64_t id = -30; id < 0; id += 3) ids.push_back(id);
  for (int64_t id = 1; id <= 60; ++id) ids.push_back(id * id);
  ids.push_back(100000);
  for (int64_t id : ids) rows.push_back(Ints({id, id % 7}));
  ASSERT_NO_FATAL_FAILURE(
      Create(*conn_, IntTable("bucketed", {"id"}, {Column("v", TypeClass::kInteger)}), rows));
  auto schema = conn_->DescribeTable("bucketed");
  ASSERT_OK(schema);
  ChecksumRequest request{"bucketed", (*schema)->columns, {"id"}, {}, {}};
  const KeyBuckets buckets{-30, 100, 3600};  // 100000 is past the last key
  auto got = conn_->ChecksumBuckets(request, buckets);
  ASSERT_OK(got);
  int64_t total = 0, previous = -1;
  for (const BucketChecksum& b : *got) {
    SCOPED_TRACE("bucket " + std::to_string(b.bucket));
    EXPECT_GT(b.bucket, previous);
    previous = b.bucket;
    const int64_t first = buckets.origin + b.bucket * buckets.width;
    const int64_t last = std::min(buckets.last, first + buckets.width - 1);
    EXPECT_EQ(b.checksum, SumOf("bucketed", {"id"}, {Ints({first - 1}), Ints({last})}));
    EXPECT_GT(b.checksum.rows, 0);
    int64_t least = last, greatest = first;
    for (int64_t id : ids) {
      if (id >= first && id <= last) least = std::min(least, id), greatest = std::max(greatest, id);
    }
    EXPECT_EQ(b.least, least);
    EXPECT_EQ(b.greatest, greatest);
    total += b.checksum.rows;
  }
  EXPECT_EQ(total, static_cast<int64_t>(ids.size()) - 1);
  std::set<int64_t> non_empty;  // buckets with rows
  for (int64_t id : ids) {
    if (id <= buckets.last) non_empty.insert((id - buckets.origin) / buckets.width);
  }
  std::set<int64_t> listed;
  for (const BucketChecksum& b : *got) listed.insert(b.bucket);
  EXPECT_EQ(listed, non_empty);

  // The request's range bounds the rows too, and the origin: nothing before -10.
  request.range = {std::nullopt, Ints({100})};
  got = conn_->ChecksumBuckets(request, {-10, 1000000, 3600});
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().checksum, SumOf("bucketed", {"id"}, {Ints({-11}), Ints({100})}));
  EXPECT_EQ(got->front().least, -9);
  EXPECT_EQ(got->front().greatest, 100);

  // Nonsense is refused.
  EXPECT_FALSE(conn_->ChecksumBuckets(request, {0, 0, 10}).ok());
  EXPECT_FALSE(conn_->ChecksumBuckets(request, {10, 1, 0}).ok());
}

TEST_P(ChecksumTest, RangesAndConditionsSelectTheirRows) {
  std::vector<Row> rows;
  for (int64_t id = 1; id <= 100; ++id) rows.push_back(Ints({id, id % 3}));
  ASSERT_NO_FATAL_FAILURE(
      Create(*conn_, IntTable("ints", {"id"}, {Column("v", TypeClass::kInteger)}), rows));
  const std::vector<std::string> key = {"id"};
  EXPECT_EQ(SumOf("ints", key).rows, 100);
  EXPECT_EQ(SumOf("ints", key, {Ints({10}), std::nullopt}).rows, 90);
  EXPECT_EQ(SumOf("ints", key, {std::nullopt, Ints({20})}).rows, 20);
  EXPECT_EQ(SumOf("ints", key, {Ints({10}), Ints({20})}).rows, 10);
  EXPECT_EQ(SumOf("ints", key, {Ints({50}), Ints({40})}), (RangeChecksum{0, 0}));
  const Condition v0{"v", Condition::Op::kEq, Value::Int(0)};
  EXPECT_EQ(SumOf("ints", key, {Ints({10}), Ints({20})}, {v0}).rows, 3);  // 12, 15, 18

  // Sums add up: the two halves of a split make the whole.
  const RangeChecksum whole = SumOf("ints", key);
  const RangeChecksum low = SumOf("ints", key, {std::nullopt, Ints({37})});
  const RangeChecksum high = SumOf("ints", key, {Ints({37}), std::nullopt});
  EXPECT_EQ(low.rows + high.rows, whole.rows);
  EXPECT_EQ(low.sum + high.sum, whole.sum);

  // (a, b): a in 1..5, b in 1..10, compared as row values.
  rows.clear();
  for (int64_t a = 1; a <= 5; ++a) {
    for (int64_t b = 1; b <= 10; ++b) rows.push_back(Ints({a, b}));
  }
  ASSERT_NO_FATAL_FAILURE(Create(*conn_, IntTable("pairs", {"a", "b"}), rows));
  const std::vector<std::string> pair = {"a", "b"};
  const KeyRange middle{Ints({2, 5}), Ints({4, 3})};
  EXPECT_EQ(SumOf("pairs", pair, middle).rows, 5 + 10 + 3);
  const Condition b5{"b", Condition::Op::kGe, Value::Int(5)};
  EXPECT_EQ(SumOf("pairs", pair, middle, {b5}).rows, 5 + 6);
  EXPECT_EQ(SumOf("pairs", pair, {Ints({4, 10}), std::nullopt}).rows, 10);
  EXPECT_EQ(SumOf("pairs", pair, {std::nullopt, Ints({1, 10})}).rows, 10);

  ChecksumRequest bad{"pairs", {}, pair, {Ints({1}), std::nullopt}, {}};
  ASSERT_CODE(conn_->Checksum(bad), StatusCode::kInvalidArgument);
  bad.range = {std::nullopt, Ints({1, 2, 3})};
  ASSERT_CODE(conn_->Checksum(bad), StatusCode::kInvalidArgument);
}

// The key of every `every`-th of `keys` (sorted), but the last.
std::vector<Row> ExpectedSplits(const std::vector<Row>& keys, size_t every) {
  std::vector<Row> out;
  for (size_t n = every; n < keys.size(); n += every) out.push_back(keys[n - 1]);
  return out;
}

TEST_P(ChecksumTest, KeySplitsCutSparseKeysEveryNRows) {
  std::vector<Row> keys;
  for (int64_t id : {1, 2, 3, 1000, 1001, 50000, 50001, 70000, 900000, 900001}) {
    keys.push_back(Ints({id}));
  }
  ASSERT_NO_FATAL_FAILURE(Create(*conn_, IntTable("sparse", {"id"}), keys));
  auto splits = [&](size_t every, KeyRange range = {}, std::vector<Condition> conditions = {}) {
    auto out = conn_->KeySplits("sparse", {"id"}, range, conditions, every);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : std::vector<Row>{Ints({-1})};
  };
  EXPECT_EQ(splits(3), (std::vector<Row>{Ints({3}), Ints({50000}), Ints({900000})}));
  EXPECT_EQ(splits(1), ExpectedSplits(keys, 1));
  EXPECT_EQ(splits(5), (std::vector<Row>{Ints({1001})}));  // the 10th row ends the range
  EXPECT_EQ(splits(10), std::vector<Row>{});
  EXPECT_EQ(splits(11), std::vector<Row>{});
  // Rows 3 .. 70000 (six of them), then without 1000.
  const KeyRange range{Ints({2}), Ints({70000})};
  EXPECT_EQ(splits(2, range), (std::vector<Row>{Ints({1000}), Ints({50000})}));
  const Condition not1000{"id", Condition::Op::kNe, Value::Int(1000)};
  EXPECT_EQ(splits(2, range, {not1000}), (std::vector<Row>{Ints({1001}), Ints({50001})}));
  ASSERT_CODE(conn_->KeySplits("sparse", {"id"}, {}, {}, 0), StatusCode::kInvalidArgument);
  ASSERT_CODE(conn_->KeySplits("sparse", {}, {}, {}, 2), StatusCode::kInvalidArgument);
}

TEST_P(ChecksumTest, KeySplitsOfCompositeKeysMakePartsOfNRows) {
  std::vector<Row> keys;  // sparse pairs, in key order
  for (int64_t a : {-5, 0, 7, 300}) {
    for (int64_t b = 1; b <= 40; b += (a == 7 ? 13 : 3)) keys.push_back(Ints({a, b * b}));
  }
  ASSERT_NO_FATAL_FAILURE(Create(*conn_, IntTable("composite", {"a", "b"}), keys));
  const std::vector<std::string> pair = {"a", "b"};
  for (size_t every : {1, 4, 7, 15}) {
    SCOPED_TRACE("every " + std::to_string(every));
    auto cuts = conn_->KeySplits("composite", pair, {}, {}, every);
    ASSERT_OK(cuts);
    EXPECT_EQ(*cuts, ExpectedSplits(keys, every));
    // The cuts make parts of `every` rows, and a last one of at most `every`.
    std::optional<Row> after;
    for (const Row& cut : *cuts) {
      EXPECT_EQ(SumOf("composite", pair, {after, cut}).rows, static_cast<int64_t>(every));
      after = cut;
    }
    const int64_t rest = SumOf("composite", pair, {after, std::nullopt}).rows;
    EXPECT_GE(rest, 1);
    EXPECT_LE(rest, static_cast<int64_t>(every));
  }
  // Within (0, 1) .. (300, 100], rows of a = 0 (b past 1), 7 and 300 (b up to 100).
  std::vector<Row> inside;
  for (const Row& k : keys) {
    const std::pair<int64_t, int64_t> key{k[0].as_int(), k[1].as_int()};
    if (key > std::pair<int64_t, int64_t>{0, 1} && key <= std::pair<int64_t, int64_t>{300, 100}) {
      inside.push_back(k);
    }
  }
  auto cuts = conn_->KeySplits("composite", pair, {Ints({0, 1}), Ints({300, 100})}, {}, 3);
  ASSERT_OK(cuts);
  EXPECT_EQ(*cuts, ExpectedSplits(inside, 3));
}

// Cut points are values as Scan reads them, so they bound scans and checksums of any key type.
TEST_P(ChecksumTest, KeySplitsReturnKeysAsScanReadsThem) {
  TableDef def;
  def.name = "typed_keys";
  def.columns = {Column("at_tz", TypeClass::kTimestampTz, std::nullopt, 6),
                 Column("name", TypeClass::kText), Column("amount", TypeClass::kDecimal, 12, 2)};
  def.columns[1].max_length = 20;
  def.primary_key = {"at_tz", "name"};
  std::vector<Row> rows;
  for (int i = 0; i < 9; ++i) {
    rows.push_back({Txt("2024-03-0" + std::to_string(1 + i / 3) + " 10:00:00." +
                        std::to_string(i % 3 + 1) + "+00:00"),
                    Txt(i % 2 ? "b" : "a"), Dec(std::to_string(i) + ".50")});
  }
  ASSERT_NO_FATAL_FAILURE(Create(*conn_, def, rows));
  const std::vector<std::string> keys = {"at_tz", "name"};
  const std::vector<Row> scanned = Scan("typed_keys", keys, std::nullopt, std::nullopt);
  ASSERT_EQ(scanned.size(), 9u);
  auto cuts = conn_->KeySplits("typed_keys", keys, {}, {}, 2);
  ASSERT_OK(cuts);
  EXPECT_EQ(*cuts, ExpectedSplits(scanned, 2));
  std::optional<Row> after;
  for (const Row& cut : *cuts) {
    EXPECT_EQ(Scan("typed_keys", keys, after, cut).size(), 2u);
    EXPECT_EQ(SumOf("typed_keys", keys, {after, cut}).rows, 2);
    after = cut;
  }
}

TEST_P(ChecksumTest, ScanStopsAtUptoKey) {
  std::vector<Row> rows;
  for (int64_t id = 1; id <= 30; ++id) rows.push_back(Ints({id}));
  ASSERT_NO_FATAL_FAILURE(Create(*conn_, IntTable("scan_ints", {"id"}), rows));
  auto ids = [](const std::vector<Row>& got) {
    std::vector<int64_t> out;
    for (const Row& r : got) out.push_back(r[0].as_int());
    return out;
  };
  EXPECT_EQ(ids(Scan("scan_ints", {"id"}, Ints({5}), Ints({9}))),
            (std::vector<int64_t>{6, 7, 8, 9}));
  EXPECT_EQ(ids(Scan("scan_ints", {"id"}, std::nullopt, Ints({3}))),
            (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(ids(Scan("scan_ints", {"id"}, Ints({5}), Ints({20}), 2)), (std::vector<int64_t>{6, 7}));
  EXPECT_TRUE(Scan("scan_ints", {"id"}, Ints({9}), Ints({9})).empty());

  rows.clear();
  for (int64_t a = 1; a <= 3; ++a) {
    for (int64_t b = 1; b <= 4; ++b) rows.push_back(Ints({a, b}));
  }
  ASSERT_NO_FATAL_FAILURE(Create(*conn_, IntTable("scan_pairs", {"a", "b"}), rows));
  EXPECT_EQ(Scan("scan_pairs", {"a", "b"}, Ints({1, 3}), Ints({3, 1})),
            (std::vector<Row>{Ints({1, 4}), Ints({2, 1}), Ints({2, 2}), Ints({2, 3}), Ints({2, 4}),
                              Ints({3, 1})}));
  EXPECT_EQ(Scan("scan_pairs", {"a", "b"}, std::nullopt, Ints({1, 2})),
            (std::vector<Row>{Ints({1, 1}), Ints({1, 2})}));

  ScanRequest bad{"scan_pairs", {}, {"a", "b"}, std::nullopt, {}, 0, Ints({1})};
  ASSERT_CODE(conn_->Scan(bad), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Engines, ChecksumTest, ::testing::ValuesIn(AllEngines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tether
