// ApiServer: `tether serve`'s HTTP face — the REST API documented in src/server/openapi.json,
// Prometheus metrics and run events — over the Catalog, JobRunner and Scheduler, which hold all the
// logic. Handlers run on the HTTP library's thread pool; the objects it is given must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "server/catalog.h"
#include "server/job_runner.h"
#include "server/scheduler.h"

namespace httplib {
class Server;
}

namespace tether {

struct ApiOptions {
  std::string host = "127.0.0.1";
  int port = 8080;    // 0: any free port (Bind says which)
  std::string token;  // required on every route but GET /api/status
  size_t max_body = 1 << 20;
  int max_connections = 1024;            // HTTP connections at once (server/http_server.h)
  int max_connections_per_client = 128;  // of them from one client address
  std::chrono::milliseconds header_timeout{10'000};  // for a request's line and headers
  int http_threads = 256;                            // event streams hold a thread each while open
  int http_nice = 10;  // the HTTP threads' nice value: below the job runner's
};

class ApiServer {
 public:
  ApiServer(Catalog* catalog, JobRunner* runner, Scheduler* scheduler, ServerStore* store,
            ApiOptions options);
  ~ApiServer();

  // Binds the listening socket; returns the port.
  Result<int> Bind();
  // Serves until Stop() (from any thread or a signal-watching thread).
  void Listen();
  void Stop();

  // Every route as (method, OpenAPI path template), for the test that keeps the document true.
  static std::vector<std::pair<std::string, std::string>> Routes();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tether
