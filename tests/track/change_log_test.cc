// Change tracking on every engine: the triggers record inserts, updates and deletes in order
// with the row's key (JSON for composite keys); a changed key is a delete and an insert;
// tether's own writes carry the origin mark and other sessions' do not; installing twice
// records each change once; uninstall leaves the user's table and data alone; prune never
// drops the newest change; bad input names what is wrong.
#include "track/change_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/test_database.h"

namespace tether::testing {
namespace {

class ChangeLogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    ASSERT_TRUE(db_->ok());
    db_->Exec(PortableSql(GetParam(), "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"));
    db_->Exec(PortableSql(GetParam(),
                          "CREATE TABLE line (order_no INTEGER NOT NULL, sku VARCHAR(40) NOT NULL, "
                          "qty INTEGER, PRIMARY KEY (order_no, sku))"));
    conn_ = db_->Open("shop");
    ASSERT_NE(conn_, nullptr);
    log_ = std::make_unique<ChangeLog>(conn_.get());
  }

  // SQL run as some other program would: without tether's session mark.
  void Plain(const std::string& sql) {
    std::string unmark;
    if (GetParam() == "postgres") unmark = "RESET tether.origin;\n";
    if (GetParam() == "mysql") unmark = "SET @tether_origin = NULL;\n";
    db_->Exec(unmark + PortableSql(GetParam(), sql));
  }

  // "op key origin" per change of `entity`, in order.
  std::vector<std::string> Changes(const std::string& entity) {
    auto changes = log_->Read(entity, 0, 1000);
    EXPECT_TRUE(changes.ok()) << changes.status().ToString();
    std::vector<std::string> out;
    if (!changes.ok()) return out;
    int64_t last = 0;
    for (const Change& c : *changes) {
      EXPECT_GT(c.seq, last);
      last = c.seq;
      EXPECT_FALSE(c.changed_at.empty());
      std::string key = c.row_key;
      // Composite keys are JSON arrays; engines space them differently.
      if (!key.empty() && key[0] == '[') key = nlohmann::json::parse(key).dump();
      out.push_back(std::string(1, c.op) + " " + key + " " + c.origin.value_or("-"));
    }
    return out;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Connector> conn_;
  std::unique_ptr<ChangeLog> log_;
};

TEST_P(ChangeLogTest, RecordsInsertsUpdatesAndDeletesInOrder) {
  Plain("INSERT INTO item VALUES (1, 'one')");  // before tracking: not recorded
  ASSERT_OK(log_->Install({{"item", "item", {"id"}}}));
  Plain("INSERT INTO item VALUES (2, 'two'), (3, 'three')");
  Plain("UPDATE item SET name = 'uno' WHERE id = 1");
  Plain("UPDATE item SET name = 'dos' WHERE id = 2");
  Plain("DELETE FROM item WHERE id = 3");
  Plain("UPDATE item SET name = 'none' WHERE id = 99");  // touches nothing
  EXPECT_EQ(Changes("item"),
            (std::vector<std::string>{"I 2 -", "I 3 -", "U 1 -", "U 2 -", "D 3 -"}));
}

TEST_P(ChangeLogTest, AChangedKeyIsADeleteAndAnInsert) {
  Plain("INSERT INTO item VALUES (1, 'one')");
  ASSERT_OK(log_->Install({{"item", "item", {"id"}}}));
  Plain("UPDATE item SET id = 10 WHERE id = 1");
  EXPECT_EQ(Changes("item"), (std::vector<std::string>{"D 1 -", "I 10 -"}));
}

TEST_P(ChangeLogTest, CompositeKeysAreJsonArrays) {
  ASSERT_OK(log_->Install({{"line", "line", {"order_no", "sku"}}}));
  Plain("INSERT INTO line VALUES (7, 'SKU-1', 1), (7, 'SKU \"2\"', 2)");
  Plain("UPDATE line SET qty = 5 WHERE order_no = 7 AND sku = 'SKU-1'");
  Plain("UPDATE line SET sku = 'SKU-3' WHERE sku = 'SKU-1'");
  Plain("DELETE FROM line WHERE qty = 2");
  EXPECT_EQ(Changes("line"),
            (std::vector<std::string>{R"(I [7,"SKU-1"] -)", R"(I [7,"SKU \"2\""] -)",
                                      R"(U [7,"SKU-1"] -)", R"(D [7,"SKU-1"] -)",
                                      R"(I [7,"SKU-3"] -)", R"(D [7,"SKU \"2\""] -)"}));
}

