#include "util/test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace tether::testing {
namespace {

// A write to a socket or pipe whose other end has gone (an HTTP client whose server answered
// early and closed, a child that exited before reading) is an error the test reports, not a
// signal that ends the process — with the other tests of its shard.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  return std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
}();

}  // namespace

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 1;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

TempDir::TempDir() {
  std::random_device rd;
  for (;;) {
    auto p = std::filesystem::temp_directory_path() /
             ("tether-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
    if (std::filesystem::create_directory(p)) {
      path_ = p;
      return;
    }
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<Row> Drain(RowStream& stream) {
  std::vector<Row> rows;
  Row row;
  for (;;) {
    auto more = stream.Next(&row);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    rows.push_back(row);
  }
  return rows;
}

std::unique_ptr<Connector> OpenSqlite(const std::string& path, const std::string& name) {
  auto c = OpenConnector(name, "sqlite:" + path + "?create=1");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return nullptr;
  return std::move(c).value();
}

void SqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg << "\nin: " << sql;
}

std::vector<std::string> SqliteRows(const std::string& path, const std::string& sql) {
  std::vector<std::string> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
    sqlite3_close(db);
    return rows;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db) << " in: " << sql;
    sqlite3_close(db);
    return rows;
  }
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string line;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      if (i) line += '|';
      if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        line += "NULL";
      } else {
        line += reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      }
    }
    rows.push_back(std::move(line));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

namespace {
std::string Slurp(int fd) {
  std::string s;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}
}  // namespace

pid_t StartTether(const std::vector<std::string>& args, const std::string& cwd, int out_fd,
                  int err_fd, const std::vector<std::string>& extra_env) {
  std::fflush(nullptr);  // or the child would print the parent's pending output again
  pid_t pid = fork();
  if (pid != 0) return pid;
  std::signal(SIGPIPE,
              SIG_DFL);  // the test process ignores it (above); tether must not inherit that
  int devnull = open("/dev/null", O_RDWR);
  if (chdir(cwd.c_str()) != 0 || devnull < 0) _exit(127);
  dup2(devnull, 0);
  dup2(out_fd >= 0 ? out_fd : devnull, 1);
  dup2(err_fd >= 0 ? err_fd : devnull, 2);
  for (const std::string& kv : extra_env) putenv(const_cast<char*>(kv.c_str()));
  std::vector<char*> argv;
  std::string bin = TETHER_BINARY;
  argv.push_back(bin.data());
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(bin.c_str(), argv.data());
  _exit(127);
}

CommandResult RunTether(const std::vector<std::string>& args, const std::string& cwd,
                        const std::vector<std::string>& extra_env) {
  CommandResult result;
  char out_tmpl[] = "/tmp/tether-out-XXXXXX";
  char err_tmpl[] = "/tmp/tether-err-XXXXXX";
  int out_fd = mkstemp(out_tmpl);
  int err_fd = mkstemp(err_tmpl);
  unlink(out_tmpl);
  unlink(err_tmpl);
  pid_t pid = StartTether(args, cwd, out_fd, err_fd, extra_env);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  lseek(out_fd, 0, SEEK_SET);
  lseek(err_fd, 0, SEEK_SET);
  result.out = Slurp(out_fd);
  result.err = Slurp(err_fd);
  close(out_fd);
  close(err_fd);
  return result;
}

}  // namespace tether::testing
