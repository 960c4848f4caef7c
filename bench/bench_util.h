// What the benchmarks share: running a program as a child and measuring it the same way for
// tether and for its peers (wall time around fork..wait4, the child's rusage), the command line
// (flags, the tether binary), the throwaway servers of scripts/test-servers.sh and the run folder
// every way out cleans up (Die), the product table generated inside PostgreSQL and MariaDB and a
// client for them (psql / mysql), and the number formatting and tables of the output.
// Header-only: every bench/*.cc is its own executable. Single-threaded, like the benchmarks.
#pragma once

#include <fmt/format.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

struct Measure {
  double seconds = 0;
  double cpu_seconds = 0;  // user + system, the process and the children it waited for
  long max_rss_kb = 0;     // the largest of them
  int exit_code = -1;      // -1: the child could not be started or waited for (see err)
  std::string out, err;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts argv[0] with its arguments in `cwd`, stdin from /dev/null, stdout and stderr into the
// files `out` and `err`; returns its pid, or -1 when it could not fork. Flush stdio first.
inline pid_t StartChild(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                        const std::string& out, const std::string& err) {
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(126);
    if (!freopen(out.c_str(), "w", stdout) || !freopen(err.c_str(), "w", stderr)) _exit(126);
    if (!freopen("/dev/null", "r", stdin)) _exit(126);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid < 0 ? -1 : pid;
}

// A waited-for child's exit code; 128 + the signal when one killed it.
inline int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// User + system CPU seconds of a rusage.
inline double CpuSeconds(const struct rusage& ru) {
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Runs argv[0] with its arguments in `cwd`, stdout/stderr captured through files there. For a
// shell pipeline the rusage covers the shell and every process it waited for: CPU is their sum,
// peak RSS the largest of them.
inline Measure RunChild(const std::vector<std::string>& argv, const std::filesystem::path& cwd) {
  const std::string out = (cwd / "child.out").string();
  const std::string err = (cwd / "child.err").string();
  Measure m;
  std::fflush(nullptr);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = StartChild(argv, cwd, out, err);
  if (pid < 0) {
    m.err = "fork failed";
    return m;
  }
  int status = 0;
  struct rusage ru {};
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      m.err = "wait4 failed";
      return m;
    }
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.cpu_seconds = CpuSeconds(ru);
  m.max_rss_kb = ru.ru_maxrss;  // kilobytes on Linux
  m.exit_code = ExitCode(status);
  m.out = Slurp(out);
  m.err = Slurp(err);
  return m;
}

// "250", "100k", "1M" -> the count; 0 when the text is not a positive count.
inline int64_t ParseCount(std::string text) {
  int64_t mult = 1;
  if (!text.empty() && (text.back() == 'k' || text.back() == 'K')) mult = 1000;
  if (!text.empty() && (text.back() == 'm' || text.back() == 'M')) mult = 1000000;
  if (mult > 1) text.pop_back();
  char* end = nullptr;
  long long n = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || !end || *end || n <= 0) return 0;
  return n * mult;
}

inline std::string Thousands(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

inline std::string Rate(int64_t rows, double secs) {
  return secs > 0 ? Thousands(static_cast<int64_t>(static_cast<double>(rows) / secs)) : "-";
}

inline std::string Mb(long kb) { return fmt::format("{:.1f}", static_cast<double>(kb) / 1024.0); }

inline std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

inline std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

// Display width of UTF-8 text (the arrows and × are one column each).
inline size_t Display(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Columns separated by two spaces, or " | " before the columns in `bars`; the columns in `left`
// are left-aligned, the others right-aligned. cells[0] is the header.
inline void PrintTable(const std::vector<std::vector<std::string>>& cells,
                       const std::vector<size_t>& bars, const std::vector<size_t>& left) {
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], Display(row[i]));
  }
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      std::string pad(width[i] - Display(row[i]), ' ');
      if (i) line += std::find(bars.begin(), bars.end(), i) != bars.end() ? " | " : "  ";
      bool l = std::find(left.begin(), left.end(), i) != left.end();
      line += l ? row[i] + pad : pad + row[i];
    }
    std::printf("%s\n", Trim(line).c_str());
  }
}

