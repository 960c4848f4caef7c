// Helpers shared by the end-to-end tests: run the real `tether` binary in a folder, build the demo
// shop or a small two-table shop, and read the result back with raw SQLite.
// Test threads only; every helper reports problems through GoogleTest assertions.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli/keys_file.h"
#include "util/test_util.h"

namespace tether::e2e {

using ::tether::testing::CommandResult;
using ::tether::testing::ReadFile;
using ::tether::testing::SqliteExec;
using ::tether::testing::SqliteRows;
using ::tether::testing::TempDir;
using ::tether::testing::WriteFile;

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Everything a failed assertion needs to explain a run of the binary.
inline std::string Show(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout ---\n" + r.out.substr(0, 4000) +
         "\n--- stderr ---\n" + r.err.substr(0, 4000);
}

// Runs `tether args...` in `cwd`. TETHER_CONFIG is cleared so that a developer's environment
// does not change which configuration the test reads.
inline CommandResult Tether(const std::vector<std::string>& args, const std::string& cwd,
                            std::vector<std::string> env = {}) {
  env.insert(env.begin(), "TETHER_CONFIG=");
  return ::tether::testing::RunTether(args, cwd, env);
}

// Parses JSON output, failing the test (and returning null) when it is not JSON.
inline nlohmann::json ParseJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON:\n" << text.substr(0, 2000);
  return j;
}

// `tether demo init --dir dir --scale N`: dir/live.db, dir/staging.db, dir/tether.yaml.
inline void MakeDemo(const std::string& dir, int scale = 1) {
  CommandResult r = Tether({"-q", "demo", "init", "--dir", dir, "--scale", std::to_string(scale)},
                           std::filesystem::temp_directory_path().string());
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  ASSERT_TRUE(std::filesystem::exists(dir + "/live.db"));
  ASSERT_TRUE(std::filesystem::exists(dir + "/staging.db"));
  ASSERT_TRUE(std::filesystem::exists(dir + "/tether.yaml"));
}

// The demo's business tables (tether's own tether_* tables excluded).
inline std::vector<std::string> DataTables(const std::string& db) {
  return SqliteRows(db,
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                    "'tether\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                    "ORDER BY name");
}

// Every row of a table, in rowid order, as text.
inline std::vector<std::string> Dump(const std::string& db, const std::string& table) {
  return SqliteRows(db, "SELECT * FROM \"" + table + "\" ORDER BY rowid");
}

inline int64_t Count(const std::string& db, const std::string& sql) {
  std::vector<std::string> rows = SqliteRows(db, sql);
  EXPECT_EQ(rows.size(), 1u) << sql;
  return rows.size() == 1 ? std::stoll(rows[0]) : -1;
}

inline std::set<std::string> RowSet(const std::string& db, const std::string& sql) {
  std::vector<std::string> rows = SqliteRows(db, sql);
  return std::set<std::string>(rows.begin(), rows.end());
}

// One line of CSV (RFC 4180 quoting), for the CSV outputs of plan and diff.
inline std::vector<std::string> SplitCsvLine(const std::string& line) {
  Result<std::vector<std::string>> fields = ::tether::cli::SplitCsvLine(line);
  EXPECT_TRUE(fields.ok()) << line;
  return fields.ok() ? *fields : std::vector<std::string>{};
}

// The words of a line of a text table.
inline std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t start = line.find_first_not_of(' ', i);
    if (start == std::string::npos) break;
    size_t end = line.find(' ', start);
    if (end == std::string::npos) end = line.size();
    out.push_back(line.substr(start, end - start));
    i = end;
  }
  return out;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// A two-table shop small enough to reason about row by row:
//   live:    item 1 'A' (qty 5), item 2 'B' (qty 'lots': text where the target wants an
//            INTEGER), item 3 'C' (qty 7); each item belongs to category 1 'tools'
//   staging: item 10 'A' (qty 4, an out-of-date copy of live's A) and category 5 'tools'
// with config `tether.yaml` (pipeline `copy`, entities item and category, keys mapped, matched
// on code / slug). Tests overwrite tether.yaml to break one thing at a time.
class SmallShop {
 public:
  SmallShop() {
    SqliteExec(live(),
               "CREATE TABLE category(id INTEGER PRIMARY KEY, slug TEXT NOT NULL);"
               "CREATE TABLE item(id INTEGER PRIMARY KEY, code TEXT NOT NULL, qty INTEGER,"
               "  category_id INTEGER REFERENCES category(id));"
               "INSERT INTO category VALUES (1, 'tools');"
               "INSERT INTO item VALUES (1, 'A', 5, 1), (2, 'B', 'lots', 1), (3, 'C', 7, 1);");
    SqliteExec(staging(),
               "CREATE TABLE category(id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE);"
               "CREATE TABLE item(id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE,"
               "  qty INTEGER, category_id INTEGER REFERENCES category(id));"
               "INSERT INTO category VALUES (5, 'tools');"
               "INSERT INTO item VALUES (10, 'A', 4, 5);");
    WriteConfig(Config());
  }

  // The working configuration, with `live_url` / `staging_url` / extra entity text swappable.
  static std::string Config(const std::string& live_url = "sqlite:live.db",
                            const std::string& staging_url = "sqlite:staging.db",
                            const std::string& item_extra = "") {
    return "connections:\n"
           "  live: { url: \"" +
           live_url +
           "\" }\n"
           "  staging: { url: \"" +
           staging_url +
           "\" }\n"
           "entities:\n"
           "  category: { table: category, key: id, match: [slug] }\n"
           "  item:\n"
           "    table: item\n"
           "    key: id\n"
           "    match: [code]\n"
           "    references: { category_id: category }\n" +
           item_extra +
           "pipelines:\n"
           "  copy:\n"
           "    source: live\n"
           "    target: staging\n"
           "    entities: [category, item]\n";
  }

  void WriteConfig(const std::string& text) const { WriteFile(dir_.File("tether.yaml"), text); }

  std::string dir() const { return dir_.path().string(); }
  std::string live() const { return dir_.File("live.db"); }
  std::string staging() const { return dir_.File("staging.db"); }
  std::string config() const { return dir_.File("tether.yaml"); }

  CommandResult Run(const std::vector<std::string>& args,
                    const std::vector<std::string>& env = {}) const {
    return Tether(args, dir(), env);
  }

 private:
  TempDir dir_;
};

}  // namespace tether::e2e
