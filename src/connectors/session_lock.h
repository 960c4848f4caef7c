// What the connectors share for their named locks and database marks (Connector::TryLock,
// DatabaseMark): the key of a lock name, random tokens, and the form of a mark. Internal to
// src/connectors/; pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tether {

// The 64-bit key of lock `name` within `scope` (what the lock protects: a database, a schema),
// the same in every process and tether version.
uint64_t LockKey(std::string_view scope, std::string_view name);
// 32 random hexadecimal digits.
std::string RandomToken();
// A database mark of `engine`: its parts, as a JSON array after the engine's name.
std::string MakeMark(std::string_view engine, const std::vector<std::string>& parts);
// The `n` parts of a mark MakeMark made for `engine`; nullopt for any other text.
std::optional<std::vector<std::string>> MarkParts(const std::string& mark, std::string_view engine,
                                                  size_t n);

}  // namespace tether
