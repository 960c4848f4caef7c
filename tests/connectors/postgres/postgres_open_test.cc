#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "connectors/postgres/postgres_dialect.h"
#include "connectors/postgres/postgres_url.h"
#include "postgres_test_util.h"

namespace tether {
namespace {

using testing::FreePort;

using testing::Contains;

// "postgres://user:password@host:port/" of the test server, split.
struct ServerParts {
  std::string user, password, host_port, query;
};

ServerParts Parts() {
  ServerParts p;
  std::string url = testing::ServerUrl("postgres");
  size_t start = url.find("://") + 3;
  size_t at = url.rfind('@');
  size_t colon = url.find(':', start);
  p.user = url.substr(start, colon - start);
  p.password = url.substr(colon + 1, at - colon - 1);
  size_t slash = url.find('/', at);
  p.host_port = url.substr(at + 1, slash - at - 1);
  size_t q = url.find('?');
  if (q != std::string::npos) p.query = url.substr(q);
  return p;
}

std::string Unique(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + std::to_string(getpid()) + "_" + std::to_string(n++);
}

class PostgresOpenTest : public testing::PostgresFixture {};

TEST_F(PostgresOpenTest, OpensBothSchemesAndSetsTheSessionUp) {
  EXPECT_EQ(pg_->engine(), "postgres");
  EXPECT_EQ(pg_->connection_name(), "pg");
  ASSERT_OK(pg_->Ping());
  Capabilities caps = pg_->capabilities();
  EXPECT_TRUE(caps.transactions);
  EXPECT_TRUE(caps.read_ahead);
  EXPECT_TRUE(caps.state_store);
  EXPECT_TRUE(caps.writable);
  auto rows = pg_->Query(
      "SELECT current_setting('TimeZone'), current_setting('DateStyle'),"
      " current_setting('client_encoding'), current_setting('extra_float_digits'),"
      " current_setting('connect_timeout', true), current_setting('application_name')");
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], Value::Text("UTC"));
  EXPECT_EQ((*rows)[0][1].as_string().substr(0, 3), "ISO");
  EXPECT_EQ((*rows)[0][2], Value::Text("UTF8"));
  EXPECT_EQ((*rows)[0][3], Value::Text("3"));
  EXPECT_EQ((*rows)[0][5], Value::Text("tether"));  // fallback_application_name

  std::string url = db_->url();
  url.replace(0, url.find("://"), "postgresql");
  auto other = OpenConnector("other", url);
  ASSERT_OK(other);
  ASSERT_OK((*other)->Ping());
}

TEST_F(PostgresOpenTest, UrlParametersReachLibpq) {
  const std::string sep = Contains(db_->url(), "?") ? "&" : "?";
  auto c = OpenConnector("p", db_->url() + sep +
                                  "application_name=tether%20test&sslmode=disable&connect_timeout=3"
                                  "&options=-c%20statement_timeout%3D1234");
  ASSERT_OK(c);
  auto rows = (*c)->Query(
      "SELECT current_setting('application_name'), current_setting('statement_timeout')");
  ASSERT_OK(rows);
  EXPECT_EQ((*rows)[0][0], Value::Text("tether test"));
  EXPECT_EQ((*rows)[0][1], Value::Text("1234ms"));
  // An unknown parameter is libpq's to refuse: a configuration error.
  auto bad = OpenConnector("p", db_->url() + sep + "bogus=1");
  ASSERT_CODE(bad, StatusCode::kConfig);
  EXPECT_TRUE(Contains(bad.status().message(), "bogus")) << bad.status().message();
}

TEST_F(PostgresOpenTest, SchemaParameterSetsTheSearchPath) {
  db_->Exec("CREATE SCHEMA IF NOT EXISTS \"Shop Floor\"");
  const std::string sep = Contains(db_->url(), "?") ? "&" : "?";
  auto c = OpenConnector("p", db_->url() + sep + "schema=Shop%20Floor");
  ASSERT_OK(c);
  TableDef def;
  def.name = "in_schema";
  def.columns = {ColumnDef("id", TypeClass::kInteger, true)};
  def.primary_key = {"id"};
  ASSERT_OK((*c)->EnsureTable(def));
  EXPECT_EQ(
      Rows("SELECT table_schema FROM information_schema.tables WHERE table_name = 'in_schema'"),
      std::vector<std::string>{"Shop Floor"});
  auto described = (*c)->DescribeTable("in_schema");
  ASSERT_OK(described);
  EXPECT_TRUE(described->has_value());
  auto elsewhere = pg_->DescribeTable("in_schema");  // not on the default search_path
  ASSERT_OK(elsewhere);
  EXPECT_FALSE(elsewhere->has_value());

  auto missing = OpenConnector("p", db_->url() + sep + "schema=nope");
  ASSERT_CODE(missing, StatusCode::kConfig);
  EXPECT_TRUE(Contains(missing.status().message(), "nope")) << missing.status().message();
}

