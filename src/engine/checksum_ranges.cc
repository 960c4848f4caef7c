#include "engine/checksum_ranges.h"

#include <fmt/format.h>

#include <future>

namespace tether {
namespace {

std::string Thousands(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

ChecksumRequest RequestFor(const std::string& table, std::vector<ColumnInfo> columns,
                           std::vector<std::string> keys, const KeyRange& range) {
  ChecksumRequest r;
  r.table = table;
  r.columns = std::move(columns);
  r.key_columns = std::move(keys);
  r.range = range;
  return r;
}

class Planner {
 public:
  Planner(Connector* source, Connector* target, const EntityMapping& m,
          const ChecksumPlanOptions& options)
      : source_(source), target_(target), m_(m), options_(options) {
    for (const MappedColumn& c : m.columns) {
      source_columns_.push_back(*m.source_schema.Find(c.source));
      target_columns_.push_back(c.target_info);
    }
  }

  // Depth first, so that the differing ranges come out in key order.
  Status Check(const KeyRange& range) {
    ++plan_.ranges;
    // The target's checksum on a thread of its own while the source computes its own.
    auto target_sum = std::async(std::launch::async, [&] {
      return target_->Checksum(
          RequestFor(m_.target_schema.name, target_columns_, m_.TargetKeyNames(), range));
    });
    Result<RangeChecksum> src = source_->Checksum(
        RequestFor(m_.source_schema.name, source_columns_, m_.SourceKeyNames(), range));
    Result<RangeChecksum> dst = target_sum.get();
    TETHER_RETURN_IF_ERROR(src.status());
    TETHER_RETURN_IF_ERROR(dst.status());
    if (*src == *dst) {
      plan_.equal_rows += src->rows;
      return Status::OK();
    }
    // One side empty: every row of the other differs, nothing to narrow down.
    if (src->rows == 0 || dst->rows == 0 || src->rows <= static_cast<int64_t>(options_.leaf_rows)) {
      return Differs(range, src->rows);
    }
    const size_t every = (static_cast<size_t>(src->rows) + options_.fanout - 1) / options_.fanout;
    TETHER_ASSIGN_OR_RETURN(std::vector<Row> cuts,
                            source_->KeySplits(m_.source_schema.name, m_.SourceKeyNames(), range,
                                               {}, std::max<size_t>(every, 1)));
    if (cuts.empty()) return Differs(range, src->rows);
    KeyRange part{range.after, std::nullopt};
    for (Row& cut : cuts) {
      part.upto = std::move(cut);
      TETHER_RETURN_IF_ERROR(Check(part));
      part.after = std::move(part.upto);
      part.upto.reset();
    }
    part.upto = range.upto;
    return Check(part);
  }

  ChecksumPlan Take() { return std::move(plan_); }

 private:
  Status Differs(const KeyRange& range, int64_t rows) {
    plan_.differing.push_back(range);
    plan_.differing_rows += rows;
    return Status::OK();
  }

  Connector* source_;
  Connector* target_;
  const EntityMapping& m_;
  const ChecksumPlanOptions& options_;
  std::vector<ColumnInfo> source_columns_, target_columns_;
  ChecksumPlan plan_;
};

}  // namespace

std::string ChecksumPlan::Summary() const {
  return fmt::format("checksums: {} range{}, {} differed ({} of {} source rows compared)",
                     Thousands(ranges), ranges == 1 ? "" : "s", Thousands(differing.size()),
                     Thousands(differing_rows), Thousands(differing_rows + equal_rows));
}

std::string ChecksumIneligibility(const EntityMapping& m, const Config& config,
                                  const Connector& source, const Connector& target) {
  if (!source.capabilities().checksums || !target.capabilities().checksums) {
    return "a connector cannot compute checksums";
  }
  if (m.mapped()) return "mapped keys";
  if (m.soft_delete) return "a soft-delete column";
  if (!m.rules.empty()) return "validation rules";
  for (int k : m.key) {
    if (m.columns[k].target_info.type != TypeClass::kInteger) return "a key that is not an integer";
  }
  for (const MappedColumn& c : m.columns) {
    const ColumnInfo* s = c.source_index < 0 ? nullptr : m.source_schema.Find(c.source);
    if (!s) return fmt::format("column '{}' has no source column", c.target);
    if (c.value_map || c.default_value) {
      return fmt::format("column '{}' has a value map or default", c.target);
    }
    if (s->type != c.target_info.type) {
      return fmt::format("column '{}' is {} in the source and {} in the target", c.target,
                         TypeClassName(s->type), TypeClassName(c.target_info.type));
    }
    if (s->type == TypeClass::kReal || s->type == TypeClass::kJson || s->type == TypeClass::kAny) {
      return fmt::format("column '{}' is {}", c.target, TypeClassName(s->type));
    }
    if (c.references) {
      const EntityConfig* parent = config.FindEntity(*c.references);
      if (!parent || parent->keys != KeyMode::kIdentity) {
        return fmt::format("column '{}' refers to a mapped entity", c.target);
      }
    }
  }
  return "";
}

Result<ChecksumPlan> PlanByChecksums(Connector* source, Connector* target, const EntityMapping& m,
                                     const KeyRange& within, const ChecksumPlanOptions& options) {
  Planner planner(source, target, m, options);
  TETHER_RETURN_IF_ERROR(planner.Check(within));
  return planner.Take();
}

}  // namespace tether
