// Reading back what tether wrote in its own tables (runs, links, checkpoints, change logs, the
// server's jobs): an engine may hand a stored number back as an integer, a decimal or text. A
// value that is no whole number means someone else changed the table: an error that names the
// table and column at fault, never an exception. Pure functions and a value type;
// thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/value.h"

namespace tether {

// The text of a stored value; NULL is empty text.
std::string StoredText(const Value& v);

// A stored whole number: an integer, a boolean, or a decimal or text that holds one ("42");
// NULL is 0. Anything else is an Internal error naming `what` and the value.
Result<int64_t> StoredInt(const Value& v, std::string_view what);
// The same for a number kept as text (a checkpoint's position).
Result<int64_t> StoredInt(std::string_view text, std::string_view what);

// One row read from tether's own table, its values in the order of `columns`; the first value
// that is no whole number is kept as status(), so a row is read field by field and checked once.
class StoredRow {
 public:
  StoredRow(const Row& row, std::string_view table, const std::vector<std::string>& columns)
      : row_(row), table_(table), columns_(columns) {}

  std::string Text(size_t i) const { return StoredText(row_[i]); }
  int64_t Int(size_t i);  // 0 once the value is no whole number (see status())
  const Status& status() const { return status_; }

 private:
  const Row& row_;
  std::string_view table_;
  const std::vector<std::string>& columns_;
  Status status_;
};

}  // namespace tether
