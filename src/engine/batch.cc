#include "engine/batch.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "core/temporal.h"
#include "core/utf8.h"
#include "engine/coerce.h"
#include "engine/key_map.h"

namespace tether {

struct BatchProcessor::Item {
  std::string sid;
  Row desired;                // one value per mapped column
  std::vector<bool> pending;  // dry run: reference to a parent that the run would create
  std::optional<Link> link;
  std::optional<Row> target_key;
  std::string target_id;
  std::optional<Row> target_row;  // current target values, one per mapped column
  bool matched = false;           // found by match key, not by link
  std::string waiting_on;         // source id of a parent in this same batch (self-reference)
  Action action = Action::kUnchanged;
  std::string reason;
  std::vector<FieldChange> changes;
  std::string hash;
  std::vector<std::string> kept;  // target columns whose value merge kept (source empty)
  bool left = false;       // on_duplicate=skip: the target row stays as it is while the source does
  bool elsewhere = false;  // a pull made for this same batch processed it (a parent's parent)
  // Its key cannot be an id a link or a lookup holds (not UTF-8, too long): it fails, without a
  // link, and is reported under EscapeInvalidUtf8(sid).
  bool unusable_id = false;
  bool rejected = false;
  bool done = false;
  bool coerced = false;
  // Waits for a later wave: a record before it in this wave has the same match key (Waves).
  bool deferred = false;
};

namespace {

constexpr int kMaxDepth = 64;
// Dry run: the target id of a row the run would insert (it has none yet).
constexpr char kPlanned[] = "\x01planned";

Value KeyValueFromId(const std::string& id) {
  Row r;
  DecodeKey(id, 1, &r);
  return r[0];
}

}  // namespace

bool IsRecordError(const Status& s) {
  return s.code() == StatusCode::kConstraint || s.code() == StatusCode::kInvalidRecord;
}

Row TypedKey(const std::string& id, const TableSchema& schema,
             const std::vector<std::string>& columns) {
  Row key;
  if (columns.size() == 1) {
    const ColumnInfo* c = schema.Find(columns[0]);
    bool textual = c && IsTextual(c->type);
    key.push_back(textual ? Value::Text(id) : KeyValueFromId(id));
    return key;
  }
  if (!DecodeKey(id, columns.size(), &key)) key.clear();
  return key;
}

namespace {

Row Pick(const Row& row, const std::vector<int>& positions) {
  Row out;
  out.reserve(positions.size());
  for (int p : positions) out.push_back(row[p]);
  return out;
}

std::vector<int> NonKeyPositions(const EntityMapping& m) {
  std::vector<int> out;
  for (size_t i = 0; i < m.columns.size(); ++i) {
    if (!m.columns[i].is_key) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::string RowImage(const EntityMapping& m, const Row& row) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < m.columns.size(); ++i) j[m.columns[i].target] = ValueToJson(row[i]);
  return j.dump();
}

}  // namespace

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kInsert:
      return "insert";
    case Action::kUpdate:
      return "update";
    case Action::kUnchanged:
      return "unchanged";
    case Action::kLink:
      return "link";
    case Action::kSkip:
      return "skip";
    case Action::kFail:
      return "fail";
    case Action::kDelete:
      return "delete";
  }
  return "?";
}

Status BatchProcessor::Process(const EntityMapping& m, std::vector<Row> rows) {
  recreated_.clear();  // of an attempt that failed
  Handled handled;
  TETHER_RETURN_IF_ERROR(ProcessRows(m, std::move(rows), &handled));
  return FollowRecreated(&handled);
}

Status BatchProcessor::ProcessRows(const EntityMapping& m, std::vector<Row> rows,
                                   Handled* handled) {
  known_.clear();
  pulling_.clear();
  // A row this run already pulled as a parent is done: it is neither written nor counted again.
  std::erase_if(rows, [&](const Row& r) {
    std::pair<std::string, std::string> id{m.name(), EncodeKey(Pick(r, m.source_key))};
    return ctx_->pulled.count(id) > 0 || !handled->insert(std::move(id)).second;
  });
  return ProcessDepth(m, std::move(rows), 0);
}

Status BatchProcessor::FollowRecreated(Handled* handled) {
  while (!recreated_.empty()) {
    std::map<std::string, std::vector<std::string>> parents;  // entity -> source ids
    for (auto& [entity, sid] : std::exchange(recreated_, {})) parents[entity].push_back(sid);
    for (const auto& [name, why] : ctx_->unmapped) {
      for (const auto& [column, parent] : ctx_->config->FindEntity(name)->references) {
        if (!parents.count(parent)) continue;
        return why.WithContext(
            fmt::format("entity '{}' refers to records of '{}' written anew", name, parent));
      }
    }
    for (const auto& [name, child] : ctx_->mappings) {
      if (ctx_->passes_ahead.count(name)) continue;  // its own pass comes
      for (int p : child->references) {
        auto ids = parents.find(*child->columns[p].references);
        if (ids == parents.end()) continue;
        const EntityMapping& parent = *ctx_->mappings.at(ids->first);
        for (const std::string& id : ids->second) {
          Row value = TypedKey(id, parent.source_schema, parent.SourceKeyNames());
          if (value.size() != 1) continue;
          TETHER_RETURN_IF_ERROR(ProcessChildren(*child, p, value[0], handled));
        }
      }
    }
  }
  return Status::OK();
}

Status BatchProcessor::ProcessChildren(const EntityMapping& child, int column, const Value& parent,
                                       Handled* handled) {
  const size_t page = ctx_->pipeline->batch_size;
  ScanRequest scan{child.source_schema.name,
                   child.source_columns,
                   child.SourceKeyNames(),
                   std::nullopt,
                   {{child.columns[column].source, Condition::Op::kEq, parent}},
                   page,
                   std::nullopt};
  for (;;) {
    std::vector<Row> rows;
    {
      TETHER_ASSIGN_OR_RETURN(auto stream, ctx_->source->Scan(scan));
      Row row;
      for (;;) {
        TETHER_ASSIGN_OR_RETURN(bool more, stream->Next(&row));
        if (!more) break;
        rows.push_back(row);
      }
    }
    if (rows.empty()) return Status::OK();
    scan.after_key = Pick(rows.back(), child.source_key);
    const bool last = rows.size() < page;
    // Processed here, each child is done for the rest of the run, as a pulled parent is.
    std::vector<std::string> sids;
    for (const Row& r : rows) sids.push_back(EncodeKey(Pick(r, child.source_key)));
    TETHER_RETURN_IF_ERROR(ProcessRows(child, std::move(rows), handled));
    for (std::string& sid : sids) ctx_->Remember(&ctx_->pulled, child.name(), std::move(sid));
    if (last) return Status::OK();
  }
}

void BatchProcessor::Reject(const EntityMapping& m, Item& item, Action action, std::string reason) {
  item.rejected = true;
  item.action = action;
  item.reason = std::move(reason);
  if (ctx_->violation.ok()) {
    if (action == Action::kSkip && ctx_->on_invalid == OnInvalid::kError) {
      ctx_->violation =
          Status::Policy(fmt::format("entity {} record {}: {} (on_invalid: error)", m.name(),
                                     EscapeInvalidUtf8(item.sid), item.reason));
    }
  }
}

