// Fixture for engine behaviour tests: a source and a target database (any pair of SQLite,
// PostgreSQL and MySQL/MariaDB), a tether.yaml pointing at them, and RunSync with an observer
// that records every decision. Instantiate a suite with TETHER_ALL_PAIRS(Suite). Test threads
// only.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/sync.h"
#include "state/state_store.h"
#include "util/test_database.h"
#include "util/test_util.h"

namespace tether {

// Field-by-field, for EXPECT_EQ on counts.
inline bool operator==(const RunCounts& a, const RunCounts& b) {
  return a.read == b.read && a.inserted == b.inserted && a.updated == b.updated &&
         a.unchanged == b.unchanged && a.linked == b.linked && a.deleted == b.deleted &&
         a.skipped == b.skipped && a.failed == b.failed;
}

inline void PrintTo(const RunCounts& c, std::ostream* os) {
  *os << "{read " << c.read << ", inserted " << c.inserted << ", updated " << c.updated
      << ", unchanged " << c.unchanged << ", linked " << c.linked << ", deleted " << c.deleted
      << ", skipped " << c.skipped << ", failed " << c.failed << "}";
}

namespace testing {

// Records what RunSync reports; can raise the cancel flag after some batches.
class RecordingObserver : public SyncObserver {
 public:
  void OnRunStart(const RunInfo& run) override { runs.push_back(run.run_id); }
  void OnRecord(const RecordPlan& record) override { records.push_back(record); }
  void OnProgress(const std::string& entity, const RunCounts& totals) override {
    progress.push_back({entity, totals});
    if (cancel_after > 0 && ++batches >= cancel_after && cancel) cancel->store(true);
  }
  void OnNotice(const std::string& text) override { notices.push_back(text); }

  std::vector<std::string> runs;
  std::vector<RecordPlan> records;
  std::vector<std::pair<std::string, RunCounts>> progress;
  std::vector<std::string> notices;
  int cancel_after = 0;  // batches; 0 = never
  int batches = 0;
  std::atomic<bool>* cancel = nullptr;
};

// A source engine and a target engine: the engine tests run over all nine pairs of SQLite,
// PostgreSQL and MySQL/MariaDB (docs/TYPES.md), with the same test bodies.
struct EnginePair {
  std::string source;
  std::string target;
};

inline void PrintTo(const EnginePair& p, std::ostream* os) {
  *os << p.source << " -> " << p.target;
}

inline std::vector<EnginePair> AllPairs() {
  std::vector<EnginePair> out;
  for (const std::string& s : AllEngines()) {
    for (const std::string& t : AllEngines()) out.push_back({s, t});
  }
  return out;
}

inline std::string PairName(const ::testing::TestParamInfo<EnginePair>& info) {
  return info.param.source + "_to_" + info.param.target;
}

class EngineTest : public ::testing::TestWithParam<EnginePair> {
 protected:
  void SetUp() override {
    src_db_ = std::make_unique<TestDatabase>(GetParam().source);
    dst_db_ = std::make_unique<TestDatabase>(GetParam().target);
    ASSERT_TRUE(src_db_->ok() && dst_db_->ok());
    src_ = SqlitePath(*src_db_);
    dst_ = SqlitePath(*dst_db_);
  }

  const std::string& source_engine() const { return GetParam().source; }
  const std::string& target_engine() const { return GetParam().target; }

