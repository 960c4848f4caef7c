#include "compare/diff.h"

#include <map>

namespace tether {
namespace {

// What a compare run's counts mean as differences.
EntityDiff ToEntityDiff(const std::string& entity, const RunCounts& c, const std::string& method) {
  EntityDiff d;
  d.entity = entity;
  d.source_rows = c.read;
  d.unchanged = c.unchanged + c.linked;
  d.only_in_source = c.inserted;
  d.only_in_target = c.deleted;
  d.changed = c.updated;
  d.invalid = c.skipped + c.failed;
  d.method = method;
  return d;
}

// Turns the compare run's record decisions into differences.
class Collector final : public SyncObserver {
 public:
  explicit Collector(DiffObserver* to) : to_(to) {}

  void OnRecord(const RecordPlan& r) override {
    if (r.action == Action::kDelete && r.kept) ++kept_[r.entity];
    if (!to_) return;
    Difference d;
    d.entity = r.entity;
    d.source_id = r.source_id;
    d.target_id = r.target_id;
    switch (r.action) {
      case Action::kInsert:
        d.kind = DiffKind::kOnlyInSource;
        d.target_id.clear();  // a planned id, not a row
        break;
      case Action::kUpdate:
        d.kind = DiffKind::kChanged;
        d.fields = r.changes;
        break;
      case Action::kDelete:
        d.kind = DiffKind::kOnlyInTarget;
        d.reason = r.reason;
        d.kept = r.kept;
        break;
      case Action::kSkip:
      case Action::kFail:
        d.kind = DiffKind::kInvalid;
        d.reason = r.reason;
        break;
      case Action::kUnchanged:
      case Action::kLink:  // paired by match key, equal: linking it is all a sync would do
        return;
    }
    to_->OnDifference(d);
  }
  void OnNotice(const std::string& text) override {
    if (to_) to_->OnNotice(text);
  }
  // Only-in-target rows of `entity` a sync would keep.
  int64_t kept(const std::string& entity) const {
    auto k = kept_.find(entity);
    return k == kept_.end() ? 0 : k->second;
  }
  void OnEntityTotal(const std::string& entity, int64_t total) override {
    if (to_) to_->OnEntityTotal(entity, total);
  }
  void OnProgress(const std::string& entity, const RunCounts& totals) override {
    if (to_) to_->OnProgress(ToEntityDiff(entity, totals, ""));
  }

 private:
  DiffObserver* to_;
  std::map<std::string, int64_t> kept_;
};

}  // namespace

std::string_view DiffKindName(DiffKind kind) {
  switch (kind) {
    case DiffKind::kOnlyInSource:
      return "only_in_source";
    case DiffKind::kOnlyInTarget:
      return "only_in_target";
    case DiffKind::kChanged:
      return "changed";
    case DiffKind::kInvalid:
      return "invalid";
  }
  return "?";
}

bool DiffReport::equal() const {
  for (const EntityDiff& e : entities) {
    if (!e.equal()) return false;
  }
  return true;
}

bool DiffReport::in_step() const {
  for (const EntityDiff& e : entities) {
    if (!e.in_step()) return false;
  }
  return true;
}

Result<DiffReport> RunDiff(const Config& config, const DiffRequest& request,
                           DiffObserver* observer) {
  SyncRequest req;
  req.pipeline = request.pipeline;
  req.entities = request.entities;
  req.mode = SyncMode::kCompare;
  req.batch_size = request.batch_size;
  req.cancel = request.cancel;
  req.checksums = request.checksums;
  req.checksum_options = request.checksum_options;
  req.count_rows = request.count_rows;
  Collector collector(observer);
  TETHER_ASSIGN_OR_RETURN(SyncReport sync, RunSync(config, req, &collector));
  DiffReport report;
  report.pipeline = sync.run.pipeline;
  for (const EntityReport& e : sync.entities) {
    EntityDiff d = ToEntityDiff(e.entity, e.counts, e.method);
    d.kept = collector.kept(e.entity);
    report.entities.push_back(std::move(d));
  }
  return report;
}

}  // namespace tether
