// What the SQL connectors share for key ranges (Scan's after_key / upto_key, KeyRange) and for
// range checksums (Connector::Checksum, ChecksumBuckets, KeyBounds, RowHashes). Pure functions;
// safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/connector.h"
#include "core/status.h"
#include "core/value.h"

namespace tether {

// "" when each bound that is present holds one value per key column (and there are key columns);
// otherwise what is wrong, naming the bound (`after_name`, `upto_name`), for an error message.
std::string KeyBoundsProblem(const std::vector<std::string>& key_columns,
                             const std::optional<Row>& after, const std::optional<Row>& upto,
                             std::string_view after_name, std::string_view upto_name);

// An exact integer in decimal text ("-12", "18446744073709551621") modulo 2^64: the sums of row
// hashes come back wider than 64 bits (numeric, decimal). nullopt when it is not an integer.
std::optional<uint64_t> DecimalModulo64(std::string_view text);

// A query over a ChecksumRequest's range, for the connectors that bind `?` placeholders in order
// (SQLite, MySQL): `head` (SELECT ... FROM t) WHERE conditions AND range [AND `also`] `tail`,
// binding `head_params`, the values of the conditions and the range, then `also_params`.
struct RangeSql {
  std::string head;
  Row head_params;
  std::string also;
  Row also_params;
  std::string tail;

  static RangeSql Select(std::string head) {
    RangeSql q;
    q.head = std::move(head);
    return q;
  }
};

// A sum of row hashes as a query returns it (an Int, an exact Decimal or its text; NULL, the sum
// of no rows, is 0) modulo 2^64; nullopt for anything else.
std::optional<uint64_t> SumModulo64(const Value& sum);

// What is wrong with a request's key columns and range (none, or a bound of another size), or "".
std::string RangeRequestProblem(const ChecksumRequest& request);

// What is wrong with a ChecksumBuckets request (no key columns, a width below 1, last before
// origin), or "". The SQL writes the three numbers as literals: tether's own integers.
std::string KeyBucketsProblem(const ChecksumRequest& request, const KeyBuckets& buckets);

// ChecksumBuckets' result rows (bucket, count, sum, least, greatest, in any order) as
// BucketChecksums in bucket order; an Internal error naming `what` for a row of another shape.
Result<std::vector<BucketChecksum>> ReadBucketRows(const std::vector<Row>& rows,
                                                   const std::string& what);

// KeyBounds' result row (least, greatest, both NULL for no row); an InvalidArgument error naming
// a bound that is not an integer, an Internal one for another shape.
Result<std::optional<std::pair<int64_t, int64_t>>> ReadBoundsRow(const std::vector<Row>& rows,
                                                                 const std::string& what);

}  // namespace tether
