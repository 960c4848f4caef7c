// Whole runs: dry run, rerun, single-field changes with before-images, cancel and resume,
// restart, the pipeline lock, a batch retried on a locked target, and the run history in the
// state store.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/temporal.h"
#include "util/engine_fixture.h"
#include "util/fault_connector.h"
#include "util/manual_clock.h"

namespace tether::testing {
namespace {

constexpr char kRunDdl[] = R"(
  CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT,
                         points INTEGER);
  CREATE TABLE sales_order (id INTEGER PRIMARY KEY, increment_id TEXT NOT NULL UNIQUE,
                            customer_id INTEGER REFERENCES customer(id), total REAL);
)";

constexpr char kRunEntities[] = R"(
entities:
  customer:
    table: customer
    match: [email]
    validate: { email: { required: true, type: email } }
  order:
    table: sales_order
    match: [increment_id]
    references: { customer_id: customer }
)";

class RunTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Both(kRunDdl);
    Configure(std::string(kRunEntities) + Pipeline("order, customer", "    batch_size: 3\n"));
  }
  // n customers and, for each, one order.
  void Fill(int n) {
    std::string sql;
    for (int i = 1; i <= n; ++i) {
      std::string id = std::to_string(i);
      sql += "INSERT INTO customer VALUES (" + id + ", 'c" + id + "@x.io', 'C" + id + "', " + id +
             ");\nINSERT INTO sales_order VALUES (" + id + ", 'O-" + id + "', " + id + ", " + id +
             ".5);\n";
    }
    Source(sql);
  }
  static constexpr char kOrders[] =
      "SELECT o.increment_id, c.email, c.name, c.points, o.total FROM sales_order o "
      "LEFT JOIN customer c ON c.id = o.customer_id ORDER BY 1";
};

TEST_P(RunTest, DryRunWritesNothingAndCountsWhatTheRunDoes) {
  Fill(8);
  // An invalid customer and its order, an order of a missing customer, a matched customer with
  // other values, and target rows of its own under colliding ids.
  SourceUnchecked(R"(
    INSERT INTO customer VALUES (20, 'not-an-email', 'Bad', 0);
    INSERT INTO sales_order VALUES (20, 'O-20', 20, 1), (21, 'O-21', 77, 1);
  )");
  Target(R"(
    INSERT INTO customer VALUES (1, 'mine@x.io', 'Mine', 0), (2, 'c5@x.io', 'Old five', 0);
    INSERT INTO sales_order VALUES (1, 'T-1', 1, 9);
  )");
  std::string before = TargetSnapshot();
  auto plan = DryRun();
  ASSERT_OK(plan);
  EXPECT_TRUE(plan->run.dry_run);
  EXPECT_TRUE(TargetSnapshot() == before);
  EXPECT_FALSE(TargetHasStateTables());
  std::vector<RecordPlan> planned = obs_.records;
  // New rows have no target id yet in a plan; the matched customer has its own.
  for (const RecordPlan& p : planned) {
    if (p.action == Action::kInsert) {
      EXPECT_EQ(p.target_id, "") << p.entity << " " << p.source_id;
    }
  }

  auto real = Sync();
  ASSERT_OK(real);
  EXPECT_EQ(CountsOf(*plan, "customer"), CountsOf(*real, "customer"));
  EXPECT_EQ(CountsOf(*plan, "order"), CountsOf(*real, "order"));
  EXPECT_EQ(CountsOf(*real, "customer"),
            (RunCounts{.read = 9, .inserted = 7, .updated = 1, .skipped = 1}));
  EXPECT_EQ(CountsOf(*real, "order"), (RunCounts{.read = 10, .inserted = 8, .failed = 2}));
  ASSERT_EQ(planned.size(), obs_.records.size());
  for (size_t i = 0; i < planned.size(); ++i) {
    EXPECT_EQ(planned[i].entity, obs_.records[i].entity);
    EXPECT_EQ(planned[i].source_id, obs_.records[i].source_id);
    EXPECT_EQ(planned[i].action, obs_.records[i].action);
  }

  // With the state tables in place, after a change: still nothing written, same counts.
  Source("UPDATE customer SET points = 100 WHERE id = 3");
  Source("INSERT INTO customer VALUES (30, 'new@x.io', 'New', 1)");
  before = TargetSnapshot();
  auto plan2 = DryRun();
  ASSERT_OK(plan2);
  EXPECT_TRUE(TargetSnapshot() == before);
  auto real2 = Sync();
  ASSERT_OK(real2);
  EXPECT_EQ(CountsOf(*plan2, "customer"), CountsOf(*real2, "customer"));
  EXPECT_EQ(CountsOf(*plan2, "order"), CountsOf(*real2, "order"));
  EXPECT_EQ(CountsOf(*real2, "customer"),
            (RunCounts{.read = 10, .inserted = 1, .updated = 1, .unchanged = 7, .skipped = 1}));

  // Dry runs leave no run behind; the two real runs are listed newest first.
  State state = OpenState();
  auto runs = state->ListRuns("p", 0);
  ASSERT_OK(runs);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].run_id, real2->run.run_id);
  EXPECT_EQ((*runs)[1].run_id, real->run.run_id);
  EXPECT_EQ((*runs)[1].counts.inserted, 15);
  auto one = state->ListRuns("p", 1);
  ASSERT_OK(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].run_id, real2->run.run_id);
  EXPECT_TRUE(state->ListRuns("other", 0)->empty());
}

