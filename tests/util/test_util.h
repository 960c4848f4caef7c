// Shared test helpers: status assertions, temporary folders, SQLite fixtures, running the binary.
// Used from test threads only.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.h"
#include "core/status.h"

#define ASSERT_OK(expr)                                                   \
  do {                                                                    \
    const ::tether::Status tether_s_ = ::tether::testing::ToStatus(expr); \
    ASSERT_TRUE(tether_s_.ok()) << tether_s_.ToString();                  \
  } while (0)
#define EXPECT_OK(expr)                                                   \
  do {                                                                    \
    const ::tether::Status tether_s_ = ::tether::testing::ToStatus(expr); \
    EXPECT_TRUE(tether_s_.ok()) << tether_s_.ToString();                  \
  } while (0)
#define ASSERT_CODE(expr, expected_code)                                  \
  do {                                                                    \
    const ::tether::Status tether_s_ = ::tether::testing::ToStatus(expr); \
    ASSERT_EQ(tether_s_.code(), expected_code) << tether_s_.ToString();   \
  } while (0)

namespace tether::testing {

inline Status ToStatus(const Status& s) { return s; }
template <typename T>
Status ToStatus(const Result<T>& r) {
  return r.status();
}

// A fresh folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Opens (creating if needed) a SQLite database file through tether's own connector.
std::unique_ptr<Connector> OpenSqlite(const std::string& path, const std::string& name = "test");
// Runs SQL on a SQLite file, creating it if needed; fails the test on error.
void SqliteExec(const std::string& path, const std::string& sql);
// All rows of a query, each as text values joined by '|' (NULL as "NULL"), in result order.
std::vector<std::string> SqliteRows(const std::string& path, const std::string& sql);

// A TCP port on loopback that nothing listens on (1 if none could be found).
int FreePort();

inline bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Every row of a stream (a test failure on an error).
std::vector<Row> Drain(RowStream& stream);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

struct CommandResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};
// Starts the built `tether` binary with args in `cwd`, stdin from /dev/null, stdout and stderr
// to the given descriptors (-1: /dev/null), with `extra_env` ("NAME=value") added. Returns the
// child's pid (the caller waits for it), or -1.
pid_t StartTether(const std::vector<std::string>& args, const std::string& cwd, int out_fd,
                  int err_fd, const std::vector<std::string>& extra_env = {});
// Runs the built `tether` binary with args in `cwd`, capturing output.
CommandResult RunTether(const std::vector<std::string>& args, const std::string& cwd = ".",
                        const std::vector<std::string>& extra_env = {});

}  // namespace tether::testing
