// SyncMode::kKeys: a selective sync of exactly the records SyncRequest::keys names.
#include <fmt/format.h>

#include <algorithm>

#include "engine/mapping.h"
#include "engine/runner.h"

namespace tether::sync_internal {
const std::map<std::string, std::vector<std::string>>& Runner::Keys() const {
  static const std::map<std::string, std::vector<std::string>> kNone;
  return req_.mode == SyncMode::kKeys ? req_.keys : kNone;
}

Status Runner::CheckKeys() const {
  for (const auto& [name, ids] : Keys()) {
    const EntityMapping& m = *plans_.at(name).mapping;
    const std::vector<std::string> names = m.SourceKeyNames();
    auto origins = req_.key_origins.find(name);
    for (size_t k = 0; k < ids.size(); ++k) {
      const std::string& id = ids[k];
      Row key = TypedKey(id, m.source_schema, names);
      bool fits = !key.empty();
      for (size_t i = 0; fits && i < key.size(); ++i) {
        const ColumnInfo* c = m.source_schema.Find(names[i]);
        fits = !(c && c->type == TypeClass::kInteger && key[i].kind() != ValueKind::kInt);
      }
      if (!fits) {
        const bool placed = origins != req_.key_origins.end() && k < origins->second.size() &&
                            !origins->second[k].empty();
        return Status::InvalidArgument(fmt::format(
            "{}: not a key of entity '{}' (table '{}', key {}{})",
            placed ? origins->second[k] : fmt::format("--keys: '{}'", id), name,
            m.source_schema.name, fmt::join(m.SourceKeyNames(), ", "),
            m.source_key.size() > 1 ? R"(: write a composite key as a JSON array, [5,"SKU-1"])"
                                    : ""));
      }
    }
  }
  return Status::OK();
}

Status Runner::RunKeys(bool dry_run) {
  for (const std::string& name : order_) {
    const EntityPlan& plan = plans_.at(name);
    if (watcher_) watcher_->OnEntityStart(name);
    BatchProcessor processor(&ctx_);
    TETHER_RETURN_IF_ERROR(
        KeyBatches(plan, processor, req_.keys.at(name), plan.conditions, dry_run,
                   [&](size_t) { return dry_run ? Status::OK() : WriteBatchState(); }));
    if (watcher_) watcher_->OnEntityEnd(name, ctx_.counts[name]);
  }
  return Status::OK();
}

Status Runner::KeyBatches(const EntityPlan& plan, BatchProcessor& processor,
                          const std::vector<std::string>& ids,
                          const std::vector<Condition>& conditions, bool dry_run,
                          const std::function<Status(size_t last)>& commit) {
  const std::string& name = plan.mapping->name();
  const size_t batch_size = req_.batch_size.value_or(pipeline_->batch_size);
  for (size_t from = 0; from < ids.size(); from += batch_size) {
    if (req_.cancel && req_.cancel->load()) return Status::Cancelled("stopped on request");
    const size_t to = std::min(ids.size(), from + batch_size);
    const std::vector<std::string> chunk(ids.begin() + from, ids.begin() + to);
    TETHER_RETURN_IF_ERROR(Transaction(dry_run, name, [&]() -> Status {
      TETHER_RETURN_IF_ERROR(processor.ProcessKeys(*plan.mapping, chunk, conditions));
      if (!ctx_.violation.ok() && !dry_run) return ctx_.violation;
      return commit(to - 1);
    }));
    if (watcher_) watcher_->OnProgress(name, ctx_.counts[name]);
  }
  return Status::OK();
}

}  // namespace tether::sync_internal
