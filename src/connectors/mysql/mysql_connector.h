// The MySQL/MariaDB connector: a Connector over one libmariadb session
// ("mysql://user:password@host:port/database?options", or "mariadb://...").
// Like every Connector it is used by one thread at a time; open one per thread.
//
// While a RowStream from Scan is being read, the session belongs to it: any other call on the
// connector first reads and drops what the stream had left, and the stream then fails.
// EnsureTable refuses to run inside a transaction, because MySQL commits the open transaction
// before any CREATE statement. When the server ends a transaction on its own (a deadlock), every
// write, savepoint call and Commit() fails with kTryAgain until Rollback(), so nothing is
// written outside the transaction the caller began.
#pragma once

#include <memory>
#include <string>

#include "connectors/connector.h"

namespace tether {

// Opens `url`. Options (all optional): ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|
// VERIFY_IDENTITY (default PREFERRED), ssl-ca, ssl-cert, ssl-key (file paths),
// connect-timeout (seconds, default 10), socket (a Unix socket path instead of host:port).
// Without a database in the URL the session is server-wide (CREATE DATABASE works; tables
// cannot be described). The session runs in utf8mb4, UTC and a strict sql_mode (docs/TYPES.md).
Result<std::unique_ptr<Connector>> OpenMysqlConnector(const std::string& connection_name,
                                                      const std::string& url);

// Server features the connector uses when the server has them. Tests turn them off to cover
// the paths taken on servers without them (MySQL has neither; MariaDB < 10.5 lacks RETURNING).
struct MysqlFeatureLimits {
  bool allow_bulk = true;       // MariaDB's bulk execution (array binding)
  bool allow_returning = true;  // INSERT ... RETURNING (MariaDB >= 10.5)
};
Result<std::unique_ptr<Connector>> OpenMysqlConnectorWithLimits(const std::string& connection_name,
                                                                const std::string& url,
                                                                const MysqlFeatureLimits& limits);

}  // namespace tether
