#include "cli/common.h"

#include <fmt/format.h>

#include <cstdio>
#include <vector>

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

}  // namespace tether::cli
