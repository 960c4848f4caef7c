// Connection URLs of the PostgreSQL connector, and what a failed connection attempt tells the
// user. "postgres://user:pass@host:port/db?param=value&..." (or "postgresql://"): every libpq URI
// parameter passes through (sslmode, sslrootcert, connect_timeout, application_name, options,
// ...); tether's own `schema=NAME` is taken out before libpq sees the URL. Pure functions (libpq's
// parser only); safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace tether::postgres {

struct ConnectTarget {
  std::string uri;     // what libpq gets
  std::string schema;  // schema=NAME: the session's search_path; empty to keep the server's
  // As written in the URL (empty when it relies on libpq's defaults), for messages.
  std::string host;
  std::string port;
  std::string dbname;
  std::string user;
};

// kConfig when the URL is not one libpq accepts; the message never holds the password.
Result<ConnectTarget> ParseUrl(const std::string& connection_name, const std::string& url);

// libpq's report of a failed connection attempt as a kConnection status whose message starts
// with `where` and says plainly what went wrong: "cannot reach 127.0.0.1:1: connection refused",
// "authentication failed for user 'x'", "database 'x' does not exist", ...
Status ConnectFailure(const std::string& where, const ConnectTarget& target,
                      std::string_view libpq_message);

}  // namespace tether::postgres
