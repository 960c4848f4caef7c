#include "engine/mapping.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/suggest.h"

namespace tether {
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

bool ColumnTravels(const EntityConfig& e, const std::string& column) {
  if (Contains(e.key, column) || Contains(e.match, column) || e.ReferenceOf(column)) return true;
  bool wanted = e.columns.include.empty() || Contains(e.columns.include, column);
  return wanted && !Contains(e.columns.exclude, column);
}

std::vector<std::string> EntityMapping::TargetColumnNames() const {
  std::vector<std::string> out;
  for (const MappedColumn& c : columns) out.push_back(c.target);
  return out;
}

std::vector<std::string> EntityMapping::TargetKeyNames() const {
  std::vector<std::string> out;
  for (int i : key) out.push_back(columns[i].target);
  return out;
}

std::vector<std::string> EntityMapping::SourceKeyNames() const { return config->key; }

Row EntityMapping::MatchKey(const Row& row) const {
  Row key;
  key.reserve(match.size());
  for (size_t i = 0; i < match.size(); ++i) {
    key.push_back(Normalized(row[match[i]], match_normalize[i]));
  }
  return key;
}

bool EntityMapping::match_normalized() const { return AnyNormalized(match_normalize); }

bool KeysDiffer(const Config& config, const EntityConfig& entity) {
  if (entity.keys == KeyMode::kMapped) return true;
  for (const std::string& k : entity.key) {
    const std::string* parent = entity.ReferenceOf(k);
    // Cycles between different entities are refused when the config loads; a key column that
    // refers to its own entity holds values of the same key, equal on both sides.
    if (!parent || *parent == entity.name) continue;
    const EntityConfig* p = config.FindEntity(*parent);
    if (p && KeysDiffer(config, *p)) return true;
  }
  return false;
}

void LinkKeyParents(const std::map<std::string, std::unique_ptr<EntityMapping>>& mappings) {
  // keys_differ of a parent must be known first: repeat until nothing changes (the chain of
  // key parents is as long as the longest chain of identity entities keyed by references).
  for (auto& [name, m] : mappings) {
    m->key_parents.assign(m->key.size(), nullptr);
    m->keys_differ = m->mapped();
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& [name, m] : mappings) {
      for (size_t i = 0; i < m->key.size(); ++i) {
        const std::optional<std::string>& parent = m->columns[m->key[i]].references;
        if (!parent || *parent == name || m->key_parents[i]) continue;
        auto p = mappings.find(*parent);
        if (p == mappings.end() || !p->second->keys_differ) continue;
        m->key_parents[i] = p->second.get();
        m->keys_differ = changed = true;
      }
    }
  }
}

