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
// parents first, on connections the caller opened (a run, through its RunEnv). Writes nothing.
Result<std::vector<MissingTable>> FindMissingTables(const Config& config,
                                                    const PipelineConfig& pipeline,
                                                    const std::vector<std::string>& entities,
                                                    Connector& source, Connector& target);

// Columns an existing target table lacks: ones the entity writes (a column added to the source
// table since the target was made), described from the source as TargetTableFor would.
struct MissingColumns {
  std::string entity;
  std::string connection;          // the target connection
  std::string table;               // the target table
  std::vector<ColumnDef> columns;  // what would be added (nullable: the rows there have no value)
  std::vector<std::string> ddl;    // ALTER TABLE ... ADD COLUMN, in the target engine's SQL
};

// Entities of `pipeline` (all of them, or only `entities`) whose target table exists but lacks
// columns, parents first. Writes nothing; never proposes to drop or change a column.
Result<std::vector<MissingColumns>> FindMissingColumns(const Config& config,
                                                       const PipelineConfig& pipeline,
                                                       const std::vector<std::string>& entities,
                                                       Connector& source, Connector& target);
// Runs `missing.ddl` on the target, outside any transaction (MySQL commits one before DDL).
Status AddMissingColumns(Connector& target, const MissingColumns& missing);

}  // namespace tether
