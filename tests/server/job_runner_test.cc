// The server's JobRunner and Scheduler in process, on a ManualClock and through a connector
// factory (RunnerOptions::env): a retryable failure is retried when its backoff has passed on the
// clock, a run is stopped when job_timeout has, a schedule fires when the clock reaches its next
// tick and never stacks runs, a missed tick fires once after a restart, old runs are cleaned up,
// and a run's `where` is checked on a source opened through the factory. Nothing here sleeps
// out a delay: the test moves the clock.
#include "server/job_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/temporal.h"
#include "server/catalog.h"
#include "server/scheduler.h"
#include "server/server_store.h"
#include "util/fault_connector.h"
#include "util/manual_clock.h"
#include "util/test_util.h"

namespace tether::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr int kItems = 9;  // in batches of 3

// A RunClock for a FaultPlan's delays: a delayed call waits, in real time, until the test opens
// the gate, so that the test acts while a run is held in the middle.
class Gate : public RunClock {
 public:
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point WallNow() override {
    return std::chrono::system_clock::now();
  }
  bool SleepFor(milliseconds, const std::atomic<bool>*) override {
    std::unique_lock<std::mutex> lk(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lk, [&] { return open_; });
    return true;
  }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lk,
                 std::chrono::steady_clock::time_point deadline) override {
    cv.wait_until(lk, deadline);
  }
  // False when no call has come to the gate within 30 s.
  bool AwaitEntered() {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, seconds(30), [&] { return entered_ > 0; });
  }
  void Open() {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
};

