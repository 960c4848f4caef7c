// LoadConfig / ParseConfig: tether.yaml -> Config. Walks the YAML tree with YamlReader, checks
// every key, type and cross-reference, and reports the first problem with its location.
// yaml-cpp exceptions stop here and become kConfig statuses.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "config/config.h"
#include "config/env.h"
#include "config/schedule.h"
#include "config/text.h"
#include "config/yaml_reader.h"
#include "connectors/connector.h"
#include "core/ascii.h"
#include "core/regex.h"
#include "core/temporal.h"

namespace tether {

namespace {

namespace fs = std::filesystem;
using config_internal::ClosestMatch;
using config_internal::JoinNames;
using config_internal::ParseDurationWithDaysMs;
using config_internal::Trim;
using config_internal::YamlEntry;
using config_internal::YamlReader;
using config_internal::YamlText;
using config_internal::YamlValue;

const std::vector<std::string_view> kTopKeys = {"version", "connections", "entities", "pipelines",
                                                "server"};
const std::vector<std::string_view> kConnectionKeys = {"url"};
const std::vector<std::string_view> kEntityKeys = {
    "table",      "source_table", "target_table", "key",    "keys",   "match",
    "references", "cursor",       "columns",      "filter", "delete", "validate"};
const std::vector<std::string_view> kColumnsKeys = {"include", "exclude", "rename", "default",
                                                    "values"};
const std::vector<std::string_view> kFilterKeys = {"where", "date_column"};
const std::vector<std::string_view> kDeleteKeys = {"soft"};
const std::vector<std::string_view> kCursorKeys = {"column", "lag"};
const std::vector<std::string_view> kMatchKeys = {"column", "normalize"};
const std::vector<std::string_view> kNormalizations = {"lower", "trim"};
const std::vector<std::string_view> kRuleKeys = {"required", "type", "min_length", "max_length",
                                                 "pattern",  "min",  "max"};
const std::vector<std::string_view> kRuleTypes = {"integer", "number",   "text", "boolean",
                                                  "date",    "datetime", "email"};
const std::vector<std::string_view> kPipelineKeys = {
    "source",      "target",     "entities",    "on_duplicate", "on_invalid",
    "on_conflict", "batch_size", "concurrency", "schedule",     "state"};

const std::vector<std::string_view> kScheduleKeys = {"every", "cron"};
const std::vector<std::string_view> kServerKeys = {"listen",          "token",
                                                   "max_concurrency", "retry_attempts",
                                                   "retry_delay",     "job_timeout",
                                                   "cleanup_age",     "max_body",
                                                   "max_connections", "max_connections_per_client",
                                                   "header_timeout",  "data_dir"};

constexpr int64_t kMaxBatchSize = 1'000'000;
constexpr int64_t kMaxConcurrency = 64;
constexpr int64_t kMaxRetryAttempts = 20;
constexpr int64_t kMaxBody = int64_t{1} << 30;
constexpr int64_t kMaxConnections = 100'000;

// Entries of one map by key, for "is this key present" questions.
class Keys {
 public:
  explicit Keys(const std::vector<YamlEntry>& entries) {
    for (const YamlEntry& e : entries) by_key_.emplace(e.key, &e);
  }
  const YamlEntry* Find(std::string_view key) const {
    auto it = by_key_.find(std::string(key));
    return it == by_key_.end() ? nullptr : it->second;
  }

 private:
  std::map<std::string, const YamlEntry*> by_key_;
};

bool IsTetherTable(std::string_view table) {
  constexpr std::string_view kPrefix = "tether_";
  return table.size() >= kPrefix.size() &&
         EqualsIgnoreCase(table.substr(0, kPrefix.size()), kPrefix);
}

// scheme ":" — the form every connection URL tether understands starts with.
bool HasScheme(std::string_view url) {
  size_t i = 0;
  if (url.empty() || !std::isalpha(static_cast<unsigned char>(url[0]))) return false;
  while (i < url.size() && (std::isalnum(static_cast<unsigned char>(url[i])) || url[i] == '+' ||
                            url[i] == '.' || url[i] == '-')) {
    ++i;
  }
  return i < url.size() && url[i] == ':';
}

// "host:port" with a port from 0 to 65535; an IPv6 host goes in brackets ("[::1]:8080").
bool IsListenAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5) return false;
  int n = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n > 65535) return false;
  if (host.front() == '[') return host.size() > 2 && host.back() == ']';
  return host.find_first_of(":[] \t") == std::string_view::npos;
}

std::string DidYouMean(std::string_view name, const std::vector<std::string_view>& known) {
  if (auto close = ClosestMatch(name, known)) return fmt::format(" (did you mean '{}'?)", *close);
  if (known.empty()) return " (none is defined)";
  return fmt::format(" (defined: {})", JoinNames(known));
}

class Loader {
 public:
  Loader(const YamlReader& reader, Config* config) : r_(reader), config_(config) {}

