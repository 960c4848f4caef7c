#include "connectors/postgres/postgres_values.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>

#include "core/temporal.h"

namespace tether::postgres {
namespace {

// Writes `v` so that PostgreSQL reads back the same double: the shortest round-trip form, or
// the spellings float8in and numeric_in accept for the special values. Returns the length.
size_t FormatReal(double v, char* buf, size_t size) {
  const char* special = std::isnan(v)   ? "NaN"
                        : std::isinf(v) ? (v > 0 ? "Infinity" : "-Infinity")
                                        : nullptr;
  if (special) {
    size_t n = std::strlen(special);
    std::memcpy(buf, special, n);
    return n;
  }
  auto [end, ec] = std::to_chars(buf, buf + size, v);
  return ec == std::errc() ? static_cast<size_t>(end - buf) : 0;
}

bool HasNul(const std::string& s) { return std::memchr(s.data(), '\0', s.size()) != nullptr; }

// bytea's text output: "\x" and two hex digits per byte (bytea_output = hex, which the session
// sets); the older escape format goes through libpq.
std::string DecodeBytea(const char* text, size_t len) {
  if (len >= 2 && text[0] == '\\' && text[1] == 'x' && len % 2 == 0) {
    std::string out;
    out.resize((len - 2) / 2);
    bool ok = true;
    for (size_t i = 2, o = 0; ok && i < len; i += 2, ++o) {
      const int hi = HexDigit(text[i]);
      const int lo = HexDigit(text[i + 1]);
      ok = hi >= 0 && lo >= 0;
      if (ok) out[o] = static_cast<char>((hi << 4) | lo);
    }
    if (ok) return out;
  }
  size_t n = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &n);
  if (raw == nullptr) return std::string(text, len);
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

Value TemporalValue(std::string_view text, FieldKind kind) {
  std::optional<std::string> canonical;
  switch (kind) {
    case FieldKind::kDate:
      canonical = CanonicalDate(text);
      break;
    case FieldKind::kTime:
      canonical = CanonicalTime(text);
      break;
    case FieldKind::kTimestamp:
      canonical = CanonicalTimestamp(text, /*with_zone=*/false);
      break;
    default:
      canonical = CanonicalTimestamp(text, /*with_zone=*/true);
      break;
  }
  // 'infinity', BC dates and years past 9999 have no canonical form: kept as the server wrote
  // them, so they still reach the engine (which refuses them where a target cannot hold them).
  return Value::Text(canonical ? std::move(*canonical) : std::string(text));
}

constexpr char kHex[] = "0123456789abcdef";

std::string FirstLine(std::string_view s) {
  std::string line(s.substr(0, s.find('\n')));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

}  // namespace

void Params::Reserve(size_t n) {
  types_.reserve(n);
  values_.reserve(n);
  lengths_.reserve(n);
  formats_.reserve(n);
}

void Params::Clear() {
  types_.clear();
  values_.clear();
  lengths_.clear();
  formats_.clear();
  numbers_used_ = 0;
}

bool Params::Add(const Value& v, TypeOid type) {
  const char* data = nullptr;
  int length = 0;
  int format = 0;
  auto number = [this]() -> char* {
    if (numbers_used_ == numbers_.size()) numbers_.emplace_back();
    return numbers_[numbers_used_++].data();
  };
  switch (v.kind()) {
    case ValueKind::kNull:
      break;
    case ValueKind::kInt: {
      char* buf = number();
      auto [end, ec] = std::to_chars(buf, buf + 31, v.as_int());
      (void)ec;  // 31 characters hold any int64
      *end = '\0';
      data = buf;
      break;
    }
    case ValueKind::kReal: {
      char* buf = number();
      buf[FormatReal(v.as_real(), buf, 31)] = '\0';
      data = buf;
      break;
    }
    case ValueKind::kBool:
      data = v.as_bool() ? "t" : "f";
      break;
    case ValueKind::kText:
    case ValueKind::kDecimal:
      // Text parameters are NUL-terminated strings to libpq: a NUL inside would cut the value.
      if (HasNul(v.as_string())) return false;
      data = v.as_string().c_str();
      break;
    case ValueKind::kBlob:
      data = v.as_string().data();  // never null, so an empty blob is '' and not NULL
      length = static_cast<int>(v.as_string().size());
      format = 1;
      type = kByteaOid;
      break;
  }
  types_.push_back(type);
  values_.push_back(data);
  lengths_.push_back(length);
  formats_.push_back(format);
  return true;
}

std::vector<FieldKind> FieldKinds(const PGresult* result) {
  const int n = PQnfields(result);
  std::vector<FieldKind> kinds(static_cast<size_t>(n), FieldKind::kText);
  for (int i = 0; i < n; ++i) {
    FieldKind& k = kinds[static_cast<size_t>(i)];
    switch (PQftype(result, i)) {
      case kInt2Oid:
      case kInt4Oid:
      case kInt8Oid:
        k = FieldKind::kInt;
        break;
      case kNumericOid:
        k = FieldKind::kDecimal;
        break;
      case kFloat4Oid:
      case kFloat8Oid:
        k = FieldKind::kReal;
        break;
      case kBoolOid:
        k = FieldKind::kBool;
        break;
      case kByteaOid:
        k = FieldKind::kBlob;
        break;
      case kBpcharOid:
        k = FieldKind::kPaddedText;
        break;
      case kDateOid:
        k = FieldKind::kDate;
        break;
      case kTimeOid:
        k = FieldKind::kTime;
        break;
      case kTimestampOid:
        k = FieldKind::kTimestamp;
        break;
      case kTimestampTzOid:
        k = FieldKind::kTimestampTz;
        break;
      default:
        k = FieldKind::kText;
        break;
    }
  }
  return kinds;
}

void ReadRow(const PGresult* result, int row, const std::vector<FieldKind>& kinds, Row* out) {
  const size_t n = kinds.size();
  out->resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int col = static_cast<int>(i);
    Value& v = (*out)[i];
    if (PQgetisnull(result, row, col)) {
      v = Value::Null();
      continue;
    }
    const char* text = PQgetvalue(result, row, col);
    const size_t len = static_cast<size_t>(PQgetlength(result, row, col));
    switch (kinds[i]) {
      case FieldKind::kInt: {
        int64_t x = 0;
        auto [end, ec] = std::from_chars(text, text + len, x);
        v = ec == std::errc() && end == text + len ? Value::Int(x)
                                                   : Value::Text(std::string(text, len));
        break;
      }
      case FieldKind::kReal: {
        // with extra_float_digits = 3 the server writes the shortest text that reads back the
        // same value; "NaN", "Infinity" and "-Infinity" parse too.
        double x = 0;
        auto [end, ec] = std::from_chars(text, text + len, x);
        v = ec == std::errc() && end == text + len ? Value::Real(x)
                                                   : Value::Text(std::string(text, len));
        break;
      }
      case FieldKind::kDecimal:
        v = Value::Decimal(std::string(text, len));
        break;
      case FieldKind::kBool:
        v = Value::Bool(len > 0 && text[0] == 't');
        break;
      case FieldKind::kBlob:
        v = Value::Blob(DecodeBytea(text, len));
        break;
      case FieldKind::kDate:
      case FieldKind::kTime:
      case FieldKind::kTimestamp:
      case FieldKind::kTimestampTz:
        v = TemporalValue(std::string_view(text, len), kinds[i]);
        break;
      case FieldKind::kText:
        v = Value::Text(std::string(text, len));
        break;
      case FieldKind::kPaddedText: {
        // char(n)'s trailing spaces are padding (as in PostgreSQL's own cast to text, and as
        // MySQL reads char): values travel without them.
        size_t end = len;
        while (end > 0 && text[end - 1] == ' ') --end;
        v = Value::Text(std::string(text, end));
        break;
      }
    }
  }
}

// What follows the backslash that escapes a byte in COPY's text format (the bytes strcspn
// stops at in AppendCopyField).
constexpr std::array<char, 256> kCopyEscape = [] {
  std::array<char, 256> t{};
  t['\\'] = '\\';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  return t;
}();

bool AppendCopyField(const Value& v, std::string* out) {
  switch (v.kind()) {
    case ValueKind::kNull:
      *out += "\\N";
      return true;
    case ValueKind::kInt: {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.as_int());
      (void)ec;
      out->append(buf, end);
      return true;
    }
    case ValueKind::kReal: {
      char buf[32];
      out->append(buf, FormatReal(v.as_real(), buf, sizeof buf));
      return true;
    }
    case ValueKind::kBool:
      *out += v.as_bool() ? 't' : 'f';
      return true;
    case ValueKind::kBlob: {
      // bytea's hex input "\x0a1b", its backslash escaped for COPY.
      const std::string& bytes = v.as_string();
      const size_t start = out->size();
      out->resize(start + 3 + 2 * bytes.size());
      char* p = out->data() + start;
      *p++ = '\\';
      *p++ = '\\';
      *p++ = 'x';
      for (unsigned char b : bytes) {
        *p++ = kHex[b >> 4];
        *p++ = kHex[b & 0xf];
      }
      return true;
    }
    case ValueKind::kText:
    case ValueKind::kDecimal:
      break;
  }
  // In COPY's text format a backslash starts an escape, and tab / newline end a field / row.
  // std::string's text ends with a NUL, which stops strcspn too: one before the end is a NUL
  // inside the value.
  const std::string& s = v.as_string();
  const char* p = s.c_str();
  const char* const end = p + s.size();
  for (;;) {
    const size_t plain = std::strcspn(p, "\\\n\r\t");
    out->append(p, plain);
    p += plain;
    if (p == end) return true;
    if (*p == '\0') return false;
    const char pair[2] = {'\\', kCopyEscape[static_cast<unsigned char>(*p)]};
    out->append(pair, 2);
    ++p;
  }
}

