// The client's local replica (client_replica.h) on SQLite.
//
// Schema (PRAGMA user_version = 3):
//
//   meta(key TEXT PRIMARY KEY, value)
//     device, user          the identity the file belongs to (device must match)
//     cursor                the last ServerSeq applied
//     hlc_wall_ms, hlc_counter
//                           the last hybrid timestamp issued or observed, so
//                           the clock never goes backwards across restarts
//     rounds                the round reports of the last answer (a cache:
//                           the next sync replaces it), bounded archive of
//                           vector<RoundReport>
//     rounds_caps           the capabilities `rounds` was written with, wire
//                           names joined by ','; absent: none (release 2)
//   forms(form_id PK, template_id, template_version, last_seq, replica BLOB)
//                           the CONFIRMED replica (encode_replica), as the
//                           server's log last said; last_seq duplicated so
//                           that snapshots and base_seq need no decoding
//   outbox(local_seq INTEGER PK AUTOINCREMENT, op_id UNIQUE, form_id, kind,
//          op BLOB, acked_seq NULL, sent, cell_key NULL)
//                           this device's operations, oldest first. An op
//                           the server accepted keeps its seq in acked_seq and
//                           stays until the cursor covers that seq (so the
//                           view keeps showing it until its effect arrives).
//                           sent = 1 once next_request handed it out (its id
//                           may be on the server from then on); cell_key is
//                           CellRef::to_string() of a set_cell, else NULL.
//                           (Version 2 added both; rows of version 1 count
//                           as sent.)
//   rejected(rejected_seq INTEGER PK AUTOINCREMENT, op_id UNIQUE, form_id,
//            op BLOB, code, reason, message, state)
//                           operations the server refused (RejectedChange)
//   history(form_id, seq, kind, op_id, author, wall_ms, body BLOB NULL,
//           PRIMARY KEY(form_id, seq, kind))
//                           what apply_response applied, for people
//                           (HistoryRecord): kind 0 an entry (body:
//                           encode_entry), 1 this device's accepted
//                           operation (body: encode_operation), 2 a
//                           snapshot (no body). Version 3 added it; the
//                           office client's history.db before it is left
//                           alone and no longer read.
//
// A form created here and not yet confirmed has no row in `forms`: it exists
// as the CreateForm operation in the outbox, and its view is built from it
// (new_blank_form with the operation's parameters).
//
// Every public mutating call is one BEGIN IMMEDIATE transaction that also
// persists the hybrid clock; any error rolls it back and changes nothing.
//
// Offline edits coalesce: a SetCell of a cell whose latest SetCell in the
// outbox was never sent and not acknowledged replaces that operation (see
// Impl::coalesce_candidate for when it may): one operation per cell and
// sync, with the first one's base_value and base_seq so that the server's
// three-way text merge still sees what the person started from.
#include "jixiao/sync/client_replica.h"
#include "jixiao/common/bounded_archive.h"
#include "protocol_cereal.h"


#include <sstream>


#include <algorithm>
#include <functional>
#include <utility>

#include "jixiao/common/cell_ref.h"
#include "jixiao/common/form_codec.h"
#include "jixiao/common/form_json.h"
#include "jixiao/common/uuid.h"
#include "jixiao/sync/merge.h"
#include "jixiao/sqlite/sqlite.h"

namespace jixiao::sync {
namespace {

constexpr int kSchemaVersion = 3;
constexpr int kBusyTimeoutMs = 5000;
// The largest operation accepted locally: half a message, as next_request's
// default share of a request, so any single operation always fits one.
constexpr std::size_t kMaxOperationBytes = kMaxRequestOpsBytes;

// ---- SQLite plumbing (jixiao::sqlite, which maps SQLite's codes to Status) --------

// A statement whose first failure (prepare, bind or step) is kept and
// reported by status(); row() is then false.
class Stmt {
 public:
  Stmt(sqlite::Database& db, const char* sql) : st_(db, sql, sqlite::Statement::kOnce), sql_(sql), error_(st_.status()) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& text(int i, std::string_view v) {
    st_.bind(i, v);
    return *this;
  }
  Stmt& blob(int i, std::string_view v) {
    st_.bind_blob(i, v);
    return *this;
  }
  Stmt& i64(int i, std::int64_t v) {
    st_.bind(i, v);
    return *this;
  }
  Stmt& u64(int i, std::uint64_t v) { return i64(i, static_cast<std::int64_t>(v)); }

  // true: a row is ready; false: done (or an error, see status()).
  bool row() {
    if (!error_.is_ok()) return false;
    auto r = st_.step(sql_);
    if (!r) {
      error_ = r.status();
      return false;
    }
    return *r;
  }
  // Runs a statement that returns no rows.
  Status run() {
    while (row()) {
    }
    return status();
  }
  Status status() const { return error_; }

  std::string col_text(int i) const { return st_.column_text(i); }
  std::string col_blob(int i) const { return st_.column_blob(i); }
  std::int64_t col_i64(int i) const { return st_.column_int(i); }
  std::uint64_t col_u64(int i) const { return static_cast<std::uint64_t>(col_i64(i)); }
  bool col_null(int i) const { return st_.column_null(i); }

