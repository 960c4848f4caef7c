// "Did you mean ...?": the name a user most likely meant when a name they wrote is not found — a
// config key, an entity, a table, a column. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tether {

// Edit distance counting an adjacent transposition as one edit ("tabel" -> "table" is 1).
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a likely typo, else nullopt.
// Case alone never makes a difference too big ("SKU" for "sku").
std::optional<std::string_view> ClosestMatch(std::string_view word,
                                             const std::vector<std::string_view>& candidates);

// " (did you mean 'x'?)" for the closest of `known`, or "" when none is close.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& known);

}  // namespace tether
