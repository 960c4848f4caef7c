// The OpenAPI 3.0 document of `tether serve`'s REST API (src/server/openapi.json, compiled in),
// served at /api/openapi.json. A test keeps it and the server's routes in step. Read-only.
#pragma once

namespace tether {

extern const char kOpenApiJson[];

}  // namespace tether
