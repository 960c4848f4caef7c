// --help of every command and subcommand works without a configuration, and exits 0.
#include <string>
#include <vector>

#include "core/version.h"
#include "e2e/e2e_util.h"

namespace tether::e2e {
namespace {

TEST(HelpTest, EveryCommandHasHelp) {
  TempDir empty;  // no tether.yaml here: help must not need one
  const std::vector<std::vector<std::string>> commands = {
      {},       {"sync"},        {"plan"},          {"check"},
      {"runs"}, {"links"},       {"links", "find"}, {"links", "failed"},
      {"demo"}, {"demo", "init"}};
  for (std::vector<std::string> args : commands) {
    std::string command = "tether";
    for (const std::string& a : args) command += " " + a;
    for (const char* flag : {"--help", "-h"}) {
      std::vector<std::string> with_flag = args;
      with_flag.push_back(flag);
      CommandResult r = Tether(with_flag, empty.path().string());
      EXPECT_EQ(r.exit_code, 0) << command << " " << flag << "\n" << Show(r);
      EXPECT_TRUE(Contains(r.out, "Usage")) << command << " " << flag << "\n" << Show(r);
      EXPECT_TRUE(r.err.empty()) << command << " " << flag << "\n" << Show(r);
    }
  }
  CommandResult sync = Tether({"sync", "--help"}, empty.path().string());
  for (const char* flag :
       {"--entity", "--dry-run", "--on-duplicate", "--on-invalid", "--from-date", "--to-date",
        "--where", "--format", "--batch-size", "--restart", "--limit"}) {
    EXPECT_TRUE(Contains(sync.out, flag)) << flag << "\n" << sync.out;
  }
  CommandResult version = Tether({"--version"}, empty.path().string());
  EXPECT_EQ(version.exit_code, 0) << Show(version);
  EXPECT_TRUE(Contains(version.out, std::string("tether ") + kTetherVersion)) << Show(version);
}

}  // namespace
}  // namespace tether::e2e
