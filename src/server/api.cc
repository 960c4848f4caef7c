#include "server/api.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>
#include <thread>
#include <tuple>

#include "config/text.h"
#include "connectors/connector.h"
#include "core/ascii.h"
#include "core/temporal.h"
#include "core/version.h"
#include "engine/sync.h"
#include "server/http_server.h"
#include "server/json_schema.h"
#include "server/json_text.h"
#include "server/openapi.h"
#include "state/state_store.h"

namespace tether {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// What runs can be, for the filters of GET /api/runs.
constexpr std::string_view kRunStatuses[] = {"queued", "running",   "succeeded", "partial",
                                             "failed", "cancelled", "timed_out"};
constexpr std::string_view kRunKinds[] = {"sync", "diff"};
constexpr std::string_view kRunTriggers[] = {"api", "schedule"};
using Words = std::span<const std::string_view>;
constexpr size_t kPageMax = 1000;

struct HttpError {
  int status;
  const char* code;
};

HttpError HttpErrorFor(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kInvalidRecord:
      return {400, "invalid_argument"};
    case StatusCode::kNotFound:
      return {404, "not_found"};
    case StatusCode::kAlreadyExists:
      return {409, "conflict"};
    case StatusCode::kConfig:
    case StatusCode::kPolicy:
      return {422, "config"};
    case StatusCode::kConnection:
    case StatusCode::kPermissionDenied:
    case StatusCode::kTimedOut:
      return {502, "connection"};
    case StatusCode::kBusy:
    case StatusCode::kTryAgain:
      return {503, "unavailable"};
    default:
      return {500, "internal"};
  }
}

const char* CodeForHttp(int status) {
  switch (status) {
    case 400:
      return "invalid_argument";
    case 401:
      return "unauthorized";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 408:
      return "request_timeout";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 422:
      return "config";
    case 429:
      return "too_many_requests";
    case 431:
      return "headers_too_large";
    case 502:
      return "connection";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "invalid_argument";
  }
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(JsonText(body), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& message) {
  SendJson(res, status, {{"error", {{"code", CodeForHttp(status)}, {"message", message}}}});
}

void SendStatus(httplib::Response& res, const Status& s) {
  HttpError e = HttpErrorFor(s.code());
  SendJson(res, e.status, {{"error", {{"code", e.code}, {"message", s.message()}}}});
}

json NullIfEmpty(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json RunJson(const JobSnapshot& s) {
  const Job& j = s.job;
  return {{"id", j.id},
          {"pipeline", j.pipeline},
          {"kind", j.kind},
          {"trigger", j.trigger},
          {"status", j.status},
          {"stop_requested", s.stop_requested},
          {"request", json::parse(j.request, nullptr, false)},
          {"created_at", j.created_at},
          {"started_at", NullIfEmpty(j.started_at)},
          {"finished_at", NullIfEmpty(j.finished_at)},
          {"message", j.message},
          {"attempt", j.attempt},
          {"max_attempts", j.max_attempts},
          {"next_attempt_at", s.next_attempt_at ? json(*s.next_attempt_at) : json(nullptr)},
          {"engine_run_ids", json::parse(j.engine_runs, nullptr, false)},
          {"counts", RunCountsJson(j.counts)},
          {"progress", json::parse(j.progress, nullptr, false)}};
}

json LogJson(const LogLine& l) {
  return {{"seq", l.seq}, {"at", l.at}, {"level", l.level}, {"text", l.text}};
}

json RecordJson(const RecordLine& r) {
  return {{"seq", r.seq},
          {"entity", r.entity},
          {"source_id", r.source_id},
          {"target_id", r.target_id},
          {"action", r.action},
          {"changes", json::parse(r.changes, nullptr, false)},
          {"reason", r.reason}};
}

std::string EngineOf(const std::string& url) { return std::string(ConnectorEngine(url)); }

json ConnectionJson(const ConnectionView& c) {
  json j = {{"name", c.name},
            {"url", RedactUrl(c.url)},
            {"engine", EngineOf(c.url)},
            {"origin", c.origin}};
  if (!c.created_at.empty()) j["created_at"] = c.created_at;
  if (!c.updated_at.empty()) j["updated_at"] = c.updated_at;
  return j;
}

// Query parameter `name` as an integer in [lo, hi], or `fallback` when absent.
Result<int64_t> IntParam(const httplib::Request& req, const char* name, int64_t fallback,
                         int64_t lo, int64_t hi) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  try {
    size_t used = 0;
    const long long n = std::stoll(v, &used);
    if (used == v.size() && n >= lo && n <= hi) return static_cast<int64_t>(n);
  } catch (const std::exception&) {
  }
  return Status::InvalidArgument(
      fmt::format("query parameter '{}': expected an integer {}..{}, got '{}'", name, lo, hi, v));
}

std::optional<std::string> StrParam(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  return req.get_param_value(name);
}

// "application/json", in any case, with or without parameters ("; charset=utf-8").
bool IsJsonMediaType(std::string_view content_type) {
  return EqualsIgnoreCase(config_internal::Trim(content_type.substr(0, content_type.find(';'))),
                          "application/json");
}

// The token of an "Authorization: Bearer <token>" header: the scheme in any letter case (as
// HTTP authentication schemes are), then spaces; nullopt for another scheme or none.
std::optional<std::string_view> BearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() ||
      (header[kScheme.size()] != ' ' && header[kScheme.size()] != '\t') ||
      !EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  return config_internal::Trim(header.substr(kScheme.size()));
}

bool SameSecret(std::string_view a, const std::string& b) {
  // Compares every byte whatever differs, so the time taken tells nothing of the token.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % (b.empty() ? 1 : b.size())];
  return diff == 0 && !b.empty();
}

