// ${VAR} interpolation and `.env` files: where configuration secrets come from (internal to
// src/config/). Pure functions apart from reading the file; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/status.h"

namespace tether::config_internal {

// Replaces ${VAR} and ${VAR:-default} in `text` and turns $$ into a literal $; any other $ is
// kept as is. As in a shell, the default also applies when VAR is set but empty. An unset VAR
// without a default, or a malformed reference, is a kConfig error naming the variable (never a
// value) and without location: the caller knows where the text came from and adds it.
Result<std::string> Interpolate(std::string_view text, const EnvLookup& env);

// The KEY=VALUE pairs of a `.env` file: blank lines and `#` comment lines skipped, an optional
// `export ` prefix, single or double quotes around the value stripped, and on an unquoted value
// a ` #` starts a comment. A missing file reads as empty. A malformed line is a kConfig error
// "path:line:1: ..." that never shows the line (it may hold a secret).
Result<std::map<std::string, std::string>> ReadDotEnv(const std::string& path);

// Looks a name up in the process environment first, then in `dotenv`.
EnvLookup ProcessEnvThen(std::map<std::string, std::string> dotenv);

}  // namespace tether::config_internal
