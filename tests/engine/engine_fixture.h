// Fixture for engine behaviour tests: a source and a target SQLite file in a temp folder, a
// tether.yaml pointing at them, and RunSync with an observer that records every decision.
// Test threads only.
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

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = dir_.File("src.db");
    dst_ = dir_.File("dst.db");
  }

  // Runs SQL on the source / target file (creating it).
  void Source(const std::string& sql) { SqliteExec(src_, sql); }
  void Target(const std::string& sql) { SqliteExec(dst_, sql); }
  // Same DDL (or data) on both sides.
  void Both(const std::string& sql) {
    Source(sql);
    Target(sql);
  }
  std::vector<std::string> Src(const std::string& sql) { return SqliteRows(src_, sql); }
  std::vector<std::string> Dst(const std::string& sql) { return SqliteRows(dst_, sql); }
  // The target file's bytes; compare with EXPECT_TRUE(a == b), a diff of two files is unreadable.
  std::string TargetBytes() { return ReadFile(dst_); }
  bool TargetHasStateTables() {
    return !Dst("SELECT name FROM sqlite_master WHERE name LIKE 'tether\\_%' ESCAPE '\\'").empty();
  }

  // Forgets every link, checkpoint and run: the target as if tether had never run on it.
  void DropState() {
    Target(
        "DROP TABLE IF EXISTS tether_links; DROP TABLE IF EXISTS tether_checkpoints;"
        "DROP TABLE IF EXISTS tether_runs; DROP TABLE IF EXISTS tether_run_records;"
        "DROP TABLE IF EXISTS tether_before_images;");
  }

  // Writes tether.yaml: connections `src` and `dst`, then `body` (entities: and pipelines:).
  // The pipeline under test is conventionally named `p`.
  void Configure(const std::string& body) {
    std::string text =
        "connections:\n"
        "  src: { url: \"sqlite:src.db\" }\n"
        "  dst: { url: \"sqlite:dst.db" +
        target_url_options_ + "\" }\n" + body;
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
    auto c = OpenConnector("dst", "sqlite:" + dst_);
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

  TempDir dir_;
  std::string src_, dst_;
  Config config_;
  RecordingObserver obs_;
  std::atomic<bool> cancel_{false};
  int cancel_after_ = 0;
  std::string target_url_options_;  // e.g. "?busy_timeout_ms=50"
};

// RunCounts in field order: read, inserted, updated, unchanged, linked, deleted, skipped,
// failed.
// `rows` sorted, for comparing result sets whose SQL order differs from std::string's.
inline std::vector<std::string> Sorted(std::vector<std::string> rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

inline RunCounts Counts(int64_t read, int64_t inserted, int64_t updated, int64_t unchanged,
                        int64_t linked = 0, int64_t deleted = 0, int64_t skipped = 0,
                        int64_t failed = 0) {
  RunCounts c;
  c.read = read;
  c.inserted = inserted;
  c.updated = updated;
  c.unchanged = unchanged;
  c.linked = linked;
  c.deleted = deleted;
  c.skipped = skipped;
  c.failed = failed;
  return c;
}

}  // namespace testing
}  // namespace tether
