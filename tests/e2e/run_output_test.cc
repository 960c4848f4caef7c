// What `tether` prints about runs, as a new user meets it: the verdict of a partial run and the
// command that lists its failed records, the run history's columns and modes, plans that are not
// runs, `--watch` (a start line, no run row per idle pass, only what changed, and a terminal
// whose progress line is cleared before anything else), progress on a terminal for diff and
// verify, and the counts of what a run or a diff had done when Ctrl-C stopped it.
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"
#include "util/test_database.h"

namespace tether::e2e {
namespace {

using ::tether::testing::PortableSql;
using ::tether::testing::StartTether;
using ::tether::testing::TestDatabase;

constexpr int kPartial = 5;
constexpr int kInterrupted = 130;

// A pseudo-terminal for a child's stdout and stderr, read on a thread of its own.
class Pty {
 public:
  Pty() {
    EXPECT_EQ(openpty(&master_, &slave_, nullptr, nullptr, nullptr), 0);
    termios raw{};
    tcgetattr(slave_, &raw);
    cfmakeraw(&raw);  // bytes as written: no "\n" -> "\r\n"
    tcsetattr(slave_, TCSANOW, &raw);
    reader_ = std::thread([this] {
      char buf[4096];
      for (;;) {
        ssize_t n = read(master_, buf, sizeof buf);
        if (n <= 0) return;  // EIO once every writer is gone
        std::lock_guard<std::mutex> lk(mu_);
        text_.append(buf, static_cast<size_t>(n));
      }
    });
  }
  ~Pty() {
    CloseSlave();
    if (reader_.joinable()) reader_.join();
    close(master_);
  }
  int slave() const { return slave_; }
  // After the child started: this process's copy of the terminal goes, so that the reader ends
  // when the child does.
  void CloseSlave() {
    if (slave_ >= 0) close(slave_);
    slave_ = -1;
  }
  std::string Text() {
    std::lock_guard<std::mutex> lk(mu_);
    return text_;
  }
  // Waits until the output matches `re` (30 s at most).
  bool WaitFor(const std::string& re) {
    for (int i = 0; i < 600; ++i) {
      if (std::regex_search(Text(), std::regex(re))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void Join() {
    CloseSlave();
    if (reader_.joinable()) reader_.join();
  }
  // The lines as a terminal shows them: what follows the last carriage return of each line,
  // without the erase-line sequence.
  std::vector<std::string> Visible() {
    std::vector<std::string> out;
    for (std::string line : Lines(Text())) {
      size_t cr = line.rfind('\r');
      if (cr != std::string::npos) line = line.substr(cr + 1);
      for (size_t k; (k = line.find("\033[K")) != std::string::npos;) line.erase(k, 3);
      out.push_back(line);
    }
    return out;
  }

 private:
  int master_ = -1, slave_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::string text_;
};

// A started `tether`, killed if the test ends before it has waited for it (a failed assertion).
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) { EXPECT_GT(pid, 0); }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait();
    }
  }
  void Signal(int sig) const { kill(pid_, sig); }
  // The exit code (128+N when killed by signal N).
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  }

 private:
  pid_t pid_;
};

// The first line of `out` holding `part`, or "".
std::string LineWith(const std::string& out, const std::string& part) {
  for (const std::string& line : Lines(out)) {
    if (Contains(line, part)) return line;
  }
  return "";
}

// The small shop with `cursor: id` on both entities, for `--changes` and `--watch`.
std::string CursorConfig(const std::string& item_extra = "") {
  return "connections:\n  live: \"sqlite:live.db\"\n  staging: \"sqlite:staging.db\"\n"
         "entities:\n  category: { table: category, match: [slug], cursor: id }\n"
         "  item:\n    table: item\n    match: [code]\n    cursor: id\n"
         "    references: { category_id: category }\n" +
         item_extra +
         "pipelines:\n  copy: { source: live, target: staging, entities: [category, item] }\n";
}

TEST(RunOutputTest, APartialRunSaysSoAndNamesTheCommandThatListsItsFailures) {
  SmallShop shop;
  // Item C's code the target refuses (a CHECK tether does not know): it fails, every run.
  SqliteExec(shop.staging(),
             "CREATE TABLE item2(id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE CHECK (code "
             "<> 'C'), qty INTEGER, category_id INTEGER REFERENCES category(id));"
             "INSERT INTO item2 SELECT * FROM item; DROP TABLE item; "
             "ALTER TABLE item2 RENAME TO item;");
  CommandResult first = shop.Run({"sync"});
  ASSERT_EQ(first.exit_code, kPartial) << Show(first);
  for (const CommandResult& r : {first, shop.Run({"sync"})}) {
    ASSERT_EQ(r.exit_code, kPartial) << Show(r);
    EXPECT_FALSE(Contains(r.out, "nothing to do")) << Show(r);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(run (r\S+) partial: 1 record failed)")))
        << Show(r);
    // The command it names works as printed.
    std::smatch cmd;
    ASSERT_TRUE(std::regex_search(r.out, cmd, std::regex("`tether (runs copy --show (r\\S+))`")))
        << Show(r);
    EXPECT_EQ(cmd[2].str(), m[1].str());
    CommandResult show = shop.Run({"runs", "copy", "--show", cmd[2].str()});
    ASSERT_EQ(show.exit_code, 0) << Show(show);
    EXPECT_TRUE(Contains(LineWith(show.out, " fail "), "CHECK")) << Show(show);
  }
}

