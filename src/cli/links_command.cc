#include "cli/links_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "cli/cli.h"
#include "cli/output.h"
#include "state/state_store.h"

namespace tether::cli {

int LinksCommand(const Globals& g, const std::string& asked, const std::string& entity,
                 const std::string& source_id, const std::string& target_id, bool failed,
                 const std::string& format) {
  int code = kExitOk;
  std::optional<StateAccess> access = OpenState(g, asked, &code);
  if (!access) return code;
  const std::string* pipeline = &access->pipeline;
  if (!access->config.FindEntity(entity)) {
    Error(Status::InvalidArgument(
        fmt::format("--entity {}: no such entity in {}", entity, access->config.path)));
    return kExitUsage;
  }
  StateStore state(access->target.get());
  std::vector<Link> links;
  if (failed) {
    auto r = state.ListLinks(*pipeline, entity, std::nullopt, 0, std::string("failed"));
    if (!r.ok()) {
      Error(r.status());
      return ExitCodeFor(r.status());
    }
    links = std::move(*r);
  } else if (!source_id.empty()) {
    auto r = state.FindLinksBySource(*pipeline, entity, {source_id});
    if (!r.ok()) {
      Error(r.status());
      return ExitCodeFor(r.status());
    }
    for (auto& [id, l] : *r) links.push_back(l);
  } else {
    auto r = state.FindLinksByTarget(*pipeline, entity, {target_id});
    if (!r.ok()) {
      Error(r.status());
      return ExitCodeFor(r.status());
    }
    links = std::move(*r);
  }
  if (format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const Link& l : links) {
      arr.push_back({{"pipeline", *pipeline},
                     {"entity", entity},
                     {"source_id", l.source_id},
                     {"target_id", l.target_id ? nlohmann::json(*l.target_id) : nullptr},
                     {"hash", l.hash},
                     {"synced_at", l.synced_at},
                     {"status", l.status},
                     {"attempts", l.attempts},
                     {"last_error", l.last_error},
                     {"metadata", nlohmann::json::parse(l.metadata, nullptr, false)}});
    }
    std::printf("%s\n", JsonText(arr, 2).c_str());
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const Link& l : links) {
      rows.push_back({l.source_id, l.target_id.value_or("-"), l.status, l.synced_at,
                      std::to_string(l.attempts), l.last_error});
    }
    std::printf(
        "%s", FormatTable(
                  {"source_id", "target_id", "status", "synced_at", "attempts", "last_error"}, rows)
                  .c_str());
  }
  if (links.empty()) {
    if (format != "json") std::fprintf(stderr, "tether: no link found\n");
    return failed ? kExitOk : kExitNotFound;
  }
  return kExitOk;
}

}  // namespace tether::cli
