#include "connectors/sqlite/sqlite_checksum.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>

#include "connectors/sqlite/sqlite_dialect.h"
#include "core/temporal.h"
#include "core/utf8.h"

namespace tether::sqlite {
namespace {

constexpr int kLastClass = static_cast<int>(TypeClass::kUuid);

// One MD5 context, reused for every row (fetching the algorithm per row would cost more than
// hashing). Owned by the registered aggregate; SQLite frees it with the connection.
class Md5 {
 public:
  Md5() : md_(EVP_MD_fetch(nullptr, "MD5", nullptr)), ctx_(EVP_MD_CTX_new()) {}
  ~Md5() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;

  // The first 8 bytes of the MD5 of `text`, big-endian; false when OpenSSL offers no MD5.
  bool Prefix64(const void* text, size_t size, uint64_t* out) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (md_ == nullptr || ctx_ == nullptr || EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 ||
        EVP_DigestUpdate(ctx_, text, size) != 1 || EVP_DigestFinal_ex(ctx_, digest, &length) != 1 ||
        length < 8) {
      return false;
    }
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value = value << 8 | digest[i];
    *out = value;
    return true;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

std::string ValueText(sqlite3_value* v) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(v));
  const int size = sqlite3_value_bytes(v);
  return text ? std::string(text, static_cast<size_t>(size)) : std::string();
}

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Digits with an optional sign and point ("+012.50") in canonical form ("12.5"); nullopt for
// anything else, which then counts as it is.
std::optional<std::string> CanonicalDecimalText(std::string_view s) {
  const bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  const size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if ((whole.empty() && fraction.empty()) || !AllDigits(whole) || !AllDigits(fraction)) {
    return std::nullopt;
  }
  while (!whole.empty() && whole[0] == '0') whole.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  std::string out = whole.empty() ? "0" : std::string(whole);
  if (!fraction.empty()) out += "." + std::string(fraction);
  if (out == "0" || !negative) return out;
  return "-" + out;
}

std::string Hex(sqlite3_value* v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* bytes = static_cast<const unsigned char*>(sqlite3_value_blob(v));
  const size_t size = static_cast<size_t>(sqlite3_value_bytes(v));
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

// The canonical text (connector.h) of a non-NULL value of a column of class `type` appended to
// *out; false for free text (text, json, any) and for a value that has no canonical text in its
// class (SQLite keeps what it is given: 'x12' in a decimal column), which is written as free
// text.
bool AppendCanonical(TypeClass type, sqlite3_value* v, std::string* out) {
  const int storage = sqlite3_value_type(v);
  switch (type) {
    case TypeClass::kInteger:
      if (storage != SQLITE_INTEGER) return false;
      *out += std::to_string(sqlite3_value_int64(v));
      return true;
    case TypeClass::kReal:
      if (storage != SQLITE_INTEGER && storage != SQLITE_FLOAT) return false;
      *out += ValueText(v);
      return true;
    case TypeClass::kDecimal:
      switch (storage) {
        case SQLITE_INTEGER:
          *out += std::to_string(sqlite3_value_int64(v));
          return true;
        case SQLITE_FLOAT:
          *out += DecimalText(sqlite3_value_double(v));
          return true;
        case SQLITE_TEXT:
          if (auto text = CanonicalDecimalText(ValueText(v))) {
            *out += *text;
            return true;
          }
          return false;
        default:
          return false;
      }
    case TypeClass::kBoolean:
      if (storage == SQLITE_INTEGER) {
        *out += sqlite3_value_int64(v) != 0 ? '1' : '0';
        return true;
      }
      if (storage == SQLITE_FLOAT) {
        *out += sqlite3_value_double(v) != 0 ? '1' : '0';
        return true;
      }
      return false;
    case TypeClass::kBlob:
      *out += Hex(v);
      return true;
    case TypeClass::kDate:
    case TypeClass::kTime:
    case TypeClass::kTimestamp:
    case TypeClass::kTimestampTz: {
      const std::string text = ValueText(v);
      const std::optional<std::string> canonical =
          type == TypeClass::kDate   ? CanonicalDate(text)
          : type == TypeClass::kTime ? CanonicalTime(text)
                                     : CanonicalTimestamp(text, /*with_zone=*/false);
      if (!canonical) return false;
      *out += *canonical;
      return true;
    }
    case TypeClass::kUuid: {
      std::string text = ValueText(v);
      if (text.size() != 36) return false;
      for (char& c : text) {
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c + 32);
        if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f') && c != '-') return false;
      }
      *out += text;
      return true;
    }
    default:  // text, json, any
      return false;
  }
}

// Appends one field of a row's text (connector.h) for a value of a column of class `type`.
void AppendField(TypeClass type, sqlite3_value* v, std::string* out) {
  if (sqlite3_value_type(v) == SQLITE_NULL) {
    *out += 'N';
    return;
  }
  const size_t start = out->size();
  if (AppendCanonical(type, v, out)) {
    *out += ',';
    return;
  }
  out->resize(start);
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(v));
  const std::string_view value(text ? text : "", static_cast<size_t>(sqlite3_value_bytes(v)));
  *out += std::to_string(Utf8Length(value));
  *out += ':';
  *out += value;
}

