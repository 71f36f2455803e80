#include "jixiao/sync/audit_store.h"

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <algorithm>

#include "jixiao/common/bounded_archive.h"
#include "jixiao/sync/sqlite_db.h"

namespace jixiao::workflow {
template <class Archive>
void serialize(Archive& ar, AuditField& f) {
  ar(f.key, f.value);
}
}  // namespace jixiao::workflow

namespace jixiao::sync {
namespace {

std::string encode_fields(const std::vector<workflow::AuditField>& fields) { return archive::to_bytes(fields); }

std::vector<workflow::AuditField> decode_fields(const std::string& bytes) {
  auto fields = archive::from_bytes<std::vector<workflow::AuditField>>(bytes, "审计记录");
  // Damaged fields read as none: the verifier then reports the record altered.
  return fields ? std::move(*fields) : std::vector<workflow::AuditField>{};
}

Status storage(sqlite3* db, const char* what) {
  return Status(StatusCode::kUnavailable, "审计日志存储暂时不可用，请稍后重试",
                std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : "no database"));
}

template <typename Digest>
void copy_digest(const std::string& bytes, Digest& out) {
  std::copy_n(bytes.begin(), std::min(bytes.size(), out.size()), out.begin());
}

std::string_view digest_bytes(const workflow::Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace

Status ensure_audit_table(sqlite3* db) {
  char* err = nullptr;
  const char* sql =
      "CREATE TABLE IF NOT EXISTS audit(seq INTEGER PRIMARY KEY, algorithm TEXT NOT NULL, prev_hash BLOB NOT NULL,"
      " hash BLOB NOT NULL, kind INTEGER NOT NULL, at_ms INTEGER NOT NULL, actor TEXT NOT NULL,"
      " device TEXT NOT NULL, subject TEXT NOT NULL, action TEXT NOT NULL, fields BLOB NOT NULL)";
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err != nullptr ? err : "?";
    sqlite3_free(err);
    return Status(StatusCode::kUnavailable, "审计日志存储暂时不可用，请稍后重试", "create audit: " + msg);
  }
  return Status::ok();
}

void AuditStatements::finalize() {
  sqlite3_finalize(last_);
  sqlite3_finalize(insert_);
  last_ = insert_ = nullptr;
}

Result<workflow::AuditRecord> append_audit(sqlite3* db, AuditStatements& st, workflow::AuditEvent event) {
  const auto prepare = [&](sqlite3_stmt*& stmt, const char* sql) {
    if (stmt != nullptr && sqlite3_db_handle(stmt) == db) return true;
    sqlite3_finalize(stmt);
    stmt = nullptr;
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) == SQLITE_OK;
  };
  // Leaves a kept statement ready for the next use, whatever happened.
  struct Done {
    sqlite3_stmt* s;
    ~Done() {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
  };
  std::uint64_t next = 0;
  workflow::Digest last = workflow::kGenesisHash;
  {
    if (!prepare(st.last_, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")) {
      return storage(db, "read last audit record");
    }
    sqlite3_stmt* q = st.last_;
    Done done{q};
    const int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
      next = static_cast<std::uint64_t>(sqlite3_column_int64(q, 0)) + 1;
      const void* p = sqlite3_column_blob(q, 1);
      const std::string hash = p == nullptr ? std::string()
                                            : std::string(static_cast<const char*>(p),
                                                          static_cast<std::size_t>(sqlite3_column_bytes(q, 1)));
      copy_digest(hash, last);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return storage(db, "read last audit record");
  }
  workflow::AuditRecord rec = workflow::make_audit_record(next, last, std::move(event));
  if (!prepare(st.insert_,
               "INSERT INTO audit(seq, algorithm, prev_hash, hash, kind, at_ms, actor, device, subject, "
               "action, fields) VALUES (?,?,?,?,?,?,?,?,?,?,?)")) {
    return storage(db, "prepare audit insert");
  }
  sqlite3_stmt* ins = st.insert_;
  Done done{ins};
  const auto text = [&](int i, const std::string& v) {
    sqlite3_bind_text(ins, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  };
  const auto blob = [&](int i, std::string_view v) {
    sqlite3_bind_blob(ins, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  };
  sqlite3_bind_int64(ins, 1, static_cast<std::int64_t>(rec.seq));
  text(2, rec.algorithm);
  blob(3, digest_bytes(rec.prev_hash));
  blob(4, digest_bytes(rec.hash));
  sqlite3_bind_int64(ins, 5, static_cast<std::int64_t>(rec.event.kind));
  sqlite3_bind_int64(ins, 6, rec.event.at.time_since_epoch().count());
  text(7, rec.event.actor);
  text(8, rec.event.device);
  text(9, rec.event.subject);
  text(10, rec.event.action);
  blob(11, encode_fields(rec.event.fields));
  if (sqlite3_step(ins) != SQLITE_DONE) return storage(db, "append audit record");
  return rec;
}

Result<workflow::AuditRecord> append_audit(sqlite3* db, workflow::AuditEvent event) {
  AuditStatements once;
  return append_audit(db, once, std::move(event));
}

Result<std::vector<workflow::AuditRecord>> read_audit(sqlite3* db) {
  std::vector<workflow::AuditRecord> out;
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT seq, algorithm, prev_hash, hash, kind, at_ms, actor, device, subject, action, fields "
                         "FROM audit ORDER BY seq",
                         -1, &q, nullptr) != SQLITE_OK) {
    return storage(db, "read audit");
  }
  const auto text = [&](int i) {
    const auto* p = sqlite3_column_text(q, i);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(q, i)));
  };
  const auto blob = [&](int i) {
    const void* p = sqlite3_column_blob(q, i);
    return p == nullptr ? std::string()
                        : std::string(static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(q, i)));
  };
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    workflow::AuditRecord r;
    r.seq = static_cast<std::uint64_t>(sqlite3_column_int64(q, 0));
    r.algorithm = text(1);
    copy_digest(blob(2), r.prev_hash);
    copy_digest(blob(3), r.hash);
    r.event.kind = static_cast<workflow::AuditKind>(sqlite3_column_int64(q, 4));
    r.event.at = workflow::TimePoint(std::chrono::milliseconds(sqlite3_column_int64(q, 5)));
    r.event.actor = text(6);
    r.event.device = text(7);
    r.event.subject = text(8);
    r.event.action = text(9);
    r.event.fields = decode_fields(blob(10));
    out.push_back(std::move(r));
  }
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE) return storage(db, "read audit");
  return out;
}

}  // namespace jixiao::sync
