// The CLI against real PostgreSQL and MariaDB servers: `tether schema` prints and applies the
// DDL of missing target tables in the target's dialect, and connection problems are told apart —
// wrong password, unreachable host, missing database — naming the connection, never the password,
// with exit code 4.
#include <string>
#include <vector>

#include "e2e_util.h"
#include "util/test_database.h"

namespace tether::e2e {
namespace {

using ::tether::testing::PortableRows;
using ::tether::testing::ServerUrl;
using ::tether::testing::TestDatabase;
using ::tether::testing::WithDatabase;

constexpr char kServerCliEntities[] = R"(
entities:
  product: { table: Product Lines, match: [SKU], keys: mapped }
  item:
    table: order
    key: [id]
    keys: identity
    references: { product_id: product }
pipelines:
  p: { source: src, target: dst, entities: [product, item] }
)";

void WriteConfig(const TempDir& dir, const std::string& src, const std::string& dst) {
  WriteFile(dir.File("tether.yaml"), "connections:\n  src: { url: \"" + src +
                                         "\" }\n  dst: { url: \"" + dst + "\" }\n" +
                                         kServerCliEntities);
}

TEST(ServerCliTest, SchemaPrintsAndAppliesTheTargetDdlInTheTargetsDialect) {
  TestDatabase src("postgres"), dst("mysql");
  ASSERT_TRUE(src.ok() && dst.ok());
  // Mixed case, spaces and a reserved word: quoted everywhere, on both sides.
  src.Exec(R"(CREATE TABLE "Product Lines" (id serial PRIMARY KEY, "SKU" varchar(40) NOT NULL,
                price numeric(12,2), added timestamptz(3), doc jsonb);
              CREATE TABLE "order" (id bigint PRIMARY KEY, product_id int, qty int NOT NULL);
              INSERT INTO "Product Lines" ("SKU", price, added, doc)
                VALUES ('A-1', 9.90, '2024-01-02 03:04:05.678+02', '{"x": 1}');
              INSERT INTO "order" VALUES (10, 1, 2);)");
  TempDir dir;
  WriteConfig(dir, src.url(), dst.url());

  CommandResult printed = Tether({"-c", dir.File("tether.yaml"), "schema"}, dir.path().string());
  ASSERT_EQ(printed.exit_code, 0) << Show(printed);
  EXPECT_TRUE(Contains(printed.out, "CREATE TABLE IF NOT EXISTS `Product Lines`")) << printed.out;
  EXPECT_TRUE(Contains(printed.out, "AUTO_INCREMENT")) << printed.out;
  EXPECT_TRUE(Contains(printed.out, "`SKU` varchar(40)")) << printed.out;
  EXPECT_TRUE(Contains(printed.out, "decimal(12,2)")) << printed.out;
  EXPECT_TRUE(Contains(printed.out, "CREATE TABLE IF NOT EXISTS `order`")) << printed.out;
  EXPECT_TRUE(Contains(printed.err, "2 table(s) missing")) << printed.err;
  EXPECT_TRUE(::tether::testing::TableNames(dst).empty());

  CommandResult applied =
      Tether({"-c", dir.File("tether.yaml"), "schema", "--apply"}, dir.path().string());
  ASSERT_EQ(applied.exit_code, 0) << Show(applied);
  CommandResult again = Tether({"-c", dir.File("tether.yaml"), "schema"}, dir.path().string());
  EXPECT_EQ(again.exit_code, 0) << Show(again);
  EXPECT_TRUE(Contains(again.err, "every target table of pipeline 'p' exists")) << Show(again);

  CommandResult sync = Tether({"-c", dir.File("tether.yaml"), "sync"}, dir.path().string());
  ASSERT_EQ(sync.exit_code, 0) << Show(sync);
  // timestamptz became datetime(3), holding the UTC time (a timestamp would stop in 2038).
  EXPECT_EQ(PortableRows(dst, "SELECT `SKU`, price, added, doc FROM `Product Lines`"),
            std::vector<std::string>{"A-1|9.9|2024-01-02 01:04:05.678|{\"x\": 1}"});
  EXPECT_EQ(PortableRows(dst,
                         "SELECT o.id, p.`SKU`, o.qty FROM `order` o "
                         "JOIN `Product Lines` p ON p.id = o.product_id"),
            std::vector<std::string>{"10|A-1|2"});
  CommandResult noop = Tether({"-c", dir.File("tether.yaml"), "sync"}, dir.path().string());
  EXPECT_EQ(noop.exit_code, 0) << Show(noop);
  EXPECT_TRUE(Contains(noop.out, "nothing to do")) << Show(noop);
}

// URL pieces of a test server: scheme://user:password@host:port/
struct Parts {
  std::string scheme, user, password, hostport;
};
Parts Split(const std::string& url) {
  Parts p;
  size_t s = url.find("://");
  p.scheme = url.substr(0, s);
  size_t at = url.rfind('@');
  std::string userinfo = url.substr(s + 3, at - s - 3);
  p.user = userinfo.substr(0, userinfo.find(':'));
  p.password = userinfo.substr(userinfo.find(':') + 1);
  p.hostport = url.substr(at + 1, url.find('/', at) - at - 1);
  return p;
}

class ConnectionErrorTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConnectionErrorTest, EachProblemIsToldApartWithoutThePassword) {
  TestDatabase src("sqlite"), dst(GetParam());
  ASSERT_TRUE(dst.ok());
  const Parts p = Split(ServerUrl(GetParam()));
  const std::string secret = "Sup3r-s3cret-pw";
  struct Case {
    std::string url, expect;
  };
  const Case cases[] = {
      {p.scheme + "://" + p.user + ":" + secret + "@" + p.hostport + "/" + dst.name(),
       "authentication failed"},
      {p.scheme + "://" + p.user + ":" + secret + "@127.0.0.1:1/" + dst.name(), "cannot reach"},
      {WithDatabase(ServerUrl(GetParam()), "no_such_db_here"), "does not exist"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    WriteConfig(dir, src.url(), c.url);
    CommandResult r = Tether({"-c", dir.File("tether.yaml"), "check"}, dir.path().string());
    EXPECT_EQ(r.exit_code, 4) << Show(r);
    EXPECT_TRUE(Contains(r.err, "connection 'dst'")) << Show(r);
    EXPECT_TRUE(Contains(r.err, c.expect)) << Show(r);
    EXPECT_FALSE(Contains(r.out + r.err, secret)) << Show(r);
    // (The test password is also part of temp folder names, so look for it as a password.)
    EXPECT_FALSE(Contains(r.out + r.err, ":" + p.password + "@")) << Show(r);
  }
  // Reachable, but the table is missing: a configuration problem naming table and connection.
  TempDir dir;
  WriteConfig(dir, src.url(), dst.url());
  src.Exec(
      "CREATE TABLE \"Product Lines\" (id INTEGER PRIMARY KEY, SKU TEXT);"
      "CREATE TABLE \"order\" (id INTEGER PRIMARY KEY, product_id INTEGER)");
  CommandResult r = Tether({"-c", dir.File("tether.yaml"), "sync"}, dir.path().string());
  EXPECT_EQ(r.exit_code, 3) << Show(r);
  EXPECT_TRUE(Contains(r.err, "table 'Product Lines' does not exist on connection 'dst'"))
      << Show(r);
}

INSTANTIATE_TEST_SUITE_P(Servers, ConnectionErrorTest, ::testing::Values("postgres", "mysql"));

}  // namespace
}  // namespace tether::e2e