TEST_P(RunTest, DryRunOfAChildWhoseParentWouldBeCreatedFirst) {
  // Orders only: their customers are not selected, so the run pulls them.
  Fill(4);
  std::string before = TargetSnapshot();
  auto plan = DryRun(Only({"order"}));
  ASSERT_OK(plan);
  EXPECT_TRUE(TargetSnapshot() == before);
  EXPECT_EQ(CountsOf(*plan, "order"), (RunCounts{.read = 4, .inserted = 4}));
  auto real = Sync(Only({"order"}));
  ASSERT_OK(real);
  EXPECT_EQ(CountsOf(*real, "order"), CountsOf(*plan, "order"));
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
}

TEST_P(RunTest, RerunIsANoOpAndOneChangedFieldUpdatesExactlyThatRow) {
  Fill(7);
  ASSERT_OK(Sync());
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
  std::string before = TargetSnapshot();

  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "customer"), (RunCounts{.read = 7, .unchanged = 7}));
  EXPECT_EQ(CountsOf(*again, "order"), (RunCounts{.read = 7, .unchanged = 7}));
  EXPECT_TRUE(obs_.records.empty());
  // Nothing of the data changed (only the run history grows).
  EXPECT_EQ(Dst("SELECT count(*) FROM tether_before_images"), std::vector<std::string>{"0"});

  Source("UPDATE customer SET points = 42 WHERE id = 5");
  std::vector<std::string> target_before = Dst("SELECT * FROM customer ORDER BY id");
  auto changed = Sync();
  ASSERT_OK(changed);
  EXPECT_EQ(CountsOf(*changed, "customer"), (RunCounts{.read = 7, .updated = 1, .unchanged = 6}));
  EXPECT_EQ(CountsOf(*changed, "order"), (RunCounts{.read = 7, .unchanged = 7}));
  ASSERT_EQ(obs_.records.size(), 1u);
  const RecordPlan& p = obs_.records[0];
  EXPECT_EQ(p.entity, "customer");
  EXPECT_EQ(p.source_id, "5");
  EXPECT_EQ(p.action, Action::kUpdate);
  std::string target_id = *LinkOf("customer", "5").target_id;
  EXPECT_EQ(p.target_id, target_id);
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].column, "points");
  EXPECT_EQ(p.changes[0].before, Value::Int(5));
  EXPECT_EQ(p.changes[0].after, Value::Int(42));
  // Exactly that row differs.
  std::vector<std::string> target_after = Dst("SELECT * FROM customer ORDER BY id");
  ASSERT_EQ(target_after.size(), target_before.size());
  int differing = 0;
  for (size_t i = 0; i < target_after.size(); ++i) differing += target_after[i] != target_before[i];
  EXPECT_EQ(differing, 1);
  EXPECT_EQ(Dst("SELECT points FROM customer WHERE email = 'c5@x.io'"),
            std::vector<std::string>{"42"});

  // Its before-image holds the row as it was, under this run.
  auto images = Dst("SELECT run_id, entity, target_id, op, image FROM tether_before_images");
  ASSERT_EQ(images.size(), 1u);
  std::string prefix = changed->run.run_id + "|customer|" + target_id + "|update|";
  ASSERT_EQ(images[0].substr(0, prefix.size()), prefix);
  nlohmann::json image = nlohmann::json::parse(images[0].substr(prefix.size()));
  EXPECT_EQ(image["points"], 5);
  EXPECT_EQ(image["email"], "c5@x.io");
  EXPECT_EQ(image["name"], "C5");

  auto last = Sync();
  ASSERT_OK(last);
  EXPECT_FALSE(Total(*last).Changed());
}

