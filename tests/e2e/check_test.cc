// `tether check` as a new user meets it: a file it cannot use never passes — empty, or with a
// quote left open — every problem comes out in one go, each at its file:line:column, and a date
// range that holds no moment is a usage error rather than a run that reads nothing.
#include <regex>
#include <string>

#include "e2e_util.h"

namespace tether::e2e {
namespace {

constexpr int kCheckUsage = 2;
constexpr int kCheckConfig = 3;

TEST(CheckTest, AnEmptyFileOrAnUnclosedQuoteNeverPasses) {
  SmallShop shop;
  for (const char* text : {"", "# nothing yet\n", "version: 1\n"}) {
    shop.WriteConfig(text);
    for (const char* command : {"check", "sync"}) {
      CommandResult r = shop.Run({command});
      EXPECT_NE(r.exit_code, 0) << command << " of '" << text << "'\n" << Show(r);
      EXPECT_TRUE(Contains(r.err, "tether.yaml")) << Show(r);
    }
  }
  // A working file whose last value lost its closing quote: YAML would read it on to the end.
  const std::string text =
      "entities:\n"
      "  category: { table: category, match: [slug] }\n"
      "pipelines:\n"
      "  copy: { source: live, target: staging, entities: [category] }\n"
      "connections:\n"
      "  live: \"sqlite:live.db\"\n"
      "  staging: \"sqlite:staging.db\n";
  shop.WriteConfig(text);
  for (const char* command : {"check", "sync"}) {
    CommandResult r = shop.Run({command});
    EXPECT_EQ(r.exit_code, kCheckConfig) << Show(r);
    EXPECT_TRUE(Contains(r.err, "tether.yaml:7:12")) << Show(r);
  }
}

TEST(CheckTest, EveryProblemIsReportedOnItsOwnLine) {
  SmallShop shop;
  shop.WriteConfig(
      "connections:\n"
      "  live: { url: \"sqlite:live.db\" }\n"
      "  staging: { url: \"sqlite:staging.db\" }\n"
      "entities:\n"
      "  category: { table: category, key: id, match: [slug], delete: sometimes }\n"
      "  item: { table: item, key: id, mtach: [code] }\n"
      "pipelines:\n"
      "  copy: { source: live, target: staging, entities: [category, item], batch_size: 0 }\n");
  CommandResult r = shop.Run({"check"});
  EXPECT_EQ(r.exit_code, kCheckConfig) << Show(r);
  for (const char* place : {"tether.yaml:5:", "tether.yaml:6:", "tether.yaml:8:"}) {
    EXPECT_TRUE(std::regex_search(r.err, std::regex(std::string("tether: [^\\n]*") + place)))
        << place << "\n"
        << Show(r);
  }
  EXPECT_TRUE(Contains(r.err, "did you mean 'match'")) << Show(r);

  // Tables and columns: both entities' problems, each at its entry.
  shop.WriteConfig(
      "connections:\n"
      "  live: { url: \"sqlite:live.db\" }\n"
      "  staging: { url: \"sqlite:staging.db\" }\n"
      "entities:\n"
      "  category: { table: catgeory, match: [slug] }\n"
      "  item: { table: item, match: [cdoe] }\n"
      "pipelines:\n"
      "  copy: { source: live, target: staging, entities: [category, item] }\n");
  CommandResult tables = shop.Run({"check"});
  EXPECT_EQ(tables.exit_code, kCheckConfig) << Show(tables);
  EXPECT_TRUE(Contains(tables.err, "tether.yaml:5:")) << Show(tables);
  EXPECT_TRUE(Contains(tables.err, "did you mean 'category'")) << Show(tables);
  EXPECT_TRUE(Contains(tables.err, "tether.yaml:6:")) << Show(tables);
  EXPECT_TRUE(Contains(tables.err, "did you mean 'code'")) << Show(tables);
}

TEST(CheckTest, AFromDateAfterTheToDateIsAUsageError) {
  SmallShop shop;
  shop.WriteConfig(SmallShop::Config("sqlite:live.db", "sqlite:staging.db",
                                     "    filter: { date_column: qty }\n"));
  const std::string before = ReadFile(shop.staging());
  for (const std::vector<std::string>& dates :
       {std::vector<std::string>{"2025-03-02", "2025-03-01"},
        std::vector<std::string>{"2025-03-01 10:00", "2025-03-01 09:59:59"}}) {
    for (const char* command : {"sync", "plan"}) {
      CommandResult r = shop.Run({command, "--from-date", dates[0], "--to-date", dates[1]});
      EXPECT_EQ(r.exit_code, kCheckUsage) << Show(r);
      EXPECT_TRUE(Contains(r.err, "--from-date")) << Show(r);
    }
  }
  EXPECT_TRUE(ReadFile(shop.staging()) == before);
  // One day, and one moment, are ranges.
  EXPECT_EQ(shop.Run({"plan", "--from-date", "2025-03-01", "--to-date", "2025-03-01"}).exit_code,
            0);
  EXPECT_EQ(
      shop.Run({"plan", "--from-date", "2025-03-01 10:00", "--to-date", "2025-03-01 10:00:00"})
          .exit_code,
      0);
}

}  // namespace
}  // namespace tether::e2e
