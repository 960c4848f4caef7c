// KeyMap: which target key a source record's key stands for, and back. Mapped keys pair through
// the entity's links; identity keys are the same on both sides, except where a key column refers
// to a parent whose ids differ (a join table keyed by references to mapped parents: its target
// key holds the target's parent ids), which pairs through that parent's links, part by part.
// In a dry run, records paired by match key in this run (RunContext::paired) count as linked, as
// a real run would have linked them. One batched link lookup per parent per call. Used by one
// BatchProcessor on its thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/batch.h"
#include "engine/mapping.h"

namespace tether {

class KeyMap {
 public:
  explicit KeyMap(RunContext* ctx) : ctx_(ctx) {}

  // The source id (EncodeKey form) of each target key (a row of the target's key columns), in
  // order; nullopt where no source record pairs with it (no link: a row of the target's own).
  Result<std::vector<std::optional<std::string>>> SourceIds(const EntityMapping& m,
                                                            const std::vector<Row>& target_keys);
  // The target key of each source id, in order; nullopt where the target can hold no row for
  // it (no link yet, or a key part whose parent has none).
  Result<std::vector<std::optional<Row>>> TargetKeys(const EntityMapping& m,
                                                     const std::vector<std::string>& source_ids);

 private:
  // Ids (EncodeKey form) of one side to the other's, for those that pair.
  using IdMap = std::map<std::string, std::string>;
  Result<IdMap> Translate(const EntityMapping& m, const std::vector<std::string>& ids,
                          bool to_source);

  RunContext* ctx_;
};

}  // namespace tether
