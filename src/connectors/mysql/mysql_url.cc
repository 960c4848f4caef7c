#include "connectors/mysql/mysql_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string_view>

#include "connectors/connector.h"
#include "core/ascii.h"

namespace tether::mysql {
namespace {

std::optional<unsigned> ParseUnsigned(std::string_view s, unsigned min, unsigned max) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) return std::nullopt;
  return v;
}

}  // namespace

std::string ConnectOptions::Describe() const {
  std::string out = user.empty() ? "" : user + "@";
  if (!socket.empty()) {
    out += "socket " + socket;
  } else {
    out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    out += ":" + std::to_string(port);
  }
  if (!database.empty()) out += "/" + database;
  return out;
}

Result<ConnectOptions> ParseMysqlUrl(const std::string& connection_name, const std::string& url) {
  const std::string where = "connection '" + connection_name + "'";
  // Messages show the URL only redacted: it may hold a password.
  const std::string in_url = " in URL " + RedactUrl(url);
  std::string_view rest = url;
  if (!ConsumePrefixIgnoreCase(&rest, "mysql://") &&
      !ConsumePrefixIgnoreCase(&rest, "mariadb://")) {
    return Status::Config(where + ": not a mysql:// or mariadb:// URL: " + RedactUrl(url));
  }
  ConnectOptions opt;

  TETHER_ASSIGN_OR_RETURN(std::optional<UrlUserInfo> userinfo,
                          ParseUrlUserInfo(connection_name, url));
  if (userinfo) {
    opt.user = std::move(userinfo->user);
    opt.password = userinfo->password.value_or("");
    rest = std::string_view(url).substr(userinfo->host_offset);
  }

  size_t q = rest.find('?');
  std::string_view query = q == std::string_view::npos ? "" : rest.substr(q + 1);
  rest = rest.substr(0, q);
  size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);

  std::string_view host = hostport;
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {  // [::1]:3306
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      return Status::Config(where + ": unclosed '[' in the host" + in_url);
    }
    host = hostport.substr(1, close - 1);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::Config(where + ": malformed host" + in_url);
      port = after.substr(1);
    }
  } else {
    size_t colon = hostport.rfind(':');
    if (colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
    }
  }
  if (!host.empty()) opt.host = std::string(host);
  if (!port.empty()) {
    auto p = ParseUnsigned(port, 1, 65535);
    if (!p) {
      return Status::Config(where + ": invalid port '" + std::string(port) + "'" + in_url);
    }
    opt.port = *p;
  }
  if (!path.empty()) {
    auto db = PercentDecode(path);
    if (!db || db->find('/') != std::string::npos) {
      return Status::Config(where + ": invalid database name '" + std::string(path) + "'" + in_url);
    }
    opt.database = std::move(*db);
  }

  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    const std::string key(pair.substr(0, eq));
    std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    auto decoded = PercentDecode(raw);
    auto bad_value = [&] {
      return Status::Config(where + ": invalid value '" + std::string(raw) + "' for parameter '" +
                            key + "'" + in_url);
    };
    if (!decoded) return bad_value();
    const std::string& value = *decoded;
    if (key == "ssl-mode") {
      const std::string mode = AsciiUpper(value);
      if (mode == "DISABLED") {
        opt.ssl_mode = SslMode::kDisabled;
      } else if (mode == "PREFERRED") {
        opt.ssl_mode = SslMode::kPreferred;
      } else if (mode == "REQUIRED") {
        opt.ssl_mode = SslMode::kRequired;
      } else if (mode == "VERIFY_CA") {
        opt.ssl_mode = SslMode::kVerifyCa;
      } else if (mode == "VERIFY_IDENTITY") {
        opt.ssl_mode = SslMode::kVerifyIdentity;
      } else {
        return Status::Config(where + ": invalid value '" + value +
                              "' for parameter 'ssl-mode' (known: DISABLED, PREFERRED, REQUIRED, "
                              "VERIFY_CA, VERIFY_IDENTITY)" +
                              in_url);
      }
    } else if (key == "ssl-ca") {
      opt.ssl_ca = value;
    } else if (key == "ssl-cert") {
      opt.ssl_cert = value;
    } else if (key == "ssl-key") {
      opt.ssl_key = value;
    } else if (key == "connect-timeout") {
      auto seconds = ParseUnsigned(value, 1, 3600);
      if (!seconds) return bad_value();
      opt.connect_timeout_s = *seconds;
    } else if (key == "socket") {
      if (value.empty()) return bad_value();
      opt.socket = value;
    } else {
      return Status::Config(where + ": unknown parameter '" + key + "'" + in_url +
                            " (known: ssl-mode, ssl-ca, ssl-cert, ssl-key, connect-timeout, "
                            "socket)");
    }
  }
  if ((opt.ssl_mode == SslMode::kVerifyCa || opt.ssl_mode == SslMode::kVerifyIdentity) &&
      opt.ssl_ca.empty()) {
    return Status::Config(where + ": ssl-mode=VERIFY_CA and VERIFY_IDENTITY need ssl-ca" + in_url);
  }
  if (opt.ssl_cert.empty() != opt.ssl_key.empty()) {
    return Status::Config(where + ": ssl-cert and ssl-key go together" + in_url);
  }
  return opt;
}

}  // namespace tether::mysql
