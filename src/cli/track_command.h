// `tether track install | status | uninstall | prune [PIPELINE] [-e ENTITY ...]`: change
// tracking on a pipeline's source (src/track/change_log.h).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace tether::cli {

// Adds the `track` subcommand to `app`; its callbacks set *code to the exit code.
void AddTrackCommand(CLI::App* app, const Globals* globals, int* code);

}  // namespace tether::cli
