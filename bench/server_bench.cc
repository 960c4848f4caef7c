// server_bench: wall time, CPU and peak memory of the real `tether sync` binary making a full copy
// of a product table of N rows between database servers — PostgreSQL → PostgreSQL and MariaDB →
// MariaDB side by side with the plain tools (psql \copy | psql, mysqldump | mysql) measured in the
// same run, plus the two cross-engine copies (tether only). Every copy is checked: the target
// must hold the source's rows, by count and checksum. Prints figures; asserts no timing.
// Starts its own throwaway servers (scripts/test-servers.sh) unless given URLs; see
// bench/README.md for how to run it and read the table.
#include <fmt/format.h>
#include <signal.h>
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
using bench::FirstLine;
using bench::Mb;
using bench::Measure;
using bench::MemTotal;
using bench::Rate;
using bench::Thousands;
using bench::Trim;
using bench::Wants;

namespace fs = std::filesystem;

constexpr char kSourceDb[] = "tether_bench_src";
constexpr char kTargetDb[] = "tether_bench_dst";
constexpr char kColumns[] = "id, sku, name, price, qty, in_stock, updated_at, description";
constexpr double kTimeTarget = 1.25;  // tether / plain tools
constexpr double kRssTargetMb = 256;  // tether's peak RSS

// The same table on both engines: a key, a unique natural key, and the usual product columns.
constexpr char kPgTable[] = R"sql(
CREATE TABLE product (
  id bigint PRIMARY KEY,
  sku varchar(32) NOT NULL,
  name varchar(100) NOT NULL,
  price numeric(12,2),
  qty integer,
  in_stock boolean,
  updated_at timestamp,
  description varchar(255)
);
CREATE UNIQUE INDEX product_sku ON product (sku);
)sql";

constexpr char kMyTable[] = R"sql(
CREATE TABLE product (
  id BIGINT PRIMARY KEY,
  sku VARCHAR(32) NOT NULL,
  name VARCHAR(100) NOT NULL,
  price DECIMAL(12,2),
  qty INT,
  in_stock BOOLEAN,
  updated_at DATETIME,
  description VARCHAR(255),
  UNIQUE KEY product_sku (sku)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
)sql";

// ~100 characters of shop words, cut at a row-dependent offset; every 50th row has none.
constexpr char kWords[] =
    "soft cotton blend shirt with classic collar and long sleeves machine washable fits true to "
    "size organic dye ";

// Deterministic rows, the same on both engines (every 10th name has a non-ASCII character).
std::string PgGenerate(int64_t rows) {
  return fmt::format(
      "INSERT INTO product SELECT i, 'SKU-' || lpad(i::text, 8, '0'), "
      "'Product ' || i || CASE WHEN i % 10 = 0 THEN ' café' ELSE '' END, "
      "((i * 7919) % 1000000) / 100.0, (i * 31) % 1000, i % 5 <> 0, "
      "timestamp '2024-01-01 00:00:00' + ((i * 104729) % 31536000) * interval '1 second', "
      "CASE WHEN i % 50 = 0 THEN NULL ELSE substr(repeat('{}', 3), 1 + ((i * 37) % 100)::int, "
      "100) END FROM generate_series(1::bigint, {}) AS i",
      kWords, rows);
}

std::string MyGenerate(int64_t rows) {
  return fmt::format(
      "INSERT INTO product SELECT seq, CONCAT('SKU-', LPAD(seq, 8, '0')), "
      "CONCAT('Product ', seq, IF(seq % 10 = 0, ' café', '')), "
      "((seq * 7919) % 1000000) / 100, (seq * 31) % 1000, seq % 5 <> 0, "
      "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL ((seq * 104729) % 31536000) SECOND, "
      "IF(seq % 50 = 0, NULL, SUBSTRING(REPEAT('{}', 3), 1 + ((seq * 37) % 100), 100)) "
      "FROM seq_1_to_{}",
      kWords, rows);
}

// count, sum(id), sum(price), sum(qty), and the sum of a 32-bit hash of each whole row rendered as
// text the same way on both engines — so a cross-engine copy is compared too.
constexpr char kPgChecksum[] =
    "SELECT count(*), coalesce(sum(id), 0), coalesce(sum(price), 0), coalesce(sum(qty), 0), "
    "coalesce(sum(('x' || substr(md5(concat_ws('|', id, sku, name, price, qty, "
    "CASE WHEN in_stock THEN 1 ELSE 0 END, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS'), "
    "description)), 1, 8))::bit(32)::bigint), 0) FROM product";
