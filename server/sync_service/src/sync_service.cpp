#include "jixiao/service/sync_service.h"

#include <algorithm>
#include <mutex>

#include "jixiao/common/cell_ref.h"
#include "jixiao/common/digest.h"
#include "jixiao/store/sqlite_store.h"
#include "jixiao/sync/decide.h"
#include "jixiao/sync/merge.h"
#include "jixiao/workflow/engine.h"

namespace jixiao::server {
namespace {


using sync::FormReplica;
using sync::LogEntry;
using sync::Operation;
using sync::OpResult;
using sync::ServerSeq;
using sync::SyncReason;
using sync::SyncRequest;
using sync::SyncResponse;
using workflow::AuditEvent;

Status rejection(SyncReason reason, StatusCode code, std::string message, std::string detail = {}) {
  return Status(code, static_cast<std::uint16_t>(reason), std::move(message), std::move(detail));
}

OpResult result_of(const sync::OpId& id, ServerSeq seq, const Status& s) {
  OpResult r;
  r.op_id = id;
  r.seq = seq;
  r.code = s.code();
  r.reason = s.reason();
  r.message = s.message();
  return r;
}

std::string field_text(const Form& form, const char* key) {
  auto it = form.fields.find(key);
  return it == form.fields.end() ? std::string() : it->second.display(form.money_unit);
}

// The workflow engines over one organisation: the definitions validated once,
// the engines rebuilt whenever the organisation they borrow is re-read.
struct Engines {
  std::vector<workflow::WorkflowDefinition> definitions;
  std::unique_ptr<Organisation> organisation = std::make_unique<Organisation>();
  std::vector<std::unique_ptr<workflow::WorkflowEngine>> engines;  // parallel to definitions

  void rebuild(Organisation org, const workflow::Clock& clock) {
    engines.clear();
    organisation = std::make_unique<Organisation>(std::move(org));
    for (const auto& def : definitions) {
      engines.push_back(std::make_unique<workflow::WorkflowEngine>(def, *organisation, clock));
    }
  }
  const workflow::WorkflowEngine* for_unit(const UnitCode& unit_code) const {
    const Unit* unit = organisation->find(unit_code);
    if (unit == nullptr) return nullptr;
    auto def = workflow::select_workflow_definition(definitions, *unit);
    if (!def) return nullptr;
    for (std::size_t i = 0; i < definitions.size(); ++i) {
      if (&definitions[i] == *def) return engines[i].get();
    }
    return nullptr;
  }
  const workflow::WorkflowEngine* for_state(const workflow::SubmissionState& s) const {
    for (std::size_t i = 0; i < definitions.size(); ++i) {
      if (definitions[i].id == s.definition_id && definitions[i].version == s.definition_version) {
        return engines[i].get();
      }
    }
    return nullptr;
  }
};

store::FormIndex index_of(const FormReplica& r, const Engines& engines, const TemplateRegistry& templates) {
  store::FormIndex x;
  const auto& s = r.workflow;
  x.unit = s.unit.empty() ? r.form.unit_code : s.unit;
  x.template_id = r.form.template_ref.id;
  x.template_version = static_cast<std::uint32_t>(r.form.template_ref.version);
  x.fiscal_year = r.form.fiscal_year;
  x.round_id = s.round_id;
  x.definition_id = s.definition_id;
  x.definition_version = s.definition_version;
  x.phase = static_cast<int>(s.phase);
  x.stage_id = s.stage_id;
  if (const auto* engine = engines.for_state(s)) {
    if (auto holder = engine->holder(s)) {
      x.holder_role = std::string(role_key(holder->role));
      x.holder_unit = holder->unit;
    }
  }
  x.return_count = s.return_count;
  x.amount_fen = s.amount_fen;
  if (x.amount_fen == 0) {
    if (auto tmpl = templates.find(r.form.template_ref.id, r.form.template_ref.version)) {
      x.amount_fen = form_amount(r.form, **tmpl).value_or(Money()).fen();
    }
  }
  x.score = field_text(r.form, "total_score");
  x.grade = field_text(r.form, "grade");
  x.updated_ms = s.updated_at.time_since_epoch().count();
  x.last_seq = r.last_seq;
  return x;
}

}  // namespace

Status seed_directory(store::Store& store, const Directory& directory) {
  auto tx = store.begin_write();
  if (!tx) return tx.status();
  for (const Unit& u : directory.organisation.units()) {
    if (auto s = (*tx)->add_unit(u); !s) return s;
  }
  for (const auto& [id, u] : directory.users) {
    if (auto s = (*tx)->add_user(u, kNoPassword); !s) return s;
  }
  return (*tx)->commit();
}

store::Indexer form_indexer(const TemplateRegistry& templates, std::vector<workflow::WorkflowDefinition> definitions,
                            const workflow::Clock& clock) {
  auto defs = std::make_shared<std::vector<workflow::WorkflowDefinition>>(std::move(definitions));
  return [&templates, &clock, defs](const FormReplica& r, const Organisation& org) -> Result<store::FormIndex> {
    Engines engines;
    engines.definitions = *defs;
    engines.rebuild(org, clock);
    return index_of(r, engines, templates);
  };
}

struct SyncService::Impl {
  store::Store& store;
  const TemplateRegistry& templates;
  const workflow::Clock& clock;
  mutable std::mutex mu;  // requests one at a time; guards the directory cache

