#include "jixiao/sync/sync_server.h"

#include <sqlite3.h>

#include <map>

#include <mutex>
#include <set>
#include <sstream>

#include "jixiao/common/digest.h"
#include "jixiao/common/bounded_archive.h"
#include "jixiao/common/form_codec.h"
#include "jixiao/common/form_json.h"
#include "jixiao/common/uuid.h"
#include "jixiao/sync/audit_store.h"
#include "jixiao/sync/merge.h"
#include "jixiao/sync/model_cereal.h"
#include "jixiao/workflow/engine.h"
#include "jixiao/workflow/refusal.h"

namespace jixiao::sync {
namespace {

using workflow::AuditEvent;
using workflow::AuditRecord;

constexpr int kSchemaVersion = 1;

// ---- SQLite plumbing --------------------------------------------------------------

// The server's connection with its prepared statements, kept for reuse:
// compiling every statement on every use was a fifth of the server's CPU
// under load (bench/RESULTS.md). Keyed by the SQL text's address (all are
// literals); a statement already in use (a nested query of the same text)
// gets a fresh one instead.
struct Db {
  sqlite3* raw = nullptr;
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  std::map<const char*, Cached> cache;

  operator sqlite3*() const { return raw; }  // NOLINT: the plain handle for plain calls
  void close() {
    for (auto& [sql, c] : cache) sqlite3_finalize(c.stmt);
    cache.clear();
    if (raw != nullptr) sqlite3_close(raw);
    raw = nullptr;
  }
};

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      error_ = sqlite3_errmsg(db);
      stmt_ = nullptr;
    }
  }
  Stmt(Db& db, const char* sql) {
    Db::Cached& c = db.cache[sql];
    if (c.stmt != nullptr && !c.in_use) {
      stmt_ = c.stmt;
      cached_ = &c;
      c.in_use = true;
      return;
    }
    if (sqlite3_prepare_v3(db.raw, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      error_ = sqlite3_errmsg(db.raw);
      stmt_ = nullptr;
      return;
    }
    if (c.stmt == nullptr) {
      c.stmt = stmt_;
      cached_ = &c;
      c.in_use = true;
    }
  }
  ~Stmt() {
    if (cached_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
      cached_->in_use = false;
    } else {
      sqlite3_finalize(stmt_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  const std::string& error() const { return error_; }
  Stmt& bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_blob(int i, std::string_view bytes) {
    sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return stmt_ == nullptr ? SQLITE_ERROR : sqlite3_step(stmt_); }
  std::int64_t column_int(int i) const { return sqlite3_column_int64(stmt_, i); }
  std::string column_text(int i) const {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p),
                                                      static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
  }
  std::string column_blob(int i) const {
    const void* p = sqlite3_column_blob(stmt_, i);
    return p == nullptr ? std::string()
                        : std::string(static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
  }
  bool column_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  Db::Cached* cached_ = nullptr;  // borrowed from the connection's cache
  std::string error_;
};

Status storage_error(sqlite3* db, std::string_view what) {
  return Status(StatusCode::kUnavailable, "服务器存储暂时不可用，请稍后重试",
                std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : "no database"));
}

Status exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "?";
    sqlite3_free(err);
    return Status(StatusCode::kUnavailable, "服务器存储暂时不可用，请稍后重试", std::string(sql).substr(0, 40) + ": " + msg);
  }
  return Status::ok();
}

std::string encode_round(const workflow::Round& round) { return archive::to_bytes(round); }

std::optional<workflow::Round> decode_round(const std::string& bytes) {
  auto round = archive::from_bytes<workflow::Round>(bytes, "评价批次");
  if (!round) return std::nullopt;
  return std::move(*round);
}

Status rejection(SyncReason reason, StatusCode code, std::string message, std::string detail = {}) {
  return Status(code, static_cast<std::uint16_t>(reason), std::move(message), std::move(detail));
}

OpResult result_of(const OpId& id, ServerSeq seq, const Status& s) {
  OpResult r;
  r.op_id = id;
  r.seq = seq;
  r.code = s.code();
  r.reason = s.reason();
  r.message = s.message();
  return r;
}

}  // namespace

struct SyncServer::Impl {
  Db db;
  const Directory& directory;
  const TemplateRegistry& templates;
  std::vector<workflow::WorkflowDefinition> definitions;
  std::vector<std::unique_ptr<workflow::WorkflowEngine>> engines;  // parallel to definitions
  const workflow::Clock& clock;
  mutable std::mutex mu;
  // Guarded by mu; reloaded from the database after a rollback.
  ServerSeq head = 0;

