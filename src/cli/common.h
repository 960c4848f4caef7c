// What every CLI command shares: the global flags, loading the config, picking the pipeline,
// printing an error. Internal to src/cli.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "connectors/connector.h"
#include "core/status.h"

namespace tether::cli {

struct Globals {
  std::string config_path = "tether.yaml";
  int verbose = 0;
  bool quiet = false;
};

// "tether: <message>" on stderr; each line of a message of several lines is prefixed.
void Error(const Status& s);
// From now on SIGINT and SIGTERM raise the returned flag, which a run checks between batches; a
// second signal ends the process at once (the open batch rolls back).
const std::atomic<bool>* StopOnSignals();
Result<Config> Load(const Globals& g);
// `asked`, or the config's only pipeline; an error listing the pipelines when there are several.
Result<std::string> PickPipeline(const Config& config, const std::string& asked);
// Load, then PickPipeline into *pipeline; prints the error and returns the exit code when one
// fails (a config error's, or kExitUsage for the pipeline), kExitOk otherwise.
int LoadPipeline(const Globals& g, const std::string& asked, Config* config, std::string* pipeline);

// What the read-only commands (runs, links) need: the config, the pipeline and its target
// connection, which holds the state store. On failure, prints why and sets the exit code.
struct StateAccess {
  Config config;
  std::string pipeline;
  std::unique_ptr<Connector> target;
};

std::optional<StateAccess> OpenState(const Globals& g, const std::string& asked, int* exit_code);

}  // namespace tether::cli
