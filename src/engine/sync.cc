#include "engine/sync.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/id.h"
#include "core/regex.h"
#include "core/suggest.h"
#include "core/temporal.h"
#include "core/utf8.h"
#include "engine/batch.h"
#include "engine/checksum_ranges.h"
#include "engine/mapping.h"
#include "engine/page_reader.h"
#include "engine/target_tables.h"
#include "engine/where.h"
#include "track/change_log.h"

namespace tether {
namespace {

constexpr int kMaxAttempts = 4;  // a batch that hits a retryable error is tried again
constexpr std::chrono::seconds kStateInterval{2};  // the longest a no-op batch defers state
// How long a run waits for the pipeline's lock when its holder may be gone (a killed run, whose
// session the database server has not closed yet), even without SyncRequest::lock_wait.
constexpr std::chrono::seconds kGoneHolderGrace{30};
// A hole in the change log's sequence whose next change is younger than this may be a source
// transaction still open (sequence numbers are taken at insert, rows appear at commit): the
// change checkpoint stays before it. Older holes are rolled-back transactions.
constexpr int64_t kChangeSettleSeconds = 10;

// Whether a change_at text ("YYYY-MM-DD HH:MM:SS...", UTC) is within kChangeSettleSeconds.
// Cursor order: numbers by value, anything else by its canonical text (timestamps sort so).
bool AtOrBefore(const Value& v, const Value& bound) {
  if (v.kind() == ValueKind::kInt && bound.kind() == ValueKind::kInt) {
    return v.as_int() <= bound.as_int();
  }
  return v.ToText() <= bound.ToText();
}

bool Young(const std::string& changed_at) {
  std::optional<int64_t> at = UtcSeconds(changed_at);
  return !at || *at > std::time(nullptr) - kChangeSettleSeconds;
}

struct EntityPlan {
  const EntityMapping* mapping;
  std::vector<Condition> conditions;
  bool filtered = false;
  std::string options_hash;
};

std::string HostName() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// Per selected entity, the conditions of its source reads: its own `filter.where`, the date
// range on its date column, and --where ("[entity.]column op value"; unprefixed, it applies
// to every selected entity whose source table has the column, and must apply to one).
Result<std::map<std::string, std::vector<Condition>>> BuildFilters(
    const Config& config, const std::vector<std::string>& selected,
    const std::map<std::string, std::unique_ptr<EntityMapping>>& mappings, const SyncRequest& req) {
  std::map<std::string, std::vector<Condition>> out;
  for (const std::string& name : selected) out[name] = config.FindEntity(name)->filter.where;
  if (req.from_date && req.to_date) {
    // A range that holds no moment would read nothing and say nothing.
    TETHER_ASSIGN_OR_RETURN(auto from, ParseDateBound(*req.from_date, false));
    TETHER_ASSIGN_OR_RETURN(auto to, ParseDateBound(*req.to_date, true));
    auto comparable = [](std::string t) {  // "YYYY-MM-DD[ HH:MM:SS[.f]]"
      if (t.size() > 10) t[10] = ' ';
      if (t.size() == 16) t += ":00";
      return t;
    };
    const std::string first = comparable(from.first), end = comparable(to.first);
    if (to.second ? first > end : first >= end) {
      return Status::InvalidArgument(
          fmt::format("--from-date {} is after --to-date {}: no record can be in between",
                      *req.from_date, *req.to_date));
    }
  }
  if (req.from_date || req.to_date) {
    bool any = false;
    for (const std::string& name : selected) {
      const EntityConfig* e = config.FindEntity(name);
      if (!e->filter.date_column) continue;
      any = true;
      if (req.from_date) {
        TETHER_ASSIGN_OR_RETURN(auto b, ParseDateBound(*req.from_date, false));
        out[name].push_back({*e->filter.date_column, Condition::Op::kGe, Value::Text(b.first)});
      }
      if (req.to_date) {
        TETHER_ASSIGN_OR_RETURN(auto b, ParseDateBound(*req.to_date, true));
        out[name].push_back({*e->filter.date_column,
                             b.second ? Condition::Op::kLe : Condition::Op::kLt,
                             Value::Text(b.first)});
      }
    }
    if (!any) {
      return Status::InvalidArgument(
          "--from-date/--to-date: none of the selected entities has a filter.date_column");
    }
  }
  TETHER_ASSIGN_OR_RETURN(
      auto where, WhereConditions("--where", req.where, selected, [&](const std::string& entity) {
        return &mappings.at(entity)->source_schema;
      }));
  for (auto& [name, conditions] : where) {
    out[name].insert(out[name].end(), conditions.begin(), conditions.end());
  }
  return out;
}

std::string ConditionsHash(const std::vector<Condition>& conds) {
  Row r;
  for (const Condition& c : conds) {
    r.push_back(Value::Text(c.column));
    r.push_back(Value::Int(static_cast<int64_t>(c.op)));
    r.push_back(c.value);
  }
  return HashRow(r);
}

// Bulk chunks (Runner::BulkChunk): how many usual batches pass before a target that had rows
// past the position is probed again.
constexpr int kBulkProbePause = 32;

// Holds a transaction's per-record reports until it commits: a batch that is rolled back and
// retried must not report its records twice. Everything else passes straight through.
class BufferedObserver : public SyncObserver {
 public:
  void Reset(SyncObserver* to) {
    to_ = to;
    records_.clear();
  }
  void Flush() {
    if (to_) {
      for (const RecordPlan& r : records_) to_->OnRecord(r);
    }
    records_.clear();
  }
  void OnRecord(const RecordPlan& record) override { records_.push_back(record); }
  bool WantsWrittenRecords() const override { return to_ && to_->WantsWrittenRecords(); }
  void OnNotice(const std::string& text) override {
    if (to_) to_->OnNotice(text);
  }

 private:
  SyncObserver* to_ = nullptr;
  std::vector<RecordPlan> records_;
};

class Runner {
 public:
  Runner(const Config& config, const SyncRequest& req, SyncObserver* obs)
      : config_(config), req_(req), obs_(obs) {}
  // The pipeline's lock goes now rather than when the session ends: a server ends a closed
  // session in its own time, and the next run should not find the lock still held. Should the
  // release fail, closing the session (next) releases it.
  ~Runner() {
    if (locked_) (void)target_->ReleaseLock(LockName());
  }

  Result<SyncReport> Run();
  // Opens both sides and resolves every entity against the real schemas. With `lock`, takes the
  // pipeline's lock in the target first, before anything (--create-tables) is written.
  Status Prepare(bool lock);
  // After Prepare: a warning (notice) per entity whose normalised match key the target cannot
  // look up through an index, which would read the whole table for every batch.
  Status CheckMatchIndexes(SyncObserver* observer);