  AuditStatements audit_statements;  // on db

  // Per-request working set, flushed before COMMIT.
  std::map<FormId, FormReplica> dirty;

  Impl(const Directory& d, const TemplateRegistry& t, const workflow::Clock& c)
      : directory(d), templates(t), clock(c) {}
  ~Impl() {
    audit_statements.finalize();
    db.close();
  }

  Status open_db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db.raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      return storage_error(db, "open " + path);
    }
    sqlite3_busy_timeout(db, 5000);
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
      if (auto s = exec(db, pragma); !s) return s;
    }
    Stmt v(db, "PRAGMA user_version");
    const std::int64_t version = v.step() == SQLITE_ROW ? v.column_int(0) : 0;
    if (version > kSchemaVersion) {
      return Status::unsupported_version("服务器数据库的版本比本程序新，请升级服务器", "schema " + std::to_string(version));
    }
    if (version == 0) {
      const char* schema = R"sql(
        BEGIN;
        CREATE TABLE forms(form_id TEXT PRIMARY KEY, unit TEXT NOT NULL, replica BLOB NOT NULL);
        CREATE TABLE log(seq INTEGER PRIMARY KEY, form_id TEXT NOT NULL, entry BLOB NOT NULL);
        CREATE INDEX log_by_form ON log(form_id, seq);
        CREATE TABLE op_results(op_id TEXT PRIMARY KEY, payload_hash BLOB NOT NULL, seq INTEGER NOT NULL,
                                code INTEGER NOT NULL, reason INTEGER NOT NULL, message TEXT NOT NULL);
        CREATE TABLE visibility(form_id TEXT NOT NULL, unit TEXT NOT NULL, since_seq INTEGER NOT NULL,
                                PRIMARY KEY(form_id, unit));
        CREATE INDEX visibility_by_unit ON visibility(unit, since_seq);
        CREATE TABLE rounds(round_id TEXT PRIMARY KEY, finance_bureau TEXT NOT NULL, fiscal_year INTEGER NOT NULL,
                            deadline_ms INTEGER NOT NULL, round BLOB NOT NULL);
        PRAGMA user_version = 1;
        COMMIT;)sql";
      if (auto s = exec(db, schema); !s) return s;
    }
    if (auto s = ensure_audit_table(db); !s) return s;
    return load_counters();
  }

  Status load_counters() {
    Stmt h(db, "SELECT COALESCE(MAX(seq), 0) FROM log");
    if (h.step() != SQLITE_ROW) return storage_error(db, "read head");
    head = static_cast<ServerSeq>(h.column_int(0));
    return Status::ok();
  }

  // ---- directory and workflow -------------------------------------------------------

  const User* user(const UserId& id) const {
    auto it = directory.users.find(id);
    return it == directory.users.end() ? nullptr : &it->second;
  }

  const workflow::WorkflowEngine* engine_for_unit(const UnitCode& unit_code) const {
    const Unit* unit = directory.organisation.find(unit_code);
    if (unit == nullptr) return nullptr;
    auto def = workflow::select_workflow_definition(definitions, *unit);
    if (!def) return nullptr;
    for (std::size_t i = 0; i < definitions.size(); ++i) {
      if (&definitions[i] == *def) return engines[i].get();
    }
    return nullptr;
  }

  const workflow::WorkflowEngine* engine_for_state(const workflow::SubmissionState& s) const {
    for (std::size_t i = 0; i < definitions.size(); ++i) {
      if (definitions[i].id == s.definition_id && definitions[i].version == s.definition_version) {
        return engines[i].get();
      }
    }
    return nullptr;
  }

  // ---- storage ------------------------------------------------------------------------

  Result<std::optional<FormReplica>> load_replica(const FormId& id) {
    if (auto it = dirty.find(id); it != dirty.end()) return std::optional<FormReplica>(it->second);
    Stmt q(db, "SELECT replica FROM forms WHERE form_id = ?");
    q.bind(1, id);
    const int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<FormReplica>();
    if (rc != SQLITE_ROW) return storage_error(db, "load replica");
    auto r = decode_replica(q.column_blob(0));
    if (!r) return r.status();
    return std::optional<FormReplica>(std::move(*r));
  }

  Status append_audit(AuditEvent event) {
    auto rec = sync::append_audit(db, audit_statements, std::move(event));
    return rec ? Status::ok() : rec.status();
  }

  Status add_visibility(const FormId& form, const UnitCode& unit, ServerSeq since) {
    Stmt ins(db, "INSERT OR IGNORE INTO visibility(form_id, unit, since_seq) VALUES (?,?,?)");
    ins.bind(1, form).bind(2, unit).bind(3, static_cast<std::int64_t>(since));
    return ins.step() == SQLITE_DONE ? Status::ok() : storage_error(db, "visibility");
  }

  // ---- one operation ----------------------------------------------------------------

  // The effects of `op` (or why not), plus what the audit log must say.
  struct Decision {
    std::vector<Effect> effects;
    std::vector<AuditEvent> audit;
    std::vector<UnitCode> newly_visible_to;
    bool about_a_form = true;  // false for a round: no replica to write
  };

  // The rounds a finance bureau opened (all of them when `bureau` is empty).
  Result<std::vector<workflow::Round>> load_rounds(const UnitCode& bureau) {
    std::vector<workflow::Round> out;
    Stmt q(db, bureau.empty() ? "SELECT round FROM rounds ORDER BY round_id"
                              : "SELECT round FROM rounds WHERE finance_bureau = ? ORDER BY round_id");
    if (!bureau.empty()) q.bind(1, bureau);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      if (auto r = decode_round(q.column_blob(0))) out.push_back(std::move(*r));
    }
    if (rc != SQLITE_DONE) return storage_error(db, "read rounds");
    return out;
  }

  // The round a new form of `unit` for `year` and `kind` answers, if any.
  Result<std::string> round_for(const UnitCode& unit_code, int year, const std::string& kind) {
    const Unit* unit = directory.organisation.find(unit_code);
    if (unit == nullptr || unit->finance_bureau.empty()) return std::string();
    auto rounds = load_rounds(unit->finance_bureau);
    if (!rounds) return rounds.status();
    for (const auto& r : *rounds) {
      if (r.spec.fiscal_year != year) continue;
      for (const auto& req : r.spec.requirements) {
        if (req.unit == unit_code &&
            std::find(req.form_kinds.begin(), req.form_kinds.end(), kind) != req.form_kinds.end()) {
          return r.spec.round_id;
        }
      }
    }
    return std::string();
  }

  // Round reports for a user: a finance bureau sees its rounds whole, a city
  // its own and its districts' lines.
  Status round_reports(const User& actor, std::vector<RoundReport>& out) {
    const Unit* unit = directory.organisation.find(actor.unit);
    if (unit == nullptr || unit->level == UnitLevel::kDistrict) return Status::ok();
    auto rounds = load_rounds(unit->level == UnitLevel::kFinanceBureau ? unit->code : unit->finance_bureau);
    if (!rounds) return rounds.status();
    if (rounds->empty()) return Status::ok();
    std::vector<workflow::SubmissionState> states;
    Stmt q(db, "SELECT replica FROM forms");
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      auto r = decode_replica(q.column_blob(0));
      if (r && !r->workflow.round_id.empty()) states.push_back(std::move(r->workflow));
    }
    if (rc != SQLITE_DONE) return storage_error(db, "read forms");
    std::vector<const workflow::WorkflowEngine*> engine_ptrs;
    for (const auto& e : engines) engine_ptrs.push_back(e.get());
    for (auto& round : *rounds) {
      RoundReport report;
      for (auto& p : workflow::round_progress(round, states, engine_ptrs, clock.now())) {
        if (unit->level == UnitLevel::kCity && !directory.organisation.is_within(p.unit, unit->code)) continue;
        report.progress.push_back(std::move(p));
      }
      report.round = std::move(round);
      if (!report.progress.empty()) out.push_back(std::move(report));
    }
    return Status::ok();
  }

  Result<Decision> decide(const Operation& op, const User& actor, std::optional<FormReplica>& replica,
                          ServerSeq seq) {
    Decision d;
    const auto now = clock.now();
    if (const auto* open = std::get_if<OpenRound>(&op.payload)) {
      d.about_a_form = false;
      if (op.form_id != open->spec.round_id || open->spec.round_id.empty()) {
        return rejection(SyncReason::kBadCell, StatusCode::kInvalidArgument, "评价批次编号不一致", op.form_id);
      }
      auto existing = load_rounds({});
      if (!existing) return existing.status();
      for (const auto& r : *existing) {
        if (r.spec.round_id == open->spec.round_id) {
          return rejection(SyncReason::kFormExists, StatusCode::kInvalidArgument, "评价批次编号已存在", op.form_id);
        }
      }
      auto opening = workflow::open_round(open->spec, actor, op.device, directory.organisation, clock);
      if (!opening) return opening.status();
      Stmt ins(db, "INSERT INTO rounds(round_id, finance_bureau, fiscal_year, deadline_ms, round) VALUES (?,?,?,?,?)");
      ins.bind(1, opening->round.spec.round_id)
          .bind(2, opening->round.finance_bureau)
          .bind(3, std::int64_t{opening->round.spec.fiscal_year})
          .bind(4, static_cast<std::int64_t>(opening->round.spec.deadline.time_since_epoch().count()))
          .bind_blob(5, encode_round(opening->round));
      if (ins.step() != SQLITE_DONE) return storage_error(db, "store round");
      d.audit.push_back(std::move(opening->event));
      return d;
    }
    if (const auto* create = std::get_if<CreateForm>(&op.payload)) {
      if (!is_uuid(op.form_id)) return rejection(SyncReason::kBadCell, StatusCode::kInvalidArgument, "表单编号格式不正确");
      if (replica) return rejection(SyncReason::kFormExists, StatusCode::kInvalidArgument, "表单编号已存在", op.form_id);
      auto tmpl = templates.find(create->template_ref.id, create->template_ref.version);
      if (!tmpl) return rejection(SyncReason::kUnknownTemplate, StatusCode::kNotFound, tmpl.status().message());
      if (create->unit_code != actor.unit) {
        return rejection(SyncReason::kOutOfScope, StatusCode::kPermissionDenied, "只能为本单位创建表单",
                         create->unit_code);
      }
      const workflow::WorkflowEngine* engine = engine_for_unit(create->unit_code);
      if (engine == nullptr) {
        return rejection(SyncReason::kOutOfScope, StatusCode::kFailedPrecondition, "该单位没有适用的审批流程",
                         create->unit_code);
      }
      const auto& units = (*tmpl)->money_units;
      if (std::find(units.begin(), units.end(), create->money_unit) == units.end()) {
        return rejection(SyncReason::kBadCell, StatusCode::kInvalidArgument, "该表单模板不使用此金额单位");
      }
      auto round_id = round_for(create->unit_code, create->fiscal_year, create->template_ref.id);
      if (!round_id) return round_id.status();
      workflow::SubmissionState state =
          engine->new_submission(op.form_id, create->unit_code, create->template_ref.id, *round_id);
      if (auto s = engine->check_edit(state, actor); !s) return s;
      // The unit's name is the directory's, whatever the client wrote.
      const Unit* unit = directory.organisation.find(create->unit_code);
      Form form = new_blank_form(**tmpl, create->unit_code, unit != nullptr ? unit->name : create->unit_name,
                                 create->fiscal_year);
      form.id = op.form_id;
      form.money_unit = create->money_unit;
      d.effects.emplace_back(FormCreated{std::move(form), std::move(state)});
      AuditEvent e = workflow::content_change_event(now, actor.id, op.device, op.form_id, "form", "",
                                                    "创建表单 " + create->template_ref.id);
      d.audit.push_back(std::move(e));
      d.newly_visible_to.push_back(create->unit_code);
      return d;
    }
    if (!replica) return rejection(SyncReason::kUnknownForm, StatusCode::kNotFound, "表单不存在", op.form_id);
    const workflow::WorkflowEngine* engine = engine_for_state(replica->workflow);
    if (engine == nullptr) {
      return rejection(SyncReason::kOutOfScope, StatusCode::kFailedPrecondition, "找不到该表单的审批流程");
    }
    auto tmpl = templates.find(replica->form.template_ref.id, replica->form.template_ref.version);
    if (!tmpl) return rejection(SyncReason::kUnknownTemplate, StatusCode::kNotFound, tmpl.status().message());

    if (const auto* wa = std::get_if<WorkflowAction>(&op.payload)) {
      const std::string current_hash = form_content_hash(replica->form);
      const bool submitting = wa->action == workflow::Action::kSubmit || wa->action == workflow::Action::kResubmit;
      workflow::Command cmd;
      cmd.action = wa->action;
      cmd.actor = actor;
      cmd.device = op.device;
      cmd.expected_version = wa->expected_version;
      cmd.content_hash = wa->content_hash;
      cmd.reason = wa->reason;
      cmd.return_to_stage = wa->return_to_stage;
      cmd.evidence = wa->evidence;
      cmd.amount_fen = form_amount(replica->form, **tmpl).value_or(Money()).fen();
      // A submitter submits what it saw; a colleague's edit since then makes
      // it a different version (reviewers are checked by the engine).
      if (submitting && wa->content_hash != current_hash) {
        return workflow::refuse(workflow::Refusal::kStaleContent, "submitted hash differs from the server's form");
      }
      auto t = engine->apply(replica->workflow, cmd);
      if (!t) return t.status();
      for (auto& e : t->events) d.audit.push_back(std::move(e));
      // Visibility grows as the form reaches the units that act on it.
      if (t->state.phase == workflow::Phase::kInReview) {
        if (const auto* stage = engine->definition().find_stage(t->state.stage_id)) {
          const UnitCode acting = engine->acting_unit_for(*stage, replica->workflow.unit);
          if (!acting.empty() && acting != replica->workflow.unit) d.newly_visible_to.push_back(acting);
        }
      }
      d.effects.emplace_back(WorkflowChanged{std::move(t->state)});
      return d;
    }
    // Content: only the form's preparers, only in 草稿 or after a return.
    if (auto s = engine->check_edit(replica->workflow, actor); !s) return s;
    auto effects = decide_content_effects(*replica, op, **tmpl, seq);
    if (!effects) return effects.status();
    d.effects = std::move(*effects);
    for (const Effect& e : d.effects) {
      if (const auto* w = std::get_if<CellWritten>(&e)) {
        const CellValue* old = find_cell(replica->form, w->cell);
        d.audit.push_back(workflow::content_change_event(now, actor.id, op.device, op.form_id, w->cell.to_string(),
                                                         old != nullptr ? old->display(replica->form.money_unit) : "",
                                                         w->value.display(replica->form.money_unit)));
      } else if (const auto* ins = std::get_if<RowInserted>(&e)) {
        d.audit.push_back(workflow::content_change_event(now, actor.id, op.device, op.form_id,
                                                         row_key(ins->table, ins->row_id), "", "插入行"));
      } else if (const auto* del = std::get_if<RowDeleted>(&e)) {
        d.audit.push_back(workflow::content_change_event(now, actor.id, op.device, op.form_id,
                                                         row_key(del->table, del->row_id), "", "删除行"));
      } else if (const auto* c = std::get_if<ConflictOpened>(&e)) {
        AuditEvent ev = workflow::content_change_event(now, actor.id, op.device, op.form_id, c->conflict.cell.to_string(),
                                                       c->conflict.winner.value.display(replica->form.money_unit),
                                                       c->conflict.loser.value.display(replica->form.money_unit));
        ev.action = "conflict";
        d.audit.push_back(std::move(ev));
      }
    }
    return d;
  }

  // Applies or rejects one operation inside the open transaction.
  Result<OpResult> process(const Operation& op, const User& actor, const SessionIdentity& who) {
    const std::string payload_hash = sha256_raw(encode_operation(op));
    {
      Stmt q(db, "SELECT payload_hash, seq, code, reason, message FROM op_results WHERE op_id = ?");
      q.bind(1, op.id);
      const int rc = q.step();
      if (rc == SQLITE_ROW) {
        if (q.column_blob(0) != payload_hash) {
          // Not stored: the first answer for this id stays the answer.
          return result_of(op.id, 0,
                           rejection(SyncReason::kOpIdReused, StatusCode::kInvalidArgument,
                                     "操作编号已用于另一项修改，本次修改未被接受", op.id));
        }
        OpResult r;
        r.op_id = op.id;
        r.seq = static_cast<ServerSeq>(q.column_int(1));
        r.code = static_cast<StatusCode>(q.column_int(2));
        r.reason = static_cast<std::uint16_t>(q.column_int(3));
        r.message = q.column_text(4);
        return r;
      }
      if (rc != SQLITE_DONE) return storage_error(db, "read op result");
    }
    Status outcome;
    ServerSeq seq = 0;
    if (op.id.empty() || op.author != who.user || op.device != who.device) {
      outcome = rejection(SyncReason::kNotAuthorOfDevice, StatusCode::kPermissionDenied,
                          "操作的作者或设备与当前登录不符", "op " + op.id);
    } else {
      // A form this request already changed is moved out of the working
      // set, not copied (a copy per operation was a quarter of the server's
      // CPU at 50 operations per request), and put back below.
      std::optional<FormReplica> current;
      bool from_dirty = false;
      if (auto it = dirty.find(op.form_id); it != dirty.end()) {
        current = std::move(it->second);
        dirty.erase(it);
        from_dirty = true;
      } else {
        auto loaded = load_replica(op.form_id);
        if (!loaded) return loaded.status();
        current = std::move(*loaded);
      }
      auto decision = decide(op, actor, current, head + 1);
      if (!decision) {
        outcome = decision.status();
        if (outcome.code() == StatusCode::kUnavailable || outcome.code() == StatusCode::kCorruption) return outcome;
        if (from_dirty) dirty[op.form_id] = std::move(*current);
      } else {
        seq = ++head;
        LogEntry entry{seq, op.form_id, op.id, op.author, op.device, op.hlc, std::move(decision->effects)};
        FormReplica next = current ? std::move(*current) : FormReplica{};
        apply_entry(next, entry);
        Stmt ins(db, "INSERT INTO log(seq, form_id, entry) VALUES (?,?,?)");
        ins.bind(1, static_cast<std::int64_t>(seq)).bind(2, op.form_id).bind_blob(3, encode_entry(entry));
        if (ins.step() != SQLITE_DONE) return storage_error(db, "append log");
        for (const UnitCode& unit : decision->newly_visible_to) {
          if (auto s = add_visibility(op.form_id, unit, seq); !s) return s;
        }
        for (auto& e : decision->audit) {
          if (auto s = append_audit(std::move(e)); !s) return s;
        }
        if (decision->about_a_form || from_dirty) dirty[op.form_id] = std::move(next);
      }
    }
    if (!outcome.is_ok()) {
      AuditEvent e = workflow::refusal_event(clock.now(), who.user, who.device, op.form_id,
                                             std::string(op_kind_name(op.payload)), outcome);
      if (auto s = append_audit(std::move(e)); !s) return s;
    }
    OpResult r = result_of(op.id, seq, outcome);
    Stmt ins(db, "INSERT INTO op_results(op_id, payload_hash, seq, code, reason, message) VALUES (?,?,?,?,?,?)");
    ins.bind(1, op.id)
        .bind_blob(2, payload_hash)
        .bind(3, static_cast<std::int64_t>(r.seq))
        .bind(4, static_cast<std::int64_t>(r.code))
        .bind(5, static_cast<std::int64_t>(r.reason))
        .bind(6, r.message);
    if (ins.step() != SQLITE_DONE) return storage_error(db, "store op result");
    return r;
  }

  Status flush_dirty() {
    for (const auto& [id, replica] : dirty) {
      Stmt up(db, "INSERT INTO forms(form_id, unit, replica) VALUES (?,?,?) "
                  "ON CONFLICT(form_id) DO UPDATE SET replica = excluded.replica");
      up.bind(1, id).bind(2, replica.workflow.unit).bind_blob(3, encode_replica(replica));
      if (up.step() != SQLITE_DONE) return storage_error(db, "store replica");
    }
    dirty.clear();
    return Status::ok();
  }

  // ---- what the client may see ----------------------------------------------------

  // Fills `out` with the user's unit's snapshots and entries after `cursor`, in
  // log order, up to `budget` bytes: a form that became visible after the
  // cursor comes as a snapshot at the position where it became visible.
  //
  // `own`: the requester's accepted operations of this request by their seq.
  // An entry of one of them whose effects are the operation's plain effects is
  // left out: the requester rebuilds it (protocol.h, own_entries()).
  Status collect(const UnitCode& unit, ServerSeq cursor, std::size_t budget, const std::map<ServerSeq, const Operation*>& own,
                 SyncResponse& out) {
    struct Item {
      ServerSeq position;
      bool snapshot;
      FormId form;
      std::string entry_blob;
    };
    std::vector<Item> items;
    {
      Stmt q(db, "SELECT since_seq, form_id FROM visibility WHERE unit = ? AND since_seq > ? ORDER BY since_seq");
      q.bind(1, unit).bind(2, static_cast<std::int64_t>(cursor));
      int rc;
      while ((rc = q.step()) == SQLITE_ROW) {
        items.push_back({static_cast<ServerSeq>(q.column_int(0)), true, q.column_text(1), {}});
      }
      if (rc != SQLITE_DONE) return storage_error(db, "read visibility");
    }
    {
      Stmt q(db,
             "SELECT l.seq, l.form_id, l.entry FROM log l JOIN visibility v ON v.form_id = l.form_id AND v.unit = ? "
             "WHERE l.seq > ? AND l.seq > v.since_seq ORDER BY l.seq");
      q.bind(1, unit).bind(2, static_cast<std::int64_t>(cursor));
      int rc;
      while ((rc = q.step()) == SQLITE_ROW) {
        items.push_back({static_cast<ServerSeq>(q.column_int(0)), false, q.column_text(1), q.column_blob(2)});
        if (items.size() > 200'000) break;  // far beyond one response; the rest comes next time
      }
      if (rc != SQLITE_DONE && rc != SQLITE_ROW) return storage_error(db, "read log");
    }
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
      return a.position < b.position || (a.position == b.position && a.snapshot && !b.snapshot);
    });
    std::size_t used = 0;
    std::map<FormId, ServerSeq> snapshot_upto;  // forms sent whole in this response
    ServerSeq position = cursor;
    bool complete = true;
    // Counts `size` against the budget; the first item always fits.
    const auto fits = [&](std::size_t size) {
      if (used > 0 && used + size > budget) return false;
      used += size;
      return true;
    };
    for (const Item& item : items) {
      const std::string* entry_blob = &item.entry_blob;
      std::string creation_blob;
      bool as_entry = !item.snapshot;
      if (item.snapshot) {
        // A form this very request created became visible with its creation:
        // the requester holds all of it but the server's creation entry, so
        // that entry goes instead of a snapshot (the rest follows as entries,
        // its own plain ones left out).
        if (auto mine = own.find(item.position); mine != own.end() && mine->second->form_id == item.form &&
                                                 std::holds_alternative<CreateForm>(mine->second->payload)) {
          Stmt q(db, "SELECT entry FROM log WHERE seq = ?");
          q.bind(1, static_cast<std::int64_t>(item.position));
          if (q.step() != SQLITE_ROW) return storage_error(db, "read creation entry");
          creation_blob = q.column_blob(0);
          entry_blob = &creation_blob;
          as_entry = true;
        }
      }
      if (!as_entry) {
        auto replica = load_replica(item.form);
        if (!replica) return replica.status();
        if (!*replica) continue;
        FormSnapshot snap{std::move(**replica)};
        if (!fits(encoded_size(snap))) {
          complete = false;
          break;
        }
        snapshot_upto[item.form] = snap.replica.last_seq;
        out.snapshots.push_back(std::move(snap));
      } else {
        auto covered = snapshot_upto.find(item.form);
        if (covered == snapshot_upto.end() || item.position > covered->second) {
          auto entry = decode_entry(*entry_blob);
          if (!entry) return entry.status();
          if (auto mine = own.find(item.position); mine != own.end() && entry->op_id == mine->second->id) {
            const auto plain = plain_effects(*mine->second);
            if (plain && *plain == entry->effects) {
              position = item.position;
              continue;
            }
          }
          if (!fits(encoded_size(*entry))) {
            complete = false;
            break;
          }
          out.entries.push_back(std::move(*entry));
        }
      }
      position = item.position;
    }
    out.more = !complete;
    out.cursor = complete ? std::max(head, cursor) : position;
    return Status::ok();
  }
};

