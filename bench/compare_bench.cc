// compare_bench: what range checksums buy. On a product table of N rows (default 1M) whose target
// copy differs from the source in 0, 10 and 1,000 rows, it times the real `tether diff` next to a
// full fetch-and-compare (`tether diff --no-checksums`) for PostgreSQL → PostgreSQL, MariaDB →
// MariaDB, PostgreSQL → MariaDB and SQLite → SQLite, and a resync (`tether sync`) next to
// `pt-table-sync --execute` (MariaDB → MariaDB) and `sqldiff | sqlite3` (SQLite → SQLite). Every
// diff must report exactly the changed rows; after every resync an SQL check of its own (a join
// on all columns and the counts) says whether the tables ended equal. Prints figures; asserts no
// timing. Starts its own throwaway servers (scripts/test-servers.sh) unless given URLs; see
// bench/README.md for how to run it and read the tables.
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"

namespace {

using bench::DbServer;
using bench::Die;
using bench::FirstLine;
using bench::g_run;
using bench::Mb;
using bench::Measure;
using bench::Run;
using bench::Thousands;
using bench::Trim;
using bench::Wants;

namespace fs = std::filesystem;

constexpr char kSourceDb[] = "tether_cmp_src";
constexpr char kTargetDb[] = "tether_cmp_dst";
// The source skips every id divisible by this, so that rows only the target has (the changes'
// inserts) can sit anywhere in the key range, as they would after deletes on the source.
constexpr int64_t kHoleEvery = 1001;
constexpr double kDiffTargetSeconds = 3;  // a no-difference diff
constexpr double kResyncTargetRatio = 2;  // the peer's time / tether's, at kTargetChanges
constexpr int64_t kTargetChanges = 1000;

// The ids 1..LastId(rows), less the multiples of kHoleEvery, are exactly `rows` ids.
int64_t LastId(int64_t rows) { return rows + rows / (kHoleEvery - 1); }

// ---- the changes ----------------------------------------------------------------------------

enum class Kind { kUpdate, kDelete, kInsert };

// One change made to the target: an update of one field, a deleted row, or a row the source
// does not have.
struct Change {
  Kind kind = Kind::kUpdate;
  int64_t id = 0;
  int field = 0;  // an update's column: kUpdateFields[field]
};

constexpr const char* kUpdateFields[] = {"qty", "price", "name", "updated_at"};

// n changes, the same for the same (rows, n): 10% deletes, 10% inserts, the rest updates of one
// field (taking turns), one in each of n equal slices of the key range.
std::vector<Change> PlanChanges(int64_t rows, int64_t n) {
  const int64_t last = LastId(rows);
  std::vector<Change> plan(static_cast<size_t>(n));
  for (int64_t i = 0; i < n / 10; ++i) {
    plan[static_cast<size_t>(i)].kind = Kind::kDelete;
    plan[static_cast<size_t>(n / 10 + i)].kind = Kind::kInsert;
  }
  std::mt19937_64 rng(0x7e7e5 + static_cast<uint64_t>(n));
  std::shuffle(plan.begin(), plan.end(), rng);
  int updates = 0;
  for (int64_t k = 0; k < n; ++k) {
    Change& c = plan[static_cast<size_t>(k)];
    const int64_t lo = 1 + k * last / n, hi = (k + 1) * last / n;
    if (c.kind == Kind::kInsert) {
      // A hole of the source in the slice; after the last id when the slice has none.
      const int64_t first = (lo + kHoleEvery - 1) / kHoleEvery * kHoleEvery;
      if (first <= hi) {
        const int64_t holes = (hi - first) / kHoleEvery + 1;
        c.id = first + static_cast<int64_t>(rng() % static_cast<uint64_t>(holes)) * kHoleEvery;
      } else {
        c.id = last + 1 + k;
      }
      continue;
    }
    do {
      c.id = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
    } while (c.id % kHoleEvery == 0);
    if (c.kind == Kind::kUpdate) c.field = updates++ % static_cast<int>(std::size(kUpdateFields));
  }
  return plan;
}

int64_t Count(const std::vector<Change>& plan, Kind kind) {
  return std::count_if(plan.begin(), plan.end(),
                       [kind](const Change& c) { return c.kind == kind; });
}

// The statements that make a copy of the source into the changed target, for `engine` (pg,
// mysql or sqlite).
std::vector<std::string> ChangeSql(const std::vector<Change>& plan, const std::string& engine) {
  std::vector<std::string> updates[std::size(kUpdateFields)];
  std::vector<std::string> deletes, inserts;
  for (const Change& c : plan) {
    if (c.kind == Kind::kUpdate) updates[c.field].push_back(std::to_string(c.id));
    if (c.kind == Kind::kDelete) deletes.push_back(std::to_string(c.id));
    if (c.kind == Kind::kInsert) {
      inserts.push_back(
          fmt::format("({0}, 'SKU-{0:08}', 'Inserted {0}', 12.34, 7, TRUE, '2024-06-01 12:00:00', "
                      "'a row only the target has')",
                      c.id));
    }
  }
  auto join = [](const std::vector<std::string>& parts) {
    std::string out;
    for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
    return out;
  };
  const bool my = engine == "mysql";
  const std::string set[] = {
      "qty = qty + 1", "price = price + 1",
      my ? "name = CONCAT(name, ' (changed)')" : "name = name || ' (changed)'",
      engine == "pg" ? "updated_at = updated_at + interval '1 hour'"
      : my           ? "updated_at = updated_at + INTERVAL 1 HOUR"
                     : "updated_at = datetime(updated_at, '+1 hour')"};
  std::vector<std::string> sql;
  for (size_t f = 0; f < std::size(kUpdateFields); ++f) {
    if (!updates[f].empty()) {
      sql.push_back("UPDATE product SET " + set[f] + " WHERE id IN (" + join(updates[f]) + ")");
    }
  }
  if (!deletes.empty()) sql.push_back("DELETE FROM product WHERE id IN (" + join(deletes) + ")");
  if (!inserts.empty()) {
    sql.push_back(
        "INSERT INTO product (id, sku, name, price, qty, in_stock, updated_at, description) "
        "VALUES " +
        join(inserts));
  }
  return sql;
}

// ---- options and the ways out ---------------------------------------------------------------

// Besides these: --tether, --pg-url, --mysql-url, --dir, --servers-script (bench::ServerFlags).
struct Options : bench::ServerFlags {
  int64_t rows = 1000000;
  std::vector<int64_t> changes = {0, 10, 1000};
  std::vector<std::string> only = {"diff", "resync", "sqlite"};
  int repeat = 1;  // 1M rows, every section: about 11 minutes on 2 CPUs
  bool keep = false;
};

// Whether `program` is on PATH.
bool OnPath(const std::string& program) {
  return std::system(("command -v '" + program + "' >/dev/null 2>&1").c_str()) == 0;
}

// ---- one measured run, and the median of several ---------------------------------------------

struct RunResult {
  Measure m;
  std::string failure;  // why the run's output is wrong; empty when it is right
  std::string equal;    // after a resync: "yes" or "NO"; empty when not checked
  std::string detail;   // what the equality check found, when it is not "yes"
  std::string method;   // a diff's `compared by`
};

struct Cell {
  RunResult run;     // the run of median wall time (or the first failed / unequal one)
  std::string runs;  // every run's wall seconds
  bool Ok() const { return run.failure.empty() && run.equal != "NO"; }
};

Cell Median(std::vector<RunResult> runs) {
  Cell cell;
  for (const RunResult& r : runs) {
    cell.runs += (cell.runs.empty() ? "" : " ") + fmt::format("{:.2f}", r.m.seconds);
  }
  for (const RunResult& r : runs) {
    if (!r.failure.empty() || r.equal == "NO") {
      cell.run = r;
      return cell;
    }
  }
  std::sort(runs.begin(), runs.end(),
            [](const RunResult& a, const RunResult& b) { return a.m.seconds < b.m.seconds; });
  cell.run = runs[runs.size() / 2];
  return cell;
}

// Runs a then b `repeat` times, taking turns (b first every other round), so that a noisy
// moment of the machine or a cold cache does not fall on one side only.
template <typename A, typename B>
void TakeTurns(int repeat, A a, B b, std::vector<RunResult>* as, std::vector<RunResult>* bs) {
  for (int r = 0; r < repeat; ++r) {
    if (r % 2 == 0) {
      as->push_back(a());
      bs->push_back(b());
    } else {
      bs->push_back(b());
      as->push_back(a());
    }
  }
}

// ---- checking what the programs did ---------------------------------------------------------

// tether diff -f json must report exactly the plan: each changed row once, as the right kind.
std::string CheckDiff(const Measure& m, const std::vector<Change>& plan, std::string* method) {
  if (m.exit_code != 0) return fmt::format("exited {}: {}", m.exit_code, Trim(m.err));
  nlohmann::json j = nlohmann::json::parse(m.out, nullptr, false);
  if (!j.is_object() || !j.contains("differences") || !j["differences"].is_array()) {
    return "output is not the JSON report: " + FirstLine(m.out);
  }
  if (j.contains("entities") && j["entities"].is_array() && !j["entities"].empty()) {
    *method = j["entities"][0].value("method", "");
  }
  std::map<std::string, std::string> want;
  for (const Change& c : plan) {
    want[std::to_string(c.id)] = c.kind == Kind::kUpdate   ? "changed"
                                 : c.kind == Kind::kDelete ? "only_in_source"
                                                           : "only_in_target";
  }
  int64_t found = 0, wrong = 0;
  std::string example;
  for (const nlohmann::json& d : j["differences"]) {
    ++found;
    const std::string kind = d.value("kind", "");
    const std::string id = d.value(kind == "only_in_target" ? "target_id" : "source_id", "");
    auto it = want.find(id);
    if (it == want.end() || it->second != kind) {
      ++wrong;
      if (example.empty()) example = fmt::format(" (e.g. {} {})", kind, id);
    } else {
      want.erase(it);
    }
  }
  const bool equal = j.value("equal", false);
  if (wrong || !want.empty() || equal != plan.empty()) {
    return fmt::format(
        "reports {} differences, expected {}: {} not among the changes{}, {} changes missing{}; "
        "equal: {}",
        found, plan.size(), wrong, example, want.size(),
        want.empty() ? "" : " (e.g. id " + want.begin()->first + ")", equal);
  }
  return "";
}

// tether sync -f json must report the plan undone: the deleted rows inserted, the updated ones
// updated, the target's own rows deleted.
std::string CheckSync(const Measure& m, const std::vector<Change>& plan) {
  if (m.exit_code != 0) return fmt::format("exited {}: {}", m.exit_code, Trim(m.err));
  nlohmann::json j = nlohmann::json::parse(m.out, nullptr, false);
  if (!j.is_object() || !j.contains("total") || !j["total"].is_object()) {
    return "output is not the JSON report: " + FirstLine(m.out);
  }
  const nlohmann::json& t = j["total"];
  const int64_t ins = t.value("inserted", int64_t{-1}), upd = t.value("updated", int64_t{-1}),
                del = t.value("deleted", int64_t{-1}), failed = t.value("failed", int64_t{0});
  if (ins != Count(plan, Kind::kDelete) || upd != Count(plan, Kind::kUpdate) ||
      del != Count(plan, Kind::kInsert) || failed != 0) {
    return fmt::format(
        "reports {} inserted, {} updated, {} deleted, {} failed; expected {}, {}, {}, 0", ins, upd,
        del, failed, Count(plan, Kind::kDelete), Count(plan, Kind::kUpdate),
        Count(plan, Kind::kInsert));
  }
  return "";
}

// What an equality check found: the rows of each side, how many of the source's rows the target
// holds with every column equal, and how many of the target's rows the source does not hold so.
struct Equality {
  bool read = false;  // the check ran
  int64_t source = 0, target = 0, same = 0, extra = 0;
  std::string error;
  bool Equal() const { return read && source == target && same == source && extra == 0; }
  std::string Text() const {
    if (!read) return "the check failed: " + error;
    return fmt::format(
        "source {} rows, target {}; {} source rows not in the target as they are, {} target rows "
        "not in the source",
        Thousands(source), Thousands(target), Thousands(source - same), Thousands(extra));
  }
};

Equality ParseEquality(const std::optional<std::string>& out, const std::string& error) {
  Equality e;
  e.error = error;
  if (!out) return e;
  std::vector<int64_t> n;
  std::string text = Trim(*out);
  for (char& c : text) {
    if (c == '\t' || c == '|') c = ' ';
  }
  std::stringstream in(text);
  int64_t v = 0;
  while (in >> v) n.push_back(v);
  if (n.size() == 3 || n.size() == 4) {  // source, target, same[, extra]
    e.read = true;
    e.source = n[0];
    e.target = n[1];
    e.same = n[2];
    e.extra = n.size() == 4 ? n[3] : e.target - e.same;  // a key join pairs a row once
  } else {
    e.error = "unexpected output: " + text;
  }
  return e;
}

void NoteEquality(RunResult* r, const Equality& e) {
  r->equal = e.Equal() ? "yes" : "NO";
  if (!e.Equal()) r->detail = e.Text();
}

// ---- the benchmark --------------------------------------------------------------------------

struct DiffLine {
  std::string path;
  int64_t changes = 0;
  Cell checksums, full;
};

struct ResyncLine {
  std::string path;
  std::string peer;
  int64_t changes = 0;
  Cell tether, other;
};

class Bench {
 public:
  Bench(const Options& opt, fs::path dir, DbServer* pg, DbServer* my)
      : opt_(opt), dir_(std::move(dir)), pg_(pg), my_(my), sqlite_dir_(dir_ / "sqlite") {}

