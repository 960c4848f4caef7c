#include "connectors/session_lock.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <random>

#include "core/value.h"

namespace tether {

uint64_t LockKey(std::string_view scope, std::string_view name) {
  std::string text(scope);
  text.push_back('\0');
  text.append(name);
  return HashText(text);
}

std::string RandomToken() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 4; ++i) out += fmt::format("{:08x}", static_cast<uint32_t>(rd()));
  return out;
}

std::string MakeMark(std::string_view engine, const std::vector<std::string>& parts) {
  nlohmann::json j = nlohmann::json::array();
  j.push_back(engine);
  for (const std::string& p : parts) j.push_back(p);
  return j.dump();
}

std::optional<std::vector<std::string>> MarkParts(const std::string& mark, std::string_view engine,
                                                  size_t n) {
  nlohmann::json j = nlohmann::json::parse(mark, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array() || j.size() != n + 1 || !j[0].is_string() || j[0] != engine) {
    return std::nullopt;
  }
  std::vector<std::string> parts;
  for (size_t i = 1; i <= n; ++i) {
    if (!j[i].is_string()) return std::nullopt;
    parts.push_back(j[i].get<std::string>());
  }
  return parts;
}

}  // namespace tether