std::string PromEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// The first {param} of a request's path.
std::string Param(const httplib::Request& req) { return std::string(req.matches[1]); }

// The HTTP library's route pattern of an OpenAPI path template: each {param} one path segment.
std::string PatternOf(std::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    const size_t close = path[i] == '{' ? path.find('}', i) : std::string_view::npos;
    if (close == std::string_view::npos) {
      out += path[i];
      continue;
    }
    out += "([^/]+)";
    i = close;
  }
  return out;
}

// Whether a request path is an instance of an OpenAPI path template, segment by segment.
bool MatchesTemplate(std::string_view path, std::string_view path_template) {
  for (;;) {
    const size_t a = path.find('/'), b = path_template.find('/');
    const std::string_view seg = path.substr(0, a), tmpl = path_template.substr(0, b);
    if (tmpl.starts_with('{') ? seg.empty() : seg != tmpl) return false;
    if (a == std::string_view::npos || b == std::string_view::npos) {
      return a == std::string_view::npos && b == std::string_view::npos;
    }
    path.remove_prefix(a + 1);
    path_template.remove_prefix(b + 1);
  }
}

}  // namespace

struct ApiServer::Impl {
  Catalog* catalog;
  JobRunner* runner;
  Scheduler* scheduler;
  ServerStore* store;
  ApiOptions options;
  std::unique_ptr<HttpServer> http;  // made with the options' limits
  json openapi;
  std::unique_ptr<JsonSchemaValidator> validator;
  SystemTime started_at = std::chrono::system_clock::now();
  Clock::time_point started = Clock::now();
  std::atomic<bool> stopping{false};
  std::atomic<int> listen_fd{-1};
  std::mutex counts_mu;
  std::map<int, int64_t> responses;  // HTTP status -> count

  using Req = httplib::Request;
  using Res = httplib::Response;
  struct Route {
    const char* method;
    const char* path;  // OpenAPI template
    void (*handle)(Impl& api, const Req& req, Res& res);
  };
  // Every route the server has; Register adds them in this order.
  static const Route kRoutes[];

  void Register();
  void Add(const Route& r);

  // The request's JSON body checked against the operation's schema in the OpenAPI document.
  std::optional<json> Body(const httplib::Request& req, httplib::Response& res, const char* method,
                           const char* path);

  void Status_(httplib::Response& res);
  void Stats(httplib::Response& res);
  void Metrics(httplib::Response& res);

  void ListConnections(httplib::Response& res);
  void CreateConnection(const httplib::Request& req, httplib::Response& res);
  void GetConnection(const std::string& name, httplib::Response& res);
  void UpdateConnection(const std::string& name, const httplib::Request& req,
                        httplib::Response& res);
  void DeleteConnection(const std::string& name, httplib::Response& res);
  void TestConnection(const std::string& name, httplib::Response& res);

  json PipelineJson(const PipelineView& v);
  void ListPipelines(httplib::Response& res);
  void CreatePipeline(const httplib::Request& req, httplib::Response& res);
  void ValidatePipeline(const httplib::Request& req, httplib::Response& res);
  void GetPipeline(const std::string& name, httplib::Response& res);
  void UpdatePipeline(const std::string& name, const httplib::Request& req, httplib::Response& res);
  void DeletePipeline(const std::string& name, httplib::Response& res);
  void Links(const std::string& name, const httplib::Request& req, httplib::Response& res);
  void StartRun(const std::string& name, const std::string& kind, const httplib::Request& req,
                httplib::Response& res);
  void Schedules(httplib::Response& res);

  void ListRuns(const httplib::Request& req, httplib::Response& res);
  void GetRun(const std::string& id, httplib::Response& res);
  void StopRun(const std::string& id, httplib::Response& res);
  void RunLogs(const std::string& id, const httplib::Request& req, httplib::Response& res);
  void RunRecords(const std::string& id, const httplib::Request& req, httplib::Response& res,
                  bool plan);
  void RunEvents(const std::string& id, httplib::Response& res);
};

