#include "cli/demo_command.h"

#include <cstdio>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/output.h"

namespace tether::cli {

int DemoInitCommand(const Globals& g, const DemoOptions& options) {
  DemoSummary summary;
  Status st = GenerateDemo(options, &summary);
  if (!st.ok()) {
    Error(st);
    return ExitCodeFor(st);
  }
  if (g.quiet) return kExitOk;
  std::vector<std::vector<std::string>> rows;
  for (const DemoTableSummary& t : summary.tables) {
    rows.push_back({t.table, Thousands(t.live_rows), Thousands(t.staging_rows)});
  }
  std::printf("demo shop written:\n  %s\n  %s\n  %s%s\n\n%s", summary.live_path.c_str(),
              summary.staging_path.c_str(), summary.config_path.c_str(),
              summary.config_written ? "" : " (kept: it already existed)",
              FormatTable({"table", "live", "staging"}, rows).c_str());
  return kExitOk;
}

}  // namespace tether::cli
