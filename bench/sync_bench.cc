// sync_bench: wall time and peak memory of the real `tether sync` binary copying a product table
// of N rows (a full copy, then a no-op rerun, with `keys: identity` and `keys: mapped`), side by
// side with the plain sqlite3 path measured in the same run. Prints figures; asserts no timing.
// Single-threaded; see bench/README.md for how to run it and read the table.
#include <fmt/format.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"

namespace {

using bench::Die;
using bench::FirstLine;
using bench::g_run;
using bench::Mb;
using bench::Measure;
using bench::Rate;
using bench::Run;
using bench::Thousands;

namespace fs = std::filesystem;

constexpr char kColumns[] = "sku, name, price, qty, in_stock, updated_at, description";

struct Options {
  std::vector<int64_t> rows = {100000, 1000000};
  std::vector<std::string> modes = {"identity", "mapped"};
  std::string tether = bench::Env("TETHER_BINARY");
  std::string sqlite3 = "sqlite3";
  std::string dir;  // where the temporary folder goes
  size_t batch_size = 0;
};

class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) Die("cannot open " + path);
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  sqlite3* get() { return db_; }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      Die(msg + " in: " + sql);
    }
  }
  int64_t Count(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) Die(sql);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
  }

 private:
  sqlite3* db_ = nullptr;
};

// N product-like rows; descriptions are ~100 characters of shop words.
void WriteSource(const std::string& path, int64_t rows) {
  static const char* kWords[] = {"soft",   "cotton", "blend", "shirt",   "with",    "classic",
                                 "collar", "and",    "long",  "sleeves", "machine", "washable",
                                 "fits",   "true",   "to",    "size",    "organic", "dye"};
  std::mt19937_64 rng(42);
  Db db(path);
  db.Exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;");
  db.Exec(bench::kSqliteProductTable);
  db.Exec("BEGIN");
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db.get(), "INSERT INTO product VALUES (?,?,?,?,?,?,?,?)", -1, &st,
                         nullptr) != SQLITE_OK) {
    Die(sqlite3_errmsg(db.get()));
  }
  std::string sku, name, date, description;
  for (int64_t id = 1; id <= rows; ++id) {
    sku = fmt::format("SKU-{:08}", id);
    name = fmt::format("Product {} {}", id, kWords[rng() % std::size(kWords)]);
    date = fmt::format("2024-{:02}-{:02} {:02}:{:02}:{:02}", rng() % 12 + 1, rng() % 28 + 1,
                       rng() % 24, rng() % 60, rng() % 60);
    description.clear();
    while (description.size() < 100) {
      if (!description.empty()) description += ' ';
      description += kWords[rng() % std::size(kWords)];
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, sku.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, static_cast<double>(rng() % 1000000) / 100.0);
    sqlite3_bind_int64(st, 5, static_cast<int64_t>(rng() % 1000));
    sqlite3_bind_int(st, 6, rng() % 5 != 0);
    sqlite3_bind_text(st, 7, date.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, description.c_str(), -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) Die(sqlite3_errmsg(db.get()));
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  db.Exec("COMMIT");
}

// A fresh, empty target with the source's schema (same index, so both paths maintain it).
void WriteEmptyTarget(const std::string& path) {
  fs::remove(path);
  fs::remove(path + "-journal");
  Db db(path);
  db.Exec(bench::kSqliteProductTable);
}

struct Line {
  int64_t rows;
  std::string mode;  // identity | mapped
  std::string run;   // copy | no-op
  Measure tether;
  Measure peer;
};

// Checks that tether did what the figure claims it did; a benchmark of a failed run means nothing.
void CheckTether(const Measure& m, const std::string& what, const char* count, int64_t rows) {
  if (m.exit_code != 0) Die(what + ": tether exited " + std::to_string(m.exit_code) + "\n" + m.err);
  nlohmann::json j = nlohmann::json::parse(m.out, nullptr, false);
  if (!j.is_object() || !j.contains("total")) Die(what + ": unexpected output:\n" + m.out);
  int64_t n = j["total"].value(count, int64_t{-1});
  if (n != rows) {
    Die(fmt::format("{}: expected {} {} rows, tether reports {}\n{}", what, Thousands(rows), count,
                    n, m.out));
  }
}

