// `tether track install | status | uninstall | prune [PIPELINE] [-e ENTITY ...]`: change
// tracking on a pipeline's source (src/track/change_log.h).
#pragma once

#include <string>
#include <vector>

#include "cli/common.h"
#include "track/prune.h"

namespace tether::cli {

// "pruned N changes up to seq S on connection C", or why nothing was.
void PrintPrune(const PruneOutcome& out, const std::string& connection);

struct TrackFlags {
  std::string pipeline;               // default: the only one
  std::vector<std::string> entities;  // default: the pipeline's
  bool all = false;                   // uninstall --all: every tracked table, and tether_changes
};

enum class TrackAction { kInstall, kStatus, kUninstall, kPrune };

// `tether track install | status | uninstall | prune`; returns the exit code.
int TrackCommand(const Globals& g, const TrackFlags& f, TrackAction action);

}  // namespace tether::cli
