// A thin RAII layer over the sqlite3 C API for the stores of the server and
// the client: a connection with jixiao's settings, prepared statements, and
// transactions that roll back unless committed.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "jixiao/common/status.h"

namespace jixiao::sync {

// Opens `path` (":memory:" allowed) with WAL, synchronous=FULL, a busy
// timeout and foreign keys on.
class Database {
 public:
  static Result<Database> open(const std::string& path);
  Database() = default;
  ~Database();
  Database(Database&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() const { return db_; }
  Status exec(std::string_view sql);
  // kUnavailable ("存储暂时不可用") with sqlite's message in the detail.
  Status error(std::string_view what) const;
  std::int64_t user_version();

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

class Statement {
 public:
  Statement(const Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind(int index, std::int64_t value);
  Statement& bind_null(int index);
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  // step() must be SQLITE_DONE.
  Status run(std::string_view what);
  void reset();

  std::int64_t column_int(int i) const;
  std::string column_text(int i) const;
  std::string column_blob(int i) const;
  bool column_null(int i) const;

 private:
  const Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit().
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  const Status& status() const { return begun_; }
  Status commit();

 private:
  Database& db_;
  Status begun_;
  bool done_ = false;
};

}  // namespace jixiao::sync
