// `tether schema`: the DDL of target tables that do not exist yet, and of columns existing ones
// lack; --apply creates and adds them (nothing is ever dropped or changed).
#pragma once

#include <string>
#include <vector>

#include "cli/common.h"

namespace tether::cli {

// For `pipeline` (the only one when empty) and `entities` (all when empty); returns the exit
// code.
int SchemaCommand(const Globals& g, const std::string& pipeline,
                  const std::vector<std::string>& entities, bool apply);

}  // namespace tether::cli
