#include "connectors/mysql/mysql_statement.h"

#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

#include "core/temporal.h"

namespace tether::mysql {
namespace {

// A non-null pointer for empty strings: libmariadb sends a parameter whose buffer is null as NULL.
const char kEmpty[1] = {0};

const char* DataOf(const std::string& s) { return s.empty() ? kEmpty : s.data(); }

enum_field_types TypeOf(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNull:
      return MYSQL_TYPE_NULL;
    case ValueKind::kInt:
      return MYSQL_TYPE_LONGLONG;
    case ValueKind::kReal:
      return MYSQL_TYPE_DOUBLE;
    case ValueKind::kBool:
      return MYSQL_TYPE_TINY;
    case ValueKind::kBlob:
      return MYSQL_TYPE_BLOB;
    case ValueKind::kText:
    case ValueKind::kDecimal:
      return MYSQL_TYPE_STRING;
  }
  return MYSQL_TYPE_STRING;
}

// The text the server would read for `v` as a literal, for columns that mix kinds.
std::string TextOf(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kInt:
      return std::to_string(v.as_int());
    case ValueKind::kBool:
      return v.as_bool() ? "1" : "0";
    case ValueKind::kReal: {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v.as_real());
      return ec == std::errc() ? std::string(buf, end) : std::string();
    }
    default:
      return v.as_string();
  }
}

// Fixed-width decimal digits (no printf: scans format one or more temporal values per row).
void AppendDigits(std::string* out, unsigned long v, int width) {
  char buf[20];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out->append(buf, static_cast<size_t>(width));
}

// ".123456" without trailing zeros, or nothing for a whole second.
void AppendFraction(std::string* out, unsigned long micros) {
  if (micros == 0) return;
  out->push_back('.');
  AppendDigits(out, micros % 1000000, 6);
  while (out->back() == '0') out->pop_back();
}

bool IsCalendarDate(const MYSQL_TIME& t) {
  static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (t.year == 0 || t.year > 9999 || t.month < 1 || t.month > 12 || t.day < 1) return false;
  const bool leap = (t.year % 4 == 0 && t.year % 100 != 0) || t.year % 400 == 0;
  return t.day <= (t.month == 2 && !leap ? 28 : kDays[t.month - 1]);
}

std::string DateText(const MYSQL_TIME& t) {
  std::string out;
  out.reserve(32);
  AppendDigits(&out, t.year % 10000, 4);
  out.push_back('-');
  AppendDigits(&out, t.month % 100, 2);
  out.push_back('-');
  AppendDigits(&out, t.day % 100, 2);
  return out;
}

void AppendClock(std::string* out, const MYSQL_TIME& t) {
  out->push_back(':');
  AppendDigits(out, t.minute % 100, 2);
  out->push_back(':');
  AppendDigits(out, t.second % 100, 2);
  AppendFraction(out, t.second_part);
}

std::string TimeText(const MYSQL_TIME& t) {
  // A TIME is an interval (-838:59:59 to 838:59:59): the hours may exceed two digits.
  const unsigned hours = t.day * 24 + t.hour;
  std::string out = t.neg ? "-" : "";
  AppendDigits(&out, hours, hours < 100 ? 2 : hours < 1000 ? 3 : 4);
  AppendClock(&out, t);
  return out;
}

std::string DateTimeText(const MYSQL_TIME& t) {
  std::string out = DateText(t);
  out.push_back(' ');
  AppendDigits(&out, t.hour % 100, 2);
  AppendClock(&out, t);
  return out;
}

}  // namespace

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_) mysql_stmt_close(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

void ParamBinder::Bind(const std::vector<const Value*>& values) {
  const size_t n = values.size();
  binds_.assign(n, MYSQL_BIND{});
  scalars_.assign(n, Scalar{});
  lengths_.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const Value& v = *values[i];
    MYSQL_BIND& b = binds_[i];
    b.buffer_type = TypeOf(v.kind());
    switch (v.kind()) {
      case ValueKind::kNull:
        break;
      case ValueKind::kInt:
        scalars_[i].i = v.as_int();
        b.buffer = &scalars_[i].i;
        break;
      case ValueKind::kReal:
        scalars_[i].d = v.as_real();
        b.buffer = &scalars_[i].d;
        break;
      case ValueKind::kBool:
        scalars_[i].b = v.as_bool() ? 1 : 0;
        b.buffer = &scalars_[i].b;
        break;
      case ValueKind::kText:
      case ValueKind::kDecimal:
      case ValueKind::kBlob:
        b.buffer = const_cast<char*>(DataOf(v.as_string()));
        lengths_[i] = v.as_string().size();
        b.buffer_length = lengths_[i];
        b.length = &lengths_[i];
        break;
    }
  }
}