 private:
  sqlite::Statement st_;
  const char* sql_;
  Status error_;
};

Status exec(sqlite::Database& db, const char* sql) { return db.exec(sql); }

// BEGIN IMMEDIATE … COMMIT; rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite::Database& db) : db_(db) {}
  ~Transaction() {
    if (active_) (void)db_.exec("ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status begin() {
    Status s = db_.exec("BEGIN IMMEDIATE");
    active_ = s.is_ok();
    return s;
  }
  Status commit() {
    Status s = db_.exec("COMMIT");
    if (s) active_ = false;  // on failure the destructor rolls back
    return s;
  }

 private:
  sqlite::Database& db_;
  bool active_ = false;
};

// ---- schema -------------------------------------------------------------------------

// migrations[i] takes the schema from version i to i + 1, inside a transaction.
const char* const kMigrations[] = {
    // 0 -> 1
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value NOT NULL);"
    "CREATE TABLE forms(form_id TEXT PRIMARY KEY, template_id TEXT NOT NULL, template_version INTEGER NOT NULL,"
    "  last_seq INTEGER NOT NULL, replica BLOB NOT NULL);"
    "CREATE TABLE outbox(local_seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL UNIQUE,"
    "  form_id TEXT NOT NULL, kind TEXT NOT NULL, op BLOB NOT NULL, acked_seq INTEGER);"
    "CREATE INDEX outbox_by_form ON outbox(form_id, local_seq);"
    "CREATE TABLE rejected(rejected_seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL UNIQUE,"
    "  form_id TEXT NOT NULL, op BLOB NOT NULL, code INTEGER NOT NULL, reason INTEGER NOT NULL,"
    "  message TEXT NOT NULL, state INTEGER NOT NULL);"
    "CREATE INDEX rejected_by_form ON rejected(form_id, rejected_seq);",
    // 1 -> 2: coalescing offline edits. An operation of version 1 may have
    // been sent already, so it never coalesces.
    "ALTER TABLE outbox ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE outbox ADD COLUMN cell_key TEXT;"
    "UPDATE outbox SET sent = 1;",
    // 2 -> 3: the history of what this replica applied.
    "CREATE TABLE history(form_id TEXT NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL,"
    "  op_id TEXT NOT NULL, author TEXT NOT NULL, wall_ms INTEGER NOT NULL, body BLOB,"
    "  PRIMARY KEY(form_id, seq, kind));",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

Status migrate(sqlite::Database& db) {
  int version = 0;
  {
    Stmt q(db, "PRAGMA user_version");
    if (q.row()) version = static_cast<int>(q.col_i64(0));
    if (auto s = q.status(); !s) return s;
  }
  if (version > kSchemaVersion) {
    return Status::unsupported_version("本机数据库由较新版本的程序创建，请升级程序",
                                       "schema version " + std::to_string(version));
  }
  for (; version < kSchemaVersion; ++version) {
    Transaction txn(db);
    if (auto s = txn.begin(); !s) return s;
    if (auto s = exec(db, kMigrations[version]); !s) return s;
    const std::string set_version = "PRAGMA user_version = " + std::to_string(version + 1);
    if (auto s = exec(db, set_version.c_str()); !s) return s;
    if (auto s = txn.commit(); !s) return s;
  }
  return Status::ok();
}

// ---- small helpers ----------------------------------------------------------------------

Status form_not_found(const FormId& form) { return Status::not_found("本机没有该表单", "form " + form); }

bool is_workflow(const Operation& op) { return std::holds_alternative<WorkflowAction>(op.payload); }

// How a person names a cell in messages, as the form file reader does.
std::string cell_label(const FormTemplate& tmpl, const Form& form, const CellRef& ref, const CellDef& def) {
  if (ref.is_field()) return "“" + def.label + "”";
  const TableDef* td = tmpl.table(ref.table);
  if (td == nullptr) return "“" + def.label + "”";
  if (const RowDef* rd = td->row(ref.row)) return td->label + "“" + rd->label + "”行“" + def.label + "”";
  if (const Table* t = form.table(ref.table)) {
    for (std::size_t i = 0; i < t->rows.size(); ++i) {
      if (t->rows[i].id == ref.row) return td->label + " 第 " + std::to_string(i + 1) + " 行“" + def.label + "”";
    }
  }
  return td->label + "“" + def.label + "”";
}

MoneyUnit unit_of(const FormTemplate& tmpl, const Form& form, const CellRef& ref) {
  if (!ref.is_field()) {
    if (const TableDef* td = tmpl.table(ref.table); td != nullptr && td->money_unit) return *td->money_unit;
  }
  return form.money_unit;
}

bool row_in(const FormReplica& r, const std::string& table, const RowId& row) {
  const Table* t = r.form.table(table);
  return t != nullptr && t->find(row) != nullptr;
}

// One outbox row.
struct OutboxOp {
  std::int64_t local_seq = 0;
  Operation op;
  std::optional<ServerSeq> acked_seq;
  std::size_t encoded_bytes = 0;
};

// A form as this device shows it.
struct LoadedForm {
  FormReplica view;
  const FormTemplate* tmpl = nullptr;
  bool confirmed = false;   // has a confirmed replica
  ServerSeq confirmed_seq = 0;
  std::size_t unconfirmed_ops = 0;
  std::size_t unconfirmed_workflow_ops = 0;
};

}  // namespace

// ===========================================================================================

struct ClientReplica::Impl {
  Impl(sqlite::Database database, ClientIdentity identity, const TemplateRegistry& registry, const workflow::Clock& c,
       HybridTimestamp last)
      : db(std::move(database)), who(std::move(identity)), templates(registry), clock(c), hlc(c, last) {}

  // Constant after construction (reads from const members prepare statements).
  mutable sqlite::Database db;
  const ClientIdentity who;
  const TemplateRegistry& templates;
  const workflow::Clock& clock;
  // Persisted (meta) in every transaction that moves it.
  HybridClock hlc;

  // ---- meta ----
  Result<std::optional<std::string>> meta_text(const char* key) const {
    Stmt q(db, "SELECT value FROM meta WHERE key = ?1");
    q.text(1, key);
    std::optional<std::string> out;
    if (q.row()) out = q.col_text(0);
    if (auto s = q.status(); !s) return s;
    return out;
  }
  Result<std::int64_t> meta_int(const char* key) const {
    Stmt q(db, "SELECT value FROM meta WHERE key = ?1");
    q.text(1, key);
    std::int64_t out = 0;
    if (q.row()) out = q.col_i64(0);
    if (auto s = q.status(); !s) return s;
    return out;
  }
  Status put_meta_text(const char* key, std::string_view value) {
    return Stmt(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)").text(1, key).text(2, value).run();
  }
  Status put_meta_int(const char* key, std::int64_t value) {
    return Stmt(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)").text(1, key).i64(2, value).run();
  }
  Status save_hlc() {
    const HybridTimestamp last = hlc.last();
    if (auto s = put_meta_int("hlc_wall_ms", last.wall_ms); !s) return s;
    return put_meta_int("hlc_counter", static_cast<std::int64_t>(last.counter));
  }

  // ---- reading forms and the outbox ----
  Result<std::optional<FormReplica>> load_confirmed(const FormId& form) const {
    Stmt q(db, "SELECT replica FROM forms WHERE form_id = ?1");
    q.text(1, form);
    std::optional<std::string> blob;
    if (q.row()) blob = q.col_blob(0);
    if (auto s = q.status(); !s) return s;
    if (!blob) return std::optional<FormReplica>{};
    auto r = decode_replica(*blob);
    if (!r) return r.status();
    return std::optional<FormReplica>(std::move(r).value());
  }

  Result<ServerSeq> confirmed_seq(const FormId& form) const {
    Stmt q(db, "SELECT last_seq FROM forms WHERE form_id = ?1");
    q.text(1, form);
    ServerSeq seq = 0;
    if (q.row()) seq = q.col_u64(0);
    if (auto s = q.status(); !s) return s;
    return seq;
  }

