// Runs that lose a connection, or meet a deadlock or a refused commit, part way, through a
// FaultConnector around the real connectors: with SyncRequest::retries they connect again and
// go on from the last checkpoint, writing nothing twice; a permanent error is not retried; when
// the retries run out the run fails and a rerun finishes it.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "util/engine_fixture.h"
#include "util/fault_connector.h"
#include "util/manual_clock.h"

namespace tether::testing {
namespace {

using std::chrono::milliseconds;

constexpr char kDdl[] = R"(
  CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT);
  CREATE TABLE sales_order (id INTEGER PRIMARY KEY, increment_id TEXT NOT NULL UNIQUE,
                            customer_id INTEGER REFERENCES customer(id), total INTEGER);
  CREATE TABLE price (sku TEXT PRIMARY KEY, amount INTEGER);
)";

// customer and order are mapped (links pair them, each batch in its own transaction); price
// keeps its keys and has no references (bulk chunks).
constexpr char kEntities[] = R"(
entities:
  customer: { table: customer, match: [email] }
  order:
    table: sales_order
    match: [increment_id]
    references: { customer_id: customer }
  price: { table: price, key: sku, keys: identity }
)";

constexpr int kRows = 10;  // of each entity, in batches of 3

class RetryTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Both(kDdl);
    Configure(std::string(kEntities) + Pipeline("order, customer, price", "    batch_size: 3\n"));
    std::string sql;
    for (int i = 1; i <= kRows; ++i) {
      const std::string id = std::to_string(i);
      sql += "INSERT INTO customer VALUES (" + id + ", 'c" + id + "@x.io', 'C" + id + "');\n" +
             "INSERT INTO sales_order VALUES (" + id + ", 'O-" + id + "', " + id + ", " + id +
             ");\nINSERT INTO price VALUES ('SKU-" + id + "', " + id + ");\n";
    }
    Source(sql);
  }

  // A run through `plan` on the test clock, with `retries`.
  Result<SyncReport> SyncThrough(FaultPlan& plan, int retries) {
    SyncRequest req;
    req.retries = retries;
    req.retry_delay = milliseconds(100);
    req.bulk_chunk_time = milliseconds(0);
    req.env.open_connector = plan.Factory();
    req.env.clock = &clock_;
    return Sync(req);
  }

  // A run that ended with its target connection lost leaves the session to its server, which
  // ends it, and lets go of the pipeline's lock, once it notices; a run started at once in this
  // same (live) process would be refused as a second run. Waits for that, on the real clock.
  void AwaitPipelineFree() {
    auto conn = OpenConnector("dst", dst_db_->url());
    ASSERT_OK(conn);
    for (int i = 0; i < 1000; ++i) {
      Result<bool> got = (*conn)->TryLock("pipeline:p");
      ASSERT_OK(got);
      if (*got) {
        ASSERT_OK((*conn)->ReleaseLock("pipeline:p"));
        return;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    FAIL() << "the lost session still holds the pipeline's lock after 10 s";
  }

  static constexpr char kOrders[] =
      "SELECT o.increment_id, c.email, o.total FROM sales_order o "
      "JOIN customer c ON c.id = o.customer_id ORDER BY 1";

  // The target holds exactly the source's records, each once.
  void ExpectTargetEqualsSource() {
    EXPECT_EQ(Dst(kOrders), Src(kOrders));
    EXPECT_EQ(Dst("SELECT email, name FROM customer ORDER BY 1"),
              Src("SELECT email, name FROM customer ORDER BY 1"));
    EXPECT_EQ(Dst("SELECT sku, amount FROM price ORDER BY 1"),
              Src("SELECT sku, amount FROM price ORDER BY 1"));
  }

  // Every record written once, and reported once.
  void ExpectWrittenOnce(const SyncReport& report) {
    for (const char* entity : {"customer", "order", "price"}) {
      EXPECT_EQ(CountsOf(report, entity).inserted, kRows) << entity;
      EXPECT_EQ(CountsOf(report, entity).failed, 0) << entity;
      EXPECT_EQ(Records(entity, Action::kInsert).size(), static_cast<size_t>(kRows)) << entity;
    }
  }

  // Runs through `plan` with 3 retries and expects the run to win back after one: `fired`
  // rules fired, the target equal to the source, every record written and reported once.
  Result<SyncReport> SyncRecovers(FaultPlan& plan, int fired = 1) {
    auto report = SyncThrough(plan, 3);
    EXPECT_OK(report);
    if (!report.ok()) return report;
    EXPECT_EQ(plan.fired(), fired);
    EXPECT_EQ(report->retries, 1);
    EXPECT_EQ(report->run.status, "succeeded");
    ExpectTargetEqualsSource();
    ExpectWrittenOnce(*report);
    return report;
  }

  ManualClock clock_;
};

TEST_P(RetryTest, ATargetConnectionLostMidCopyIsOpenedAgainAndTheRunGoesOn) {
  FaultPlan plan;
  plan.Add({.connection = "dst", .call = Call::kInsert, .nth = 2, .drop = true});
  auto report = SyncRecovers(plan);
  ASSERT_OK(report);
  EXPECT_GE(plan.opened("dst"), 2);
  EXPECT_EQ(clock_.waits().front(), milliseconds(100));
  // The run row says how many retries it used.
  State state = OpenState();
  auto run = state->GetRun(report->run.run_id);
  ASSERT_OK(run);
  ASSERT_TRUE(run->has_value());
  EXPECT_EQ((*run)->status, "succeeded");
  EXPECT_TRUE(Contains((*run)->options, "\"retried\":1")) << (*run)->options;
}

TEST_P(RetryTest, ASourceConnectionLostMidScanIsOpenedAgainAndTheRunGoesOn) {
  FaultPlan plan;
  plan.Add({.connection = "src", .call = Call::kNext, .nth = 8, .drop = true});
  EXPECT_OK(SyncRecovers(plan));
}

TEST_P(RetryTest, ABulkChunkLostPartWayIsRolledBackAndWrittenOnce) {
  FaultPlan plan;
  // The first chunk reaches the target with one row of its first batch, then the connection goes.
  plan.Add({.connection = "dst", .call = Call::kBulkAdd, .nth = 1, .drop = true, .at_row = 2});
  EXPECT_OK(SyncRecovers(plan));
}

TEST_P(RetryTest, ALostSessionItsServerStillHoldsIsWaitedForNotTakenForAnotherRun) {
  // The server keeps the lost session, and with it the pipeline's lock, for a while after the
  // run has connected again: the run waits for it, and it costs no second retry.
  FaultPlan plan;
  plan.Add({.connection = "dst",
            .call = Call::kInsert,
            .nth = 2,
            .drop = true,
            .linger = milliseconds(300)});
  EXPECT_OK(SyncRecovers(plan));
}

TEST_P(RetryTest, ABatchThatFailsPartWayLeavesNothingHalfWritten) {
  // The second customer batch reaches the target with its first row, then the connection goes.
  FaultPlan plan;
  plan.Add({.connection = "dst", .call = Call::kInsert, .nth = 2, .drop = true, .at_row = 2});
  ASSERT_CODE(SyncThrough(plan, 0), StatusCode::kConnection);
  ASSERT_NO_FATAL_FAILURE(AwaitPipelineFree());
  EXPECT_EQ(plan.fired(), 1);
  EXPECT_EQ(plan.opened("dst"), 1);  // no retry
  EXPECT_EQ(Dst("SELECT email FROM customer ORDER BY id"),
            (std::vector<std::string>{"c1@x.io", "c2@x.io", "c3@x.io"}));  // the first batch
  // With retries the same fault costs one.
  Target("DELETE FROM customer");
  DropState();
  FaultPlan again;
  again.Add({.connection = "dst", .call = Call::kInsert, .nth = 2, .drop = true, .at_row = 2});
  EXPECT_OK(SyncRecovers(again));
}

TEST_P(RetryTest, ARefusedCommitWritesNothingAndIsTriedAgain) {
  // A serialization failure at commit: tried again on the same connection.
  FaultPlan plan;
  plan.Add({.connection = "dst",
            .call = Call::kCommit,
            .nth = 2,
            .status = Status::TryAgain("could not serialize access (injected)")});
  // A lost connection at commit: the run connects again.
  plan.Add({.connection = "dst", .call = Call::kCommit, .nth = 5, .drop = true});
  EXPECT_OK(SyncRecovers(plan, 2));
}

TEST_P(RetryTest, APermanentErrorIsNotRetried) {
  FaultPlan plan;
  plan.Add({.connection = "dst",
            .call = Call::kInsert,
            .nth = 2,
            .status = Status::PermissionDenied("INSERT denied (injected)")});
  ASSERT_CODE(SyncThrough(plan, 3), StatusCode::kPermissionDenied);
  EXPECT_EQ(plan.opened("dst"), 1);
  EXPECT_TRUE(clock_.waits().empty());
}

TEST_P(RetryTest, WhenRetriesRunOutTheRunFailsWithTheLastErrorAndARerunFinishes) {
  FaultPlan plan;
  for (int nth : {2, 3, 4}) {
    plan.Add({.connection = "dst",
              .call = Call::kInsert,
              .nth = nth,
              .status = Status::Connection("connection lost (injected fault " +
                                           std::to_string(nth) + ")"),
              .drop = true});
  }
  auto failed = SyncThrough(plan, 2);
  ASSERT_CODE(failed, StatusCode::kConnection);
  EXPECT_TRUE(Contains(failed.status().message(), "fault 4")) << failed.status().ToString();
  EXPECT_EQ(plan.fired(), 3);
  EXPECT_EQ(plan.opened("dst"), 3);
  EXPECT_EQ(clock_.waits(), (std::vector<milliseconds>{milliseconds(100), milliseconds(200)}));
  const std::vector<std::string> kept = Dst("SELECT email FROM customer ORDER BY id");
  EXPECT_EQ(kept.size(), 3u);  // the batch committed before the first fault
  // The checkpoint lets a rerun go on from there.
  ASSERT_NO_FATAL_FAILURE(AwaitPipelineFree());
  auto rerun = Sync();
  ASSERT_OK(rerun);
  EXPECT_TRUE(rerun->resumed);
  EXPECT_EQ(CountsOf(*rerun, "customer").inserted, kRows - 3);
  ExpectTargetEqualsSource();
}

TEST_P(RetryTest, ATargetThatCannotBeReachedAgainEndsTheRunWithThatError) {
  FaultPlan plan;
  plan.Add({.connection = "dst", .call = Call::kInsert, .nth = 2, .drop = true});
  SyncRequest req;
  req.retries = 3;
  req.env.clock = &clock_;
  int opens = 0;
  req.env.open_connector = [&, faulty = plan.Factory()](const std::string& name,
                                                        const std::string& url) {
    if (name == "dst" && ++opens > 1) {
      return Result<std::unique_ptr<Connector>>(Status::PermissionDenied("dst refused (injected)"));
    }
    return faulty(name, url);
  };
  ASSERT_CODE(Sync(req), StatusCode::kPermissionDenied);
  EXPECT_EQ(clock_.waits().size(), 1u);
  EXPECT_EQ(Dst("SELECT email FROM customer ORDER BY id").size(), 3u);  // the first batch
}

TETHER_ALL_PAIRS(RetryTest);

}  // namespace
}  // namespace tether::testing