// The hash of the row whose (class, value) pairs are `argv`, into *hash; false with the error
// set on `ctx`.
bool RowHash(sqlite3_context* ctx, int argc, sqlite3_value** argv, uint64_t* hash) {
  if (argc % 2 != 0) {
    sqlite3_result_error(ctx, "tether_hash: (class, value) pairs expected", -1);
    return false;
  }
  // One buffer per thread for every row.
  thread_local std::string text;
  text.clear();
  for (int i = 0; i < argc; i += 2) {
    const int type = sqlite3_value_int(argv[i]);
    if (type < 0 || type > kLastClass) {
      sqlite3_result_error(ctx, "tether_hash: unknown type class", -1);
      return false;
    }
    AppendField(static_cast<TypeClass>(type), argv[i + 1], &text);
  }
  auto* md5 = static_cast<Md5*>(sqlite3_user_data(ctx));
  if (md5->Prefix64(text.data(), text.size(), hash)) return true;
  sqlite3_result_error(ctx, "tether: OpenSSL offers no MD5", -1);
  return false;
}

void HashSumStep(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* sum = static_cast<uint64_t*>(sqlite3_aggregate_context(ctx, sizeof(uint64_t)));
  if (sum == nullptr) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  uint64_t hash = 0;
  if (RowHash(ctx, argc, argv, &hash)) *sum += hash;  // wraps: the sum modulo 2^64
}

void HashFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  uint64_t hash = 0;
  if (RowHash(ctx, argc, argv, &hash)) {
    sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(hash));
  }
}

void HashSumFinal(sqlite3_context* ctx) {
  const auto* sum = static_cast<const uint64_t*>(sqlite3_aggregate_context(ctx, 0));
  sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(sum ? *sum : 0));
}

}  // namespace

int RegisterChecksumFunctions(sqlite3* db) {
  constexpr int kFlags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
  const int rc =
      sqlite3_create_function_v2(db, "tether_hash", -1, kFlags, new Md5(), HashFunction, nullptr,
                                 nullptr, [](void* md5) { delete static_cast<Md5*>(md5); });
  if (rc != SQLITE_OK) return rc;
  return sqlite3_create_function_v2(db, "tether_hash_sum", -1, kFlags, new Md5(), nullptr,
                                    HashSumStep, HashSumFinal,
                                    [](void* md5) { delete static_cast<Md5*>(md5); });
}

std::string RowHashArgs(const std::vector<ColumnInfo>& columns) {
  std::string out;
  for (const ColumnInfo& c : columns) {
    if (!out.empty()) out += ", ";
    out += std::to_string(static_cast<int>(c.type)) + ", " + QuoteIdent(c.name);
  }
  return out;
}

std::string DecimalText(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value < 0 ? "-Infinity" : "Infinity";
  // d.dddddddddddddde±x: the 15 significant digits, correctly rounded.
  char buffer[40];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, std::abs(value),
                                       std::chars_format::scientific, 14);
  (void)ec;  // 40 characters always suffice
  const std::string_view s(buffer, static_cast<size_t>(end - buffer));
  const size_t e = s.find('e');
  std::string digits = std::string(1, s[0]) + std::string(s.substr(2, e - 2));
  int exponent = 0;
  std::from_chars(s.data() + e + 2, s.data() + s.size(), exponent);
  if (s[e + 1] == '-') exponent = -exponent;

  const int whole = exponent + 1;  // digits before the point
  const int count = static_cast<int>(digits.size());
  std::string out;
  if (whole <= 0) {
    out = "0." + std::string(static_cast<size_t>(-whole), '0') + digits;
  } else if (whole >= count) {
    out = digits + std::string(static_cast<size_t>(whole - count), '0');
  } else {
    out = digits.substr(0, static_cast<size_t>(whole)) + "." +
          digits.substr(static_cast<size_t>(whole));
  }
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "0" || value > 0) return out;
  return "-" + out;
}

}  // namespace tether::sqlite