  // Runs SQL (SQLite dialect, see PortableSql) on the source / target database.
  void Source(const std::string& sql) { Exec(*src_db_, sql); }
  void Target(const std::string& sql) { Exec(*dst_db_, sql); }
  // Source data that breaks its own foreign keys (dangling references, as shops without
  // constraints have): written with the engine's foreign-key checks off.
  void SourceUnchecked(const std::string& sql) {
    const std::string& e = source_engine();
    std::string off = e == "sqlite"     ? "PRAGMA foreign_keys = OFF;"
                      : e == "postgres" ? "SET session_replication_role = replica;"
                                        : "SET foreign_key_checks = 0;";
    Source(off + sql);
  }
  // Same DDL (or data) on both sides.
  void Both(const std::string& sql) {
    Source(sql);
    Target(sql);
  }
  std::vector<std::string> Src(const std::string& sql) { return PortableRows(*src_db_, sql); }
  std::vector<std::string> Dst(const std::string& sql) { return PortableRows(*dst_db_, sql); }
  // Every row of every table of the target, tether's included: compare with
  // EXPECT_TRUE(a == b) to prove nothing was written (a diff of two snapshots is unreadable).
  std::string TargetSnapshot() { return Snapshot(*dst_db_); }
  bool TargetHasStateTables() {
    for (const std::string& t : TableNames(*dst_db_)) {
      if (t.rfind("tether_", 0) == 0) return true;
    }
    return false;
  }

  // Forgets every link, checkpoint and run: the target as if tether had never run on it.
  void DropState() {
    for (const char* t : {"tether_links", "tether_checkpoints", "tether_runs", "tether_run_records",
                          "tether_before_images"}) {
      Target(std::string("DROP TABLE IF EXISTS ") + t);
    }
  }

  // Writes tether.yaml: connections `src` and `dst`, then `body` (entities: and pipelines:).
  // The pipeline under test is conventionally named `p`.
  void Configure(const std::string& body) {
    std::string dst_url = dst_db_->url();
    if (!target_url_options_.empty()) {
      dst_url +=
          (dst_url.find('?') == std::string::npos ? "?" : "&") + target_url_options_.substr(1);
    }
    std::string text = "connections:\n  src: { url: \"" + src_db_->url() +
                       "\" }\n  dst: { url: \"" + dst_url + "\" }\n" + body;
    WriteFile(dir_.File("tether.yaml"), text);
    auto config = LoadConfig(dir_.File("tether.yaml"));
    ASSERT_TRUE(config.ok()) << config.status().ToString() << "\n" << text;
    config_ = std::move(config).value();
  }

  // One pipeline `p` from src to dst over `entity_list`, with extra pipeline lines.
  static std::string Pipeline(const std::string& entity_list, const std::string& extra = "") {
    return "pipelines:\n  p:\n    source: src\n    target: dst\n    entities: [" + entity_list +
           "]\n" + extra;
  }

  // Runs pipeline `p` (unless the request names another); observer records go to obs_, which is
  // reset first.
  Result<SyncReport> Sync(SyncRequest req = {}) {
    if (req.pipeline.empty()) req.pipeline = "p";
    obs_ = RecordingObserver();
    obs_.cancel_after = cancel_after_;
    obs_.cancel = &cancel_;
    cancel_ = false;
    if (cancel_after_ > 0) req.cancel = &cancel_;
    return RunSync(config_, req, &obs_);
  }
  Result<SyncReport> DryRun(SyncRequest req = {}) {
    req.dry_run = true;
    return Sync(std::move(req));
  }

  // The plan is the dry run of the same code: plans `req`, runs it, and expects the same counts
  // for every entity of either report. planned_ keeps the plan's records.
  Result<SyncReport> PlanThenSync(const SyncRequest& req = {}) {
    auto plan = DryRun(req);
    if (!plan.ok()) return plan.status();
    planned_ = obs_.records;
    auto run = Sync(req);
    if (!run.ok()) return run.status();
    for (const SyncReport* r : {&*plan, &*run}) {
      for (const EntityReport& e : r->entities) {
        EXPECT_EQ(CountsOf(*plan, e.entity), CountsOf(*run, e.entity)) << e.entity;
      }
    }
    return run;
  }

  static SyncRequest Only(std::vector<std::string> entities) {
    SyncRequest req;
    req.entities = std::move(entities);
    return req;
  }

