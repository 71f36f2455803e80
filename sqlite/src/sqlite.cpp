#include "jixiao/sqlite/sqlite.h"

#include <sqlite3.h>

#include <map>
#include <thread>

namespace jixiao::sqlite {
namespace {

Status make_error(sqlite3* db, int rc, std::string_view what, const std::string& place) {
  std::string detail = std::string(what) + ": " + sqlite3_errstr(rc) + " (code " + std::to_string(rc) + ")";
  if (db != nullptr) {
    const char* msg = sqlite3_errmsg(db);
    if (msg != nullptr && std::string_view(msg) != sqlite3_errstr(rc)) detail += ": " + std::string(msg);
  }
  const auto with = [&](StatusCode code, StorageReason reason, std::string message) {
    return Status(code, static_cast<std::uint16_t>(reason), std::move(message), std::move(detail));
  };
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return with(StatusCode::kUnavailable, StorageReason::kBusy, place + "正忙，请稍后重试");
    case SQLITE_FULL:
      return with(StatusCode::kUnavailable, StorageReason::kFull, "磁盘已满，" + place + "无法写入，未保存");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_NOLFS:
    case SQLITE_PROTOCOL:
    case SQLITE_PERM:
      return with(StatusCode::kUnavailable, StorageReason::kIo, place + "读写失败，请稍后重试");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return with(StatusCode::kCorruption, StorageReason::kCorrupt, place + "已损坏或不是 jixiao 的数据库");
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        return with(StatusCode::kConflict, StorageReason::kUnique, place + "中已有相同的记录");
      }
      return with(StatusCode::kConflict, StorageReason::kConstraint, place + "拒绝了不完整或不一致的记录");
    default:
      return with(StatusCode::kInternal, StorageReason::kInternal, place + "操作失败");
  }
}

bool has_reason(const Status& s, StorageReason r) { return s.reason() == static_cast<std::uint16_t>(r); }

}  // namespace

bool is_unique_violation(const Status& s) { return s.code() == StatusCode::kConflict && has_reason(s, StorageReason::kUnique); }
bool is_busy(const Status& s) { return s.code() == StatusCode::kUnavailable && has_reason(s, StorageReason::kBusy); }
bool is_disk_full(const Status& s) { return s.code() == StatusCode::kUnavailable && has_reason(s, StorageReason::kFull); }

// ---- Database -----------------------------------------------------------------------

struct Statement::Kept {
  sqlite3_stmt* stmt = nullptr;
  bool in_use = false;
};

struct Database::Impl {
  sqlite3* db = nullptr;
  std::string path;
  std::string place;
  std::map<const char*, Statement::Kept> kept;
  ~Impl() {
    for (auto& [sql, k] : kept) sqlite3_finalize(k.stmt);
    if (db != nullptr) sqlite3_close_v2(db);
  }
};

Database::Database() = default;
Database::~Database() = default;
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;

