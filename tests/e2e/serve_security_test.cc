// `tether serve` against a hostile or careless client, end to end (the real process on
// loopback): what an API token opens (never the server's own state or files outside its data
// folder; passwords kept apart), slow and numerous connections, bodies bounded before they are
// read, patterns that would crash or hang a backtracking matcher, and the small input mistakes
// the API must answer precisely.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "serve_util.h"

namespace tether::e2e {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// One TCP connection to the server, spoken to byte by byte. `source` picks the client address:
// every 127.x.y.z is loopback on Linux, so tests can be several clients.
class RawClient {
 public:
  RawClient(int port, const std::string& source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      ADD_FAILURE() << "cannot connect from " << source << ": " << std::strerror(errno);
      Close();
    }
  }
  ~RawClient() { Close(); }
  RawClient(RawClient&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RawClient& operator=(RawClient&&) = delete;

  bool Send(const std::string& bytes) {
    return fd_ >= 0 && ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                           static_cast<ssize_t>(bytes.size());
  }
  // What has arrived, without waiting.
  std::string Peek() const {
    char buf[4096];
    const ssize_t n = fd_ < 0 ? -1 : ::recv(fd_, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
  // Reads until a whole response is in (its head, and a body of its Content-Length), the server
  // closes, or `timeout` passes.
  std::string ReadResponse(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::string in;
    while (fd_ >= 0 && !Complete(in)) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
    return in;
  }
  // Whether the server closed the connection within `timeout`.
  bool ClosedWithin(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) return false;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  static bool Complete(const std::string& in) {
    const size_t end = in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const size_t cl = in.find("Content-Length: ");
    if (cl == std::string::npos || cl > end) return true;
    return in.size() >= end + 4 + std::stoul(in.substr(cl + 16));
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
};

// The status of a raw response ("HTTP/1.1 429 ..."), or -1.
int StatusOf(const std::string& response) {
  return response.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(response.substr(9, 3)) : -1;
}
json BodyOf(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return json::parse(end == std::string::npos ? "" : response.substr(end + 4), nullptr, false);
}

std::string Request(const std::string& method, const std::string& path,
                    const std::vector<std::string>& headers, const std::string& body = "") {
  std::string text = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const std::string& h : headers) text += h + "\r\n";
  return text + "\r\n" + body;
}
std::string Auth() { return std::string("Authorization: Bearer ") + kToken; }

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

  // tether.yaml in the server's folder, with a `server:` section of `server_keys` lines.
  void ServerConfig(const std::string& server_keys) {
    WriteFile(dir_ + "/tether.yaml", "server:\n" + server_keys);
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

// --- connections ------------------------------------------------------------------------------

// 300 clients sending a header line now and then (the way slowloris does) held every HTTP
// thread, and the health check went unanswered. They now wait without a thread, one client
// address may hold only so many connections, and a head that does not come ends in 408.
TEST_F(ServeSecurityTest, SlowClientsDoNotBlockTheApi) {
  ServerConfig("  max_connections_per_client: 40\n  header_timeout: 3s\n");
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  std::vector<RawClient> slow;
  for (int i = 0; i < 300; ++i) {
    slow.emplace_back(s.port(), "127.0.0.2");
    slow.back().Send("GET /api/status HTTP/1.1\r\nHost: x\r\n");
  }
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    while (!done) {
      for (RawClient& c : slow) c.Send("X-Slow: 1\r\n");
      std::this_thread::sleep_for(milliseconds(500));
    }
  });
  std::this_thread::sleep_for(milliseconds(300));

  // Another client is answered at once, every time.
  for (int i = 0; i < 12; ++i) {
    httplib::Client probe("127.0.0.1", s.port());
    probe.set_connection_timeout(std::chrono::seconds(2));
    probe.set_read_timeout(std::chrono::seconds(2));
    const auto start = Clock::now();
    auto r = probe.Get("/api/status");
    ASSERT_TRUE(r) << "probe " << i << " unanswered";
    EXPECT_EQ(r->status, 200);
    EXPECT_LT(Clock::now() - start, milliseconds(1000)) << "probe " << i;
  }

  // The 40 the cap admits wait for their heads; the rest were told 429 at once.
  int refused = 0, waiting = 0;
  for (RawClient& c : slow) {
    const int status = StatusOf(c.Peek());
    refused += status == 429;
    waiting += status == -1;
  }
  EXPECT_EQ(refused, 260);
  EXPECT_EQ(waiting, 40);

  // The header deadline passes: 408, and the places are free again.
  done = true;
  trickle.join();
  int timed_out = 0;
  for (RawClient& c : slow) {
    const std::string response = c.ReadResponse(milliseconds(6000));
    timed_out += StatusOf(response) == 408;
  }
  EXPECT_EQ(timed_out, 40);
  RawClient again(s.port(), "127.0.0.2");
  again.Send(Request("GET", "/api/status", {}));
  EXPECT_EQ(StatusOf(again.ReadResponse(milliseconds(3000))), 200);
  const std::string metrics = s.Get("/metrics").text;
  EXPECT_TRUE(Contains(metrics,
                       "tether_http_connections_refused_total{reason=\"max_connections_per_"
                       "client\"} 260"))
      << metrics;
  EXPECT_TRUE(
      Contains(metrics, "tether_http_connections_refused_total{reason=\"header_timeout\"} 40"))
      << metrics;
}

TEST_F(ServeSecurityTest, ConnectionsBeyondTheTotalAreRefused) {
  ServerConfig("  max_connections: 20\n  max_connections_per_client: 15\n  header_timeout: 2s\n");
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  std::vector<RawClient> held;
  for (const char* source : {"127.0.0.3", "127.0.0.4"}) {
    for (int i = 0; i < 12; ++i) {
      held.emplace_back(s.port(), source);
      held.back().Send("GET /api/status HTTP/1.1\r\n");
    }
  }
  std::this_thread::sleep_for(milliseconds(300));
  int unavailable = 0;
  for (RawClient& c : held) unavailable += StatusOf(c.Peek()) == 503;
  EXPECT_EQ(unavailable, 4);
  RawClient late(s.port());
  EXPECT_EQ(StatusOf(late.ReadResponse(milliseconds(2000))), 503) << "full";
  // Once the held ones time out, there is room again.
  for (RawClient& c : held) c.ReadResponse(milliseconds(5000));
  RawClient next(s.port());
  next.Send(Request("GET", "/api/status", {}));
  EXPECT_EQ(StatusOf(next.ReadResponse(milliseconds(3000))), 200);
}

// A compressed body was inflated after only its compressed size was checked (117 KB became
// 120 MB in memory): bodies must come uncompressed, and are refused before they are read.
TEST_F(ServeSecurityTest, BodiesAreBoundedBeforeTheyAreRead) {
  ServerConfig("  max_body: 65536\n");
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  for (const char* encoding : {"gzip", "deflate", "br", "GZIP"}) {
    RawClient c(s.port());
    c.Send(Request("POST", "/api/connections",
                   {Auth(), "Content-Type: application/json",
                    std::string("Content-Encoding: ") + encoding, "Content-Length: 100000000"},
                   std::string(1000, 'x')));
    const std::string r = c.ReadResponse(milliseconds(3000));
    EXPECT_EQ(StatusOf(r), 415) << encoding << ": " << r;
    EXPECT_EQ(BodyOf(r)["error"]["code"], "unsupported_media_type") << r;
    EXPECT_TRUE(c.ClosedWithin(milliseconds(3000))) << "the unread body is not taken as a request";
  }
  {  // Without the token: 401 at once, the body left unread and the connection closed.
    RawClient c(s.port());
    c.Send(Request("POST", "/api/connections",
                   {"Content-Type: application/json", "Content-Length: 100000000"}, "{"));
    EXPECT_EQ(StatusOf(c.ReadResponse(milliseconds(3000))), 401);
    EXPECT_TRUE(c.ClosedWithin(milliseconds(3000)));
  }
  {  // A chunked body declares no size: it is cut at the bound.
    RawClient c(s.port());
    c.Send(Request("POST", "/api/connections",
                   {Auth(), "Content-Type: application/json", "Transfer-Encoding: chunked"}));
    const std::string chunk(8192, ' ');
    for (int i = 0; i < 64; ++i) {
      if (!c.Send("2000\r\n" + chunk + "\r\n")) break;  // the server may close meanwhile
    }
    c.Send("0\r\n\r\n");
    const std::string r = c.ReadResponse(milliseconds(5000));
    EXPECT_EQ(StatusOf(r), 413) << r.substr(0, 300);
  }
  // Bodies within the bound still work, also chunked.
  RawClient ok(s.port());
  const std::string body = R"({"name": "a", "url": "sqlite:a.db"})";
  ok.Send(Request("POST", "/api/connections",
                  {Auth(), "Content-Type: application/json", "Transfer-Encoding: chunked"},
                  fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", body.size(), body)));
  EXPECT_EQ(StatusOf(ok.ReadResponse(milliseconds(3000))), 201);
  EXPECT_EQ(s.Get("/api/status").status, 200);
}

// --- small input mistakes ---------------------------------------------------------------------

TEST_F(ServeSecurityTest, InvalidUtf8InABodyIsABadRequest) {
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  Reply r = s.Call("POST", "/api/connections", "{\"name\": \"a\xff\", \"url\": \"sqlite:a.db\"}");
  EXPECT_EQ(r.status, 400) << r.text;
  EXPECT_EQ(r.body["error"]["code"], "invalid_argument") << r.text;
}

TEST_F(ServeSecurityTest, TheBearerSchemeIsReadInAnyCase) {
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  auto stats = [&](const std::string& authorization) {
    httplib::Client c("127.0.0.1", s.port());
    auto r = c.Get("/api/stats", {{"Authorization", authorization}});
    return r ? r->status : -1;
  };
  EXPECT_EQ(stats(std::string("bearer ") + kToken), 200);
  EXPECT_EQ(stats(std::string("BEARER  ") + kToken), 200);
  EXPECT_EQ(stats(std::string("Bearer ") + kToken), 200);
  EXPECT_EQ(stats(std::string("Basic ") + kToken), 401);
  EXPECT_EQ(stats(std::string("Bearer") + kToken), 401);
  EXPECT_EQ(stats(std::string("bearer x") + kToken), 401);
}

TEST_F(ServeSecurityTest, BodiesMustBeJson) {
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  httplib::Client c("127.0.0.1", s.port());
  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};
  const std::string body = R"({"name": "a", "url": "sqlite:a.db"})";
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "text/json"}) {
    auto r = c.Post("/api/connections", auth, body, type);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 415) << type;
    EXPECT_EQ(json::parse(r->body)["error"]["code"], "unsupported_media_type") << type;
  }
  EXPECT_EQ(s.Get("/api/connections").body["connections"].size(), 0u);
  auto json_charset = c.Post("/api/connections", auth, body, "Application/JSON; charset=utf-8");
  ASSERT_TRUE(json_charset);
  EXPECT_EQ(json_charset->status, 201) << json_charset->body;
}

