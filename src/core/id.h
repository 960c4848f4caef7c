// Ids of runs and server jobs: a letter, the UTC time to the millisecond and a random suffix
// ("r20261122T022638123-5f0a9c"), so that ids sort by creation time and two made in the same
// millisecond differ. Thread-safe.
#pragma once

#include <string>

namespace tether {

// `prefix` says what the id names: 'r' a run, 'j' a server job.
std::string NewId(char prefix);

}  // namespace tether
