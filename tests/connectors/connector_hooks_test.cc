// The hooks and capability flags through which callers ask a connector what it can do instead of
// which engine it is (connector.h: Capabilities, sql_dialect, PreferFastCommits), and the one
// writer of conditions (sql_text.h AppendConditions), on real SQLite, PostgreSQL and MariaDB
// databases: statements written with an engine's dialect run there and find the right rows.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "util/test_database.h"
#include "util/test_util.h"

namespace tether {
namespace {

using testing::AllEngines;
using testing::Drain;
using testing::TestDatabase;

// A table and a column whose names need quoting in every engine (a quote of each kind, a space,
// a reserved word).
constexpr char kTable[] = "odd \"table` name";
constexpr char kColumn[] = "select";

class ConnectorHooksTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    ASSERT_TRUE(db_->ok());
    conn_ = db_->Open("hooks");
    ASSERT_NE(conn_, nullptr);
    TableDef def{kTable,
                 {ColumnDef("id", TypeClass::kInteger, true), ColumnDef(kColumn, TypeClass::kText),
                  ColumnDef("n", TypeClass::kInteger)},
                 {"id"},
                 {}};
    def.columns[1].max_length = 50;
    ASSERT_OK(conn_->EnsureTable(def));
    // id 1..6; "select" a, b, NULL, ab, b, a; n = id * 10.
    const char* texts[] = {"a", "b", nullptr, "ab", "b", "a"};
    std::vector<Row> rows;
    for (int64_t id = 1; id <= 6; ++id) {
      const char* t = texts[id - 1];
      rows.push_back({Value::Int(id), t ? Value::Text(t) : Value::Null(), Value::Int(id * 10)});
    }
    ASSERT_OK(conn_->Insert(kTable, {"id", kColumn, "n"}, rows, {}));
  }

  // The ids of the rows matching `conditions`, by Scan (keyset pages of two after id `after`),
  // checked against Count of the same conditions.
  std::vector<int64_t> Ids(const std::vector<Condition>& conditions) {
    ScanRequest req;
    req.table = kTable;
    req.columns = {"id"};
    req.key_columns = {"id"};
    req.conditions = conditions;
    req.limit = 2;
    std::vector<int64_t> ids;
    for (;;) {
      auto stream = conn_->Scan(req);
      EXPECT_OK(stream);
      if (!stream.ok()) return ids;
      std::vector<Row> page = Drain(**stream);
      for (const Row& r : page) ids.push_back(r[0].as_int());
      if (page.size() < req.limit) break;
      req.after_key = page.back();
    }
    auto counted = conn_->Count(kTable, conditions);
    EXPECT_OK(counted);
    if (counted.ok()) {
      EXPECT_EQ(*counted, static_cast<int64_t>(ids.size()));
    }
    return ids;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Connector> conn_;
};

TEST_P(ConnectorHooksTest, AnswersEveryHook) {
  const Capabilities caps = conn_->capabilities();
  EXPECT_TRUE(caps.transactions);
  EXPECT_TRUE(caps.state_store);
  EXPECT_TRUE(caps.checksums);
  // A second reading session pays where reads wait for a server, not for this process.
  EXPECT_EQ(caps.read_ahead, GetParam() != "sqlite");
  // A statement written in its dialect runs there.
  const SqlDialect* sql = conn_->sql_dialect();
  ASSERT_NE(sql, nullptr);
  const std::string text = "SELECT " + sql->Quote("id") + ", " + sql->Quote(kColumn) + " FROM " +
                           sql->Quote(kTable) + " WHERE " + sql->Quote(kColumn) + " = " +
                           sql->Placeholder(1) + " AND " + sql->Quote("n") + " > " +
                           sql->Placeholder(2) + " ORDER BY " + sql->Quote("id") + " DESC";
  auto rows = conn_->Query(text, {Value::Text("b"), Value::Int(10)});
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0][0], Value::Int(5));
  EXPECT_EQ((*rows)[1][0], Value::Int(2));
  EXPECT_EQ((*rows)[1][1], Value::Text("b"));
  ASSERT_OK(conn_->PreferFastCommits());
  if (GetParam() == "sqlite") {
    auto mode = conn_->Query("PRAGMA journal_mode");
    ASSERT_OK(mode);
    ASSERT_EQ(mode->size(), 1u);
    EXPECT_EQ((*mode)[0][0].ToText(), "wal");
  }
  // Still a working session.
  ASSERT_OK(conn_->Begin());
  ASSERT_OK(conn_->Delete(kTable, {"id"}, {{Value::Int(6)}}));
  ASSERT_OK(conn_->Commit());
  EXPECT_EQ(Ids({}), (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

TEST_P(ConnectorHooksTest, ConditionsFindTheSameRowsInEveryEngine) {
  using Op = Condition::Op;
  using Ids = std::vector<int64_t>;
  EXPECT_EQ(this->Ids({}), (Ids{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(this->Ids({{kColumn, Op::kEq, Value::Text("a")}}), (Ids{1, 6}));
  EXPECT_EQ(this->Ids({{kColumn, Op::kNe, Value::Text("a")}}), (Ids{2, 4, 5}));
  EXPECT_EQ(this->Ids({{"n", Op::kLt, Value::Int(30)}}), (Ids{1, 2}));
  EXPECT_EQ(this->Ids({{"n", Op::kLe, Value::Int(30)}}), (Ids{1, 2, 3}));
  EXPECT_EQ(this->Ids({{"n", Op::kGt, Value::Int(40)}}), (Ids{5, 6}));
  EXPECT_EQ(this->Ids({{"n", Op::kGe, Value::Int(40)}}), (Ids{4, 5, 6}));
  EXPECT_EQ(this->Ids({{kColumn, Op::kLike, Value::Text("a%")}}), (Ids{1, 4, 6}));
  // LIKE on an integer column compares its text, in every engine.
  EXPECT_EQ(this->Ids({{"n", Op::kLike, Value::Text("_0")}}), (Ids{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(this->Ids({{"n", Op::kLike, Value::Text("3%")}}), (Ids{3}));
  EXPECT_EQ(this->Ids({{kColumn, Op::kIsNull, {}}}), (Ids{3}));
  EXPECT_EQ(this->Ids({{kColumn, Op::kIsNotNull, {}}}), (Ids{1, 2, 4, 5, 6}));
  // Several, with values and without, before the keyset bound's own parameters.
  EXPECT_EQ(this->Ids({{kColumn, Op::kIsNotNull, {}},
                       {"n", Op::kGt, Value::Int(10)},
                       {kColumn, Op::kLike, Value::Text("%b")},
                       {"n", Op::kNe, Value::Int(40)}}),
            (Ids{2, 5}));
}

INSTANTIATE_TEST_SUITE_P(Engines, ConnectorHooksTest, ::testing::ValuesIn(AllEngines()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace tether
