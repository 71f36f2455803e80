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
// The two statements append_audit() runs, prepared once and kept by a
// caller that appends often (the sync service appends a record per
// operation). Belongs to one connection; finalize() before it closes.
class AuditStatements {
 public:
  AuditStatements() = default;
  ~AuditStatements() { finalize(); }
  AuditStatements(const AuditStatements&) = delete;
  AuditStatements& operator=(const AuditStatements&) = delete;
  void finalize();

 private:
  friend Result<workflow::AuditRecord> append_audit(sqlite3*, AuditStatements&, workflow::AuditEvent);
  sqlite3_stmt* last_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

// The caller must hold a write transaction on `db`.
Result<workflow::AuditRecord> append_audit(sqlite3* db, AuditStatements& statements, workflow::AuditEvent event);
Result<workflow::AuditRecord> append_audit(sqlite3* db, workflow::AuditEvent event);
// Every record, in order (for verification and the audit admin).
Result<std::vector<workflow::AuditRecord>> read_audit(sqlite3* db);

}  // namespace jixiao::sync