  // The sources: generated inside each server (and the SQLite file), warm in their caches.
  void Generate() {
    const int64_t last = LastId(opt_.rows);
    for (DbServer* s : {pg_, my_}) {
      if (!s) continue;
      auto t0 = std::chrono::steady_clock::now();
      s->Generate(kSourceDb, last,
                  fmt::format("{} % {} <> 0", s->engine() == "pg" ? "i" : "seq", kHoleEvery));
      std::optional<std::vector<std::string>> sum = s->Checksum(kSourceDb);
      if (!sum) Die("cannot read the source on " + s->Name());
      if (sum->at(0) != std::to_string(opt_.rows)) {
        Die(fmt::format("{} source holds {} rows, expected {}", s->Name(), sum->at(0), opt_.rows));
      }
      sums_.push_back(*sum);
      std::fprintf(stderr, "  %s: %s source rows generated in %.1f s\n", s->Name().c_str(),
                   Thousands(opt_.rows).c_str(), Since(t0));
    }
    if (sums_.size() == 2 && sums_[0] != sums_[1]) {
      Die("the PostgreSQL and MariaDB sources do not hold the same rows (checksums differ)");
    }
    if (Wants(opt_.only, "sqlite")) {
      auto t0 = std::chrono::steady_clock::now();
      fs::create_directories(sqlite_dir_);
      Sqlite("source.db",
             "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; " +
                 std::string(bench::kSqliteProductTable) +
                 bench::SqliteGenerateProducts(last, fmt::format("i % {} <> 0", kHoleEvery)) +
                 "; ANALYZE;");
      std::string n = Trim(Sqlite("source.db", "SELECT count(*) FROM product"));
      if (n != std::to_string(opt_.rows)) Die("SQLite source holds " + n + " rows");
      std::fprintf(stderr, "  SQLite: %s source rows generated in %.1f s\n",
                   Thousands(opt_.rows).c_str(), Since(t0));
      Write(sqlite_dir_ / "bench.yaml", "\"sqlite:source.db\"", "\"sqlite:target.db\"");
    }
    if (pg_) Write(dir_ / "pg-pg.yaml", Quote(pg_->Url(kSourceDb)), Quote(pg_->Url(kTargetDb)));
    if (my_) Write(dir_ / "my-my.yaml", Quote(my_->Url(kSourceDb)), Quote(my_->Url(kTargetDb)));
    if (pg_ && my_) {
      Write(dir_ / "pg-my.yaml", Quote(pg_->Url(kSourceDb)), Quote(my_->Url(kTargetDb)));
    }
  }