TEST_P(RunTest, ATargetSideChangeIsPutBackFromTheSource) {
  Fill(3);
  ASSERT_OK(Sync());
  Target("UPDATE customer SET name = 'Edited' WHERE email = 'c2@x.io'");
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 3, .updated = 1, .unchanged = 2}));
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
}

TEST_P(RunTest, ALinkedRowDeletedOnTheTargetIsWrittenAgain) {
  Fill(3);
  ASSERT_OK(Sync(Only({"customer"})));
  std::string old_id = *LinkOf("customer", "2").target_id;
  Target("DELETE FROM customer WHERE email = 'c2@x.io'");
  auto report = Sync(Only({"customer"}));
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 3, .inserted = 1, .unchanged = 2}));
  std::string new_id = *LinkOf("customer", "2").target_id;
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(Dst("SELECT id FROM customer WHERE email = 'c2@x.io'"),
            std::vector<std::string>{new_id});
}

TEST_P(RunTest, CancelledRunResumesAfterItsCheckpoint) {
  Fill(20);
  cancel_after_ = 2;  // the customer pass stops after two batches of 3
  ASSERT_CODE(Sync(), StatusCode::kCancelled);
  EXPECT_EQ(Dst("SELECT count(*) FROM customer"), std::vector<std::string>{"6"});
  EXPECT_EQ(Dst("SELECT count(*) FROM sales_order"), std::vector<std::string>{"0"});
  State state = OpenState();
  auto runs = state->ListRuns("p", 0);
  ASSERT_OK(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].status, "cancelled");
  EXPECT_EQ((*runs)[0].counts.inserted, 6);
  auto cp = state->GetCheckpoint("p", "customer");
  ASSERT_OK(cp);
  ASSERT_TRUE(cp->has_value());
  EXPECT_EQ((*cp)->position, std::optional<std::string>("6"));

  cancel_after_ = 0;
  auto resumed = Sync();
  ASSERT_OK(resumed);
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(CountsOf(*resumed, "customer"), (RunCounts{.read = 14, .inserted = 14}));
  EXPECT_EQ(CountsOf(*resumed, "order"), (RunCounts{.read = 20, .inserted = 20}));
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
  EXPECT_EQ(Dst("SELECT count(*) FROM customer"), std::vector<std::string>{"20"});
  cp = state->GetCheckpoint("p", "customer");
  ASSERT_OK(cp);
  EXPECT_FALSE((*cp)->position.has_value());  // finished

  auto next = Sync();
  ASSERT_OK(next);
  EXPECT_FALSE(next->resumed);
  EXPECT_EQ(CountsOf(*next, "customer"), (RunCounts{.read = 20, .unchanged = 20}));
}

