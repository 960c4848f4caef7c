#include "connectors/mysql/mysql_dialect.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "connectors/sql_text.h"
#include "core/ascii.h"

namespace tether::mysql {

std::string QuoteIdent(std::string_view name) { return kSqlDialect.Quote(name); }

std::string QuoteList(const std::vector<std::string>& names) {
  return QuoteIdentifiers(names, kSqlDialect.quote);
}

std::string Placeholders(size_t n) { return QuestionMarks(n); }

namespace {

bool OneOf(const std::string& s, std::initializer_list<std::string_view> options) {
  return std::find(options.begin(), options.end(), s) != options.end();
}

std::optional<int> AsInt(const std::optional<int64_t>& v) {
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

}  // namespace

void ClassifyColumn(const ColumnFacts& f, ColumnInfo* column) {
  column->max_length.reset();
  column->precision.reset();
  column->scale.reset();
  column->holds_nan = column->holds_infinity = false;  // not in any column
  column->blank_padded = false;
  const std::string data_type = AsciiLower(f.data_type);
  const std::string column_type = AsciiLower(f.column_type);
  const bool is_unsigned = column_type.find("unsigned") != std::string::npos;

  TypeClass& t = column->type;
  if (data_type == "tinyint" && column_type.starts_with("tinyint(1)")) {
    t = TypeClass::kBoolean;
  } else if (data_type == "bigint" && is_unsigned) {
    // Values up to 2^64-1 do not fit an int64: they travel as exact decimals.
    t = TypeClass::kDecimal;
    column->precision = 20;
    column->scale = 0;
  } else if (OneOf(data_type, {"tinyint", "smallint", "mediumint", "int", "integer", "bigint",
                               "year", "bit"})) {
    t = TypeClass::kInteger;
  } else if (OneOf(data_type, {"decimal", "numeric", "dec", "fixed"})) {
    t = TypeClass::kDecimal;
    column->precision = AsInt(f.numeric_precision);
    column->scale = AsInt(f.numeric_scale);
  } else if (OneOf(data_type, {"float", "double", "real", "double precision"})) {
    t = TypeClass::kReal;
    if (data_type == "float") column->precision = 24;  // bits of a float's mantissa
  } else if (OneOf(data_type, {"char", "varchar"})) {
    t = TypeClass::kText;
    column->max_length = f.char_max_length;
    column->blank_padded = data_type == "char";  // read without its padding
  } else if (OneOf(data_type, {"tinytext", "text", "mediumtext", "longtext"})) {
    t = f.json_check ? TypeClass::kJson : TypeClass::kText;
  } else if (OneOf(data_type, {"enum", "set"})) {
    t = TypeClass::kText;
  } else if (data_type == "json") {
    t = TypeClass::kJson;
  } else if (data_type == "uuid") {
    t = TypeClass::kUuid;
  } else if (OneOf(data_type,
                   {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"})) {
    t = TypeClass::kBlob;
  } else if (data_type == "date") {
    t = TypeClass::kDate;
  } else if (data_type == "time") {
    t = TypeClass::kTime;
    column->scale = AsInt(f.datetime_precision).value_or(0);
  } else if (data_type == "datetime") {
    t = TypeClass::kTimestamp;
    column->scale = AsInt(f.datetime_precision).value_or(0);
  } else if (data_type == "timestamp") {
    t = TypeClass::kTimestampTz;
    column->scale = AsInt(f.datetime_precision).value_or(0);
  } else {
    t = TypeClass::kAny;  // geometry, inet6, vector, ...: passed along as the server sends them
  }
}

bool IsJsonValidCheck(std::string_view clause, std::string_view column) {
  std::string compact;
  for (char c : clause) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  }
  // Identifiers compare case-insensitively in MariaDB; the function name does too.
  return AsciiLower(compact) == AsciiLower("json_valid(" + QuoteIdent(column) + ")");
}

std::string ColumnTypeFor(const ColumnDef& c, bool native_uuid) {
  auto fraction = [&c](const char* name) {
    // Fractional seconds are kept to the microsecond unless the source says otherwise: MySQL
    // would otherwise round them away without a warning.
    return std::string(name) + "(" + std::to_string(std::clamp(c.scale.value_or(6), 0, 6)) + ")";
  };
  switch (c.type) {
    case TypeClass::kAny:
    case TypeClass::kText:
      if (c.max_length && *c.max_length > 0 &&
          *c.max_length <= 16383) {  // 16383 utf8mb4 characters fill varchar's 65535 bytes
        return "varchar(" + std::to_string(*c.max_length) + ")";
      }
      return "longtext";  // indexed by a prefix (IndexColumns)
    case TypeClass::kInteger:
      return c.auto_increment ? "bigint AUTO_INCREMENT" : "bigint";
    case TypeClass::kReal:
      return "double";
    case TypeClass::kDecimal: {
      if (!c.precision) return "decimal(65,30)";
      // MySQL's limits: 65 digits, 30 after the point.
      const int precision = std::clamp(*c.precision, 1, 65);
      const int scale = std::clamp(c.scale.value_or(0), 0, std::min(30, precision));
      return "decimal(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
    }
    case TypeClass::kBlob:
      if (c.max_length && *c.max_length > 0 && *c.max_length <= kMaxKeyBytes) {
        return "varbinary(" + std::to_string(*c.max_length) + ")";
      }
      return "longblob";
    case TypeClass::kBoolean:
      return "boolean";
    case TypeClass::kDate:
      return "date";
    case TypeClass::kTime:
      return fraction("time");
    case TypeClass::kTimestamp:
    case TypeClass::kTimestampTz:  // the session is UTC: a datetime holds the UTC time
      return fraction("datetime");
    case TypeClass::kJson:
      return "json";
    case TypeClass::kUuid:
      return native_uuid ? "uuid" : "char(36)";
  }
  return "longtext";
}

namespace {

// Bytes one unit of a column's length (a character of utf8mb4, a byte) takes in an index entry;
// 0 for the classes of a fixed size.
int64_t UnitBytes(TypeClass t) {
  switch (t) {
    case TypeClass::kAny:
    case TypeClass::kText:
      return 4;
    case TypeClass::kBlob:
      return 1;
    default:
      return 0;
  }
}

// A bound on the bytes a column of a fixed size takes in an index entry (decimal(65,30): 30;
// a uuid as char(36): 144).
int64_t FixedKeyBytes(TypeClass t) { return t == TypeClass::kUuid ? 144 : 32; }

const ColumnDef* FindColumn(const TableDef& def, const std::string& name) {
  for (const ColumnDef& c : def.columns) {
    if (AsciiLower(c.name) == AsciiLower(name)) return &c;
  }
  return nullptr;
}

// The units (characters, bytes) each of `columns` may take in one index entry: nullopt for a
// column whose whole length fits (and for fixed-size ones); else its share of what the others
// leave, shorter columns keeping their whole length first.
std::vector<std::optional<int64_t>> KeyShares(const TableDef& def,
                                              const std::vector<std::string>& columns) {
  struct Sized {
    size_t at;
    int64_t unit;
    std::optional<int64_t> bytes;  // of its whole length; nullopt: unbounded
  };
  std::vector<std::optional<int64_t>> shares(columns.size());
  std::vector<Sized> sized;
  int64_t budget = kMaxKeyBytes;
  for (size_t i = 0; i < columns.size(); ++i) {
    const ColumnDef* c = FindColumn(def, columns[i]);
    const int64_t unit = c ? UnitBytes(c->type) : 0;
    if (unit == 0) {
      budget -= FixedKeyBytes(c ? c->type : TypeClass::kAny);
      continue;
    }
    std::optional<int64_t> bytes;
    if (c->max_length && *c->max_length > 0) bytes = *c->max_length * unit;
    sized.push_back({i, unit, bytes});
  }
  std::stable_sort(sized.begin(), sized.end(), [](const Sized& a, const Sized& b) {
    return a.bytes && (!b.bytes || *a.bytes < *b.bytes);
  });
  for (size_t k = 0; k < sized.size(); ++k) {
    const int64_t fair = std::max<int64_t>(budget, 0) / static_cast<int64_t>(sized.size() - k);
    const Sized& part = sized[k];
    if (part.bytes && *part.bytes <= fair) {
      budget -= *part.bytes;
      continue;
    }
    const int64_t units = std::max<int64_t>(fair / part.unit, 1);
    shares[part.at] = units;
    budget -= units * part.unit;
  }
  return shares;
}

}  // namespace

TableDef WithKeyLengths(TableDef def) {
  const std::vector<std::optional<int64_t>> shares = KeyShares(def, def.primary_key);
  for (size_t i = 0; i < def.primary_key.size(); ++i) {
    if (!shares[i]) continue;
    for (ColumnDef& c : def.columns) {
      if (AsciiLower(c.name) == AsciiLower(def.primary_key[i])) c.max_length = *shares[i];
    }
  }
  return def;
}

std::string IndexColumns(const TableDef& def, const IndexDef& index) {
  if (index.unique) return QuoteList(index.columns);
  const std::vector<std::optional<int64_t>> shares = KeyShares(def, index.columns);
  std::string out;
  for (size_t i = 0; i < index.columns.size(); ++i) {
    if (i) out += ",";
    out += QuoteIdent(index.columns[i]);
    if (shares[i]) out += "(" + std::to_string(*shares[i]) + ")";
  }
  return out;
}

namespace {

// `text` (ASCII) without trailing zeros, then without a trailing point; only for text holding a
// point. Trimmed as bytes (_binary): trimming utf8mb4 checks character boundaries and costs about
// twice as much. A binary field makes the row's CONCAT binary, which changes nothing: MD5 reads
// the same UTF-8 bytes.
std::string StripFraction(const std::string& text) {
  return "TRIM(TRAILING _binary'.' FROM TRIM(TRAILING _binary'0' FROM " + text + "))";
}

// The canonical text of a value of `column` whose class prints in ASCII (numbers, dates, times),
// NULL for NULL. Not through CAST(.. AS CHAR), which would convert the ASCII to utf8mb4.
std::string AsciiText(const ColumnInfo& column) {
  const std::string c = QuoteIdent(column.name);
  switch (column.type) {
    case TypeClass::kDecimal:
    case TypeClass::kTime:
    case TypeClass::kTimestamp:
    case TypeClass::kTimestampTz:  // a timestamp reads as the UTC wall time: the session is UTC
      // decimal(p,s), time(s), datetime(s) and timestamp(s) print exactly s digits after the
      // point, and no point when s is 0. Without a known scale: a point only when there is one,
      // six digits for a time.
      if (column.scale == 0) return c;
      if (column.scale) return StripFraction(c);
      if (column.type == TypeClass::kDecimal) {
        return "IF(LOCATE('.', " + c + ") > 0, " + StripFraction(c) + ", " + c + ")";
      }
      return StripFraction("CAST(" + c + " AS " +
                           (column.type == TypeClass::kTime ? "TIME(6)" : "DATETIME(6)") + ")");
    case TypeClass::kInteger:  // + 0: bit and year columns print as their numbers
      return "(" + c + " + 0)";
    default:  // date, real
      return c;
  }
}

}  // namespace

std::string ChecksumField(const ColumnInfo& column) {
  const std::string c = QuoteIdent(column.name);
  // NULL makes CONCAT NULL, hence 'N'.
  switch (column.type) {
    case TypeClass::kBoolean:
      return "CASE WHEN " + c + " THEN '1,' WHEN NOT " + c + " THEN '0,' ELSE 'N' END";
    case TypeClass::kBlob:
      return "COALESCE(CONCAT(LOWER(HEX(" + c + ")), ','), 'N')";
    case TypeClass::kUuid:  // MariaDB's uuid type prints in lower case
      return "COALESCE(CONCAT(" + c + ", ','), 'N')";
    case TypeClass::kText:
    case TypeClass::kJson:
    case TypeClass::kAny: {
      // Text in UTF-8 (or ASCII) is hashed as it is. Any other character set (or an unknown one)
      // is converted to the session's utf8mb4 first, so that a latin1 column hashes as UTF-8
      // too: a row of latin1 columns alone would be concatenated, and hashed, in latin1. The
      // conversion costs a third of the row text's time, hence not always.
      const bool utf8 = column.charset == "utf8mb4" || column.charset == "utf8mb3" ||
                        column.charset == "utf8" || column.charset == "ascii";
      const std::string text = utf8 ? c : "CAST(" + c + " AS CHAR)";
      return "COALESCE(CONCAT(CHAR_LENGTH(" + c + "), ':', " + text + "), 'N')";
    }
    default:  // integer, decimal, real, dates and times
      return "COALESCE(CONCAT(" + AsciiText(column) + ", ','), 'N')";
  }
}

std::string IndexNameFor(const std::string& table, const IndexDef& index) {
  if (!index.name.empty()) return index.name;
  std::string name = table;
  for (const std::string& c : index.columns) name += "_" + c;
  name += "_idx";
  return ShortIdentifier(name, kMaxIdentifierBytes);
}

namespace {

std::string TrackedKey(const TrackedTable& t, const char* row) {
  std::string out = t.key_columns.size() == 1 ? "CAST(" : "CAST(JSON_ARRAY(";
  for (size_t i = 0; i < t.key_columns.size(); ++i) {
    out += (i ? ", " : "") + std::string(row) + "." + QuoteIdent(t.key_columns[i]);
  }
  return out + (t.key_columns.size() == 1 ? " AS CHAR)" : ") AS CHAR)");
}

}  // namespace

std::vector<std::string> TrackingDdl(const TrackedTable& t, bool install) {
  auto trigger = [&](const char* suffix) {
    return QuoteIdent(ShortIdentifier("tether_track_" + t.entity + suffix, kMaxIdentifierBytes));
  };
  const std::string ins = trigger("_ins"), upd = trigger("_upd"), del = trigger("_del");
  std::vector<std::string> out = {"DROP TRIGGER IF EXISTS " + ins, "DROP TRIGGER IF EXISTS " + upd,
                                  "DROP TRIGGER IF EXISTS " + del};
  if (!install) return out;
  const std::string entity = QuoteLiteral(t.entity, true);
  auto log = [&](const char* row, const char* op) {
    return "INSERT INTO tether_changes (entity, row_key, op, changed_at, origin) VALUES (" +
           entity + ", " + TrackedKey(t, row) + ", '" + op + "', NOW(6), @tether_origin)";
  };
  std::string same_key;
  for (size_t i = 0; i < t.key_columns.size(); ++i) {
    const std::string c = QuoteIdent(t.key_columns[i]);
    same_key += (i ? " AND " : "") + ("OLD." + c + " <=> NEW." + c);
  }
  const std::string table = QuoteIdent(t.table);
  out.push_back("CREATE TRIGGER " + ins + " AFTER INSERT ON " + table + " FOR EACH ROW " +
                log("NEW", "I"));
  out.push_back("CREATE TRIGGER " + upd + " AFTER UPDATE ON " + table + " FOR EACH ROW BEGIN IF " +
                same_key + " THEN " + log("NEW", "U") + "; ELSE " + log("OLD", "D") + "; " +
                log("NEW", "I") + "; END IF; END");
  out.push_back("CREATE TRIGGER " + del + " AFTER DELETE ON " + table + " FOR EACH ROW " +
                log("OLD", "D"));
  return out;
}

}  // namespace tether::mysql
