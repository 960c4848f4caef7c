#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "connectors/connector.h"
#include "util/test_database.h"
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

TEST(ConnectorUrlTest, SchemesNameTheirEngineInAnyLetterCase) {
  for (const char* url : {"sqlite:a.db", "SQLITE:a.db", "SQLite://a.db"}) {
    EXPECT_EQ(ConnectorEngine(url), "sqlite") << url;
  }
  for (const char* url : {"postgres://h/db", "Postgres://h/db", "POSTGRESQL://h/db"}) {
    EXPECT_EQ(ConnectorEngine(url), "postgres") << url;
  }
  for (const char* url : {"mysql://h/db", "MySQL://h/db", "MariaDB://h/db"}) {
    EXPECT_EQ(ConnectorEngine(url), "mysql") << url;
  }
  EXPECT_EQ(ConnectorEngine("oracle://h/db"), "");
  EXPECT_EQ(ConnectorEngine("postgresx://h/db"), "");
  EXPECT_EQ(ConnectorEngine("a.db"), "");
}

TEST(ConnectorUrlTest, DescribesAUrlWithoutOpeningIt) {
  testing::TempDir dir;
  const std::string path = dir.File("never.db");
  for (const std::string& url : {"sqlite:" + path, "SQLite:" + path, "SQLITE://" + path}) {
    auto d = DescribeConnectorUrl("live", url);
    ASSERT_OK(d);
    EXPECT_EQ(d->engine, "sqlite");
    EXPECT_EQ(d->file, path);
    EXPECT_FALSE(d->creates);
    EXPECT_EQ(LocalDatabaseFile("live", url).value(), path);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(DescribeConnectorUrl("live", "Sqlite:" + path + "?create=1")->creates);
  auto memory = DescribeConnectorUrl("live", "sqlite::memory:");
  ASSERT_OK(memory);
  EXPECT_EQ(memory->file, std::nullopt);
  auto server = DescribeConnectorUrl("staging", "PostgreSQL://u:secret@h/db");
  ASSERT_OK(server);
  EXPECT_EQ(server->engine, "postgres");
  EXPECT_EQ(server->file, std::nullopt);
  ASSERT_CODE(DescribeConnectorUrl("live", "sqlite:" + path + "?colour=red"), StatusCode::kConfig);
  ASSERT_CODE(DescribeConnectorUrl("w", "oracle://h/db"), StatusCode::kConfig);
}

TEST(ConnectorUrlTest, CreatingAddsCreateUnlessTheUrlSaysOtherwise) {
  EXPECT_EQ(ConnectorUrlCreating("s", "sqlite:/x/s.db").value(), "sqlite:/x/s.db?create=1");
  EXPECT_EQ(ConnectorUrlCreating("s", "SQLite:/x/s.db?busy_timeout_ms=9").value(),
            "SQLite:/x/s.db?busy_timeout_ms=9&create=1");
  EXPECT_EQ(ConnectorUrlCreating("s", "sqlite:/x/s.db?mode=rw").value(),
            "sqlite:/x/s.db?mode=rw&create=1");
  for (const char* unchanged : {"sqlite:/x/s.db?create=0", "sqlite:/x/s.db?create=true",
                                "SQLITE:/x/s.db?mode=ro", "Postgres://h/db", "mysql://h/db"}) {
    EXPECT_EQ(ConnectorUrlCreating("s", unchanged).value(), unchanged);
  }
  EXPECT_TRUE(DescribeConnectorUrl("s", *ConnectorUrlCreating("s", "SQLite:/x/s.db"))->creates);
  ASSERT_CODE(ConnectorUrlCreating("s", "sqlite:"), StatusCode::kConfig);
}

TEST(ConnectorUrlTest, RelativeFilesAreMadeAbsoluteInAnyLetterCase) {
  EXPECT_EQ(ConnectorUrlRelativeTo("sqlite:demo/live.db", "/cfg"), "sqlite:/cfg/demo/live.db");
  EXPECT_EQ(ConnectorUrlRelativeTo("SQLITE:demo/live.db", "/cfg"), "SQLITE:/cfg/demo/live.db");
  EXPECT_EQ(ConnectorUrlRelativeTo("SQLite://db/../live.db?mode=ro", "/cfg"),
            "SQLite:///cfg/live.db?mode=ro");
  // Options are kept as written, even ones the connector will refuse when it opens the URL.
  EXPECT_EQ(ConnectorUrlRelativeTo("sqlite:./x.db?mode=rwc", "/cfg"), "sqlite:/cfg/x.db?mode=rwc");
  for (const char* unchanged :
       {"sqlite:/abs/x.db", "sqlite:///abs/x.db", "sqlite::memory:", "sqlite:", "Postgres://h/db",
        "mysql://u@h/db", "oracle://h/db", "x.db"}) {
    EXPECT_EQ(ConnectorUrlRelativeTo(unchanged, "/cfg"), unchanged);
  }
  // What the connector opens.
  testing::TempDir dir;
  auto c = OpenConnector(
      "live", ConnectorUrlRelativeTo("SQLite:sub/../a.db?create=1", dir.path().string()));
  ASSERT_OK(c);
  EXPECT_TRUE(std::filesystem::exists(dir.File("a.db")));
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

// A password holding a character that ends the user information early ('@' ends it at the
// password's '@'; '/', '?' and '#' end the authority) is read differently by different parsers:
// libpq took "p@ss@host" as password "p" on host "ss@host" and named that host in its error.
// Such a URL is refused up front; no message ever holds a part of the password. ':' is fine
// unencoded (the user name ends at the first ':'), and so is every character percent-encoded.
TEST(UrlPasswordTest, NoPartOfAPasswordReachesAMessageWhateverItHolds) {
  struct Case {
    std::string scheme;
    std::string server;  // "user:password@host:port/" of a real server, or a closed port
  };
  std::vector<Case> cases;
  for (const std::string scheme : {"postgres", "mysql"}) {
    cases.push_back({scheme, "tether:x@127.0.0.1:1/"});
    const std::string url = testing::ServerUrl(scheme);
    if (!url.empty()) cases.push_back({scheme, url.substr(url.find("://") + 3)});
  }
  for (const Case& c : cases) {
    const size_t at = c.server.rfind('@');
    const std::string user = c.server.substr(0, c.server.find(':'));
    const std::string host = c.server.substr(at + 1, c.server.find('/', at) - at);
    for (const char special : {'@', ':', '/', '?', '#'}) {
      const std::string url =
          c.scheme + "://" + user + ":Qx7" + special + "Zk9@" + host + "tether_db";
      auto conn = OpenConnector("warehouse", url);
      ASSERT_FALSE(conn.ok()) << url;
      const std::string m = conn.status().message();
      EXPECT_TRUE(Contains(m, "warehouse")) << m;
      EXPECT_FALSE(Contains(m, "Qx7")) << url << ": " << m;
      EXPECT_FALSE(Contains(m, "Zk9")) << url << ": " << m;
      if (special == ':') {
        // A wrong password (or no server): a connection error, not a refusal of the URL.
        EXPECT_NE(conn.status().code(), StatusCode::kConfig) << m;
        EXPECT_OK(CheckConnectorUrl("warehouse", url));
      } else {
        EXPECT_EQ(conn.status().code(), StatusCode::kConfig) << url << ": " << m;
        Status check = CheckConnectorUrl("warehouse", url);
        EXPECT_EQ(check.code(), StatusCode::kConfig) << url;
        EXPECT_FALSE(Contains(check.message(), "Qx7") || Contains(check.message(), "Zk9"));
      }
    }
  }
}

TEST(UrlPasswordTest, UserInformationIsReadAtTheOneAtSign) {
  auto info = ParseUrlUserInfo("w", "postgres://a%40b:p%40ss:w%2Frd%3F%23@host:5/db?x=1");
  ASSERT_OK(info);
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->user, "a@b");
  EXPECT_EQ((*info)->password, "p@ss:w/rd?#");
  auto no_password = ParseUrlUserInfo("w", "mysql://root@host/db");
  ASSERT_OK(no_password);
  EXPECT_EQ((*no_password)->user, "root");
  EXPECT_EQ((*no_password)->password, std::nullopt);
  auto none = ParseUrlUserInfo("w", "postgres://host/db?application_name=x");
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  for (const char* bad :
       {"postgres://u:p@ss@host/db", "postgres://u:pa/ss@host/db",
        "postgres://host/db?application_name=a@b", "mysql://u:pa?ss@host/db",
        "mysql://u:pa#ss@host/db", "mysql://u:p%zz@host/db", "mysql://u%4@host/db"}) {
    EXPECT_EQ(ParseUrlUserInfo("w", bad).status().code(), StatusCode::kConfig) << bad;
  }
}

}  // namespace
}  // namespace tether
