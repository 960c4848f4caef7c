#include "cli/keys_file.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <system_error>

namespace tether::cli {
namespace {

constexpr char kDiffHeader[] = "entity,kind,source_id,target_id,";

class KeyList {
 public:
  void Add(const std::string& entity, const std::string& key, std::string origin) {
    if (!seen_.insert({entity, key}).second) return;
    out_.keys[entity].push_back(key);
    out_.origins[entity].push_back(std::move(origin));
  }
  KeysFromFile Take() { return std::move(out_); }

 private:
  KeysFromFile out_;
  std::set<std::pair<std::string, std::string>> seen_;
};

// Reads one line (without its '\n') into *line; false at the end of the file. A NUL byte or a
// line past kMaxKeysLine is an error, found before more than that is held.
Result<bool> ReadLine(std::streambuf* in, std::string* line, const std::string& where) {
  line->clear();
  for (;;) {
    const int c = in->sbumpc();
    if (c == std::char_traits<char>::eof()) return !line->empty();
    if (c == '\n') return true;
    if (c == '\0') {
      return Status::InvalidArgument(where + ": holds a NUL byte: this is not a text file of keys");
    }
    if (line->size() >= kMaxKeysLine) {
      return Status::InvalidArgument(fmt::format(
          "{}: a line longer than {} MiB: this is not a file of keys", where, kMaxKeysLine >> 20));
    }
    line->push_back(static_cast<char>(c));
  }
}

std::string EntityNames(const std::map<std::string, bool>& identity) {
  std::string out;
  for (const auto& [name, id] : identity) out += (out.empty() ? "" : ", ") + name;
  return out;
}

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

Result<KeysFromFile> ReadKeysFile(const std::string& path, const std::string& single_entity,
                                  const std::map<std::string, bool>& identity) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::InvalidArgument(fmt::format("--keys {}: is a folder, not a file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(fmt::format("--keys {}: cannot open the file", path));
  KeyList keys;
  std::string line;
  bool diff_csv = false;
  for (int n = 1;; ++n) {
    const std::string where = fmt::format("{}:{}", path, n);
    TETHER_ASSIGN_OR_RETURN(bool more, ReadLine(in.rdbuf(), &line, where));
    if (!more) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto at = [&](const std::string& what) {
      return Status::InvalidArgument(fmt::format("{}: {}", where, what));
    };
    const std::string not_entity = fmt::format(
        "the entity named there is not one of the pipeline's ({})", EntityNames(identity));
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
      if (id == identity.end()) return at(not_entity);
      if (!(*f)[2].empty()) {
        keys.Add(entity, (*f)[2], where);
      } else if (id->second && !(*f)[3].empty()) {
        keys.Add(entity, (*f)[3], where);
      } else {
        return at(fmt::format(
            "a {} only in the target, which no source record is linked to: there is nothing to "
            "sync it from; remove the line",
            entity));
      }
      continue;
    }
    if (!single_entity.empty()) {
      keys.Add(single_entity, line, where);
      continue;
    }
    size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      return at("expected ENTITY<TAB>KEY (several entities are selected; --entity picks one)");
    }
    std::string entity = line.substr(0, tab);
    if (!identity.count(entity)) return at(not_entity);
    keys.Add(entity, line.substr(tab + 1), where);
  }
  return keys.Take();
}

}  // namespace tether::cli
