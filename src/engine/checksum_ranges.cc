#include "engine/checksum_ranges.h"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <map>

namespace tether {
namespace {

std::string Thousands(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

// Integer keys, compared column by column: the order every engine scans them in.
struct KeyLess {
  bool operator()(const Row& a, const Row& b) const {
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      if (a[i].as_int() != b[i].as_int()) return a[i].as_int() < b[i].as_int();
    }
    return a.size() < b.size();
  }
};
using HashByKey = std::map<Row, int64_t, KeyLess>;

class Planner {
 public:
  Planner(Connector* source, Connector* target, const EntityMapping& m,
          const ChecksumPlanOptions& options)
      : source_(source), target_(target), m_(m), options_(options) {
    source_req_.table = m.source_schema.name;
    source_req_.key_columns = m.SourceKeyNames();
    target_req_.table = m.target_schema.name;
    target_req_.key_columns = m.TargetKeyNames();
    for (const MappedColumn& c : m.columns) {
      source_req_.columns.push_back(*m.source_schema.Find(c.source));
      target_req_.columns.push_back(c.target_info);
    }
  }

  Status Run(const KeyRange& within) {
    TETHER_ASSIGN_OR_RETURN(std::vector<Row> cuts,
                            source_->KeySplits(m_.source_schema.name, m_.SourceKeyNames(), within,
                                               {}, std::max<size_t>(options_.part_rows, 1)));
    KeyRange part{within.after, std::nullopt};
    for (Row& cut : cuts) {
      part.upto = std::move(cut);
      TETHER_RETURN_IF_ERROR(Check(part));
      part.after = std::move(part.upto);
      part.upto.reset();
    }
    part.upto = within.upto;
    return Check(part);
  }

  ChecksumPlan Take() { return std::move(plan_); }

 private:
  // Runs `call` on both sides at once: the target's on a thread of its own.
  template <typename T, typename Call>
  Status BothSides(Call call, Result<T>* src, Result<T>* dst) {
    auto on_target = std::async(std::launch::async, [&] { return call(target_, target_req_); });
    *src = call(source_, source_req_);
    *dst = on_target.get();
    TETHER_RETURN_IF_ERROR(src->status());
    return dst->status();
  }

  Status Check(const KeyRange& range) {
    ++plan_.parts;
    source_req_.range = target_req_.range = range;
    Result<RangeChecksum> src = RangeChecksum{}, dst = RangeChecksum{};
    TETHER_RETURN_IF_ERROR(BothSides<RangeChecksum>(
        [](Connector* c, const ChecksumRequest& r) { return c->Checksum(r); }, &src, &dst));
    if (*src == *dst) {
      plan_.equal_rows += src->rows;
      return Status::OK();
    }
    if (dst->rows == 0) return Copy(range, src->rows);
    ++plan_.hashed_parts;
    plan_.hashed_rows += src->rows;
    Result<std::vector<Row>> src_rows = std::vector<Row>{}, dst_rows = std::vector<Row>{};
    TETHER_RETURN_IF_ERROR(BothSides<std::vector<Row>>(
        [](Connector* c, const ChecksumRequest& r) { return c->RowHashes(r); }, &src_rows,
        &dst_rows));
    HashByKey theirs = ByKey(std::move(*dst_rows));
    HashByKey ours = ByKey(std::move(*src_rows));
    // Keys in key order: those whose hashes differ or that one side lacks.
    std::vector<Row> keys;
    int64_t listed = 0;  // of the source's rows
    auto t = theirs.begin();
    for (auto& [key, hash] : ours) {
      for (; t != theirs.end() && KeyLess()(t->first, key); ++t) keys.push_back(t->first);
      const bool both = t != theirs.end() && !KeyLess()(key, t->first);
      if (!both || t->second != hash) {
        keys.push_back(key);
        ++listed;
      }
      if (both) ++t;
    }
    for (; t != theirs.end(); ++t) keys.push_back(t->first);
    plan_.equal_rows += static_cast<int64_t>(ours.size()) - listed;
    plan_.differing += static_cast<int64_t>(keys.size());
    if (keys.empty()) return Status::OK();
    if (plan_.work.empty() || plan_.work.back().copy) plan_.work.emplace_back();
    for (Row& k : keys) plan_.work.back().keys.push_back(std::move(k));
    return Status::OK();
  }

  // A part the target has no row of: copied whole, with the parts before it like it.
  Status Copy(const KeyRange& range, int64_t rows) {
    plan_.copy_rows += rows;
    if (!plan_.work.empty() && plan_.work.back().copy && plan_.work.back().copy->upto &&
        range.after && *plan_.work.back().copy->upto == *range.after) {
      plan_.work.back().copy->upto = range.upto;
      return Status::OK();
    }
    plan_.work.push_back({range, {}});
    return Status::OK();
  }

  HashByKey ByKey(std::vector<Row> rows) const {
    const size_t n = m_.key.size();
    HashByKey out;
    for (Row& r : rows) {
      int64_t hash = r[n].as_int();
      r.resize(n);
      out.emplace(std::move(r), hash);
    }
    return out;
  }

  Connector* source_;
  Connector* target_;
  const EntityMapping& m_;
  const ChecksumPlanOptions& options_;
  ChecksumRequest source_req_, target_req_;
  ChecksumPlan plan_;
};

}  // namespace

std::string ChecksumPlan::Summary() const {
  std::string out = fmt::format(
      "checksums: {} part{}, {} differed ({} rows hashed, {} records differ", Thousands(parts),
      parts == 1 ? "" : "s", Thousands(hashed_parts), Thousands(hashed_rows), Thousands(differing));
  if (copy_rows > 0) out += fmt::format("; {} rows the target lacks copied", Thousands(copy_rows));
  return out + ")";
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
  TETHER_RETURN_IF_ERROR(planner.Run(within));
  return planner.Take();
}

}  // namespace tether
