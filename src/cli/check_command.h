// `tether check [PIPELINE ...]`: the config read, every connection reached, every table and
// column found (CheckPipelines in src/engine/sync.h), every problem reported at once.
#pragma once

#include <string>
#include <vector>

#include "cli/common.h"

namespace tether::cli {

// Checks `pipelines` (all when empty); returns the exit code.
int CheckCommand(const Globals& g, const std::vector<std::string>& pipelines);

}  // namespace tether::cli
