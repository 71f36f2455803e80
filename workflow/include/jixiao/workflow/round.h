// Self-evaluation rounds. Each year a finance bureau issues a notice (通知,
// e.g. 保财预[2021]4号) that opens a round for a fiscal year with a deadline
// and the form kinds each unit must hand in; then it tracks, for every
// (unit, form kind), where things stand.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "jixiao/common/org.h"
#include "jixiao/common/status.h"
#include "jixiao/workflow/audit_event.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/engine.h"

namespace jixiao::workflow {

struct RoundRequirement {
  UnitCode unit;
  std::vector<std::string> form_kinds;  // template ids
  friend bool operator==(const RoundRequirement&, const RoundRequirement&) = default;
};

struct RoundSpec {
  std::string round_id;
  int fiscal_year = 0;
  std::string notice_number;  // 通知文号: "保财预[2021]4号"
  TimePoint deadline{};
  std::vector<RoundRequirement> requirements;
  friend bool operator==(const RoundSpec&, const RoundSpec&) = default;
};

struct Round {
  RoundSpec spec;
  UnitCode finance_bureau;  // the opener's unit
  UserId opened_by;
  TimePoint opened_at{};
  friend bool operator==(const Round&, const Round&) = default;
};

struct RoundOpening {
  Round round;
  AuditEvent event;  // to append with the round, in one transaction
};

// Opens a round. The actor must be a 财政局审核人 of a finance bureau, and
// every unit named must report to that bureau. Refusals (refusal.h):
// kAdminNoBusiness, kRoleNotPermitted, kNotActingUnit, kOutOfScope, and
// kInvalidRound naming what is wrong (year, 文号, deadline, units, kinds).
Result<RoundOpening> open_round(const RoundSpec& spec, const User& actor, const std::string& device,
                                const Organisation& organisation, const Clock& clock);

enum class ProgressKind : std::uint8_t {
  kNotStarted = 0,          // 未开始: no submission yet
  kDraft = 1,               // 草稿: being prepared (or withdrawn), not submitted
  kReturned = 2,            // 已退回 to the preparer
  kInReview = 3,            // 审核中 at a stage before the finance bureau
  kSubmittedToFinance = 4,  // 已报送财政局, under its review
  kAccepted = 5,            // 已受理
};
std::string_view progress_name(ProgressKind k);

struct FormProgress {
  UnitCode unit;
  std::string form_kind;
  ProgressKind kind = ProgressKind::kNotStarted;
  std::size_t submissions = 0;  // forms of this kind the unit has in the round
  std::optional<Holder> holder;  // of the least advanced one
  std::uint32_t return_count = 0;  // over all of them
  // Past the deadline and not yet handed to the finance bureau.
  bool overdue = false;
  // The stage that holds the form has no enabled user of its role in its
  // acting unit: nobody can act until someone is assigned (待重新指派).
  // Computed by the server; travels only to a peer with the capability
  // "unassigned-holder" (docs/protocol.md), so an older one reads false.
  bool unassigned = false;

  // "单位审核（156101 单位审核人），待重新指派，退回1次，已逾期"
  std::string describe() const;
  friend bool operator==(const FormProgress&, const FormProgress&) = default;
};

// Where every (unit, form kind) of `round` stands at `now`. With several
// forms of one kind, the least advanced one speaks for the pair. A
// submission counts when its round_id, unit and form kind match; `engines`
// (borrowed) give each one's stages, by definition id and version.
std::vector<FormProgress> round_progress(const Round& round, std::span<const SubmissionState> submissions,
                                         std::span<const WorkflowEngine* const> engines, TimePoint now);

}  // namespace jixiao::workflow