// A literal route ("/api/pipelines/validate") must come before a template one
// ("/api/pipelines/{name}"): httplib tries handlers in the order they were added.
const ApiServer::Impl::Route ApiServer::Impl::kRoutes[] = {
    {"GET", "/api/status", [](Impl& api, const Req&, Res& res) { api.Status_(res); }},
    {"GET", "/api/stats", [](Impl& api, const Req&, Res& res) { api.Stats(res); }},
    {"GET", "/metrics", [](Impl& api, const Req&, Res& res) { api.Metrics(res); }},
    {"GET", "/api/openapi.json",
     [](Impl&, const Req&, Res& res) { res.set_content(kOpenApiJson, "application/json"); }},
    {"GET", "/api/connections", [](Impl& api, const Req&, Res& res) { api.ListConnections(res); }},
    {"POST", "/api/connections",
     [](Impl& api, const Req& req, Res& res) { api.CreateConnection(req, res); }},
    {"GET", "/api/connections/{name}",
     [](Impl& api, const Req& req, Res& res) { api.GetConnection(Param(req), res); }},
    {"PUT", "/api/connections/{name}",
     [](Impl& api, const Req& req, Res& res) { api.UpdateConnection(Param(req), req, res); }},
    {"DELETE", "/api/connections/{name}",
     [](Impl& api, const Req& req, Res& res) { api.DeleteConnection(Param(req), res); }},
    {"POST", "/api/connections/{name}/test",
     [](Impl& api, const Req& req, Res& res) { api.TestConnection(Param(req), res); }},
    {"GET", "/api/pipelines", [](Impl& api, const Req&, Res& res) { api.ListPipelines(res); }},
    {"POST", "/api/pipelines",
     [](Impl& api, const Req& req, Res& res) { api.CreatePipeline(req, res); }},
    {"POST", "/api/pipelines/validate",
     [](Impl& api, const Req& req, Res& res) { api.ValidatePipeline(req, res); }},
    {"GET", "/api/pipelines/{name}",
     [](Impl& api, const Req& req, Res& res) { api.GetPipeline(Param(req), res); }},
    {"PUT", "/api/pipelines/{name}",
     [](Impl& api, const Req& req, Res& res) { api.UpdatePipeline(Param(req), req, res); }},
    {"DELETE", "/api/pipelines/{name}",
     [](Impl& api, const Req& req, Res& res) { api.DeletePipeline(Param(req), res); }},
    {"GET", "/api/pipelines/{name}/links",
     [](Impl& api, const Req& req, Res& res) { api.Links(Param(req), req, res); }},
    {"POST", "/api/pipelines/{name}/runs",
     [](Impl& api, const Req& req, Res& res) { api.StartRun(Param(req), "sync", req, res); }},
    {"POST", "/api/pipelines/{name}/diff",
     [](Impl& api, const Req& req, Res& res) { api.StartRun(Param(req), "diff", req, res); }},
    {"GET", "/api/schedules", [](Impl& api, const Req&, Res& res) { api.Schedules(res); }},
    {"GET", "/api/runs", [](Impl& api, const Req& req, Res& res) { api.ListRuns(req, res); }},
    {"GET", "/api/runs/{id}",
     [](Impl& api, const Req& req, Res& res) { api.GetRun(Param(req), res); }},
    {"POST", "/api/runs/{id}/stop",
     [](Impl& api, const Req& req, Res& res) { api.StopRun(Param(req), res); }},
    {"GET", "/api/runs/{id}/logs",
     [](Impl& api, const Req& req, Res& res) { api.RunLogs(Param(req), req, res); }},
    {"GET", "/api/runs/{id}/records",
     [](Impl& api, const Req& req, Res& res) { api.RunRecords(Param(req), req, res, false); }},
    {"GET", "/api/runs/{id}/plan",
     [](Impl& api, const Req& req, Res& res) { api.RunRecords(Param(req), req, res, true); }},
    {"GET", "/api/runs/{id}/events",
     [](Impl& api, const Req& req, Res& res) { api.RunEvents(Param(req), res); }},
};

void ApiServer::Impl::Add(const Route& r) {
  const std::string pattern = PatternOf(r.path);
  const std::string method = r.method;
  auto h = [this, &r](const Req& req, Res& res) { r.handle(*this, req, res); };
  if (method == "GET") {
    http->Get(pattern, h);
  } else if (method == "POST") {
    http->Post(pattern, h);
  } else if (method == "PUT") {
    http->Put(pattern, h);
  } else {
    http->Delete(pattern, h);
  }
}

std::optional<json> ApiServer::Impl::Body(const httplib::Request& req, httplib::Response& res,
                                          const char* method, const char* path) {
  if (req.body.size() > options.max_body) {  // a chunked body: its size was not declared
    SendError(res, 413, fmt::format("the body is larger than {} bytes", options.max_body));
    return std::nullopt;
  }
  if (!req.body.empty() && !IsJsonMediaType(req.get_header_value("Content-Type"))) {
    SendError(res, 415,
              fmt::format("the body must be sent as Content-Type: application/json, not '{}'",
                          req.get_header_value("Content-Type")));
    return std::nullopt;
  }
  json body;
  const std::string text = req.body.empty() ? "{}" : req.body;
  try {
    body = json::parse(text);
  } catch (const json::parse_error& e) {
    SendError(res, 400, fmt::format("the body is not valid JSON: {}", e.what()));
    return std::nullopt;
  }
  if (!body.is_object()) {
    SendError(res, 400, "the body must be a JSON object");
    return std::nullopt;
  }
  Status st = validator->ValidateRequestBody(method, path, body);
  if (!st.ok() && st.code() != StatusCode::kNotFound) {
    SendStatus(res, st);
    return std::nullopt;
  }
  return body;
}

void ApiServer::Impl::Status_(httplib::Response& res) {
  SendJson(res, 200,
           {{"status", stopping ? "stopping" : "ok"},
            {"version", kTetherVersion},
            {"started_at", IsoUtc(started_at)},
            {"uptime_s",
             std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count()}});
}

void ApiServer::Impl::Stats(httplib::Response& res) {
  RunnerStats s = runner->Stats();
  json runs = {{"queued", s.queued}, {"running", s.busy}};
  for (const char* st : {"succeeded", "partial", "failed", "cancelled", "timed_out"}) {
    auto it = s.finished_by_status.find(st);
    runs[st] = it == s.finished_by_status.end() ? 0 : it->second;
  }
  json records = json::object();
  for (const char* a : {"read", "inserted", "updated", "deleted", "linked", "skipped", "failed"}) {
    int64_t n = 0;
    for (const auto& [pipeline, by_action] : s.records) {
      auto it = by_action.find(a);
      if (it != by_action.end()) n += it->second;
    }
    records[a] = n;
  }
  int64_t requests = 0, errors = 0;
  {
    std::lock_guard<std::mutex> lk(counts_mu);
    for (const auto& [code, n] : responses) {
      requests += n;
      if (code >= 400) errors += n;
    }
  }
  SendJson(res, 200,
           {{"uptime_s",
             std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count()},
            {"runs", runs},
            {"records", records},
            {"workers", {{"max_concurrency", runner->options().max_concurrency}, {"busy", s.busy}}},
            {"queue_length", s.queued},
            {"http", {{"requests", requests}, {"errors", errors}}},
            {"schedules", scheduler->List().size()}});
}

