#include "server/http_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>

namespace tether {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Refused connections drain their input this long after the answer (so that the client reads
// the answer instead of a reset), at most this many at once (beyond, they close at once).
constexpr milliseconds kLinger{1000};
constexpr int64_t kMaxClosing = 1024;
// Chunked framing on top of max_body: a body's bytes on the wire may be a little more than the
// body itself. Its decoded size is checked against max_body by the handler.
constexpr size_t kFramingAllowance = 64 * 1024;

int PollOne(int fd, short events, milliseconds timeout) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int r = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(timeout.count(), 0)));
    if (r >= 0 || errno != EINTR) return r;
  }
}

void AddressOf(const sockaddr_storage& addr, std::string* ip, int* port) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    *port = ntohs(a.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    *port = ntohs(a.sin6_port);
  }
  *ip = text;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 408:
      return "Request Timeout";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Service Unavailable";
  }
}

milliseconds TimeoutOf(time_t sec, time_t usec) {
  return milliseconds(static_cast<int64_t>(sec) * 1000 + static_cast<int64_t>(usec) / 1000);
}

}  // namespace

struct HttpServer::Connection {
  int fd = -1;
  std::string client;  // the peer's address: what the per-client cap counts
  int client_port = 0;
  std::string local;
  int local_port = 0;
  bool counted = false;  // holds a place under the caps
  // Bytes received and not handed to the library yet: a request head as the poll thread read
  // it, and whatever came with it (the start of the body, a pipelined request).
  std::string in;
  size_t in_off = 0;        // handed to the library
  size_t scan = 0;          // where the search for the head's end goes on (a line's start)
  bool first_line = true;   // the search is still in the request line
  bool head_ready = false;  // the search found the head's end
  size_t head_size = 0;     // of the request being served, from in_off
  Clock::time_point since;  // waiting for a request since (accepted, or the last response)
  bool closing = false;     // refused: answered, its input drained until closed
  Clock::time_point closing_until;
  size_t requests = 0;
  bool close_after = false;  // the handler answered without reading the body
  bool body_too_large = false;
  bool body_timed_out = false;

  bool Buffered() const { return in_off < in.size(); }

  // Whether `in` holds a whole request head: the request line, then header lines up to an
  // empty one ("\r\n"), as the library reads them (a bare "\n" line is a skipped header).
  bool HeadComplete() {
    while (!head_ready) {
      const size_t nl = in.find('\n', scan);
      if (nl == std::string::npos) return false;
      const size_t start = scan;
      scan = nl + 1;
      if (first_line) {
        first_line = false;
        continue;
      }
      if (nl == start + 1 && in[start] == '\r') {
        head_size = scan - in_off;
        head_ready = true;
      }
    }
    return true;
  }

  // Before waiting for the next request: what the last one left unread stays, for the next.
  void NextRequest() {
    in.erase(0, in_off);
    in_off = 0;
    scan = 0;
    first_line = true;
    head_ready = false;
    head_size = 0;
    since = Clock::now();
  }
};

thread_local HttpServer::Connection* HttpServer::current_ = nullptr;

