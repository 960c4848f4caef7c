// `tether demo init`: the bundled demo shop (src/demo/demo.h), written and summed up.
#pragma once

#include "cli/common.h"
#include "demo/demo.h"

namespace tether::cli {

// Writes the demo's databases and config as `options` say; returns the exit code.
int DemoInitCommand(const Globals& g, const DemoOptions& options);

}  // namespace tether::cli
