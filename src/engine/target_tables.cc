#include "engine/target_tables.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>

#include "engine/mapping.h"

namespace tether {
namespace {

TypeClass ClassOfValue(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kInt:
      return TypeClass::kInteger;
    case ValueKind::kReal:
      return TypeClass::kReal;
    case ValueKind::kDecimal:
      return TypeClass::kDecimal;
    case ValueKind::kBool:
      return TypeClass::kBoolean;
    case ValueKind::kBlob:
      return TypeClass::kBlob;
    default:
      return TypeClass::kText;
  }
}

std::string TargetName(const EntityConfig& e, const std::string& source_column) {
  auto it = e.columns.rename.find(source_column);
  return it == e.columns.rename.end() ? source_column : it->second;
}

}  // namespace

Result<TableDef> TargetTableFor(const EntityConfig& e, const TableSchema& source) {
  TableDef def;
  def.name = e.target_table;
  for (const ColumnInfo& c : source.columns) {
    if (!ColumnTravels(e, c.name)) continue;
    ColumnDef col(TargetName(e, c.name), c.type == TypeClass::kAny ? TypeClass::kText : c.type,
                  c.not_null);
    col.max_length = c.max_length;
    col.precision = c.precision;
    col.scale = c.scale;
    if (std::ranges::find(e.key, c.name) != e.key.end()) {
      col.not_null = true;
      if (e.keys == KeyMode::kMapped) {
        // The target numbers its own rows; the source's key only lives in the links.
        col.type = TypeClass::kInteger;
        col.auto_increment = true;
        col.max_length.reset();
        col.precision.reset();
        col.scale.reset();
      }
    }
    def.columns.push_back(std::move(col));
  }
  for (const auto& [column, value] : e.columns.defaults) {
    bool present = std::ranges::any_of(
        def.columns, [&name = column](const ColumnDef& d) { return d.name == name; });
    if (!present) def.columns.emplace_back(column, ClassOfValue(value));
  }
  if (e.delete_policy == DeletePolicy::kSoft && e.soft_delete_column) {
    bool present = std::any_of(def.columns.begin(), def.columns.end(), [&e](const ColumnDef& d) {
      return d.name == *e.soft_delete_column;
    });
    if (!present) def.columns.emplace_back(*e.soft_delete_column, TypeClass::kTimestampTz);
  }
  if (def.columns.empty()) {
    return Status::Config(fmt::format("{}: entity '{}': no columns to create table '{}' with",
                                      e.location.ToString(), e.name, e.target_table));
  }
  for (const std::string& k : e.key) def.primary_key.push_back(TargetName(e, k));

  // tether looks target rows up by match key and by reference (remapped foreign keys).
  // An index whose columns lead the primary key or another index already exists in effect.
  auto covered = [](const std::vector<std::string>& by, const std::vector<std::string>& columns) {
    return columns.size() <= by.size() && std::equal(columns.begin(), columns.end(), by.begin());
  };
  auto add_index = [&def, &covered](std::vector<std::string> columns) {
    if (covered(def.primary_key, columns)) return;
    for (const IndexDef& i : def.indexes) {
      if (i.normalize.empty() && covered(i.columns, columns)) return;
    }
    def.indexes.push_back({"", std::move(columns), false});
  };
  if (!e.match.empty()) {
    std::vector<std::string> match;
    for (const std::string& m : e.match) match.push_back(TargetName(e, m));
    // A normalised match key is looked up by its normalised values: an index on those.
    if (AnyNormalized(e.match_normalize)) {
      def.indexes.push_back({"", std::move(match), false, e.match_normalize});
    } else {
      add_index(std::move(match));
    }
  }
  for (const auto& [column, parent] : e.references) add_index({TargetName(e, column)});
  return def;
}

namespace {

// Visits the entities of `pipeline` (all, or only `entities`), parents first, with their target
// and source tables as the connections describe them (nullopt: no such table).
Status ForEachEntity(
    const Config& config, const PipelineConfig& pipeline, const std::vector<std::string>& entities,
    Connector& source, Connector& target,
    const std::function<Status(const EntityConfig&, const std::optional<TableSchema>& target,
                               const std::optional<TableSchema>& source)>& visit) {
  TETHER_ASSIGN_OR_RETURN(std::vector<std::string> order, EntityOrder(config, pipeline));
  for (const std::string& name : order) {
    if (!entities.empty() && std::ranges::find(entities, name) == entities.end()) continue;
    const EntityConfig* e = config.FindEntity(name);
    TETHER_ASSIGN_OR_RETURN(auto existing, target.DescribeTable(e->target_table));
    TETHER_ASSIGN_OR_RETURN(auto src, source.DescribeTable(e->source_table));
    TETHER_RETURN_IF_ERROR(visit(*e, existing, src));
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<MissingTable>> FindMissingTables(const Config& config,
                                                    const PipelineConfig& pipeline,
                                                    const std::vector<std::string>& entities,
                                                    Connector& source, Connector& target) {
  std::vector<MissingTable> out;
  TETHER_RETURN_IF_ERROR(ForEachEntity(
      config, pipeline, entities, source, target,
      [&](const EntityConfig& e, const std::optional<TableSchema>& existing,
          const std::optional<TableSchema>& src) -> Status {
        if (existing) return Status::OK();
        if (!src) {
          return Status::NotFound(fmt::format(
              "{}: entity '{}': table '{}' does not exist on connection '{}' either, so there is "
              "nothing to describe the target table from",
              e.location.ToString(), e.name, e.source_table, source.connection_name()));
        }
        TETHER_ASSIGN_OR_RETURN(TableDef def, TargetTableFor(e, *src));
        out.push_back({e.name, target.connection_name(), def, target.TableDdl(def)});
        return Status::OK();
      }));
  return out;
}

Result<std::vector<MissingColumns>> FindMissingColumns(const Config& config,
                                                       const PipelineConfig& pipeline,
                                                       const std::vector<std::string>& entities,
                                                       Connector& source, Connector& target) {
  std::vector<MissingColumns> out;
  TETHER_RETURN_IF_ERROR(
      ForEachEntity(config, pipeline, entities, source, target,
                    [&](const EntityConfig& e, const std::optional<TableSchema>& existing,
                        const std::optional<TableSchema>& src) -> Status {
                      // A missing table is FindMissingTables'; a missing source table the run
                      // reports.
                      if (!existing || !src) return Status::OK();
                      TETHER_ASSIGN_OR_RETURN(TableDef wanted, TargetTableFor(e, *src));
                      MissingColumns m{e.name, target.connection_name(), existing->name, {}, {}};
                      for (ColumnDef c : wanted.columns) {
                        if (existing->Find(c.name)) continue;
                        c.not_null = false;
                        c.auto_increment = false;
                        m.columns.push_back(std::move(c));
                      }
                      if (m.columns.empty()) return Status::OK();
                      m.ddl = target.AddColumnsDdl(m.table, m.columns);
                      out.push_back(std::move(m));
                      return Status::OK();
                    }));
  return out;
}

Status AddMissingColumns(Connector& target, const MissingColumns& missing) {
  for (const std::string& statement : missing.ddl) {
    TETHER_RETURN_IF_ERROR(target.ExecuteScript(statement));
  }
  return Status::OK();
}

}  // namespace tether
