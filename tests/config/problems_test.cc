// A configuration with several problems gets them all in one load, each at its file:line:column,
// without echoes (an entry that names a broken one is not blamed too); a quoted value that is
// never closed is an error at its opening quote (yaml-cpp would read it on to the end of the
// file); and where each column name of an entity was written is kept, for the engine's messages.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "util/test_util.h"

namespace tether {
namespace {

std::optional<std::string> NoEnv(const std::string&) { return std::nullopt; }

Result<Config> ParseText(const std::string& text) {
  return ParseConfig(text, "/x/tether.yaml", NoEnv);
}

std::vector<std::string> MessageLines(const Status& s) {
  std::vector<std::string> out;
  const std::string& m = s.message();
  for (size_t start = 0; start <= m.size();) {
    size_t end = std::min(m.find('\n', start), m.size());
    out.push_back(m.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

TEST(ConfigProblemsTest, EveryEntrysProblemIsReportedInOneLoad) {
  const std::string text =
      "connections:\n"
      "  live: { url: \"sqlite:live.db\" }\n"
      "  staging: { uri: \"sqlite:staging.db\" }\n"  // 3: unknown key
      "entities:\n"
      "  product: { table: product, mtach: [sku] }\n"         // 5: unknown key
      "  category: { table: category, delete: sometimes }\n"  // 6: bad value
      "  brand: { table: brand }\n"
      "pipelines:\n"
      "  one: { source: live, target: staging, entities: [product, brand] }\n"
      "  two: { source: live, target: nowhere, entities: [brand] }\n"  // 10: undefined
      "  three: { source: live, target: live, entities: [brand], on_invalid: maybe }\n";  // 11
  Result<Config> c = ParseText(text);
  ASSERT_CODE(c, StatusCode::kConfig);
  const std::vector<std::string> lines = MessageLines(c.status());
  ASSERT_EQ(lines.size(), 5u) << c.status().message();
  EXPECT_TRUE(::tether::testing::Contains(lines[0], "tether.yaml:3:")) << lines[0];
  EXPECT_TRUE(::tether::testing::Contains(lines[0], "did you mean 'url'")) << lines[0];
  EXPECT_TRUE(::tether::testing::Contains(lines[1], "tether.yaml:5:")) << lines[1];
  EXPECT_TRUE(::tether::testing::Contains(lines[1], "did you mean 'match'")) << lines[1];
  EXPECT_TRUE(::tether::testing::Contains(lines[2], "tether.yaml:6:")) << lines[2];
  EXPECT_TRUE(::tether::testing::Contains(lines[3], "tether.yaml:10:")) << lines[3];
  EXPECT_TRUE(::tether::testing::Contains(lines[3], "nowhere")) << lines[3];
  EXPECT_TRUE(::tether::testing::Contains(lines[4], "tether.yaml:11:")) << lines[4];
  EXPECT_TRUE(::tether::testing::Contains(lines[4], "maybe")) << lines[4];
  // Pipeline `one` names the broken connection and entity: no second complaint about them.
  for (const std::string& line : lines) {
    EXPECT_FALSE(::tether::testing::Contains(line, "is not defined") &&
                 (::tether::testing::Contains(line, "'staging'") ||
                  ::tether::testing::Contains(line, "'product'")))
        << line;
  }
}

TEST(ConfigProblemsTest, AQuotedValueThatIsNeverClosedIsAnErrorAtItsQuote) {
  for (const char* text : {"connections:\n  live: \"sqlite:live.db\npipelines: {}\n",
                           "connections:\n  live: 'sqlite:live.db\n"}) {
    Result<Config> c = ParseText(text);
    ASSERT_CODE(c, StatusCode::kConfig);
    EXPECT_TRUE(::tether::testing::Contains(c.status().message(), "tether.yaml:2:"))
        << text << "\n"
        << c.status().message();
  }
  // Inside a flow map the YAML parser itself stops at the end of the text: an error too.
  Result<Config> flow = ParseText("connections:\n  live: { url: \"sqlite:live.db }\n");
  ASSERT_CODE(flow, StatusCode::kConfig);
  EXPECT_TRUE(::tether::testing::Contains(flow.status().message(), "tether.yaml:"))
      << flow.status().message();
  // Quotes that close, escaped ones included, are fine.
  Result<Config> ok = ParseText(
      "connections:\n  live: \"sqlite:a\\\"b.db\"\n  staging: 'sqlite:it''s.db'\n"
      "  \"key with quotes\": \"sqlite:c.db\"\n");
  ASSERT_OK(ok);
  EXPECT_EQ(ok->connections.size(), 3u);
}

TEST(ConfigProblemsTest, WhereEachColumnNameWasWrittenIsKept) {
  const std::string text =
      "entities:\n"
      "  product:\n"
      "    table: product\n"
      "    match: [sku, code]\n"
      "    references: { category_id: category }\n"
      "    columns: { rename: { title: name }, exclude: [note] }\n"
      "    cursor: { column: updated_at }\n"
      "  category: { table: category }\n";
  Result<Config> c = ParseText(text);
  ASSERT_OK(c);
  const EntityConfig* e = c->FindEntity("product");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->LocationOf("match", "code").ToString(), "/x/tether.yaml:4:18");
  EXPECT_EQ(e->LocationOf("references", "category_id").ToString(), "/x/tether.yaml:5:19");
  EXPECT_EQ(e->LocationOf("columns.rename", "title").ToString(), "/x/tether.yaml:6:26");
  EXPECT_EQ(e->LocationOf("columns.exclude", "note").ToString(), "/x/tether.yaml:6:51");
  EXPECT_EQ(e->LocationOf("cursor", "updated_at").ToString(), "/x/tether.yaml:7:23");
  EXPECT_EQ(e->LocationOf("source_table").ToString(), "/x/tether.yaml:3:12");
  EXPECT_EQ(e->LocationOf("match", "nonesuch").ToString(), e->location.ToString());
}

}  // namespace
}  // namespace tether
