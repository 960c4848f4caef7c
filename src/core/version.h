// tether's version, the one place it is written: `tether --version`, the server's
// GET /api/status and the OpenAPI document's info.version (a test holds the document to it) say
// this, and CMakeLists.txt reads its project(VERSION) from this line.
#pragma once

namespace tether {

inline constexpr char kTetherVersion[] = "0.1.0";

}  // namespace tether
