// Reads of the MySQL/MariaDB connector: keyset scans streamed off the socket, batched lookups
// and counts.
#include <algorithm>
#include <bit>
#include <unordered_set>

#include "connectors/key_range.h"
#include "connectors/mysql/mysql_connector_impl.h"
#include "connectors/mysql/mysql_dialect.h"
#include "connectors/sql_text.h"
#include "core/ascii.h"

namespace tether::mysql {
namespace {

// Keys per Lookup statement; chunks are padded up to a power of two so that few shapes exist.
constexpr size_t kMaxLookupKeys = 1024;
// The protocol numbers placeholders with 16 bits.
constexpr size_t kMaxPlaceholders = 65535;

// Values bound by a statement, each with the column it is compared with (for NormalizeZones).
struct Params {
  Row values;
  std::vector<std::string> columns;

  void Add(const std::string& column, const Value& v) {
    columns.push_back(column);
    values.push_back(v);
  }
};

// Appends " WHERE c1 op ? AND ..." and collects the values to bind; returns the joiner for
// whatever comes next (" WHERE " when there were no conditions, " AND " otherwise).
const char* AppendConditions(const std::vector<Condition>& conditions, std::string* sql,
                             Params* params) {
  return tether::AppendConditions(conditions, kSqlDialect, sql, [params](const Condition& c) {
    params->Add(c.column, c.value);
    return params->values.size();
  });
}

// `keys` compared with `bound` as a row value, written out as an OR chain:
// (k1 op ?) OR (k1 = ? AND k2 op ?) OR ..., the last column compared with `last_op`. MariaDB reads
// a row comparison with a full index scan, the expanded form as a range of the key's index. Both
// sides compare with the columns' collations, as ORDER BY does, so pages neither overlap nor skip
// rows (a case-insensitive 'a' and 'A' sort together and compare equal).
void AppendKeyBound(const std::vector<std::string>& keys, const Row& bound, const char* op,
                    const char* last_op, std::string* sql, Params* params) {
  *sql += "(";
  for (size_t i = 0; i < keys.size(); ++i) {
    *sql += i ? " OR (" : "(";
    for (size_t j = 0; j < i; ++j) {
      *sql += QuoteIdent(keys[j]) + " = ? AND ";
      params->Add(keys[j], bound[j]);
    }
    *sql += QuoteIdent(keys[i]) + " " + (i + 1 == keys.size() ? last_op : op) + " ?)";
    params->Add(keys[i], bound[i]);
  }
  *sql += ")";
}

// " AND <keys above after> AND <keys at most upto>" for the bounds present, starting with
// `joiner`; returns the joiner for whatever comes next.
const char* AppendKeyRange(const std::vector<std::string>& keys, const std::optional<Row>& after,
                           const std::optional<Row>& upto, const char* joiner, std::string* sql,
                           Params* params) {
  if (after) {
    *sql += joiner;
    joiner = " AND ";
    AppendKeyBound(keys, *after, ">", ">", sql, params);
  }
  if (upto) {
    *sql += joiner;
    joiner = " AND ";
    AppendKeyBound(keys, *upto, "<", "<=", sql, params);
  }
  return joiner;
}

std::vector<const Value*> Pointers(const Row& values) {
  std::vector<const Value*> out;
  out.reserve(values.size());
  for (const Value& v : values) out.push_back(&v);
  return out;
}

}  // namespace

Result<std::unique_ptr<RowStream>> MysqlConnector::Scan(const ScanRequest& request) {
  const std::string what = "scanning " + request.table;
  std::string sql = "SELECT ";
  sql += request.columns.empty() ? "*" : QuoteList(request.columns);
  sql += " FROM " + QuoteIdent(request.table);

  const std::vector<std::string>& keys = request.key_columns;
  const std::string problem =
      KeyBoundsProblem(keys, request.after_key, request.upto_key, "after_key", "upto_key");
  if (!problem.empty()) return InvalidArgument(what, problem);
  Params params;
  const char* joiner = AppendConditions(request.conditions, &sql, &params);
  AppendKeyRange(keys, request.after_key, request.upto_key, joiner, &sql, &params);
  if (!keys.empty()) sql += " ORDER BY " + QuoteList(keys);
  if (request.limit > 0) {
    sql += " LIMIT ?";
    params.Add("", Value::Int(static_cast<int64_t>(request.limit)));
    if (request.skip > 0) {
      sql += " OFFSET ?";
      params.Add("", Value::Int(static_cast<int64_t>(request.skip)));
    }
  }

  std::vector<const Row*> rows = {&params.values};
  std::vector<Row> storage;
  TETHER_RETURN_IF_ERROR(NormalizeZones(request.table, params.columns, &rows, &storage));
  TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt, Execute(sql, Pointers(*rows[0]), what));
  auto stream = std::make_unique<MysqlRowStream>(this, stmt, where_ + ": " + what);
  if (!stream->Prepare()) return StmtError(stmt, what);
  open_stream_ = stream.get();
  return std::unique_ptr<RowStream>(std::move(stream));
}