constexpr char kMyChecksum[] =
    "SELECT COUNT(*), COALESCE(SUM(id), 0), COALESCE(SUM(price), 0), COALESCE(SUM(qty), 0), "
    "COALESCE(SUM(CAST(CONV(SUBSTR(MD5(CONCAT_WS('|', id, sku, name, price, qty, "
    "CASE WHEN in_stock THEN 1 ELSE 0 END, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s'), "
    "description)), 1, 8), 16, 10) AS UNSIGNED)), 0) FROM product";

// Besides these: --tether, --pg-url, --mysql-url, --dir, --servers-script (bench::ServerFlags).
struct Options : bench::ServerFlags {
  int64_t rows = 1000000;
  std::vector<std::string> only = {"pg", "mysql", "cross"};
  size_t batch_size = 0;
  int repeat = 3;
  bool keep = false;
};

// What the exit paths clean up: our servers are stopped and the folder removed (unless --keep).
bench::RunFolder g_run;
bool g_keep = false;

void Cleanup() {
  if (!g_keep) g_run.Cleanup("server_bench");
}

void OnSignal(int sig) {
  if (!g_keep && !g_run.cleanup_cmd.empty()) bench::ShellFromSignalHandler(g_run.cleanup_cmd);
  _exit(128 + sig);
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "server_bench: %s\n", what.c_str());
  Cleanup();
  std::exit(1);
}

