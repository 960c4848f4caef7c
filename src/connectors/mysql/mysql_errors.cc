#include "connectors/mysql/mysql_errors.h"

#include <errmsg.h>
#include <mysqld_error.h>

namespace tether::mysql {
namespace {

// MySQL-only error numbers, absent from MariaDB's mysqld_error.h.
constexpr unsigned kMysqlInvalidJson = 3140;
constexpr unsigned kMysqlCheckViolated = 3819;
constexpr unsigned kMysqlQueryTimeout = 3024;
constexpr unsigned kWarnDataTruncated = 1265;

}  // namespace

StatusCode CodeFor(unsigned int error_number) {
  switch (error_number) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_SSL_CONNECTION_ERROR:
    case ER_ACCESS_DENIED_ERROR:
    case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
      return StatusCode::kConnection;
    case ER_BAD_DB_ERROR:
    case ER_NO_SUCH_TABLE:
    case ER_BAD_FIELD_ERROR:
    case ER_BAD_TABLE_ERROR:
    case ER_UNKNOWN_TABLE:
    case ER_SP_DOES_NOT_EXIST:  // also "SAVEPOINT x does not exist"
      return StatusCode::kNotFound;
    case ER_TABLE_EXISTS_ERROR:
    case ER_DB_CREATE_EXISTS:
      return StatusCode::kAlreadyExists;
    case ER_DBACCESS_DENIED_ERROR:
    case ER_TABLEACCESS_DENIED_ERROR:
    case ER_COLUMNACCESS_DENIED_ERROR:
    case ER_SPECIFIC_ACCESS_DENIED_ERROR:
    case ER_KILL_DENIED_ERROR:
    case ER_OPTION_PREVENTS_STATEMENT:  // --read-only
    case ER_OPEN_AS_READONLY:
    case ER_READ_ONLY_TRANSACTION:
    case ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION:
      return StatusCode::kPermissionDenied;
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
    case ER_DUP_KEY:
    case ER_DUP_UNIQUE:
    case ER_ROW_IS_REFERENCED:
    case ER_ROW_IS_REFERENCED_2:
    case ER_NO_REFERENCED_ROW:
    case ER_NO_REFERENCED_ROW_2:
    case ER_BAD_NULL_ERROR:
    case ER_NO_DEFAULT_FOR_FIELD:
    case ER_NO_DEFAULT_FOR_VIEW_FIELD:
      return StatusCode::kConstraint;
    case ER_DATA_TOO_LONG:
    case ER_WARN_DATA_OUT_OF_RANGE:
    case kWarnDataTruncated:
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_ILLEGAL_VALUE_FOR_TYPE:
    case ER_WRONG_VALUE_FOR_TYPE:
    case ER_DATA_OUT_OF_RANGE:
    case ER_DIVISION_BY_ZERO:
    case ER_INVALID_CHARACTER_STRING:
    case ER_CANNOT_CONVERT_CHARACTER:
    case ER_CONSTRAINT_FAILED:  // MariaDB CHECK, e.g. json_valid on a json column
    case ER_NET_PACKET_TOO_LARGE:
    case CR_NET_PACKET_TOO_LARGE:
    case kMysqlInvalidJson:
    case kMysqlCheckViolated:
      return StatusCode::kInvalidRecord;
    case ER_LOCK_DEADLOCK:
    case ER_USER_LOCK_DEADLOCK:
      return StatusCode::kTryAgain;
    case ER_LOCK_WAIT_TIMEOUT:
      return StatusCode::kBusy;
    case ER_STATEMENT_TIMEOUT:
    case kMysqlQueryTimeout:
      return StatusCode::kTimedOut;
    case ER_QUERY_INTERRUPTED:
      return StatusCode::kCancelled;
    case ER_DISK_FULL:
    case ER_RECORD_FILE_FULL:
    case ER_LOCK_TABLE_FULL:
      return StatusCode::kIo;
    default:
      return StatusCode::kInternal;
  }
}

}  // namespace tether::mysql
