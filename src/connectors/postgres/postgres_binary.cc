#include "connectors/postgres/postgres_binary.h"

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string_view>

#include "core/temporal.h"

namespace tether::postgres {
namespace {

// PostgreSQL's dates and timestamps count from 2000-01-01: days / microseconds.
constexpr int64_t kEpochDays = 10957;  // 2000-01-01 - 1970-01-01
constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;

template <typename T>
void PutBigEndian(T v, std::string* out) {
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) {
    bytes[sizeof(T) - 1 - i] = static_cast<char>(u & 0xff);
    u = static_cast<U>(u >> 8);
  }
  out->append(bytes, sizeof(T));
}

void PutLength(size_t n, std::string* out) { PutBigEndian(static_cast<int32_t>(n), out); }

// Digits at text[pos, pos + n) as a number; false when any is not a digit.
bool Digits(std::string_view text, size_t pos, size_t n, int* value) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *value = v;
  return true;
}

// "YYYY-MM-DD" at the start of text -> days since 2000-01-01.
bool ParseDate(std::string_view text, int64_t* days) {
  int y = 0, m = 0, d = 0;
  if (text.size() < 10 || text[4] != '-' || text[7] != '-' || !Digits(text, 0, 4, &y) ||
      !Digits(text, 5, 2, &m) || !Digits(text, 8, 2, &d)) {
    return false;
  }
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) {
    return false;
  }
  *days = DaysFromCivil(y, m, d) - kEpochDays;
  return true;
}

// "HH:MM:SS[.f{1,6}]" exactly -> microseconds since midnight (24:00:00 allowed).
bool ParseTime(std::string_view text, int64_t* micros) {
  int h = 0, mi = 0, s = 0;
  if (text.size() < 8 || text[2] != ':' || text[5] != ':' || !Digits(text, 0, 2, &h) ||
      !Digits(text, 3, 2, &mi) || !Digits(text, 6, 2, &s)) {
    return false;
  }
  if (h > 24 || mi > 59 || s > 59 || (h == 24 && (mi != 0 || s != 0))) return false;
  int64_t fraction = 0;
  if (text.size() > 8) {
    const size_t digits = text.size() - 9;
    if (text[8] != '.' || digits < 1 || digits > 6) return false;
    int f = 0;
    if (!Digits(text, 9, digits, &f)) return false;
    fraction = f;
    for (size_t i = digits; i < 6; ++i) fraction *= 10;
    if (h == 24 && fraction != 0) return false;
  }
  *micros = ((int64_t{h} * 60 + mi) * 60 + s) * 1000000 + fraction;
  return true;
}

// "YYYY-MM-DD HH:MM:SS[.f]" (with_zone: followed by "+00:00") -> microseconds since 2000-01-01.
bool ParseTimestamp(std::string_view text, bool with_zone, int64_t* micros) {
  if (with_zone) {
    if (!text.ends_with("+00:00")) return false;
    text.remove_suffix(6);
  }
  int64_t days = 0, time = 0;
  if (text.size() < 19 || text[10] != ' ' || !ParseDate(text.substr(0, 10), &days) ||
      !ParseTime(text.substr(11), &time) || time >= kMicrosPerDay) {
    return false;
  }
  *micros = days * kMicrosPerDay + time;
  return true;
}

