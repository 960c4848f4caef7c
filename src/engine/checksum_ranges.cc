#include "engine/checksum_ranges.h"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <limits>
#include <map>
#include <tuple>

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

using Bounds = std::optional<std::pair<int64_t, int64_t>>;

// One more than a bucket's greatest offset from its origin: buckets of this width cover
// [lo, hi] in at most n buckets. No overflow: hi - lo fits in 64 bits.
int64_t WidthFor(int64_t lo, int64_t hi, int64_t n) {
  return static_cast<int64_t>(static_cast<uint64_t>(hi - lo) / static_cast<uint64_t>(n)) + 1;
}

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
    within_ = within;
    if (m_.key.size() == 1) {
      SetRange(within);
      Result<Bounds> src = Bounds(), dst = Bounds();
      TETHER_RETURN_IF_ERROR(BothSides<Bounds>(
          [](Connector* c, const ChecksumRequest& r) { return c->KeyBounds(r); }, &src, &dst));
      const Bounds both = !*src   ? *dst
                          : !*dst ? *src
                                  : std::pair{std::min((*src)->first, (*dst)->first),
                                              std::max((*src)->second, (*dst)->second)};
      if (!both) return Status::OK();  // no row on either side
      std::tie(lo_, hi_) = *both;
      // hi - lo must fit in 64 bits.
      if (lo_ >= 0 || hi_ < lo_ + std::numeric_limits<int64_t>::max()) {
        TETHER_RETURN_IF_ERROR(Buckets(lo_, hi_, std::max<int64_t>(options_.buckets, 1)));
        return Flush();
      }
    }
    plan_.unit = "part";
    return Parts(within);
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

  void SetRange(const KeyRange& range) { source_req_.range = target_req_.range = range; }

  // The keys in [first, last] (of the bucketed key range [lo_, hi_]).
  KeyRange KeysIn(int64_t first, int64_t last) const {
    KeyRange out = within_;
    if (first > lo_) out.after = Row{Value::Int(first - 1)};
    if (last < hi_) out.upto = Row{Value::Int(last)};
    return out;
  }

  // Compares [lo, hi] in at most n buckets; a differing bucket is copied (the target has none of
  // its rows), hashed row by row (few rows) or bucketed again over its own keys.
  Status Buckets(int64_t lo, int64_t hi, int64_t n) {
    const KeyBuckets buckets{lo, WidthFor(lo, hi, n), hi};
    SetRange(within_);
    using List = std::vector<BucketChecksum>;
    Result<List> src = List(), dst = List();
    TETHER_RETURN_IF_ERROR(BothSides<List>(
        [&](Connector* c, const ChecksumRequest& r) { return c->ChecksumBuckets(r, buckets); },
        &src, &dst));
    const BucketChecksum none;
    auto s = src->begin(), d = dst->begin();
    while (s != src->end() || d != dst->end()) {
      const bool on_source = s != src->end() && (d == dst->end() || s->bucket <= d->bucket);
      const bool on_target = d != dst->end() && (s == src->end() || d->bucket <= s->bucket);
      const BucketChecksum& ours = on_source ? *s : none;
      const BucketChecksum& theirs = on_target ? *d : none;
      const int64_t bucket = on_source ? s->bucket : d->bucket;
      if (on_source) ++s;
      if (on_target) ++d;
      ++plan_.checksums;
      if (ours.checksum == theirs.checksum) {
        TETHER_RETURN_IF_ERROR(Flush());
        plan_.equal_rows += ours.checksum.rows;
        copied_last_ = false;
        continue;
      }
      ++plan_.differed;
      const int64_t first = lo + bucket * buckets.width;
      const int64_t last = std::min(hi, first + (buckets.width - 1));
      if (theirs.checksum.rows == 0) {
        TETHER_RETURN_IF_ERROR(Flush());
        Copy(KeysIn(first, last), ours.checksum.rows);
        continue;
      }
      const int64_t least = on_source ? std::min(ours.least, theirs.least) : theirs.least;
      const int64_t greatest =
          on_source ? std::max(ours.greatest, theirs.greatest) : theirs.greatest;
      const int64_t rows = std::max(ours.checksum.rows, theirs.checksum.rows);
      if (rows <= options_.hash_rows || least == greatest) {
        TETHER_RETURN_IF_ERROR(Hash(KeysIn(first, last), ours.checksum.rows));
        continue;
      }
      TETHER_RETURN_IF_ERROR(Flush());
      const int64_t split = std::max<int64_t>(options_.split_rows, 1);
      TETHER_RETURN_IF_ERROR(Buckets(least, greatest, std::max<int64_t>(2, rows / split)));
    }
    return Status::OK();
  }

  // Queues `range` for row hashes, with the differing buckets just before it while they hold
  // few rows together; Flush hashes what is queued.
  Status Hash(const KeyRange& range, int64_t source_rows) {
    copied_last_ = false;
    if (pending_ && pending_rows_ + source_rows <= options_.hash_rows) {
      pending_->upto = range.upto;
      pending_rows_ += source_rows;
      return Status::OK();
    }
    TETHER_RETURN_IF_ERROR(Flush());
    pending_ = range;
    pending_rows_ = source_rows;
    return Status::OK();
  }

  Status Flush() {
    if (!pending_) return Status::OK();
    const KeyRange range = std::move(*pending_);
    pending_.reset();
    return HashRows(range, pending_rows_);
  }

  // The key splits of the source, each part checksummed (the fallback to buckets).
  Status Parts(const KeyRange& within) {
    TETHER_ASSIGN_OR_RETURN(std::vector<Row> cuts,
                            source_->KeySplits(m_.source_schema.name, m_.SourceKeyNames(), within,
                                               {}, std::max<size_t>(options_.part_rows, 1)));
    KeyRange part{within.after, std::nullopt};
    for (Row& cut : cuts) {
      part.upto = std::move(cut);
      TETHER_RETURN_IF_ERROR(Part(part));
      part.after = std::move(part.upto);
      part.upto.reset();
    }
    part.upto = within.upto;
    return Part(part);
  }

  Status Part(const KeyRange& range) {
    ++plan_.checksums;
    SetRange(range);
    Result<RangeChecksum> src = RangeChecksum{}, dst = RangeChecksum{};
    TETHER_RETURN_IF_ERROR(BothSides<RangeChecksum>(
        [](Connector* c, const ChecksumRequest& r) { return c->Checksum(r); }, &src, &dst));
    if (*src == *dst) {
      plan_.equal_rows += src->rows;
      copied_last_ = false;
      return Status::OK();
    }
    ++plan_.differed;
    if (dst->rows == 0) {
      Copy(range, src->rows);
      return Status::OK();
    }
    return HashRows(range, src->rows);
  }

  // Both sides' row hashes over `range`: the keys whose hashes differ, or that one side lacks,
  // become work.
  Status HashRows(const KeyRange& range, int64_t source_rows) {
    copied_last_ = false;
    plan_.hashed_rows += source_rows;
    SetRange(range);
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

  // A range the target has no row of: copied whole, with the range before it when that is to be
  // copied too and nothing lies between them.
  void Copy(const KeyRange& range, int64_t rows) {
    plan_.copy_rows += rows;
    if (!plan_.work.empty() && plan_.work.back().copy && copied_last_) {
      plan_.work.back().copy->upto = range.upto;
    } else {
      plan_.work.push_back({range, {}});
    }
    copied_last_ = true;
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
  KeyRange within_;
  int64_t lo_ = 0, hi_ = 0;  // the bucketed key range: the least and greatest key of both sides
  std::optional<KeyRange> pending_;  // differing buckets queued for row hashes
  int64_t pending_rows_ = 0;
  bool copied_last_ = false;  // the last range compared went to a copy
  ChecksumPlan plan_;
};

}  // namespace