TEST(PostgresConnectErrorTest, UnreachablePortIsAConnectionError) {
  const int port = FreePort();
  auto c = OpenConnector("warehouse", "postgres://u:s3cret-pw@127.0.0.1:" + std::to_string(port) +
                                          "/db?connect_timeout=2");
  ASSERT_CODE(c, StatusCode::kConnection);
  const std::string m = c.status().message();
  EXPECT_TRUE(Contains(m, "connection 'warehouse'")) << m;
  EXPECT_TRUE(
      Contains(m, "cannot reach 127.0.0.1:" + std::to_string(port) + ": connection refused"))
      << m;
  EXPECT_FALSE(Contains(m, "s3cret")) << m;
  EXPECT_TRUE(c.status().IsRetryable());
}

TEST(PostgresConnectErrorTest, WrongPasswordIsAnAuthenticationFailure) {
  ServerParts p = Parts();
  auto c = OpenConnector("warehouse", "postgres://" + p.user + ":not-" + p.password + "-Xy9@" +
                                          p.host_port + "/postgres" + p.query);
  ASSERT_CODE(c, StatusCode::kConnection);
  const std::string m = c.status().message();
  EXPECT_TRUE(Contains(m, "connection 'warehouse'")) << m;
  EXPECT_TRUE(Contains(m, "authentication failed for user '" + p.user + "'")) << m;
  EXPECT_FALSE(Contains(m, "-Xy9")) << m;
}

TEST(PostgresConnectErrorTest, MissingDatabaseIsNamed) {
  std::string url = testing::WithDatabase(testing::ServerUrl("postgres"), "no_such_db_here");
  auto c = OpenConnector("warehouse", url);
  ASSERT_CODE(c, StatusCode::kConnection);
  const std::string m = c.status().message();
  EXPECT_TRUE(Contains(m, "connection 'warehouse'")) << m;
  EXPECT_TRUE(Contains(m, "database 'no_such_db_here' does not exist")) << m;
  EXPECT_FALSE(Contains(m, Parts().password)) << m;
}

TEST(PostgresConnectErrorTest, UnresolvableHostIsAConnectionError) {
  auto c = OpenConnector("w", "postgres://u:pw123@no-such-host.invalid/db?connect_timeout=2");
  ASSERT_CODE(c, StatusCode::kConnection);
  EXPECT_TRUE(Contains(c.status().message(), "no-such-host.invalid")) << c.status().message();
}

TEST(PostgresConnectErrorTest, MalformedUrlIsAConfigErrorWithoutThePassword) {
  auto c = OpenConnector("w", "postgres://u:se%zzcret@host/db");
  ASSERT_CODE(c, StatusCode::kConfig);
  EXPECT_FALSE(Contains(c.status().message(), "se%zzcret")) << c.status().message();
  EXPECT_FALSE(Contains(c.status().message(), "cret")) << c.status().message();
  ASSERT_CODE(OpenConnector("w", "postgres://host/db?schema="), StatusCode::kConfig);
}

TEST(PostgresUrlTest, SchemaIsTakenOutAndTheRestKept) {
  auto t = postgres::ParseUrl(
      "x", "POSTGRES://u:p@h:5433/d?sslmode=disable&schema=My%20S&application_name=a");
  ASSERT_OK(t);
  EXPECT_EQ(t->uri, "postgres://u:p@h:5433/d?sslmode=disable&application_name=a");
  EXPECT_EQ(t->schema, "My S");
  EXPECT_EQ(t->host, "h");
  EXPECT_EQ(t->port, "5433");
  EXPECT_EQ(t->dbname, "d");
  EXPECT_EQ(t->user, "u");
  auto only = postgres::ParseUrl("x", "postgresql://h/d?schema=s");
  ASSERT_OK(only);
  EXPECT_EQ(only->uri, "postgresql://h/d");
}

