// Form operations: what a person does with forms on this machine — list,
// what waits for me, create, view, edit, check, workflow actions (queued
// in the outbox), conflicts and rejected changes. One job: the forms in the
// local replica; no network, no settings besides who the user is.
//
// Every call works offline. Not thread-safe by itself: the owner
// serializes calls (ClientService holds its lock around each).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jixiao/client/client_settings.h"
#include "jixiao/client/display_text.h"
#include "jixiao/common/checker.h"
#include "jixiao/sync/client_replica.h"
#include "jixiao/workflow/engine.h"

namespace jixiao::client {

// One line of `forms`.
struct FormListing {
  sync::FormSummary summary;
  std::string project_name;  // project_name / title field; may be empty
  std::string template_title;
  std::string state_text;    // "草稿", "审核中·单位审核", "已退回（退回原因…）", "已受理"
  std::optional<workflow::Holder> holder;  // nullopt once accepted or unknown
};

// One item of `todo`.
struct TodoItem {
  enum class Kind : std::uint8_t { kForm = 0, kConflict = 1, kRejected = 2 };
  Kind kind = Kind::kForm;
  FormListing form;
  std::string what;  // Chinese: "待您审核（单位审核）", "冲突：…", "被拒绝的修改：…"
  std::string ref;   // conflict id or op id
};

struct CheckOutcome {
  Form form;
  const FormTemplate* tmpl = nullptr;
  CheckReport report;
};

// 通过 at a meeting stage carries the meeting's evidence.
struct ApproveParams {
  std::string comment;
  std::optional<workflow::MeetingEvidence> evidence;
};

class FormOperations {
 public:
  // The replica, opened once a user is known (kFailedPrecondition before).
  using ReplicaAccess = std::function<Result<sync::ClientReplica*>()>;
  // All borrowed.
  FormOperations(const ClientSettings& settings, const DisplayText& text, ReplicaAccess replica)
      : settings_(settings), text_(text), replica_(std::move(replica)) {}

  // A full form id or a unique prefix of at least 8 characters.
  Result<FormId> resolve_form(std::string_view id_or_prefix) const;
  Result<std::vector<FormListing>> forms() const;
  // Forms whose holder is one of my roles at my unit (or a unit I act for),
  // my open conflicts and my rejected changes waiting.
  Result<std::vector<TodoItem>> todo() const;
  // A new form of the latest version of `template_id` for my unit. With
  // `from_target` (a 项目绩效目标表): project name and code, 预期目标 and the
  // indicator rows (一级/二级/三级, 年度指标值) are copied.
  Result<FormId> create_form(const std::string& template_id, std::optional<int> fiscal_year,
                             const std::optional<FormId>& from_target = std::nullopt);
  Result<sync::FormReplica> view(const FormId& form) const;
  Result<std::string> form_json(const FormId& form) const;
  // `cell` as in cell_ref.h; `text` as a person types it.
  Status set_cell(const FormId& form, std::string_view cell, std::string_view text);
  Result<RowId> add_row(const FormId& form, const std::string& table,
                        const std::vector<std::pair<std::string, std::string>>& cells);
  Status delete_row(const FormId& form, const std::string& table, const RowId& row);
  Result<CheckOutcome> check(const FormId& form) const;

  Status submit(const FormId& form);
  Status approve(const FormId& form, const ApproveParams& params);
  Status return_form(const FormId& form, const std::string& reason, const std::string& to_stage = {});
  Status withdraw(const FormId& form);
  Status resubmit(const FormId& form);
  Status accept(const FormId& form, const std::string& comment = {});

  Result<std::vector<sync::ConflictRecord>> conflicts(const std::optional<FormId>& form = std::nullopt) const;
  Status resolve(const FormId& form, const std::string& conflict_id, sync::Resolution resolution,
                 std::string_view new_value = {});
  Result<std::vector<sync::RejectedChange>> rejected(const std::optional<FormId>& form = std::nullopt) const;
  Result<std::size_t> reapply(const FormId& form);
  // `op_id`: a full op id or a unique prefix (≥ 8 characters).
  Status discard(std::string_view op_id);

  // "修改 项目名称 为 …", with the form as this replica shows it.
  std::string describe_op(const sync::Operation& op) const;

 private:
  Result<sync::ClientReplica*> rep() const { return replica_(); }

  const ClientSettings& settings_;
  const DisplayText& text_;
  ReplicaAccess replica_;
};

}  // namespace jixiao::client