void ApiServer::Impl::Metrics(httplib::Response& res) {
  RunnerStats s = runner->Stats();
  std::string out;
  out += "# HELP tether_up 1 while the server runs.\n# TYPE tether_up gauge\ntether_up 1\n";
  out += "# HELP tether_runs_active Runs running now.\n# TYPE tether_runs_active gauge\n";
  out += fmt::format("tether_runs_active {}\n", s.busy);
  out += "# HELP tether_runs_queued Runs waiting for a worker or a retry.\n";
  out += fmt::format("# TYPE tether_runs_queued gauge\ntether_runs_queued {}\n", s.queued);
  out += "# HELP tether_runs_total Runs finished since the server started.\n";
  out += "# TYPE tether_runs_total counter\n";
  for (const auto& [pipeline, by_status] : s.runs_total) {
    for (const auto& [status, n] : by_status) {
      out += fmt::format("tether_runs_total{{pipeline=\"{}\",status=\"{}\"}} {}\n",
                         PromEscape(pipeline), status, n);
    }
  }
  out += "# HELP tether_records_total Records of finished runs, by what was done to them.\n";
  out += "# TYPE tether_records_total counter\n";
  for (const auto& [pipeline, by_action] : s.records) {
    for (const auto& [action, n] : by_action) {
      out += fmt::format("tether_records_total{{pipeline=\"{}\",action=\"{}\"}} {}\n",
                         PromEscape(pipeline), action, n);
    }
  }
  out += "# HELP tether_run_duration_seconds How long finished runs took.\n";
  out += "# TYPE tether_run_duration_seconds histogram\n";
  for (const auto& [pipeline, h] : s.durations) {
    int64_t cumulative = 0;
    const std::string p = PromEscape(pipeline);
    for (size_t i = 0; i < std::size(DurationHistogram::kBounds); ++i) {
      cumulative += h.buckets[i];
      out += fmt::format("tether_run_duration_seconds_bucket{{pipeline=\"{}\",le=\"{}\"}} {}\n", p,
                         DurationHistogram::kBounds[i], cumulative);
    }
    out += fmt::format("tether_run_duration_seconds_bucket{{pipeline=\"{}\",le=\"+Inf\"}} {}\n", p,
                       h.count);
    out += fmt::format("tether_run_duration_seconds_sum{{pipeline=\"{}\"}} {}\n", p, h.sum);
    out += fmt::format("tether_run_duration_seconds_count{{pipeline=\"{}\"}} {}\n", p, h.count);
  }
  out +=
      "# HELP tether_schedule_ticks_total Schedule ticks: started, skipped (a run was "
      "active) or failed.\n# TYPE tether_schedule_ticks_total counter\n";
  for (const auto& [pipeline, by_outcome] : scheduler->TickCounts()) {
    for (const auto& [outcome, n] : by_outcome) {
      out += fmt::format("tether_schedule_ticks_total{{pipeline=\"{}\",outcome=\"{}\"}} {}\n",
                         PromEscape(pipeline), outcome, n);
    }
  }
  out += "# HELP tether_http_requests_total HTTP responses by status code.\n";
  out += "# TYPE tether_http_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lk(counts_mu);
    for (const auto& [code, n] : responses) {
      out += fmt::format("tether_http_requests_total{{code=\"{}\"}} {}\n", code, n);
    }
  }
  const HttpConnectionStats connections = http->Stats();
  out += "# HELP tether_http_connections_open HTTP connections open (waiting or served).\n";
  out += fmt::format("# TYPE tether_http_connections_open gauge\ntether_http_connections_open {}\n",
                     connections.open);
  out += "# HELP tether_http_connections_refused_total HTTP connections refused or cut, by why.\n";
  out += "# TYPE tether_http_connections_refused_total counter\n";
  for (const auto& [reason, n] : connections.refused) {
    out += fmt::format("tether_http_connections_refused_total{{reason=\"{}\"}} {}\n", reason, n);
  }
  res.status = 200;
  res.set_content(out, "text/plain; version=0.0.4");
}

void ApiServer::Impl::ListConnections(httplib::Response& res) {
  auto all = catalog->Connections();
  if (!all.ok()) return SendStatus(res, all.status());
  json arr = json::array();
  for (const ConnectionView& c : *all) arr.push_back(ConnectionJson(c));
  SendJson(res, 200, {{"connections", arr}});
}

void ApiServer::Impl::CreateConnection(const httplib::Request& req, httplib::Response& res) {
  auto body = Body(req, res, "POST", "/api/connections");
  if (!body) return;
  std::optional<std::string> password;
  if (body->contains("password")) password = (*body)["password"].get<std::string>();
  auto c = catalog->CreateConnection((*body)["name"].get<std::string>(),
                                     (*body)["url"].get<std::string>(), password);
  if (!c.ok()) return SendStatus(res, c.status());
  SendJson(res, 201, ConnectionJson(*c));
}

void ApiServer::Impl::GetConnection(const std::string& name, httplib::Response& res) {
  auto c = catalog->GetConnection(name);
  if (!c.ok()) return SendStatus(res, c.status());
  if (!*c) return SendError(res, 404, fmt::format("no connection '{}'", name));
  SendJson(res, 200, ConnectionJson(**c));
}

void ApiServer::Impl::UpdateConnection(const std::string& name, const httplib::Request& req,
                                       httplib::Response& res) {
  auto body = Body(req, res, "PUT", "/api/connections/{name}");
  if (!body) return;
  std::optional<std::string> password;
  if (body->contains("password")) password = (*body)["password"].get<std::string>();
  auto c = catalog->UpdateConnection(name, (*body)["url"].get<std::string>(), password);
  if (!c.ok()) return SendStatus(res, c.status());
  SendJson(res, 200, ConnectionJson(*c));
}

void ApiServer::Impl::DeleteConnection(const std::string& name, httplib::Response& res) {
  Status st = catalog->DeleteConnection(name);
  if (!st.ok()) return SendStatus(res, st);
  res.status = 204;
}