// Waits for `done` (polled every millisecond), at most 30 s; false when it did not come.
bool Eventually(const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// Opens connections with OpenConnector, but refuses the first `refusals` opens of dst as a
// server that is down.
ConnectorFactory RefusingTarget(std::shared_ptr<std::atomic<int>> refusals) {
  return [refusals](const std::string& name,
                    const std::string& url) -> Result<std::unique_ptr<Connector>> {
    if (name == "dst" && refusals->fetch_sub(1) > 0) {
      return Status::Connection("connection refused (injected)");
    }
    return OpenConnector(name, url);
  };
}

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = tmp_.File("data");
    std::filesystem::create_directories(data_);
    auto store = ServerStore::Open("sqlite:" + tmp_.File("server.db"));
    ASSERT_OK(store);
    store_ = std::move(*store);
    catalog_ = std::make_unique<Catalog>(store_.get(), std::nullopt, tmp_.path().string(),
                                         CatalogFiles{data_, tmp_.File("server.db")});
    const std::string item = "CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, price REAL);";
    SqliteExec(data_ + "/src.db",
               item + "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                   std::to_string(kItems) + ") INSERT INTO item SELECT i, 'item ' || i, i FROM n;");
    SqliteExec(data_ + "/dst.db", item);
    ASSERT_OK(catalog_->CreateConnection("src", "sqlite:src.db", std::nullopt));
    ASSERT_OK(catalog_->CreateConnection("dst", "sqlite:dst.db", std::nullopt));
    ASSERT_OK(catalog_->CreatePipeline("items", Items()));
  }
  void TearDown() override {
    gate_.Open();  // a run a failed test left held
    scheduler_.reset();
    runner_.reset();
  }

  // Pipeline `items` from src to dst, identity keys; with a schedule when given.
  static json Items(const std::string& schedule = "") {
    json p = {{"source", "src"},
              {"target", "dst"},
              {"entities", {{"item", {{"table", "item"}, {"key", "id"}, {"keys", "identity"}}}}},
              {"batch_size", 3}};
    if (!schedule.empty()) p["schedule"] = schedule;
    return p;
  }

  // Starts the runner on the test clock; `options.env.open_connector` as the test sets it.
  void StartRunner(RunnerOptions options) {
    options.env.clock = &clock_;
    runner_ = std::make_unique<JobRunner>(
        store_.get(), [this](const std::string& p) { return catalog_->ConfigFor(p); }, options);
    ASSERT_OK(runner_->Start());
  }
  // Starts the runner with dst refusing its first `refusals` connections.
  void StartWithTargetDown(int refusals, int retry_attempts, milliseconds retry_delay) {
    RunnerOptions options;
    options.retry_attempts = retry_attempts;
    options.retry_delay = retry_delay;
    options.env.open_connector = RefusingTarget(std::make_shared<std::atomic<int>>(refusals));
    StartRunner(options);
  }
  void StartScheduler() {
    scheduler_ = std::make_unique<Scheduler>(catalog_.get(), runner_.get(), store_.get());
    ASSERT_OK(scheduler_->Start());
  }

  std::string Submit() {
    Result<Job> job = runner_->Submit("items", "sync", "api", json::object());
    EXPECT_OK(job);
    return job.ok() ? job->id : "";
  }

  // The run once `done` holds for it (awaited on the runner's change counter), at most 30 s.
  JobSnapshot Await(const std::string& id, const std::function<bool(const JobSnapshot&)>& done) {
    const auto give_up = std::chrono::steady_clock::now() + seconds(30);
    uint64_t seen = 0;
    for (;;) {
      auto s = runner_->WaitForChange(id, seen, 0, seconds(1));
      if (!s.ok() || !*s) {
        ADD_FAILURE() << "run " << id << ": " << s.status().ToString();
        return {};
      }
      if (done(**s)) return **s;
      if (std::chrono::steady_clock::now() > give_up) {
        ADD_FAILURE() << "run " << id << " is still " << (*s)->job.status;
        return **s;
      }
      seen = (*s)->version;
    }
  }
  JobSnapshot AwaitFinished(const std::string& id) {
    return Await(id, [](const JobSnapshot& s) { return s.finished; });
  }

  int Ticks(const std::string& outcome) { return scheduler_->TickCounts()["items"][outcome]; }

  int64_t TargetItems() {
    return std::stoll(SqliteRows(data_ + "/dst.db", "SELECT count(*) FROM item").at(0));
  }

  TempDir tmp_;
  std::string data_;
  ManualClock clock_;
  Gate gate_;
  std::unique_ptr<ServerStore> store_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<JobRunner> runner_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(JobRunnerTest, ARetryableFailureIsRetriedWhenItsBackoffHasPassedOnTheClock) {
  StartWithTargetDown(2, 3, seconds(30));
  const std::string id = Submit();

  auto waiting_for = [](int attempt) {
    return [attempt](const JobSnapshot& s) {
      return s.finished || (s.job.attempt == attempt && s.next_attempt_at.has_value());
    };
  };
  JobSnapshot first = Await(id, waiting_for(1));
  EXPECT_EQ(first.job.status, "queued");
  EXPECT_EQ(first.next_attempt_at, IsoUtc(ManualClock::kStart + seconds(30)));

  clock_.Advance(seconds(30));
  JobSnapshot second = Await(id, waiting_for(2));
  EXPECT_EQ(second.job.status, "queued");
  EXPECT_EQ(second.next_attempt_at, IsoUtc(ManualClock::kStart + seconds(90))) << "doubled";

  clock_.Advance(seconds(60));
  JobSnapshot done = AwaitFinished(id);
  EXPECT_EQ(done.job.status, "succeeded") << done.job.message;
  EXPECT_EQ(done.job.attempt, 3);
  EXPECT_EQ(done.job.max_attempts, 4);
  EXPECT_EQ(done.job.counts.inserted, kItems);
  EXPECT_EQ(done.job.created_at, IsoUtc(ManualClock::kStart));
  EXPECT_EQ(done.job.finished_at, IsoUtc(ManualClock::kStart + seconds(90)));
  EXPECT_EQ(TargetItems(), kItems);
}