std::string ResultMessage(const PGresult* result) {
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string msg;
  if (primary != nullptr) {
    msg = primary;
  } else {
    msg = PQresultErrorMessage(result);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  }
  if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) {
    msg += ": ";
    msg += detail;
  }
  return msg;
}

Status ResultError(PGconn* conn, const PGresult* result, std::string_view context) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  StatusCode code = CodeForSqlState(state ? state : "");
  if (PQstatus(conn) != CONNECTION_OK) code = StatusCode::kConnection;
  return Status(code, std::string(context) + ": " + ResultMessage(result));
}

Status ConnError(PGconn* conn, std::string_view context) {
  StatusCode code =
      PQstatus(conn) == CONNECTION_OK ? StatusCode::kInternal : StatusCode::kConnection;
  std::string reason = FirstLine(PQerrorMessage(conn));
  if (reason.empty()) reason = "no response from the server";
  return Status(code, std::string(context) + ": " + reason);
}

size_t CopyErrorLine(const PGresult* result) {
  const char* context = PQresultErrorField(result, PG_DIAG_CONTEXT);
  if (context == nullptr) return 0;
  // "COPY name, line 3, column email: ..." (the table name may itself hold ", line ").
  std::string_view text = context;
  if (!text.starts_with("COPY ")) return 0;
  for (size_t pos = text.find(", line "); pos != std::string_view::npos;
       pos = text.find(", line ", pos + 1)) {
    size_t digits = pos + 7;
    size_t end = digits;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end > digits &&
        (end == text.size() || text[end] == ',' || text[end] == ':' || text[end] == '\n')) {
      size_t line = 0;
      std::from_chars(text.data() + digits, text.data() + end, line);
      return line;
    }
  }
  return 0;
}

}  // namespace tether::postgres
