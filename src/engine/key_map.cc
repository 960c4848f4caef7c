#include "engine/key_map.h"

#include <set>

namespace tether {

Result<std::vector<std::optional<std::string>>> KeyMap::SourceIds(
    const EntityMapping& m, const std::vector<Row>& target_keys) {
  std::vector<std::string> ids;
  ids.reserve(target_keys.size());
  for (const Row& k : target_keys) ids.push_back(EncodeKey(k));
  TETHER_ASSIGN_OR_RETURN(IdMap pairs, Translate(m, ids, /*to_source=*/true));
  std::vector<std::optional<std::string>> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto f = pairs.find(ids[i]);
    if (f != pairs.end()) out[i] = f->second;
  }
  return out;
}

Result<std::vector<std::optional<Row>>> KeyMap::TargetKeys(
    const EntityMapping& m, const std::vector<std::string>& source_ids) {
  TETHER_ASSIGN_OR_RETURN(IdMap pairs, Translate(m, source_ids, /*to_source=*/false));
  std::vector<std::optional<Row>> out(source_ids.size());
  for (size_t i = 0; i < source_ids.size(); ++i) {
    auto f = pairs.find(source_ids[i]);
    if (f == pairs.end()) continue;
    Row key = TypedKey(f->second, m.target_schema, m.TargetKeyNames());
    if (!key.empty()) out[i] = std::move(key);
  }
  return out;
}

Result<KeyMap::IdMap> KeyMap::Translate(const EntityMapping& m, const std::vector<std::string>& ids,
                                        bool to_source) {
  IdMap out;
  if (ids.empty()) return out;
  if (m.mapped()) {
    const std::string& pipeline = ctx_->pipeline->name;
    if (to_source) {
      TETHER_ASSIGN_OR_RETURN(auto links, ctx_->state->FindLinksByTarget(pipeline, m.name(), ids));
      for (const Link& l : links) out.emplace(*l.target_id, l.source_id);
    } else {
      TETHER_ASSIGN_OR_RETURN(auto links, ctx_->state->FindLinksBySource(pipeline, m.name(), ids));
      for (const auto& [sid, l] : links) {
        if (l.target_id) out.emplace(sid, *l.target_id);
      }
    }
    auto paired = ctx_->paired.find(m.name());
    if (paired != ctx_->paired.end()) {
      const auto& by = to_source ? paired->second.by_target : paired->second.by_source;
      for (const std::string& id : ids) {
        auto f = by.find(id);
        if (f != by.end()) out.emplace(id, f->second);
      }
    }
    return out;
  }
  if (!m.keys_differ) {
    for (const std::string& id : ids) out.emplace(id, id);
    return out;
  }
  // Part by part: those that hold a parent's ids pair through the parent.
  const TableSchema& schema = to_source ? m.target_schema : m.source_schema;
  const std::vector<std::string> names = to_source ? m.TargetKeyNames() : m.SourceKeyNames();
  std::vector<Row> keys;
  keys.reserve(ids.size());
  for (const std::string& id : ids) keys.push_back(TypedKey(id, schema, names));
  for (size_t k = 0; k < m.key.size(); ++k) {
    const EntityMapping* parent = m.key_parents[k];
    if (!parent) continue;
    std::vector<std::string> parts;
    std::set<std::string> seen;
    for (const Row& key : keys) {
      if (key.empty() || key[k].is_null()) continue;
      std::string id = EncodeKey(key[k]);
      if (seen.insert(id).second) parts.push_back(std::move(id));
    }
    TETHER_ASSIGN_OR_RETURN(IdMap pairs, Translate(*parent, parts, to_source));
    const TableSchema& parent_schema = to_source ? parent->source_schema : parent->target_schema;
    const std::vector<std::string> parent_names =
        to_source ? parent->SourceKeyNames() : parent->TargetKeyNames();
    for (Row& key : keys) {
      if (key.empty()) continue;
      auto f = key[k].is_null() ? pairs.end() : pairs.find(EncodeKey(key[k]));
      Row value = f == pairs.end() ? Row{} : TypedKey(f->second, parent_schema, parent_names);
      if (value.size() != 1) {
        key.clear();  // the parent has no counterpart: neither has this record
        continue;
      }
      key[k] = std::move(value[0]);
    }
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!keys[i].empty()) out.emplace(ids[i], EncodeKey(keys[i]));
  }
  return out;
}

}  // namespace tether