  Status save_confirmed(const FormReplica& r) {
    return Stmt(db,
                "INSERT OR REPLACE INTO forms(form_id, template_id, template_version, last_seq, replica) "
                "VALUES(?1, ?2, ?3, ?4, ?5)")
        .text(1, r.form.id)
        .text(2, r.form.template_ref.id)
        .i64(3, r.form.template_ref.version)
        .u64(4, r.last_seq)
        .blob(5, encode_replica(r))
        .run();
  }

  // `form` empty: every form's operations.
  Result<std::vector<OutboxOp>> load_outbox(const FormId& form, bool unacked_only = false) const {
    std::string sql = "SELECT local_seq, op, acked_seq FROM outbox";
    std::vector<std::string> where;
    if (!form.empty()) where.emplace_back("form_id = ?1");
    if (unacked_only) where.emplace_back("acked_seq IS NULL");
    for (std::size_t i = 0; i < where.size(); ++i) sql += (i == 0 ? " WHERE " : " AND ") + where[i];
    sql += " ORDER BY local_seq";
    Stmt q(db, sql.c_str());
    if (!form.empty()) q.text(1, form);
    std::vector<OutboxOp> out;
    while (q.row()) {
      OutboxOp row;
      row.local_seq = q.col_i64(0);
      const std::string blob = q.col_blob(1);
      row.encoded_bytes = blob.size();
      auto op = decode_operation(blob);
      if (!op) return op.status();
      row.op = std::move(op).value();
      if (!q.col_null(2)) row.acked_seq = q.col_u64(2);
      out.push_back(std::move(row));
    }
    if (auto s = q.status(); !s) return s;
    return out;
  }

  Result<const FormTemplate*> template_of(const TemplateRef& ref) const {
    auto t = templates.find(ref.id, ref.version);
    if (!t) return t.status();
    return *t;
  }

  // Confirmed replica (or the pending create) + this device's operations
  // that the confirmed replica does not contain yet.
  Result<LoadedForm> load(const FormId& form) const {
    LoadedForm out;
    auto confirmed = load_confirmed(form);
    if (!confirmed) return confirmed.status();
    auto ops = load_outbox(form);
    if (!ops) return ops.status();
    if (*confirmed) {
      out.view = std::move(**confirmed);
      out.confirmed = true;
      out.confirmed_seq = out.view.last_seq;
    } else {
      const CreateForm* create = nullptr;
      for (const OutboxOp& o : *ops) {
        if ((create = std::get_if<CreateForm>(&o.op.payload)) != nullptr) break;
      }
      if (create == nullptr) return form_not_found(form);
      auto tmpl = template_of(create->template_ref);
      if (!tmpl) return tmpl.status();
      out.view.form = new_blank_form(**tmpl, create->unit_code, create->unit_name, create->fiscal_year);
      out.view.form.id = form;
      out.view.form.money_unit = create->money_unit;
    }
    auto tmpl = template_of(out.view.form.template_ref);
    if (!tmpl) return tmpl.status();
    out.tmpl = *tmpl;
    for (const OutboxOp& o : *ops) {
      // Already in the confirmed replica: the server's effect (which may
      // differ, after a merge) is what shows.
      if (o.acked_seq && *o.acked_seq <= out.confirmed_seq) continue;
      apply_local(out.view, o.op);
      ++out.unconfirmed_ops;
      if (is_workflow(o.op)) ++out.unconfirmed_workflow_ops;
    }
    return out;
  }

  Result<std::vector<FormId>> form_ids() const {
    Stmt q(db,
           "SELECT form_id FROM forms UNION SELECT form_id FROM outbox WHERE kind = 'create_form' "
           "ORDER BY form_id");
    std::vector<FormId> out;
    while (q.row()) out.push_back(q.col_text(0));
    if (auto s = q.status(); !s) return s;
    return out;
  }

  // ---- writing operations ----
  Operation make_op(const FormId& form, ServerSeq base_seq, OpPayload payload) {
    Operation op;
    op.id = new_uuid_v4();
    op.form_id = form;
    op.author = who.user.id;
    op.device = who.device;
    op.hlc = hlc.now();
    op.base_seq = base_seq;
    op.payload = std::move(payload);
    return op;
  }

  Status append(const Operation& op) {
    const std::string blob = encode_operation(op);
    // An operation that cannot travel would block the outbox for good: the
    // server refuses the oversized message and every retry is the same.
    if (blob.size() > kMaxOperationBytes) {
      return Status(StatusCode::kResourceExhausted, static_cast<std::uint16_t>(SyncReason::kMessageTooLarge),
                    "修改的内容过长，无法同步（一次修改不能超过 " + std::to_string(kMaxOperationBytes / 1024) +
                        " KB），请分段填写",
                    "operation of " + std::to_string(blob.size()) + " bytes");
    }
    Stmt insert(db, "INSERT INTO outbox(op_id, form_id, kind, op, cell_key) VALUES(?1, ?2, ?3, ?4, ?5)");
    insert.text(1, op.id).text(2, op.form_id).text(3, op_kind_name(op.payload)).blob(4, blob);
    if (const auto* set = std::get_if<SetCell>(&op.payload)) insert.text(5, set->cell.to_string());
    if (auto s = insert.run(); !s) return s;
    return save_hlc();
  }

  // The outbox operation a new SetCell of `cell` may replace, if any: the
  // latest SetCell of the same cell that was never sent (not in a request,
  // so its id is on no server) and is not acknowledged, with nothing after
  // it that could depend on its value — only content edits of this form
  // (SetCell of other cells, InsertRow, DeleteRow), none of them sent. A
  // workflow action (its content hash), a conflict resolution or a sent
  // operation after it keeps it, and the new edit is appended.
  struct Candidate {
    std::int64_t local_seq = 0;
    Operation op;
  };
  Result<std::optional<Candidate>> coalesce_candidate(const FormId& form, const CellRef& cell) const {
    const std::string key = cell.to_string();
    std::optional<Candidate> found;
    {
      Stmt q(db,
             "SELECT local_seq, op, sent, acked_seq FROM outbox WHERE form_id = ?1 AND cell_key = ?2 "
             "ORDER BY local_seq DESC LIMIT 1");
      q.text(1, form).text(2, key);
      if (q.row() && q.col_i64(2) == 0 && q.col_null(3)) {
        auto op = decode_operation(q.col_blob(1));
        if (!op) return op.status();
        if (std::holds_alternative<SetCell>(op->payload)) found = Candidate{q.col_i64(0), std::move(op).value()};
      }
      if (auto s = q.status(); !s) return s;
    }
    if (!found) return found;
    Stmt after(db,
               "SELECT COUNT(*) FROM outbox WHERE form_id = ?1 AND local_seq > ?2 AND "
               "(sent <> 0 OR acked_seq IS NOT NULL OR kind NOT IN ('set_cell', 'insert_row', 'delete_row'))");
    after.text(1, form).i64(2, found->local_seq);
    std::int64_t barriers = 0;
    if (after.row()) barriers = after.col_i64(0);
    if (auto s = after.status(); !s) return s;
    if (barriers > 0) return std::optional<Candidate>{};
    return found;
  }

