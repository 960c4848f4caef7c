// RAII owners for libpq's handles (PGconn*, PGresult*) and the bridge between Value and
// PostgreSQL's wire forms: bound parameters, result fields, COPY text rows, SQLSTATE codes.
// Private to the PostgreSQL connector; each object is used by one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <array>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/postgres/postgres_dialect.h"
#include "core/status.h"
#include "core/value.h"

namespace tether::postgres {

struct ConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using ConnHandle = std::unique_ptr<PGconn, ConnCloser>;

struct ResultCloser {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultHandle = std::unique_ptr<PGresult, ResultCloser>;

// The values bound to one statement's $1.. placeholders, in the arrays PQexecParams takes.
// Int, Real, Decimal and Text travel in text format, Bool as "t"/"f", Blob in binary format
// typed bytea, NULL as a null pointer. Text and Decimal point into the Values, which must stay
// alive (and unchanged) until the statement has been sent.
class Params {
 public:
  void Reserve(size_t n);
  // Appends `v`, typed `type` (0: PostgreSQL infers the type from where the placeholder is).
  // False when `v` is text holding a NUL character, which PostgreSQL cannot store.
  [[nodiscard]] bool Add(const Value& v, TypeOid type = 0);
  void Clear();

  int size() const { return static_cast<int>(values_.size()); }
  const TypeOid* types() const { return types_.data(); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  std::vector<TypeOid> types_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  // Text forms of numbers; a deque never moves its elements, so values_ may point into it.
  std::deque<std::array<char, 32>> numbers_;
  size_t numbers_used_ = 0;
};

// How a result column becomes a Value, decided once per result from the column's type OID.
enum class FieldKind {
  kInt,
  kDecimal,
  kReal,
  kBool,
  kBlob,
  kDate,
  kTime,
  kTimestamp,
  kTimestampTz,
  kText,
  kPaddedText  // char(n): without its trailing spaces
};
std::vector<FieldKind> FieldKinds(const PGresult* result);

// Row `row` of a text-format result as Values: integers as Int, numeric as Decimal, floats as
// Real (NaN and infinities too), bool as Bool, bytea as Blob, dates, times and timestamps as
// their canonical text (core/temporal.h; values with no canonical form, such as 'infinity',
// stay as PostgreSQL wrote them), everything else as Text.
void ReadRow(const PGresult* result, int row, const std::vector<FieldKind>& kinds, Row* out);

// Appends `v` as one field of a COPY ... FROM STDIN text-format row, escaped. False when `v`
// is text holding a NUL character.
[[nodiscard]] bool AppendCopyField(const Value& v, std::string* out);

// A failed result as a message: the server's primary message, then its detail, if any.
std::string ResultMessage(const PGresult* result);

// A failed result as a Status whose message starts with `context`: the SQLSTATE decides the
// code, except that a connection that broke is always kConnection.
Status ResultError(PGconn* conn, const PGresult* result, std::string_view context);

// libpq returned no result at all (out of memory, or the connection is gone).
Status ConnError(PGconn* conn, std::string_view context);

// The 1-based line a failed COPY FROM STDIN reports in its context ("COPY t, line 3"), or 0.
size_t CopyErrorLine(const PGresult* result);

}  // namespace tether::postgres