Status BatchProcessor::ProcessDepth(const EntityMapping& m, std::vector<Row> rows, int depth) {
  if (depth > kMaxDepth) {
    return Status::Internal(
        fmt::format("entity {}: parents nested deeper than {}", m.name(), kMaxDepth));
  }
  RunCounts scratch;
  RunCounts& counts = silent_ ? scratch : ctx_->counts[m.name()];
  counts.read += static_cast<int64_t>(rows.size());

  std::vector<Item> items = BuildItems(m, rows);
  TETHER_RETURN_IF_ERROR(ReadLinks(m, items));
  TETHER_RETURN_IF_ERROR(ResolveReferences(m, items, depth));
  // A record of this batch that was pulled just now, as the parent of a parent, is done.
  for (Item& it : items) {
    if (silent_ || !ctx_->pulled.count({m.name(), it.sid})) continue;
    it.elsewhere = it.done = true;
    counts.read--;
  }
  TETHER_RETURN_IF_ERROR(RunWaves(m, items));
  return CollectLinks(m, items, depth, counts);
}

std::vector<BatchProcessor::Item> BatchProcessor::BuildItems(const EntityMapping& m,
                                                             std::vector<Row>& rows) {
  // The mapped column that reads each source column last: it may take the value instead of a
  // copy (the source row is not needed after this loop).
  std::vector<int> last_reader(m.source_columns.size(), -1);
  for (size_t c = 0; c < m.columns.size(); ++c) {
    if (m.columns[c].source_index >= 0) {
      last_reader[m.columns[c].source_index] = static_cast<int>(c);
    }
  }
  std::vector<Item> items(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    Item& it = items[r];
    Row& src = rows[r];
    it.sid = m.source_key.size() == 1 ? EncodeKey(src[m.source_key[0]])
                                      : EncodeKey(Pick(src, m.source_key));
    // The id is looked up in links and tables before any value is coerced, and stored in the
    // record's link: it must be UTF-8 and, for mapped keys, fit a link.
    for (int p : m.source_key) {
      if (it.unusable_id || src[p].kind() != ValueKind::kText) continue;
      Status st = CheckUtf8(src[p], *m.source_schema.Find(m.source_columns[p]));
      if (!st.ok()) {
        it.unusable_id = true;
        Reject(m, it, Action::kSkip, st.message());
      }
    }
    if (!it.unusable_id && m.mapped() && Utf8Length(it.sid) > StateStore::kMaxIdLength) {
      it.unusable_id = true;
      Reject(m, it, Action::kSkip,
             fmt::format("its key is {} characters long; a link holds at most {}",
                         Utf8Length(it.sid), StateStore::kMaxIdLength));
    }
    it.desired.resize(m.columns.size());
    it.pending.assign(m.columns.size(), false);
    for (size_t c = 0; c < m.columns.size(); ++c) {
      const MappedColumn& mc = m.columns[c];
      Value v;
      if (mc.source_index >= 0) {
        Value& from = src[mc.source_index];
        v = last_reader[mc.source_index] == static_cast<int>(c) ? std::move(from) : from;
      }
      if (mc.rule && !it.rejected) {
        std::string why = mc.rule->Check(v);
        if (!why.empty()) {
          // The column and the rule, never the value: a rule may guard a secret, and the
          // record's id already says which record to look at.
          Reject(m, it, Action::kSkip, fmt::format("{} {}", mc.source, why));
        }
      }
      if (mc.value_map) {
        for (const auto& [from, to] : *mc.value_map) {
          if (SameValue(from, v) || (!v.is_null() && from.ToText() == v.ToText())) {
            v = to;
            break;
          }
        }
      }
      if (v.is_null() && mc.default_value) v = *mc.default_value;
      it.desired[c] = std::move(v);
    }
    // References are looked up (parents' links, the target) before values are coerced.
    for (int p : m.references) {
      if (it.rejected) break;
      if (Status st = CheckUtf8(it.desired[p], m.columns[p].target_info); !st.ok()) {
        Reject(m, it, Action::kSkip, st.message());
      }
    }
  }
  return items;
}

Status BatchProcessor::ReadLinks(const EntityMapping& m, std::vector<Item>& items) {
  if (!m.mapped()) return Status::OK();
  std::vector<std::string> sids;
  sids.reserve(items.size());
  for (const Item& it : items) {
    if (!it.unusable_id) sids.push_back(it.sid);
  }
  TETHER_ASSIGN_OR_RETURN(auto links,
                          ctx_->state->FindLinksBySource(ctx_->pipeline->name, m.name(), sids));
  auto& known = known_[m.name()];
  for (Item& it : items) {
    auto found = links.find(it.sid);
    if (found == links.end()) continue;
    it.link = found->second;
    if (it.link->target_id && it.link->status != "deleted") known[it.sid] = *it.link->target_id;
  }
  return Status::OK();
}

Status BatchProcessor::RunWaves(const EntityMapping& m, std::vector<Item>& items) {
  // A row whose parent is in this same batch waits until the parent has its target id.
  for (;;) {
    std::vector<Item*> wave = NextWave(m, items);
    if (wave.empty()) return Status::OK();
    CoerceWave(m, wave);
    // Records without a link that share a match key: the first goes in this wave, the others in
    // later ones, when its row exists (or it failed), so that they meet it as records of a later
    // batch would — taken — and a dry run predicts the same.
    std::vector<Item*> live;
    std::set<std::string> match_keys;
    for (Item* it : wave) {
      if (it->rejected) continue;
      std::optional<std::string> key = CollisionKey(m, *it);
      it->deferred = key && !match_keys.insert(*key).second;
      if (!it->deferred) live.push_back(it);
    }
    if (!bulk_) TETHER_RETURN_IF_ERROR(Identify(m, live));  // bulk: all new (see set_bulk)
    TETHER_RETURN_IF_ERROR(Decide(m, live));
    TETHER_RETURN_IF_ERROR(Apply(m, live));
    for (Item* it : wave) it->done = !it->deferred;
  }
}

std::vector<BatchProcessor::Item*> BatchProcessor::NextWave(const EntityMapping& m,
                                                            std::vector<Item>& items) {
  std::vector<Item*> wave;
  for (Item& it : items) {
    if (it.done || it.rejected) continue;
    if (!it.waiting_on.empty()) {
      auto& known = known_[m.name()];
      auto found = known.find(it.waiting_on);
      if (found == known.end()) continue;
      for (int p : m.references) {
        if (*m.columns[p].references == m.name() && !it.desired[p].is_null() &&
            EncodeKey({it.desired[p]}) == it.waiting_on) {
          if (found->second == kPlanned) {
            it.pending[p] = true;
          } else if (m.keys_differ) {
            it.desired[p] = KeyValueFromId(found->second);
          }
        }
      }
      it.waiting_on.clear();
    }
    wave.push_back(&it);
  }
  return wave;
}

void BatchProcessor::CoerceWave(const EntityMapping& m, std::vector<Item*>& wave) {
  // To the target's types: a value the target cannot hold exactly is invalid.
  for (Item* it : wave) {
    if (std::exchange(it->coerced, true)) continue;  // deferred from an earlier wave
    for (size_t c = 0; c < m.columns.size() && !it->rejected; ++c) {
      const MappedColumn& mc = m.columns[c];
      if (it->pending[c] || (mc.is_key && m.generated_key)) continue;
      if (Status st = CoerceInPlace(&it->desired[c], mc.target_info); !st.ok()) {
        Reject(m, *it, Action::kSkip, st.message());
      }
    }
  }
}