TEST_F(ServeSecurityTest, RunFiltersAreCheckedBeforeTheRunIsAccepted) {
  std::filesystem::create_directories(data_);
  MakeItems(data_, 5);
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  ASSERT_EQ(s.Post("/api/connections", {{"name", "src"}, {"url", "sqlite:src.db"}}).status, 201);
  ASSERT_EQ(s.Post("/api/connections", {{"name", "dst"}, {"url", "sqlite:dst.db"}}).status, 201);
  ASSERT_EQ(s.Post("/api/pipelines", ItemsPipeline()).status, 201);

  Reply column = s.Post("/api/pipelines/items/runs", {{"where", {"nosuch = 1"}}});
  EXPECT_EQ(column.status, 422) << column.text;
  EXPECT_EQ(column.body["error"]["code"], "config");
  EXPECT_TRUE(Contains(column.body["error"]["message"], "nosuch")) << column.text;
  EXPECT_FALSE(Contains(column.body["error"]["message"], "--where")) << column.text;
  Reply prefixed = s.Post("/api/pipelines/items/runs", {{"where", {"item.nosuch > 1"}}});
  EXPECT_EQ(prefixed.status, 422) << prefixed.text;
  for (const char* bad : {"price >", "price ~ 3", "other.price > 1", "name = 'open"}) {
    Reply r = s.Post("/api/pipelines/items/runs", {{"where", {bad}}});
    EXPECT_EQ(r.status, 400) << bad << ": " << r.text;
    EXPECT_TRUE(Contains(r.body["error"]["message"], "where")) << r.text;
  }
  EXPECT_EQ(s.Get("/api/runs").body["runs"].size(), 0u) << "nothing was queued";

  Reply good = s.Post("/api/pipelines/items/runs", {{"where", {"item.price > 1"}}});
  ASSERT_EQ(good.status, 202) << good.text;
  EXPECT_EQ(s.WaitFinished(good.body["id"])["counts"]["inserted"], 3);
}

