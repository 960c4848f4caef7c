// ServerStore on every engine: connections, pipelines, jobs, logs, records and schedule marks
// round trip; upserts replace; jobs list newest first with filters and paging; start-up fails
// only unfinished jobs; pruning takes a job's logs and records with it; odd and large text
// survives; a reopened store sees what the last one wrote; calls from many threads are safe.
#include "server/server_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/id.h"
#include "core/temporal.h"
#include "util/test_database.h"
#include "util/test_util.h"

namespace tether::testing {
namespace {

// Quotes of every kind, backslashes, SQL comment and statement marks, NUL-free control
// characters, newlines and multi-byte UTF-8 (2, 3 and 4 bytes).
const std::string kOddText =
    "it's \"quoted\" `back` \\ back\\slash; -- not a comment /* nor this */ %_\n"
    "second line\r\n\ttabbed: caf\u00e9 \u65e5\u672c\u8a9e \U0001F600 \u00ff";

// A JSON-like body of about 200 KB, with odd text repeated inside.
std::string LargeBody() {
  std::string body = "{\"entities\":[";
  for (int i = 0; body.size() < 200 * 1024; ++i) {
    if (i) body += ',';
    body += "{\"name\":\"entity_" + std::to_string(i) + "\",\"note\":\"" + kOddText + "\"}";
  }
  return body + "]}";
}

// Ids as NewId('j') makes them, at a given time, so tests choose their order.
std::string JobIdAt(int n) { return "j20260101T00000" + std::to_string(1000 + n) + "-abc123"; }

Job MakeJob(const std::string& id, const std::string& pipeline,
            const std::string& status = "queued", const std::string& kind = "sync",
            const std::string& trigger = "api") {
  Job j;
  j.id = id;
  j.pipeline = pipeline;
  j.status = status;
  j.kind = kind;
  j.trigger = trigger;
  j.created_at = "2026-01-01T00:00:00.000Z";
  return j;
}

std::vector<std::string> Ids(const std::vector<Job>& jobs) {
  std::vector<std::string> out;
  for (const Job& j : jobs) out.push_back(j.id);
  return out;
}

class ServerStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    ASSERT_TRUE(db_->ok());
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto store = ServerStore::Open(db_->url());
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  // Jobs listed with `filter`, as ids (a test failure on an error).
  std::vector<std::string> Listed(const JobFilter& filter) {
    auto jobs = store_->ListJobs(filter);
    EXPECT_TRUE(jobs.ok()) << jobs.status().ToString();
    return jobs.ok() ? Ids(*jobs) : std::vector<std::string>{};
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<ServerStore> store_;
};

TEST_P(ServerStoreTest, SchemaIsCreatedOnceAndEngineIsNamed) {
  EXPECT_EQ(store_->engine(), GetParam());
  ASSERT_OK(store_->EnsureSchema());  // idempotent
  std::vector<std::string> tables = TableNames(*db_);
  for (const char* t : {"tether_server_connections", "tether_server_secrets",
                        "tether_server_pipelines", "tether_server_jobs", "tether_server_job_logs",
                        "tether_server_job_records", "tether_server_schedules"}) {
    EXPECT_NE(std::find(tables.begin(), tables.end(), t), tables.end()) << t;
  }
}

TEST_P(ServerStoreTest, ConnectionsRoundTripReplaceAndDelete) {
  auto none = store_->ListConnections();
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  auto missing = store_->GetConnection("nope");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());

  // Listed in byte order on every engine ('B' < 'a'), whatever the collation.
  for (const char* name : {"gamma", "alpha", "Beta"}) {
    ASSERT_OK(store_->PutConnection({name, std::string("postgres://u:p@h/") + name,
                                     "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"}));
  }
  auto listed = store_->ListConnections();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].name, "Beta");
  EXPECT_EQ((*listed)[1].name, "alpha");
  EXPECT_EQ((*listed)[2].name, "gamma");

  ASSERT_OK(store_->PutConnection(
      {"alpha", "sqlite:/tmp/a.db", "2026-01-01T00:00:00.000Z", "2026-02-02T00:00:00.000Z"}));
  auto got = store_->GetConnection("alpha");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->name, "alpha");
  EXPECT_EQ((*got)->url, "sqlite:/tmp/a.db");
  EXPECT_EQ((*got)->created_at, "2026-01-01T00:00:00.000Z");
  EXPECT_EQ((*got)->updated_at, "2026-02-02T00:00:00.000Z");
  EXPECT_EQ(store_->ListConnections()->size(), 3u);

  auto deleted = store_->DeleteConnection("alpha");
  ASSERT_OK(deleted);
  EXPECT_TRUE(*deleted);
  auto again = store_->DeleteConnection("alpha");
  ASSERT_OK(again);
  EXPECT_FALSE(*again);
  auto unknown = store_->DeleteConnection("never-there");
  ASSERT_OK(unknown);
  EXPECT_FALSE(*unknown);
  EXPECT_FALSE(store_->GetConnection("alpha")->has_value());
  EXPECT_EQ(store_->ListConnections()->size(), 2u);
}

