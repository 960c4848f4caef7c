// What the SQL connectors share for key ranges (Scan's after_key / upto_key, KeyRange) and for
// range checksums (Connector::Checksum, RowHashes). Pure functions; safe from any thread.
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

// An exact integer in decimal text ("-12", "18446744073709551621") modulo 2^64: the sums of row
// hashes come back wider than 64 bits (numeric, decimal). nullopt when it is not an integer.
std::optional<uint64_t> DecimalModulo64(std::string_view text);

}  // namespace tether