  // Appends a SetCell, replacing the cell's unsent SetCell when it may
  // (coalesce_candidate): the new value, the first one's base.
  Status append_set_cell(const FormId& form, ServerSeq base_seq, SetCell payload) {
    auto candidate = coalesce_candidate(form, payload.cell);
    if (!candidate) return candidate.status();
    if (*candidate) {
      const auto& first = std::get<SetCell>((*candidate)->op.payload);
      payload.base_value = first.base_value;
      base_seq = (*candidate)->op.base_seq;
      if (auto s = Stmt(db, "DELETE FROM outbox WHERE local_seq = ?1").i64(1, (*candidate)->local_seq).run(); !s) {
        return s;
      }
    }
    return append(make_op(form, base_seq, std::move(payload)));
  }

  // One local edit: a transaction that reads the form, builds the payload
  // (or refuses) and appends the operation.
  Status edit(const FormId& form, const std::function<Result<OpPayload>(const LoadedForm&)>& build) {
    Transaction txn(db);
    if (auto s = txn.begin(); !s) return s;
    auto loaded = load(form);
    if (!loaded) return loaded.status();
    auto payload = build(*loaded);
    if (!payload) return payload.status();
    if (auto* set = std::get_if<SetCell>(&*payload)) {
      if (auto s = append_set_cell(form, loaded->confirmed_seq, std::move(*set)); !s) return s;
    } else if (auto s = append(make_op(form, loaded->confirmed_seq, std::move(payload).value())); !s) {
      return s;
    }
    return txn.commit();
  }

  Result<CellValue> parse_text(const LoadedForm& f, const CellRef& cell, std::string_view text) const {
    auto def = find_cell_def(*f.tmpl, cell);
    if (!def) return def.status();
    return parse_cell_text(**def, text, unit_of(*f.tmpl, f.view.form, cell),
                           cell_label(*f.tmpl, f.view.form, cell, **def), cell.to_string());
  }

  Result<OpPayload> set_cell_payload(const LoadedForm& f, const CellRef& cell, const CellValue& value) const {
    auto def = find_cell_def(*f.tmpl, cell);
    if (!def) return def.status();
    if (auto s = validate_cell_value(**def, value); !s) return s;
    const CellValue* current = find_cell(f.view.form, cell);
    if (current == nullptr) {
      return Status(StatusCode::kNotFound, static_cast<std::uint16_t>(SyncReason::kRowMissing), "要修改的行不存在",
                    cell.to_string());
    }
    return OpPayload(SetCell{cell, value, *current});
  }

