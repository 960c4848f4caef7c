// The command-line face of tether: parses arguments, calls the engine, prints results.
// Holds no sync logic. Called once from main() on the main thread.
#pragma once

#include "core/status.h"

namespace tether::cli {

// Exit codes, documented in README.md.
enum ExitCode {
  kExitOk = 0,
  kExitInternal = 1,
  kExitUsage = 2,
  kExitConfig = 3,      // bad config, or config that does not fit the databases
  kExitConnection = 4,  // cannot open / reach / lock a connection
  kExitPartial = 5,     // the run finished, but some records failed
  kExitPolicy = 6,      // on_invalid / on_duplicate = error stopped the run; nothing written
  kExitNotFound = 7,    // links find: no such link
  kExitDiffers = 8,     // verify (or sync --verify): source and target differ
  kExitInterrupted = 130,
};

int ExitCodeFor(const Status& status);

int Main(int argc, char** argv);

}  // namespace tether::cli