  // Every section for one number of changes.
  void MeasureChanges(int64_t n) {
    const std::vector<Change> plan = PlanChanges(opt_.rows, n);
    std::fprintf(stderr, "%s changes (updates %s, deletes %s, inserts %s on the target):\n",
                 Thousands(n).c_str(), Thousands(Count(plan, Kind::kUpdate)).c_str(),
                 Thousands(Count(plan, Kind::kDelete)).c_str(),
                 Thousands(Count(plan, Kind::kInsert)).c_str());
    if (Wants(opt_.only, "diff")) {
      BuildServerTarget(*pg_, plan);
      BuildServerTarget(*my_, plan);
      Diffs(pg_->Name() + " → " + pg_->Name(), dir_, "pg-pg.yaml", plan);
      Diffs(my_->Name() + " → " + my_->Name(), dir_, "my-my.yaml", plan);
      Diffs(pg_->Name() + " → " + my_->Name(), dir_, "pg-my.yaml", plan);
    }
    if (Wants(opt_.only, "sqlite")) {
      BuildSqliteTarget(plan);
      Diffs("SQLite → SQLite", sqlite_dir_, "bench.yaml", plan);
    }
    if (Wants(opt_.only, "resync")) {
      // The diffs leave the MariaDB target as it was built.
      if (!Wants(opt_.only, "diff")) BuildServerTarget(*my_, plan);
      MyResync(plan);
    }
    if (Wants(opt_.only, "sqlite")) SqliteResync(plan);
  }