Status BatchProcessor::CollectLinks(const EntityMapping& m, std::vector<Item>& items, int depth,
                                    RunCounts& counts) {
  std::vector<Link> links;
  const std::string now = UtcNow();
  for (Item& it : items) {
    if (it.elsewhere) continue;
    if (!it.done && !it.rejected) {
      Reject(m, it, Action::kFail,
             fmt::format("its parent {} {} could not be written", m.name(), it.waiting_on));
    }
    if (depth > 0 && !silent_) ctx_->Remember(&ctx_->pulled, m.name(), it.sid);
    if (it.rejected) ctx_->Remember(&ctx_->rejected, m.name(), it.sid);
    if (!it.rejected || silent_) continue;
    (it.action == Action::kSkip ? counts.skipped : counts.failed)++;
    if (std::optional<Link> l = ReportRejected(m, it)) {
      l->synced_at = now;
      links.push_back(std::move(*l));
    }
  }
  for (Item& it : items) {
    if (it.rejected || it.elsewhere || !m.mapped()) continue;
    bool same = it.link && it.link->target_id == it.target_id && it.link->hash == it.hash &&
                it.link->status == "synced";
    if (same || it.target_id.empty()) continue;
    links.push_back(SyncedLink(it));
    links.back().synced_at = now;
  }
  if (!ctx_->dry_run) {
    TETHER_RETURN_IF_ERROR(ctx_->state->PutLinks(ctx_->pipeline->name, m.name(), links));
  }
  return Status::OK();
}

std::optional<Link> BatchProcessor::ReportRejected(const EntityMapping& m, const Item& it) {
  RecordPlan plan{m.name(),
                  it.unusable_id ? EscapeInvalidUtf8(it.sid) : it.sid,
                  it.link && it.link->target_id ? *it.link->target_id : "",
                  it.action,
                  {},
                  it.reason};
  if (ctx_->observer) ctx_->observer->OnRecord(plan);
  ctx_->results.push_back(
      {m.name(), plan.source_id, plan.target_id, std::string(ActionName(it.action)), it.reason});
  if (!m.mapped() || it.unusable_id) return std::nullopt;
  Link l = it.link.value_or(Link{});
  l.source_id = it.sid;
  l.status = "failed";
  l.attempts += 1;
  l.last_error = it.reason;
  return l;
}

Link BatchProcessor::SyncedLink(const Item& it) {
  Link l = it.link.value_or(Link{});
  l.source_id = it.sid;
  l.target_id = it.target_id;
  l.hash = it.hash;
  l.status = "synced";
  l.attempts = 0;
  l.last_error.clear();
  nlohmann::json meta = nlohmann::json::parse(l.metadata, nullptr, false);
  if (!meta.is_object()) meta = nlohmann::json::object();
  if (it.kept.empty()) {
    meta.erase("kept");
  } else {
    meta["kept"] = it.kept;
  }
  if (it.left) {
    meta["left"] = true;
  } else {
    meta.erase("left");
  }
  l.metadata = meta.dump();
  return l;
}

Status BatchProcessor::ResolveReferences(const EntityMapping& m, std::vector<Item>& items,
                                         int depth) {
  std::set<std::string> batch_ids;
  for (const Item& it : items) batch_ids.insert(it.sid);
  for (int p : m.references) {
    const std::string& parent_name = *m.columns[p].references;
    const EntityMapping& pm = *ctx_->mappings.at(parent_name);
    auto& known = known_[parent_name];
    auto unknown_ids = [&]() {
      std::vector<std::string> ids;
      std::set<std::string> seen;
      for (const Item& it : items) {
        if (it.rejected || it.desired[p].is_null()) continue;
        std::string id = EncodeKey({it.desired[p]});
        if (!known.count(id) && seen.insert(id).second) ids.push_back(id);
      }
      return ids;
    };
    std::vector<std::string> ids = unknown_ids();
    if (!ids.empty()) {
      TETHER_RETURN_IF_ERROR(LearnTargetIds(pm, ids));
      ids = unknown_ids();
    }
    // Parents of this same batch come in a later wave; others are pulled from the source first.
    std::vector<std::string> to_pull;
    for (const std::string& id : ids) {
      if (parent_name == m.name() && batch_ids.count(id)) continue;
      to_pull.push_back(id);
    }
    std::set<std::string> in_source;
    if (!to_pull.empty()) {
      LookupRequest req{pm.source_schema.name, pm.SourceKeyNames(), pm.SourceKeyNames(), {}};
      for (const std::string& id : to_pull) {
        req.keys.push_back(TypedKey(id, pm.source_schema, pm.SourceKeyNames()));
      }
      TETHER_ASSIGN_OR_RETURN(auto rows, ctx_->source->Lookup(req));
      for (const Row& r : rows) in_source.insert(EncodeKey(r));
      std::vector<std::string> pull;
      for (const std::string& id : in_source) {
        if (!ctx_->rejected.count({parent_name, id})) pull.push_back(id);
      }
      TETHER_RETURN_IF_ERROR(PullParents(pm, pull, depth + 1));
    }
    for (Item& it : items) {
      if (it.rejected || it.desired[p].is_null()) continue;
      std::string id = EncodeKey({it.desired[p]});
      auto found = known.find(id);
      if (found != known.end() && found->second == kPlanned) {
        it.pending[p] = true;
      } else if (found != known.end()) {
        // A parent whose ids differ between the sides gives its target id; others keep the value.
        if (pm.keys_differ) it.desired[p] = KeyValueFromId(found->second);
      } else if (parent_name == m.name() && batch_ids.count(id)) {
        it.waiting_on = id;
      } else if (!in_source.count(id)) {
        Reject(m, it, Action::kFail,
               fmt::format("{} = {} refers to {} {}, which does not exist in the source",
                           m.columns[p].source, id, parent_name, id));
      } else if (ctx_->dry_run && !ctx_->rejected.count({parent_name, id})) {
        it.pending[p] = true;  // the run would create the parent first
      } else {
        Reject(m, it, Action::kFail,
               fmt::format("{} = {}: parent {} {} could not be synced", m.columns[p].source, id,
                           parent_name, id));
      }
    }
  }
  return Status::OK();
}

