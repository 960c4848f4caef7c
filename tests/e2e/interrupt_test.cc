// Ctrl-C during a long sync: tether stops between batches with exit 130, keeps what it committed,
// and the next sync completes to the same target an uninterrupted sync produces.
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_util.h"

namespace tether::e2e {
namespace {

struct Interrupted {
  bool exited = false;  // ended through exit(), not killed by the signal
  int code = -1;        // exit code, or the signal number when killed
  std::string err;
};

// Whether a run of the demo pipeline is registered as running in `db` (false while the state
// tables do not exist yet, or the file is busy).
bool RunRegistered(const std::string& db) {
  sqlite3* h = nullptr;
  bool running = false;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM tether_runs WHERE status = 'running'", -1, &st,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      running = sqlite3_column_int64(st, 0) > 0;
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return running;
}

// Starts `tether sync` in `dir`, sends SIGINT `delay` after its run is registered (so that the
// signal never lands before tether has set its handler, however slowly it starts — under a
// sanitizer on a busy machine it can take longer than `delay`), and waits for it.
Interrupted SyncAndInterrupt(const std::string& dir, std::chrono::milliseconds delay) {
  Interrupted result;
  const std::string err_path = dir + "/interrupted.err";
  int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = testing::StartTether({"sync"}, dir, -1, err, {"TETHER_CONFIG="});
  close(err);
  EXPECT_GT(pid, 0);
  if (pid <= 0) return result;
  int status = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!RunRegistered(dir + "/staging.db") && std::chrono::steady_clock::now() < give_up) {
    if (waitpid(pid, &status, WNOHANG) == pid) {  // finished (or failed) before it was seen
      result.exited = WIFEXITED(status);
      result.code = result.exited ? WEXITSTATUS(status) : WTERMSIG(status);
      result.err = ReadFile(err_path);
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(delay);
  kill(pid, SIGINT);
  waitpid(pid, &status, 0);
  result.exited = WIFEXITED(status);
  result.code = result.exited ? WEXITSTATUS(status) : WTERMSIG(status);
  result.err = ReadFile(err_path);
  return result;
}

// What an uninterrupted run leaves behind, compared without the target's own ids (a resumed run
// may assign them in another order): row counts per table and natural keys of the main tables.
std::map<std::string, std::vector<std::string>> Fingerprint(const std::string& db) {
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& t : DataTables(db)) {
    out["count " + t] = SqliteRows(db, "SELECT count(*) FROM \"" + t + "\"");
  }
  out["skus"] = SqliteRows(db, "SELECT sku, name, price, status FROM product ORDER BY sku");
  out["emails"] = SqliteRows(db, "SELECT email, firstname, lastname FROM customer ORDER BY email");
  out["orders"] =
      SqliteRows(db,
                 "SELECT o.increment_id, o.status, o.grand_total, c.email FROM sales_order o "
                 "LEFT JOIN customer c ON c.id = o.customer_id ORDER BY o.increment_id");
  out["items"] = SqliteRows(
      db,
      "SELECT o.increment_id, i.sku, i.qty, p.sku FROM sales_order_item i "
      "JOIN sales_order o ON o.id = i.order_id LEFT JOIN product p ON p.id = i.product_id "
      "ORDER BY 1, 2");
  out["links"] = SqliteRows(
      db, "SELECT entity, status, count(*) FROM tether_links GROUP BY 1, 2 ORDER BY 1, 2");
  return out;
}

TEST(InterruptTest, SigintStopsTheRunAndTheNextSyncCompletesIt) {
  TempDir tmp;
  // The smallest demo whose first sync is still running after 0.3 s: scale 2 (a sync of 0.7 s)
  // for the release build, scale 1 (4 s) for the sanitizer build, which then spends its time on
  // the syncs that follow instead of on a demo twice the size. Scale 20 (200,000 rows) takes
  // minutes to sync, too slow for this suite.
  int scale = 1;
  std::string dir;
  Interrupted stopped;
  for (int attempt = 0; attempt < 5; ++attempt, scale *= 2) {
    dir = tmp.File("shop" + std::to_string(scale));
    ASSERT_NO_FATAL_FAILURE(MakeDemo(dir, scale));
    std::filesystem::create_directory(dir + "/reference");
    for (const char* f : {"live.db", "staging.db", "tether.yaml"}) {
      std::filesystem::copy_file(dir + "/" + f, dir + "/reference/" + f);
    }
    stopped = SyncAndInterrupt(dir, std::chrono::milliseconds(300));
    if (!(stopped.exited && stopped.code == 0)) break;  // else it finished first: go bigger
  }
  ASSERT_TRUE(stopped.exited) << "killed by signal " << stopped.code
                              << " instead of stopping cleanly\n"
                              << stopped.err;
  ASSERT_EQ(stopped.code, 130) << stopped.err;

  // The history says so.
  CommandResult runs = Tether({"runs", "--format", "json"}, dir);
  ASSERT_EQ(runs.exit_code, 0) << Show(runs);
  nlohmann::json history = ParseJson(runs.out);
  ASSERT_EQ(history.size(), 1u) << history.dump(2);
  EXPECT_EQ(history[0]["status"], "cancelled") << history.dump(2);

  // The next sync completes the work, the one after finds nothing to do.
  CommandResult resume = Tether({"sync", "--format", "json"}, dir);
  ASSERT_EQ(resume.exit_code, 0) << Show(resume);
  EXPECT_EQ(ParseJson(resume.out)["status"], "succeeded");
  CommandResult noop = Tether({"sync", "--format", "json"}, dir);
  ASSERT_EQ(noop.exit_code, 0) << Show(noop);
  nlohmann::json last = ParseJson(noop.out);
  EXPECT_EQ(last["total"]["inserted"], 0) << last.dump(2);
  EXPECT_EQ(last["total"]["updated"], 0) << last.dump(2);
  EXPECT_EQ(last["total"]["failed"], 0) << last.dump(2);

  // Same target as one uninterrupted sync of the same data.
  CommandResult reference = Tether({"sync"}, dir + "/reference");
  ASSERT_EQ(reference.exit_code, 0) << Show(reference);
  auto got = Fingerprint(dir + "/staging.db");
  auto want = Fingerprint(dir + "/reference/staging.db");
  for (const auto& [what, rows] : want) {
    EXPECT_TRUE(got[what] == rows) << what << " differs from an uninterrupted sync ("
                                   << got[what].size() << " vs " << rows.size() << " rows)";
  }
}

}  // namespace
}  // namespace tether::e2e