  const std::vector<DiffLine>& diffs() const { return diffs_; }
  const std::vector<ResyncLine>& resyncs() const { return resyncs_; }

 private:
  static double Since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  static std::string Quote(const std::string& url) { return "\"" + url + "\""; }

  // A config for the product entity with identity keys, deletes propagated.
  static void Write(const fs::path& file, const std::string& src, const std::string& dst) {
    std::ofstream(file) << bench::ProductConfig(src, dst, "identity", 0, "propagate");
  }

  // Runs SQL in the sqlite3 shell on `file` (in the SQLite folder); returns its stdout.
  std::string Sqlite(const std::string& file, const std::string& sql) const {
    Measure m = Run({"sqlite3", "-bail", file, sql}, sqlite_dir_);
    if (m.exit_code != 0) Die("sqlite3 " + file + ": " + Trim(m.err) + "\n  in: " + sql);
    return m.out;
  }

  // The target database: a copy of the source with the plan applied. PostgreSQL copies the
  // source database as a template; MariaDB copies the table.
  void BuildServerTarget(const DbServer& s, const std::vector<Change>& plan) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> sql = ChangeSql(plan, s.engine());
    if (s.engine() == "pg") {
      s.Sql("", {std::string("DROP DATABASE IF EXISTS ") + kTargetDb + " WITH (FORCE)",
                 fmt::format("CREATE DATABASE {} TEMPLATE {}", kTargetDb, kSourceDb)});
      sql.push_back("VACUUM (ANALYZE) product");
    } else {
      s.FreshDatabase(kTargetDb, true);
      sql.insert(sql.begin(),
                 fmt::format("INSERT INTO product SELECT * FROM {}.product", kSourceDb));
      sql.push_back("ANALYZE TABLE product");
    }
    s.Sql(kTargetDb, sql);
    s.Settle();
    CheckTargetRows(s, plan);
    std::fprintf(stderr, "  %s: target built in %.1f s\n", s.Name().c_str(), Since(t0));
  }

  void CheckTargetRows(const DbServer& s, const std::vector<Change>& plan) const {
    const int64_t want = opt_.rows - Count(plan, Kind::kDelete) + Count(plan, Kind::kInsert);
    std::string got = Trim(s.Sql(kTargetDb, {"SELECT count(*) FROM product"}));
    if (got != std::to_string(want)) {
      Die(fmt::format("{} target holds {} rows after the changes, expected {}", s.Name(), got,
                      want));
    }
  }

  // target_changed.db: a copy of source.db with the plan applied; each run starts from a copy.
  void BuildSqliteTarget(const std::vector<Change>& plan) {
    fs::copy_file(sqlite_dir_ / "source.db", sqlite_dir_ / "target_changed.db",
                  fs::copy_options::overwrite_existing);
    std::string sql;
    for (const std::string& s : ChangeSql(plan, "sqlite")) sql += s + ";\n";
    if (!sql.empty()) Sqlite("target_changed.db", "BEGIN;\n" + sql + "COMMIT;");
    RestoreSqliteTarget();
  }

