// Formatting helpers for the CLI: tables, numbers, record plans as table / JSON / CSV lines.
// Pure functions over engine results; thread-compatible.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/sync.h"

namespace tether::cli {

// A text table with a header row; columns after the first are right-aligned.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);
std::string Thousands(int64_t n);
// after - before, signed, with as many decimals as the inputs have; nullopt unless both are
// numbers.
std::optional<std::string> NumericDelta(const Value& before, const Value& after);
// "10.5 → 12" plus " (Δ +1.5)" when both sides are numbers.
std::string FormatChange(const FieldChange& c);
nlohmann::json RecordToJson(const RecordPlan& r);
nlohmann::json CountsToJson(const RunCounts& c);
// One CSV line per field change (or one per record without changes), no trailing newline.
std::vector<std::string> RecordToCsv(const RecordPlan& r);
std::string CsvField(const std::string& s);

}  // namespace tether::cli
