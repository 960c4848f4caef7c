#include "core/regex.h"

#include <re2/re2.h>

#include <cstdio>
#include <cstdlib>

namespace tether {
namespace {

// What one compiled pattern may use: its program and the lazily built DFA states. Past it RE2
// falls back to its slower, still linear, matcher; a pattern whose program alone does not fit
// is refused at compile time ("pattern too large").
constexpr int64_t kMaxMemory = 4 << 20;

RE2::Options Options() {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingUTF8);
  o.set_max_mem(kMaxMemory);
  o.set_log_errors(false);  // the reason travels in the Status, not on stderr
  return o;
}

}  // namespace

Result<Regex> Regex::Compile(std::string_view pattern) {
  auto re =
      std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), Options());
  if (!re->ok()) return Status::InvalidArgument(re->error());
  return Regex(std::string(pattern), std::move(re));
}

Regex Regex::Trusted(std::string_view pattern) {
  Result<Regex> r = Compile(pattern);
  if (!r.ok()) {
    std::fprintf(stderr, "tether: internal pattern %.*s: %s\n", static_cast<int>(pattern.size()),
                 pattern.data(), r.status().message().c_str());
    std::abort();
  }
  return std::move(r).value();
}

bool Regex::FullMatch(std::string_view text) const {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

bool Regex::PartialMatch(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

}  // namespace tether
