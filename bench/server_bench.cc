// server_bench: wall time, CPU and peak memory of the real `tether sync` binary making a full copy
// of a product table of N rows between database servers — PostgreSQL → PostgreSQL and MariaDB →
// MariaDB side by side with the plain tools (psql \copy | psql, mysqldump | mysql) measured in the
// same run, plus the two cross-engine copies (tether only). Every copy is checked: the target
// must hold the source's rows, by count and checksum. Prints figures; asserts no timing.
// Starts its own throwaway servers (scripts/test-servers.sh) unless given URLs; see
// bench/README.md for how to run it and read the table.
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"

namespace {

using bench::CpuModel;
using bench::Die;
using bench::FirstLine;
using bench::g_run;
using bench::Mb;
using bench::Measure;
using bench::MemTotal;
using bench::Rate;
using bench::Run;
using bench::Thousands;
using bench::Trim;
using bench::Wants;

namespace fs = std::filesystem;

constexpr char kSourceDb[] = "tether_bench_src";
constexpr char kTargetDb[] = "tether_bench_dst";
constexpr char kColumns[] = "id, sku, name, price, qty, in_stock, updated_at, description";
constexpr double kTimeTarget = 1.25;  // tether / plain tools
constexpr double kRssTargetMb = 256;  // tether's peak RSS

// Besides these: --tether, --pg-url, --mysql-url, --dir, --servers-script (bench::ServerFlags).
struct Options : bench::ServerFlags {
  int64_t rows = 1000000;
  std::vector<std::string> only = {"pg", "mysql", "cross"};
  size_t batch_size = 0;
  int repeat = 3;
  bool keep = false;
};

// One database server, reached through its own command-line client (psql / mysql).
class Server : public bench::DbServer {
 public:
  Server(std::string engine, const std::string& url, fs::path dir)
      : DbServer(std::move(engine), url, std::move(dir), Die) {}
};

std::string Config(const Server& src, const Server& dst, size_t batch_size) {
  return bench::ProductConfig(fmt::format("\"{}\"", src.Url(kSourceDb)),
                              fmt::format("\"{}\"", dst.Url(kTargetDb)), "identity", batch_size);
}

struct Line {
  std::string path;     // "PostgreSQL → PostgreSQL"
  std::string program;  // "tether" or the plain tools
  bool tether = false;
  Measure m;
  std::string failure;      // why the run failed; empty when it ran
  std::string rows;         // target rows after the copy
  std::string check;        // equal | DIFFERENT | -
  std::string checksums;    // both sides' figures when they differ
  double peer_seconds = 0;  // on a tether line: the plain tools' time of the same path
  std::string runs;         // every run's wall seconds, when repeated
};

// The run of median wall time, with every run's time in `runs`; a failed or unequal run wins,
// so that no failure hides behind the median.
Line Median(std::vector<Line> lines) {
  for (const Line& l : lines) {
    if (!l.failure.empty() || l.check != "equal") return l;
  }
  std::string runs;
  for (const Line& l : lines)
    runs += (runs.empty() ? "" : " ") + fmt::format("{:.2f}", l.m.seconds);
  std::sort(lines.begin(), lines.end(),
            [](const Line& a, const Line& b) { return a.m.seconds < b.m.seconds; });
  Line mid = lines[lines.size() / 2];
  mid.runs = runs;
  return mid;
}

class Bench {
 public:
  Bench(const Options& opt, fs::path dir) : opt_(opt), dir_(std::move(dir)) {}

  void Add(const Server& src, const Server& dst, bool with_peer) {
    const std::string path = src.Name() + " → " + dst.Name();
    std::optional<std::vector<std::string>> want = src.Checksum(kSourceDb);
    if (!want) Die("cannot read the source checksum on " + src.Name());
    if (want->at(0) != std::to_string(opt_.rows)) {
      Die(fmt::format("{} source holds {} rows, expected {}", src.Name(), want->at(0), opt_.rows));
    }
    // Taking turns, so that a noisy moment of the machine does not fall on one side only.
    std::vector<Line> peers, tethers;
    for (int run = 0; run < opt_.repeat; ++run) {
      if (with_peer) {
        peers.push_back(RunPeer(src, dst, path));
        Verify(peers.back(), dst, *want);
      }
      tethers.push_back(RunTether(src, dst, path));
      Verify(tethers.back(), dst, *want);
    }
    Line t = Median(std::move(tethers));
    if (with_peer) {
      Line peer = Median(std::move(peers));
      if (peer.failure.empty()) t.peer_seconds = peer.m.seconds;
      lines_.push_back(t);
      lines_.push_back(peer);
    } else {
      lines_.push_back(t);
    }
  }

