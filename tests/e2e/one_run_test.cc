// One run per pipeline, across processes, on every target engine: a second `tether sync` while a
// run holds the pipeline exits 4 naming it; a SIGKILLed run frees the pipeline, and `--wait`
// then takes it over; the target ends with each record once.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "serve_util.h"
#include "util/test_database.h"

namespace tether::e2e {
namespace {

using ::tether::testing::AllEngines;
using ::tether::testing::OpenSqlite;
using ::tether::testing::PortableRows;
using ::tether::testing::PortableSql;
using ::tether::testing::TestDatabase;

constexpr int kOneRunConnection = 4;

// Waits until another session holds `pipeline` (polling its lock through `probe`); false when
// none has within 30 s.
bool HeldElsewhere(Connector* probe, const std::string& pipeline) {
  const std::string lock = "pipeline:" + pipeline;
  for (int i = 0; i < 600; ++i) {
    Result<bool> mine = probe->TryLock(lock);
    if (mine.ok() && !*mine) return true;
    if (mine.ok()) (void)probe->ReleaseLock(lock);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class OneRunCliTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(src_.ok() && dst_.ok());
    std::string rows;
    for (int i = 1; i <= 40; ++i) {
      rows += (i > 1 ? "," : "") + std::string("(") + std::to_string(i) + ", 'SKU-" +
              std::to_string(i) + "')";
    }
    src_.Exec(
        "CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT NOT NULL);"
        "INSERT INTO product VALUES " +
        rows);
    dst_.Exec(PortableSql(GetParam(), "CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT)"));
    // A SQLite target waits (a while) for its write lock, so that a run can be caught holding its
    // pipeline.
    const std::string dst_url =
        dst_.url() + (GetParam() == "sqlite" ? "&busy_timeout_ms=60000" : "");
    WriteFile(dir_.File("tether.yaml"),
              "connections:\n  shop: { url: \"" + src_.url() + "\" }\n  copy: { url: \"" + dst_url +
                  "\" }\nentities:\n  product: { table: product, match: [sku] }\n"
                  "pipelines:\n  shop-to-copy: { source: shop, target: copy, entities: "
                  "[product], batch_size: 7 }\n");
  }

  // Holds the target's product table from another session, so that a run stops at its first
  // read or write of it — after it has taken its pipeline.
  std::unique_ptr<Connector> HoldTarget() {
    std::unique_ptr<Connector> holder = dst_.Open("holder");
    if (!holder) return nullptr;
    Status st;
    if (GetParam() == "sqlite") {
      st = holder->Begin();  // BEGIN IMMEDIATE: readers go on, writers wait
    } else if (GetParam() == "postgres") {
      st = holder->Begin();
      if (st.ok()) st = holder->ExecuteScript("LOCK TABLE product IN ACCESS EXCLUSIVE MODE");
    } else {
      st = holder->ExecuteScript("LOCK TABLES product WRITE");
    }
    EXPECT_TRUE(st.ok()) << st.ToString();
    return st.ok() ? std::move(holder) : nullptr;
  }

  CommandResult Sync(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"sync"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Tether(args, dir_.path().string());
  }

  bool HeldElsewhere() {
    std::unique_ptr<Connector> probe = dst_.Open("probe");
    return probe && ::tether::e2e::HeldElsewhere(probe.get(), "shop-to-copy");
  }

  TempDir dir_;
  TestDatabase src_{"sqlite"};
  TestDatabase dst_{GetParam()};
};

TEST_P(OneRunCliTest, ASecondRunIsRefusedAndAKilledRunFreesThePipeline) {
  // The first run takes the pipeline, then waits for the target, which this test holds.
  std::unique_ptr<Connector> holder = HoldTarget();
  ASSERT_TRUE(holder);
  const pid_t first = ::tether::testing::StartTether({"sync", "--wait", "1m"}, dir_.path().string(),
                                                     -1, -1, {"TETHER_CONFIG="});
  ASSERT_GT(first, 0);
  const bool held = HeldElsewhere();
  CommandResult second = held ? Sync() : CommandResult{};
  kill(first, SIGKILL);
  int status = 0;
  waitpid(first, &status, 0);
  holder.reset();
  ASSERT_TRUE(held) << "the first run never took its pipeline";
  EXPECT_EQ(second.exit_code, kOneRunConnection) << Show(second);
  EXPECT_TRUE(Contains(second.err, "'shop-to-copy'")) << Show(second);
  EXPECT_EQ(PortableRows(dst_, "SELECT count(*) FROM product"), std::vector<std::string>{"0"});

  // The killed run's session is gone (a server notices in its own time: --wait covers that).
  CommandResult third = Sync({"--wait", "30s"});
  ASSERT_EQ(third.exit_code, 0) << Show(third);
  EXPECT_EQ(PortableRows(dst_, "SELECT count(*), count(DISTINCT sku) FROM product"),
            std::vector<std::string>{"40|40"});
  CommandResult again = Sync();
  ASSERT_EQ(again.exit_code, 0) << Show(again);
  EXPECT_EQ(PortableRows(dst_, "SELECT count(*) FROM product"), std::vector<std::string>{"40"});
}

INSTANTIATE_TEST_SUITE_P(Targets, OneRunCliTest, ::testing::ValuesIn(AllEngines()));

// A cron `tether sync` and `tether serve` running the same pipeline: whichever comes second
// does not run beside the first — a server job waits for the pipeline, a CLI run is refused —
// and both end cleanly.
TEST(OneRunServeTest, ACronSyncAndAServerJobOfOnePipelineTakeTurns) {
  TempDir tmp;
  const std::string dir = tmp.path().string();
  SqliteExec(dir + "/src.db",
             "CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
             "INSERT INTO item VALUES (1, 'a'), (2, 'b'), (3, 'c');");
  SqliteExec(dir + "/dst.db", "CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL);");
  WriteFile(
      dir + "/tether.yaml",
      "connections:\n  src: \"sqlite:src.db\"\n  dst: \"sqlite:dst.db?busy_timeout_ms=60000\"\n"
      "entities:\n  item: { table: item, keys: identity }\n"
      "pipelines:\n  items: { source: src, target: dst, entities: [item] }\n");
  ServeProcess s(dir, {"-c", "tether.yaml"});
  ASSERT_TRUE(s.Start());

  // 1. A CLI run holds the pipeline (here: its lock, taken by this test): the job waits for it.
  std::unique_ptr<Connector> cron = OpenSqlite(dir + "/dst.db", "cron");
  Result<bool> taken = cron->TryLock("pipeline:items");
  ASSERT_TRUE(taken.ok() && *taken);
  Reply started = s.Post("/api/pipelines/items/runs", nlohmann::json::object());
  ASSERT_EQ(started.status, 202) << started.text;
  const std::string id = started.body.value("id", "");
  bool waiting = false;
  for (int i = 0; i < 600 && !waiting; ++i) {
    const Reply logs = s.Get("/api/runs/" + id + "/logs");
    for (const nlohmann::json& l : logs.body["logs"]) {
      waiting = waiting || Contains(l.value("text", ""), "waiting for it");
    }
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(waiting) << s.Get("/api/runs/" + id + "/logs").text;
  EXPECT_EQ(SqliteRows(dir + "/dst.db", "SELECT count(*) FROM item"),
            std::vector<std::string>{"0"});
  ASSERT_OK(cron->ReleaseLock("pipeline:items"));
  nlohmann::json run = s.WaitFinished(id);
  EXPECT_EQ(run["status"], "succeeded") << run.dump();
  EXPECT_EQ(run["attempt"], 1) << "waited, not failed and retried: " << run.dump();

  // 2. A server job holds the pipeline (stopped at the target, which this test holds): a CLI
  // run is refused at once, and the job then finishes.
  SqliteExec(dir + "/src.db", "UPDATE item SET name = 'B' WHERE id = 2");
  std::unique_ptr<Connector> writer = OpenSqlite(dir + "/dst.db", "writer");
  ASSERT_OK(writer->Begin());
  const std::string id2 =
      s.Post("/api/pipelines/items/runs", nlohmann::json::object()).body.value("id", "");
  std::unique_ptr<Connector> probe = OpenSqlite(dir + "/dst.db", "probe");
  const bool held = HeldElsewhere(probe.get(), "items");
  CommandResult cli = Tether({"sync"}, dir);
  ASSERT_OK(writer->Rollback());
  ASSERT_TRUE(held) << "the job never took its pipeline";
  EXPECT_EQ(cli.exit_code, kOneRunConnection) << Show(cli);
  EXPECT_TRUE(Contains(cli.err, "'items'")) << Show(cli);
  nlohmann::json run2 = s.WaitFinished(id2);
  EXPECT_EQ(run2["status"], "succeeded") << run2.dump();
  EXPECT_EQ(SqliteRows(dir + "/dst.db", "SELECT * FROM item ORDER BY id"),
            SqliteRows(dir + "/src.db", "SELECT * FROM item ORDER BY id"));
}

}  // namespace
}  // namespace tether::e2e