TEST_P(RunTest, CancelInTheSecondEntityResumesThere) {
  Fill(10);
  cancel_after_ = 6;  // 4 customer batches, then 2 order batches
  ASSERT_CODE(Sync(), StatusCode::kCancelled);
  EXPECT_EQ(Dst("SELECT count(*) FROM customer"), std::vector<std::string>{"10"});
  EXPECT_EQ(Dst("SELECT count(*) FROM sales_order"), std::vector<std::string>{"6"});
  cancel_after_ = 0;
  auto resumed = Sync();
  ASSERT_OK(resumed);
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(CountsOf(*resumed, "customer"), (RunCounts{.read = 10, .unchanged = 10}));
  EXPECT_EQ(CountsOf(*resumed, "order"), (RunCounts{.read = 4, .inserted = 4}));
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
}

TEST_P(RunTest, RestartIgnoresTheCheckpoint) {
  Fill(10);
  cancel_after_ = 1;
  ASSERT_CODE(Sync(), StatusCode::kCancelled);
  cancel_after_ = 0;
  SyncRequest req;
  req.restart = true;
  auto report = Sync(req);
  ASSERT_OK(report);
  EXPECT_FALSE(report->resumed);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 10, .inserted = 7, .unchanged = 3}));
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
}

TEST_P(RunTest, ACheckpointIsOnlyResumedWithTheSameFilters) {
  Fill(10);
  cancel_after_ = 1;
  ASSERT_CODE(Sync(), StatusCode::kCancelled);
  cancel_after_ = 0;
  SyncRequest req;
  req.where = {"customer.points >= 0"};
  auto report = Sync(req);
  ASSERT_OK(report);
  EXPECT_FALSE(report->resumed);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 10, .inserted = 7, .unchanged = 3}));
}

TEST_P(RunTest, ARunLeftRunningByADeadProcessIsInterruptedAndResumed) {
  Fill(9);
  cancel_after_ = 1;
  ASSERT_CODE(Sync(), StatusCode::kCancelled);
  cancel_after_ = 0;
  // As if the process had been killed mid-run: the run row still says running.
  Target("UPDATE tether_runs SET status = 'running', pid = 2147483646");
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_TRUE(report->resumed);
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 6, .inserted = 6}));
  State state = OpenState();
  auto runs = state->ListRuns("p", 0);
  ASSERT_OK(runs);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[1].status, "interrupted");
  EXPECT_EQ((*runs)[0].status, "succeeded");
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
}

// A run of pipeline `p` on a thread of its own, stopped once it holds its pipeline (OnRunStart
// comes after the lock and the run row) until Finish().
class HeldRun {
 public:
  explicit HeldRun(const Config& config) {
    thread_ = std::thread([this, &config] {
      SyncRequest req;
      req.pipeline = "p";
      result_ = RunSync(config, req, &observer_);
    });
    observer_.started.get_future().wait();
  }
  ~HeldRun() {
    if (thread_.joinable()) (void)Finish();
  }
  const std::string& run_id() const { return observer_.runs.at(0); }
  Result<SyncReport> Finish() {
    observer_.go.set_value();
    thread_.join();
    return result_;
  }

 private:
  struct Pausing : RecordingObserver {
    void OnRunStart(const RunInfo& run) override {
      RecordingObserver::OnRunStart(run);
      started.set_value();
      go.get_future().wait();
    }
    std::promise<void> started, go;
  };
  Pausing observer_;
  Result<SyncReport> result_ = Status::Internal("not run");
  std::thread thread_;
};