  const std::vector<Line>& lines() const { return lines_; }

 private:
  Line RunPeer(const Server& src, const Server& dst, const std::string& path) {
    Line l;
    l.path = path;
    dst.FreshDatabase(kTargetDb, true);
    src.Settle();
    std::vector<std::string> argv;
    if (src.engine() == "pg") {
      l.program = "psql \\copy | psql";
      argv = {"bash",
              "-c",
              fmt::format("set -o pipefail; psql \"$1\" -XAq -v ON_ERROR_STOP=1 -c '\\copy "
                          "(SELECT {} FROM product) to stdout' | psql \"$2\" -Xq -v "
                          "ON_ERROR_STOP=1 -c '\\copy product from stdin'",
                          kColumns),
              "peer",
              src.Url(kSourceDb),
              dst.Url(kTargetDb)};
    } else {
      l.program = "mysqldump | mysql";
      argv = {"bash",
              "-c",
              "set -o pipefail; mysqldump --no-defaults -h \"$1\" -P \"$2\" -u \"$3\" "
              "--no-create-info \"$4\" product | mysql --no-defaults -h \"$1\" -P \"$2\" -u "
              "\"$3\" \"$5\"",
              "peer",
              src.host(),
              src.port(),
              src.user(),
              kSourceDb,
              kTargetDb};
    }
    std::fprintf(stderr, "  %s: %s...\n", path.c_str(), l.program.c_str());
    l.m = Run(argv, dir_);
    if (l.m.exit_code != 0) {
      l.failure = fmt::format("exited {}: {}", l.m.exit_code, FirstLine(Trim(l.m.err)));
    }
    return l;
  }

  Line RunTether(const Server& src, const Server& dst, const std::string& path) {
    Line l;
    l.path = path;
    l.program = "tether";
    l.tether = true;
    dst.FreshDatabase(kTargetDb, true);
    src.Settle();
    dst.Settle();
    std::ofstream(dir_ / "bench.yaml") << Config(src, dst, opt_.batch_size);
    std::fprintf(stderr, "  %s: tether sync...\n", path.c_str());
    l.m = Run({opt_.tether, "-c", "bench.yaml", "sync", "--format", "json"}, dir_);
    if (l.m.exit_code != 0) {
      l.failure = fmt::format("exited {}: {}", l.m.exit_code, Trim(l.m.err));
      return l;
    }
    // tether must also say it did the copy: every row inserted.
    nlohmann::json j = nlohmann::json::parse(l.m.out, nullptr, false);
    int64_t inserted = -1;
    if (j.is_object() && j.contains("total") && j["total"].is_object()) {
      inserted = j["total"].value("inserted", int64_t{-1});
    }
    if (inserted != opt_.rows) {
      l.failure = fmt::format("reports {} rows inserted, expected {}: {}", inserted, opt_.rows,
                              Trim(l.m.out));
    }
    return l;
  }

  // The target must hold the source's rows: same count, sums and row hashes.
  void Verify(Line& l, const Server& dst, const std::vector<std::string>& want) {
    std::optional<std::vector<std::string>> got = dst.Checksum(kTargetDb);
    if (!got) {
      l.rows = "?";
      l.check = "DIFFERENT";
      if (l.failure.empty()) l.failure = "the target table cannot be read";
      return;
    }
    l.rows = got->at(0);
    if (l.rows.find_first_not_of("0123456789") == std::string::npos && !l.rows.empty()) {
      l.rows = Thousands(std::stoll(l.rows));
    }
    l.check = *got == want ? "equal" : "DIFFERENT";
    if (*got != want) {
      std::string a, b;
      for (const std::string& s : want) a += (a.empty() ? "" : " ") + s;
      for (const std::string& s : *got) b += (b.empty() ? "" : " ") + s;
      l.checksums = fmt::format("source {} / target {}", a, b);
    }
  }

