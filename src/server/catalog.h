// Catalog: the connections and pipelines `tether serve` knows — those of tether.yaml (read-only
// through the API: edit the file) and those defined through the API (kept in the ServerStore) —
// and the Config each pipeline runs with. API pipelines go through tether.yaml's own loader, so
// they get the same validation and messages. Thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "engine/sync.h"
#include "server/server_store.h"

namespace tether {

struct ConnectionView {
  std::string name;
  std::string url;     // interpolated, password included: never returned as is
  std::string origin;  // api | file
  std::string created_at;
  std::string updated_at;
  // Why an API connection cannot be used now (its ${VAR} is unset, its SQLite file is not in
  // the data folder, ...): `url` is then the stored text, to show redacted and never to open.
  Status problem;
};

// Where connections made through the API may keep SQLite files: only inside `data_dir` (after
// symbolic links and ".." are resolved), and never the state store's own file.
struct CatalogFiles {
  std::string data_dir;
  std::string state_file;  // the SQLite state store's file, "" when it is not SQLite
};

struct PipelineView {
  std::string name;
  nlohmann::json body;  // the definition (an API pipeline's as given; a file one's summary)
  std::string origin;
  std::string created_at;
  std::string updated_at;
  std::shared_ptr<const Config> config;  // null when it no longer loads (message in `error`)
  std::string error;
};

class Catalog {
 public:
  // `file` is tether.yaml's content, if the server was given one; API connections and pipelines
  // read `.env` from `base_dir`, and resolve relative SQLite paths against `files.data_dir`.
  Catalog(ServerStore* store, std::optional<Config> file, std::string base_dir, CatalogFiles files);

  Result<std::vector<ConnectionView>> Connections();
  Result<std::optional<ConnectionView>> GetConnection(const std::string& name);
  // `url` may hold ${VAR}; `password`, when given, goes into the URL's user info.
  Result<ConnectionView> CreateConnection(const std::string& name, const std::string& url,
                                          const std::optional<std::string>& password);
  Result<ConnectionView> UpdateConnection(const std::string& name, const std::string& url,
                                          const std::optional<std::string>& password);
  Status DeleteConnection(const std::string& name);

  Result<std::vector<PipelineView>> Pipelines();
  Result<std::optional<PipelineView>> GetPipeline(const std::string& name);
  // Loads `body` (a pipeline object, entities inline) as tether.yaml would: kConfig naming the key.
  Result<std::shared_ptr<const Config>> Validate(const std::string& name,
                                                 const nlohmann::json& body);
  // CheckPipelines for a pipeline loaded by Validate: connections reached, tables and columns
  // found. A missing table or column is a kConfig error, like any other problem of the pipeline.
  // Connections are opened through `env` (the runs' RunnerOptions::env).
  Status Check(const std::string& name, const Config& config, SyncObserver* observer,
               const RunEnv& env);
  Result<PipelineView> CreatePipeline(const std::string& name, const nlohmann::json& body);
  Result<PipelineView> UpdatePipeline(const std::string& name, const nlohmann::json& body);
  Status DeletePipeline(const std::string& name);

  // The Config to run `pipeline` with now.
  Result<std::shared_ptr<const Config>> ConfigFor(const std::string& pipeline);
  // Pipelines that have a schedule: name -> schedule text.
  Result<std::vector<std::pair<std::string, std::string>>> Schedules();

 private:
  // The stored URL of an API connection, interpolated, checked and confined.
  Result<std::string> ResolvedUrl(const std::string& name, const std::string& raw);
  // kConfig unless an API connection's SQLite file (if it has one) is inside the data folder;
  // `url` is resolved (${VAR}s replaced), `as_written` is the text the refusal shows.
  Status Confine(const std::string& name, const std::string& url,
                 const std::string& as_written) const;
  // The file name the loader is given for an API connection or pipeline (messages drop it).
  std::string PlaceOf(const std::string& kind, const std::string& name) const;
  ConnectionView ViewOf(const StoredConnection& c);
  Result<std::shared_ptr<const Config>> LoadLocked(const std::string& name,
                                                   const nlohmann::json& body);
  Result<PipelineView> ViewOf(const StoredPipeline& p);
  PipelineView FileView(const PipelineConfig& p) const;

  std::mutex mu_;  // orders writes: a check and the change it allows happen together
  ServerStore* store_;
  std::optional<Config> file_;
  std::shared_ptr<const Config> file_config_;  // the same, to hand to runs
  std::string base_dir_;
  std::filesystem::path data_dir_;   // canonical
  std::vector<std::string> denied_;  // the state store's files, canonical
  EnvLookup env_;
};

}  // namespace tether
