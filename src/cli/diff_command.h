// `tether diff` and `tether verify` (src/compare/diff.h), and the check `sync --verify` runs
// after a sync. Thin: the comparing is the engine's.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cli/common.h"
#include "config/config.h"

namespace tether::cli {

struct DiffFlags {
  std::string pipeline;
  std::vector<std::string> entities;
  std::string format = "table";  // table | json | csv
  std::string output;            // a file; empty: stdout
  size_t limit = 50;             // differences listed per entity in table output (0: all)
  bool no_checksums = false;
};

// `tether diff`; returns the exit code.
int DiffCommand(const Globals& g, const DiffFlags& f);

// Verifies a pipeline (its `entities`, or all) and prints the outcome: kExitOk when source and
// target are equal, kExitDiffers when they are not, another code when the check itself failed.
int Verify(const Globals& g, const Config& config, const std::string& pipeline,
           const std::vector<std::string>& entities, bool checksums = true);

}  // namespace tether::cli
