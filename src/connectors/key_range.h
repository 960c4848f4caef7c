// What the SQL connectors share for key ranges (Scan's after_key / upto_key, KeyRange) and for
// range checksums (Connector::Checksum, KeySplits). Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"

namespace tether {

// "" when each bound that is present holds one value per key column (and there are key columns);
// otherwise what is wrong, naming the bound (`after_name`, `upto_name`), for an error message.
std::string KeyBoundsProblem(const std::vector<std::string>& key_columns,
                             const std::optional<Row>& after, const std::optional<Row>& upto,
                             std::string_view after_name, std::string_view upto_name);

// Connector::KeySplits as one statement in every engine, the rows of the range numbered in key
// order by a window function:
//   <head> [WHERE conditions AND range] <tail>
// returns the keys and the number of each row numbered a multiple of `every` and of the row
// after it, which tells whether a part follows the cut (no cut at the last row). `keys`: the
// quoted key columns joined by ','; `table`: quoted; `every`: its placeholder.
std::string KeySplitsHead(const std::string& keys, const std::string& table);
std::string KeySplitsTail(const std::string& every);
// The cut points among the rows of that statement (each: the keys, then the row number).
std::vector<Row> CutsOf(std::vector<Row> numbered, size_t every);

// An exact integer in decimal text ("-12", "18446744073709551621") modulo 2^64: the sums of row
// hashes come back wider than 64 bits (numeric, decimal). nullopt when it is not an integer.
std::optional<uint64_t> DecimalModulo64(std::string_view text);

}  // namespace tether
