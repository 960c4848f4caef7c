// `tether serve` against a hostile or careless client, end to end (the real process on
// loopback): what an API token opens — never the server's own state or files outside its data
// folder; passwords kept apart.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "serve_util.h"

namespace tether::e2e {
namespace {

using nlohmann::json;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class ServeSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path().string();
    data_ = dir_ + "/tether-data";
  }

  TempDir tmp_;
  std::string dir_;
  std::string data_;
};

// --- what a token opens -----------------------------------------------------------------------

TEST_F(ServeSecurityTest, ApiSqliteFilesStayInTheDataFolder) {
  std::filesystem::create_directories(data_);
  std::filesystem::create_directories(dir_ + "/outside");
  SqliteExec(dir_ + "/outside/there.db", "CREATE TABLE t(id INTEGER PRIMARY KEY)");
  std::filesystem::create_symlink(dir_ + "/outside", data_ + "/link");
  ServeProcess s(dir_, {}, {"OUTSIDE_DB=" + dir_ + "/outside/there.db"});
  ASSERT_TRUE(s.Start());
  EXPECT_EQ(ModeOf(data_), 0755u) << "a folder that exists is left as it is";

  // Every way out is refused alike, whether the file is there or not, and creates nothing.
  std::vector<std::string> messages;
  for (const std::string& url : std::vector<std::string>{
           "sqlite:" + dir_ + "/outside/there.db", "sqlite:" + dir_ + "/outside/nothing.db",
           "sqlite:../outside/there.db", "sqlite:../outside/new.db?create=1",
           "sqlite:link/there.db", "sqlite:link/new.db?create=1",
           "sqlite:tether-data/../../outside/there.db", "sqlite:${OUTSIDE_DB}",
           "sqlite:${NO_SUCH_VAR:-../outside/there.db}", "sqlite:../tether-server.db?mode=ro",
           "sqlite://" + dir_ + "/outside/there.db"}) {
    Reply r = s.Post("/api/connections", {{"name", "x"}, {"url", url}});
    EXPECT_EQ(r.status, 422) << url << ": " << r.text;
    EXPECT_EQ(r.body["error"]["code"], "config") << url;
    messages.push_back(r.body["error"]["message"].get<std::string>());
    if (url.find("${") != std::string::npos) {
      EXPECT_FALSE(Contains(messages.back(), dir_ + "/outside")) << "the variable's value shows";
    }
  }
  ASSERT_GE(messages.size(), 2u);
  const size_t name = messages[1].find("nothing.db");
  ASSERT_NE(name, std::string::npos) << messages[1];
  EXPECT_EQ(messages[1].replace(name, 10, "there.db"), messages[0])
      << "the answer tells nothing of what exists outside";
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/outside/new.db"));
  EXPECT_EQ(s.Get("/api/connections").body["connections"].size(), 0u);

  // A connection stored before the folder existed (written here behind the server's back) is
  // not opened: its test says why, the same for a file that exists and one that does not.
  for (const auto& [name, path] : {std::pair("old", dir_ + "/outside/there.db"),
                                   std::pair("gone", dir_ + "/outside/none.db")}) {
    SqliteExec(dir_ + "/tether-server.db", "INSERT INTO tether_server_connections VALUES ('" +
                                               std::string(name) + "', 'sqlite:" + path +
                                               "', 'a', 'b')");
  }
  Reply old = s.Post("/api/connections/old/test", json::object());
  Reply gone = s.Post("/api/connections/gone/test", json::object());
  ASSERT_EQ(old.status, 200) << old.text;
  EXPECT_EQ(old.body["ok"], false);
  EXPECT_EQ(old.body["error"]["code"], "config") << old.text;
  EXPECT_EQ(gone.body["error"]["code"], old.body["error"]["code"]) << gone.text;
  EXPECT_EQ(old.body["latency_ms"], nullptr) << "never opened";

  // Inside the folder: relative to it, created on request.
  Reply made = s.Post("/api/connections", {{"name", "mine"}, {"url", "sqlite:sub/new.db"}});
  EXPECT_EQ(made.status, 201) << made.text;
  EXPECT_EQ(made.body["url"], "sqlite:" + data_ + "/sub/new.db");
  std::filesystem::create_directories(data_ + "/sub");
  ASSERT_EQ(s.Put("/api/connections/mine", {{"url", "sqlite:sub/new.db?create=1"}}).status, 200);
  EXPECT_EQ(s.Post("/api/connections/mine/test", json::object()).body["ok"], true);
  EXPECT_TRUE(std::filesystem::exists(data_ + "/sub/new.db"));
}

