// serve_bench: a load test of `tether serve`. The real binary serves a tether.yaml of four
// pipelines — PostgreSQL → PostgreSQL, MariaDB → MariaDB, PostgreSQL → MariaDB (from the file)
// and SQLite → SQLite (created through POST /api/pipelines) — each copying a product table of
// N rows; all four syncs start through POST /api/pipelines/{name}/runs, and while they run 100
// HTTP clients on loopback keep-alive connections poll run status and stats (GET
// /api/runs/{id}, /api/stats, /api/runs) or follow a run's Server-Sent Events (GET
// /api/runs/{id}/events). Every request's latency is recorded; the bench prints requests/s,
// p50/p90/p99/max, errors and events, each run's status and duration, and then checks that every
// target holds exactly its source's rows. A second round runs the same syncs with no clients,
// so the cost of the clients on sync time shows side by side. Bounded in time (--max-seconds)
// and requests (--max-requests). Exits 1 on an HTTP error, a run that did not succeed or unequal
// data, never on a time. Starts its own throwaway servers (scripts/test-servers.sh) unless given
// URLs; see bench/README.md for how to run it and read the tables.
#include <fmt/format.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace {

using bench::CpuModel;
using bench::Die;
using bench::FirstLine;
using bench::g_run;
using bench::Measure;
using bench::MemTotal;
using bench::Run;
using bench::Thousands;
using bench::Trim;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace fs = std::filesystem;

constexpr char kSourceDb[] = "tether_sbench_src";
constexpr char kTargetDb[] = "tether_sbench_dst";
constexpr char kCrossDb[] = "tether_sbench_cross";  // PostgreSQL → MariaDB's target
constexpr char kToken[] = "serve-bench-token";
constexpr char kHost[] = "127.0.0.1";
constexpr int kListLimit = 20;  // GET /api/runs?limit=
constexpr int kListEvery = 10;  // a poller lists runs every kListEvery-th request
constexpr size_t kErrorSamples = 10;

// Besides these: --tether, --pg-url, --mysql-url, --dir, --servers-script (bench::ServerFlags).
struct Options : bench::ServerFlags {
  int64_t rows = 200000;
  int clients = 100;
  int streams = 30;          // of the clients, those that follow event streams
  int poll_interval_ms = 0;  // a poller's pause between requests; 0: the next one at once
  double max_seconds = 120;  // per round, from the first run started
  int64_t max_requests = 2000000;
  size_t batch_size = 0;
  bool peer = true;  // the second round, without clients
  bool keep = false;
};

// One database server, reached through its own command-line client (psql / mysql).
class Server : public bench::DbServer {
 public:
  Server(std::string engine, const std::string& url, fs::path dir)
      : DbServer(std::move(engine), url, std::move(dir), Die) {}
};

// ---- SQLite (the sqlite3 library: no shell needed) ----------------------------------------

class SqliteDb {
 public:
  explicit SqliteDb(const fs::path& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) Die("cannot open " + path.string());
    sqlite3_busy_timeout(db_, 10000);
  }
  ~SqliteDb() { sqlite3_close(db_); }
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string e = err ? err : "?";
      sqlite3_free(err);
      Die("SQLite: " + e + "\n  in: " + sql.substr(0, 200));
    }
  }

  int64_t Int(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      Die(std::string("SQLite: ") + sqlite3_errmsg(db_) + "\n  in: " + sql);
    }
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
  }

 private:
  sqlite3* db_ = nullptr;
};

void RemoveSqlite(const fs::path& file) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::remove(file.string() + suffix, ec);
  }
}

// ---- the pipelines --------------------------------------------------------------------------

struct Pipeline {
  std::string name;            // in tether.yaml / the API
  std::string label;           // "PostgreSQL → PostgreSQL"
  std::string source, target;  // connection names
  bool via_api = false;        // created through POST /api/pipelines, not in tether.yaml
};

const std::vector<Pipeline> kPipelines = {
    {"pg_to_pg", "PostgreSQL → PostgreSQL", "pg_src", "pg_dst", false},
    {"my_to_my", "MariaDB → MariaDB", "my_src", "my_dst", false},
    {"pg_to_my", "PostgreSQL → MariaDB", "pg_src", "my_cross", false},
    {"sqlite_to_sqlite", "SQLite → SQLite", "sqlite_src", "sqlite_dst", true},
};

// The entity every pipeline copies: the product table, same key on both sides.
json ProductEntity() { return {{"table", "product"}, {"key", "id"}, {"keys", "identity"}}; }

std::string ServeConfig(const Server& pg, const Server& my, const fs::path& sqlite_dir,
                        size_t batch_size, int clients) {
  std::string yaml = fmt::format(
      R"(connections:
  pg_src: {{ url: "{}" }}
  pg_dst: {{ url: "{}" }}
  my_src: {{ url: "{}" }}
  my_dst: {{ url: "{}" }}
  my_cross: {{ url: "{}" }}
  sqlite_src: {{ url: "sqlite:{}" }}
  sqlite_dst: {{ url: "sqlite:{}" }}
entities:
  product:
    table: product
    key: id
    keys: identity
pipelines:
)",
      pg.Url(kSourceDb), pg.Url(kTargetDb), my.Url(kSourceDb), my.Url(kTargetDb), my.Url(kCrossDb),
      (sqlite_dir / "source.db").string(), (sqlite_dir / "target.db").string());
  for (const Pipeline& p : kPipelines) {
    if (p.via_api) continue;
    yaml += fmt::format("  {}:\n    source: {}\n    target: {}\n    entities: [product]\n", p.name,
                        p.source, p.target);
    if (batch_size > 0) yaml += fmt::format("    batch_size: {}\n", batch_size);
  }
  // Every client is on loopback, one address: room for all of them (and the monitor).
  yaml += fmt::format("server:\n  max_connections_per_client: {}\n", std::max(clients + 16, 128));
  return yaml;
}