Status BatchProcessor::PullParents(const EntityMapping& pm, const std::vector<std::string>& ids,
                                   int depth) {
  std::vector<Row> keys;
  for (const std::string& id : ids) {
    if (!pulling_.insert({pm.name(), id}).second) continue;  // already on its way (a cycle)
    Row k = TypedKey(id, pm.source_schema, pm.SourceKeyNames());
    if (!k.empty()) keys.push_back(std::move(k));
  }
  if (keys.empty()) return Status::OK();
  LookupRequest req{pm.source_schema.name, pm.source_columns, pm.SourceKeyNames(), keys};
  TETHER_ASSIGN_OR_RETURN(auto rows, ctx_->source->Lookup(req));
  // A tree: take the whole chain of missing ancestors now, as one batch that is written top-down
  // in waves, rather than nesting one level deeper per generation.
  std::vector<int> up_columns;  // positions in source_columns of the self-references
  for (int p : pm.references) {
    if (*pm.columns[p].references == pm.name()) up_columns.push_back(pm.columns[p].source_index);
  }
  for (size_t from = 0; !up_columns.empty() && from < rows.size();) {
    std::set<std::string> up;
    for (size_t r = from; r < rows.size(); ++r) {
      for (int c : up_columns) {
        if (!rows[r][c].is_null()) up.insert(EncodeKey({rows[r][c]}));
      }
    }
    from = rows.size();
    std::vector<std::string> ids;
    for (const std::string& id : up) {
      if (!pulling_.count({pm.name(), id})) ids.push_back(id);
    }
    TETHER_RETURN_IF_ERROR(LearnTargetIds(pm, ids));
    req.keys.clear();
    for (const std::string& id : ids) {
      if (known_[pm.name()].count(id) || ctx_->rejected.count({pm.name(), id})) continue;
      pulling_.insert({pm.name(), id});
      Row k = TypedKey(id, pm.source_schema, pm.SourceKeyNames());
      if (!k.empty()) req.keys.push_back(std::move(k));
    }
    if (req.keys.empty()) break;
    TETHER_ASSIGN_OR_RETURN(auto more, ctx_->source->Lookup(req));
    for (Row& r : more) rows.push_back(std::move(r));
  }
  // A plan pulls them too, as the plan of what the run does: counted and reported once, as
  // records the run pulls (their own batch skips them). A compare run only identifies them, to
  // pair its records' references: a diff reports the entities it compares (their own pass, when
  // they are compared too).
  if (ctx_->compare) {
    const bool was_silent = std::exchange(silent_, true);
    Status st = ProcessDepth(pm, std::move(rows), depth);
    silent_ = was_silent;
    return st;
  }
  if (ctx_->observer) {
    ctx_->observer->OnNotice(
        fmt::format("pulling {} missing {} parent(s) first", rows.size(), pm.name()));
  }
  return ProcessDepth(pm, std::move(rows), depth);
}

Status BatchProcessor::LearnTargetIds(const EntityMapping& m, const std::vector<std::string>& ids) {
  if (ids.empty()) return Status::OK();
  auto& known = known_[m.name()];
  if (m.mapped()) {
    TETHER_ASSIGN_OR_RETURN(auto links,
                            ctx_->state->FindLinksBySource(ctx_->pipeline->name, m.name(), ids));
    for (auto& [sid, l] : links) {
      if (l.target_id && l.status != "deleted") known[sid] = *l.target_id;
    }
    // A dry run's pairings by match key stand for the links the real run has written by now.
    if (auto paired = ctx_->paired.find(m.name()); paired != ctx_->paired.end()) {
      for (const std::string& id : ids) {
        auto p = paired->second.by_source.find(id);
        if (p != paired->second.by_source.end()) known[id] = p->second;
      }
    }
    LearnPlanned(m, ids);
    return Status::OK();
  }
  // Identity keys: the target row carries the same key (made of references, the key their
  // parents' links give); make sure it is there. (An id that is not UTF-8 cannot be: its record
  // fails, see ProcessDepth.)
  std::vector<std::string> utf8_ids;
  for (const std::string& id : ids) {
    if (IsUtf8(id)) utf8_ids.push_back(id);
  }
  KeyMap key_map(ctx_);
  TETHER_ASSIGN_OR_RETURN(auto keys, key_map.TargetKeys(m, utf8_ids));
  LookupRequest req{m.target_schema.name, m.TargetKeyNames(), m.TargetKeyNames(), {}};
  std::map<std::string, std::string> source_of;  // target id -> source id
  for (size_t i = 0; i < utf8_ids.size(); ++i) {
    if (!keys[i]) continue;
    source_of.emplace(EncodeKey(*keys[i]), utf8_ids[i]);
    req.keys.push_back(std::move(*keys[i]));
  }
  if (!req.keys.empty()) {
    TETHER_ASSIGN_OR_RETURN(auto rows, ctx_->target->Lookup(req));
    for (const Row& r : rows) {
      auto s = source_of.find(EncodeKey(r));
      if (s != source_of.end()) known[s->second] = s->first;
    }
  }
  LearnPlanned(m, ids);
  return Status::OK();
}

void BatchProcessor::LearnPlanned(const EntityMapping& m, const std::vector<std::string>& ids) {
  auto planned = ctx_->planned.find(m.name());
  if (planned == ctx_->planned.end()) return;
  auto& known = known_[m.name()];
  for (const std::string& id : ids) {
    if (planned->second.count(std::hash<std::string>{}(id))) known[id] = kPlanned;
  }
}

Result<bool> BatchProcessor::KeyRangeAbsent(const EntityMapping& m, const std::vector<Row>& keys) {
  if (m.key.size() != 1 || m.columns[m.key[0]].target_info.type != TypeClass::kInteger) {
    return false;
  }
  if (probe_pause_ > 0) {
    --probe_pause_;
    return false;
  }
  int64_t lo = 0, hi = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i][0].kind() != ValueKind::kInt) return false;
    const int64_t k = keys[i][0].as_int();
    lo = i ? std::min(lo, k) : k;
    hi = i ? std::max(hi, k) : k;
  }
  const std::string& column = m.columns[m.key[0]].target;
  TETHER_ASSIGN_OR_RETURN(
      int64_t present,
      ctx_->target->Count(m.target_schema.name, {{column, Condition::Op::kGe, Value::Int(lo)},
                                                 {column, Condition::Op::kLe, Value::Int(hi)}}));
  // The target has rows here (a resync): probing the next batches would likely be wasted too.
  if (present > 0) probe_pause_ = kProbePause;
  return present == 0;
}

