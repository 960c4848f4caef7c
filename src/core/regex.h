// Regex: the regular expressions tether applies to text it does not control — `validate:
// pattern`s from the config, patterns of the API's request schema, user values and request
// fields. RE2 underneath: matching is linear in the input and the compiled program and its
// caches are bounded in memory, so no pattern or value can hang or crash the process (the
// backtracking std::regex recursed once per character and overflowed the stack on long values).
// RE2's syntax has no backreferences or lookaround; Compile says so by refusing them.
// Immutable once built; share one between threads freely.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace re2 {
class RE2;
}

namespace tether {

class Regex {
 public:
  // kInvalidArgument with RE2's reason ("missing ): (a", "invalid perl operator: (?=") when
  // `pattern` is not one RE2 accepts, or is too large to compile within the memory bound.
  static Result<Regex> Compile(std::string_view pattern);
  // For patterns written in tether's own code: they compile, or the program is wrong.
  static Regex Trusted(std::string_view pattern);

  // The whole of `text` matches (the pattern is anchored at both ends).
  bool FullMatch(std::string_view text) const;
  // Some part of `text` matches (JSON Schema's `pattern`: anchors only where written).
  bool PartialMatch(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  Regex(std::string pattern, std::shared_ptr<const re2::RE2> re)
      : pattern_(std::move(pattern)), re_(std::move(re)) {}

  std::string pattern_;
  std::shared_ptr<const re2::RE2> re_;
};

}  // namespace tether
