// StateStore on every engine: links by source and by target, checkpoints, runs newest
// first, per-record results; and a store whose tables do not exist yet reads as empty without
// creating anything.
#include "state/state_store.h"

#include <gtest/gtest.h>

#include "core/id.h"
#include "util/test_database.h"
#include "util/test_util.h"

namespace tether::testing {
namespace {

class StateStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    ASSERT_TRUE(db_->ok());
    db_->Exec(PortableSql(GetParam(), "CREATE TABLE t (id INTEGER PRIMARY KEY)"));
    conn_ = db_->Open("state");
    ASSERT_NE(conn_, nullptr);
    store_ = std::make_unique<StateStore>(conn_.get());
  }
  static Link MakeLink(const std::string& source, std::optional<std::string> target,
                       const std::string& status = "synced") {
    Link l;
    l.source_id = source;
    l.target_id = std::move(target);
    l.hash = "h" + source;
    l.status = status;
    return l;
  }
  static RunInfo MakeRun(const std::string& id, const std::string& pipeline) {
    RunInfo r;
    r.run_id = id;
    r.pipeline = pipeline;
    r.status = "succeeded";
    r.counts.inserted = 3;
    r.counts.failed = 1;
    return r;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Connector> conn_;
  std::unique_ptr<StateStore> store_;
};

TEST_P(StateStoreTest, MissingTablesReadAsEmptyAndAreNotCreated) {
  std::string before = Snapshot(*db_);
  auto exists = store_->Exists();
  ASSERT_OK(exists);
  EXPECT_FALSE(*exists);
  auto links = store_->FindLinksBySource("p", "e", {"1"});
  ASSERT_OK(links);
  EXPECT_TRUE(links->empty());
  auto by_target = store_->FindLinksByTarget("p", "e", {"1"});
  ASSERT_OK(by_target);
  EXPECT_TRUE(by_target->empty());
  auto listed = store_->ListLinks("p", "e", std::nullopt, 10);
  ASSERT_OK(listed);
  EXPECT_TRUE(listed->empty());
  auto cp = store_->GetCheckpoint("p", "e");
  ASSERT_OK(cp);
  EXPECT_FALSE(cp->has_value());
  auto runs = store_->ListRuns("", 0);
  ASSERT_OK(runs);
  EXPECT_TRUE(runs->empty());
  auto run = store_->GetRun("r1");
  ASSERT_OK(run);
  EXPECT_FALSE(run->has_value());
  EXPECT_TRUE(Snapshot(*db_) == before);

  ASSERT_OK(store_->EnsureSchema());
  ASSERT_OK(store_->EnsureSchema());  // idempotent
  EXPECT_TRUE(*store_->Exists());
}

TEST_P(StateStoreTest, LinksBySourceAndByTarget) {
  ASSERT_OK(store_->EnsureSchema());
  ASSERT_OK(store_->PutLinks(
      "p", "customer",
      {MakeLink("1", "10"), MakeLink("2", "20"), MakeLink("3", std::nullopt, "failed")}));
  ASSERT_OK(store_->PutLinks("p", "order", {MakeLink("1", "99")}));
  ASSERT_OK(store_->PutLinks("q", "customer", {MakeLink("1", "77")}));

  auto by_source = store_->FindLinksBySource("p", "customer", {"1", "3", "4"});
  ASSERT_OK(by_source);
  ASSERT_EQ(by_source->size(), 2u);
  EXPECT_EQ(by_source->at("1").target_id, std::optional<std::string>("10"));
  EXPECT_EQ(by_source->at("1").hash, "h1");
  EXPECT_FALSE(by_source->at("3").target_id.has_value());
  EXPECT_EQ(by_source->at("3").status, "failed");

  auto by_target = store_->FindLinksByTarget("p", "customer", {"20", "77"});
  ASSERT_OK(by_target);
  ASSERT_EQ(by_target->size(), 1u);  // 77 is pipeline q's
  EXPECT_EQ((*by_target)[0].source_id, "2");

  // An upsert replaces the link; the pair is unique per pipeline, entity and source id.
  Link moved = MakeLink("1", "11");
  moved.attempts = 2;
  moved.last_error = "boom";
  moved.metadata = R"({"kept":["name"]})";
  ASSERT_OK(store_->PutLinks("p", "customer", {moved}));
  by_source = store_->FindLinksBySource("p", "customer", {"1"});
  ASSERT_OK(by_source);
  EXPECT_EQ(by_source->at("1").target_id, std::optional<std::string>("11"));
  EXPECT_EQ(by_source->at("1").attempts, 2);
  EXPECT_EQ(by_source->at("1").last_error, "boom");
  EXPECT_EQ(by_source->at("1").metadata, R"({"kept":["name"]})");
  EXPECT_TRUE(store_->FindLinksByTarget("p", "customer", {"10"})->empty());

  // Listing pages in source id order, optionally by status.
  auto page = store_->ListLinks("p", "customer", std::nullopt, 2);
  ASSERT_OK(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].source_id, "1");
  EXPECT_EQ((*page)[1].source_id, "2");
  auto rest = store_->ListLinks("p", "customer", std::string("2"), 2);
  ASSERT_OK(rest);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].source_id, "3");
  auto failed = store_->ListLinks("p", "customer", std::nullopt, 10, std::string("failed"));
  ASSERT_OK(failed);
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].source_id, "3");

  ASSERT_OK(store_->DeleteLinks("p", "customer", {"2", "3"}));
  EXPECT_EQ(store_->ListLinks("p", "customer", std::nullopt, 10)->size(), 1u);
  EXPECT_EQ(store_->ListLinks("q", "customer", std::nullopt, 10)->size(), 1u);
}