// Tells when a run starts waiting for its pipeline.
class WaitingObserver : public RecordingObserver {
 public:
  void OnNotice(const std::string& text) override {
    RecordingObserver::OnNotice(text);
    if (!waiting_) {
      waiting_ = true;
      waits_.set_value();
    }
  }
  // False when it has not started waiting within a minute.
  bool WaitUntilWaiting() {
    return waits_.get_future().wait_for(std::chrono::minutes(1)) == std::future_status::ready;
  }

 private:
  bool waiting_ = false;
  std::promise<void> waits_;
};

TEST_P(RunTest, ASecondRunOfAPipelineIsRefusedWhileTheFirstHoldsIt) {
  Fill(9);
  HeldRun first_run(config_);
  Result<SyncReport> second = Sync();
  Result<SyncReport> first = first_run.Finish();
  ASSERT_CODE(second, StatusCode::kBusy);
  EXPECT_TRUE(Contains(second.status().message(), "'p'")) << second.status().ToString();
  EXPECT_TRUE(Contains(second.status().message(), first_run.run_id()))
      << "names the run holding the pipeline: " << second.status().ToString();
  ASSERT_OK(first);
  EXPECT_EQ(CountsOf(*first, "customer"), (RunCounts{.read = 9, .inserted = 9}));
  // Each record once, and the refused run left no trace but the first run's.
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
  EXPECT_EQ(Dst("SELECT count(*) FROM customer"), std::vector<std::string>{"9"});
  State state = OpenState();
  auto runs = state->ListRuns("p", 0);
  ASSERT_OK(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].status, "succeeded");
}

TEST_P(RunTest, ARunAskedToWaitRunsOnceTheFirstHasFinished) {
  Fill(6);
  HeldRun first_run(config_);
  SyncRequest waiting;
  waiting.pipeline = "p";
  waiting.lock_wait = std::chrono::seconds(60);
  WaitingObserver second_obs;
  Result<SyncReport> second = Status::Internal("not run");
  std::thread second_runner([&] { second = RunSync(config_, waiting, &second_obs); });
  EXPECT_TRUE(second_obs.WaitUntilWaiting()) << "the second run should wait for the first";
  Result<SyncReport> first = first_run.Finish();
  second_runner.join();
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_EQ(CountsOf(*first, "customer"), (RunCounts{.read = 6, .inserted = 6}));
  EXPECT_EQ(CountsOf(*second, "customer"), (RunCounts{.read = 6, .unchanged = 6}))
      << "found the first run's work";
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
}

TEST_P(RunTest, ARunWaitsUnaskedForTheLockOfAKilledRunUntilItsSessionEnds) {
  Fill(4);
  ASSERT_OK(Sync().status());
  // A killed run: its row still says running, under a pid that no process has now...
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  waitpid(dead, nullptr, 0);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  RunInfo gone;
  gone.run_id = "r-killed";
  gone.pipeline = "p";
  gone.started_at = UtcNow();
  gone.pid = dead;
  gone.host = host;
  State state = OpenState();
  ASSERT_OK(state->PutRun(gone));
  // ... and its session, which the server has not closed yet, still holds the pipeline.
  Result<bool> held = state.conn->TryLock("pipeline:p");
  ASSERT_OK(held);
  ASSERT_TRUE(*held);
  SyncRequest req;  // no lock_wait
  req.pipeline = "p";
  WaitingObserver obs;
  Result<SyncReport> next = Status::Internal("not run");
  std::thread runner([&] { next = RunSync(config_, req, &obs); });
  const bool waited = obs.WaitUntilWaiting();
  ASSERT_OK(state.conn->ReleaseLock("pipeline:p"));  // the server notices the client is gone
  runner.join();
  EXPECT_TRUE(waited) << next.status().ToString();
  ASSERT_OK(next);
  EXPECT_EQ(Dst("SELECT count(*) FROM customer"), std::vector<std::string>{"4"});
  auto runs = state->ListRuns("p", 0);
  ASSERT_OK(runs);
  for (const RunInfo& r : *runs) {
    if (r.run_id == "r-killed") {
      EXPECT_EQ(r.status, "interrupted");
    }
  }
}

