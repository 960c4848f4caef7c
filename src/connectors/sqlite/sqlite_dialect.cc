#include "connectors/sqlite/sqlite_dialect.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "connectors/sql_text.h"
#include "core/ascii.h"

namespace tether::sqlite {

std::string QuoteIdent(std::string_view name) { return kSqlDialect.Quote(name); }

std::string QuoteList(const std::vector<std::string>& names) {
  return QuoteIdentifiers(names, kSqlDialect.quote);
}

std::string Placeholders(size_t n) { return QuestionMarks(n); }

std::string NormalizedColumn(const std::string& column, const Normalization& how) {
  std::string sql = how.trim ? "trim(" + column + ")" : column;
  return how.lower ? "lower(" + sql + ")" : sql;
}

namespace {

// The numbers in "(n)" or "(p, s)" of a declared type, if any.
std::vector<int64_t> ParenthesizedNumbers(std::string_view type) {
  std::vector<int64_t> out;
  size_t open = type.find('(');
  if (open == std::string_view::npos) return out;
  size_t pos = open + 1;
  while (pos < type.size()) {
    while (pos < type.size() && type[pos] == ' ') ++pos;
    int64_t n = 0;
    auto [end, ec] = std::from_chars(type.data() + pos, type.data() + type.size(), n);
    if (ec != std::errc() || n < 0) return {};
    out.push_back(n);
    pos = static_cast<size_t>(end - type.data());
    while (pos < type.size() && type[pos] == ' ') ++pos;
    if (pos < type.size() && type[pos] == ',') {
      ++pos;
      continue;
    }
    break;
  }
  return out;
}

}  // namespace

void ClassifyDeclared(std::string_view declared, ColumnInfo* column) {
  column->max_length.reset();
  column->precision.reset();
  column->scale.reset();
  column->significant_digits.reset();
  column->holds_nan = false;  // SQLite stores NULL for a NaN, in a column of any type
  const std::string upper = AsciiUpper(declared);
  auto has = [&upper](std::string_view part) { return upper.find(part) != std::string::npos; };
  const std::vector<int64_t> numbers = ParenthesizedNumbers(upper);
  auto set_scale = [&] {
    if (!numbers.empty()) column->scale = static_cast<int>(numbers[0]);
  };

  TypeClass& t = column->type;
  if (upper.find_first_not_of(" \t\n\r") == std::string::npos) {
    t = TypeClass::kAny;
  } else if (has("INT")) {
    t = TypeClass::kInteger;
  } else if (has("CHAR") || has("CLOB") || has("TEXT")) {
    t = TypeClass::kText;
    if (!numbers.empty() && numbers[0] > 0) column->max_length = numbers[0];
  } else if (has("BLOB")) {
    t = TypeClass::kBlob;
  } else if (has("REAL") || has("FLOA") || has("DOUB")) {
    t = TypeClass::kReal;
  } else if (has("BOOL")) {
    t = TypeClass::kBoolean;
  } else if (has("TIMESTAMPTZ") || has("WITH TIME ZONE")) {
    t = TypeClass::kTimestampTz;
    set_scale();
  } else if (has("DATETIME") || has("TIMESTAMP")) {
    t = TypeClass::kTimestamp;
    set_scale();
  } else if (has("DATE")) {
    t = TypeClass::kDate;
  } else if (has("TIME")) {
    t = TypeClass::kTime;
    set_scale();
  } else if (has("DECIMAL") || has("NUMERIC")) {
    t = TypeClass::kDecimal;
    column->significant_digits = 15;  // NUMERIC affinity: longer numbers become doubles
    if (!numbers.empty()) column->precision = static_cast<int>(numbers[0]);
    if (numbers.size() > 1) column->scale = static_cast<int>(numbers[1]);
    if (numbers.size() == 1) column->scale = 0;
  } else if (has("JSON")) {
    t = TypeClass::kJson;
  } else if (has("UUID")) {
    t = TypeClass::kUuid;
  } else {
    t = TypeClass::kAny;
  }
}

std::string DeclaredTypeFor(const ColumnDef& c) {
  auto with_scale = [&c](const char* name) {
    return c.scale ? std::string(name) + "(" + std::to_string(*c.scale) + ")" : std::string(name);
  };
  switch (c.type) {
    case TypeClass::kAny:
      return "";
    case TypeClass::kInteger:
      return "INTEGER";
    case TypeClass::kReal:
      return "REAL";
    case TypeClass::kDecimal:
      if (c.precision) {
        return "NUMERIC(" + std::to_string(*c.precision) + "," +
               std::to_string(c.scale.value_or(0)) + ")";
      }
      return "NUMERIC";
    case TypeClass::kText:
      return c.max_length ? "VARCHAR(" + std::to_string(*c.max_length) + ")" : "TEXT";
    case TypeClass::kBlob:
      return "BLOB";
    case TypeClass::kBoolean:
      return "BOOLEAN";
    case TypeClass::kDate:
      return "DATE";
    case TypeClass::kTime:
      return with_scale("TIME");
    case TypeClass::kTimestamp:
      return with_scale("TIMESTAMP");
    case TypeClass::kTimestampTz:
      return with_scale("TIMESTAMPTZ");
    case TypeClass::kJson:
      return "JSON";
    case TypeClass::kUuid:
      return "UUID";
  }
  return "";
}

namespace {

// The key of the row `row` (NEW or OLD) as row_key text.
std::string TrackedKey(const TrackedTable& t, const char* row) {
  if (t.key_columns.size() == 1) {
    return std::string("CAST(") + row + "." + QuoteIdent(t.key_columns[0]) + " AS TEXT)";
  }
  std::string out = "json_array(";
  for (size_t i = 0; i < t.key_columns.size(); ++i) {
    out += (i ? ", " : "") + std::string(row) + "." + QuoteIdent(t.key_columns[i]);
  }
  return out + ")";
}

}  // namespace

std::vector<std::string> TrackingDdl(const TrackedTable& t, bool install) {
  const std::string base = "tether_track_" + t.entity;
  const std::string ins = QuoteIdent(base + "_ins"), upd = QuoteIdent(base + "_upd"),
                    key = QuoteIdent(base + "_key"), del = QuoteIdent(base + "_del");
  std::vector<std::string> out;
  for (const std::string* name : {&ins, &upd, &key, &del}) {
    out.push_back("DROP TRIGGER IF EXISTS " + *name);
  }
  if (!install) return out;
  out.push_back(std::string("CREATE TABLE IF NOT EXISTS ") + kSessionTable + " (origin TEXT)");
  out.push_back(std::string("INSERT INTO ") + kSessionTable + " (origin) SELECT NULL WHERE NOT " +
                "EXISTS (SELECT 1 FROM " + kSessionTable + ")");
  const std::string entity = QuoteLiteral(t.entity, false);
  auto log = [&](const char* row, const char* op) {
    return "INSERT INTO tether_changes (entity, row_key, op, changed_at, origin) VALUES (" +
           entity + ", " + TrackedKey(t, row) + ", '" + op +
           "', strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'), (SELECT origin FROM " + kSessionTable +
           " LIMIT 1)); ";
  };
  std::string same_key;
  for (size_t i = 0; i < t.key_columns.size(); ++i) {
    const std::string c = QuoteIdent(t.key_columns[i]);
    same_key += (i ? " AND " : "") + ("OLD." + c + " IS NEW." + c);
  }
  const std::string table = QuoteIdent(t.table);
  out.push_back("CREATE TRIGGER " + ins + " AFTER INSERT ON " + table + " BEGIN " +
                log("NEW", "I") + "END");
  // A changed key: the old row is gone and a new one is there.
  out.push_back("CREATE TRIGGER " + upd + " AFTER UPDATE ON " + table + " WHEN " + same_key +
                " BEGIN " + log("NEW", "U") + "END");
  out.push_back("CREATE TRIGGER " + key + " AFTER UPDATE ON " + table + " WHEN NOT (" + same_key +
                ") BEGIN " + log("OLD", "D") + log("NEW", "I") + "END");
  out.push_back("CREATE TRIGGER " + del + " AFTER DELETE ON " + table + " BEGIN " +
                log("OLD", "D") + "END");
  return out;
}

}  // namespace tether::sqlite
