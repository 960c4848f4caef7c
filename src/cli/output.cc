#include "cli/output.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace tether::cli {
namespace {

size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

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

std::string Quoted(const Value& v) {
  if (v.kind() == ValueKind::kText) return "\"" + v.as_string() + "\"";
  return v.ToText();
}

}  // namespace

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = DisplayWidth(header[i]);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], DisplayWidth(r[i]));
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < width.size(); ++i) {
      std::string cell = i < r.size() ? r[i] : "";
      std::string pad(width[i] - DisplayWidth(cell), ' ');
      if (i > 0) out += "  ";
      out += i == 0 ? cell + pad : pad + cell;
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

std::string FormatChange(const FieldChange& c) {
  std::string s = fmt::format("{}: {} → {}", c.column, Quoted(c.before), Quoted(c.after));
  long double a = 0, b = 0;
  if (AsNumber(c.before, &a) && AsNumber(c.after, &b)) {
    long double d = b - a;
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<double>(d));
    (void)ec;
    s += fmt::format(" (Δ {}{})", d >= 0 ? "+" : "", std::string(buf, end));
  }
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
      long double a = 0, b = 0;
      if (AsNumber(c.before, &a) && AsNumber(c.after, &b))
        one["delta"] = static_cast<double>(b - a);
      ch.push_back(std::move(one));
    }
    j["changes"] = std::move(ch);
  }
  return j;
}

nlohmann::json CountsToJson(const RunCounts& c) {
  return {{"read", c.read},           {"inserted", c.inserted}, {"updated", c.updated},
          {"unchanged", c.unchanged}, {"linked", c.linked},     {"deleted", c.deleted},
          {"skipped", c.skipped},     {"failed", c.failed}};
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
    long double a = 0, b = 0;
    std::string delta;
    if (AsNumber(c.before, &a) && AsNumber(c.after, &b)) {
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<double>(b - a));
      (void)ec;
      delta = std::string(buf, end);
    }
    lines.push_back(base() + "," + CsvField(c.column) + "," + CsvField(c.before.ToText()) + "," +
                    CsvField(c.after.ToText()) + "," + delta + ",");
  }
  return lines;
}

}  // namespace tether::cli