TEST_F(ServeSecurityTest, RunListFiltersAreChecked) {
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  for (const char* query : {"status=bogus", "kind=plan", "trigger=cron", "status=Succeeded"}) {
    Reply r = s.Get(std::string("/api/runs?") + query);
    EXPECT_EQ(r.status, 400) << query << ": " << r.text;
    EXPECT_EQ(r.body["error"]["code"], "invalid_argument");
  }
  for (const char* query : {"status=timed_out", "kind=diff", "trigger=schedule"}) {
    EXPECT_EQ(s.Get(std::string("/api/runs?") + query).status, 200) << query;
  }
}

// A SQLite database holds any bytes in a TEXT column: a target value that is not UTF-8 comes out
// of a plan with its stray bytes as \xHH (as tether plan writes them), and a source value that
// is not fails its record with a reason the API can send, never a failed request.
TEST_F(ServeSecurityTest, TextThatIsNotUtf8NeverFailsTheApi) {
  std::filesystem::create_directories(data_);
  SqliteExec(data_ + "/src.db",
             "CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, qty TEXT);"
             "INSERT INTO item VALUES (1, 'new', '1'), (2, 'ok', CAST(X'FE39' AS TEXT));");
  SqliteExec(data_ + "/dst.db",
             "CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER);"
             "INSERT INTO item VALUES (1, CAST(X'FF41' AS TEXT), 1);");
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  ASSERT_EQ(s.Post("/api/connections", {{"name", "src"}, {"url", "sqlite:src.db"}}).status, 201);
  ASSERT_EQ(s.Post("/api/connections", {{"name", "dst"}, {"url", "sqlite:dst.db"}}).status, 201);
  ASSERT_EQ(s.Post("/api/pipelines", ItemsPipeline()).status, 201);

  Reply dry = s.Post("/api/pipelines/items/runs", {{"dry_run", true}});
  ASSERT_EQ(dry.status, 202) << dry.text;
  EXPECT_EQ(s.WaitFinished(dry.body["id"])["status"], "succeeded");
  Reply plan = s.Get("/api/runs/" + dry.body["id"].get<std::string>() + "/plan");
  ASSERT_EQ(plan.status, 200) << plan.text;
  ASSERT_EQ(plan.body["records"].size(), 2u) << plan.text;
  EXPECT_EQ(plan.body["records"][0]["changes"][0]["before"], "\\xFFA") << plan.text;
  EXPECT_EQ(plan.body["records"][0]["changes"][0]["after"], "new") << plan.text;
  EXPECT_TRUE(Contains(plan.body["records"][1]["reason"], "0xFE")) << plan.text;

  Reply real = s.Post("/api/pipelines/items/runs", json::object());
  ASSERT_EQ(real.status, 202);
  const std::string id = real.body["id"];
  EXPECT_EQ(s.WaitFinished(id)["counts"]["skipped"], 1);
  Reply records = s.Get("/api/runs/" + id + "/records");
  ASSERT_EQ(records.status, 200) << records.text;
  ASSERT_EQ(records.body["records"].size(), 1u) << records.text;
  EXPECT_TRUE(Contains(records.body["records"][0]["reason"], "qty")) << records.text;
  Reply events = s.Get("/api/runs/" + id + "/events");
  EXPECT_EQ(events.status, 200);
  EXPECT_TRUE(Contains(events.text, "event: end")) << events.text;
}

