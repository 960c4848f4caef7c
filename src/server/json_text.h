// JsonText: the JSON text the server sends and stores. Values come from databases, and a SQLite
// database holds any bytes in a TEXT column: text that is not valid UTF-8 has each bad byte
// replaced by U+FFFD instead of making the dump throw (a 500 for the request, or an exception
// out of a run's callbacks). Pure; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tether {

inline std::string JsonText(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tether
