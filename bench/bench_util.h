// What the benchmarks share: running a program as a child and measuring it the same way for
// tether and for its peers (wall time around fork..wait4, the child's rusage), and number
// formatting for the tables. Header-only: every bench/*.cc is its own executable.
#pragma once

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

struct Measure {
  double seconds = 0;
  double cpu_seconds = 0;  // user + system, the process and the children it waited for
  long max_rss_kb = 0;     // the largest of them
  int exit_code = -1;      // -1: the child could not be started or waited for (see err)
  std::string out, err;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv[0] with its arguments in `cwd`, stdout/stderr captured through files there. For a
// shell pipeline the rusage covers the shell and every process it waited for: CPU is their sum,
// peak RSS the largest of them.
inline Measure RunChild(const std::vector<std::string>& argv, const std::filesystem::path& cwd) {
  const std::string out = (cwd / "child.out").string();
  const std::string err = (cwd / "child.err").string();
  Measure m;
  std::fflush(nullptr);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) {
    m.err = "fork failed";
    return m;
  }
  if (pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(126);
    if (!freopen(out.c_str(), "w", stdout) || !freopen(err.c_str(), "w", stderr)) _exit(126);
    if (!freopen("/dev/null", "r", stdin)) _exit(126);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  struct rusage ru {};
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      m.err = "wait4 failed";
      return m;
    }
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  m.max_rss_kb = ru.ru_maxrss;  // kilobytes on Linux
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  m.out = Slurp(out);
  m.err = Slurp(err);
  return m;
}

// "250", "100k", "1M" -> the count; 0 when the text is not a positive count.
inline int64_t ParseCount(std::string text) {
  int64_t mult = 1;
  if (!text.empty() && (text.back() == 'k' || text.back() == 'K')) mult = 1000;
  if (!text.empty() && (text.back() == 'm' || text.back() == 'M')) mult = 1000000;
  if (mult > 1) text.pop_back();
  char* end = nullptr;
  long long n = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || !end || *end || n <= 0) return 0;
  return n * mult;
}

inline std::string Thousands(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

inline std::string Rate(int64_t rows, double secs) {
  return secs > 0 ? Thousands(static_cast<int64_t>(static_cast<double>(rows) / secs)) : "-";
}

inline std::string Mb(long kb) { return fmt::format("{:.1f}", static_cast<double>(kb) / 1024.0); }

}  // namespace bench
