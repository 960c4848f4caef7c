#include "server/catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>

#include "config/env.h"
#include "core/temporal.h"
#include "server/json_text.h"

namespace tether {
namespace {

using nlohmann::json;

// A value the loader interpolates: a literal `$` must be written `$$`.
std::string EscapeDollars(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '$') out += '$';
  }
  return out;
}

std::string PercentEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// Puts `password` into the user info of a server URL (scheme://user[:old]@host/...).
Result<std::string> WithPassword(const std::string& url, const std::string& password) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) {
    return Status::InvalidArgument(
        "field 'password': only a URL with a user (postgres://user@host/db, "
        "mysql://user@host/db) takes a password");
  }
  const size_t start = scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  const std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
  const size_t at = authority.rfind('@');
  if (at == std::string::npos) {
    return Status::InvalidArgument(
        "field 'password': the URL names no user (write postgres://USER@host/db)");
  }
  std::string user = authority.substr(0, at);
  user = user.substr(0, user.find(':'));
  return url.substr(0, start) + user + ":" + EscapeDollars(PercentEncode(password)) +
         authority.substr(at) + (end == std::string::npos ? "" : url.substr(end));
}

// The loader's "file:line:column: " names a place in text the server wrote, not the user's:
// keep the key path and the reason — of each line, when the message holds several problems.
Status WithoutPlace(const Status& s, const std::string& file_name) {
  if (s.ok()) return s;
  std::string out;
  const std::string& all = s.message();
  for (size_t start = 0; start <= all.size();) {
    size_t end = all.find('\n', start);
    if (end == std::string::npos) end = all.size();
    std::string m = all.substr(start, end - start);
    if (m.rfind(file_name, 0) == 0) {
      std::string_view rest = std::string_view(m).substr(file_name.size());
      // ":LINE:COLUMN" (or nothing), then ": ".
      for (int part = 0; part < 2 && rest.size() > 1 && rest[0] == ':' &&
                         std::isdigit(static_cast<unsigned char>(rest[1]));
           ++part) {
        rest.remove_prefix(1);
        while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0]))) {
          rest.remove_prefix(1);
        }
      }
      if (!rest.empty() && rest[0] == ':') rest.remove_prefix(1);
      while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
      m = std::string(rest);
    }
    out += (out.empty() ? "" : "\n") + m;
    start = end + 1;
  }
  return Status(s.code(), out);
}

// 1 to 64 of A-Z a-z 0-9 _ . - (the API document's pattern for names).
bool ValidName(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

}  // namespace

Catalog::Catalog(ServerStore* store, std::optional<Config> file, std::string base_dir,
                 CatalogFiles files)
    : store_(store), file_(std::move(file)), base_dir_(std::move(base_dir)) {
  if (file_) file_config_ = std::make_shared<const Config>(*file_);
  auto dotenv = config_internal::ReadDotEnv(base_dir_ + "/.env");
  env_ =
      config_internal::ProcessEnvThen(dotenv.ok() ? *dotenv : std::map<std::string, std::string>{});
  std::error_code ec;
  data_dir_ = std::filesystem::weakly_canonical(files.data_dir, ec);
  if (ec) data_dir_ = std::filesystem::path(files.data_dir).lexically_normal();
  if (data_dir_.filename().empty()) data_dir_ = data_dir_.parent_path();  // a trailing '/'

  if (!files.state_file.empty()) {
    const std::filesystem::path state = std::filesystem::weakly_canonical(files.state_file, ec);
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      denied_.push_back((ec ? std::filesystem::path(files.state_file) : state).string() + suffix);
    }
  }
}

std::string Catalog::PlaceOf(const std::string& kind, const std::string& name) const {
  // A relative SQLite path in an API connection is relative to the data folder.
  return (data_dir_ / (kind + " " + name)).string();
}

Status Catalog::Confine(const std::string& name, const std::string& url,
                        const std::string& as_written) const {
  TETHER_ASSIGN_OR_RETURN(std::optional<std::string> file, LocalDatabaseFile(name, url));
  if (!file) return Status::OK();
  // Where the file really is, symbolic links and ".." resolved as the system will resolve them
  // when it is opened. Nothing of it shows in the refusal (only the URL as written, not even its
  // ${VAR}s resolved), which is the same whether the path exists or not: the API must not tell
  // what lies outside its folder.
  std::error_code ec;
  const std::filesystem::path real = std::filesystem::weakly_canonical(*file, ec);
  const auto [dir_end, real_it] =
      std::mismatch(data_dir_.begin(), data_dir_.end(), real.begin(), real.end());
  const bool inside = !ec && dir_end == data_dir_.end() && real_it != real.end() &&
                      std::find(denied_.begin(), denied_.end(), real.string()) == denied_.end();
  if (inside) return Status::OK();
  return Status::Config(fmt::format(
      "connection '{}': {} is not a file in the server's data folder {} (server.data_dir, "
      "--data-dir): a SQLite database of a connection made through the API lives there",
      name, RedactUrl(as_written), data_dir_.string()));
}