TEST_P(RunTest, ADryRunDoesNotWaitForThePipeline) {
  Fill(3);
  HeldRun first_run(config_);
  ASSERT_OK(DryRun());
  ASSERT_OK(first_run.Finish());
}

// A target that is locked (SQLite's file lock, a row lock) fails Begin or Commit with kBusy
// (tests/connectors: LockedDatabaseIsBusy); here a FaultConnector says so, and the run tries
// the batch again after a backoff on the test clock.
TEST_P(RunTest, ABatchThatFindsTheTargetLockedIsRetriedAndPullsItsParentsAgain) {
  Fill(6);
  FaultPlan plan;
  const Status locked = Status::Busy("database is locked (injected)");
  // The first order batch pulls its customers, and its commit is refused; a later batch cannot
  // begin.
  plan.Add({.connection = "dst", .call = Call::kCommit, .nth = 1, .status = locked});
  plan.Add({.connection = "dst", .call = Call::kBegin, .nth = 4, .status = locked});
  ManualClock clock;
  SyncRequest req = Only({"order"});
  req.env.open_connector = plan.Factory();
  req.env.clock = &clock;
  auto report = Sync(req);
  ASSERT_OK(report);
  EXPECT_EQ(plan.fired(), 2);
  // The retries are announced, naming the entity whose batch it was.
  EXPECT_TRUE(
      std::ranges::any_of(obs_.notices, [](const std::string& n) { return Contains(n, "order"); }));
  EXPECT_EQ(clock.waits(),
            (std::vector<std::chrono::milliseconds>(2, std::chrono::milliseconds(400))));
  // The customers were pulled in the rolled-back attempt; the retry must pull them again.
  EXPECT_EQ(CountsOf(*report, "customer"), (RunCounts{.read = 6, .inserted = 6}));
  EXPECT_EQ(CountsOf(*report, "order"), (RunCounts{.read = 6, .inserted = 6}));
  EXPECT_EQ(Dst(kOrders), Src(kOrders));
  // Records of the rolled-back attempts are not reported.
  EXPECT_EQ(obs_.records.size(), 12u);
}

TETHER_ALL_PAIRS(RunTest);

// Identity keys: a batch whose key range the target holds no row of skips its lookups; one the
// target already holds rows in (put there by someone else) must still update them, not insert
// them twice — whether the rows sit inside a batch's range, between two batches or after all.
class IdentityCopyTest : public EngineTest {};

TEST_P(IdentityCopyTest, AFirstCopyIntoAPartlyFilledTargetUpdatesWhatIsThere) {
  Both("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)");
  std::string rows;
  for (int i = 1; i <= 40; ++i) {
    rows += std::string(i > 1 ? "," : "") + "(" + std::to_string(i * 10) + ", 'n" +
            std::to_string(i) + "')";
  }
  Source("INSERT INTO item VALUES " + rows);
  // 75 falls between two source keys, 205 inside a later batch, 900 after the last.
  Target(
      "INSERT INTO item VALUES (70, 'old'), (75, 'theirs'), (205, 'theirs'), (330, 'old'), "
      "(900, 'theirs')");
  Configure("entities:\n  item: { table: item, keys: identity, delete: ignore }\n" +
            Pipeline("item", "    batch_size: 4\n"));
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "item"), (RunCounts{.read = 40, .inserted = 38, .updated = 2}));
  std::vector<std::string> want = Src("SELECT id, name FROM item");
  want.push_back("75|theirs");
  want.push_back("205|theirs");
  want.push_back("900|theirs");
  EXPECT_EQ(Sorted(Dst("SELECT id, name FROM item")), Sorted(want));
  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "item"), (RunCounts{.read = 40, .unchanged = 40}));
}

TETHER_ALL_PAIRS(IdentityCopyTest);

}  // namespace
}  // namespace tether::testing
