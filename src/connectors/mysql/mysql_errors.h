// What MySQL/MariaDB error numbers mean to tether: the StatusCode of a server error
// (mysqld_error.h) or a client library error (errmsg.h). Pure function; safe from any thread.
#pragma once

#include "core/status.h"

namespace tether::mysql {

// kConnection for an unreachable or lost server and failed authentication, kNotFound for a
// missing database, table or column, kPermissionDenied for missing grants or a read-only server,
// kConstraint for duplicate keys, foreign keys and missing NOT NULL values, kInvalidRecord for a
// value the column cannot hold (too long, out of range, not a date, CHECK failed), kTryAgain for
// a deadlock, kBusy for a lock wait timeout; kInternal for anything else and for 0.
StatusCode CodeFor(unsigned int error_number);

}  // namespace tether::mysql
