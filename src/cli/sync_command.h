// `tether sync` and `tether plan` (a sync that writes nothing): the flags become a SyncRequest,
// RunSync prints progress and records as it goes, and `sync --watch` runs incremental passes.
// Thin: the syncing is the engine's (src/engine/sync.h).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cli/common.h"

namespace tether::cli {

// `sync --retries`: how often a run that loses a connection part way connects again by itself.
constexpr int kDefaultRetries = 3;

struct RunFlags {
  std::string pipeline;
  std::vector<std::string> entities;
  bool dry_run = false;
  std::string on_duplicate;
  std::string on_invalid;
  std::string from_date, to_date;
  std::vector<std::string> where;
  std::string format = "table";
  size_t batch_size = 0;
  bool restart = false;
  bool create_tables = false;
  bool changes = false;
  bool mark_synced = false;
  bool watch = false;
  std::string interval = "5s";
  size_t limit = 20;
  bool verify = false;
  bool no_checksums = false;
  std::string keys_file;
  std::vector<std::string> key_values;
  std::string wait;               // --wait DURATION: for a pipeline another run holds
  int retries = kDefaultRetries;  // --retries N: SyncRequest::retries
};

// Runs `sync` (plan = false) or `plan` as the flags ask; returns the exit code.
int SyncCommand(const Globals& g, RunFlags f, bool plan);

}  // namespace tether::cli
