// `tether track install | status | uninstall | prune [PIPELINE] [-e ENTITY ...]`: change
// tracking on a pipeline's source (src/track/change_log.h).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "track/prune.h"

namespace tether::cli {

// "pruned N changes up to seq S on connection C", or why nothing was.
void PrintPrune(const PruneOutcome& out, const std::string& connection);

// Adds the `track` subcommand to `app`; its callbacks set *code to the exit code.
void AddTrackCommand(CLI::App* app, const Globals* globals, int* code);

}  // namespace tether::cli
