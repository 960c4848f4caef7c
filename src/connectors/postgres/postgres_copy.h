// The PostgreSQL connector's BulkWriter: one COPY ... FROM STDIN kept open across Add calls, so
// that the server parses and stores rows while the caller prepares the next ones. Private to
// the connector; used by the thread that uses the connector.
#pragma once

#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/postgres/postgres_dialect.h"
#include "connectors/postgres/postgres_values.h"

namespace tether::postgres {

class CopyWriter final : public BulkWriter {
 public:
  // The COPY has been started on `conn` (PGRES_COPY_IN). Registers itself in `*slot`, the
  // connector's "COPY in progress", until it is finished or abandoned. With `binary_types`
  // (one per column, see postgres_binary.h) the COPY was started with FORMAT binary.
  CopyWriter(PGconn* conn, CopyWriter** slot, std::string context, std::vector<std::string> columns,
             std::vector<TypeOid> binary_types = {});
  ~CopyWriter() override;
  CopyWriter(const CopyWriter&) = delete;
  CopyWriter& operator=(const CopyWriter&) = delete;

  Status Add(std::vector<Row> rows) override;
  // One row, for callers that keep their rows.
  Status Append(const Row& row);
  Status Finish() override;

  // The connection is needed for something else: end the COPY with an error, so that nothing
  // of it is written (the transaction fails), and read the server's answer.
  void Abandon();
  // The connection is closing: forget it without another word.
  void Orphan();

 private:
  Status Send();
  // Remembers `why` as the writer's outcome, abandons the COPY and returns it.
  Status Fail(Status why);
  void Release();

  PGconn* conn_;
  CopyWriter** slot_;
  std::string context_;  // the start of error messages
  std::vector<std::string> columns_;
  std::vector<TypeOid> binary_;  // empty: text format
  std::string buffer_;
  size_t rows_ = 0;  // rows added so far, for messages
  Status failed_;    // the first failure; later calls repeat it
};

}  // namespace tether::postgres