  void RestoreSqliteTarget() const {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::error_code ec;
      fs::remove(sqlite_dir_ / (std::string("target.db") + suffix), ec);
    }
    fs::copy_file(sqlite_dir_ / "target_changed.db", sqlite_dir_ / "target.db");
  }

  RunResult TetherDiff(const fs::path& cwd, const std::string& config,
                       const std::vector<Change>& plan, bool checksums, const std::string& path) {
    std::fprintf(stderr, "  %s: tether diff%s...\n", path.c_str(),
                 checksums ? "" : " --no-checksums");
    std::vector<std::string> argv = {opt_.tether, "-c", config, "diff", "bench", "-f", "json"};
    if (!checksums) argv.push_back("--no-checksums");
    RunResult r;
    r.m = Run(argv, cwd);
    r.failure = CheckDiff(r.m, plan, &r.method);
    return r;
  }

  void Diffs(const std::string& path, const fs::path& cwd, const std::string& config,
             const std::vector<Change>& plan) {
    std::vector<RunResult> with, without;
    TakeTurns(
        opt_.repeat, [&] { return TetherDiff(cwd, config, plan, true, path); },
        [&] { return TetherDiff(cwd, config, plan, false, path); }, &with, &without);
    diffs_.push_back({path, static_cast<int64_t>(plan.size()), Median(std::move(with)),
                      Median(std::move(without))});
  }

  RunResult TetherSync(const fs::path& cwd, const std::string& config,
                       const std::vector<Change>& plan, const std::string& path) {
    std::fprintf(stderr, "  %s: tether sync...\n", path.c_str());
    RunResult r;
    r.m = Run({opt_.tether, "-c", config, "sync", "bench", "-f", "json"}, cwd);
    r.failure = CheckSync(r.m, plan);
    return r;
  }

  // MariaDB: the source's rows against the target's, every column compared exactly (text as
  // bytes: the collation would call 'é' and 'e' equal), in one join on the key.
  Equality MyEqual() const {
    std::string cond = "s.id = d.id";
    for (const char* c : {"sku", "name", "description"}) {
      cond += fmt::format(" AND BINARY s.{0} <=> BINARY d.{0}", c);
    }
    for (const char* c : {"price", "qty", "in_stock", "updated_at"}) {
      cond += fmt::format(" AND s.{0} <=> d.{0}", c);
    }
    std::string error;
    std::optional<std::string> out = my_->TrySql(
        "",
        {fmt::format("SELECT (SELECT COUNT(*) FROM {0}.product), (SELECT COUNT(*) FROM "
                     "{1}.product), (SELECT COUNT(*) FROM {0}.product s JOIN {1}.product d ON "
                     "{2})",
                     kSourceDb, kTargetDb, cond)},
        &error);
    return ParseEquality(out, error);
  }

  // SQLite: counts and the rows of each side the other does not have, both ways (EXCEPT
  // compares every column, NULL equal to NULL).
  Equality SqliteEqual() const {
    Measure m =
        Run({"sqlite3", "-bail", "target.db",
             "ATTACH 'source.db' AS s; SELECT (SELECT count(*) FROM s.product), (SELECT count(*) "
             "FROM main.product), (SELECT count(*) FROM s.product) - (SELECT count(*) FROM "
             "(SELECT * FROM s.product EXCEPT SELECT * FROM main.product)), (SELECT count(*) "
             "FROM (SELECT * FROM main.product EXCEPT SELECT * FROM s.product));"},
            sqlite_dir_);
    return ParseEquality(m.exit_code == 0 ? std::optional<std::string>(m.out) : std::nullopt,
                         Trim(m.err));
  }

  void MyResync(const std::vector<Change>& plan) {
    const std::string path = my_->Name() + " → " + my_->Name();
    // pt-table-sync reads the password from an option file (F=), not from its argv.
    const fs::path cnf = dir_ / "pt.cnf";
    std::ofstream(cnf) << fmt::format("[client]\nuser={}\npassword={}\n", my_->user(),
                                      my_->password());
    chmod(cnf.c_str(), 0600);
    const std::string src_dsn = fmt::format("F={},h={},P={},D={},t=product", cnf.string(),
                                            my_->host(), my_->port(), kSourceDb);
    const std::string dst_dsn = fmt::format("D={}", kTargetDb);
    bool target_ready = true;   // the target holds the changed state
    bool target_equal = false;  // else: the last run left it equal to the source
    auto restore = [&] {
      if (target_ready) return;
      target_ready = true;
      if (target_equal) {
        my_->Sql(kTargetDb, ChangeSql(plan, "mysql"));  // back to the changed state, exactly
        CheckTargetRows(*my_, plan);
      } else {
        BuildServerTarget(*my_, plan);
      }
    };
    auto tether = [&] {
      restore();
      RunResult r = TetherSync(dir_, "my-my.yaml", plan, path);
      target_ready = false;
      NoteEquality(&r, MyEqual());
      target_equal = r.equal == "yes";
      return r;
    };
    auto pt = [&] {
      restore();
      std::fprintf(stderr, "  %s: pt-table-sync --execute...\n", path.c_str());
      RunResult r;
      r.m = Run({"pt-table-sync", "--execute", "--verbose", "--no-version-check", "--charset",
                 "utf8mb4", src_dsn, dst_dsn},
                dir_);
      target_ready = false;
      // 0: no differences, 2: differences found (and, with --execute, resolved).
      if (r.m.exit_code != 0 && r.m.exit_code != 2) {
        r.failure = fmt::format("exited {}: {}", r.m.exit_code, Trim(r.m.err));
      }
      NoteEquality(&r, MyEqual());
      target_equal = r.equal == "yes";
      return r;
    };
    std::vector<RunResult> ts, ps;
    TakeTurns(opt_.repeat, tether, pt, &ts, &ps);
    restore();  // leave the changed state for whoever comes next
    resyncs_.push_back({path, "pt-table-sync --execute", static_cast<int64_t>(plan.size()),
                        Median(std::move(ts)), Median(std::move(ps))});
  }

  void SqliteResync(const std::vector<Change>& plan) {
    const std::string path = "SQLite → SQLite";
    auto tether = [&] {
      RestoreSqliteTarget();
      RunResult r = TetherSync(sqlite_dir_, "bench.yaml", plan, path);
      NoteEquality(&r, SqliteEqual());
      return r;
    };
    auto peer = [&] {
      RestoreSqliteTarget();
      std::fprintf(stderr, "  %s: sqldiff | sqlite3...\n", path.c_str());
      RunResult r;
      // sqldiff prints the SQL that turns its first database into its second.
      r.m = Run({"bash", "-c",
                 "set -o pipefail; sqldiff --primarykey --transaction --table product target.db "
                 "source.db | sqlite3 -bail target.db"},
                sqlite_dir_);
      if (r.m.exit_code != 0) {
        r.failure = fmt::format("exited {}: {}", r.m.exit_code, Trim(r.m.err));
      }
      NoteEquality(&r, SqliteEqual());
      return r;
    };
    std::vector<RunResult> ts, ps;
    TakeTurns(opt_.repeat, tether, peer, &ts, &ps);
    resyncs_.push_back({path, "sqldiff | sqlite3", static_cast<int64_t>(plan.size()),
                        Median(std::move(ts)), Median(std::move(ps))});
  }

  const Options& opt_;
  fs::path dir_;
  DbServer* pg_;
  DbServer* my_;
  fs::path sqlite_dir_;
  std::vector<std::vector<std::string>> sums_;
  std::vector<DiffLine> diffs_;
  std::vector<ResyncLine> resyncs_;
};