Status BatchProcessor::Identify(const EntityMapping& m, std::vector<Item*>& wave) {
  std::vector<Item*> need_match;
  for (Item* it : wave) {
    if (!m.mapped()) {
      bool planned_parent = false;
      for (int p : m.key) planned_parent = planned_parent || it->pending[p];
      if (!planned_parent) it->target_key = Pick(it->desired, m.key);  // else: new (dry run)
    } else if (Linked(*it)) {
      Row k = TypedKey(*it->link->target_id, m.target_schema, m.TargetKeyNames());
      if (!k.empty()) it->target_key = std::move(k);
    } else if (!m.match.empty()) {
      bool usable = true;
      for (int p : m.match) usable = usable && !it->desired[p].is_null() && !it->pending[p];
      if (usable) need_match.push_back(it);
    }
  }
  const std::vector<std::string> all_columns = m.TargetColumnNames();
  // By key: linked and identity rows.
  LookupRequest by_key{m.target_schema.name, all_columns, m.TargetKeyNames(), {}};
  for (Item* it : wave) {
    if (it->target_key) by_key.keys.push_back(*it->target_key);
  }
  bool absent = false;
  if (!by_key.keys.empty() && !m.mapped()) {
    TETHER_ASSIGN_OR_RETURN(absent, KeyRangeAbsent(m, by_key.keys));
  }
  if (!by_key.keys.empty() && !absent) {
    TETHER_ASSIGN_OR_RETURN(auto rows, ctx_->target->Lookup(by_key));
    std::unordered_map<std::string, Row> found;
    for (Row& r : rows) found.emplace(EncodeKey(Pick(r, m.key)), std::move(r));
    for (Item* it : wave) {
      if (!it->target_key) continue;
      auto f = found.find(EncodeKey(*it->target_key));
      if (f != found.end()) it->target_row = f->second;
    }
  }
  // By match key: rows with no link yet.
  if (!need_match.empty()) {
    std::vector<std::string> match_names;
    for (int p : m.match) match_names.push_back(m.columns[p].target);
    // Normalised match columns compare normalised on both sides; the lookup may return more
    // rows (a case-insensitive collation), which pair with nothing here.
    LookupRequest by_match{m.target_schema.name, all_columns, match_names, {}};
    if (m.match_normalized()) by_match.normalize = m.match_normalize;
    for (Item* it : need_match) by_match.keys.push_back(m.MatchKey(it->desired));
    TETHER_ASSIGN_OR_RETURN(auto rows, ctx_->target->Lookup(by_match));
    std::unordered_map<std::string, std::vector<Row>> found;
    for (Row& r : rows) found[EncodeKey(m.MatchKey(r))].push_back(std::move(r));
    std::vector<std::string> target_ids;
    for (Item* it : need_match) {
      auto f = found.find(EncodeKey(m.MatchKey(it->desired)));
      if (f == found.end()) continue;
      if (f->second.size() > 1) {
        Reject(m, *it, Action::kFail,
               fmt::format("matches {} target rows by {}", f->second.size(),
                           fmt::join(match_names, ", ")));
        continue;
      }
      it->matched = true;
      it->target_row = f->second[0];
      it->target_key = Pick(*it->target_row, m.key);
      target_ids.push_back(EncodeKey(*it->target_key));
    }
    // A target row already linked to another source record must not be taken twice.
    TETHER_ASSIGN_OR_RETURN(
        auto taken, ctx_->state->FindLinksByTarget(ctx_->pipeline->name, m.name(), target_ids));
    std::unordered_map<std::string, std::string> owner;
    for (const Link& l : taken) {
      if (l.status != "deleted") owner[*l.target_id] = l.source_id;
    }
    // A dry run writes no links: the pairings it made so far stand for them.
    if (auto paired = ctx_->paired.find(m.name()); paired != ctx_->paired.end()) {
      for (const std::string& id : target_ids) {
        auto p = paired->second.by_target.find(id);
        if (p != paired->second.by_target.end()) owner.emplace(id, p->second);
      }
    }
    // Nor by two records of this batch, whose links are not written yet: the first one keeps it.
    for (const auto& [sid, tid] : known_[m.name()]) owner.emplace(tid, sid);
    for (Item* it : need_match) {
      if (!it->matched || it->rejected) continue;
      auto [o, fresh] = owner.emplace(EncodeKey(*it->target_key), it->sid);
      if (!fresh && o->second != it->sid) {
        Reject(m, *it, Action::kFail,
               fmt::format("matches target row {}, which is already linked to source record {}",
                           o->first, o->second));
      }
    }
  }
  // A dry run inserts nothing: a record whose match key an earlier record of the run would
  // insert fails here as it would fail in the real run, finding that row taken.
  if (auto planned = ctx_->planned_match.find(m.name()); planned != ctx_->planned_match.end()) {
    for (Item* it : wave) {
      if (it->rejected || it->target_row) continue;
      std::optional<std::string> key = CollisionKey(m, *it);
      if (!key) continue;
      auto p = planned->second.find(std::hash<std::string>{}(*key));
      if (p != planned->second.end() && p->second != std::hash<std::string>{}(it->sid)) {
        Reject(m, *it, Action::kFail,
               "matches the target row another source record of this run would insert, by " +
                   MatchNames(m));
      }
    }
  }
  for (Item* it : wave) {
    if (it->target_key) it->target_id = EncodeKey(*it->target_key);
  }
  wave.erase(std::remove_if(wave.begin(), wave.end(), [](Item* it) { return it->rejected; }),
             wave.end());
  return Status::OK();
}

bool BatchProcessor::Linked(const Item& it) {
  return it.link && it.link->target_id && it.link->status != "deleted";
}

std::optional<std::string> BatchProcessor::CollisionKey(const EntityMapping& m, const Item& it) {
  if (!m.mapped() || m.match.empty() || Linked(it)) return std::nullopt;
  Row key = m.MatchKey(it.desired);
  for (size_t i = 0; i < m.match.size(); ++i) {
    const int p = m.match[i];
    if (it.desired[p].is_null()) return std::nullopt;
    // Dry run: a parent the run would create has no id yet; its source id stands for it.
    if (it.pending[p]) key[i] = Value::Text("\x01new " + it.desired[p].ToText());
  }
  return EncodeKey(key);
}

std::string BatchProcessor::MatchNames(const EntityMapping& m) {
  std::vector<std::string> names;
  for (int p : m.match) names.push_back(m.columns[p].target);
  return fmt::format("{}", fmt::join(names, ", "));
}

Status BatchProcessor::Decide(const EntityMapping& m, std::vector<Item*>& wave) {
  const std::vector<int> non_key = NonKeyPositions(m);
  // Columns holding identifiers (match keys, references): plans show no numeric delta for them.
  std::vector<bool> is_id(m.columns.size(), false);
  for (int p : m.match) is_id[p] = true;
  for (int p : m.references) is_id[p] = true;
  for (Item* it : wave) {
    // The record as the source has it now, to tell later whether it changed (kept in its link:
    // identity-keyed records have none).
    const std::string source_hash = m.mapped() ? HashRow(Pick(it->desired, non_key)) : "";
    if (!it->target_row) {
      it->action = Action::kInsert;
      if (m.generated_key) it->target_id.clear();  // the target will give it one
    } else {
      if (it->matched) {
        switch (ctx_->on_duplicate) {
          case OnDuplicate::kError:
            Reject(m, *it, Action::kFail,
                   fmt::format("already exists in the target as {} (on_duplicate: error)",
                               it->target_id));
            if (ctx_->violation.ok()) {
              ctx_->violation = Status::Policy(fmt::format(
                  "entity {} record {}: already exists in the target as {} (on_duplicate: error)",
                  m.name(), it->sid, it->target_id));
            }
            continue;
          case OnDuplicate::kSkip:
            for (int p : non_key) {
              it->desired[p] = (*it->target_row)[p];
              it->pending[p] = false;
            }
            it->left = true;
            break;
          case OnDuplicate::kMerge:
            for (int p : non_key) {
              if (it->desired[p].IsEmpty() && !(*it->target_row)[p].IsEmpty()) {
                it->desired[p] = (*it->target_row)[p];
                it->kept.push_back(m.columns[p].target);
              }
            }
            break;
          case OnDuplicate::kUpdate:
            break;
        }
      } else if (it->link && it->link->metadata != "{}") {
        // A field merge kept from the target stays until the source has a value for it.
        nlohmann::json meta = nlohmann::json::parse(it->link->metadata, nullptr, false);
        if (meta.is_object() && meta.contains("left") && meta["left"] == true &&
            it->link->hash == source_hash) {
          // A duplicate that on_duplicate=skip left alone stays so until the source changes it.
          for (int p : non_key) {
            it->desired[p] = (*it->target_row)[p];
            it->pending[p] = false;
          }
          it->left = true;
        } else if (meta.is_object() && meta.contains("kept") && meta["kept"].is_array()) {
          for (int p : non_key) {
            const std::string& name = m.columns[p].target;
            bool was_kept =
                std::find(meta["kept"].begin(), meta["kept"].end(), name) != meta["kept"].end();
            if (was_kept && it->desired[p].IsEmpty() && !(*it->target_row)[p].IsEmpty()) {
              it->desired[p] = (*it->target_row)[p];
              it->kept.push_back(name);
            }
          }
        }
      }
      for (int p : non_key) {
        const ColumnInfo& info = m.columns[p].target_info;
        if (it->pending[p]) {
          // Dry run: the reference will point at a parent the run creates first, which no row
          // can point at yet.
          it->changes.push_back({m.columns[p].target, DisplayValue((*it->target_row)[p], info),
                                 Value::Text(fmt::format("new {} {}", *m.columns[p].references,
                                                         it->desired[p].ToText())),
                                 true});
          continue;
        }
        if (!SameValueIn(it->desired[p], (*it->target_row)[p], info)) {
          it->changes.push_back({m.columns[p].target, DisplayValue((*it->target_row)[p], info),
                                 DisplayValue(it->desired[p], info), is_id[p]});
        }
      }
      if (!it->changes.empty()) {
        it->action = Action::kUpdate;
      } else {
        it->action = it->matched ? Action::kLink : Action::kUnchanged;
      }
    }
    // Only merge's kept fields change `desired` after source_hash (skip keeps the source's).
    if (m.mapped()) {
      it->hash = it->kept.empty() || it->left ? source_hash : HashRow(Pick(it->desired, non_key));
    }
  }
  wave.erase(std::remove_if(wave.begin(), wave.end(), [](Item* it) { return it->rejected; }),
             wave.end());
  return Status::OK();
}

