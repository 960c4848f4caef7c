#include "connectors/mysql/mysql_open.h"

#include <errmsg.h>
#include <fcntl.h>
#include <mysqld_error.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/ascii.h"

namespace tether::mysql {
namespace {

// libmariadb connects without blocking and reports the errno of the first connect() call
// (EINPROGRESS), not why it failed. This repeats the attempt to learn the reason, e.g.
// "connection refused" or "no route to host"; "" when it cannot tell.
std::string WhyUnreachable(const ConnectOptions& opt) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(opt.port);
  int rc = getaddrinfo(opt.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) return std::string("cannot resolve the host name: ") + gai_strerror(rc);
  std::string reason;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int err = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int ready = poll(&p, 1, static_cast<int>(opt.connect_timeout_s) * 1000);
        socklen_t len = sizeof(err);
        if (ready == 0) {
          err = ETIMEDOUT;
        } else if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
      }
    }
    close(fd);
    if (err == 0) {
      reason = "the port accepts connections, but no MySQL/MariaDB server answered";
      break;
    }
    reason = std::strerror(err);
  }
  freeaddrinfo(found);
  return LowerFirstLetter(reason);
}

void SetTls(MYSQL* conn, const ConnectOptions& opt) {
  my_bool yes = 1;
  my_bool no = 0;
  if (!opt.ssl_cert.empty()) mysql_optionsv(conn, MYSQL_OPT_SSL_CERT, opt.ssl_cert.c_str());
  if (!opt.ssl_key.empty()) mysql_optionsv(conn, MYSQL_OPT_SSL_KEY, opt.ssl_key.c_str());
  if (!opt.ssl_ca.empty()) mysql_optionsv(conn, MYSQL_OPT_SSL_CA, opt.ssl_ca.c_str());
  switch (opt.ssl_mode) {
    case SslMode::kDisabled:
      mysql_optionsv(conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &no);
      break;
    case SslMode::kPreferred:
    case SslMode::kRequired:
      // libmariadb asks for TLS and, when the server has none, goes on without it; Connect
      // checks the outcome for kRequired.
      mysql_optionsv(conn, MYSQL_OPT_SSL_ENFORCE, &yes);
      mysql_optionsv(conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &no);
      break;
    case SslMode::kVerifyCa:
    case SslMode::kVerifyIdentity:
      // libmariadb checks the chain and the host name together: VERIFY_CA is as strict as
      // VERIFY_IDENTITY here.
      mysql_optionsv(conn, MYSQL_OPT_SSL_ENFORCE, &yes);
      mysql_optionsv(conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
      break;
  }
}

}  // namespace

Result<ConnHandle> Connect(const ConnectOptions& opt, const std::string& where) {
  // mysql_init initializes the library on first use, which is not thread-safe; do it once here.
  static std::once_flag library_once;
  std::call_once(library_once, [] { mysql_library_init(0, nullptr, nullptr); });

  ConnHandle conn(mysql_init(nullptr));
  if (!conn) return Status::Internal(where + ": out of memory creating a MySQL session");
  MYSQL* m = conn.get();
  unsigned int timeout = opt.connect_timeout_s;
  mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  // A server could otherwise ask the client for any local file it can read.
  unsigned int no_local_infile = 0;
  mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &no_local_infile);
  // Large values (a 16 MiB text) come back whole; the server's own limit applies to requests.
  unsigned long max_packet = 1UL << 30;
  mysql_optionsv(m, MYSQL_OPT_MAX_ALLOWED_PACKET, &max_packet);
  SetTls(m, opt);

  const char* socket = opt.socket.empty() ? nullptr : opt.socket.c_str();
  const char* database = opt.database.empty() ? nullptr : opt.database.c_str();
  if (mysql_real_connect(m, opt.host.c_str(), opt.user.c_str(), opt.password.c_str(), database,
                         opt.port, socket, 0) == nullptr) {
    const unsigned int err = mysql_errno(m);
    const std::string server_text = mysql_error(m);
    const std::string target =
        socket ? "socket " + opt.socket : opt.host + ":" + std::to_string(opt.port);
    switch (err) {
      case CR_CONNECTION_ERROR:
      case CR_CONN_HOST_ERROR:
      case CR_UNKNOWN_HOST: {
        std::string why = socket ? "" : WhyUnreachable(opt);
        return Status::Connection(where + ": cannot reach " + target + ": " +
                                  (why.empty() ? server_text : why));
      }
      case CR_SERVER_LOST:
      case CR_SERVER_LOST_EXTENDED:
        return Status::Connection(where + ": cannot reach " + target +
                                  ": the connection closed during the handshake (" + server_text +
                                  ")");
      case ER_ACCESS_DENIED_ERROR:
        return Status::Connection(where + ": authentication failed for user '" + opt.user +
                                  "' (wrong password, or the user may not connect from this host)");
      case ER_BAD_DB_ERROR:
        return Status::Connection(where + ": database '" + opt.database + "' does not exist");
      case ER_DBACCESS_DENIED_ERROR:
        return Status::PermissionDenied(where + ": user '" + opt.user + "' may not use database '" +
                                        opt.database + "'");
      case CR_SSL_CONNECTION_ERROR:
        return Status::Connection(where + ": TLS: " + server_text);
      default:
        return Status(
            CodeFor(err) == StatusCode::kInternal ? StatusCode::kConnection : CodeFor(err),
            where + ": cannot connect: " + server_text + " (error " + std::to_string(err) + ")");
    }
  }
  if (opt.ssl_mode != SslMode::kDisabled && opt.ssl_mode != SslMode::kPreferred &&
      mysql_get_ssl_cipher(m) == nullptr) {
    return Status::Connection(where + ": ssl-mode asks for TLS, but the server does not offer it");
  }
  return conn;
}

}  // namespace tether::mysql
