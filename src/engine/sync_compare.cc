// SyncMode::kCompare: what a compare run (tether diff / verify) adds to a full pass that writes
// nothing: the target rows no source record pairs with.
#include "engine/mapping.h"
#include "engine/runner.h"

namespace tether::sync_internal {
Status Runner::SweepUnpaired(const EntityMapping& m) {
  BatchProcessor processor(&ctx_);
  std::optional<Row> cursor;
  const size_t page = req_.batch_size.value_or(pipeline_->batch_size);
  for (;;) {
    if (req_.cancel && req_.cancel->load()) return Status::Cancelled("stopped on request");
    TETHER_ASSIGN_OR_RETURN(size_t examined, processor.SweepUnpaired(m, &cursor, page));
    if (examined == 0) return Status::OK();
  }
}

}  // namespace tether::sync_internal