// A connection's URL is stored without its password, which has a table of its own: a query,
// export or listing of the connections shows none. The store gives the URL back whole.
TEST_P(ServerStoreTest, PasswordsAreStoredApartFromUrls) {
  const std::string url = "postgres://sync:s3cr%40t:x@h:5/erp?sslmode=disable";
  ASSERT_OK(store_->PutConnection({"erp", url, "a", "b"}));
  ASSERT_OK(store_->PutConnection({"local", "sqlite:///tmp/we:ird@name.db", "a", "b"}));
  ASSERT_OK(store_->PutConnection({"nopw", "mysql://root@h/db", "a", "b"}));
  EXPECT_EQ(
      PortableRows(*db_, "SELECT name, url FROM tether_server_connections ORDER BY name"),
      (std::vector<std::string>{"erp|postgres://sync:@h:5/erp?sslmode=disable",
                                "local|sqlite:///tmp/we:ird@name.db", "nopw|mysql://root@h/db"}));
  EXPECT_EQ(PortableRows(*db_, "SELECT name, password FROM tether_server_secrets"),
            std::vector<std::string>{"erp|s3cr%40t:x"});
  EXPECT_EQ((*store_->GetConnection("erp"))->url, url);
  EXPECT_EQ((*store_->ListConnections())[0].url, url);
  EXPECT_EQ((*store_->GetConnection("local"))->url, "sqlite:///tmp/we:ird@name.db");

  // Replaced without a password: the old one goes; deleted: both go.
  ASSERT_OK(store_->PutConnection({"erp", "postgres://sync@h:5/erp", "a", "c"}));
  EXPECT_TRUE(PortableRows(*db_, "SELECT name FROM tether_server_secrets").empty());
  ASSERT_OK(store_->PutConnection({"erp", url, "a", "d"}));
  ASSERT_TRUE(*store_->DeleteConnection("erp"));
  EXPECT_TRUE(PortableRows(*db_, "SELECT name FROM tether_server_secrets").empty());

  // A store written before passwords moved apart has them moved when it is opened.
  db_->Exec(
      "INSERT INTO tether_server_connections (name, url, created_at, updated_at) VALUES "
      "('old', 'mysql://u:p%40ss@h/db', 'a', 'b')");
  Reopen();
  EXPECT_EQ(PortableRows(*db_, "SELECT url FROM tether_server_connections WHERE name = 'old'"),
            std::vector<std::string>{"mysql://u:@h/db"});
  EXPECT_EQ((*store_->GetConnection("old"))->url, "mysql://u:p%40ss@h/db");
}

TEST_P(ServerStoreTest, PipelinesRoundTripReplaceAndDelete) {
  ASSERT_OK(store_->PutPipeline({"orders", "{\"entities\":[]}", "t1", "t1"}));
  ASSERT_OK(store_->PutPipeline({"customers", "{}", "t0", "t0"}));
  ASSERT_OK(store_->PutPipeline({"orders", "{\"entities\":[1]}", "t1", "t2"}));
  auto listed = store_->ListPipelines();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "customers");
  EXPECT_EQ((*listed)[1].name, "orders");
  EXPECT_EQ((*listed)[1].body, "{\"entities\":[1]}");
  EXPECT_EQ((*listed)[1].created_at, "t1");
  EXPECT_EQ((*listed)[1].updated_at, "t2");

  auto got = store_->GetPipeline("customers");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->body, "{}");
  EXPECT_FALSE(store_->GetPipeline("nope")->has_value());

  EXPECT_TRUE(*store_->DeletePipeline("orders"));
  EXPECT_FALSE(*store_->DeletePipeline("orders"));
  EXPECT_FALSE(*store_->DeletePipeline("nope"));
  ASSERT_EQ(store_->ListPipelines()->size(), 1u);
}

