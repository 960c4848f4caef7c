// Pruning the change log by what the pipelines of a config have consumed (`tether track prune`,
// `sync --changes --mark-synced`).
#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "connectors/connector.h"

namespace tether {

struct PruneOutcome {
  // Set when nothing could go: which pipeline has not read which entity's changes yet.
  std::optional<std::string> waiting;
  std::optional<int64_t> upto;  // the seq pruned up to
  int64_t pruned = 0;
};

// Deletes the changes on `source` (connection `source_connection` of `config`) that every
// pipeline of `config` reading from that connection has consumed, for each of its tracked
// entities: up to the smallest of their change checkpoints (read from each pipeline's state
// store), nothing while one of them has not read any. Pipelines of other config files are not
// known: keep them in one file, or do not prune.
Result<PruneOutcome> PruneConsumed(const Config& config, const std::string& source_connection,
                                   Connector* source);

}  // namespace tether
