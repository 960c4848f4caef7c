#include "connectors/postgres/postgres_url.h"

#include <libpq-fe.h>

#include <cctype>
#include <memory>
#include <optional>
#include <vector>

#include "connectors/connector.h"
#include "core/ascii.h"

namespace tether::postgres {
namespace {

// Every spelling of the password the URL holds (user info and password= parameter, raw and
// decoded), so that no message can repeat it.
std::vector<std::string> Secrets(const std::string& url) {
  std::vector<std::string> out;
  auto add = [&out](std::string_view raw) {
    if (raw.empty()) return;
    out.emplace_back(raw);
    if (std::optional<std::string> decoded = PercentDecode(raw)) out.push_back(*decoded);
  };
  size_t start = url.find("://");
  if (start != std::string::npos) {
    start += 3;
    // ParseUrl refuses a URL with an '@' outside the user information, so this is its '@';
    // the last one, as in RedactUrl, for a URL that did not go through ParseUrl.
    size_t at = url.rfind('@');
    size_t colon = url.find(':', start);
    if (at != std::string::npos && at > start && colon < at)
      add(url.substr(colon + 1, at - colon - 1));
  }
  for (size_t pos = url.find("password="); pos != std::string::npos;
       pos = url.find("password=", pos + 1)) {
    size_t begin = pos + 9;
    size_t end = url.find('&', begin);
    add(std::string_view(url).substr(begin, end == std::string::npos ? end : end - begin));
  }
  return out;
}

std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (size_t pos = text.find(secret); pos != std::string::npos;
         pos = text.find(secret, pos + 3)) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

std::string FirstLine(std::string_view s) {
  size_t nl = s.find('\n');
  std::string line(s.substr(0, nl));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

// The text after `prefix` (which ends with an opening quote) up to the closing quote, or "".
std::string QuotedAfter(std::string_view text, std::string_view prefix) {
  size_t pos = text.find(prefix);
  if (pos == std::string_view::npos) return "";
  size_t start = pos + prefix.size();
  size_t close = text.find('"', start);
  if (close == std::string_view::npos) return "";
  return std::string(text.substr(start, close - start));
}

}  // namespace

Result<ConnectTarget> ParseUrl(const std::string& connection_name, const std::string& url) {
  const std::string where = "connection '" + connection_name + "'";
  const std::vector<std::string> secrets = Secrets(url);
  size_t scheme_end = url.find("://");
  const std::string scheme = AsciiLower(url.substr(0, scheme_end));
  if (scheme_end == std::string::npos || (scheme != "postgres" && scheme != "postgresql")) {
    return Status::Config(where + ": not a postgres:// URL");
  }

  // Refused unless libpq and tether read the user information alike (see ParseUrlUserInfo).
  TETHER_RETURN_IF_ERROR(ParseUrlUserInfo(connection_name, url).status());

  ConnectTarget target;
  // libpq wants the scheme in lower case; the rest goes through unchanged except schema=.
  target.uri = scheme + url.substr(scheme_end, std::string::npos);
  size_t q = target.uri.find('?');
  if (q != std::string::npos) {
    std::string_view query = std::string_view(target.uri).substr(q + 1);
    std::string kept;
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
      if (pair.empty()) continue;
      if (pair.starts_with("schema=")) {
        std::optional<std::string> schema = PercentDecode(pair.substr(7));
        if (!schema) return Status::Config(where + ": malformed %-escape in schema=");
        target.schema = std::move(*schema);
        if (target.schema.empty()) return Status::Config(where + ": schema= needs a name");
        continue;
      }
      if (!kept.empty()) kept += '&';
      kept += pair;
    }
    target.uri = target.uri.substr(0, q) + (kept.empty() ? "" : "?" + kept);
  }

  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(target.uri.c_str(), &error);
  if (options == nullptr) {
    std::string reason = error ? FirstLine(error) : "out of memory";
    if (error) PQfreemem(error);
    return Status::Config(Scrub(where + ": invalid PostgreSQL URL: " + reason, secrets));
  }
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string_view key = o->keyword;
    if (key == "host") target.host = o->val;
    if (key == "hostaddr" && target.host.empty()) target.host = o->val;
    if (key == "port") target.port = o->val;
    if (key == "dbname") target.dbname = o->val;
    if (key == "user") target.user = o->val;
  }
  PQconninfoFree(options);
  return target;
}

Status ConnectFailure(const std::string& where, const ConnectTarget& target,
                      std::string_view libpq_message) {
  const std::vector<std::string> secrets = Secrets(target.uri);
  // libpq reports each host it tried; the last report is the one that ended the attempt.
  std::string_view text = libpq_message;
  size_t last = text.rfind("connection to server ");
  if (last != std::string_view::npos) text = text.substr(last);

  // "connection to server at "H" (A), port P failed: REASON" or
  // "connection to server on socket "S" failed: REASON".
  std::string endpoint;
  if (text.starts_with("connection to server at \"")) {
    endpoint = QuotedAfter(text, "at \"");
    size_t port = text.find(", port ");
    if (port != std::string_view::npos) {
      size_t end = text.find(' ', port + 7);
      endpoint += ":" + std::string(text.substr(port + 7, end - port - 7));
    }
  } else if (text.starts_with("connection to server on socket \"")) {
    endpoint = QuotedAfter(text, "socket \"");
  }
  std::string reason;
  if (size_t failed = text.find("failed: "); failed != std::string_view::npos) {
    reason = FirstLine(text.substr(failed + 8));
  } else {
    reason = FirstLine(text);
  }

  std::string what;
  constexpr std::string_view kFatal = "FATAL:";
  if (reason.starts_with(kFatal)) {
    std::string server = reason.substr(kFatal.size());
    server.erase(0, server.find_first_not_of(' '));
    if (server.starts_with("password authentication failed for user")) {
      what = "authentication failed for user '" + QuotedAfter(server, "user \"") + "'";
    } else if (server.starts_with("database \"") && server.ends_with("does not exist")) {
      what = "database '" + QuotedAfter(server, "database \"") + "' does not exist";
    } else if (server.starts_with("role \"") && server.ends_with("does not exist")) {
      what = "authentication failed for user '" + QuotedAfter(server, "role \"") +
             "': the role does not exist";
    } else {
      what = "the server refused the connection: " + server;
    }
  } else if (reason.find("no password supplied") != std::string::npos) {
    what = "authentication failed for user '" + target.user + "': the URL gives no password";
  } else if (reason.starts_with("could not translate host name")) {
    const std::string host = QuotedAfter(reason, "host name \"");
    size_t colon = reason.find(": ");
    what = "cannot resolve host '" + host + "'" +
           (colon == std::string::npos ? "" : ": " + LowerFirstLetter(reason.substr(colon + 2)));
  } else {
    if (endpoint.empty()) {
      endpoint = target.host.empty() ? "the default host" : target.host;
      if (!target.port.empty()) endpoint += ":" + target.port;
    }
    what = "cannot reach " + endpoint + ": " + LowerFirstLetter(reason);
  }
  return Status::Connection(Scrub(where + ": " + what, secrets));
}

}  // namespace tether::postgres