// ---- HTTP ------------------------------------------------------------------------------------

std::unique_ptr<httplib::Client> NewClient(int port, int read_timeout_s) {
  auto cli = std::make_unique<httplib::Client>(kHost, port);
  cli->set_keep_alive(true);
  cli->set_bearer_token_auth(kToken);
  cli->set_connection_timeout(5);
  cli->set_read_timeout(read_timeout_s);
  cli->set_write_timeout(30);
  return cli;
}

// The JSON body of a request answered with `want`; nullopt with *error set otherwise.
std::optional<json> Call(httplib::Client& cli, const std::string& method, const std::string& path,
                         int want, std::string* error, const std::string& body = "{}") {
  httplib::Result res = method == "GET" ? cli.Get(path) : cli.Post(path, body, "application/json");
  if (!res) {
    *error = fmt::format("{} {}: {}", method, path, httplib::to_string(res.error()));
    return std::nullopt;
  }
  json j = json::parse(res->body, nullptr, false);
  if (res->status != want || j.is_discarded()) {
    *error = fmt::format("{} {}: HTTP {}: {}", method, path, res->status,
                         FirstLine(res->body).substr(0, 300));
    return std::nullopt;
  }
  return j;
}

// ---- the clients -----------------------------------------------------------------------------

enum Route { kGetRun, kGetStats, kListRuns, kEvents, kRoutes };
constexpr const char* kRouteNames[kRoutes] = {
    "GET /api/runs/{id}", "GET /api/stats", "GET /api/runs?limit=20", "GET /api/runs/{id}/events"};

// What every client thread shares; the run ids are set before the threads start.
struct Shared {
  int port = 0;
  std::vector<std::string> run_ids;
  std::unique_ptr<std::atomic<bool>[]> ended;  // per run: an event stream saw its end
  int64_t max_requests = 0;
  std::chrono::milliseconds poll_interval{0};
  std::atomic<bool> runs_done{false};  // every run finished: the pollers stop
  std::atomic<bool> abort{false};      // --max-seconds passed: everyone stops
  std::atomic<int64_t> polls{0};
  std::atomic<bool> capped{false};
  std::mutex mu;
  std::vector<std::string> samples;  // the first errors, for the report
};

// One client thread's figures; merged after the threads end.
struct Tally {
  std::vector<float> ms[kRoutes];  // latency per request (events: until the response headers)
  int64_t errors = 0;
  int64_t anomalies = 0;  // a run's status or read count went backwards between two polls
  int64_t streams = 0, progress = 0, logs = 0, ends = 0, keep_alives = 0;
  Clock::time_point last_poll{};
};

void Note(Shared& s, int64_t* counter, const std::string& what) {
  ++*counter;
  std::lock_guard<std::mutex> lk(s.mu);
  if (s.samples.size() < kErrorSamples) s.samples.push_back(what);
}

int StatusRank(const std::string& status) {
  if (status == "queued") return 0;
  if (status == "running") return 1;
  return 2;
}

bool Terminal(const std::string& status) { return StatusRank(status) == 2; }

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Polls run status, stats and the run list over one keep-alive connection until the runs are
// done, the request cap is reached or the bench gives up.
void Poller(Shared& s, Tally& t, int index) {
  auto cli = NewClient(s.port, 30);
  const size_t n = s.run_ids.size();
  std::vector<std::pair<int, int64_t>> last(n, {-1, -1});  // status rank, counts.read
  for (int64_t i = 0; !s.runs_done && !s.abort; ++i) {
    if (s.polls.fetch_add(1) >= s.max_requests) {
      s.capped = true;
      break;
    }
    Route route = i % kListEvery == kListEvery - 1 ? kListRuns : (i % 2 == 0 ? kGetRun : kGetStats);
    const size_t run = static_cast<size_t>(index + i / 2) % n;
    const std::string path = route == kGetRun     ? "/api/runs/" + s.run_ids[run]
                             : route == kGetStats ? "/api/stats"
                                                  : fmt::format("/api/runs?limit={}", kListLimit);
    const auto t0 = Clock::now();
    httplib::Result res = cli->Get(path);
    const auto t1 = Clock::now();
    t.ms[route].push_back(static_cast<float>(Ms(t1 - t0)));
    t.last_poll = t1;
    if (!res) {
      Note(s, &t.errors, fmt::format("GET {}: {}", path, httplib::to_string(res.error())));
      continue;
    }
    if (res->status != 200) {
      Note(s, &t.errors,
           fmt::format("GET {}: HTTP {}: {}", path, res->status, FirstLine(res->body)));
      continue;
    }
    json j = json::parse(res->body, nullptr, false);
    bool ok = j.is_object();
    if (ok && route == kGetRun) {
      ok = j.value("id", "") == s.run_ids[run] && j.contains("status") && j["status"].is_string() &&
           j.contains("counts") && j["counts"].is_object();
      if (ok) {
        const int rank = StatusRank(j["status"].get<std::string>());
        const int64_t read = j["counts"].value("read", int64_t{0});
        if (rank < last[run].first || read < last[run].second) {
          Note(s, &t.anomalies,
               fmt::format("GET {}: went backwards: status rank {} -> {}, read {} -> {}", path,
                           last[run].first, rank, last[run].second, read));
        }
        last[run] = {rank, read};
      }
    } else if (ok && route == kGetStats) {
      ok = j.contains("runs") && j["runs"].is_object();
    } else if (ok) {
      ok = j.contains("runs") && j["runs"].is_array();
    }
    if (!ok) {
      Note(s, &t.errors,
           fmt::format("GET {}: unexpected body: {}", path, FirstLine(res->body).substr(0, 200)));
    }
    if (s.poll_interval.count() > 0) std::this_thread::sleep_for(s.poll_interval);
  }
}

