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
#include "engine/runner.h"
#include "engine/target_tables.h"
#include "engine/where.h"
#include "track/change_log.h"

namespace tether {
namespace sync_internal {
namespace {

constexpr int kMaxAttempts = 4;  // a batch that hits a retryable error is tried again
constexpr std::chrono::seconds kStateInterval{2};  // the longest a no-op batch defers state
// How long a run waits for the pipeline's lock when its holder may be gone (a killed run, whose
// session the database server has not closed yet), even without SyncRequest::lock_wait.
constexpr std::chrono::seconds kGoneHolderGrace{30};

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

}  // namespace

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
  if (req_.mode == SyncMode::kKeys && req_.keys.empty()) {
    return Status::InvalidArgument("a selective sync needs the keys of at least one record");
  }
  for (const auto& [e, ids] : Keys()) {
    if (std::find(all.begin(), all.end(), e) == all.end()) {
      return Status::InvalidArgument(
          fmt::format("--keys: '{}' is not an entity of pipeline '{}' ({})", e, pipeline_->name,
                      fmt::join(all, ", ")));
    }
  }
  for (const std::string& e : all) {
    bool asked = req_.entities.empty() ||
                 std::find(req_.entities.begin(), req_.entities.end(), e) != req_.entities.end();
    if (req_.mode == SyncMode::kKeys) asked = req_.keys.count(e) > 0;
    if (asked) order_.push_back(e);
  }
  const ConnectionConfig* sc = config_.FindConnection(pipeline_->source);
  const ConnectionConfig* tc = config_.FindConnection(pipeline_->target);
  TETHER_RETURN_IF_ERROR(OpenSides());
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
  if (!req_.plans_only() && !target_->capabilities().writable) {
    return Status::PermissionDenied(
        fmt::format("connection '{}' is open read-only ({}), so it cannot be the target of a sync",
                    tc->name, RedactUrl(tc->url)));
  }
  state_ = std::make_unique<StateStore>(target_.get());
  if (lock) TETHER_RETURN_IF_ERROR(AcquireLock());