TEST_P(ServerStoreTest, JobRoundTripsEveryFieldAndUpsertReplaces) {
  Job j = MakeJob(JobIdAt(1), "orders", "running", "diff", "schedule");
  j.request = "{\"mode\":\"full\",\"dry_run\":true}";
  j.created_at = "2026-01-01T00:00:00.001Z";
  j.started_at = "2026-01-01T00:00:01.000Z";
  j.message = "half way";
  j.attempt = 2;
  j.max_attempts = 5;
  j.engine_runs = "[\"r1\",\"r2\"]";
  j.counts = {1, 2, 3, 4, 5, 6, 7, 8};
  j.counts.read = 9'000'000'000;  // past 32 bits
  j.progress = "{\"orders\":{\"read\":10}}";
  ASSERT_OK(store_->PutJob(j));

  auto got = store_->GetJob(j.id);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  const Job& g = **got;
  EXPECT_EQ(g.id, j.id);
  EXPECT_EQ(g.pipeline, "orders");
  EXPECT_EQ(g.kind, "diff");
  EXPECT_EQ(g.trigger, "schedule");
  EXPECT_EQ(g.status, "running");
  EXPECT_EQ(g.request, j.request);
  EXPECT_EQ(g.created_at, j.created_at);
  EXPECT_EQ(g.started_at, j.started_at);
  EXPECT_EQ(g.finished_at, "");
  EXPECT_EQ(g.message, "half way");
  EXPECT_EQ(g.attempt, 2);
  EXPECT_EQ(g.max_attempts, 5);
  EXPECT_EQ(g.engine_runs, j.engine_runs);
  EXPECT_EQ(g.counts.read, 9'000'000'000);
  EXPECT_EQ(g.counts.inserted, 2);
  EXPECT_EQ(g.counts.updated, 3);
  EXPECT_EQ(g.counts.unchanged, 4);
  EXPECT_EQ(g.counts.linked, 5);
  EXPECT_EQ(g.counts.deleted, 6);
  EXPECT_EQ(g.counts.skipped, 7);
  EXPECT_EQ(g.counts.failed, 8);
  EXPECT_EQ(g.progress, j.progress);

  j.status = "succeeded";
  j.finished_at = "2026-01-01T00:00:09.000Z";
  j.message = "";
  j.counts.failed = 0;
  ASSERT_OK(store_->PutJob(j));
  auto replaced = store_->GetJob(j.id);
  ASSERT_OK(replaced);
  EXPECT_EQ((*replaced)->status, "succeeded");
  EXPECT_EQ((*replaced)->finished_at, "2026-01-01T00:00:09.000Z");
  EXPECT_EQ((*replaced)->message, "");
  EXPECT_EQ((*replaced)->counts.failed, 0);
  EXPECT_EQ(Listed({}).size(), 1u);

  auto missing = store_->GetJob("j-none");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_P(ServerStoreTest, ListJobsNewestFirstWithFiltersAndPaging) {
  EXPECT_TRUE(Listed({}).empty());
  // Put out of order: the list follows the ids, not the order of writes.
  ASSERT_OK(store_->PutJob(MakeJob(JobIdAt(3), "orders", "failed", "sync", "schedule")));
  ASSERT_OK(store_->PutJob(MakeJob(JobIdAt(1), "orders", "succeeded")));
  ASSERT_OK(store_->PutJob(MakeJob(JobIdAt(5), "customers", "running", "diff")));
  ASSERT_OK(store_->PutJob(MakeJob(JobIdAt(2), "customers", "succeeded", "diff", "schedule")));
  ASSERT_OK(store_->PutJob(MakeJob(JobIdAt(4), "orders", "queued")));

  const std::vector<std::string> all = {JobIdAt(5), JobIdAt(4), JobIdAt(3), JobIdAt(2), JobIdAt(1)};
  EXPECT_EQ(Listed({}), all);

  JobFilter f;
  f.pipeline = "orders";
  EXPECT_EQ(Listed(f), (std::vector<std::string>{JobIdAt(4), JobIdAt(3), JobIdAt(1)}));
  f = {};
  f.status = "succeeded";
  EXPECT_EQ(Listed(f), (std::vector<std::string>{JobIdAt(2), JobIdAt(1)}));
  f = {};
  f.kind = "diff";
  EXPECT_EQ(Listed(f), (std::vector<std::string>{JobIdAt(5), JobIdAt(2)}));
  f = {};
  f.trigger = "schedule";
  EXPECT_EQ(Listed(f), (std::vector<std::string>{JobIdAt(3), JobIdAt(2)}));
  f = {};
  f.pipeline = "customers";
  f.kind = "diff";
  f.status = "running";
  f.trigger = "api";
  EXPECT_EQ(Listed(f), (std::vector<std::string>{JobIdAt(5)}));
  f = {};
  f.pipeline = "nope";
  EXPECT_TRUE(Listed(f).empty());

  // Pages of two, each starting before the last id of the one before.
  f = {};
  f.limit = 2;
  std::vector<std::string> paged;
  for (int page = 0; page < 5; ++page) {
    std::vector<std::string> got = Listed(f);
    EXPECT_LE(got.size(), 2u);
    if (got.empty()) break;
    paged.insert(paged.end(), got.begin(), got.end());
    f.before = got.back();
  }
  EXPECT_EQ(paged, all);

  f = {};
  f.pipeline = "orders";
  f.before = JobIdAt(4);
  f.limit = 1;
  EXPECT_EQ(Listed(f), (std::vector<std::string>{JobIdAt(3)}));
  f.limit = 0;  // no limit
  EXPECT_EQ(Listed(f), (std::vector<std::string>{JobIdAt(3), JobIdAt(1)}));

  // A filter value is a value, not SQL.
  f = {};
  f.pipeline = "orders' OR '1'='1";
  EXPECT_TRUE(Listed(f).empty());
}

TEST_P(ServerStoreTest, ListJobsOfManyJobsReturnsOnlyTheNewestPage) {
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) {
    ids.push_back(NewId('j'));
    ASSERT_OK(store_->PutJob(MakeJob(ids.back(), i % 2 ? "odd" : "even", "succeeded")));
  }
  std::sort(ids.begin(), ids.end());
  JobFilter f;
  f.limit = 3;
  EXPECT_EQ(Listed(f), (std::vector<std::string>{ids[299], ids[298], ids[297]}));
  f.before = ids[100];
  EXPECT_EQ(Listed(f), (std::vector<std::string>{ids[99], ids[98], ids[97]}));
  f = {};
  f.limit = 1000;
  EXPECT_EQ(Listed(f).size(), 300u);
  f = {};
  EXPECT_EQ(Listed(f).size(), 50u);  // the default limit
}

TEST_P(ServerStoreTest, FailUnfinishedJobsTouchesOnlyQueuedAndRunning) {
  const std::vector<std::string> statuses = {"queued", "running",   "succeeded", "partial",
                                             "failed", "cancelled", "timed_out"};
  for (size_t i = 0; i < statuses.size(); ++i) {
    Job j = MakeJob(JobIdAt(static_cast<int>(i)), "p", statuses[i]);
    j.message = "was " + statuses[i];
    if (statuses[i] != "queued" && statuses[i] != "running") {
      j.finished_at = "2026-01-01T00:00:05.000Z";
    }
    ASSERT_OK(store_->PutJob(j));
  }
  const std::string before = UtcNow();
  auto failed = store_->FailUnfinishedJobs("the server stopped while it ran");
  ASSERT_OK(failed);
  ASSERT_EQ(failed->size(), 2u);
  EXPECT_EQ((*failed)[0].id, JobIdAt(0));
  EXPECT_EQ((*failed)[1].id, JobIdAt(1));
  for (const Job& j : *failed) {
    EXPECT_EQ(j.status, "failed");
    EXPECT_EQ(j.message, "the server stopped while it ran");
    EXPECT_GE(j.finished_at, before);
  }

  for (size_t i = 0; i < statuses.size(); ++i) {
    auto got = store_->GetJob(JobIdAt(static_cast<int>(i)));
    ASSERT_OK(got);
    ASSERT_TRUE(got->has_value());
    if (i < 2) {
      EXPECT_EQ((*got)->status, "failed");
      EXPECT_EQ((*got)->message, "the server stopped while it ran");
      EXPECT_GE((*got)->finished_at, before);
      EXPECT_EQ((*got)->pipeline, "p");  // the rest is kept
    } else {
      EXPECT_EQ((*got)->status, statuses[i]);
      EXPECT_EQ((*got)->message, "was " + statuses[i]);
      EXPECT_EQ((*got)->finished_at, "2026-01-01T00:00:05.000Z");
    }
  }
  auto none = store_->FailUnfinishedJobs("again");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(ServerStoreTest, DeleteJobsFinishedBeforeTakesTheirLogsAndRecords) {
  auto add = [this](int n, const std::string& status, const std::string& finished_at) {
    Job j = MakeJob(JobIdAt(n), "p", status);
    j.finished_at = finished_at;
    ASSERT_OK(store_->PutJob(j));
    ASSERT_OK(store_->AppendLogs(j.id, {{1, "t", "info", "start"}, {2, "t", "info", "end"}}));
    ASSERT_OK(store_->AddRecords(j.id, {{1, "e", "1", "", "fail", "[]", "bad"}}));
  };
  add(1, "succeeded", "2026-01-01T00:00:00.000Z");  // old: goes
  add(2, "failed", "2026-01-02T23:59:59.999Z");     // old: goes
  add(3, "succeeded", "2026-01-03T00:00:00.000Z");  // at the cutoff: stays
  add(4, "partial", "2026-02-01T00:00:00.000Z");    // newer: stays
  add(5, "running", "");                            // unfinished: stays
  add(6, "queued", "");                             // unfinished: stays

  auto deleted = store_->DeleteJobsFinishedBefore("2026-01-03T00:00:00.000Z");
  ASSERT_OK(deleted);
  EXPECT_EQ(*deleted, 2);
  EXPECT_EQ(Listed({}), (std::vector<std::string>{JobIdAt(6), JobIdAt(5), JobIdAt(4), JobIdAt(3)}));
  for (int n : {1, 2}) {
    EXPECT_FALSE(store_->GetJob(JobIdAt(n))->has_value());
    EXPECT_TRUE(store_->ListLogs(JobIdAt(n), 0, 0)->empty());
    EXPECT_TRUE(store_->ListRecords(JobIdAt(n), std::nullopt, 0, 0)->empty());
  }
  for (int n : {3, 4, 5, 6}) {
    EXPECT_EQ(store_->ListLogs(JobIdAt(n), 0, 0)->size(), 2u);
    EXPECT_EQ(store_->ListRecords(JobIdAt(n), std::nullopt, 0, 0)->size(), 1u);
  }
  // Seen from another session too: the deletes were committed.
  EXPECT_EQ(db_->Rows("SELECT count(*) FROM tether_server_job_logs"),
            std::vector<std::string>{"8"});
  EXPECT_EQ(db_->Rows("SELECT count(*) FROM tether_server_job_records"),
            std::vector<std::string>{"4"});

  auto nothing = store_->DeleteJobsFinishedBefore("2026-01-03T00:00:00.000Z");
  ASSERT_OK(nothing);
  EXPECT_EQ(*nothing, 0);
}

TEST_P(ServerStoreTest, LogsAfterAndLimitInSeqOrder) {
  const std::string id = JobIdAt(1);
  std::vector<LogLine> lines;
  for (int i = 1; i <= 2500; ++i) {  // more than one statement's worth on every engine
    lines.push_back(
        {i, "2026-01-01T00:00:00.000Z", i % 100 ? "info" : "warn", "line " + std::to_string(i)});
  }
  ASSERT_OK(store_->AppendLogs(id, lines));
  ASSERT_OK(store_->AppendLogs(id, {{2501, "t", "error", kOddText}}));
  ASSERT_OK(store_->AppendLogs(JobIdAt(2), {{1, "t", "info", "other job"}}));
  ASSERT_OK(store_->AppendLogs(id, {}));

  auto all = store_->ListLogs(id, 0, 0);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2501u);
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i + 1));
  EXPECT_EQ((*all)[99].level, "warn");
  EXPECT_EQ((*all)[99].text, "line 100");
  EXPECT_EQ((*all)[2500].level, "error");
  EXPECT_EQ((*all)[2500].text, kOddText);
  EXPECT_EQ((*all)[2500].at, "t");

  auto page = store_->ListLogs(id, 1000, 3);
  ASSERT_OK(page);
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].seq, 1001);
  EXPECT_EQ((*page)[2].seq, 1003);
  EXPECT_EQ((*page)[0].text, "line 1001");
  auto tail = store_->ListLogs(id, 2500, 100);
  ASSERT_OK(tail);
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_TRUE(store_->ListLogs(id, 2501, 100)->empty());
  EXPECT_TRUE(store_->ListLogs("j-none", 0, 100)->empty());
  auto other = store_->ListLogs(JobIdAt(2), 0, 100);
  ASSERT_OK(other);
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].text, "other job");

  // Appending a line again (a retried batch) replaces it instead of failing.
  ASSERT_OK(store_->AppendLogs(id, {{5, "t", "info", "again"}}));
  EXPECT_EQ((*store_->ListLogs(id, 4, 1))[0].text, "again");
  EXPECT_EQ(store_->ListLogs(id, 0, 0)->size(), 2501u);
}

