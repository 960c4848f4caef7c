#include "track/prune.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "state/state_store.h"
#include "track/change_log.h"

namespace tether {

Result<PruneOutcome> PruneConsumed(const Config& config, const std::string& source_connection,
                                   Connector* source) {
  PruneOutcome out;
  ChangeLog log(source);
  TETHER_ASSIGN_OR_RETURN(auto tracked, log.Describe());
  std::optional<int64_t> low;
  for (const PipelineConfig& p : config.pipelines) {
    if (p.source != source_connection) continue;
    const ConnectionConfig* tc = config.FindConnection(p.target);
    std::unique_ptr<Connector> target;
    for (const TrackStatus& s : tracked) {
      if (std::find(p.entities.begin(), p.entities.end(), s.entity) == p.entities.end()) continue;
      if (!target) {
        TETHER_ASSIGN_OR_RETURN(target, OpenConnector(tc->name, tc->url));
      }
      StateStore state(target.get());
      TETHER_ASSIGN_OR_RETURN(auto cp, state.GetCheckpoint(p.name, s.entity));
      if (!cp || cp->mode != kChangesMode || !cp->position) {
        out.waiting =
            fmt::format("pipeline {} has not read the changes of {} yet", p.name, s.entity);
        return out;
      }
      TETHER_ASSIGN_OR_RETURN(const int64_t seq, PositionNumber(*cp, p.name, s.entity));
      low = low ? std::min(*low, seq) : seq;
    }
  }
  if (!low) return out;
  out.upto = low;
  TETHER_ASSIGN_OR_RETURN(out.pruned, log.Prune(*low));
  return out;
}

}  // namespace tether