TEST_P(StateStoreTest, Checkpoints) {
  ASSERT_OK(store_->EnsureSchema());
  Checkpoint cp;
  cp.position = "42";
  cp.run_id = "r1";
  cp.options_hash = "abc";
  ASSERT_OK(store_->PutCheckpoint("p", "customer", cp));
  auto got = store_->GetCheckpoint("p", "customer");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->mode, "full");
  EXPECT_EQ((*got)->position, std::optional<std::string>("42"));
  EXPECT_EQ((*got)->options_hash, "abc");
  EXPECT_FALSE((*got)->updated_at.empty());
  cp.position.reset();
  ASSERT_OK(store_->PutCheckpoint("p", "customer", cp));
  got = store_->GetCheckpoint("p", "customer");
  ASSERT_OK(got);
  EXPECT_FALSE((*got)->position.has_value());
  EXPECT_FALSE(store_->GetCheckpoint("p", "order")->has_value());
}

TEST_P(StateStoreTest, RunsNewestFirstWithTheirRecords) {
  ASSERT_OK(store_->EnsureSchema());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    std::string id = NewId('r');
    while (!ids.empty() && id <= ids.back()) id = NewId('r');  // same millisecond
    ids.push_back(id);
    ASSERT_OK(store_->PutRun(MakeRun(id, "p")));
  }
  ASSERT_OK(store_->PutRun(MakeRun("r0-other", "q")));
  auto runs = store_->ListRuns("p", 0);
  ASSERT_OK(runs);
  ASSERT_EQ(runs->size(), 3u);
  EXPECT_EQ((*runs)[0].run_id, ids[2]);
  EXPECT_EQ((*runs)[2].run_id, ids[0]);
  EXPECT_EQ((*runs)[0].counts.inserted, 3);
  EXPECT_EQ((*runs)[0].counts.failed, 1);
  auto two = store_->ListRuns("p", 2);
  ASSERT_OK(two);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].run_id, ids[2]);
  EXPECT_EQ((*two)[1].run_id, ids[1]);
  EXPECT_EQ(store_->ListRuns("", 0)->size(), 4u);

  RunInfo updated = MakeRun(ids[1], "p");
  updated.status = "partial";
  updated.message = "1 failed";
  ASSERT_OK(store_->PutRun(updated));
  auto got = store_->GetRun(ids[1]);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->status, "partial");
  EXPECT_EQ((*got)->message, "1 failed");
  EXPECT_EQ(store_->ListRuns("p", 0)->size(), 3u);

  ASSERT_OK(store_->AddRecordResults(
      ids[1], {{"customer", "3", "", "failed", "boom"}, {"order", "9", "90", "skipped", "bad"}}));
  auto records = store_->ListRecordResults(ids[1], 0);
  ASSERT_OK(records);
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ(store_->ListRecordResults(ids[1], 1)->size(), 1u);
  EXPECT_TRUE(store_->ListRecordResults(ids[0], 0)->empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, StateStoreTest, ::testing::ValuesIn(AllEngines()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// SQLite keeps whatever text is written into an INTEGER column: a count or an attempt number
// someone edited into no number is an error naming the table and column, never an exception.
class StoredValuesTest : public StateStoreTest {};

TEST_P(StoredValuesTest, ACorruptedNumberIsAnErrorNamingItsColumn) {
  ASSERT_OK(store_->EnsureSchema());
  ASSERT_OK(store_->PutRun(MakeRun("r1", "p")));
  ASSERT_OK(store_->PutLinks("p", "customer", {MakeLink("1", "10")}));
  db_->Exec("UPDATE tether_runs SET inserted = 'many'");
  db_->Exec("UPDATE tether_links SET attempts = '2x'");

  auto run = store_->GetRun("r1");
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), StatusCode::kInternal);
  EXPECT_NE(run.status().message().find("tether_runs.inserted"), std::string::npos)
      << run.status().ToString();
  EXPECT_EQ(store_->ListRuns("p", 0).status().code(), StatusCode::kInternal);

  auto links = store_->FindLinksBySource("p", "customer", {"1"});
  ASSERT_FALSE(links.ok());
  EXPECT_NE(links.status().message().find("tether_links.attempts"), std::string::npos)
      << links.status().ToString();
  EXPECT_EQ(store_->ListLinks("p", "customer", std::nullopt, 10).status().code(),
            StatusCode::kInternal);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoredValuesTest, ::testing::Values("sqlite"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace tether::testing