TEST_F(JobRunnerTest, ARunThatKeepsFailingFailsWhenItsAttemptsAreSpent) {
  StartWithTargetDown(1000, 1, seconds(5));
  const std::string id = Submit();
  Await(id, [](const JobSnapshot& s) { return s.finished || s.next_attempt_at.has_value(); });
  clock_.Advance(seconds(5));
  JobSnapshot done = AwaitFinished(id);
  EXPECT_EQ(done.job.status, "failed");
  EXPECT_EQ(done.job.attempt, 2);
  EXPECT_EQ(done.job.max_attempts, 2);
  EXPECT_EQ(TargetItems(), 0);
}

TEST_F(JobRunnerTest, JobTimeoutOnTheClockStopsARunBetweenBatches) {
  // The source's fifth row is held at the gate: the run is in its second batch.
  FaultPlan plan(&gate_);
  plan.Add({.connection = "src", .call = Call::kNext, .nth = 5, .delay = milliseconds(1)});
  RunnerOptions options;
  options.job_timeout = std::chrono::hours(1);
  options.env.open_connector = plan.Factory();
  StartRunner(options);
  const std::string id = Submit();
  ASSERT_TRUE(gate_.AwaitEntered());

  clock_.Advance(std::chrono::hours(1));
  Await(id, [](const JobSnapshot& s) { return s.finished || s.stop_requested; });
  gate_.Open();
  JobSnapshot done = AwaitFinished(id);
  EXPECT_EQ(done.job.status, "timed_out") << done.job.message;
  EXPECT_LT(done.job.counts.inserted, kItems);
  EXPECT_EQ(TargetItems(), done.job.counts.inserted) << "what was written is kept";

  // The next run does the rest.
  JobSnapshot rest = AwaitFinished(Submit());
  EXPECT_EQ(rest.job.status, "succeeded") << rest.job.message;
  EXPECT_EQ(TargetItems(), kItems);
}

TEST_F(JobRunnerTest, AScheduleFiresOnTheClockAndATickDuringARunIsSkipped) {
  ASSERT_OK(catalog_->UpdatePipeline("items", Items("* * * * *")));
  // The first scheduled run is held at the gate while the next tick comes.
  FaultPlan plan(&gate_);
  plan.Add({.connection = "src", .call = Call::kNext, .nth = 1, .delay = milliseconds(1)});
  RunnerOptions options;
  options.env.open_connector = plan.Factory();
  clock_.Advance(seconds(30));  // 00:00:30
  StartRunner(options);
  StartScheduler();
  std::vector<ScheduleView> views = scheduler_->List();
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].next_at, IsoUtc(ManualClock::kStart + minutes(1)));

  clock_.Advance(seconds(30));  // 00:01:00, due
  ASSERT_TRUE(Eventually([&] { return Ticks("started") == 1; }));
  const std::string first = scheduler_->List()[0].last_job;
  EXPECT_EQ(scheduler_->List()[0].last_tick, IsoUtc(ManualClock::kStart + minutes(1)));
  ASSERT_TRUE(gate_.AwaitEntered());
  clock_.Advance(minutes(1));  // 00:02:00, while the first run is held
  ASSERT_TRUE(Eventually([&] { return Ticks("skipped") == 1; }));
  gate_.Open();
  JobSnapshot run = AwaitFinished(first);
  EXPECT_EQ(run.job.status, "succeeded") << run.job.message;
  EXPECT_EQ(run.job.trigger, "schedule");
  EXPECT_EQ(TargetItems(), kItems);

  clock_.Advance(minutes(1));  // 00:03:00
  ASSERT_TRUE(Eventually([&] { return Ticks("started") == 2; }));
  JobSnapshot second = AwaitFinished(scheduler_->List()[0].last_job);
  EXPECT_EQ(second.job.status, "succeeded") << second.job.message;
  EXPECT_GE(second.job.created_at, run.job.finished_at) << "never two at once";
  EXPECT_EQ(Ticks("skipped"), 1);
  EXPECT_EQ(Ticks("failed"), 0);
}

