// Target tables tether creates for entities whose table is missing on the target
// (`tether schema`, `tether sync --create-tables`): the source table's columns after the entity's
// include / exclude / rename, their types carried over (docs/TYPES.md), the key, and indexes for
// the match key and references. Pure planning plus one EnsureTable per table; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "connectors/connector.h"
#include "core/schema.h"
#include "core/status.h"

namespace tether {

// The table `entity` needs on the target, described from its source table.
Result<TableDef> TargetTableFor(const EntityConfig& entity, const TableSchema& source);

struct MissingTable {
  std::string entity;
  std::string connection;        // the target connection
  TableDef table;                // what would be created
  std::vector<std::string> ddl;  // in the target engine's SQL
};

// Entities of `pipeline` (all of them, or only `entities`) whose target table does not exist,
// parents first. Opens both connections; writes nothing.
Result<std::vector<MissingTable>> FindMissingTables(const Config& config,
                                                    const std::string& pipeline,
                                                    const std::vector<std::string>& entities = {});

// Same, using connections the caller already opened.
Result<std::vector<MissingTable>> FindMissingTables(const Config& config,
                                                    const PipelineConfig& pipeline,
                                                    const std::vector<std::string>& entities,
                                                    Connector& source, Connector& target);

}  // namespace tether
