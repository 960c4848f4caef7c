// `tether serve` end to end: the real process on a loopback port, driven over HTTP — every
// route, the error cases, runs started, stopped, retried and timed out, event streams, a
// schedule firing, and restarts (graceful and SIGKILL) in the middle of a run.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "serve_util.h"
#include "server/api.h"
#include "util/test_database.h"

namespace tether::e2e {
namespace {

using nlohmann::json;

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path().string();
    data_ = dir_ + "/tether-data";  // the server's data folder: API SQLite files live there
    std::filesystem::create_directories(data_);
  }

  // Connections src and dst (the item databases) and pipeline `items`, through the API.
  void DefineItems(ServeProcess& s, int batch_size = 100) {
    ASSERT_EQ(s.Post("/api/connections", {{"name", "src"}, {"url", "sqlite:src.db"}}).status, 201);
    ASSERT_EQ(s.Post("/api/connections", {{"name", "dst"}, {"url", "sqlite:dst.db"}}).status, 201);
    Reply p = s.Post("/api/pipelines", ItemsPipeline(batch_size));
    ASSERT_EQ(p.status, 201) << p.text;
  }

  std::string StartRun(ServeProcess& s, const json& body = json::object(),
                       const std::string& pipeline = "items") {
    Reply r = s.Post("/api/pipelines/" + pipeline + "/runs", body);
    EXPECT_EQ(r.status, 202) << r.text;
    return r.body.value("id", "");
  }

  // Starts the server, defines `items` and runs it once: the next runs update rows.
  void StartSynced(ServeProcess& s, int batch_size) {
    ASSERT_TRUE(s.Start());
    DefineItems(s, batch_size);
    json first = s.WaitFinished(StartRun(s));
    ASSERT_EQ(first["status"], "succeeded") << first.dump();
  }

  // Source and target hold the same items.
  void ExpectEqualItems() {
    EXPECT_EQ(SqliteRows(data_ + "/src.db", "SELECT * FROM item ORDER BY id"),
              SqliteRows(data_ + "/dst.db", "SELECT * FROM item ORDER BY id"));
  }

  TempDir tmp_;
  std::string dir_;
  std::string data_;
};

TEST_F(ServeTest, TokenIsRequiredEverywhereButHealth) {
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  Reply health = s.Call("GET", "/api/status", "", "");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body["status"], "ok");
  for (const auto& [method, path] : ApiServer::Routes()) {
    if (path == "/api/status") continue;
    std::string concrete = std::regex_replace(path, std::regex(R"(\{[a-z]+\})"), "x");
    Reply none = s.Call(method, concrete, "{}", "");
    EXPECT_EQ(none.status, 401) << method << " " << concrete;
    EXPECT_EQ(none.body["error"]["code"], "unauthorized") << none.text;
    EXPECT_EQ(none.headers["WWW-Authenticate"], "Bearer");
    Reply wrong = s.Call(method, concrete, "{}", "not-the-token");
    EXPECT_EQ(wrong.status, 401) << method << " " << concrete;
  }
  EXPECT_EQ(s.Get("/api/stats").status, 200);
  Reply metrics = s.Get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_TRUE(Contains(metrics.text, "tether_up 1"));
}

TEST_F(ServeTest, RefusesToStartWithoutAToken) {
  CommandResult r = Tether({"serve", "--listen", "127.0.0.1:0"}, dir_, {"TETHER_API_TOKEN="});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(Contains(r.err, "TETHER_API_TOKEN")) << r.err;
}

TEST_F(ServeTest, OpenApiDocumentListsExactlyTheServersRoutes) {
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  Reply doc = s.Get("/api/openapi.json");
  ASSERT_EQ(doc.status, 200);
  ASSERT_EQ(doc.body["openapi"], "3.0.3");
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& [path, ops] : doc.body["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      if (method == "parameters") continue;
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(c));
      documented.emplace(upper, path);
    }
  }
  std::set<std::pair<std::string, std::string>> served;
  for (const auto& r : ApiServer::Routes()) served.insert(r);
  EXPECT_EQ(documented, served);
}

