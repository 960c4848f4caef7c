#include "server/server_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "connectors/sql_text.h"
#include "core/stored.h"
#include "core/temporal.h"

namespace tether {
namespace {

constexpr char kConnections[] = "tether_server_connections";
constexpr char kSecrets[] = "tether_server_secrets";
constexpr char kPipelines[] = "tether_server_pipelines";
constexpr char kJobs[] = "tether_server_jobs";
constexpr char kLogs[] = "tether_server_job_logs";
constexpr char kRecords[] = "tether_server_job_records";
constexpr char kSchedules[] = "tether_server_schedules";

const std::vector<std::string> kConnectionColumns = {"name", "url", "created_at", "updated_at"};
const std::vector<std::string> kSecretColumns = {"name", "password"};
const std::vector<std::string> kPipelineColumns = {"name", "body", "created_at", "updated_at"};
const std::vector<std::string> kJobColumns = {
    "id",          "pipeline",   "kind",        "trigger", "status",    "request",
    "created_at",  "started_at", "finished_at", "message", "attempt",   "max_attempts",
    "engine_runs", "rows_read",  "inserted",    "updated", "unchanged", "linked",
    "deleted",     "skipped",    "failed",      "progress"};
const std::vector<std::string> kLogColumns = {"job_id", "seq", "at", "level", "text"};
const std::vector<std::string> kRecordColumns = {"job_id",    "seq",    "entity",  "source_id",
                                                 "target_id", "action", "changes", "reason"};
const std::vector<std::string> kScheduleColumns = {"pipeline", "schedule", "last_tick", "last_job"};

// Lengths of the columns in keys and indexes, which MySQL can only index with a length (the
// other text columns are unbounded: longtext there). Names of up to 200 characters of utf8mb4
// stay far under InnoDB's 3072-byte key limit.
constexpr int64_t kNameLength = 200;
constexpr int64_t kIdLength = 64;
constexpr int64_t kWordLength = 32;  // status, kind, trigger, level, action
constexpr int64_t kTimeLength = 64;

StoredConnection ConnectionFromRow(const Row& r) {  // r in kConnectionColumns order
  return {StoredText(r[0]), StoredText(r[1]), StoredText(r[2]), StoredText(r[3])};
}

// Where the password of a server URL's user information lies ("postgres://user:PASSWORD@host"):
// from after the first ':' of the user information to its '@' — the last '@' of the URL, so
// that a password holding '@' (refused when used, but perhaps stored by an older version) goes
// apart whole. Nothing when the URL has no user information or it has no ':'.
struct PasswordSpan {
  size_t begin = 0;
  size_t end = 0;
};
std::optional<PasswordSpan> PasswordIn(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return std::nullopt;
  const size_t start = scheme + 3;
  const size_t at = url.rfind('@');
  const size_t colon = url.find(':', start);
  if (at == std::string::npos || at < start || colon == std::string::npos || colon > at) {
    return std::nullopt;
  }
  if (url.find('/', start) < colon) return std::nullopt;  // a ':' of a path, not of user info
  return PasswordSpan{colon + 1, at};
}

// The stored row of a connection: its URL without the password (the ':' stays, so that the
// password goes back in the same place), and the password, as written in the URL.
std::pair<Row, std::optional<std::string>> ConnectionRowAndSecret(const StoredConnection& c) {
  std::string url = c.url;
  std::optional<std::string> secret;
  if (std::optional<PasswordSpan> span = PasswordIn(url); span && span->end > span->begin) {
    secret = url.substr(span->begin, span->end - span->begin);
    url.erase(span->begin, span->end - span->begin);
  }
  return {
      {Value::Text(c.name), Value::Text(url), Value::Text(c.created_at), Value::Text(c.updated_at)},
      secret};
}

// `password` back into the stored URL of a connection.
void PutBackPassword(StoredConnection* c, const std::string& password) {
  if (std::optional<PasswordSpan> span = PasswordIn(c->url)) {
    c->url.insert(span->begin, password);
  }
}

StoredPipeline PipelineFromRow(const Row& r) {  // r in kPipelineColumns order
  return {StoredText(r[0]), StoredText(r[1]), StoredText(r[2]), StoredText(r[3])};
}
Row PipelineRow(const StoredPipeline& p) {
  return {Value::Text(p.name), Value::Text(p.body), Value::Text(p.created_at),
          Value::Text(p.updated_at)};
}

Result<Job> JobFromRow(const Row& r) {  // r in kJobColumns order
  StoredRow in(r, kJobs, kJobColumns);
  Job j;
  j.id = in.Text(0);
  j.pipeline = in.Text(1);
  j.kind = in.Text(2);
  j.trigger = in.Text(3);
  j.status = in.Text(4);
  j.request = in.Text(5);
  j.created_at = in.Text(6);
  j.started_at = in.Text(7);
  j.finished_at = in.Text(8);
  j.message = in.Text(9);
  j.attempt = in.Int(10);
  j.max_attempts = in.Int(11);
  j.engine_runs = in.Text(12);
  j.counts = ReadRunCounts(in, 13);
  j.progress = in.Text(21);
  TETHER_RETURN_IF_ERROR(in.status());
  return j;
}
Row JobRow(const Job& j) {
  const RunCounts& c = j.counts;
  return {Value::Text(j.id),          Value::Text(j.pipeline),   Value::Text(j.kind),
          Value::Text(j.trigger),     Value::Text(j.status),     Value::Text(j.request),
          Value::Text(j.created_at),  Value::Text(j.started_at), Value::Text(j.finished_at),
          Value::Text(j.message),     Value::Int(j.attempt),     Value::Int(j.max_attempts),
          Value::Text(j.engine_runs), Value::Int(c.read),        Value::Int(c.inserted),
          Value::Int(c.updated),      Value::Int(c.unchanged),   Value::Int(c.linked),
          Value::Int(c.deleted),      Value::Int(c.skipped),     Value::Int(c.failed),
          Value::Text(j.progress)};
}

ScheduleMark ScheduleFromRow(const Row& r) {  // r in kScheduleColumns order
  return {StoredText(r[0]), StoredText(r[1]), StoredText(r[2]), StoredText(r[3])};
}

// Every row of a scan, each converted by `from_row` (to a T or a Result<T>).
template <typename T, typename F>
Result<std::vector<T>> ScanAll(Connector* conn, const ScanRequest& req, F from_row) {
  std::vector<T> out;
  TETHER_ASSIGN_OR_RETURN(auto stream, conn->Scan(req));
  Row row;
  for (;;) {
    TETHER_ASSIGN_OR_RETURN(bool more, stream->Next(&row));
    if (!more) break;
    TETHER_ASSIGN_OR_RETURN(T item, Result<T>(from_row(row)));
    out.push_back(std::move(item));
  }
  return out;
}

// Runs `body` in a transaction: committed when it succeeds, rolled back when it fails.
template <typename F>
Status InTransaction(Connector* conn, F body) {
  TETHER_RETURN_IF_ERROR(conn->Begin());
  Status s = body();
  if (!s.ok()) {
    (void)conn->Rollback();  // the first failure is the one worth reporting
    return s;
  }
  return conn->Commit();
}

// A whole table read in key order, then sorted by `name` byte-wise: MySQL's default collation
// orders (and compares) without case, the others by code point, and the API lists the same way
// on every engine.
template <typename T, typename F>
Result<std::vector<T>> ListByName(Connector* conn, const char* table,
                                  const std::vector<std::string>& columns, F from_row,
                                  std::string T::*name) {
  ScanRequest req;
  req.table = table;
  req.columns = columns;
  req.key_columns = {columns[0]};
  TETHER_ASSIGN_OR_RETURN(std::vector<T> out, ScanAll<T>(conn, req, from_row));
  std::sort(out.begin(), out.end(), [name](const T& a, const T& b) { return a.*name < b.*name; });
  return out;
}

// The store holds passwords: its file, and the -wal, -shm and -journal files SQLite gives the
// database file's mode, are for their owner only. A missing file the URL creates is created
// 0600, in a folder created when missing, before the connector opens it (SQLite would create
// it 0644 under the usual umask; an empty file is an empty database): a first `tether serve`
// starts from nothing. One this user owns that others may read is narrowed to its owner's bits.
Status RestrictToOwner(const std::string& path, bool create) {
  if (create) {
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!folder.empty() && !std::filesystem::exists(folder, ec)) {
      std::filesystem::create_directories(folder, ec);
      if (ec) {
        return Status::Io("server store: cannot create the folder " + folder.string() + ": " +
                          ec.message());
      }
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
    } else if (errno != EEXIST) {
      return Status::Io(
          fmt::format("server store: cannot create {}: {}", path, std::strerror(errno)));
    }
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string file = path + suffix;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || (st.st_mode & 077) == 0 || st.st_uid != ::geteuid()) {
      continue;
    }
    if (::chmod(file.c_str(), st.st_mode & 0700) != 0) {
      return Status::Io(fmt::format("server store: cannot make {} private to its owner: {}", file,
                                    std::strerror(errno)));
    }
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<ServerStore>> ServerStore::Open(const std::string& url) {
  TETHER_ASSIGN_OR_RETURN(const std::string target, ConnectorUrlCreating("server-state", url));
  TETHER_ASSIGN_OR_RETURN(const ConnectorUrl described,
                          DescribeConnectorUrl("server-state", target));
  if (described.file) {
    TETHER_RETURN_IF_ERROR(RestrictToOwner(*described.file, described.creates));
  }
  TETHER_ASSIGN_OR_RETURN(auto conn, OpenConnector("server-state", target));
  if (!conn->capabilities().transactions) {
    return Status::Unsupported("server store: a " + std::string(conn->engine()) +
                               " connection has no transactions; use SQLite, PostgreSQL or "
                               "MariaDB/MySQL");
  }
  // The runner writes a job's progress and log lines as they come: a commit must cost
  // microseconds, not a disk flush (SQLite: WAL, synchronous=NORMAL), and readers in other
  // processes must not wait for writers. A power cut may lose the last commits, never the file.
  TETHER_RETURN_IF_ERROR(conn->PreferFastCommits());
  auto store = std::make_unique<ServerStore>(std::move(conn));
  TETHER_RETURN_IF_ERROR(store->EnsureSchema());
  return store;
}

std::string_view ServerStore::engine() const { return conn_->engine(); }

Status ServerStore::EnsureSchema() {
  std::lock_guard<std::mutex> lock(mu_);
  auto text = [](const char* n, std::optional<int64_t> length = {}, bool not_null = false) {
    ColumnDef c{n, TypeClass::kText, not_null};
    c.max_length = length;
    return c;
  };
  auto integer = [](const char* n, bool not_null = false) {
    return ColumnDef{n, TypeClass::kInteger, not_null};
  };
  TableDef connections{kConnections,
                       {text("name", kNameLength, true), text("url"),
                        text("created_at", kTimeLength), text("updated_at", kTimeLength)},
                       {"name"},
                       {}};
  TableDef pipelines{kPipelines,
                     {text("name", kNameLength, true), text("body"),
                      text("created_at", kTimeLength), text("updated_at", kTimeLength)},
                     {"name"},
                     {}};
  // Listing newest first by pipeline or status, failing unfinished jobs at start-up and pruning
  // old ones each read an index.
  TableDef jobs{kJobs,
                {},
                {"id"},
                {{"tether_server_jobs_pipeline", {"pipeline", "id"}, false},
                 {"tether_server_jobs_status", {"status", "id"}, false},
                 {"tether_server_jobs_finished", {"finished_at"}, false}}};
  for (const std::string& c : kJobColumns) {
    if (c == "id") {
      jobs.columns.push_back(text("id", kIdLength, true));
    } else if (c == "pipeline") {
      jobs.columns.push_back(text("pipeline", kNameLength));
    } else if (c == "kind" || c == "trigger" || c == "status") {
      jobs.columns.push_back(text(c.c_str(), kWordLength));
    } else if (c.ends_with("_at")) {
      jobs.columns.push_back(text(c.c_str(), kTimeLength));
    } else if (c == "request" || c == "message" || c == "engine_runs" || c == "progress") {
      jobs.columns.push_back(text(c.c_str()));
    } else {
      jobs.columns.push_back(integer(c.c_str()));
    }
  }
  TableDef logs{kLogs,
                {text("job_id", kIdLength, true), integer("seq", true), text("at", kTimeLength),
                 text("level", kWordLength), text("text")},
                {"job_id", "seq"},
                {}};
  TableDef records{
      kRecords,
      {text("job_id", kIdLength, true), integer("seq", true), text("entity"), text("source_id"),
       text("target_id"), text("action", kWordLength), text("changes"), text("reason")},
      {"job_id", "seq"},
      {}};
  TableDef schedules{kSchedules,
                     {text("pipeline", kNameLength, true), text("schedule"),
                      text("last_tick", kTimeLength), text("last_job", kIdLength)},
                     {"pipeline"},
                     {}};
  // The passwords of API connections, apart from their URLs (a URL is stored without its
  // password, so that no listing, export or query of the connections shows one).
  TableDef secrets{kSecrets, {text("name", kNameLength, true), text("password")}, {"name"}, {}};
  for (const TableDef* def :
       {&connections, &secrets, &pipelines, &jobs, &logs, &records, &schedules}) {
    TETHER_RETURN_IF_ERROR(conn_->EnsureTable(*def));
  }
  // Stores written before the passwords moved apart: move them now.
  ScanRequest req;
  req.table = kConnections;
  req.columns = kConnectionColumns;
  req.key_columns = {"name"};
  TETHER_ASSIGN_OR_RETURN(std::vector<StoredConnection> stored,
                          ScanAll<StoredConnection>(conn_.get(), req, ConnectionFromRow));
  return InTransaction(conn_.get(), [&]() -> Status {
    for (const StoredConnection& c : stored) {
      if (ConnectionRowAndSecret(c).second) TETHER_RETURN_IF_ERROR(PutConnectionLocked(c));
    }
    return Status::OK();
  });
}

Result<std::vector<StoredConnection>> ServerStore::ListConnections() {
  std::lock_guard<std::mutex> lock(mu_);
  TETHER_ASSIGN_OR_RETURN(
      std::vector<StoredConnection> out,
      ListByName<StoredConnection>(conn_.get(), kConnections, kConnectionColumns, ConnectionFromRow,
                                   &StoredConnection::name));
  ScanRequest req;
  req.table = kSecrets;
  req.columns = kSecretColumns;
  req.key_columns = {"name"};
  TETHER_ASSIGN_OR_RETURN(std::vector<Row> secrets,
                          ScanAll<Row>(conn_.get(), req, [](const Row& r) { return r; }));
  std::map<std::string, std::string> by_name;
  for (const Row& r : secrets) by_name[StoredText(r[0])] = StoredText(r[1]);
  for (StoredConnection& c : out) {
    auto it = by_name.find(c.name);
    if (it != by_name.end()) PutBackPassword(&c, it->second);
  }
  return out;
}

Result<std::optional<StoredConnection>> ServerStore::GetConnection(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  TETHER_ASSIGN_OR_RETURN(
      auto rows,
      conn_->Lookup({kConnections, kConnectionColumns, {"name"}, {{Value::Text(name)}}}));
  if (rows.empty()) return std::optional<StoredConnection>();
  StoredConnection c = ConnectionFromRow(rows[0]);
  TETHER_ASSIGN_OR_RETURN(
      auto secret, conn_->Lookup({kSecrets, kSecretColumns, {"name"}, {{Value::Text(name)}}}));
  if (!secret.empty()) PutBackPassword(&c, StoredText(secret[0][1]));
  return std::optional<StoredConnection>(std::move(c));
}

Status ServerStore::PutConnection(const StoredConnection& c) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction(conn_.get(), [&] { return PutConnectionLocked(c); });
}

Status ServerStore::PutConnectionLocked(const StoredConnection& c) {
  auto [row, secret] = ConnectionRowAndSecret(c);
  TETHER_RETURN_IF_ERROR(conn_->Upsert(kConnections, kConnectionColumns, {"name"}, {row}));
  if (secret) {
    return conn_->Upsert(kSecrets, kSecretColumns, {"name"},
                         {{Value::Text(c.name), Value::Text(*secret)}});
  }
  return conn_->Delete(kSecrets, {"name"}, {{Value::Text(c.name)}});
}

Result<bool> ServerStore::DeleteConnection(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  TETHER_ASSIGN_OR_RETURN(auto rows,
                          conn_->Lookup({kConnections, {"name"}, {"name"}, {{Value::Text(name)}}}));
  if (rows.empty()) return false;
  TETHER_RETURN_IF_ERROR(InTransaction(conn_.get(), [&]() -> Status {
    TETHER_RETURN_IF_ERROR(conn_->Delete(kSecrets, {"name"}, {{Value::Text(name)}}));
    return conn_->Delete(kConnections, {"name"}, {{Value::Text(name)}});
  }));
  return true;
}

Result<std::vector<StoredPipeline>> ServerStore::ListPipelines() {
  std::lock_guard<std::mutex> lock(mu_);
  return ListByName<StoredPipeline>(conn_.get(), kPipelines, kPipelineColumns, PipelineFromRow,
                                    &StoredPipeline::name);
}

Result<std::optional<StoredPipeline>> ServerStore::GetPipeline(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  TETHER_ASSIGN_OR_RETURN(
      auto rows, conn_->Lookup({kPipelines, kPipelineColumns, {"name"}, {{Value::Text(name)}}}));
  if (rows.empty()) return std::optional<StoredPipeline>();
  return std::optional<StoredPipeline>(PipelineFromRow(rows[0]));
}

Status ServerStore::PutPipeline(const StoredPipeline& p) {
  std::lock_guard<std::mutex> lock(mu_);
  return conn_->Upsert(kPipelines, kPipelineColumns, {"name"}, {PipelineRow(p)});
}

Result<bool> ServerStore::DeletePipeline(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  TETHER_ASSIGN_OR_RETURN(auto rows,
                          conn_->Lookup({kPipelines, {"name"}, {"name"}, {{Value::Text(name)}}}));
  if (rows.empty()) return false;
  TETHER_RETURN_IF_ERROR(conn_->Delete(kPipelines, {"name"}, {{Value::Text(name)}}));
  return true;
}

Status ServerStore::PutJob(const Job& job) {
  std::lock_guard<std::mutex> lock(mu_);
  return conn_->Upsert(kJobs, kJobColumns, {"id"}, {JobRow(job)});
}

Result<std::optional<Job>> ServerStore::GetJob(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  TETHER_ASSIGN_OR_RETURN(auto rows,
                          conn_->Lookup({kJobs, kJobColumns, {"id"}, {{Value::Text(id)}}}));
  if (rows.empty()) return std::optional<Job>();
  TETHER_ASSIGN_OR_RETURN(Job job, JobFromRow(rows[0]));
  return std::optional<Job>(std::move(job));
}

Result<std::vector<Job>> ServerStore::ListJobs(const JobFilter& filter) {
  std::lock_guard<std::mutex> lock(mu_);
  // Newest first needs a descending order, which Scan does not offer (it pages ascending): one
  // statement of tether's own, values bound, reads only the `limit` rows wanted off the id (or
  // pipeline, id / status, id) index.
  const SqlDialect* sql_dialect = conn_->sql_dialect();
  if (sql_dialect == nullptr) {
    return Status::Unsupported("server store: a " + std::string(conn_->engine()) +
                               " connection takes no SQL, which listing jobs needs");
  }
  const SqlDialect& d = *sql_dialect;
  Row params;
  std::string where;
  auto add = [&](const char* column, const char* op, const std::optional<std::string>& value) {
    if (!value) return;
    params.push_back(Value::Text(*value));
    where += where.empty() ? " WHERE " : " AND ";
    where += d.Quote(column) + " " + op + " " + d.Placeholder(params.size());
  };
  add("pipeline", "=", filter.pipeline);
  add("status", "=", filter.status);
  add("kind", "=", filter.kind);
  add("trigger", "=", filter.trigger);
  add("id", "<", filter.before);
  std::string sql = "SELECT " + QuoteIdentifiers(kJobColumns, d.quote) + " FROM " + d.Quote(kJobs) +
                    where + " ORDER BY " + d.Quote("id") + " DESC";
  if (filter.limit > 0) {
    params.push_back(Value::Int(static_cast<int64_t>(filter.limit)));
    sql += " LIMIT " + d.Placeholder(params.size());
  }
  TETHER_ASSIGN_OR_RETURN(auto rows, conn_->Query(sql, params));
  std::vector<Job> out;
  out.reserve(rows.size());
  for (const Row& r : rows) {
    TETHER_ASSIGN_OR_RETURN(Job job, JobFromRow(r));
    out.push_back(std::move(job));
  }
  return out;
}

Result<std::vector<Job>> ServerStore::FailUnfinishedJobs(const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Job> jobs;
  Status s = InTransaction(conn_.get(), [&]() -> Status {
    TETHER_ASSIGN_OR_RETURN(
        auto rows,
        conn_->Lookup(
            {kJobs, kJobColumns, {"status"}, {{Value::Text("queued")}, {Value::Text("running")}}}));
    if (rows.empty()) return Status::OK();
    const std::string now = UtcNow();
    std::vector<Row> updated;
    for (const Row& r : rows) {
      TETHER_ASSIGN_OR_RETURN(Job job, JobFromRow(r));
      job.status = "failed";
      job.message = message;
      job.finished_at = now;
      updated.push_back(JobRow(job));
      jobs.push_back(std::move(job));
    }
    return conn_->Upsert(kJobs, kJobColumns, {"id"}, updated);
  });
  TETHER_RETURN_IF_ERROR(s);
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.id < b.id; });
  return jobs;
}

