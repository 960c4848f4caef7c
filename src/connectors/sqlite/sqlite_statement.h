// RAII owners for SQLite's handles (sqlite3*, sqlite3_stmt*) and the bridge between Value and
// SQLite's storage classes. Private to the SQLite connector; used by one thread at a time.
#pragma once

#include <sqlite3.h>

#include <memory>

#include "core/status.h"
#include "core/value.h"

namespace tether::sqlite {

// sqlite3_close_v2 defers the close until every statement is finalized, so destruction order
// between a database and its statements cannot crash.
struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

// Owns one prepared statement and finalizes it on destruction. Move-only.
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope ends, so a reused statement never holds a lock or a
// half-run state past the call that used it.
class ScopedReset {
 public:
  explicit ScopedReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ScopedReset() { sqlite3_reset(stmt_); }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Binds `v` to the 1-based parameter `index`. With copy == false SQLite keeps pointers into `v`,
// which must then stay alive until the statement is reset. Returns a SQLite result code.
int BindValue(sqlite3_stmt* stmt, int index, const Value& v, bool copy);

// The value of result column `column`, by its storage class.
Value ColumnValue(sqlite3_stmt* stmt, int column);

// tether's status code for a SQLite (extended) result code. `sys_errno` (from
// sqlite3_system_errno) tells a permission problem from other open and I/O failures.
StatusCode CodeFor(int rc, int sys_errno);

}  // namespace tether::sqlite
