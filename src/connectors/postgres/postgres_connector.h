// The PostgreSQL connector: a Connector over one libpq session ("postgres://..." or
// "postgresql://..."). Like every Connector it is used by one thread at a time (open one per
// thread), and the streams it returns must not outlive it.
#pragma once

#include <memory>
#include <string>

#include "connectors/connector.h"

namespace tether {

// Opens `url` (postgres_url.h: every libpq URI parameter, plus tether's schema=NAME for the
// search_path; connect_timeout defaults to 10 s). The session runs with TimeZone=UTC,
// DateStyle=ISO, client_encoding=UTF8 and extra_float_digits=3, so values travel in the forms
// of docs/TYPES.md. Failing to reach, authenticate or find the database is kConnection.
Result<std::unique_ptr<Connector>> OpenPostgresConnector(const std::string& connection_name,
                                                         const std::string& url);

}  // namespace tether