  Status Load(const YAML::Node& root_node) {
    YamlValue root{root_node, "", root_node.Mark()};
    if (root.IsNull()) return Status::OK();
    if (!root.node.IsMap()) {
      return r_.Error(root, fmt::format("a configuration is a map with connections, entities and "
                                        "pipelines; got {}",
                                        YamlReader::Describe(root)));
    }
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> top, r_.Map(root, kTopKeys));
    Keys keys(top);
    // Each section, and each connection, entity and pipeline in it, is read on its own, so that
    // one load reports every problem; a problem of one entry is not reported again by the
    // entries that name it.
    if (const YamlEntry* e = keys.Find("version")) Note(LoadVersion(e->value));
    if (const YamlEntry* e = keys.Find("connections")) Note(LoadConnections(e->value));
    if (const YamlEntry* e = keys.Find("entities")) Note(LoadEntities(e->value));
    if (const YamlEntry* e = keys.Find("pipelines")) Note(LoadPipelines(e->value));
    if (const YamlEntry* e = keys.Find("server")) Note(LoadServer(*e, &config_->server));
    for (const PipelineConfig& p : config_->pipelines) Note(EntityOrder(*config_, p).status());
    return Problems(problems_);
  }

 private:
  void Note(const Status& s) {
    if (!s.ok()) problems_.push_back(s);
  }

  Status LoadVersion(const YamlValue& v) const {
    TETHER_ASSIGN_OR_RETURN(int64_t version, r_.Integer(v, 0, 1'000'000));
    if (version != 1) {
      return r_.Error(v,
                      fmt::format("unsupported version {}; this tether reads version 1", version));
    }
    return Status::OK();
  }

  Status CheckName(const YamlEntry& e, const std::string& section) const {
    if (e.key.empty()) return r_.Error(e.key_mark, section, "a name must not be empty");
    return Status::OK();
  }

  // --- connections ---

  Status LoadConnections(const YamlValue& v) {
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> entries, r_.Map(v));
    for (const YamlEntry& e : entries) {
      Status st = LoadConnection(v, e);
      if (!st.ok()) {
        Note(st);
        broken_connections_.insert(e.key);
      }
    }
    return Status::OK();
  }

  Status LoadConnection(const YamlValue& v, const YamlEntry& e) {
    TETHER_RETURN_IF_ERROR(CheckName(e, v.path));
    ConnectionConfig c;
    c.name = e.key;
    c.location = r_.Location(e.key_mark);
    YamlValue url_value = e.value;
    if (e.value.node.IsMap()) {
      TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> fields, r_.Map(e.value, kConnectionKeys));
      const YamlEntry* url = Keys(fields).Find("url");
      if (url == nullptr) return r_.Error(e.key_mark, e.value.path, "missing 'url'");
      url_value = url->value;
    } else if (e.value.IsNull() || !e.value.node.IsScalar()) {
      return r_.Error(e.value, fmt::format("expected a URL or {{ url: ... }}, got {}",
                                           YamlReader::Describe(e.value)));
    }
    TETHER_ASSIGN_OR_RETURN(c.url, r_.String(url_value));
    // The URL may hold a password: describe the problem without echoing it.
    if (!HasScheme(c.url)) {
      return r_.Error(url_value,
                      "expected a URL such as sqlite:path, postgres://..., mysql://... or "
                      "https://...");
    }
    // "sqlite:demo/live.db" -> "sqlite:/abs/config/dir/demo/live.db", keeping any "?query".
    c.url = ConnectorUrlRelativeTo(c.url, config_->base_dir);
    config_->connections.push_back(std::move(c));
    return Status::OK();
  }

  // --- entities ---

  Status LoadEntities(const YamlValue& v) {
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> entries, r_.Map(v));
    for (const YamlEntry& e : entries) {
      EntityConfig entity;
      Status st = CheckName(e, v.path);
      if (st.ok()) st = LoadEntity(e, &entity);
      if (!st.ok()) {
        Note(st);
        broken_entities_.insert(e.key);
        continue;
      }
      config_->entities.push_back(std::move(entity));
    }
    // References may point at entities defined further down; check them once all are known.
    std::vector<std::string_view> names;
    for (const EntityConfig& e : config_->entities) names.push_back(e.name);
    for (const ReferenceSite& site : reference_sites_) {
      if (config_->FindEntity(site.parent) == nullptr && !broken_entities_.count(site.parent)) {
        Note(r_.Error(site.value, fmt::format("entity '{}' is not defined{}", site.parent,
                                              DidYouMean(site.parent, names))));
      }
    }
    return Status::OK();
  }

  Status LoadEntity(const YamlEntry& e, EntityConfig* entity) {
    entity->name = e.key;
    entity->location = r_.Location(e.key_mark);
    if (!e.value.IsNull() && !e.value.node.IsMap()) {
      return r_.Error(e.value, fmt::format("expected a map with at least 'table', got {}",
                                           YamlReader::Describe(e.value)));
    }
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> fields, r_.Map(e.value, kEntityKeys));
    Keys keys(fields);
    const std::string& path = e.value.path;

    const YamlEntry* table = keys.Find("table");
    const YamlEntry* source_table = keys.Find("source_table");
    const YamlEntry* target_table = keys.Find("target_table");
    if (table != nullptr) {
      if (const YamlEntry* other = source_table != nullptr ? source_table : target_table) {
        return r_.Error(other->key_mark, path,
                        fmt::format("'{}' cannot be used with 'table'; write either 'table' or "
                                    "'source_table' and 'target_table'",
                                    other->key));
      }
      TETHER_ASSIGN_OR_RETURN(entity->source_table, r_.String(table->value));
      entity->target_table = entity->source_table;
      Place(entity, "source_table", "", table->value.mark);
      Place(entity, "target_table", "", table->value.mark);
    } else if (source_table != nullptr && target_table != nullptr) {
      TETHER_ASSIGN_OR_RETURN(entity->source_table, r_.String(source_table->value));
      TETHER_ASSIGN_OR_RETURN(entity->target_table, r_.String(target_table->value));
      Place(entity, "source_table", "", source_table->value.mark);
      Place(entity, "target_table", "", target_table->value.mark);
    } else if (source_table != nullptr || target_table != nullptr) {
      const YamlEntry* given = source_table != nullptr ? source_table : target_table;
      return r_.Error(
          given->key_mark, path,
          fmt::format("'{}' needs '{}' too (or write 'table' for the same name on "
                      "both sides)",
                      given->key, given == source_table ? "target_table" : "source_table"));
    } else {
      return r_.Error(e.key_mark, path, "missing 'table' (or 'source_table' and 'target_table')");
    }
    // tether's own tables — links, checkpoints, runs, the server's connections and their
    // passwords — are not data to sync: reading one would show its secrets in plans and
    // records, writing one would corrupt the state. Any letter case, as SQLite ignores it.
    for (const auto& [given, name] :
         {std::pair(table != nullptr ? table : source_table, entity->source_table),
          std::pair(table != nullptr ? table : target_table, entity->target_table)}) {
      if (IsTetherTable(name)) {
        return r_.Error(given->value,
                        fmt::format("'{}' is one of tether's own tables (names starting with "
                                    "tether_ are reserved for its state): not an entity's table",
                                    name));
      }
    }

    entity->key = {"id"};
    if (const YamlEntry* f = keys.Find("key")) {
      TETHER_ASSIGN_OR_RETURN(entity->key, Names(f->value, entity, "key"));
      if (entity->key.empty()) return r_.Error(f->value, "must name at least one column");
    }
    if (const YamlEntry* f = keys.Find("keys")) {
      TETHER_ASSIGN_OR_RETURN(entity->keys,
                              r_.Enum<KeyMode>(f->value, {{"identity", KeyMode::kIdentity},
                                                          {"mapped", KeyMode::kMapped}}));
    }
    if (const YamlEntry* f = keys.Find("match")) {
      TETHER_RETURN_IF_ERROR(LoadMatch(f->value, entity));
    }
    if (const YamlEntry* f = keys.Find("references")) {
      TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> refs, r_.Map(f->value));
      for (const YamlEntry& ref : refs) {
        if (ref.key.empty()) return r_.Error(ref.key_mark, f->value.path, "empty column name");
        TETHER_ASSIGN_OR_RETURN(std::string parent, r_.String(ref.value));
        entity->references.emplace_back(ref.key, parent);
        Place(entity, "references", ref.key, ref.key_mark);
        reference_sites_.push_back({ref.value, parent});
      }
    }
    if (const YamlEntry* f = keys.Find("cursor")) {
      TETHER_RETURN_IF_ERROR(LoadCursor(f->value, entity));
    }
    if (const YamlEntry* f = keys.Find("columns")) {
      TETHER_RETURN_IF_ERROR(LoadColumns(f->value, entity));
    }
    if (const YamlEntry* f = keys.Find("filter")) {
      TETHER_RETURN_IF_ERROR(LoadFilter(f->value, entity));
    }
    if (const YamlEntry* f = keys.Find("delete")) {
      TETHER_RETURN_IF_ERROR(LoadDelete(f->value, entity));
    }
    if (const YamlEntry* f = keys.Find("validate")) {
      TETHER_RETURN_IF_ERROR(LoadValidate(f->value, entity));
    }
    return Status::OK();
  }

  // Column names, each placed under `key` in the entity's name_locations.
  Result<std::vector<std::string>> Names(const YamlValue& v, EntityConfig* entity,
                                         const std::string& key) const {
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlText> items, r_.StringList(v));
    std::vector<std::string> names;
    for (YamlText& t : items) {
      Place(entity, key, t.text, t.mark);
      names.push_back(std::move(t.text));
    }
    return names;
  }

  // `match: [sku]`, or a column as `{ column: email, normalize: [lower, trim] }` (or one of
  // those alone): the columns in order, each with how its values are normalised.
  Status LoadMatch(const YamlValue& v, EntityConfig* entity) {
    std::vector<YamlValue> items;
    if (v.node.IsSequence()) {
      TETHER_ASSIGN_OR_RETURN(items, r_.Sequence(v));
    } else if (!v.IsNull()) {
      items.push_back(v);
    }
    for (const YamlValue& item : items) {
      std::string column;
      Normalization how;
      if (item.node.IsMap()) {
        TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> fields, r_.Map(item, kMatchKeys));
        Keys keys(fields);
        const YamlEntry* c = keys.Find("column");
        if (c == nullptr) {
          return r_.Error(item,
                          "a match column needs its name: { column: email, normalize: lower }");
        }
        TETHER_ASSIGN_OR_RETURN(column, r_.String(c->value));
        Place(entity, "match", column, c->value.mark);
        if (const YamlEntry* n = keys.Find("normalize")) {
          TETHER_ASSIGN_OR_RETURN(std::vector<YamlText> names, r_.StringList(n->value));
          for (const YamlText& name : names) {
            if (name.text == "lower") {
              how.lower = true;
            } else if (name.text == "trim") {
              how.trim = true;
            } else {
              return r_.Error(name.mark, n->value.path,
                              fmt::format("must be one of {}; got '{}'", JoinNames(kNormalizations),
                                          name.text));
            }
          }
        }
      } else {
        TETHER_ASSIGN_OR_RETURN(column, r_.String(item));
        Place(entity, "match", column, item.mark);
      }
      if (std::find(entity->match.begin(), entity->match.end(), column) != entity->match.end()) {
        return r_.Error(item, fmt::format("'{}' is listed twice", column));
      }
      entity->match.push_back(std::move(column));
      entity->match_normalize.push_back(how);
    }
    return Status::OK();
  }

  void Place(EntityConfig* entity, const std::string& key, const std::string& name,
             const YAML::Mark& mark) const {
    entity->name_locations.emplace(std::make_pair(key, name), r_.Location(mark));
  }

  Status LoadColumns(const YamlValue& v, EntityConfig* entity) {
    ColumnsConfig* columns = &entity->columns;
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> fields, r_.Map(v, kColumnsKeys));
    Keys keys(fields);
    if (const YamlEntry* f = keys.Find("include")) {
      TETHER_ASSIGN_OR_RETURN(columns->include, Names(f->value, entity, "columns.include"));
    }
    if (const YamlEntry* f = keys.Find("exclude")) {
      TETHER_ASSIGN_OR_RETURN(std::vector<YamlText> items, r_.StringList(f->value));
      for (YamlText& t : items) {
        if (std::find(columns->include.begin(), columns->include.end(), t.text) !=
            columns->include.end()) {
          return r_.Error(t.mark, f->value.path,
                          fmt::format("'{}' is both included and excluded", t.text));
        }
        Place(entity, "columns.exclude", t.text, t.mark);
        columns->exclude.push_back(std::move(t.text));
      }
    }
    if (const YamlEntry* f = keys.Find("rename")) {
      TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> renames, r_.Map(f->value));
      std::map<std::string, std::string> source_of;  // target -> source
      for (const YamlEntry& e : renames) {
        TETHER_ASSIGN_OR_RETURN(std::string target, r_.String(e.value));
        auto [it, inserted] = source_of.emplace(target, e.key);
        if (!inserted) {
          return r_.Error(e.value, fmt::format("'{}' and '{}' are both renamed to '{}'", it->second,
                                               e.key, target));
        }
        columns->rename[e.key] = target;
        Place(entity, "columns.rename", e.key, e.key_mark);
      }
    }
    if (const YamlEntry* f = keys.Find("default")) {
      TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> defaults, r_.Map(f->value));
      for (const YamlEntry& e : defaults) {
        TETHER_ASSIGN_OR_RETURN(columns->defaults[e.key], r_.TypedScalar(e.value));
        Place(entity, "columns.default", e.key, e.key_mark);
      }
    }
    if (const YamlEntry* f = keys.Find("values")) {
      TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> per_column, r_.Map(f->value));
      for (const YamlEntry& col : per_column) {
        if (!col.value.IsNull() && !col.value.node.IsMap()) {
          return r_.Error(col.value, fmt::format("expected a map of from: to values, got {}",
                                                 YamlReader::Describe(col.value)));
        }
        TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> pairs, r_.Map(col.value));
        auto& out = columns->values[col.key];
        Place(entity, "columns.values", col.key, col.key_mark);
        for (const YamlEntry& p : pairs) {
          TETHER_ASSIGN_OR_RETURN(Value to, r_.TypedScalar(p.value));
          out.emplace_back(r_.TypedKey(p), std::move(to));
        }
      }
    }
    return Status::OK();
  }

  Status LoadFilter(const YamlValue& v, EntityConfig* entity) {
    FilterConfig* filter = &entity->filter;
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> fields, r_.Map(v, kFilterKeys));
    Keys keys(fields);
    if (const YamlEntry* f = keys.Find("where")) {
      TETHER_ASSIGN_OR_RETURN(std::vector<YamlText> items, r_.StringList(f->value));
      for (const YamlText& t : items) {
        Result<Condition> c = ParseCondition(t.text);
        if (!c.ok()) return r_.Error(t.mark, f->value.path, c.status().message());
        Place(entity, "filter.where", c->column, t.mark);
        filter->where.push_back(std::move(c).value());
      }
    }
    if (const YamlEntry* f = keys.Find("date_column")) {
      TETHER_ASSIGN_OR_RETURN(filter->date_column, r_.String(f->value));
      Place(entity, "filter.date_column", *filter->date_column, f->value.mark);
    }
    return Status::OK();
  }

  // `cursor: updated_at`, or `cursor: { column: updated_at, lag: 30s }`.
  Status LoadCursor(const YamlValue& v, EntityConfig* entity) {
    if (!v.node.IsMap()) {
      TETHER_ASSIGN_OR_RETURN(entity->cursor, r_.String(v));
      Place(entity, "cursor", *entity->cursor, v.mark);
      return Status::OK();
    }
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> fields, r_.Map(v, kCursorKeys));
    const YamlEntry* column = Keys(fields).Find("column");
    if (column == nullptr)
      return r_.Error(v, "a cursor needs its column: cursor: { column: updated_at }");
    TETHER_ASSIGN_OR_RETURN(entity->cursor, r_.String(column->value));
    Place(entity, "cursor", *entity->cursor, column->value.mark);
    if (const YamlEntry* lag = Keys(fields).Find("lag")) {
      TETHER_ASSIGN_OR_RETURN(std::string text, r_.String(lag->value));
      std::optional<int64_t> ms = ParseDurationMs(text);
      if (!ms) return r_.Error(lag->value, "expected a duration such as 30s, 500ms, 2m, 1h");
      entity->cursor_lag_ms = *ms;
    }
    return Status::OK();
  }

  Status LoadDelete(const YamlValue& v, EntityConfig* entity) {
    constexpr std::string_view kChoices = "must be ignore, propagate or { soft: column }";
    if (v.node.IsMap()) {
      TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> fields, r_.Map(v, kDeleteKeys));
      const YamlEntry* soft = Keys(fields).Find("soft");
      if (soft == nullptr) return r_.Error(v, kChoices);
      TETHER_ASSIGN_OR_RETURN(entity->soft_delete_column, r_.String(soft->value));
      Place(entity, "delete.soft", *entity->soft_delete_column, soft->value.mark);
      entity->delete_policy = DeletePolicy::kSoft;
      return Status::OK();
    }
    if (v.IsNull() || !v.node.IsScalar()) {
      return r_.Error(v, fmt::format("{}, got {}", kChoices, YamlReader::Describe(v)));
    }
    TETHER_ASSIGN_OR_RETURN(std::string s, r_.String(v, /*allow_empty=*/true));
    if (s == "ignore") {
      entity->delete_policy = DeletePolicy::kIgnore;
    } else if (s == "propagate") {
      entity->delete_policy = DeletePolicy::kPropagate;
    } else if (s == "soft") {
      return r_.Error(v, "soft delete needs the column to set: write delete: { soft: deleted_at }");
    } else {
      return r_.Error(v, fmt::format("{}; got '{}'", kChoices, YamlReader::Raw(v)));
    }
    return Status::OK();
  }

  Status LoadValidate(const YamlValue& v, EntityConfig* entity) {
    std::map<std::string, ValidationRule>* rules = &entity->validate;
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> columns, r_.Map(v));
    for (const YamlEntry& col : columns) {
      ValidationRule rule;
      rule.location = r_.Location(col.key_mark);
      Place(entity, "validate", col.key, col.key_mark);
      if (!col.value.IsNull() && !col.value.node.IsMap()) {
        return r_.Error(col.value,
                        fmt::format("expected a map of rules ({}), got {}", JoinNames(kRuleKeys),
                                    YamlReader::Describe(col.value)));
      }
      TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> fields, r_.Map(col.value, kRuleKeys));
      Keys keys(fields);
      if (const YamlEntry* f = keys.Find("required")) {
        TETHER_ASSIGN_OR_RETURN(rule.required, r_.Bool(f->value));
      }
      if (const YamlEntry* f = keys.Find("type")) {
        TETHER_ASSIGN_OR_RETURN(std::string type, r_.String(f->value, /*allow_empty=*/true));
        if (std::find(kRuleTypes.begin(), kRuleTypes.end(), type) == kRuleTypes.end()) {
          return r_.Error(f->value, fmt::format("must be one of {}; got '{}'",
                                                JoinNames(kRuleTypes), YamlReader::Raw(f->value)));
        }
        rule.type = type;
      }
      constexpr int64_t kMaxLength = std::numeric_limits<int64_t>::max();
      if (const YamlEntry* f = keys.Find("min_length")) {
        TETHER_ASSIGN_OR_RETURN(rule.min_length, r_.Integer(f->value, 0, kMaxLength));
      }
      if (const YamlEntry* f = keys.Find("max_length")) {
        TETHER_ASSIGN_OR_RETURN(rule.max_length, r_.Integer(f->value, 0, kMaxLength));
        if (rule.min_length && *rule.min_length > *rule.max_length) {
          return r_.Error(f->value, "max_length is smaller than min_length");
        }
      }
      if (const YamlEntry* f = keys.Find("pattern")) {
        TETHER_ASSIGN_OR_RETURN(std::string pattern, r_.String(f->value, /*allow_empty=*/true));
        if (Result<Regex> re = Regex::Compile(pattern); !re.ok()) {
          return r_.Error(f->value,
                          fmt::format("'{}' is not a valid regular expression: {} (RE2 syntax: "
                                      "no backreferences or lookaround)",
                                      YamlReader::Raw(f->value), re.status().message()));
        }
        rule.pattern = std::move(pattern);
      }
      if (const YamlEntry* f = keys.Find("min")) {
        TETHER_ASSIGN_OR_RETURN(rule.min, r_.Number(f->value));
      }
      if (const YamlEntry* f = keys.Find("max")) {
        TETHER_ASSIGN_OR_RETURN(rule.max, r_.Number(f->value));
        if (rule.min && *rule.min > *rule.max) return r_.Error(f->value, "max is smaller than min");
      }
      (*rules)[col.key] = std::move(rule);
    }
    return Status::OK();
  }

  // --- pipelines ---

  Status LoadPipelines(const YamlValue& v) {
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> entries, r_.Map(v));
    for (const YamlEntry& e : entries) {
      PipelineConfig p;
      bool whole = true;
      Status st = CheckName(e, v.path);
      if (st.ok()) st = LoadPipeline(e, &p, &whole);
      Note(st);
      // A pipeline naming a connection or entity that could not be read is not checked further.
      if (st.ok() && whole) config_->pipelines.push_back(std::move(p));
    }
    return Status::OK();
  }

  // *whole: false when the pipeline names a connection or entity whose problem was noted.
  Status LoadPipeline(const YamlEntry& e, PipelineConfig* p, bool* whole) {
    p->name = e.key;
    p->location = r_.Location(e.key_mark);
    const std::string& path = e.value.path;
    if (!e.value.IsNull() && !e.value.node.IsMap()) {
      return r_.Error(e.value,
                      fmt::format("expected a map with source, target and entities, got {}",
                                  YamlReader::Describe(e.value)));
    }
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> fields, r_.Map(e.value, kPipelineKeys));
    Keys keys(fields);

    for (const char* side : {"source", "target"}) {
      const YamlEntry* f = keys.Find(side);
      if (f == nullptr) return r_.Error(e.key_mark, path, fmt::format("missing '{}'", side));
      TETHER_ASSIGN_OR_RETURN(std::string name, r_.String(f->value));
      if (broken_connections_.count(name)) {
        *whole = false;
      } else if (config_->FindConnection(name) == nullptr) {
        std::vector<std::string_view> known;
        for (const ConnectionConfig& c : config_->connections) known.push_back(c.name);
        return r_.Error(f->value, fmt::format("connection '{}' is not defined{}", name,
                                              DidYouMean(name, known)));
      }
      (std::string_view(side) == "source" ? p->source : p->target) = std::move(name);
    }

    const YamlEntry* list = keys.Find("entities");
    if (list == nullptr) return r_.Error(e.key_mark, path, "missing 'entities'");
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlText> items, r_.StringList(list->value));
    if (items.empty()) return r_.Error(list->value, "must list at least one entity");
    std::vector<std::string_view> known;
    for (const EntityConfig& ent : config_->entities) known.push_back(ent.name);
    for (const YamlText& item : items) {
      if (broken_entities_.count(item.text)) {
        *whole = false;
        continue;
      }
      if (config_->FindEntity(item.text) == nullptr) {
        return r_.Error(
            item.mark, list->value.path,
            fmt::format("entity '{}' is not defined{}", item.text, DidYouMean(item.text, known)));
      }
      p->entities.push_back(item.text);
    }
    // A child cannot run without its parents' links: they must be synced by the same pipeline.
    for (const YamlText& item : items) {
      const EntityConfig* entity = config_->FindEntity(item.text);
      if (entity == nullptr) continue;  // its own problem is noted
      for (const auto& [column, parent] : entity->references) {
        if (std::find(p->entities.begin(), p->entities.end(), parent) == p->entities.end()) {
          return r_.Error(item.mark, list->value.path,
                          fmt::format("entity '{}' references '{}' (column {}), which is not in "
                                      "pipeline '{}'; add '{}' to its entities",
                                      item.text, parent, column, p->name, parent));
        }
      }
    }

    if (const YamlEntry* f = keys.Find("on_duplicate")) {
      TETHER_ASSIGN_OR_RETURN(p->on_duplicate,
                              r_.Enum<OnDuplicate>(f->value, {{"merge", OnDuplicate::kMerge},
                                                              {"skip", OnDuplicate::kSkip},
                                                              {"update", OnDuplicate::kUpdate},
                                                              {"error", OnDuplicate::kError}}));
    }
    if (const YamlEntry* f = keys.Find("on_invalid")) {
      TETHER_ASSIGN_OR_RETURN(
          p->on_invalid,
          r_.Enum<OnInvalid>(f->value, {{"skip", OnInvalid::kSkip}, {"error", OnInvalid::kError}}));
    }
    if (const YamlEntry* f = keys.Find("on_conflict")) {
      TETHER_ASSIGN_OR_RETURN(
          p->on_conflict, r_.Enum<OnConflict>(f->value, {{"source_wins", OnConflict::kSourceWins},
                                                         {"target_wins", OnConflict::kTargetWins},
                                                         {"newest_wins", OnConflict::kNewestWins},
                                                         {"manual", OnConflict::kManual}}));
    }
    if (const YamlEntry* f = keys.Find("batch_size")) {
      TETHER_ASSIGN_OR_RETURN(int64_t n, r_.Integer(f->value, 1, kMaxBatchSize));
      p->batch_size = static_cast<size_t>(n);
    }
    if (const YamlEntry* f = keys.Find("concurrency")) {
      TETHER_ASSIGN_OR_RETURN(int64_t n, r_.Integer(f->value, 1, kMaxConcurrency));
      p->concurrency = static_cast<int>(n);
    }
    if (const YamlEntry* f = keys.Find("schedule")) {
      TETHER_ASSIGN_OR_RETURN(p->schedule, LoadSchedule(f->value));
    }
    if (const YamlEntry* f = keys.Find("state")) {
      TETHER_ASSIGN_OR_RETURN(std::string url, r_.String(f->value));
      if (!HasScheme(url)) {
        return r_.Error(f->value, "expected a state store URL such as sqlite:state.db");
      }
      p->state = ConnectorUrlRelativeTo(url, config_->base_dir);
    }
    return Status::OK();
  }

  // `schedule: "every 5m"` (or "5m", "@daily", a cron expression), `{ every: 5m }` or
  // `{ cron: "*/5 * * * *" }`; returns ParseSchedule's normalized text.
  Result<std::string> LoadSchedule(const YamlValue& v) const {
    constexpr std::string_view kForms =
        "expected 'every 5m', a cron expression such as '*/5 * * * *', { every: 5m } or "
        "{ cron: \"*/5 * * * *\" }";
    if (!v.node.IsMap()) {
      TETHER_ASSIGN_OR_RETURN(std::string text, r_.String(v));
      Result<Schedule> s = ParseSchedule(text);
      if (!s.ok()) return r_.Error(v, s.status().message());
      return s->text;
    }
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> fields, r_.Map(v, kScheduleKeys));
    if (fields.empty()) return r_.Error(v, kForms);
    if (fields.size() > 1) {
      return r_.Error(fields[1].key_mark, v.path, "write either 'every' or 'cron', not both");
    }
    const YamlEntry& f = fields[0];
    TETHER_ASSIGN_OR_RETURN(std::string text, r_.String(f.value));
    const bool every = f.key == "every";
    Result<Schedule> s = ParseSchedule(every ? "every " + text : text);
    if (!s.ok()) return r_.Error(f.value, s.status().message());
    if (!every && s->kind != Schedule::Kind::kCron) {
      return r_.Error(f.value, fmt::format("'{}' is not a cron expression; write {{ every: {} }}",
                                           YamlReader::Raw(f.value), YamlReader::Raw(f.value)));
    }
    return s->text;
  }

  // --- server ---

  Status LoadServer(const YamlEntry& e, ServerConfig* server) const {
    server->location = r_.Location(e.key_mark);
    if (!e.value.IsNull() && !e.value.node.IsMap()) {
      return r_.Error(e.value, fmt::format("expected a map ({}), got {}", JoinNames(kServerKeys),
                                           YamlReader::Describe(e.value)));
    }
    TETHER_ASSIGN_OR_RETURN(std::vector<YamlEntry> fields, r_.Map(e.value, kServerKeys));
    Keys keys(fields);
    ServerConfig::FromFile& given = server->from_file;
    if (const YamlEntry* f = keys.Find("listen")) {
      TETHER_ASSIGN_OR_RETURN(server->listen, r_.String(f->value));
      if (!IsListenAddress(server->listen)) {
        return r_.Error(f->value, fmt::format("expected host:port such as 127.0.0.1:8080 or "
                                              "[::1]:8080; got '{}'",
                                              YamlReader::Raw(f->value)));
      }
      given.listen = true;
    }
    // A count between `min` and `max` under `key`, if given.
    auto count = [&](const char* key, int64_t min, int64_t max, int* out,
                     bool* given_flag) -> Status {
      const YamlEntry* f = keys.Find(key);
      if (f == nullptr) return Status::OK();
      TETHER_ASSIGN_OR_RETURN(int64_t n, r_.Integer(f->value, min, max));
      *out = static_cast<int>(n);
      *given_flag = true;
      return Status::OK();
    };
    if (const YamlEntry* f = keys.Find("token")) {
      // Empty (an unset ${VAR:-}) is refused rather than read as "no token": an API left open
      // by accident is worse than a server that does not start.
      TETHER_ASSIGN_OR_RETURN(server->token, r_.String(f->value));
      given.token = true;
    }
    TETHER_RETURN_IF_ERROR(count("max_concurrency", 1, kMaxConcurrency, &server->max_concurrency,
                                 &given.max_concurrency));
    TETHER_RETURN_IF_ERROR(count("retry_attempts", 0, kMaxRetryAttempts, &server->retry_attempts,
                                 &given.retry_attempts));
    if (const YamlEntry* f = keys.Find("retry_delay")) {
      TETHER_ASSIGN_OR_RETURN(server->retry_delay_ms, Duration(f->value, /*allow_zero=*/false));
      given.retry_delay = true;
    }
    if (const YamlEntry* f = keys.Find("job_timeout")) {
      TETHER_ASSIGN_OR_RETURN(server->job_timeout_ms, Duration(f->value, /*allow_zero=*/true));
      given.job_timeout = true;
    }
    if (const YamlEntry* f = keys.Find("cleanup_age")) {
      TETHER_ASSIGN_OR_RETURN(server->cleanup_age_ms, Duration(f->value, /*allow_zero=*/false));
      given.cleanup_age = true;
    }
    if (const YamlEntry* f = keys.Find("max_body")) {
      TETHER_ASSIGN_OR_RETURN(server->max_body, r_.Integer(f->value, 1, kMaxBody));
      given.max_body = true;
    }
    TETHER_RETURN_IF_ERROR(count("max_connections", 1, kMaxConnections, &server->max_connections,
                                 &given.max_connections));
    TETHER_RETURN_IF_ERROR(count("max_connections_per_client", 1, kMaxConnections,
                                 &server->max_connections_per_client,
                                 &given.max_connections_per_client));
    if (const YamlEntry* f = keys.Find("header_timeout")) {
      TETHER_ASSIGN_OR_RETURN(server->header_timeout_ms, Duration(f->value, /*allow_zero=*/false));
      given.header_timeout = true;
    }
    if (const YamlEntry* f = keys.Find("data_dir")) {
      TETHER_ASSIGN_OR_RETURN(std::string dir, r_.String(f->value));
      server->data_dir = (fs::path(config_->base_dir) / dir).lexically_normal().string();
      given.data_dir = true;
    }
    return Status::OK();
  }

  // "500ms", "30s", "5m", "1h", "30d" -> milliseconds; "0" only when allow_zero.
  Result<int64_t> Duration(const YamlValue& v, bool allow_zero) const {
    TETHER_ASSIGN_OR_RETURN(std::string text, r_.String(v));
    if (allow_zero && Trim(text) == "0") return 0;
    std::optional<int64_t> ms = ParseDurationWithDaysMs(Trim(text));
    if (!ms) {
      return r_.Error(v, fmt::format("expected a duration such as 500ms, 30s, 5m, 1h or 30d{}; "
                                     "got '{}'",
                                     allow_zero ? " (0 for none)" : "", YamlReader::Raw(v)));
    }
    return *ms;
  }

  struct ReferenceSite {
    YamlValue value;
    std::string parent;
  };

  const YamlReader& r_;
  Config* config_;
  std::vector<ReferenceSite> reference_sites_;
  std::vector<Status> problems_;
  std::set<std::string> broken_connections_, broken_entities_;  // names whose problem is noted
};