// Follows the event stream of a run until its "end" event, then of the next run no stream has
// seen end, until every run has ended (or the bench gives up).
void Streamer(Shared& s, Tally& t, int index) {
  auto cli = NewClient(s.port, 60);  // the server sends a keep-alive comment every 15 s
  const size_t n = s.run_ids.size();
  httplib::Headers headers = {{"Accept", "text/event-stream"}};
  while (!s.abort) {
    size_t run = n;
    for (size_t k = 0; k < n; ++k) {
      const size_t candidate = (static_cast<size_t>(index) + k) % n;
      if (!s.ended[candidate]) {
        run = candidate;
        break;
      }
    }
    if (run == n) return;
    const std::string path = "/api/runs/" + s.run_ids[run] + "/events";
    std::string buffer, last_event, end_data, content_type;
    int status = 0;
    ++t.streams;
    const auto t0 = Clock::now();
    httplib::Result res = cli->Get(
        path, headers,
        [&](const httplib::Response& r) {
          t.ms[kEvents].push_back(static_cast<float>(Ms(Clock::now() - t0)));
          status = r.status;
          content_type = r.get_header_value("Content-Type");
          return r.status == 200;
        },
        [&](const char* data, size_t len) {
          buffer.append(data, len);
          for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
            const std::string block = buffer.substr(0, end);
            buffer.erase(0, end + 2);
            if (block.rfind(':', 0) == 0) {
              ++t.keep_alives;
              continue;
            }
            std::string event, payload;
            size_t pos = 0;
            while (pos <= block.size()) {
              size_t eol = block.find('\n', pos);
              if (eol == std::string::npos) eol = block.size();
              const std::string line = block.substr(pos, eol - pos);
              if (line.rfind("event: ", 0) == 0) event = line.substr(7);
              if (line.rfind("data: ", 0) == 0) payload += line.substr(6);
              pos = eol + 1;
            }
            last_event = event;
            if (event == "progress") ++t.progress;
            if (event == "log") ++t.logs;
            if (event == "end") {
              ++t.ends;
              end_data = payload;
            }
          }
          return !s.abort.load();
        });
    if (s.abort) return;
    if (!res && status == 0) {
      Note(s, &t.errors, fmt::format("GET {}: {}", path, httplib::to_string(res.error())));
    } else if (status != 200) {
      Note(s, &t.errors, fmt::format("GET {}: HTTP {}", path, status));
    } else if (content_type.rfind("text/event-stream", 0) != 0) {
      Note(s, &t.errors, fmt::format("GET {}: Content-Type {}", path, content_type));
    } else if (last_event != "end" || !buffer.empty()) {
      Note(s, &t.errors,
           fmt::format("GET {}: the stream ended after event '{}'{}, not with event: end{}", path,
                       last_event, !res ? " (" + httplib::to_string(res.error()) + ")" : "",
                       buffer.empty() ? "" : " (unterminated data left)"));
    } else {
      json run_json = json::parse(end_data, nullptr, false);
      if (!run_json.is_object() || run_json.value("id", "") != s.run_ids[run] ||
          !Terminal(run_json.value("status", ""))) {
        Note(s, &t.errors,
             fmt::format("GET {}: the end event is not a finished run: {}", path,
                         end_data.substr(0, 200)));
      } else {
        s.ended[run] = true;
      }
    }
    if (!s.ended[run]) {
      if (s.runs_done) return;  // the runs are over: no stream to wait for
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

// ---- one round -------------------------------------------------------------------------------

struct RunResult {
  std::string id;
  std::string status = "?";
  std::string message;
  double queued_s = 0, run_s = 0;
  int64_t inserted = -1;
  std::string rows = "-", check = "-", detail;  // the target after the run
};

struct Round {
  bool with_clients = false;
  std::vector<RunResult> runs;
  double syncs_s = 0;  // first run created → last run finished (the server's clocks)
  double load_s = 0;   // clients started → the last poll answered
  Tally merged;
  bool capped = false;
  std::vector<std::string> samples;
  int64_t server_requests = -1, server_errors = -1;
  double finished_events_ms = 0;  // the slowest event stream of a finished run
  double server_cpu_s = 0, bench_cpu_s = 0;
  long server_rss_kb = 0;
  std::vector<std::string> failures;
};

// "2024-05-01T12:34:56.789Z" -> seconds since the epoch; -1 when it is not that (or null).
double IsoSeconds(const json& value) {
  if (!value.is_string()) return -1;
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(value.get<std::string>().c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year,
                  &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + ms / 1000.0;
}

double CpuSelf() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return bench::CpuSeconds(ru);
}

struct ServeProcess {
  pid_t pid = -1;
  int port = 0;
  fs::path out, err;
};

class Bench {
 public:
  Bench(const Options& opt, fs::path dir, const Server& pg, const Server& my)
      : opt_(opt), dir_(std::move(dir)), pg_(pg), my_(my), sqlite_dir_(dir_ / "sqlite") {}

  // The sources, generated inside each server and in the SQLite file; their checksums.
  void Prepare() {
    for (const Server* s : {&pg_, &my_}) {
      auto t0 = Clock::now();
      s->Generate(kSourceDb, opt_.rows);
      std::fprintf(stderr, "  %s: %s source rows generated in %.1f s\n", s->Name().c_str(),
                   Thousands(opt_.rows).c_str(),
                   std::chrono::duration<double>(Clock::now() - t0).count());
    }
    pg_sum_ = Checksum(pg_, kSourceDb);
    my_sum_ = Checksum(my_, kSourceDb);
    if (pg_sum_[0] != std::to_string(opt_.rows)) Die("the PostgreSQL source has " + pg_sum_[0]);
    if (pg_sum_ != my_sum_) Die("the PostgreSQL and MariaDB sources differ");
    auto t0 = Clock::now();
    fs::create_directories(sqlite_dir_);
    RemoveSqlite(sqlite_dir_ / "source.db");
    SqliteDb src(sqlite_dir_ / "source.db");
    src.Exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN; " +
             std::string(bench::kSqliteProductTable) + bench::SqliteGenerateProducts(opt_.rows) +
             "; COMMIT; ANALYZE;");
    if (src.Int("SELECT count(*) FROM product") != opt_.rows) Die("the SQLite source is short");
    std::fprintf(stderr, "  SQLite: %s source rows generated in %.1f s\n",
                 Thousands(opt_.rows).c_str(),
                 std::chrono::duration<double>(Clock::now() - t0).count());
    std::ofstream(dir_ / "tether.yaml")
        << ServeConfig(pg_, my_, sqlite_dir_, opt_.batch_size, opt_.clients);
  }

  Round RunRound(int number, bool with_clients) {
    Round r;
    r.with_clients = with_clients;
    std::fprintf(stderr, "round %d: %s\n", number,
                 with_clients ? fmt::format("{} clients", opt_.clients).c_str() : "no clients");
    FreshTargets();
    ServeProcess serve = StartServe(number);
    auto mon = NewClient(serve.port, 30);
    std::string error;

    // The SQLite pipeline through the API, entities inline.
    for (const Pipeline& p : kPipelines) {
      if (!p.via_api) continue;
      json body = {{"name", p.name},
                   {"source", p.source},
                   {"target", p.target},
                   {"entities", {{"product", ProductEntity()}}}};
      if (opt_.batch_size > 0) body["batch_size"] = opt_.batch_size;
      if (!Call(*mon, "POST", "/api/pipelines", 201, &error, body.dump())) Fail(serve, error);
    }

    Shared shared;
    shared.port = serve.port;
    shared.max_requests = opt_.max_requests;
    shared.poll_interval = std::chrono::milliseconds(opt_.poll_interval_ms);
    shared.ended = std::make_unique<std::atomic<bool>[]>(kPipelines.size());
    const double cpu0 = CpuSelf();
    const auto start = Clock::now();
    for (const Pipeline& p : kPipelines) {
      std::optional<json> run =
          Call(*mon, "POST", "/api/pipelines/" + p.name + "/runs", 202, &error, "{}");
      if (!run) Fail(serve, error);
      RunResult rr;
      rr.id = run->value("id", "");
      r.runs.push_back(rr);
      shared.run_ids.push_back(rr.id);
    }

    std::vector<Tally> tallies(with_clients ? static_cast<size_t>(opt_.clients) : 0);
    std::vector<std::thread> threads;
    const auto load_start = Clock::now();
    for (int i = 0; i < static_cast<int>(tallies.size()); ++i) {
      Tally& t = tallies[static_cast<size_t>(i)];
      if (i < opt_.streams) {
        threads.emplace_back([&shared, &t, i] { Streamer(shared, t, i); });
      } else {
        threads.emplace_back([&shared, &t, i] { Poller(shared, t, i); });
      }
    }

    // The bench's own watch on the runs: one request per unfinished run every 250 ms.
    std::vector<json> final_runs(kPipelines.size());
    const auto deadline = start + std::chrono::duration<double>(opt_.max_seconds);
    bool gave_up = false;
    for (;;) {
      size_t open = 0;
      for (size_t i = 0; i < r.runs.size(); ++i) {
        if (!final_runs[i].is_null()) continue;
        std::optional<json> j = Call(*mon, "GET", "/api/runs/" + r.runs[i].id, 200, &error);
        if (!j) {
          r.failures.push_back("the bench's own poll failed: " + error);
          ++open;
          continue;
        }
        if (Terminal(j->value("status", ""))) {
          final_runs[i] = *j;
        } else {
          ++open;
        }
      }
      if (open == 0) break;
      if (Clock::now() > deadline && !gave_up) {
        gave_up = true;
        r.failures.push_back(
            fmt::format("the runs had not finished after --max-seconds {:.0f}: stopping them",
                        opt_.max_seconds));
        shared.abort = true;
        for (size_t i = 0; i < r.runs.size(); ++i) {
          if (final_runs[i].is_null()) {
            Call(*mon, "POST", "/api/runs/" + r.runs[i].id + "/stop", 202, &error);
          }
        }
      }
      if (gave_up && Clock::now() > deadline + std::chrono::seconds(60)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    shared.runs_done = true;
    for (std::thread& t : threads) t.join();
    r.bench_cpu_s = CpuSelf() - cpu0;

    // The clients' figures.
    Clock::time_point last_poll = load_start;
    for (Tally& t : tallies) {
      for (int k = 0; k < kRoutes; ++k) {
        r.merged.ms[k].insert(r.merged.ms[k].end(), t.ms[k].begin(), t.ms[k].end());
      }
      r.merged.errors += t.errors;
      r.merged.anomalies += t.anomalies;
      r.merged.streams += t.streams;
      r.merged.progress += t.progress;
      r.merged.logs += t.logs;
      r.merged.ends += t.ends;
      r.merged.keep_alives += t.keep_alives;
      last_poll = std::max(last_poll, t.last_poll);
    }
    for (int k = 0; k < kRoutes; ++k) std::sort(r.merged.ms[k].begin(), r.merged.ms[k].end());
    r.load_s = std::chrono::duration<double>(last_poll - load_start).count();
    r.capped = shared.capped;
    r.samples = shared.samples;
    if (r.merged.errors > 0) {
      r.failures.push_back(fmt::format("{} HTTP errors", r.merged.errors));
    }
    if (r.merged.anomalies > 0) {
      r.failures.push_back(fmt::format("{} polls saw a run go backwards", r.merged.anomalies));
    }
    if (with_clients && opt_.streams > 0 &&
        r.merged.ends < static_cast<int64_t>(kPipelines.size())) {
      r.failures.push_back("not every run's event stream was seen to end");
    }

    // The runs as the server reports them.
    double first_created = 0, last_finished = 0;
    for (size_t i = 0; i < r.runs.size(); ++i) {
      RunResult& rr = r.runs[i];
      const json& j = final_runs[i];
      if (j.is_null()) {
        rr.status = "unfinished";
        continue;
      }
      rr.status = j.value("status", "?");
      rr.message = j.value("message", "");
      if (j.contains("counts")) rr.inserted = j["counts"].value("inserted", int64_t{-1});
      const double created = IsoSeconds(j.value("created_at", json()));
      const double started = IsoSeconds(j.value("started_at", json()));
      const double finished = IsoSeconds(j.value("finished_at", json()));
      if (created >= 0 && started >= 0) rr.queued_s = started - created;
      if (started >= 0 && finished >= 0) rr.run_s = finished - started;
      if (created >= 0 && (first_created == 0 || created < first_created)) first_created = created;
      last_finished = std::max(last_finished, finished);
      if (rr.status != "succeeded") {
        r.failures.push_back(
            fmt::format("{}: run {} {}: {}", kPipelines[i].label, rr.id, rr.status, rr.message));
      } else if (rr.inserted != opt_.rows) {
        r.failures.push_back(fmt::format("{}: run {} reports {} rows inserted, expected {}",
                                         kPipelines[i].label, rr.id, rr.inserted, opt_.rows));
      }
    }
    if (first_created > 0 && last_finished > 0) r.syncs_s = last_finished - first_created;

    // A finished run's event stream sends its end at once.
    for (const RunResult& rr : r.runs) {
      const auto t0 = Clock::now();
      httplib::Result res = mon->Get("/api/runs/" + rr.id + "/events");
      r.finished_events_ms = std::max(r.finished_events_ms, Ms(Clock::now() - t0));
      if (!res || res->status != 200 || res->body.find("event: end\n") == std::string::npos) {
        r.failures.push_back(fmt::format(
            "the event stream of finished run {} did not end with "
            "event: end ({})",
            rr.id, res ? fmt::format("HTTP {}", res->status) : httplib::to_string(res.error())));
      }
    }
    if (std::optional<json> stats = Call(*mon, "GET", "/api/stats", 200, &error)) {
      r.server_requests = (*stats)["http"].value("requests", int64_t{-1});
      r.server_errors = (*stats)["http"].value("errors", int64_t{-1});
      if (r.server_errors != 0) {
        r.failures.push_back(fmt::format("the server counted {} error responses", r.server_errors));
      }
    } else {
      r.failures.push_back(error);
    }
    mon.reset();
    StopServe(serve, &r);

    // The data: every target must hold its source's rows.
    for (size_t i = 0; i < r.runs.size(); ++i) {
      Verify(kPipelines[i], &r.runs[i]);
      if (r.runs[i].check != "equal") {
        r.failures.push_back(fmt::format("{}: the target is {}: {}", kPipelines[i].label,
                                         r.runs[i].check, r.runs[i].detail));
      }
    }
    return r;
  }

 private:
  std::vector<std::string> Checksum(const Server& s, const std::string& db) const {
    std::optional<std::vector<std::string>> sum = s.Checksum(db);
    if (!sum) Die("cannot read the product checksum of " + s.Name() + " " + db);
    return *sum;
  }

  void FreshTargets() {
    pg_.FreshDatabase(kTargetDb, true);
    my_.FreshDatabase(kTargetDb, true);
    my_.FreshDatabase(kCrossDb, true);
    RemoveSqlite(sqlite_dir_ / "target.db");
    SqliteDb(sqlite_dir_ / "target.db").Exec(bench::kSqliteProductTable);
    // Both rounds start settled: the previous round's dirty pages (and the dropped targets'
    // files) written out now, not during the next round's syncs.
    pg_.Settle();
    ::sync();
  }

  // `tether serve` on a free loopback port with a fresh state file; waits for its
  // "listening on" line.
  ServeProcess StartServe(int round) {
    ServeProcess s;
    s.out = dir_ / fmt::format("serve-{}.out", round);
    s.err = dir_ / fmt::format("serve-{}.err", round);
    const fs::path state = dir_ / fmt::format("server-{}.db", round);
    RemoveSqlite(state);
    setenv("TETHER_API_TOKEN", kToken, 1);
    std::fflush(nullptr);
    s.pid = bench::StartChild({opt_.tether, "-c", "tether.yaml", "serve", "--listen",
                               std::string(kHost) + ":0", "--state", "sqlite:" + state.string()},
                              dir_, s.out.string(), s.err.string());
    if (s.pid < 0) Die("cannot start tether serve");
    g_run.child = s.pid;
    const std::string marker = fmt::format("listening on http://{}:", kHost);
    const auto until = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < until) {
      const std::string out = bench::Slurp(s.out.string());
      size_t at = out.find(marker);
      if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
        s.port = std::atoi(out.c_str() + at + marker.size());
        break;
      }
      int status = 0;
      if (waitpid(s.pid, &status, WNOHANG) == s.pid) {
        g_run.child = 0;
        Die(fmt::format("tether serve exited {}: {}", bench::ExitCode(status),
                        Trim(bench::Slurp(s.err.string()))));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (s.port <= 0) Die("tether serve did not say where it listens within 30 s");
    std::fprintf(stderr, "  tether serve listening on %s:%d\n", kHost, s.port);
    return s;
  }

  // SIGTERM, and the server's exit code, CPU and peak RSS.
  void StopServe(ServeProcess& s, Round* r) {
    kill(s.pid, SIGTERM);
    int status = 0;
    struct rusage ru {};
    const auto until = Clock::now() + std::chrono::seconds(30);
    pid_t got = 0;
    while ((got = wait4(s.pid, &status, WNOHANG, &ru)) == 0 && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (got != s.pid) {
      r->failures.push_back("tether serve did not stop within 30 s of SIGTERM: killed");
      kill(s.pid, SIGKILL);
      while (wait4(s.pid, &status, 0, &ru) < 0 && errno == EINTR) {
      }
    } else if (bench::ExitCode(status) != 0) {
      r->failures.push_back(fmt::format("tether serve exited {} after SIGTERM: {}",
                                        bench::ExitCode(status),
                                        Trim(bench::Slurp(s.err.string()))));
    }
    g_run.child = 0;
    r->server_cpu_s = bench::CpuSeconds(ru);
    r->server_rss_kb = ru.ru_maxrss;
  }

  // Fails the round before it ran: stops the server and dies.
  [[noreturn]] void Fail(ServeProcess& s, const std::string& error) {
    Round r;
    StopServe(s, &r);
    Die(error + "\n  tether serve said: " + Trim(bench::Slurp(s.err.string())));
  }

  void Verify(const Pipeline& p, RunResult* rr) {
    if (p.target == "sqlite_dst") {
      SqliteDb db(sqlite_dir_ / "target.db");
      db.Exec("ATTACH '" + (sqlite_dir_ / "source.db").string() + "' AS s");
      const int64_t target = db.Int("SELECT count(*) FROM main.product");
      const int64_t missing = db.Int(
          "SELECT count(*) FROM (SELECT * FROM s.product EXCEPT SELECT * FROM "
          "main.product)");
      const int64_t extra = db.Int(
          "SELECT count(*) FROM (SELECT * FROM main.product EXCEPT SELECT * FROM "
          "s.product)");
      rr->rows = Thousands(target);
      rr->check = target == opt_.rows && missing == 0 && extra == 0 ? "equal" : "DIFFERENT";
      if (rr->check != "equal") {
        rr->detail = fmt::format(
            "{} rows; {} source rows not on the target, {} target rows not "
            "in the source",
            target, missing, extra);
      }
      return;
    }
    const Server& dst = p.target == "pg_dst" ? pg_ : my_;
    const std::vector<std::string>& want = p.source == "pg_src" ? pg_sum_ : my_sum_;
    std::optional<std::vector<std::string>> got =
        dst.Checksum(p.target == "my_cross" ? kCrossDb : kTargetDb);
    if (!got) {
      rr->rows = "?";
      rr->check = "DIFFERENT";
      rr->detail = "the target table cannot be read";
      return;
    }
    rr->rows = Thousands(std::atoll(got->at(0).c_str()));
    rr->check = *got == want ? "equal" : "DIFFERENT";
    if (*got != want) {
      std::string a, b;
      for (const std::string& v : want) a += (a.empty() ? "" : " ") + v;
      for (const std::string& v : *got) b += (b.empty() ? "" : " ") + v;
      rr->detail = fmt::format("source {} / target {}", a, b);
    }
  }

  const Options& opt_;
  fs::path dir_;
  const Server& pg_;
  const Server& my_;
  fs::path sqlite_dir_;
  std::vector<std::string> pg_sum_, my_sum_;
};

// ---- the report ------------------------------------------------------------------------------

// The nearest-rank percentile of sorted latencies.
double Percentile(const std::vector<float>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

std::vector<std::string> LatencyCells(const std::vector<float>& sorted) {
  if (sorted.empty()) return {"-", "-", "-", "-"};
  return {fmt::format("{:.1f}", Percentile(sorted, 0.5)),
          fmt::format("{:.1f}", Percentile(sorted, 0.9)),
          fmt::format("{:.1f}", Percentile(sorted, 0.99)), fmt::format("{:.1f}", sorted.back())};
}

void PrintLoad(const Round& r, const Options& opt) {
  std::printf("HTTP load, %d clients (%d polling, %d following event streams), %.1f s:\n\n",
              opt.clients, opt.clients - opt.streams, opt.streams, r.load_s);
  std::vector<std::vector<std::string>> cells = {
      {"request", "count", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"}};
  std::vector<float> polls;
  for (int k = 0; k < kRoutes; ++k) {
    const std::vector<float>& ms = r.merged.ms[k];
    std::vector<std::string> row = {
        k == kEvents ? std::string(kRouteNames[k]) + " (to headers)" : kRouteNames[k],
        Thousands(static_cast<int64_t>(ms.size())),
        k == kEvents ? "-" : bench::Rate(static_cast<int64_t>(ms.size()), r.load_s)};
    for (const std::string& c : LatencyCells(ms)) row.push_back(c);
    cells.push_back(row);
    if (k != kEvents) polls.insert(polls.end(), ms.begin(), ms.end());
  }
  std::sort(polls.begin(), polls.end());
  std::vector<std::string> row = {"all polls", Thousands(static_cast<int64_t>(polls.size())),
                                  bench::Rate(static_cast<int64_t>(polls.size()), r.load_s)};
  for (const std::string& c : LatencyCells(polls)) row.push_back(c);
  cells.push_back(row);
  bench::PrintTable(cells, {1, 3}, {0});
  std::printf(
      "\nerrors: %s (non-2xx, transport, malformed body or unterminated stream); runs seen going "
      "backwards: %s%s\n",
      Thousands(r.merged.errors).c_str(), Thousands(r.merged.anomalies).c_str(),
      r.capped ? fmt::format("; stopped at --max-requests {}", Thousands(opt.max_requests)).c_str()
               : "");
  std::printf(
      "event streams: %s opened; events received: %s progress, %s log, %s end; keep-alive "
      "comments: %s\n",
      Thousands(r.merged.streams).c_str(), Thousands(r.merged.progress).c_str(),
      Thousands(r.merged.logs).c_str(), Thousands(r.merged.ends).c_str(),
      Thousands(r.merged.keep_alives).c_str());
  for (const std::string& s : r.samples) std::printf("  error: %s\n", s.c_str());
}

void PrintRuns(const std::vector<Round>& rounds, const Options& opt) {
  std::vector<std::string> head = {"pipeline"};
  for (const Round& r : rounds) {
    const std::string who =
        r.with_clients ? fmt::format("{} clients: ", opt.clients) : std::string("no clients: ");
    head.insert(head.end(), {who + "status", "queued s", "run s", "rows/s", "target rows", "data"});
  }
  if (rounds.size() == 2) head.push_back("with / without");
  std::vector<std::vector<std::string>> cells = {head};
  for (size_t i = 0; i < kPipelines.size(); ++i) {
    std::vector<std::string> row = {kPipelines[i].label};
    for (const Round& r : rounds) {
      const RunResult& rr = r.runs[i];
      row.insert(row.end(),
                 {rr.status, fmt::format("{:.2f}", rr.queued_s), fmt::format("{:.2f}", rr.run_s),
                  bench::Rate(opt.rows, rr.run_s), rr.rows, rr.check});
    }
    if (rounds.size() == 2 && rounds[1].runs[i].run_s > 0) {
      row.push_back(fmt::format("{:.2f}", rounds[0].runs[i].run_s / rounds[1].runs[i].run_s));
    } else if (rounds.size() == 2) {
      row.push_back("-");
    }
    cells.push_back(row);
  }
  std::vector<std::string> all = {"all four: first start → last end"};
  for (const Round& r : rounds) {
    all.insert(
        all.end(),
        {"", "", fmt::format("{:.2f}", r.syncs_s),
         bench::Rate(opt.rows * static_cast<int64_t>(kPipelines.size()), r.syncs_s), "", ""});
  }
  if (rounds.size() == 2 && rounds[1].syncs_s > 0) {
    all.push_back(fmt::format("{:.2f}", rounds[0].syncs_s / rounds[1].syncs_s));
  }
  cells.push_back(all);
  std::vector<size_t> bars = {1};
  if (rounds.size() == 2) bars.insert(bars.end(), {7, 13});
  bench::PrintTable(cells, bars, {0, 1, 6, 7, 12});
  std::printf("\n");
  for (const Round& r : rounds) {
    std::printf(
        "%s: tether serve CPU %.1f s, peak RSS %s MB; the bench's own CPU %.1f s; the server "
        "counted %s requests, %s error responses; slowest event stream of a finished run %.0f "
        "ms\n",
        r.with_clients ? fmt::format("{} clients", opt.clients).c_str() : "no clients",
        r.server_cpu_s, bench::Mb(r.server_rss_kb).c_str(), r.bench_cpu_s,
        Thousands(r.server_requests).c_str(), Thousands(r.server_errors).c_str(),
        r.finished_events_ms);
  }
}

// ---- the command line ------------------------------------------------------------------------

void Usage() {
  std::printf(
      "usage: serve_bench [--rows N] [--clients N] [--streams N] [--poll-interval MS]\n"
      "                   [--max-seconds S] [--max-requests N] [--batch-size N] [--no-peer]\n"
      "                   [--tether PATH] [--pg-url URL] [--mysql-url URL] [--keep] [--dir DIR]\n"
      "                   [--servers-script PATH]\n"
      "  --rows            rows in each source table (k and M suffixes; default 200k)\n"
      "  --clients         concurrent HTTP clients (default 100)\n"
      "  --streams         of them, clients following event streams (default 30)\n"
      "  --poll-interval   a poller's pause between requests in ms (default 0: none)\n"
      "  --max-seconds     a round gives up (stops its runs, fails) after this (default 120)\n"
      "  --max-requests    polling requests per round at most (default 2M)\n"
      "  --batch-size      rows per batch (default: the pipeline default)\n"
      "  --no-peer         skip the second round (the same syncs without clients)\n"
      "  --tether          the tether binary (default $TETHER_BINARY, else ./tether beside this\n"
      "                    program)\n"
      "  --pg-url          an administrator URL of a PostgreSQL server to use (default\n"
      "                    $TETHER_TEST_PG_URL, else a throwaway server started for the run)\n"
      "  --mysql-url       the same for MySQL/MariaDB ($TETHER_TEST_MYSQL_URL)\n"
      "  --keep            leave the servers, databases and files as they are at the end\n"
      "  --dir             where to put the temporary folder (default: the system temp dir)\n"
      "  --servers-script  scripts/test-servers.sh (default: found from the source tree)\n");
}

int IntFlag(const std::string& flag, const std::string& text, int lo, int hi) {
  char* end = nullptr;
  long n = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || n < lo || n > hi) Die(fmt::format("{}: {} to {}", flag, lo, hi));
  return static_cast<int>(n);
}

Options ParseArgs(int argc, char** argv) {
  Options opt;
  bench::ParseFlags(argc, argv, Usage, Die, [&](const std::string& a, auto& value) {
    if (opt.ParseServerFlag(a, value)) return true;
    if (a == "--rows") {
      opt.rows = bench::ParseCount(value());
      if (opt.rows == 0) Die("--rows: not a row count");
    } else if (a == "--clients") {
      opt.clients = IntFlag(a, value(), 1, 1000);
    } else if (a == "--streams") {
      opt.streams = IntFlag(a, value(), 0, 1000);
    } else if (a == "--poll-interval") {
      opt.poll_interval_ms = IntFlag(a, value(), 0, 60000);
    } else if (a == "--max-seconds") {
      opt.max_seconds = IntFlag(a, value(), 1, 3600);
    } else if (a == "--max-requests") {
      opt.max_requests = bench::ParseCount(value());
      if (opt.max_requests == 0) Die("--max-requests: a positive count");
    } else if (a == "--batch-size") {
      opt.batch_size = static_cast<size_t>(IntFlag(a, value(), 1, 1000000));
    } else if (a == "--no-peer") {
      opt.peer = false;
    } else if (a == "--keep") {
      opt.keep = true;
    } else {
      return false;
    }
    return true;
  });
  if (opt.streams > opt.clients) Die("--streams: at most --clients");
  if (std::string error = opt.FindPrograms(argv[0]); !error.empty()) Die(error);
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  g_run.program = "serve_bench";
  Options opt = ParseArgs(argc, argv);
  g_run.keep = opt.keep;
  if (std::string error = g_run.Create(opt.dir, "tether-serve-bench-"); !error.empty()) Die(error);
  signal(SIGPIPE, SIG_IGN);  // a connection the server closed is an error to count, not a death
  const fs::path dir = g_run.dir;
  const auto began = Clock::now();
  std::string load1 = "?", load5, load15;
  std::ifstream("/proc/loadavg") >> load1 >> load5 >> load15;
  if (std::string error = g_run.StartServersIfNeeded(opt.script, &opt.pg_url, &opt.mysql_url);
      !error.empty()) {
    Die(error);
  }
  Server pg("pg", opt.pg_url, dir);
  Server my("mysql", opt.mysql_url, dir);
  setenv("MYSQL_PWD", my.password().c_str(), 1);  // for mysql, off the argv

  Bench bench(opt, dir, pg, my);
  bench.Prepare();
  std::vector<Round> rounds;
  rounds.push_back(bench.RunRound(1, true));
  if (opt.peer) rounds.push_back(bench.RunRound(2, false));

  Measure version = Run({opt.tether, "--version"}, dir);
  std::printf("machine: %ld CPUs (nproc), %s, %s RAM; load average at the start: %s\n",
              sysconf(_SC_NPROCESSORS_ONLN), CpuModel().c_str(), MemTotal().c_str(),
              fmt::format("{} {} {}", load1, load5, load15).c_str());
  std::printf("PostgreSQL %s%s, MariaDB %s%s, SQLite %s (files in %s)\n", pg.Version().c_str(),
              g_run.servers_started ? " (throwaway: fsync off)" : "", my.Version().c_str(),
              g_run.servers_started ? " (throwaway: innodb_flush_log_at_trx_commit=2)" : "",
              sqlite3_libversion(), dir.c_str());
  std::printf("tether: %s (%s), serving on %s:0 with its defaults (5 workers)\n",
              opt.tether.c_str(), FirstLine(Trim(version.out)).c_str(), kHost);
  std::printf(
      "rows per source: %s; batch size: %s; keys: identity; %d clients on keep-alive "
      "connections (%d polling with %s, %d following event streams); bounds: %.0f s and %s "
      "polling requests per round\n\n",
      Thousands(opt.rows).c_str(),
      opt.batch_size ? std::to_string(opt.batch_size).c_str() : "pipeline default", opt.clients,
      opt.clients - opt.streams,
      opt.poll_interval_ms ? fmt::format("{} ms between requests", opt.poll_interval_ms).c_str()
                           : "no pause between requests",
      opt.streams, opt.max_seconds, Thousands(opt.max_requests).c_str());
  PrintLoad(rounds[0], opt);
  std::printf("\n");
  PrintRuns(rounds, opt);

  bool failed = false, equal = true;
  for (const Round& r : rounds) {
    for (const RunResult& rr : r.runs) equal = equal && rr.check == "equal";
    for (const std::string& f : r.failures) {
      std::printf("\n%s: FAILED: %s", r.with_clients ? "with clients" : "without clients",
                  f.c_str());
      failed = true;
    }
  }
  std::printf("%sdata: %s (every target against its source, both rounds); bench time %.0f s\n",
              failed ? "\n\n" : "\n", equal ? "equal" : "DIFFERENT",
              std::chrono::duration<double>(Clock::now() - began).count());

  if (opt.keep) {
    std::printf("\nleft in place: %s%s\n", dir.c_str(),
                g_run.servers_started
                    ? fmt::format("; servers: source {}/env; stop with {} stop {}",
                                  g_run.servers().string(), opt.script, g_run.servers().string())
                          .c_str()
                    : "");
  } else if (!g_run.servers_started) {
    for (const Server* s : {&pg, &my}) {
      s->DropDatabase(kSourceDb);
      s->DropDatabase(kTargetDb);
    }
    my.DropDatabase(kCrossDb);
  }
  g_run.Cleanup();
  return failed ? 1 : 0;
}