TEST_P(ServerStoreTest, RecordsAfterLimitAndActionFilter) {
  const std::string id = JobIdAt(1);
  const std::vector<std::string> actions = {"insert", "update", "delete", "link", "skip", "fail"};
  std::vector<RecordLine> records;
  for (int i = 1; i <= 60; ++i) {
    records.push_back({i, "orders", std::to_string(i), "t" + std::to_string(i),
                       actions[(i - 1) % actions.size()],
                       "[{\"column\":\"name\",\"before\":\"a\",\"after\":\"b\"}]",
                       i % 6 == 0 ? "constraint: duplicate" : ""});
  }
  ASSERT_OK(store_->AddRecords(id, records));
  ASSERT_OK(store_->AddRecords(JobIdAt(2), {{1, "x", "1", "", "fail", "[]", "other"}}));
  ASSERT_OK(store_->AddRecords(id, {}));

  auto all = store_->ListRecords(id, std::nullopt, 0, 0);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 60u);
  const RecordLine& r6 = (*all)[5];
  EXPECT_EQ(r6.seq, 6);
  EXPECT_EQ(r6.entity, "orders");
  EXPECT_EQ(r6.source_id, "6");
  EXPECT_EQ(r6.target_id, "t6");
  EXPECT_EQ(r6.action, "fail");
  EXPECT_EQ(r6.changes, "[{\"column\":\"name\",\"before\":\"a\",\"after\":\"b\"}]");
  EXPECT_EQ(r6.reason, "constraint: duplicate");

  auto fails = store_->ListRecords(id, std::string("fail"), 0, 0);
  ASSERT_OK(fails);
  ASSERT_EQ(fails->size(), 10u);
  for (size_t i = 0; i < fails->size(); ++i) {
    EXPECT_EQ((*fails)[i].seq, static_cast<int64_t>(6 * (i + 1)));
    EXPECT_EQ((*fails)[i].action, "fail");
  }
  auto page = store_->ListRecords(id, std::string("fail"), 12, 2);
  ASSERT_OK(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].seq, 18);
  EXPECT_EQ((*page)[1].seq, 24);
  auto plain = store_->ListRecords(id, std::nullopt, 58, 10);
  ASSERT_OK(plain);
  ASSERT_EQ(plain->size(), 2u);
  EXPECT_EQ((*plain)[0].seq, 59);
  EXPECT_TRUE(store_->ListRecords(id, std::string("nothing"), 0, 0)->empty());
  EXPECT_EQ(store_->ListRecords(JobIdAt(2), std::nullopt, 0, 0)->size(), 1u);
}

