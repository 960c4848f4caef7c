#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "connectors/connector.h"
#include "connectors/mysql/mysql_errors.h"
#include "connectors/mysql/mysql_url.h"
#include "mysql_test_util.h"

namespace tether {
namespace {

using testing::FreePort;

using mysql::ParseMysqlUrl;
using mysql::SslMode;
using testing::Contains;

// The test server's URL with another user and password.
std::string WithUser(const std::string& url, const std::string& user, const std::string& password) {
  size_t start = url.find("://") + 3;
  size_t at = url.rfind('@');
  return url.substr(0, start) + user + ":" + password + url.substr(at);
}

TEST(MysqlUrlTest, ParsesEveryPart) {
  auto o = ParseMysqlUrl("live",
                         "mysql://sync%40shop:p%40ss%3Aw%2Frd@db.example.com:3307/shop%20db?"
                         "ssl-mode=verify_ca&ssl-ca=/etc/ca.pem&connect-timeout=3");
  ASSERT_OK(o);
  EXPECT_EQ(o->user, "sync@shop");
  EXPECT_EQ(o->password, "p@ss:w/rd");
  EXPECT_EQ(o->host, "db.example.com");
  EXPECT_EQ(o->port, 3307u);
  EXPECT_EQ(o->database, "shop db");
  EXPECT_EQ(o->ssl_mode, SslMode::kVerifyCa);
  EXPECT_EQ(o->ssl_ca, "/etc/ca.pem");
  EXPECT_EQ(o->connect_timeout_s, 3u);
  EXPECT_EQ(o->Describe(), "sync@shop@db.example.com:3307/shop db");
}

TEST(MysqlUrlTest, DefaultsAndOtherForms) {
  auto o = ParseMysqlUrl("live", "MariaDB://root@localhost");
  ASSERT_OK(o);
  EXPECT_EQ(o->user, "root");
  EXPECT_EQ(o->password, "");
  EXPECT_EQ(o->port, 3306u);
  EXPECT_EQ(o->database, "");
  EXPECT_EQ(o->connect_timeout_s, 10u);
  EXPECT_EQ(o->ssl_mode, SslMode::kPreferred);

  auto v6 = ParseMysqlUrl("live", "mysql://u:p@[::1]:3310/db?socket=/run/my.sock");
  ASSERT_OK(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 3310u);
  EXPECT_EQ(v6->socket, "/run/my.sock");

  // An unencoded '@' in a password makes the URL ambiguous: refused (UrlPasswordTest).
  ASSERT_CODE(ParseMysqlUrl("live", "mysql://u:a@b@host/db"), StatusCode::kConfig);
  auto encoded = ParseMysqlUrl("live", "mysql://u:a%40b@host/db");
  ASSERT_OK(encoded);
  EXPECT_EQ(encoded->password, "a@b");
  EXPECT_EQ(encoded->host, "host");
}

TEST(MysqlUrlTest, BadUrlsAreConfigErrorsWithoutThePassword) {
  const char* bad[] = {
      "mysql://u:s3cret@host/db?colour=blue",         // unknown parameter
      "mysql://u:s3cret@host:99999/db",               // port out of range
      "mysql://u:s3cret@host:abc/db",                 // port not a number
      "mysql://u:s3cret@host/db?ssl-mode=sometimes",  // unknown mode
      "mysql://u:s3cret@host/db?connect-timeout=0",
      "mysql://u:s3cret@host/db?ssl-mode=VERIFY_CA",  // without ssl-ca
      "mysql://u:s3cret@host/a/b",
      "mysql://u:s3cret%zz@host/db",
  };
  for (const char* url : bad) {
    auto o = ParseMysqlUrl("live", url);
    ASSERT_CODE(o, StatusCode::kConfig);
    EXPECT_TRUE(Contains(o.status().message(), "live")) << o.status().message();
    EXPECT_FALSE(Contains(o.status().message(), "s3cret")) << o.status().message();
  }
  auto unknown = ParseMysqlUrl("live", "mysql://u@host/db?colour=blue");
  EXPECT_TRUE(Contains(unknown.status().message(), "colour")) << unknown.status().message();
}

TEST(MysqlOpenTest, OpensThroughTheRegistryWithBothSchemes) {
  testing::TestDatabase db("mysql");
  ASSERT_TRUE(db.ok());
  for (const std::string scheme : {"mysql", "mariadb"}) {
    std::string url = db.url();
    url.replace(0, url.find("://"), scheme);
    auto c = OpenConnector("shop", url);
    ASSERT_OK(c);
    EXPECT_EQ((*c)->engine(), "mysql");
    EXPECT_EQ((*c)->connection_name(), "shop");
    ASSERT_OK((*c)->Ping());
    Capabilities caps = (*c)->capabilities();
    EXPECT_TRUE(caps.transactions);
    EXPECT_TRUE(caps.read_ahead);
    EXPECT_TRUE(caps.state_store);
    EXPECT_TRUE(caps.writable);
  }
}

TEST(MysqlOpenTest, SessionIsUtf8mb4UtcAndStrict) {
  testing::TestDatabase db("mysql");
  auto c = db.Open();
  ASSERT_NE(c, nullptr);
  auto rows = c->Query(
      "SELECT @@character_set_client, @@character_set_results, @@time_zone, "
      "@@sql_mode, @@autocommit");
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  const Row& r = (*rows)[0];
  EXPECT_EQ(r[0], Value::Text("utf8mb4"));
  EXPECT_EQ(r[1], Value::Text("utf8mb4"));
  EXPECT_EQ(r[2], Value::Text("+00:00"));
  EXPECT_TRUE(Contains(r[3].as_string(), "STRICT_ALL_TABLES")) << r[3].as_string();
  EXPECT_TRUE(Contains(r[3].as_string(), "NO_ZERO_DATE")) << r[3].as_string();
  EXPECT_EQ(r[4], Value::Int(1));
}

TEST(MysqlOpenTest, ServerLevelConnectionCreatesDatabasesButDescribesNoTable) {
  const std::string admin = testing::ServerUrl("mysql");
  ASSERT_FALSE(admin.empty());
  auto c = OpenConnector("admin", admin);
  ASSERT_OK(c);
  ASSERT_OK((*c)->ExecuteScript("CREATE DATABASE IF NOT EXISTS tt_server_level_probe"));
  ASSERT_OK((*c)->ExecuteScript("DROP DATABASE tt_server_level_probe"));
  auto described = (*c)->DescribeTable("anything");
  ASSERT_CODE(described, StatusCode::kConfig);
  EXPECT_TRUE(Contains(described.status().message(), "no database"))
      << described.status().message();
}

TEST(MysqlOpenTest, UnreachableServerIsAConnectionError) {
  const std::string url =
      "mysql://tether:s3cret-pw@127.0.0.1:" + std::to_string(FreePort()) + "/db?connect-timeout=2";
  auto c = OpenConnector("warehouse", url);
  ASSERT_CODE(c, StatusCode::kConnection);
  const std::string m = c.status().message();
  EXPECT_TRUE(Contains(m, "warehouse")) << m;
  EXPECT_TRUE(Contains(m, "cannot reach 127.0.0.1:")) << m;
  EXPECT_TRUE(Contains(m, "connection refused")) << m;
  EXPECT_FALSE(Contains(m, "s3cret-pw")) << m;
}

TEST(MysqlOpenTest, WrongPasswordIsAnAuthenticationError) {
  const std::string admin = testing::ServerUrl("mysql");
  ASSERT_FALSE(admin.empty());
  auto c = OpenConnector("warehouse", WithUser(admin, "tether", "wr0ng-s3cret"));
  ASSERT_CODE(c, StatusCode::kConnection);
  const std::string m = c.status().message();
  EXPECT_TRUE(Contains(m, "warehouse")) << m;
  EXPECT_TRUE(Contains(m, "authentication failed for user 'tether'")) << m;
  EXPECT_FALSE(Contains(m, "wr0ng-s3cret")) << m;
}

TEST(MysqlOpenTest, MissingDatabaseIsAConnectionErrorNamingIt) {
  const std::string admin = testing::ServerUrl("mysql");
  ASSERT_FALSE(admin.empty());
  auto c = OpenConnector("warehouse", testing::WithDatabase(admin, "tt_no_such_database"));
  ASSERT_CODE(c, StatusCode::kConnection);
  const std::string m = c.status().message();
  EXPECT_TRUE(Contains(m, "warehouse")) << m;
  EXPECT_TRUE(Contains(m, "database 'tt_no_such_database' does not exist")) << m;
  EXPECT_FALSE(Contains(m, "tether-test")) << m;
}

TEST(MysqlOpenTest, TlsRequiredFailsOnAServerWithoutItAndPreferredFallsBack) {
  testing::TestDatabase db("mysql");
  ASSERT_TRUE(db.ok());
  auto required = OpenConnector("secure", db.url() + "?ssl-mode=REQUIRED");
  ASSERT_CODE(required, StatusCode::kConnection);
  EXPECT_TRUE(Contains(required.status().message(), "TLS")) << required.status().message();
  ASSERT_OK(OpenConnector("plain", db.url() + "?ssl-mode=PREFERRED"));
  ASSERT_OK(OpenConnector("plain", db.url() + "?ssl-mode=DISABLED"));
}

// A user with SELECT on one table only: connecting to another database, reading another table
// and writing are all refused as permission problems.
TEST(MysqlOpenTest, MissingGrantsArePermissionDenied) {
  testing::TestDatabase db("mysql");
  ASSERT_TRUE(db.ok());
  const std::string user = "tt_ro_" + std::to_string(getpid());
  db.Exec("CREATE TABLE open_t (id INT PRIMARY KEY); CREATE TABLE secret_t (id INT PRIMARY KEY)");
  db.Exec("DROP USER IF EXISTS '" + user + "'@'%'; CREATE USER '" + user +
          "'@'%' IDENTIFIED BY 'ro-pass-1'; GRANT SELECT ON " + db.name() + ".open_t TO '" + user +
          "'@'%'");
  const std::string url = WithUser(db.url(), user, "ro-pass-1");
  {
    auto c = OpenConnector("reader", url);
    ASSERT_OK(c);
    ASSERT_OK((*c)->Query("SELECT id FROM open_t"));
    auto read = (*c)->Query("SELECT id FROM secret_t");
    ASSERT_CODE(read, StatusCode::kPermissionDenied);
    EXPECT_TRUE(Contains(read.status().message(), "reader")) << read.status().message();
    EXPECT_FALSE(Contains(read.status().message(), "ro-pass-1"));
    ASSERT_CODE((*c)->Insert("open_t", {"id"}, {{Value::Int(1)}}, {}),
                StatusCode::kPermissionDenied);
    auto other_db = OpenConnector("reader", testing::WithDatabase(url, "mysql"));
    ASSERT_CODE(other_db, StatusCode::kPermissionDenied);
    EXPECT_FALSE(Contains(other_db.status().message(), "ro-pass-1"));
  }
  db.Exec("DROP USER '" + user + "'@'%'");
}

TEST(MysqlOpenTest, MissingTableIsNotFound) {
  testing::TestDatabase db("mysql");
  auto c = db.Open("shop");
  ASSERT_NE(c, nullptr);
  auto described = c->DescribeTable("nope");
  ASSERT_OK(described);
  EXPECT_FALSE(described->has_value());
  ScanRequest req;
  req.table = "nope";
  auto scan = c->Scan(req);
  ASSERT_CODE(scan, StatusCode::kNotFound);
  EXPECT_TRUE(Contains(scan.status().message(), "nope")) << scan.status().message();
  EXPECT_TRUE(Contains(scan.status().message(), "shop")) << scan.status().message();
  ASSERT_CODE(c->Insert("nope", {"a"}, {{Value::Int(1)}}, {}), StatusCode::kNotFound);
  ASSERT_CODE(c->Count("nope", {}), StatusCode::kNotFound);
}

TEST(MysqlOpenTest, AKilledSessionIsAConnectionError) {
  testing::TestDatabase db("mysql");
  auto victim = db.Open("victim");
  auto admin = db.Open("admin");
  ASSERT_NE(victim, nullptr);
  ASSERT_NE(admin, nullptr);
  auto id = victim->Query("SELECT CONNECTION_ID()");
  ASSERT_OK(id);
  ASSERT_OK(admin->ExecuteScript("KILL CONNECTION " + (*id)[0][0].ToText()));
  auto after = victim->Query("SELECT 1");
  ASSERT_CODE(after, StatusCode::kConnection);
  EXPECT_TRUE(Contains(after.status().message(), "victim")) << after.status().message();
  EXPECT_TRUE(after.status().IsRetryable());
  ASSERT_CODE(victim->Ping(), StatusCode::kConnection);
}

TEST(MysqlOpenTest, ServerErrorNumbersMapToStatusCodes) {
  const std::pair<unsigned, StatusCode> cases[] = {
      {2002, StatusCode::kConnection},       {2003, StatusCode::kConnection},
      {2006, StatusCode::kConnection},       {2013, StatusCode::kConnection},
      {1045, StatusCode::kConnection},       {1049, StatusCode::kNotFound},
      {1146, StatusCode::kNotFound},         {1142, StatusCode::kPermissionDenied},
      {1143, StatusCode::kPermissionDenied}, {1044, StatusCode::kPermissionDenied},
      {1062, StatusCode::kConstraint},       {1451, StatusCode::kConstraint},
      {1452, StatusCode::kConstraint},       {1048, StatusCode::kConstraint},
      {1364, StatusCode::kConstraint},       {1406, StatusCode::kInvalidRecord},
      {1264, StatusCode::kInvalidRecord},    {1366, StatusCode::kInvalidRecord},
      {1292, StatusCode::kInvalidRecord},    {4025, StatusCode::kInvalidRecord},
      {1213, StatusCode::kTryAgain},         {1205, StatusCode::kBusy},
      {1064, StatusCode::kInternal},         {0, StatusCode::kInternal},
  };
  for (const auto& [number, code] : cases) {
    EXPECT_EQ(mysql::CodeFor(number), code) << number;
  }
}

}  // namespace
}  // namespace tether