Result<int64_t> MysqlConnector::Count(const std::string& table,
                                      const std::vector<Condition>& conditions) {
  const std::string what = "counting rows of " + table;
  std::string sql = "SELECT COUNT(*) FROM " + QuoteIdent(table);
  Params params;
  AppendConditions(conditions, &sql, &params);
  std::vector<const Row*> rows = {&params.values};
  std::vector<Row> storage;
  TETHER_RETURN_IF_ERROR(NormalizeZones(table, params.columns, &rows, &storage));
  TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt, Execute(sql, Pointers(*rows[0]), what));
  TETHER_ASSIGN_OR_RETURN(auto result, FetchAll(stmt, what));
  if (result.size() != 1 || result[0].size() != 1 || result[0][0].kind() != ValueKind::kInt) {
    return Status::Internal(where_ + ": " + what + ": unexpected result of COUNT(*)");
  }
  return result[0][0].as_int();
}

Result<std::vector<Row>> MysqlConnector::RangeQuery(const RangeSql& q,
                                                    const ChecksumRequest& request,
                                                    std::string_view what) {
  const std::string problem =
      KeyBoundsProblem(request.key_columns, request.range.after, request.range.upto,
                       "the range's after", "the range's upto");
  if (!problem.empty()) return InvalidArgument(what, problem);
  std::string sql = q.head;
  Params params;
  for (const Value& v : q.head_params) params.Add("", v);
  const char* joiner = AppendConditions(request.conditions, &sql, &params);
  joiner = AppendKeyRange(request.key_columns, request.range.after, request.range.upto, joiner,
                          &sql, &params);
  if (!q.also.empty()) sql += joiner + q.also;
  for (const Value& v : q.also_params) params.Add("", v);
  sql += q.tail;
  std::vector<const Row*> rows = {&params.values};
  std::vector<Row> storage;
  TETHER_RETURN_IF_ERROR(NormalizeZones(request.table, params.columns, &rows, &storage));
  TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt, Execute(sql, Pointers(*rows[0]), what));
  return FetchAll(stmt, what);
}

namespace {

// A row's hash: the first 16 hex digits of its MD5 as an unsigned 64-bit number.
std::string RowHashSql(const std::vector<ColumnInfo>& columns) {
  std::string row;
  for (const ColumnInfo& column : columns) {
    row += (row.empty() ? "" : ", ") + ChecksumField(column);
  }
  row = row.empty() ? "''" : "CONCAT(" + row + ")";
  return "CAST(CONV(LEFT(MD5(" + row + "), 16), 16, 10) AS UNSIGNED)";
}

}  // namespace

Result<std::vector<Row>> MysqlConnector::RowHashes(const ChecksumRequest& request) {
  const std::string what = "hashing the rows of " + request.table;
  RangeSql q;
  q.head = "SELECT " + QuoteList(request.key_columns) + ", " + RowHashSql(request.columns) +
           " FROM " + QuoteIdent(request.table);
  TETHER_ASSIGN_OR_RETURN(auto rows, RangeQuery(q, request, what));
  // A hash past 2^63 - 1 reads as a decimal: the same 64 bits as a signed Int.
  for (Row& r : rows) {
    Value& hash = r.back();
    if (hash.kind() == ValueKind::kInt) continue;
    std::optional<uint64_t> bits;
    if (hash.kind() == ValueKind::kDecimal || hash.kind() == ValueKind::kText) {
      bits = DecimalModulo64(hash.as_string());
    }
    if (!bits) return Status::Internal(where_ + ": " + what + ": unexpected row hash");
    hash = Value::Int(static_cast<int64_t>(*bits));
  }
  return rows;
}