  const Options& opt_;
  fs::path dir_;
  std::vector<Line> lines_;
};

void PrintTable(const std::vector<Line>& lines, int64_t rows) {
  std::vector<std::vector<std::string>> cells = {
      {"copy", "program", "wall s", "rows/s", "CPU s", "RSS MB", "× peer",
       fmt::format("≤{:.2f}×", kTimeTarget), fmt::format("RSS<{:.0f}", kRssTargetMb), "target rows",
       "checksum", "all runs s"}};
  for (const Line& l : lines) {
    std::vector<std::string> row = {l.path, l.program};
    if (!l.failure.empty()) {
      row.insert(row.end(), {"FAILED", "-", "-", "-", "-", "-", "-"});
    } else {
      double rss_mb = static_cast<double>(l.m.max_rss_kb) / 1024.0;
      bool has_peer = l.tether && l.peer_seconds > 0;
      double ratio = has_peer ? l.m.seconds / l.peer_seconds : 0;
      row.insert(row.end(), {fmt::format("{:.2f}", l.m.seconds), Rate(rows, l.m.seconds),
                             fmt::format("{:.2f}", l.m.cpu_seconds), Mb(l.m.max_rss_kb),
                             has_peer ? fmt::format("{:.2f}", ratio) : "-",
                             has_peer ? (ratio <= kTimeTarget ? "met" : "MISSED") : "-",
                             l.tether ? (rss_mb < kRssTargetMb ? "met" : "MISSED") : "-"});
    }
    row.push_back(l.rows.empty() ? "-" : l.rows);
    row.push_back(l.check.empty() ? "-" : l.check);
    row.push_back(l.runs.empty() ? "-" : l.runs);
    cells.push_back(row);
  }
  bench::PrintTable(cells, {2, 6, 9, 11}, {0, 1, 10, 11});
}

int64_t ParseRows(const std::string& text) {
  int64_t n = bench::ParseCount(text);
  if (n == 0) Die("--rows: not a row count: " + text);
  return n;
}

void Usage() {
  std::printf(
      "usage: server_bench [--rows N] [--only pg,mysql,cross] [--tether PATH] [--batch-size N]\n"
      "                    [--repeat N] [--pg-url URL] [--mysql-url URL] [--keep] [--dir DIR]\n"
      "                    [--servers-script PATH]\n"
      "  --rows            rows in the product table (k and M suffixes; default 1M)\n"
      "  --only            copies to measure: pg (PostgreSQL → PostgreSQL), mysql (MariaDB →\n"
      "                    MariaDB), cross (both directions between them); default all three\n"
      "  --tether          the tether binary (default $TETHER_BINARY, else ./tether beside this\n"
      "                    program)\n"
      "  --batch-size      rows per batch (default: the pipeline default)\n"
      "  --repeat          copies per program and path, taking turns; the table shows the run\n"
      "                    of median time and lists all (default 3)\n"
      "  --pg-url          an administrator URL of a PostgreSQL server to use (default\n"
      "                    $TETHER_TEST_PG_URL, else a throwaway server started for the run)\n"
      "  --mysql-url       the same for MySQL/MariaDB ($TETHER_TEST_MYSQL_URL)\n"
      "  --keep            leave the servers (and the bench databases) as they are at the end\n"
      "  --dir             where to put the temporary folder (default: the system temp dir)\n"
      "  --servers-script  scripts/test-servers.sh (default: found from the source tree)\n");
}

Options ParseArgs(int argc, char** argv) {
  Options opt;
  bench::ParseFlags(argc, argv, Usage, Die, [&](const std::string& a, auto& value) {
    if (opt.ParseServerFlag(a, value)) return true;
    if (a == "--rows") {
      opt.rows = ParseRows(value());
    } else if (a == "--only") {
      opt.only = bench::ParseOnly(value(), {"pg", "mysql", "cross"});
      if (opt.only.empty()) Die("--only: pg, mysql or cross");
    } else if (a == "--batch-size") {
      opt.batch_size = static_cast<size_t>(std::strtoull(value().c_str(), nullptr, 10));
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
  if (std::string error = opt.FindPrograms(argv[0]); !error.empty()) Die(error);
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  g_run.program = "server_bench";
  Options opt = ParseArgs(argc, argv);
  g_run.keep = opt.keep;
  if (std::string error = g_run.Create(opt.dir, "tether-server-bench-"); !error.empty()) Die(error);
  const fs::path dir = g_run.dir;

  const bool need_pg = Wants(opt.only, "pg") || Wants(opt.only, "cross");
  const bool need_my = Wants(opt.only, "mysql") || Wants(opt.only, "cross");
  const fs::path servers = g_run.servers();
  if (std::string error = g_run.StartServersIfNeeded(opt.script, need_pg ? &opt.pg_url : nullptr,
                                                     need_my ? &opt.mysql_url : nullptr);
      !error.empty()) {
    Die(error);
  }

  std::optional<Server> pg, my;
  if (need_pg) pg.emplace("pg", opt.pg_url, dir);
  if (need_my) {
    my.emplace("mysql", opt.mysql_url, dir);
    setenv("MYSQL_PWD", my->password().c_str(), 1);  // for mysql and mysqldump, off the argv
  }

  // The source rows, generated inside each server.
  for (Server* s : {pg ? &*pg : nullptr, my ? &*my : nullptr}) {
    if (!s) continue;
    auto t0 = std::chrono::steady_clock::now();
    s->Generate(kSourceDb, opt.rows);
    std::fprintf(stderr, "  %s: %s source rows generated in %.1f s\n", s->Name().c_str(),
                 Thousands(opt.rows).c_str(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  bool sources_differ = false;
  if (pg && my && pg->Checksum(kSourceDb) != my->Checksum(kSourceDb)) sources_differ = true;

  Bench bench(opt, dir);
  if (Wants(opt.only, "pg")) bench.Add(*pg, *pg, true);
  if (Wants(opt.only, "mysql")) bench.Add(*my, *my, true);
  if (Wants(opt.only, "cross")) {
    bench.Add(*pg, *my, false);
    bench.Add(*my, *pg, false);
  }

  Measure version = Run({opt.tether, "--version"}, dir);
  Measure psql_version = Run({"psql", "--version"}, dir);
  Measure dump_version = Run({"mysqldump", "--version"}, dir);
  std::printf("machine: %ld CPUs (nproc), %s, %s RAM\n", sysconf(_SC_NPROCESSORS_ONLN),
              CpuModel().c_str(), MemTotal().c_str());
  if (pg) {
    std::printf("PostgreSQL %s at %s:%s%s\n", pg->Version().c_str(), pg->host().c_str(),
                pg->port().c_str(), g_run.servers_started ? " (throwaway: fsync off)" : "");
  }
  if (my) {
    std::printf("MariaDB %s at %s:%s%s\n", my->Version().c_str(), my->host().c_str(),
                my->port().c_str(),
                g_run.servers_started ? " (throwaway: innodb_flush_log_at_trx_commit=2)" : "");
  }
  std::printf("tether: %s (%s)\nplain tools: %s; %s\n", opt.tether.c_str(),
              FirstLine(Trim(version.out)).c_str(), FirstLine(Trim(psql_version.out)).c_str(),
              FirstLine(Trim(dump_version.out)).c_str());
  std::printf(
      "rows: %s; batch size: %s; keys: identity; runs per line: %d (median shown); targets: "
      "tether ≤ %.2f× the plain tools' time, tether peak RSS < %.0f MB (shown, not asserted)\n\n",
      Thousands(opt.rows).c_str(),
      opt.batch_size ? std::to_string(opt.batch_size).c_str() : "pipeline default", opt.repeat,
      kTimeTarget, kRssTargetMb);
  PrintTable(bench.lines(), opt.rows);

  bool failed = false;
  for (const Line& l : bench.lines()) {
    if (!l.failure.empty()) {
      std::printf("\n%s, %s: FAILED: %s\n", l.path.c_str(), l.program.c_str(), l.failure.c_str());
    }
    if (!l.checksums.empty()) {
      std::printf("\n%s, %s: DIFFERENT: %s\n", l.path.c_str(), l.program.c_str(),
                  l.checksums.c_str());
    }
    failed = failed || !l.failure.empty() || l.check != "equal";
  }
  if (sources_differ) {
    std::printf("\nnote: the PostgreSQL and MariaDB sources do not have the same checksum\n");
  }

  if (opt.keep) {
    if (g_run.servers_started) {
      std::printf("\nservers left running: source %s/env; stop with %s stop %s\n", servers.c_str(),
                  opt.script.c_str(), servers.c_str());
    } else {
      std::printf("\nbench databases %s and %s left in place; files in %s\n", kSourceDb, kTargetDb,
                  dir.c_str());
    }
  } else if (!g_run.servers_started) {
    for (Server* s : {pg ? &*pg : nullptr, my ? &*my : nullptr}) {
      if (!s) continue;
      s->DropDatabase(kSourceDb);
      s->DropDatabase(kTargetDb);
    }
  }
  g_run.Cleanup();
  return failed ? 1 : 0;
}
