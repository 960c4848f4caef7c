#include "cli/schema_command.h"

#include <fmt/format.h>

#include <cstdio>

#include "cli/cli.h"
#include "connectors/connector.h"
#include "engine/target_tables.h"

namespace tether::cli {

int SchemaCommand(const Globals& g, const std::string& asked,
                  const std::vector<std::string>& entities, bool apply) {
  Config config;
  std::string pipeline;
  if (int code = LoadPipeline(g, asked, &config, &pipeline); code != kExitOk) return code;
  const PipelineConfig* p = config.FindPipeline(pipeline);
  if (!p) {
    Error(Status::InvalidArgument(fmt::format("{}: no pipeline '{}'", config.path, pipeline)));
    return kExitUsage;
  }
  const ConnectionConfig* sc = config.FindConnection(p->source);
  const ConnectionConfig* tc = config.FindConnection(p->target);
  auto source = OpenConnector(sc->name, sc->url);
  auto target = source.ok() ? OpenConnector(tc->name, tc->url) : source.status();
  if (!target.ok()) {
    Error(target.status());
    return ExitCodeFor(target.status());
  }
  auto missing = FindMissingTables(config, *p, entities, **source, **target);
  auto lacking = missing.ok() ? FindMissingColumns(config, *p, entities, **source, **target)
                              : missing.status();
  if (!lacking.ok()) {
    Error(lacking.status());
    return ExitCodeFor(lacking.status());
  }
  if (missing->empty() && lacking->empty()) {
    std::fprintf(stderr,
                 "tether: every target table of pipeline '%s' exists on connection '%s', with "
                 "every column\n",
                 p->name.c_str(), tc->name.c_str());
    return kExitOk;
  }
  const std::string engine((*target)->engine());
  for (const MissingTable& t : *missing) {
    std::printf("-- entity %s: table %s on connection %s (%s)\n", t.entity.c_str(),
                t.table.name.c_str(), t.connection.c_str(), engine.c_str());
    for (const std::string& statement : t.ddl) std::printf("%s;\n", statement.c_str());
    if (apply) {
      Status st = (*target)->EnsureTable(t.table);
      if (!st.ok()) {
        Error(st);
        return ExitCodeFor(st);
      }
      std::printf("-- created\n");
    }
    std::printf("\n");
  }
  size_t columns = 0;
  for (const MissingColumns& m : *lacking) {
    columns += m.columns.size();
    std::printf("-- entity %s: table %s on connection %s (%s) lacks %zu column(s)\n",
                m.entity.c_str(), m.table.c_str(), m.connection.c_str(), engine.c_str(),
                m.columns.size());
    for (const std::string& statement : m.ddl) std::printf("%s;\n", statement.c_str());
    if (apply) {
      Status st = AddMissingColumns(**target, m);
      if (!st.ok()) {
        Error(st);
        return ExitCodeFor(st);
      }
      std::printf("-- added\n");
    }
    std::printf("\n");
  }
  if (!apply) {
    std::fprintf(stderr,
                 "tether: %zu table(s) missing, %zu column(s) missing from existing tables; "
                 "`tether schema --apply` or `tether sync --create-tables` adds them\n",
                 missing->size(), columns);
  }
  return kExitOk;
}

}  // namespace tether::cli
