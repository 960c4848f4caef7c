#include <gtest/gtest.h>

#include <string>

#include "connectors/connector.h"
#include "util/test_util.h"

namespace tether {
namespace {

using testing::Contains;

TEST(OpenConnectorTest, UnknownSchemeIsAConfigErrorNamingTheConnection) {
  auto c = OpenConnector("warehouse", "oracle://scott:tiger@db/orcl");
  ASSERT_CODE(c, StatusCode::kConfig);
  EXPECT_TRUE(Contains(c.status().message(), "warehouse")) << c.status().message();
  EXPECT_TRUE(Contains(c.status().message(), "sqlite")) << "lists the supported schemes";
  EXPECT_FALSE(Contains(c.status().message(), "tiger")) << c.status().message();
}

TEST(OpenConnectorTest, UrlWithoutSchemeIsAConfigError) {
  ASSERT_CODE(OpenConnector("x", "just/a/path.db"), StatusCode::kConfig);
  ASSERT_CODE(OpenConnector("x", ""), StatusCode::kConfig);
}

TEST(OpenConnectorTest, DispatchesSqlite) {
  testing::TempDir dir;
  auto c = OpenConnector("live", "sqlite:" + dir.File("a.db") + "?create=1");
  ASSERT_OK(c);
  EXPECT_EQ((*c)->engine(), "sqlite");
  EXPECT_EQ((*c)->connection_name(), "live");
  auto upper = OpenConnector("live", "SQLite:" + dir.File("a.db"));
  ASSERT_OK(upper);
}

TEST(RedactUrlTest, HidesUserInfoPassword) {
  EXPECT_EQ(RedactUrl("postgres://sync:s3cret@127.0.0.1:5432/shop"),
            "postgres://sync:***@127.0.0.1:5432/shop");
  EXPECT_EQ(RedactUrl("mysql://root:p%40ss@db/shop?ssl=1"), "mysql://root:***@db/shop?ssl=1");
}

TEST(RedactUrlTest, HidesPasswordsHoldingUrlCharacters) {
  EXPECT_EQ(RedactUrl("postgres://u:a/b?c@host/db"), "postgres://u:***@host/db");
  EXPECT_EQ(RedactUrl("postgres://u:a@b@host/db?x=1"), "postgres://u:***@host/db?x=1");
  EXPECT_EQ(RedactUrl("postgres://sync:p@ss?w=rd@host/db"), "postgres://sync:***@host/db");
}

TEST(RedactUrlTest, HidesPasswordParameters) {
  // Everything after a secret parameter is hidden: the secret itself may hold '&', ' ' or ';'.
  EXPECT_EQ(RedactUrl("postgres://host/db?user=u&password=s3cret&sslmode=require"),
            "postgres://host/db?user=u&password=***");
  EXPECT_EQ(RedactUrl("mysql://host/db?user=u&password=x&y"),
            "mysql://host/db?user=u&password=***");
  EXPECT_EQ(RedactUrl("host=h PASSWORD=s3cret dbname=shop"), "host=h PASSWORD=***");
  EXPECT_EQ(RedactUrl("host=h password='a b c' dbname=shop"), "host=h password=***");
  EXPECT_EQ(RedactUrl("https://api.example.com/v1?api_key=abc&page=2"),
            "https://api.example.com/v1?api_key=***");
}

TEST(RedactUrlTest, LeavesUrlsWithoutSecretsAlone) {
  for (const char* url :
       {"sqlite:demo/live.db", "sqlite:///tmp/x.db?create=1", "postgres://sync@127.0.0.1:5432/shop",
        "postgres://host:5432/db", "https://example.com/a:b/c", "sqlite:/tmp/we:ird@name.db"}) {
    EXPECT_EQ(RedactUrl(url), url);
  }
}

}  // namespace
}  // namespace tether