  // ---- applying a response ----
  Status apply_results(const SyncRequest& sent, const SyncResponse& response) {
    if (response.results.size() != sent.ops.size()) {
      return Status(StatusCode::kInvalidArgument, static_cast<std::uint16_t>(SyncReason::kMalformedMessage),
                    "同步消息格式错误", "results do not answer the request's operations one for one");
    }
    for (std::size_t i = 0; i < sent.ops.size(); ++i) {
      // The wire does not carry the id (protocol.h, OpResult): it is the
      // operation's at the same position.
      const Operation& sent_op = sent.ops[i];
      const OpResult& result = response.results[i];
      if (result.seq > 0) {
        if (auto s = Stmt(db, "UPDATE outbox SET acked_seq = ?1 WHERE op_id = ?2")
                         .u64(1, result.seq)
                         .text(2, sent_op.id)
                         .run();
            !s) {
          return s;
        }
        if (auto s = record_history(HistoryRecord::Kind::kOwn, sent_op.form_id, result.seq, sent_op.id,
                                    sent_op.author, sent_op.hlc.wall_ms, encode_operation(sent_op));
            !s) {
          return s;
        }
        continue;
      }
      // Rejected: from the outbox (or, if it already left it, the request)
      // into `rejected`, once.
      std::optional<std::string> blob;
      {
        Stmt q(db, "SELECT op FROM outbox WHERE op_id = ?1");
        q.text(1, sent_op.id);
        if (q.row()) blob = q.col_blob(0);
        if (auto s = q.status(); !s) return s;
      }
      if (!blob) blob = encode_operation(sent_op);
      auto op = decode_operation(*blob);
      if (!op) return op.status();
      if (auto s = Stmt(db,
                        "INSERT OR IGNORE INTO rejected(op_id, form_id, op, code, reason, message, state) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                       .text(1, op->id)
                       .text(2, op->form_id)
                       .blob(3, *blob)
                       .i64(4, static_cast<std::int64_t>(result.code))
                       .i64(5, result.reason)
                       .text(6, result.message)
                       .i64(7, static_cast<std::int64_t>(RejectedState::kWaiting))
                       .run();
          !s) {
        return s;
      }
      if (auto s = Stmt(db, "DELETE FROM outbox WHERE op_id = ?1").text(1, sent_op.id).run(); !s) return s;
    }
    return Status::ok();
  }

  std::int64_t hlc_now_ms() const { return clock.now().time_since_epoch().count(); }

  Status record_history(HistoryRecord::Kind kind, const FormId& form, ServerSeq seq, const OpId& op_id,
                        const UserId& author, std::int64_t wall_ms, const std::optional<std::string>& body) {
    Stmt q(db,
           "INSERT OR IGNORE INTO history(form_id, seq, kind, op_id, author, wall_ms, body) "
           "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    q.text(1, form).u64(2, seq).i64(3, static_cast<std::int64_t>(kind)).text(4, op_id).text(5, author).i64(6, wall_ms);
    if (body) q.blob(7, *body);
    return q.run();
  }

  // One item of an answer to apply: a snapshot, or a log entry (received,
  // or one of this device's rebuilt by own_entries()).
  struct Item {
    const FormSnapshot* snapshot = nullptr;
    const LogEntry* entry = nullptr;
    bool received = false;
  };

  // The answer's snapshots first, then its entries and `own` interleaved by
  // seq (apply_entry skips an entry at or below a replica's last_seq).
  static std::vector<Item> items_of(const SyncResponse& response, const std::vector<LogEntry>& own) {
    std::vector<Item> out;
    out.reserve(response.snapshots.size() + response.entries.size() + own.size());
    for (const FormSnapshot& snapshot : response.snapshots) out.push_back(Item{&snapshot, nullptr, false});
    const std::size_t first_entry = out.size();
    for (const LogEntry& e : response.entries) out.push_back(Item{nullptr, &e, true});
    for (const LogEntry& e : own) out.push_back(Item{nullptr, &e, false});
    std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(first_entry), out.end(),
                     [](const Item& x, const Item& y) { return x.entry->seq < y.entry->seq; });
    return out;
  }

  // Applies items [begin, end) inside the caller's transaction.
  Status apply_items(const std::vector<Item>& items, std::size_t begin, std::size_t end) {
    // Replicas changed by these items, written back once at the end.
    std::map<FormId, FormReplica> touched;
    auto current = [&](const FormId& form) -> Result<FormReplica*> {
      auto it = touched.find(form);
      if (it != touched.end()) return &it->second;
      auto stored = load_confirmed(form);
      if (!stored) return stored.status();
      if (!*stored) return static_cast<FormReplica*>(nullptr);
      return &(touched[form] = std::move(**stored));
    };
    for (std::size_t i = begin; i < end; ++i) {
      const Item& item = items[i];
      if (item.snapshot != nullptr) {
        const FormSnapshot& snapshot = *item.snapshot;
        auto r = current(snapshot.replica.form.id);
        if (!r) return r.status();
        if (*r == nullptr || snapshot.replica.last_seq > (*r)->last_seq) {
          touched[snapshot.replica.form.id] = snapshot.replica;
          if (auto s = record_history(HistoryRecord::Kind::kSnapshot, snapshot.replica.form.id,
                                      snapshot.replica.last_seq, {}, {}, hlc_now_ms(), std::nullopt);
              !s) {
            return s;
          }
        }
        continue;
      }
      const LogEntry& entry = *item.entry;
      auto r = current(entry.form_id);
      if (!r) return r.status();
      FormReplica* replica = *r;
      if (replica == nullptr) {
        // A form this replica has never seen starts with its creation; an
        // entry of any other form it has no snapshot of cannot be applied
        // (the server sends a snapshot first) and is skipped.
        if (entry.effects.empty() || !std::holds_alternative<FormCreated>(entry.effects.front())) continue;
        replica = &touched[entry.form_id];
      }
      const ServerSeq before = replica->last_seq;
      apply_entry(*replica, entry);
      hlc.observe(entry.hlc);
      // The rebuilt own entries are this device's operations, recorded
      // as such (kOwn) with the results.
      if (item.received && replica->last_seq != before) {
        if (auto s = record_history(HistoryRecord::Kind::kEntry, entry.form_id, entry.seq, entry.op_id, entry.author,
                                    entry.hlc.wall_ms, encode_entry(entry));
            !s) {
          return s;
        }
      }
    }
    for (const auto& [form, replica] : touched) {
      if (auto s = save_confirmed(replica); !s) return s;
    }
    return Status::ok();
  }

  // apply_response's batching (set_apply_batching).
  std::size_t batch_items = 0;
  std::function<void()> between_batches;
};

// ===========================================================================================

ClientReplica::ClientReplica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientReplica::~ClientReplica() = default;

Result<std::unique_ptr<ClientReplica>> ClientReplica::open(const std::string& path, ClientIdentity who,
                                                          const TemplateRegistry& templates,
                                                          const workflow::Clock& clock) {
  if (who.device.empty() || who.user.id.empty()) {
    return Status::invalid_argument("本机身份不完整（缺少用户或设备编号）", "empty user or device id");
  }
  sqlite::OpenOptions options;
  options.place = "本机数据库";
  options.busy_timeout_ms = kBusyTimeoutMs;
  options.foreign_keys = false;
  // WAL is impossible for ":memory:" (it stays "memory"); that is fine.
  auto opened = sqlite::Database::open(path, options);
  if (!opened) return opened.status();
  sqlite::Database& db = *opened;
  if (auto s = migrate(db); !s) return s;

  HybridTimestamp last;
  {
    Transaction txn(db);
    if (auto s = txn.begin(); !s) return s;
    Stmt q(db, "SELECT key, value FROM meta WHERE key IN ('device', 'hlc_wall_ms', 'hlc_counter')");
    std::optional<std::string> device;
    while (q.row()) {
      const std::string key = q.col_text(0);
      if (key == "device") device = q.col_text(1);
      if (key == "hlc_wall_ms") last.wall_ms = q.col_i64(1);
      if (key == "hlc_counter") last.counter = static_cast<std::uint32_t>(q.col_i64(1));
    }
    if (auto s = q.status(); !s) return s;
    if (device && *device != who.device) {
      return Status(StatusCode::kFailedPrecondition, "本机数据库属于另一台设备，不能用当前设备身份打开",
                    "stored device " + *device + ", given " + who.device);
    }
    if (!device) {
      if (auto s = Stmt(db, "INSERT INTO meta(key, value) VALUES('device', ?1)").text(1, who.device).run(); !s) {
        return s;
      }
    }
    // The user who last opened it (informational; ops keep their own author).
    if (auto s = Stmt(db, "INSERT OR REPLACE INTO meta(key, value) VALUES('user', ?1)").text(1, who.user.id).run();
        !s) {
      return s;
    }
    if (auto s = txn.commit(); !s) return s;
  }
  auto impl = std::make_unique<Impl>(std::move(*opened), std::move(who), templates, clock, last);
  return std::unique_ptr<ClientReplica>(new ClientReplica(std::move(impl)));
}

const ClientIdentity& ClientReplica::identity() const { return impl_->who; }

// ---- local edits ------------------------------------------------------------------------

Result<FormId> ClientReplica::create_form(const std::string& template_id, int fiscal_year,
                                          std::optional<MoneyUnit> money_unit) {
  const FormTemplate* tmpl = impl_->templates.latest(template_id);
  if (tmpl == nullptr) {
    return Status(StatusCode::kNotFound, static_cast<std::uint16_t>(SyncReason::kUnknownTemplate),
                  "模板“" + template_id + "”不存在", template_id);
  }
  const MoneyUnit unit = money_unit.value_or(tmpl->default_money_unit);
  if (money_unit && !tmpl->money_units.empty() &&
      std::find(tmpl->money_units.begin(), tmpl->money_units.end(), unit) == tmpl->money_units.end()) {
    return Status::invalid_argument(tmpl->display_name() + "不能使用金额单位“" + std::string(money_unit_name(unit)) + "”",
                                    std::string(money_unit_name(unit)));
  }
  // The server names the unit from its directory; with the name from the
  // login the local form is the server's form to the byte.
  const std::string& unit_name = impl_->who.unit_name.empty() ? impl_->who.user.unit : impl_->who.unit_name;
  CreateForm payload{TemplateRef{tmpl->id, tmpl->version}, impl_->who.user.unit, unit_name, fiscal_year, unit};
  const FormId id = new_uuid_v4();
  Transaction txn(impl_->db);
  if (auto s = txn.begin(); !s) return s;
  if (auto s = impl_->append(impl_->make_op(id, 0, std::move(payload))); !s) return s;
  if (auto s = txn.commit(); !s) return s;
  return id;
}

Result<std::string> ClientReplica::open_round(workflow::RoundSpec spec) {
  if (spec.round_id.empty()) spec.round_id = new_uuid_v4();
  const std::string id = spec.round_id;
  Transaction txn(impl_->db);
  if (auto s = txn.begin(); !s) return s;
  if (auto s = impl_->append(impl_->make_op(id, 0, OpenRound{std::move(spec)})); !s) return s;
  if (auto s = txn.commit(); !s) return s;
  return id;
}

namespace {
// The layout of FormProgress depends on capabilities, so the rounds cache
// records the ones it was written with: this build's, at every sync.
std::string join_names(const Capabilities& caps) {
  std::string out;
  for (const std::string& n : caps.names()) out += (out.empty() ? "" : ",") + n;
  return out;
}
}  // namespace

std::vector<RoundReport> ClientReplica::rounds() const {
  std::vector<RoundReport> out;
  auto stored = impl_->meta_text("rounds");
  if (!stored || !*stored) return out;
  auto names_text = impl_->meta_text("rounds_caps");
  if (!names_text) return out;
  std::vector<std::string> names;
  if (*names_text) {
    std::stringstream in(**names_text);
    for (std::string n; std::getline(in, n, ',');) {
      if (!n.empty()) names.push_back(n);
    }
  }
  const Capabilities caps = Capabilities::from_names(names);
  // Written by a newer build (a capability this one does not know): its
  // layout is unknown here; the next sync brings the reports again.
  if (caps.names().size() != names.size()) return out;
  auto decoded =
      archive::from_bytes<std::vector<RoundReport>>(**stored, "评价批次报告", WireOptions{kProtocolVersion, caps});
  if (decoded) out = std::move(*decoded);  // a damaged cache: the next sync brings it again
  return out;
}

Status ClientReplica::set_cell(const FormId& form, const CellRef& cell, std::string_view text) {
  return impl_->edit(form, [&](const LoadedForm& f) -> Result<OpPayload> {
    auto value = impl_->parse_text(f, cell, text);
    if (!value) return value.status();
    return impl_->set_cell_payload(f, cell, *value);
  });
}

Status ClientReplica::set_cell_value(const FormId& form, const CellRef& cell, const CellValue& value) {
  return impl_->edit(form, [&](const LoadedForm& f) { return impl_->set_cell_payload(f, cell, value); });
}

Result<RowId> ClientReplica::insert_row(const FormId& form, const std::string& table, const RowId& after,
                                        const std::vector<std::pair<std::string, std::string>>& cells) {
  const RowId row_id = new_uuid_v4();
  Status s = impl_->edit(form, [&](const LoadedForm& f) -> Result<OpPayload> {
    const TableDef* td = f.tmpl->table(table);
    if (td == nullptr || !td->dynamic_rows) {
      return Status::invalid_argument("表格“" + (td != nullptr ? td->label : table) + "”不能添加行", table);
    }
    if (!after.empty() && !row_in(f.view, table, after)) {
      return Status(StatusCode::kNotFound, static_cast<std::uint16_t>(SyncReason::kRowMissing),
                    "插入位置所在的行不存在", row_key(table, after));
    }
    InsertRow p{table, row_id, after, {}};
    for (const auto& [key, text] : cells) {
      const CellDef* col = td->column(key);
      if (col == nullptr) return Status::invalid_argument("表格“" + td->label + "”中没有列“" + key + "”", key);
      const MoneyUnit unit = td->money_unit.value_or(f.view.form.money_unit);
      auto value = parse_cell_text(*col, text, unit, td->label + " 新行“" + col->label + "”",
                                   CellRef{table, row_id, key}.to_string());
      if (!value) return value.status();
      p.cells[key] = std::move(value).value();
    }
    return OpPayload(std::move(p));
  });
  if (!s) return s;
  return row_id;
}

Status ClientReplica::delete_row(const FormId& form, const std::string& table, const RowId& row) {
  return impl_->edit(form, [&](const LoadedForm& f) -> Result<OpPayload> {
    const TableDef* td = f.tmpl->table(table);
    if (td == nullptr || !td->dynamic_rows) {
      return Status::invalid_argument("表格“" + (td != nullptr ? td->label : table) + "”不能删除行", table);
    }
    if (!row_in(f.view, table, row)) {
      return Status(StatusCode::kNotFound, static_cast<std::uint16_t>(SyncReason::kRowMissing), "要删除的行不存在",
                    row_key(table, row));
    }
    return OpPayload(DeleteRow{table, row});
  });
}

Status ClientReplica::workflow_action(const FormId& form, workflow::Action action, WorkflowAction params) {
  return impl_->edit(form, [&](const LoadedForm& f) -> Result<OpPayload> {
    WorkflowAction p = std::move(params);
    p.action = action;
    // Every workflow action of this device still waiting for the server will
    // move the version by one before this one is checked.
    p.expected_version = f.view.workflow.version + f.unconfirmed_workflow_ops;
    p.content_hash = form_content_hash(f.view.form);
    return OpPayload(std::move(p));
  });
}

Status ClientReplica::resolve_conflict(const FormId& form, const std::string& conflict_id, Resolution resolution,
                                       std::string_view new_text) {
  return impl_->edit(form, [&](const LoadedForm& f) -> Result<OpPayload> {
    auto it = f.view.conflicts.find(conflict_id);
    if (it == f.view.conflicts.end()) {
      return Status(StatusCode::kNotFound, static_cast<std::uint16_t>(SyncReason::kConflictMissing), "冲突记录不存在",
                    conflict_id);
    }
    const ConflictRecord& c = it->second;
    if (c.resolved) {
      return Status(StatusCode::kConflict, static_cast<std::uint16_t>(SyncReason::kConflictClosed), "该冲突已处理",
                    conflict_id);
    }
    const bool row_kind = c.kind == ConflictKind::kEditOfDeletedRow || c.kind == ConflictKind::kDeleteOfEditedRow;
    ResolveConflict p{conflict_id, resolution, {}};
    if (resolution == Resolution::kTakeLoser && c.kind == ConflictKind::kEditOfDeletedRow) {
      return Status(StatusCode::kNotFound, static_cast<std::uint16_t>(SyncReason::kRowMissing),
                    "该行已被删除，不能采用被覆盖的值；请写入新值或保留现状", conflict_id);
    }
    if (resolution == Resolution::kNewValue) {
      if (row_kind) {
        return Status(StatusCode::kInvalidArgument, static_cast<std::uint16_t>(SyncReason::kBadCell),
                      "整行冲突不能写入单个新值", conflict_id);
      }
      auto value = impl_->parse_text(f, c.cell, new_text);
      if (!value) return value.status();
      p.value = std::move(value).value();
    }
    return OpPayload(std::move(p));
  });
}

Result<std::size_t> ClientReplica::reapply_rejected(const FormId& form) {
  Transaction txn(impl_->db);
  if (auto s = txn.begin(); !s) return s;
  auto loaded = impl_->load(form);
  if (!loaded) return loaded.status();
  FormReplica& view = loaded->view;
  std::vector<std::pair<std::string, Operation>> waiting;  // (op id, op)
  {
    Stmt q(impl_->db, "SELECT op FROM rejected WHERE form_id = ?1 AND state = ?2 ORDER BY rejected_seq");
    q.text(1, form).i64(2, static_cast<std::int64_t>(RejectedState::kWaiting));
    while (q.row()) {
      auto op = decode_operation(q.col_blob(0));
      if (!op) return op.status();
      waiting.emplace_back(op->id, std::move(op).value());
    }
    if (auto s = q.status(); !s) return s;
  }
  std::size_t count = 0;
  for (const auto& [old_id, old] : waiting) {
    std::optional<OpPayload> payload;
    if (const auto* set = std::get_if<SetCell>(&old.payload)) {
      const CellValue* current = find_cell(view.form, set->cell);
      payload = SetCell{set->cell, set->value, current != nullptr ? *current : CellValue{}};
    } else if (const auto* ins = std::get_if<InsertRow>(&old.payload)) {
      InsertRow p = *ins;
      // The server refuses a row id it has seen, even of a deleted row.
      if (row_in(view, p.table, p.row_id) || view.deleted_rows.count(row_key(p.table, p.row_id)) > 0) {
        p.row_id = new_uuid_v4();
      }
      payload = std::move(p);
    } else if (const auto* del = std::get_if<DeleteRow>(&old.payload)) {
      payload = *del;
    }
    // CreateForm, WorkflowAction, ResolveConflict: decisions taken against a
    // state that is gone; they stay kWaiting for the person to redo or discard.
    if (!payload) continue;
    Operation op = impl_->make_op(form, loaded->confirmed_seq, std::move(*payload));
    if (auto s = impl_->append(op); !s) return s;
    apply_local(view, op);  // the next one's base is what this one leaves
    if (auto s = Stmt(impl_->db, "UPDATE rejected SET state = ?1 WHERE op_id = ?2")
                     .i64(1, static_cast<std::int64_t>(RejectedState::kReapplied))
                     .text(2, old_id)
                     .run();
        !s) {
      return s;
    }
    ++count;
  }
  if (auto s = txn.commit(); !s) return s;
  return count;
}

Status ClientReplica::discard_rejected(const OpId& op) {
  Transaction txn(impl_->db);
  if (auto s = txn.begin(); !s) return s;
  std::optional<std::int64_t> state;
  {
    Stmt q(impl_->db, "SELECT state FROM rejected WHERE op_id = ?1");
    q.text(1, op);
    if (q.row()) state = q.col_i64(0);
    if (auto s = q.status(); !s) return s;
  }
  if (!state) return Status::not_found("没有这条被退回的修改", "rejected op " + op);
  if (*state != static_cast<std::int64_t>(RejectedState::kWaiting)) {
    return Status(StatusCode::kFailedPrecondition, "这条被退回的修改已处理过", "rejected op " + op);
  }
  if (auto s = Stmt(impl_->db, "UPDATE rejected SET state = ?1 WHERE op_id = ?2")
                   .i64(1, static_cast<std::int64_t>(RejectedState::kDiscarded))
                   .text(2, op)
                   .run();
      !s) {
    return s;
  }
  return txn.commit();
}

// ---- what the user sees --------------------------------------------------------------------

Result<FormReplica> ClientReplica::view(const FormId& form) const {
  auto loaded = impl_->load(form);
  if (!loaded) return loaded.status();
  return std::move(loaded->view);
}

Result<FormReplica> ClientReplica::confirmed(const FormId& form) const {
  auto r = impl_->load_confirmed(form);
  if (!r) return r.status();
  if (!*r) return form_not_found(form);
  return std::move(**r);
}

std::vector<FormSummary> ClientReplica::forms() const {
  std::vector<FormSummary> out;
  auto ids = impl_->form_ids();
  if (!ids) return out;
  std::map<FormId, std::size_t> waiting;
  {
    Stmt q(impl_->db, "SELECT form_id, COUNT(*) FROM rejected WHERE state = ?1 GROUP BY form_id");
    q.i64(1, static_cast<std::int64_t>(RejectedState::kWaiting));
    while (q.row()) waiting[q.col_text(0)] = static_cast<std::size_t>(q.col_i64(1));
  }
  for (const FormId& id : *ids) {
    auto f = impl_->load(id);
    if (!f) continue;
    const Form& form = f->view.form;
    FormSummary s;
    s.id = id;
    s.template_ref = form.template_ref;
    s.unit_code = form.unit_code;
    s.unit_name = form.unit_name;
    s.fiscal_year = form.fiscal_year;
    s.phase = f->view.workflow.phase;
    s.stage_id = f->view.workflow.stage_id;
    s.pending_ops = f->unconfirmed_ops;
    s.open_conflicts = static_cast<std::size_t>(std::count_if(
        f->view.conflicts.begin(), f->view.conflicts.end(), [](const auto& kv) { return !kv.second.resolved; }));
    s.waiting_rejected = waiting.count(id) > 0 ? waiting[id] : 0;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<ConflictRecord> ClientReplica::open_conflicts() const {
  std::vector<ConflictRecord> out;
  auto ids = impl_->form_ids();
  if (!ids) return out;
  for (const FormId& id : *ids) {
    auto f = impl_->load(id);
    if (!f) continue;
    for (const auto& [_, c] : f->view.conflicts) {
      if (!c.resolved) out.push_back(c);
    }
  }
  return out;
}

std::vector<RejectedChange> ClientReplica::rejected() const {
  std::vector<RejectedChange> out;
  Stmt q(impl_->db, "SELECT op, code, reason, message, state FROM rejected ORDER BY rejected_seq");
  while (q.row()) {
    auto op = decode_operation(q.col_blob(0));
    if (!op) continue;
    RejectedChange r;
    r.op = std::move(op).value();
    r.code = static_cast<StatusCode>(q.col_i64(1));
    r.reason = static_cast<std::uint16_t>(q.col_i64(2));
    r.message = q.col_text(3);
    r.state = static_cast<RejectedState>(q.col_i64(4));
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Operation> ClientReplica::pending() const {
  std::vector<Operation> out;
  auto ops = impl_->load_outbox({});
  if (!ops) return out;
  for (OutboxOp& o : *ops) out.push_back(std::move(o.op));
  return out;
}

std::size_t ClientReplica::outbox_size() const {
  Stmt q(impl_->db, "SELECT COUNT(*) FROM outbox");
  return q.row() ? static_cast<std::size_t>(q.col_i64(0)) : 0;
}

ServerSeq ClientReplica::cursor() const {
  auto c = impl_->meta_int("cursor");
  return c ? static_cast<ServerSeq>(*c) : 0;
}

// ---- sync ---------------------------------------------------------------------------------

SyncRequest ClientReplica::next_request(std::uint64_t request_id, std::uint32_t max_ops_bytes) {
  SyncRequest req = peek_request(request_id, max_ops_bytes);
  if (req.ops.empty()) return req;
  // From here on the operations' ids may be on the server: they never
  // coalesce again. If that cannot be recorded they do not go (a pull only).
  Transaction txn(impl_->db);
  Status s = txn.begin();
  for (std::size_t i = 0; s && i < req.ops.size(); ++i) {
    s = Stmt(impl_->db, "UPDATE outbox SET sent = 1 WHERE op_id = ?1").text(1, req.ops[i].id).run();
  }
  if (s) s = txn.commit();
  if (!s) req.ops.clear();
  return req;
}

SyncRequest ClientReplica::peek_request(std::uint64_t request_id, std::uint32_t max_ops_bytes) const {
  SyncRequest req;
  req.request_id = request_id;
  req.device = impl_->who.device;
  req.user = impl_->who.user.id;
  req.cursor = cursor();
  auto ops = impl_->load_outbox({}, /*unacked_only=*/true);
  if (!ops) return req;
  // The stored blob's size stands in for the wire size (both are cereal
  // binary of the same struct; they differ by a few header bytes).
  std::size_t bytes = 0;
  for (OutboxOp& o : *ops) {
    if (!req.ops.empty() && bytes + o.encoded_bytes > max_ops_bytes) break;
    bytes += o.encoded_bytes;
    req.ops.push_back(std::move(o.op));
  }
  return req;
}

void ClientReplica::set_apply_batching(std::size_t items_per_transaction, std::function<void()> between) {
  impl_->batch_items = items_per_transaction;
  impl_->between_batches = std::move(between);
}

Status ClientReplica::apply_response(const SyncRequest& sent, const SyncResponse& response) {
  if (response.request_id != sent.request_id) return Status::ok();  // not the answer to `sent`
  const std::vector<LogEntry> own = own_entries(sent, response);
  const std::vector<Impl::Item> items = Impl::items_of(response, own);
  const std::size_t batch = impl_->batch_items == 0 ? items.size() : impl_->batch_items;
  // Batches of at most `batch` items, each its own transaction: the results
  // go with the first, the cursor (and everything else the answer moves)
  // with the last. A crash in between leaves the old cursor, so the next
  // sync brings the rest again (entries and snapshots are idempotent).
  std::size_t begin = 0;
  for (bool first = true;; first = false) {
    const std::size_t end = std::min(items.size(), begin + batch);
    const bool last = end == items.size();
    Transaction txn(impl_->db);
    if (auto s = txn.begin(); !s) return s;
    if (first) {
      if (auto s = impl_->apply_results(sent, response); !s) return s;
    }
    if (auto s = impl_->apply_items(items, begin, end); !s) return s;
    if (last) {
      auto stored = impl_->meta_int("cursor");
      if (!stored) return stored.status();
      const ServerSeq cursor = std::max(static_cast<ServerSeq>(*stored), response.cursor);
      if (auto s = impl_->put_meta_int("cursor", static_cast<std::int64_t>(cursor)); !s) return s;
      // The server computes round reports afresh for every answer.
      if (auto s = Stmt(impl_->db, "INSERT OR REPLACE INTO meta(key, value) VALUES('rounds', ?1)")
                       .blob(1, archive::to_bytes(response.rounds, WireOptions{}))
                       .run();
          !s) {
        return s;
      }
      if (auto s = impl_->put_meta_text("rounds_caps", join_names(WireOptions{}.caps)); !s) return s;
      if (auto s = Stmt(impl_->db, "DELETE FROM outbox WHERE acked_seq IS NOT NULL AND acked_seq <= ?1")
                       .u64(1, cursor)
                       .run();
          !s) {
        return s;
      }
    }
    if (auto s = impl_->save_hlc(); !s) return s;
    if (auto s = txn.commit(); !s) return s;
    if (last) return Status::ok();
    if (impl_->between_batches) impl_->between_batches();
    begin = end;
  }
}

Result<std::vector<HistoryRecord>> ClientReplica::history(const FormId& form) const {
  std::vector<HistoryRecord> out;
  Stmt q(impl_->db,
         "SELECT seq, kind, op_id, author, wall_ms, body FROM history WHERE form_id = ?1 ORDER BY seq, kind");
  q.text(1, form);
  while (q.row()) {
    HistoryRecord r;
    r.form = form;
    r.seq = q.col_u64(0);
    r.kind = static_cast<HistoryRecord::Kind>(q.col_i64(1));
    r.op_id = q.col_text(2);
    r.author = q.col_text(3);
    r.wall_ms = q.col_i64(4);
    if (r.kind == HistoryRecord::Kind::kEntry) {
      auto e = decode_entry(q.col_blob(5));
      if (!e) return e.status();
      r.entry = std::move(e).value();
    } else if (r.kind == HistoryRecord::Kind::kOwn) {
      auto op = decode_operation(q.col_blob(5));
      if (!op) return op.status();
      r.op = std::move(op).value();
    }
    out.push_back(std::move(r));
  }
  if (auto s = q.status(); !s) return s;
  return out;
}

std::map<FormId, std::string> ClientReplica::replica_hashes() const {
  std::map<FormId, std::string> out;
  Stmt q(impl_->db, "SELECT form_id, replica FROM forms ORDER BY form_id");
  while (q.row()) {
    auto r = decode_replica(q.col_blob(1));
    if (r) out[q.col_text(0)] = replica_hash(*r);
  }
  return out;
}

}  // namespace jixiao::sync