// What the library reads a request from and writes its response to: the head (and what came
// with it) from the connection's buffer, the rest from the socket — the body within its size
// and time bounds.
class HttpServer::ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(Connection& c, milliseconds read_timeout, milliseconds write_timeout,
                   const HttpLimits& limits)
      : c_(c),
        read_timeout_(read_timeout),
        write_timeout_(write_timeout),
        body_deadline_(Clock::now() + limits.body_timeout),
        body_budget_(limits.max_body + kFramingAllowance) {}

  bool failed() const { return failed_; }

  bool is_readable() const override {
    return c_.Buffered() || PollOne(c_.fd, POLLIN, read_timeout_) > 0;
  }
  bool is_writable() const override {
    return PollOne(c_.fd, POLLOUT, write_timeout_) > 0 && Alive();
  }

  ssize_t read(char* ptr, size_t size) override {
    if (c_.Buffered()) {
      const size_t n = std::min(size, c_.in.size() - c_.in_off);
      std::memcpy(ptr, c_.in.data() + c_.in_off, n);
      c_.in_off += n;
      served_ += n;
      return static_cast<ssize_t>(n);
    }
    // Past what the poll thread read: the body.
    const size_t body = served_ > c_.head_size ? served_ - c_.head_size : 0;
    if (body >= body_budget_) {
      c_.body_too_large = true;
      return Fail();
    }
    const auto left = std::chrono::duration_cast<milliseconds>(body_deadline_ - Clock::now());
    if (left.count() <= 0 || PollOne(c_.fd, POLLIN, std::min(read_timeout_, left)) <= 0) {
      if (Clock::now() >= body_deadline_) c_.body_timed_out = true;
      return Fail();
    }
    const ssize_t n = ::recv(c_.fd, ptr, std::min(size, body_budget_ - body), 0);
    if (n <= 0) return Fail();
    served_ += static_cast<size_t>(n);
    return n;
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return Fail();
    const ssize_t n = ::send(c_.fd, ptr, size, MSG_NOSIGNAL);
    return n < 0 ? Fail() : n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.client;
    port = c_.client_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local;
    port = c_.local_port;
  }
  socket_t socket() const override { return c_.fd; }

 private:
  ssize_t Fail() {
    failed_ = true;
    return -1;
  }
  // The client has not closed its side (as the library's own stream checks before writing).
  bool Alive() const {
    if (PollOne(c_.fd, POLLIN, milliseconds(0)) <= 0) return true;
    char byte;
    return ::recv(c_.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
  }

  Connection& c_;
  const milliseconds read_timeout_;
  const milliseconds write_timeout_;
  const Clock::time_point body_deadline_;
  const size_t body_budget_;
  size_t served_ = 0;
  bool failed_ = false;
};

// The pool requests are served on, its threads at a lower CPU priority than the job runner's:
// on a small machine a hundred clients polling must not starve the syncs they are watching
// (measured: 100 pollers made a PostgreSQL copy 16x slower at the same priority).
class HttpServer::WorkerPool {
 public:
  WorkerPool(int threads, int nice) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, nice] {
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice);  // best effort
        for (;;) {
          std::function<void()> fn;
          {
            std::unique_lock<std::mutex> lk(mu_);
            cv_.wait(lk, [&] { return stop_ || !jobs_.empty(); });
            if (stop_ && jobs_.empty()) return;
            fn = std::move(jobs_.front());
            jobs_.pop_front();
          }
          fn();
        }
      });
    }
  }
  void Enqueue(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      jobs_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }
  // Runs what is queued, then joins the threads.
  void Shutdown() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

namespace {

// The library's accept loop hands each accepted socket to its task queue: this one calls
// process_and_close_socket at once, on the accept thread, which only admits or refuses.
class InlineQueue final : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

}  // namespace

HttpServer::HttpServer(HttpLimits limits) : limits_(limits) {
  new_task_queue = [] { return new InlineQueue; };
}

HttpServer::~HttpServer() { Shutdown(); }

void HttpServer::Serve() {
  // A connection is a file descriptor: let the caps, not the process's soft limit, decide.
  rlimit nofile{};
  const rlim_t wanted = static_cast<rlim_t>(limits_.max_connections) + 1024;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < wanted) {
    nofile.rlim_cur = std::min(wanted, nofile.rlim_max);
    setrlimit(RLIMIT_NOFILE, &nofile);  // best effort
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  pool_ = std::make_unique<WorkerPool>(limits_.threads, limits_.nice);
  poller_ = std::thread([this] { PollLoop(); });
  listen_after_bind();
  Shutdown();
}

void HttpServer::Shutdown() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  if (poller_.joinable()) poller_.join();
  if (pool_) pool_->Shutdown();  // the requests being served finish; their connections close
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
    wake_fd_ = -1;
  }
}

HttpConnectionStats HttpServer::Stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  return {open_, waiting_, refused_};
}

void HttpServer::CloseAfterResponse() {
  if (current_) current_->close_after = true;
}
bool HttpServer::BodyTooLarge() { return current_ && current_->body_too_large; }
bool HttpServer::BodyTimedOut() { return current_ && current_->body_timed_out; }