// For the header line of the output.
inline std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "?";
}

inline std::string MemTotal() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:") return fmt::format("{:.1f} GB", static_cast<double>(kb) / 1048576.0);
    in.ignore(1 << 20, '\n');
  }
  return "?";
}

// ---- the command line ---------------------------------------------------------------------

// The environment variable `name`; empty when it is not set.
inline std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Reads the flags of argv in order. on_flag(flag, value) handles one and says whether it knew
// it; value() takes the argument after the flag (die(flag + " needs a value") when there is
// none: die must not return). -h and --help print usage() and exit; any other flag on_flag does
// not know prints usage() and dies.
template <typename OnFlag>
void ParseFlags(int argc, char** argv, void (*usage)(), void (*die)(const std::string&),
                OnFlag on_flag) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (on_flag(a, value)) continue;
    if (a == "-h" || a == "--help") {
      usage();
      std::exit(0);
    }
    usage();
    die("unknown argument " + a);
  }
}

// "pg,mysql" -> {"pg", "mysql"}; empty when a part is not one of `allowed`, or there is none.
inline std::vector<std::string> ParseOnly(const std::string& text,
                                          const std::vector<std::string>& allowed) {
  std::vector<std::string> only;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (std::find(allowed.begin(), allowed.end(), part) == allowed.end()) return {};
    only.push_back(part);
  }
  return only;
}

// Whether --only (`only`) names `what`.
inline bool Wants(const std::vector<std::string>& only, const std::string& what) {
  return std::find(only.begin(), only.end(), what) != only.end();
}

// This program's path: /proc/self/exe, else argv[0] made absolute.
inline std::filesystem::path SelfPath(const char* argv0) {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) self = std::filesystem::absolute(argv0);
  return self;
}

// The tether binary to measure, made absolute: `given` (--tether or $TETHER_BINARY), else
// ./tether beside this program. *error says why it cannot be run; empty when it can.
inline std::string FindTether(const std::string& given, const std::filesystem::path& self,
                              std::string* error) {
  std::string tether = given.empty() ? (self.parent_path() / "tether").string() : given;
  tether = std::filesystem::absolute(tether).string();
  error->clear();
  if (access(tether.c_str(), X_OK) != 0) {
    *error = "no tether binary at " + tether + " (pass --tether PATH or set TETHER_BINARY)";
  }
  return tether;
}

// scripts/test-servers.sh of the source tree (found from this file, from this program's build
// folder, or from the current folder); empty when none is there.
inline std::string FindServersScript(const std::filesystem::path& self) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const fs::path& candidate :
       {fs::path(__FILE__).parent_path().parent_path() / "scripts" / "test-servers.sh",
        self.parent_path().parent_path() / "scripts" / "test-servers.sh",
        fs::current_path() / "scripts" / "test-servers.sh"}) {
    if (candidate.is_absolute() && fs::exists(candidate, ec)) return candidate.string();
  }
  return "";
}