  if (req_.create_tables && !req_.plans_only()) {
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
  if (req_.mode != SyncMode::kCompare) {
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
  ctx_.compare = req_.mode == SyncMode::kCompare;
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

Result<Connector*> Runner::ReadAheadSource() {
  if (!source_->capabilities().read_ahead) return nullptr;
  if (!ahead_) {
    const ConnectionConfig* sc = config_.FindConnection(pipeline_->source);
    TETHER_ASSIGN_OR_RETURN(ahead_, req_.env.open_connector(sc->name, sc->url));
  }
  return ahead_.get();
}

Status Runner::OpenSides() {
  const ConnectionConfig* sc = config_.FindConnection(pipeline_->source);
  const ConnectionConfig* tc = config_.FindConnection(pipeline_->target);
  TETHER_ASSIGN_OR_RETURN(source_, req_.env.open_connector(sc->name, sc->url));
  TETHER_ASSIGN_OR_RETURN(target_, req_.env.open_connector(tc->name, tc->url));
  return Status::OK();
}

Status Runner::Reconnect() {
  // The old sessions go first: the lock, and whatever the server still holds of them.
  if (locked_) (void)target_->ReleaseLock(LockName());
  locked_ = false;
  ahead_.reset();
  state_.reset();
  source_.reset();
  target_.reset();
  ctx_.source = ctx_.target = nullptr;
  ctx_.state = nullptr;
  TETHER_RETURN_IF_ERROR(OpenSides());
  state_ = std::make_unique<StateStore>(target_.get());
  ctx_.source = source_.get();
  ctx_.target = target_.get();
  ctx_.state = state_.get();
  return AcquireLock(/*lost_session=*/true);
}

Status Runner::RunWithRetries() {
  Status st = RunEntities(false, obs_);
  std::chrono::milliseconds delay = req_.retry_delay;
  while (!st.ok() && st.IsRetryable() && retries_ < req_.retries &&
         !(req_.cancel && req_.cancel->load())) {
    ++retries_;
    if (obs_) {
      obs_->OnNotice(fmt::format(
          "{}; retry {} of {} in {} ms: connecting again, then going on from the last checkpoint",
          st.ToString(), retries_, req_.retries, delay.count()));
    }
    if (!req_.env.clock->SleepFor(delay, req_.cancel)) {
      return Status::Cancelled("stopped on request");
    }
    delay *= 2;
    st = Reconnect();
    if (st.ok()) st = RunEntities(false, obs_, /*again=*/true);
  }
  return st;
}

Status Runner::AcquireLock(bool lost_session) {
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
    const HolderState holder = now < grace ? LockHolderState(lost_session) : HolderState::kAlive;
    if (holder == HolderState::kThisRun) {
      // This run's own lost session, which its server drops as soon as it notices the
      // connection closed: milliseconds of the server's time, which a test's RunClock cannot
      // shorten, so this wait is on the real clock.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (now >= deadline && holder != HolderState::kGone) {
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
    (void)req_.env.clock->SleepFor(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::clamp<Clock::duration>(std::max(deadline, grace) - Clock::now(),
                                    Clock::duration::zero(), std::chrono::milliseconds(200))));
  }
}

Runner::HolderState Runner::LockHolderState(bool lost_session) {
  Result<std::vector<RunInfo>> runs = state_->ListRuns(pipeline_->name, 50);
  if (!runs.ok()) return HolderState::kAlive;
  for (const RunInfo& r : *runs) {  // newest first
    if (r.status != "running") continue;
    if (!run_.run_id.empty() && r.run_id == run_.run_id) return HolderState::kThisRun;
    if (r.host != HostName() || r.pid <= 0) return HolderState::kAlive;  // elsewhere: not known
    return kill(static_cast<pid_t>(r.pid), 0) != 0 && errno == ESRCH ? HolderState::kGone
                                                                     : HolderState::kAlive;
  }
  // No row says who holds it: a run writes its row only after its pre-flight, so the holder may
  // well be alive, unless this run has just lost a session that held it.
  return lost_session ? HolderState::kThisRun : HolderState::kAlive;
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
  // Connecting again failed (Reconnect): there is no session to write in; the next run marks
  // the row interrupted.
  if (!state_) return Status::OK();
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
    // A lost connection does not come back by trying it again: with SyncRequest::retries the
    // run opens new ones (RunWithRetries).
    if (st.code() == StatusCode::kConnection && req_.retries > 0) return st;
    if (real) real->OnNotice(fmt::format("{}: {} — retrying", what, st.ToString()));
    (void)req_.env.clock->SleepFor(std::chrono::milliseconds(100 << (2 * attempt)));
  }
}

Status Runner::RunEntities(bool dry_run, SyncObserver* obs, bool again) {
  ctx_.dry_run = dry_run;
  ctx_.observer = obs;
  watcher_ = obs;
  // What earlier attempts committed stays counted (what they rolled back was taken out again).
  if (!again) ctx_.counts.clear();
  if (!again) completed_.clear();
  ctx_.pulled.clear();
  ctx_.rejected.clear();
  ctx_.paired.clear();  // a pre-flight plan's pairings are not links of the real run
  ctx_.planned.clear();
  ctx_.planned_match.clear();
  ctx_.passes_ahead.clear();
  ctx_.violation = Status::OK();
  switch (req_.mode) {
    case SyncMode::kChanges:
      return RunChanges(dry_run);
    case SyncMode::kKeys:
      return RunKeys(dry_run);
    case SyncMode::kFull:
    case SyncMode::kCompare:
      return RunFull(dry_run);
  }
  return Status::Internal("no such sync mode");
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
  if (retries_ > 0) {
    // How many retries the run used: in its options, beside how many it was allowed.
    nlohmann::json opts = nlohmann::json::parse(run_.options, nullptr, false);
    if (!opts.is_discarded()) {
      opts["retried"] = retries_;
      run_.options = opts.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  if (run_.dry_run) return Status::OK();
  return RecordRun();
}

Result<SyncReport> Runner::Run() {
  // The lock comes before anything is written or planned: the pre-flight of an error policy must
  // see what the run then writes over.
  TETHER_RETURN_IF_ERROR(Prepare(/*lock=*/!req_.plans_only()));
  run_.run_id = NewId('r');
  run_.pipeline = pipeline_->name;
  run_.dry_run = req_.plans_only();
  run_.started_at = UtcNow();
  run_.pid = getpid();
  run_.host = HostName();
  nlohmann::json opts = {{"entities", order_}, {"where", req_.where}, {"dry_run", run_.dry_run}};
  opts["mode"] = SyncModeName(req_.mode);
  if (req_.mode == SyncMode::kKeys) {
    nlohmann::json keys = nlohmann::json::object();
    for (const auto& [entity, ids] : req_.keys) keys[entity] = ids.size();
    opts["keys"] = keys;
  }
  if (req_.from_date) opts["from_date"] = *req_.from_date;
  if (req_.to_date) opts["to_date"] = *req_.to_date;
  if (req_.restart) opts["restart"] = true;
  if (!req_.checksums) opts["checksums"] = false;
  if (req_.retries > 0 && !run_.dry_run) opts["retries"] = req_.retries;
  // --where may hold any bytes: JSON text cannot, so those are replaced.
  run_.options = opts.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  ctx_.run_id = run_.run_id;

  if (run_.dry_run) {
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
    Status st = RunWithRetries();
    Status fin = FinishRun(st);
    TETHER_RETURN_IF_ERROR(st);
    TETHER_RETURN_IF_ERROR(fin);
  }
  if (run_.dry_run) (void)FinishRun(Status::OK());
  SyncReport report;
  report.run = run_;
  report.resumed = resumed_;
  report.retries = retries_;
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

}  // namespace sync_internal

std::string_view SyncModeName(SyncMode mode) {
  switch (mode) {
    case SyncMode::kFull:
      return "full";
    case SyncMode::kChanges:
      return "changes";
    case SyncMode::kKeys:
      return "keys";
    case SyncMode::kCompare:
      return "compare";
  }
  return "?";
}

Result<SyncReport> RunSync(const Config& config, const SyncRequest& request,
                           SyncObserver* observer) {
  sync_internal::Runner runner(config, request, observer);
  return runner.Run();
}

Status CheckPipelines(const Config& config, const std::vector<std::string>& pipelines,
                      SyncObserver* observer, const RunEnv& env) {
  std::vector<std::string> names = pipelines;
  if (names.empty()) {
    for (const PipelineConfig& p : config.pipelines) names.push_back(p.name);
  }
  // Every problem, not the first: each connection, then each pipeline whose connections answer.
  std::vector<Status> problems;
  std::set<std::string> unreachable;
  for (const ConnectionConfig& c : config.connections) {
    Result<std::unique_ptr<Connector>> conn = env.open_connector(c.name, c.url);
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
    req.env = env;
    sync_internal::Runner runner(config, req, nullptr);
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