  // The report's counts for one entity (all zero when it did not run).
  static RunCounts CountsOf(const SyncReport& r, const std::string& entity) {
    for (const EntityReport& e : r.entities) {
      if (e.entity == entity) return e.counts;
    }
    return {};
  }
  static RunCounts Total(const SyncReport& r) {
    RunCounts c;
    for (const EntityReport& e : r.entities) c += e.counts;
    return c;
  }

  // Records the observer saw, of one entity and (optionally) one action.
  std::vector<RecordPlan> Records(const std::string& entity) const {
    std::vector<RecordPlan> out;
    for (const RecordPlan& p : obs_.records) {
      if (p.entity == entity) out.push_back(p);
    }
    return out;
  }
  std::vector<RecordPlan> Records(const std::string& entity, Action action) const {
    std::vector<RecordPlan> out;
    for (const RecordPlan& p : obs_.records) {
      if (p.entity == entity && p.action == action) out.push_back(p);
    }
    return out;
  }

  // A StateStore over the target file, for looking at links and runs directly.
  struct State {
    std::unique_ptr<Connector> conn;
    std::unique_ptr<StateStore> store;
    StateStore* operator->() { return store.get(); }
  };
  State OpenState() {
    State s;
    auto c = OpenConnector("dst", dst_db_->url());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) {
      s.conn = std::move(c).value();
      s.store = std::make_unique<StateStore>(s.conn.get());
    }
    return s;
  }
  Link LinkOf(const std::string& entity, const std::string& source_id) {
    State s = OpenState();
    auto links = s->FindLinksBySource("p", entity, {source_id});
    EXPECT_TRUE(links.ok()) << links.status().ToString();
    if (!links.ok() || !links->count(source_id)) {
      ADD_FAILURE() << "no link for " << entity << " " << source_id;
      return {};
    }
    return links->at(source_id);
  }

  static std::string SqlitePath(const TestDatabase& db) {
    if (db.engine() != "sqlite") return "";
    std::string path = db.url().substr(7);  // after "sqlite:"
    return path.substr(0, path.find('?'));
  }
  static void Exec(const TestDatabase& db, const std::string& sql) {
    db.Exec(PortableSql(db.engine(), sql));
  }

  TempDir dir_;
  std::unique_ptr<TestDatabase> src_db_, dst_db_;
  std::string src_, dst_;  // SQLite file paths ("" on the other engines)
  Config config_;
  RecordingObserver obs_;
  std::vector<RecordPlan> planned_;  // see PlanThenSync
  std::atomic<bool> cancel_{false};
  int cancel_after_ = 0;
  std::string target_url_options_;  // e.g. "?busy_timeout_ms=50"
};

// `rows` sorted, for comparing result sets whose SQL order differs from std::string's.
inline std::vector<std::string> Sorted(std::vector<std::string> rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace testing
}  // namespace tether

// Runs every TEST_P of `suite` over the nine engine pairs.
#define TETHER_ALL_PAIRS(suite)                                                              \
  INSTANTIATE_TEST_SUITE_P(Pairs, suite, ::testing::ValuesIn(::tether::testing::AllPairs()), \
                           ::tether::testing::PairName)
// For data only SQLite can hold (text that is not UTF-8): the three pairs with a SQLite source.
#define TETHER_SQLITE_SOURCE_PAIRS(suite)                                                         \
  INSTANTIATE_TEST_SUITE_P(SqliteSource, suite,                                                   \
                           ::testing::Values(::tether::testing::EnginePair{"sqlite", "sqlite"},   \
                                             ::tether::testing::EnginePair{"sqlite", "postgres"}, \
                                             ::tether::testing::EnginePair{"sqlite", "mysql"}),   \
                           ::tether::testing::PairName)
// For behaviour only one engine has (SQLite's file locks): the sqlite -> sqlite pair only.
#define TETHER_SQLITE_PAIR(suite)                                                                \
  INSTANTIATE_TEST_SUITE_P(Sqlite, suite,                                                        \
                           ::testing::Values(::tether::testing::EnginePair{"sqlite", "sqlite"}), \
                           ::tether::testing::PairName)
