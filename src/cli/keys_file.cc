#include "cli/keys_file.h"

#include <fmt/format.h>

#include <fstream>
#include <set>

namespace tether::cli {
namespace {

constexpr char kDiffHeader[] = "entity,kind,source_id,target_id,";

class KeyList {
 public:
  void Add(const std::string& entity, const std::string& key) {
    if (seen_.insert({entity, key}).second) keys_[entity].push_back(key);
  }
  std::map<std::string, std::vector<std::string>> Take() { return std::move(keys_); }

 private:
  std::map<std::string, std::vector<std::string>> keys_;
  std::set<std::pair<std::string, std::string>> seen_;
};

}  // namespace

Result<std::vector<std::string>> SplitCsvLine(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c != '"') {
        fields.back() += c;
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) return Status::InvalidArgument("a quoted field is not closed");
  return fields;
}

Result<std::map<std::string, std::vector<std::string>>> ReadKeysFile(
    const std::string& path, const std::string& single_entity,
    const std::map<std::string, bool>& identity) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(fmt::format("--keys {}: cannot open the file", path));
  KeyList keys;
  std::string line;
  bool diff_csv = false;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto at = [&](const std::string& what) {
      return Status::InvalidArgument(fmt::format("{}:{}: {}", path, n, what));
    };
    if (n == 1 && line.rfind(kDiffHeader, 0) == 0) {
      diff_csv = true;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    if (diff_csv) {
      Result<std::vector<std::string>> f = SplitCsvLine(line);
      if (!f.ok()) return at(f.status().message());
      if (f->size() < 4)
        return at("expected entity,kind,source_id,target_id,... (a diff CSV line)");
      const std::string& entity = (*f)[0];
      auto id = identity.find(entity);
      if (id == identity.end())
        return at(fmt::format("'{}' is not an entity of the pipeline", entity));
      if (!(*f)[2].empty()) {
        keys.Add(entity, (*f)[2]);
      } else if (id->second && !(*f)[3].empty()) {
        keys.Add(entity, (*f)[3]);
      } else {
        return at(
            fmt::format("{} {} has no source record to sync from (a target row no source "
                        "record is linked to); remove the line",
                        entity, (*f)[3]));
      }
      continue;
    }
    if (!single_entity.empty()) {
      keys.Add(single_entity, line);
      continue;
    }
    size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      return at("expected ENTITY<TAB>KEY (several entities are selected; --entity picks one)");
    }
    std::string entity = line.substr(0, tab);
    if (!identity.count(entity))
      return at(fmt::format("'{}' is not an entity of the pipeline", entity));
    keys.Add(entity, line.substr(tab + 1));
  }
  return keys.Take();
}

}  // namespace tether::cli