Result<std::unique_ptr<EntityMapping>> BuildMapping(const EntityConfig& e,
                                                    const std::string& source_connection,
                                                    const TableSchema& source,
                                                    const std::string& target_connection,
                                                    const TableSchema& target) {
  auto m = std::make_unique<EntityMapping>();
  m->config = &e;
  m->source_connection = source_connection;
  m->target_connection = target_connection;
  m->source_schema = source;
  m->target_schema = target;
  // Every missing column is reported at once, each at the config entry naming it, with the
  // table's closest column.
  std::vector<Status> problems;
  auto column_names = [](const TableSchema& t) {
    std::vector<std::string> names;
    for (const ColumnInfo& c : t.columns) names.push_back(c.name);
    return names;
  };
  const std::vector<std::string> source_names = column_names(source);
  const std::vector<std::string> target_names = column_names(target);
  auto missing = [&](const std::string& key, const std::string& column, std::string_view role,
                     const TableSchema& table, const std::vector<std::string>& names,
                     const std::string& connection) {
    problems.push_back(Status::NotFound(fmt::format(
        "{}: entity '{}': {} column '{}' does not exist in table '{}' of connection '{}'{}",
        e.LocationOf(key, column).ToString(), e.name, role, column, table.name, connection,
        DidYouMean(column, names))));
  };
  auto need_source = [&](const std::string& key, const std::string& column, std::string_view role) {
    if (!source.Find(column)) missing(key, column, role, source, source_names, source_connection);
  };
  for (const std::string& k : e.key) need_source("key", k, "key");
  for (const std::string& k : e.match) need_source("match", k, "match");
  for (const auto& [col, parent] : e.references) need_source("references", col, "reference");
  if (e.cursor) need_source("cursor", *e.cursor, "cursor");
  if (e.filter.date_column) need_source("filter.date_column", *e.filter.date_column, "date");
  for (const Condition& c : e.filter.where) need_source("filter.where", c.column, "filter");
  for (const std::string& c : e.columns.include) need_source("columns.include", c, "included");
  for (const std::string& c : e.columns.exclude) need_source("columns.exclude", c, "excluded");
  for (const auto& [col, rule] : e.validate) need_source("validate", col, "validated");
  for (const auto& [col, to] : e.columns.rename) need_source("columns.rename", col, "renamed");
  for (const auto& [col, map] : e.columns.values)
    need_source("columns.values", col, "value-mapped");

  // Which source columns travel: the include list (or all), minus exclusions; keys, match keys
  // and references always travel because identification depends on them.
  std::vector<std::string> selected;
  for (const ColumnInfo& c : source.columns) {
    if (ColumnTravels(e, c.name)) selected.push_back(c.name);
  }
  auto target_name = [&](const std::string& s) {
    auto it = e.columns.rename.find(s);
    return it == e.columns.rename.end() ? s : it->second;
  };
  std::set<std::string> written;
  for (const std::string& s : selected) {
    std::string t = target_name(s);
    const ColumnInfo* tc = target.Find(t);
    if (!tc) {
      const std::string key = e.columns.rename.count(s)        ? "columns.rename"
                              : Contains(e.columns.include, s) ? "columns.include"
                                                               : "";
      problems.push_back(Status::NotFound(fmt::format(
          "{}: entity '{}': source column '{}' has no column '{}' in table '{}' of connection "
          "'{}'{}: `tether schema --apply` adds it (or exclude it, or rename it to a target "
          "column)",
          e.LocationOf(key, s).ToString(), e.name, s, t, target.name, target_connection,
          DidYouMean(t, target_names))));
      continue;
    }
    m->source_columns.push_back(s);
    MappedColumn mc;
    mc.target = t;
    mc.target_info = *tc;
    mc.source = s;
    mc.source_index = static_cast<int>(m->source_columns.size()) - 1;
    if (const std::string* parent = e.ReferenceOf(s)) mc.references = *parent;
    if (auto it = e.columns.values.find(s); it != e.columns.values.end())
      mc.value_map = &it->second;
    if (auto it = e.columns.defaults.find(t); it != e.columns.defaults.end()) {
      mc.default_value = it->second;
    }
    if (auto it = e.validate.find(s); it != e.validate.end()) {
      m->rules.push_back(std::make_unique<CompiledRule>(it->second));
      mc.rule = m->rules.back().get();
    }
    mc.is_key = Contains(e.key, s);
    written.insert(t);
    m->columns.push_back(std::move(mc));
  }
  // Defaults for target columns that no source column feeds.
  for (const auto& [t, value] : e.columns.defaults) {
    if (written.count(t)) continue;
    const ColumnInfo* tc = target.Find(t);
    if (!tc) {
      problems.push_back(Status::NotFound(fmt::format(
          "{}: entity '{}': default for column '{}', which does not exist in table '{}' of "
          "connection '{}'{} (`tether schema --apply` adds it)",
          e.LocationOf("columns.default", t).ToString(), e.name, t, target.name, target_connection,
          DidYouMean(t, target_names))));
      continue;
    }
    MappedColumn mc;
    mc.target = t;
    mc.target_info = *tc;
    mc.default_value = value;
    m->columns.push_back(std::move(mc));
  }
  if (e.delete_policy == DeletePolicy::kSoft && e.soft_delete_column &&
      !target.Find(*e.soft_delete_column)) {
    problems.push_back(Status::NotFound(
        fmt::format("{}: entity '{}': soft-delete column '{}' does not exist in table '{}' of "
                    "connection '{}'{} (`tether schema --apply` adds it)",
                    e.LocationOf("delete.soft", *e.soft_delete_column).ToString(), e.name,
                    *e.soft_delete_column, target.name, target_connection,
                    DidYouMean(*e.soft_delete_column, target_names))));
  }
  TETHER_RETURN_IF_ERROR(Problems(problems));
  const std::string where = e.location.ToString();
  auto position = [&](const std::string& source_col) {
    for (size_t i = 0; i < m->columns.size(); ++i) {
      if (m->columns[i].source == source_col) return static_cast<int>(i);
    }
    return -1;
  };
  for (const std::string& k : e.key) {
    m->key.push_back(position(k));
    for (size_t i = 0; i < m->source_columns.size(); ++i) {
      if (m->source_columns[i] == k) m->source_key.push_back(static_cast<int>(i));
    }
  }
  for (size_t i = 0; i < e.match.size(); ++i) {
    m->match.push_back(position(e.match[i]));
    const Normalization how = i < e.match_normalize.size() ? e.match_normalize[i] : Normalization{};
    const MappedColumn& c = m->columns[m->match.back()];
    if (how.any() && c.target_info.type != TypeClass::kText) {
      return Status::Config(fmt::format(
          "{}: entity '{}': match column '{}' is normalised ({}), but column '{}' of table '{}' "
          "on connection '{}' is {}, not text",
          where, e.name, e.match[i], NormalizationName(how), c.target, target.name,
          target_connection, TypeClassName(c.target_info.type)));
    }
    m->match_normalize.push_back(how);
  }
  for (size_t i = 0; i < m->columns.size(); ++i) {
    if (m->columns[i].references) m->references.push_back(static_cast<int>(i));
  }
  if (e.delete_policy == DeletePolicy::kSoft && e.soft_delete_column) {
    const ColumnInfo* tc = target.Find(*e.soft_delete_column);
    int p = -1;
    for (size_t i = 0; i < m->columns.size(); ++i) {
      if (m->columns[i].target == *e.soft_delete_column) p = static_cast<int>(i);
    }
    if (p < 0) {
      MappedColumn mc;
      mc.target = tc->name;
      mc.target_info = *tc;
      mc.default_value = Value::Null();
      m->columns.push_back(std::move(mc));
      p = static_cast<int>(m->columns.size()) - 1;
    }
    m->soft_delete = p;
  }

  // The target must be able to find a row by its key.
  std::vector<std::string> tkey = m->TargetKeyNames();
  if (e.keys == KeyMode::kMapped) {
    if (tkey.size() != 1 || !m->columns[m->key[0]].target_info.auto_increment) {
      return Status::Config(fmt::format(
          "{}: entity '{}' has keys: mapped, but the key of table '{}' on connection '{}' is not "
          "generated by the target (it needs a single auto-increment / INTEGER PRIMARY KEY "
          "column); use keys: identity to copy keys as they are",
          where, e.name, target.name, target_connection));
    }
    m->generated_key = true;
  }
  return m;
}

}  // namespace tether
