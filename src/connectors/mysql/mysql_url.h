// Connection URLs of the MySQL/MariaDB connector, parsed into the settings libmariadb needs:
//   mysql://user:password@host:port/database?ssl-mode=...&ssl-ca=...&connect-timeout=...
// Pure functions over plain data; safe from any thread.
#pragma once

#include <string>

#include "core/status.h"

namespace tether::mysql {

enum class SslMode {
  kDisabled,        // never TLS
  kPreferred,       // TLS when the server offers it, plain otherwise
  kRequired,        // TLS or fail; the server's certificate is not checked
  kVerifyCa,        // TLS with a certificate signed by ssl-ca
  kVerifyIdentity,  // as kVerifyCa, and the certificate names the host
};

struct ConnectOptions {
  std::string user;
  std::string password;  // never printed
  std::string host = "127.0.0.1";
  unsigned port = 3306;
  std::string socket;    // a Unix socket path; used instead of host:port when set
  std::string database;  // empty: a server-level session (CREATE DATABASE, ...)
  SslMode ssl_mode = SslMode::kPreferred;
  std::string ssl_ca;
  std::string ssl_cert;
  std::string ssl_key;
  unsigned connect_timeout_s = 10;

  // "user@host:port/database" (or "user@socket PATH/database"): for messages, no password.
  std::string Describe() const;
};

// Parses "mysql://" or "mariadb://" URLs. User, password and database are percent-decoded; an
// unknown query parameter or a bad value is a kConfig error that names it and `connection_name`.
Result<ConnectOptions> ParseMysqlUrl(const std::string& connection_name, const std::string& url);

}  // namespace tether::mysql
