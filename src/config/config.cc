// The configuration model's small helpers: locations and look-ups by name.
#include "config/config.h"

#include <algorithm>

namespace tether {

std::string SourceLocation::ToString() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

namespace {

template <typename T>
const T* FindByName(const std::vector<T>& items, const std::string& name) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& t) { return t.name == name; });
  return it == items.end() ? nullptr : &*it;
}

}  // namespace

const ConnectionConfig* Config::FindConnection(const std::string& name) const {
  return FindByName(connections, name);
}

const EntityConfig* Config::FindEntity(const std::string& name) const {
  return FindByName(entities, name);
}

const PipelineConfig* Config::FindPipeline(const std::string& name) const {
  return FindByName(pipelines, name);
}

const std::string* EntityConfig::ReferenceOf(const std::string& column) const {
  for (const auto& [col, entity] : references) {
    if (col == column) return &entity;
  }
  return nullptr;
}

const SourceLocation& EntityConfig::LocationOf(const std::string& key,
                                               const std::string& name) const {
  auto it = name_locations.find({key, name});
  return it == name_locations.end() ? location : it->second;
}

}  // namespace tether