std::string FolderOf(const std::string& file) {
  std::error_code ec;
  fs::path abs = fs::absolute(fs::path(file), ec);
  if (ec) abs = fs::path(file);
  return abs.parent_path().lexically_normal().string();
}

}  // namespace

Result<Config> ParseConfig(const std::string& text, const std::string& file_name,
                           const EnvLookup& env) {
  YamlReader reader(file_name, env);
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    Config config;
    config.path = file_name;
    config.base_dir = FolderOf(file_name);
    if (docs.size() > 1) {
      return reader.Error(docs[1].Mark(), "", "a configuration file holds one YAML document");
    }
    if (!docs.empty()) {
      TETHER_RETURN_IF_ERROR(reader.CheckQuotesClosed(docs[0], text));
      TETHER_RETURN_IF_ERROR(Loader(reader, &config).Load(docs[0]));
    }
    return config;
  } catch (const YAML::Exception& e) {
    return reader.Error(e.mark, "", fmt::format("invalid YAML: {}", e.msg));
  } catch (const std::exception& e) {
    return Status::Config(fmt::format("{}: {}", file_name, e.what()));
  }
}

Result<Config> LoadConfig(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return Status::NotFound(fmt::format("{}: configuration file not found", path));
  }
  if (fs::is_directory(path, ec)) {
    return Status::Config(fmt::format("{}: is a folder, not a configuration file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Config(fmt::format("{}: cannot read the file", path));
  std::stringstream text;
  text << in.rdbuf();

  EnvLookup env;
  if (options.env.has_value()) {
    env = *options.env;
  } else {
    const std::string dotenv = (fs::path(path).parent_path() / ".env").string();
    TETHER_ASSIGN_OR_RETURN(auto vars, config_internal::ReadDotEnv(dotenv));
    env = config_internal::ProcessEnvThen(std::move(vars));
  }
  return ParseConfig(text.str(), path, env);
}

}  // namespace tether
