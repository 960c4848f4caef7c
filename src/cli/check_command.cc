#include "cli/check_command.h"

#include <cstdio>

#include "cli/cli.h"
#include "engine/sync.h"

namespace tether::cli {
namespace {

class NoticePrinter : public SyncObserver {
 public:
  void OnNotice(const std::string& text) override { std::printf("%s\n", text.c_str()); }
};

}  // namespace

int CheckCommand(const Globals& g, const std::vector<std::string>& pipelines) {
  Result<Config> config = Load(g);
  if (!config.ok()) {
    Error(config.status());
    return ExitCodeFor(config.status());
  }
  if (config->pipelines.empty()) {
    // An empty file (or one whose text never became keys) must not pass for a good one.
    Error(Status::Config(config->path + ": defines no pipeline, so there is nothing to check"));
    return kExitConfig;
  }
  std::printf("config %s: ok\n", config->path.c_str());
  NoticePrinter printer;
  Status st = CheckPipelines(*config, pipelines, &printer);
  if (!st.ok()) {
    Error(st);
    return ExitCodeFor(st);
  }
  return kExitOk;
}

}  // namespace tether::cli
