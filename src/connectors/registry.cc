// The connectors' registry: OpenConnector's dispatch on the URL scheme and what a URL says
// without opening it; RedactUrl.

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "connectors/connector.h"
#include "connectors/mysql/mysql_connector.h"
#include "connectors/postgres/postgres_connector.h"
#include "connectors/sqlite/sqlite_connector.h"
#include "core/ascii.h"

namespace tether {
namespace {

using Opener = Result<std::unique_ptr<Connector>> (*)(const std::string& connection_name,
                                                      const std::string& url);

using Describer = Result<ConnectorUrl> (*)(const std::string& connection_name,
                                           const std::string& url);
using Creating = Result<std::string> (*)(const std::string& connection_name,
                                         const std::string& url);
using RelativeTo = std::string (*)(const std::string& url, const std::string& base_dir);

struct Engine {
  std::string_view scheme;
  std::string_view engine;  // Connector::engine() of what it opens
  Opener open;
  bool user_info;  // scheme://user:password@host URLs
  // Engines that keep a database in a local file read their URLs further (nullptr otherwise).
  Describer describe;
  Creating creating;
  RelativeTo relative_to;
};

constexpr std::array<Engine, 5> kEngines = {{
    {"sqlite", "sqlite", &OpenSqliteConnector, false, &DescribeSqliteUrl, &SqliteUrlCreating,
     &SqliteUrlRelativeTo},
    {"postgres", "postgres", &OpenPostgresConnector, true, nullptr, nullptr, nullptr},
    {"postgresql", "postgres", &OpenPostgresConnector, true, nullptr, nullptr, nullptr},
    {"mysql", "mysql", &OpenMysqlConnector, true, nullptr, nullptr, nullptr},
    {"mariadb", "mysql", &OpenMysqlConnector, true, nullptr, nullptr, nullptr},
}};

// Query or keyword parameters whose value is a secret.
bool IsSecretKey(std::string_view key) {
  static constexpr std::array<std::string_view, 7> kSecretSuffixes = {
      "password", "passwd", "pwd", "secret", "token", "api_key", "apikey"};
  std::string lower = AsciiLower(key);
  return std::any_of(kSecretSuffixes.begin(), kSecretSuffixes.end(),
                     [&lower](std::string_view suffix) { return lower.ends_with(suffix); });
}

bool IsKeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

// scheme://user:secret@host/... -> scheme://user:***@host/...
std::string RedactUserInfo(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  size_t start = scheme_end + 3;
  // A password may hold '/', '?', '&' or '@' when it was not percent-encoded, so the user info
  // ends at the last '@' of the whole URL: when in doubt, hide too much rather than too little.
  size_t at = url.rfind('@');
  if (at == std::string::npos || at < start) return url;
  size_t colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  if (url.find('/', start) < colon) return url;  // the ':' belongs to a path, not to user info
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// password=secret&sslmode=... (query string or "key=value key=value") -> password=***
std::string RedactSecretParams(const std::string& url) {
  std::string out;
  out.reserve(url.size());
  size_t i = 0;
  while (i < url.size()) {
    size_t eq = url.find('=', i);
    if (eq == std::string::npos) break;
    size_t key_start = eq;
    while (key_start > i && IsKeyChar(url[key_start - 1])) --key_start;
    out.append(url, i, eq + 1 - i);
    i = eq + 1;
    if (key_start == eq || !IsSecretKey(std::string_view(url).substr(key_start, eq - key_start))) {
      continue;
    }
    // A secret may itself hold '&', ' ', ';' or quotes, so everything after it is hidden.
    out += "***";
    i = url.size();
  }
  out.append(url, i, std::string::npos);
  return out;
}

}  // namespace

namespace {

// The engine whose scheme `url` names, or a kConfig error naming the connection.
Result<const Engine*> EngineFor(const std::string& connection_name, const std::string& url) {
  std::string supported;
  for (const Engine& e : kEngines) {
    if (!supported.empty()) supported += ", ";
    supported += e.scheme;
  }
  size_t colon = url.find(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::Config("connection '" + connection_name + "': URL '" + RedactUrl(url) +
                          "' has no scheme (supported: " + supported + ")");
  }
  const std::string scheme = AsciiLower(std::string_view(url).substr(0, colon));
  for (const Engine& e : kEngines) {
    if (e.scheme == scheme) return &e;
  }
  return Status::Config("connection '" + connection_name + "': unsupported URL scheme '" + scheme +
                        "' in '" + RedactUrl(url) + "' (supported: " + supported + ")");
}

}  // namespace

Result<std::unique_ptr<Connector>> OpenConnector(const std::string& connection_name,
                                                 const std::string& url) {
  TETHER_ASSIGN_OR_RETURN(const Engine* e, EngineFor(connection_name, url));
  return e->open(connection_name, url);
}

Status CheckConnectorUrl(const std::string& connection_name, const std::string& url) {
  TETHER_ASSIGN_OR_RETURN(const Engine* e, EngineFor(connection_name, url));
  if (!e->user_info) return Status::OK();
  return ParseUrlUserInfo(connection_name, url).status();
}

std::string_view ConnectorEngine(const std::string& url) {
  Result<const Engine*> e = EngineFor("", url);
  return e.ok() ? (*e)->engine : std::string_view();
}

Result<ConnectorUrl> DescribeConnectorUrl(const std::string& connection_name,
                                          const std::string& url) {
  TETHER_ASSIGN_OR_RETURN(const Engine* e, EngineFor(connection_name, url));
  if (e->describe == nullptr) return ConnectorUrl{e->engine, std::nullopt, false};
  return e->describe(connection_name, url);
}

Result<std::optional<std::string>> LocalDatabaseFile(const std::string& connection_name,
                                                     const std::string& url) {
  TETHER_ASSIGN_OR_RETURN(ConnectorUrl described, DescribeConnectorUrl(connection_name, url));
  return std::move(described.file);
}

Result<std::string> ConnectorUrlCreating(const std::string& connection_name,
                                         const std::string& url) {
  TETHER_ASSIGN_OR_RETURN(const Engine* e, EngineFor(connection_name, url));
  if (e->creating == nullptr) return url;
  return e->creating(connection_name, url);
}

std::string ConnectorUrlRelativeTo(const std::string& url, const std::string& base_dir) {
  Result<const Engine*> e = EngineFor("", url);
  if (!e.ok() || (*e)->relative_to == nullptr) return url;
  return (*e)->relative_to(url, base_dir);
}

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = HexDigit(s[i + 1]);
    const int lo = HexDigit(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

Result<std::optional<UrlUserInfo>> ParseUrlUserInfo(const std::string& connection_name,
                                                    const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return std::optional<UrlUserInfo>();
  const std::string where = "connection '" + connection_name + "'";
  const size_t start = scheme_end + 3;
  const size_t authority_end = std::min(url.find_first_of("/?#", start), url.size());
  const size_t at = url.find('@', start);
  if (at != std::string::npos &&
      (at > authority_end || url.find('@', at + 1) != std::string::npos)) {
    return Status::Config(
        where +
        ": the URL holds an '@' that is not the one between user and host: "
        "percent-encode '@', '/', '?' and '#' in a user name or password (%40, %2F, %3F, "
        "%23), and '@' elsewhere (%40)");
  }
  if (at == std::string::npos) return std::optional<UrlUserInfo>();
  const std::string_view userinfo = std::string_view(url).substr(start, at - start);
  const size_t colon = userinfo.find(':');
  UrlUserInfo info;
  info.host_offset = at + 1;
  std::optional<std::string> user = PercentDecode(userinfo.substr(0, colon));
  if (!user) return Status::Config(where + ": malformed %-escape in the URL's user name");
  info.user = std::move(*user);
  if (colon != std::string_view::npos) {
    info.password = PercentDecode(userinfo.substr(colon + 1));
    if (!info.password) return Status::Config(where + ": malformed %-escape in the URL's password");
  }
  return std::optional<UrlUserInfo>(std::move(info));
}

std::string RedactUrl(const std::string& url) { return RedactSecretParams(RedactUserInfo(url)); }

}  // namespace tether
