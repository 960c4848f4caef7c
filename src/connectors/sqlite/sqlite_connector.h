// The SQLite connector: a Connector over one SQLite database file ("sqlite:PATH[?options]").
// Like every Connector it is used by one thread at a time; open one per thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "connectors/connector.h"

namespace tether {

// Opens `url` ("sqlite:PATH" or "sqlite://PATH", then optional "?create=1&mode=ro&
// busy_timeout_ms=N"). A missing file is an error unless create=1; the file must be a SQLite
// database. Turns on foreign keys; leaves the file's journal mode alone.
Result<std::unique_ptr<Connector>> OpenSqliteConnector(const std::string& connection_name,
                                                       const std::string& url);

// What OpenSqliteConnector makes of `url`: the file it opens — absolute (against the working
// directory) and lexically normal, symbolic links left as they are; nullopt for ":memory:" —
// and whether it creates it (create=1).
Result<ConnectorUrl> DescribeSqliteUrl(const std::string& connection_name, const std::string& url);

// `url` with create=1 added, unless it says create=... or mode=ro.
Result<std::string> SqliteUrlCreating(const std::string& connection_name, const std::string& url);

// `url` with a relative path made absolute against `base_dir` (options kept); unchanged when the
// path is absolute, ":memory:" or a "file:" name, or when the URL is malformed.
std::string SqliteUrlRelativeTo(const std::string& url, const std::string& base_dir);

}  // namespace tether
