// Named locks of a SQLite database (Connector::TryLock): byte-range locks of the open file
// description (F_OFD_SETLK) in a file beside the database, "<database>-tether-lock", one byte
// per lock name. The kernel drops them when the file is closed or the process dies (SIGKILL
// too). Unlike POSIX record locks they belong to the open file, so two connectors of one
// process exclude each other; and the database file itself is never opened here, because
// closing any descriptor of it would drop the POSIX locks SQLite holds on it. One per
// connector; one thread at a time.
#pragma once

#include <set>
#include <string>
#include <utility>

#include "core/status.h"

namespace tether::sqlite {

class LockFile {
 public:
  // `database` is the database file's path; `where` starts every error message.
  LockFile(std::string database, std::string where)
      : database_(std::move(database)), where_(std::move(where)) {}
  ~LockFile();  // closes the lock file, which releases every lock taken through it
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  Result<bool> TryLock(const std::string& name);
  Status Release(const std::string& name);

 private:
  Status Open();

  std::string database_;
  std::string where_;
  int fd_ = -1;
  std::set<std::string> held_;
};

}  // namespace tether::sqlite