 private:
  Status RunEntities(bool dry_run, SyncObserver* obs);
  Status RunEntity(const EntityPlan& plan, bool dry_run);
  // The entity's source rows in `range`, batch by batch (bulk chunks where they fit).
  Status RunRange(const EntityPlan& plan, BatchProcessor& processor, Connector* ahead,
                  const KeyRange& range, bool dry_run);
  // Records range checksums found different (keys in key order, of either side), a batch of
  // keys per transaction with its checkpoint.
  Status RunDiffering(const EntityPlan& plan, BatchProcessor& processor,
                      const std::vector<Row>& keys, bool dry_run);
  Status CommitBatch(const EntityPlan& plan, const Row& last_key, bool dry_run);
  // The keyset scan of an entity's source rows past `after`, `batch` at a time.
  ScanRequest EntityScan(const EntityPlan& plan, const std::optional<Row>& after, size_t batch,
                         const std::optional<Row>& upto) const;
  // Bulk chunks: where the target has none of the rows still to come (a first copy, or the new
  // end of a table), batches of an identity-keyed entity without references are written into
  // one BulkWriter — on PostgreSQL a COPY that the server works through while tether prepares
  // the next batch — and committed with the checkpoint every SyncRequest::bulk_chunk_time
  // (a second). A record the target refuses rolls the chunk back; its batches are then written
  // the usual way, where a refused record fails alone.
  bool BulkEligible(const EntityMapping& m, bool dry_run) const;
  // True when the target has no row that a source row past `after` could be: none with a key
  // past it (integer keys, which order alike in every engine), or none at all.
  Result<bool> TargetEmptyPast(const EntityMapping& m, const std::optional<Row>& after);
  struct BulkChunkResult {
    size_t batches = 0;  // batches read (and, on failure, to redo)
    bool done = false;   // the last batch of the entity was read
  };
  // One bulk chunk from `*after`, in one transaction; on success *after moves past it.
  Status BulkChunk(const EntityPlan& plan, BatchProcessor& processor, Connector* ahead,
                   std::optional<Row>* after, const std::optional<Row>& upto,
                   BulkChunkResult* result);
  // Runs `body` in one target transaction (none in a dry run). A retryable failure rolls it
  // back, restores the run's in-memory state and tries again, up to kMaxAttempts times.
  Status Transaction(bool dry_run, const std::string& what, const std::function<Status()>& body);
  Status RunDeletes(bool dry_run, const std::vector<std::string>& names);
  // The unfiltered of these entities get a full pass next (RunContext::passes_ahead).
  void ExpectPasses(const std::vector<std::string>& names);
  // Compare runs, mapped keys: the target rows no source record pairs with.
  Status SweepUnpaired(const EntityMapping& m);
  // Selective sync (SyncRequest::keys): each selected record brought in line, a batch of keys
  // per transaction.
  Status RunKeys(bool dry_run);
  // Brings the records `ids` (source ids) in line, a batch per transaction; `commit(last)`
  // writes the batch's state inside it (`last`: the index of its last id).
  Status KeyBatches(const EntityPlan& plan, BatchProcessor& processor,
                    const std::vector<std::string>& ids, const std::vector<Condition>& conditions,
                    bool dry_run, const std::function<Status(size_t last)>& commit);
  // Incremental run: entities that have not read changes yet are copied whole first; then the
  // change log is read in order, batch by batch, each batch's changed records brought in line
  // in one target transaction with every entity's change checkpoint.
  Status RunChanges(bool dry_run);
  // Cursor mode for one entity (`cursor:`, no change log): rows past the position in (cursor,
  // key) order; the position stops at the newest cursor minus the entity's lag, so rows that
  // commit late with an older cursor are read again. Deletes are not seen.
  Status RunCursor(const EntityPlan& plan, bool dry_run);
  // The newest cursor value of the entity's source table, minus its lag for timestamps.
  Result<Value> CursorBound(const EntityMapping& m);
  Status WriteBatchState();
  std::string LockName() const { return "pipeline:" + pipeline_->name; }
  // Takes the pipeline's lock in the target (SyncRequest::lock_wait).
  Status AcquireLock();
  // Who holds the pipeline (from tether_runs' running rows), for the kBusy message.
  std::string Holder();
  // Whether the lock's holder is likely a process that is gone, whose session its server has not
  // let go of yet: the newest running row of the pipeline is of a process of this host that no
  // longer exists. False for a live process, one on another host, or when no row says.
  bool HolderMayBeGone();
  // With the lock held, every other run of the pipeline still marked running is dead: marks
  // them interrupted.
  Status MarkInterrupted();
  // Writes the run row — unless the run has changed nothing yet and SyncRequest::record_idle
  // is false.
  Status RecordRun();
  // Every selected key (SyncRequest::keys) is one its entity's source key can be.
  Status CheckKeys() const;
  // A second connection to the source, for reading pages ahead (engine/page_reader.h); null
  // when the source's reads gain nothing by it (Capabilities::read_ahead).
  Result<Connector*> ReadAheadSource();
  Status FinishRun(const Status& outcome);

