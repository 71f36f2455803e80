// Workflow definitions are data: a versioned JSON file per deployment names
// the stages a unit's form passes after 草稿 and before 已受理 (the format is
// in docs/workflow.md; the defaults are workflow/definitions/*.json).
//
// Each stage names the role that acts, the unit it acts from (the form's own
// unit, its parent unit, its finance bureau), a condition for entering it
// (always, or only when the form's amount reaches the meeting threshold, the
// "三重一大" rule), the evidence its approval needs, and whether it is passed
// by 通过 (approve) or, for the last stage, 受理 (accept).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/org.h"
#include "jixiao/common/status.h"

namespace jixiao::workflow {

// The definition file format this build reads ("format_version").
inline constexpr std::uint32_t kDefinitionFormatVersion = 1;
// 2万元 in 分: the default threshold of the two meeting stages.
inline constexpr std::int64_t kDefaultMeetingThresholdFen = 2'000'000;

enum class ActingUnit : std::uint8_t {
  kOwnUnit = 0,        // "own": the unit that prepared the form
  kParentUnit = 1,     // "parent": its supervising 科协
  kFinanceBureau = 2,  // "finance_bureau": the bureau that receives it
};
enum class StageCondition : std::uint8_t {
  kAlways = 0,                  // "always"
  kAmountReachesThreshold = 1,  // "amount_reaches_threshold": amount >= threshold
};
enum class StageEvidence : std::uint8_t {
  kNone = 0,     // "none"
  kMeeting = 1,  // "meeting": kind, date, session, minutes number, decision
};
enum class CompletingAction : std::uint8_t {
  kApprove = 0,  // "approve": 通过
  kAccept = 1,   // "accept": 受理 (the last stage only)
};

struct StageDefinition {
  std::string id;    // "unit_review": stable, stored in submission states
  std::string name;  // "单位审核": shown to people
  Role role = Role::kUnitReviewer;
  ActingUnit acting_unit = ActingUnit::kOwnUnit;
  StageCondition condition = StageCondition::kAlways;
  StageEvidence evidence = StageEvidence::kNone;
  std::string meeting_kind;  // "主席会" / "党组会" when evidence is kMeeting
  CompletingAction completes_with = CompletingAction::kApprove;
  // The finance bureau may return to a chosen earlier stage instead of the
  // preparer.
  bool may_return_to_earlier_stage = false;
};

struct WorkflowDefinition {
  std::string id;             // "district-default"
  std::uint32_t version = 1;  // bumped on every change; states remember it
  std::string name;
  UnitLevel applies_to = UnitLevel::kDistrict;
  std::int64_t meeting_threshold_fen = kDefaultMeetingThresholdFen;
  std::vector<StageDefinition> stages;

  std::optional<std::size_t> stage_index(std::string_view stage_id) const;
  const StageDefinition* find_stage(std::string_view stage_id) const;
  // Whether stage `index` is entered by a form of `amount_fen`.
  bool stage_applies(std::size_t index, std::int64_t amount_fen) const;
  // The first applicable stage after `index` (or from the start when
  // `index` is nullopt); nullopt past the last.
  std::optional<std::size_t> next_applicable(std::optional<std::size_t> index, std::int64_t amount_fen) const;
};

// Parses and validates a definition. `source` names the file in messages.
// Errors are kInvalidArgument (kUnsupportedVersion for another
// format_version), in Chinese naming the file and the stage, with the JSON
// pointer of the offending value in detail().
Result<WorkflowDefinition> parse_workflow_definition(std::string_view json_text, std::string_view source);
Result<WorkflowDefinition> load_workflow_definition(const std::filesystem::path& file);

// Checks a definition built in code the same way a parsed one is checked.
Status validate_workflow_definition(const WorkflowDefinition& definition, std::string_view source);

// The definition for a unit's forms: the one that applies to its level.
// kNotFound when none does, kInvalidArgument when several do.
Result<const WorkflowDefinition*> select_workflow_definition(std::span<const WorkflowDefinition> definitions,
                                                             const Unit& unit);

}  // namespace jixiao::workflow