Result<RangeChecksum> MysqlConnector::Checksum(const ChecksumRequest& request) {
  const std::string what = "computing a checksum of " + request.table;
  // SUM of the unsigned hashes is an exact decimal, taken modulo 2^64 here.
  RangeSql q;
  q.head =
      "SELECT COUNT(*), SUM(" + RowHashSql(request.columns) + ") FROM " + QuoteIdent(request.table);
  TETHER_ASSIGN_OR_RETURN(auto result, RangeQuery(q, request, what));
  std::optional<uint64_t> sum;
  if (result.size() == 1 && result[0].size() == 2 && result[0][0].kind() == ValueKind::kInt) {
    sum = SumModulo64(result[0][1]);
  }
  if (!sum) return Status::Internal(where_ + ": " + what + ": unexpected result of the checksum");
  return RangeChecksum{result[0][0].as_int(), *sum};
}

Result<std::vector<BucketChecksum>> MysqlConnector::ChecksumBuckets(const ChecksumRequest& request,
                                                                    const KeyBuckets& buckets) {
  const std::string what = "computing bucket checksums of " + request.table;
  const std::string problem = KeyBucketsProblem(request, buckets);
  if (!problem.empty()) return InvalidArgument(what, problem);
  const std::string key = QuoteIdent(request.key_columns[0]);
  RangeSql q;
  // Signed: an unsigned column would make the difference unsigned.
  q.head = "SELECT (CAST(" + key + " AS SIGNED) - ?) DIV ?, COUNT(*), SUM(" +
           RowHashSql(request.columns) + "), MIN(" + key + "), MAX(" + key + ") FROM " +
           QuoteIdent(request.table);
  q.head_params = {Value::Int(buckets.origin), Value::Int(buckets.width)};
  q.also = key + " >= ? AND " + key + " <= ?";
  q.also_params = {Value::Int(buckets.origin), Value::Int(buckets.last)};
  q.tail = " GROUP BY 1";
  TETHER_ASSIGN_OR_RETURN(auto rows, RangeQuery(q, request, what));
  return ReadBucketRows(rows, where_ + ": " + what);
}

Result<std::optional<std::pair<int64_t, int64_t>>> MysqlConnector::KeyBounds(
    const ChecksumRequest& request) {
  const std::string what = "finding the key bounds of " + request.table;
  const std::string problem = RangeRequestProblem(request);
  if (!problem.empty()) return InvalidArgument(what, problem);
  const std::string key = QuoteIdent(request.key_columns[0]);
  RangeSql q;
  q.head = "SELECT MIN(" + key + "), MAX(" + key + ") FROM " + QuoteIdent(request.table);
  TETHER_ASSIGN_OR_RETURN(auto rows, RangeQuery(q, request, what));
  return ReadBoundsRow(rows, where_ + ": " + what);
}

Result<const std::unordered_map<std::string, std::string>*> MysqlConnector::ColumnCollations(
    const std::string& table, std::string_view what) {
  auto it = collations_.find(table);
  if (it != collations_.end()) return &it->second;
  static const std::string kCollations =
      "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS "
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?";
  const Value name = Value::Text(table);
  TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt, Execute(kCollations, {&name}, what));
  TETHER_ASSIGN_OR_RETURN(auto rows, FetchAll(stmt, what));
  std::unordered_map<std::string, std::string> collations;
  for (const Row& r : rows) {
    if (r.size() == 2 && r[0].kind() == ValueKind::kText && r[1].kind() == ValueKind::kText) {
      collations.emplace(AsciiLower(r[0].as_string()), AsciiLower(r[1].as_string()));
    }
  }
  return &collations_.emplace(table, std::move(collations)).first->second;
}

Result<std::vector<MysqlConnector::LookupColumn>> MysqlConnector::LookupColumns(
    const LookupRequest& request, std::string_view what) {
  std::vector<LookupColumn> out;
  for (size_t i = 0; i < request.by_columns.size(); ++i) {
    LookupColumn& c = out.emplace_back();
    c.column_sql = QuoteIdent(request.by_columns[i]);
    c.key_sql = "?";
    const Normalization how = i < request.normalize.size() ? request.normalize[i] : Normalization{};
    if (!how.any()) continue;
    if (how.lower && !how.trim) {
      TETHER_ASSIGN_OR_RETURN(const auto* collations, ColumnCollations(request.table, what));
      auto collation = collations->find(AsciiLower(request.by_columns[i]));
      // Case-insensitive collations (utf8mb4_general_ci, ..._unicode_ci): A-Z equal a-z, so
      // the column compares as its lower-cased value would, and more. Not the Turkish ones,
      // where I is not i.
      if (collation != collations->end() && collation->second.ends_with("_ci") &&
          collation->second.find("turkish") == std::string::npos &&
          collation->second.find("azeri") == std::string::npos) {
        continue;
      }
    }
    // Both sides through the server's LOWER, which changes A-Z as Normalized() does (and other
    // letters, alike on both sides): every row that matches exactly is found.
    if (how.trim) c.column_sql = "TRIM(" + c.column_sql + ")";
    if (how.lower) {
      c.column_sql = "LOWER(" + c.column_sql + ")";
      c.key_sql = "LOWER(?)";
    }
    c.plain = false;
  }
  return out;
}