std::string ChecksumPlan::Summary() const {
  std::string out =
      fmt::format("checksums: {} {}{}, {} differed ({} rows hashed, {} records differ",
                  Thousands(checksums), unit, checksums == 1 ? "" : "s", Thousands(differed),
                  Thousands(hashed_rows), Thousands(differing));
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
    // A timestamp column holds the UTC time of a timestamptz one (tether schema makes one for
    // the other on MySQL), and both hash as that time.
    const auto instant = [](TypeClass t) {
      return t == TypeClass::kTimestamp || t == TypeClass::kTimestampTz;
    };
    if (s->type != c.target_info.type && !(instant(s->type) && instant(c.target_info.type))) {
      return fmt::format("column '{}' is {} in the source and {} in the target", c.target,
                         TypeClassName(s->type), TypeClassName(c.target_info.type));
    }
    // Text read from char(n) has no trailing spaces; the other side's may.
    if (s->blank_padded != c.target_info.blank_padded) {
      return fmt::format("column '{}' is char(n) on one side only", c.target);
    }
    if (s->type == TypeClass::kReal || s->type == TypeClass::kJson || s->type == TypeClass::kAny) {
      return fmt::format("column '{}' is {}", c.target, TypeClassName(s->type));
    }
    if (c.references) {
      // A parent whose ids differ between the sides (mapped, or keyed by references to mapped
      // entities) makes the column's values differ too.
      const EntityConfig* parent = config.FindEntity(*c.references);
      if (!parent || KeysDiffer(config, *parent)) {
        return fmt::format("column '{}' refers to {}", c.target,
                           parent && parent->keys == KeyMode::kIdentity
                               ? "an entity keyed by references to mapped entities"
                               : "a mapped entity");
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