  // The directory as of directory_version (re-read when it changes).
  std::int64_t directory_version = -1;
  std::map<UserId, User> users;
  Engines engines;

  Impl(store::Store& s, const TemplateRegistry& t, const workflow::Clock& c) : store(s), templates(t), clock(c) {}

  Status refresh_directory(store::Transaction& tx) {
    auto version = tx.directory_version();
    if (!version) return version.status();
    if (*version == directory_version) return Status::ok();
    auto org = tx.organisation();
    if (!org) return org.status();
    auto all = tx.users();
    if (!all) return all.status();
    users.clear();
    for (auto& u : *all) users[u.id] = std::move(u);
    engines.rebuild(std::move(*org), clock);
    directory_version = *version;
    return Status::ok();
  }

  const User* user(const UserId& id) const {
    auto it = users.find(id);
    return it == users.end() ? nullptr : &it->second;
  }

  // Whether an enabled user of `unit` holds `role`.
  bool anyone_can_act(Role role, const UnitCode& unit) const {
    return std::any_of(users.begin(), users.end(), [&](const auto& entry) {
      const User& u = entry.second;
      return !u.disabled && u.unit == unit && u.has_role(role);
    });
  }

  // ---- one request --------------------------------------------------------------------

  struct Request {
    store::Transaction& tx;
    ServerSeq head = 0;
    std::vector<workflow::Round> rounds;
    // Forms this request changed, written before the answer is collected.
    std::map<FormId, FormReplica> dirty;
  };

  Result<std::optional<FormReplica>> load_replica(Request& rq, const FormId& id) {
    if (auto it = rq.dirty.find(id); it != rq.dirty.end()) return std::optional<FormReplica>(it->second);
    return rq.tx.form(id);
  }

  // Applies or rejects one operation inside the request's transaction.
  Result<OpResult> process(Request& rq, const Operation& op, const User& actor, const SessionIdentity& who) {
    const std::string payload_hash = sha256_raw(sync::encode_operation(op));
    auto stored = rq.tx.op_result(op.id);
    if (!stored) return stored.status();
    if (*stored) {
      if ((*stored)->payload_hash != payload_hash) {
        // Not stored: the first answer for this id stays the answer.
        return result_of(op.id, 0,
                         rejection(SyncReason::kOpIdReused, StatusCode::kInvalidArgument,
                                   "操作编号已用于另一项修改，本次修改未被接受", op.id));
      }
      return (*stored)->result;
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
      if (auto it = rq.dirty.find(op.form_id); it != rq.dirty.end()) {
        current = std::move(it->second);
        rq.dirty.erase(it);
        from_dirty = true;
      } else {
        auto loaded = rq.tx.form(op.form_id);
        if (!loaded) return loaded.status();
        current = std::move(*loaded);
      }
      const sync::DecideContext context{
          templates,
          *engines.organisation,
          [this](const UnitCode& u) { return engines.for_unit(u); },
          [this](const workflow::SubmissionState& s) { return engines.for_state(s); },
          rq.rounds,
          clock};
      auto decision = sync::decide(op, actor, current, rq.head + 1, context);
      if (!decision) {
        outcome = decision.status();
        if (outcome.code() == StatusCode::kUnavailable || outcome.code() == StatusCode::kCorruption) return outcome;
        if (from_dirty) rq.dirty[op.form_id] = std::move(*current);
      } else {
        seq = ++rq.head;
        LogEntry entry{seq, op.form_id, op.id, op.author, op.device, op.hlc, std::move(decision->effects)};
        FormReplica next = current ? std::move(*current) : FormReplica{};
        sync::apply_entry(next, entry);
        if (auto s = rq.tx.append_log(entry); !s) return s;
        for (const UnitCode& unit : decision->newly_visible_to) {
          if (auto s = rq.tx.add_visibility(op.form_id, unit, seq); !s) return s;
        }
        if (decision->new_round) {
          if (auto s = rq.tx.put_round(*decision->new_round); !s) return s;
          rq.rounds.push_back(std::move(*decision->new_round));
        }
        for (auto& e : decision->audit) {
          if (auto rec = rq.tx.append_audit(std::move(e)); !rec) return rec.status();
        }
        if (decision->about_a_form || from_dirty) rq.dirty[op.form_id] = std::move(next);
      }
    }
    if (!outcome.is_ok()) {
      AuditEvent e = workflow::refusal_event(clock.now(), who.user, who.device, op.form_id,
                                             std::string(sync::op_kind_name(op.payload)), outcome);
      if (auto rec = rq.tx.append_audit(std::move(e)); !rec) return rec.status();
    }
    OpResult r = result_of(op.id, seq, outcome);
    if (auto s = rq.tx.put_op_result({payload_hash, r}); !s) return s;
    return r;
  }

