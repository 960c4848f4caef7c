// Reading the records chosen for a selective sync (`sync --keys FILE`, `--key V`): a plain list,
// or a `tether diff --format csv` report with the lines not wanted removed. Pure parsing.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace tether::cli {

// Keys by entity, in file order, each once, and where each was read ("keys.txt:3").
struct KeysFromFile {
  std::map<std::string, std::vector<std::string>> keys;
  std::map<std::string, std::vector<std::string>> origins;  // parallel to `keys`
};

// The longest line read: a diff CSV line holds a record's values, so lines may be long, but a
// file without line breaks (/dev/zero) must not be read whole.
inline constexpr size_t kMaxKeysLine = size_t{16} << 20;

// A plain file holds one key per line — or `ENTITY<TAB>KEY` per line when `single_entity` is ""
// (several entities selected); blank lines and lines starting with '#' are skipped. A diff CSV
// (its header line first) gives each listed record's source id — or, for a row only in the
// target, its target id when `identity` says the entity's target keys are its source keys.
// Errors name the file and line and never quote the file's text (it may be any file): a NUL
// byte or a line longer than kMaxKeysLine is not a file of keys.
Result<KeysFromFile> ReadKeysFile(const std::string& path, const std::string& single_entity,
                                  const std::map<std::string, bool>& identity);

// Splits one CSV line (RFC 4180 quoting, no line breaks inside fields).
Result<std::vector<std::string>> SplitCsvLine(const std::string& line);

}  // namespace tether::cli