void ApiServer::Impl::TestConnection(const std::string& name, httplib::Response& res) {
  auto c = catalog->GetConnection(name);
  if (!c.ok()) return SendStatus(res, c.status());
  if (!*c) return SendError(res, 404, fmt::format("no connection '{}'", name));
  const ConnectionView& view = **c;
  // A connection that cannot be used (a ${VAR} unset, a SQLite file outside the data folder) is
  // not opened: the answer is its problem, whatever exists at the place it names.
  json out = {{"ok", false},
              {"engine", EngineOf(view.url)},
              {"latency_ms", nullptr},
              {"error", nullptr},
              {"tables", json::array()}};
  auto fail = [&](const Status& s) {
    out["error"] = {{"code", HttpErrorFor(s.code()).code}, {"message", s.message()}};
    SendJson(res, 200, out);
  };
  if (!view.problem.ok()) return fail(view.problem);
  const auto t0 = Clock::now();
  Result<std::unique_ptr<Connector>> conn =
      runner->options().env.open_connector(view.name, view.url);
  if (!conn.ok()) return fail(conn.status());
  Status ping = (*conn)->Ping();
  out["latency_ms"] =
      std::round(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() * 10) / 10;
  if (!ping.ok()) return fail(ping);
  auto pipelines = catalog->Pipelines();
  if (!pipelines.ok()) return fail(pipelines.status());
  bool all_there = true;
  for (const PipelineView& v : *pipelines) {
    if (!v.config) continue;
    const PipelineConfig* p = v.config->FindPipeline(v.name);
    if (!p) continue;
    for (const char* side : {"source", "target"}) {
      const bool source = std::string(side) == "source";
      if ((source ? p->source : p->target) != name) continue;
      for (const std::string& e : p->entities) {
        const EntityConfig* ec = v.config->FindEntity(e);
        if (!ec) continue;
        const std::string table = source ? ec->source_table : ec->target_table;
        auto described = (*conn)->DescribeTable(table);
        if (!described.ok()) return fail(described.status());
        all_there = all_there && described->has_value();
        out["tables"].push_back({{"pipeline", v.name},
                                 {"entity", e},
                                 {"side", side},
                                 {"table", table},
                                 {"exists", described->has_value()}});
      }
    }
  }
  out["ok"] = all_there;
  if (!all_there) {
    out["error"] = {{"code", "not_found"},
                    {"message", "reachable, but tables the pipelines use are missing"}};
  }
  SendJson(res, 200, out);
}

json ApiServer::Impl::PipelineJson(const PipelineView& v) {
  json j = v.body;
  j["name"] = v.name;
  j["origin"] = v.origin;
  if (!v.created_at.empty()) j["created_at"] = v.created_at;
  if (!v.updated_at.empty()) j["updated_at"] = v.updated_at;
  j["entity_order"] = json::array();
  if (v.config) {
    if (const PipelineConfig* p = v.config->FindPipeline(v.name)) {
      auto order = EntityOrder(*v.config, *p);
      if (order.ok()) j["entity_order"] = *order;
      if (p->schedule) j["schedule"] = *p->schedule;
    }
  } else {
    j["error"] = v.error;
  }
  j["next_run_at"] = nullptr;
  for (const ScheduleView& s : scheduler->List()) {
    if (s.pipeline == v.name && !s.next_at.empty()) j["next_run_at"] = s.next_at;
  }
  return j;
}

void ApiServer::Impl::ListPipelines(httplib::Response& res) {
  auto all = catalog->Pipelines();
  if (!all.ok()) return SendStatus(res, all.status());
  json arr = json::array();
  for (const PipelineView& v : *all) arr.push_back(PipelineJson(v));
  SendJson(res, 200, {{"pipelines", arr}});
}

void ApiServer::Impl::CreatePipeline(const httplib::Request& req, httplib::Response& res) {
  auto body = Body(req, res, "POST", "/api/pipelines");
  if (!body) return;
  auto v = catalog->CreatePipeline((*body)["name"].get<std::string>(), *body);
  if (!v.ok()) return SendStatus(res, v.status());
  scheduler->Poke();
  SendJson(res, 201, PipelineJson(*v));
}

void ApiServer::Impl::ValidatePipeline(const httplib::Request& req, httplib::Response& res) {
  auto body = Body(req, res, "POST", "/api/pipelines/validate");
  if (!body) return;
  const std::string name = body->value("name", std::string("pipeline"));
  auto config = catalog->Validate(name, *body);
  if (!config.ok()) return SendStatus(res, config.status());
  const PipelineConfig* p = (*config)->FindPipeline(name);
  auto order = EntityOrder(**config, *p);
  if (!order.ok()) return SendStatus(res, order.status());
  json notices = json::array();
  const std::string check = req.has_param("check") ? req.get_param_value("check") : "false";
  if (check != "true" && check != "false") {
    return SendError(res, 400, "query parameter 'check': expected true or false");
  }
  if (check == "true") {
    struct Collector : SyncObserver {
      json* out;
      void OnNotice(const std::string& text) override { out->push_back(text); }
    } collector;
    collector.out = &notices;
    Status st = catalog->Check(name, **config, &collector, runner->options().env);
    if (!st.ok()) return SendStatus(res, st);
  }
  SendJson(res, 200, {{"valid", true}, {"entity_order", *order}, {"notices", notices}});
}

void ApiServer::Impl::GetPipeline(const std::string& name, httplib::Response& res) {
  auto v = catalog->GetPipeline(name);
  if (!v.ok()) return SendStatus(res, v.status());
  if (!*v) return SendError(res, 404, fmt::format("no pipeline '{}'", name));
  SendJson(res, 200, PipelineJson(**v));
}