// Runs argv[0] with its arguments, in `cwd`, and measures it the same way for every program:
// wall time around fork..wait4, and the child's own rusage (peak RSS, CPU time). For a shell
// pipeline the rusage covers the shell and every process of the pipeline it waited for: CPU is
// their sum, peak RSS the largest of them.
Measure Run(const std::vector<std::string>& argv, const fs::path& cwd) {
  Measure m = bench::RunChild(argv, cwd);
  if (m.exit_code == -1) Die(m.err);
  return m;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// One database server, reached through its own command-line client (psql / mysql): the bench
// creates the databases, generates the rows and computes the checksums with it.
class Server {
 public:
  Server(std::string engine, const std::string& url, fs::path dir)
      : engine_(std::move(engine)), dir_(std::move(dir)) {
    // scheme://[user[:password]@]host[:port][/db][?query]
    size_t scheme_end = url.find("://");
    if (scheme_end == std::string::npos) Die("not a server URL: " + url);
    size_t path = url.find('/', scheme_end + 3);
    size_t query = url.find('?', scheme_end + 3);
    size_t authority_end = std::min(path, query);
    base_ = url.substr(0, authority_end);
    if (query != std::string::npos) query_ = url.substr(query);
    if (path != std::string::npos && path < query) {
      admin_db_ =
          url.substr(path + 1, query == std::string::npos ? std::string::npos : query - path - 1);
    }
    if (admin_db_.empty() && engine_ == "pg") admin_db_ = "postgres";
    std::string authority = url.substr(scheme_end + 3, authority_end - scheme_end - 3);
    size_t at = authority.rfind('@');
    std::string host_port = authority;
    if (at != std::string::npos) {
      std::string userinfo = authority.substr(0, at);
      host_port = authority.substr(at + 1);
      size_t colon = userinfo.find(':');
      user_ = PercentDecode(userinfo.substr(0, colon));
      if (colon != std::string::npos) password_ = PercentDecode(userinfo.substr(colon + 1));
    }
    size_t colon = host_port.rfind(':');
    host_ = host_port.substr(0, colon);
    port_ = colon == std::string::npos ? (engine_ == "pg" ? "5432" : "3306")
                                       : host_port.substr(colon + 1);
    if (host_.empty()) host_ = "127.0.0.1";
  }

  const std::string& engine() const { return engine_; }
  std::string Name() const { return engine_ == "pg" ? "PostgreSQL" : "MariaDB"; }
  std::string Url(const std::string& db) const { return base_ + "/" + db + query_; }
  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }

  // Runs the statements (each on its own for psql, which cannot CREATE DATABASE inside a
  // multi-statement string), returning stdout; an empty db means the administrator's database.
  std::optional<std::string> TrySql(const std::string& db, const std::vector<std::string>& sqls,
                                    std::string* error = nullptr) const {
    std::vector<std::string> argv;
    if (engine_ == "pg") {
      argv = {"psql", Url(db.empty() ? admin_db_ : db), "-XAtq", "-v", "ON_ERROR_STOP=1"};
      for (const std::string& sql : sqls) {
        argv.push_back("-c");
        argv.push_back(sql);
      }
    } else {
      argv = {"mysql",
              "--no-defaults",
              "--default-character-set=utf8mb4",
              "-h",
              host_,
              "-P",
              port_,
              "-u",
              user_,
              "-NB"};
      if (!db.empty() || !admin_db_.empty()) {
        argv.push_back("-D");
        argv.push_back(db.empty() ? admin_db_ : db);
      }
      std::string all;
      for (const std::string& sql : sqls) all += sql + ";\n";
      argv.push_back("-e");
      argv.push_back(all);
    }
    Measure m = Run(argv, dir_);
    if (m.exit_code != 0) {
      if (error) *error = Trim(m.err);
      return std::nullopt;
    }
    return m.out;
  }

  std::string Sql(const std::string& db, const std::vector<std::string>& sqls) const {
    std::string error;
    std::optional<std::string> out = TrySql(db, sqls, &error);
    if (!out) Die(fmt::format("{} ({}): {}\n  in: {}", Name(), db, error, sqls.front()));
    return *out;
  }

  // A fresh, empty database (dropped first when it exists), with the empty product table unless
  // `with_table` is false.
  void FreshDatabase(const std::string& db, bool with_table) const {
    if (engine_ == "pg") {
      Sql("", {"DROP DATABASE IF EXISTS " + db + " WITH (FORCE)", "CREATE DATABASE " + db});
      if (with_table) Sql(db, {kPgTable});
    } else {
      Sql("", {"DROP DATABASE IF EXISTS " + db,
               "CREATE DATABASE " + db + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"});
      if (with_table) Sql(db, {kMyTable});
    }
  }

  void DropDatabase(const std::string& db) const {
    if (engine_ == "pg") {
      TrySql("", {"DROP DATABASE IF EXISTS " + db + " WITH (FORCE)"});
    } else {
      TrySql("", {"DROP DATABASE IF EXISTS " + db});
    }
  }

  // Rows written into the server's pages before the measurements: the copies read warm data.
  void Generate(int64_t rows) const {
    FreshDatabase(kSourceDb, true);
    if (engine_ == "pg") {
      Sql(kSourceDb, {PgGenerate(rows), "VACUUM (FREEZE, ANALYZE) product"});
    } else {
      Sql(kSourceDb, {MyGenerate(rows), "ANALYZE TABLE product"});
    }
  }

  // Before a measurement: PostgreSQL writes out what earlier steps left dirty.
  void Settle() const {
    if (engine_ == "pg") TrySql("", {"CHECKPOINT"});
  }

  // count, sums and row hash of the product table; nullopt when it cannot be read.
  std::optional<std::vector<std::string>> Checksum(const std::string& db) const {
    std::optional<std::string> out = TrySql(db, {engine_ == "pg" ? kPgChecksum : kMyChecksum});
    if (!out) return std::nullopt;
    std::vector<std::string> fields;
    std::string field;
    for (char c : Trim(*out)) {
      if (c == '|' || c == '\t') {
        fields.push_back(field);
        field.clear();
      } else {
        field += c;
      }
    }
    fields.push_back(field);
    if (fields.size() != 5) return std::nullopt;
    return fields;
  }

  std::string Version() const {
    std::optional<std::string> out =
        TrySql("", {engine_ == "pg" ? "SHOW server_version" : "SELECT VERSION()"});
    return out ? Trim(*out) : "?";
  }

 private:
  std::string engine_;  // pg | mysql
  fs::path dir_;
  std::string base_;   // scheme://userinfo@host:port
  std::string query_;  // ?... or empty
  std::string admin_db_;
  std::string user_, password_, host_, port_;
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
  Options opt = ParseArgs(argc, argv);
  g_keep = opt.keep;
  if (std::string error = g_run.Create(opt.dir, "tether-server-bench-"); !error.empty()) Die(error);
  const fs::path dir = g_run.dir;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, OnSignal);

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
    s->Generate(opt.rows);
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
  Cleanup();
  return failed ? 1 : 0;
}
