// Letter case in ASCII only, for names, keywords and URL schemes: A-Z and a-z, whatever the
// process's locale; every other byte compares and copies as it is.
#pragma once

#include <string>
#include <string_view>

namespace tether {

// The text with A-Z turned into a-z (AsciiUpper: a-z into A-Z), and every other byte as it is.
std::string AsciiLower(std::string_view text);
std::string AsciiUpper(std::string_view text);

// The text with its first letter lowered unless it starts a word in capitals ("Connection
// refused" -> "connection refused", "SSL error" as it is): a library's message put after a colon.
std::string LowerFirstLetter(std::string text);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix);

// Removes `prefix` from the front of `*text` if it is there in any letter case.
bool ConsumePrefixIgnoreCase(std::string_view* text, std::string_view prefix);

}  // namespace tether
