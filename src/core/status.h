// Status and Result<T>: how expected failures travel through tether.
// A Status carries a code that says whether a retry can help, so retry policy never parses text.
// Value types; safe to copy between threads.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tether {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // a caller passed something malformed (CLI flag, API field)
  kConfig,           // the configuration is wrong
  kNotFound,         // a table, column, record, run or file does not exist
  kAlreadyExists,
  kConnection,        // cannot reach / open / authenticate a connection
  kPermissionDenied,  // reachable, but not allowed (read-only file, grants)
  kBusy,              // locked by someone else; retry later
  kTryAgain,          // transient; retry now
  kTimedOut,
  kConstraint,     // the target refused a row (unique, not null, foreign key, check)
  kInvalidRecord,  // a record failed validation or type coercion
  kPolicy,         // a policy (on_invalid / on_duplicate = error) stopped the run
  kIo,
  kCancelled,
  kUnsupported,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status Config(std::string m) { return {StatusCode::kConfig, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Connection(std::string m) { return {StatusCode::kConnection, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status Busy(std::string m) { return {StatusCode::kBusy, std::move(m)}; }
  static Status TryAgain(std::string m) { return {StatusCode::kTryAgain, std::move(m)}; }
  static Status TimedOut(std::string m) { return {StatusCode::kTimedOut, std::move(m)}; }
  static Status Constraint(std::string m) { return {StatusCode::kConstraint, std::move(m)}; }
  static Status InvalidRecord(std::string m) { return {StatusCode::kInvalidRecord, std::move(m)}; }
  static Status Policy(std::string m) { return {StatusCode::kPolicy, std::move(m)}; }
  static Status Io(std::string m) { return {StatusCode::kIo, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // True when the same call may succeed later without any change by the user.
  bool IsRetryable() const {
    return code_ == StatusCode::kBusy || code_ == StatusCode::kTryAgain ||
           code_ == StatusCode::kTimedOut || code_ == StatusCode::kConnection;
  }

  // "context: message", keeping the code.
  Status WithContext(std::string_view context) const;

  // "<CodeName>: message", for logs.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Several problems found at once (a config's, a pipeline's tables and columns): OK when there
// are none, the one itself, or the first one's code with every message, one per line.
Status Problems(const std::vector<Status>& problems);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tether

#define TETHER_CONCAT_INNER_(a, b) a##b
#define TETHER_CONCAT_(a, b) TETHER_CONCAT_INNER_(a, b)

#define TETHER_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::tether::Status tether_status_ = (expr);        \
    if (!tether_status_.ok()) return tether_status_; \
  } while (0)

#define TETHER_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#define TETHER_ASSIGN_OR_RETURN(lhs, expr) \
  TETHER_ASSIGN_OR_RETURN_IMPL_(TETHER_CONCAT_(tether_result_, __LINE__), lhs, expr)
