// A real server restart in the middle of a sync: `tether sync` connects again by itself
// (--retries) and finishes, every row written once. The test runs its own PostgreSQL instance
// (initdb + pg_ctl, a few seconds), never the shared test server other tests use.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "connectors/connector.h"
#include "e2e_util.h"

namespace tether::e2e {
namespace {

// The newest PostgreSQL server programs, or "" when none is installed.
std::string PgBin() {
  std::string best;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string bin = e.path().string() + "/bin";
    if (std::filesystem::exists(bin + "/pg_ctl") && bin > best) best = bin;
  }
  return best;
}

// Runs a shell command line (as the postgres user when we are root, which PostgreSQL needs).
int Shell(const std::string& line) {
  const std::string cmd =
      getuid() == 0 ? "runuser -u postgres -- sh -c '" + line + "'" : "sh -c '" + line + "'";
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

// A PostgreSQL instance of its own in a temporary folder, stopped and removed at the end.
class OwnPostgres {
 public:
  OwnPostgres() {
    bin_ = PgBin();
    if (bin_.empty()) return;
    data_ = dir_.File("pg");
    std::filesystem::create_directories(data_);
    WriteFile(dir_.File("pw"), "restart-test\n");
    if (getuid() == 0) {
      (void)Shell("true");
      (void)std::system(("chown -R postgres: " + dir_.path().string()).c_str());
    }
    port_ = 20000 + static_cast<int>(getpid() % 20000);
    if (Shell(bin_ + "/initdb -D " + data_ + " -U tether --pwfile=" + dir_.File("pw") +
              " --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8") != 0) {
      bin_.clear();
      return;
    }
    if (!Ctl("start")) bin_.clear();
  }
  ~OwnPostgres() {
    if (!bin_.empty()) (void)Shell(bin_ + "/pg_ctl -D " + data_ + " -m immediate -w stop");
  }
  bool ok() const { return !bin_.empty(); }
  std::string url() const {
    return "postgres://tether:restart-test@127.0.0.1:" + std::to_string(port_) + "/postgres";
  }
  // pg_ctl start | restart, waiting until the server accepts connections.
  bool Ctl(const std::string& what) {
    return Shell(bin_ + "/pg_ctl -D " + data_ + " -l " + data_ + "/server.log -w -t 60 -m fast " +
                 what + " -o \"-p " + std::to_string(port_) + " -k " + data_ +
                 " -c listen_addresses=127.0.0.1 -c fsync=off\"") == 0;
  }

 private:
  TempDir dir_;
  std::string bin_, data_;
  int port_ = 0;
};

int64_t CountRows(const std::string& url, const std::string& sql) {
  auto conn = OpenConnector("dst", url);
  if (!conn.ok()) return -1;
  auto rows = (*conn)->Query(sql);
  if (!rows.ok() || rows->empty()) return -1;
  return (*rows)[0][0].as_int();
}

TEST(RestartTest, ASyncGoesOnAfterItsTargetServerRestarts) {
  OwnPostgres pg;
  // scripts/setup.sh --tests installs the server programs: without them this test fails, never
  // skips.
  ASSERT_TRUE(pg.ok()) << "no PostgreSQL server programs to run an instance of our own";
  TempDir dir;
  constexpr int kRows = 10000;
  SqliteExec(dir.File("src.db"),
             "CREATE TABLE item (id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, n INTEGER);"
             "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < " +
                 std::to_string(kRows) + ") INSERT INTO item SELECT i, 'SKU-' || i, i FROM s;");
  WriteFile(
      dir.File("tether.yaml"),
      "connections:\n  src: { url: \"sqlite:src.db\" }\n  dst: { url: \"" + pg.url() +
          "\" }\nentities:\n  item: { table: item, match: [sku] }\n"
          "pipelines:\n  p: { source: src, target: dst, entities: [item], batch_size: 50 }\n");
  ASSERT_EQ(Tether({"-q", "sync", "--create-tables", "--entity", "item", "--batch-size", "1",
                    "--where", "id = 1"},
                   dir.path().string())
                .exit_code,
            0);
  const std::string err_path = dir.File("err.txt");
  int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = testing::StartTether({"-v", "sync", "--retries", "5"}, dir.path().string(), -1, err,
                                   {"TETHER_CONFIG="});
  close(err);
  ASSERT_GT(pid, 0);
  // Restart the server once the sync has written part of the rows.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  bool exited = false;
  while (CountRows(pg.url(), "SELECT count(*) FROM item") < 1000) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), give_up);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(exited) << "the sync finished before the restart; stderr:\n" << ReadFile(err_path);
  ASSERT_TRUE(pg.Ctl("restart"));
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadFile(err_path);
  EXPECT_TRUE(Contains(ReadFile(err_path), "retry 1 of 5")) << ReadFile(err_path);
  EXPECT_EQ(CountRows(pg.url(), "SELECT count(*) FROM item"), kRows);
  EXPECT_EQ(CountRows(pg.url(), "SELECT count(DISTINCT sku) FROM item"), kRows);
}

}  // namespace
}  // namespace tether::e2e