SyncServer::SyncServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SyncServer::~SyncServer() = default;

Result<std::unique_ptr<SyncServer>> SyncServer::open(const std::string& db_path, const Directory& directory,
                                                     const TemplateRegistry& templates,
                                                     std::vector<workflow::WorkflowDefinition> definitions,
                                                     const workflow::Clock& clock) {
  auto impl = std::make_unique<Impl>(directory, templates, clock);
  impl->definitions = std::move(definitions);
  for (const auto& def : impl->definitions) {
    if (auto s = workflow::validate_workflow_definition(def, def.id); !s) return s;
    impl->engines.push_back(std::make_unique<workflow::WorkflowEngine>(def, directory.organisation, clock));
  }
  if (auto s = impl->open_db(db_path); !s) return s;
  return std::unique_ptr<SyncServer>(new SyncServer(std::move(impl)));
}

Result<SyncResponse> SyncServer::handle(const SyncRequest& request, const SessionIdentity& who) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  const User* actor = m.user(who.user);
  if (actor == nullptr || actor->disabled) {
    return Status(StatusCode::kPermissionDenied, "账号不存在或已停用", "user " + who.user);
  }
  if (request.user != who.user || request.device != who.device) {
    return rejection(SyncReason::kNotAuthorOfDevice, StatusCode::kPermissionDenied, "请求中的用户或设备与当前登录不符",
                     "request user/device differ from the session");
  }
  if (auto s = exec(m.db, "BEGIN IMMEDIATE"); !s) return s;
  auto fail = [&](Status s) -> Result<SyncResponse> {
    (void)exec(m.db, "ROLLBACK");
    m.dirty.clear();
    (void)m.load_counters();
    return s;
  };
  SyncResponse response;
  response.request_id = request.request_id;
  std::map<ServerSeq, const Operation*> own;
  for (const Operation& op : request.ops) {
    auto r = m.process(op, *actor, who);
    if (!r) return fail(r.status());
    if (r->seq > 0) own.emplace(r->seq, &op);
    response.results.push_back(std::move(*r));
  }
  if (auto s = m.flush_dirty(); !s) return fail(s);
  const std::size_t budget = std::min<std::size_t>(request.max_response_bytes, kMaxPayloadBytes - 64 * 1024);
  if (auto s = m.collect(actor->unit, request.cursor, budget, own, response); !s) return fail(s);
  if (auto s = m.round_reports(*actor, response.rounds); !s) return fail(s);
  if (auto s = exec(m.db, "COMMIT"); !s) return fail(s);
  return response;
}

