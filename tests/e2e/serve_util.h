// The real `tether serve` process for end-to-end tests: started on a free loopback port with a
// token, driven over HTTP, stopped with SIGTERM or killed. Test threads only.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"

namespace tether::e2e {

inline constexpr char kToken[] = "test-token-3f9a";

struct Reply {
  int status = -1;  // -1: no answer
  nlohmann::json body;
  std::string text;
  std::map<std::string, std::string> headers;
};

// A SQLite source of `rows` items and an empty target with the same table, in `dir`.
inline void MakeItems(const std::string& dir, int rows) {
  SqliteExec(dir + "/src.db",
             "CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL);"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                 std::to_string(rows) +
                 ") INSERT INTO item SELECT i, 'item ' || i, i * 0.5 FROM n;");
  SqliteExec(dir + "/dst.db",
             "CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL);");
}

// Pipeline `items` from connection src to dst (the item databases).
inline nlohmann::json ItemsPipeline(int batch_size = 100) {
  return {{"name", "items"},
          {"source", "src"},
          {"target", "dst"},
          {"entities", {{"item", {{"table", "item"}, {"key", "id"}, {"keys", "identity"}}}}},
          {"batch_size", batch_size}};
}

class ServeProcess {
 public:
  // Starts `tether serve --listen 127.0.0.1:0 args...` in `cwd` and waits until it listens.
  ServeProcess(std::string cwd, std::vector<std::string> args, std::vector<std::string> env = {})
      : cwd_(std::move(cwd)), args_(std::move(args)), env_(std::move(env)) {}
  ~ServeProcess() { Stop(SIGKILL); }

  // False (with a test failure) when the server did not come up.
  bool Start() {
    out_path_ = cwd_ + "/serve-" + std::to_string(++starts_) + ".out";
    err_path_ = cwd_ + "/serve-" + std::to_string(starts_) + ".err";
    int out = open(out_path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    int err = open(err_path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), args_.begin(), args_.end());
    std::vector<std::string> env = {"TETHER_CONFIG=", std::string("TETHER_API_TOKEN=") + kToken};
    env.insert(env.end(), env_.begin(), env_.end());
    pid_ = ::tether::testing::StartTether(args, cwd_, out, err, env);
    close(out);
    close(err);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    static const std::regex kListening(R"(listening on http://127\.0\.0\.1:(\d+))");
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      const std::string text = ReadFile(out_path_);
      if (std::regex_search(text, m, kListening)) {
        port_ = std::stoi(m[1]);
        return true;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "tether serve exited at start:\n" << ReadFile(err_path_);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "tether serve did not listen within 30 s:\n" << ReadFile(err_path_);
    return false;
  }

  // Sends `sig` and waits; the exit code (128+N when killed by signal N), or -1 when not running.
  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }

  int port() const { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string Stderr() const { return ReadFile(err_path_); }

  // One request; `token` "" sends no Authorization header.
  Reply Call(const std::string& method, const std::string& path, const std::string& body = "",
             const std::string& token = kToken) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(std::chrono::seconds(60));
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", std::string("Bearer ") + token);
    auto send = [&]() -> httplib::Result {
      if (method == "GET") return c.Get(path, headers);
      if (method == "POST") return c.Post(path, headers, body, "application/json");
      if (method == "PUT") return c.Put(path, headers, body, "application/json");
      if (method == "PATCH") return c.Patch(path, headers, body, "application/json");
      return c.Delete(path, headers);
    };
    httplib::Result r = send();
    Reply reply;
    if (!r) return reply;
    reply.status = r->status;
    reply.text = r->body;
    for (const auto& [k, v] : r->headers) reply.headers[k] = v;
    reply.body = nlohmann::json::parse(r->body, nullptr, false);
    return reply;
  }
  Reply Get(const std::string& path) const { return Call("GET", path); }
  Reply Post(const std::string& path, const nlohmann::json& body) const {
    return Call("POST", path, body.dump());
  }
  Reply Put(const std::string& path, const nlohmann::json& body) const {
    return Call("PUT", path, body.dump());
  }

  // Polls the run until `done` holds (or `seconds` pass); the last state.
  nlohmann::json WaitRun(const std::string& id,
                         const std::function<bool(const nlohmann::json&)>& done,
                         int seconds = 60) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    nlohmann::json run;
    while (std::chrono::steady_clock::now() < deadline) {
      Reply r = Get("/api/runs/" + id);
      if (r.status == 200) {
        run = r.body;
        if (done(run)) return run;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ADD_FAILURE() << "run " << id << " did not reach the state in " << seconds
                  << " s; last: " << run.dump();
    return run;
  }
  nlohmann::json WaitFinished(const std::string& id, int seconds = 120) const {
    return WaitRun(
        id,
        [](const nlohmann::json& r) {
          const std::string s = r.value("status", "");
          return s != "queued" && s != "running";
        },
        seconds);
  }

 private:
  std::string cwd_;
  std::vector<std::string> args_;
  std::vector<std::string> env_;
  std::string out_path_, err_path_;
  int starts_ = 0;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace tether::e2e