  const Config& config_;
  const SyncRequest& req_;
  SyncObserver* obs_;
  const PipelineConfig* pipeline_ = nullptr;
  std::unique_ptr<Connector> source_, target_;
  std::unique_ptr<Connector> ahead_;  // see ReadAheadSource
  std::unique_ptr<StateStore> state_;
  RunContext ctx_;
  std::vector<std::string> order_;  // selected entities, parents first
  std::vector<std::string> all_;    // every entity of the pipeline, parents first
  std::map<std::string, EntityPlan> plans_;
  // Entities compared by checksums (their differing records, deleted ones included, were
  // brought in line by key or range: no delete sweep), and how each entity was compared
  // (EntityReport::method).
  std::set<std::string> compared_;
  std::map<std::string, std::string> methods_;
  RunInfo run_;
  bool resumed_ = false;
  BufferedObserver buffer_;
  // Who hears of entities and progress: the caller's observer, but not during the pre-flight of
  // an error policy (the run it plans is reported by the run that follows).
  SyncObserver* watcher_ = nullptr;
  bool locked_ = false;         // this run holds the pipeline's lock (AcquireLock)
  bool run_recorded_ = false;   // the run row exists
  int64_t state_changes_ = -1;  // changes counted when run state was last written
  std::chrono::steady_clock::time_point state_written_{};
  std::chrono::steady_clock::time_point run_written_{};  // the run row's counts, last written
};

Status Runner::Prepare(bool lock) {
  pipeline_ = config_.FindPipeline(req_.pipeline);
  if (!pipeline_) {
    std::vector<std::string> names;
    for (const PipelineConfig& p : config_.pipelines) names.push_back(p.name);
    return Status::InvalidArgument(fmt::format("{}: no pipeline '{}' (defined: {})", config_.path,
                                               req_.pipeline, fmt::join(names, ", ")));
  }
  if (pipeline_->state) {
    return Status::Unsupported(fmt::format(
        "{}: pipeline '{}': a separate state store is not supported yet; leave `state` out to "
        "keep state in the target",
        pipeline_->location.ToString(), pipeline_->name));
  }
  TETHER_ASSIGN_OR_RETURN(std::vector<std::string> all, EntityOrder(config_, *pipeline_));
  for (const std::string& e : req_.entities) {
    if (std::find(all.begin(), all.end(), e) == all.end()) {
      return Status::InvalidArgument(fmt::format("--entity {}: not an entity of pipeline '{}' ({})",
                                                 e, pipeline_->name, fmt::join(all, ", ")));
    }
  }
  all_ = all;
  if (req_.compare && !req_.dry_run) return Status::Internal("a compare run must be a dry run");
  for (const auto& [e, ids] : req_.keys) {
    if (std::find(all.begin(), all.end(), e) == all.end()) {
      return Status::InvalidArgument(
          fmt::format("--keys: '{}' is not an entity of pipeline '{}' ({})", e, pipeline_->name,
                      fmt::join(all, ", ")));
    }
    if (req_.changes) return Status::InvalidArgument("--keys and --changes cannot be combined");
  }
  for (const std::string& e : all) {
    bool asked = req_.entities.empty() ||
                 std::find(req_.entities.begin(), req_.entities.end(), e) != req_.entities.end();
    if (!req_.keys.empty()) asked = req_.keys.count(e) > 0;
    if (asked) order_.push_back(e);
  }
  const ConnectionConfig* sc = config_.FindConnection(pipeline_->source);
  const ConnectionConfig* tc = config_.FindConnection(pipeline_->target);
  TETHER_ASSIGN_OR_RETURN(source_, OpenConnector(sc->name, sc->url));
  TETHER_ASSIGN_OR_RETURN(target_, OpenConnector(tc->name, tc->url));
  // A table synced into itself reads its own new rows: every run would double it.
  TETHER_ASSIGN_OR_RETURN(std::string source_mark, source_->DatabaseMark());
  TETHER_ASSIGN_OR_RETURN(bool same, target_->SameDatabase(source_mark));
  if (same) {
    return Status::Config(fmt::format(
        "{}: pipeline '{}': its source '{}' ({}) and target '{}' ({}) are the same database; a "
        "pipeline copies from one database into another",
        pipeline_->location.ToString(), pipeline_->name, sc->name, RedactUrl(sc->url), tc->name,
        RedactUrl(tc->url)));
  }
  if (!target_->capabilities().state_store || !target_->capabilities().transactions) {
    return Status::Unsupported(fmt::format("connection '{}' cannot hold tether's state", tc->name));
  }
  if (!req_.dry_run && !target_->capabilities().writable) {
    return Status::PermissionDenied(
        fmt::format("connection '{}' is open read-only ({}), so it cannot be the target of a sync",
                    tc->name, RedactUrl(tc->url)));
  }
  state_ = std::make_unique<StateStore>(target_.get());
  if (lock) TETHER_RETURN_IF_ERROR(AcquireLock());

  if (req_.create_tables && !req_.dry_run) {
    TETHER_ASSIGN_OR_RETURN(auto missing,
                            FindMissingTables(config_, *pipeline_, {}, *source_, *target_));
    for (const MissingTable& t : missing) {
      TETHER_RETURN_IF_ERROR(target_->EnsureTable(t.table));
      if (obs_) {
        obs_->OnNotice(fmt::format("created table '{}' on connection '{}' for entity '{}'",
                                   t.table.name, t.connection, t.entity));
      }
    }
    TETHER_ASSIGN_OR_RETURN(auto lacking,
                            FindMissingColumns(config_, *pipeline_, {}, *source_, *target_));
    for (const MissingColumns& m : lacking) {
      TETHER_RETURN_IF_ERROR(AddMissingColumns(*target_, m));
      if (obs_) {
        std::vector<std::string> names;
        for (const ColumnDef& c : m.columns) names.push_back(c.name);
        obs_->OnNotice(
            fmt::format("added column(s) {} to table '{}' on connection '{}' for "
                        "entity '{}'",
                        fmt::join(names, ", "), m.table, m.connection, m.entity));
      }
    }
  }

  // Every missing table and column of every entity is reported at once; anything else (a lost
  // connection) stops here.
  std::optional<std::vector<std::string>> source_tables, target_tables;
  auto closest = [](Connector* side, std::optional<std::vector<std::string>>* tables,
                    const std::string& table) {
    if (!*tables) {
      Result<std::vector<std::string>> names = side->TableNames();
      *tables = names.ok() ? std::move(names).value() : std::vector<std::string>{};
    }
    return DidYouMean(table, **tables);
  };
  auto map_entity = [&](const std::string& name) -> Result<std::unique_ptr<EntityMapping>> {
    const EntityConfig* e = config_.FindEntity(name);
    std::vector<Status> missing;
    TETHER_ASSIGN_OR_RETURN(auto src, source_->DescribeTable(e->source_table));
    if (!src) {
      missing.push_back(Status::NotFound(
          fmt::format("{}: entity '{}': table '{}' does not exist on connection '{}'{}",
                      e->LocationOf("source_table").ToString(), name, e->source_table, sc->name,
                      closest(source_.get(), &source_tables, e->source_table))));
    }
    TETHER_ASSIGN_OR_RETURN(auto dst, target_->DescribeTable(e->target_table));
    if (!dst) {
      const std::string suggestion = closest(target_.get(), &target_tables, e->target_table);
      missing.push_back(Status::NotFound(fmt::format(
          "{}: entity '{}': table '{}' does not exist on connection '{}'{}",
          e->LocationOf("target_table").ToString(), name, e->target_table, tc->name,
          suggestion.empty() ? " (`tether schema` shows the table tether would create; `tether "
                               "sync --create-tables` creates it)"
                             : suggestion)));
    }
    TETHER_RETURN_IF_ERROR(Problems(missing));
    return BuildMapping(*e, sc->name, *src, tc->name, *dst);
  };

  // Mappings of the selected entities and of the parents their records may pull (`required`: an
  // entity the run does not touch, its table lacking a column say, does not stop it), and of
  // the children that follow a parent written anew (BatchProcessor::FollowRecreated; not in a
  // compare run) with their parents, whose failure stops the run only if a child must follow.
  auto with_parents = [&](std::set<std::string> names) {
    for (auto name = all.rbegin(); name != all.rend(); ++name) {  // children first
      if (!names.count(*name)) continue;
      for (const auto& [column, parent] : config_.FindEntity(*name)->references) {
        names.insert(parent);
      }
    }
    return names;
  };
  const std::set<std::string> required = with_parents({order_.begin(), order_.end()});
  std::set<std::string> followers(required);
  if (!req_.compare) {
    for (const std::string& name : all) {  // parents first
      for (const auto& [column, parent] : config_.FindEntity(name)->references) {
        if (followers.count(parent)) followers.insert(name);
      }
    }
  }
  const std::set<std::string> needed = with_parents(std::move(followers));
  std::vector<Status> problems;
  for (const std::string& name : all) {
    if (!needed.count(name)) continue;
    Result<std::unique_ptr<EntityMapping>> mapping = map_entity(name);
    if (mapping.ok()) {
      ctx_.mappings[name] = std::move(mapping).value();
      continue;
    }
    const StatusCode code = mapping.status().code();
    if (code != StatusCode::kNotFound && code != StatusCode::kConfig) return mapping.status();
    if (required.count(name)) {
      problems.push_back(mapping.status());
    } else {
      ctx_.unmapped.emplace(name, mapping.status());
    }
  }
  TETHER_RETURN_IF_ERROR(Problems(problems));
  for (const std::string& name : all) {  // parents first: a child of an unmapped one is too
    for (const auto& [column, parent] : config_.FindEntity(name)->references) {
      auto p = ctx_.unmapped.find(parent);
      if (p == ctx_.unmapped.end() || !ctx_.mappings.count(name)) continue;
      ctx_.mappings.erase(name);
      ctx_.unmapped.emplace(name, p->second);
    }
  }
  LinkKeyParents(ctx_.mappings);
  TETHER_ASSIGN_OR_RETURN(auto filters, BuildFilters(config_, order_, ctx_.mappings, req_));
  for (const std::string& name : order_) {
    EntityPlan plan;
    plan.mapping = ctx_.mappings[name].get();
    plan.conditions = std::move(filters[name]);
    plan.filtered = !plan.conditions.empty();
    plan.options_hash = ConditionsHash(plan.conditions);
    plans_[name] = std::move(plan);
  }
  ctx_.config = &config_;
  ctx_.pipeline = pipeline_;
  ctx_.source = source_.get();
  ctx_.target = target_.get();
  ctx_.state = state_.get();
  ctx_.on_duplicate = req_.on_duplicate.value_or(pipeline_->on_duplicate);
  ctx_.on_invalid = req_.on_invalid.value_or(pipeline_->on_invalid);
  ctx_.compare = req_.compare;
  return CheckKeys();
}

Status Runner::CheckMatchIndexes(SyncObserver* observer) {
  for (const auto& [name, mapping] : ctx_.mappings) {
    const EntityMapping& m = *mapping;
    if (!m.match_normalized()) continue;
    LookupRequest lookup{m.target_schema.name, m.TargetKeyNames(), {}, {}, m.match_normalize};
    std::vector<std::string> described;
    for (size_t i = 0; i < m.match.size(); ++i) {
      lookup.by_columns.push_back(m.columns[m.match[i]].target);
      const std::string how = NormalizationName(m.match_normalize[i]);
      described.push_back(lookup.by_columns.back() + (how.empty() ? "" : " (" + how + ")"));
    }
    TETHER_ASSIGN_OR_RETURN(bool indexed, target_->LookupUsesIndex(lookup));
    if (indexed || !observer) continue;
    observer->OnNotice(fmt::format(
        "warning: entity '{}': no index of table '{}' on connection '{}' serves lookups by {}: "
        "each batch would read the whole table (the README's 'Normalised match keys' says which "
        "index to create; `tether schema` creates it with a new table)",
        name, m.target_schema.name, target_->connection_name(), fmt::join(described, ", ")));
  }
  return Status::OK();
}

Status Runner::CheckKeys() const {
  for (const auto& [name, ids] : req_.keys) {
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

Result<Connector*> Runner::ReadAheadSource() {
  if (!source_->capabilities().read_ahead) return nullptr;
  if (!ahead_) {
    const ConnectionConfig* sc = config_.FindConnection(pipeline_->source);
    TETHER_ASSIGN_OR_RETURN(ahead_, OpenConnector(sc->name, sc->url));
  }
  return ahead_.get();
}

Status Runner::AcquireLock() {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + req_.lock_wait;
  // A killed run's session lets go of the lock only once its server has noticed the client is
  // gone (after the statement it was running): a holder that is gone is waited for a while.
  const auto grace = start + kGoneHolderGrace;
  for (bool first = true;; first = false) {
    TETHER_ASSIGN_OR_RETURN(locked_, target_->TryLock(LockName()));
    if (locked_) return Status::OK();
    if (req_.cancel && req_.cancel->load()) return Status::Cancelled("stopped on request");
    const auto now = Clock::now();
    if (now >= deadline && !(now < grace && HolderMayBeGone())) {
      return Status::Busy(fmt::format(
          "pipeline '{}' is being run by {}; one run at a time{}", pipeline_->name, Holder(),
          req_.lock_wait.count() > 0
              ? fmt::format(" (waited {} s for it)", req_.lock_wait.count() / 1000)
              : " (`tether sync --wait 10m` waits for it)"));
    }
    if (first && obs_) {
      obs_->OnNotice(fmt::format("pipeline '{}' is being run by {}: waiting for it",
                                 pipeline_->name, Holder()));
    }
    std::this_thread::sleep_for(
        std::clamp<Clock::duration>(std::max(deadline, grace) - Clock::now(),
                                    Clock::duration::zero(), std::chrono::milliseconds(200)));
  }
}

bool Runner::HolderMayBeGone() {
  Result<std::vector<RunInfo>> runs = state_->ListRuns(pipeline_->name, 50);
  if (!runs.ok()) return false;
  for (const RunInfo& r : *runs) {  // newest first
    if (r.status != "running") continue;
    if (r.host != HostName() || r.pid <= 0) return false;  // a process elsewhere: not known
    return kill(static_cast<pid_t>(r.pid), 0) != 0 && errno == ESRCH;
  }
  // No row says who holds it: a run writes its row only after its pre-flight, so the holder may
  // well be alive.
  return false;
}

std::string Runner::Holder() {
  const std::string someone =
      fmt::format("another tether process (it holds the pipeline's lock in connection '{}')",
                  target_->connection_name());
  Result<std::vector<RunInfo>> runs = state_->ListRuns(pipeline_->name, 50);
  if (!runs.ok()) return someone;
  for (const RunInfo& r : *runs) {  // newest first
    if (r.status != "running") continue;
    return fmt::format("run {} (pid {} on {}, started {})", r.run_id, r.pid, r.host, r.started_at);
  }
  return someone;
}

Status Runner::MarkInterrupted() {
  TETHER_ASSIGN_OR_RETURN(auto runs, state_->ListRuns(pipeline_->name, 50));
  for (RunInfo& r : runs) {
    if (r.status != "running" || r.run_id == run_.run_id) continue;
    r.status = "interrupted";
    r.finished_at = UtcNow();
    r.message = "the process ended before the run finished";
    TETHER_RETURN_IF_ERROR(state_->PutRun(r));
  }
  return Status::OK();
}

Status Runner::RecordRun() {
  const RunCounts& c = run_.counts;
  const bool idle = c.inserted + c.updated + c.linked + c.deleted + c.skipped + c.failed == 0 &&
                    (run_.status == "running" || run_.status == "succeeded");
  if (!req_.record_idle && !run_recorded_ && idle) return Status::OK();
  run_recorded_ = true;
  return state_->PutRun(run_);
}

Status Runner::CommitBatch(const EntityPlan& plan, const Row& last_key, bool dry_run) {
  if (dry_run) return Status::OK();
  const std::string& entity = plan.mapping->name();
  RunCounts totals;
  for (auto& [name, c] : ctx_.counts) totals += c;
  const int64_t changes = totals.inserted + totals.updated + totals.linked + totals.deleted +
                          totals.skipped + totals.failed;
  const auto now = std::chrono::steady_clock::now();
  // A batch that changed nothing has nothing to protect: its checkpoint can wait (a resume
  // then re-reads a few unchanged batches), which spares a no-op rerun a write and an fsync
  // per batch. State is still written at least every kStateInterval.
  if (changes == state_changes_ && ctx_.results.empty() && ctx_.images.empty() &&
      now - state_written_ < kStateInterval) {
    return Status::OK();
  }
  state_changes_ = changes;
  state_written_ = now;
  TETHER_RETURN_IF_ERROR(WriteBatchState());
  Checkpoint cp;
  cp.position = EncodeKey(last_key);
  cp.run_id = run_.run_id;
  cp.options_hash = plan.options_hash;
  // A key that is not UTF-8 (its record failed) cannot be stored as text: the position stays
  // where it was, and a resumed run reads these batches again.
  if (IsUtf8(*cp.position)) {
    TETHER_RETURN_IF_ERROR(state_->PutCheckpoint(pipeline_->name, entity, cp));
  }
  // The run's counts are progress for whoever watches it; a resumed run counts afresh, so they
  // need not move with every checkpoint.
  if (now - run_written_ < kStateInterval) return Status::OK();
  run_written_ = now;
  run_.counts = totals;
  return RecordRun();
}

Status Runner::Transaction(bool dry_run, const std::string& what,
                           const std::function<Status()>& body) {
  SyncObserver* real = ctx_.observer;
  for (int attempt = 1;; ++attempt) {
    auto saved_counts = ctx_.counts;
    ctx_.results.clear();
    ctx_.images.clear();
    ctx_.StartAttempt();
    buffer_.Reset(real);
    ctx_.observer = real ? &buffer_ : nullptr;
    // A locked target fails Begin with kBusy: retried like the rest.
    Status st = dry_run ? Status::OK() : target_->Begin();
    if (st.ok()) st = body();
    if (st.ok() && !dry_run) st = target_->Commit();
    ctx_.observer = real;
    if (st.ok()) {
      buffer_.Flush();
      return st;
    }
    if (!dry_run) (void)target_->Rollback();
    ctx_.counts = std::move(saved_counts);
    ctx_.ForgetAttempt();
    if (!st.IsRetryable() || attempt == kMaxAttempts) return st;
    if (real) real->OnNotice(fmt::format("{}: {} — retrying", what, st.ToString()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100 << (2 * attempt)));
  }
}

ScanRequest Runner::EntityScan(const EntityPlan& plan, const std::optional<Row>& after,
                               size_t batch, const std::optional<Row>& upto) const {
  const EntityMapping& m = *plan.mapping;
  ScanRequest scan;
  scan.table = m.source_schema.name;
  scan.columns = m.source_columns;
  scan.key_columns = m.SourceKeyNames();
  scan.after_key = after;
  scan.conditions = plan.conditions;
  scan.limit = batch;
  scan.upto_key = upto;
  return scan;
}

bool Runner::BulkEligible(const EntityMapping& m, bool dry_run) const {
  return !dry_run && !m.mapped() && !m.generated_key && m.references.empty() &&
         target_->capabilities().transactions;
}

Result<bool> Runner::TargetEmptyPast(const EntityMapping& m, const std::optional<Row>& after) {
  bool ordered = after.has_value();
  for (size_t i = 0; ordered && i < m.key.size(); ++i) {
    ordered = m.columns[m.key[i]].target_info.type == TypeClass::kInteger &&
              (*after)[i].kind() == ValueKind::kInt;
  }
  ScanRequest probe;
  probe.table = m.target_schema.name;
  probe.columns = m.TargetKeyNames();
  probe.key_columns = m.TargetKeyNames();
  if (ordered) probe.after_key = after;
  probe.limit = 1;
  TETHER_ASSIGN_OR_RETURN(auto stream, target_->Scan(probe));
  Row row;
  TETHER_ASSIGN_OR_RETURN(bool any, stream->Next(&row));
  return !any;
}

Status Runner::BulkChunk(const EntityPlan& plan, BatchProcessor& processor, Connector* ahead,
                         std::optional<Row>* after, const std::optional<Row>& upto,
                         BulkChunkResult* result) {
  const EntityMapping& m = *plan.mapping;
  const std::string& name = m.name();
  const size_t batch_size = req_.batch_size.value_or(pipeline_->batch_size);
  Row last_key;
  Status st = Transaction(false, name, [&]() -> Status {
    *result = BulkChunkResult{};
    last_key.clear();
    PageReader reader(source_.get(), EntityScan(plan, *after, batch_size, upto), m.source_key,
                      ahead);
    TETHER_ASSIGN_OR_RETURN(auto writer,
                            target_->StartBulkInsert(m.target_schema.name, m.TargetColumnNames()));
    processor.set_bulk(writer.get());
    Status read = [&]() -> Status {
      const auto deadline = std::chrono::steady_clock::now() + req_.bulk_chunk_time;
      do {
        if (req_.cancel && req_.cancel->load()) break;  // what was read so far commits
        TETHER_ASSIGN_OR_RETURN(std::vector<Row> rows, reader.Next());
        if (rows.empty()) {
          result->done = true;
          break;
        }
        ++result->batches;
        last_key.clear();
        for (int p : m.source_key) last_key.push_back(rows.back()[p]);
        TETHER_RETURN_IF_ERROR(processor.Process(m, std::move(rows)));
        if (!ctx_.violation.ok()) return ctx_.violation;
        if (watcher_) watcher_->OnProgress(name, ctx_.counts[name]);
      } while (std::chrono::steady_clock::now() < deadline);
      return Status::OK();
    }();
    processor.set_bulk(nullptr);
    TETHER_RETURN_IF_ERROR(read);
    TETHER_RETURN_IF_ERROR(writer->Finish());
    if (last_key.empty()) return Status::OK();
    return CommitBatch(plan, last_key, false);
  });
  if (st.ok() && !last_key.empty()) *after = std::move(last_key);
  return st;
}

Status Runner::RunRange(const EntityPlan& plan, BatchProcessor& processor, Connector* ahead,
                        const KeyRange& range, bool dry_run) {
  const EntityMapping& m = *plan.mapping;
  const std::string& name = m.name();
  const size_t batch_size = req_.batch_size.value_or(pipeline_->batch_size);
  std::optional<Row> after = range.after;
  const bool bulk = BulkEligible(m, dry_run);
  int until_probe = 0;  // usual batches before the target is probed for a bulk chunk again
  size_t redo = 0;      // batches of a refused bulk chunk still to be redone the usual way
  std::unique_ptr<PageReader> reader;  // for usual batches (a bulk chunk reads with its own)
  for (;;) {
    if (req_.cancel && req_.cancel->load()) return Status::Cancelled("stopped on request");
    if (bulk && redo == 0 && until_probe == 0) {
      TETHER_ASSIGN_OR_RETURN(bool empty, TargetEmptyPast(m, after));
      if (empty) {
        reader.reset();
        BulkChunkResult chunk;
        Status st = BulkChunk(plan, processor, ahead, &after, range.upto, &chunk);
        if (st.ok()) {
          if (chunk.done) break;
          continue;
        }
        // (Refused before any batch was read is not about a record: redoing nothing would only
        // try the same chunk again.)
        if (!IsRecordError(st) || chunk.batches == 0) return st;
        // A record the target refuses (a row that appeared meanwhile, a constraint tether does
        // not know): the chunk was rolled back; its batches go the usual way, record by record.
        if (obs_) {
          obs_->OnNotice(
              fmt::format("{}: the bulk insert was refused ({}); writing its {} "
                          "batches one by one",
                          name, st.message(), chunk.batches));
        }
        redo = chunk.batches;
      } else {
        until_probe = kBulkProbePause;
      }
    }
    if (!reader) {
      reader = std::make_unique<PageReader>(
          source_.get(), EntityScan(plan, after, batch_size, range.upto), m.source_key, ahead);
    }
    TETHER_ASSIGN_OR_RETURN(std::vector<Row> rows, reader->Next());
    if (rows.empty()) break;
    Row last_key;
    for (int p : m.source_key) last_key.push_back(rows.back()[p]);
    TETHER_RETURN_IF_ERROR(Transaction(dry_run, name, [&]() -> Status {
      TETHER_RETURN_IF_ERROR(processor.Process(m, rows));
      if (!ctx_.violation.ok() && !dry_run) return ctx_.violation;
      return CommitBatch(plan, last_key, dry_run);
    }));
    if (watcher_) watcher_->OnProgress(name, ctx_.counts[name]);
    after = std::move(last_key);
    if (redo > 0) {
      --redo;
    } else if (until_probe > 0) {
      --until_probe;
    }
  }
  return Status::OK();
}

Status Runner::RunDiffering(const EntityPlan& plan, BatchProcessor& processor,
                            const std::vector<Row>& keys, bool dry_run) {
  std::vector<std::string> ids;
  ids.reserve(keys.size());
  for (const Row& k : keys) ids.push_back(EncodeKey(k));
  return KeyBatches(plan, processor, ids, {}, dry_run,
                    [&](size_t last) { return CommitBatch(plan, keys[last], dry_run); });
}

Status Runner::RunEntity(const EntityPlan& plan, bool dry_run) {
  const EntityMapping& m = *plan.mapping;
  const std::string& name = m.name();
  ctx_.passes_ahead.erase(name);
  if (watcher_) watcher_->OnEntityStart(name);
  std::optional<Row> after;
  if (!req_.restart && !req_.compare) {
    TETHER_ASSIGN_OR_RETURN(auto cp, state_->GetCheckpoint(pipeline_->name, name));
    if (cp && cp->mode == "full" && cp->position && cp->options_hash == plan.options_hash) {
      Row k = TypedKey(*cp->position, m.source_schema, m.SourceKeyNames());
      if (!k.empty()) {
        after = std::move(k);
        resumed_ = true;
        if (watcher_) {
          watcher_->OnNotice(fmt::format("{}: resuming after key {} (checkpoint of run {})", name,
                                         *cp->position, cp->run_id));
        }
      }
    }
  }
  BatchProcessor processor(&ctx_);
  TETHER_ASSIGN_OR_RETURN(Connector * ahead, ReadAheadSource());
  std::optional<std::vector<ChecksumWork>> differing;  // by checksums: only these differ
  compared_.erase(name);
  if (req_.checksums && !plan.filtered) {
    std::string why = ChecksumIneligibility(m, config_, *source_, *target_);
    if (why.empty()) {
      // A first copy has nothing to skip: no need to checksum the source.
      TETHER_ASSIGN_OR_RETURN(bool empty, TargetEmptyPast(m, after));
      if (empty) why = "the target has none of the rows";
    }
    if (why.empty()) {
      TETHER_ASSIGN_OR_RETURN(
          ChecksumPlan cp, PlanByChecksums(source_.get(), target_.get(), m,
                                           KeyRange{after, std::nullopt}, req_.checksum_options));
      // Records the checksums proved equal were read and compared, in effect.
      ctx_.counts[name].read += cp.equal_rows;
      ctx_.counts[name].unchanged += cp.equal_rows;
      methods_[name] = cp.Summary();
      differing = std::move(cp.work);
      compared_.insert(name);
      // The checksums tell the total: no need to count the source.
      if (req_.count_rows && watcher_) {
        watcher_->OnEntityTotal(name, cp.equal_rows + cp.copy_rows + cp.differing);
      }
    } else {
      methods_[name] = "rows (no checksums: " + why + ")";
    }
  }
  if (!differing && req_.count_rows && watcher_) {
    TETHER_ASSIGN_OR_RETURN(int64_t total, source_->Count(m.source_schema.name, plan.conditions));
    watcher_->OnEntityTotal(name, total);
  }
  if (!differing) {
    TETHER_RETURN_IF_ERROR(
        RunRange(plan, processor, ahead, KeyRange{after, std::nullopt}, dry_run));
  }
  for (const ChecksumWork& work : differing.value_or(std::vector<ChecksumWork>{})) {
    if (work.copy) {
      TETHER_RETURN_IF_ERROR(RunRange(plan, processor, ahead, *work.copy, dry_run));
    } else {
      TETHER_RETURN_IF_ERROR(RunDiffering(plan, processor, work.keys, dry_run));
    }
  }
  if (!dry_run) {
    // The entity is complete: the next run starts from the beginning.
    Checkpoint cp;
    cp.run_id = run_.run_id;
    cp.options_hash = plan.options_hash;
    TETHER_RETURN_IF_ERROR(Transaction(
        dry_run, name, [&] { return state_->PutCheckpoint(pipeline_->name, name, cp); }));
  }
  if (watcher_) watcher_->OnEntityEnd(name, ctx_.counts[name]);
  return Status::OK();
}

Status Runner::RunEntities(bool dry_run, SyncObserver* obs) {
  ctx_.dry_run = dry_run;
  ctx_.observer = obs;
  watcher_ = obs;
  ctx_.counts.clear();
  ctx_.pulled.clear();
  ctx_.rejected.clear();
  ctx_.paired.clear();  // a pre-flight plan's pairings are not links of the real run
  ctx_.planned.clear();
  ctx_.planned_match.clear();
  ctx_.passes_ahead.clear();
  ctx_.violation = Status::OK();
  if (req_.changes) return RunChanges(dry_run);
  if (!req_.keys.empty()) return RunKeys(dry_run);
  ExpectPasses(order_);
  for (const std::string& name : order_) {
    TETHER_RETURN_IF_ERROR(RunEntity(plans_.at(name), dry_run));
  }
  return RunDeletes(dry_run, order_);
}

void Runner::ExpectPasses(const std::vector<std::string>& names) {
  ctx_.passes_ahead.clear();
  for (const std::string& name : names) {
    if (!plans_.at(name).filtered) ctx_.passes_ahead.insert(name);
  }
}

Status Runner::WriteBatchState() {
  TETHER_RETURN_IF_ERROR(state_->AddRecordResults(run_.run_id, ctx_.results));
  return state_->AddBeforeImages(run_.run_id, ctx_.images);
}

Status Runner::RunChanges(bool dry_run) {
  ChangeLog log(source_.get());
  TETHER_ASSIGN_OR_RETURN(auto tracked, log.Describe());
  std::vector<std::string> logged;  // entities read from the change log; the others by cursor
  for (const std::string& name : order_) {
    const bool found = std::any_of(tracked.begin(), tracked.end(),
                                   [&](const TrackStatus& t) { return t.entity == name; });
    if (found) {
      logged.push_back(name);
    } else if (!plans_.at(name).mapping->config->cursor) {
      return Status::InvalidArgument(fmt::format(
          "--changes: the changes of entity '{}' (table '{}') are not tracked on connection '{}' "
          "(`tether track install` adds the triggers; or give the entity a `cursor:` column)",
          name, plans_.at(name).mapping->source_schema.name, source_->connection_name()));
    }
  }
  for (const std::string& name : order_) {
    if (std::find(logged.begin(), logged.end(), name) == logged.end()) {
      TETHER_RETURN_IF_ERROR(RunCursor(plans_.at(name), dry_run));
    }
  }
  std::map<std::string, int64_t> position;
  std::vector<std::string> initial;
  for (const std::string& name : logged) {
    TETHER_ASSIGN_OR_RETURN(auto cp, state_->GetCheckpoint(pipeline_->name, name));
    if (!req_.restart && cp && cp->mode == kChangesMode && cp->position) {
      TETHER_ASSIGN_OR_RETURN(position[name], PositionNumber(*cp, pipeline_->name, name));
    } else {
      initial.push_back(name);
    }
  }
  auto put_positions = [&](const std::vector<std::string>& names, int64_t seq) -> Status {
    for (const std::string& name : names) {
      Checkpoint cp;
      cp.mode = kChangesMode;
      cp.position = std::to_string(seq);
      cp.run_id = run_.run_id;
      cp.options_hash = plans_.at(name).options_hash;
      TETHER_RETURN_IF_ERROR(state_->PutCheckpoint(pipeline_->name, name, cp));
    }
    return Status::OK();
  };
  if (!initial.empty()) {
    // Everything older than the settle time is in the tables the full pass reads; changes after
    // it are read again afterwards, which is harmless (a change is applied as the row is now).
    TETHER_ASSIGN_OR_RETURN(int64_t start, log.SettledSeq(kChangeSettleSeconds));
    if (watcher_) {
      watcher_->OnNotice(
          fmt::format("{}: no change checkpoint yet: copying whole, then reading "
                      "changes after seq {}",
                      fmt::join(initial, ", "), start));
    }
    ExpectPasses(initial);
    for (const std::string& name : initial) {
      TETHER_RETURN_IF_ERROR(RunEntity(plans_.at(name), dry_run));
    }
    TETHER_RETURN_IF_ERROR(RunDeletes(dry_run, initial));
    if (!dry_run) {
      TETHER_RETURN_IF_ERROR(Transaction(dry_run, "change checkpoints",
                                         [&] { return put_positions(initial, start); }));
    }
    for (const std::string& name : initial) position[name] = start;
  }

  int64_t from = std::numeric_limits<int64_t>::max();
  for (const auto& [name, seq] : position) from = std::min(from, seq);
  if (logged.empty()) return Status::OK();
  const size_t batch = req_.batch_size.value_or(pipeline_->batch_size);
  BatchProcessor processor(&ctx_);
  int64_t cursor = from, safe = from;
  bool held = false;  // a young hole: the checkpoint stays before it, later changes still apply
  for (;;) {
    if (req_.cancel && req_.cancel->load()) return Status::Cancelled("stopped on request");
    TETHER_ASSIGN_OR_RETURN(std::vector<Change> changes, log.ReadAll(cursor, batch));
    if (changes.empty()) break;
    // Coalesced: one action per changed record, whatever and however often it changed.
    std::map<std::string, std::vector<std::string>> keys;
    std::set<std::pair<std::string, std::string>> seen;
    int64_t prev = cursor;
    for (const Change& c : changes) {
      if (!held && c.seq != prev + 1 && Young(c.changed_at)) held = true;
      if (!held) safe = c.seq;
      prev = c.seq;
      auto p = position.find(c.entity);
      if (p == position.end() || c.seq <= p->second) continue;  // not selected, or read already
      if (seen.insert({c.entity, c.row_key}).second) keys[c.entity].push_back(c.row_key);
    }
    cursor = changes.back().seq;
    TETHER_RETURN_IF_ERROR(Transaction(dry_run, "changes", [&]() -> Status {
      // Parents first, as in a full run; a child whose parent is not there yet pulls it.
      for (const std::string& name : logged) {
        auto k = keys.find(name);
        if (k == keys.end()) continue;
        const EntityPlan& plan = plans_.at(name);
        TETHER_RETURN_IF_ERROR(processor.ProcessKeys(*plan.mapping, k->second, plan.conditions));
      }
      if (!ctx_.violation.ok() && !dry_run) return ctx_.violation;
      if (dry_run) return Status::OK();
      TETHER_RETURN_IF_ERROR(WriteBatchState());
      std::vector<std::string> moved;
      for (const auto& [name, seq] : position) {
        if (safe > seq) moved.push_back(name);
      }
      return put_positions(moved, safe);
    }));
    for (auto& [name, seq] : position) seq = std::max(seq, safe);
    if (watcher_) {
      for (const auto& [name, ids] : keys) watcher_->OnProgress(name, ctx_.counts[name]);
    }
    if (changes.size() < batch) break;
  }
  return Status::OK();
}

Result<Value> Runner::CursorBound(const EntityMapping& m) {
  const std::string& column = *m.config->cursor;
  const SqlDialect* sql = source_->sql_dialect();
  if (sql == nullptr) {
    return Status::Unsupported(
        fmt::format("entity '{}': connection '{}' takes no SQL, which reading by cursor needs",
                    m.name(), source_->connection_name()));
  }
  TETHER_ASSIGN_OR_RETURN(auto rows, source_->Query("SELECT max(" + sql->Quote(column) + ") FROM " +
                                                    sql->Quote(m.source_schema.name)));
  if (rows.empty() || rows[0].empty() || rows[0][0].is_null()) return Value::Null();
  Value newest = rows[0][0];
  const TypeClass type = m.source_schema.Find(column)->type;
  if (type != TypeClass::kTimestamp && type != TypeClass::kTimestampTz && type != TypeClass::kAny) {
    return newest;  // a row version: no time to subtract
  }
  std::optional<int64_t> at = UtcSeconds(newest.ToText());
  if (!at) return newest;
  return Value::Text(UtcSecondsText(*at - (m.config->cursor_lag_ms + 999) / 1000));
}

Status Runner::RunCursor(const EntityPlan& plan, bool dry_run) {
  const EntityMapping& m = *plan.mapping;
  const std::string& name = m.name();
  const std::string& column = *m.config->cursor;
  if (!m.source_schema.Find(column)) {
    return Status::NotFound(fmt::format(
        "{}: entity '{}': cursor column '{}' is not a column of table '{}' on connection '{}'",
        m.config->location.ToString(), name, column, m.source_schema.name,
        source_->connection_name()));
  }
  const std::vector<std::string> key = m.SourceKeyNames();
  auto put_position = [&](const Row& position) {
    return Transaction(dry_run, name, [&]() -> Status {
      if (dry_run) return Status::OK();
      Checkpoint cp;
      cp.mode = "cursor";
      cp.position = EncodeKey(position);
      cp.run_id = run_.run_id;
      cp.options_hash = plan.options_hash;
      if (!IsUtf8(*cp.position)) return Status::OK();  // as in CommitBatch
      return state_->PutCheckpoint(pipeline_->name, name, cp);
    });
  };
  TETHER_ASSIGN_OR_RETURN(auto cp, state_->GetCheckpoint(pipeline_->name, name));
  std::optional<Row> after;    // the last settled (cursor, key) read
  std::optional<Value> since;  // or, right after a whole copy: cursor >= since
  // The position: (cursor, key...) of the last settled row, or (cursor, null...) right after a
  // whole copy.
  Row decoded;
  if (!req_.restart && cp && cp->mode == "cursor" && cp->position &&
      DecodeKey(*cp->position, 1 + key.size(), &decoded)) {
    if (decoded[1].is_null()) {
      since = decoded[0];
    } else {
      after = decoded;
    }
  } else {
    // No position yet: the whole table, then rows from just before it was read.
    TETHER_ASSIGN_OR_RETURN(Value bound, CursorBound(m));
    TETHER_RETURN_IF_ERROR(RunEntity(plan, dry_run));
    TETHER_RETURN_IF_ERROR(RunDeletes(dry_run, {name}));
    if (bound.is_null()) return Status::OK();  // an empty table: the next run copies whole
    Row position(1 + key.size());
    position[0] = bound;
    return put_position(position);
  }
  TETHER_ASSIGN_OR_RETURN(Value bound, CursorBound(m));
  if (bound.is_null()) return Status::OK();
  // Read the cursor and key too when the mapping does not carry them.
  std::vector<std::string> columns = m.source_columns;
  auto position_of = [&](const std::string& c) {
    auto it = std::find(columns.begin(), columns.end(), c);
    if (it == columns.end()) {
      columns.push_back(c);
      return static_cast<int>(columns.size() - 1);
    }
    return static_cast<int>(it - columns.begin());
  };
  std::vector<int> order_at = {position_of(column)};
  for (const std::string& k : key) order_at.push_back(position_of(k));
  ScanRequest scan;
  scan.table = m.source_schema.name;
  scan.columns = columns;
  scan.key_columns = {column};
  scan.key_columns.insert(scan.key_columns.end(), key.begin(), key.end());
  scan.after_key = after;
  scan.conditions = plan.conditions;
  scan.conditions.push_back({column, Condition::Op::kIsNotNull, {}});
  if (since) scan.conditions.push_back({column, Condition::Op::kGe, *since});
  scan.limit = req_.batch_size.value_or(pipeline_->batch_size);
  PageReader reader(source_.get(), std::move(scan), order_at, nullptr);
  BatchProcessor processor(&ctx_);
  const size_t width = m.source_columns.size();
  for (;;) {
    if (req_.cancel && req_.cancel->load()) return Status::Cancelled("stopped on request");
    TETHER_ASSIGN_OR_RETURN(std::vector<Row> rows, reader.Next());
    if (rows.empty()) break;
    // The position moves to the last row at or before the bound; later rows are read again.
    std::optional<Row> settled;
    for (const Row& r : rows) {
      if (!AtOrBefore(r[order_at[0]], bound)) break;
      Row p;
      for (int at : order_at) p.push_back(r[at]);
      settled = std::move(p);
    }
    for (Row& r : rows) r.resize(width);
    TETHER_RETURN_IF_ERROR(Transaction(dry_run, name, [&]() -> Status {
      TETHER_RETURN_IF_ERROR(processor.Process(m, rows));
      if (!ctx_.violation.ok() && !dry_run) return ctx_.violation;
      if (dry_run) return Status::OK();
      TETHER_RETURN_IF_ERROR(WriteBatchState());
      if (!settled) return Status::OK();
      Checkpoint cp;
      cp.mode = "cursor";
      cp.position = EncodeKey(*settled);
      cp.run_id = run_.run_id;
      cp.options_hash = plan.options_hash;
      if (!IsUtf8(*cp.position)) return Status::OK();  // as in CommitBatch
      return state_->PutCheckpoint(pipeline_->name, name, cp);
    }));
    if (watcher_) watcher_->OnProgress(name, ctx_.counts[name]);
  }
  return Status::OK();
}

Status Runner::RunDeletes(bool dry_run, const std::vector<std::string>& names) {
  // Children first, so that a parent is never removed from under its children.
  for (auto name = names.rbegin(); name != names.rend(); ++name) {
    const EntityPlan& plan = plans_.at(*name);
    const EntityMapping& m = *plan.mapping;
    if (m.config->delete_policy == DeletePolicy::kIgnore && !req_.compare) continue;
    if (plan.filtered) {
      if (ctx_.observer) {
        ctx_.observer->OnNotice(fmt::format(
            "{}: deletes are not propagated by a filtered run (it cannot tell deleted from "
            "filtered out)",
            *name));
      }
      continue;
    }
    BatchProcessor processor(&ctx_);
    const size_t page = req_.batch_size.value_or(pipeline_->batch_size);
    // Compared by checksums: the rows gone from the source were among the differing records.
    std::optional<Row> cursor;
    for (bool swept = compared_.count(*name) > 0; !swept;) {
      if (req_.cancel && req_.cancel->load()) return Status::Cancelled("stopped on request");
      size_t examined = 0;
      std::optional<Row> start = cursor;
      TETHER_RETURN_IF_ERROR(Transaction(dry_run, *name, [&]() -> Status {
        cursor = start;
        TETHER_ASSIGN_OR_RETURN(examined, processor.SweepDeletes(m, &cursor, page));
        if (dry_run) return Status::OK();
        return WriteBatchState();
      }));
      swept = examined == 0;
    }
    if (req_.compare && m.mapped()) TETHER_RETURN_IF_ERROR(SweepUnpaired(m));
    if (watcher_) watcher_->OnProgress(*name, ctx_.counts[*name]);
  }
  return Status::OK();
}

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

Status Runner::FinishRun(const Status& outcome) {
  run_.finished_at = UtcNow();
  run_.counts = RunCounts{};
  for (auto& [name, c] : ctx_.counts) run_.counts += c;
  if (!outcome.ok()) {
    run_.status = outcome.code() == StatusCode::kCancelled ? "cancelled" : "failed";
    run_.message = outcome.ToString();
  } else {
    run_.status = run_.counts.failed > 0 ? "partial" : "succeeded";
  }
  if (run_.dry_run) return Status::OK();
  return RecordRun();
}

Result<SyncReport> Runner::Run() {
  // The lock comes before anything is written or planned: the pre-flight of an error policy must
  // see what the run then writes over.
  TETHER_RETURN_IF_ERROR(Prepare(/*lock=*/!req_.dry_run));
  run_.run_id = NewId('r');
  run_.pipeline = pipeline_->name;
  run_.dry_run = req_.dry_run;
  run_.started_at = UtcNow();
  run_.pid = getpid();
  run_.host = HostName();
  nlohmann::json opts = {{"entities", order_}, {"where", req_.where}, {"dry_run", req_.dry_run}};
  opts["mode"] = req_.changes ? "changes" : !req_.keys.empty() ? "keys" : "full";
  if (!req_.keys.empty()) {
    nlohmann::json keys = nlohmann::json::object();
    for (const auto& [entity, ids] : req_.keys) keys[entity] = ids.size();
    opts["keys"] = keys;
  }
  if (req_.from_date) opts["from_date"] = *req_.from_date;
  if (req_.to_date) opts["to_date"] = *req_.to_date;
  if (req_.restart) opts["restart"] = true;
  if (!req_.checksums) opts["checksums"] = false;
  // --where may hold any bytes: JSON text cannot, so those are replaced.
  run_.options = opts.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  ctx_.run_id = run_.run_id;

  if (req_.dry_run) {
    if (obs_) obs_->OnRunStart(run_);
    TETHER_RETURN_IF_ERROR(RunEntities(true, obs_));
  } else {
    // An error policy promises that nothing is written when it trips: plan everything first.
    if (ctx_.on_invalid == OnInvalid::kError || ctx_.on_duplicate == OnDuplicate::kError) {
      TETHER_RETURN_IF_ERROR(RunEntities(true, nullptr));
      if (!ctx_.violation.ok()) return ctx_.violation;
    }
    TETHER_RETURN_IF_ERROR(state_->EnsureSchema());
    TETHER_RETURN_IF_ERROR(MarkInterrupted());
    TETHER_RETURN_IF_ERROR(RecordRun());
    if (obs_) obs_->OnRunStart(run_);
    Status st = RunEntities(false, obs_);
    Status fin = FinishRun(st);
    TETHER_RETURN_IF_ERROR(st);
    TETHER_RETURN_IF_ERROR(fin);
  }
  if (req_.dry_run) (void)FinishRun(Status::OK());
  SyncReport report;
  report.run = run_;
  report.resumed = resumed_;
  // Selected entities, and any other whose records were pulled in as parents.
  for (const std::string& name : all_) {
    bool selected = std::find(order_.begin(), order_.end(), name) != order_.end();
    auto c = ctx_.counts.find(name);
    if (selected || (c != ctx_.counts.end() && c->second.read > 0)) {
      auto method = methods_.find(name);
      report.entities.push_back(
          {name, ctx_.counts[name], method == methods_.end() ? "rows" : method->second});
    }
  }
  return report;
}

}  // namespace

Result<SyncReport> RunSync(const Config& config, const SyncRequest& request,
                           SyncObserver* observer) {
  Runner runner(config, request, observer);
  return runner.Run();
}

Status CheckPipelines(const Config& config, const std::vector<std::string>& pipelines,
                      SyncObserver* observer) {
  std::vector<std::string> names = pipelines;
  if (names.empty()) {
    for (const PipelineConfig& p : config.pipelines) names.push_back(p.name);
  }
  // Every problem, not the first: each connection, then each pipeline whose connections answer.
  std::vector<Status> problems;
  std::set<std::string> unreachable;
  for (const ConnectionConfig& c : config.connections) {
    Result<std::unique_ptr<Connector>> conn = OpenConnector(c.name, c.url);
    Status st = conn.ok() ? (*conn)->Ping() : conn.status();
    if (!st.ok()) {
      problems.push_back(st);
      unreachable.insert(c.name);
      continue;
    }
    if (observer) {
      observer->OnNotice(fmt::format("connection {}: ok ({})", c.name, RedactUrl(c.url)));
    }
  }
  for (const std::string& name : names) {
    const PipelineConfig* p = config.FindPipeline(name);
    if (p && (unreachable.count(p->source) || unreachable.count(p->target))) continue;
    SyncRequest req;
    req.pipeline = name;
    Runner runner(config, req, nullptr);
    Status st = runner.Prepare(/*lock=*/false);
    if (!st.ok()) {
      problems.push_back(st);
      continue;
    }
    TETHER_RETURN_IF_ERROR(runner.CheckMatchIndexes(observer));
    if (observer) observer->OnNotice(fmt::format("pipeline {}: ok", name));
  }
  return Problems(problems);
}

}  // namespace tether
