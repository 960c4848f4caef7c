// The configuration model: what tether.yaml says, after parsing, interpolation and validation.
// Built once by LoadConfig and then read-only; safe to share between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/connector.h"
#include "core/normalize.h"
#include "core/status.h"
#include "core/value.h"

namespace tether {

// Where something was written, for error messages: "tether.yaml:12:5".
struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string ToString() const;
};

struct ConnectionConfig {
  std::string name;
  std::string url;  // interpolated; sqlite paths made absolute against the config's folder
  SourceLocation location;
};

enum class KeyMode { kIdentity, kMapped };
enum class DeletePolicy { kIgnore, kPropagate, kSoft };
enum class OnDuplicate { kMerge, kSkip, kUpdate, kError };
enum class OnInvalid { kSkip, kError };
enum class OnConflict { kSourceWins, kTargetWins, kNewestWins, kManual };

struct ColumnsConfig {
  std::vector<std::string> include;  // empty: every source column
  std::vector<std::string> exclude;
  std::map<std::string, std::string> rename;  // source name -> target name
  std::map<std::string, Value> defaults;      // target column -> value when NULL/absent
  std::map<std::string, std::vector<std::pair<Value, Value>>> values;  // source col -> from/to
};

// Rules from `validate:`; every field optional.
struct ValidationRule {
  bool required = false;            // not NULL and not empty text
  std::optional<std::string> type;  // integer | number | text | boolean | date | datetime | email
  std::optional<int64_t> min_length;
  std::optional<int64_t> max_length;
  std::optional<std::string> pattern;  // RE2 syntax, whole-value match
  std::optional<double> min;
  std::optional<double> max;
  SourceLocation location;
};

struct FilterConfig {
  std::vector<Condition> where;            // from "column op value" strings
  std::optional<std::string> date_column;  // used by --from-date / --to-date
};

struct EntityConfig {
  std::string name;
  std::string source_table;
  std::string target_table;
  std::vector<std::string> key;  // source key columns (also the target's, after rename)
  KeyMode keys = KeyMode::kMapped;
  std::vector<std::string> match;              // source column names
  std::vector<Normalization> match_normalize;  // one per match column: how it compares
  std::vector<std::pair<std::string, std::string>> references;  // column -> entity, file order
  std::optional<std::string> cursor;  // source column for cursor-mode incremental sync
  int64_t cursor_lag_ms = 10000;      // rows this much older than the newest are re-read
  ColumnsConfig columns;
  FilterConfig filter;
  DeletePolicy delete_policy = DeletePolicy::kIgnore;
  std::optional<std::string> soft_delete_column;   // with delete: soft
  std::map<std::string, ValidationRule> validate;  // source column -> rule
  SourceLocation location;
  // Where each table and column name of the entity was written, by the key naming it and the
  // name: {"match", "sku"}, {"references", "category_id"}, {"columns.rename", "title"}, ...;
  // tables as {"source_table", ""} and {"target_table", ""}. For messages that point at the
  // entry at fault.
  std::map<std::pair<std::string, std::string>, SourceLocation> name_locations;

  // The entity a column refers to, or nullptr.
  const std::string* ReferenceOf(const std::string& column) const;
  // Where `name` was written under `key`, or the entity's own location when that is unknown.
  const SourceLocation& LocationOf(const std::string& key, const std::string& name = "") const;
};

struct PipelineConfig {
  std::string name;
  std::string source;  // connection names
  std::string target;
  std::vector<std::string> entities;  // as written; use EntityOrder() for the run order
  OnDuplicate on_duplicate = OnDuplicate::kMerge;
  OnInvalid on_invalid = OnInvalid::kSkip;
  OnConflict on_conflict = OnConflict::kSourceWins;
  size_t batch_size = 1000;
  int concurrency = 1;
  std::optional<std::string> schedule;  // ParseSchedule's normalized text ("every 5m", "@daily")
  std::optional<std::string> state;     // state store URL; default: inside the target
  SourceLocation location;
};

// `server:` — how `tether serve` listens and runs jobs. Every field holds its default until the
// file sets it; `from_file` says which ones the file set, so that an explicit command-line flag
// wins over the file and the file wins over a flag's default.
struct ServerConfig {
  std::string listen = "127.0.0.1:8080";       // host:port ("[::1]:8080"); port 0 = any free port
  std::optional<std::string> token;            // API bearer token, interpolated; never empty
  int max_concurrency = 5;                     // jobs running at once, 1..64
  int retry_attempts = 3;                      // retries after a failed first attempt, 0..20
  int64_t retry_delay_ms = 30'000;             // before the first retry; doubles for each next one
  int64_t job_timeout_ms = 3'600'000;          // 0 = no timeout
  int64_t cleanup_age_ms = 30LL * 86'400'000;  // finished runs older than this are deleted
  int64_t max_body = 1'048'576;                // request body limit, bytes
  int max_connections = 1024;                  // HTTP connections open at once
  int max_connections_per_client = 128;        // of them from one client address
  int64_t header_timeout_ms = 10'000;          // a request's head arrives within this, or 408
  // Where API connections keep their SQLite files, absolute (written relative to the file's
  // folder); nullopt: `tether-data` in that folder (or the working directory), beside the
  // default state store.
  std::optional<std::string> data_dir;

  struct FromFile {
    bool listen = false;
    bool token = false;
    bool max_concurrency = false;
    bool retry_attempts = false;
    bool retry_delay = false;
    bool job_timeout = false;
    bool cleanup_age = false;
    bool max_body = false;
    bool max_connections = false;
    bool max_connections_per_client = false;
    bool header_timeout = false;
    bool data_dir = false;
  };
  FromFile from_file;
  SourceLocation location;  // of the `server:` key (file "" when the file has none)
};

struct Config {
  std::string path;                           // the file it came from
  std::string base_dir;                       // its folder; relative paths resolve against it
  std::vector<ConnectionConfig> connections;  // file order
  std::vector<EntityConfig> entities;
  std::vector<PipelineConfig> pipelines;
  ServerConfig server;

  const ConnectionConfig* FindConnection(const std::string& name) const;
  const EntityConfig* FindEntity(const std::string& name) const;
  const PipelineConfig* FindPipeline(const std::string& name) const;
};

// How ${VAR} is resolved; returns nullopt when VAR is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

struct LoadOptions {
  // Default: the process environment, then a `.env` file beside the config file.
  std::optional<EnvLookup> env;
};

// Reads, interpolates and validates a configuration file. Every error is a kConfig Status whose
// message starts with "file:line:column: " and names the key at fault.
Result<Config> LoadConfig(const std::string& path, const LoadOptions& options = {});
// Same, from text (file_name is used in messages and base_dir is its folder).
Result<Config> ParseConfig(const std::string& text, const std::string& file_name,
                           const EnvLookup& env);

// Run order of a pipeline's entities: parents before children from `references`;
// self-references allowed, other cycles are a kConfig error naming the cycle.
Result<std::vector<std::string>> EntityOrder(const Config& config, const PipelineConfig& pipeline);

// Parses "column op value" (ops: = != <> < <= > >= like, "is null", "is not null");
// the value is taken as a number when it reads as one, else as text (quotes optional).
Result<Condition> ParseCondition(const std::string& text);

}  // namespace tether