TEST(PostgresUrlTest, ConnectFailuresReadPlainly) {
  postgres::ConnectTarget t;
  t.user = "bob";
  auto check = [&](const std::string& libpq, const std::string& expected) {
    Status s = postgres::ConnectFailure("connection 'c'", t, libpq);
    EXPECT_EQ(s.code(), StatusCode::kConnection);
    EXPECT_EQ(s.message(), "connection 'c': " + expected);
  };
  check(
      "connection to server at \"10.0.0.1\", port 5432 failed: Connection refused\n\tIs the "
      "server running on that host and accepting TCP/IP connections?\n",
      "cannot reach 10.0.0.1:5432: connection refused");
  check("connection to server at \"db\" (10.0.0.2), port 6543 failed: timeout expired\n",
        "cannot reach db:6543: timeout expired");
  check(
      "connection to server at \"h\", port 1 failed: FATAL:  password authentication failed "
      "for user \"bob\"\n",
      "authentication failed for user 'bob'");
  check(
      "connection to server on socket \"/run/pg/.s.PGSQL.5432\" failed: FATAL:  database "
      "\"shop\" does not exist\n",
      "database 'shop' does not exist");
  check("connection to server at \"h\", port 1 failed: fe_sendauth: no password supplied\n",
        "authentication failed for user 'bob': the URL gives no password");
}

TEST(PostgresUrlTest, SqlStatesMapToRetryAwareCodes) {
  using postgres::CodeForSqlState;
  EXPECT_EQ(CodeForSqlState("23505"), StatusCode::kConstraint);
  EXPECT_EQ(CodeForSqlState("23503"), StatusCode::kConstraint);
  EXPECT_EQ(CodeForSqlState("22001"), StatusCode::kInvalidRecord);
  EXPECT_EQ(CodeForSqlState("22003"), StatusCode::kInvalidRecord);
  EXPECT_EQ(CodeForSqlState("22P02"), StatusCode::kInvalidRecord);
  EXPECT_EQ(CodeForSqlState("40001"), StatusCode::kTryAgain);
  EXPECT_EQ(CodeForSqlState("40P01"), StatusCode::kTryAgain);
  EXPECT_EQ(CodeForSqlState("55P03"), StatusCode::kBusy);
  EXPECT_EQ(CodeForSqlState("57014"), StatusCode::kTimedOut);
  EXPECT_EQ(CodeForSqlState("08006"), StatusCode::kConnection);
  EXPECT_EQ(CodeForSqlState("57P01"), StatusCode::kConnection);
  EXPECT_EQ(CodeForSqlState("42P01"), StatusCode::kNotFound);
  EXPECT_EQ(CodeForSqlState("42501"), StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeForSqlState("42601"), StatusCode::kInternal);
  EXPECT_EQ(CodeForSqlState(""), StatusCode::kInternal);
}

TEST_F(PostgresOpenTest, PercentEncodedCredentialsWork) {
  const std::string role = Unique("tt_enc_");
  db_->Exec("CREATE ROLE " + role + " LOGIN PASSWORD 'p@ss:w/rd ?ü'");
  ServerParts p = Parts();
  std::string url = "postgres://" + role + ":p%40ss%3Aw%2Frd%20%3F%C3%BC@" + p.host_port + "/" +
                    db_->name() + p.query;
  {
    auto c = OpenConnector("enc", url);
    ASSERT_OK(c);
    auto rows = (*c)->Query("SELECT current_user");
    ASSERT_OK(rows);
    EXPECT_EQ((*rows)[0][0], Value::Text(role));
  }
  db_->Exec("DROP ROLE " + role);
}

TEST_F(PostgresOpenTest, PermissionDeniedNamesTheTable) {
  const std::string role = Unique("tt_nogrant_");
  db_->Exec(
      "CREATE TABLE secret_stuff (id bigint PRIMARY KEY, v text);"
      "CREATE ROLE " +
      role + " LOGIN PASSWORD 'pw-" + role + "'");
  ServerParts p = Parts();
  {
    auto c = OpenConnector("guest", "postgres://" + role + ":pw-" + role + "@" + p.host_port + "/" +
                                        db_->name() + p.query);
    ASSERT_OK(c);
    ScanRequest req;
    req.table = "secret_stuff";
    req.key_columns = {"id"};
    req.limit = 10;
    auto scan = (*c)->Scan(req);
    ASSERT_CODE(scan, StatusCode::kPermissionDenied);
    EXPECT_TRUE(Contains(scan.status().message(), "secret_stuff")) << scan.status().message();
    EXPECT_TRUE(Contains(scan.status().message(), "connection 'guest'")) << scan.status().message();
    EXPECT_FALSE(Contains(scan.status().message(), "pw-")) << scan.status().message();
    auto ins = (*c)->Insert("secret_stuff", {"id"}, {{Value::Int(1)}}, {});
    ASSERT_CODE(ins, StatusCode::kPermissionDenied);
    EXPECT_TRUE(Contains(ins.status().message(), "secret_stuff")) << ins.status().message();
  }
  db_->Exec("DROP ROLE " + role);
}