Result<std::string> Catalog::ResolvedUrl(const std::string& name, const std::string& raw) {
  const std::string file_name = PlaceOf("connection", name);
  json doc = {{"connections", {{name, {{"url", raw}}}}}};
  Result<Config> c = ParseConfig(JsonText(doc, 1), file_name, env_);
  if (!c.ok()) return WithoutPlace(c.status(), file_name);
  const std::string& url = c->connections.at(0).url;
  TETHER_RETURN_IF_ERROR(CheckConnectorUrl(name, url));
  TETHER_RETURN_IF_ERROR(Confine(name, url, raw));
  return url;
}

ConnectionView Catalog::ViewOf(const StoredConnection& c) {
  ConnectionView v{c.name, "", "api", c.created_at, c.updated_at, Status::OK()};
  Result<std::string> url = ResolvedUrl(c.name, c.url);
  if (url.ok()) {
    v.url = *url;
  } else {
    // Shown (redacted) as stored, and never opened.
    v.url = c.url;
    v.problem = url.status();
  }
  return v;
}

Result<std::vector<ConnectionView>> Catalog::Connections() {
  std::vector<ConnectionView> out;
  if (file_) {
    for (const ConnectionConfig& c : file_->connections) {
      out.push_back({c.name, c.url, "file", "", "", Status::OK()});
    }
  }
  TETHER_ASSIGN_OR_RETURN(auto stored, store_->ListConnections());
  for (const StoredConnection& c : stored) out.push_back(ViewOf(c));
  std::sort(out.begin(), out.end(),
            [](const ConnectionView& a, const ConnectionView& b) { return a.name < b.name; });
  return out;
}

Result<std::optional<ConnectionView>> Catalog::GetConnection(const std::string& name) {
  if (file_) {
    if (const ConnectionConfig* c = file_->FindConnection(name)) {
      return std::optional<ConnectionView>(
          ConnectionView{c->name, c->url, "file", "", "", Status::OK()});
    }
  }
  TETHER_ASSIGN_OR_RETURN(auto stored, store_->GetConnection(name));
  if (!stored) return std::optional<ConnectionView>();
  return std::optional<ConnectionView>(ViewOf(*stored));
}

Result<ConnectionView> Catalog::CreateConnection(const std::string& name, const std::string& url,
                                                 const std::optional<std::string>& password) {
  if (!ValidName(name)) {
    return Status::InvalidArgument(
        fmt::format("field 'name': '{}' is not a name (1 to 64 of A-Z a-z 0-9 _ . -)", name));
  }
  std::lock_guard<std::mutex> lk(mu_);
  if (file_ && file_->FindConnection(name)) {
    return Status::AlreadyExists(
        fmt::format("connection '{}' is defined in {}", name, file_->path));
  }
  TETHER_ASSIGN_OR_RETURN(auto existing, store_->GetConnection(name));
  if (existing) return Status::AlreadyExists(fmt::format("connection '{}' exists", name));
  std::string full = url;
  if (password) {
    TETHER_ASSIGN_OR_RETURN(full, WithPassword(url, *password));
  }
  TETHER_ASSIGN_OR_RETURN(std::string resolved, ResolvedUrl(name, full));
  StoredConnection c{name, full, UtcNow(), ""};
  c.updated_at = c.created_at;
  TETHER_RETURN_IF_ERROR(store_->PutConnection(c));
  return ConnectionView{name, resolved, "api", c.created_at, c.updated_at, Status::OK()};
}

Result<ConnectionView> Catalog::UpdateConnection(const std::string& name, const std::string& url,
                                                 const std::optional<std::string>& password) {
  std::lock_guard<std::mutex> lk(mu_);
  if (file_ && file_->FindConnection(name)) {
    return Status::AlreadyExists(
        fmt::format("connection '{}' is defined in {}: change it there", name, file_->path));
  }
  TETHER_ASSIGN_OR_RETURN(auto existing, store_->GetConnection(name));
  if (!existing) return Status::NotFound(fmt::format("no connection '{}'", name));
  std::string full = url;
  if (password) {
    TETHER_ASSIGN_OR_RETURN(full, WithPassword(url, *password));
  }
  TETHER_ASSIGN_OR_RETURN(std::string resolved, ResolvedUrl(name, full));
  existing->url = full;
  existing->updated_at = UtcNow();
  TETHER_RETURN_IF_ERROR(store_->PutConnection(*existing));
  return ConnectionView{name,        resolved, "api", existing->created_at, existing->updated_at,
                        Status::OK()};
}