// A new folder `prefix`XXXXXX under `under` (default: the system temp dir); empty, with *error
// set, when it cannot be made.
inline std::filesystem::path MakeRunFolder(const std::string& under, const std::string& prefix,
                                           std::string* error) {
  std::filesystem::path base =
      under.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(under);
  std::string tmpl = (base / (prefix + "XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) {
    *error = "cannot create a folder under " + base.string();
    return {};
  }
  return tmpl;
}

// A tether.yaml copying the table product (key id) from connection src to dst with
// `keys: <keys>`, matched on sku when they are mapped; the URLs are YAML scalars (quoted by the
// caller), a batch size of 0 leaves the pipeline default and so does an empty delete policy.
inline std::string ProductConfig(const std::string& src_url, const std::string& dst_url,
                                 const std::string& keys, size_t batch_size,
                                 const std::string& delete_policy = "") {
  std::string yaml = fmt::format(R"(connections:
  src: {{ url: {} }}
  dst: {{ url: {} }}
entities:
  product:
    table: product
    key: id
    keys: {}
)",
                                 src_url, dst_url, keys);
  if (keys == "mapped") yaml += "    match: [sku]\n";
  if (!delete_policy.empty()) yaml += "    delete: " + delete_policy + "\n";
  yaml += "pipelines:\n  bench:\n    source: src\n    target: dst\n    entities: [product]\n";
  if (batch_size > 0) yaml += fmt::format("    batch_size: {}\n", batch_size);
  return yaml;
}

// ---- the product table on the servers (server_bench, compare_bench) ------------------------

// The same table on both engines: a key, a unique natural key, and the usual product columns.
inline constexpr char kPgProductTable[] = R"sql(
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

inline constexpr char kMyProductTable[] = R"sql(
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

inline constexpr char kSqliteProductTable[] = R"sql(
CREATE TABLE product (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  price DECIMAL(12,2),
  qty INTEGER,
  in_stock BOOLEAN,
  updated_at DATETIME,
  description TEXT
);
CREATE UNIQUE INDEX product_sku ON product (sku);
)sql";

// ~100 characters of shop words, cut at a row-dependent offset; every 50th row has none.
inline constexpr char kProductWords[] =
    "soft cotton blend shirt with classic collar and long sleeves machine washable fits true to "
    "size organic dye ";

// Deterministic rows with ids 1..last_id, the same on both engines (every 10th name has a
// non-ASCII character); `where` (on i / seq) leaves some ids out.
inline std::string PgGenerateProducts(int64_t last_id, const std::string& where = "") {
  return fmt::format(
      "INSERT INTO product SELECT i, 'SKU-' || lpad(i::text, 8, '0'), "
      "'Product ' || i || CASE WHEN i % 10 = 0 THEN ' café' ELSE '' END, "
      "((i * 7919) % 1000000) / 100.0, (i * 31) % 1000, i % 5 <> 0, "
      "timestamp '2024-01-01 00:00:00' + ((i * 104729) % 31536000) * interval '1 second', "
      "CASE WHEN i % 50 = 0 THEN NULL ELSE substr(repeat('{}', 3), 1 + ((i * 37) % 100)::int, "
      "100) END FROM generate_series(1::bigint, {}) AS i{}",
      kProductWords, last_id, where.empty() ? "" : " WHERE " + where);
}

// The same rows in SQLite (for kSqliteProductTable), by the same formulas.
inline std::string SqliteGenerateProducts(int64_t last_id, const std::string& where = "") {
  return fmt::format(
      "INSERT INTO product WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE "
      "i < {}) SELECT i, printf('SKU-%08d', i), "
      "'Product ' || i || CASE WHEN i % 10 = 0 THEN ' café' ELSE '' END, "
      "((i * 7919) % 1000000) / 100.0, (i * 31) % 1000, i % 5 <> 0, "
      "datetime('2024-01-01 00:00:00', '+' || ((i * 104729) % 31536000) || ' seconds'), "
      "CASE WHEN i % 50 = 0 THEN NULL ELSE substr('{}{}{}', 1 + ((i * 37) % 100), 100) END "
      "FROM s{}",
      last_id, kProductWords, kProductWords, kProductWords, where.empty() ? "" : " WHERE " + where);
}

inline std::string MyGenerateProducts(int64_t last_id, const std::string& where = "") {
  return fmt::format(
      "INSERT INTO product SELECT seq, CONCAT('SKU-', LPAD(seq, 8, '0')), "
      "CONCAT('Product ', seq, IF(seq % 10 = 0, ' café', '')), "
      "((seq * 7919) % 1000000) / 100, (seq * 31) % 1000, seq % 5 <> 0, "
      "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL ((seq * 104729) % 31536000) SECOND, "
      "IF(seq % 50 = 0, NULL, SUBSTRING(REPEAT('{}', 3), 1 + ((seq * 37) % 100), 100)) "
      "FROM seq_1_to_{}{}",
      kProductWords, last_id, where.empty() ? "" : " WHERE " + where);
}

