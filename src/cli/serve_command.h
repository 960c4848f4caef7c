// `tether serve`: the HTTP API, job runner and scheduler in one process (src/server/), until
// SIGINT or SIGTERM.
#pragma once

#include <optional>
#include <string>

#include "cli/common.h"

namespace tether::cli {

struct ServeFlags {  // what is not given comes from the config's server: section
  std::string listen;
  std::string state;
  std::string data_dir;
  std::string token;
  std::optional<int> max_concurrency;
  std::optional<int> retry_attempts;
  std::string retry_delay;
  std::string job_timeout;
  std::string cleanup_age;
};

// Serves until SIGINT or SIGTERM; `config_given`: --config or $TETHER_CONFIG named the file.
// Returns the exit code.
int ServeCommand(const Globals& g, const ServeFlags& f, bool config_given);

}  // namespace tether::cli