TEST(RunOutputTest, TheHistoryShowsEveryCountAndTheModeAndAPlanIsNoRun) {
  SmallShop shop;
  shop.WriteConfig(CursorConfig("    delete: propagate\n"));
  CommandResult plan = shop.Run({"plan"});
  ASSERT_EQ(plan.exit_code, 0) << Show(plan);
  EXPECT_FALSE(std::regex_search(plan.out, std::regex(R"(\br\d{8}T)"))) << "no run id\n"
                                                                        << Show(plan);
  CommandResult plan_json = shop.Run({"plan", "--format", "json"});
  ASSERT_EQ(plan_json.exit_code, 0) << Show(plan_json);
  EXPECT_TRUE(ParseJson(plan_json.out)["summary"]["run_id"].is_null()) << plan_json.out;

  ASSERT_EQ(shop.Run({"sync"}).exit_code, 0);
  SqliteExec(shop.staging(), "INSERT INTO item VALUES (100, 'Z', 1, 5)");  // linked by nobody
  SqliteExec(shop.live(), "DELETE FROM item WHERE code = 'C'");
  ASSERT_EQ(shop.Run({"sync"}).exit_code, 0);  // deletes C's copy
  ASSERT_EQ(shop.Run({"sync", "--changes"}).exit_code, 0);

  CommandResult runs = shop.Run({"runs"});
  ASSERT_EQ(runs.exit_code, 0) << Show(runs);
  for (const char* column : {"mode", "linked", "deleted", "skipped", "failed"}) {
    EXPECT_TRUE(Contains(Lines(runs.out)[0], column)) << column << "\n" << runs.out;
  }
  nlohmann::json history = ParseJson(shop.Run({"runs", "--format", "json"}).out);
  ASSERT_EQ(history.size(), 3u) << history.dump(2) << "\n(a plan leaves no run behind)";
  EXPECT_EQ(history[0]["mode"], "changes");
  EXPECT_EQ(history[0]["options"]["mode"], "changes");
  EXPECT_EQ(history[1]["mode"], "full");
  EXPECT_EQ(history[1]["counts"]["deleted"], 1) << history.dump(2);
  EXPECT_GE(history[2]["counts"]["linked"], 1) << "category 'tools' paired by its slug";
  EXPECT_TRUE(Contains(LineWith(runs.out, history[0]["run_id"]), "changes")) << runs.out;
}

TEST(RunOutputTest, WatchStartsWithALineRecordsOnlyPassesThatDidSomethingAndKeepsTheTerminalClean) {
  SmallShop shop;
  shop.WriteConfig(CursorConfig());
  Pty pty;
  Child child(StartTether({"sync", "--watch", "--interval", "100ms"}, shop.dir(), pty.slave(),
                          pty.slave(), {"TETHER_CONFIG="}));
  pty.CloseSlave();
  // The first pass copies; then idle passes; then one change.
  ASSERT_TRUE(pty.WaitFor(R"(watch copy: pass \d+)")) << pty.Text();
  ASSERT_TRUE(pty.WaitFor(R"(watch copy: pass [3-9])")) << pty.Text();
  SqliteExec(shop.live(), "INSERT INTO item VALUES (4, 'D', 9, 1)");
  ASSERT_TRUE(pty.WaitFor(R"(sync copy \(run[\s\S]*sync copy \(run)")) << pty.Text();
  ASSERT_TRUE(pty.WaitFor(R"(succeeded[\s\S]*succeeded)")) << pty.Text();
  child.Signal(SIGINT);
  EXPECT_EQ(child.Wait(), 0);
  pty.Join();
  const std::vector<std::string> lines = pty.Visible();
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(Contains(lines[0], "watch copy: an incremental pass every 100ms")) << pty.Text();
  int headers = 0;
  for (const std::string& line : lines) {
    if (Contains(line, "sync copy (run")) {
      ++headers;
      EXPECT_EQ(line.rfind("sync copy (run", 0), 0u) << "a header after a progress line:\n"
                                                     << pty.Text();
    }
    EXPECT_FALSE(Contains(line, "rows/s") && Contains(line, "entity")) << pty.Text();
    // The second pass changed an item only: category is not listed.
    if (headers == 2) {
      EXPECT_NE(line.rfind("category ", 0), 0u) << pty.Text();
    }
  }
  EXPECT_EQ(headers, 2) << pty.Text();
  // Two runs: the first copy and the pass that found D; the idle passes left nothing.
  EXPECT_EQ(Count(shop.staging(), "SELECT count(*) FROM tether_runs"), 2);
}