// ---- output ---------------------------------------------------------------------------------

std::string Secs(double s) { return fmt::format("{:.2f}", s); }

// wall s, CPU s, RSS MB of a cell; FAILED when it did not run right.
std::vector<std::string> Figures(const Cell& c) {
  if (!c.run.failure.empty()) return {"FAILED", "-", "-"};
  return {Secs(c.run.m.seconds), Secs(c.run.m.cpu_seconds), Mb(c.run.m.max_rss_kb)};
}

void PrintDiffs(const std::vector<DiffLine>& lines) {
  std::vector<std::vector<std::string>> cells = {
      {"diff", "changes", "checksums s", "CPU s", "RSS MB", "no-checksums s", "CPU s", "RSS MB",
       "× faster", fmt::format("<{:.0f} s", kDiffTargetSeconds), "differences", "compared by",
       "runs s (checksums / no-checksums)"}};
  for (const DiffLine& l : lines) {
    std::vector<std::string> row = {l.path, Thousands(l.changes)};
    for (const Cell* c : {&l.checksums, &l.full}) {
      std::vector<std::string> f = Figures(*c);
      row.insert(row.end(), f.begin(), f.end());
    }
    const bool ok = l.checksums.Ok() && l.full.Ok();
    row.push_back(ok ? fmt::format("{:.1f}", l.full.run.m.seconds / l.checksums.run.m.seconds)
                     : "-");
    row.push_back(l.changes != 0 || !l.checksums.Ok()              ? "-"
                  : l.checksums.run.m.seconds < kDiffTargetSeconds ? "met"
                                                                   : "MISSED");
    row.push_back(ok ? Thousands(l.changes) + " ok" : "WRONG");
    row.push_back(l.checksums.run.method.empty() ? "-" : l.checksums.run.method);
    row.push_back(l.checksums.runs + " / " + l.full.runs);
    cells.push_back(row);
  }
  bench::PrintTable(cells, {2, 5, 8, 11, 12}, {0, 11, 12});
}

