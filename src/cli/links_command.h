// `tether links find | failed`: the link registry in the target's state store — which source
// record is which target row, and the records that failed with their attempts and why.
#pragma once

#include <string>

#include "cli/common.h"

namespace tether::cli {

// `failed`: the entity's failed links; otherwise the link of `source_id` or of `target_id`
// (kExitNotFound when there is none). `format`: table | json. Returns the exit code.
int LinksCommand(const Globals& g, const std::string& pipeline, const std::string& entity,
                 const std::string& source_id, const std::string& target_id, bool failed,
                 const std::string& format);

}  // namespace tether::cli