// Progress of diff and verify on a terminal, and what a run, a diff and a verify had done when
// Ctrl-C stopped them: entity `a` is compared or copied whole, `b` waits for its table, which
// the test holds locked, when the signal comes.
class StoppedRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dst_.ok());
    std::string rows;
    for (int i = 1; i <= 30; ++i) rows += (i > 1 ? "," : "") + std::to_string(i);
    SqliteExec(dir_.File("live.db"),
               "CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY);"
               "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30) "
               "INSERT INTO a SELECT i FROM n; INSERT INTO b SELECT id FROM a;");
    dst_.Exec(PortableSql("postgres",
                          "CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER "
                          "PRIMARY KEY);"));
    WriteFile(dir_.File("tether.yaml"),
              "connections:\n  live: \"sqlite:live.db\"\n  copy: \"" + dst_.url() +
                  "\"\nentities:\n  a: { table: a, keys: identity }\n  b: { table: b, keys: "
                  "identity }\npipelines:\n  p: { source: live, target: copy, "
                  "entities: [a, b], batch_size: 10 }\n");
  }

  // Runs `args` on a terminal until it waits for table b, then sends SIGINT and lets b go;
  // returns the exit code.
  int RunAndStop(const std::vector<std::string>& args, Pty* pty) {
    std::unique_ptr<Connector> holder = dst_.Open("holder");
    EXPECT_TRUE(holder && holder->Begin().ok() &&
                holder->ExecuteScript("LOCK TABLE b IN ACCESS EXCLUSIVE MODE").ok());
    Child child(
        StartTether(args, dir_.path().string(), pty->slave(), pty->slave(), {"TETHER_CONFIG="}));
    pty->CloseSlave();
    bool waiting = false;
    for (int i = 0; i < 600 && !waiting; ++i) {
      waiting = dst_.Rows(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()") == std::vector<std::string>{"1"};
      if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(waiting) << pty->Text();
    child.Signal(SIGINT);
    holder.reset();
    const int code = child.Wait();
    pty->Join();
    return code;
  }

  TempDir dir_;
  TestDatabase dst_{"postgres"};
};

TEST_F(StoppedRunTest, ASyncStoppedByCtrlCShowsWhatItCommitted) {
  Pty pty;
  EXPECT_EQ(RunAndStop({"sync", "--no-checksums"}, &pty), kInterrupted);
  const std::string out = pty.Text();
  EXPECT_TRUE(Contains(out, "rows/s")) << "progress on the terminal\n" << out;
  EXPECT_TRUE(Contains(out, "stopped: run")) << out;
  bool counted = false;
  for (const std::string& line : pty.Visible()) {
    std::vector<std::string> w = Words(line);
    if (w.size() == 9 && w[0] == "a") {
      counted = true;
      EXPECT_EQ(w[1], "30") << line;  // read
      EXPECT_EQ(w[2], "30") << line;  // inserted
    }
  }
  EXPECT_TRUE(counted) << "the counts of entity a\n" << out;
}

TEST_F(StoppedRunTest, ADiffShowsProgressAndStoppedByCtrlCShowsWhatItCompared) {
  Pty pty;
  EXPECT_EQ(RunAndStop({"diff", "--no-checksums"}, &pty), kInterrupted);
  const std::string out = pty.Text();
  EXPECT_TRUE(Contains(out, "rows/s")) << "progress on the terminal\n" << out;
  EXPECT_TRUE(Contains(out, "stopped after")) << out;
  bool counted = false;
  for (const std::string& line : pty.Visible()) {
    std::vector<std::string> w = Words(line);
    if (!w.empty() && w[0] == "a" && w.size() >= 3) {
      counted = true;
      EXPECT_EQ(w[1], "0") << line;   // unchanged
      EXPECT_EQ(w[2], "30") << line;  // only in source
    }
  }
  EXPECT_TRUE(counted) << "the counts of entity a\n" << out;
}

TEST_F(StoppedRunTest, AVerifyStoppedByCtrlCShowsWhatItCompared) {
  Pty pty;
  EXPECT_EQ(RunAndStop({"verify", "--no-checksums"}, &pty), kInterrupted);
  const std::string out = pty.Text();
  EXPECT_TRUE(Contains(out, "rows/s")) << "progress on the terminal\n" << out;
  EXPECT_TRUE(Contains(out, "stopped after")) << out;
}

}  // namespace
}  // namespace tether::e2e