// numeric's binary form: ndigits, weight, sign, dscale, then base-10000 digits, most
// significant first; value = sum(digit[i] * 10000^(weight - i)), dscale = digits after the
// point as written.
bool AppendNumeric(std::string_view text, std::string* out) {
  bool negative = false;
  if (!text.empty() && text[0] == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  const size_t point = text.find('.');
  std::string_view whole = text.substr(0, point);
  std::string_view fraction = point == std::string_view::npos ? "" : text.substr(point + 1);
  if (whole.empty() && fraction.empty()) return false;
  for (std::string_view part : {whole, fraction}) {
    for (char c : part) {
      if (c < '0' || c > '9') return false;
    }
  }
  if (fraction.size() > 16383) return false;
  while (whole.size() > 1 && whole[0] == '0') whole.remove_prefix(1);
  if (whole == "0") whole = "";

  // Groups of 4: the whole part aligned on the point from the right, the fraction from the left.
  const size_t count = (whole.size() + 3) / 4 + (fraction.size() + 3) / 4;
  int16_t on_stack[64];
  std::vector<int16_t> on_heap;
  if (count > std::size(on_stack)) on_heap.resize(count);
  int16_t* groups = on_heap.empty() ? on_stack : on_heap.data();
  size_t filled = 0;
  const size_t lead = whole.size() % 4;
  int weight = static_cast<int>((whole.size() + 3) / 4) - 1;
  size_t pos = 0;
  auto group = [](std::string_view s, size_t from, size_t n) {
    int v = 0;
    for (size_t i = 0; i < 4; ++i)
      v = v * 10 + (i < n && from + i < s.size() ? s[from + i] - '0' : 0);
    return static_cast<int16_t>(v);
  };
  if (lead) {
    int v = 0;
    for (size_t i = 0; i < lead; ++i) v = v * 10 + (whole[i] - '0');
    groups[filled++] = static_cast<int16_t>(v);
    pos = lead;
  }
  for (; pos < whole.size(); pos += 4) groups[filled++] = group(whole, pos, 4);
  for (size_t f = 0; f < fraction.size(); f += 4) {
    groups[filled++] = group(fraction, f, fraction.size() - f);
  }
  // Leading zero groups move the weight; trailing ones are dropped.
  size_t first = 0;
  while (first < filled && groups[first] == 0) {
    ++first;
    --weight;
  }
  size_t last = filled;
  while (last > first && groups[last - 1] == 0) --last;
  const size_t n = last - first;
  PutBigEndian(static_cast<int16_t>(n), out);
  PutBigEndian(static_cast<int16_t>(n == 0 ? 0 : weight), out);
  PutBigEndian(static_cast<uint16_t>(negative && n > 0 ? 0x4000 : 0), out);
  PutBigEndian(static_cast<int16_t>(fraction.size()), out);
  for (size_t i = first; i < last; ++i) PutBigEndian(groups[i], out);
  return true;
}

bool AppendUuid(std::string_view text, std::string* out) {
  if (text.size() != 36) return false;
  char bytes[16];
  size_t b = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      ++i;
      continue;
    }
    const int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[b++] = static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  PutLength(16, out);
  out->append(bytes, 16);
  return true;
}

bool AppendInteger(const Value& v, int bytes, std::string* out) {
  if (v.kind() != ValueKind::kInt) return false;
  const int64_t x = v.as_int();
  switch (bytes) {
    case 2:
      if (x < INT16_MIN || x > INT16_MAX) return false;
      PutLength(2, out);
      PutBigEndian(static_cast<int16_t>(x), out);
      return true;
    case 4:
      if (x < INT32_MIN || x > INT32_MAX) return false;
      PutLength(4, out);
      PutBigEndian(static_cast<int32_t>(x), out);
      return true;
    default:
      PutLength(8, out);
      PutBigEndian(x, out);
      return true;
  }
}

}  // namespace

bool BinaryCopyable(const std::vector<TypeOid>& types) {
  for (TypeOid t : types) {
    switch (t) {
      case kBoolOid:
      case kByteaOid:
      case kInt8Oid:
      case kInt2Oid:
      case kInt4Oid:
      case kTextOid:
      case kJsonOid:
      case kFloat8Oid:
      case kBpcharOid:
      case kVarcharOid:
      case kDateOid:
      case kTimeOid:
      case kTimestampOid:
      case kTimestampTzOid:
      case kNumericOid:
      case kUuidOid:
      case kJsonbOid:
        continue;
      default:
        return false;
    }
  }
  return !types.empty();
}

