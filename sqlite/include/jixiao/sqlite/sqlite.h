// The one SQLite wrapper of jixiao (server store, client replica, client
// files). It owns the mapping from SQLite's result codes to Status, so every
// caller reports storage failures the same way:
//
//   SQLITE_BUSY, SQLITE_LOCKED          kUnavailable, reason kBusy: retry soon
//   SQLITE_FULL                         kUnavailable, reason kFull: 磁盘已满
//   SQLITE_IOERR, CANTOPEN, READONLY,
//   NOLFS, PROTOCOL, PERM               kUnavailable, reason kIo
//   SQLITE_CORRUPT, NOTADB              kCorruption, reason kCorrupt
//   SQLITE_CONSTRAINT_*                 kConflict, reason kUnique for a
//                                       PRIMARY KEY or UNIQUE violation,
//                                       kConstraint for any other
//   anything else (misuse, schema, …)   kInternal, reason kInternal
//
// A caller that means "already exists" checks is_unique_violation(status)
// and says so only then; a busy or failed disk stays what it is.
//
// The message is Chinese and names the place (OpenOptions::place, e.g.
// "服务器数据库", "本机数据库"); the detail is precise for logs (what was
// being done, SQLite's extended code and message).
//
// <sqlite3.h> is not included here: link jixiao::sqlite PRIVATE.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/status.h"

struct sqlite3_stmt;  // opaque: SQLite's own type, never used outside src/

namespace jixiao::sqlite {

// Status::reason() of a storage failure. Never renumbered.
enum class StorageReason : std::uint16_t {
  kBusy = 3001,        // another writer holds the database: retry
  kIo = 3002,          // a read or write of the file failed
  kFull = 3003,        // the disk (or quota) is full
  kCorrupt = 3004,     // the file is damaged or not a database
  kUnique = 3005,      // a PRIMARY KEY or UNIQUE constraint
  kConstraint = 3006,  // another constraint (NOT NULL, CHECK, FOREIGN KEY)
  kInternal = 3007,    // misuse, schema change, a bug
};

bool is_unique_violation(const Status& s);
bool is_busy(const Status& s);
bool is_disk_full(const Status& s);

struct OpenOptions {
  bool create = true;     // create the file when missing
  bool read_only = false;
  bool wal = true;        // journal_mode=WAL (ignored when read_only)
  bool synchronous_full = true;
  bool foreign_keys = true;
  int busy_timeout_ms = 5000;
  std::string place = "数据库";  // how Chinese messages name this database
};

class Statement;

class Database {
 public:
  static Result<Database> open(const std::string& path, OpenOptions options = {});
  Database();
  ~Database();
  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  bool is_open() const;
  const std::string& path() const;
  // Runs one or more statements that return no rows.
  Status exec(std::string_view sql);
  // The Status for SQLite result code `rc` while doing `what`.
  Status error(int rc, std::string_view what) const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const;
  std::int64_t last_insert_rowid() const;
  Result<std::int64_t> user_version();
  Status set_user_version(std::int64_t version);
  bool in_transaction() const;
  // PRAGMA integrity_check: ok, or kCorruption naming the first problems.
  Status integrity_check();
  Result<bool> table_exists(std::string_view name);
  // The names of the tables (not indexes or views), sorted.
  Result<std::vector<std::string>> tables();
  // SQLite's online backup of this database to a new file `to`, a few pages
  // per step with a pause between steps so that writers keep going.
  Status backup_to(const std::string& to, int pages_per_step = 256,
                   std::chrono::milliseconds pause = std::chrono::milliseconds(20));
  // Forgets every statement kept by Statement(db, sql, kKeep) (before schema
  // changes, or to release memory).
  void drop_kept_statements();

 private:
  friend class Statement;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Statement {
 public:
  // kKeep: the statement is prepared once per connection and kept, keyed by
  // the address of `sql`, which must be a string literal (the server's hot
  // paths: compiling every statement on every use was a fifth of its CPU).
  // A kept statement already in use (a nested query of the same text) gets a
  // fresh one instead.
  enum Lifetime { kOnce, kKeep };
  Statement(Database& db, std::string_view sql);
  Statement(Database& db, const char* sql, Lifetime lifetime);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Why the statement could not be prepared (ok when it was).
  const Status& status() const { return prepared_; }

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind(int index, std::int64_t value);
  Statement& bind_null(int index);

  // true: a row is ready; false: done. `what` names the work for the detail.
  Result<bool> step(std::string_view what);
  // Steps once and expects no row (INSERT, UPDATE, DELETE).
  Status run(std::string_view what);
  void reset();

  std::int64_t column_int(int i) const;
  std::string column_text(int i) const;
  std::string column_blob(int i) const;
  bool column_null(int i) const;

  struct Kept;  // a kept statement's slot (Database's cache)

 private:
  Database& db_;
  ::sqlite3_stmt* stmt_ = nullptr;
  Kept* kept_ = nullptr;
  Status prepared_;
};

// BEGIN IMMEDIATE (or DEFERRED for readers) on construction; ROLLBACK on
// destruction unless commit() succeeded.
class Transaction {
 public:
  enum Kind { kImmediate, kDeferred };
  explicit Transaction(Database& db, Kind kind = kImmediate);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  const Status& status() const { return begun_; }
  Status commit();
  void rollback();

 private:
  Database& db_;
  Status begun_;
  bool done_ = false;
};

}  // namespace jixiao::sqlite
