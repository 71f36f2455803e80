// The SQLite implementation of the server's store (store.h): one file in
// WAL mode with synchronous=FULL, one writer connection (write transactions
// are BEGIN IMMEDIATE, serialized by a mutex in this process and by SQLite's
// lock across processes) and a small pool of reader connections.
//
// Schema ladder (PRAGMA user_version):
//   0 → 1  the tables main wrote before the store module: units, users,
//          sessions, audit, forms(form_id, unit, replica), log, op_results,
//          visibility, rounds (tests/fixtures/store/schema1.sql)
//   1 → 2  meta(key, value) with store_id, epoch and directory_version; the
//          form index columns (store.h FormIndex) filled for every form by
//          the Indexer, and indexes by round and unit
// Each step runs in one transaction: a failure leaves the file at the
// version it had. A file newer than kSchemaVersion is refused before any
// byte of it is written.
#pragma once

#include <filesystem>
#include <memory>

#include "jixiao/store/store.h"

namespace jixiao::store {

struct SqliteStoreOptions {
  bool create = false;         // create the file when missing (init); else kNotFound
  // Open an existing file of any schema version from 1 to kSchemaVersion
  // without migrating or writing it (checking a backup); writes are refused.
  bool read_only = false;
  Indexer indexer;             // for the 1 → 2 step; required when a form must be indexed
  int busy_timeout_ms = 5000;  // how long a writer waits for another process's lock
  std::size_t readers = 4;     // reader connections kept open at most
};

Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& file, SqliteStoreOptions options);

// The schema version of a file nobody needs to open for writing (0 for an
// empty or new file); kCorruption when it is not an SQLite database.
Result<int> sqlite_store_version(const std::filesystem::path& file);

}  // namespace jixiao::store
