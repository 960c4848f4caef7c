// COPY's binary format, for the bulk insert (postgres_copy.cc): the server then reads numbers,
// dates and timestamps without parsing text (measured: a 1M-row COPY 3.45 s → 3.05 s). Only
// the column types below have an encoding here; a COPY into any other type stays text.
#pragma once

#include <string>
#include <vector>

#include "connectors/postgres/postgres_dialect.h"
#include "core/value.h"

namespace tether::postgres {

// True when every type has a binary encoding here: bool, int2/4/8, float8, numeric, text,
// varchar, bpchar, bytea, date, time, timestamp, timestamptz, json, jsonb, uuid.
bool BinaryCopyable(const std::vector<TypeOid>& types);

// The signature, flags and header extension that start a binary COPY stream, and the trailer
// that ends it.
void AppendBinaryHeader(std::string* out);
void AppendBinaryTrailer(std::string* out);
// The start of a row of `fields` fields.
void AppendBinaryRowStart(size_t fields, std::string* out);

// Appends `v` as one field of a column of `type` (length-prefixed; NULL as length -1). False,
// with nothing appended, when v has no exact binary form for the type (a kind that does not
// fit, an integer out of the column's range, a time with more than 6 fraction digits, a
// non-canonical date): the caller then writes the row as text instead.
[[nodiscard]] bool AppendBinaryField(const Value& v, TypeOid type, std::string* out);

}  // namespace tether::postgres