std::string SyncServer::handle_bytes(std::string_view bytes, const SessionIdentity& who, const WireOptions& peer) {
  auto request = decode_sync_request(bytes, peer);
  ErrorResponse error;
  if (!request) {
    error.code = request.status().code();
    error.reason = request.status().reason();
    error.message = request.status().message();
    error.next = NextStep::kGiveUp;
    return encode_message(error, peer);
  }
  auto response = handle(*request, who);
  if (response) return encode_message(*response, peer);
  error.request_id = request->request_id;
  error.code = response.status().code();
  error.reason = response.status().reason();
  error.message = response.status().message();
  error.next = error.code == StatusCode::kUnavailable        ? NextStep::kRetry
               : error.code == StatusCode::kPermissionDenied ? NextStep::kReauthenticate
                                                             : NextStep::kGiveUp;
  return encode_message(error, peer);
}

Status SyncServer::record_audit(workflow::AuditEvent event) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  if (auto s = exec(m.db, "BEGIN IMMEDIATE"); !s) return s;
  if (auto s = m.append_audit(std::move(event)); !s) {
    (void)exec(m.db, "ROLLBACK");
    (void)m.load_counters();
    return s;
  }
  if (auto s = exec(m.db, "COMMIT"); !s) {
    (void)exec(m.db, "ROLLBACK");
    (void)m.load_counters();
    return s;
  }
  return Status::ok();
}

