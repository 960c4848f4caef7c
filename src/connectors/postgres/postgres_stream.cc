#include "connectors/postgres/postgres_stream.h"

#include <utility>

namespace tether::postgres {

PageStream::PageStream(ResultHandle result)
    : result_(std::move(result)),
      kinds_(FieldKinds(result_.get())),
      rows_(PQntuples(result_.get())) {}

Result<bool> PageStream::Next(Row* row) {
  if (next_ >= rows_) {
    result_.reset();  // done: free the page now, not when the stream dies
    return false;
  }
  ReadRow(result_.get(), next_++, kinds_, row);
  return true;
}

SingleRowStream::SingleRowStream(PGconn* conn, SingleRowStream** slot, std::string context,
                                 bool in_transaction)
    : conn_(conn), slot_(slot), context_(std::move(context)), in_transaction_(in_transaction) {
  *slot_ = this;
}

SingleRowStream::~SingleRowStream() {
  if (!active_) return;
  if (!in_transaction_) {
    if (PGcancel* cancel = PQgetCancel(conn_)) {
      char error[256];
      (void)PQcancel(cancel, error, sizeof error);  // too late to cancel is fine too
      PQfreeCancel(cancel);
    }
  }
  Finish();
}

Status SingleRowStream::Start() {
  Row row;
  auto more = Fetch(&row);
  if (!more.ok()) return more.status();
  if (*more) buffered_.push_back(std::move(row));
  return Status::OK();
}

Result<bool> SingleRowStream::Next(Row* row) {
  if (!buffered_.empty()) {
    *row = std::move(buffered_.front());
    buffered_.pop_front();
    return true;
  }
  if (!deferred_.ok()) return std::exchange(deferred_, Status::OK());
  if (!active_) return false;
  return Fetch(row);
}

void SingleRowStream::Detach() {
  while (active_) {
    Row row;
    auto more = Fetch(&row);
    if (!more.ok()) {
      deferred_ = more.status();
      break;
    }
    if (!*more) break;
    buffered_.push_back(std::move(row));
  }
}

void SingleRowStream::Abandon() {
  if (*slot_ == this) *slot_ = nullptr;
  active_ = false;
  deferred_ = Status::Connection(context_ + ": the connection was closed during the scan");
}

Result<bool> SingleRowStream::Fetch(Row* row) {
  ResultHandle result(PQgetResult(conn_));
  if (!result) {
    Finish();
    return false;
  }
  switch (PQresultStatus(result.get())) {
    case PGRES_SINGLE_TUPLE:
      if (!have_kinds_) {
        kinds_ = FieldKinds(result.get());
        have_kinds_ = true;
      }
      ReadRow(result.get(), 0, kinds_, row);
      return true;
    case PGRES_TUPLES_OK:
      Finish();
      return false;
    default: {
      Status error = ResultError(conn_, result.get(), context_);
      Finish();
      return error;
    }
  }
}

void SingleRowStream::Finish() {
  while (PGresult* rest = PQgetResult(conn_)) PQclear(rest);
  if (*slot_ == this) *slot_ = nullptr;
  active_ = false;
}

}  // namespace tether::postgres