Result<int64_t> ServerStore::DeleteJobsFinishedBefore(const std::string& cutoff) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t deleted = 0;
  Status s = InTransaction(conn_.get(), [&]() -> Status {
    ScanRequest req;
    req.table = kJobs;
    req.columns = {"id"};
    req.key_columns = {"id"};
    req.conditions = {{"finished_at", Condition::Op::kNe, Value::Text("")},
                      {"finished_at", Condition::Op::kLt, Value::Text(cutoff)}};
    TETHER_ASSIGN_OR_RETURN(std::vector<Row> ids,
                            ScanAll<Row>(conn_.get(), req, [](const Row& r) { return r; }));
    if (ids.empty()) return Status::OK();
    TETHER_RETURN_IF_ERROR(conn_->Delete(kLogs, {"job_id"}, ids));
    TETHER_RETURN_IF_ERROR(conn_->Delete(kRecords, {"job_id"}, ids));
    TETHER_RETURN_IF_ERROR(conn_->Delete(kJobs, {"id"}, ids));
    deleted = static_cast<int64_t>(ids.size());
    return Status::OK();
  });
  TETHER_RETURN_IF_ERROR(s);
  return deleted;
}

Status ServerStore::AppendLogs(const std::string& job_id, const std::vector<LogLine>& lines) {
  std::lock_guard<std::mutex> lock(mu_);
  if (lines.empty()) return Status::OK();
  std::vector<Row> rows;
  rows.reserve(lines.size());
  for (const LogLine& l : lines) {
    rows.push_back({Value::Text(job_id), Value::Int(l.seq), Value::Text(l.at), Value::Text(l.level),
                    Value::Text(l.text)});
  }
  // An upsert, so that a caller retrying a batch that did reach the store does not fail on it.
  // The connector cuts the rows into statements of its own size.
  return InTransaction(conn_.get(), [&] {
    return conn_->Upsert(kLogs, kLogColumns, {"job_id", "seq"}, rows);
  });
}