Result<bool> MysqlConnector::LookupUsesIndex(const LookupRequest& request) {
  const std::string what = "checking how rows of " + request.table + " are looked up";
  if (request.by_columns.empty()) return InvalidArgument(what, "no by_columns");
  TETHER_ASSIGN_OR_RETURN(std::vector<LookupColumn> by, LookupColumns(request, what));
  // An index led by one of the columns compared as they are serves the lookup.
  static const std::string kLeading =
      "SELECT COLUMN_NAME FROM information_schema.STATISTICS "
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1";
  const Value name = Value::Text(request.table);
  TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt, Execute(kLeading, {&name}, what));
  TETHER_ASSIGN_OR_RETURN(auto rows, FetchAll(stmt, what));
  for (const Row& r : rows) {
    if (r.empty() || r[0].kind() != ValueKind::kText) continue;
    for (size_t i = 0; i < by.size(); ++i) {
      if (by[i].plain && AsciiLower(r[0].as_string()) == AsciiLower(request.by_columns[i])) {
        return true;
      }
    }
  }
  return false;
}

Result<std::vector<Row>> MysqlConnector::Lookup(const LookupRequest& request) {
  const std::string what = "looking up rows of " + request.table;
  const size_t arity = request.by_columns.size();
  if (arity == 0) return InvalidArgument(what, "no by_columns");
  TETHER_RETURN_IF_ERROR(CheckArity(what, request.keys, arity));

  // Each key once: a repeated key would only make the statement longer.
  std::vector<const Row*> keys;
  keys.reserve(request.keys.size());
  {
    std::unordered_set<std::string> seen;
    for (const Row& key : request.keys) {
      if (seen.insert(EncodeKey(key)).second) keys.push_back(&key);
    }
  }
  std::vector<Row> storage;
  TETHER_RETURN_IF_ERROR(NormalizeZones(request.table, request.by_columns, &keys, &storage));

  // `c IN (?, ...)`, or `(a, b) IN ((?, ?), ...)`, which MariaDB reads as ranges of an index.
  TETHER_ASSIGN_OR_RETURN(std::vector<LookupColumn> by, LookupColumns(request, what));
  std::string head = "SELECT ";
  head += request.columns.empty() ? "*" : QuoteList(request.columns);
  head += " FROM " + QuoteIdent(request.table) + " WHERE ";
  std::string compared, tuple;
  for (size_t i = 0; i < arity; ++i) {
    compared += (i ? ", " : "") + by[i].column_sql;
    tuple += (i ? ", " : "") + by[i].key_sql;
  }
  head += arity == 1 ? compared + " IN (" : "(" + compared + ") IN (";
  if (arity > 1) tuple = "(" + tuple + ")";
  const size_t max_keys = std::clamp<size_t>(kMaxPlaceholders / arity, 1, kMaxLookupKeys);
  const Value null;

  std::vector<Row> out;
  for (size_t begin = 0; begin < keys.size();) {
    const size_t n = std::min(max_keys, keys.size() - begin);
    // Padding with NULL keys (they match nothing) keeps the number of statement shapes small.
    const size_t slots = std::min(std::bit_ceil(n), max_keys);
    std::string sql = head;
    sql.reserve(head.size() + slots * (tuple.size() + 1) + 1);
    for (size_t j = 0; j < slots; ++j) {
      if (j) sql += ',';
      sql += tuple;
    }
    sql += ")";
    std::vector<const Value*> params;
    params.reserve(slots * arity);
    for (size_t j = 0; j < slots; ++j) {
      for (size_t i = 0; i < arity; ++i) params.push_back(j < n ? &(*keys[begin + j])[i] : &null);
    }
    TETHER_ASSIGN_OR_RETURN(MYSQL_STMT * stmt, Execute(sql, params, what));
    TETHER_ASSIGN_OR_RETURN(auto rows, FetchAll(stmt, what));
    if (out.empty()) {
      out = std::move(rows);
    } else {
      out.insert(out.end(), std::make_move_iterator(rows.begin()),
                 std::make_move_iterator(rows.end()));
    }
    begin += n;
  }
  return out;
}

}  // namespace tether::mysql
