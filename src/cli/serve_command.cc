#include "cli/serve_command.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "cli/cli.h"
#include "config/text.h"
#include "server/api.h"
#include "server/catalog.h"
#include "server/job_runner.h"
#include "server/scheduler.h"
#include "server/server_store.h"

namespace tether::cli {
namespace {

// "host:port" or "[v6]:port".
Result<std::pair<std::string, int>> ParseListen(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument(
        fmt::format("--listen {}: expected HOST:PORT, such as 127.0.0.1:8080", text));
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) {
    return Status::InvalidArgument(fmt::format("--listen {}: the port must be 0..65535", text));
  }
  return std::make_pair(host, port);
}

Result<std::chrono::milliseconds> Duration(const char* flag, const std::string& text,
                                           int64_t fallback_ms, bool zero_ok) {
  if (text.empty()) return std::chrono::milliseconds(fallback_ms);
  if (zero_ok && text == "0") return std::chrono::milliseconds(0);
  std::optional<int64_t> ms = config_internal::ParseDurationWithDaysMs(text);
  if (!ms) {
    return Status::InvalidArgument(
        fmt::format("{} {}: expected a duration such as 30s, 5m, 1h or 30d", flag, text));
  }
  return std::chrono::milliseconds(*ms);
}

// Creates `dir` (and its parents) when missing, the folder itself for its owner only.
Status MakePrivateFolder(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return Status::OK();
  std::filesystem::create_directories(dir, ec);
  if (!ec) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  if (ec) return Status::Io(fmt::format("cannot create the folder {}: {}", dir, ec.message()));
  return Status::OK();
}

}  // namespace

int ServeCommand(const Globals& g, const ServeFlags& f, bool config_given) {
  // The config file is optional for the server: pipelines can come through the API.
  std::optional<Config> file;
  std::string base_dir = std::filesystem::current_path().string();
  if (config_given || std::filesystem::exists(g.config_path)) {
    Result<Config> loaded = Load(g);
    if (!loaded.ok()) {
      Error(loaded.status());
      return ExitCodeFor(loaded.status());
    }
    base_dir = loaded->base_dir;
    file = std::move(loaded).value();
  }
  const ServerConfig server = file ? file->server : ServerConfig{};

  auto listen = ParseListen(f.listen.empty() ? server.listen : f.listen);
  auto retry_delay = Duration("--retry-delay", f.retry_delay, server.retry_delay_ms, false);
  auto job_timeout = Duration("--job-timeout", f.job_timeout, server.job_timeout_ms, true);
  auto cleanup_age = Duration("--cleanup-age", f.cleanup_age, server.cleanup_age_ms, false);
  for (const Status& s :
       {listen.status(), retry_delay.status(), job_timeout.status(), cleanup_age.status()}) {
    if (!s.ok()) {
      Error(s);
      return kExitUsage;
    }
  }
  std::string token = f.token;
  if (token.empty()) {
    if (const char* env = std::getenv("TETHER_API_TOKEN")) token = env;
  }
  if (token.empty() && server.token) token = *server.token;
  if (token.empty()) {
    Error(Status::InvalidArgument(
        "tether serve needs an API token: set TETHER_API_TOKEN, or server.token in tether.yaml "
        "(for example token: \"${TETHER_API_TOKEN}\")"));
    return kExitUsage;
  }

  const std::string state_url =
      f.state.empty() ? "sqlite:" + base_dir + "/tether-server.db" : f.state;
  Result<std::unique_ptr<ServerStore>> store = ServerStore::Open(state_url);
  if (!store.ok()) {
    Error(store.status().WithContext("--state"));
    return ExitCodeFor(store.status());
  }
  // API connections keep their SQLite files in the data folder and nowhere else; the folder is
  // the server's own (0700 when it creates it).
  CatalogFiles files;
  files.data_dir = !f.data_dir.empty() ? std::filesystem::absolute(f.data_dir).string()
                   : server.data_dir   ? *server.data_dir
                                       : base_dir + "/tether-data";
  if (Status st = MakePrivateFolder(files.data_dir); !st.ok()) {
    Error(st.WithContext("--data-dir"));
    return ExitCodeFor(st);
  }
  if (Result<std::optional<std::string>> state_file = LocalDatabaseFile("--state", state_url);
      state_file.ok() && *state_file) {
    files.state_file = **state_file;
  }

  RunnerOptions ro;
  ro.max_concurrency = f.max_concurrency.value_or(server.max_concurrency);
  ro.retry_attempts = f.retry_attempts.value_or(server.retry_attempts);
  ro.retry_delay = *retry_delay;
  ro.job_timeout = *job_timeout;
  ro.cleanup_age = *cleanup_age;

  Catalog catalog(store->get(), std::move(file), base_dir, files);
  JobRunner runner(
      store->get(), [&catalog](const std::string& p) { return catalog.ConfigFor(p); }, ro);
  Scheduler scheduler(&catalog, &runner, store->get());
  ApiOptions ao;
  ao.host = listen->first;
  ao.port = listen->second;
  ao.token = token;
  ao.max_body = static_cast<size_t>(server.max_body);
  ao.max_connections = server.max_connections;
  ao.max_connections_per_client = server.max_connections_per_client;
  ao.header_timeout = std::chrono::milliseconds(server.header_timeout_ms);
  ApiServer api(&catalog, &runner, &scheduler, store->get(), ao);

  // The signals go to one thread that stops the HTTP server; everything else winds down below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Result<int> port = api.Bind();
  if (!port.ok()) {
    Error(port.status());
    return kExitConnection;
  }
  if (Status st = runner.Start(); !st.ok()) {
    Error(st);
    return ExitCodeFor(st);
  }
  if (Status st = scheduler.Start(); !st.ok()) {
    Error(st);
    return ExitCodeFor(st);
  }
  std::thread watcher([&api, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "tether serve: %s: stopping (running runs stop after their batch)\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    api.Stop();
  });
  const std::string host = ao.host.find(':') != std::string::npos ? "[" + ao.host + "]" : ao.host;
  std::printf("tether serve: listening on http://%s:%d (state %s, %d workers)\n", host.c_str(),
              *port, RedactUrl(state_url).c_str(), ro.max_concurrency);
  std::fflush(stdout);
  api.Listen();
  scheduler.Shutdown();
  runner.Shutdown();
  // The watcher waits for a signal; if the server stopped for another reason, send it one.
  pthread_kill(watcher.native_handle(), SIGTERM);
  watcher.join();
  std::fprintf(stderr, "tether serve: stopped\n");
  return kExitOk;
}

}  // namespace tether::cli
