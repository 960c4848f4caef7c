// The README's `tether serve` walkthrough, run as written: the ```sh blocks between
// <!-- api-setup:begin --> and <!-- api-setup:end --> prepare a folder, the real server starts in
// it, and the ```sh blocks between <!-- api-examples:begin --> and <!-- api-examples:end --> run in
// order under `bash -euo pipefail` with $TETHER and $TOKEN set, so an example that stops working
// fails here. Needs bash, curl, jq and the sqlite3 shell (scripts/setup.sh --tests).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "serve_util.h"
#include "server/api.h"

namespace tether::e2e {
namespace {

struct ShBlock {
  int line = 0;  // of the opening fence in README.md
  std::string code;
};

std::string Readme() { return ReadFile(TETHER_SOURCE_DIR "/README.md"); }

// The text between two marker lines (a test failure and "" when they are missing).
std::string Between(const std::string& text, const std::string& begin, const std::string& end,
                    size_t* offset) {
  const size_t b = text.find(begin);
  const size_t e = b == std::string::npos ? b : text.find(end, b);
  if (b == std::string::npos || e == std::string::npos) {
    ADD_FAILURE() << "README.md has no " << begin << " ... " << end;
    return "";
  }
  *offset = b + begin.size();
  return text.substr(*offset, e - *offset);
}

// Every ```sh block between the markers, in order.
std::vector<ShBlock> ShBlocks(const std::string& marker) {
  const std::string readme = Readme();
  size_t offset = 0;
  const std::string part =
      Between(readme, "<!-- " + marker + ":begin -->", "<!-- " + marker + ":end -->", &offset);
  std::vector<ShBlock> blocks;
  int line = 1 + static_cast<int>(std::count(readme.begin(), readme.begin() + offset, '\n'));
  ShBlock* current = nullptr;  // the block being read; blocks does not grow meanwhile
  for (const std::string& text : Lines(part)) {
    if (current == nullptr && text == "```sh") {
      blocks.push_back({line, ""});
      current = &blocks.back();
    } else if (current != nullptr && text == "```") {
      current = nullptr;
    } else if (current != nullptr) {
      current->code += text + "\n";
    }
    ++line;
  }
  EXPECT_EQ(current, nullptr) << "README.md: a ```sh block between the " << marker
                              << " markers is not closed";
  return blocks;
}

struct BashResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string output;  // stdout and stderr, interleaved
};

// `bash -euo pipefail -c code` in `cwd` with `env` added; killed after `seconds`.
BashResult RunBash(const std::string& code, const std::string& cwd,
                   const std::vector<std::pair<std::string, std::string>>& env, int seconds = 90) {
  const std::string out_path = cwd + "/.readme-block.out";
  BashResult result;
  const int out = open(out_path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (out < 0) {
    result.output = "cannot create " + out_path;
    return result;
  }
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    std::signal(SIGPIPE, SIG_DFL);  // the test process ignores it; `curl ... | head` must not
    const int devnull = open("/dev/null", O_RDONLY);
    if (chdir(cwd.c_str()) != 0 || devnull < 0) _exit(127);
    dup2(devnull, 0);
    dup2(out, 1);
    dup2(out, 2);
    setpgid(0, 0);  // so that a timeout ends the block's children too
    unsetenv("TETHER_CONFIG");
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    execl("/bin/bash", "bash", "-euo", "pipefail", "-c", code.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.output = "(killed after " + std::to_string(seconds) + " s)\n";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  result.output = ReadFile(out_path) + result.output;
  std::remove(out_path.c_str());
  return result;
}

std::string Describe(const ShBlock& block, const BashResult& r) {
  return "README.md:" + std::to_string(block.line) + ": the block exited " +
         std::to_string(r.exit_code) + "\n--- block ---\n" + block.code + "--- output ---\n" +
         r.output.substr(0, 8000);
}

TEST(ReadmeApi, ExamplesRunAsWritten) {
  for (const char* tool : {"curl", "jq", "sqlite3"}) {
    ASSERT_EQ(RunBash(std::string("command -v ") + tool, "/tmp", {}).exit_code, 0)
        << tool << " is not installed (scripts/setup.sh --tests installs it)";
  }
  TempDir tmp;
  const std::string dir = tmp.path().string();

  const std::vector<ShBlock> setup = ShBlocks("api-setup");
  ASSERT_FALSE(setup.empty());
  for (const ShBlock& block : setup) {
    BashResult r = RunBash(block.code, dir, {});
    ASSERT_EQ(r.exit_code, 0) << Describe(block, r);
  }

  ServeProcess server(dir, {});
  ASSERT_TRUE(server.Start());
  const std::vector<std::pair<std::string, std::string>> env = {{"TETHER", server.base()},
                                                                {"TOKEN", kToken}};
  const std::vector<ShBlock> examples = ShBlocks("api-examples");
  ASSERT_GE(examples.size(), 10u);
  for (const ShBlock& block : examples) {
    BashResult r = RunBash(block.code, dir, env);
    // Later blocks build on earlier ones: the first failure is the one worth reading.
    ASSERT_EQ(r.exit_code, 0) << Describe(block, r) << "\n--- server stderr ---\n"
                              << server.Stderr().substr(0, 4000);
  }
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Stderr();
}

// Each route of the server appears in at least one example (by path; the method is the curl
// command's business), so the walkthrough grows with the API.
TEST(ReadmeApi, EveryRouteHasAnExample) {
  std::string code;
  for (const ShBlock& block : ShBlocks("api-examples")) code += block.code;
  ASSERT_FALSE(code.empty());
  static const std::regex kParam(R"(\{[a-z_]+\})");
  for (const auto& [method, path] : ApiServer::Routes()) {
    const std::string escaped = std::regex_replace(path, std::regex(R"(\.)"), R"(\.)");
    const std::string pattern =
        "\\$TETHER" + std::regex_replace(escaped, kParam, "[^/\\s\"'?]+") + "([\\s\"'?]|$)";
    EXPECT_TRUE(std::regex_search(code, std::regex(pattern)))
        << method << " " << path << " has no example in README.md's api-examples";
  }
}

}  // namespace
}  // namespace tether::e2e