void ApiServer::Impl::UpdatePipeline(const std::string& name, const httplib::Request& req,
                                     httplib::Response& res) {
  auto body = Body(req, res, "PUT", "/api/pipelines/{name}");
  if (!body) return;
  if (runner->PipelineActive(name)) {
    return SendError(
        res, 409, fmt::format("pipeline '{}' has a run queued or running: stop it or wait", name));
  }
  auto v = catalog->UpdatePipeline(name, *body);
  if (!v.ok()) return SendStatus(res, v.status());
  scheduler->Poke();
  SendJson(res, 200, PipelineJson(*v));
}

void ApiServer::Impl::DeletePipeline(const std::string& name, httplib::Response& res) {
  if (runner->PipelineActive(name)) {
    return SendError(
        res, 409, fmt::format("pipeline '{}' has a run queued or running: stop it or wait", name));
  }
  Status st = catalog->DeletePipeline(name);
  if (!st.ok()) return SendStatus(res, st);
  scheduler->Poke();
  res.status = 204;
}

void ApiServer::Impl::Links(const std::string& name, const httplib::Request& req,
                            httplib::Response& res) {
  auto config = catalog->ConfigFor(name);
  if (!config.ok()) return SendStatus(res, config.status());
  const PipelineConfig* p = (*config)->FindPipeline(name);
  std::optional<std::string> entity = StrParam(req, "entity");
  if (!entity) return SendError(res, 400, "query parameter 'entity' is required");
  if (std::find(p->entities.begin(), p->entities.end(), *entity) == p->entities.end()) {
    return SendError(
        res, 400,
        fmt::format("query parameter 'entity': pipeline '{}' has no entity '{}'", name, *entity));
  }
  std::optional<std::string> source_id = StrParam(req, "source_id");
  std::optional<std::string> target_id = StrParam(req, "target_id");
  std::optional<std::string> status = StrParam(req, "status");
  if ((source_id ? 1 : 0) + (target_id ? 1 : 0) + (status ? 1 : 0) > 1) {
    return SendError(res, 400, "give one of source_id, target_id and status");
  }
  if (status && *status != "failed" && *status != "synced" && *status != "deleted") {
    return SendError(res, 400, "query parameter 'status': expected failed, synced or deleted");
  }
  auto limit = IntParam(req, "limit", 100, 1, kPageMax);
  if (!limit.ok()) return SendStatus(res, limit.status());
  const ConnectionConfig* target = (*config)->FindConnection(p->target);
  auto conn = runner->options().env.open_connector(target->name, target->url);
  if (!conn.ok()) return SendStatus(res, conn.status());
  StateStore state(conn->get());
  std::vector<Link> links;
  if (source_id) {
    auto r = state.FindLinksBySource(name, *entity, {*source_id});
    if (!r.ok()) return SendStatus(res, r.status());
    for (auto& [id, l] : *r) links.push_back(l);
  } else if (target_id) {
    auto r = state.FindLinksByTarget(name, *entity, {*target_id});
    if (!r.ok()) return SendStatus(res, r.status());
    links = std::move(*r);
  } else {
    auto r =
        state.ListLinks(name, *entity, StrParam(req, "after"), static_cast<size_t>(*limit), status);
    if (!r.ok()) return SendStatus(res, r.status());
    links = std::move(*r);
  }
  json arr = json::array();
  for (const Link& l : links) {
    arr.push_back({{"source_id", l.source_id},
                   {"target_id", l.target_id ? json(*l.target_id) : json(nullptr)},
                   {"status", l.status},
                   {"attempts", l.attempts},
                   {"last_error", l.last_error},
                   {"synced_at", l.synced_at}});
  }
  SendJson(res, 200, {{"links", arr}});
}

void ApiServer::Impl::StartRun(const std::string& name, const std::string& kind,
                               const httplib::Request& req, httplib::Response& res) {
  auto body = Body(req, res, "POST",
                   kind == "diff" ? "/api/pipelines/{name}/diff" : "/api/pipelines/{name}/runs");
  if (!body) return;
  auto config = catalog->ConfigFor(name);
  if (!config.ok()) return SendStatus(res, config.status());
  // Checked here so that a bad request is a 400 now, not a failed run later.
  auto sync_request = SyncRequestFor(**config, name, kind, *body);
  if (!sync_request.ok()) return SendStatus(res, sync_request.status());
  if (Status st = CheckWhere(**config, *sync_request, runner->options().env.open_connector);
      !st.ok()) {
    return SendStatus(res, st);
  }
  auto job = runner->Submit(name, kind, "api", *body);
  if (!job.ok()) return SendStatus(res, job.status());
  auto snap = runner->Get(job->id);
  if (!snap.ok() || !*snap)
    return SendStatus(res, snap.ok() ? Status::Internal("lost") : snap.status());
  res.set_header("Location", "/api/runs/" + job->id);
  SendJson(res, 202, RunJson(**snap));
}

void ApiServer::Impl::Schedules(httplib::Response& res) {
  json arr = json::array();
  for (const ScheduleView& s : scheduler->List()) {
    arr.push_back({{"pipeline", s.pipeline},
                   {"schedule", s.schedule},
                   {"next_at", NullIfEmpty(s.next_at)},
                   {"last_tick", NullIfEmpty(s.last_tick)},
                   {"last_run_id", NullIfEmpty(s.last_job)}});
  }
  SendJson(res, 200, {{"schedules", arr}});
}