void BulkBinder::Bind(const std::vector<const Row*>& rows, size_t begin, size_t end,
                      size_t columns) {
  const size_t n = end - begin;
  size_ = static_cast<unsigned int>(n);
  binds_.assign(columns, MYSQL_BIND{});
  columns_.assign(columns, Column{});
  texts_.clear();
  for (size_t c = 0; c < columns; ++c) {
    // One buffer type per column: the kind its values share, or text when they differ.
    ValueKind kind = ValueKind::kNull;
    bool mixed = false;
    for (size_t r = begin; r < end; ++r) {
      ValueKind k = (*rows[r])[c].kind();
      if (k == ValueKind::kNull) continue;
      if (kind == ValueKind::kNull) {
        kind = k;
      } else if (k != kind) {
        mixed = true;
      }
    }
    enum_field_types type = mixed ? MYSQL_TYPE_STRING : TypeOf(kind);
    if (type == MYSQL_TYPE_NULL) type = MYSQL_TYPE_STRING;  // all NULL: indicators say so

    Column& col = columns_[c];
    col.indicators.assign(n, STMT_INDICATOR_NONE);
    MYSQL_BIND& b = binds_[c];
    b.buffer_type = type;
    b.u.indicator = col.indicators.data();
    switch (type) {
      case MYSQL_TYPE_LONGLONG:
        col.ints.assign(n, 0);
        b.buffer = col.ints.data();
        break;
      case MYSQL_TYPE_DOUBLE:
        col.reals.assign(n, 0);
        b.buffer = col.reals.data();
        break;
      case MYSQL_TYPE_TINY:
        col.bools.assign(n, 0);
        b.buffer = col.bools.data();
        break;
      default:
        col.strings.assign(n, kEmpty);
        col.lengths.assign(n, 0);
        b.buffer = col.strings.data();
        b.length = col.lengths.data();
        break;
    }
    for (size_t r = 0; r < n; ++r) {
      const Value& v = (*rows[begin + r])[c];
      if (v.is_null()) {
        col.indicators[r] = STMT_INDICATOR_NULL;
        continue;
      }
      switch (type) {
        case MYSQL_TYPE_LONGLONG:
          col.ints[r] = v.as_int();
          break;
        case MYSQL_TYPE_DOUBLE:
          col.reals[r] = v.as_real();
          break;
        case MYSQL_TYPE_TINY:
          col.bools[r] = v.as_bool() ? 1 : 0;
          break;
        default:
          if (mixed && v.kind() != ValueKind::kText && v.kind() != ValueKind::kDecimal &&
              v.kind() != ValueKind::kBlob) {
            const std::string& text = texts_.emplace_back(TextOf(v));
            col.strings[r] = DataOf(text);
            col.lengths[r] = text.size();
          } else {
            col.strings[r] = DataOf(v.as_string());
            col.lengths[r] = v.as_string().size();
          }
          break;
      }
    }
  }
}

