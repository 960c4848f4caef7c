#include "core/utf8.h"

#include <algorithm>

namespace tether {
namespace {

// Length of the well-formed sequence starting at s[i] (1-4), or 0 when none starts there
// (Unicode's table of well-formed byte sequences, D92).
size_t SequenceAt(std::string_view s, size_t i) {
  auto byte = [&s](size_t at) { return static_cast<unsigned char>(s[at]); };
  const unsigned char b = byte(i);
  if (b < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    if (b == 0xE0) lo = 0xA0;  // overlong
    if (b == 0xED) hi = 0x9F;  // surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    if (b == 0xF0) lo = 0x90;  // overlong
    if (b == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

void AppendEscaped(unsigned char b, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char escaped[4] = {'\\', 'x', kHex[b >> 4], kHex[b & 15]};
  out->append(escaped, 4);
}

}  // namespace

size_t Utf8Length(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

size_t InvalidUtf8At(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    // ASCII runs, the usual case, a byte at a time without the table.
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = SequenceAt(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string EscapeInvalidUtf8(std::string_view s) {
  size_t bad = InvalidUtf8At(s);
  if (bad == std::string_view::npos) return std::string(s);
  std::string out(s.substr(0, bad));
  for (size_t i = bad; i < s.size();) {
    const size_t n = SequenceAt(s, i);
    if (n == 0) {
      AppendEscaped(static_cast<unsigned char>(s[i]), &out);
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string Utf8Excerpt(std::string_view s, size_t max_chars) {
  max_chars = std::max<size_t>(max_chars, 4);
  // A character takes at most 4 bytes: a prefix of 4 * (max_chars + 1) bytes holds more than
  // max_chars characters whenever the input is longer, so the rest need not be escaped.
  const std::string text = EscapeInvalidUtf8(s.substr(0, std::min(s.size(), 4 * max_chars + 4)));
  size_t chars = 0, cut = 0;
  for (size_t i = 0; i < text.size(); i += SequenceAt(text, i)) {
    if (chars == max_chars - 3) cut = i;  // room for "..."
    ++chars;
  }
  if (chars <= max_chars) return text;
  return text.substr(0, cut) + "...";
}

}  // namespace tether
