// `tether track` on a SQLite, PostgreSQL and MariaDB source: install (twice), status with the
// waiting changes, prune up to what the pipeline consumed (and nothing before it has), and
// uninstall, which leaves the user's tables and data as they were. Quoted names (mixed case,
// spaces, a reserved word) work; an unknown entity or a missing table is named.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"
#include "state/state_store.h"
#include "track/change_log.h"
#include "util/test_database.h"

namespace tether::e2e {
namespace {

using ::tether::testing::AllEngines;
using ::tether::testing::PortableRows;
using ::tether::testing::PortableSql;
using ::tether::testing::TableNames;
using ::tether::testing::TestDatabase;

constexpr char kTrackCliEntities[] = R"(
entities:
  product: { table: Product Lines, key: id, keys: identity }
  order: { table: order, key: [no, shop], keys: identity }
pipelines:
  p: { source: src, target: dst, entities: [product, order] }
)";

class TrackCliTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TrackCliTest, InstallStatusPruneUninstall) {
  TestDatabase src(GetParam()), dst("sqlite");
  ASSERT_TRUE(src.ok() && dst.ok());
  const char quote = GetParam() == "mysql" ? '`' : '"';
  auto q = [quote](const std::string& name) { return quote + name + quote; };
  src.Exec(PortableSql(GetParam(), "CREATE TABLE " + q("Product Lines") +
                                       " (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE " +
                                       q("order") +
                                       " (no INTEGER NOT NULL, shop VARCHAR(20) NOT NULL, total "
                                       "INTEGER, PRIMARY KEY (no, shop))"));
  src.Exec("INSERT INTO " + q("Product Lines") + " VALUES (1, 'one')");
  TempDir dir;
  WriteFile(dir.File("tether.yaml"), "connections:\n  src: { url: \"" + src.url() +
                                         "\" }\n  dst: { url: \"" + dst.url() + "\" }\n" +
                                         kTrackCliEntities);
  auto tether = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"-c", dir.File("tether.yaml"), "track"});
    return Tether(args, dir.path().string());
  };

  CommandResult installed = tether({"install"});
  ASSERT_EQ(installed.exit_code, 0) << Show(installed);
  EXPECT_TRUE(Contains(installed.out, "tracking product (table Product Lines, key id)"))
      << installed.out;
  EXPECT_TRUE(Contains(installed.out, "tracking order (table order, key no, shop)"))
      << installed.out;
  ASSERT_EQ(tether({"install", "-e", "product"}).exit_code, 0);  // again: harmless

  // Writes by other programs (the test's own connection is marked as tether's: unmark it).
  std::string unmark = GetParam() == "postgres" ? "RESET tether.origin;\n"
                       : GetParam() == "mysql"  ? "SET @tether_origin = NULL;\n"
                                                : "";
  src.Exec(unmark + "INSERT INTO " + q("Product Lines") + " VALUES (2, 'two');\nUPDATE " +
           q("Product Lines") + " SET name = 'uno' WHERE id = 1;\nINSERT INTO " + q("order") +
           " VALUES (7, 'north', 10);\nDELETE FROM " + q("Product Lines") + " WHERE id = 2");
  CommandResult status = tether({"status"});
  ASSERT_EQ(status.exit_code, 0) << Show(status);
  EXPECT_TRUE(Contains(status.out, "product  Product Lines  id")) << status.out;
  EXPECT_TRUE(Contains(status.out, "no, shop")) << status.out;

  // Nothing consumed yet: nothing pruned.
  CommandResult kept = tether({"prune"});
  ASSERT_EQ(kept.exit_code, 0) << Show(kept);
  EXPECT_TRUE(Contains(kept.out, "kept every change")) << kept.out;
  // The pipeline consumed product's first two changes (seq 1, 2); order's change is seq 3.
  auto src_conn = src.Open("src");
  ASSERT_NE(src_conn, nullptr);
  ChangeLog log(src_conn.get());
  auto changes = log.Read("product", 0, 10);
  ASSERT_OK(changes);
  ASSERT_EQ(changes->size(), 3u);
  auto consumed = [&](const std::string& entity, int64_t seq) {
    auto dst_conn = dst.Open("dst");
    ASSERT_NE(dst_conn, nullptr);
    StateStore state(dst_conn.get());
    ASSERT_OK(state.EnsureSchema());
    Checkpoint cp;
    cp.mode = kChangesMode;
    cp.position = std::to_string(seq);
    ASSERT_OK(state.PutCheckpoint("p", entity, cp));
  };
  consumed("product", (*changes)[1].seq);
  CommandResult waiting = tether({"prune"});
  ASSERT_EQ(waiting.exit_code, 0) << Show(waiting);
  EXPECT_TRUE(Contains(waiting.out, "pipeline p has not read the changes of order yet"))
      << waiting.out;
  consumed("order", (*changes)[2].seq);  // past product's position: product's is the lower
  CommandResult pruned = tether({"prune"});
  ASSERT_EQ(pruned.exit_code, 0) << Show(pruned);
  EXPECT_TRUE(Contains(pruned.out, "pruned 2 changes up to seq")) << pruned.out;
  auto left = log.Read("product", 0, 10);
  ASSERT_OK(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].op, 'D');

  CommandResult removed = tether({"uninstall"});
  ASSERT_EQ(removed.exit_code, 0) << Show(removed);
  for (const std::string& t : TableNames(src)) {
    EXPECT_EQ(t.rfind("tether_", 0), std::string::npos) << t;
  }
  src.Exec("INSERT INTO " + q("Product Lines") + " VALUES (3, 'three')");
  EXPECT_EQ(PortableRows(src, "SELECT id, name FROM " + q("Product Lines") + " ORDER BY id"),
            (std::vector<std::string>{"1|uno", "3|three"}));
  EXPECT_EQ(PortableRows(src, "SELECT no, shop, total FROM " + q("order")),
            std::vector<std::string>{"7|north|10"});
}

