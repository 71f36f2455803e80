// The audit chain's table in a jixiao SQLite database.
//
// append_audit() reads the chain's last record inside the caller's write
// transaction (BEGIN IMMEDIATE) and writes the next one there, so the record
// commits or rolls back with the change it describes, and any connection —
// the sync service, the accounts, an administration command in another
// process — may append without a cached "last record" going stale.
#pragma once

#include <sqlite3.h>

#include <vector>

#include "jixiao/common/status.h"
#include "jixiao/workflow/audit_event.h"
#include "jixiao/workflow/audit_log.h"

namespace jixiao::sync {

// Creates the table if it does not exist.
Status ensure_audit_table(sqlite3* db);
// The caller must hold a write transaction on `db`.
Result<workflow::AuditRecord> append_audit(sqlite3* db, workflow::AuditEvent event);
// Every record, in order (for verification and the audit admin).
Result<std::vector<workflow::AuditRecord>> read_audit(sqlite3* db);

}  // namespace jixiao::sync