TEST_F(PostgresOpenTest, ReadOnlySessionIsNotWritable) {
  const std::string sep = Contains(db_->url(), "?") ? "&" : "?";
  db_->Exec("CREATE TABLE IF NOT EXISTS ro_target (id bigint PRIMARY KEY)");
  auto c =
      OpenConnector("ro", db_->url() + sep + "options=-c%20default_transaction_read_only%3Don");
  ASSERT_OK(c);
  EXPECT_FALSE((*c)->capabilities().writable);
  ASSERT_CODE((*c)->Insert("ro_target", {"id"}, {{Value::Int(1)}}, {}),
              StatusCode::kPermissionDenied);
}

TEST_F(PostgresOpenTest, MissingTableIsNotFoundNamingIt) {
  ScanRequest req;
  req.table = "no_such_table";
  req.key_columns = {"id"};
  req.limit = 5;
  auto scan = pg_->Scan(req);
  ASSERT_CODE(scan, StatusCode::kNotFound);
  EXPECT_TRUE(Contains(scan.status().message(), "no_such_table")) << scan.status().message();
  EXPECT_TRUE(Contains(scan.status().message(), "connection 'pg'")) << scan.status().message();
  req.limit = 0;  // the streamed form reports it from Scan too
  ASSERT_CODE(pg_->Scan(req), StatusCode::kNotFound);
  ASSERT_CODE(pg_->Count("no_such_table", {}), StatusCode::kNotFound);
  ASSERT_CODE(pg_->Insert("no_such_table", {"id"}, {{Value::Int(1)}}, {}), StatusCode::kNotFound);
  ASSERT_CODE(pg_->Lookup({"no_such_table", {"id"}, {"a", "b"}, {{Value::Int(1), Value::Int(2)}}}),
              StatusCode::kNotFound);
  ASSERT_OK(pg_->Ping());  // and the connection is fine afterwards
}

TEST_F(PostgresOpenTest, LockTimeoutIsBusyAndStatementTimeoutIsTimedOut) {
  db_->Exec("CREATE TABLE IF NOT EXISTS locked (id bigint PRIMARY KEY)");
  ASSERT_OK(pg_->Begin());
  ASSERT_OK(pg_->ExecuteScript("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE"));
  const std::string sep = Contains(db_->url(), "?") ? "&" : "?";
  auto other = OpenConnector("other", db_->url() + sep + "options=-c%20lock_timeout%3D100");
  ASSERT_OK(other);
  auto ins = (*other)->Insert("locked", {"id"}, {{Value::Int(1)}}, {});
  ASSERT_CODE(ins, StatusCode::kBusy);
  EXPECT_TRUE(ins.status().IsRetryable());
  ASSERT_OK(pg_->Rollback());
  ASSERT_OK((*other)->Insert("locked", {"id"}, {{Value::Int(1)}}, {}));

  ASSERT_OK(pg_->ExecuteScript("SET statement_timeout = 50"));
  ASSERT_CODE(pg_->Query("SELECT pg_sleep(2)"), StatusCode::kTimedOut);
}

TEST_F(PostgresOpenTest, LostConnectionIsAConnectionErrorThenReconnects) {
  auto pid = pg_->Query("SELECT pg_backend_pid()");
  ASSERT_OK(pid);
  db_->Rows("SELECT pg_terminate_backend($1::int, 5000)", {(*pid)[0][0]});
  // Outside a transaction the next call opens the session again.
  auto again = pg_->Query("SELECT current_setting('TimeZone')");
  if (!again.ok()) {
    ASSERT_CODE(again, StatusCode::kConnection);
    again = pg_->Query("SELECT current_setting('TimeZone')");
  }
  ASSERT_OK(again);
  EXPECT_EQ((*again)[0][0], Value::Text("UTC"));  // the session settings came back too

  // Inside a transaction the loss is reported, and the transaction is the caller's to retry.
  ASSERT_OK(pg_->Begin());
  pid = pg_->Query("SELECT pg_backend_pid()");
  ASSERT_OK(pid);
  db_->Rows("SELECT pg_terminate_backend($1::int, 5000)", {(*pid)[0][0]});
  auto lost = pg_->Query("SELECT 1");
  ASSERT_CODE(lost, StatusCode::kConnection);
  EXPECT_TRUE(Contains(lost.status().message(), "connection 'pg'")) << lost.status().message();
  ASSERT_CODE(pg_->Query("SELECT 1"), StatusCode::kConnection);
  ASSERT_OK(pg_->Rollback());
  ASSERT_OK(pg_->Begin());
  ASSERT_OK(pg_->Query("SELECT 1"));
  ASSERT_OK(pg_->Commit());
}

}  // namespace
}  // namespace tether