Result<std::vector<LogLine>> ServerStore::ListLogs(const std::string& job_id, int64_t after,
                                                   size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  ScanRequest req;
  req.table = kLogs;
  req.columns = {"seq", "at", "level", "text"};
  req.key_columns = {"job_id", "seq"};
  req.conditions = {{"job_id", Condition::Op::kEq, Value::Text(job_id)}};
  req.after_key = Row{Value::Text(job_id), Value::Int(after)};
  req.limit = limit;
  return ScanAll<LogLine>(conn_.get(), req, [](const Row& r) -> Result<LogLine> {
    TETHER_ASSIGN_OR_RETURN(int64_t seq, StoredInt(r[0], std::string(kLogs) + ".seq"));
    return LogLine{seq, StoredText(r[1]), StoredText(r[2]), StoredText(r[3])};
  });
}

Status ServerStore::AddRecords(const std::string& job_id, const std::vector<RecordLine>& records) {
  std::lock_guard<std::mutex> lock(mu_);
  if (records.empty()) return Status::OK();
  std::vector<Row> rows;
  rows.reserve(records.size());
  for (const RecordLine& r : records) {
    rows.push_back({Value::Text(job_id), Value::Int(r.seq), Value::Text(r.entity),
                    Value::Text(r.source_id), Value::Text(r.target_id), Value::Text(r.action),
                    Value::Text(r.changes), Value::Text(r.reason)});
  }
  return InTransaction(conn_.get(), [&] {
    return conn_->Upsert(kRecords, kRecordColumns, {"job_id", "seq"}, rows);
  });
}

