// Normalisation of a text value before it is compared as a match key (`match: [{ column: email,
// normalize: [lower, trim] }]`): `lower` turns the ASCII letters A-Z into a-z and `trim` removes
// leading and trailing spaces (U+0020). Both are defined on bytes, so that every engine computes
// the same thing — SQLite's lower() and trim(), PostgreSQL's lower() under the "C" collation and
// btrim(); other letters (É, ß) compare as they are. Plain data and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"

namespace tether {

struct Normalization {
  bool lower = false;
  bool trim = false;
  bool any() const { return lower || trim; }
  bool operator==(const Normalization&) const = default;
};

// Whether any of them normalises.
bool AnyNormalized(const std::vector<Normalization>& how);

// `lower`, `trim`, `lower, trim` or "" for none; for messages and plans.
std::string NormalizationName(const Normalization& n);

// "", "_lower", "_trim" or "_lower_trim": for the names of indexes on normalised values.
std::string NormalizationSuffix(const Normalization& n);

// The text normalised; values of other kinds are returned as they are.
Value Normalized(const Value& v, const Normalization& n);
// Each value of `row` normalised by the same position of `how` (none past its end).
Row Normalized(Row row, const std::vector<Normalization>& how);

}  // namespace tether
