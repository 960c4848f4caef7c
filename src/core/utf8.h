// UTF-8 text: length in characters, validity, a visible escape of bytes that are not UTF-8, and
// cutting on character boundaries — for values checked against a column, and for messages and
// ids that are stored or printed (state store columns, JSON) and must be valid UTF-8.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tether {

// Characters (code points) in `s`: the bytes that do not continue a sequence.
size_t Utf8Length(std::string_view s);

// The offset of the first byte of `s` that is not part of a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF are not), or npos.
size_t InvalidUtf8At(std::string_view s);
inline bool IsUtf8(std::string_view s) { return InvalidUtf8At(s) == std::string_view::npos; }

// `s` with each byte that is not part of a well-formed sequence written as \xHH (upper-case
// hex): valid UTF-8 whatever `s` holds, and `s` unchanged when it is valid.
std::string EscapeInvalidUtf8(std::string_view s);

// At most `max_chars` characters of `s` (at least 4), cut on a character boundary and ending
// "..." when cut; bytes that are not UTF-8 escaped as EscapeInvalidUtf8 does. For showing a
// value or a message of any length and content.
std::string Utf8Excerpt(std::string_view s, size_t max_chars);

}  // namespace tether