void CheckPeer(const Measure& m, const std::string& what) {
  if (m.exit_code != 0)
    Die(what + ": sqlite3 exited " + std::to_string(m.exit_code) + "\n" + m.err);
}

std::vector<Line> BenchRows(const Options& opt, const fs::path& dir, int64_t rows) {
  const std::string source = (dir / "source.db").string();
  const std::string target = (dir / "target.db").string();
  auto t0 = std::chrono::steady_clock::now();
  fs::remove(source);
  WriteSource(source, rows);
  std::fprintf(stderr, "  %s rows: source written in %.1f s (%s MB)\n", Thousands(rows).c_str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
               Mb(static_cast<long>(fs::file_size(source) / 1024)).c_str());

  // The peer: one INSERT ... SELECT in the sqlite3 shell, then the same upsert a hand-written
  // incremental copy would run, which finds nothing to change.
  WriteEmptyTarget(target);
  Measure peer_copy = Run({opt.sqlite3, "target.db",
                           "ATTACH 'source.db' AS s; INSERT INTO product SELECT * FROM s.product;"},
                          dir);
  CheckPeer(peer_copy, "sqlite3 copy");
  std::string set, differs_old, differs_new;
  for (std::string c : {"sku", "name", "price", "qty", "in_stock", "updated_at", "description"}) {
    set += (set.empty() ? "" : ", ") + c + " = excluded." + c;
    differs_old += (differs_old.empty() ? "" : ", ") + c;
    differs_new += (differs_new.empty() ? "" : ", ") + std::string("excluded.") + c;
  }
  Measure peer_noop =
      Run({opt.sqlite3, "target.db",
           fmt::format("ATTACH 'source.db' AS s; INSERT INTO product SELECT * FROM s.product WHERE "
                       "true ON CONFLICT (id) DO UPDATE SET {} WHERE ({}) IS NOT ({}); SELECT "
                       "changes();",
                       set, differs_old, differs_new)},
          dir);
  CheckPeer(peer_noop, "sqlite3 no-op");
  if (peer_noop.out.find_first_not_of("0\n") != std::string::npos) {
    Die("sqlite3 no-op changed rows: " + peer_noop.out);
  }
  {
    Db check(target);
    if (check.Count("SELECT count(*) FROM product") != rows) Die("sqlite3 copy is incomplete");
  }

  std::vector<Line> lines;
  for (const std::string& mode : opt.modes) {
    std::ofstream(dir / "bench.yaml") << bench::ProductConfig(
        "\"sqlite:source.db\"", "\"sqlite:target.db\"", mode, opt.batch_size);
    WriteEmptyTarget(target);
    const std::vector<std::string> sync = {opt.tether, "-c",       "bench.yaml",
                                           "sync",     "--format", "json"};
    std::fprintf(stderr, "  %s rows: tether %s copy...\n", Thousands(rows).c_str(), mode.c_str());
    Measure copy = Run(sync, dir);
    CheckTether(copy, mode + " copy", "inserted", rows);
    std::fprintf(stderr, "  %s rows: tether %s no-op...\n", Thousands(rows).c_str(), mode.c_str());
    Measure noop = Run(sync, dir);
    CheckTether(noop, mode + " no-op", "unchanged", rows);
    lines.push_back({rows, mode, "copy", copy, peer_copy});
    lines.push_back({rows, mode, "no-op", noop, peer_noop});
  }
  fs::remove(source);
  fs::remove(target);
  return lines;
}

