#include "server/catalog.h"

#include <fmt/format.h>

#include <cstdlib>
#include <regex>

#include "config/env.h"

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
      static const std::regex kPlace(R"(^:\d+:\d+: )");
      std::smatch match;
      std::string rest = m.substr(file_name.size());
      if (std::regex_search(rest, match, kPlace)) rest = match.suffix();
      if (!rest.empty() && rest[0] == ':') rest = rest.substr(1);
      while (!rest.empty() && rest[0] == ' ') rest = rest.substr(1);
      m = rest;
    }
    out += (out.empty() ? "" : "\n") + m;
    start = end + 1;
  }
  return Status(s.code(), out);
}

bool ValidName(const std::string& name) {
  static const std::regex kName("^[A-Za-z0-9_.-]{1,64}$");
  return std::regex_match(name, kName);
}

}  // namespace

Catalog::Catalog(ServerStore* store, std::optional<Config> file, std::string base_dir)
    : store_(store), file_(std::move(file)), base_dir_(std::move(base_dir)) {
  if (file_) file_config_ = std::make_shared<const Config>(*file_);
  auto dotenv = config_internal::ReadDotEnv(base_dir_ + "/.env");
  env_ =
      config_internal::ProcessEnvThen(dotenv.ok() ? *dotenv : std::map<std::string, std::string>{});
}

Result<std::string> Catalog::ResolvedUrl(const std::string& name, const std::string& raw) {
  const std::string file_name = base_dir_ + "/connection " + name;
  json doc = {{"connections", {{name, {{"url", raw}}}}}};
  Result<Config> c = ParseConfig(doc.dump(1), file_name, env_);
  if (!c.ok()) return WithoutPlace(c.status(), file_name);
  TETHER_RETURN_IF_ERROR(CheckConnectorUrl(name, c->connections.at(0).url));
  return c->connections.at(0).url;
}

Result<std::vector<ConnectionView>> Catalog::Connections() {
  std::vector<ConnectionView> out;
  if (file_) {
    for (const ConnectionConfig& c : file_->connections) {
      out.push_back({c.name, c.url, "file", "", ""});
    }
  }
  TETHER_ASSIGN_OR_RETURN(auto stored, store_->ListConnections());
  for (const StoredConnection& c : stored) {
    Result<std::string> url = ResolvedUrl(c.name, c.url);
    out.push_back({c.name, url.ok() ? *url : c.url, "api", c.created_at, c.updated_at});
  }
  std::sort(out.begin(), out.end(),
            [](const ConnectionView& a, const ConnectionView& b) { return a.name < b.name; });
  return out;
}

Result<std::optional<ConnectionView>> Catalog::GetConnection(const std::string& name) {
  if (file_) {
    if (const ConnectionConfig* c = file_->FindConnection(name)) {
      return std::optional<ConnectionView>(ConnectionView{c->name, c->url, "file", "", ""});
    }
  }
  TETHER_ASSIGN_OR_RETURN(auto stored, store_->GetConnection(name));
  if (!stored) return std::optional<ConnectionView>();
  Result<std::string> url = ResolvedUrl(stored->name, stored->url);
  return std::optional<ConnectionView>(ConnectionView{
      stored->name, url.ok() ? *url : stored->url, "api", stored->created_at, stored->updated_at});
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
  return ConnectionView{name, resolved, "api", c.created_at, c.updated_at};
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
  return ConnectionView{name, resolved, "api", existing->created_at, existing->updated_at};
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
  const std::string file_name = base_dir_ + "/pipeline " + name;
  Result<Config> config = ParseConfig(doc.dump(1), file_name, env_);
  if (!config.ok()) return WithoutPlace(config.status(), file_name);
  const PipelineConfig* p = config->FindPipeline(name);
  if (!p) return Status::Config(fmt::format("pipelines.{}: not loaded", name));
  TETHER_RETURN_IF_ERROR(WithoutPlace(EntityOrder(*config, *p).status(), file_name));
  return std::shared_ptr<const Config>(std::make_shared<Config>(std::move(config).value()));
}

Result<std::shared_ptr<const Config>> Catalog::Validate(const std::string& name, const json& body) {
  std::lock_guard<std::mutex> lk(mu_);
  return LoadLocked(name, body);
}

Status Catalog::Check(const std::string& name, const Config& config, SyncObserver* observer) {
  Status st = CheckPipelines(config, {name}, observer);
  if (st.ok()) return st;
  st = WithoutPlace(st, base_dir_ + "/pipeline " + name);
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
  StoredPipeline p{name, stored_body.dump(), UtcNow(), ""};
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
  existing->body = stored_body.dump();
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