Status Catalog::DeleteConnection(const std::string& name) {
  std::lock_guard<std::mutex> lk(mu_);
  if (file_ && file_->FindConnection(name)) {
    return Status::AlreadyExists(
        fmt::format("connection '{}' is defined in {}: remove it there", name, file_->path));
  }
  TETHER_ASSIGN_OR_RETURN(auto pipelines, store_->ListPipelines());
  for (const StoredPipeline& p : pipelines) {
    json body = json::parse(p.body, nullptr, false);
    if (body.value("source", "") == name || body.value("target", "") == name) {
      return Status::AlreadyExists(
          fmt::format("connection '{}' is used by pipeline '{}'", name, p.name));
    }
  }
  TETHER_ASSIGN_OR_RETURN(bool found, store_->DeleteConnection(name));
  if (!found) return Status::NotFound(fmt::format("no connection '{}'", name));
  return Status::OK();
}

Result<std::shared_ptr<const Config>> Catalog::LoadLocked(const std::string& name,
                                                          const json& body) {
  // The pipeline as a tether.yaml document of its own: its two connections, its entities and
  // itself. JSON is YAML, so the loader reads it as it reads a file.
  json connections = json::object();
  for (const char* side : {"source", "target"}) {
    const std::string conn = body.value(side, "");
    if (file_) {
      if (const ConnectionConfig* c = file_->FindConnection(conn)) {
        connections[conn] = {{"url", EscapeDollars(c->url)}};
        continue;
      }
    }
    TETHER_ASSIGN_OR_RETURN(auto stored, store_->GetConnection(conn));
    if (stored) connections[conn] = {{"url", stored->url}};
  }
  json pipeline = body;
  pipeline.erase("name");
  json entities = body.contains("entities") ? body["entities"] : json::object();
  if (entities.is_object()) {
    json names = json::array();
    for (const auto& [entity, def] : entities.items()) names.push_back(entity);
    pipeline["entities"] = names;
  }
  json doc = {
      {"connections", connections}, {"entities", entities}, {"pipelines", {{name, pipeline}}}};
  const std::string file_name = PlaceOf("pipeline", name);
  Result<Config> config = ParseConfig(JsonText(doc, 1), file_name, env_);
  if (!config.ok()) return WithoutPlace(config.status(), file_name);
  const PipelineConfig* p = config->FindPipeline(name);
  if (!p) return Status::Config(fmt::format("pipelines.{}: not loaded", name));
  for (const ConnectionConfig& c : config->connections) {
    if (!file_ || !file_->FindConnection(c.name)) {
      TETHER_RETURN_IF_ERROR(Confine(c.name, c.url, connections[c.name]["url"].get<std::string>()));
    }
  }
  TETHER_RETURN_IF_ERROR(WithoutPlace(EntityOrder(*config, *p).status(), file_name));
  return std::shared_ptr<const Config>(std::make_shared<Config>(std::move(config).value()));
}

Result<std::shared_ptr<const Config>> Catalog::Validate(const std::string& name, const json& body) {
  std::lock_guard<std::mutex> lk(mu_);
  return LoadLocked(name, body);
}

Status Catalog::Check(const std::string& name, const Config& config, SyncObserver* observer,
                      const RunEnv& env) {
  Status st = CheckPipelines(config, {name}, observer, env);
  if (st.ok()) return st;
  st = WithoutPlace(st, PlaceOf("pipeline", name));
  if (st.code() == StatusCode::kNotFound) return Status::Config(st.message());
  return st;
}

PipelineView Catalog::FileView(const PipelineConfig& p) const {
  json entities = json::object();
  for (const std::string& e : p.entities) {
    const EntityConfig* ec = file_->FindEntity(e);
    if (!ec) continue;
    entities[e] = {{"source_table", ec->source_table},
                   {"target_table", ec->target_table},
                   {"key", ec->key},
                   {"keys", ec->keys == KeyMode::kIdentity ? "identity" : "mapped"}};
  }
  json body = {{"source", p.source},
               {"target", p.target},
               {"entities", entities},
               {"batch_size", p.batch_size}};
  if (p.schedule) body["schedule"] = *p.schedule;
  PipelineView v;
  v.name = p.name;
  v.body = std::move(body);
  v.origin = "file";
  v.config = file_config_;
  return v;
}

Result<PipelineView> Catalog::ViewOf(const StoredPipeline& p) {
  PipelineView v;
  v.name = p.name;
  v.body = json::parse(p.body, nullptr, false);
  v.origin = "api";
  v.created_at = p.created_at;
  v.updated_at = p.updated_at;
  Result<std::shared_ptr<const Config>> config = LoadLocked(p.name, v.body);
  if (config.ok()) {
    v.config = *config;
  } else {
    v.error = config.status().message();
  }
  return v;
}