bool HttpServer::process_and_close_socket(socket_t sock) {
  auto c = std::make_shared<Connection>();
  c->fd = sock;
  c->since = Clock::now();
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    AddressOf(addr, &c->client, &c->client_port);
  }
  len = sizeof addr;
  if (::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    AddressOf(addr, &c->local, &c->local_port);
  }
  // Headers and body go out in two writes: without TCP_NODELAY the body waits for the client's
  // delayed ACK, 40 ms on every request of a keep-alive connection after the first.
  const int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const char* refused = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) {
      refused = "stopping";
    } else if (open_ >= limits_.max_connections) {
      refused = "max_connections";
    } else if (per_client_[c->client] >= limits_.max_connections_per_client) {
      refused = "max_connections_per_client";
    } else {
      ++open_;
      ++per_client_[c->client];
      c->counted = true;
    }
    if (per_client_[c->client] == 0) per_client_.erase(c->client);
  }
  if (refused == nullptr) {
    Park(std::move(c));
  } else if (std::string_view(refused) == "max_connections_per_client") {
    Refuse(std::move(c), 429, "too_many_requests",
           fmt::format("this client has {} connections open, the most the server takes from one "
                       "(server.max_connections_per_client)",
                       limits_.max_connections_per_client),
           refused);
  } else {
    Refuse(std::move(c), 503, "unavailable",
           fmt::format("the server has {} connections open, the most it takes "
                       "(server.max_connections); try again shortly",
                       limits_.max_connections),
           refused);
  }
  return true;
}

void HttpServer::Park(std::shared_ptr<Connection> c) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!stopping_) {
      if (!c->closing) c->NextRequest();
      incoming_.push_back(std::move(c));
    }
  }
  if (c) {  // not handed over: the server is stopping
    Close(*c);
    return;
  }
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void HttpServer::Dispatch(std::shared_ptr<Connection> c) {
  pool_->Enqueue([this, c = std::move(c)] { ServeRequest(c); });
}

void HttpServer::ServeRequest(const std::shared_ptr<Connection>& c) {
  current_ = c.get();
  c->close_after = c->body_too_large = c->body_timed_out = false;
  ConnectionStream stream(*c, TimeoutOf(read_timeout_sec_, read_timeout_usec_),
                          TimeoutOf(write_timeout_sec_, write_timeout_usec_), limits_);
  const bool last = ++c->requests >= keep_alive_max_count_ || svr_sock_ == INVALID_SOCKET;
  bool closed_by_client = false;
  const bool ok = process_request(stream, last, closed_by_client, nullptr);
  current_ = nullptr;
  if (c->body_too_large || c->body_timed_out) {
    std::lock_guard<std::mutex> lk(mu_);
    ++refused_[c->body_too_large ? "body_too_large" : "body_timeout"];
  }
  if (ok && !last && !closed_by_client && !c->close_after && !stream.failed() &&
      svr_sock_ != INVALID_SOCKET) {
    Park(c);
  } else {
    Close(*c);
  }
}

void HttpServer::Refuse(std::shared_ptr<Connection> c, int status, const char* code,
                        const std::string& message, const char* reason) {
  Release(*c);
  const std::string body =
      fmt::format(R"({{"error":{{"code":"{}","message":"{}"}}}})", code, message);
  const std::string text = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
      "Connection: close\r\n{}\r\n{}",
      status, ReasonPhrase(status), body.size(),
      status == 429 || status == 503 ? "Retry-After: 1\r\n" : "", body);
  // A fresh socket's send buffer takes a few hundred bytes at once; if it does not, the client
  // is not reading anyway.
  (void)!::send(c->fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(c->fd, SHUT_WR);
  bool linger = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++refused_[reason];
    if (!stopping_ && closing_ < kMaxClosing) {
      ++closing_;
      linger = true;
    }
  }
  if (!linger) {
    Close(*c);
    return;
  }
  // Closing a socket whose input was not read resets it, and the client may lose the answer:
  // read what it sends until it closes, for a moment, in the poll thread.
  c->closing = true;
  c->closing_until = Clock::now() + kLinger;
  Park(std::move(c));
}