void ApiServer::Impl::ListRuns(const httplib::Request& req, httplib::Response& res) {
  JobFilter f;
  f.pipeline = StrParam(req, "pipeline");
  f.status = StrParam(req, "status");
  f.kind = StrParam(req, "kind");
  f.trigger = StrParam(req, "trigger");
  for (const auto& [name, value, allowed] :
       {std::tuple("status", f.status, Words(kRunStatuses)),
        std::tuple("kind", f.kind, Words(kRunKinds)),
        std::tuple("trigger", f.trigger, Words(kRunTriggers))}) {
    if (value && std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
      return SendError(res, 400,
                       fmt::format("query parameter '{}': expected one of {}; got '{}'", name,
                                   fmt::join(allowed, ", "), *value));
    }
  }
  f.before = StrParam(req, "before");
  auto limit = IntParam(req, "limit", 50, 1, 500);
  if (!limit.ok()) return SendStatus(res, limit.status());
  f.limit = static_cast<size_t>(*limit);
  auto jobs = store->ListJobs(f);
  if (!jobs.ok()) return SendStatus(res, jobs.status());
  json arr = json::array();
  for (Job& j : *jobs) {
    JobSnapshot snap;
    snap.job = std::move(j);
    if (snap.job.status == "queued" || snap.job.status == "running") {
      // The store's copy of an active run lags by up to a second: take the live one.
      auto live = runner->Get(snap.job.id);
      if (live.ok() && *live) snap = std::move(**live);
    }
    arr.push_back(RunJson(snap));
  }
  json next = nullptr;
  if (arr.size() == f.limit) next = arr.back()["id"];
  SendJson(res, 200, {{"runs", arr}, {"next_before", next}});
}

void ApiServer::Impl::GetRun(const std::string& id, httplib::Response& res) {
  auto snap = runner->Get(id);
  if (!snap.ok()) return SendStatus(res, snap.status());
  if (!*snap) return SendError(res, 404, fmt::format("no run '{}'", id));
  SendJson(res, 200, RunJson(**snap));
}

void ApiServer::Impl::StopRun(const std::string& id, httplib::Response& res) {
  auto snap = runner->Stop(id);
  if (!snap.ok()) return SendStatus(res, snap.status());
  SendJson(res, 202, RunJson(*snap));
}

void ApiServer::Impl::RunLogs(const std::string& id, const httplib::Request& req,
                              httplib::Response& res) {
  auto after = IntParam(req, "after", 0, 0, INT64_MAX);
  auto limit = IntParam(req, "limit", kPageMax, 1, kPageMax);
  if (!after.ok() || !limit.ok())
    return SendStatus(res, after.ok() ? limit.status() : after.status());
  auto job = store->GetJob(id);
  if (!job.ok()) return SendStatus(res, job.status());
  if (!*job) return SendError(res, 404, fmt::format("no run '{}'", id));
  auto logs = store->ListLogs(id, *after, static_cast<size_t>(*limit));
  if (!logs.ok()) return SendStatus(res, logs.status());
  json arr = json::array();
  int64_t next = *after;
  for (const LogLine& l : *logs) {
    arr.push_back(LogJson(l));
    next = l.seq;
  }
  SendJson(res, 200, {{"logs", arr}, {"next_after", next}});
}

void ApiServer::Impl::RunRecords(const std::string& id, const httplib::Request& req,
                                 httplib::Response& res, bool plan) {
  auto after = IntParam(req, "after", 0, 0, INT64_MAX);
  auto limit = IntParam(req, "limit", kPageMax, 1, kPageMax);
  if (!after.ok() || !limit.ok())
    return SendStatus(res, after.ok() ? limit.status() : after.status());
  auto snap = runner->Get(id);
  if (!snap.ok()) return SendStatus(res, snap.status());
  if (!*snap) return SendError(res, 404, fmt::format("no run '{}'", id));
  json request = json::parse((*snap)->job.request, nullptr, false);
  const bool is_plan =
      (*snap)->job.kind == "diff" || (request.is_object() && request.value("dry_run", false));
  if (plan && !is_plan) {
    return SendError(res, 409,
                     fmt::format("run {} is not a dry run or diff: its per-record results are at "
                                 "/api/runs/{}/records",
                                 id, id));
  }
  auto records =
      store->ListRecords(id, StrParam(req, "action"), *after, static_cast<size_t>(*limit));
  if (!records.ok()) return SendStatus(res, records.status());
  json arr = json::array();
  int64_t next = *after;
  for (const RecordLine& r : *records) {
    arr.push_back(RecordJson(r));
    next = r.seq;
  }
  json out = {{"records", arr}, {"next_after", next}};
  if (plan) out["run"] = RunJson(**snap);
  SendJson(res, 200, out);
}

void ApiServer::Impl::RunEvents(const std::string& id, httplib::Response& res) {
  auto first = runner->Get(id);
  if (!first.ok()) return SendStatus(res, first.status());
  if (!*first) return SendError(res, 404, fmt::format("no run '{}'", id));
  struct Stream {
    uint64_t seen = 0;
    int64_t after_log = 0;
    bool ended = false;
  };
  auto state = std::make_shared<Stream>();
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [this, id, state](size_t,
                                                                          httplib::DataSink& sink) {
    if (state->ended || stopping) {
      sink.done();
      return true;
    }
    auto snap = runner->WaitForChange(id, state->seen, state->after_log, std::chrono::seconds(15));
    if (!snap.ok() || !*snap) {
      sink.done();
      return true;
    }
    std::string out;
    if ((*snap)->version == state->seen && !(*snap)->finished) {
      out = ": keep-alive\n\n";  // nothing new for 15 s; tells proxies the stream lives
    }
    for (const LogLine& l : (*snap)->logs) {
      out += "event: log\ndata: " + JsonText(LogJson(l)) + "\n\n";
      state->after_log = l.seq;
    }
    const json run = RunJson(**snap);
    if ((*snap)->finished) {
      out += "event: end\ndata: " + JsonText(run) + "\n\n";
      state->ended = true;
    } else if ((*snap)->version != state->seen) {
      out += "event: progress\ndata: " + JsonText(run) + "\n\n";
    }
    state->seen = (*snap)->version;
    if (!sink.write(out.data(), out.size())) return false;
    if (state->ended) {
      sink.done();
    } else {
      // At most about five events a second per stream, however fast the run changes.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return true;
  });
}

