// `tether serve`: the HTTP API, job runner and scheduler in one process (src/server/), until
// SIGINT or SIGTERM.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace tether::cli {

// Adds the `serve` subcommand to `app`; its callback sets *code to the exit code.
void AddServeCommand(CLI::App* app, const Globals* globals, int* code);

}  // namespace tether::cli
