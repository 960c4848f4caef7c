#include "cli/track_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <memory>

#include "cli/cli.h"
#include "cli/output.h"
#include "state/state_store.h"
#include "track/change_log.h"
#include "track/prune.h"

namespace tether::cli {
namespace {

// The pipeline's source, opened, and the entities asked for (default: all of the pipeline's).
struct TrackTarget {
  Config config;
  const PipelineConfig* pipeline = nullptr;
  std::unique_ptr<Connector> source;
  std::vector<std::string> entities;
  bool named = false;  // the entities were named with --entity
};

Result<TrackTarget> Open(const Globals& g, const TrackFlags& f) {
  TrackTarget t;
  TETHER_ASSIGN_OR_RETURN(t.config, Load(g));
  TETHER_ASSIGN_OR_RETURN(std::string name, PickPipeline(t.config, f.pipeline));
  t.pipeline = t.config.FindPipeline(name);
  if (!t.pipeline) {
    return Status::InvalidArgument(fmt::format("{}: no pipeline '{}'", t.config.path, name));
  }
  for (const std::string& e : f.entities) {
    if (std::find(t.pipeline->entities.begin(), t.pipeline->entities.end(), e) ==
        t.pipeline->entities.end()) {
      return Status::InvalidArgument(fmt::format("--entity {}: not an entity of pipeline '{}' ({})",
                                                 e, name, fmt::join(t.pipeline->entities, ", ")));
    }
  }
  t.entities = f.entities.empty() ? t.pipeline->entities : f.entities;
  t.named = !f.entities.empty();
  const ConnectionConfig* sc = t.config.FindConnection(t.pipeline->source);
  TETHER_ASSIGN_OR_RETURN(t.source, OpenConnector(sc->name, sc->url));
  return t;
}

Status Install(const TrackTarget& t) {
  std::vector<TrackedTable> tables;
  for (const std::string& name : t.entities) {
    const EntityConfig* e = t.config.FindEntity(name);
    tables.push_back({e->name, e->source_table, e->key});
  }
  ChangeLog log(t.source.get());
  TETHER_RETURN_IF_ERROR(log.Install(tables));
  for (const TrackedTable& table : tables) {
    std::printf("tracking %s (table %s, key %s) on connection %s\n", table.entity.c_str(),
                table.table.c_str(), fmt::format("{}", fmt::join(table.key_columns, ", ")).c_str(),
                t.source->connection_name().c_str());
  }
  return Status::OK();
}

Status Describe(const TrackTarget& t) {
  ChangeLog log(t.source.get());
  TETHER_ASSIGN_OR_RETURN(auto tracked, log.Describe());
  if (tracked.empty()) {
    std::printf("no change tracking on connection %s (`tether track install` adds it)\n",
                t.source->connection_name().c_str());
    return Status::OK();
  }
  std::vector<std::vector<std::string>> rows;
  for (const TrackStatus& s : tracked) {
    rows.push_back({s.entity, s.table, fmt::format("{}", fmt::join(s.key_columns, ", ")),
                    Thousands(s.pending),
                    s.first_seq ? fmt::format("{}-{}", *s.first_seq, *s.last_seq) : "-",
                    s.oldest.empty() ? "-" : s.oldest, s.installed_at});
  }
  std::printf(
      "%s",
      FormatTable({"entity", "table", "key", "changes", "seq", "oldest change", "installed"}, rows)
          .c_str());
  return Status::OK();
}

Status Uninstall(const TrackTarget& t, bool all) {
  ChangeLog log(t.source.get());
  std::vector<std::string> entities = t.entities;
  if (!t.named) {
    // The pipeline's entities that are tracked; naming one that is not is an error.
    TETHER_ASSIGN_OR_RETURN(auto tracked, log.Describe());
    entities.clear();
    for (const TrackStatus& s : tracked) {
      if (std::find(t.entities.begin(), t.entities.end(), s.entity) != t.entities.end()) {
        entities.push_back(s.entity);
      }
    }
    if (entities.empty() && !all) {
      std::printf("nothing of pipeline %s is tracked on connection %s\n", t.pipeline->name.c_str(),
                  t.source->connection_name().c_str());
      return Status::OK();
    }
  }
  TETHER_RETURN_IF_ERROR(log.Uninstall(all ? std::vector<std::string>{} : entities));
  std::printf("change tracking removed from %s on connection %s\n",
              all ? "every tracked table" : fmt::format("{}", fmt::join(entities, ", ")).c_str(),
              t.source->connection_name().c_str());
  return Status::OK();
}

Status Prune(const TrackTarget& t) {
  TETHER_ASSIGN_OR_RETURN(PruneOutcome out,
                          PruneConsumed(t.config, t.pipeline->source, t.source.get()));
  PrintPrune(out, t.source->connection_name());
  return Status::OK();
}

int Report(const Status& st) {
  if (st.ok()) return kExitOk;
  Error(st);
  return ExitCodeFor(st);
}

}  // namespace

void PrintPrune(const PruneOutcome& out, const std::string& connection) {
  if (out.waiting) std::printf("%s\n", out.waiting->c_str());
  if (!out.upto) {
    std::printf("kept every change on connection %s\n", connection.c_str());
    return;
  }
  std::printf("pruned %lld changes up to seq %lld on connection %s\n",
              static_cast<long long>(out.pruned), static_cast<long long>(*out.upto),
              connection.c_str());
}

int TrackCommand(const Globals& g, const TrackFlags& f, TrackAction action) {
  Result<TrackTarget> t = Open(g, f);
  if (!t.ok()) return Report(t.status());
  switch (action) {
    case TrackAction::kInstall:
      return Report(Install(*t));
    case TrackAction::kStatus:
      return Report(Describe(*t));
    case TrackAction::kUninstall:
      return Report(Uninstall(*t, f.all));
    case TrackAction::kPrune:
      return Report(Prune(*t));
  }
  return kExitInternal;
}

}  // namespace tether::cli
