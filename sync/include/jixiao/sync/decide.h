// The server's decision for one operation, as a pure function: what the
// operation does (its effects and audit events), or why it is refused. It
// reads only what it is given — the form's replica, the rounds, the
// templates, the workflow engines, the organisation and the time — and
// writes nothing: the sync service stores what comes out (log entry,
// visibility, a new round, audit records) in the request's transaction.
// Like merge.cpp and the workflow engine, it is tested without a database.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "jixiao/common/form_template.h"
#include "jixiao/common/org.h"
#include "jixiao/common/status.h"
#include "jixiao/sync/model.h"
#include "jixiao/workflow/audit_event.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/engine.h"
#include "jixiao/workflow/round.h"

namespace jixiao::sync {

struct DecideContext {
  const TemplateRegistry& templates;
  const Organisation& organisation;
  // The engine for a new form of a unit, and for an existing submission.
  std::function<const workflow::WorkflowEngine*(const UnitCode&)> engine_for_unit;
  std::function<const workflow::WorkflowEngine*(const workflow::SubmissionState&)> engine_for_state;
  // Every round the server holds (a new form joins the one open for its
  // unit, year and template; a round id is never reused).
  std::span<const workflow::Round> rounds;
  const workflow::Clock& clock;
};

struct Decision {
  std::vector<Effect> effects;
  std::vector<workflow::AuditEvent> audit;
  std::vector<UnitCode> newly_visible_to;  // units that see the form from this entry on
  std::optional<workflow::Round> new_round;  // OpenRound: the round to store
  bool about_a_form = true;                  // false for a round: no replica to write
};

// `replica` is the form's current replica (nullopt when the server has none);
// `seq` the ServerSeq the entry will get when accepted. Refusals carry the
// workflow's or SyncReason's reason code.
Result<Decision> decide(const Operation& op, const User& actor, const std::optional<FormReplica>& replica, ServerSeq seq,
                        const DecideContext& context);

}  // namespace jixiao::sync
