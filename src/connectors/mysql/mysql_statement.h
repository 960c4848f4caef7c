// RAII owners for libmariadb's handles (MYSQL*, MYSQL_STMT*), the bridge between Value and
// MYSQL_BIND (parameters one row at a time or as a bulk array, results). Private to the MySQL
// connector; one thread at a time.
#pragma once

#include <mysql.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "connectors/mysql/mysql_errors.h"
#include "core/status.h"
#include "core/value.h"

namespace tether::mysql {

struct ConnCloser {
  void operator()(MYSQL* conn) const { mysql_close(conn); }
};
using ConnHandle = std::unique_ptr<MYSQL, ConnCloser>;

// Owns one prepared statement and closes it on destruction. Move-only.
class Statement {
 public:
  Statement() = default;
  explicit Statement(MYSQL_STMT* stmt) : stmt_(stmt) {}
  ~Statement() {
    if (stmt_) mysql_stmt_close(stmt_);
  }
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  MYSQL_STMT* get() const { return stmt_; }

 private:
  MYSQL_STMT* stmt_ = nullptr;
};

// The parameters of one execution, one MYSQL_BIND per value: Int as LONGLONG, Real as DOUBLE,
// Bool as TINY 0/1, Blob as BLOB (a binary string), Decimal and Text as STRING (in the
// connection's utf8mb4). Points into the values, which must outlive the execution.
class ParamBinder {
 public:
  void Bind(const std::vector<const Value*>& values);
  MYSQL_BIND* binds() { return binds_.empty() ? nullptr : binds_.data(); }

 private:
  union Scalar {
    long long i;
    double d;
    signed char b;
  };
  std::vector<MYSQL_BIND> binds_;
  std::vector<Scalar> scalars_;
  std::vector<unsigned long> lengths_;
};

// The parameters of one bulk execution (MariaDB's COM_STMT_BULK_EXECUTE, STMT_ATTR_ARRAY_SIZE):
// rows [begin, end) of `rows`, parameter i of a set being value i of its row, bound column-wise.
// A column whose values are all of one kind binds as that kind; a column mixing kinds binds
// every value as its text form (the server converts, as it would a literal). Points into the
// rows, which must outlive the execution.
class BulkBinder {
 public:
  void Bind(const std::vector<const Row*>& rows, size_t begin, size_t end, size_t columns);
  MYSQL_BIND* binds() { return binds_.data(); }
  unsigned int size() const { return size_; }

 private:
  struct Column {
    std::vector<long long> ints;
    std::vector<double> reals;
    std::vector<signed char> bools;
    std::vector<const char*> strings;
    std::vector<unsigned long> lengths;
    std::vector<char> indicators;
  };
  std::vector<MYSQL_BIND> binds_;
  std::vector<Column> columns_;
  std::deque<std::string> texts_;  // text forms of mixed columns
  unsigned int size_ = 0;
};

// Reads the rows of an executed statement into Values, by the result's column types:
// integers -> Int (bigint unsigned above int64 -> Decimal), tinyint(1) -> Bool, decimal ->
// Decimal (exact text), float/double -> Real, binary strings -> Blob, other strings -> Text,
// bit -> Int, date/time/datetime -> canonical Text (core/temporal.h), timestamp -> canonical
// Text with "+00:00" (the session is UTC).
class ResultReader {
 public:
  // Binds output buffers for the current result set of `stmt`; false on a client error.
  bool Prepare(MYSQL_STMT* stmt);
  size_t columns() const { return kinds_.size(); }
  // 1: *row holds the next row; 0: no more rows; -1: an error (see mysql_stmt_error).
  int Next(MYSQL_STMT* stmt, Row* row);

 private:
  enum class Kind {
    kNull,
    kInt,
    kUnsigned,
    kBool,
    kFloat,
    kDouble,
    kDecimal,
    kText,
    kBlob,
    kBit,
    kDate,
    kTime,
    kDateTime,
    kTimestamp,
  };
  struct Slot {
    long long i = 0;
    float f = 0;
    double d = 0;
    MYSQL_TIME t{};
    std::string buffer;
    unsigned long length = 0;
    my_bool is_null = 0;
    my_bool error = 0;
  };
  Value Convert(MYSQL_STMT* stmt, size_t column, bool* ok);

  std::vector<Kind> kinds_;
  std::vector<Slot> slots_;
  std::vector<MYSQL_BIND> binds_;
};

// The error of a statement's last call. An error met while fetching rows (e.g. a duplicate key
// in the middle of INSERT ... RETURNING) is recorded on the session, not on the statement.
unsigned int StmtErrno(MYSQL_STMT* stmt);
std::string StmtErrorText(MYSQL_STMT* stmt);

}  // namespace tether::mysql