TEST_F(ServeSecurityTest, TheServersOwnFilesAndTablesAreOutOfReach) {
  ServeProcess s(dir_, {"--data-dir", "."});  // the state store inside the data folder
  ASSERT_TRUE(s.Start());
  EXPECT_EQ(ModeOf(dir_ + "/tether-server.db"), 0600u) << "it holds passwords";
  for (const char* url : {"sqlite:tether-server.db?mode=ro", "sqlite:tether-server.db-wal",
                          "sqlite:./tether-server.db"}) {
    Reply r = s.Post("/api/connections", {{"name", "self"}, {"url", url}});
    EXPECT_EQ(r.status, 422) << url << ": " << r.text;
  }

  // An entity may not read or write tether's own tables, whatever the case.
  SqliteExec(dir_ + "/copy.db", "CREATE TABLE tether_server_connections(name TEXT PRIMARY KEY)");
  ASSERT_EQ(s.Post("/api/connections", {{"name", "copy"}, {"url", "sqlite:copy.db"}}).status, 201);
  for (const char* table : {"tether_server_connections", "TETHER_SERVER_SECRETS", "Tether_Links"}) {
    json p = {{"name", "peek"},
              {"source", "copy"},
              {"target", "copy"},
              {"entities", {{"c", {{"table", table}, {"key", "name"}}}}}};
    Reply r = s.Post("/api/pipelines", p);
    EXPECT_EQ(r.status, 422) << table << ": " << r.text;
    EXPECT_TRUE(Contains(r.body["error"]["message"], table)) << r.text;
    p["entities"]["c"] = {{"source_table", "x"}, {"target_table", table}};
    EXPECT_EQ(s.Post("/api/pipelines/validate", p).status, 422) << table;
  }
}

TEST_F(ServeSecurityTest, PasswordsAreStoredApartAndNeverLeakInPart) {
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  Reply made = s.Post(
      "/api/connections",
      {{"name", "erp"}, {"url", "postgres://sync@127.0.0.1:1/erp"}, {"password", "Qx7@Zk9/w?#"}});
  ASSERT_EQ(made.status, 201) << made.text;
  EXPECT_EQ(made.body["url"], "postgres://sync:***@127.0.0.1:1/erp");
  EXPECT_EQ(SqliteRows(dir_ + "/tether-server.db", "SELECT url FROM tether_server_connections"),
            std::vector<std::string>{"postgres://sync:@127.0.0.1:1/erp"});
  Reply test = s.Post("/api/connections/erp/test", json::object());
  EXPECT_EQ(test.body["error"]["code"], "connection") << test.text;

  // A password with an unencoded '@' (or '/', '?', '#') in a URL reads differently to
  // different parsers: refused, naming no part of it.
  for (const std::string special : {"@", "/", "?", "#"}) {
    for (const std::string scheme : {"postgres", "mysql"}) {
      const std::string url = scheme + "://u:Qx7" + special + "Zk9@127.0.0.1:1/db";
      Reply r = s.Post("/api/connections", {{"name", "leaky"}, {"url", url}});
      EXPECT_EQ(r.status, 422) << url << ": " << r.text;
      EXPECT_FALSE(Contains(r.text, "Qx7") || Contains(r.text, "Zk9")) << url << ": " << r.text;
    }
  }
  for (const Reply& r : {s.Get("/api/connections"), s.Get("/api/connections/erp"), test}) {
    EXPECT_FALSE(Contains(r.text, "Qx7") || Contains(r.text, "Zk9")) << r.text;
  }
  s.Stop();
  EXPECT_FALSE(Contains(s.Stderr(), "Qx7"));
}

}  // namespace
}  // namespace tether::e2e
