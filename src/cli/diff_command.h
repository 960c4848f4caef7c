// `tether diff` and `tether verify` (src/compare/diff.h), and the check `sync --verify` runs
// after a sync. Thin: the comparing is the engine's.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/common.h"
#include "config/config.h"

namespace tether::cli {

// Adds the `diff` and `verify` subcommands to `app`; their callbacks set *code to the exit code.
void AddDiffCommands(CLI::App* app, const Globals* globals, int* code);

// Verifies a pipeline (its `entities`, or all) and prints the outcome: kExitOk when source and
// target are equal, kExitDiffers when they are not, another code when the check itself failed.
int Verify(const Globals& g, const Config& config, const std::string& pipeline,
           const std::vector<std::string>& entities, bool checksums = true);

}  // namespace tether::cli
