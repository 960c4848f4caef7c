// ${VAR} interpolation and the `.env` reader behind LoadConfig's default environment lookup.
// Error messages name variables and lines, never values.
#include "config/env.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "config/text.h"

namespace tether::config_internal {

Result<std::string> Interpolate(std::string_view text, const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$' || i + 1 >= text.size() || (text[i + 1] != '$' && text[i + 1] != '{')) {
      out += c;
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return Status::Config(
          fmt::format("unterminated '${{' (write ${{NAME}}, or $$ for a literal $)"));
    }
    std::string_view body = text.substr(i + 2, close - i - 2);
    std::string_view name = body;
    std::optional<std::string_view> fallback;
    if (size_t sep = body.find(":-"); sep != std::string_view::npos) {
      name = body.substr(0, sep);
      fallback = body.substr(sep + 2);
    }
    if (!IsIdentifier(name)) {
      return Status::Config(fmt::format(
          "'${{{}}}' is not a valid variable reference (expected ${{NAME}} or ${{NAME:-default}})",
          name));
    }
    std::optional<std::string> value = env ? env(std::string(name)) : std::nullopt;
    if (value.has_value() && !(value->empty() && fallback.has_value())) {
      out += *value;
    } else if (fallback.has_value()) {
      out += *fallback;
    } else {
      return Status::Config(
          fmt::format("environment variable '{}' is not set (set it, add it to .env beside the "
                      "config file, or write ${{{}:-default}})",
                      name, name));
    }
    i = close + 1;
  }
  return out;
}

namespace {

Status DotEnvError(const std::string& path, int line, std::string_view what) {
  return Status::Config(fmt::format("{}:{}:1: {}", path, line, what));
}

}  // namespace

Result<std::map<std::string, std::string>> ReadDotEnv(const std::string& path) {
  std::map<std::string, std::string> vars;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return vars;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Config(fmt::format("{}: cannot read the file", path));
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line.starts_with("export") && line.size() > 6 && (line[6] == ' ' || line[6] == '\t')) {
      line = Trim(line.substr(6));
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return DotEnvError(path, line_no, "malformed line: expected KEY=VALUE");
    }
    const std::string_view key = Trim(line.substr(0, eq));
    if (!IsIdentifier(key)) {
      return DotEnvError(path, line_no,
                         "malformed line: the name before '=' must be letters, digits and _");
    }
    std::string_view value = Trim(line.substr(eq + 1));
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
      const size_t close = value.find(value[0], 1);
      if (close == std::string_view::npos) {
        return DotEnvError(path, line_no, fmt::format("{}: unterminated quoted value", key));
      }
      std::string_view rest = Trim(value.substr(close + 1));
      if (!rest.empty() && rest[0] != '#') {
        return DotEnvError(path, line_no,
                           fmt::format("{}: unexpected text after the quoted value", key));
      }
      value = value.substr(1, close - 1);
    } else {
      for (size_t i = 1; i < value.size(); ++i) {
        if (value[i] == '#' && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
          value = Trim(value.substr(0, i));
          break;
        }
      }
    }
    vars[std::string(key)] = std::string(value);
  }
  return vars;
}

EnvLookup ProcessEnvThen(std::map<std::string, std::string> dotenv) {
  auto vars = std::make_shared<const std::map<std::string, std::string>>(std::move(dotenv));
  return [vars](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    auto it = vars->find(name);
    if (it != vars->end()) return it->second;
    return std::nullopt;
  };
}

}  // namespace tether::config_internal
