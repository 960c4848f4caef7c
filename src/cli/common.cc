#include "cli/common.h"

#include <fmt/format.h>
#include <signal.h>

#include <cstdio>
#include <utility>
#include <vector>

#include "cli/cli.h"

namespace tether::cli {

void Error(const Status& s) {
  // A message of several problems (a config's) has one per line: each gets the prefix.
  const std::string& m = s.message();
  for (size_t start = 0; start <= m.size();) {
    size_t end = m.find('\n', start);
    if (end == std::string::npos) end = m.size();
    std::fprintf(stderr, "tether: %.*s\n", static_cast<int>(end - start), m.data() + start);
    start = end + 1;
  }
}

namespace {

std::atomic<bool> g_stop{false};

void OnStopSignal(int) {
  if (g_stop.exchange(true)) {
    // A second signal: stop now. Every committed batch is consistent; the open one rolls back.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM);
  }
}

}  // namespace

const std::atomic<bool>* StopOnSignals() {
  signal(SIGINT, OnStopSignal);
  signal(SIGTERM, OnStopSignal);
  return &g_stop;
}

Result<Config> Load(const Globals& g) { return LoadConfig(g.config_path); }

Result<std::string> PickPipeline(const Config& config, const std::string& asked) {
  if (!asked.empty()) return asked;
  if (config.pipelines.size() == 1) return config.pipelines[0].name;
  if (config.pipelines.empty()) {
    return Status::InvalidArgument(config.path +
                                   ": defines no pipeline (see `pipelines:` in "
                                   "the README's configuration reference)");
  }
  std::vector<std::string> names;
  for (const PipelineConfig& p : config.pipelines) names.push_back(p.name);
  return Status::InvalidArgument(
      fmt::format("{}: name a pipeline ({})", config.path, fmt::join(names, ", ")));
}

int LoadPipeline(const Globals& g, const std::string& asked, Config* config,
                 std::string* pipeline) {
  Result<Config> loaded = Load(g);
  if (!loaded.ok()) {
    Error(loaded.status());
    return ExitCodeFor(loaded.status());
  }
  Result<std::string> picked = PickPipeline(*loaded, asked);
  if (!picked.ok()) {
    Error(picked.status());
    return kExitUsage;
  }
  *config = std::move(loaded).value();
  *pipeline = std::move(picked).value();
  return kExitOk;
}

std::optional<StateAccess> OpenState(const Globals& g, const std::string& asked, int* exit_code) {
  StateAccess access;
  *exit_code = LoadPipeline(g, asked, &access.config, &access.pipeline);
  if (*exit_code != kExitOk) return std::nullopt;
  const PipelineConfig* p = access.config.FindPipeline(access.pipeline);
  if (!p) {
    Error(Status::InvalidArgument(fmt::format("no pipeline '{}'", access.pipeline)));
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  const ConnectionConfig* c = access.config.FindConnection(p->target);
  Result<std::unique_ptr<Connector>> target = OpenConnector(c->name, c->url);
  if (!target.ok()) {
    Error(target.status());
    *exit_code = ExitCodeFor(target.status());
    return std::nullopt;
  }
  access.target = std::move(target).value();
  return access;
}

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kInvalidArgument:
      return kExitUsage;
    case StatusCode::kConfig:
    case StatusCode::kNotFound:
    case StatusCode::kUnsupported:
      return kExitConfig;
    case StatusCode::kConnection:
    case StatusCode::kPermissionDenied:
    case StatusCode::kBusy:
    case StatusCode::kTryAgain:
    case StatusCode::kTimedOut:
      return kExitConnection;
    case StatusCode::kPolicy:
      return kExitPolicy;
    case StatusCode::kCancelled:
      return kExitInterrupted;
    default:
      return kExitInternal;
  }
}

}  // namespace tether::cli