void HttpServer::Release(Connection& c) {
  if (!c.counted) return;
  std::lock_guard<std::mutex> lk(mu_);
  --open_;
  auto it = per_client_.find(c.client);
  if (it != per_client_.end() && --it->second <= 0) per_client_.erase(it);
  c.counted = false;
}

void HttpServer::Close(Connection& c) {
  if (c.fd >= 0) {
    ::shutdown(c.fd, SHUT_RDWR);
    ::close(c.fd);
    c.fd = -1;
  }
  Release(c);
  if (c.closing) {
    std::lock_guard<std::mutex> lk(mu_);
    --closing_;
    c.closing = false;
  }
}

void HttpServer::PollLoop() {
  std::vector<std::shared_ptr<Connection>> waiting;
  std::vector<pollfd> fds;
  char buffer[16 * 1024];
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (std::shared_ptr<Connection>& c : incoming_) waiting.push_back(std::move(c));
      incoming_.clear();
      if (stopping_) break;
    }
    // Heads already in (a pipelined request) go to the pool; deadlines passed end connections.
    const Clock::time_point now = Clock::now();
    Clock::time_point next = now + milliseconds(1000);
    for (std::shared_ptr<Connection>& c : waiting) {
      if (!c->closing && c->HeadComplete()) {
        Dispatch(std::move(c));
        continue;
      }
      const Clock::time_point deadline = c->closing      ? c->closing_until
                                         : c->Buffered() ? c->since + limits_.header_timeout
                                                         : c->since + limits_.idle_timeout;
      if (deadline > now) {
        next = std::min(next, deadline);
        continue;
      }
      if (c->closing || !c->Buffered()) {
        Close(*c);  // drained long enough, or an idle connection: nothing to answer
        c.reset();
      } else {
        Refuse(std::move(c), 408, "request_timeout",
               fmt::format("the request's line and headers did not arrive within {} ms "
                           "(server.header_timeout)",
                           limits_.header_timeout.count()),
               "header_timeout");
      }
    }
    std::erase(waiting, nullptr);
    {
      std::lock_guard<std::mutex> lk(mu_);
      waiting_ = static_cast<int64_t>(
          std::count_if(waiting.begin(), waiting.end(), [](const auto& c) { return !c->closing; }));
    }

    fds.assign(1, pollfd{wake_fd_, POLLIN, 0});
    for (const std::shared_ptr<Connection>& c : waiting) fds.push_back({c->fd, POLLIN, 0});
    const auto timeout = std::chrono::duration_cast<milliseconds>(next - now) + milliseconds(1);
    if (::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) < 0 && errno != EINTR) {
      break;  // not expected; the connections close below
    }
    if (fds[0].revents != 0) {
      uint64_t n;
      (void)!::read(wake_fd_, &n, sizeof n);
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      std::shared_ptr<Connection>& c = waiting[i - 1];
      for (;;) {
        const ssize_t n = ::recv(c->fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        if (n <= 0) {  // the client closed, or the connection failed
          Close(*c);
          c.reset();
          break;
        }
        if (c->closing) continue;  // drained, not read
        c->in.append(buffer, static_cast<size_t>(n));
        if (c->HeadComplete()) break;  // the pool takes it at the top of the loop
        if (c->in.size() - c->in_off > limits_.max_head) {
          Refuse(std::move(c), 431, "headers_too_large",
                 fmt::format("the request's line and headers are longer than {} bytes",
                             limits_.max_head),
                 "head_too_large");
          break;
        }
      }
    }
    std::erase(waiting, nullptr);
  }
  for (std::shared_ptr<Connection>& c : waiting) Close(*c);
  std::vector<std::shared_ptr<Connection>> left;
  {
    std::lock_guard<std::mutex> lk(mu_);
    left.swap(incoming_);
  }
  for (std::shared_ptr<Connection>& c : left) Close(*c);
}

}  // namespace tether
