// A table or column the config names but the database does not have: every one is reported in
// one go, each at the config entry that names it (file:line:column), with the closest name the
// database does have — on every pair of engines, for sync, plan and check alike.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class UnknownNamesTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Both(
        "CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, price REAL);"
        "CREATE TABLE category (id INTEGER PRIMARY KEY, slug TEXT NOT NULL)");
  }
  // The line of tether.yaml (1-based) holding `text`.
  int LineOf(const std::string& text) {
    const std::vector<std::string> lines = Lines(ReadFile(dir_.File("tether.yaml")));
    for (size_t i = 0; i < lines.size(); ++i) {
      if (Contains(lines[i], text)) return static_cast<int>(i) + 1;
    }
    ADD_FAILURE() << text;
    return -1;
  }
  static std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
      out.push_back(text.substr(start, nl - start));
    }
    return out;
  }
  // The message names tether.yaml at the line holding `entry`, and says `what`.
  void ExpectAt(const std::string& message, const std::string& entry, const std::string& what) {
    const std::string place = "tether.yaml:" + std::to_string(LineOf(entry)) + ":";
    bool found = false;
    std::string line;
    for (size_t start = 0; start <= message.size();) {
      size_t end = std::min(message.find('\n', start), message.size());
      line = message.substr(start, end - start);
      if (Contains(line, place) && Contains(line, what)) found = true;
      start = end + 1;
    }
    EXPECT_TRUE(found) << "no line at " << place << " saying " << what << ":\n" << message;
  }
};

TEST_P(UnknownNamesTest, EveryMissingTableAndColumnIsNamedAtItsEntryWithTheClosestName) {
  Configure(
      "entities:\n"
      "  product:\n"
      "    table: product\n"
      "    match: [skuu]\n"
      "    columns: { rename: { price: prize } }\n"
      "  category:\n"
      "    table: categroy\n"
      "    match: [slug]\n" +
      Pipeline("product, category"));
  for (bool dry_run : {false, true}) {
    SyncRequest req;
    req.dry_run = dry_run;
    Result<SyncReport> r = Sync(req);
    ASSERT_CODE(r, StatusCode::kNotFound);
    const std::string m = r.status().message();
    ExpectAt(m, "match: [skuu]", "did you mean 'sku'?");
    ExpectAt(m, "rename: { price: prize }", "did you mean 'price'?");
    ExpectAt(m, "table: categroy", "did you mean 'category'?");
  }
  Status check = CheckPipelines(config_, {});
  ASSERT_CODE(check, StatusCode::kNotFound);
  ExpectAt(check.message(), "table: categroy", "did you mean 'category'?");
  ExpectAt(check.message(), "match: [skuu]", "did you mean 'sku'?");
  EXPECT_FALSE(TargetHasStateTables()) << "nothing written";
}

TEST_P(UnknownNamesTest, CheckReportsEveryPipelinesProblems) {
  Configure(
      "entities:\n"
      "  product: { table: product, match: [sku], cursor: updatd_at }\n"
      "  category: { table: category, match: [slgu] }\n"
      "pipelines:\n"
      "  p: { source: src, target: dst, entities: [product] }\n"
      "  q: { source: src, target: dst, entities: [category] }\n");
  Status check = CheckPipelines(config_, {});
  ASSERT_CODE(check, StatusCode::kNotFound);
  ExpectAt(check.message(), "cursor: updatd_at", "'updatd_at'");
  ExpectAt(check.message(), "match: [slgu]", "did you mean 'slug'?");
}

TETHER_ALL_PAIRS(UnknownNamesTest);

}  // namespace
}  // namespace tether::testing