TEST_F(ServeTest, ConnectionsAreManagedAndPasswordsNeverComeBack) {
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  const std::string secret = "s3cr@t$pass";
  Reply created =
      s.Post("/api/connections",
             {{"name", "erp"}, {"url", "postgres://sync@127.0.0.1:1/erp"}, {"password", secret}});
  ASSERT_EQ(created.status, 201) << created.text;
  EXPECT_EQ(created.body["engine"], "postgres");
  EXPECT_EQ(created.body["origin"], "api");
  EXPECT_TRUE(Contains(created.body["url"].get<std::string>(), "***")) << created.text;
  EXPECT_FALSE(Contains(created.text, "s3cr"));
  EXPECT_FALSE(Contains(s.Get("/api/connections").text, "s3cr"));
  EXPECT_FALSE(Contains(s.Get("/api/connections/erp").text, "s3cr"));

  // Unreachable: the test says so, without the password.
  Reply test = s.Post("/api/connections/erp/test", json::object());
  ASSERT_EQ(test.status, 200) << test.text;
  EXPECT_EQ(test.body["ok"], false);
  EXPECT_EQ(test.body["error"]["code"], "connection");
  EXPECT_FALSE(Contains(test.text, "s3cr"));

  EXPECT_EQ(s.Post("/api/connections", {{"name", "erp"}, {"url", "sqlite:x.db"}}).status, 409);
  Reply bad_name = s.Post("/api/connections", {{"name", "no spaces"}, {"url", "sqlite:x.db"}});
  EXPECT_EQ(bad_name.status, 400);
  Reply unknown = s.Post("/api/connections", {{"name", "a"}, {"url", "sqlite:a.db"}, {"uri", 1}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_TRUE(Contains(unknown.body["error"]["message"], "uri")) << unknown.text;
  Reply missing = s.Post("/api/connections", {{"name", "a"}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_TRUE(Contains(missing.body["error"]["message"], "url")) << missing.text;
  Reply scheme = s.Post("/api/connections", {{"name", "a"}, {"url", "oracle://x/y"}});
  EXPECT_EQ(scheme.status, 422) << scheme.text;
  Reply typed = s.Post("/api/connections", {{"name", 5}, {"url", "sqlite:a.db"}});
  EXPECT_EQ(typed.status, 400) << typed.text;

  // A SQLite connection that works, updated, then deleted.
  SqliteExec(data_ + "/a.db", "CREATE TABLE t(id INTEGER PRIMARY KEY)");
  ASSERT_EQ(s.Post("/api/connections", {{"name", "a"}, {"url", "sqlite:missing.db"}}).status, 201);
  EXPECT_EQ(s.Post("/api/connections/a/test", json::object()).body["ok"], false);
  Reply updated = s.Put("/api/connections/a", {{"url", "sqlite:a.db"}});
  ASSERT_EQ(updated.status, 200) << updated.text;
  Reply ok = s.Post("/api/connections/a/test", json::object());
  EXPECT_EQ(ok.body["ok"], true) << ok.text;
  EXPECT_EQ(ok.body["engine"], "sqlite");
  EXPECT_EQ(s.Put("/api/connections/nope", {{"url", "sqlite:a.db"}}).status, 404);
  EXPECT_EQ(s.Call("DELETE", "/api/connections/a").status, 204);
  EXPECT_EQ(s.Call("DELETE", "/api/connections/a").status, 404);
  EXPECT_EQ(s.Get("/api/connections/a").status, 404);
  ASSERT_EQ(s.Get("/api/connections").body["connections"].size(), 1u);

  // A scheme in any letter case names the same engine, and a relative SQLite path is the data
  // folder's as with "sqlite:".
  SqliteExec(data_ + "/b.db", "CREATE TABLE t(id INTEGER PRIMARY KEY)");
  Reply upper = s.Post("/api/connections", {{"name", "b"}, {"url", "SQLite:b.db"}});
  ASSERT_EQ(upper.status, 201) << upper.text;
  EXPECT_EQ(upper.body["engine"], "sqlite");
  Reply upper_ok = s.Post("/api/connections/b/test", json::object());
  EXPECT_EQ(upper_ok.body["ok"], true) << upper_ok.text;
  EXPECT_EQ(upper_ok.body["engine"], "sqlite");
  Reply maria = s.Post("/api/connections", {{"name", "m"}, {"url", "MariaDB://u@127.0.0.1:1/x"}});
  ASSERT_EQ(maria.status, 201) << maria.text;
  EXPECT_EQ(maria.body["engine"], "mysql");

  s.Stop();
  EXPECT_FALSE(Contains(s.Stderr(), "s3cr"));
  EXPECT_FALSE(Contains(ReadFile(dir_ + "/tether-server.db"), "s3cr@t"))
      << "stored percent-encoded in the URL, as libpq takes it";
}

TEST_F(ServeTest, PipelinesAreValidatedLikeTetherYaml) {
  MakeItems(data_, 10);
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  DefineItems(s);

  Reply got = s.Get("/api/pipelines/items");
  ASSERT_EQ(got.status, 200) << got.text;
  EXPECT_EQ(got.body["origin"], "api");
  EXPECT_EQ(got.body["entity_order"], json::array({"item"}));
  EXPECT_EQ(got.body["entities"]["item"]["keys"], "identity");

  json typo = ItemsPipeline();
  typo["name"] = "typo";
  typo["entities"]["item"]["tabel"] = "item";
  Reply bad = s.Post("/api/pipelines", typo);
  EXPECT_EQ(bad.status, 400) << bad.text;  // the document's schema knows the entity keys
  EXPECT_TRUE(Contains(bad.body["error"]["message"], "tabel")) << bad.text;

  json batch = ItemsPipeline();
  batch["name"] = "batch";
  batch["batch_size"] = 0;
  Reply range = s.Post("/api/pipelines", batch);
  EXPECT_TRUE(range.status == 400 || range.status == 422) << range.text;
  EXPECT_TRUE(Contains(range.body["error"]["message"], "batch_size")) << range.text;

  json nowhere = ItemsPipeline();
  nowhere["name"] = "nowhere";
  nowhere["target"] = "missing";
  Reply conn = s.Post("/api/pipelines", nowhere);
  EXPECT_EQ(conn.status, 422) << conn.text;
  EXPECT_EQ(conn.body["error"]["code"], "config");
  EXPECT_TRUE(Contains(conn.body["error"]["message"], "missing")) << conn.text;

  json cyc = ItemsPipeline();
  cyc["name"] = "cyc";
  cyc["entities"]["a"] = {{"table", "item"}, {"references", {{"price", "b"}}}};
  cyc["entities"]["b"] = {{"table", "item"}, {"references", {{"price", "a"}}}};
  Reply cycle = s.Post("/api/pipelines/validate", cyc);
  EXPECT_EQ(cycle.status, 422) << cycle.text;

  json sched = ItemsPipeline();
  sched["schedule"] = "61 * * * *";
  Reply bad_schedule = s.Post("/api/pipelines/validate", sched);
  EXPECT_EQ(bad_schedule.status, 422) << bad_schedule.text;
  EXPECT_TRUE(Contains(bad_schedule.body["error"]["message"], "schedule")) << bad_schedule.text;

  Reply valid = s.Call("POST", "/api/pipelines/validate?check=true", ItemsPipeline().dump());
  EXPECT_EQ(valid.status, 200) << valid.text;
  EXPECT_EQ(valid.body["valid"], true);
  json missing_table = ItemsPipeline();
  missing_table["entities"]["item"]["table"] = "nosuch";
  Reply checked = s.Call("POST", "/api/pipelines/validate?check=true", missing_table.dump());
  EXPECT_EQ(checked.status, 422) << checked.text;
  EXPECT_TRUE(Contains(checked.body["error"]["message"], "nosuch")) << checked.text;
  EXPECT_FALSE(Contains(checked.body["error"]["message"], dir_)) << "no server paths";

  EXPECT_EQ(s.Post("/api/pipelines", ItemsPipeline()).status, 409);
  EXPECT_EQ(s.Call("DELETE", "/api/connections/src").status, 409) << "used by items";

  json changed = ItemsPipeline(7);
  changed.erase("name");
  Reply put = s.Put("/api/pipelines/items", changed);
  ASSERT_EQ(put.status, 200) << put.text;
  EXPECT_EQ(s.Get("/api/pipelines/items").body["batch_size"], 7);
  EXPECT_EQ(s.Put("/api/pipelines/nope", changed).status, 404);
  EXPECT_EQ(s.Get("/api/pipelines").body["pipelines"].size(), 1u);
  EXPECT_EQ(s.Call("DELETE", "/api/pipelines/items").status, 204);
  EXPECT_EQ(s.Get("/api/pipelines/items").status, 404);
  EXPECT_EQ(s.Call("DELETE", "/api/connections/src").status, 204);
}

TEST_F(ServeTest, BadRequestsGetClearErrors) {
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  Reply json_bad = s.Call("POST", "/api/connections", "{\"name\": ");
  EXPECT_EQ(json_bad.status, 400);
  EXPECT_EQ(json_bad.body["error"]["code"], "invalid_argument");
  EXPECT_TRUE(Contains(json_bad.body["error"]["message"], "JSON")) << json_bad.text;
  EXPECT_EQ(s.Call("POST", "/api/connections", "[1, 2]").status, 400);
  std::string huge = "{\"name\": \"x\", \"url\": \"" + std::string(2 << 20, 'a') + "\"}";
  Reply big = s.Call("POST", "/api/connections", huge);
  EXPECT_EQ(big.status, 413) << big.text.substr(0, 200);
  Reply nowhere = s.Get("/api/nowhere");
  EXPECT_EQ(nowhere.status, 404);
  EXPECT_EQ(nowhere.body["error"]["code"], "not_found");
  Reply method = s.Call("PATCH", "/api/connections", "{}");
  EXPECT_EQ(method.status, 405) << method.text;
  EXPECT_EQ(s.Get("/api/runs/j000").status, 404);
  EXPECT_EQ(s.Post("/api/runs/j000/stop", json::object()).status, 404);
  EXPECT_EQ(s.Get("/api/runs/j000/events").status, 404);
  EXPECT_EQ(s.Post("/api/pipelines/nope/runs", json::object()).status, 404);
  EXPECT_EQ(s.Get("/api/pipelines/nope/links?entity=x").status, 404);
  Reply limit = s.Get("/api/runs?limit=0");
  EXPECT_EQ(limit.status, 400);
  EXPECT_TRUE(Contains(limit.body["error"]["message"], "limit"));
  EXPECT_EQ(s.Get("/api/runs?limit=abc").status, 400);
  // The server still answers after all that.
  EXPECT_EQ(s.Get("/api/stats").status, 200);
  EXPECT_GE(s.Get("/api/stats").body["http"]["errors"].get<int>(), 10);
}

TEST_F(ServeTest, RunSyncsAndReportsCountsLogsRecordsAndLinks) {
  MakeItems(data_, 500);
  SqliteExec(data_ + "/src.db", "INSERT INTO item VALUES (501, '', 1)");  // kept: name not null
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  DefineItems(s);

  // A dry run first: a plan, nothing written.
  std::string plan_id = StartRun(s, {{"dry_run", true}});
  json plan_run = s.WaitFinished(plan_id);
  EXPECT_EQ(plan_run["status"], "succeeded") << plan_run.dump();
  EXPECT_EQ(plan_run["counts"]["inserted"], 501) << plan_run.dump();
  EXPECT_EQ(Count(data_ + "/dst.db", "SELECT COUNT(*) FROM item"), 0);
  Reply plan = s.Get("/api/runs/" + plan_id + "/plan?limit=10");
  ASSERT_EQ(plan.status, 200) << plan.text;
  EXPECT_EQ(plan.body["records"].size(), 10u);
  EXPECT_EQ(plan.body["records"][0]["action"], "insert");
  EXPECT_EQ(plan.body["next_after"], 10);
  Reply page2 = s.Get("/api/runs/" + plan_id + "/plan?after=10&limit=1000");
  EXPECT_EQ(page2.body["records"].size(), 491u);

  std::string id = StartRun(s);
  json run = s.WaitFinished(id);
  EXPECT_EQ(run["status"], "succeeded") << run.dump();
  EXPECT_EQ(run["kind"], "sync");
  EXPECT_EQ(run["trigger"], "api");
  EXPECT_EQ(run["attempt"], 1);
  EXPECT_EQ(run["counts"]["inserted"], 501);
  EXPECT_EQ(run["progress"]["percent"], 100.0);
  EXPECT_EQ(run["engine_run_ids"].size(), 1u);
  ExpectEqualItems();
  EXPECT_EQ(s.Get("/api/runs/" + id + "/plan").status, 409) << "not a dry run";

  Reply logs = s.Get("/api/runs/" + id + "/logs");
  ASSERT_EQ(logs.status, 200);
  ASSERT_GE(logs.body["logs"].size(), 3u);
  EXPECT_TRUE(Contains(logs.body["logs"].back()["text"], "succeeded")) << logs.text;
  Reply later = s.Get("/api/runs/" + id +
                      "/logs?after=" + std::to_string(logs.body["next_after"].get<int>()));
  EXPECT_EQ(later.body["logs"].size(), 0u);

  // An update that the target refuses is a per-record result and a failed link.
  SqliteExec(data_ + "/dst.db",
             "CREATE TRIGGER no_big BEFORE UPDATE ON item WHEN NEW.price > 10000 "
             "BEGIN SELECT RAISE(ABORT, 'price too big'); END;");
  SqliteExec(data_ + "/src.db", "UPDATE item SET price = 99999 WHERE id = 7");
  SqliteExec(data_ + "/src.db", "UPDATE item SET name = 'renamed' WHERE id = 8");
  std::string id2 = StartRun(s);
  json run2 = s.WaitFinished(id2);
  EXPECT_EQ(run2["status"], "partial") << run2.dump();
  EXPECT_EQ(run2["counts"]["updated"], 1);
  EXPECT_EQ(run2["counts"]["failed"], 1);
  Reply records = s.Get("/api/runs/" + id2 + "/records");
  ASSERT_EQ(records.status, 200);
  ASSERT_EQ(records.body["records"].size(), 1u) << records.text;
  EXPECT_EQ(records.body["records"][0]["source_id"], "7");
  EXPECT_TRUE(Contains(records.body["records"][0]["reason"], "price too big")) << records.text;
  EXPECT_EQ(s.Get("/api/runs/" + id2 + "/records?action=update").body["records"].size(), 0u);

  // Identity keys need no links: the failure is in the run's records only (links of mapped
  // keys are checked with the demo below).
  Reply failed = s.Get("/api/pipelines/items/links?entity=item&status=failed");
  ASSERT_EQ(failed.status, 200) << failed.text;
  EXPECT_EQ(failed.body["links"].size(), 0u) << failed.text;
  EXPECT_EQ(s.Get("/api/pipelines/items/links").status, 400);
  EXPECT_EQ(s.Get("/api/pipelines/items/links?entity=nope").status, 400);

  // Selected keys: only those records.
  SqliteExec(data_ + "/dst.db", "DROP TRIGGER no_big");
  SqliteExec(data_ + "/src.db", "UPDATE item SET name = 'sel' WHERE id IN (1, 2)");
  std::string sel = StartRun(s, {{"keys", {{"item", {"1", "7"}}}}});
  json sel_run = s.WaitFinished(sel);
  EXPECT_EQ(sel_run["status"], "succeeded") << sel_run.dump();
  EXPECT_EQ(sel_run["counts"]["updated"], 2) << sel_run.dump();
  EXPECT_EQ(SqliteRows(data_ + "/dst.db", "SELECT name FROM item WHERE id = 2"),
            std::vector<std::string>{"item 2"});
  EXPECT_EQ(s.Post("/api/pipelines/items/runs", {{"keys", {{"nope", {"1"}}}}}).status, 400);
  EXPECT_EQ(s.Post("/api/pipelines/items/runs", {{"mode", "sometimes"}}).status, 400);

  // A diff names the one difference left.
  std::string diff = s.Post("/api/pipelines/items/diff", json::object()).body.value("id", "");
  json diff_run = s.WaitFinished(diff);
  EXPECT_EQ(diff_run["kind"], "diff");
  EXPECT_EQ(diff_run["status"], "succeeded") << diff_run.dump();
  Reply diffs = s.Get("/api/runs/" + diff + "/plan");
  ASSERT_EQ(diffs.body["records"].size(), 1u) << diffs.text;
  EXPECT_EQ(diffs.body["records"][0]["source_id"], "2");

  Reply list = s.Get("/api/runs?pipeline=items&limit=2");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["runs"].size(), 2u);
  EXPECT_EQ(list.body["runs"][0]["id"], diff) << "newest first";
  Reply next = s.Get("/api/runs?pipeline=items&limit=2&before=" +
                     list.body["next_before"].get<std::string>());
  ASSERT_EQ(next.body["runs"].size(), 2u);
  EXPECT_EQ(next.body["runs"][0]["id"], id2);
  EXPECT_EQ(s.Get("/api/runs?status=partial").body["runs"].size(), 1u);
  EXPECT_EQ(s.Get("/api/runs?kind=diff").body["runs"].size(), 1u);

  Reply stats = s.Get("/api/stats");
  EXPECT_EQ(stats.body["runs"]["succeeded"], 4) << stats.text;
  EXPECT_EQ(stats.body["runs"]["partial"], 1) << stats.text;
  EXPECT_EQ(stats.body["records"]["inserted"], 501) << "the dry run's plan is not counted";
  Reply metrics = s.Get("/metrics");
  EXPECT_TRUE(
      Contains(metrics.text, "tether_runs_total{pipeline=\"items\",status=\"succeeded\"} 4"))
      << metrics.text;
  EXPECT_TRUE(Contains(metrics.text, "tether_run_duration_seconds_count{pipeline=\"items\"} 5"))
      << metrics.text;
}

// 3,000 items whose updates cost the target about 2 ms each (a trigger counts to 10,000), so
// that runs of updates last long enough to be watched, stopped and killed, whatever the disk.
void MakeSlowChanges(const std::string& dir) {
  MakeItems(dir, 3000);
  SqliteExec(dir + "/dst.db",
             "CREATE TABLE burn(n INTEGER);"
             "CREATE TRIGGER slow AFTER UPDATE ON item BEGIN INSERT INTO burn "
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) "
             "SELECT count(*) FROM c; END;");
}

TEST_F(ServeTest, ARunIsStoppedBetweenBatchesAndASecondStartIsRefused) {
  MakeSlowChanges(data_);
  ServeProcess s(dir_, {});
  StartSynced(s, 10);
  SqliteExec(data_ + "/src.db", "UPDATE item SET price = price + 1 WHERE id <= 1000");

  std::string id = StartRun(s);
  Reply second = s.Post("/api/pipelines/items/runs", json::object());
  EXPECT_EQ(second.status, 409) << second.text;
  EXPECT_EQ(second.body["error"]["code"], "conflict");
  EXPECT_TRUE(Contains(second.body["error"]["message"], id)) << second.text;
  EXPECT_EQ(s.Call("DELETE", "/api/pipelines/items").status, 409);

  s.WaitRun(id, [](const json& r) { return r["counts"]["updated"].get<int>() >= 20; });
  Reply stop = s.Post("/api/runs/" + id + "/stop", json::object());
  ASSERT_EQ(stop.status, 202) << stop.text;
  EXPECT_EQ(stop.body["stop_requested"], true);
  json run = s.WaitFinished(id, 30);
  EXPECT_EQ(run["status"], "cancelled") << run.dump();
  const int updated = run["counts"]["updated"].get<int>();
  EXPECT_GT(updated, 0);
  EXPECT_LT(updated, 1000);
  EXPECT_EQ(updated % 10, 0) << "whole batches only";
  EXPECT_EQ(Count(data_ + "/dst.db", "SELECT COUNT(*) FROM item WHERE price <> id * 0.5"), updated);
  EXPECT_EQ(s.Post("/api/runs/" + id + "/stop", json::object()).status, 409);

  // The next run does the rest.
  json rest = s.WaitFinished(StartRun(s), 120);
  EXPECT_EQ(rest["status"], "succeeded") << rest.dump();
  EXPECT_EQ(rest["counts"]["updated"].get<int>(), 1000 - updated) << rest.dump();
  ExpectEqualItems();
}

TEST_F(ServeTest, EventsStreamProgressAndEnd) {
  MakeSlowChanges(data_);
  ServeProcess s(dir_, {});
  StartSynced(s, 10);
  SqliteExec(data_ + "/src.db", "UPDATE item SET price = price + 1 WHERE id <= 600");
  std::string id = StartRun(s);

  httplib::Client c("127.0.0.1", s.port());
  c.set_read_timeout(std::chrono::seconds(60));
  std::string stream;
  int progress = 0;
  auto res =
      c.Get("/api/runs/" + id + "/events", {{"Authorization", std::string("Bearer ") + kToken}},
            [&](const char* data, size_t n) {
              stream.append(data, n);
              return true;
            });
  ASSERT_TRUE(res) << "transport error";
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  size_t pos = 0;
  while ((pos = stream.find("event: progress", pos)) != std::string::npos) {
    ++progress;
    ++pos;
  }
  EXPECT_GE(progress, 2) << stream.substr(0, 2000);
  const size_t end = stream.find("event: end\ndata: ");
  ASSERT_NE(end, std::string::npos) << stream.substr(0, 2000);
  json last = json::parse(stream.substr(end + 17, stream.find('\n', end + 17) - end - 17));
  EXPECT_EQ(last["status"], "succeeded");
  EXPECT_EQ(last["counts"]["updated"], 600);
  EXPECT_TRUE(Contains(stream, "event: log")) << stream.substr(0, 2000);

  // A finished run's stream says "end" at once.
  auto again =
      c.Get("/api/runs/" + id + "/events", {{"Authorization", std::string("Bearer ") + kToken}});
  ASSERT_TRUE(again);
  EXPECT_TRUE(Contains(again->body, "event: end")) << again->body;
}

// The backoff itself (retry_delay, doubled) is timed on a test clock in
// tests/server/job_runner_test.cc; here the flags reach the server's runner.
TEST_F(ServeTest, RetryableFailuresAreRetriedThenFail) {
  MakeItems(data_, 10);
  ServeProcess s(dir_, {"--retry-attempts", "2", "--retry-delay", "1ms"});
  ASSERT_TRUE(s.Start());
  ASSERT_EQ(s.Post("/api/connections", {{"name", "src"}, {"url", "sqlite:src.db"}}).status, 201);
  ASSERT_EQ(
      s.Post("/api/connections",
             {{"name", "dst"}, {"url", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}})
          .status,
      201);
  ASSERT_EQ(s.Post("/api/pipelines", ItemsPipeline()).status, 201);
  json run = s.WaitFinished(StartRun(s), 60);
  EXPECT_EQ(run["status"], "failed") << run.dump();
  EXPECT_EQ(run["attempt"], 3);
  EXPECT_EQ(run["max_attempts"], 3);
  Reply logs = s.Get("/api/runs/" + run["id"].get<std::string>() + "/logs");
  int retries = 0;
  for (const json& l : logs.body["logs"]) {
    if (Contains(l["text"], "retrying at")) ++retries;
  }
  EXPECT_EQ(retries, 2) << logs.text;

  // A configuration problem is not retried.
  ASSERT_EQ(s.Put("/api/connections/dst", {{"url", "sqlite:dst2.db"}}).status, 200);
  SqliteExec(data_ + "/dst2.db", "CREATE TABLE item(id INTEGER PRIMARY KEY)");  // no name, price
  json cfg = s.WaitFinished(StartRun(s), 60);
  EXPECT_EQ(cfg["status"], "failed") << cfg.dump();
  EXPECT_EQ(cfg["attempt"], 1) << cfg.dump();
}

// A run held at a timeout, and what it leaves, is tested on a test clock in
// tests/server/job_runner_test.cc; here --job-timeout reaches the server's runner.
TEST_F(ServeTest, JobTimeoutStopsALongRun) {
  // 500 inserts that cost the target about 2 ms each: a run of a second, stopped after 100 ms.
  MakeItems(data_, 500);
  SqliteExec(data_ + "/dst.db",
             "CREATE TABLE burn(n INTEGER);"
             "CREATE TRIGGER slow AFTER INSERT ON item BEGIN INSERT INTO burn "
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) "
             "SELECT count(*) FROM c; END;");
  ServeProcess s(dir_, {"--job-timeout", "100ms"});
  ASSERT_TRUE(s.Start());
  DefineItems(s, 10);
  json run = s.WaitFinished(StartRun(s), 60);
  EXPECT_EQ(run["status"], "timed_out") << run.dump();
  EXPECT_TRUE(Contains(run["message"], "job_timeout")) << run.dump();
  EXPECT_LT(run["counts"]["inserted"].get<int>(), 500);
}

// When ticks fall, that a tick during a run is skipped rather than stacked, and missed ticks
// after a restart, are tested on a test clock in tests/server/job_runner_test.cc; here a
// schedule set through the API fires in the real server and shows in its routes and metrics.
TEST_F(ServeTest, AScheduleSetThroughTheApiFires) {
  MakeItems(data_, 10);
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  DefineItems(s);
  json every = ItemsPipeline();
  every.erase("name");
  every["schedule"] = {{"every", "1s"}};
  ASSERT_EQ(s.Put("/api/pipelines/items", every).status, 200);
  Reply sched = s.Get("/api/schedules");
  ASSERT_EQ(sched.body["schedules"].size(), 1u) << sched.text;
  EXPECT_EQ(sched.body["schedules"][0]["schedule"], "every 1s");
  EXPECT_FALSE(sched.body["schedules"][0]["next_at"].is_null());
  EXPECT_FALSE(s.Get("/api/pipelines/items").body["next_run_at"].is_null());

  std::string first;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (first.empty() && std::chrono::steady_clock::now() < deadline) {
    Reply runs = s.Get("/api/runs?trigger=schedule");
    if (!runs.body["runs"].empty()) first = runs.body["runs"].back()["id"];
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(first.empty()) << "no scheduled run in 30 s";
  json run = s.WaitFinished(first, 120);
  EXPECT_EQ(run["status"], "succeeded") << run.dump();
  EXPECT_EQ(run["trigger"], "schedule");
  ExpectEqualItems();
  Reply metrics = s.Get("/metrics");
  EXPECT_TRUE(
      Contains(metrics.text, "tether_schedule_ticks_total{pipeline=\"items\",outcome=\"started\"}"))
      << metrics.text;
  // Off again: an update waits for no run, and the schedule is gone.
  every.erase("schedule");
  Reply off;
  for (int i = 0; i < 200; ++i) {
    off = s.Put("/api/pipelines/items", every);
    if (off.status != 409) break;  // a scheduled run is active: updates wait for it
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(off.status, 200) << off.text;
  EXPECT_EQ(s.Get("/api/schedules").body["schedules"].size(), 0u);
}

TEST_F(ServeTest, ARestartLosesNothingAndAKilledRunIsMarkedFailed) {
  MakeSlowChanges(data_);
  ServeProcess s(dir_, {});
  StartSynced(s, 10);
  SqliteExec(data_ + "/src.db", "UPDATE item SET price = price + 1 WHERE id <= 600");
  std::string id = StartRun(s);
  s.WaitRun(id, [](const json& r) { return r["counts"]["updated"].get<int>() >= 30; });
  EXPECT_EQ(s.Stop(SIGKILL), 128 + SIGKILL);

  ASSERT_TRUE(s.Start());
  json killed = s.Get("/api/runs/" + id).body;
  EXPECT_EQ(killed["status"], "failed") << killed.dump();
  EXPECT_TRUE(Contains(killed["message"], "server stopped")) << killed.dump();
  EXPECT_FALSE(killed["finished_at"].is_null());
  EXPECT_EQ(s.Get("/api/connections").body["connections"].size(), 2u);
  EXPECT_EQ(s.Get("/api/pipelines/items").status, 200);
  EXPECT_GE(s.Get("/api/runs/" + id + "/logs").body["logs"].size(), 2u);

  json resumed = s.WaitFinished(StartRun(s), 120);
  EXPECT_EQ(resumed["status"], "succeeded") << resumed.dump();
  EXPECT_LT(resumed["counts"]["updated"].get<int>(), 600) << "resumed, not redone";
  ExpectEqualItems();

  // A graceful stop in the middle of a run: cancelled, and the run finishes next time.
  SqliteExec(data_ + "/src.db", "UPDATE item SET price = price + 1 WHERE id <= 600");
  std::string id2 = StartRun(s);
  s.WaitRun(id2, [](const json& r) { return r["counts"]["updated"].get<int>() >= 30; });
  EXPECT_EQ(s.Stop(SIGTERM), 0);
  ASSERT_TRUE(s.Start());
  json stopped = s.Get("/api/runs/" + id2).body;
  EXPECT_EQ(stopped["status"], "cancelled") << stopped.dump();
  json after = s.WaitFinished(StartRun(s), 120);
  EXPECT_EQ(after["status"], "succeeded") << after.dump();
  ExpectEqualItems();
}

TEST_F(ServeTest, SchedulesSurviveARestartAndOldRunsAreCleanedUp) {
  MakeItems(data_, 10);
  ServeProcess s(dir_, {});
  ASSERT_TRUE(s.Start());
  DefineItems(s);
  json run = s.WaitFinished(StartRun(s));
  ASSERT_EQ(run["status"], "succeeded") << run.dump();
  json yearly = ItemsPipeline();
  yearly.erase("name");
  yearly["schedule"] = "@yearly";
  ASSERT_EQ(s.Put("/api/pipelines/items", yearly).status, 200);
  Reply before = s.Get("/api/schedules");
  ASSERT_EQ(before.body["schedules"].size(), 1u) << before.text;
  EXPECT_EQ(s.Stop(), 0);

  // Restarted: the schedule keeps its last tick (no catch-up run for a tick not yet due), and
  // with cleanup_age 1ms the finished run goes with its logs (cleanup_age on a test clock:
  // tests/server/job_runner_test.cc).
  ServeProcess again(dir_, {"--cleanup-age", "1ms"});
  ASSERT_TRUE(again.Start());
  Reply after = again.Get("/api/schedules");
  ASSERT_EQ(after.body["schedules"].size(), 1u) << after.text;
  EXPECT_EQ(after.body["schedules"][0]["last_tick"], before.body["schedules"][0]["last_tick"]);
  EXPECT_EQ(after.body["schedules"][0]["next_at"], before.body["schedules"][0]["next_at"]);
  Reply gone;
  for (int i = 0; i < 100; ++i) {
    gone = again.Get("/api/runs/" + run["id"].get<std::string>());
    if (gone.status == 404) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(gone.status, 404) << gone.text;
  EXPECT_EQ(again.Get("/api/runs/" + run["id"].get<std::string>() + "/logs").status, 404);
  EXPECT_EQ(again.Get("/api/runs?trigger=schedule").body["runs"].size(), 0u);
}

TEST_F(ServeTest, FilePipelinesRunAndAreReadOnly) {
  MakeDemo(dir_ + "/demo");
  ServeProcess s(dir_, {"-c", "demo/tether.yaml"});
  ASSERT_TRUE(s.Start());
  Reply list = s.Get("/api/pipelines");
  ASSERT_EQ(list.body["pipelines"].size(), 1u) << list.text;
  const std::string name = list.body["pipelines"][0]["name"];
  EXPECT_EQ(list.body["pipelines"][0]["origin"], "file");
  EXPECT_EQ(s.Call("DELETE", "/api/pipelines/" + name).status, 409);
  EXPECT_EQ(s.Call("DELETE", "/api/connections/live").status, 409);
  json run = s.WaitFinished(StartRun(s, json::object(), name), 120);
  EXPECT_EQ(run["status"], "succeeded") << run.dump();
  EXPECT_EQ(run["counts"]["inserted"], 7496) << run.dump();
  EXPECT_EQ(run["counts"]["skipped"], 4) << run.dump();

  // Links of mapped keys: the skipped records are failed links, with why; a synced one is found
  // by either id.
  Reply failed = s.Get("/api/pipelines/" + name + "/links?entity=customer&status=failed");
  ASSERT_EQ(failed.status, 200) << failed.text;
  ASSERT_GE(failed.body["links"].size(), 1u) << failed.text;
  EXPECT_EQ(failed.body["links"][0]["status"], "failed");
  EXPECT_FALSE(failed.body["links"][0]["last_error"].get<std::string>().empty());
  Reply some = s.Get("/api/pipelines/" + name + "/links?entity=customer&limit=1");
  ASSERT_EQ(some.body["links"].size(), 1u) << some.text;
  const json link = some.body["links"][0];
  Reply by_source = s.Get("/api/pipelines/" + name + "/links?entity=customer&source_id=" +
                          link["source_id"].get<std::string>());
  ASSERT_EQ(by_source.body["links"].size(), 1u) << by_source.text;
  EXPECT_EQ(by_source.body["links"][0]["target_id"], link["target_id"]);
  Reply by_target = s.Get("/api/pipelines/" + name + "/links?entity=customer&target_id=" +
                          link["target_id"].get<std::string>());
  ASSERT_EQ(by_target.body["links"].size(), 1u) << by_target.text;
  EXPECT_EQ(by_target.body["links"][0]["source_id"], link["source_id"]);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/demo/tether-server.db"))
      << "the state store sits beside the config";
}

// The server's own store on PostgreSQL, and a run from PostgreSQL to MariaDB through the API.
TEST_F(ServeTest, PostgresStateStoreAndACrossEngineRun) {
  ::tether::testing::TestDatabase state("postgres");
  ::tether::testing::TestDatabase src("postgres");
  ::tether::testing::TestDatabase dst("mysql");
  ASSERT_TRUE(state.ok() && src.ok() && dst.ok());
  src.Exec("CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DOUBLE PRECISION)");
  src.Exec("INSERT INTO item SELECT i, 'item ' || i, i * 0.5 FROM generate_series(1, 2000) i");
  dst.Exec("CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DOUBLE)");
  ServeProcess s(dir_, {"--state", state.url()});
  ASSERT_TRUE(s.Start());
  ASSERT_EQ(s.Post("/api/connections", {{"name", "src"}, {"url", src.url()}}).status, 201);
  ASSERT_EQ(s.Post("/api/connections", {{"name", "dst"}, {"url", dst.url()}}).status, 201);
  ASSERT_EQ(s.Post("/api/pipelines", ItemsPipeline()).status, 201);
  EXPECT_EQ(s.Post("/api/connections/dst/test", json::object()).body["ok"], true);
  json run = s.WaitFinished(StartRun(s), 120);
  EXPECT_EQ(run["status"], "succeeded") << run.dump();
  EXPECT_EQ(run["counts"]["inserted"], 2000);
  EXPECT_EQ(dst.Rows("SELECT COUNT(*), SUM(price) FROM item"),
            std::vector<std::string>{"2000|1000500"});
  s.Stop();
  ASSERT_TRUE(s.Start());
  EXPECT_EQ(s.Get("/api/runs/" + run["id"].get<std::string>()).body["status"], "succeeded");
  EXPECT_EQ(state.Rows("SELECT COUNT(*) FROM tether_server_pipelines"),
            std::vector<std::string>{"1"});
}

}  // namespace
}  // namespace tether::e2e
