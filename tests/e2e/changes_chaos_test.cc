// Chaos for incremental sync: while a writer keeps inserting, updating and deleting on the
// source (its own connection, one small transaction per operation), `tether sync --watch` runs
// and is SIGKILLed and restarted at random moments, at least 20 times. After the writer stops,
// one final `sync --changes` pass must leave the target equal to the source row for row — a
// change applied twice or lost would leave a wrong or missing row.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "e2e_util.h"
#include "track/change_log.h"
#include "util/test_database.h"

namespace tether::e2e {
namespace {

using ::tether::testing::PortableRows;
using ::tether::testing::PortableSql;
using ::tether::testing::TestDatabase;

struct ChaosPair {
  std::string source, target;
};

class ChangesChaosTest : public ::testing::TestWithParam<ChaosPair> {};

constexpr char kChangesChaosEntities[] = R"(
entities:
  item: { table: item, key: id, keys: identity, delete: propagate }
  stock: { table: stock, key: [item_id, store], keys: identity, delete: propagate }
pipelines:
  p: { source: src, target: dst, entities: [item, stock], batch_size: 50 }
)";

constexpr char kChangesChaosItems[] = "SELECT id, name, qty FROM item ORDER BY id";
constexpr char kStock[] = "SELECT item_id, store, qty FROM stock ORDER BY item_id, store";

// Random single-row operations until `stop`, each in its own transaction. Returns how many.
int64_t Write(const TestDatabase& db, const std::atomic<bool>& stop, uint32_t seed) {
  auto conn = db.Open("writer");
  if (!conn) return 0;
  std::mt19937 rng(seed);
  int64_t next_id = 1001, ops = 0;
  std::vector<int64_t> ids;
  for (int64_t i = 1; i <= 200; ++i) ids.push_back(i);
  const char* stores[] = {"north", "south"};
  while (!stop.load()) {
    Status st = conn->Begin();
    const int op = static_cast<int>(rng() % 10);
    if (st.ok() && (op < 3 || ids.empty())) {
      const int64_t id = next_id++;
      st = conn->Insert("item", {"id", "name", "qty"},
                        {{Value::Int(id), Value::Text("new " + std::to_string(id)),
                          Value::Int(static_cast<int64_t>(rng() % 100))}},
                        {})
               .status();
      if (st.ok()) {
        st = conn->Insert("stock", {"item_id", "store", "qty"},
                          {{Value::Int(id), Value::Text(stores[rng() % 2]), Value::Int(1)}}, {})
                 .status();
      }
      ids.push_back(id);
    } else if (st.ok() && op < 8) {
      const int64_t id = ids[rng() % ids.size()];
      st = conn->Update("item", {"id"}, {"qty", "name"},
                        {{Value::Int(static_cast<int64_t>(rng() % 1000)),
                          Value::Text("v" + std::to_string(ops)), Value::Int(id)}});
      if (st.ok()) {
        st = conn->Upsert("stock", {"item_id", "store", "qty"}, {"item_id", "store"},
                          {{Value::Int(id), Value::Text(stores[rng() % 2]),
                            Value::Int(static_cast<int64_t>(rng() % 50))}});
      }
    } else if (st.ok()) {
      const size_t at = rng() % ids.size();
      const int64_t id = ids[at];
      ids.erase(ids.begin() + static_cast<long>(at));
      st = conn->Delete("stock", {"item_id"}, {{Value::Int(id)}});
      if (st.ok()) st = conn->Delete("item", {"id"}, {{Value::Int(id)}});
    }
    if (st.ok()) st = conn->Commit();
    if (!st.ok()) {
      (void)conn->Rollback();
      ADD_FAILURE() << "writer: " << st.ToString();
      return ops;
    }
    ++ops;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return ops;
}

TEST_P(ChangesChaosTest, KilledWatchersLeaveTheTargetEqualToTheSource) {
  TestDatabase src(GetParam().source), dst(GetParam().target);
  ASSERT_TRUE(src.ok() && dst.ok());
  const std::string ddl =
      "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER);\n"
      "CREATE TABLE stock (item_id INTEGER NOT NULL, store VARCHAR(20) NOT NULL, qty INTEGER, "
      "PRIMARY KEY (item_id, store))";
  src.Exec(PortableSql(GetParam().source, ddl));
  dst.Exec(PortableSql(GetParam().target, ddl));
  std::string rows, stock;
  for (int i = 1; i <= 200; ++i) {
    rows += std::string(i > 1 ? "," : "") + "(" + std::to_string(i) + ", 'item " +
            std::to_string(i) + "', " + std::to_string(i % 17) + ")";
    stock += std::string(i > 1 ? "," : "") + "(" + std::to_string(i) + ", 'north', " +
             std::to_string(i % 5) + ")";
  }
  src.Exec("INSERT INTO item VALUES " + rows + ";\nINSERT INTO stock VALUES " + stock);
  {
    auto conn = src.Open("src");
    ASSERT_NE(conn, nullptr);
    ChangeLog log(conn.get());
    ASSERT_OK(log.Install({{"item", "item", {"id"}}, {"stock", "stock", {"item_id", "store"}}}));
  }
  TempDir dir;
  WriteFile(dir.File("tether.yaml"), "connections:\n  src: { url: \"" + src.url() +
                                         "\" }\n  dst: { url: \"" + dst.url() + "\" }\n" +
                                         kChangesChaosEntities);

  std::atomic<bool> stop{false};
  int64_t ops = 0;
  std::thread writer([&] { ops = Write(src, stop, 20261130); });
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> delay_ms(100, 900);
  int kills = 0;
  while (kills < 24) {
    pid_t pid = ::tether::testing::StartTether(
        {"-q", "-c", dir.File("tether.yaml"), "sync", "--watch", "--interval", "100ms"},
        dir.path().string(), -1, -1, {"TETHER_CONFIG="});
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      ADD_FAILURE() << "the watcher ended by itself (exit " << WEXITSTATUS(status) << ")";
      break;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ++kills;
  }
  stop = true;
  writer.join();
  EXPECT_GE(kills, 20);
  EXPECT_GT(ops, 100) << "the writer hardly wrote";

  // The watchers did the work (the final pass only catches up).
  EXPECT_NE(PortableRows(dst, "SELECT count(*) FROM item"), std::vector<std::string>{"0"});
  // Changes younger than the settle time may hold the position back; the pass applies them
  // anyway, so one pass is enough.
  CommandResult last =
      Tether({"-q", "-c", dir.File("tether.yaml"), "sync", "--changes"}, dir.path().string());
  ASSERT_EQ(last.exit_code, 0) << Show(last);
  EXPECT_EQ(PortableRows(dst, kChangesChaosItems), PortableRows(src, kChangesChaosItems));
  EXPECT_EQ(PortableRows(dst, kStock), PortableRows(src, kStock));
  EXPECT_EQ(PortableRows(dst, "SELECT count(*) FROM tether_runs WHERE status = 'running'"),
            std::vector<std::string>{"0"});
}

INSTANTIATE_TEST_SUITE_P(Pairs, ChangesChaosTest,
                         ::testing::Values(ChaosPair{"postgres", "mysql"},
                                           ChaosPair{"mysql", "postgres"},
                                           ChaosPair{"sqlite", "sqlite"}),
                         [](const auto& info) {
                           return info.param.source + "_to_" + info.param.target;
                         });

}  // namespace
}  // namespace tether::e2e