void PrintResyncs(const std::vector<ResyncLine>& lines) {
  std::vector<std::vector<std::string>> cells = {
      {"resync", "changes", "tether sync s", "CPU s", "RSS MB", "equal", "peer", "peer s", "CPU s",
       "RSS MB", "equal", "peer / tether", fmt::format("≥{:.0f}×", kResyncTargetRatio),
       "runs s (tether / peer)"}};
  for (const ResyncLine& l : lines) {
    std::vector<std::string> row = {l.path, Thousands(l.changes)};
    std::vector<std::string> f = Figures(l.tether);
    row.insert(row.end(), f.begin(), f.end());
    row.push_back(l.tether.run.equal.empty() ? "-" : l.tether.run.equal);
    row.push_back(l.peer);
    f = Figures(l.other);
    row.insert(row.end(), f.begin(), f.end());
    row.push_back(l.other.run.equal.empty() ? "-" : l.other.run.equal);
    const bool both = l.tether.run.failure.empty() && l.other.run.failure.empty();
    const double ratio = both ? l.other.run.m.seconds / l.tether.run.m.seconds : 0;
    row.push_back(both ? fmt::format("{:.1f}", ratio) : "-");
    row.push_back(l.changes != kTargetChanges || !both           ? "-"
                  : ratio >= kResyncTargetRatio && l.tether.Ok() ? "met"
                                                                 : "MISSED");
    row.push_back(l.tether.runs + " / " + l.other.runs);
    cells.push_back(row);
  }
  bench::PrintTable(cells, {2, 6, 11, 13}, {0, 5, 6, 10, 13});
}

// What went wrong, under the tables; returns whether anything did.
bool PrintProblems(const std::vector<DiffLine>& diffs, const std::vector<ResyncLine>& resyncs) {
  bool any = false;
  auto note = [&](const std::string& what, int64_t n, const Cell& c) {
    if (!c.run.failure.empty()) {
      std::printf("%s, %s changes: FAILED: %s\n", what.c_str(), Thousands(n).c_str(),
                  c.run.failure.c_str());
      any = true;
    }
    if (c.run.equal == "NO") {
      std::printf("%s, %s changes: NOT EQUAL afterwards: %s\n", what.c_str(), Thousands(n).c_str(),
                  c.run.detail.c_str());
      any = true;
    }
  };
  for (const DiffLine& l : diffs) {
    note(l.path + ", tether diff", l.changes, l.checksums);
    note(l.path + ", tether diff --no-checksums", l.changes, l.full);
  }
  for (const ResyncLine& l : resyncs) {
    note(l.path + ", tether sync", l.changes, l.tether);
    note(l.path + ", " + l.peer, l.changes, l.other);
  }
  return any;
}

std::vector<int64_t> ParseChanges(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    int64_t n = part == "0" ? 0 : bench::ParseCount(part);
    if (part != "0" && n == 0) Die("--changes: not a count: " + part);
    out.push_back(n);
  }
  if (out.empty()) Die("--changes: one or more counts, e.g. 0,10,1000");
  return out;
}

void Usage() {
  std::printf(
      "usage: compare_bench [--rows N] [--changes 0,10,1000] [--repeat N]\n"
      "                     [--only diff,resync,sqlite] [--tether PATH] [--pg URL] [--mysql URL]\n"
      "                     [--keep] [--dir DIR] [--servers-script PATH]\n"
      "  --rows            rows in the product table (k and M suffixes; default 1M)\n"
      "  --changes         rows in which the target differs, one measurement each (default\n"
      "                    0,10,1000): 80%% updates of one field, 10%% deletes, 10%% inserts\n"
      "  --repeat          runs per program and line, taking turns; the table shows the run of\n"
      "                    median time and lists all (default 1)\n"
      "  --only            sections: diff (tether diff with and without checksums, PostgreSQL\n"
      "                    and MariaDB), resync (tether sync and pt-table-sync, MariaDB),\n"
      "                    sqlite (diff, and tether sync and sqldiff | sqlite3); default all\n"
      "  --tether          the tether binary (default $TETHER_BINARY, else ./tether beside this\n"
      "                    program)\n"
      "  --pg, --pg-url    an administrator URL of a PostgreSQL server to use (default\n"
      "                    $TETHER_TEST_PG_URL, else a throwaway server started for the run)\n"
      "  --mysql, --mysql-url  the same for MySQL/MariaDB ($TETHER_TEST_MYSQL_URL)\n"
      "  --keep            leave the servers, databases and files as they are at the end\n"
      "  --dir             where to put the temporary folder (default: the system temp dir)\n"
      "  --servers-script  scripts/test-servers.sh (default: found from the source tree)\n");
}

Options ParseArgs(int argc, char** argv) {
  Options opt;
  bench::ParseFlags(argc, argv, Usage, Die, [&](const std::string& a, auto& value) {
    if (opt.ParseServerFlag(a == "--pg" ? "--pg-url" : a == "--mysql" ? "--mysql-url" : a, value)) {
      return true;
    }
    if (a == "--rows") {
      opt.rows = bench::ParseCount(value());
      if (opt.rows == 0) Die("--rows: not a row count");
    } else if (a == "--changes") {
      opt.changes = ParseChanges(value());
    } else if (a == "--only") {
      opt.only = bench::ParseOnly(value(), {"diff", "resync", "sqlite"});
      if (opt.only.empty()) Die("--only: diff, resync or sqlite");
    } else if (a == "--repeat") {
      opt.repeat = static_cast<int>(std::strtol(value().c_str(), nullptr, 10));
      if (opt.repeat < 1 || opt.repeat > 20) Die("--repeat: 1 to 20");
    } else if (a == "--keep") {
      opt.keep = true;
    } else {
      return false;
    }
    return true;
  });
  for (int64_t n : opt.changes) {
    if (n * 10 > opt.rows) Die("--changes: at most a tenth of --rows");
  }
  if (std::string error = opt.FindPrograms(argv[0]); !error.empty()) Die(error);
  return opt;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

}  // namespace

