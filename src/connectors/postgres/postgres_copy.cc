#include "connectors/postgres/postgres_copy.h"

#include <utility>

#include "connectors/postgres/postgres_binary.h"

namespace tether::postgres {
namespace {

// Bytes gathered before they are handed to libpq: small enough that the server starts on the
// first rows while later ones are still being prepared.
constexpr size_t kSendBytes = size_t{64} << 10;

}  // namespace

CopyWriter::CopyWriter(PGconn* conn, CopyWriter** slot, std::string context,
                       std::vector<std::string> columns, std::vector<TypeOid> binary_types)
    : conn_(conn),
      slot_(slot),
      context_(std::move(context)),
      columns_(std::move(columns)),
      binary_(std::move(binary_types)) {
  *slot_ = this;
  buffer_.reserve(kSendBytes + (kSendBytes >> 2));
  if (!binary_.empty()) AppendBinaryHeader(&buffer_);
}

CopyWriter::~CopyWriter() { Abandon(); }

void CopyWriter::Release() {
  if (slot_ && *slot_ == this) *slot_ = nullptr;
  slot_ = nullptr;
  conn_ = nullptr;
}

Status CopyWriter::Send() {
  if (buffer_.empty()) return Status::OK();
  if (PQputCopyData(conn_, buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
    return Fail(ConnError(conn_, context_));
  }
  buffer_.clear();
  return Status::OK();
}

Status CopyWriter::Add(std::vector<Row> rows) {
  for (const Row& row : rows) TETHER_RETURN_IF_ERROR(Append(row));
  return Status::OK();
}

Status CopyWriter::Append(const Row& row) {
  if (!failed_.ok()) return failed_;
  if (!conn_) return Status::Internal(context_ + ": the bulk insert was already ended");
  ++rows_;
  if (row.size() != columns_.size()) {
    return Fail(Status::InvalidArgument(context_ + ": a row has " + std::to_string(row.size()) +
                                        " values, expected " + std::to_string(columns_.size())));
  }
  if (!binary_.empty()) {
    const size_t start = buffer_.size();
    AppendBinaryRowStart(row.size(), &buffer_);
    for (size_t i = 0; i < row.size(); ++i) {
      if (!AppendBinaryField(row[i], binary_[i], &buffer_)) {
        buffer_.resize(start);
        return Fail(Status::InvalidRecord(context_ + " (row " + std::to_string(rows_) +
                                          "): the value for column '" + columns_[i] +
                                          "' has no binary form for its type; it goes as text"));
      }
    }
    if (buffer_.size() >= kSendBytes) return Send();
    return Status::OK();
  }
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) buffer_ += '\t';
    if (!AppendCopyField(row[i], &buffer_)) {
      return Fail(Status::InvalidRecord(context_ + " (row " + std::to_string(rows_) +
                                        "): the text for column '" + columns_[i] +
                                        "' holds a NUL character, which PostgreSQL cannot store"));
    }
  }
  buffer_ += '\n';
  if (buffer_.size() >= kSendBytes) return Send();
  return Status::OK();
}

Status CopyWriter::Finish() {
  if (!failed_.ok()) return failed_;
  if (!conn_) return Status::Internal(context_ + ": the bulk insert was already ended");
  if (!binary_.empty()) AppendBinaryTrailer(&buffer_);
  TETHER_RETURN_IF_ERROR(Send());
  PGconn* conn = conn_;
  Release();
  if (PQputCopyEnd(conn, nullptr) != 1) {
    failed_ = ConnError(conn, context_);
  } else {
    ResultHandle done(PQgetResult(conn));
    if (!done) {
      failed_ = ConnError(conn, context_);
    } else if (PQresultStatus(done.get()) != PGRES_COMMAND_OK) {
      std::string context = context_;
      // The line COPY stopped at is the row's number among all rows added.
      if (size_t line = CopyErrorLine(done.get()); line > 0) {
        context += " (row " + std::to_string(line) + " of " + std::to_string(rows_) + ")";
      }
      failed_ = ResultError(conn, done.get(), context);
    }
  }
  while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
  return failed_;
}

Status CopyWriter::Fail(Status why) {
  failed_ = std::move(why);
  Abandon();
  return failed_;
}

void CopyWriter::Abandon() {
  if (!conn_) return;
  PGconn* conn = conn_;
  Release();
  buffer_.clear();
  if (failed_.ok()) failed_ = Status::Internal(context_ + ": the bulk insert was abandoned");
  if (PQputCopyEnd(conn, "abandoned by tether") == 1) {
    while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
  }
}

void CopyWriter::Orphan() {
  Release();
  if (failed_.ok()) failed_ = Status::Connection(context_ + ": the connection was closed");
}

}  // namespace tether::postgres