TEST_P(ServerStoreTest, ScheduleMarksRoundTripReplaceAndDelete) {
  EXPECT_TRUE(store_->ListScheduleMarks()->empty());
  ASSERT_OK(store_->PutScheduleMark({"orders", "*/5 * * * *", "2026-01-01T00:05:00Z", "j1"}));
  ASSERT_OK(store_->PutScheduleMark({"customers", "@hourly", "2026-01-01T01:00:00Z", ""}));
  ASSERT_OK(store_->PutScheduleMark({"orders", "*/5 * * * *", "2026-01-01T00:10:00Z", "j2"}));
  auto marks = store_->ListScheduleMarks();
  ASSERT_OK(marks);
  ASSERT_EQ(marks->size(), 2u);
  EXPECT_EQ((*marks)[0].pipeline, "customers");
  EXPECT_EQ((*marks)[0].schedule, "@hourly");
  EXPECT_EQ((*marks)[0].last_job, "");
  EXPECT_EQ((*marks)[1].pipeline, "orders");
  EXPECT_EQ((*marks)[1].last_tick, "2026-01-01T00:10:00Z");
  EXPECT_EQ((*marks)[1].last_job, "j2");
  ASSERT_OK(store_->DeleteScheduleMark("orders"));
  ASSERT_OK(store_->DeleteScheduleMark("never-there"));
  marks = store_->ListScheduleMarks();
  ASSERT_OK(marks);
  ASSERT_EQ(marks->size(), 1u);
  EXPECT_EQ((*marks)[0].pipeline, "customers");
}