Result<Database> Database::open(const std::string& path, OpenOptions options) {
  Database out;
  out.impl_ = std::make_unique<Impl>();
  out.impl_->path = path;
  out.impl_->place = options.place;
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |= options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (options.create && !options.read_only) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &out.impl_->db, flags, nullptr);
  if (rc != SQLITE_OK) return make_error(out.impl_->db, rc, "open " + path, options.place);
  sqlite3_extended_result_codes(out.impl_->db, 1);
  sqlite3_busy_timeout(out.impl_->db, options.busy_timeout_ms);
  if (!options.read_only && options.wal) {
    if (auto s = out.exec("PRAGMA journal_mode=WAL"); !s) return s;
  }
  if (auto s = out.exec(options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"); !s) return s;
  if (options.foreign_keys) {
    if (auto s = out.exec("PRAGMA foreign_keys=ON"); !s) return s;
  }
  return out;
}

bool Database::is_open() const { return impl_ != nullptr && impl_->db != nullptr; }
const std::string& Database::path() const { return impl_->path; }

Status Database::exec(std::string_view sql) {
  const std::string text(sql);
  const int rc = sqlite3_exec(impl_->db, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(rc, text.substr(0, 80));
  return Status::ok();
}

Status Database::error(int rc, std::string_view what) const {
  return make_error(impl_ != nullptr ? impl_->db : nullptr, rc, what, impl_ != nullptr ? impl_->place : "数据库");
}

std::int64_t Database::changes() const { return sqlite3_changes64(impl_->db); }
std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(impl_->db); }
bool Database::in_transaction() const { return sqlite3_get_autocommit(impl_->db) == 0; }

Result<std::int64_t> Database::user_version() {
  Statement q(*this, "PRAGMA user_version");
  auto row = q.step("read user_version");
  if (!row) return row.status();
  return *row ? q.column_int(0) : 0;
}

Status Database::set_user_version(std::int64_t version) {
  return exec("PRAGMA user_version = " + std::to_string(version));
}

Status Database::integrity_check() {
  Statement q(*this, "PRAGMA integrity_check(10)");
  std::string problems;
  for (;;) {
    auto row = q.step("integrity_check");
    if (!row) return row.status();
    if (!*row) break;
    const std::string line = q.column_text(0);
    if (line == "ok") continue;
    if (!problems.empty()) problems += "; ";
    problems += line;
  }
  if (problems.empty()) return Status::ok();
  return Status(StatusCode::kCorruption, static_cast<std::uint16_t>(StorageReason::kCorrupt),
                impl_->place + "已损坏（完整性检查未通过）", "integrity_check: " + problems);
}

Result<bool> Database::table_exists(std::string_view name) {
  Statement q(*this, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  q.bind(1, name);
  return q.step("look up table");
}

Result<std::vector<std::string>> Database::tables() {
  Statement q(*this, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  std::vector<std::string> out;
  for (;;) {
    auto row = q.step("list tables");
    if (!row) return row.status();
    if (!*row) return out;
    out.push_back(q.column_text(0));
  }
}

Status Database::backup_to(const std::string& to, int pages_per_step, std::chrono::milliseconds pause) {
  sqlite3* dst = nullptr;
  int rc = sqlite3_open_v2(to.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    Status s = make_error(dst, rc, "open backup target " + to, impl_->place);
    sqlite3_close(dst);
    return s;
  }
  sqlite3_backup* backup = sqlite3_backup_init(dst, "main", impl_->db, "main");
  if (backup == nullptr) {
    Status s = make_error(dst, sqlite3_errcode(dst), "backup init", impl_->place);
    sqlite3_close(dst);
    return s;
  }
  // Between steps the source is unlocked and writers keep going (a write by
  // another connection restarts the copy, so the steps are bounded, and so
  // are the waits for a busy source: about 12 s of them in a row).
  constexpr int kMaxSteps = 1'000'000;
  constexpr int kMaxBusyWaits = 600;
  int busy_waits = 0;
  for (int step = 0; step < kMaxSteps; ++step) {
    rc = sqlite3_backup_step(backup, pages_per_step);
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      if (++busy_waits > kMaxBusyWaits) break;
    } else if (rc != SQLITE_OK) {
      break;
    } else {
      busy_waits = 0;
    }
    std::this_thread::sleep_for(pause);
  }
  const int finished = sqlite3_backup_finish(backup);
  Status out;
  if (rc != SQLITE_DONE) {
    out = make_error(dst, rc, "backup step", impl_->place);
  } else if (finished != SQLITE_OK) {
    out = make_error(dst, finished, "backup finish", impl_->place);
  }
  const int closed = sqlite3_close(dst);
  if (out.is_ok() && closed != SQLITE_OK) out = make_error(nullptr, closed, "close backup", impl_->place);
  return out;
}

void Database::drop_kept_statements() {
  for (auto it = impl_->kept.begin(); it != impl_->kept.end();) {
    if (it->second.in_use) {
      ++it;
      continue;
    }
    sqlite3_finalize(it->second.stmt);
    it = impl_->kept.erase(it);
  }
}

// ---- Statement ----------------------------------------------------------------------

Statement::Statement(Database& db, std::string_view sql) : db_(db) {
  const int rc = sqlite3_prepare_v2(db.impl_->db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    prepared_ = db.error(rc, "prepare " + std::string(sql.substr(0, 80)));
    stmt_ = nullptr;
  }
}

Statement::Statement(Database& db, const char* sql, Lifetime lifetime) : db_(db) {
  if (lifetime == kKeep) {
    Kept& k = db.impl_->kept[sql];
    if (k.stmt != nullptr && !k.in_use) {
      stmt_ = k.stmt;
      kept_ = &k;
      k.in_use = true;
      return;
    }
  }
  const int rc = sqlite3_prepare_v3(db.impl_->db, sql, -1, lifetime == kKeep ? SQLITE_PREPARE_PERSISTENT : 0, &stmt_,
                                    nullptr);
  if (rc != SQLITE_OK) {
    prepared_ = db.error(rc, "prepare " + std::string(std::string_view(sql).substr(0, 80)));
    stmt_ = nullptr;
    return;
  }
  if (lifetime == kKeep) {
    Kept& k = db.impl_->kept[sql];
    if (k.stmt == nullptr) {
      k.stmt = stmt_;
      k.in_use = true;
      kept_ = &k;
    }
  }
}

Statement::~Statement() {
  if (kept_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    kept_->in_use = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

Statement& Statement::bind(int i, std::string_view text) {
  if (stmt_ != nullptr) sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind_blob(int i, std::string_view bytes) {
  // A zero-length blob must still be a blob, not NULL (data() may be null).
  if (stmt_ != nullptr) {
    static const char kEmpty = 0;
    sqlite3_bind_blob(stmt_, i, bytes.empty() ? &kEmpty : bytes.data(), static_cast<int>(bytes.size()),
                      SQLITE_TRANSIENT);
  }
  return *this;
}
Statement& Statement::bind(int i, std::int64_t v) {
  if (stmt_ != nullptr) sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Statement& Statement::bind_null(int i) {
  if (stmt_ != nullptr) sqlite3_bind_null(stmt_, i);
  return *this;
}

Result<bool> Statement::step(std::string_view what) {
  if (stmt_ == nullptr) return prepared_.with_location(what);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status s = db_.error(rc, what);
  sqlite3_reset(stmt_);
  return s;
}

Status Statement::run(std::string_view what) {
  auto row = step(what);
  if (!row) return row.status();
  if (*row) return Status::internal("数据库操作失败", std::string(what) + ": returned a row");
  return Status::ok();
}

void Statement::reset() {
  if (stmt_ == nullptr) return;
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

// ---- Transaction --------------------------------------------------------------------

Transaction::Transaction(Database& db, Kind kind)
    : db_(db), begun_(db.exec(kind == kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED")) {}

Transaction::~Transaction() { rollback(); }

void Transaction::rollback() {
  if (!done_ && begun_.is_ok()) {
    if (db_.in_transaction()) (void)db_.exec("ROLLBACK");
  }
  done_ = true;
}

Status Transaction::commit() {
  if (!begun_) return begun_;
  if (done_) return Status::internal("数据库操作失败", "commit after the transaction ended");
  Status s = db_.exec("COMMIT");
  if (s) done_ = true;
  return s;  // a failed COMMIT leaves the transaction open: the destructor rolls it back
}

}  // namespace jixiao::sqlite