TEST_P(ChangeLogTest, TethersOwnWritesCarryTheOriginMark) {
  ASSERT_OK(log_->Install({{"item", "item", {"id"}}}));
  auto writer = db_->Open("tether-writer");
  ASSERT_NE(writer, nullptr);
  ASSERT_OK(writer->Begin());
  ASSERT_OK(
      writer->Insert("item", {"id", "name"}, {{Value::Int(5), Value::Text("five")}}, {}).status());
  ASSERT_OK(writer->Update("item", {"id"}, {"name"}, {{Value::Text("FIVE"), Value::Int(5)}}));
  ASSERT_OK(writer->Commit());
  Plain("UPDATE item SET name = 'five again' WHERE id = 5");
  // A rolled-back transaction leaves no mark behind on the next plain write.
  ASSERT_OK(writer->Begin());
  ASSERT_OK(writer->Delete("item", {"id"}, {{Value::Int(5)}}));
  ASSERT_OK(writer->Rollback());
  Plain("DELETE FROM item WHERE id = 5");
  EXPECT_EQ(Changes("item"),
            (std::vector<std::string>{"I 5 tether", "U 5 tether", "U 5 -", "D 5 -"}));
}

TEST_P(ChangeLogTest, InstallingTwiceRecordsEachChangeOnce) {
  ASSERT_OK(log_->Install({{"item", "item", {"id"}}}));
  ASSERT_OK(log_->Install({{"item", "item", {"id"}}, {"line", "line", {"order_no", "sku"}}}));
  Plain("INSERT INTO item VALUES (1, 'one')");
  Plain("INSERT INTO line VALUES (1, 'A', 1)");
  EXPECT_EQ(Changes("item"), std::vector<std::string>{"I 1 -"});
  EXPECT_EQ(Changes("line"), std::vector<std::string>{R"(I [1,"A"] -)"});
  auto status = log_->Describe();
  ASSERT_OK(status);
  ASSERT_EQ(status->size(), 2u);
  EXPECT_EQ((*status)[0].entity, "item");
  EXPECT_EQ((*status)[0].pending, 1);
  EXPECT_EQ((*status)[1].entity, "line");
  EXPECT_EQ((*status)[1].key_columns, (std::vector<std::string>{"order_no", "sku"}));
}

TEST_P(ChangeLogTest, UninstallLeavesTheUsersTablesAlone) {
  Plain("INSERT INTO item VALUES (1, 'one')");
  ASSERT_OK(log_->Install({{"item", "item", {"id"}}, {"line", "line", {"order_no", "sku"}}}));
  Plain("INSERT INTO item VALUES (2, 'two')");
  ASSERT_OK(log_->Uninstall({"item"}));
  Plain("INSERT INTO item VALUES (3, 'three')");
  Plain("INSERT INTO line VALUES (1, 'A', 1)");
  EXPECT_TRUE(Changes("item").empty());
  EXPECT_EQ(Changes("line").size(), 1u);
  ASSERT_OK(log_->Uninstall({}));
  for (const std::string& t : TableNames(*db_))
    EXPECT_EQ(t.rfind("tether_", 0), std::string::npos) << t;
  Plain("UPDATE item SET name = 'still writable' WHERE id = 1");
  EXPECT_EQ(PortableRows(*db_, "SELECT id, name FROM item ORDER BY id"),
            (std::vector<std::string>{"1|still writable", "2|two", "3|three"}));
  auto status = log_->Describe();
  ASSERT_OK(status);
  EXPECT_TRUE(status->empty());
}

TEST_P(ChangeLogTest, PruneKeepsTheNewestSoTheSequenceNeverGoesBack) {
  ASSERT_OK(log_->Install({{"item", "item", {"id"}}}));
  Plain("INSERT INTO item VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  auto before = log_->Read("item", 0, 10);
  ASSERT_OK(before);
  ASSERT_EQ(before->size(), 3u);
  auto pruned = log_->Prune((*before)[0].seq);
  ASSERT_OK(pruned);
  EXPECT_EQ(*pruned, 1);
  pruned = log_->Prune(1'000'000);
  ASSERT_OK(pruned);
  EXPECT_EQ(*pruned, 1);  // the newest stays
  Plain("INSERT INTO item VALUES (4, 'd')");
  auto after = log_->Read("item", 0, 10);
  ASSERT_OK(after);
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].seq, (*before)[2].seq);
  EXPECT_GT((*after)[1].seq, (*before)[2].seq);
}

TEST_P(ChangeLogTest, BadInputNamesWhatIsWrong) {
  Status st = log_->Install({{"ghost", "no_such_table", {"id"}}});
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("no_such_table"), std::string::npos) << st.ToString();
  st = log_->Install({{"item", "item", {"id"}}, {"line", "line", {"order_no", "nope"}}});
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("'nope'"), std::string::npos) << st.ToString();
  // Nothing was installed by the refused call.
  for (const std::string& t : TableNames(*db_))
    EXPECT_EQ(t.rfind("tether_", 0), std::string::npos) << t;
  ASSERT_OK(log_->Install({{"item", "item", {"id"}}}));
  st = log_->Uninstall({"line"});
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("'line' is not tracked"), std::string::npos) << st.ToString();
}

INSTANTIATE_TEST_SUITE_P(Engines, ChangeLogTest, ::testing::ValuesIn(AllEngines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tether::testing