TEST_P(ServerStoreTest, OddAndLargeTextSurvives) {
  const std::string large = LargeBody();
  ASSERT_GE(large.size(), 200u * 1024);
  const std::string name = "caf\u00e9 \U0001F600 o'neil";
  ASSERT_OK(store_->PutConnection({name, "postgres://u:p'\"w@h/db?x=" + kOddText, "a", "b"}));
  ASSERT_OK(store_->PutPipeline({name, large, "a", "b"}));
  Job j = MakeJob(JobIdAt(1), name, "failed");
  j.request = large;
  j.message = kOddText;
  j.progress = large;
  j.engine_runs = large;
  ASSERT_OK(store_->PutJob(j));
  ASSERT_OK(store_->AppendLogs(j.id, {{1, "t", "error", large}, {2, "t", "info", kOddText}}));
  ASSERT_OK(store_->AddRecords(j.id, {{1, kOddText, kOddText, kOddText, "fail", large, large}}));
  ASSERT_OK(store_->PutScheduleMark({name, kOddText, "t", j.id}));

  auto c = store_->GetConnection(name);
  ASSERT_OK(c);
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->url, "postgres://u:p'\"w@h/db?x=" + kOddText);
  auto p = store_->GetPipeline(name);
  ASSERT_OK(p);
  ASSERT_TRUE(p->has_value());
  EXPECT_TRUE((*p)->body == large);
  EXPECT_EQ((*store_->ListPipelines())[0].name, name);
  auto got = store_->GetJob(j.id);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->pipeline, name);
  EXPECT_TRUE((*got)->request == large);
  EXPECT_TRUE((*got)->progress == large);
  EXPECT_TRUE((*got)->engine_runs == large);
  EXPECT_EQ((*got)->message, kOddText);
  JobFilter f;
  f.pipeline = name;
  EXPECT_EQ(Listed(f), std::vector<std::string>{j.id});
  auto logs = store_->ListLogs(j.id, 0, 0);
  ASSERT_OK(logs);
  ASSERT_EQ(logs->size(), 2u);
  EXPECT_TRUE((*logs)[0].text == large);
  EXPECT_EQ((*logs)[1].text, kOddText);
  auto records = store_->ListRecords(j.id, std::nullopt, 0, 0);
  ASSERT_OK(records);
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].entity, kOddText);
  EXPECT_EQ((*records)[0].source_id, kOddText);
  EXPECT_EQ((*records)[0].target_id, kOddText);
  EXPECT_TRUE((*records)[0].changes == large);
  EXPECT_TRUE((*records)[0].reason == large);
  auto marks = store_->ListScheduleMarks();
  ASSERT_OK(marks);
  ASSERT_EQ(marks->size(), 1u);
  EXPECT_EQ((*marks)[0].schedule, kOddText);
}