bool ResultReader::Prepare(MYSQL_STMT* stmt) {
  const unsigned int n = mysql_stmt_field_count(stmt);
  kinds_.assign(n, Kind::kNull);
  slots_.clear();
  slots_.resize(n);  // sized once: the binds point into the slots
  binds_.assign(n, MYSQL_BIND{});
  if (n == 0) return true;
  MYSQL_RES* meta = mysql_stmt_result_metadata(stmt);
  if (meta == nullptr) return false;
  const MYSQL_FIELD* fields = mysql_fetch_fields(meta);
  for (unsigned int i = 0; i < n; ++i) {
    const MYSQL_FIELD& f = fields[i];
    const bool is_unsigned = (f.flags & UNSIGNED_FLAG) != 0;
    const bool binary = f.charsetnr == 63;
    Kind& k = kinds_[i];
    switch (f.type) {
      case MYSQL_TYPE_NULL:
        k = Kind::kNull;
        break;
      case MYSQL_TYPE_TINY:
        // tinyint(1) is MySQL's boolean (docs/TYPES.md).
        k = f.length == 1 ? Kind::kBool : Kind::kInt;
        break;
      case MYSQL_TYPE_SHORT:
      case MYSQL_TYPE_LONG:
      case MYSQL_TYPE_INT24:
      case MYSQL_TYPE_YEAR:
        k = Kind::kInt;
        break;
      case MYSQL_TYPE_LONGLONG:
        k = is_unsigned ? Kind::kUnsigned : Kind::kInt;
        break;
      case MYSQL_TYPE_FLOAT:
        k = Kind::kFloat;
        break;
      case MYSQL_TYPE_DOUBLE:
        k = Kind::kDouble;
        break;
      case MYSQL_TYPE_DECIMAL:
      case MYSQL_TYPE_NEWDECIMAL:
        k = Kind::kDecimal;
        break;
      case MYSQL_TYPE_BIT:
        k = Kind::kBit;
        break;
      case MYSQL_TYPE_DATE:
      case MYSQL_TYPE_NEWDATE:
        k = Kind::kDate;
        break;
      case MYSQL_TYPE_TIME:
        k = Kind::kTime;
        break;
      case MYSQL_TYPE_DATETIME:
        k = Kind::kDateTime;
        break;
      case MYSQL_TYPE_TIMESTAMP:
        k = Kind::kTimestamp;
        break;
      case MYSQL_TYPE_JSON:
        k = Kind::kText;
        break;
      default:  // char, varchar, *text, *blob, enum, set, geometry, ...
        k = binary ? Kind::kBlob : Kind::kText;
        break;
    }
    Slot& s = slots_[i];
    MYSQL_BIND& b = binds_[i];
    b.is_null = &s.is_null;
    b.error = &s.error;
    b.length = &s.length;
    b.is_unsigned = is_unsigned;
    switch (k) {
      case Kind::kNull:
      case Kind::kInt:
      case Kind::kUnsigned:
      case Kind::kBool:
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &s.i;
        break;
      case Kind::kFloat:
        b.buffer_type = MYSQL_TYPE_FLOAT;
        b.buffer = &s.f;
        break;
      case Kind::kDouble:
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = &s.d;
        break;
      case Kind::kDate:
      case Kind::kTime:
      case Kind::kDateTime:
      case Kind::kTimestamp:
        b.buffer_type = k == Kind::kDate       ? MYSQL_TYPE_DATE
                        : k == Kind::kTime     ? MYSQL_TYPE_TIME
                        : k == Kind::kDateTime ? MYSQL_TYPE_DATETIME
                                               : MYSQL_TYPE_TIMESTAMP;
        b.buffer = &s.t;
        break;
      default:
        // Most values fit; longer ones are fetched whole with mysql_stmt_fetch_column.
        s.buffer.resize(256);
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = s.buffer.data();
        b.buffer_length = static_cast<unsigned long>(s.buffer.size());
        break;
    }
  }
  mysql_free_result(meta);
  return mysql_stmt_bind_result(stmt, binds_.data()) == 0;
}

