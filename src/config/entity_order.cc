// EntityOrder: the run order of a pipeline's entities, parents before children, derived from
// `references` with a stable topological sort.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "config/config.h"

namespace tether {

Result<std::vector<std::string>> EntityOrder(const Config& config, const PipelineConfig& pipeline) {
  const std::string where =
      fmt::format("{}: pipelines.{}", pipeline.location.ToString(), pipeline.name);
  const size_t n = pipeline.entities.size();
  std::map<std::string, size_t> index;
  std::vector<const EntityConfig*> entities(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = pipeline.entities[i];
    if (!index.emplace(name, i).second) {
      return Status::Config(fmt::format("{}: entity '{}' is listed twice", where, name));
    }
    entities[i] = config.FindEntity(name);
    if (entities[i] == nullptr) {
      return Status::Config(fmt::format("{}: entity '{}' is not defined", where, name));
    }
  }

  // parents[i]: the other pipeline entities that entity i references. References to entities
  // outside the pipeline are the loader's concern, not the order's.
  std::vector<std::set<size_t>> parents(n);
  std::vector<std::vector<size_t>> children(n);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& [column, parent] : entities[i]->references) {
      auto it = index.find(parent);
      if (it == index.end() || it->second == i) continue;
      if (parents[i].insert(it->second).second) children[it->second].push_back(i);
    }
  }

  // Kahn's algorithm, always taking the ready entity listed first: a list that is already in
  // a valid order is kept as written.
  std::vector<size_t> waiting(n);
  std::set<size_t> ready;
  for (size_t i = 0; i < n; ++i) {
    waiting[i] = parents[i].size();
    if (waiting[i] == 0) ready.insert(i);
  }
  std::vector<bool> done(n, false);
  std::vector<std::string> order;
  while (!ready.empty()) {
    const size_t i = *ready.begin();
    ready.erase(ready.begin());
    done[i] = true;
    order.push_back(pipeline.entities[i]);
    for (size_t c : children[i]) {
      if (--waiting[c] == 0) ready.insert(c);
    }
  }
  if (order.size() == n) return order;

  // Every entity left waits on another one left, so following parents must loop.
  size_t cur = 0;
  while (done[cur]) ++cur;
  std::vector<size_t> path;
  std::vector<int> seen_at(n, -1);
  while (seen_at[cur] < 0) {
    seen_at[cur] = static_cast<int>(path.size());
    path.push_back(cur);
    for (size_t p : parents[cur]) {
      if (!done[p]) {
        cur = p;
        break;
      }
    }
  }
  std::vector<size_t> cycle(path.begin() + seen_at[cur], path.end());
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
  std::string names;
  for (size_t i : cycle) names += pipeline.entities[i] + " -> ";
  names += pipeline.entities[cycle.front()];
  return Status::Config(fmt::format(
      "{}: entities reference each other in a cycle: {} (only an entity referencing itself is "
      "allowed)",
      where, names));
}

}  // namespace tether