TEST_P(ServerStoreTest, AReopenedStoreSeesEverything) {
  ASSERT_OK(store_->PutConnection({"src", "sqlite:/tmp/src.db", "a", "b"}));
  ASSERT_OK(store_->PutPipeline({"orders", "{\"x\":1}", "a", "b"}));
  Job j = MakeJob(JobIdAt(1), "orders", "succeeded");
  j.counts.inserted = 42;
  ASSERT_OK(store_->PutJob(j));
  ASSERT_OK(store_->AppendLogs(j.id, {{1, "t", "info", "hello"}}));
  ASSERT_OK(store_->AddRecords(j.id, {{1, "e", "1", "2", "insert", "[]", ""}}));
  ASSERT_OK(store_->PutScheduleMark({"orders", "@daily", "t", j.id}));

  Reopen();
  ASSERT_NE(store_, nullptr);
  auto c = store_->GetConnection("src");
  ASSERT_OK(c);
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->url, "sqlite:/tmp/src.db");
  EXPECT_EQ((*store_->GetPipeline("orders"))->body, "{\"x\":1}");
  auto got = store_->GetJob(j.id);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->counts.inserted, 42);
  EXPECT_EQ(Listed({}), std::vector<std::string>{j.id});
  EXPECT_EQ((*store_->ListLogs(j.id, 0, 0))[0].text, "hello");
  EXPECT_EQ((*store_->ListRecords(j.id, std::nullopt, 0, 0))[0].action, "insert");
  EXPECT_EQ((*store_->ListScheduleMarks())[0].last_job, j.id);
}

