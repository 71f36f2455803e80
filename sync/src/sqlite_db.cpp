#include "jixiao/sync/sqlite_db.h"

namespace jixiao::sync {

Result<Database> Database::open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);
  if (rc != SQLITE_OK) return db.error("open " + path);
  sqlite3_busy_timeout(raw, 5000);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto s = db.exec(pragma); !s) return s;
  }
  return db;
}

Database::~Database() {
  if (db_ != nullptr) sqlite3_close(db_);
}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = other.db_;
    other.db_ = nullptr;
  }
  return *this;
}

Status Database::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err != nullptr ? err : "?";
    sqlite3_free(err);
    return Status(StatusCode::kUnavailable, "存储暂时不可用，请稍后重试", text.substr(0, 60) + ": " + msg);
  }
  return Status::ok();
}

Status Database::error(std::string_view what) const {
  return Status(StatusCode::kUnavailable, "存储暂时不可用，请稍后重试",
                std::string(what) + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : "no database"));
}

std::int64_t Database::user_version() {
  Statement q(*this, "PRAGMA user_version");
  return q.step() == SQLITE_ROW ? q.column_int(0) : 0;
}

Statement::Statement(const Database& db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK) {
    stmt_ = nullptr;
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int i, std::string_view text) {
  sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind_blob(int i, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Statement& Statement::bind_null(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

int Statement::step() { return stmt_ == nullptr ? SQLITE_ERROR : sqlite3_step(stmt_); }

Status Statement::run(std::string_view what) { return step() == SQLITE_DONE ? Status::ok() : db_.error(what); }

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int(int i) const { return sqlite3_column_int64(stmt_, i); }
std::string Statement::column_text(int i) const {
  const auto* p = sqlite3_column_text(stmt_, i);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
}
std::string Statement::column_blob(int i) const {
  const void* p = sqlite3_column_blob(stmt_, i);
  return p == nullptr ? std::string()
                      : std::string(static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
}
bool Statement::column_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

Transaction::Transaction(Database& db) : db_(db), begun_(db.exec("BEGIN IMMEDIATE")) {}

Transaction::~Transaction() {
  if (!done_ && begun_.is_ok()) (void)db_.exec("ROLLBACK");
}

Status Transaction::commit() {
  if (!begun_) return begun_;
  done_ = true;
  return db_.exec("COMMIT");
}

}  // namespace jixiao::sync