TEST_F(JobRunnerTest, TicksMissedWhileStoppedFireOnceAtStartAndATickNotDueDoesNot) {
  ASSERT_OK(catalog_->UpdatePipeline("items", Items("every 1h")));
  StartRunner({});
  StartScheduler();
  const ScheduleView before = scheduler_->List().at(0);
  EXPECT_EQ(before.next_at, IsoUtc(ManualClock::kStart + std::chrono::hours(1)));
  scheduler_.reset();

  // Restarted before the tick: nothing fires, and the schedule keeps its last tick.
  clock_.Advance(minutes(59));
  StartScheduler();
  const ScheduleView kept = scheduler_->List().at(0);
  EXPECT_EQ(kept.last_tick, before.last_tick);
  EXPECT_EQ(kept.next_at, before.next_at);
  scheduler_.reset();
  EXPECT_EQ(store_->ListJobs({})->size(), 0u);

  // Restarted three ticks later: one run for all of them.
  clock_.Advance(minutes(181));
  StartScheduler();
  ASSERT_TRUE(Eventually([&] { return Ticks("started") == 1; }));
  JobSnapshot run = AwaitFinished(scheduler_->List()[0].last_job);
  EXPECT_EQ(run.job.status, "succeeded") << run.job.message;
  EXPECT_EQ(scheduler_->List()[0].next_at, IsoUtc(ManualClock::kStart + std::chrono::hours(5)));
  EXPECT_EQ(Ticks("started"), 1);
}

TEST_F(JobRunnerTest, RunsFinishedLongerAgoThanCleanupAgeAreDeletedOnTheClock) {
  RunnerOptions options;
  options.cleanup_age = std::chrono::hours(1);
  StartRunner(options);
  const std::string old_run = Submit();
  ASSERT_EQ(AwaitFinished(old_run).job.status, "succeeded");
  clock_.Advance(minutes(30));  // a cleanup: the run is younger than cleanup_age
  const std::string new_run = Submit();
  ASSERT_EQ(AwaitFinished(new_run).job.status, "succeeded");

  clock_.Advance(minutes(45));  // the next cleanup: the first run is 75 minutes old
  ASSERT_TRUE(Eventually([&] { return !store_->GetJob(old_run)->has_value(); }));
  EXPECT_TRUE(store_->ListLogs(old_run, 0, 100)->empty()) << "its logs went with it";
  EXPECT_TRUE(store_->GetJob(new_run)->has_value());
  EXPECT_FALSE(store_->ListLogs(new_run, 0, 100)->empty());
}

TEST_F(JobRunnerTest, WhereIsCheckedOnASourceOpenedThroughTheFactory) {
  Result<std::shared_ptr<const Config>> config = catalog_->ConfigFor("items");
  ASSERT_OK(config);
  Result<SyncRequest> req =
      SyncRequestFor(**config, "items", "sync", {{"where", json::array({"price > 2"})}});
  ASSERT_OK(req);
  FaultPlan plan;
  EXPECT_OK(CheckWhere(**config, *req, plan.Factory()));
  EXPECT_EQ(plan.opened("src"), 1);

  // What the factory answers is what the check answers (a retryable failure is left to the run).
  auto refusing = [](const std::string& name,
                     const std::string&) -> Result<std::unique_ptr<Connector>> {
    return Status::PermissionDenied("connection " + name + ": not allowed (injected)");
  };
  ASSERT_CODE(CheckWhere(**config, *req, refusing), StatusCode::kPermissionDenied);
  auto unreachable = [](const std::string&,
                        const std::string&) -> Result<std::unique_ptr<Connector>> {
    return Status::Connection("connection refused (injected)");
  };
  EXPECT_OK(CheckWhere(**config, *req, unreachable));
}

}  // namespace
}  // namespace tether::testing
