// EntityMapping: an entity's config resolved against the real source and target schemas —
// which source columns are read, which target columns they become, keys, match keys,
// references and rules. Built once per run; read-only afterwards, so shareable across threads.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/schema.h"
#include "engine/coerce.h"

namespace tether {

struct MappedColumn {
  std::string target;  // target column name
  ColumnInfo target_info;
  int source_index = -1;  // in EntityMapping::source_columns; -1: target-only default
  std::string source;     // source column name ("" for target-only)
  std::optional<std::string> references;  // parent entity name
  const std::vector<std::pair<Value, Value>>* value_map = nullptr;
  std::optional<Value> default_value;
  const CompiledRule* rule = nullptr;  // validate: rule on the source column
  bool is_key = false;
};

struct EntityMapping {
  const EntityConfig* config = nullptr;
  std::string source_connection;
  std::string target_connection;
  TableSchema source_schema;
  TableSchema target_schema;
  std::vector<std::string> source_columns;     // read from the source, in this order
  std::vector<int> source_key;                 // positions of the key in source_columns
  std::vector<MappedColumn> columns;           // written to the target, in this order
  std::vector<int> key;                        // positions of the key in `columns`
  std::vector<int> match;                      // positions of match columns in `columns`
  std::vector<Normalization> match_normalize;  // as `match`: how each compares when pairing
  std::vector<int> references;                 // positions of reference columns in `columns`
  std::optional<int> soft_delete;              // position of the soft-delete column, if any
  bool generated_key = false;                  // mapped keys: the target generates them on insert
  // Per key column (as `key`): the parent entity whose ids the column holds when those differ
  // between the two sides (a mapped parent, or an identity one keyed so), else null. A join
  // table keyed by references to mapped parents has target keys made of the target's parent
  // ids: they pair with source keys only through the parents' links (engine/key_map.h). Set by
  // LinkKeyParents once every entity of the pipeline has its mapping.
  std::vector<const EntityMapping*> key_parents;
  bool keys_differ = false;  // mapped keys, or a key column with a key parent
  std::vector<std::unique_ptr<CompiledRule>> rules;  // owned; MappedColumn::rule points here

  bool mapped() const { return config->keys == KeyMode::kMapped; }
  const std::string& name() const { return config->name; }
  std::vector<std::string> TargetColumnNames() const;
  std::vector<std::string> TargetKeyNames() const;
  std::vector<std::string> SourceKeyNames() const;
  // The match key of a row of `columns` (or of the target's columns, in that order), normalised
  // as configured: what pairs a source record with a target row.
  Row MatchKey(const Row& row) const;
  bool match_normalized() const;
};

// Whether the entity's key values differ between source and target: mapped keys, or identity
// keys with a column that refers to an entity whose keys differ.
bool KeysDiffer(const Config& config, const EntityConfig& entity);

// Whether source column `column` travels to the target: it is in the include list (or there is
// none) and not excluded — or it is a key, a match key or a reference, which always travel
// because identification depends on them.
bool ColumnTravels(const EntityConfig& entity, const std::string& column);

// Sets key_parents and keys_differ of every mapping from the others (all of one pipeline).
void LinkKeyParents(const std::map<std::string, std::unique_ptr<EntityMapping>>& mappings);

// Resolves `entity` against both schemas. kNotFound / kConfig errors name the connection,
// the table and the column at fault.
Result<std::unique_ptr<EntityMapping>> BuildMapping(const EntityConfig& entity,
                                                    const std::string& source_connection,
                                                    const TableSchema& source,
                                                    const std::string& target_connection,
                                                    const TableSchema& target);

}  // namespace tether