// A pattern that a backtracking matcher runs out of stack on ((a|b)* over a long value) took
// the whole server down with it; one that takes exponential time ((a+)+$) held a worker.
TEST_F(ServeSecurityTest, PatternsCannotCrashOrHangTheServer) {
  std::filesystem::create_directories(data_);
  std::string ab(200000, 'a');
  for (size_t i = 1; i < ab.size(); i += 2) ab[i] = 'b';
  SqliteExec(data_ + "/src.db",
             "CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL);"
             "INSERT INTO item VALUES (1, '" +
                 ab + "', 1), (2, '" + std::string(40, 'a') + "!', 2), (3, 'ab', 3);");
  SqliteExec(data_ + "/dst.db",
             "CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL);");
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  ASSERT_EQ(s.Post("/api/connections", {{"name", "src"}, {"url", "sqlite:src.db"}}).status, 201);
  ASSERT_EQ(s.Post("/api/connections", {{"name", "dst"}, {"url", "sqlite:dst.db"}}).status, 201);
  for (const auto& [name, pattern] :
       {std::pair("alternation", "(a|b)*"), std::pair("nested", "(a+)+$")}) {
    json p = ItemsPipeline();
    p["name"] = name;
    p["entities"]["item"]["validate"] = {{"name", {{"pattern", pattern}}}};
    ASSERT_EQ(s.Post("/api/pipelines", p).status, 201);
    Reply run =
        s.Post("/api/pipelines/" + p["name"].get<std::string>() + "/runs", {{"dry_run", true}});
    ASSERT_EQ(run.status, 202) << run.text;
    json done = s.WaitFinished(run.body["id"], 30);
    EXPECT_EQ(done["status"], "succeeded") << done.dump();
  }
  EXPECT_EQ(s.Get("/api/status").status, 200) << "still up";
  Reply refused = s.Post(
      "/api/pipelines/validate",
      {{"name", "backref"},
       {"source", "src"},
       {"target", "dst"},
       {"entities",
        {{"item", {{"table", "item"}, {"validate", {{"name", {{"pattern", "(a)\\1"}}}}}}}}}});
  EXPECT_EQ(refused.status, 422) << refused.text;
  EXPECT_TRUE(Contains(refused.body["error"]["message"], "pattern")) << refused.text;
}

}  // namespace
}  // namespace tether::e2e