void PrintTable(const std::vector<Line>& lines) {
  std::vector<std::vector<std::string>> cells = {{"rows", "keys", "run", "tether s", "rows/s",
                                                  "cpu s", "RSS MB", "sqlite3 s", "rows/s",
                                                  "RSS MB", "time ×"}};
  for (const Line& l : lines) {
    cells.push_back(
        {Thousands(l.rows), l.mode, l.run, fmt::format("{:.2f}", l.tether.seconds),
         Rate(l.rows, l.tether.seconds), fmt::format("{:.2f}", l.tether.cpu_seconds),
         Mb(l.tether.max_rss_kb), fmt::format("{:.2f}", l.peer.seconds),
         Rate(l.rows, l.peer.seconds), Mb(l.peer.max_rss_kb),
         l.peer.seconds > 0 ? fmt::format("{:.1f}", l.tether.seconds / l.peer.seconds) : "-"});
  }
  bench::PrintTable(cells, {3, 7, 10}, {0, 1, 2});
}

std::vector<int64_t> ParseRows(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty()) continue;
    int64_t n = bench::ParseCount(part);
    if (n == 0) Die("--rows: not a row count: " + part);
    out.push_back(n);
  }
  if (out.empty()) Die("--rows: no row count");
  return out;
}

void Usage() {
  std::printf(
      "usage: sync_bench [--rows 100k,1M] [--keys identity,mapped] [--tether PATH]\n"
      "                  [--sqlite3 PATH] [--batch-size N] [--dir DIR]\n"
      "  --rows        row counts to measure (k and M suffixes; default 100k,1M)\n"
      "  --keys        identity, mapped or both (default both)\n"
      "  --tether      the tether binary (default $TETHER_BINARY, else ./tether beside this\n"
      "                program)\n"
      "  --sqlite3     the sqlite3 shell used as the peer (default: sqlite3 on PATH)\n"
      "  --batch-size  rows per batch (default: the pipeline default)\n"
      "  --dir         where to put the temporary data (default: the system temp dir)\n");
}

Options ParseArgs(int argc, char** argv) {
  Options opt;
  bench::ParseFlags(argc, argv, Usage, Die, [&](const std::string& a, auto& value) {
    if (a == "--rows") {
      opt.rows = ParseRows(value());
    } else if (a == "--keys") {
      std::string v = value();
      if (v == "both") {
        opt.modes = {"identity", "mapped"};
      } else if (v == "identity" || v == "mapped") {
        opt.modes = {v};
      } else if (v == "identity,mapped" || v == "mapped,identity") {
        opt.modes = {"identity", "mapped"};
      } else {
        Die("--keys: identity, mapped or both");
      }
    } else if (a == "--tether") {
      opt.tether = value();
    } else if (a == "--sqlite3") {
      opt.sqlite3 = value();
    } else if (a == "--batch-size") {
      opt.batch_size = static_cast<size_t>(std::strtoull(value().c_str(), nullptr, 10));
    } else if (a == "--dir") {
      opt.dir = value();
    } else {
      return false;
    }
    return true;
  });
  std::string error;
  opt.tether = bench::FindTether(opt.tether, bench::SelfPath(argv[0]), &error);
  if (!error.empty()) Die(error);
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  g_run.program = "sync_bench";
  Options opt = ParseArgs(argc, argv);
  if (std::string error = g_run.Create(opt.dir, "tether-bench-"); !error.empty()) Die(error);
  const fs::path dir = g_run.dir;
  std::vector<Line> lines;
  for (int64_t rows : opt.rows) {
    std::vector<Line> more = BenchRows(opt, dir, rows);
    lines.insert(lines.end(), more.begin(), more.end());
  }
  g_run.Cleanup();

  Measure version = Run({opt.tether, "--version"}, fs::temp_directory_path());
  Measure sqlite_version = Run({opt.sqlite3, "--version"}, fs::temp_directory_path());
  std::printf("tether: %s (%s)\nsqlite3 shell: %s (%s)\nbatch size: %s\n\n", opt.tether.c_str(),
              FirstLine(version.out).c_str(), opt.sqlite3.c_str(),
              FirstLine(sqlite_version.out).substr(0, 17).c_str(),
              opt.batch_size ? std::to_string(opt.batch_size).c_str() : "pipeline default");
  std::printf("%*s%s\n", 0, "",
              "columns: tether (wall s, rows/s, CPU s, peak RSS) | sqlite3 shell "
              "(wall s, rows/s, peak RSS) | tether time / sqlite3 time");
  PrintTable(lines);
  return 0;
}
