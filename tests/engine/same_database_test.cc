// A pipeline whose source and target are one database would copy each table into itself (every
// run doubling it): it is refused before anything is read or written, however the two URLs are
// spelled, on every engine — and two databases that look alike are not taken for one.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class SameDatabaseTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok());
    db_.Exec(PortableSql(GetParam(),
                         "CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT NOT NULL);"
                         "INSERT INTO product VALUES (1, 'A'), (2, 'B'), (3, 'C')"));
  }

  // The same database, reached through a URL spelled differently.
  std::string OtherSpelling() const {
    const std::string& url = db_.url();
    if (GetParam() == "sqlite") {
      // A symbolic link to the file, and ".." in the path.
      std::filesystem::path file = url.substr(7, url.find('?') - 7);
      std::filesystem::create_directory(dir_.File("sub"));
      std::filesystem::create_symlink(file, dir_.File("link.db"));
      return "sqlite:" + dir_.File("sub") + "/../link.db";
    }
    // postgres:// -> postgresql://, mysql:// -> mariadb://
    return GetParam() == "postgres" ? "postgresql" + url.substr(8) : "mariadb" + url.substr(5);
  }

  Config Load(const std::string& target_url) {
    WriteFile(dir_.File("tether.yaml"),
              "connections:\n  shop: { url: \"" + db_.url() + "\" }\n  copy: { url: \"" +
                  target_url +
                  "\" }\nentities:\n  product: { table: product, match: [sku] }\n"
                  "pipelines:\n  p: { source: shop, target: copy, entities: [product] }\n");
    auto config = LoadConfig(dir_.File("tether.yaml"));
    EXPECT_TRUE(config.ok()) << config.status().ToString();
    return config.ok() ? *config : Config{};
  }

  TestDatabase db_{GetParam()};
  TempDir dir_;
};

TEST_P(SameDatabaseTest, APipelineFromADatabaseIntoItselfIsRefused) {
  const Config config = Load(OtherSpelling());
  const std::string before = Snapshot(db_);
  SyncRequest req;
  req.pipeline = "p";
  Result<SyncReport> sync = RunSync(config, req);
  ASSERT_CODE(sync, StatusCode::kConfig);
  const std::string message = sync.status().message();
  EXPECT_TRUE(Contains(message, "'shop'") && Contains(message, "'copy'")) << message;
  req.dry_run = true;
  ASSERT_CODE(RunSync(config, req), StatusCode::kConfig);
  ASSERT_CODE(CheckPipelines(config, {"p"}), StatusCode::kConfig);
  EXPECT_TRUE(Snapshot(db_) == before) << "nothing written";
}

TEST_P(SameDatabaseTest, TwoDatabasesOfOneServerAreTwo) {
  TestDatabase other(GetParam());
  ASSERT_TRUE(other.ok());
  other.Exec(PortableSql(GetParam(), "CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT)"));
  const Config config = Load(other.url());
  SyncRequest req;
  req.pipeline = "p";
  ASSERT_OK(RunSync(config, req));
  EXPECT_EQ(PortableRows(other, "SELECT sku FROM product ORDER BY sku"),
            (std::vector<std::string>{"A", "B", "C"}));
}

INSTANTIATE_TEST_SUITE_P(Engines, SameDatabaseTest, ::testing::ValuesIn(AllEngines()));

}  // namespace
}  // namespace tether::testing