ServerSeq SyncServer::head() const {
  std::lock_guard lock(impl_->mu);
  return impl_->head;
}

Result<FormReplica> SyncServer::replica(const FormId& form) const {
  std::lock_guard lock(impl_->mu);
  auto r = impl_->load_replica(form);
  if (!r) return r.status();
  if (!*r) return Status::not_found("表单不存在", form);
  return std::move(**r);
}

std::map<FormId, std::string> SyncServer::visible_replica_hashes(const UserId& user_id) const {
  std::lock_guard lock(impl_->mu);
  std::map<FormId, std::string> out;
  const User* u = impl_->user(user_id);
  if (u == nullptr) return out;
  Stmt q(impl_->db, "SELECT f.form_id, f.replica FROM forms f JOIN visibility v ON v.form_id = f.form_id AND v.unit = ?");
  q.bind(1, u->unit);
  while (q.step() == SQLITE_ROW) {
    auto r = decode_replica(q.column_blob(1));
    if (r) out[q.column_text(0)] = replica_hash(*r);
  }
  return out;
}

std::map<OpId, OpResult> SyncServer::op_results() const {
  std::lock_guard lock(impl_->mu);
  std::map<OpId, OpResult> out;
  Stmt q(impl_->db, "SELECT op_id, seq, code, reason, message FROM op_results");
  while (q.step() == SQLITE_ROW) {
    OpResult r;
    r.op_id = q.column_text(0);
    r.seq = static_cast<ServerSeq>(q.column_int(1));
    r.code = static_cast<StatusCode>(q.column_int(2));
    r.reason = static_cast<std::uint16_t>(q.column_int(3));
    r.message = q.column_text(4);
    out[r.op_id] = std::move(r);
  }
  return out;
}

std::vector<workflow::AuditRecord> SyncServer::audit_records() const {
  std::lock_guard lock(impl_->mu);
  auto records = read_audit(impl_->db);
  return records ? std::move(*records) : std::vector<workflow::AuditRecord>{};
}

}  // namespace jixiao::sync