Result<std::vector<RecordLine>> ServerStore::ListRecords(const std::string& job_id,
                                                         const std::optional<std::string>& action,
                                                         int64_t after, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  ScanRequest req;
  req.table = kRecords;
  req.columns = {"seq", "entity", "source_id", "target_id", "action", "changes", "reason"};
  req.key_columns = {"job_id", "seq"};
  req.conditions = {{"job_id", Condition::Op::kEq, Value::Text(job_id)}};
  if (action) req.conditions.push_back({"action", Condition::Op::kEq, Value::Text(*action)});
  req.after_key = Row{Value::Text(job_id), Value::Int(after)};
  req.limit = limit;
  return ScanAll<RecordLine>(conn_.get(), req, [](const Row& r) -> Result<RecordLine> {
    TETHER_ASSIGN_OR_RETURN(int64_t seq, StoredInt(r[0], std::string(kRecords) + ".seq"));
    return RecordLine{seq,
                      StoredText(r[1]),
                      StoredText(r[2]),
                      StoredText(r[3]),
                      StoredText(r[4]),
                      StoredText(r[5]),
                      StoredText(r[6])};
  });
}

Result<std::vector<ScheduleMark>> ServerStore::ListScheduleMarks() {
  std::lock_guard<std::mutex> lock(mu_);
  return ListByName<ScheduleMark>(conn_.get(), kSchedules, kScheduleColumns, ScheduleFromRow,
                                  &ScheduleMark::pipeline);
}

Status ServerStore::PutScheduleMark(const ScheduleMark& m) {
  std::lock_guard<std::mutex> lock(mu_);
  return conn_->Upsert(kSchedules, kScheduleColumns, {"pipeline"},
                       {{Value::Text(m.pipeline), Value::Text(m.schedule), Value::Text(m.last_tick),
                         Value::Text(m.last_job)}});
}

Status ServerStore::DeleteScheduleMark(const std::string& pipeline) {
  std::lock_guard<std::mutex> lock(mu_);
  return conn_->Delete(kSchedules, {"pipeline"}, {{Value::Text(pipeline)}});
}

}  // namespace tether