Status BatchProcessor::ApplyBulk(const EntityMapping& m, std::vector<Item*>& wave) {
  std::vector<int> insert_cols;
  for (size_t i = 0; i < m.columns.size(); ++i) {
    if (!(m.generated_key && m.columns[i].is_key)) insert_cols.push_back(static_cast<int>(i));
  }
  std::vector<std::string> insert_names;
  for (int p : insert_cols) insert_names.push_back(m.columns[p].target);
  const std::vector<int> non_key = NonKeyPositions(m);
  std::vector<std::string> set_names;
  for (int p : non_key) set_names.push_back(m.columns[p].target);

  std::vector<Row> inserts, updates;
  std::vector<Item*> inserted;
  for (Item* it : wave) {
    if (it->action == Action::kInsert) {
      inserts.push_back(Pick(it->desired, insert_cols));
      inserted.push_back(it);
    } else if (it->action == Action::kUpdate) {
      Row r = Pick(it->desired, non_key);
      for (const Value& k : *it->target_key) r.push_back(k);
      updates.push_back(std::move(r));
      ctx_->images.push_back({m.name(), it->target_id, "update", RowImage(m, *it->target_row)});
    }
  }
  if (!inserts.empty()) {
    std::vector<std::string> returning;
    if (m.generated_key) returning = m.TargetKeyNames();
    TETHER_ASSIGN_OR_RETURN(
        auto keys, ctx_->target->Insert(m.target_schema.name, insert_names, inserts, returning));
    for (size_t i = 0; i < inserted.size(); ++i) {
      Item* it = inserted[i];
      it->target_key = m.generated_key ? keys.at(i) : Pick(it->desired, m.key);
      it->target_id = EncodeKey(*it->target_key);
    }
  }
  if (!updates.empty() && !set_names.empty()) {
    TETHER_RETURN_IF_ERROR(
        ctx_->target->Update(m.target_schema.name, m.TargetKeyNames(), set_names, updates));
  }
  return Status::OK();
}

Status BatchProcessor::WriteEach(size_t n,
                                 const std::function<Status(const std::vector<size_t>&)>& write,
                                 const std::function<void(size_t, const Status&)>& refused) {
  std::vector<size_t> all(n);
  for (size_t i = 0; i < n; ++i) all[i] = i;
  std::string sp = fmt::format("tether_b{}", ++savepoint_seq_);
  size_t images_before = ctx_->images.size();
  TETHER_RETURN_IF_ERROR(ctx_->target->Savepoint(sp));
  Status st = write(all);
  if (!st.ok()) {
    TETHER_RETURN_IF_ERROR(ctx_->target->RollbackToSavepoint(sp));
    if (!IsRecordError(st)) return st;
    // One record spoiled the bulk statement: redo one by one, so only it fails.
    ctx_->images.resize(images_before);
    for (size_t i = 0; i < n; ++i) {
      std::string one = fmt::format("tether_r{}", ++savepoint_seq_);
      TETHER_RETURN_IF_ERROR(ctx_->target->Savepoint(one));
      size_t mark = ctx_->images.size();
      Status one_st = write({i});
      if (one_st.ok()) {
        TETHER_RETURN_IF_ERROR(ctx_->target->ReleaseSavepoint(one));
        continue;
      }
      TETHER_RETURN_IF_ERROR(ctx_->target->RollbackToSavepoint(one));
      TETHER_RETURN_IF_ERROR(ctx_->target->ReleaseSavepoint(one));
      if (!IsRecordError(one_st)) return one_st;
      ctx_->images.resize(mark);
      refused(i, one_st);
    }
  }
  return ctx_->target->ReleaseSavepoint(sp);
}

Status BatchProcessor::Apply(const EntityMapping& m, std::vector<Item*>& wave) {
  const bool report = ctx_->observer && !silent_ && ctx_->observer->WantsWrittenRecords();
  if (bulk_) {
    // Every record is new (see set_bulk): its values move into the writer. Nothing else needs
    // its target id (no references), unless it is reported.
    std::vector<Row> rows;
    rows.reserve(wave.size());
    for (Item* it : wave) {
      if (it->action != Action::kInsert) {
        return Status::Internal(
            fmt::format("entity {} record {}: not new in a bulk insert", m.name(), it->sid));
      }
      if (report) it->target_id = EncodeKey(Pick(it->desired, m.key));
      rows.push_back(std::move(it->desired));
    }
    TETHER_RETURN_IF_ERROR(bulk_->Add(std::move(rows)));
  } else if (!ctx_->dry_run) {
    TETHER_RETURN_IF_ERROR(WriteEach(
        wave.size(),
        [&](const std::vector<size_t>& which) {
          std::vector<Item*> part;
          for (size_t i : which) part.push_back(wave[i]);
          return ApplyBulk(m, part);
        },
        [&](size_t i, const Status& why) { Reject(m, *wave[i], Action::kFail, why.message()); }));
  }
  RunCounts scratch;
  RunCounts& counts = silent_ ? scratch : ctx_->counts[m.name()];
  auto& known = known_[m.name()];
  for (Item* it : wave) {
    if (it->rejected) continue;
    switch (it->action) {
      case Action::kInsert:
        counts.inserted++;
        break;
      case Action::kUpdate:
        counts.updated++;
        break;
      case Action::kLink:
        counts.linked++;
        break;
      default:
        counts.unchanged++;
        break;
    }
    // Dry run: a new row has no id yet; children in this batch refer to it by its source id.
    // (Bulk mode: no references, so no record of this batch waits for another.)
    if (!bulk_) known[it->sid] = it->target_id.empty() ? std::string(kPlanned) : it->target_id;
    if (ctx_->dry_run && it->matched) {
      RunContext::Pairings& paired = ctx_->paired[m.name()];
      paired.by_target.emplace(it->target_id, it->sid);
      paired.by_source.emplace(it->sid, it->target_id);
    }
    if (it->action == Action::kInsert && Linked(*it) && !ctx_->compare) {
      // Its linked target row was gone: it is written anew under another id, which its children
      // must follow (FollowRecreated). A compare run shows them as changed in their own pass.
      recreated_.push_back({m.name(), it->sid});
    }
    if (ctx_->dry_run && it->action == Action::kInsert) {
      ctx_->planned[m.name()].insert(std::hash<std::string>{}(it->sid));
      if (std::optional<std::string> key = CollisionKey(m, *it)) {
        ctx_->planned_match[m.name()].emplace(std::hash<std::string>{}(*key),
                                              std::hash<std::string>{}(it->sid));
      }
    }
    if (it->action != Action::kUnchanged && report) {
      ctx_->observer->OnRecord({m.name(), it->sid, it->target_id, it->action, it->changes, ""});
    }
  }
  return Status::OK();
}

