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
// NumericDelta of a change, none for an identifier column (FieldChange::is_id).
std::optional<std::string> ChangeDelta(const FieldChange& c);
// "10.5 → 12" plus " (Δ +1.5)" when both sides are numbers (ChangeDelta).
std::string FormatChange(const FieldChange& c);
nlohmann::json RecordToJson(const RecordPlan& r);
// One CSV line per field change (or one per record without changes), no trailing newline.
std::vector<std::string> RecordToCsv(const RecordPlan& r);
std::string CsvField(const std::string& s);
// A value as plans, diffs and CSV show it: Value::ToText, bytes that are not UTF-8 as \xHH.
std::string ValueText(const Value& v);
// `j` as JSON text; text that is not UTF-8 (read from a state store written before it was kept
// valid) has its bad bytes replaced by U+FFFD rather than stopping the output.
std::string JsonText(const nlohmann::json& j, int indent = -1);

}  // namespace tether::cli
