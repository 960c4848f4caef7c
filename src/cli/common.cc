#include "cli/common.h"

#include <fmt/format.h>

#include <cstdio>
#include <utility>
#include <vector>

#include "cli/cli.h"

namespace tether::cli {

void Error(const Status& s) { std::fprintf(stderr, "tether: %s\n", s.message().c_str()); }

Result<Config> Load(const Globals& g) { return LoadConfig(g.config_path); }

Result<std::string> PickPipeline(const Config& config, const std::string& asked) {
  if (!asked.empty()) return asked;
  if (config.pipelines.size() == 1) return config.pipelines[0].name;
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

}  // namespace tether::cli