void AppendBinaryHeader(std::string* out) {
  static constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // and its terminating NUL
  out->append(kSignature, sizeof kSignature);
  PutBigEndian(int32_t{0}, out);  // flags: no OIDs
  PutBigEndian(int32_t{0}, out);  // header extension: none
}

void AppendBinaryTrailer(std::string* out) { PutBigEndian(int16_t{-1}, out); }

void AppendBinaryRowStart(size_t fields, std::string* out) {
  PutBigEndian(static_cast<int16_t>(fields), out);
}

bool AppendBinaryField(const Value& v, TypeOid type, std::string* out) {
  if (v.is_null()) {
    PutBigEndian(int32_t{-1}, out);
    return true;
  }
  const ValueKind k = v.kind();
  const bool text = k == ValueKind::kText;
  switch (type) {
    case kBoolOid:
      if (k != ValueKind::kBool) return false;
      PutLength(1, out);
      out->push_back(v.as_bool() ? 1 : 0);
      return true;
    case kInt2Oid:
      return AppendInteger(v, 2, out);
    case kInt4Oid:
      return AppendInteger(v, 4, out);
    case kInt8Oid:
      return AppendInteger(v, 8, out);
    case kFloat8Oid: {
      double d = 0;
      if (k == ValueKind::kReal) {
        d = v.as_real();
      } else if (k == ValueKind::kInt && v.as_int() >= -(int64_t{1} << 53) &&
                 v.as_int() <= (int64_t{1} << 53)) {
        d = static_cast<double>(v.as_int());
      } else {
        return false;
      }
      PutLength(8, out);
      PutBigEndian(std::bit_cast<uint64_t>(d), out);
      return true;
    }
    case kNumericOid: {
      const size_t start = out->size();
      PutLength(0, out);  // filled in below
      bool ok = false;
      if (k == ValueKind::kDecimal) {
        ok = AppendNumeric(v.as_string(), out);
      } else if (k == ValueKind::kInt) {
        ok = AppendNumeric(std::to_string(v.as_int()), out);
      }
      if (!ok) {
        out->resize(start);
        return false;
      }
      std::string length;
      PutLength(out->size() - start - 4, &length);
      out->replace(start, 4, length);
      return true;
    }
    case kTextOid:
    case kVarcharOid:
    case kBpcharOid:
    case kJsonOid:
      // PostgreSQL text holds no NUL: such a value is refused on the text path, with its reason.
      if (!text || std::memchr(v.as_string().data(), 0, v.as_string().size())) return false;
      PutLength(v.as_string().size(), out);
      out->append(v.as_string());
      return true;
    case kJsonbOid:
      if (!text || std::memchr(v.as_string().data(), 0, v.as_string().size())) return false;
      PutLength(v.as_string().size() + 1, out);
      out->push_back(1);  // jsonb's binary version: the JSON text follows
      out->append(v.as_string());
      return true;
    case kByteaOid:
      if (k != ValueKind::kBlob) return false;
      PutLength(v.as_string().size(), out);
      out->append(v.as_string());
      return true;
    case kUuidOid:
      return text && AppendUuid(v.as_string(), out);
    case kDateOid: {
      int64_t days = 0;
      if (!text || v.as_string().size() != 10 || !ParseDate(v.as_string(), &days)) return false;
      PutLength(4, out);
      PutBigEndian(static_cast<int32_t>(days), out);
      return true;
    }
    case kTimeOid: {
      int64_t micros = 0;
      if (!text || !ParseTime(v.as_string(), &micros)) return false;
      PutLength(8, out);
      PutBigEndian(micros, out);
      return true;
    }
    case kTimestampOid:
    case kTimestampTzOid: {
      int64_t micros = 0;
      if (!text || !ParseTimestamp(v.as_string(), type == kTimestampTzOid, &micros)) return false;
      PutLength(8, out);
      PutBigEndian(micros, out);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace tether::postgres