// count, sum(id), sum(price), sum(qty), and the sum of a 32-bit hash of each whole row rendered as
// text the same way on both engines — so a cross-engine copy is compared too.
inline constexpr char kPgProductChecksum[] =
    "SELECT count(*), coalesce(sum(id), 0), coalesce(sum(price), 0), coalesce(sum(qty), 0), "
    "coalesce(sum(('x' || substr(md5(concat_ws('|', id, sku, name, price, qty, "
    "CASE WHEN in_stock THEN 1 ELSE 0 END, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS'), "
    "description)), 1, 8))::bit(32)::bigint), 0) FROM product";
inline constexpr char kMyProductChecksum[] =
    "SELECT COUNT(*), COALESCE(SUM(id), 0), COALESCE(SUM(price), 0), COALESCE(SUM(qty), 0), "
    "COALESCE(SUM(CAST(CONV(SUBSTR(MD5(CONCAT_WS('|', id, sku, name, price, qty, "
    "CASE WHEN in_stock THEN 1 ELSE 0 END, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s'), "
    "description)), 1, 8), 16, 10) AS UNSIGNED)), 0) FROM product";

inline int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline std::string PercentDecode(const std::string& s) {
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

// One database server, reached through its own command-line client (psql / mysql): a benchmark
// creates its databases, generates rows and computes checksums with it. For mysql the password
// is not passed: the caller sets MYSQL_PWD. `die` reports a failure and must not return.
class DbServer {
 public:
  DbServer(std::string engine, const std::string& url, std::filesystem::path dir,
           void (*die)(const std::string&))
      : engine_(std::move(engine)), dir_(std::move(dir)), die_(die) {
    // scheme://[user[:password]@]host[:port][/db][?query]
    size_t scheme_end = url.find("://");
    if (scheme_end == std::string::npos) die_("not a server URL: " + url);
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
    Measure m = RunChild(argv, dir_);
    if (m.exit_code != 0) {
      if (error) *error = m.exit_code == -1 ? m.err : Trim(m.err);
      return std::nullopt;
    }
    return m.out;
  }

  std::string Sql(const std::string& db, const std::vector<std::string>& sqls) const {
    std::string error;
    std::optional<std::string> out = TrySql(db, sqls, &error);
    if (!out) die_(fmt::format("{} ({}): {}\n  in: {}", Name(), db, error, sqls.front()));
    return *out;
  }

  // A fresh, empty database (dropped first when it exists), with the empty product table unless
  // `with_table` is false.
  void FreshDatabase(const std::string& db, bool with_table) const {
    if (engine_ == "pg") {
      Sql("", {"DROP DATABASE IF EXISTS " + db + " WITH (FORCE)", "CREATE DATABASE " + db});
      if (with_table) Sql(db, {kPgProductTable});
    } else {
      Sql("", {"DROP DATABASE IF EXISTS " + db,
               "CREATE DATABASE " + db + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"});
      if (with_table) Sql(db, {kMyProductTable});
    }
  }

  void DropDatabase(const std::string& db) const {
    if (engine_ == "pg") {
      TrySql("", {"DROP DATABASE IF EXISTS " + db + " WITH (FORCE)"});
    } else {
      TrySql("", {"DROP DATABASE IF EXISTS " + db});
    }
  }

  // A fresh database `db` whose product table holds the rows of *GenerateProducts(last_id,
  // where), written into the server's pages (and analysed) before the measurements: the
  // programs read warm data.
  void Generate(const std::string& db, int64_t last_id, const std::string& where = "") const {
    FreshDatabase(db, true);
    if (engine_ == "pg") {
      Sql(db, {PgGenerateProducts(last_id, where), "VACUUM (FREEZE, ANALYZE) product"});
    } else {
      Sql(db, {MyGenerateProducts(last_id, where), "ANALYZE TABLE product"});
    }
  }

  // Before a measurement: PostgreSQL writes out what earlier steps left dirty.
  void Settle() const {
    if (engine_ == "pg") TrySql("", {"CHECKPOINT"});
  }

  // count, sums and row hash of the product table; nullopt when it cannot be read.
  std::optional<std::vector<std::string>> Checksum(const std::string& db) const {
    std::optional<std::string> out =
        TrySql(db, {engine_ == "pg" ? kPgProductChecksum : kMyProductChecksum});
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
  std::filesystem::path dir_;
  void (*die_)(const std::string&);
  std::string base_;   // scheme://userinfo@host:port
  std::string query_;  // ?... or empty
  std::string admin_db_;
  std::string user_, password_, host_, port_;
};

// ---- the throwaway servers (scripts/test-servers.sh) --------------------------------------

// KEY='value' from the servers' env file (export lines written by scripts/test-servers.sh).
inline std::string EnvValue(const std::filesystem::path& file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  const std::string prefix = "export " + key + "=";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::string v = line.substr(prefix.size());
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') v = v.substr(1, v.size() - 2);
    return v;
  }
  return "";
}

// Runs a prebuilt shell command and waits for it: no more than a signal handler may do (fork,
// exec, waitpid).
inline void ShellFromSignalHandler(const char* cmd) {
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid > 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

// A benchmark's run folder and the throwaway PostgreSQL and MariaDB that scripts/test-servers.sh
// may start in its "servers" subfolder: what every way out cleans up. The end of main
// (Cleanup), Die, and SIGINT, SIGTERM and SIGHUP kill `child`, stop the servers and remove the
// folder, unless `keep`. One per program, bench::g_run, since Die and the signal handler are
// plain functions. Main thread; the signal handler only kills, and runs a command built before
// it was published (ShellFromSignalHandler).
struct RunFolder {
  const char* program = "bench";  // names the benchmark in messages; set first thing in main
  bool keep = false;              // leave the servers and the folder; set before Create
  std::atomic<pid_t> child{0};    // a child to kill on every way out (changes_bench's watcher)
  std::filesystem::path dir;
  std::string script;  // scripts/test-servers.sh, once it started the servers
  bool servers_started = false;

  std::filesystem::path servers() const { return dir / "servers"; }

  // A new folder `prefix`XXXXXX under `under` (see MakeRunFolder), and the signal handlers that
  // clean it up; returns what went wrong.
  std::string Create(const std::string& under, const std::string& prefix) {
    std::string error;
    dir = MakeRunFolder(under, prefix, &error);
    if (dir.empty()) return error;
    // The servers may run as their own service users (as root): they must reach their folders.
    chmod(dir.c_str(), 0755);
    remove_cmd_ = fmt::format("rm -rf '{}'", dir.string());
    Publish(remove_cmd_);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, OnSignal);
    return "";
  }

  // When a URL asked for (non-null) is still empty: starts the servers with `script_path` and
  // takes those URLs from their env file. Returns what went wrong; empty when nothing did.
  std::string StartServersIfNeeded(const std::string& script_path, std::string* pg_url,
                                   std::string* mysql_url) {
    if (!(pg_url && pg_url->empty()) && !(mysql_url && mysql_url->empty())) return "";
    if (script_path.empty()) return "scripts/test-servers.sh not found (pass --servers-script)";
    script = script_path;
    stop_and_remove_cmd_ = StopCommand() + "; " + remove_cmd_;
    Publish(stop_and_remove_cmd_);
    servers_started = true;
    std::fprintf(stderr, "starting PostgreSQL and MariaDB (%s start)...\n", script.c_str());
    Measure start = RunChild({"bash", script, "start", servers().string()}, dir);
    if (start.exit_code == -1) return start.err;
    if (start.exit_code != 0) return "starting the servers failed:\n" + start.out + start.err;
    if (pg_url && pg_url->empty()) *pg_url = EnvValue(servers() / "env", "TETHER_TEST_PG_URL");
    if (mysql_url && mysql_url->empty()) {
      *mysql_url = EnvValue(servers() / "env", "TETHER_TEST_MYSQL_URL");
    }
    return "";
  }

  // Kills the child, and unless `keep` stops the servers it started and removes the folder.
  void Cleanup() {
    pid_t pid = child.exchange(0);
    if (pid > 0) {
      kill(pid, SIGKILL);
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (keep || dir.empty()) return;
    if (servers_started) {
      std::string cmd = StopCommand();
      if (std::system(cmd.c_str()) != 0) {
        std::fprintf(stderr, "%s: stopping the servers failed (%s)\n", program, cmd.c_str());
      }
      servers_started = false;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    dir.clear();
    signal_cmd_ = nullptr;
  }

  std::string StopCommand() const {
    return fmt::format("'{}' stop '{}' >/dev/null 2>&1", script, servers().string());
  }

 private:
  static void OnSignal(int sig);

  // Each command is written once, before the signal handler may read it through signal_cmd_.
  void Publish(const std::string& cmd) {
    if (!keep) signal_cmd_ = cmd.c_str();
  }

  std::string remove_cmd_, stop_and_remove_cmd_;
  std::atomic<const char*> signal_cmd_{nullptr};
  static_assert(std::atomic<const char*>::is_always_lock_free &&
                std::atomic<pid_t>::is_always_lock_free);  // so the signal handler may use them
};

inline RunFolder g_run;

inline void RunFolder::OnSignal(int sig) {
  pid_t pid = g_run.child.load();
  if (pid > 0) kill(pid, SIGKILL);
  if (const char* cmd = g_run.signal_cmd_.load()) ShellFromSignalHandler(cmd);
  _exit(128 + sig);
}

// Prints `what` after the program's name, cleans up (RunFolder::Cleanup) and exits 1.
[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", g_run.program, what.c_str());
  g_run.Cleanup();
  std::exit(1);
}

// RunChild, dying when the child cannot be started or waited for.
inline Measure Run(const std::vector<std::string>& argv, const std::filesystem::path& cwd) {
  Measure m = RunChild(argv, cwd);
  if (m.exit_code == -1) Die(m.err);
  return m;
}

// The flags server_bench and changes_bench share: the tether binary, the servers, the folder.
struct ServerFlags {
  std::string tether = Env("TETHER_BINARY");
  std::string pg_url = Env("TETHER_TEST_PG_URL");  // given servers; else our own
  std::string mysql_url = Env("TETHER_TEST_MYSQL_URL");
  std::string script;  // scripts/test-servers.sh
  std::string dir;     // where the temporary folder goes

  // Takes `flag` and its value() (see ParseFlags) when it is one of these; says whether it was.
  template <typename Value>
  bool ParseServerFlag(const std::string& flag, Value& value) {
    if (flag == "--tether") {
      tether = value();
    } else if (flag == "--pg-url") {
      pg_url = value();
    } else if (flag == "--mysql-url") {
      mysql_url = value();
    } else if (flag == "--dir") {
      dir = value();
    } else if (flag == "--servers-script") {
      script = value();
    } else {
      return false;
    }
    return true;
  }

  // After the flags: the tether binary (FindTether) and the servers script (FindServersScript)
  // found. Returns what is wrong; empty when nothing is.
  std::string FindPrograms(const char* argv0) {
    const std::filesystem::path self = SelfPath(argv0);
    std::string error;
    tether = FindTether(tether, self, &error);
    if (script.empty()) script = FindServersScript(self);
    return error;
  }
};

}  // namespace bench