TEST_P(TrackCliTest, BadInputIsNamed) {
  TestDatabase src(GetParam()), dst("sqlite");
  ASSERT_TRUE(src.ok() && dst.ok());
  TempDir dir;
  WriteFile(dir.File("tether.yaml"), "connections:\n  src: { url: \"" + src.url() +
                                         "\" }\n  dst: { url: \"" + dst.url() + "\" }\n" +
                                         kTrackCliEntities);
  CommandResult unknown = Tether({"-c", dir.File("tether.yaml"), "track", "install", "-e", "nope"},
                                 dir.path().string());
  EXPECT_EQ(unknown.exit_code, 2) << Show(unknown);
  EXPECT_TRUE(Contains(unknown.err, "--entity nope: not an entity of pipeline 'p'")) << unknown.err;
  CommandResult missing =
      Tether({"-c", dir.File("tether.yaml"), "track", "install"}, dir.path().string());
  EXPECT_NE(missing.exit_code, 0) << Show(missing);
  EXPECT_TRUE(Contains(missing.err, "table 'Product Lines' does not exist")) << missing.err;
  EXPECT_TRUE(Contains(missing.err, "connection 'src'")) << missing.err;
  EXPECT_TRUE(TableNames(src).empty());  // nothing half-installed
}

TEST_P(TrackCliTest, SyncChangesMarkSyncedAndWatch) {
  TestDatabase src(GetParam()), dst("sqlite");
  ASSERT_TRUE(src.ok() && dst.ok());
  const char quote = GetParam() == "mysql" ? '`' : '"';
  auto q = [quote](const std::string& name) { return quote + name + quote; };
  const std::string ddl = "CREATE TABLE " + q("Product Lines") +
                          " (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE " + q("order") +
                          " (no INTEGER NOT NULL, shop VARCHAR(20) NOT NULL, total INTEGER, "
                          "PRIMARY KEY (no, shop))";
  src.Exec(PortableSql(GetParam(), ddl));
  dst.Exec(PortableSql("sqlite", ddl));
  src.Exec("INSERT INTO " + q("Product Lines") + " VALUES (1, 'one'), (2, 'two')");
  TempDir dir;
  WriteFile(dir.File("tether.yaml"), "connections:\n  src: { url: \"" + src.url() +
                                         "\" }\n  dst: { url: \"" + dst.url() + "\" }\n" +
                                         kTrackCliEntities);
  const std::string config = dir.File("tether.yaml");
  ASSERT_EQ(Tether({"-c", config, "track", "install"}, dir.path().string()).exit_code, 0);

  CommandResult usage = Tether({"-c", config, "sync", "--mark-synced"}, dir.path().string());
  EXPECT_EQ(usage.exit_code, 2) << Show(usage);
  EXPECT_TRUE(Contains(usage.err, "--mark-synced needs --changes")) << usage.err;

  CommandResult first =
      Tether({"-c", config, "sync", "--changes", "--mark-synced"}, dir.path().string());
  ASSERT_EQ(first.exit_code, 0) << Show(first);
  src.Exec("UPDATE " + q("Product Lines") + " SET name = 'uno' WHERE id = 1;\nINSERT INTO " +
           q("order") + " VALUES (7, 'north', 10)");
  CommandResult second =
      Tether({"-c", config, "sync", "--changes", "--mark-synced"}, dir.path().string());
  ASSERT_EQ(second.exit_code, 0) << Show(second);
  EXPECT_TRUE(Contains(second.out, "pruned ")) << second.out;
  EXPECT_EQ(PortableRows(dst, "SELECT id, name FROM \"Product Lines\" ORDER BY id"),
            (std::vector<std::string>{"1|uno", "2|two"}));
  EXPECT_EQ(PortableRows(dst, "SELECT no, shop, total FROM \"order\""),
            std::vector<std::string>{"7|north|10"});

  // --watch picks up a change by itself and stops cleanly on SIGINT between passes.
  pid_t pid =
      ::tether::testing::StartTether({"-q", "-c", config, "sync", "--watch", "--interval", "200ms"},
                                     dir.path().string(), -1, -1, {"TETHER_CONFIG="});
  ASSERT_GT(pid, 0);
  src.Exec("UPDATE " + q("Product Lines") + " SET name = 'dos' WHERE id = 2");
  std::vector<std::string> want = {"1|uno", "2|dos"};
  for (int i = 0; i < 100; ++i) {
    if (PortableRows(dst, "SELECT id, name FROM \"Product Lines\" ORDER BY id") == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(PortableRows(dst, "SELECT id, name FROM \"Product Lines\" ORDER BY id"), want);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_TRUE(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 130) << WEXITSTATUS(status);
}

INSTANTIATE_TEST_SUITE_P(Engines, TrackCliTest, ::testing::ValuesIn(AllEngines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tether::e2e