Result<size_t> BatchProcessor::SweepDeletes(const EntityMapping& m, std::optional<Row>* cursor,
                                            size_t limit, const std::optional<Row>& upto) {
  // Candidates: linked target rows (mapped keys) or every target row (identity keys).
  std::vector<std::string> source_ids;  // EncodeKey of the source key
  std::vector<Row> target_keys;
  if (m.mapped()) {
    std::optional<std::string> after;
    if (*cursor) after = (**cursor)[0].ToText();
    TETHER_ASSIGN_OR_RETURN(auto links,
                            ctx_->state->ListLinks(ctx_->pipeline->name, m.name(), after, limit,
                                                   std::string("synced")));
    if (links.empty()) return size_t{0};
    *cursor = Row{Value::Text(links.back().source_id)};
    for (const Link& l : links) {
      if (!l.target_id) continue;
      Row tk = TypedKey(*l.target_id, m.target_schema, m.TargetKeyNames());
      if (tk.empty()) continue;
      source_ids.push_back(l.source_id);
      target_keys.push_back(std::move(tk));
    }
    if (source_ids.empty()) return links.size();
  } else {
    TETHER_ASSIGN_OR_RETURN(std::vector<Row> rows, TargetKeyPage(m, cursor, limit, upto));
    if (rows.empty()) return size_t{0};
    // A key made of the target's parent ids stands for the source key its parents' links give;
    // a row with a part no link pairs is the target's own, not tether's to delete.
    KeyMap key_map(ctx_);
    TETHER_ASSIGN_OR_RETURN(auto sids, key_map.SourceIds(m, rows));
    std::vector<std::string> unpaired;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!sids[i]) {
        unpaired.push_back(EncodeKey(rows[i]));
        continue;
      }
      source_ids.push_back(std::move(*sids[i]));
      target_keys.push_back(std::move(rows[i]));
    }
    ReportUnpaired(m, unpaired);
    TETHER_RETURN_IF_ERROR(DeleteGone(m, source_ids, target_keys));
    return rows.size();
  }
  const size_t examined = source_ids.size();
  TETHER_RETURN_IF_ERROR(DeleteGone(m, source_ids, target_keys));
  return examined;
}

Result<std::vector<Row>> BatchProcessor::TargetKeyPage(const EntityMapping& m,
                                                       std::optional<Row>* cursor, size_t limit,
                                                       const std::optional<Row>& upto) {
  ScanRequest scan{
      m.target_schema.name, m.TargetKeyNames(), m.TargetKeyNames(), *cursor, {}, limit, upto};
  TETHER_ASSIGN_OR_RETURN(auto stream, ctx_->target->Scan(scan));
  std::vector<Row> keys;
  Row row;
  for (;;) {
    TETHER_ASSIGN_OR_RETURN(bool more, stream->Next(&row));
    if (!more) break;
    keys.push_back(row);
  }
  if (!keys.empty()) *cursor = keys.back();
  return keys;
}

void BatchProcessor::ReportUnpaired(const EntityMapping& m, const std::vector<std::string>& ids) {
  if (!ctx_->compare) return;
  for (const std::string& id : ids) {
    ctx_->counts[m.name()].deleted++;
    RecordPlan plan{m.name(), "", id, Action::kDelete, {}, "no source record is linked to it"};
    plan.kept = true;
    if (ctx_->observer) ctx_->observer->OnRecord(plan);
  }
}

Result<size_t> BatchProcessor::SweepUnpaired(const EntityMapping& m, std::optional<Row>* cursor,
                                             size_t limit) {
  TETHER_ASSIGN_OR_RETURN(std::vector<Row> keys, TargetKeyPage(m, cursor, limit, std::nullopt));
  if (keys.empty()) return size_t{0};
  KeyMap key_map(ctx_);
  TETHER_ASSIGN_OR_RETURN(auto sids, key_map.SourceIds(m, keys));
  std::vector<std::string> unpaired;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!sids[i]) unpaired.push_back(EncodeKey(keys[i]));
  }
  ReportUnpaired(m, unpaired);
  return keys.size();
}

