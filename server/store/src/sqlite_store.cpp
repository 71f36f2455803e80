#include "jixiao/store/sqlite_store.h"

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <algorithm>
#include <condition_variable>
#include <list>
#include <mutex>

#include "jixiao/common/bounded_archive.h"
#include "jixiao/common/text.h"
#include "jixiao/common/uuid.h"
#include "jixiao/sqlite/sqlite.h"
#include "jixiao/sync/model_cereal.h"

namespace jixiao::workflow {
template <class Archive>
void serialize(Archive& ar, AuditField& f) {
  ar(f.key, f.value);
}
}  // namespace jixiao::workflow

namespace jixiao::store {
namespace {

using sqlite::Database;
using sqlite::Statement;

constexpr const char* kPlace = "服务器数据库";

// ---- the ladder -----------------------------------------------------------------------

// Schema 1, exactly as main created it before this module (three owners then:
// the sync service, the accounts and the audit store). IF NOT EXISTS because
// a version-0 file may already hold the accounts' tables.
constexpr const char* kSchema1 = R"sql(
  CREATE TABLE IF NOT EXISTS units(code TEXT PRIMARY KEY, name TEXT NOT NULL, level INTEGER NOT NULL,
                                   parent TEXT NOT NULL, finance_bureau TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS users(login TEXT PRIMARY KEY, display_name TEXT NOT NULL, unit TEXT NOT NULL,
                                   roles TEXT NOT NULL, disabled INTEGER NOT NULL, pw_hash TEXT NOT NULL,
                                   failures INTEGER NOT NULL, locked_until INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS sessions(token_hash BLOB PRIMARY KEY, login TEXT NOT NULL, device TEXT NOT NULL,
                                      created INTEGER NOT NULL, last_seen INTEGER NOT NULL,
                                      revoked INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS audit(seq INTEGER PRIMARY KEY, algorithm TEXT NOT NULL, prev_hash BLOB NOT NULL,
                                   hash BLOB NOT NULL, kind INTEGER NOT NULL, at_ms INTEGER NOT NULL,
                                   actor TEXT NOT NULL, device TEXT NOT NULL, subject TEXT NOT NULL,
                                   action TEXT NOT NULL, fields BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS forms(form_id TEXT PRIMARY KEY, unit TEXT NOT NULL, replica BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY, form_id TEXT NOT NULL, entry BLOB NOT NULL);
  CREATE INDEX IF NOT EXISTS log_by_form ON log(form_id, seq);
  CREATE TABLE IF NOT EXISTS op_results(op_id TEXT PRIMARY KEY, payload_hash BLOB NOT NULL, seq INTEGER NOT NULL,
                                        code INTEGER NOT NULL, reason INTEGER NOT NULL, message TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS visibility(form_id TEXT NOT NULL, unit TEXT NOT NULL, since_seq INTEGER NOT NULL,
                                        PRIMARY KEY(form_id, unit));
  CREATE INDEX IF NOT EXISTS visibility_by_unit ON visibility(unit, since_seq);
  CREATE TABLE IF NOT EXISTS rounds(round_id TEXT PRIMARY KEY, finance_bureau TEXT NOT NULL,
                                    fiscal_year INTEGER NOT NULL, deadline_ms INTEGER NOT NULL, round BLOB NOT NULL);
)sql";

// Schema 2's additions; the index columns are filled by the step's code.
constexpr const char* kSchema2 = R"sql(
  CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
  ALTER TABLE forms ADD COLUMN template_id TEXT NOT NULL DEFAULT '';
  ALTER TABLE forms ADD COLUMN template_version INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE forms ADD COLUMN fiscal_year INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE forms ADD COLUMN round_id TEXT NOT NULL DEFAULT '';
  ALTER TABLE forms ADD COLUMN definition_id TEXT NOT NULL DEFAULT '';
  ALTER TABLE forms ADD COLUMN definition_version INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE forms ADD COLUMN phase INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE forms ADD COLUMN stage_id TEXT NOT NULL DEFAULT '';
  ALTER TABLE forms ADD COLUMN holder_role TEXT NOT NULL DEFAULT '';
  ALTER TABLE forms ADD COLUMN holder_unit TEXT NOT NULL DEFAULT '';
  ALTER TABLE forms ADD COLUMN return_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE forms ADD COLUMN amount_fen INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE forms ADD COLUMN score TEXT NOT NULL DEFAULT '';
  ALTER TABLE forms ADD COLUMN grade TEXT NOT NULL DEFAULT '';
  ALTER TABLE forms ADD COLUMN updated_ms INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE forms ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX forms_by_round ON forms(round_id, unit) WHERE round_id <> '';
  CREATE INDEX forms_by_unit ON forms(unit);
)sql";

constexpr const char* kFormIndexColumns =
    "unit, template_id, template_version, fiscal_year, round_id, definition_id, definition_version, phase, "
    "stage_id, holder_role, holder_unit, return_count, amount_fen, score, grade, updated_ms, last_seq";

std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }

Status bind_index(Statement& st, int first, const FormIndex& x) {
  st.bind(first, x.unit)
      .bind(first + 1, x.template_id)
      .bind(first + 2, std::int64_t{x.template_version})
      .bind(first + 3, std::int64_t{x.fiscal_year})
      .bind(first + 4, x.round_id)
      .bind(first + 5, x.definition_id)
      .bind(first + 6, std::int64_t{x.definition_version})
      .bind(first + 7, std::int64_t{x.phase})
      .bind(first + 8, x.stage_id)
      .bind(first + 9, x.holder_role)
      .bind(first + 10, x.holder_unit)
      .bind(first + 11, std::int64_t{x.return_count})
      .bind(first + 12, x.amount_fen)
      .bind(first + 13, x.score)
      .bind(first + 14, x.grade)
      .bind(first + 15, x.updated_ms)
      .bind(first + 16, i64(x.last_seq));
  return st.status();
}

FormIndex read_index(const Statement& q, int first) {
  FormIndex x;
  x.unit = q.column_text(first);
  x.template_id = q.column_text(first + 1);
  x.template_version = static_cast<std::uint32_t>(q.column_int(first + 2));
  x.fiscal_year = static_cast<int>(q.column_int(first + 3));
  x.round_id = q.column_text(first + 4);
  x.definition_id = q.column_text(first + 5);
  x.definition_version = static_cast<std::uint32_t>(q.column_int(first + 6));
  x.phase = static_cast<int>(q.column_int(first + 7));
  x.stage_id = q.column_text(first + 8);
  x.holder_role = q.column_text(first + 9);
  x.holder_unit = q.column_text(first + 10);
  x.return_count = static_cast<std::uint32_t>(q.column_int(first + 11));
  x.amount_fen = q.column_int(first + 12);
  x.score = q.column_text(first + 13);
  x.grade = q.column_text(first + 14);
  x.updated_ms = q.column_int(first + 15);
  x.last_seq = static_cast<ServerSeq>(q.column_int(first + 16));
  return x;
}

Result<Organisation> read_organisation(Database& db) {
  Organisation org;
  Statement q(db, "SELECT code, name, level, parent, finance_bureau FROM units ORDER BY rowid", Statement::kKeep);
  for (;;) {
    auto row = q.step("read units");
    if (!row) return row.status();
    if (!*row) return org;
    (void)org.add_unit({q.column_text(0), q.column_text(1), static_cast<UnitLevel>(q.column_int(2)), q.column_text(3),
                        q.column_text(4)});
  }
}

// The 1 → 2 step's code: fill the index columns of every form.
Status index_every_form(Database& db, const Indexer& indexer) {
  auto org = read_organisation(db);
  if (!org) return org.status();
  std::vector<std::pair<std::string, std::string>> forms;
  {
    Statement q(db, "SELECT form_id, replica FROM forms ORDER BY form_id");
    for (;;) {
      auto row = q.step("read forms to index");
      if (!row) return row.status();
      if (!*row) break;
      forms.emplace_back(q.column_text(0), q.column_blob(1));
    }
  }
  if (!forms.empty() && !indexer) {
    return Status::internal("无法升级服务器数据库（缺少表单索引程序）", "migration 1->2 without an indexer");
  }
  for (const auto& [id, bytes] : forms) {
    auto replica = sync::decode_replica(bytes);
    if (!replica) {
      return Status::corruption("服务器数据库中表单 " + id + " 的内容已损坏，无法升级数据库",
                                "migration 1->2: form " + id + ": " + replica.status().detail());
    }
    auto index = indexer(*replica, *org);
    if (!index) return index.status().with_location("migration 1->2: form " + id);
    Statement up(db,
                 "UPDATE forms SET unit = ?, template_id = ?, template_version = ?, fiscal_year = ?, round_id = ?, "
                 "definition_id = ?, definition_version = ?, phase = ?, stage_id = ?, holder_role = ?, "
                 "holder_unit = ?, return_count = ?, amount_fen = ?, score = ?, grade = ?, updated_ms = ?, "
                 "last_seq = ? WHERE form_id = ?");
    (void)bind_index(up, 1, *index);
    up.bind(18, id);
    if (auto s = up.run("index form " + id); !s) return s;
  }
  return Status::ok();
}

Status migrate(Database& db, const Indexer& indexer) {
  auto version = db.user_version();
  if (!version) return version.status();
  if (*version > kSchemaVersion) {
    return Status::unsupported_version("服务器数据库是第 " + std::to_string(*version) + " 版，比本程序（第 " +
                                           std::to_string(kSchemaVersion) + " 版）新：请升级 jixiao-server",
                                       "schema " + std::to_string(*version) + " > " + std::to_string(kSchemaVersion));
  }
  for (std::int64_t v = *version; v < kSchemaVersion; ++v) {
    sqlite::Transaction tx(db);
    if (!tx.status()) return tx.status();
    // Another process may have migrated while this one waited for the lock.
    auto now = db.user_version();
    if (!now) return now.status();
    if (*now != v) {
      if (*now > kSchemaVersion) {
        return Status::unsupported_version("服务器数据库是第 " + std::to_string(*now) + " 版，比本程序（第 " +
                                               std::to_string(kSchemaVersion) + " 版）新：请升级 jixiao-server",
                                           "schema " + std::to_string(*now) + " > " + std::to_string(kSchemaVersion));
      }
      v = *now - 1;
      continue;
    }
    if (v == 0) {
      if (auto s = db.exec(kSchema1); !s) return s;
    } else if (v == 1) {
      if (auto s = db.exec(kSchema2); !s) return s;
      Statement meta(db, "INSERT INTO meta(key, value) VALUES ('store_id', ?), ('epoch', '1'), ('directory_version', '1')");
      meta.bind(1, new_uuid_v4());
      if (auto s = meta.run("write meta"); !s) return s;
      if (auto s = index_every_form(db, indexer); !s) return s;
    }
    if (auto s = db.set_user_version(v + 1); !s) return s;
    if (auto s = tx.commit(); !s) return s;
  }
  return Status::ok();
}

// ---- the audit chain's encoding ----------------------------------------------------------

std::string encode_fields(const std::vector<workflow::AuditField>& fields) { return archive::to_bytes(fields); }

std::vector<workflow::AuditField> decode_fields(const std::string& bytes) {
  auto fields = archive::from_bytes<std::vector<workflow::AuditField>>(bytes, "审计记录");
  // Damaged fields read as none: the verifier then reports the record altered.
  return fields ? std::move(*fields) : std::vector<workflow::AuditField>{};
}

template <typename Digest>
void copy_digest(const std::string& bytes, Digest& out) {
  std::copy_n(bytes.begin(), std::min(bytes.size(), out.size()), out.begin());
}

std::string_view digest_bytes(const workflow::Digest& d) { return {reinterpret_cast<const char*>(d.data()), d.size()}; }

std::string encode_round(const workflow::Round& round) { return archive::to_bytes(round); }

// ---- transactions ------------------------------------------------------------------------

class SqliteStore;

class SqliteTransaction final : public Transaction {
 public:
  // A write transaction holds the writer lock for its life; a read
  // transaction borrows a reader connection and gives it back.
  SqliteTransaction(Database& db, std::unique_lock<std::mutex> writer, std::function<void()> release, bool write)
      : db_(db),
        writer_(std::move(writer)),
        release_(std::move(release)),
        write_(write),
        tx_(db, write ? sqlite::Transaction::kImmediate : sqlite::Transaction::kDeferred) {
    // SQLite takes a deferred transaction's snapshot at its first read; read
    // now, so that a reader sees the state as of begin_read() (store.h, 2).
    if (!write && tx_.status()) {
      Statement q(db_, "SELECT 1 FROM sqlite_master LIMIT 1", Statement::kKeep);
      if (auto row = q.step("start read snapshot"); !row) snapshot_ = row.status();
    }
  }
  ~SqliteTransaction() override {
    tx_.rollback();
    if (release_) release_();
  }

  const Status& begun() const { return tx_.status().is_ok() ? snapshot_ : tx_.status(); }

  Status commit() override {
    if (!write_) {
      tx_.rollback();
      return Status::ok();
    }
    return tx_.commit();
  }

  // ---- log and forms
  Result<ServerSeq> head() override {
    Statement q(db_, "SELECT COALESCE(MAX(seq), 0) FROM log", Statement::kKeep);
    auto row = q.step("read head");
    if (!row) return row.status();
    return static_cast<ServerSeq>(q.column_int(0));
  }

  Result<std::optional<sync::FormReplica>> form(const FormId& id) override {
    Statement q(db_, "SELECT replica FROM forms WHERE form_id = ?", Statement::kKeep);
    q.bind(1, id);
    auto row = q.step("load replica");
    if (!row) return row.status();
    if (!*row) return std::optional<sync::FormReplica>();
    auto r = sync::decode_replica(q.column_blob(0));
    if (!r) return r.status();
    return std::optional<sync::FormReplica>(std::move(*r));
  }

  Status put_form(const FormId& id, const sync::FormReplica& replica, const FormIndex& index) override {
    Statement up(db_,
                 "INSERT INTO forms(form_id, replica, unit, template_id, template_version, fiscal_year, round_id, "
                 "definition_id, definition_version, phase, stage_id, holder_role, holder_unit, return_count, "
                 "amount_fen, score, grade, updated_ms, last_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                 "ON CONFLICT(form_id) DO UPDATE SET replica = excluded.replica, unit = excluded.unit, "
                 "template_id = excluded.template_id, template_version = excluded.template_version, "
                 "fiscal_year = excluded.fiscal_year, round_id = excluded.round_id, "
                 "definition_id = excluded.definition_id, definition_version = excluded.definition_version, "
                 "phase = excluded.phase, stage_id = excluded.stage_id, holder_role = excluded.holder_role, "
                 "holder_unit = excluded.holder_unit, return_count = excluded.return_count, "
                 "amount_fen = excluded.amount_fen, score = excluded.score, grade = excluded.grade, "
                 "updated_ms = excluded.updated_ms, last_seq = excluded.last_seq",
                 Statement::kKeep);
    up.bind(1, id).bind_blob(2, sync::encode_replica(replica));
    (void)bind_index(up, 3, index);
    return up.run("store replica");
  }

  Status append_log(const sync::LogEntry& entry) override {
    auto h = head();
    if (!h) return h.status();
    if (entry.seq != *h + 1) {
      return Status::internal("服务器数据库操作失败", "append_log: seq " + std::to_string(entry.seq) +
                                                          " after head " + std::to_string(*h));
    }
    Statement ins(db_, "INSERT INTO log(seq, form_id, entry) VALUES (?,?,?)", Statement::kKeep);
    ins.bind(1, i64(entry.seq)).bind(2, entry.form_id).bind_blob(3, sync::encode_entry(entry));
    return ins.run("append log");
  }

  Result<std::optional<std::string>> log_entry_bytes(ServerSeq seq) override {
    Statement q(db_, "SELECT entry FROM log WHERE seq = ?", Statement::kKeep);
    q.bind(1, i64(seq));
    auto row = q.step("read log entry");
    if (!row) return row.status();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(q.column_blob(0));
  }

  Status add_visibility(const FormId& form, const UnitCode& unit, ServerSeq since) override {
    Statement ins(db_, "INSERT OR IGNORE INTO visibility(form_id, unit, since_seq) VALUES (?,?,?)", Statement::kKeep);
    ins.bind(1, form).bind(2, unit).bind(3, i64(since));
    return ins.run("visibility");
  }

  Status changes_for(const UnitCode& unit, ServerSeq cursor, std::size_t limit, std::vector<Change>& out) override {
    {
      Statement q(db_, "SELECT since_seq, form_id FROM visibility WHERE unit = ? AND since_seq > ? ORDER BY since_seq",
                  Statement::kKeep);
      q.bind(1, unit).bind(2, i64(cursor));
      for (;;) {
        auto row = q.step("read visibility");
        if (!row) return row.status();
        if (!*row) break;
        out.push_back({static_cast<ServerSeq>(q.column_int(0)), true, q.column_text(1), {}});
      }
    }
    {
      Statement q(db_,
                  "SELECT l.seq, l.form_id, l.entry FROM log l JOIN visibility v ON v.form_id = l.form_id AND v.unit = ? "
                  "WHERE l.seq > ? AND l.seq > v.since_seq ORDER BY l.seq",
                  Statement::kKeep);
      q.bind(1, unit).bind(2, i64(cursor));
      std::size_t n = 0;
      for (;;) {
        auto row = q.step("read log");
        if (!row) return row.status();
        if (!*row || ++n > limit) break;
        out.push_back({static_cast<ServerSeq>(q.column_int(0)), false, q.column_text(1), q.column_blob(2)});
      }
    }
    std::stable_sort(out.begin(), out.end(), [](const Change& a, const Change& b) {
      return a.position < b.position || (a.position == b.position && a.snapshot && !b.snapshot);
    });
    return Status::ok();
  }

  Result<std::vector<IndexedForm>> visible_forms(const UnitCode& unit) override {
    static const std::string sql = std::string("SELECT f.form_id, ") + prefixed("f.") +
                                   " FROM forms f JOIN visibility v ON v.form_id = f.form_id AND v.unit = ? "
                                   "ORDER BY f.form_id";
    Statement q(db_, sql.c_str(), Statement::kKeep);
    q.bind(1, unit);
    return indexed_rows(q, "read visible forms");
  }

  Result<std::vector<IndexedForm>> forms_in_rounds(const std::vector<std::string>& round_ids) override {
    static const std::string sql =
        std::string("SELECT form_id, ") + kFormIndexColumns + " FROM forms WHERE round_id = ? ORDER BY form_id";
    std::vector<IndexedForm> out;
    for (const std::string& id : round_ids) {
      if (id.empty()) continue;
      Statement q(db_, sql.c_str(), Statement::kKeep);
      q.bind(1, id);
      auto rows = indexed_rows(q, "read round forms");
      if (!rows) return rows.status();
      for (auto& r : *rows) out.push_back(std::move(r));
    }
    return out;
  }

  // ---- operation results
  Result<std::optional<StoredResult>> op_result(const OpId& id) override {
    Statement q(db_, "SELECT payload_hash, seq, code, reason, message FROM op_results WHERE op_id = ?", Statement::kKeep);
    q.bind(1, id);
    auto row = q.step("read op result");
    if (!row) return row.status();
    if (!*row) return std::optional<StoredResult>();
    StoredResult r;
    r.payload_hash = q.column_blob(0);
    r.result.op_id = id;
    r.result.seq = static_cast<ServerSeq>(q.column_int(1));
    r.result.code = static_cast<StatusCode>(q.column_int(2));
    r.result.reason = static_cast<std::uint16_t>(q.column_int(3));
    r.result.message = q.column_text(4);
    return std::optional<StoredResult>(std::move(r));
  }

  Status put_op_result(const StoredResult& r) override {
    Statement ins(db_, "INSERT INTO op_results(op_id, payload_hash, seq, code, reason, message) VALUES (?,?,?,?,?,?)",
                  Statement::kKeep);
    ins.bind(1, r.result.op_id)
        .bind_blob(2, r.payload_hash)
        .bind(3, i64(r.result.seq))
        .bind(4, static_cast<std::int64_t>(r.result.code))
        .bind(5, static_cast<std::int64_t>(r.result.reason))
        .bind(6, r.result.message);
    return ins.run("store op result");
  }

  Result<std::vector<sync::OpResult>> op_results() override {
    Statement q(db_, "SELECT op_id, seq, code, reason, message FROM op_results ORDER BY op_id");
    std::vector<sync::OpResult> out;
    for (;;) {
      auto row = q.step("read op results");
      if (!row) return row.status();
      if (!*row) return out;
      sync::OpResult r;
      r.op_id = q.column_text(0);
      r.seq = static_cast<ServerSeq>(q.column_int(1));
      r.code = static_cast<StatusCode>(q.column_int(2));
      r.reason = static_cast<std::uint16_t>(q.column_int(3));
      r.message = q.column_text(4);
      out.push_back(std::move(r));
    }
  }

  // ---- rounds
  Result<std::vector<workflow::Round>> rounds(const UnitCode& bureau) override {
    Statement q(db_,
                bureau.empty() ? "SELECT round_id, round FROM rounds ORDER BY round_id"
                               : "SELECT round_id, round FROM rounds WHERE finance_bureau = ? ORDER BY round_id",
                Statement::kKeep);
    if (!bureau.empty()) q.bind(1, bureau);
    std::vector<workflow::Round> out;
    for (;;) {
      auto row = q.step("read rounds");
      if (!row) return row.status();
      if (!*row) return out;
      auto r = archive::from_bytes<workflow::Round>(q.column_blob(1), "评价批次");
      if (!r) {
        return Status::corruption("服务器数据库中评价批次 " + q.column_text(0) + " 的内容已损坏",
                                  "round " + q.column_text(0) + ": " + r.status().detail());
      }
      out.push_back(std::move(*r));
    }
  }

  Status put_round(const workflow::Round& round) override {
    Statement ins(db_, "INSERT INTO rounds(round_id, finance_bureau, fiscal_year, deadline_ms, round) VALUES (?,?,?,?,?)",
                  Statement::kKeep);
    ins.bind(1, round.spec.round_id)
        .bind(2, round.finance_bureau)
        .bind(3, std::int64_t{round.spec.fiscal_year})
        .bind(4, static_cast<std::int64_t>(round.spec.deadline.time_since_epoch().count()))
        .bind_blob(5, encode_round(round));
    return ins.run("store round");
  }

  // ---- directory
  Result<std::int64_t> directory_version() override {
    Statement q(db_, "SELECT value FROM meta WHERE key = 'directory_version'", Statement::kKeep);
    auto row = q.step("read directory version");
    if (!row) return row.status();
    if (!*row) return std::int64_t{0};
    return static_cast<std::int64_t>(std::stoll(q.column_text(0)));
  }

  Result<Organisation> organisation() override { return read_organisation(db_); }

  Result<std::vector<User>> users() override {
    Statement q(db_, "SELECT login, display_name, unit, roles, disabled FROM users ORDER BY login", Statement::kKeep);
    std::vector<User> out;
    for (;;) {
      auto row = q.step("read users");
      if (!row) return row.status();
      if (!*row) return out;
      out.push_back(read_user(q));
    }
  }

  Result<std::optional<User>> user(const UserId& id) override {
    Statement q(db_, "SELECT login, display_name, unit, roles, disabled FROM users WHERE login = ?", Statement::kKeep);
    q.bind(1, id);
    auto row = q.step("read user");
    if (!row) return row.status();
    if (!*row) return std::optional<User>();
    return std::optional<User>(read_user(q));
  }

  Result<bool> unit_exists(const UnitCode& code) override {
    Statement q(db_, "SELECT 1 FROM units WHERE code = ?", Statement::kKeep);
    q.bind(1, code);
    return q.step("look up unit");
  }

  Status add_unit(const Unit& unit) override {
    Statement ins(db_, "INSERT INTO units(code, name, level, parent, finance_bureau) VALUES (?,?,?,?,?)");
    ins.bind(1, unit.code).bind(2, unit.name).bind(3, static_cast<std::int64_t>(unit.level)).bind(4, unit.parent)
        .bind(5, unit.finance_bureau);
    if (auto s = ins.run("add unit " + unit.code); !s) return s;
    return bump_directory();
  }

  Status add_user(const User& user, const std::string& password_hash) override {
    Statement ins(db_,
                  "INSERT INTO users(login, display_name, unit, roles, disabled, pw_hash, failures, locked_until) "
                  "VALUES (?,?,?,?,?,?,0,0)");
    ins.bind(1, user.id).bind(2, user.display_name).bind(3, user.unit).bind(4, roles_text(user.roles))
        .bind(5, std::int64_t{user.disabled ? 1 : 0}).bind(6, password_hash);
    if (auto s = ins.run("add user " + user.id); !s) return s;
    return bump_directory();
  }

  Result<bool> set_user_disabled(const UserId& id, bool disabled) override {
    Statement up(db_, "UPDATE users SET disabled = ?, failures = 0, locked_until = 0 WHERE login = ?");
    up.bind(1, std::int64_t{disabled ? 1 : 0}).bind(2, id);
    return changed(up, "disable user");
  }

  Result<bool> set_user_roles(const UserId& id, const std::vector<Role>& roles) override {
    Statement up(db_, "UPDATE users SET roles = ? WHERE login = ?");
    up.bind(1, roles_text(roles)).bind(2, id);
    return changed(up, "set roles");
  }

  Result<bool> set_password_hash(const UserId& id, const std::string& hash) override {
    Statement up(db_, "UPDATE users SET pw_hash = ?, failures = 0, locked_until = 0 WHERE login = ?");
    up.bind(1, hash).bind(2, id);
    return changed(up, "set password");
  }

  Result<std::optional<Credentials>> credentials(const UserId& id) override {
    Statement q(db_, "SELECT disabled, pw_hash, failures, locked_until FROM users WHERE login = ?", Statement::kKeep);
    q.bind(1, id);
    auto row = q.step("read credentials");
    if (!row) return row.status();
    if (!*row) return std::optional<Credentials>();
    return std::optional<Credentials>(
        Credentials{q.column_int(0) != 0, q.column_text(1), q.column_int(2), q.column_int(3)});
  }

  Status set_failures(const UserId& id, std::int64_t failures, std::int64_t locked_until_ms) override {
    Statement up(db_, "UPDATE users SET failures = ?, locked_until = ? WHERE login = ?", Statement::kKeep);
    up.bind(1, failures).bind(2, locked_until_ms).bind(3, id);
    return up.run("count failures");
  }

  Status add_session(const SessionRecord& s) override {
    Statement ins(db_, "INSERT INTO sessions(token_hash, login, device, created, last_seen, revoked) VALUES (?,?,?,?,?,?)",
                  Statement::kKeep);
    ins.bind_blob(1, s.token_hash).bind(2, s.user).bind(3, s.device).bind(4, s.created_ms).bind(5, s.last_seen_ms)
        .bind(6, std::int64_t{s.revoked ? 1 : 0});
    return ins.run("store session");
  }

  Result<std::optional<SessionRecord>> session(const std::string& token_hash) override {
    Statement q(db_,
                "SELECT s.login, s.device, s.created, s.last_seen, s.revoked, u.disabled FROM sessions s "
                "JOIN users u ON u.login = s.login WHERE s.token_hash = ?",
                Statement::kKeep);
    q.bind_blob(1, token_hash);
    auto row = q.step("read session");
    if (!row) return row.status();
    if (!*row) return std::optional<SessionRecord>();
    SessionRecord r;
    r.token_hash = token_hash;
    r.user = q.column_text(0);
    r.device = q.column_text(1);
    r.created_ms = q.column_int(2);
    r.last_seen_ms = q.column_int(3);
    r.revoked = q.column_int(4) != 0;
    r.user_disabled = q.column_int(5) != 0;
    return std::optional<SessionRecord>(std::move(r));
  }

  Status touch_session(const std::string& token_hash, std::int64_t last_seen_ms) override {
    Statement up(db_, "UPDATE sessions SET last_seen = ? WHERE token_hash = ? AND revoked = 0", Statement::kKeep);
    up.bind(1, last_seen_ms).bind_blob(2, token_hash);
    return up.run("touch session");
  }

  Status revoke_session(const std::string& token_hash) override {
    Statement up(db_, "UPDATE sessions SET revoked = 1 WHERE token_hash = ?");
    up.bind_blob(1, token_hash);
    return up.run("revoke session");
  }

  Status revoke_sessions_of(const UserId& user) override {
    Statement up(db_, "UPDATE sessions SET revoked = 1 WHERE login = ?");
    up.bind(1, user);
    return up.run("revoke sessions");
  }

  // ---- audit
  Result<workflow::AuditRecord> append_audit(workflow::AuditEvent event) override {
    std::uint64_t next = 0;
    workflow::Digest last = workflow::kGenesisHash;
    {
      Statement q(db_, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", Statement::kKeep);
      auto row = q.step("read last audit record");
      if (!row) return row.status();
      if (*row) {
        next = static_cast<std::uint64_t>(q.column_int(0)) + 1;
        copy_digest(q.column_blob(1), last);
      }
    }
    workflow::AuditRecord rec = workflow::make_audit_record(next, last, std::move(event));
    Statement ins(db_,
                  "INSERT INTO audit(seq, algorithm, prev_hash, hash, kind, at_ms, actor, device, subject, action, "
                  "fields) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                  Statement::kKeep);
    ins.bind(1, i64(rec.seq))
        .bind(2, rec.algorithm)
        .bind_blob(3, digest_bytes(rec.prev_hash))
        .bind_blob(4, digest_bytes(rec.hash))
        .bind(5, static_cast<std::int64_t>(rec.event.kind))
        .bind(6, static_cast<std::int64_t>(rec.event.at.time_since_epoch().count()))
        .bind(7, rec.event.actor)
        .bind(8, rec.event.device)
        .bind(9, rec.event.subject)
        .bind(10, rec.event.action)
        .bind_blob(11, encode_fields(rec.event.fields));
    if (auto s = ins.run("append audit record"); !s) return s;
    return rec;
  }

  Result<std::vector<workflow::AuditRecord>> audit_records() override {
    Statement q(db_,
                "SELECT seq, algorithm, prev_hash, hash, kind, at_ms, actor, device, subject, action, fields "
                "FROM audit ORDER BY seq");
    std::vector<workflow::AuditRecord> out;
    for (;;) {
      auto row = q.step("read audit");
      if (!row) return row.status();
      if (!*row) return out;
      workflow::AuditRecord r;
      r.seq = static_cast<std::uint64_t>(q.column_int(0));
      r.algorithm = q.column_text(1);
      copy_digest(q.column_blob(2), r.prev_hash);
      copy_digest(q.column_blob(3), r.hash);
      r.event.kind = static_cast<workflow::AuditKind>(q.column_int(4));
      r.event.at = workflow::TimePoint(std::chrono::milliseconds(q.column_int(5)));
      r.event.actor = q.column_text(6);
      r.event.device = q.column_text(7);
      r.event.subject = q.column_text(8);
      r.event.action = q.column_text(9);
      r.event.fields = decode_fields(q.column_blob(10));
      out.push_back(std::move(r));
    }
  }

  Result<Counts> counts(std::int64_t now_ms) override {
    Counts c;
    const auto count = [&](const char* sql, std::size_t& into) -> Status {
      Statement q(db_, sql);
      auto row = q.step(sql);
      if (!row) return row.status();
      into = static_cast<std::size_t>(q.column_int(0));
      return Status::ok();
    };
    if (auto s = count("SELECT COUNT(*) FROM forms", c.forms); !s) return s;
    if (auto s = count("SELECT COUNT(*) FROM audit", c.audit_records); !s) return s;
    if (auto s = count("SELECT COUNT(*) FROM sessions WHERE revoked = 0", c.active_sessions); !s) return s;
    Statement q(db_, "SELECT COUNT(*), COALESCE(SUM(deadline_ms > ?), 0) FROM rounds");
    q.bind(1, now_ms);
    auto row = q.step("count rounds");
    if (!row) return row.status();
    c.rounds = static_cast<std::size_t>(q.column_int(0));
    c.open_rounds = static_cast<std::size_t>(q.column_int(1));
    return c;
  }

 private:
  static std::string prefixed(const char* prefix) {
    std::string out;
    std::string_view cols = kFormIndexColumns;
    std::size_t start = 0;
    while (start < cols.size()) {
      std::size_t end = cols.find(',', start);
      if (end == std::string_view::npos) end = cols.size();
      std::string_view name = jixiao::text::trim(cols.substr(start, end - start));
      if (!out.empty()) out += ", ";
      out += prefix;
      out += name;
      start = end + 1;
    }
    return out;
  }

  static User read_user(const Statement& q) {
    User u;
    u.id = q.column_text(0);
    u.display_name = q.column_text(1);
    u.unit = q.column_text(2);
    // A role this build does not know is left out (a newer server's role).
    auto roles = parse_roles(q.column_text(3));
    if (roles) u.roles = std::move(*roles);
    u.disabled = q.column_int(4) != 0;
    return u;
  }

  Result<std::vector<IndexedForm>> indexed_rows(Statement& q, std::string_view what) {
    std::vector<IndexedForm> out;
    for (;;) {
      auto row = q.step(what);
      if (!row) return row.status();
      if (!*row) return out;
      out.push_back({q.column_text(0), read_index(q, 1)});
    }
  }

  Result<bool> changed(Statement& up, std::string_view what) {
    if (auto s = up.run(what); !s) return s;
    if (db_.changes() == 0) return false;
    if (auto s = bump_directory(); !s) return s;
    return true;
  }

  Status bump_directory() {
    Statement up(db_, "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'directory_version'",
                 Statement::kKeep);
    return up.run("bump directory version");
  }

  Database& db_;
  std::unique_lock<std::mutex> writer_;
  std::function<void()> release_;
  bool write_;
  sqlite::Transaction tx_;
  Status snapshot_;
};

// ---- the store ---------------------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  SqliteStore(std::filesystem::path file, SqliteStoreOptions options, Database writer)
      : file_(std::move(file)), options_(std::move(options)), writer_(std::move(writer)) {}

  Result<std::unique_ptr<Transaction>> begin_write() override {
    if (options_.read_only) {
      return Status(StatusCode::kFailedPrecondition, "该数据库以只读方式打开", "write on a read-only store");
    }
    std::unique_lock lock(writer_mu_);
    auto tx = std::make_unique<SqliteTransaction>(writer_, std::move(lock), nullptr, true);
    if (!tx->begun()) return tx->begun();
    return std::unique_ptr<Transaction>(std::move(tx));
  }

  Result<std::unique_ptr<Transaction>> begin_read() override {
    if (in_memory()) {
      // One connection is the whole database: readers use it in turn.
      std::unique_lock lock(writer_mu_);
      auto tx = std::make_unique<SqliteTransaction>(writer_, std::move(lock), nullptr, false);
      if (!tx->begun()) return tx->begun();
      return std::unique_ptr<Transaction>(std::move(tx));
    }
    Database* db = nullptr;
    {
      std::lock_guard lock(readers_mu_);
      for (auto& r : readers_) {
        if (!r.busy) {
          r.busy = true;
          db = &r.db;
          break;
        }
      }
      if (db == nullptr) {
        auto opened = Database::open(file_.string(), reader_options());
        if (!opened) return opened.status();
        readers_.push_back({std::move(*opened), true});
        db = &readers_.back().db;
      }
    }
    auto release = [this, db] {
      std::lock_guard lock(readers_mu_);
      for (auto it = readers_.begin(); it != readers_.end(); ++it) {
        if (&it->db != db) continue;
        it->busy = false;
        if (readers_.size() > options_.readers) readers_.erase(it);
        return;
      }
    };
    auto tx = std::make_unique<SqliteTransaction>(*db, std::unique_lock<std::mutex>(), release, false);
    if (!tx->begun()) return tx->begun();
    return std::unique_ptr<Transaction>(std::move(tx));
  }

  Status check_integrity() override {
    std::lock_guard lock(writer_mu_);
    return writer_.integrity_check();
  }

  Status backup_to(const std::filesystem::path& to) override {
    if (in_memory()) {
      std::lock_guard lock(writer_mu_);
      return writer_.backup_to(to.string());
    }
    auto src = Database::open(file_.string(), reader_options());
    if (!src) return src.status();
    return src->backup_to(to.string());
  }

  StoreFiles files() const override {
    StoreFiles out;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::path p = file_.string() + suffix;
      std::error_code ec;
      const auto n = std::filesystem::file_size(p, ec);
      if (ec) continue;
      out.files.push_back(p);
      out.bytes += n;
    }
    return out;
  }

  std::string describe() const override { return "sqlite:" + file_.string(); }

 private:
  bool in_memory() const { return file_ == ":memory:"; }

  sqlite::OpenOptions reader_options() const {
    sqlite::OpenOptions o;
    o.create = false;
    o.read_only = options_.read_only;
    o.place = kPlace;
    o.busy_timeout_ms = options_.busy_timeout_ms;
    return o;
  }

  struct Reader {
    Database db;
    bool busy = false;
  };
  std::filesystem::path file_;
  SqliteStoreOptions options_;
  std::mutex writer_mu_;
  Database writer_;
  std::mutex readers_mu_;
  std::list<Reader> readers_;
};

}  // namespace

Result<int> sqlite_store_version(const std::filesystem::path& file) {
  sqlite::OpenOptions o;
  o.create = false;
  o.read_only = true;
  o.place = kPlace;
  auto db = Database::open(file.string(), o);
  if (!db) return db.status();
  auto v = db->user_version();
  if (!v) return v.status();
  return static_cast<int>(*v);
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& file, SqliteStoreOptions options) {
  std::error_code ec;
  const bool memory = file == ":memory:";
  const bool exists = !memory && std::filesystem::exists(file, ec);
  if (memory) options.create = true;
  if (!exists && !options.create) {
    return Status::not_found("数据库 " + file.string() + " 不存在：请确认数据目录，或先运行 jixiao-server init",
                             "missing " + file.string());
  }
  if (exists) {
    // Read the version without writing: a newer file is refused untouched.
    auto version = sqlite_store_version(file);
    if (!version) return version.status();
    if (*version > kSchemaVersion) {
      return Status::unsupported_version("服务器数据库是第 " + std::to_string(*version) + " 版，比本程序（第 " +
                                             std::to_string(kSchemaVersion) + " 版）新：请升级 jixiao-server",
                                         "schema " + std::to_string(*version) + " > " + std::to_string(kSchemaVersion));
    }
  }
  sqlite::OpenOptions o;
  o.create = options.create && !options.read_only;
  o.read_only = options.read_only;
  o.place = kPlace;
  o.busy_timeout_ms = options.busy_timeout_ms;
  auto db = Database::open(file.string(), o);
  if (!db) return db.status();
  if (options.read_only) {
    auto version = db->user_version();
    if (!version) return version.status();
    if (*version < 1) {
      return Status::invalid_argument("文件 " + file.string() + " 不是 jixiao 服务器数据库",
                                      "schema version " + std::to_string(*version));
    }
  } else if (auto s = migrate(*db, options.indexer); !s) {
    return s;
  }
  return std::unique_ptr<Store>(new SqliteStore(file, std::move(options), std::move(*db)));
}

}  // namespace jixiao::store