Result<std::vector<PipelineView>> Catalog::Pipelines() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<PipelineView> out;
  if (file_) {
    for (const PipelineConfig& p : file_->pipelines) out.push_back(FileView(p));
  }
  TETHER_ASSIGN_OR_RETURN(auto stored, store_->ListPipelines());
  for (const StoredPipeline& p : stored) {
    TETHER_ASSIGN_OR_RETURN(PipelineView v, ViewOf(p));
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(),
            [](const PipelineView& a, const PipelineView& b) { return a.name < b.name; });
  return out;
}

Result<std::optional<PipelineView>> Catalog::GetPipeline(const std::string& name) {
  std::lock_guard<std::mutex> lk(mu_);
  if (file_) {
    if (const PipelineConfig* p = file_->FindPipeline(name)) {
      return std::optional<PipelineView>(FileView(*p));
    }
  }
  TETHER_ASSIGN_OR_RETURN(auto stored, store_->GetPipeline(name));
  if (!stored) return std::optional<PipelineView>();
  TETHER_ASSIGN_OR_RETURN(PipelineView v, ViewOf(*stored));
  return std::optional<PipelineView>(std::move(v));
}

Result<PipelineView> Catalog::CreatePipeline(const std::string& name, const json& body) {
  if (!ValidName(name)) {
    return Status::InvalidArgument(
        fmt::format("field 'name': '{}' is not a name (1 to 64 of A-Z a-z 0-9 _ . -)", name));
  }
  std::lock_guard<std::mutex> lk(mu_);
  if (file_ && file_->FindPipeline(name)) {
    return Status::AlreadyExists(fmt::format("pipeline '{}' is defined in {}", name, file_->path));
  }
  TETHER_ASSIGN_OR_RETURN(auto existing, store_->GetPipeline(name));
  if (existing) return Status::AlreadyExists(fmt::format("pipeline '{}' exists", name));
  json stored_body = body;
  stored_body.erase("name");
  TETHER_ASSIGN_OR_RETURN(auto config, LoadLocked(name, stored_body));
  StoredPipeline p{name, JsonText(stored_body), UtcNow(), ""};
  p.updated_at = p.created_at;
  TETHER_RETURN_IF_ERROR(store_->PutPipeline(p));
  PipelineView v{name, stored_body, "api", p.created_at, p.updated_at, config, ""};
  return v;
}

Result<PipelineView> Catalog::UpdatePipeline(const std::string& name, const json& body) {
  std::lock_guard<std::mutex> lk(mu_);
  if (file_ && file_->FindPipeline(name)) {
    return Status::AlreadyExists(
        fmt::format("pipeline '{}' is defined in {}: change it there", name, file_->path));
  }
  TETHER_ASSIGN_OR_RETURN(auto existing, store_->GetPipeline(name));
  if (!existing) return Status::NotFound(fmt::format("no pipeline '{}'", name));
  json stored_body = body;
  stored_body.erase("name");
  TETHER_ASSIGN_OR_RETURN(auto config, LoadLocked(name, stored_body));
  existing->body = JsonText(stored_body);
  existing->updated_at = UtcNow();
  TETHER_RETURN_IF_ERROR(store_->PutPipeline(*existing));
  PipelineView v{name, stored_body, "api", existing->created_at, existing->updated_at, config, ""};
  return v;
}

Status Catalog::DeletePipeline(const std::string& name) {
  std::lock_guard<std::mutex> lk(mu_);
  if (file_ && file_->FindPipeline(name)) {
    return Status::AlreadyExists(
        fmt::format("pipeline '{}' is defined in {}: remove it there", name, file_->path));
  }
  TETHER_ASSIGN_OR_RETURN(bool found, store_->DeletePipeline(name));
  if (!found) return Status::NotFound(fmt::format("no pipeline '{}'", name));
  TETHER_RETURN_IF_ERROR(store_->DeleteScheduleMark(name));
  return Status::OK();
}

Result<std::shared_ptr<const Config>> Catalog::ConfigFor(const std::string& pipeline) {
  TETHER_ASSIGN_OR_RETURN(std::optional<PipelineView> v, GetPipeline(pipeline));
  if (!v) return Status::NotFound(fmt::format("no pipeline '{}'", pipeline));
  if (!v->config) return Status::Config(v->error);
  return v->config;
}

Result<std::vector<std::pair<std::string, std::string>>> Catalog::Schedules() {
  TETHER_ASSIGN_OR_RETURN(std::vector<PipelineView> all, Pipelines());
  std::vector<std::pair<std::string, std::string>> out;
  for (const PipelineView& v : all) {
    if (!v.config) continue;
    const PipelineConfig* p = v.config->FindPipeline(v.name);
    if (p && p->schedule) out.emplace_back(v.name, *p->schedule);
  }
  return out;
}

}  // namespace tether
