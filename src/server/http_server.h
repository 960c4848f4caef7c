// HttpServer: cpp-httplib's Server with connection handling of tether's own, so that slow or
// numerous clients cannot take the API away from the others. The library gives every accepted
// connection a pool thread that blocks in recv until the request has arrived: 300 clients that
// sent one header line a second held every thread, and /api/status went unanswered. Here a
// connection waits for its request head in one poll thread, which holds no pool thread and
// gives up after `header_timeout`; only a complete head takes a pool thread, where the library's
// own request processing (parsing, routing, handlers, the response) runs on a stream of ours
// that bounds the body by size and time. Between the requests of a keep-alive connection the
// connection waits in the poll thread again. Connections are counted in total and per client
// address, and refused (503 / 429) beyond the caps.
//
// Threading: Serve runs the accept loop on the calling thread until Stop (any thread);
// handlers run on the pool; the static calls below are for handlers, about their own request.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tether {

struct HttpLimits {
  int max_connections = 1024;            // open at once, waiting or being served
  int max_connections_per_client = 128;  // of them from one client address
  // From the moment a connection waits for a request (accepted, or its previous response
  // sent) until the request's head (request line and headers) is complete: 408 after it.
  std::chrono::milliseconds header_timeout{10'000};
  // A keep-alive connection with no byte of a next request is closed after this.
  std::chrono::milliseconds idle_timeout{5'000};
  // The body of a request, once its head is in: 408 after it.
  std::chrono::milliseconds body_timeout{60'000};
  size_t max_head = 64 * 1024;  // bytes of request line and headers: 431 beyond
  size_t max_body = 1 << 20;    // a body larger is refused (413) without being held whole
  int threads = 256;            // the pool; event streams hold one each while open
  int nice = 10;                // the pool threads' nice value
};

struct HttpConnectionStats {
  int64_t open = 0;                        // waiting for a request or being served
  int64_t waiting = 0;                     // of them, waiting for a request in the poll thread
  std::map<std::string, int64_t> refused;  // reason -> connections refused or cut since start
};

class HttpServer : public httplib::Server {
 public:
  explicit HttpServer(HttpLimits limits);
  ~HttpServer() override;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Accepts and serves connections on the bound socket until stop(); then closes the waiting
  // connections and waits for the requests being served.
  void Serve();

  HttpConnectionStats Stats() const;

  // For a handler answering its request without reading its body (401, 415): the connection
  // closes after the response, since the unread body would otherwise be read as a request.
  static void CloseAfterResponse();
  // Whether the body of the calling handler's request broke the size bound or the time bound
  // (the library then reports a 400: the error handler says which it was).
  static bool BodyTooLarge();
  static bool BodyTimedOut();

 private:
  struct Connection;
  class ConnectionStream;
  class WorkerPool;

  // Called by the library's accept loop (on its thread, through an inline task queue) for each
  // accepted socket: admits it or refuses it, never blocks.
  bool process_and_close_socket(socket_t sock) override;

  void PollLoop();
  void Park(std::shared_ptr<Connection> c);  // wait for the connection's next request
  void Dispatch(std::shared_ptr<Connection> c);
  void ServeRequest(const std::shared_ptr<Connection>& c);
  // Answers `status` and closes the connection once the client has read it (or soon after).
  void Refuse(std::shared_ptr<Connection> c, int status, const char* code,
              const std::string& message, const char* reason);
  void Release(Connection& c);  // gives its place under the caps back
  void Close(Connection& c);
  void Shutdown();

  static thread_local Connection* current_;  // the connection a pool thread is serving

  HttpLimits limits_;
  std::unique_ptr<WorkerPool> pool_;
  std::thread poller_;
  int wake_fd_ = -1;  // eventfd: new connections to wait on, or shutdown

  mutable std::mutex mu_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<Connection>> incoming_;  // for the poll thread to take
  int64_t open_ = 0;
  int64_t waiting_ = 0;
  int64_t closing_ = 0;  // refused, draining: bounded, and holding no place under the caps
  std::map<std::string, int> per_client_;
  std::map<std::string, int64_t> refused_;
};

}  // namespace tether
