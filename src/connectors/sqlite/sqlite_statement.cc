#include "connectors/sqlite/sqlite_statement.h"

#include <cerrno>
#include <utility>

namespace tether::sqlite {

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

int BindValue(sqlite3_stmt* stmt, int index, const Value& v, bool copy) {
  sqlite3_destructor_type lifetime = copy ? SQLITE_TRANSIENT : SQLITE_STATIC;
  switch (v.kind()) {
    case ValueKind::kNull:
      return sqlite3_bind_null(stmt, index);
    case ValueKind::kInt:
      return sqlite3_bind_int64(stmt, index, v.as_int());
    case ValueKind::kReal:
      return sqlite3_bind_double(stmt, index, v.as_real());
    case ValueKind::kText:
    case ValueKind::kDecimal:
      // std::string::data() is never null, so empty text binds as '' and not as NULL.
      return sqlite3_bind_text64(stmt, index, v.as_string().data(), v.as_string().size(), lifetime,
                                 SQLITE_UTF8);
    case ValueKind::kBlob:
      if (v.as_string().empty()) return sqlite3_bind_zeroblob(stmt, index, 0);
      return sqlite3_bind_blob64(stmt, index, v.as_string().data(), v.as_string().size(), lifetime);
    case ValueKind::kBool:
      return sqlite3_bind_int(stmt, index, v.as_bool() ? 1 : 0);
  }
  return SQLITE_MISUSE;
}

Value ColumnValue(sqlite3_stmt* stmt, int column) {
  switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_INTEGER:
      return Value::Int(sqlite3_column_int64(stmt, column));
    case SQLITE_FLOAT:
      return Value::Real(sqlite3_column_double(stmt, column));
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
      int size = sqlite3_column_bytes(stmt, column);
      return Value::Text(text ? std::string(text, static_cast<size_t>(size)) : std::string());
    }
    case SQLITE_BLOB: {
      // A zero-length blob comes back as a null pointer.
      const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt, column));
      int size = sqlite3_column_bytes(stmt, column);
      return Value::Blob(bytes ? std::string(bytes, static_cast<size_t>(size)) : std::string());
    }
    default:
      return Value::Null();
  }
}

StatusCode CodeFor(int rc, int sys_errno) {
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return StatusCode::kOk;
    case SQLITE_CONSTRAINT:
      return StatusCode::kConstraint;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kBusy;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return StatusCode::kPermissionDenied;
    case SQLITE_FULL:
      return StatusCode::kIo;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN: {
      bool denied = sys_errno == EACCES || sys_errno == EPERM || sys_errno == EROFS;
      if (denied) return StatusCode::kPermissionDenied;
      return (rc & 0xff) == SQLITE_CANTOPEN ? StatusCode::kConnection : StatusCode::kIo;
    }
    case SQLITE_NOTADB:
      return StatusCode::kConnection;
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return StatusCode::kInvalidRecord;
    case SQLITE_INTERRUPT:
      return StatusCode::kCancelled;
    default:
      return StatusCode::kInternal;
  }
}

}  // namespace tether::sqlite