  Status flush_dirty(Request& rq) {
    for (const auto& [id, replica] : rq.dirty) {
      if (auto s = rq.tx.put_form(id, replica, index_of(replica, engines, templates)); !s) return s;
    }
    rq.dirty.clear();
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
  Status collect(Request& rq, const UnitCode& unit, ServerSeq cursor, std::size_t budget,
                 const std::map<ServerSeq, const Operation*>& own, SyncResponse& out) {
    std::vector<store::Change> items;
    // far beyond one response; the rest comes next time
    if (auto s = rq.tx.changes_for(unit, cursor, 200'000, items); !s) return s;
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
    for (const store::Change& item : items) {
      const std::string* entry_blob = &item.entry_bytes;
      std::string creation_blob;
      bool as_entry = !item.snapshot;
      if (item.snapshot) {
        // A form this very request created became visible with its creation:
        // the requester holds all of it but the server's creation entry, so
        // that entry goes instead of a snapshot (the rest follows as entries,
        // its own plain ones left out).
        if (auto mine = own.find(item.position); mine != own.end() && mine->second->form_id == item.form &&
                                                 std::holds_alternative<sync::CreateForm>(mine->second->payload)) {
          auto bytes = rq.tx.log_entry_bytes(item.position);
          if (!bytes) return bytes.status();
          if (!*bytes) return Status::internal("服务器数据库操作失败", "creation entry missing");
          creation_blob = std::move(**bytes);
          entry_blob = &creation_blob;
          as_entry = true;
        }
      }
      if (!as_entry) {
        auto replica = load_replica(rq, item.form);
        if (!replica) return replica.status();
        if (!*replica) continue;
        sync::FormSnapshot snap{std::move(**replica)};
        if (!fits(sync::encoded_size(snap))) {
          complete = false;
          break;
        }
        snapshot_upto[item.form] = snap.replica.last_seq;
        out.snapshots.push_back(std::move(snap));
      } else {
        auto covered = snapshot_upto.find(item.form);
        if (covered == snapshot_upto.end() || item.position > covered->second) {
          auto entry = sync::decode_entry(*entry_blob);
          if (!entry) return entry.status();
          if (auto mine = own.find(item.position); mine != own.end() && entry->op_id == mine->second->id) {
            const auto plain = sync::plain_effects(*mine->second);
            if (plain && *plain == entry->effects) {
              position = item.position;
              continue;
            }
          }
          if (!fits(sync::encoded_size(*entry))) {
            complete = false;
            break;
          }
          out.entries.push_back(std::move(*entry));
        }
      }
      position = item.position;
    }
    out.more = !complete;
    out.cursor = complete ? std::max(rq.head, cursor) : position;
    return Status::ok();
  }

  // Round reports for a user: a finance bureau sees its rounds whole, a city
  // its own and its districts' lines. Read from the forms' index columns.
  Status round_reports(Request& rq, const User& actor, std::vector<sync::RoundReport>& out) {
    const Organisation& org = *engines.organisation;
    const Unit* unit = org.find(actor.unit);
    if (unit == nullptr || unit->level == UnitLevel::kDistrict) return Status::ok();
    const UnitCode bureau = unit->level == UnitLevel::kFinanceBureau ? unit->code : unit->finance_bureau;
    std::vector<const workflow::Round*> rounds;
    std::vector<std::string> ids;
    for (const auto& r : rq.rounds) {
      if (r.finance_bureau != bureau) continue;
      rounds.push_back(&r);
      ids.push_back(r.spec.round_id);
    }
    if (rounds.empty()) return Status::ok();
    std::sort(rounds.begin(), rounds.end(),
              [](const workflow::Round* a, const workflow::Round* b) { return a->spec.round_id < b->spec.round_id; });
    auto forms = rq.tx.forms_in_rounds(ids);
    if (!forms) return forms.status();
    std::vector<workflow::SubmissionState> states;
    states.reserve(forms->size());
    for (const auto& f : *forms) {
      workflow::SubmissionState s;
      s.submission_id = f.id;
      s.unit = f.index.unit;
      s.form_kind = f.index.template_id;
      s.round_id = f.index.round_id;
      s.definition_id = f.index.definition_id;
      s.definition_version = f.index.definition_version;
      s.phase = static_cast<workflow::Phase>(f.index.phase);
      s.stage_id = f.index.stage_id;
      s.return_count = f.index.return_count;
      states.push_back(std::move(s));
    }
    std::vector<const workflow::WorkflowEngine*> engine_ptrs;
    for (const auto& e : engines.engines) engine_ptrs.push_back(e.get());
    for (const workflow::Round* round : rounds) {
      sync::RoundReport report;
      for (auto& p : workflow::round_progress(*round, states, engine_ptrs, clock.now())) {
        if (unit->level == UnitLevel::kCity && !org.is_within(p.unit, unit->code)) continue;
        // 待重新指派: the stage that holds the form has nobody left to act
        // (its role's users in the acting unit are all disabled or gone).
        p.unassigned = p.holder && !anyone_can_act(p.holder->role, p.holder->unit);
        report.progress.push_back(std::move(p));
      }
      report.round = *round;
      if (!report.progress.empty()) out.push_back(std::move(report));
    }
    return Status::ok();
  }
};

SyncService::SyncService(store::Store& store, std::unique_ptr<Impl> impl) : store_(store), impl_(std::move(impl)) {}
SyncService::~SyncService() = default;

Result<std::unique_ptr<SyncService>> SyncService::open(store::Store& store, const TemplateRegistry& templates,
                                                       std::vector<workflow::WorkflowDefinition> definitions,
                                                       const workflow::Clock& clock) {
  for (const auto& def : definitions) {
    if (auto s = workflow::validate_workflow_definition(def, def.id); !s) return s;
  }
  auto impl = std::make_unique<Impl>(store, templates, clock);
  impl->engines.definitions = std::move(definitions);
  {
    auto tx = store.begin_read();
    if (!tx) return tx.status();
    if (auto s = impl->refresh_directory(**tx); !s) return s;
  }
  return std::unique_ptr<SyncService>(new SyncService(store, std::move(impl)));
}

Result<std::unique_ptr<SyncService>> SyncService::open_seeded(const std::string& db_path, const Directory& directory,
                                                              const TemplateRegistry& templates,
                                                              std::vector<workflow::WorkflowDefinition> definitions,
                                                              const workflow::Clock& clock) {
  store::SqliteStoreOptions options;
  options.create = true;
  options.indexer = form_indexer(templates, definitions, clock);
  auto store = store::open_sqlite_store(db_path, std::move(options));
  if (!store) return store.status();
  {
    auto tx = (*store)->begin_read();
    if (!tx) return tx.status();
    auto org = (*tx)->organisation();
    if (!org) return org.status();
    const bool empty = org->units().empty();
    tx->reset();
    if (empty) {
      if (auto s = seed_directory(**store, directory); !s) return s;
    }
  }
  auto service = open(**store, templates, std::move(definitions), clock);
  if (!service) return service.status();
  (*service)->owned_store_ = std::move(*store);
  return service;
}

Result<SyncResponse> SyncService::handle(const SyncRequest& request, const SessionIdentity& who) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  auto tx = m.store.begin_write();
  if (!tx) return tx.status();
  if (auto s = m.refresh_directory(**tx); !s) return s;
  const User* actor = m.user(who.user);
  if (actor == nullptr || actor->disabled) {
    return Status(StatusCode::kPermissionDenied, "账号不存在或已停用", "user " + who.user);
  }
  if (request.user != who.user || request.device != who.device) {
    return rejection(SyncReason::kNotAuthorOfDevice, StatusCode::kPermissionDenied, "请求中的用户或设备与当前登录不符",
                     "request user/device differ from the session");
  }
  Impl::Request rq{**tx, 0, {}, {}};
  auto head = rq.tx.head();
  if (!head) return head.status();
  rq.head = *head;
  auto rounds = rq.tx.rounds({});
  if (!rounds) return rounds.status();
  rq.rounds = std::move(*rounds);

  SyncResponse response;
  response.request_id = request.request_id;
  std::map<ServerSeq, const Operation*> own;
  for (const Operation& op : request.ops) {
    auto r = m.process(rq, op, *actor, who);
    if (!r) return r.status();
    if (r->seq > 0) own.emplace(r->seq, &op);
    response.results.push_back(std::move(*r));
  }
  if (auto s = m.flush_dirty(rq); !s) return s;
  const std::size_t budget = std::min<std::size_t>(request.max_response_bytes, sync::kMaxPayloadBytes - 64 * 1024);
  if (auto s = m.collect(rq, actor->unit, request.cursor, budget, own, response); !s) return s;
  if (auto s = m.round_reports(rq, *actor, response.rounds); !s) return s;
  if (auto s = (*tx)->commit(); !s) return s;
  return response;
}

std::string SyncService::handle_bytes(std::string_view bytes, const SessionIdentity& who, const WireOptions& peer) {
  auto request = sync::decode_sync_request(bytes, peer);
  sync::ErrorResponse error;
  if (!request) {
    error.code = request.status().code();
    error.reason = request.status().reason();
    error.message = request.status().message();
    error.next = sync::NextStep::kGiveUp;
    return sync::encode_message(error, peer);
  }
  auto response = handle(*request, who);
  if (response) return sync::encode_message(*response, peer);
  error.request_id = request->request_id;
  error.code = response.status().code();
  error.reason = response.status().reason();
  error.message = response.status().message();
  error.next = error.code == StatusCode::kUnavailable        ? sync::NextStep::kRetry
               : error.code == StatusCode::kPermissionDenied ? sync::NextStep::kReauthenticate
                                                             : sync::NextStep::kGiveUp;
  return sync::encode_message(error, peer);
}

Status SyncService::record_audit(workflow::AuditEvent event) {
  auto tx = store_.begin_write();
  if (!tx) return tx.status();
  if (auto rec = (*tx)->append_audit(std::move(event)); !rec) return rec.status();
  return (*tx)->commit();
}

ServerSeq SyncService::head() const {
  auto tx = store_.begin_read();
  if (!tx) return 0;
  auto h = (*tx)->head();
  return h ? *h : 0;
}

Result<FormReplica> SyncService::replica(const FormId& form) const {
  auto tx = store_.begin_read();
  if (!tx) return tx.status();
  auto r = (*tx)->form(form);
  if (!r) return r.status();
  if (!*r) return Status::not_found("表单不存在", form);
  return std::move(**r);
}

std::map<FormId, std::string> SyncService::visible_replica_hashes(const UserId& user_id) const {
  std::map<FormId, std::string> out;
  auto tx = store_.begin_read();
  if (!tx) return out;
  auto u = (*tx)->user(user_id);
  if (!u || !*u) return out;
  auto forms = (*tx)->visible_forms((*u)->unit);
  if (!forms) return out;
  for (const auto& f : *forms) {
    auto r = (*tx)->form(f.id);
    if (r && *r) out[f.id] = sync::replica_hash(**r);
  }
  return out;
}

std::map<sync::OpId, OpResult> SyncService::op_results() const {
  std::map<sync::OpId, OpResult> out;
  auto tx = store_.begin_read();
  if (!tx) return out;
  auto all = (*tx)->op_results();
  if (!all) return out;
  for (auto& r : *all) out[r.op_id] = std::move(r);
  return out;
}

std::vector<workflow::AuditRecord> SyncService::audit_records() const {
  auto tx = store_.begin_read();
  if (!tx) return {};
  auto records = (*tx)->audit_records();
  return records ? std::move(*records) : std::vector<workflow::AuditRecord>{};
}

}  // namespace jixiao::server
