// Opening a libmariadb session for a parsed URL: TLS as ssl-mode asks, the connect timeout, and
// failures worded for a sysadmin (unreachable, wrong password, missing database), never with
// the password. Safe to call from several threads at once (each gets its own session).
#pragma once

#include <string>

#include "connectors/mysql/mysql_statement.h"
#include "connectors/mysql/mysql_url.h"
#include "core/status.h"

namespace tether::mysql {

// Connects; `where` ("connection 'name' (user@host:port/db)") starts every error message.
// Unreachable server, authentication failure and missing database are kConnection; a user
// without rights on the database is kPermissionDenied.
Result<ConnHandle> Connect(const ConnectOptions& options, const std::string& where);

}  // namespace tether::mysql