TEST_P(ServerStoreTest, CallsFromManyThreadsAreSerialized) {
  constexpr int kThreads = 6;
  constexpr int kJobsEach = 15;
  std::vector<std::thread> threads;
  std::vector<Status> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &failures] {
      for (int i = 0; i < kJobsEach; ++i) {
        Job j = MakeJob(JobIdAt(t * 100 + i), "p" + std::to_string(t), "running");
        Status s = store_->PutJob(j);
        if (s.ok()) s = store_->AppendLogs(j.id, {{1, "t", "info", "a"}, {2, "t", "info", "b"}});
        if (s.ok()) s = store_->ListJobs({}).status();
        if (s.ok()) s = store_->ListLogs(j.id, 0, 0).status();
        if (!s.ok()) {
          failures[t] = s;
          return;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (const Status& s : failures) EXPECT_TRUE(s.ok()) << s.ToString();
  JobFilter f;
  f.limit = 0;
  EXPECT_EQ(Listed(f).size(), static_cast<size_t>(kThreads * kJobsEach));
  auto failed = store_->FailUnfinishedJobs("stopped");
  ASSERT_OK(failed);
  EXPECT_EQ(failed->size(), static_cast<size_t>(kThreads * kJobsEach));
}

INSTANTIATE_TEST_SUITE_P(Engines, ServerStoreTest, ::testing::ValuesIn(AllEngines()),
                         [](const auto& info) { return info.param; });

TEST(ServerStoreOpenTest, CreatesAMissingSqliteFileAndItsFolder) {
  TempDir dir;
  const std::string path = dir.File("a/b/server.db");
  auto store = ServerStore::Open("sqlite:" + path);
  ASSERT_OK(store);
  EXPECT_EQ((*store)->engine(), "sqlite");
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(SqliteRows(path, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  ASSERT_OK((*store)->PutPipeline({"p", "{}", "a", "b"}));
  store.value().reset();

  // Options of the URL are kept; a missing create=1 is added to them.
  auto again = ServerStore::Open("sqlite:" + path + "?busy_timeout_ms=100");
  ASSERT_OK(again);
  EXPECT_EQ((*again)->ListPipelines()->size(), 1u);
  auto other = ServerStore::Open("sqlite:" + dir.File("other.db") + "?busy_timeout_ms=100");
  ASSERT_OK(other);
  EXPECT_TRUE(std::filesystem::exists(dir.File("other.db")));
}

// The store holds the API connections' passwords: its file and SQLite's -wal and -shm files
// beside it are readable by their owner only, whatever the umask; an older store is narrowed.
TEST(ServerStoreOpenTest, TheSqliteFilesAreTheOwnersOnly) {
  TempDir dir;
  const mode_t old_umask = ::umask(022);
  auto mode = [](const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  };
  const std::string path = dir.File("server.db");
  {
    auto store = ServerStore::Open("sqlite:" + path);
    ASSERT_OK(store);
    ASSERT_OK((*store)->PutConnection({"c", "postgres://u@h/db", "a", "b"}));
    for (const char* suffix : {"", "-wal", "-shm"}) EXPECT_EQ(mode(path + suffix), 0600u) << suffix;
  }
  const std::string old = dir.File("old.db");
  SqliteExec(old, "CREATE TABLE t(x)");
  ASSERT_EQ(::chmod(old.c_str(), 0644), 0);
  auto reopened = ServerStore::Open("sqlite:" + old);
  ASSERT_OK(reopened);
  ASSERT_OK((*reopened)->PutConnection({"c", "postgres://u@h/db", "a", "b"}));
  for (const char* suffix : {"", "-wal", "-shm"}) EXPECT_EQ(mode(old + suffix), 0600u) << suffix;
  ::umask(old_umask);
}

TEST(ServerStoreOpenTest, AnExplicitCreateOptionIsObeyed) {
  TempDir dir;
  auto store = ServerStore::Open("sqlite:" + dir.File("missing.db") + "?create=0");
  EXPECT_FALSE(store.ok());
  EXPECT_FALSE(std::filesystem::exists(dir.File("missing.db")));
  auto bad = ServerStore::Open("nosuchengine://x");
  EXPECT_FALSE(bad.ok());
}

// The scheme in any letter case is read as the registry reads it: a SQLite store all the same.
TEST(ServerStoreOpenTest, ASqliteSchemeInAnyLetterCaseIsASqliteStore) {
  TempDir dir;
  const mode_t old_umask = ::umask(022);
  const std::string path = dir.File("new/server.db");
  auto store = ServerStore::Open("SQLite://" + path);
  ::umask(old_umask);
  ASSERT_OK(store);
  EXPECT_EQ((*store)->engine(), "sqlite");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(SqliteRows(path, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  for (const char* options : {"?create=0", "?mode=ro"}) {
    const std::string missing = dir.File("missing.db");
    EXPECT_FALSE(ServerStore::Open("SQLITE:" + missing + options).ok()) << options;
    EXPECT_FALSE(std::filesystem::exists(missing)) << options;
  }
}

TEST(ServerStoreOpenTest, JobIdsSortByCreationTime) {
  const std::string first = NewId('j');
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const std::string second = NewId('j');
  EXPECT_EQ(first.size(), 26u);  // j + 8 digits, T, 9 digits of time, '-' + 6 hex digits
  EXPECT_EQ(first[0], 'j');
  EXPECT_LT(first, second);
}

}  // namespace
}  // namespace tether::testing