int main(int argc, char** argv) {
  g_run.program = "compare_bench";
  Options opt = ParseArgs(argc, argv);
  g_run.keep = opt.keep;
  const bool need_pg = Wants(opt.only, "diff");
  const bool need_my = Wants(opt.only, "diff") || Wants(opt.only, "resync");
  std::vector<std::string> programs;
  if (need_pg) programs.push_back("psql");
  if (need_my) programs.push_back("mysql");
  if (Wants(opt.only, "resync")) programs.push_back("pt-table-sync");
  if (Wants(opt.only, "sqlite")) programs.insert(programs.end(), {"sqlite3", "sqldiff"});
  for (const std::string& p : programs) {
    if (!OnPath(p)) Die(p + " is not on PATH (scripts/setup.sh --tests --bench installs it)");
  }
  const std::string load = LoadAverage();

  if (std::string error = g_run.Create(opt.dir, "tether-compare-bench-"); !error.empty()) {
    Die(error);
  }
  const fs::path dir = g_run.dir;
  if (std::string error = g_run.StartServersIfNeeded(opt.script, need_pg ? &opt.pg_url : nullptr,
                                                     need_my ? &opt.mysql_url : nullptr);
      !error.empty()) {
    Die(error);
  }
  std::optional<DbServer> pg, my;
  if (need_pg) pg.emplace("pg", opt.pg_url, dir, Die);
  if (need_my) {
    my.emplace("mysql", opt.mysql_url, dir, Die);
    setenv("MYSQL_PWD", my->password().c_str(), 1);  // for mysql, off the argv
  }

  auto start = std::chrono::steady_clock::now();
  Bench bench(opt, dir, pg ? &*pg : nullptr, my ? &*my : nullptr);
  bench.Generate();
  for (int64_t n : opt.changes) bench.MeasureChanges(n);
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  Measure version = Run({opt.tether, "--version"}, dir);
  std::printf("machine: %ld CPUs (nproc), %s, %s RAM; load average %s at the start\n",
              sysconf(_SC_NPROCESSORS_ONLN), bench::CpuModel().c_str(), bench::MemTotal().c_str(),
              load.c_str());
  if (pg) {
    std::printf("PostgreSQL %s at %s:%s%s\n", pg->Version().c_str(), pg->host().c_str(),
                pg->port().c_str(), g_run.servers_started ? " (throwaway: fsync off)" : "");
  }
  if (my) {
    std::printf("MariaDB %s at %s:%s%s\n", my->Version().c_str(), my->host().c_str(),
                my->port().c_str(),
                g_run.servers_started ? " (throwaway: innodb_flush_log_at_trx_commit=2)" : "");
  }
  std::printf("tether: %s (%s)\n", opt.tether.c_str(), FirstLine(Trim(version.out)).c_str());
  if (Wants(opt.only, "resync")) {
    Measure pt = Run({"pt-table-sync", "--version"}, dir);
    std::printf("peer: %s\n", FirstLine(Trim(pt.out)).c_str());
  }
  if (Wants(opt.only, "sqlite")) {
    Measure sq = Run({"sqlite3", "--version"}, dir);
    std::printf("peer: sqldiff and sqlite3 %s\n", FirstLine(Trim(sq.out)).substr(0, 7).c_str());
  }
  std::printf(
      "rows: %s (product table, key id); keys: identity; delete: propagate; runs per line: %d "
      "(median shown); whole bench: %.0f s\n"
      "changes, on the target: 80%% updates of one field (qty, price, name, updated_at in turn), "
      "10%% deletes, 10%% rows the source does not have; one per 1/N of the key range\n"
      "targets (shown, not asserted): a no-difference diff under %.0f s; a %s-change resync at "
      "least %.0f× faster than the peer, ending equal\n",
      Thousands(opt.rows).c_str(), opt.repeat, total, kDiffTargetSeconds,
      Thousands(kTargetChanges).c_str(), kResyncTargetRatio);
  if (!bench.diffs().empty()) {
    std::printf("\n");
    PrintDiffs(bench.diffs());
  }
  if (!bench.resyncs().empty()) {
    std::printf("\n");
    PrintResyncs(bench.resyncs());
  }
  std::printf("\n");
  const bool failed = PrintProblems(bench.diffs(), bench.resyncs());

  if (opt.keep) {
    if (g_run.servers_started) {
      std::printf("servers left running: source %s/env; stop with %s stop %s\n",
                  g_run.servers().c_str(), opt.script.c_str(), g_run.servers().c_str());
    }
    std::printf("bench databases %s and %s left in place; files in %s\n", kSourceDb, kTargetDb,
                dir.c_str());
  } else if (!g_run.servers_started) {
    for (DbServer* s : {pg ? &*pg : nullptr, my ? &*my : nullptr}) {
      if (!s) continue;
      s->DropDatabase(kSourceDb);
      s->DropDatabase(kTargetDb);
    }
  }
  g_run.Cleanup();
  return failed ? 1 : 0;
}
