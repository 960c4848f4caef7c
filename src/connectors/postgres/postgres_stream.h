// The RowStreams of the PostgreSQL connector's Scan: a complete page, or an unbounded scan in
// libpq's single-row mode. Private to the connector; used by the thread that uses the
// connector, and never after the connector is gone.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/postgres/postgres_values.h"

namespace tether::postgres {

// A complete result (one keyset page), read row by row. It holds no claim on the connection,
// so other calls may run while it is being read; memory is bounded by the page size.
class PageStream final : public RowStream {
 public:
  explicit PageStream(ResultHandle result);
  Result<bool> Next(Row* row) override;

 private:
  ResultHandle result_;
  std::vector<FieldKind> kinds_;
  int rows_;
  int next_ = 0;
};

// An unbounded scan in single-row mode: rows are converted as they arrive, so memory stays
// bounded by one row. While it runs, the query owns the connection: the connector keeps a pointer
// to the running stream in `*slot` and, before it sends anything else, calls Detach(), which
// reads the rest into memory so that interleaved calls stay correct.
class SingleRowStream final : public RowStream {
 public:
  // The query has been sent in single-row mode on `conn`; `in_transaction` says whether it runs
  // inside a transaction block. Registers itself in `*slot`.
  SingleRowStream(PGconn* conn, SingleRowStream** slot, std::string context, bool in_transaction);
  // Stops a query still running: cancelled outside a transaction; inside one (where a cancel
  // would abort the caller's transaction) read to its end and dropped.
  ~SingleRowStream() override;
  SingleRowStream(const SingleRowStream&) = delete;
  SingleRowStream& operator=(const SingleRowStream&) = delete;

  // Reads the first result, so that an error in the statement (a missing table) is reported by
  // Scan itself.
  Status Start();
  Result<bool> Next(Row* row) override;

  // The connection is needed for another command: read the remaining rows into memory.
  void Detach();
  // The connection is closing: the stream ends with an error instead of reading on.
  void Abandon();

 private:
  // Reads the next result: a row (true), the end (false) or the query's error.
  Result<bool> Fetch(Row* row);
  // Reads what is left of the query (nothing, or the rows after a cancel) and frees the
  // connection for the next command.
  void Finish();

  PGconn* conn_;
  SingleRowStream** slot_;  // the connector's "query in progress"
  std::string context_;     // the start of error messages
  bool in_transaction_;
  std::vector<FieldKind> kinds_;
  bool have_kinds_ = false;
  std::deque<Row> buffered_;
  Status deferred_;  // an error met while detaching, for the next Next()
  bool active_ = true;
};

}  // namespace tether::postgres
