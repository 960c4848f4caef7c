// The bundled demo: GenerateDemo writes a "live" shop (the source of truth), a drifted "staging"
// copy of it (two SQLite files) and the tether.yaml that syncs one into the other.
// Plain functions without shared state; two calls may run at once if they use different folders.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tether {

struct DemoOptions {
  std::string dir = "demo";
  int scale = 1;  // multiplies every row count (stores excepted), 1..1000
  uint64_t seed = 42;
};

// What a live-to-staging run of the demo pipeline should do to one table, known because the
// generator decided it: live rows are either invalid (skipped by validation), new in staging
// (insert), or present there under another id, changed (update) or not (unchanged).
// Assumes on_duplicate: merge, where an empty source field leaves the target's value alone.
struct DemoTableSummary {
  std::string table;
  std::string entity;  // its name in tether.yaml
  int64_t live_rows = 0;
  int64_t staging_rows = 0;
  int64_t expect_insert = 0;
  int64_t expect_update = 0;
  int64_t expect_unchanged = 0;
  int64_t expect_invalid = 0;   // rejected by a `validate` rule
  int64_t expect_filtered = 0;  // left out by the entity's `filter: where`
  int64_t staging_only = 0;     // rows live does not have; `delete: ignore` keeps them
};

struct DemoSummary {
  std::string live_path;
  std::string staging_path;
  std::string config_path;
  bool config_written = false;  // false when a tether.yaml was already there (left untouched)
  std::vector<DemoTableSummary> tables;  // parents before children
};

// (Re)creates <dir>/live.db and <dir>/staging.db (removing old files and their -wal, -shm and
// -journal first) and writes <dir>/tether.yaml unless one exists. The same options always give
// the same databases. `summary` may be null.
Status GenerateDemo(const DemoOptions& options, DemoSummary* summary = nullptr);

// The schema both demo databases share (SQLite DDL).
std::string_view DemoSchemaSql();

// The demo configuration, identical to the repository's demo/tether.yaml.
std::string_view DemoConfigYaml();

}  // namespace tether
