// `tether runs [PIPELINE] [--show RUN]`: the run history kept in the target's state store,
// newest first, or one run with its skipped, failed and deleted records.
#pragma once

#include <cstddef>
#include <string>

#include "cli/common.h"

namespace tether::cli {

// `show` empty: the last `limit` runs (0: all); otherwise that run. `format`: table | json.
// Returns the exit code.
int RunsCommand(const Globals& g, const std::string& pipeline, const std::string& show,
                size_t limit, const std::string& format);

}  // namespace tether::cli