Status BatchProcessor::DeleteGone(const EntityMapping& m,
                                  const std::vector<std::string>& source_ids,
                                  const std::vector<Row>& target_keys) {
  // Which of them still exist in the source? A target key that is not UTF-8 (a SQLite target
  // holds any bytes) cannot be looked up in every source: it is left alone, as if present.
  LookupRequest in_source{m.source_schema.name, m.SourceKeyNames(), m.SourceKeyNames(), {}};
  std::set<std::string> present;
  for (const std::string& id : source_ids) {
    if (!IsUtf8(id)) {
      present.insert(id);
      continue;
    }
    in_source.keys.push_back(TypedKey(id, m.source_schema, m.SourceKeyNames()));
  }
  std::vector<Row> present_rows;
  if (!in_source.keys.empty()) {
    TETHER_ASSIGN_OR_RETURN(present_rows, ctx_->source->Lookup(in_source));
  }
  for (const Row& r : present_rows) present.insert(EncodeKey(r));
  std::vector<size_t> gone;
  for (size_t i = 0; i < source_ids.size(); ++i) {
    if (!present.count(source_ids[i])) gone.push_back(i);
  }
  if (gone.empty()) return Status::OK();

  // Their current target rows, for before-images (and to skip rows already soft-deleted).
  LookupRequest current{m.target_schema.name, m.TargetColumnNames(), m.TargetKeyNames(), {}};
  for (size_t i : gone) current.keys.push_back(target_keys[i]);
  TETHER_ASSIGN_OR_RETURN(auto rows, ctx_->target->Lookup(current));
  std::unordered_map<std::string, Row> by_key;
  for (Row& r : rows) by_key.emplace(EncodeKey(Pick(r, m.key)), std::move(r));

  const bool soft = m.config->delete_policy == DeletePolicy::kSoft;
  std::vector<size_t> todo;
  for (size_t i : gone) {
    auto f = by_key.find(EncodeKey(target_keys[i]));
    if (f == by_key.end()) continue;                             // already gone from the target too
    if (soft && !f->second[*m.soft_delete].is_null()) continue;  // already marked
    todo.push_back(i);
  }
  std::vector<bool> refused(todo.size(), false);
  if (!ctx_->dry_run && !todo.empty()) {
    // The deletion time, in the form the soft-delete column takes (a timestamp, or text).
    Value now = Value::Text(UtcNow());
    if (soft) {
      Result<Value> stamp = CoerceToColumn(now, m.columns[*m.soft_delete].target_info);
      if (stamp.ok()) now = std::move(*stamp);
    }
    TETHER_RETURN_IF_ERROR(WriteEach(
        todo.size(),
        [&](const std::vector<size_t>& which) -> Status {
          std::vector<Row> keys;
          for (size_t w : which) {
            const Row& key = target_keys[todo[w]];
            keys.push_back(key);
            ctx_->images.push_back({m.name(), EncodeKey(key), soft ? "update" : "delete",
                                    RowImage(m, by_key.at(EncodeKey(key)))});
          }
          if (!soft) return ctx_->target->Delete(m.target_schema.name, m.TargetKeyNames(), keys);
          std::vector<Row> sets;
          for (Row& k : keys) {
            Row r{now};
            r.insert(r.end(), k.begin(), k.end());
            sets.push_back(std::move(r));
          }
          return ctx_->target->Update(m.target_schema.name, m.TargetKeyNames(),
                                      {m.columns[*m.soft_delete].target}, sets);
        },
        [&](size_t w, const Status& why) {
          refused[w] = true;
          size_t i = todo[w];
          ctx_->counts[m.name()].failed++;
          RecordPlan plan{m.name(),
                          source_ids[i],
                          EncodeKey(target_keys[i]),
                          Action::kFail,
                          {},
                          "delete refused: " + why.message()};
          if (ctx_->observer) ctx_->observer->OnRecord(plan);
          ctx_->results.push_back(
              {m.name(), plan.source_id, plan.target_id, "failed", plan.reason});
        }));
  }
  std::vector<std::string> unlinked;
  std::vector<Link> marked;
  // A compare run reports every row whose source record is gone; a sync leaves those of an
  // entity with delete: ignore.
  const bool kept = m.config->delete_policy == DeletePolicy::kIgnore;
  for (size_t w = 0; w < todo.size(); ++w) {
    if (refused[w]) continue;
    size_t i = todo[w];
    ctx_->counts[m.name()].deleted++;
    RecordPlan plan{m.name(),
                    source_ids[i],
                    EncodeKey(target_keys[i]),
                    Action::kDelete,
                    {},
                    kept   ? "kept by delete: ignore"
                    : soft ? "soft delete"
                           : ""};
    plan.kept = kept;
    if (ctx_->observer) ctx_->observer->OnRecord(plan);
    ctx_->results.push_back({m.name(), plan.source_id, plan.target_id, "deleted", plan.reason});
    if (!m.mapped()) continue;
    if (soft) {
      Link l;
      l.source_id = source_ids[i];
      l.target_id = plan.target_id;
      l.status = "deleted";
      l.synced_at = UtcNow();
      marked.push_back(std::move(l));
    } else {
      unlinked.push_back(source_ids[i]);
    }
  }
  if (!ctx_->dry_run) {
    TETHER_RETURN_IF_ERROR(ctx_->state->DeleteLinks(ctx_->pipeline->name, m.name(), unlinked));
    TETHER_RETURN_IF_ERROR(ctx_->state->PutLinks(ctx_->pipeline->name, m.name(), marked));
  }
  return Status::OK();
}

Status BatchProcessor::ProcessKeys(const EntityMapping& m, const std::vector<std::string>& ids,
                                   const std::vector<Condition>& conditions) {
  std::vector<Row> keys;
  std::vector<std::string> sids;
  for (const std::string& id : ids) {
    Row k = TypedKey(id, m.source_schema, m.SourceKeyNames());
    if (k.empty()) {
      if (ctx_->observer) {
        ctx_->observer->OnNotice(
            fmt::format("{}: change of key '{}' ignored: not a key of table '{}'", m.name(), id,
                        m.source_schema.name));
      }
      continue;
    }
    sids.push_back(EncodeKey(k));
    keys.push_back(std::move(k));
  }
  if (keys.empty()) return Status::OK();
  // The records as the source has them now: many changes of one row are one action.
  std::vector<Row> rows;
  if (conditions.empty()) {
    TETHER_ASSIGN_OR_RETURN(rows, ctx_->source->Lookup({m.source_schema.name, m.source_columns,
                                                        m.SourceKeyNames(), keys}));
  } else {
    // A filtered run takes only the changed rows its filters select: one keyed scan per row.
    for (const Row& k : keys) {
      ScanRequest scan{
          m.source_schema.name, m.source_columns, m.SourceKeyNames(), {}, conditions, 1, {}};
      for (size_t i = 0; i < k.size(); ++i) {
        scan.conditions.push_back({m.SourceKeyNames()[i], Condition::Op::kEq, k[i]});
      }
      TETHER_ASSIGN_OR_RETURN(auto stream, ctx_->source->Scan(scan));
      Row row;
      TETHER_ASSIGN_OR_RETURN(bool found, stream->Next(&row));
      if (found) rows.push_back(std::move(row));
    }
  }
  std::set<std::string> present;
  for (const Row& r : rows) present.insert(EncodeKey(Pick(r, m.source_key)));
  if (!rows.empty()) TETHER_RETURN_IF_ERROR(Process(m, std::move(rows)));
  // The rest are gone from the source (a filtered run cannot tell gone from filtered out).
  if (!conditions.empty()) return Status::OK();
  if (m.config->delete_policy == DeletePolicy::kIgnore && !ctx_->compare) return Status::OK();
  std::vector<std::string> gone_ids;
  std::vector<Row> target_keys;
  std::vector<std::string> gone;
  for (const std::string& sid : sids) {
    if (!present.count(sid)) gone.push_back(sid);
  }
  if (gone.empty()) return Status::OK();
  if (m.mapped()) {
    TETHER_ASSIGN_OR_RETURN(auto links,
                            ctx_->state->FindLinksBySource(ctx_->pipeline->name, m.name(), gone));
    for (const std::string& sid : gone) {
      auto l = links.find(sid);
      if (l == links.end() || !l->second.target_id || l->second.status == "deleted") continue;
      Row tk = TypedKey(*l->second.target_id, m.target_schema, m.TargetKeyNames());
      if (tk.empty()) continue;
      gone_ids.push_back(sid);
      target_keys.push_back(std::move(tk));
    }
  } else {
    // Identity keys; made of references, they pair through the parents' links.
    KeyMap key_map(ctx_);
    TETHER_ASSIGN_OR_RETURN(auto keys, key_map.TargetKeys(m, gone));
    for (size_t i = 0; i < gone.size(); ++i) {
      if (!keys[i]) continue;  // the target cannot hold it: a parent has no counterpart
      gone_ids.push_back(gone[i]);
      target_keys.push_back(std::move(*keys[i]));
    }
  }
  return DeleteGone(m, gone_ids, target_keys);
}

}  // namespace tether
