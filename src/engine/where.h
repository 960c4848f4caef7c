// The `where` filters of a run ("[entity.]column op value", sync --where and the API's run
// field `where`) turned into each selected entity's read conditions, checked against the
// entities' source tables. Pure; thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/schema.h"
#include "core/status.h"

namespace tether {

// A prefixed filter goes to its entity, which must be selected and whose source table must have
// the column; an unprefixed one to every selected entity whose source table has the column (at
// least one must). `source_schema` gives a selected entity's source table, or nullptr to check
// only the filters' syntax and entities (every column then counts as present). kInvalidArgument
// whose message starts with `label` and the filter ("--where 'price > 3': ...").
Result<std::map<std::string, std::vector<Condition>>> WhereConditions(
    std::string_view label, const std::vector<std::string>& where,
    const std::vector<std::string>& selected,
    const std::function<const TableSchema*(const std::string& entity)>& source_schema);

}  // namespace tether