Value ResultReader::Convert(MYSQL_STMT* stmt, size_t c, bool* ok) {
  Slot& s = slots_[c];
  if (s.is_null) return Value::Null();
  switch (kinds_[c]) {
    case Kind::kNull:
      return Value::Null();
    case Kind::kInt:
      return Value::Int(s.i);
    case Kind::kUnsigned: {
      const auto u = static_cast<unsigned long long>(s.i);
      if (u > static_cast<unsigned long long>(std::numeric_limits<int64_t>::max())) {
        return Value::Decimal(std::to_string(u));
      }
      return Value::Int(static_cast<int64_t>(u));
    }
    case Kind::kBool:
      return Value::Bool(s.i != 0);
    case Kind::kFloat: {
      // The float's shortest text read back as a double: 0.1f reads as 0.1, not 0.100000001.
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), s.f);
      double d = s.f;
      if (ec == std::errc()) std::from_chars(buf, end, d);
      return Value::Real(d);
    }
    case Kind::kDouble:
      return Value::Real(s.d);
    // The server only sends valid dates and times of day, which the texts below already give
    // in canonical form (core/temporal.h); the rest (MySQL's zero dates, intervals beyond a
    // day) go through the canonical functions, and are kept as sent when those refuse them.
    case Kind::kDate: {
      std::string text = DateText(s.t);
      if (IsCalendarDate(s.t)) return Value::Text(std::move(text));
      auto canonical = CanonicalDate(text);
      return Value::Text(canonical ? *canonical : text);
    }
    case Kind::kTime: {
      std::string text = TimeText(s.t);
      if (!s.t.neg && s.t.day == 0 && s.t.hour < 24) return Value::Text(std::move(text));
      auto canonical = CanonicalTime(text);
      return Value::Text(canonical ? *canonical : text);
    }
    case Kind::kDateTime:
    case Kind::kTimestamp: {
      const bool zone = kinds_[c] == Kind::kTimestamp;
      std::string text = DateTimeText(s.t);
      if (IsCalendarDate(s.t) && s.t.hour < 24) {
        if (zone) text += "+00:00";  // the session's time zone
        return Value::Text(std::move(text));
      }
      auto canonical = CanonicalTimestamp(text, zone);
      return Value::Text(canonical ? *canonical : text);
    }
    default:
      break;
  }
  // Strings: whole from the bound buffer, or fetched again into a buffer of the right size.
  std::string bytes;
  if (s.length <= s.buffer.size()) {
    bytes.assign(s.buffer.data(), s.length);
  } else {
    bytes.resize(s.length);
    MYSQL_BIND b{};
    unsigned long length = 0;
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = bytes.data();
    b.buffer_length = s.length;
    b.length = &length;
    if (mysql_stmt_fetch_column(stmt, &b, static_cast<unsigned int>(c), 0) != 0) {
      *ok = false;
      return Value::Null();
    }
  }
  switch (kinds_[c]) {
    case Kind::kDecimal:
      return Value::Decimal(std::move(bytes));
    case Kind::kBlob:
      return Value::Blob(std::move(bytes));
    case Kind::kBit: {
      uint64_t v = 0;
      for (unsigned char ch : bytes) v = (v << 8) | ch;
      return Value::Int(static_cast<int64_t>(v));
    }
    default:
      return Value::Text(std::move(bytes));
  }
}

int ResultReader::Next(MYSQL_STMT* stmt, Row* row) {
  int rc = mysql_stmt_fetch(stmt);
  if (rc == MYSQL_NO_DATA) return 0;
  if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) return -1;  // truncation: Convert fetches the rest
  row->clear();
  row->reserve(kinds_.size());
  bool ok = true;
  for (size_t c = 0; c < kinds_.size(); ++c) row->push_back(Convert(stmt, c, &ok));
  return ok ? 1 : -1;
}

unsigned int StmtErrno(MYSQL_STMT* stmt) {
  unsigned int n = mysql_stmt_errno(stmt);
  if (n == 0 && stmt->mysql != nullptr) n = mysql_errno(stmt->mysql);
  return n;
}

std::string StmtErrorText(MYSQL_STMT* stmt) {
  if (mysql_stmt_errno(stmt) != 0) return mysql_stmt_error(stmt);
  if (stmt->mysql != nullptr && mysql_errno(stmt->mysql) != 0) return mysql_error(stmt->mysql);
  return "an error without a number or a message";
}

}  // namespace tether::mysql
