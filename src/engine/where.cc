#include "engine/where.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include "config/text.h"

namespace tether {
namespace {

// "entity.column op value" -> (entity, "column op value"); nullopt when the filter has no entity
// prefix (a plain "column op value", or a dot that is not after a leading name).
std::optional<std::pair<std::string, std::string>> SplitEntity(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  const size_t start = i;
  if (i == text.size() || !config_internal::IsIdentifierStart(text[i])) return std::nullopt;
  while (i < text.size() && config_internal::IsIdentifierChar(text[i])) ++i;
  if (i + 1 >= text.size() || text[i] != '.' || !config_internal::IsIdentifierStart(text[i + 1]))
    return std::nullopt;
  const std::string_view rest = text.substr(i + 1);
  if (rest.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
  return std::make_pair(std::string(text.substr(start, i - start)), std::string(rest));
}

}  // namespace

Result<std::map<std::string, std::vector<Condition>>> WhereConditions(
    std::string_view label, const std::vector<std::string>& where,
    const std::vector<std::string>& selected,
    const std::function<const TableSchema*(const std::string& entity)>& source_schema) {
  auto has_column = [&](const std::string& entity, const std::string& column) {
    const TableSchema* schema = source_schema(entity);
    return schema == nullptr || schema->Find(column) != nullptr;
  };
  std::map<std::string, std::vector<Condition>> out;
  for (const std::string& text : where) {
    std::string entity;
    std::string cond_text = text;
    if (auto split = SplitEntity(text)) std::tie(entity, cond_text) = std::move(*split);
    Result<Condition> c = ParseCondition(cond_text);
    if (!c.ok()) return c.status().WithContext(fmt::format("{} '{}'", label, text));
    if (!entity.empty()) {
      if (std::find(selected.begin(), selected.end(), entity) == selected.end()) {
        return Status::InvalidArgument(
            fmt::format("{} '{}': entity '{}' is not selected in this run", label, text, entity));
      }
      if (!has_column(entity, c->column)) {
        return Status::InvalidArgument(
            fmt::format("{} '{}': the source table '{}' of entity '{}' has no column '{}'", label,
                        text, source_schema(entity)->name, entity, c->column));
      }
      out[entity].push_back(*c);
      continue;
    }
    bool applied = false;
    for (const std::string& name : selected) {
      if (!has_column(name, c->column)) continue;
      out[name].push_back(*c);
      applied = true;
    }
    if (!applied) {
      return Status::InvalidArgument(fmt::format(
          "{} '{}': no selected entity's source table has a column '{}'", label, text, c->column));
    }
  }
  return out;
}

}  // namespace tether
