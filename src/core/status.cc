#include "core/status.h"

#include <string>

namespace tether {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case StatusCode::kConfig:
      return "ConfigError";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case StatusCode::kConnection:
      return "ConnectionError";
    case StatusCode::kPermissionDenied:
      return "PermissionDenied";
    case StatusCode::kBusy:
      return "Busy";
    case StatusCode::kTryAgain:
      return "TryAgain";
    case StatusCode::kTimedOut:
      return "TimedOut";
    case StatusCode::kConstraint:
      return "ConstraintViolation";
    case StatusCode::kInvalidRecord:
      return "InvalidRecord";
    case StatusCode::kPolicy:
      return "PolicyStop";
    case StatusCode::kIo:
      return "IoError";
    case StatusCode::kCancelled:
      return "Cancelled";
    case StatusCode::kUnsupported:
      return "Unsupported";
    case StatusCode::kInternal:
      return "Internal";
  }
  return "Unknown";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

Status Problems(const std::vector<Status>& problems) {
  if (problems.empty()) return Status::OK();
  if (problems.size() == 1) return problems[0];
  std::string all;
  for (const Status& s : problems) all += (all.empty() ? "" : "\n") + s.message();
  return Status(problems[0].code(), std::move(all));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(StatusCodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

}  // namespace tether