void ApiServer::Impl::Register() {
  for (const Route& r : kRoutes) Add(r);

  // Runs before the body is read: a request answered here leaves its body unread, so its
  // connection closes after the answer (the body would otherwise be read as the next request).
  http->set_pre_routing_handler([this](const Req& req, Res& res) {
    auto answer = [&](int status, const std::string& message) {
      SendError(res, status, message);
      if (req.has_header("Transfer-Encoding") ||
          (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0")) {
        res.set_header("Connection", "close");
        HttpServer::CloseAfterResponse();
      }
      return httplib::Server::HandlerResponse::Handled;
    };
    if (req.method == "GET" && req.path == "/api/status")
      return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::optional<std::string_view> token = BearerToken(auth);
    if (!token || !SameSecret(*token, options.token)) {
      res.set_header("WWW-Authenticate", "Bearer");
      return answer(401, auth.empty() ? "this route needs Authorization: Bearer <token>"
                                      : "the bearer token is not the server's");
    }
    // The library would inflate a gzip (or deflate, br) body after checking only its
    // compressed size against max_body: 117 KB became 120 MB. Bodies come as they are.
    const std::string encoding = req.get_header_value("Content-Encoding");
    if (!encoding.empty() && !EqualsIgnoreCase(encoding, "identity")) {
      return answer(415, fmt::format("Content-Encoding '{}' is not accepted: send the body "
                                     "uncompressed (at most {} bytes)",
                                     encoding, options.max_body));
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http->set_error_handler([this](const Req& req, Res& res) {
    if (!res.body.empty()) return;
    // The connection's stream cut the body short (the library reports a 400).
    if (HttpServer::BodyTooLarge()) {
      return SendError(res, 413, fmt::format("the body is larger than {} bytes", options.max_body));
    }
    if (HttpServer::BodyTimedOut()) {
      return SendError(res, 408, "the body did not arrive in time");
    }
    if (res.status == 404) {
      for (const Route& r : kRoutes) {
        if (MatchesTemplate(req.path, r.path)) {
          res.status = 405;
          return SendError(res, 405, fmt::format("{} is not allowed on {}", req.method, req.path));
        }
      }
      return SendError(res, 404, fmt::format("no route {} {}", req.method, req.path));
    }
    if (res.status == 400 && (req.method == "POST" || req.method == "PUT") &&
        !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      return SendError(res, 400,
                       "a POST or PUT needs a body with a Content-Length: send {} when there "
                       "is nothing to say (curl --json '{}')");
    }
    if (res.status == 413) {
      return SendError(res, 413, fmt::format("the body is larger than {} bytes", options.max_body));
    }
    SendError(res, res.status, fmt::format("HTTP status {}", res.status));
  });
  http->set_exception_handler([](const Req&, Res& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, 500, "internal error: " + what);
  });
  http->set_logger([this](const Req&, const Res& res) {
    std::lock_guard<std::mutex> lk(counts_mu);
    ++responses[res.status];
  });
}

ApiServer::ApiServer(Catalog* catalog, JobRunner* runner, Scheduler* scheduler, ServerStore* store,
                     ApiOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->catalog = catalog;
  impl_->runner = runner;
  impl_->scheduler = scheduler;
  impl_->store = store;
  impl_->options = std::move(options);
  impl_->openapi = json::parse(kOpenApiJson);
  impl_->validator = std::make_unique<JsonSchemaValidator>(impl_->openapi);
  const ApiOptions& o = impl_->options;
  HttpLimits limits;
  limits.max_connections = o.max_connections;
  limits.max_connections_per_client = o.max_connections_per_client;
  limits.header_timeout = o.header_timeout;
  limits.max_body = o.max_body;
  limits.threads = o.http_threads;
  limits.nice = o.http_nice;
  impl_->http = std::make_unique<HttpServer>(limits);
  impl_->http->set_payload_max_length(impl_->options.max_body);
  impl_->http->set_keep_alive_max_count(1000);
  // The library listens with a backlog of 5 (compiled into Debian's build): with 100 clients
  // connecting at once the kernel drops the rest, and they retry after 1, 3, 7 s. Keep the
  // listening socket, so that Bind can listen again with the system's maximum.
  impl_->http->set_socket_options([this](int fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    impl_->listen_fd = fd;
  });
  impl_->Register();
}

ApiServer::~ApiServer() { Stop(); }

Result<int> ApiServer::Bind() {
  const ApiOptions& o = impl_->options;
  int port = o.port;
  if (o.port == 0) {
    port = impl_->http->bind_to_any_port(o.host);
    if (port <= 0) return Status::Io(fmt::format("cannot listen on {}: no free port", o.host));
  } else if (!impl_->http->bind_to_port(o.host, o.port)) {
    return Status::Io(fmt::format(
        "cannot listen on {}:{} (in use, or not an address of this machine)", o.host, o.port));
  }
  // Listening again on a listening socket only changes its backlog.
  if (impl_->listen_fd >= 0) ::listen(impl_->listen_fd, SOMAXCONN);
  return port;
}

void ApiServer::Listen() { impl_->http->Serve(); }

void ApiServer::Stop() {
  impl_->stopping = true;
  impl_->http->stop();
}

std::vector<std::pair<std::string, std::string>> ApiServer::Routes() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Impl::Route& r : Impl::kRoutes) out.emplace_back(r.method, r.path);
  return out;
}

}  // namespace tether
