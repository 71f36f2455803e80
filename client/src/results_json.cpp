// JSON encodings of results (results_json.h).
#include "jixiao/client/results_json.h"

#include <nlohmann/json.hpp>

#include "jixiao/common/form_json.h"

namespace jixiao::client {
namespace {

using nlohmann::json;

const char* phase_key(workflow::Phase p) {
  switch (p) {
    case workflow::Phase::kDraft: return "draft";
    case workflow::Phase::kInReview: return "in_review";
    case workflow::Phase::kReturned: return "returned";
    case workflow::Phase::kAccepted: return "accepted";
  }
  return "unknown";
}

json listing(const FormListing& l) {
  const sync::FormSummary& s = l.summary;
  json holder = nullptr;
  if (l.holder) {
    holder = {{"stage", l.holder->stage_id},
              {"stage_name", l.holder->stage_name},
              {"role", std::string(role_key(l.holder->role))},
              {"unit", l.holder->unit}};
  }
  return {{"id", s.id},
          {"template", s.template_ref.id},
          {"template_version", s.template_ref.version},
          {"template_title", l.template_title},
          {"project_name", l.project_name},
          {"unit_code", s.unit_code},
          {"unit_name", s.unit_name},
          {"fiscal_year", s.fiscal_year},
          {"phase", phase_key(s.phase)},
          {"stage", s.stage_id},
          {"state", l.state_text},
          {"holder", holder},
          {"pending_ops", s.pending_ops},
          {"open_conflicts", s.open_conflicts},
          {"waiting_rejected", s.waiting_rejected}};
}

}  // namespace

std::string forms_json(const std::vector<FormListing>& forms) {
  json out = json::array();
  for (const FormListing& l : forms) out.push_back(listing(l));
  return out.dump();
}

std::string todo_json(const std::vector<TodoItem>& items) {
  json out = json::array();
  for (const TodoItem& t : items) {
    const char* kind = t.kind == TodoItem::Kind::kForm       ? "form"
                       : t.kind == TodoItem::Kind::kConflict ? "conflict"
                                                             : "rejected";
    json form = t.form.summary.id.empty() ? json(nullptr) : listing(t.form);
    out.push_back({{"kind", kind}, {"form", form}, {"what", t.what}, {"ref", t.ref}});
  }
  return out.dump();
}

std::string history_json(const std::vector<HistoryItem>& items) {
  json out = json::array();
  for (const HistoryItem& h : items) {
    out.push_back(
        {{"seq", h.seq}, {"wall_ms", h.wall_ms}, {"author", h.author}, {"op_id", h.op_id}, {"changes", h.changes}});
  }
  return out.dump();
}

std::string form_view_json(const sync::FormReplica& view, const FormTemplate& tmpl) {
  std::size_t open = 0;
  for (const auto& [_, c] : view.conflicts) open += c.resolved ? 0 : 1;
  json out = {{"form", json::parse(form_to_json(view.form, tmpl))},
              {"phase", phase_key(view.workflow.phase)},
              {"stage", view.workflow.stage_id},
              {"version", view.workflow.version},
              {"last_seq", view.last_seq},
              {"open_conflicts", open}};
  return out.dump();
}

std::string status_json(const ClientStatus& s) {
  json out = {{"online", s.online},
              {"syncing", s.syncing},
              {"pages_received", s.pages_received},
              {"bytes_received", s.bytes_received},
              {"changes_waiting", s.changes_waiting},
              {"last_sync_ms", s.last_sync_ms},
              {"last_error", s.last_error}};
  return out.dump();
}

}  // namespace jixiao::client
