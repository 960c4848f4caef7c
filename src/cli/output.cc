#include "cli/output.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>

#include "core/utf8.h"

namespace tether::cli {
namespace {

bool AsNumber(const Value& v, long double* out) {
  switch (v.kind()) {
    case ValueKind::kInt:
      *out = v.as_int();
      return true;
    case ValueKind::kReal:
      *out = v.as_real();
      return true;
    case ValueKind::kDecimal: {
      char* end = nullptr;
      *out = std::strtold(v.as_string().c_str(), &end);
      return end && *end == '\0';
    }
    default:
      return false;
  }
}

// Digits after the decimal point in a number's text form (12.50 -> 2, 7 -> 0).
int DecimalPlaces(const Value& v) {
  if (v.kind() == ValueKind::kInt) return 0;
  std::string t = v.kind() == ValueKind::kReal ? v.ToText() : v.as_string();
  if (t.find_first_of("eE") != std::string::npos) return 6;
  size_t dot = t.find('.');
  return dot == std::string::npos ? 0 : static_cast<int>(t.size() - dot - 1);
}

std::string Quoted(const Value& v) {
  if (v.kind() == ValueKind::kText) return "\"" + ValueText(v) + "\"";
  return v.ToText();
}

}  // namespace

std::optional<std::string> NumericDelta(const Value& before, const Value& after) {
  long double a = 0, b = 0;
  if (!AsNumber(before, &a) || !AsNumber(after, &b)) return std::nullopt;
  // As precise as the inputs, no more: 40.99 -> 44 is 3.01, not 3.009999999999998.
  int places = std::max(DecimalPlaces(before), DecimalPlaces(after));
  std::string s = fmt::format("{:+.{}f}", static_cast<double>(b - a), places);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0" || s == "+0") s = "0";
  return s;
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = Utf8Length(header[i]);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], Utf8Length(r[i]));
    }
  }
  // A column of numbers lines up on the right (its header too); text on the left.
  auto is_number = [](const std::string& cell) {
    return !cell.empty() && cell.find_first_not_of("0123456789,.-+%") == std::string::npos;
  };
  std::vector<bool> right(header.size(), false);
  for (size_t i = 1; i < header.size(); ++i) {
    bool any = false, all = true;
    for (const auto& r : rows) {
      if (i >= r.size() || r[i].empty() || r[i] == "-") continue;
      any = true;
      all = all && is_number(r[i]);
    }
    right[i] = any && all;
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < width.size(); ++i) {
      std::string cell = i < r.size() ? r[i] : "";
      std::string pad(width[i] - Utf8Length(cell), ' ');
      if (i > 0) out += "  ";
      out += right[i] ? pad + cell : cell + pad;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

std::string Thousands(int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return n < 0 ? "-" + s : s;
}

std::optional<std::string> ChangeDelta(const FieldChange& c) {
  if (c.is_id) return std::nullopt;  // 970 → 1202 is another record, not 232 more of one
  return NumericDelta(c.before, c.after);
}

std::string FormatChange(const FieldChange& c) {
  std::string s = fmt::format("{}: {} → {}", c.column, Quoted(c.before), Quoted(c.after));
  if (auto d = ChangeDelta(c)) s += fmt::format(" (Δ {})", *d);
  return s;
}

nlohmann::json RecordToJson(const RecordPlan& r) {
  nlohmann::json j = {{"entity", r.entity},
                      {"source_id", r.source_id},
                      {"action", std::string(ActionName(r.action))}};
  if (!r.target_id.empty()) j["target_id"] = r.target_id;
  if (!r.reason.empty()) j["reason"] = r.reason;
  if (!r.changes.empty()) {
    nlohmann::json ch = nlohmann::json::array();
    for (const FieldChange& c : r.changes) {
      nlohmann::json one = {
          {"column", c.column}, {"before", ValueToJson(c.before)}, {"after", ValueToJson(c.after)}};
      if (auto d = ChangeDelta(c)) one["delta"] = std::stod(*d);
      ch.push_back(std::move(one));
    }
    j["changes"] = std::move(ch);
  }
  return j;
}

std::string ValueText(const Value& v) { return EscapeInvalidUtf8(v.ToText()); }

std::string JsonText(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::vector<std::string> RecordToCsv(const RecordPlan& r) {
  std::vector<std::string> lines;
  auto base = [&] {
    return fmt::format("{},{},{},{}", CsvField(r.entity), CsvField(r.source_id),
                       CsvField(r.target_id), ActionName(r.action));
  };
  if (r.changes.empty()) {
    lines.push_back(base() + ",,,,," + CsvField(r.reason));
    return lines;
  }
  for (const FieldChange& c : r.changes) {
    std::string delta = ChangeDelta(c).value_or("");
    lines.push_back(base() + "," + CsvField(c.column) + "," + CsvField(ValueText(c.before)) + "," +
                    CsvField(ValueText(c.after)) + "," + delta + ",");
  }
  return lines;
}

}  // namespace tether::cli
